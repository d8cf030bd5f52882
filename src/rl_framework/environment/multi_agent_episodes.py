"""Recording every agent of a PettingZoo env as imitation episodes (demonstrations for a shared policy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_framework.environment.multi_agent import MultiAgentVecEnv, is_parallel_env, multi_agent_vec_env
from rl_framework.util.checks import positive_int

if TYPE_CHECKING:
    from imitation.data import types


def agent_episodes(
    agent: Any, environment: Any, n_episodes: int, seed: int | None = None, deterministic: bool = True
) -> Iterator[types.TrajectoryWithRew]:
    """Let ``agent`` act for every agent of a PettingZoo env; yield each agent's episodes as they finish.

    The result feeds ``EpisodeSequence.from_generator`` (demonstrations for imitation learning
    with a shared policy). Episodes come in the order they finish.

    :param agent: an rl_framework agent, an SB3 model or policy, or a callable ``policy(observation)``.
    :param environment: a ``ParallelEnv`` (left open), a factory of one (made and closed here), or a list
        of ``ParallelEnv`` objects and factories.
    :param n_episodes: how many agent episodes to yield (> 0).
    :param seed: seeds the first reset (copy ``k`` uses ``seed`` + its first slot); ``None``: unseeded.
    :param deterministic: let agents take their most likely actions.
    :return: an iterator of ``TrajectoryWithRew`` (``terminal=True``: each ended by the environment).
    :raises TypeError: when ``environment`` is not a PettingZoo environment.
    """
    from imitation.data import types

    from rl_framework.agent.acting import start_acting

    n_episodes = positive_int(n_episodes, "n_episodes")
    vec_env = multi_agent_vec_env(environment)
    if vec_env is None and callable(environment):
        product = environment()
        if is_parallel_env(product):
            vec_env = MultiAgentVecEnv([product], [True])
        elif hasattr(product, "close"):
            product.close()
    if vec_env is None:
        raise TypeError(
            f"agent_episodes records PettingZoo ParallelEnvs, not {type(environment).__name__}. For a gymnasium env "
            f"use EpisodeSequence.from_agent(agent, env, n_episodes)."
        )
    try:
        session = start_acting(agent, vec_env.num_envs)
        if seed is not None:
            vec_env.seed(seed)
        observations: Any = vec_env.reset()
        episode_starts = np.ones(vec_env.num_envs, dtype=bool)
        recorder = [_Recording(observation) for observation in observations]
        produced = 0
        while True:
            actions = session.act(observations, episode_starts, deterministic=deterministic)
            observations, rewards, episode_starts, infos = vec_env.step(actions)
            for slot, recording in enumerate(recorder):
                if recording.active and "episode" in infos[slot]:
                    recording.add(actions[slot], rewards[slot], infos[slot]["terminal_observation"])
                    yield types.TrajectoryWithRew(**recording.finish(), infos=None, terminal=True)
                    produced += 1
                    if produced == n_episodes:
                        return
                elif recording.active:
                    recording.add(actions[slot], rewards[slot], observations[slot])
                if not recording.active and vec_env.alive(slot):  # its copy restarted
                    recorder[slot] = _Recording(observations[slot])
    finally:
        vec_env.close()


class _Recording:
    """One agent's episode being recorded."""

    def __init__(self, first_observation: np.ndarray) -> None:
        self.observations = [np.array(first_observation)]
        self.actions: list[Any] = []
        self.rewards: list[float] = []
        self.active = True

    def add(self, action: Any, reward: float, next_observation: np.ndarray) -> None:
        self.actions.append(np.array(action))
        self.rewards.append(float(reward))
        self.observations.append(np.array(next_observation))

    def finish(self) -> dict[str, np.ndarray]:
        self.active = False
        return {
            "obs": np.stack(self.observations),
            "acts": np.stack(self.actions),
            "rews": np.asarray(self.rewards, dtype=np.float32),
        }
