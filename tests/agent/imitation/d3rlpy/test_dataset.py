"""EpisodeSequence -> d3rlpy replay buffer: terminals, truncations, no copied observations, sampling."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from d3rlpy.dataset import BasicTransitionPicker, InfiniteBuffer
from imitation.data import types
from stable_baselines3.common.vec_env import DummyVecEnv

from rl_framework.agent.imitation.d3rlpy import D3rlpyAgent
from rl_framework.agent.imitation.d3rlpy.dataset import (
    EpisodeIndex,
    build_replay_buffer,
    ends_in_termination,
    sample_batch,
    time_limit_of,
    to_d3rlpy_episode,
)
from rl_framework.data import EpisodeSequence

PICK = BasicTransitionPicker()


@pytest.fixture(scope="module")
def falling_episode() -> types.TrajectoryWithRew:
    """A CartPole episode that terminates early (always pushing left)."""
    return next(iter(EpisodeSequence.from_agent(lambda observation: 0, "CartPole-v1", n_episodes=1, seed=0)))


def test_a_terminated_episode_ends_in_a_terminal_and_shares_the_observations(falling_episode) -> None:
    length = len(falling_episode.acts)
    assert length < 500 and ends_in_termination(falling_episode, time_limit=500)
    episode = to_d3rlpy_episode(falling_episode, terminated=True, rewards_required=True)
    assert episode.terminated and episode.transition_count == length
    assert np.shares_memory(episode.observations, falling_episode.obs)  # a view, not a copy
    last = PICK(episode, length - 1)
    assert last.terminal == 1.0
    np.testing.assert_array_equal(last.observation, falling_episode.obs[length - 1])


def test_a_truncated_episode_keeps_its_last_transition(cartpole_episodes: EpisodeSequence) -> None:
    trajectory = next(iter(cartpole_episodes))
    assert len(trajectory.acts) == 500 and trajectory.terminal
    assert not ends_in_termination(trajectory, time_limit=500)  # it reached CartPole-v1's time limit
    episode = to_d3rlpy_episode(trajectory, terminated=False, rewards_required=True)
    assert not episode.terminated and episode.transition_count == 500  # d3rlpy alone would keep 499
    assert np.shares_memory(episode.observations, trajectory.obs)
    last = PICK(episode, 499)
    assert last.terminal == 0.0 and last.action[0] == trajectory.acts[499]
    np.testing.assert_array_equal(last.next_observation, trajectory.obs[500])


def test_truncation_is_read_from_the_info_and_fragments_are_not_terminal() -> None:
    observation = np.zeros(4, dtype=np.float32)
    steps = [(observation, 0, observation, 1.0, False, True, {"TimeLimit.truncated": True})]
    (truncated,) = EpisodeSequence.from_episodes([steps])
    assert truncated.terminal and not ends_in_termination(truncated, time_limit=None)
    fragment = types.TrajectoryWithRew(
        obs=np.zeros((3, 4), np.float32), acts=np.zeros(2, np.int64), infos=None, terminal=False, rews=np.ones(2)
    )
    assert not ends_in_termination(fragment, time_limit=None)


def test_the_time_limit_comes_from_the_environment_spec() -> None:
    assert time_limit_of(DummyVecEnv([lambda: gym.make("CartPole-v1")])) == 500
    assert time_limit_of(DummyVecEnv([lambda: gym.make("CartPole-v1", max_episode_steps=20)])) == 20


def test_the_whole_sequence_streams_into_one_buffer(cartpole_episodes: EpisodeSequence) -> None:
    replay_buffer = build_replay_buffer(cartpole_episodes, gym.spaces.Discrete(2), 500, rewards_required=True)
    assert replay_buffer.transition_count == cartpole_episodes.n_transitions == 1000
    assert len(replay_buffer.episodes) == 2 and not any(episode.terminated for episode in replay_buffer.episodes)
    assert replay_buffer.dataset_info.action_size == 2


def test_the_episode_index_locates_transitions_as_d3rlpy_s_infinite_buffer_does(falling_episode) -> None:
    episodes = [
        to_d3rlpy_episode(falling_episode, terminated=True, rewards_required=True),
        to_d3rlpy_episode(falling_episode, terminated=False, rewards_required=True),
    ]
    ours, theirs = EpisodeIndex(), InfiniteBuffer()
    for episode in episodes:
        for index in range(episode.transition_count):
            ours.append(episode, index)
            theirs.append(episode, index)
    assert ours.transition_count == theirs.transition_count == 2 * len(falling_episode.acts)
    assert list(ours.episodes) == list(theirs.episodes)
    for index in range(theirs.transition_count):
        assert ours[index][0] is theirs[index][0] and ours[index][1] == theirs[index][1]


def test_batches_come_from_the_given_generator(cartpole_episodes: EpisodeSequence) -> None:
    replay_buffer = build_replay_buffer(cartpole_episodes, gym.spaces.Discrete(2), 500, rewards_required=True)
    first = sample_batch(replay_buffer, 32, np.random.default_rng(3))
    again = sample_batch(replay_buffer, 32, np.random.default_rng(3))
    assert first.observations.shape == (32, 4) and first.actions.shape == (32, 1)
    np.testing.assert_array_equal(first.observations, again.observations)


def test_offline_rl_refuses_episodes_without_rewards_but_bc_learns_from_them(falling_episode) -> None:
    rewardless = EpisodeSequence.from_trajectories(
        [types.Trajectory(obs=falling_episode.obs, acts=falling_episode.acts, infos=None, terminal=True)]
    )
    with pytest.raises(ValueError, match="carry no rewards.*'BC' / 'DiscreteBC'"):
        D3rlpyAgent("DiscreteCQL").train(rewardless, "CartPole-v1", total_timesteps=1, progress_bar=False)
    agent = D3rlpyAgent("DiscreteBC", {"batch_size": 8})
    agent.train(rewardless, "CartPole-v1", total_timesteps=2, progress_bar=False)
    assert agent.num_timesteps == 2
