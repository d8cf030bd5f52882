"""Fixtures shared by the connector tests (the trained agents come from ``tests/conftest.py``).

``small_upload`` keeps an upload's evaluation and replay video to a few short episodes;
``evaluation_environment`` and ``recording_environment`` are 20-step CartPoles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import pytest

#: Upload settings (UploadOptions fields) that make evaluation + video take a fraction of a second.
SMALL_UPLOAD = {"n_eval_episodes": 2, "video_length": 10, "video_fps": 10}


@pytest.fixture
def small_upload() -> dict[str, Any]:
    """A fresh copy of ``SMALL_UPLOAD``, to splat into an upload config."""
    return dict(SMALL_UPLOAD)


@pytest.fixture
def evaluation_environment() -> Iterator[gym.Env]:
    """CartPole cut to 20 steps per episode."""
    env = gym.make("CartPole-v1", max_episode_steps=20)
    yield env
    env.close()


@pytest.fixture
def recording_environment() -> Iterator[gym.Env]:
    """CartPole cut to 20 steps per episode that renders ``rgb_array`` frames."""
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=20)
    yield env
    env.close()
