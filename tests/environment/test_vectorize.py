"""Turning every accepted training-environment form into one VecEnv."""

from __future__ import annotations

import gymnasium as gym
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from rl_framework.environment.vectorize import (
    build_vec_env,
    check_spaces_match,
    close_training_environments,
    to_factories,
)


class OpaqueWrapper(gym.Wrapper):
    """A user's wrapper that does not record its constructor arguments."""


@pytest.mark.parametrize(
    ("environments", "n_envs", "expected"),
    [
        pytest.param(lambda: gym.make("CartPole-v1"), 1, 1, id="single-env"),
        pytest.param(lambda: gym.make("CartPole-v1"), 3, 3, id="copyable-env-n-envs"),
        pytest.param(lambda: "CartPole-v1", 3, 3, id="env-id"),
        pytest.param(lambda: lambda: gym.make("CartPole-v1"), 2, 2, id="factory"),
        pytest.param(
            lambda: [gym.make("CartPole-v1"), lambda: gym.make("CartPole-v1"), "CartPole-v1"],
            5,
            3,
            id="mixed-list-ignores-n-envs",
        ),
    ],
)
def test_every_form_becomes_a_monitored_dummy_vec_env(environments, n_envs, expected):
    vec_env = build_vec_env(environments(), n_envs=n_envs)
    try:
        assert isinstance(vec_env, DummyVecEnv)
        assert vec_env.num_envs == expected
        assert all(vec_env.env_is_wrapped(Monitor))
    finally:
        vec_env.close()


def test_user_vec_env_is_used_as_is():
    vec_env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    assert build_vec_env(vec_env, n_envs=4) is vec_env


def test_existing_monitor_is_not_doubled():
    monitored = Monitor(gym.make("CartPole-v1"))
    vec_env = build_vec_env(monitored)
    assert vec_env.envs[0] is monitored


def test_bad_arguments():
    with pytest.raises(ValueError, match="vectorization must be 'dummy' or 'subprocess', got 'ray'"):
        build_vec_env("CartPole-v1", vectorization="ray")  # type: ignore[arg-type]
    for bad in (0, -1, 1.0, True):
        with pytest.raises(ValueError, match="n_envs must be a positive int"):
            to_factories("CartPole-v1", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty list"):
        build_vec_env([])
    with pytest.raises(TypeError, match="Cannot use int as an environment"):
        build_vec_env(7)
    with pytest.raises(ValueError, match="Cannot make 2 copies of this environment instance.*factory"):
        build_vec_env(OpaqueWrapper(gym.make("CartPole-v1")), n_envs=2)


def test_different_spaces_are_rejected():
    with pytest.raises(ValueError, match=r"different observation_spaces: env 0 has Box.*env 1 has Box.*\(6,\)"):
        build_vec_env([gym.make("CartPole-v1"), gym.make("Acrobot-v1")])
    with pytest.raises(ValueError, match="different action_spaces.*env 1 has Discrete"):
        build_vec_env(["CartPole-v1", lambda: OtherActions(gym.make("CartPole-v1"))])


class OtherActions(gym.ActionWrapper):
    """CartPole with three actions (same observations, different action space)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.action_space = gym.spaces.Discrete(3)

    def action(self, action):
        return min(int(action), 1)


def test_check_spaces_match():
    box = gym.spaces.Box(-1, 1, (2,))
    check_spaces_match(box, gym.spaces.Discrete(2), box, gym.spaces.Discrete(2), "The model")
    with pytest.raises(
        ValueError,
        match=r"The model expects the action space Discrete\(2\) but the environment has "
        r"Discrete\(3\)\. Train a new agent",
    ):
        check_spaces_match(box, gym.spaces.Discrete(2), box, gym.spaces.Discrete(3), "The model")


class _CloseCounting(gym.Wrapper):
    """Counts close() calls of the user's env instance."""

    closed = 0

    def close(self):
        type(self).closed += 1
        super().close()


def test_training_closes_what_it_made_but_not_the_users_envs():
    _CloseCounting.closed = 0
    user_env = _CloseCounting(gym.make("CartPole-v1"))
    vec_env = build_vec_env([user_env, lambda: _CloseCounting(gym.make("CartPole-v1"))])
    close_training_environments(vec_env, [user_env, "unused"])
    assert _CloseCounting.closed == 1  # only the factory-made env

    user_vec_env = DummyVecEnv([lambda: _CloseCounting(gym.make("CartPole-v1"))])
    close_training_environments(build_vec_env(user_vec_env), user_vec_env)
    assert _CloseCounting.closed == 1  # the user's VecEnv stays open

    made = build_vec_env(lambda: _CloseCounting(gym.make("CartPole-v1")), n_envs=2)
    close_training_environments(made, "factory")
    assert _CloseCounting.closed == 3
