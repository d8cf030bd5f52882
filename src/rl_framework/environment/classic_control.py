"""``rl_framework/Acrobot-v1``: gymnasium's Acrobot-v1, stepping on numpy 2.

gymnasium 0.29 (the version imitation pins) integrates Acrobot's dynamics with a helper that
allocates its buffer with ``np.float_``, which numpy 2.0 removed: ``gym.make("Acrobot-v1").step``
raises ``AttributeError`` on this stack. This env keeps everything of gymnasium's ``AcrobotEnv``
(dynamics, observations, rewards, termination, the 500-step limit, rendering) and only replaces
that integration step with the same fourth-order Runge-Kutta step written for numpy 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.envs.classic_control.acrobot import AcrobotEnv, bound, wrap

ENV_ID = "rl_framework/Acrobot-v1"


class Acrobot(AcrobotEnv):
    """gymnasium's ``AcrobotEnv`` whose ``step`` works on numpy 2 (same dynamics and results)."""

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the torque of ``action`` for one ``dt`` and return gymnasium's step tuple."""
        if self.state is None:
            raise RuntimeError("Call reset before step.")
        torque = self.AVAIL_TORQUE[action]
        if self.torque_noise_max > 0:
            torque += self.np_random.uniform(-self.torque_noise_max, self.torque_noise_max)
        state = _runge_kutta_step(self._dsdt, np.append(self.state, torque).astype(np.float64), self.dt)[:4]
        state[0] = wrap(state[0], -np.pi, np.pi)
        state[1] = wrap(state[1], -np.pi, np.pi)
        state[2] = bound(state[2], -self.MAX_VEL_1, self.MAX_VEL_1)
        state[3] = bound(state[3], -self.MAX_VEL_2, self.MAX_VEL_2)
        self.state = state
        terminated = self._terminal()
        if self.render_mode == "human":
            self.render()
        return self._get_ob(), -1.0 if not terminated else 0.0, terminated, False, {}


def _runge_kutta_step(derivatives: Any, state: np.ndarray, dt: float) -> np.ndarray:
    """One classical fourth-order Runge-Kutta step of ``d state / dt = derivatives(state)``."""
    k1 = np.asarray(derivatives(state))
    k2 = np.asarray(derivatives(state + dt / 2 * k1))
    k3 = np.asarray(derivatives(state + dt / 2 * k2))
    k4 = np.asarray(derivatives(state + dt * k3))
    return state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
