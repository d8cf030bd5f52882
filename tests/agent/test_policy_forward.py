"""The cheap deterministic forward: bit-identical to SB3's ``predict`` for the policies it covers, absent otherwise."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO, SAC

from rl_framework.agent.acting import PredictActing
from rl_framework.agent.imitation.imitation.supervised import default_bc_policy
from rl_framework.agent.policy_forward import deterministic_forward


def random_observations(space: gym.spaces.Box, rows: int, seed: int = 0) -> np.ndarray:
    """Observations spread over a wide range, so near-ties and clipping both occur."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 3.0, size=(rows, *space.shape)).astype(space.dtype)


@pytest.mark.parametrize(
    "make_policy",
    [
        pytest.param(lambda: PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu").policy, id="ppo-discrete"),
        pytest.param(lambda: PPO("MlpPolicy", "Pendulum-v1", seed=0, device="cpu").policy, id="ppo-gaussian-clipped"),
        pytest.param(lambda: A2C("MlpPolicy", "Acrobot-v1", seed=0, device="cpu").policy, id="a2c"),
        pytest.param(lambda: DQN("MlpPolicy", "CartPole-v1", seed=0, device="cpu").policy, id="dqn"),
        pytest.param(
            lambda: default_bc_policy(gym.make("CartPole-v1").observation_space, gym.make("CartPole-v1").action_space),
            id="bc-default",
        ),
    ],
)
def test_forward_equals_predict_bit_for_bit(make_policy):
    policy = make_policy()
    forward = deterministic_forward(policy, max_rows=64)
    assert forward is not None
    for rows, seed in ((64, 0), (7, 1), (1, 2)):
        observations = random_observations(policy.observation_space, rows, seed)
        expected, _ = policy.predict(observations, deterministic=True)
        actions = forward(observations)
        assert actions is not None
        assert actions.dtype == expected.dtype and actions.shape == expected.shape
        np.testing.assert_array_equal(actions, expected)
    # float64 input (e.g. from frozen normalisation) is rounded to float32 exactly as predict rounds it
    wide = random_observations(policy.observation_space, 16, 3).astype(np.float64) / 3.0
    np.testing.assert_array_equal(forward(wide), policy.predict(wide, deterministic=True)[0])


def test_policies_with_other_predict_semantics_get_no_forward():
    assert deterministic_forward(RecurrentPPO("MlpLstmPolicy", "CartPole-v1", device="cpu").policy, 4) is None
    assert deterministic_forward(SAC("MlpPolicy", "Pendulum-v1", device="cpu").policy, 4) is None  # squashed
    assert deterministic_forward(PPO("MlpPolicy", "Pendulum-v1", use_sde=True, device="cpu").policy, 4) is None
    masked_env = gym.make("CartPole-v1")
    masked_env.action_masks = lambda: np.array([True, True])  # type: ignore[attr-defined]
    assert deterministic_forward(MaskablePPO("MlpPolicy", masked_env, device="cpu").policy, 4) is None
    image_space = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)
    image_policy = PPO("CnnPolicy", _ImageEnv(image_space), n_steps=8, batch_size=8, device="cpu").policy
    assert deterministic_forward(image_policy, 4) is None
    assert deterministic_forward(object(), 4) is None


class _ImageEnv(gym.Env):
    def __init__(self, space: gym.spaces.Box) -> None:
        self.observation_space, self.action_space = space, gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_the_acting_session_uses_it_only_where_results_are_identical():
    policy = PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu").policy
    session = PredictActing(policy.predict, n_envs=8)
    observations = random_observations(policy.observation_space, 8)
    starts = np.ones(8, dtype=bool)
    np.testing.assert_array_equal(
        session.act(observations, starts, deterministic=True), policy.predict(observations, deterministic=True)[0]
    )
    assert session._forward is not None
    # a single unbatched observation or a wrong shape is left to predict, which reshapes or explains
    assert session._forward(observations[0]) is None
    with pytest.raises(ValueError, match="Unexpected observation shape"):
        session.act(np.zeros((8, 5), np.float32), starts, deterministic=True)
    # stochastic acting keeps predict (and its sampling)
    assert session.act(observations, starts, deterministic=False).shape == (8,)
