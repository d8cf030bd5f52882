"""Acting through an SB3 policy, shared by every agent whose model is (or contains) one."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from stable_baselines3.common.policies import BasePolicy

from rl_framework.agent.acting import ActingSession, PredictActing


class SB3PolicyActing:
    """Mixin giving ``choose_action``/``choose_actions``/``start_acting`` through an SB3 ``BasePolicy``.

    Subclasses implement ``acting_policy``; ``_prepare_observations`` is the hook for agents that
    transform observations before the policy sees them (e.g. frozen normalisation statistics).
    """

    @abstractmethod
    def acting_policy(self) -> BasePolicy:
        """Return the SB3 policy that picks actions (raise a clear error if there is none yet)."""

    def _prepare_observations(self, observations: Any) -> Any:
        """Observations as the policy expects them (the default passes them through)."""
        return observations

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        """Return the action for one observation, or actions for a batch of observations.

        Batches are recognised from the observation space (as SB3's ``predict`` does). Each call
        stands alone: a recurrent policy (``RecurrentPPO``) acts from a fresh memory, as at an
        episode start, and a masked one (``MaskablePPO``) sees no mask. To play whole episodes
        with memory and masks, use ``start_acting``.

        :param observation: one observation or a stacked batch.
        :param deterministic: take the most likely action instead of sampling.
        :return: the action (or stacked actions).
        """
        policy = self.acting_policy()
        action, _ = policy.predict(self._prepare_observations(observation), deterministic=deterministic)
        return action

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        """Return actions for a stacked batch of observations in one policy call."""
        return self.choose_action(observations, deterministic=deterministic)

    def start_acting(self, n_envs: int = 1) -> ActingSession:
        """Start acting in ``n_envs`` environment copies across episodes (see ``rl_framework.agent.acting``).

        The session keeps a recurrent policy's state per copy, resets it when a copy starts an
        episode, and passes action masks to policies that take them (``MaskablePPO``).

        :param n_envs: how many environment copies the session acts in.
        :return: the session; ``session.act(observations, episode_starts, ...)`` returns actions.
        """
        return PredictActing(self.acting_policy().predict, n_envs, self._prepare_observations)
