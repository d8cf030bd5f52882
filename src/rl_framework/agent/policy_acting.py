"""Acting through an SB3 policy, shared by every agent whose model is (or contains) one.

Also owns the observation-normalisation statistics (SB3 ``VecNormalize``) an agent was trained
with: they are stored beside the agent file and applied frozen whenever the agent acts.
"""

from __future__ import annotations

import copy
import os
import pickle
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

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
    #: Whether training normalises rewards; kept apart because the acting copy is frozen with
    #: ``norm_reward=False`` after loading, while continued training must keep the original setting.
    _normalizes_training_rewards: bool | None = None

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

        :param vec_env: the training environment; its spaces must already match the agent's.
        :return: the environment to train on.
        """
        in_env = unwrap_vec_wrapper(vec_env, VecNormalize)
        if isinstance(in_env, VecNormalize):
            self.observation_normalizer = in_env
            self._normalizes_training_rewards = in_env.norm_reward
            return vec_env
        saved = self.observation_normalizer
        if saved is None:
            return vec_env
        norm_reward = (
            saved.norm_reward if self._normalizes_training_rewards is None else self._normalizes_training_rewards
        )
        # A fresh wrapper continuing the saved statistics: a loaded VecNormalize has no venv, so
        # it can be neither re-pickled nor re-attached (SB3 refuses both).
        normalizer = VecNormalize(
            vec_env,
            training=True,
            norm_obs=saved.norm_obs,
            norm_reward=norm_reward,
            clip_obs=saved.clip_obs,
            clip_reward=saved.clip_reward,
            gamma=saved.gamma,
            epsilon=saved.epsilon,
            norm_obs_keys=saved.norm_obs_keys,
        )
        normalizer.obs_rms = copy.deepcopy(saved.obs_rms)
        normalizer.ret_rms = copy.deepcopy(saved.ret_rms)
        self.observation_normalizer = normalizer
        self._normalizes_training_rewards = norm_reward
        return normalizer

    def save_normalizer(self, agent_file: str | os.PathLike[str]) -> None:
        """Write the normaliser statistics beside ``agent_file`` (remove a stale file if there are none)."""
        target = normalizer_path(agent_file)
        if self.observation_normalizer is None:
            target.unlink(missing_ok=True)
            return
        # Stored like SB3's ``VecNormalize.save`` (statistics and settings, no venv), with the
        # training-time reward setting so that continued training after loading keeps it.
        stored = self._detached_copy(self.observation_normalizer)
        if self._normalizes_training_rewards is not None:
            stored.norm_reward = self._normalizes_training_rewards
        atomic_write_bytes(target, pickle.dumps(stored))

    @staticmethod
    def _detached_copy(normalizer: VecNormalize) -> VecNormalize:
        """A copy of ``normalizer``'s statistics and settings without a venv, ready to pickle.

        SB3's ``VecNormalize`` pickles only while it holds a venv; a loaded one has none.
        """
        dropped = ("venv", "class_attributes", "returns")  # what VecNormalize.__getstate__ drops
        state = {key: value for key, value in vars(normalizer).items() if key not in dropped}
        detached = VecNormalize.__new__(VecNormalize)
        detached.__setstate__(copy.deepcopy(state))
        detached.class_attributes = {}
        detached.returns = np.zeros(detached.num_envs)
        return detached

    def load_normalizer(self, agent_file: str | os.PathLike[str]) -> None:
        """Load the statistics stored beside ``agent_file``, frozen (``training=False``), if any."""
        self.use_normalizer(read_normalizer(agent_file))

    def use_normalizer(self, normalizer: VecNormalize | None) -> None:
        """Act with ``normalizer`` (as returned by ``read_normalizer``) from now on, or without one."""
        self.observation_normalizer = normalizer
        self._normalizes_training_rewards = None
        if normalizer is not None:
            self._normalizes_training_rewards = normalizer.norm_reward
            normalizer.training = False
            normalizer.norm_reward = False


def read_normalizer(agent_file: str | os.PathLike[str]) -> VecNormalize | None:
    """Read the ``VecNormalize`` statistics stored beside ``agent_file`` (``None`` if there are none).

    :param agent_file: the agent file the statistics belong to.
    :return: the statistics (not attached to any environment), or ``None``.
    :raises ValueError: when the file beside the agent does not hold ``VecNormalize`` statistics.
    """
    source = normalizer_path(agent_file)
    if not source.is_file():
        return None
    try:
        normalizer = pickle.loads(source.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as error:
        raise ValueError(
            f"Could not read normaliser statistics from '{source}': {error}. Delete it or save the agent again."
        ) from error
    if not isinstance(normalizer, VecNormalize):
        raise ValueError(f"'{source}' does not hold VecNormalize statistics; delete it or save the agent again.")
    return normalizer
