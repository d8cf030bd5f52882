"""Shared settings of the D3rlpyAgent tests: tiny algorithm parameters and scripted experts."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Per algorithm: small batches (the tests train tens to hundreds of gradient steps).
TINY: dict[str, dict[str, Any]] = {
    "DiscreteCQL": {"batch_size": 32, "learning_rate": 1e-3, "target_update_interval": 50},
    "DiscreteBCQ": {"batch_size": 32, "learning_rate": 1e-3, "target_update_interval": 50},
    "DiscreteBC": {"batch_size": 32},
    "CQL": {"batch_size": 32, "n_action_samples": 4},
    "IQL": {"batch_size": 32},
    "BCQ": {"batch_size": 32, "n_action_samples": 8, "rl_start_step": 0},
    "BC": {"batch_size": 32},
}
DISCRETE = ("DiscreteCQL", "DiscreteBCQ", "DiscreteBC")
CONTINUOUS = ("CQL", "IQL", "BCQ", "BC")


def tiny_parameters(name: str, seed: int = 0) -> dict[str, Any]:
    """A fresh copy of the tiny settings of ``name``, seeded."""
    return {**TINY[name], "seed": seed}


def cartpole_controller(observation: np.ndarray) -> int:
    """A near-optimal CartPole expert: push towards the side the pole falls to."""
    return int(3 * observation[2] + observation[3] > 0)


def pendulum_controller(observation: np.ndarray) -> np.ndarray:
    """A damping controller for Pendulum: torque against the angular velocity (within [-2, 2])."""
    return np.clip([-0.5 * observation[2]], -2.0, 2.0).astype(np.float32)
