"""``StableBaselinesAgent``: any Stable-Baselines3 (or sb3-contrib) algorithm behind the agent interface."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.policy_acting import SB3PolicyActing, read_normalizer
from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS, supporting_algorithms
from rl_framework.agent.rl_agent import RLAgent
from rl_framework.environment.vectorize import (
    TrainingEnvironments,
    Vectorization,
    check_spaces_match,
    close_training_environments,
    make_vec_env,
)
from rl_framework.util.callbacks import ConnectorCallback
from rl_framework.util.connector.base import Connector
from rl_framework.util.files import atomic_write_bytes, require_existing_file
from rl_framework.util.registry import check_parameter_names, resolve_algorithm


def default_policy(observation_space: gym.Space) -> str:
    """SB3 policy name that fits ``observation_space`` (Dict -> MultiInput, images -> Cnn, else Mlp)."""
    if isinstance(observation_space, gym.spaces.Dict):
        return "MultiInputPolicy"
    if is_image_space(observation_space, check_channels=False):
        return "CnnPolicy"
    return "MlpPolicy"


def check_total_timesteps(total_timesteps: Any) -> int:
    """Return ``total_timesteps`` as an int or raise ``ValueError`` if it is not a positive integer."""
    valid = isinstance(total_timesteps, (int, np.integer)) and not isinstance(total_timesteps, bool)
    if not valid or total_timesteps <= 0:
        raise ValueError(
            f"total_timesteps must be a positive int (environment steps), got {total_timesteps!r}. "
            f"Pass e.g. total_timesteps=10_000."
        )
    return int(total_timesteps)


class StableBaselinesAgent(SB3PolicyActing, RLAgent):
    """An RL agent backed by a Stable-Baselines3 algorithm.

    The SB3 model is created on the first ``train`` call (it needs the environment's spaces),
    or by ``load_from_file``. ``model`` gives direct access to it.

    :param algorithm_class: an SB3 algorithm class or its name ("PPO", "A2C", "DQN", "SAC", "TD3",
        "DDPG"; with the ``contrib`` extra also "ARS", "CrossQ", "MaskablePPO", "QRDQN",
        "RecurrentPPO", "TQC", "TRPO").
    :param algorithm_parameters: keyword arguments for the algorithm's constructor (``policy``
        defaults to the one that fits the observation space).
    """

    def __init__(
        self, algorithm_class: str | type[BaseAlgorithm] = "PPO", algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        resolved, self._entry = resolve_algorithm(algorithm_class, SB3_ALGORITHMS, "stable-baselines3")
        super().__init__(resolved, algorithm_parameters)
        check_parameter_names(resolved, self.algorithm_parameters, "algorithm_parameters")
        self.model: BaseAlgorithm | None = None

    # -- training -------------------------------------------------------------------------
    def train(
        self,
        training_environments: TrainingEnvironments,
        total_timesteps: int,
        connector: Connector | None = None,
        n_envs: int = 1,
        vectorization: Vectorization = "dummy",
        progress_bar: bool = True,
        callback: BaseCallback | list[BaseCallback] | None = None,
    ) -> None:
        """Train for ``total_timesteps`` environment steps; a second call continues training.

        :param training_environments: a gymnasium env, env id, env factory, list of envs or
            factories, or an SB3 VecEnv (a ``VecNormalize`` in it is kept with the agent).
        :param total_timesteps: environment steps to train for (> 0).
        :param connector: logs episode returns/lengths, SB3's metrics and checkpoints when given.
        :param n_envs: number of copies for an env id or factory (ignored for lists and VecEnvs).
        :param vectorization: ``"dummy"`` (one process, default) or ``"subprocess"``.
        :param progress_bar: show SB3's progress bar.
        :param callback: extra SB3 callback(s).
        """
        total_timesteps = check_total_timesteps(total_timesteps)
        built = vec_env = make_vec_env(training_environments, n_envs=n_envs, vectorization=vectorization)
        try:
            self._check_action_space(vec_env.action_space)
            continuing = self.model is not None
            if self.model is not None:
                self._check_model_spaces(vec_env)  # before adopting a normaliser that assumes them
            vec_env = self.adopt_normalizer(vec_env)
            if self.model is None:
                self.model = self._build_model(vec_env)
            else:
                self._attach_environment(vec_env)
            callbacks = [] if callback is None else list(callback) if isinstance(callback, list) else [callback]
            if connector is not None:
                callbacks.append(ConnectorCallback(connector, self))
            self.model.learn(
                total_timesteps=total_timesteps,
                callback=callbacks or None,
                reset_num_timesteps=not continuing,
                progress_bar=progress_bar,
            )
        finally:
            close_training_environments(built, training_environments)

    def _attach_environment(self, vec_env: VecEnv) -> None:
        """Point the model at ``vec_env``; a different number of envs rebuilds the model around the same weights."""
        assert self.model is not None
        wrapped = self.model._wrap_env(vec_env, verbose=0, monitor_wrapper=False)
        if wrapped.num_envs == self.model.n_envs:
            self.model.set_env(wrapped)
            return
        # SB3 sizes rollout/replay buffers by n_envs and refuses set_env across sizes; its load(env=) re-sizes them.
        buffer = io.BytesIO()
        self.model.save(buffer)
        buffer.seek(0)
        self.model = self.algorithm_class.load(buffer, env=wrapped, device=self.model.device)

    def _check_action_space(self, action_space: gym.Space) -> None:
        if self._entry is None or not self._entry.action_spaces:
            return
        space_name = type(action_space).__name__
        if space_name not in self._entry.action_spaces:
            raise ValueError(
                f"{self.algorithm_class.__name__} does not support the action space {action_space} ({space_name}); "
                f"it supports {', '.join(self._entry.action_spaces)}. Algorithms for {space_name}: "
                f"{', '.join(supporting_algorithms(space_name)) or 'none in the table'}."
            )

    def _build_model(self, vec_env: VecEnv) -> BaseAlgorithm:
        parameters = {"policy": default_policy(vec_env.observation_space), **self.algorithm_parameters}
        try:
            return self.algorithm_class(env=vec_env, **parameters)
        except AssertionError as error:  # SB3 asserts unsupported spaces in its constructor
            raise ValueError(f"{self.algorithm_class.__name__} cannot train on this environment: {error}") from error

    def _check_model_spaces(self, vec_env: VecEnv) -> None:
        """Raise ``ValueError`` when the existing model's spaces differ from ``vec_env``'s."""
        assert self.model is not None
        wrapped = self.model._wrap_env(vec_env, verbose=0, monitor_wrapper=False)
        check_spaces_match(
            self.model.observation_space,
            self.model.action_space,
            wrapped.observation_space,
            wrapped.action_space,
            f"The agent's {self.algorithm_class.__name__} model",
        )

    # -- acting ---------------------------------------------------------------------------
    def acting_policy(self) -> BasePolicy:
        """Return the SB3 policy of the trained or loaded model."""
        self._check_ready_to_act()
        assert self.model is not None
        return self.model.policy

    def _check_ready_to_act(self) -> None:
        if self.model is None:
            raise RuntimeError("The agent has no model yet: call train(...) or load_from_file(...) first.")

    # -- persistence ----------------------------------------------------------------------
    def save_to_file(self, file_path: str | os.PathLike[str]) -> Path:
        """Save the model in SB3's own zip format (loadable by plain ``PPO.load``), atomically.

        ``VecNormalize`` statistics, if the agent has them, go beside it into
        ``<name>.vecnormalize.pkl``.

        :param file_path: destination, conventionally ending in ``.zip``.
        :return: the written path.
        """
        self._check_ready_to_act()
        assert self.model is not None
        buffer = io.BytesIO()
        self.model.save(buffer)
        path = atomic_write_bytes(file_path, buffer.getvalue())
        self.save_normalizer(path)
        return path

    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        """Load a model saved by ``save_to_file`` (or by SB3's ``save``) into this agent.

        :param file_path: the zip file.
        :param algorithm_parameters: attributes to override on the loaded model (e.g. ``learning_rate``).
        """
        path = require_existing_file(file_path, "agent file")
        overrides = {name: value for name, value in (algorithm_parameters or {}).items() if name != "policy"}
        check_parameter_names(self.algorithm_class, overrides, "algorithm_parameters")
        try:
            model = self.algorithm_class.load(path, **overrides)
        except (ValueError, KeyError, TypeError, AttributeError, OSError, RuntimeError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"Could not load a {self.algorithm_class.__name__} model from '{path}': {error}. Check that the file "
                f"was saved from a {self.algorithm_class.__name__} agent (pass algorithm_class to match) and is not "
                f"corrupt."
            ) from error
        normalizer = read_normalizer(path)  # read before changing anything: a failed load changes nothing
        self.model = model
        if algorithm_parameters:
            self.algorithm_parameters.update(algorithm_parameters)
        self.use_normalizer(normalizer)
