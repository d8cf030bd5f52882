"""Every algorithm in the SB3 name table trains and acts; RecurrentPPO keeps its memory, MaskablePPO obeys masks.

The reference everywhere is SB3's own acting loop: ``model.predict`` with the recurrent state,
``episode_start`` and the environment's action masks, one environment at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv

from rl_framework.agent import StableBaselinesAgent
from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS
from rl_framework.data import EpisodeSequence
from rl_framework.util.video import record_video


class MaskedChoice(gym.Env):
    """Four actions, two of them allowed at each step (which two changes every step); 8 steps per episode.

    ``step`` raises on a masked action, so a run that finishes never took one. Choosing the first
    allowed action earns 1, the second 0.5. The observation is the mask.
    """

    observation_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(4)
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.t = self.offset = 0

    def action_masks(self) -> np.ndarray:
        mask = np.zeros(4, dtype=bool)
        mask[[(self.t + self.offset) % 4, (self.t + self.offset + 1) % 4]] = True
        return mask

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t, self.offset = 0, int(self.np_random.integers(4))
        return self.action_masks().astype(np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_masks()[int(action)]:
            raise AssertionError(f"masked action {action} taken at step {self.t} (allowed: {self.action_masks()})")
        reward = 1.0 if int(action) == (self.t + self.offset) % 4 else 0.5
        self.t += 1
        return self.action_masks().astype(np.float32), reward, self.t >= 8, False, {}

    def render(self) -> np.ndarray:
        return np.full((16, 16, 3), 30 * self.t, dtype=np.uint8)


def pendulum() -> gym.Env:
    return gym.make("Pendulum-v1", max_episode_steps=20)  # 20 steps keep every episode short


ENVIRONMENTS = {"Box": pendulum, "Discrete": lambda: gym.make("CartPole-v1")}


def tiny_parameters(name: str) -> dict[str, Any]:
    """Settings that make one rollout (and one update) of ``name`` take milliseconds; a fresh dict per call."""
    off_policy = {"learning_starts": 0, "buffer_size": 64, "batch_size": 8}
    by_name: dict[str, dict[str, Any]] = {
        "PPO": {"n_steps": 16, "batch_size": 16, "n_epochs": 1},
        "MaskablePPO": {"n_steps": 16, "batch_size": 16, "n_epochs": 1},
        "RecurrentPPO": {"n_steps": 16, "batch_size": 16, "n_epochs": 1},
        "TRPO": {"n_steps": 16, "batch_size": 16, "n_critic_updates": 1, "cg_max_steps": 2},
        "A2C": {"n_steps": 8},
        "ARS": {"n_delta": 1, "n_top": 1},
        "DQN": off_policy,
        "QRDQN": off_policy,
    }
    small_networks = {**off_policy, "policy_kwargs": {"net_arch": [16]}}  # SAC, TD3, DDPG, TQC, CrossQ
    return {**by_name.get(name, small_networks), "seed": 0, "device": "cpu"}


def sb3_episode(model: BaseAlgorithm, env: gym.Env, seed: int) -> tuple[float, list[Any]]:
    """One deterministic episode by SB3's own stateful loop; return its return and actions."""
    observation, _ = env.reset(seed=seed)
    state, episode_start, total, actions = None, np.ones(1, dtype=bool), 0.0, []
    while True:
        masks = {"action_masks": get_action_masks(env)[None]} if isinstance(model, MaskablePPO) else {}
        action, state = model.predict(
            observation[None], state=state, episode_start=episode_start, deterministic=True, **masks
        )
        observation, reward, terminated, truncated, _ = env.step(action[0])
        episode_start[:] = False
        total += float(reward)
        actions.append(action[0])
        if terminated or truncated:
            return total, actions


CASES = [
    pytest.param(name, space, id=f"{name}-{space}")
    for name, entry in SB3_ALGORITHMS.items()
    for space in ("Box", "Discrete")
    if space in entry.action_spaces
]


@pytest.mark.parametrize(("name", "space"), CASES)
def test_every_algorithm_trains_one_rollout_and_evaluates_like_sb3(name: str, space: str) -> None:
    make_env = MaskedChoice if SB3_ALGORITHMS[name].masked else ENVIRONMENTS[space]
    agent = StableBaselinesAgent(name, tiny_parameters(name))
    agent.train(make_env, total_timesteps=16, progress_bar=False)
    assert agent.model is not None and agent.model.num_timesteps >= 16
    result = agent.evaluate_episodes(make_env, 1, seeds=0, progress_bar=False)
    expected_return, expected_actions = sb3_episode(agent.model, make_env(), seed=0)
    assert list(result.episode_returns) == [expected_return]
    assert list(result.episode_lengths) == [len(expected_actions)]


def test_every_table_name_is_tested() -> None:
    assert {case.values[0] for case in CASES} == set(SB3_ALGORITHMS)


def test_the_users_parameter_dicts_are_not_written_into() -> None:
    # SAC adds use_sde to the policy_kwargs it gets; the same dict must still build a TD3 (which refuses use_sde)
    shared = {"learning_starts": 0, "buffer_size": 64, "batch_size": 8, "policy_kwargs": {"net_arch": [16]}}
    for name in ("SAC", "TD3"):
        StableBaselinesAgent(name, shared).train(pendulum, total_timesteps=16, progress_bar=False)
    assert shared["policy_kwargs"] == {"net_arch": [16]}


