"""``StableBaselinesAgent``: any Stable-Baselines3 (or sb3-contrib) algorithm behind the agent interface."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.acting import MASK_METHOD
from rl_framework.agent.export import OnnxActor, sb3_actor
from rl_framework.agent.reinforcement.algorithms import (
    SB3_ALGORITHMS,
    check_sb3_parameters,
    default_policy,
    supporting_algorithms,
)
from rl_framework.agent.reinforcement.normalization import (
    ObservationNormalizer,
    normalizer_from_json,
    normalizer_path,
    read_legacy_normalizer,
)
from rl_framework.agent.reinforcement.sb3_format import read_sb3_zip, sb3_zip_bytes
from rl_framework.agent.reinforcement.training_controls import (
    apply_initial_action_bias,
    control_callbacks,
    log_without_an_empty_folder,
    reset_optimizers,
    sb3_arguments,
)
from rl_framework.agent.reinforcement.zip_check import check_agent_zip
from rl_framework.agent.reinforcement_learning_agent import RLAgent
from rl_framework.agent.sb3_policy import SB3PolicyActing
from rl_framework.environment.vectorize import check_spaces_match
from rl_framework.util.algorithm_table import resolve_algorithm
from rl_framework.util.connector.base import Connector
from rl_framework.util.connector.callbacks import ConnectorCallback, as_callback_list
from rl_framework.util.files import atomic_write_bytes, require_existing_file
from rl_framework.util.finite import check_finite_agent


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
        self.algorithm_class: type[BaseAlgorithm] = resolved
        check_sb3_parameters(resolved, sb3_arguments(self.algorithm_parameters))  # gamma schedules, action bias
        self.model: BaseAlgorithm | None = None
        #: The frozen ``VecNormalize`` statistics the agent trained with (applied whenever it acts).
        self.normalizer = ObservationNormalizer()

    @classmethod
    def from_file(
        cls, file_path: str | os.PathLike[str], algorithm_class: str | type[BaseAlgorithm] = "PPO", **kwargs: Any
    ) -> StableBaselinesAgent:
        """Create an agent and load ``file_path`` into it, like SB3's class-level ``PPO.load``.

        :param file_path: a file written by ``save_to_file`` (or SB3's ``save``).
        :param algorithm_class: the algorithm the file was saved from.
        :param kwargs: passed to ``load_from_file`` (``algorithm_parameters``, ``allow_pickle``, ...).
        :return: the loaded agent.
        """
        agent = cls(algorithm_class)
        agent.load_from_file(file_path, **kwargs)
        return agent

    # -- checkpoints (checkpoint.py) ------------------------------------------------------
    def save_checkpoint(
        self, file_path: str | os.PathLike[str], connector: Connector | None = None, force: bool = False
    ) -> list[Path]:
        """Save everything a resumed training needs to one file, atomically and pickle-free.

        The file is what ``save_to_file`` writes (plain ``PPO.load`` and ``load_from_file`` read it)
        plus the step counters, the recent episode statistics, the replay buffer (off-policy
        algorithms) and ``connector``'s run. Weights, optimiser states and normaliser statistics
        come with the agent file. Checkpoints saved during ``train(..., connector=...)`` are
        written by this method too.

        :param file_path: destination, conventionally ending in ``.zip``.
        :param connector: the connector whose run ``resume`` continues.
        :param force: save even a model whose weights hold NaN/inf values.
        :return: the written files, the checkpoint first.
        """
        from rl_framework.agent.reinforcement.checkpoint import save_checkpoint

        return save_checkpoint(self, file_path, connector, force)

    @classmethod
    def resume(
        cls,
        file_path: str | os.PathLike[str],
        connector: Connector | None = None,
        algorithm_class: str | type[BaseAlgorithm] | None = None,
        algorithm_parameters: dict[str, Any] | None = None,
    ) -> StableBaselinesAgent:
        """Rebuild an agent from a checkpoint so that ``train`` continues where it stopped.

        Restores the model, its optimiser states, the replay buffer, the normaliser statistics
        and the step counters (``num_timesteps`` continues, so logged curves continue too), and
        lets ``connector`` continue the run the checkpoint recorded (its values logged after the
        checkpoint's step are dropped). Nothing in the file is unpickled.

        :param file_path: a file written by ``save_checkpoint`` (or a connector during training).
        :param connector: the connector to continue logging to (pass it to ``train`` as well).
        :param algorithm_class: only for algorithms outside the name table (default: the
            algorithm recorded in the checkpoint).
        :param algorithm_parameters: merged over the stored parameters, as in ``load_from_file``.
        :return: the resumed agent.
        :raises ValueError: when the file is not a checkpoint or is corrupt.
        """
        from rl_framework.agent.reinforcement.checkpoint import resume

        return resume(cls, file_path, connector, algorithm_class, algorithm_parameters)

    def _timesteps_trained(self) -> int:
        return int(self.model.num_timesteps) if self.model is not None else 0

    # -- training -------------------------------------------------------------------------
    def _train(
        self,
        vec_env: VecEnv,
        total_timesteps: int,
        connector: Connector | None,
        progress_bar: bool,
        callback: Any,
    ) -> None:
        """Train the SB3 model on ``vec_env`` (built on the first call); a second call continues.

        A ``VecNormalize`` in ``vec_env`` is kept with the agent; ``callback`` takes SB3 callbacks.
        """
        self._check_action_space(vec_env.action_space)
        self._check_action_masks(vec_env)
        continuing = self.model is not None
        if self.model is not None:
            self._check_model_spaces(vec_env)  # before adopting a normaliser that assumes them
        vec_env = self.normalizer.adopt(vec_env)
        if self.model is None:
            self.model = self._build_model(vec_env)
        else:
            self._attach_environment(vec_env)
        callbacks = as_callback_list(callback) + control_callbacks(self.algorithm_parameters)
        if connector is not None:
            callbacks.append(ConnectorCallback(connector, self))
        log_without_an_empty_folder(self.model)
        self.model.learn(
            total_timesteps=total_timesteps,
            callback=callbacks or None,
            reset_num_timesteps=not continuing,
            progress_bar=progress_bar,
        )

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

    def _check_action_masks(self, vec_env: VecEnv) -> None:
        """A masked algorithm (``MaskablePPO``) trains only on envs with ``action_masks()``: say so before building."""
        if self._entry is not None and self._entry.masked and not vec_env.has_attr(MASK_METHOD):
            raise ValueError(
                f"{self.algorithm_class.__name__} needs the environment's action masks, but it has no "
                f"{MASK_METHOD}() method. Add one returning one boolean per action (True = allowed), or wrap the env "
                f"in sb3_contrib.common.wrappers.ActionMasker(env, mask_function)."
            )

    def _build_model(self, vec_env: VecEnv) -> BaseAlgorithm:
        # SB3 writes into the dicts it is given (SAC adds use_sde to policy_kwargs): hand it copies, so the
        # agent's parameters (saved, uploaded, reused for another agent) stay as the user wrote them.
        given = {
            name: dict(value) if isinstance(value, dict) else value
            for name, value in sb3_arguments(self.algorithm_parameters).items()
        }
        parameters: dict[str, Any] = {"policy": default_policy(vec_env.observation_space, self._entry), **given}
        try:
            model = self.algorithm_class(env=vec_env, **parameters)
        except AssertionError as error:  # SB3 asserts unsupported spaces in its constructor
            raise ValueError(f"{self.algorithm_class.__name__} cannot train on this environment: {error}") from error
        if self.algorithm_parameters.get("initial_action_bias") is not None:
            apply_initial_action_bias(model, self.algorithm_parameters["initial_action_bias"])
        return model

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
    def _prepare_observations(self, observations: Any) -> Any:
        return self.normalizer.normalize(observations)

    def acting_policy(self) -> BasePolicy:
        """Return the SB3 policy of the trained or loaded model."""
        self._check_ready_to_act()
        assert self.model is not None
        return self.model.policy

    def _check_ready_to_act(self) -> None:
        if self.model is None:
            raise RuntimeError("The agent has no model yet: call train(...) or load_from_file(...) first.")

    def _onnx_actor(self) -> OnnxActor:
        """The policy's deterministic actions, behind the frozen ``VecNormalize`` statistics if any (``export.py``)."""
        return sb3_actor(self.acting_policy(), self.normalizer.statistics)

    # -- persistence ----------------------------------------------------------------------
    def save_to_file(self, file_path: str | os.PathLike[str], force: bool = False) -> list[Path]:
        """Save the model in SB3's own zip format (loadable by plain ``PPO.load``), atomically, as one file.

        The zip also holds ``rl_framework.json`` (see ``sb3_format.py``): everything needed to
        rebuild the agent without unpickling, including the ``VecNormalize`` statistics if the
        agent has them. A ``<name>.vecnormalize.pkl`` left beside it by an earlier rl_framework is removed.

        :param file_path: destination, conventionally ending in ``.zip``.
        :param force: save even a model whose weights hold NaN/inf values (refused by default:
            ``NonFiniteError``, see ``util/finite.py``).
        :return: the written file (one: the zip).
        """
        self._check_ready_to_act()
        assert self.model is not None
        check_finite_agent(self, "save", force)
        content = sb3_zip_bytes(self.model, self.algorithm_name, self.normalizer.to_json())
        path = atomic_write_bytes(file_path, content)
        normalizer_path(path).unlink(missing_ok=True)  # stale statistics of an older save: the zip has them now
        return [path]

    def load_from_file(
        self,
        file_path: str | os.PathLike[str],
        algorithm_parameters: dict[str, Any] | None = None,
        allow_pickle: bool = False,
        reset_optimizer: bool = False,
    ) -> None:
        """Load a model saved by ``save_to_file`` (or by SB3's ``save``) into this agent, without unpickling.

        Files of ``save_to_file`` are rebuilt from their JSON; a plain SB3 zip (``PPO.save``) from
        the readable part of its ``data`` (training-only settings SB3 stored only as pickles, such
        as ``train_freq``, then start from the algorithm's defaults, with a warning). Tensors are
        read with ``torch.load(weights_only=True)``.

        :param file_path: the zip file.
        :param algorithm_parameters: merged over the stored parameters and set on the loaded
            model (e.g. ``learning_rate``, or a ``gamma`` schedule for further training);
            ``policy`` cannot change on load and ``initial_action_bias`` only acts on a new model.
        :param allow_pickle: trust the file: read a plain SB3 zip with SB3's own loader and the
            ``<name>.vecnormalize.pkl`` of earlier rl_framework versions, both of which unpickle, and
            unpickling runs whatever code the file's author put in it. Only for files you trust.
        :param reset_optimizer: forget the saved optimiser state (Adam moments, step counts) so
            fine-tuning starts like a fresh optimiser (see ``training_controls.reset_optimizers``).
        :raises UnsafeContentError: (a ``ValueError``) when the file can only be read by unpickling
            and ``allow_pickle`` is ``False``, or names a class outside the allowlist
            (``rl_framework.util.safe_classes``).
        """
        path = require_existing_file(file_path, "agent file")
        check_agent_zip(path, self.algorithm_class)  # truncated/corrupt file, or another algorithm's (zip_check.py)
        overrides = {name: value for name, value in (algorithm_parameters or {}).items() if name != "policy"}
        overrides = sb3_arguments(overrides)
        check_sb3_parameters(self.algorithm_class, overrides)
        model, stored_statistics, own_file = read_sb3_zip(
            path, self.algorithm_class, self.algorithm_name, overrides, allow_pickle
        )
        # Read before changing anything: a failed load changes nothing.
        if own_file:
            statistics = None if stored_statistics is None else normalizer_from_json(stored_statistics, str(path))
        else:
            statistics = read_legacy_normalizer(path, allow_pickle)
        if reset_optimizer:
            reset_optimizers(model)
        self.model = model
        self.algorithm_parameters.update(algorithm_parameters or {})
        self.normalizer.use(statistics)
