"""PettingZoo ParallelEnvs as one VecEnv slot per agent: training (SB3, imitation), evaluation, video."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
import pytest
from pettingzoo import ParallelEnv
from pettingzoo.mpe import simple_spread_v3  # noqa: E402
from pettingzoo.test import parallel_api_test  # noqa: E402
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402

from rl_framework.agent import BaseAgent, ImitationAgent, StableBaselinesAgent  # noqa: E402
from rl_framework.data import EpisodeSequence  # noqa: E402
from rl_framework.environment.multi_agent import MultiAgentVecEnv, multi_agent_vec_env  # noqa: E402
from rl_framework.environment.multi_agent_episodes import agent_episodes  # noqa: E402
from rl_framework.environment.vectorize import build_vec_env, close_training_environments  # noqa: E402
from rl_framework.util.video import record_video  # noqa: E402

TINY_PPO = {"n_steps": 16, "batch_size": 32, "n_epochs": 1, "seed": 0, "device": "cpu"}


class RaceEnv(ParallelEnv):
    """Three runners on a track; runner ``i`` finishes after ``i + 2`` forward steps (so they die at different times).

    Observation: ``[position / 4, runner index / 2]``; action 1 moves forward (reward 1), 0 waits.
    A runner is truncated after ``max_steps`` steps.
    """

    metadata = {"render_modes": ["rgb_array"], "name": "race_v0"}

    def __init__(self, render_mode: str | None = None, max_steps: int = 10, action_space: gym.Space | None = None):
        self.possible_agents = ["runner_0", "runner_1", "runner_2"]
        self.render_mode = render_mode
        self.max_steps = max_steps
        self._observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self._action_space = action_space or gym.spaces.Discrete(2)
        self.reset_seeds: list[int | None] = []
        self.closed = False
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> gym.Space:
        return self._observation_space

    def action_space(self, agent: str) -> gym.Space:
        return self._action_space

    def _observation(self, agent: str) -> np.ndarray:
        index = self.possible_agents.index(agent)
        return np.array([self.positions[agent] / 4, index / 2], dtype=np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.reset_seeds.append(seed)
        self.agents = list(self.possible_agents)
        self.positions = dict.fromkeys(self.agents, 0)
        self.steps = 0
        return {agent: self._observation(agent) for agent in self.agents}, {agent: {} for agent in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        self.steps += 1
        rewards, terminations, truncations = {}, {}, {}
        for agent in self.agents:
            forward = int(actions[agent]) == 1
            self.positions[agent] += forward
            rewards[agent] = float(forward)
            terminations[agent] = self.positions[agent] >= self.possible_agents.index(agent) + 2
            truncations[agent] = self.steps >= self.max_steps
        observations = {agent: self._observation(agent) for agent in self.agents}
        infos = {agent: {"position": self.positions[agent]} for agent in self.agents}
        self.agents = [agent for agent in self.agents if not (terminations[agent] or truncations[agent])]
        return observations, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray:
        frame = np.zeros((16, 24, 3), dtype=np.uint8)
        for index, agent in enumerate(self.possible_agents):
            frame[index * 5 : index * 5 + 4, : 4 * (self.positions[agent] + 1)] = 255
        return frame

    def close(self) -> None:
        self.closed = True


class Forward(BaseAgent):
    """Always runs forward: runner i finishes after i + 2 steps with return i + 2."""

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return np.int64(1)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        raise NotImplementedError("a scripted test policy")

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        raise NotImplementedError("a scripted test policy")


def spread() -> ParallelEnv:
    return simple_spread_v3.parallel_env(N=2, max_cycles=8)


def test_race_env_passes_pettingzoo_parallel_api_test() -> None:
    parallel_api_test(RaceEnv(), num_cycles=30)


def test_each_agent_finishes_in_its_own_slot_and_the_copy_resets_when_all_are_done() -> None:
    env = RaceEnv()
    vec_env = MultiAgentVecEnv([env], [False])
    assert vec_env.num_envs == 3 and vec_env.observation_space == env.observation_space("runner_0")
    first = vec_env.reset()
    np.testing.assert_allclose(first, [[0, 0], [0, 0.5], [0, 1]])
    ones = np.ones(3, dtype=np.int64)
    for step in (1, 2, 3, 4):
        observations, rewards, dones, infos = vec_env.step(ones)
        finished = {slot for slot in range(3) if "episode" in infos[slot]}
        assert finished == ({step - 2} if step >= 2 else set())  # runner i finishes at step i + 2
        for slot in finished:
            assert infos[slot]["episode"]["r"] == infos[slot]["episode"]["l"] == slot + 2
            assert infos[slot]["terminal_observation"][0] == (slot + 2) / 4
            assert infos[slot]["TimeLimit.truncated"] is False
    # step 4 ended the copy: the dead runners report one done without "episode", then everyone restarts
    assert dones.tolist() == [True, True, True]
    np.testing.assert_allclose(observations, first)
    assert rewards.tolist() == [0.0, 0.0, 1.0]  # dead runners earn nothing
    assert env.reset_seeds == [None, None] and not env.closed
    vec_env.close()
    assert not env.closed  # the user's env stays open


def test_dead_agents_see_zeros_and_their_actions_are_dropped() -> None:
    vec_env = MultiAgentVecEnv([RaceEnv()], [True])
    vec_env.reset()
    ones = np.ones(3, dtype=np.int64)
    vec_env.step(ones)
    observations, _, dones, _ = vec_env.step(ones)  # runner 0 finishes
    assert dones.tolist() == [True, False, False]
    assert observations[0].tolist() == [0.0, 0.0] and not vec_env.alive(0) and vec_env.alive(1)


def test_truncation_is_marked_for_bootstrapping() -> None:
    vec_env = MultiAgentVecEnv([RaceEnv(max_steps=1)], [True])
    vec_env.reset()
    _, _, dones, infos = vec_env.step(np.zeros(3, dtype=np.int64))
    assert dones.all() and all(info["TimeLimit.truncated"] for info in infos)
    assert [info["episode"]["l"] for info in infos] == [1, 1, 1]


def test_a_factory_is_called_once_per_copy_seeds_reach_each_copy_and_copies_are_closed() -> None:
    made: list[RaceEnv] = []

    def factory() -> RaceEnv:
        made.append(RaceEnv())
        return made[-1]

    vec_env = build_vec_env(factory, n_envs=2)
    assert isinstance(vec_env, MultiAgentVecEnv) and vec_env.num_envs == 6
    assert len(made) == 2  # recognised on its first call: no extra call to find out what it makes
    vec_env.seed(10)
    vec_env.reset()
    assert [env.reset_seeds for env in made] == [[10], [13]]  # copy k: seed + its first slot
    close_training_environments(vec_env, factory)
    assert all(env.closed for env in made)


def test_single_agent_input_is_left_to_the_normal_path() -> None:
    calls: list[int] = []

    def cartpole() -> gym.Env:
        calls.append(1)
        return gym.make("CartPole-v1")

    assert multi_agent_vec_env(cartpole) is None and not calls  # factories are never called to look
    assert multi_agent_vec_env("CartPole-v1") is None
    assert multi_agent_vec_env([gym.make("CartPole-v1")]) is None
    assert build_vec_env(cartpole, n_envs=2).num_envs == 2 and len(calls) == 2


def test_a_factory_of_parallel_envs_is_refused_where_gymnasium_envs_are_needed() -> None:
    with pytest.raises(TypeError, match="made a PettingZoo ParallelEnv .*accepted by train"):
        EpisodeSequence.from_agent(Forward(), RaceEnv, n_episodes=1)


def test_ppo_trains_on_a_factory_of_mpe_envs_with_seed_and_episode_statistics() -> None:
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    agent.train(spread, n_envs=2, total_timesteps=64, progress_bar=False)
    assert agent.model is not None and agent.model.n_envs == 4  # 2 copies x 2 agents
    assert len(agent.model.ep_info_buffer) == 8  # one rollout: 4 slots x 2 episodes of 8 steps
    assert {info["l"] for info in agent.model.ep_info_buffer} == {8}
    seeded = [agent.evaluate_episodes(spread, n_eval_episodes=4, seeds=7, progress_bar=False) for _ in range(2)]
    np.testing.assert_array_equal(seeded[0].episode_returns, seeded[1].episode_returns)
    assert len(seeded[0].episode_lengths) == 4


def test_evaluation_counts_every_agents_episode_and_leaves_the_env_open() -> None:
    env = RaceEnv()
    result = Forward().evaluate_episodes(env, n_eval_episodes=6, progress_bar=False)
    assert sorted(result.episode_returns.tolist()) == [2, 2, 3, 3, 4, 4]
    assert not env.closed


def test_a_users_parallel_env_stays_open_after_training() -> None:
    env = RaceEnv()
    agent = StableBaselinesAgent("A2C", {"n_steps": 4, "seed": 0, "device": "cpu"})
    agent.train(env, total_timesteps=24, progress_bar=False)
    assert not env.closed and agent.model is not None and agent.model.n_envs == 3


def test_bc_learns_from_recorded_agent_episodes_and_acts_in_the_parallel_env() -> None:
    episodes = EpisodeSequence.from_generator(agent_episodes(Forward(), RaceEnv(), n_episodes=6, seed=0))
    assert sorted(episodes.episode_lengths.tolist()) == [2, 2, 3, 3, 4, 4]
    agent = ImitationAgent("BC", {"batch_size": 8, "seed": 0})
    agent.train(episodes, RaceEnv(), total_timesteps=800, progress_bar=False)
    assert agent.evaluate(RaceEnv(), n_eval_episodes=3, progress_bar=False) == (3.0, pytest.approx(np.std([2, 3, 4])))


def test_gail_trains_its_learner_on_the_parallel_env() -> None:
    episodes = EpisodeSequence.from_generator(agent_episodes(Forward(), RaceEnv(), n_episodes=6, seed=0))
    learner = {**TINY_PPO, "batch_size": 48}  # one minibatch: n_steps x 3 agent slots
    agent = ImitationAgent("GAIL", {"demo_batch_size": 8, "seed": 0, "learner_parameters": learner})
    agent.train(episodes, RaceEnv(), total_timesteps=48, progress_bar=False)
    assert agent.num_timesteps == 48  # one round of n_steps x 3 agent slots


def test_video_of_a_parallel_env_shows_its_frame_per_step(tmp_path: Path) -> None:
    path = record_video(Forward(), RaceEnv(render_mode="rgb_array"), tmp_path / "race.mp4", n_episodes=1)
    frames = list(imageio_ffmpeg.read_frames(str(path)))
    assert frames[0]["size"] == (24, 16)
    assert len(frames) - 1 == 1 + 4  # first frame + one per step of the copy's 4-step episode


def test_different_agent_spaces_name_the_padding_fix() -> None:
    class Mixed(RaceEnv):
        def action_space(self, agent: str) -> gym.Space:
            return gym.spaces.Discrete(3 if agent == "runner_2" else 2)

    with pytest.raises(ValueError, match="One shared policy needs one space.*pad_action_space_v0"):
        MultiAgentVecEnv([Mixed()], [False])


def test_dict_observations_name_the_flattening_fix() -> None:
    class Dicts(RaceEnv):
        def observation_space(self, agent: str) -> gym.Space:
            return gym.spaces.Dict({"position": gym.spaces.Box(0, 1, (1,))})

    with pytest.raises(ValueError, match="array observation spaces.*flatten"):
        MultiAgentVecEnv([Dicts()], [False])


def test_copies_of_an_instance_and_subprocesses_are_refused() -> None:
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    with pytest.raises(ValueError, match="copies of a ParallelEnv instance. Pass a factory"):
        agent.train(RaceEnv(), n_envs=2, total_timesteps=16, progress_bar=False)
    env = RaceEnv()
    with pytest.raises(ValueError, match="vectorization='dummy'"):
        agent.train(env, vectorization="subprocess", total_timesteps=16)
    assert not env.closed


def test_a_list_mixing_parallel_envs_with_other_things_is_refused() -> None:
    with pytest.raises(TypeError, match="only PettingZoo ParallelEnvs or factories of them"):
        multi_agent_vec_env([RaceEnv(), lambda: gym.make("CartPole-v1")])


def test_agent_episodes_takes_a_factory_and_refuses_gymnasium_envs() -> None:
    assert len(EpisodeSequence.from_generator(agent_episodes(Forward(), RaceEnv, n_episodes=3))) == 3
    with pytest.raises(TypeError, match=r"records PettingZoo ParallelEnvs.*EpisodeSequence.from_agent"):
        next(agent_episodes(Forward(), lambda: gym.make("CartPole-v1"), n_episodes=1))


def test_vecnormalize_wraps_the_multi_agent_vec_env() -> None:
    vec_env = VecNormalize(MultiAgentVecEnv([spread(), spread()], [True, True]))
    agent = StableBaselinesAgent("PPO", {**TINY_PPO, "batch_size": 64})
    agent.train(vec_env, total_timesteps=64, progress_bar=False)
    assert agent.normalizer.statistics is not None  # kept with the agent, applied frozen when it acts
    assert len(agent.evaluate_episodes(spread, n_eval_episodes=4, progress_bar=False).episode_returns) == 4
    vec_env.close()
