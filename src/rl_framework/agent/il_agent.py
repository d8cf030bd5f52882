"""Abstract imitation-learning agent: learns from recorded episodes."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from rl_framework.agent.base_agent import BaseAgent

if TYPE_CHECKING:
    from rl_framework.agent.imitation.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector


class ILAgent(BaseAgent):
    """An agent trained from recorded (expert) episodes, optionally with environment access."""

    @abstractmethod
    def train(
        self,
        episode_sequence: EpisodeSequence,
        training_environments: Any,
        total_timesteps: int,
        connector: Connector | None = None,
    ) -> None:
        """Train the agent on ``episode_sequence``.

        :param episode_sequence: the demonstrations to learn from.
        :param training_environments: environments for algorithms that also interact (and for spaces).
        :param total_timesteps: the training budget; its unit depends on the algorithm (see the subclass).
        :param connector: logs metrics and checkpoints during training when given.
        """
