"""The observation-normalisation statistics (SB3 ``VecNormalize``) a ``StableBaselinesAgent`` trained with.

They are stored as JSON inside the agent file (``sb3_format.py``) and applied frozen whenever the
agent acts. Files saved by earlier rl_framework versions kept them in a pickled ``<stem>.vecnormalize.pkl``
beside the zip; that file is read only with ``allow_pickle=True``.
"""

from __future__ import annotations

import copy
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rl_framework.util.safe_classes import UnsafeContentError
from rl_framework.util.serialization import from_json, to_json

#: The settings and statistics of a ``VecNormalize`` that acting and continued training need.
STORED_FIELDS = (
    "num_envs",
    "observation_space",
    "action_space",
    "norm_obs",
    "norm_reward",
    "norm_obs_keys",
    "obs_rms",
    "ret_rms",
    "clip_obs",
    "clip_reward",
    "gamma",
    "epsilon",
)


def normalizer_path(agent_file: str | os.PathLike[str]) -> Path:
    """Where earlier rl_framework versions kept the pickled ``VecNormalize`` statistics of ``agent_file``."""
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

    def to_json(self) -> dict[str, Any] | None:
        """The statistics and settings as pickle-free JSON (``None`` without statistics).

        The training-time reward setting is stored, so that continued training after loading keeps it.
        """
        if self.statistics is None:
            return None
        stored = {name: to_json(getattr(self.statistics, name)) for name in STORED_FIELDS}
        if self._normalizes_training_rewards is not None:
            stored["norm_reward"] = self._normalizes_training_rewards
        return stored

    def use(self, statistics: VecNormalize | None) -> None:
        """Act with ``statistics`` (e.g. from ``normalizer_from_json``) from now on, or without any."""
        self.statistics = statistics
        self._normalizes_training_rewards = None
        if statistics is not None:
            self._normalizes_training_rewards = statistics.norm_reward
            statistics.training = False
            statistics.norm_reward = False


def normalizer_from_json(stored: dict[str, Any], where: str) -> VecNormalize:
    """The ``VecNormalize`` statistics stored by ``ObservationNormalizer.to_json`` (attached to no environment).

    :param stored: the JSON object.
    :param where: the file it comes from, for messages.
    :raises ValueError: when the statistics are incomplete or damaged.
    """
    try:
        state = {name: from_json(stored[name], f"the normaliser statistics in '{where}'") for name in STORED_FIELDS}
    except KeyError as error:
        raise ValueError(f"The normaliser statistics in '{where}' lack {error}. Save the agent again.") from None
    if not isinstance(state["num_envs"], int) or state["num_envs"] < 1:
        raise ValueError(f"The normaliser statistics in '{where}' are damaged (num_envs). Save the agent again.")
    num_envs = state["num_envs"]
    # What VecNormalize.__getstate__ keeps besides the stored fields: empty per-env buffers, no render mode.
    state.update(
        training=False,
        render_mode=None,
        reset_infos=[{} for _ in range(num_envs)],
        _seeds=[None] * num_envs,
        _options=[{} for _ in range(num_envs)],
        metadata={},
        old_reward=np.zeros(num_envs),
    )
    normalizer = VecNormalize.__new__(VecNormalize)
    normalizer.__setstate__(state)
    normalizer.class_attributes = {}
    normalizer.returns = np.zeros(num_envs)
    return normalizer


def read_legacy_normalizer(agent_file: str | os.PathLike[str], allow_pickle: bool) -> VecNormalize | None:
    """Read the pickled ``<stem>.vecnormalize.pkl`` that earlier rl_framework versions wrote beside ``agent_file``.

    :param agent_file: the agent file the statistics belong to.
    :param allow_pickle: the caller trusts the file: unpickling may run code its author put in it.
    :return: the statistics (not attached to any environment), or ``None`` when there is no such file.
    :raises UnsafeContentError: when the file exists and ``allow_pickle`` is ``False``.
    :raises ValueError: when the file does not hold ``VecNormalize`` statistics.
    """
    source = normalizer_path(agent_file)
    if not source.is_file():
        return None
    if not allow_pickle:
        raise UnsafeContentError(
            f"The agent '{agent_file}' keeps its normaliser statistics in the pickle '{source}'. "
            f"Unpickling runs whatever code the file's author put in it: pass allow_pickle=True only if you trust "
            f"its source (then save_to_file again to store the statistics safely inside the zip)."
        )
    try:
        normalizer = pickle.loads(source.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as error:
        raise ValueError(
            f"Could not read normaliser statistics from '{source}': {error}. Delete it or save the agent again."
        ) from error
    if not isinstance(normalizer, VecNormalize):
        raise ValueError(f"'{source}' does not hold VecNormalize statistics; delete it or save the agent again.")
    return normalizer
