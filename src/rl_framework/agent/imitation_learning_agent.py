"""Abstract imitation-learning agent: learns from recorded episodes."""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.base_agent import BaseAgent
from rl_framework.environment.vectorize import TrainingEnvironments, Vectorization

if TYPE_CHECKING:
    from rl_framework.data.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector


class ILAgent(BaseAgent):
    """An agent trained from recorded (expert) episodes, optionally with environment access.

    ``train`` is a template like ``RLAgent.train``: it also turns ``episode_sequence`` into an
    ``EpisodeSequence`` and checks it against the environments' spaces before calling ``_train``.
    """

    def train(
        self,
        episode_sequence: EpisodeSequence | str | os.PathLike[str] | Sequence[Any],
        training_environments: TrainingEnvironments,
        total_timesteps: int,
        connector: Connector | None = None,
        n_envs: int = 1,
        vectorization: Vectorization = "dummy",
        progress_bar: bool = True,
        torch_threads: int | None = None,
    ) -> None:
        """Train the agent on ``episode_sequence``; a second call continues training.

        :param episode_sequence: the demonstrations: an ``EpisodeSequence``, a dataset folder
            or file path (read with ``EpisodeSequence.from_dataset``), or a list of imitation
            trajectories.
        :param training_environments: environments for algorithms that also interact (and for
            the spaces); the same forms as ``RLAgent.train``.
        :param total_timesteps: the training budget (> 0); its unit depends on the algorithm.
        :param connector: logs metrics and checkpoints; its access is checked before any work.
        :param n_envs: number of copies for an env id or factory.
        :param vectorization: ``"dummy"`` (one process, default) or ``"subprocess"``.
        :param progress_bar: show progress bars.
        :param torch_threads: torch intra-op threads while training (see ``RLAgent.train``).
        """
        episodes = as_episode_sequence(episode_sequence)
        with self._training_session(
            training_environments, total_timesteps, connector, n_envs, vectorization, torch_threads
        ) as (vec_env, budget):
            episodes.check_compatible(vec_env.observation_space, vec_env.action_space)
            self._train(episodes, vec_env, budget, connector, progress_bar)

    @abstractmethod
    def _train(
        self,
        episodes: EpisodeSequence,
        vec_env: VecEnv,
        total_timesteps: int,
        connector: Connector | None,
        progress_bar: bool,
    ) -> None:
        """Train on ``episodes`` (already checked against ``vec_env``'s spaces).

        :param episodes: the demonstrations.
        :param vec_env: the training environments (do not close them: the template does).
        :param total_timesteps: the validated budget, in the algorithm's unit.
        :param connector: receives metrics and checkpoints, if given.
        :param progress_bar: whether to show progress bars.
        """


def as_episode_sequence(episodes: Any) -> EpisodeSequence:
    """Turn what ``ILAgent.train`` accepts into an ``EpisodeSequence``.

    :raises TypeError: for anything else, naming the accepted forms.
    """
    from rl_framework.data.episode_sequence import EpisodeSequence

    if isinstance(episodes, EpisodeSequence):
        return episodes
    if isinstance(episodes, (str, os.PathLike)):
        return EpisodeSequence.from_dataset(episodes)
    if isinstance(episodes, Sequence) and all(hasattr(item, "obs") and hasattr(item, "acts") for item in episodes):
        return EpisodeSequence.from_trajectories(list(episodes))
    raise TypeError(
        f"episode_sequence must be an EpisodeSequence, a dataset path or a list of imitation trajectories; got "
        f"{type(episodes).__name__}. Build one with EpisodeSequence.from_dataset(path), .from_trajectories(...), "
        f".from_episodes(...) or .from_agent(...)."
    )
