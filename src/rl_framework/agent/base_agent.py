"""The one abstract agent every agent type derives from.

Life cycle: ``__init__`` (algorithm + parameters) -> ``train`` (in ``RLAgent`` / ``ILAgent``)
-> ``choose_action`` / ``evaluate`` -> ``save_to_file`` / ``load_from_file`` ->
``upload`` / ``download`` through a connector.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_framework.agent.evaluation import EvaluationEnvironment, EvaluationResult, evaluate_agent

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector


class BaseAgent(ABC):
    """Abstract agent: acts, evaluates, saves/loads and shares itself through a connector.

    Subclasses implement ``choose_action``, ``save_to_file`` and ``load_from_file``;
    evaluation, upload and download are shared and live here once.

    :param algorithm_class: the learning algorithm (a class, or a name the subclass resolves).
    :param algorithm_parameters: keyword arguments for the algorithm's constructor.
    """

    def __init__(self, algorithm_class: Any, algorithm_parameters: dict[str, Any] | None = None) -> None:
        if algorithm_parameters is not None and not isinstance(algorithm_parameters, dict):
            raise TypeError(
                f"algorithm_parameters must be a dict of constructor arguments, got "
                f"{type(algorithm_parameters).__name__}."
            )
        self.algorithm_class = algorithm_class
        self.algorithm_parameters: dict[str, Any] = dict(algorithm_parameters or {})

    # -- acting ---------------------------------------------------------------------------
    @abstractmethod
    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        """Return the action for one observation (or a batch, where the agent supports it).

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
        if isinstance(observations, dict):
            batch_size = len(next(iter(observations.values())))
            rows = [{key: value[i] for key, value in observations.items()} for i in range(batch_size)]
        else:
            rows = list(observations)
        return np.stack([np.asarray(self.choose_action(row, deterministic=deterministic)) for row in rows])

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(
        self,
        evaluation_environment: EvaluationEnvironment,
        n_eval_episodes: int,
        seeds: int | list[int] | None = None,
        deterministic: bool = False,
        progress_bar: bool = True,
        max_parallel_environments: int = 100,
    ) -> tuple[float, float]:
        """Run ``n_eval_episodes`` episodes and return ``(mean_reward, std_reward)``.

        Returns are the environment's raw episode returns (a ``Monitor`` in the environment's
        wrapper chain is read if present; normalisation kept by the agent is applied frozen to
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
        n_eval_episodes: int,
        seeds: int | list[int] | None = None,
        deterministic: bool = False,
        progress_bar: bool = True,
        max_parallel_environments: int = 100,
    ) -> EvaluationResult:
        """Like ``evaluate`` but return every episode's return and length.

        :return: an ``EvaluationResult`` (``episode_returns``, ``episode_lengths``, mean/std).
        """
        self._check_ready_to_act()
        return evaluate_agent(
            self.choose_actions,
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

    # -- persistence ----------------------------------------------------------------------
    @abstractmethod
    def save_to_file(self, file_path: str | os.PathLike[str]) -> Path:
        """Save the agent to ``file_path`` atomically (no half-written file on error).

        :param file_path: destination file.
        :return: the written path.
        """

    @abstractmethod
    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        """Replace this agent's model with the one saved at ``file_path``.

        :param file_path: a file written by ``save_to_file``.
        :param algorithm_parameters: parameters to override on the loaded algorithm.
        """

    # -- sharing --------------------------------------------------------------------------
    def upload(
        self,
        connector: Connector,
        evaluation_environment: EvaluationEnvironment | None = None,
        video_recording_environment: Any | None = None,
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

    def download(self, connector: Connector) -> Path:
        """Download an agent through ``connector`` and load it into this agent.

        :param connector: where to download from; its download config says what.
        :return: the local path of the downloaded agent file.
        """
        file_path = connector.download()
        self.load_from_file(file_path)
        return file_path
