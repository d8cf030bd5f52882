"""Fixtures for the D3rlpyAgent tests: a few expert episodes per action-space kind."""

from __future__ import annotations

import pytest
from d3rlpy_settings import cartpole_controller, pendulum_controller

from rl_framework.data import EpisodeSequence


@pytest.fixture(scope="session")
def cartpole_episodes() -> EpisodeSequence:
    """Two 500-step CartPole episodes of the scripted expert (truncated by the time limit)."""
    return EpisodeSequence.from_agent(cartpole_controller, "CartPole-v1", n_episodes=2, seed=0)


@pytest.fixture(scope="session")
def pendulum_episodes() -> EpisodeSequence:
    """Two 200-step Pendulum episodes of a damping controller (Box actions in [-2, 2])."""
    return EpisodeSequence.from_agent(pendulum_controller, "Pendulum-v1", n_episodes=2, seed=0)