# -- RecurrentPPO: the LSTM state lives per environment copy and restarts with each episode -----------------------
#: Seed 2 with a small LSTM gives a policy whose actions depend on its memory on these CartPole seeds.
RECURRENT = {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "seed": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def recurrent_agent() -> StableBaselinesAgent:
    agent = StableBaselinesAgent("RecurrentPPO", {**RECURRENT, "policy_kwargs": {"lstm_hidden_size": 8}})
    agent.train("CartPole-v1", total_timesteps=16, progress_bar=False)
    return agent


def stateless_return(agent: StableBaselinesAgent, seed: int) -> float:
    """An episode acted by ``choose_action`` alone (memory dropped at every step)."""
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(agent.choose_action(observation, deterministic=True))
        total, done = total + float(reward), terminated or truncated
    return total


def test_recurrent_ppo_evaluates_with_the_returns_of_sb3s_stateful_loop(recurrent_agent) -> None:
    assert recurrent_agent.model is not None
    reference = [sb3_episode(recurrent_agent.model, gym.make("CartPole-v1"), seed)[0] for seed in range(6)]
    # 4 copies for 6 episodes: two copies run a second episode while the batch shrinks around them
    for parallel in (4, 1):
        result = recurrent_agent.evaluate_episodes("CartPole-v1", 6, seeds=0, max_parallel_environments=parallel)
        assert list(result.episode_returns) == reference
    # not vacuous: acting without the memory gives other episodes
    assert [stateless_return(recurrent_agent, seed) for seed in range(6)] != reference


def test_recurrent_ppo_on_a_vec_env_matches_sb3_evaluate_policy(recurrent_agent) -> None:
    def vec_env() -> DummyVecEnv:
        return DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(3)])

    reference_env = vec_env()
    reference_env.seed(4)
    reference, _ = evaluate_policy(
        recurrent_agent.model, reference_env, 7, deterministic=True, return_episode_rewards=True, warn=False
    )
    result = recurrent_agent.evaluate_episodes(vec_env(), 7, seeds=4, progress_bar=False)
    assert list(result.episode_returns) == [float(value) for value in reference]


def test_recorded_recurrent_episodes_carry_the_memory(recurrent_agent) -> None:
    episodes = list(EpisodeSequence.from_agent(recurrent_agent, "CartPole-v1", n_episodes=3, seed=0))
    for seed, episode in enumerate(episodes):
        _, actions = sb3_episode(recurrent_agent.model, gym.make("CartPole-v1"), seed)
        assert list(episode.acts) == actions


# -- MaskablePPO: masks come from the environment in training, evaluation, videos and recordings ----------------------
@pytest.fixture(scope="module")
def maskable_agent() -> StableBaselinesAgent:
    agent = StableBaselinesAgent("MaskablePPO", tiny_parameters("MaskablePPO"))
    agent.train(MaskedChoice, total_timesteps=16, progress_bar=False)  # step() would raise on a masked action
    return agent


def test_maskable_ppo_never_takes_a_masked_action(maskable_agent, tmp_path: Path) -> None:
    result = maskable_agent.evaluate_episodes(MaskedChoice, 5, seeds=0, progress_bar=False)
    assert list(result.episode_lengths) == [8] * 5
    vec_result = maskable_agent.evaluate_episodes(DummyVecEnv([MaskedChoice] * 2), 4, seeds=0, progress_bar=False)
    assert list(vec_result.episode_lengths) == [8] * 4
    recorded = list(EpisodeSequence.from_agent(maskable_agent, MaskedChoice(), n_episodes=2, seed=0))
    assert [len(episode.acts) for episode in recorded] == [8, 8]
    video = record_video(maskable_agent, MaskedChoice(render_mode="rgb_array"), tmp_path / "masked.mp4", n_episodes=2)
    assert imageio_ffmpeg.count_frames_and_secs(str(video))[0] == 2 * (8 + 1)
    # not vacuous: without masks the policy picks forbidden actions on these observations
    env = MaskedChoice()
    observation, _ = env.reset(seed=0)
    forbidden = 0
    for _ in range(8):
        action = int(maskable_agent.choose_action(observation, deterministic=True))
        forbidden += not env.action_masks()[action]
        observation, *_ = env.step(np.flatnonzero(env.action_masks())[0])
    assert forbidden > 0


def test_masked_algorithm_without_masks_names_the_fix(maskable_agent) -> None:
    agent = StableBaselinesAgent("MaskablePPO", tiny_parameters("MaskablePPO"))
    with pytest.raises(ValueError, match=r"MaskablePPO needs the environment's action masks.*ActionMasker"):
        agent.train("CartPole-v1", total_timesteps=16, progress_bar=False)
    assert agent.model is None  # refused before the model was built
    with pytest.raises(ValueError, match=r"has no action_masks\(\).*ActionMasker"):
        maskable_agent.evaluate("CartPole-v1", 1, progress_bar=False)
    with pytest.raises(ValueError, match=r"VecEnv's envs have no action_masks\(\)"):
        maskable_agent.evaluate(DummyVecEnv([lambda: gym.make("CartPole-v1")]), 1, progress_bar=False)
