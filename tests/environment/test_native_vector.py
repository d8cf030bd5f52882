"""Evaluation on gymnasium's native vector class: identical to sequential episodes, or not used at all."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv
from gymnasium.wrappers import TimeAwareObservation
from stable_baselines3.common.monitor import Monitor

from rl_framework.agent.acting import ActingSession, BatchActing
from rl_framework.environment.native_vector import _verified, native_vector_episodes, native_vector_spec

CARTPOLE_VECTOR = "gymnasium.envs.classic_control.cartpole:CartPoleVectorEnv"


def expert(observations: Any, deterministic: bool = False) -> np.ndarray:
    """Balances for the whole time limit (episodes end by truncation)."""
    observations = np.asarray(observations)
    return (observations[:, 2] + 0.5 * observations[:, 3] > 0).astype(np.int64)


def jittery(observations: Any, deterministic: bool = False) -> np.ndarray:
    """A policy whose action depends on low-order digits: any rounding difference changes the episode."""
    return (np.floor(np.asarray(observations)[:, 1] * 1e4).astype(np.int64) % 2).astype(np.int64)


@functools.cache
def sequential(policy: Any, env_id: str, seeds: tuple[int, ...], **make_kwargs: Any) -> tuple[list[float], list[int]]:
    """Episodes one after another on ``gym.make``: the reference the vector class must equal."""
    env = gym.make(env_id, **make_kwargs)
    returns, lengths = [], []
    for seed in seeds:
        observation, _ = env.reset(seed=seed)
        total, length, done = 0.0, 0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(int(policy(observation[None])[0]))
            total, length, done = total + float(reward), length + 1, terminated or truncated
        returns.append(total)
        lengths.append(length)
    return returns, lengths


def native(policy: Any, environment: Any, seeds: list[int | None], n_copies: int) -> tuple[np.ndarray, np.ndarray]:
    result = native_vector_episodes(environment, n_copies, lambda n: BatchActing(policy, n), seeds, True)
    assert result is not None
    return result


@pytest.mark.parametrize("policy", [expert, jittery], ids=["truncated-at-limit", "rounding-sensitive"])
@pytest.mark.parametrize("n_copies", [1, 7, 24])
def test_episodes_equal_sequential_gym_make_episodes(policy, n_copies):
    seeds = [100 + i for i in range(24)]
    returns, lengths = native(policy, "CartPole-v1", seeds, n_copies)
    reference_returns, reference_lengths = sequential(policy, "CartPole-v1", tuple(seeds))
    assert list(returns) == reference_returns
    assert list(lengths) == reference_lengths
    assert len(set(reference_lengths)) > 1 or set(reference_lengths) == {500}  # policy-specific, not vacuous


def test_time_limits_come_from_the_spec():
    seeds = list(range(3))
    assert list(native(expert, "CartPole-v0", seeds, 3)[1]) == [200, 200, 200]
    short = gym.make("CartPole-v1", max_episode_steps=50)
    reference = sequential(expert, "CartPole-v1", tuple(seeds), max_episode_steps=50)
    assert list(native(expert, short, seeds, 3)[1]) == reference[1]
    assert list(native(expert, gym.make("CartPole-v1"), seeds, 2)[1]) == [500, 500, 500]


def test_the_vector_classes_own_float32_state_would_drift_so_float64_states_are_injected():
    # CartPoleVectorEnv keeps float32 states; the single env integrates in float64. From the same start
    # the float32 integration leaves the single env's trajectory, which is why the runner injects float64.
    single = CartPoleEnv()
    single.reset(seed=3)
    start = np.asarray(single.state, dtype=np.float64)
    vector = CartPoleVectorEnv(num_envs=1, max_episode_steps=10**6)
    vector.reset(seed=0)
    vector.state = start.astype(np.float32)[:, None]
    vector64 = CartPoleVectorEnv(num_envs=1, max_episode_steps=10**6)
    vector64.reset(seed=0)
    vector64.state = start[:, None].copy()
    drift_float32 = drift_float64 = 0.0
    for _ in range(100):  # the expert keeps the pole up: no termination, no redraw by the vector class
        action = int(expert(np.asarray(single.state)[None])[0])
        single.step(action)
        vector.step(np.array([action]))
        vector64.step(np.array([action]))
        exact = np.asarray(single.state, dtype=np.float64)
        drift_float32 = max(drift_float32, float(np.abs(vector.state[:, 0].astype(np.float64) - exact).max()))
        drift_float64 = max(drift_float64, float(np.abs(vector64.state[:, 0] - exact).max()))
    assert drift_float32 > 0.0
    assert drift_float64 == 0.0
    assert _verified(CARTPOLE_VECTOR)  # the probe run before first use agrees on this machine


def test_each_copy_runs_its_own_share_and_unseeded_episodes_run():
    starts: list[tuple[int, bool]] = []

    class Logging(ActingSession):
        def act(self, observations, episode_starts, deterministic=False, action_masks=None, env_indices=None):
            copies = range(self.n_envs) if env_indices is None else env_indices
            starts.extend((int(copy), bool(start)) for copy, start in zip(copies, episode_starts, strict=True))
            return jittery(observations)

    seeds: list[int | None] = [7, 8, 9, 10, 11]
    result = native_vector_episodes("CartPole-v1", 2, Logging, seeds, True)
    assert result is not None
    lengths = result[1]
    for copy, own in ((0, [0, 2, 4]), (1, [1, 3])):
        assert [start for index, start in starts if index == copy] == [
            step == 0 for episode in own for step in range(lengths[episode])
        ]
    unseeded = native_vector_episodes("CartPole-v1", 3, lambda n: BatchActing(expert, n), [None] * 4, True)
    assert unseeded is not None and list(unseeded[1]) == [500] * 4


class OpaqueWrapper(gym.Wrapper):
    """A wrapper that does not record its arguments."""


@pytest.mark.parametrize(
    "environment",
    [
        pytest.param(lambda: gym.make("CartPole-v1", render_mode="rgb_array"), id="render-mode"),
        pytest.param(lambda: Monitor(gym.make("CartPole-v1")), id="monitor"),
        pytest.param(lambda: TimeAwareObservation(gym.make("CartPole-v1")), id="wrapper-after-make"),
        pytest.param(lambda: OpaqueWrapper(gym.make("CartPole-v1")), id="opaque-wrapper"),
        pytest.param(lambda: gym.make("CartPole-v1").unwrapped, id="no-time-limit"),
        pytest.param(lambda: lambda: gym.make("CartPole-v1"), id="factory"),
        pytest.param(lambda: "MountainCar-v0", id="no-vector-class"),
        pytest.param(lambda: "NoSuchEnv-v0", id="unknown-id"),
        pytest.param(lambda: [gym.make("CartPole-v1")], id="list"),
    ],
)
def test_what_the_vector_class_cannot_reproduce_runs_on_copies(environment):
    assert native_vector_spec(environment()) is None


def test_a_modified_env_instance_is_not_replaced_by_a_fresh_vector_class():
    env = gym.make("CartPole-v1")
    assert native_vector_spec(env) is not None
    env.unwrapped.gravity = 20.0  # type: ignore[attr-defined]
    assert native_vector_spec(env) is None


def test_a_policy_that_needs_action_masks_runs_on_copies():
    class Masked(BatchActing):
        needs_action_masks = True

    assert native_vector_episodes("CartPole-v1", 2, lambda n: Masked(expert, n), [0, 1], True) is None
