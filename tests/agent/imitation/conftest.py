"""Fixtures for the ImitationAgent and SQIL tests: expert episodes and tiny algorithm settings."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rl_framework.data import EpisodeSequence

#: PPO settings for learners inside GAIL, AIRL and Density: one rollout + update in milliseconds.
TINY_LEARNER = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "device": "cpu"}


def scripted_cartpole_action(observation: np.ndarray) -> int:
    """A near-optimal CartPole expert: push towards the side the pole falls to."""
    return int(3 * observation[2] + observation[3] > 0)


class StepCounter(gym.Wrapper):
    """Counts the steps taken in the wrapped env (an independent check of training budgets)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.steps = 0

    def step(self, action: Any) -> Any:
        self.steps += 1
        return self.env.step(action)


@pytest.fixture
def counted_cartpole() -> StepCounter:
    """A CartPole env that counts its steps (``.steps``)."""
    return StepCounter(gym.make("CartPole-v1"))


@pytest.fixture(scope="session")
def expert_episodes() -> EpisodeSequence:
    """Four 500-step CartPole episodes of the scripted expert (2000 transitions)."""
    return EpisodeSequence.from_agent(scripted_cartpole_action, "CartPole-v1", n_episodes=4, seed=0)


@pytest.fixture(scope="session")
def few_expert_episodes() -> EpisodeSequence:
    """Two episodes of the scripted expert, for tests that only need the mechanics."""
    return EpisodeSequence.from_agent(scripted_cartpole_action, "CartPole-v1", n_episodes=2, seed=1)


@pytest.fixture
def tiny_parameters(cartpole_expert: Any) -> dict[str, dict[str, Any]]:
    """Per algorithm: parameters that make a few training steps take well under a second."""
    return {
        "BC": {"batch_size": 32, "seed": 0},
        "DAgger": {"expert": cartpole_expert, "batch_size": 32, "seed": 0},
        "GAIL": {"learner_parameters": dict(TINY_LEARNER), "demo_batch_size": 32, "seed": 0},
        "AIRL": {"learner_parameters": dict(TINY_LEARNER), "demo_batch_size": 32, "seed": 0},
        "SQIL": {"learner_parameters": {"batch_size": 32, "buffer_size": 1_000}, "seed": 0},
        "Density": {"learner_parameters": dict(TINY_LEARNER), "seed": 0},
    }
