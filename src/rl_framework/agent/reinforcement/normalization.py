"""The observation-normalisation statistics (SB3 ``VecNormalize``) a ``StableBaselinesAgent`` trained with.

They are stored beside the agent file and applied frozen whenever the agent acts.
"""

from __future__ import annotations

import copy
import os
import pickle
from pathlib import Path

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rl_framework.util.files import atomic_write_bytes


def normalizer_path(agent_file: str | os.PathLike[str]) -> Path:
    """Where the ``VecNormalize`` statistics of the agent saved at ``agent_file`` live (beside it)."""
    path = Path(agent_file)
    return path.with_name(f"{path.stem}.vecnormalize.pkl")


class ObservationNormalizer:
    """The frozen ``VecNormalize`` statistics an agent acts with, and their sidecar file.

    ``statistics`` is ``None`` for an agent trained without normalisation.
    """

    def __init__(self) -> None:
        self.statistics: VecNormalize | None = None
        #: Whether training normalises rewards; kept apart because the acting copy is frozen with
        #: ``norm_reward=False`` after loading, while continued training must keep the original setting.
        self._normalizes_training_rewards: bool | None = None

    def normalize(self, observation: object) -> object:
        """``observation`` normalised with the frozen statistics (unchanged without statistics)."""
        if self.statistics is None:
            return observation
        return self.statistics.normalize_obs(observation)  # type: ignore[arg-type]

    def adopt(self, vec_env: VecEnv) -> VecEnv:
        """Keep the ``VecNormalize`` of ``vec_env``, or wrap ``vec_env`` in the agent's saved statistics.

        :param vec_env: the training environment; its spaces must already match the agent's.
        :return: the environment to train on.
        """
        in_env = unwrap_vec_wrapper(vec_env, VecNormalize)
        if isinstance(in_env, VecNormalize):
            self.statistics = in_env
            self._normalizes_training_rewards = in_env.norm_reward
            return vec_env
        saved = self.statistics
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
        self.statistics = normalizer
        self._normalizes_training_rewards = norm_reward
        return normalizer

    def save(self, agent_file: str | os.PathLike[str]) -> Path | None:
        """Write the statistics beside ``agent_file``; remove a stale file if there are none.

        :return: the written file, or ``None`` when the agent has no statistics.
        """
        target = normalizer_path(agent_file)
        if self.statistics is None:
            target.unlink(missing_ok=True)
            return None
        # Stored like SB3's ``VecNormalize.save`` (statistics and settings, no venv), with the
        # training-time reward setting so that continued training after loading keeps it.
        stored = _detached_copy(self.statistics)
        if self._normalizes_training_rewards is not None:
            stored.norm_reward = self._normalizes_training_rewards
        return atomic_write_bytes(target, pickle.dumps(stored))

    def use(self, statistics: VecNormalize | None) -> None:
        """Act with ``statistics`` (as returned by ``read_normalizer``) from now on, or without any."""
        self.statistics = statistics
        self._normalizes_training_rewards = None
        if statistics is not None:
            self._normalizes_training_rewards = statistics.norm_reward
            statistics.training = False
            statistics.norm_reward = False


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
