"""Shared fixtures: tiny SB3 settings, a session-wide trained PPO agent and a scripted CartPole expert.

Session-scoped agents are shared by many tests: use them read-only (act, evaluate, save);
tests that train further build their own agent from ``tiny_ppo_parameters``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rl_framework.agent import BaseAgent, StableBaselinesAgent
from rl_framework.util.files import atomic_write_text, require_existing_file

# The tiny policies here gain nothing from intra-op threads, and on a busy 2-core machine the
# thread hand-offs cost more than the matrix products (measured: batched evaluation 5x slower).
torch.set_num_threads(1)

#: PPO settings that make one rollout + update take milliseconds.
TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "seed": 0, "device": "cpu"}


class CartPoleExpert(BaseAgent):
    """A scripted CartPole policy that balances the pole for the full 500 steps.

    Pushes the cart towards the side the pole falls to (angle plus angular velocity).
    """

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return np.asarray(int(observation[2] + 0.5 * observation[3] > 0))

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        observations = np.asarray(observations)
        return (observations[:, 2] + 0.5 * observations[:, 3] > 0).astype(np.int64)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        return [atomic_write_text(file_path, json.dumps({"policy": "cartpole-angle-expert"}))]

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        require_existing_file(file_path, "expert file")


@pytest.fixture
def tiny_ppo_parameters() -> dict[str, Any]:
    """A fresh copy of the tiny PPO settings (tests may change it)."""
    return dict(TINY_PPO)


@pytest.fixture(scope="session")
def trained_ppo_agent() -> StableBaselinesAgent:
    """A PPO agent trained for 64 CartPole steps (short episodes keep evaluations fast). Read-only."""
    agent = StableBaselinesAgent("PPO", dict(TINY_PPO))
    agent.train("CartPole-v1", total_timesteps=64, progress_bar=False)
    return agent


@pytest.fixture(scope="session")
def vecnormalize_agent() -> tuple[StableBaselinesAgent, VecNormalize]:
    """A PPO agent trained on ``VecNormalize(DummyVecEnv([CartPole]))`` and that env. Read-only."""
    vec_env = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), norm_obs=True, norm_reward=True)
    agent = StableBaselinesAgent("PPO", dict(TINY_PPO))
    agent.train(vec_env, total_timesteps=128, progress_bar=False)
    return agent, vec_env


@pytest.fixture(scope="session")
def cartpole_expert() -> CartPoleExpert:
    """The scripted CartPole expert (reaches the 500-step limit)."""
    return CartPoleExpert()
