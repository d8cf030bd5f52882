"""The CPU thread policy: which policies count as small, and what training does with that."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.threads import (
    STARTUP_THREADS,
    is_small_policy_input,
    resolve_torch_threads,
)


def image(height: int, width: int, channels: int) -> gym.spaces.Box:
    return gym.spaces.Box(0, 255, (height, width, channels), np.uint8)


def test_vector_observations_are_small_images_are_not():
    assert is_small_policy_input(gym.spaces.Box(-1.0, 1.0, (4,), np.float32))
    assert is_small_policy_input(gym.spaces.Discrete(16))
    # one thread was at best even with two from NatureCNN's smallest input up (BENCHMARKS.md)
    for shape in ((36, 36, 1), (64, 64, 3), (84, 84, 4)):
        assert not is_small_policy_input(image(*shape))
    assert not is_small_policy_input(gym.spaces.Box(0, 255, (3, 64, 64), np.uint8))  # channels first
    vector = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    assert is_small_policy_input(gym.spaces.Dict({"state": vector, "goal": vector}))
    assert not is_small_policy_input(gym.spaces.Dict({"state": vector, "camera": image(36, 36, 3)}))


def test_resolve_picks_one_thread_for_small_policies_unless_someone_chose(monkeypatch):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(STARTUP_THREADS)
        assert resolve_torch_threads(None, small_policy=True) == 1
        assert resolve_torch_threads(None, small_policy=False) is None  # torch's own default stays
        assert resolve_torch_threads(3, small_policy=True) == 3  # the argument wins
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert resolve_torch_threads(None, small_policy=True) is None  # the environment variable wins
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="torch_threads must be a positive int"):
        resolve_torch_threads(0, small_policy=True)


class SquareImage(gym.Env):
    """A tiny image environment (the policy is a NatureCNN)."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.observation_space, self.action_space = image(*shape), gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(self.observation_space.shape, np.uint8), {}

    def step(self, action):
        return np.zeros(self.observation_space.shape, np.uint8), 0.0, False, False, {}


def test_cnn_policies_train_on_torchs_default_threads_and_mlps_on_one(monkeypatch):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    seen: set[int] = set()

    def probe(local_variables: dict, global_variables: dict) -> bool:
        seen.add(torch.get_num_threads())
        return True

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(STARTUP_THREADS)  # nobody chose a count
        agent = StableBaselinesAgent("PPO", {"n_steps": 8, "batch_size": 8, "n_epochs": 1, "device": "cpu"})
        agent.train(lambda: SquareImage((36, 36, 1)), total_timesteps=8, callback=probe, progress_bar=False)
        assert seen == {STARTUP_THREADS}  # even the smallest image a CNN policy takes
        seen.clear()
        agent = StableBaselinesAgent("PPO", {"n_steps": 8, "batch_size": 8, "n_epochs": 1, "device": "cpu"})
        agent.train("CartPole-v1", total_timesteps=8, callback=probe, progress_bar=False)
        assert seen == {1}
        assert torch.get_num_threads() == STARTUP_THREADS
    finally:
        torch.set_num_threads(before)
