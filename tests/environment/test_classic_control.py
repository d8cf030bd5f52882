"""``rl_framework/Acrobot-v1`` steps on numpy 2 exactly as gymnasium's Acrobot-v1 would."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rl_framework.environment  # noqa: F401 - registers rl_framework/Acrobot-v1


def test_gymnasiums_own_acrobot_fails_on_numpy_2():
    env = gym.make("Acrobot-v1")
    env.reset(seed=0)
    with pytest.raises(AttributeError, match="np.float_"):
        env.step(0)


def test_same_observations_rewards_and_episode_ends_as_the_original(monkeypatch):
    monkeypatch.setattr(np, "float_", np.float64, raising=False)  # lets the original integrate, for reference
    ours, original = gym.make("rl_framework/Acrobot-v1"), gym.make("Acrobot-v1")
    observation, _ = ours.reset(seed=3)
    np.testing.assert_array_equal(observation, original.reset(seed=3)[0])
    steps, done = 0, False
    for action in np.random.default_rng(0).integers(3, size=500):
        mine, theirs = ours.step(int(action)), original.step(int(action))
        np.testing.assert_array_equal(mine[0], theirs[0])
        assert mine[1:4] == theirs[1:4]
        steps, done = steps + 1, mine[2] or mine[3]
        if done:
            break
    assert steps == 500 and mine[3]  # random torques never swing up: the 500-step limit truncates


def test_stepping_before_reset_is_refused():
    with pytest.raises(RuntimeError, match="Call reset before step"):
        gym.make("rl_framework/Acrobot-v1").unwrapped.step(0)
