"""Acting through an SB3 policy, shared by every agent whose model is (or contains) one."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from stable_baselines3.common.policies import BasePolicy


class SB3PolicyActing:
    """Mixin giving ``choose_action``/``choose_actions`` through an SB3 ``BasePolicy``.

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

        Batches are recognised from the observation space (as SB3's ``predict`` does).

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
