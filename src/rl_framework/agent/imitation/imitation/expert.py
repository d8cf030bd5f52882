"""The expert DAgger asks for labels: one of our agents, an SB3 model or an SB3 policy."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from rl_framework.agent.acting import ActingSession
from rl_framework.agent.base_agent import BaseAgent

_ACCEPTED = "a trained rl_framework agent, a stable-baselines3 model or a stable-baselines3 policy"


def check_expert(expert: Any, algorithm_name: str) -> BaseAgent | BaseAlgorithm | BasePolicy:
    """Return ``expert`` or raise ``ValueError`` (missing) / ``TypeError`` (wrong kind) naming the fix.

    :param expert: the value of ``algorithm_parameters["expert"]``.
    :param algorithm_name: the algorithm that needs it, for the message.
    :return: the expert.
    """
    if expert is None:
        raise ValueError(
            f"{algorithm_name} needs an expert that labels the states the learner visits: pass "
            f"algorithm_parameters={{'expert': ...}} with {_ACCEPTED}."
        )
    if not isinstance(expert, (BaseAgent, BaseAlgorithm, BasePolicy)):
        raise TypeError(f"The {algorithm_name} expert must be {_ACCEPTED}; got {type(expert).__name__}.")
    return expert


def as_expert_policy(
    expert: BaseAgent | BaseAlgorithm | BasePolicy, observation_space: gym.Space, action_space: gym.Space
) -> BasePolicy:
    """The SB3 policy imitation's DAgger queries for ``expert``'s deterministic actions.

    :param expert: a checked expert (see ``check_expert``).
    :param observation_space: the training environment's observation space.
    :param action_space: the training environment's action space.
    :return: an SB3 policy (an agent is wrapped, so its own observation normalisation applies).
    """
    if isinstance(expert, BasePolicy):
        return expert
    if isinstance(expert, BaseAlgorithm):
        return expert.policy
    return AgentPolicy(expert, observation_space, action_space)


class AgentPolicy(BasePolicy):
    """Presents an rl_framework agent as an SB3 policy: ``predict`` acts through the agent's acting session.

    The session (``agent.start_acting``) keeps a recurrent agent's state per environment copy and
    resets it where imitation's rollout reports an episode start, so a stateful expert labels
    states as it would act in them.

    :param agent: the acting agent.
    :param observation_space: the environment's observation space.
    :param action_space: the environment's action space.
    """

    def __init__(self, agent: BaseAgent, observation_space: gym.Space, action_space: gym.Space) -> None:
        super().__init__(observation_space, action_space)
        self.agent = agent
        self._session: ActingSession | None = None

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Return the agent's actions for a batch of observations (one row per environment copy)."""
        n_envs = len(next(iter(observation.values())) if isinstance(observation, dict) else observation)
        if self._session is None or self._session.n_envs != n_envs:
            self._session = self.agent.start_acting(n_envs)
            episode_start = np.ones(n_envs, dtype=bool)  # a new session starts every copy afresh
        starts = np.zeros(n_envs, dtype=bool) if episode_start is None else np.asarray(episode_start, dtype=bool)
        return np.asarray(self._session.act(observation, starts, deterministic=deterministic)), None

    def _predict(self, observation: th.Tensor | dict[str, th.Tensor], deterministic: bool = False) -> th.Tensor:
        raise NotImplementedError("AgentPolicy acts through predict(), on numpy observations.")
