"""Environment copies for batched evaluation: what can be copied, what is closed, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TransformReward
from stable_baselines3.common.monitor import Monitor

from rl_framework.environment.copies import (
    as_env,
    copy_factories,
    environment_copies,
    is_wrapped_with,
    spec_copyable,
)


class TrackedEnv(gym.Env):
    """An unregistered env that remembers whether it was closed."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.closed = False

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 1.0, True, False, {}

    def close(self) -> None:
        self.closed = True


class OpaqueWrapper(gym.Wrapper):
    """A user's wrapper that does not record its constructor arguments."""


def test_is_wrapped_with_searches_the_whole_chain():
    env = TransformReward(Monitor(gym.make("CartPole-v1")), lambda reward: 2 * reward)
    assert is_wrapped_with(env, Monitor)
    assert is_wrapped_with(env, TransformReward)
    assert not is_wrapped_with(gym.make("CartPole-v1"), Monitor)


def test_spec_copyable():
    assert spec_copyable(gym.make("CartPole-v1"))
    assert spec_copyable(TransformReward(gym.make("CartPole-v1"), lambda reward: 2 * reward))
    assert spec_copyable(gym.make("CartPole-v1").unwrapped)  # copies as a bare env too
    assert not spec_copyable(Monitor(gym.make("CartPole-v1")))
    assert not spec_copyable(OpaqueWrapper(gym.make("CartPole-v1")))
    assert not spec_copyable(TrackedEnv())


def test_spec_copies_rebuild_the_same_wrappers():
    original = TransformReward(gym.make("CartPole-v1", max_episode_steps=7), lambda reward: 2 * reward)
    factories = copy_factories(original, 2)
    assert factories is not None and len(factories) == 2
    copy = factories[0]()
    assert copy is not original and copy is not factories[1]()
    copy.reset(seed=0)
    _, reward, *_ = copy.step(0)
    assert reward == 2.0
    assert copy.spec.max_episode_steps == 7


def test_as_env():
    env = gym.make("CartPole-v1")
    assert as_env(env) == (env, False)
    made, made_here = as_env("CartPole-v1")
    assert made_here and made.spec.id == "CartPole-v1"
    made, made_here = as_env(TrackedEnv)
    assert made_here and isinstance(made, TrackedEnv)
    with pytest.raises(TypeError, match="returned int, not a gymnasium.Env"):
        as_env(lambda: 3)
    with pytest.raises(TypeError, match="Cannot use float as an environment. Pass a gymnasium.Env, an env id"):
        as_env(1.5)


def test_copy_factories_for_each_input_form():
    assert len(copy_factories("CartPole-v1", 3)) == 3
    assert len(copy_factories(TrackedEnv, 2)) == 2
    assert copy_factories(OpaqueWrapper(gym.make("CartPole-v1")), 2) is None
    assert copy_factories(3, 2) is None


def test_copies_of_an_env_id_are_independent_and_closed():
    with environment_copies("CartPole-v1", 3) as envs:
        assert len(envs) == 3 and len({id(env) for env in envs}) == 3


def test_list_entries_are_used_and_only_made_ones_closed():
    mine = TrackedEnv()
    with environment_copies([mine, TrackedEnv], 10) as envs:
        assert len(envs) == 2 and envs[0] is mine
        made = envs[1]
    assert made.closed and not mine.closed


def test_single_env_is_used_with_spec_copies_or_alone():
    env = gym.make("CartPole-v1")
    with environment_copies(env, 4) as envs:
        assert envs[0] is env and len(envs) == 4
    opaque = OpaqueWrapper(TrackedEnv())
    with environment_copies(opaque, 4) as envs:
        assert envs == [opaque]
    assert not opaque.env.closed


def test_factory_copies_are_closed_even_when_a_later_factory_fails():
    built: list[TrackedEnv] = []

    def factory():
        if len(built) == 2:
            raise RuntimeError("third env failed")
        built.append(TrackedEnv())
        return built[-1]

    with pytest.raises(RuntimeError, match="third env failed"), environment_copies(factory, 3):
        pass
    assert len(built) == 2 and all(env.closed for env in built)


def test_bad_input():
    with pytest.raises(ValueError, match="list of environments is empty"), environment_copies([], 2):
        pass
    with pytest.raises(TypeError, match="Cannot use int as an environment"), environment_copies(5, 2):
        pass
    with pytest.raises(TypeError, match="returned str, not a gymnasium.Env"), environment_copies(lambda: "x", 2):
        pass
