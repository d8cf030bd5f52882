"""Abstract reinforcement-learning agent: learns by interacting with environments."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from rl_framework.agent.base_agent import BaseAgent

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector


class RLAgent(BaseAgent):
    """An agent trained on gymnasium environments through trial and error."""

    @abstractmethod
    def train(
        self,
        training_environments: Any,
        total_timesteps: int,
        connector: Connector | None = None,
    ) -> None:
        """Train the agent for ``total_timesteps`` environment steps.

        Calling ``train`` again continues training the same model.

        :param training_environments: a gymnasium env, env id, env factory, list of envs or factories, or a VecEnv.
        :param total_timesteps: environment steps to train for (> 0).
        :param connector: logs metrics and checkpoints during training when given.
        """
