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
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.acting import ActingSession, BatchActing, row_by_row
from rl_framework.agent.evaluation import EvaluationEnvironment, EvaluationResult, evaluate_agent
from rl_framework.environment.vectorize import (
    TrainingEnvironments,
    Vectorization,
    build_vec_env,
    close_training_environments,
)
from rl_framework.util.checks import check_mapping, check_total_timesteps
from rl_framework.util.threads import resolve_torch_threads, torch_threads

if TYPE_CHECKING:
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
            otherwise its episodes run one after another.
        :param n_eval_episodes: how many episodes to run (> 0).
        :param seeds: one seed per episode (a list), a base seed (episode ``i`` uses
            ``seed + i``), or ``None`` for unseeded resets.
        :param deterministic: take the most likely actions instead of sampling.
        :param progress_bar: show a progress bar over finished episodes.
        :param max_parallel_environments: cap on environment copies stepped together.
        :return: mean and standard deviation of the episode returns.
        """
        result = self.evaluate_episodes(
            evaluation_environment,
            n_eval_episodes,
            seeds=seeds,
            deterministic=deterministic,
            progress_bar=progress_bar,
            max_parallel_environments=max_parallel_environments,
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
    ) -> EvaluationResult:
        """Like ``evaluate`` but return every episode's return and length.

        :return: an ``EvaluationResult`` (``episode_returns``, ``episode_lengths``, mean/std).
        """
        self._check_ready_to_act()
        return evaluate_agent(
            self.start_acting,
            evaluation_environment,
            n_eval_episodes,
            seeds=seeds,
            deterministic=deterministic,
            progress_bar=progress_bar,
            max_parallel_environments=max_parallel_environments,
        )

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
        body runs under the CPU thread policy (``util/threads.py``). Afterwards only what was
        built here is closed: never an environment or VecEnv the user passed.
        """
        total_timesteps = check_total_timesteps(total_timesteps)
        if connector is not None:
            connector.check_access()
        vec_env = build_vec_env(
            training_environments, n_envs=n_envs, vectorization=vectorization, wrapper=self._wrap_training_environment
        )
        try:
            threads = resolve_torch_threads(torch_threads_requested, self._has_small_policy(vec_env.observation_space))
            with torch_threads(threads):
                yield vec_env, total_timesteps
        finally:
            close_training_environments(vec_env, training_environments)

    def _wrap_training_environment(self, env: gym.Env) -> gym.Env:
        """Hook: wrap every environment built for training (the default adds nothing)."""
        return env

    def _has_small_policy(self, observation_space: gym.Space) -> bool:
        """Hook: whether the policy is small enough to train faster on one thread (not for images)."""
        return not is_image_space(observation_space, check_channels=False)

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
    ) -> str:
        """Upload this agent (with evaluation results and a replay video) through ``connector``.

        :param connector: where to upload (see ``rl_framework.util.connector``).
        :param evaluation_environment: evaluate before uploading and store the result.
        :param video_recording_environment: record a replay video (needs ``render_mode="rgb_array"``).
        :return: where the agent went (a version path, repository URL or task id).
        """
        return connector.upload(
            self,
            evaluation_environment=evaluation_environment,
            video_recording_environment=video_recording_environment,
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
