"""Fast, unbiased evaluation: the policy acts on a batch of environment copies at once.

Semantics follow SB3's ``evaluate_policy``: every environment copy runs its own fixed share of
the episodes (so short episodes do not dominate), returns are the raw returns the environment
gives (read from a ``Monitor`` when one is in the wrapper chain). The speed comes from calling the
policy once per step for the whole batch instead of once per environment. The agent acts through an
acting session (``rl_framework.agent.acting``), so a recurrent policy keeps its memory per copy and
a masked policy gets each copy's action masks, exactly as in SB3's own stateful ``predict`` loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize, is_vecenv_wrapped
from tqdm.auto import tqdm

from rl_framework.agent.acting import ActingSession, EnvSlot, act_in, vec_action_masks
from rl_framework.environment.copies import environment_copies, is_wrapped_with
from rl_framework.environment.multi_agent import (
    ParallelEnvMade,
    evaluation_copies,
    from_first_product,
    multi_agent_vec_env,
)
from rl_framework.environment.native_vector import native_vector_episodes
from rl_framework.util.checks import positive_int
from rl_framework.util.threads import resolve_torch_threads, torch_threads

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector

EvaluationEnvironment = gym.Env | str | Callable[[], gym.Env] | Sequence[Any] | VecEnv
StartActing = Callable[[int], ActingSession]


@dataclass(frozen=True)
class EvaluationResult:
    """Per-episode results of an evaluation, in episode order.

    :param episode_returns: undiscounted raw return of each episode.
    :param episode_lengths: number of steps of each episode.
    """

    episode_returns: np.ndarray
    episode_lengths: np.ndarray

    def __post_init__(self) -> None:
        if len(self.episode_returns) != len(self.episode_lengths):
            raise ValueError("episode_returns and episode_lengths must have the same length.")

    @property
    def mean_reward(self) -> float:
        """Mean episode return."""
        return float(np.mean(self.episode_returns))

    @property
    def std_reward(self) -> float:
        """Standard deviation of the episode returns (population, as SB3 reports it)."""
        return float(np.std(self.episode_returns))

    @property
    def mean_length(self) -> float:
        """Mean episode length."""
        return float(np.mean(self.episode_lengths))

    def log_to(self, connector: Connector, timestep: int) -> None:
        """Log every episode's return and length, then their mean and std, through ``connector`` at ``timestep``.

        Names: ``eval/episode_return``, ``eval/episode_length`` (one value per episode, in episode
        order), ``eval/mean_return``, ``eval/std_return``, ``eval/mean_length``.
        """
        for episode_return, length in zip(self.episode_returns, self.episode_lengths, strict=True):
            connector.log_value("eval/episode_return", float(episode_return), timestep)
            connector.log_value("eval/episode_length", float(length), timestep)
        connector.log_value("eval/mean_return", self.mean_reward, timestep)
        connector.log_value("eval/std_return", self.std_reward, timestep)
        connector.log_value("eval/mean_length", self.mean_length, timestep)


def episode_seeds(seeds: int | Sequence[int] | None, n_episodes: int) -> list[int | None]:
    """Expand the ``seeds`` argument of ``evaluate`` into one seed (or ``None``) per episode.

    :raises ValueError: when a seed list does not have one seed per episode.
    """
    if seeds is None:
        return [None] * n_episodes
    if isinstance(seeds, (int, np.integer)):
        return [int(seeds) + i for i in range(n_episodes)]
    seed_list = [int(seed) for seed in seeds]
    if len(seed_list) != n_episodes:
        raise ValueError(
            f"seeds has {len(seed_list)} entries but n_eval_episodes is {n_episodes}: give one seed per "
            f"episode, a single int (episode i uses seed + i), or None."
        )
    return list(seed_list)


def evaluate_agent(
    start_acting: StartActing,
    environment: EvaluationEnvironment,
    n_eval_episodes: int,
    seeds: int | Sequence[int] | None = None,
    deterministic: bool = False,
    progress_bar: bool = True,
    max_parallel_environments: int = 100,
) -> EvaluationResult:
    """Evaluate the agent whose acting sessions ``start_acting(n_envs)`` starts on ``environment``.

    See ``BaseAgent.evaluate`` for the meaning of the arguments.
    """
    n_episodes = positive_int(n_eval_episodes, "n_eval_episodes")
    max_parallel_environments = positive_int(max_parallel_environments, "max_parallel_environments")
    seed_per_episode = episode_seeds(seeds, n_episodes)
    multi_agent = multi_agent_vec_env(environment)
    if multi_agent is not None:  # a PettingZoo ParallelEnv: one slot per agent, each agent's episodes count
        with contextlib.closing(multi_agent):  # closes only the copies made from factories
            return evaluate_agent(start_acting, multi_agent, n_episodes, seeds, deterministic, progress_bar)
    if isinstance(environment, VecEnv) and not (seeds is None or isinstance(seeds, (int, np.integer))):
        raise ValueError(
            "A VecEnv resets itself between episodes, so it cannot take one seed per episode. Pass seeds as a "
            "single int (it seeds the VecEnv once), or pass an env id / factory / list of envs instead."
        )
    with (
        tqdm(total=n_episodes, desc="Evaluating", unit="episode", disable=not progress_bar) as bar,
        torch_threads(resolve_torch_threads(None, small_policy=True)),
    ):
        if isinstance(environment, VecEnv):
            return _evaluate_vec_env(start_acting, environment, n_episodes, seed_per_episode[0], deterministic, bar)
        n_copies = min(n_episodes, max_parallel_environments)
        # an env id (or gym.make env) with a native vector class runs there, with identical results
        native = native_vector_episodes(
            environment, n_copies, start_acting, seed_per_episode, deterministic, bar.update
        )
        if native is not None:
            return EvaluationResult(*native)
        try:
            with environment_copies(environment, n_copies) as envs:
                return _evaluate_env_list(start_acting, envs, seed_per_episode, deterministic, bar)
        except ParallelEnvMade as made:  # a factory of PettingZoo envs: copies until each agent has ~1 episode
            if not (seeds is None or isinstance(seeds, (int, np.integer))):
                made.env.close()
                raise ValueError("A PettingZoo env runs its agents' episodes at once: pass seeds as an int.") from None
            copies = evaluation_copies(n_episodes, len(made.env.possible_agents), max_parallel_environments)
            multi_agent = from_first_product(made, environment, copies)
        with contextlib.closing(multi_agent):
            return _evaluate_vec_env(start_acting, multi_agent, n_episodes, seed_per_episode[0], deterministic, bar)


class _EnvRunner(EnvSlot):
    """One environment copy (``index`` in the acting session) working through its share of episodes."""

    def __init__(self, env: gym.Env, index: int, episodes: list[int], seeds: list[int | None]) -> None:
        super().__init__(env, index)
        self.episodes = episodes
        self.seeds = seeds
        self.reads_monitor = is_wrapped_with(env, Monitor)
        self.position = 0
        self.episode_return = 0.0
        self.episode_length = 0
        self.reset(seed=seeds[episodes[0]])

    @property
    def current_episode(self) -> int:
        return self.episodes[self.position]

    def advance(self, action: Any) -> tuple[int, float, int] | None:
        """Step once; return ``(episode index, return, length)`` when an episode just finished."""
        _, reward, terminated, truncated, info = self.step(action)
        self.episode_return += float(reward)
        self.episode_length += 1
        if not (terminated or truncated):
            return None
        if self.reads_monitor and "episode" not in info:
            # The Monitor sees a longer episode (e.g. a life lost, not the game): keep going.
            self.reset()
            return None
        if self.reads_monitor:
            finished = (self.current_episode, float(info["episode"]["r"]), int(info["episode"]["l"]))
        else:
            finished = (self.current_episode, self.episode_return, self.episode_length)
        self.position += 1
        self.episode_return, self.episode_length = 0.0, 0
        if not self.done:
            self.reset(seed=self.seeds[self.current_episode])
        return finished

    @property
    def done(self) -> bool:
        return self.position >= len(self.episodes)


def _evaluate_env_list(
    start_acting: StartActing,
    envs: list[gym.Env],
    seeds: list[int | None],
    deterministic: bool,
    bar: tqdm,
) -> EvaluationResult:
    n_episodes = len(seeds)
    runners = [
        _EnvRunner(env, k, list(range(k, n_episodes, len(envs))), seeds) for k, env in enumerate(envs) if k < n_episodes
    ]
    session = start_acting(len(runners))
    returns = np.zeros(n_episodes)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    active = runners
    while active:
        actions = act_in(session, active, deterministic)
        for runner, action in zip(active, actions, strict=True):
            finished = runner.advance(action)
            if finished is not None:
                index, returns[index], lengths[index] = finished
                bar.update(1)
        active = [runner for runner in active if not runner.done]
    return EvaluationResult(returns, lengths)


def _evaluate_vec_env(
    start_acting: StartActing,
    vec_env: VecEnv,
    n_episodes: int,
    seed: int | None,
    deterministic: bool,
    bar: tqdm,
) -> EvaluationResult:
    """SB3 ``evaluate_policy`` semantics on a user's VecEnv (which resets itself)."""
    while isinstance(vec_env, VecNormalize):
        # The agent applies its own frozen statistics; the env must give raw observations and rewards.
        vec_env = vec_env.venv
    reads_monitor = is_vecenv_wrapped(vec_env, VecMonitor) or bool(vec_env.env_is_wrapped(Monitor)[0])
    n_envs = vec_env.num_envs
    targets = np.array([(n_episodes + i) // n_envs for i in range(n_envs)], dtype=int)
    counts = np.zeros(n_envs, dtype=int)
    running_returns = np.zeros(n_envs)
    running_lengths = np.zeros(n_envs, dtype=int)
    returns: list[float] = []
    lengths: list[int] = []
    if seed is not None:
        vec_env.seed(seed)
    session = start_acting(n_envs)
    observations = vec_env.reset()
    episode_starts = np.ones(n_envs, dtype=bool)
    while (counts < targets).any():
        masks = vec_action_masks(vec_env) if session.needs_action_masks else None
        actions = session.act(observations, episode_starts, deterministic=deterministic, action_masks=masks)
        observations, rewards, dones, infos = vec_env.step(actions)
        episode_starts = dones
        running_returns += rewards
        running_lengths += 1
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                if reads_monitor and "episode" in infos[i]:
                    returns.append(float(infos[i]["episode"]["r"]))
                    lengths.append(int(infos[i]["episode"]["l"]))
                    counts[i] += 1
                    bar.update(1)
                elif not reads_monitor:
                    returns.append(float(running_returns[i]))
                    lengths.append(int(running_lengths[i]))
                    counts[i] += 1
                    bar.update(1)
            if not reads_monitor or "episode" in infos[i]:
                running_returns[i], running_lengths[i] = 0.0, 0
    return EvaluationResult(np.array(returns), np.array(lengths))
