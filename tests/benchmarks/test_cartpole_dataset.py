"""The benchmarks' simulated CartPole datasets hold real CartPole-v1 episodes in imitation's format."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rl_framework.data import EpisodeSequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from cartpole_dataset import EPISODE_LENGTH, simulate, write_dataset  # noqa: E402


def test_simulated_episodes_are_gym_cartpole_episodes():
    observations, actions = simulate(3, np.random.default_rng(7))
    starts = np.random.default_rng(7).uniform(-0.05, 0.05, size=(4, 3))  # the same first draw
    env = gym.make("CartPole-v1")
    for episode in range(3):
        env.reset(seed=0)
        env.unwrapped.state = starts[:, episode].copy()  # type: ignore[attr-defined]
        for step in range(EPISODE_LENGTH):
            observation, reward, terminated, truncated, _ = env.step(int(actions[episode, step]))
            np.testing.assert_array_equal(observation, observations[episode, step + 1])
            assert reward == 1.0 and not terminated
        assert truncated  # the expert reaches the time limit


def test_written_dataset_reads_back_with_both_readers(tmp_path):
    folder = tmp_path / "episodes"
    assert write_dataset(folder, 1_200, episodes_per_shard=2) == 1_500  # rounded up to whole episodes
    assert sorted(file.name for file in folder.glob("*.arrow")) == [
        "data-00000-of-00002.arrow",
        "data-00001-of-00002.arrow",
    ]
    episodes = EpisodeSequence.from_dataset(folder)
    assert (len(episodes), episodes.n_transitions) == (3, 1_500)
    episodes.check_compatible(gym.make("CartPole-v1").observation_space, gym.make("CartPole-v1").action_space)
    from imitation.data import serialize

    loaded = serialize.load(folder)
    np.testing.assert_array_equal(loaded[2].acts, episodes[2].acts)
    np.testing.assert_allclose(loaded[2].obs, episodes[2].obs)
    with pytest.raises(FileExistsError):
        write_dataset(folder, 500)
