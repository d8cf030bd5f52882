"""Acting sessions: per-copy state, episode starts, action masks, and which actors get which session."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit
from stable_baselines3 import PPO

from rl_framework.agent.acting import (
    BatchActing,
    EnvSlot,
    PredictActing,
    act_in,
    action_masks_of,
    start_acting,
    unstack,
)


def counting_predict(
    observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
) -> tuple[np.ndarray, tuple[np.ndarray]]:
    """A recurrent policy in SB3's ``predict`` protocol: its action is the step count since the episode start.

    Its state has SB3's recurrent layout ``(n_layers, n_envs, hidden)``.
    """
    counts = np.zeros((1, len(observation), 1)) if state is None else state[0].copy()
    counts[:, np.asarray(episode_start, dtype=bool)] = 0
    counts += 1
    return counts[0, :, 0].astype(np.int64), (counts,)


def first_allowed_predict(
    observation: np.ndarray,
    state: Any = None,
    episode_start: Any = None,
    deterministic: bool = False,
    action_masks: np.ndarray | None = None,
) -> tuple[np.ndarray, None]:
    """A masked policy in ``MaskablePPO``'s ``predict`` protocol: the first allowed action."""
    assert action_masks is not None
    return np.argmax(action_masks, axis=1), None


class Corridor(gym.Env):
    """Three actions; only ``step % 3`` is allowed (``action_masks``). The observation is the step count."""

    observation_space = gym.spaces.Box(0.0, 100.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(3)

    def __init__(self) -> None:
        self.t = 0

    def action_masks(self) -> np.ndarray:
        return np.arange(3) == self.t % 3

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert self.action_masks()[int(action)], f"masked action {action} at step {self.t}"
        self.t += 1
        return np.array([self.t], np.float32), 1.0, False, False, {}


def test_state_is_kept_per_copy_and_reset_at_episode_starts() -> None:
    session = PredictActing(counting_predict, n_envs=3)
    observations = np.zeros((3, 1))
    assert list(session.act(observations, np.array([True, True, True]))) == [1, 1, 1]
    # rows for copies 0 and 2 only: copy 1's state is left alone
    assert list(session.act(observations[:2], np.array([False, False]), env_indices=[0, 2])) == [2, 2]
    assert list(session.act(observations[:1], np.array([False]), env_indices=[1])) == [2]
    assert list(session.act(observations, np.array([False, True, False]))) == [3, 1, 3]
    assert not session.needs_action_masks


def test_masks_reach_a_predict_that_takes_them_and_come_from_the_wrapper_chain() -> None:
    session = PredictActing(first_allowed_predict)
    assert session.needs_action_masks
    env = TimeLimit(Corridor(), max_episode_steps=4)
    slot = EnvSlot(env)
    slot.reset(seed=0)
    assert slot.episode_start
    for _ in range(4):  # Corridor.step asserts the action was allowed
        slot.step(act_in(session, [slot], deterministic=True)[0])
        assert not slot.episode_start
    np.testing.assert_array_equal(action_masks_of(env), [False, True, False])


def test_an_env_without_masks_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"has no action_masks\(\).*ActionMasker"):
        action_masks_of(gym.make("CartPole-v1"))


def test_start_acting_picks_the_session_for_each_kind_of_actor(trained_ppo_agent, cartpole_expert) -> None:
    observations = np.zeros((2, 4), np.float32)
    starts = np.ones(2, dtype=bool)
    own = start_acting(trained_ppo_agent, 2)  # an rl_framework agent: its own session
    assert isinstance(own, PredictActing) and own.n_envs == 2
    np.testing.assert_array_equal(
        own.act(observations, starts, deterministic=True),
        trained_ppo_agent.choose_actions(observations, deterministic=True),
    )
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, seed=0, device="cpu")
    assert isinstance(start_acting(model), PredictActing)  # an SB3 model (or policy): predict
    assert isinstance(start_acting(cartpole_expert), BatchActing)  # BaseAgent's default session

    class OneAtATime:
        def choose_action(self, observation: Any, deterministic: bool = False) -> int:
            return int(observation[0] > 0)

    by_method = start_acting(OneAtATime(), 2).act(np.array([[1.0], [-1.0]]), starts)
    by_callable = start_acting(lambda observation: int(observation[0] > 0), 2).act(np.array([[1.0], [-1.0]]), starts)
    assert list(by_method) == list(by_callable) == [1, 0]
    with pytest.raises(TypeError, match="Cannot act with int: pass an rl_framework agent"):
        start_acting(42)
    with pytest.raises(ValueError, match="n_envs must be a positive int"):
        start_acting(cartpole_expert, 0)


def test_unstack_splits_array_and_dict_batches() -> None:
    assert [row.tolist() for row in unstack(np.arange(4).reshape(2, 2))] == [[0, 1], [2, 3]]
    rows = unstack({"a": np.array([1, 2]), "b": np.array([[3], [4]])})
    assert [(row["a"], row["b"].tolist()) for row in rows] == [(1, [3]), (2, [4])]
