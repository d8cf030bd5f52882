"""The one abstract agent every agent type derives from.

Life cycle: ``__init__`` (algorithm + parameters) -> ``train`` (a template in ``RLAgent`` /
``ILAgent``, which calls the subclass's ``_train``) -> ``choose_action`` / ``evaluate`` ->
``save_to_file`` / ``load_from_file`` -> ``upload`` / ``download`` through a connector.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.acting import ActingSession, BatchActing, row_by_row
from rl_framework.agent.evaluation import EvaluationEnvironment, EvaluationResult, evaluate_agent
from rl_framework.environment.vectorize import (
    FiniteCheckVecEnv,
    PicklableHook,
    TrainingEnvironments,
    Vectorization,
    build_vec_env,
    close_training_environments,
)
from rl_framework.util.checks import check_mapping, check_total_timesteps
from rl_framework.util.finite import NonFiniteError, agent_networks, non_finite_tensors
from rl_framework.util.threads import is_small_policy_input, resolve_torch_threads, torch_threads

if TYPE_CHECKING:
    from rl_framework.agent.export import OnnxActor
    from rl_framework.util.connector.base import Connector


class BaseAgent(ABC):
    """Abstract agent: acts, evaluates, saves/loads and shares itself through a connector.

    Subclasses implement ``choose_action``, ``save_to_file`` and ``load_from_file``;
    evaluation, upload and download are shared and live here once. Agents that learn derive
    from ``RLAgent`` or ``ILAgent``, whose ``train`` runs the shared prologue of this class
    (``_training_session``) and then the subclass's ``_train``.

    :param algorithm_class: the learning algorithm: a class, a name the subclass resolves, or
        ``None`` for an agent without one (a scripted policy).
    :param algorithm_parameters: keyword arguments for the algorithm's constructor.
    """

    def __init__(self, algorithm_class: type | str | None = None, algorithm_parameters: dict[str, Any] | None = None):
        self.algorithm_class = algorithm_class
        self.algorithm_parameters: dict[str, Any] = check_mapping(algorithm_parameters, "algorithm_parameters")

    @property
    def algorithm_name(self) -> str:
        """The algorithm's name (``"PPO"``, ``"BC"``), or the agent's class name when it has no algorithm."""
        if isinstance(self.algorithm_class, type):
            return self.algorithm_class.__name__
        return self.algorithm_class or type(self).__name__

    # -- acting ---------------------------------------------------------------------------
    @abstractmethod
    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        """Return the action for one observation from the environment's observation space.

        Agents with a batched policy also accept a stacked batch here (first axis = batch);
        ``choose_actions`` is the batched entry point every agent has.

        :param observation: an observation from the environment's observation space.
        :param deterministic: take the most likely action instead of sampling.
        :return: the action, in the environment's action space.
        """

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        """Return actions for a batch of observations (first axis = batch).

        The default asks ``choose_action`` once per observation; agents with a batched policy
        override it, which is what makes ``evaluate`` fast.

        :param observations: stacked observations (a dict of stacked arrays for Dict spaces).
        :param deterministic: take the most likely actions instead of sampling.
        :return: stacked actions.
        """
        return row_by_row(self.choose_action)(observations, deterministic=deterministic)

    def start_acting(self, n_envs: int = 1) -> ActingSession:
        """Start acting in ``n_envs`` environment copies across episodes.

        ``evaluate``, replay videos and ``EpisodeSequence.from_agent`` act through this session.
        The default wraps ``choose_actions`` (a memoryless policy); an agent whose policy keeps a
        state between steps, or needs the environment's action masks, returns its own
        ``ActingSession`` (see ``rl_framework.agent.acting``).

        :param n_envs: how many environment copies the session acts in.
        :return: the session; ``session.act(observations, episode_starts, ...)`` returns actions.
        """
        return BatchActing(self.choose_actions, n_envs)

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(
        self,
        evaluation_environment: EvaluationEnvironment,
        n_eval_episodes: int = 10,
        seeds: int | list[int] | None = None,
        deterministic: bool = True,
        progress_bar: bool = True,
        max_parallel_environments: int = 100,
        connector: Connector | None = None,
    ) -> tuple[float, float]:
        """Run ``n_eval_episodes`` episodes and return ``(mean_reward, std_reward)``.

        Defaults follow SB3's ``evaluate_policy`` (10 episodes, deterministic actions). Returns
        are the environment's raw episode returns (a ``Monitor`` in the environment's wrapper
        chain is read if present; normalisation kept by the agent is applied frozen to
        observations only). Episodes run on up to ``max_parallel_environments`` copies of the
        environment at once, the policy acting on the whole batch in one call; each copy runs
        its own fixed share of the episodes, as in SB3's ``evaluate_policy``.

        :param evaluation_environment: a gymnasium env, env id, env factory, list of envs or
            an SB3 ``VecEnv``. A single env is copied through its registered spec when possible,
            otherwise its episodes run one after another. A PettingZoo ``ParallelEnv`` (or a
            factory of them) counts every agent's episodes (``environment/multi_agent.py``).
        :param n_eval_episodes: how many episodes to run (> 0).
        :param seeds: one seed per episode (a list), a base seed (episode ``i`` uses
            ``seed + i``), or ``None`` for unseeded resets.
        :param deterministic: take the most likely actions instead of sampling.
        :param progress_bar: show a progress bar over finished episodes.
        :param max_parallel_environments: cap on environment copies stepped together.
        :param connector: also log every episode's return and length and their mean/std through it
            (``eval/episode_return``, ``eval/episode_length``, ``eval/mean_return``,
            ``eval/std_return``, ``eval/mean_length``), at the agent's trained timesteps.
        :return: mean and standard deviation of the episode returns.
        """
        result = self.evaluate_episodes(
            evaluation_environment,
            n_eval_episodes,
            seeds=seeds,
            deterministic=deterministic,
            progress_bar=progress_bar,
            max_parallel_environments=max_parallel_environments,
            connector=connector,
        )
        return result.mean_reward, result.std_reward

    def evaluate_episodes(
        self,
        evaluation_environment: EvaluationEnvironment,
        n_eval_episodes: int = 10,
        seeds: int | list[int] | None = None,
        deterministic: bool = True,
        progress_bar: bool = True,
        max_parallel_environments: int = 100,
        connector: Connector | None = None,
    ) -> EvaluationResult:
        """Like ``evaluate`` but return every episode's return and length.

        :return: an ``EvaluationResult`` (``episode_returns``, ``episode_lengths``, mean/std).
        """
        self._check_ready_to_act()
        result = evaluate_agent(
            self.start_acting,
            evaluation_environment,
            n_eval_episodes,
            seeds=seeds,
            deterministic=deterministic,
            progress_bar=progress_bar,
            max_parallel_environments=max_parallel_environments,
        )
        if connector is not None:
            result.log_to(connector, self._timesteps_trained())
        return result

    def _check_ready_to_act(self) -> None:
        """Raise a clear error if the agent has no policy yet (override where that can happen)."""
        return None

    # -- training prologue, shared by RLAgent.train and ILAgent.train ---------------------------
    @contextlib.contextmanager
    def _training_session(
        self,
        training_environments: TrainingEnvironments,
        total_timesteps: int,
        connector: Connector | None,
        n_envs: int = 1,
        vectorization: Vectorization = "dummy",
        torch_threads_requested: int | None = None,
    ) -> Iterator[tuple[VecEnv, int]]:
        """Check the inputs, then yield ``(vectorized environments, budget)`` for one training call.

        In this order, before any work: the budget is validated, the connector's access (e.g. an
        upload token) is checked, the environments are built from any accepted input form. The
        body runs under the CPU thread policy (``util/threads.py``) on environments that stop
        training at the first NaN/inf value (``FiniteCheckVecEnv``); a Ctrl-C lets the connector
        keep a final checkpoint (``Connector.training_interrupted``) before it propagates, and a
        model whose weights became NaN/inf raises ``NonFiniteError``. Afterwards only what was
        built here is closed: never an environment or VecEnv the user passed.
        """
        total_timesteps = check_total_timesteps(total_timesteps)
        if connector is not None:
            connector.check_access()
        built = build_vec_env(
            training_environments,
            n_envs=n_envs,
            vectorization=vectorization,
            wrapper=PicklableHook(self._wrap_training_environment),
        )
        # Stops at the first NaN/inf reward, observation or action, naming the env and step.
        vec_env = FiniteCheckVecEnv(built, first_step=self._timesteps_trained())
        try:
            threads = resolve_torch_threads(torch_threads_requested, self._has_small_policy(vec_env.observation_space))
            with torch_threads(threads):
                try:
                    yield vec_env, total_timesteps
                except KeyboardInterrupt:
                    if connector is not None:  # keep what the run learnt; the connector says where
                        connector.training_interrupted(self, self._timesteps_trained() or vec_env.step_count)
                    raise
            self._check_finite_after_training(vec_env.step_count)
        finally:
            close_training_environments(built, training_environments)

    def _timesteps_trained(self) -> int:
        """Hook: environment steps this agent has trained for so far (names steps in errors; 0 if unknown)."""
        return 0

    def _check_finite_after_training(self, step: int) -> None:
        """Raise ``NonFiniteError`` if training left NaN/inf in the agent's network (e.g. a too high learning rate)."""
        network = agent_networks(self)
        broken = non_finite_tensors(network) if network is not None else []
        if broken:
            raise NonFiniteError(
                f"Training made the model's parameters NaN or infinite by step {step} ({', '.join(broken[:3])}), "
                f"although the environments returned finite values: the updates diverged. Lower the learning rate "
                f"(or clip gradients/rewards) and train again from a saved checkpoint; saving and uploading this "
                f"agent are refused unless forced."
            )

    def _wrap_training_environment(self, env: gym.Env) -> gym.Env:
        """Hook: wrap every environment built for training (the default adds nothing)."""
        return env

    def _has_small_policy(self, observation_space: gym.Space) -> bool:
        """Hook: whether the policy is small enough to train faster on one thread (MLPs; not CNNs).

        The default follows the measurements in ``util/threads.py`` (``is_small_policy_input``): CNN
        policies gained from a second thread at every image size. An agent whose network size does
        not follow from its observations overrides it.
        """
        return is_small_policy_input(observation_space)

    # -- export ---------------------------------------------------------------------------
    def export_onnx(self, file_path: str | os.PathLike[str]) -> Path:
        """Write the deterministic policy as an ONNX graph ``observation -> action`` (see ``agent/export.py``).

        Needs the ``onnx`` extra. The graph takes a float32 batch of raw observations (any
        normalisation the agent applies is inside) and returns what ``choose_action(...,
        deterministic=True)`` returns.

        :param file_path: destination, conventionally ending in ``.onnx``; written atomically.
        :return: the written path.
        :raises NotImplementedError: for agents whose policy cannot be exported, saying why.
        """
        from rl_framework.agent.export import export_onnx

        return export_onnx(self, file_path)

    def _onnx_actor(self) -> OnnxActor:
        """Hook: the deterministic policy as a torch module (``export.OnnxActor``); agents that export override it."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot be exported to ONNX: it has no torch policy to export. A custom agent "
            f"exports by overriding _onnx_actor() to return rl_framework.agent.export.OnnxActor(module, shape)."
        )

    # -- persistence ----------------------------------------------------------------------
    @abstractmethod
    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        """Save the agent to ``file_path`` atomically (no half-written file on error).

        :param file_path: destination of the agent file.
        :return: every file written, the agent file first, then companion files (if any).
            Connectors upload exactly these files.
        """

    @abstractmethod
    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        """Replace this agent's model with the one saved at ``file_path``.

        The same contract for every agent: everything is read and checked first, then swapped
        in, so a failed load (missing, corrupt or foreign file) changes nothing. Parameters
        given here are merged over the stored ones (``{**stored, **algorithm_parameters}``).

        :param file_path: a file written by ``save_to_file``.
        :param algorithm_parameters: parameters to override on the loaded algorithm.
        """

    # -- sharing --------------------------------------------------------------------------
    def upload(
        self,
        connector: Connector,
        evaluation_environment: EvaluationEnvironment | None = None,
        video_recording_environment: gym.Env | str | None = None,
        force: bool = False,
    ) -> str:
        """Upload this agent (with evaluation results and a replay video) through ``connector``.

        :param connector: where to upload (see ``rl_framework.util.connector``).
        :param evaluation_environment: evaluate before uploading and store the result.
        :param video_recording_environment: record a replay video (needs ``render_mode="rgb_array"``).
        :param force: upload even a model whose weights hold NaN/inf values (refused by default
            with ``NonFiniteError``, before any work).
        :return: where the agent went (a version path, repository URL or task id).
        """
        # Only a forced upload passes ``force``: connectors written before it existed keep working.
        return connector.upload(
            self,
            evaluation_environment=evaluation_environment,
            video_recording_environment=video_recording_environment,
            **({"force": True} if force else {}),
        )

    def download(
        self, connector: Connector, algorithm_parameters: dict[str, Any] | None = None, allow_pickle: bool = False
    ) -> Path:
        """Download an agent through ``connector`` and load it into this agent, without unpickling anything.

        :param connector: where to download from; its download config says what.
        :param algorithm_parameters: merged over the stored parameters, as in ``load_from_file``.
        :param allow_pickle: trust the downloaded files: passed to ``load_from_file``, which then
            also reads formats that unpickle (running whatever code their author put in them).
            Only for a source you trust; the agent class's ``load_from_file`` must accept it.
        :return: the local path of the downloaded agent file.
        """
        file_path = connector.download()
        if allow_pickle:
            self.load_from_file(file_path, algorithm_parameters, allow_pickle=True)  # type: ignore[call-arg]
        else:  # custom agents' load_from_file need not know the flag
            self.load_from_file(file_path, algorithm_parameters)
        return file_path
