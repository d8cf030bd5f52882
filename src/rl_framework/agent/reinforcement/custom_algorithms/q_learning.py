"""Tabular Q-learning (Watkins & Dayan, 1992): one value per (observation, action), epsilon-greedy exploration.

The update after every step is ``Q[s, a] += learning_rate * (target - Q[s, a])`` with
``target = r + gamma * max_a' Q[s', a']``, or just ``r`` when the episode terminated. A time-limit
truncation is not a terminal state, so it still bootstraps from ``s'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from rl_framework.agent.reinforcement.custom_algorithms.base import CustomAlgorithm
from rl_framework.util.checks import is_integer

EpsilonSchedule = Literal["linear", "exponential"]


def _check_unit_interval(value: Any, name: str, allow_zero: bool = True) -> None:
    valid = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    low_ok = valid and (value >= 0 if allow_zero else value > 0)
    if not (low_ok and value <= 1):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}.")


@dataclass(frozen=True)
class QLearningParameters:
    """Settings of ``QLearning`` (the accepted ``algorithm_parameters``).

    :param learning_rate: step size of each update, in (0, 1] (1 suits deterministic environments).
    :param gamma: discount factor, in [0, 1].
    :param epsilon_start: exploration rate (probability of a random action) when training starts.
    :param epsilon_end: exploration rate once the schedule has run out, <= ``epsilon_start``.
    :param exploration_fraction: share of the training budget over which epsilon decays, in (0, 1].
        With several ``train`` calls the schedule spans all steps so far plus the current budget,
        as in Stable-Baselines3's DQN.
    :param epsilon_schedule: ``"linear"`` interpolation, or ``"exponential"`` (a constant factor per
        step, which needs ``epsilon_end > 0``).
    :param initial_q_value: value every table entry starts with (a high value explores optimistically).
    :param seed: seeds exploration and, on the first ``train`` call, the training environments.
    """

    learning_rate: float = 0.5
    gamma: float = 0.99
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.5
    epsilon_schedule: EpsilonSchedule = "linear"
    initial_q_value: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_unit_interval(self.learning_rate, "learning_rate", allow_zero=False)
        _check_unit_interval(self.gamma, "gamma")
        _check_unit_interval(self.epsilon_start, "epsilon_start")
        _check_unit_interval(self.epsilon_end, "epsilon_end")
        _check_unit_interval(self.exploration_fraction, "exploration_fraction", allow_zero=False)
        if self.epsilon_end > self.epsilon_start:
            raise ValueError(
                f"epsilon_end ({self.epsilon_end}) must not exceed epsilon_start ({self.epsilon_start}): "
                f"exploration decays from epsilon_start to epsilon_end."
            )
        if self.epsilon_schedule not in ("linear", "exponential"):
            raise ValueError(f"epsilon_schedule must be 'linear' or 'exponential', got {self.epsilon_schedule!r}.")
        if self.epsilon_schedule == "exponential" and self.epsilon_end <= 0:
            raise ValueError(
                "epsilon_schedule='exponential' needs epsilon_end > 0 (a constant decay factor never reaches 0): "
                "use e.g. epsilon_end=0.01, or epsilon_schedule='linear'."
            )
        if isinstance(self.initial_q_value, bool) or not isinstance(self.initial_q_value, (int, float)):
            raise ValueError(f"initial_q_value must be a number, got {self.initial_q_value!r}.")
        if self.seed is not None and not (is_integer(self.seed) and self.seed >= 0):
            raise ValueError(f"seed must be an int >= 0 or None, got {self.seed!r}.")


class QLearning(CustomAlgorithm):
    """Tabular Q-learning for environments with ``Discrete`` observations and ``Discrete`` actions.

    :param observation_space: a ``Discrete`` space (one table row per observation).
    :param action_space: a ``Discrete`` space (one table column per action).
    :param parameters: the ``QLearningParameters``.
    """

    Parameters: ClassVar[type] = QLearningParameters
    parameters: QLearningParameters

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, parameters: QLearningParameters) -> None:
        self.check_spaces(observation_space, action_space)
        super().__init__(observation_space, action_space, parameters)
        assert isinstance(observation_space, gym.spaces.Discrete) and isinstance(action_space, gym.spaces.Discrete)
        self.observation_start = int(observation_space.start)
        self.action_start = int(action_space.start)
        #: The table: ``q_table[observation - start, action - start]``.
        self.q_table = np.full((int(observation_space.n), int(action_space.n)), float(parameters.initial_q_value))
        self.rng = np.random.default_rng(parameters.seed)
        self._seed_used = parameters.seed
        self._schedule_end = 0  # the step at which the current epsilon schedule ends (set per train call)

    @classmethod
    def check_spaces(cls, observation_space: gym.Space, action_space: gym.Space) -> None:
        """Refuse anything but ``Discrete`` observation and action spaces, naming the alternative."""
        if not isinstance(observation_space, gym.spaces.Discrete):
            raise ValueError(
                f"QLearning keeps one table row per observation and needs a Discrete observation space, but the "
                f"environment has {observation_space}. Discretize the observations (e.g. a gymnasium "
                f"ObservationWrapper that maps them to Discrete(n)), or use StableBaselinesAgent('DQN') or "
                f"StableBaselinesAgent('PPO'), which learn from continuous observations."
            )
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(
                f"QLearning keeps one table column per action and needs a Discrete action space, but the "
                f"environment has {action_space}. Use StableBaselinesAgent('PPO') or StableBaselinesAgent('SAC') "
                f"for this action space."
            )

    # -- exploration ------------------------------------------------------------------------
    def start_training(self, total_timesteps: int) -> None:
        """Stretch the epsilon schedule over all steps so far plus this call's budget."""
        self._schedule_end = self.num_timesteps + total_timesteps

    @property
    def exploration_rate(self) -> float:
        """The current epsilon: decays from ``epsilon_start`` to ``epsilon_end`` over the schedule."""
        parameters = self.parameters
        decay_steps = parameters.exploration_fraction * self._schedule_end
        progress = min(1.0, self.num_timesteps / decay_steps) if decay_steps > 0 else 0.0
        if parameters.epsilon_schedule == "exponential":
            return parameters.epsilon_start * (parameters.epsilon_end / parameters.epsilon_start) ** progress
        return parameters.epsilon_start + progress * (parameters.epsilon_end - parameters.epsilon_start)

    def training_metrics(self) -> dict[str, float]:
        """The exploration rate, logged with every finished episode."""
        return {"train/exploration_rate": self.exploration_rate}

    # -- acting and learning ----------------------------------------------------------------
    def _values(self, observations: Any) -> tuple[np.ndarray, np.ndarray]:
        """The table rows of a batch of observations and their action values."""
        rows = np.asarray(observations, dtype=np.int64).reshape(-1)
        if self.observation_start:
            rows = rows - self.observation_start
        try:
            if rows.size and rows.min() < 0:  # a negative index would silently read another row
                raise IndexError
            return rows, self.q_table[rows]
        except IndexError:
            raise ValueError(
                f"Observations {np.asarray(observations).tolist()} are outside the agent's observation space "
                f"{self.observation_space}: pass observations of the environment the agent was trained on."
            ) from None

    def act(self, observations: Any, deterministic: bool) -> np.ndarray:
        """Greedy actions (ties: the first) when deterministic, else epsilon-greedy (ties broken at random).

        Random tie-breaking matters while the table is still flat: it spreads exploration instead of
        repeating action 0. One random draw per step serves tie-breaking, the explore decision and
        the random action (numpy calls on tiny arrays cost more than the arithmetic).
        """
        _, values = self._values(observations)
        if deterministic:
            actions = values.argmax(axis=1)
        else:
            n_actions = values.shape[1]
            uniform = self.rng.random((len(values), n_actions + 2))
            # uniform is in [0, 1): scaled by 1 + ... so a draw of exactly 0 still beats a non-best action
            greedy = ((uniform[:, :n_actions] + 1.0) * (values == values.max(axis=1, keepdims=True))).argmax(axis=1)
            random_actions = (uniform[:, n_actions + 1] * n_actions).astype(np.int64)
            actions = np.where(uniform[:, n_actions] < self.exploration_rate, random_actions, greedy)
        return actions + self.action_start if self.action_start else actions

    def learn(
        self,
        observations: Any,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: Any,
        terminated: np.ndarray,
    ) -> None:
        """One Q-learning update per environment, with targets from the table as it was before this step."""
        rows, _ = self._values(observations)
        _, next_values = self._values(next_observations)
        targets = np.asarray(rewards, dtype=np.float64) + self.parameters.gamma * np.where(
            terminated, 0.0, next_values.max(axis=1)
        )
        columns = np.asarray(actions, dtype=np.int64).reshape(-1) - self.action_start
        learning_rate, table = self.parameters.learning_rate, self.q_table
        # In order, not with fancy indexing: two envs may update the same entry in one step.
        for row, column, target in zip(rows.tolist(), columns.tolist(), targets.tolist(), strict=True):
            table[row, column] += learning_rate * (target - table[row, column])

    # -- persistence ------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The spaces, step counters and random-generator state (JSON) and the Q-table (array)."""
        values = {
            "observation_space": {"n": int(self.q_table.shape[0]), "start": self.observation_start},
            "action_space": {"n": int(self.q_table.shape[1]), "start": self.action_start},
            "num_timesteps": self.num_timesteps,
            "schedule_end": self._schedule_end,
            "seed": self._seed_used,
            "rng": self.rng.bit_generator.state,
        }
        return values, {"q_table": self.q_table}

    @classmethod
    def from_state(
        cls, parameters: QLearningParameters, values: dict[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> QLearning:
        """Rebuild from ``state()``; a ``seed`` different from the stored one restarts the random stream."""
        observation = gym.spaces.Discrete(
            int(values["observation_space"]["n"]), int(values["observation_space"]["start"])
        )
        action = gym.spaces.Discrete(int(values["action_space"]["n"]), int(values["action_space"]["start"]))
        q_table = np.asarray(arrays["q_table"])
        expected = (int(observation.n), int(action.n))
        if q_table.shape != expected or not np.issubdtype(q_table.dtype, np.floating):
            raise ValueError(
                f"the Q-table has shape {q_table.shape} and dtype {q_table.dtype}, expected {expected} floats"
            )
        algorithm = cls(observation, action, parameters)
        algorithm.q_table = q_table.astype(np.float64, copy=True)
        algorithm.num_timesteps = int(values["num_timesteps"])
        algorithm._schedule_end = int(values["schedule_end"])
        if parameters.seed == values["seed"]:
            algorithm.rng.bit_generator.state = values["rng"]  # continue the stored random stream
        algorithm._seed_used = parameters.seed
        return algorithm
