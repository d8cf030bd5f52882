"""Turning every accepted training-environment form into one VecEnv."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from rl_framework.environment.vectorize import (
    EnvironmentProcessError,
    FiniteCheckVecEnv,
    NamedSubprocVecEnv,
    PicklableHook,
    build_vec_env,
    check_spaces_match,
    close_training_environments,
    describe_entries,
    to_factories,
)
from rl_framework.util.finite import NonFiniteError


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


# -- fault guards ------------------------------------------------------------------------------
class _Poisoned(gym.Wrapper):
    """Returns a NaN reward or observation at its ``at``-th step."""

    def __init__(self, env: gym.Env, what: str, at: int) -> None:
        super().__init__(env)
        self.what, self.at, self.steps = what, at, 0

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps == self.at:
            if self.what == "reward":
                reward = float("nan")
            else:
                observation = np.full_like(observation, np.inf)
        return observation, reward, terminated, truncated, info


@pytest.mark.parametrize("what", ["reward", "observation"])
def test_finite_check_names_the_environment_copy_and_step(what):
    vec_env = FiniteCheckVecEnv(
        DummyVecEnv([lambda: gym.make("CartPole-v1"), lambda: _Poisoned(gym.make("CartPole-v1"), what, 3)]),
        first_step=100,
    )
    vec_env.reset()
    for _ in range(2):
        vec_env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(
        NonFiniteError, match=rf"at step 106: the training environment 'CartPole-v1' \(copy 1\) returned an? {what}"
    ):
        vec_env.step(np.zeros(2, dtype=np.int64))


def test_finite_check_refuses_nan_actions_before_the_environment_sees_them():
    vec_env = FiniteCheckVecEnv(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    vec_env.reset()
    with pytest.raises(NonFiniteError, match="the policy produced a NaN/inf action.*Lower the learning rate"):
        vec_env.step(np.array([[np.nan]], dtype=np.float32))


class _CrashOnReset(gym.Wrapper):
    def reset(self, **kwargs):
        raise RuntimeError("the environment broke")


def _crash_on_reset() -> gym.Env:
    return _CrashOnReset(gym.make("CartPole-v1"))


def test_crashed_subprocess_names_the_environment_and_the_dummy_fix():
    vec_env = NamedSubprocVecEnv([_crash_on_reset], describe_entries(_crash_on_reset, 1), start_method="fork")
    with pytest.raises(
        EnvironmentProcessError,
        match=r"'_crash_on_reset' \(copy 0\) failed in its subprocess during reset\(\).*vectorization=\"dummy\"",
    ):
        vec_env.reset()
    vec_env.close()  # a dead worker does not make close() fail
    assert vec_env.closed


def test_the_training_wrapper_hook_pickles_without_its_agent(trained_ppo_agent):
    import pickle

    hook = PicklableHook(trained_ppo_agent._wrap_training_environment)
    copy = pickle.loads(pickle.dumps(hook))  # the trained model (with weak references) is not pickled
    env = gym.make("CartPole-v1")
    assert copy(env) is env
