"""DAgger's expert adapter acts like the agent it wraps, recurrent state included."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rl_framework.agent import StableBaselinesAgent
from rl_framework.agent.imitation.imitation.expert import as_expert_policy


def test_a_recurrent_expert_keeps_its_state_per_copy_across_steps():
    agent = StableBaselinesAgent("RecurrentPPO", {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "seed": 0})
    agent.train("CartPole-v1", total_timesteps=16, progress_bar=False)
    env = gym.make("CartPole-v1")
    expert = as_expert_policy(agent, env.observation_space, env.action_space)
    rng = np.random.default_rng(0)
    observations = rng.normal(scale=2.0, size=(30, 2, 4)).astype(np.float32)  # 30 steps of 2 copies
    starts = np.zeros((30, 2), dtype=bool)
    starts[0] = True
    starts[15, 1] = True  # copy 1 starts a new episode half-way

    state, differs_without_state = None, False
    for step in range(30):
        actions, _ = expert.predict(observations[step], episode_start=starts[step], deterministic=True)
        expected, state = agent.model.predict(
            observations[step], state=state, episode_start=starts[step], deterministic=True
        )
        np.testing.assert_array_equal(actions, expected)
        memoryless = agent.choose_action(observations[step], deterministic=True)
        differs_without_state |= bool((memoryless != expected).any())
    assert differs_without_state  # the check has power: dropping the state changes actions here
