"""Acting through an SB3 policy, shared by every agent whose model is (or contains) one.

Also owns the observation-normalisation statistics (SB3 ``VecNormalize``) an agent was trained
with: they are stored beside the agent file and applied frozen whenever the agent acts.
"""

from __future__ import annotations

import os
import pickle
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from rl_framework.util.files import atomic_write_bytes


def normalizer_path(agent_file: str | os.PathLike[str]) -> Path:
    """Where the ``VecNormalize`` statistics of the agent saved at ``agent_file`` live (beside it)."""
    path = Path(agent_file)
    return path.with_name(f"{path.stem}.vecnormalize.pkl")


class SB3PolicyActing:
    """Mixin giving ``choose_action``/``choose_actions`` through an SB3 ``BasePolicy``.

    Subclasses implement ``acting_policy``. ``observation_normalizer`` is the frozen
    ``VecNormalize`` the agent was trained with, or ``None``.
    """

    observation_normalizer: VecNormalize | None = None

    @abstractmethod
    def acting_policy(self) -> BasePolicy:
        """Return the SB3 policy that picks actions (raise a clear error if there is none yet)."""

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        """Return the action for one observation, or actions for a batch of observations.

        Batches are recognised from the observation space (as SB3's ``predict`` does).
        Observations are normalised with the agent's frozen ``VecNormalize`` statistics, if any.

        :param observation: one observation or a stacked batch.
        :param deterministic: take the most likely action instead of sampling.
        :return: the action (or stacked actions).
        """
        policy = self.acting_policy()
        if self.observation_normalizer is not None:
            observation = self.observation_normalizer.normalize_obs(observation)
        action, _ = policy.predict(observation, deterministic=deterministic)
        return action

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        """Return actions for a stacked batch of observations in one policy call."""
        return self.choose_action(observations, deterministic=deterministic)

    # -- normaliser persistence --------------------------------------------------------------
    def adopt_normalizer(self, vec_env: VecEnv) -> VecEnv:
        """Keep the ``VecNormalize`` of ``vec_env``, or wrap ``vec_env`` in the agent's saved one.

        :return: the environment to train on.
        """
        current: Any = vec_env
        while current is not None:
            if isinstance(current, VecNormalize):
                self.observation_normalizer = current
                return vec_env
            current = getattr(current, "venv", None)
        if self.observation_normalizer is None:
            return vec_env
        normalizer: VecNormalize = pickle.loads(pickle.dumps(self.observation_normalizer))
        normalizer.set_venv(vec_env)
        normalizer.training = True
        self.observation_normalizer = normalizer
        return normalizer

    def save_normalizer(self, agent_file: str | os.PathLike[str]) -> None:
        """Write the normaliser statistics beside ``agent_file`` (remove a stale file if there are none)."""
        target = normalizer_path(agent_file)
        if self.observation_normalizer is None:
            target.unlink(missing_ok=True)
            return
        # Pickling VecNormalize drops its venv: only the statistics and settings are stored (SB3's format).
        atomic_write_bytes(target, pickle.dumps(self.observation_normalizer))

    def load_normalizer(self, agent_file: str | os.PathLike[str]) -> None:
        """Load the statistics stored beside ``agent_file``, frozen (``training=False``), if any."""
        source = normalizer_path(agent_file)
        if not source.is_file():
            self.observation_normalizer = None
            return
        normalizer = pickle.loads(source.read_bytes())
        if not isinstance(normalizer, VecNormalize):
            raise ValueError(f"'{source}' does not hold VecNormalize statistics; delete it or save the agent again.")
        normalizer.training = False
        normalizer.norm_reward = False
        self.observation_normalizer = normalizer
