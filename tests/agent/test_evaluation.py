"""Evaluation: SB3 ``evaluate_policy`` semantics, raw returns, batching, seeds and bad input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TransformReward
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper, VecMonitor

from rl_framework.agent import BaseAgent, EvaluationResult
from rl_framework.agent.acting import ActingSession
from rl_framework.agent.evaluation import episode_seeds


class CountingAgent(BaseAgent):
    """Acts like a fixed linear CartPole policy and counts its batched policy calls."""

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)
        self.calls = 0
        self.batch_sizes: list[int] = []

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return self.choose_actions(np.asarray(observation)[None], deterministic)[0]

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        observations = np.asarray(observations)
        self.calls += 1
        self.batch_sizes.append(len(observations))
        return (observations[:, 2] + 0.1 * observations[:, 3] > 0).astype(np.int64)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        raise NotImplementedError

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        raise NotImplementedError


class MinimalAgent(BaseAgent):
    """Only ``choose_action`` (plus save/load): evaluation must work through the default loop."""

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)
        self.single_calls = 0

    def choose_action(self, observation: Any, deterministic: bool = False) -> int:
        self.single_calls += 1
        return int(observation[2] > 0)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        raise NotImplementedError

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        raise NotImplementedError


class StartLogging(ActingSession):
    """CountingAgent's policy in a session that logs ``(copy, episode start)`` for every row it acts on."""

    def __init__(self, n_envs: int) -> None:
        super().__init__(n_envs)
        self.log: list[tuple[int, bool]] = []

    def act(self, observations, episode_starts, deterministic=False, action_masks=None, env_indices=None):
        copies = range(self.n_envs) if env_indices is None else env_indices
        self.log += [(int(copy), bool(start)) for copy, start in zip(copies, episode_starts, strict=True)]
        observations = np.asarray(observations)
        return (observations[:, 2] + 0.1 * observations[:, 3] > 0).astype(np.int64)


class SessionAgent(CountingAgent):
    """An agent with its own acting session (the hook recurrent and masked policies use)."""

    def start_acting(self, n_envs: int = 1) -> StartLogging:
        self.session = StartLogging(n_envs)
        return self.session


class OpaqueWrapper(gym.Wrapper):
    """A user's wrapper that does not record its arguments: the env cannot be re-made from its spec."""


def manual_rollout(agent: BaseAgent, env: gym.Env, seed: int | None) -> tuple[float, int]:
    """One deterministic episode with ``choose_action``; return its (reward-sum, length)."""
    observation, _ = env.reset(seed=seed)
    total, length, done = 0.0, 0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(agent.choose_action(observation, deterministic=True))
        total += float(reward)
        length += 1
        done = terminated or truncated
    return total, length


def episodes(agent: BaseAgent, environment: Any, n: int, parallel: int, seeds: Any = 100) -> EvaluationResult:
    return agent.evaluate_episodes(
        environment, n, seeds=seeds, deterministic=True, progress_bar=False, max_parallel_environments=parallel
    )


def test_evaluate_returns_mean_and_std_as_floats(trained_ppo_agent):
    mean, std = trained_ppo_agent.evaluate("CartPole-v1", 5, seeds=0, deterministic=True, progress_bar=False)
    assert type(mean) is float and type(std) is float
    result = episodes(trained_ppo_agent, "CartPole-v1", 5, 100, seeds=0)
    assert (mean, std) == (float(np.mean(result.episode_returns)), float(np.std(result.episode_returns)))
    assert mean > 0 and std >= 0


@pytest.mark.parametrize(
    "make_environment",
    [
        pytest.param(lambda: "CartPole-v1", id="env-id"),
        pytest.param(lambda: lambda: gym.make("CartPole-v1"), id="factory"),
        pytest.param(lambda: [gym.make("CartPole-v1") for _ in range(4)], id="list-of-envs"),
        pytest.param(lambda: gym.make("CartPole-v1"), id="gym-made-env-spec-copies"),
    ],
)
def test_batched_evaluation_equals_sequential_per_episode(trained_ppo_agent, make_environment):
    batched = episodes(trained_ppo_agent, make_environment(), 12, parallel=100)
    sequential = episodes(trained_ppo_agent, make_environment(), 12, parallel=1)
    np.testing.assert_array_equal(batched.episode_returns, sequential.episode_returns)
    np.testing.assert_array_equal(batched.episode_lengths, sequential.episode_lengths)
    # and episode i is exactly the seeded episode seed + i, run by hand
    by_hand = [manual_rollout(trained_ppo_agent, gym.make("CartPole-v1"), 100 + i) for i in range(12)]
    assert list(batched.episode_returns) == [total for total, _ in by_hand]
    assert list(batched.episode_lengths) == [length for _, length in by_hand]
    assert len(set(batched.episode_lengths)) > 1  # the episodes differ: the check is not vacuous


@pytest.mark.parametrize("monitored", [True, False], ids=["monitor", "no-monitor"])
def test_vec_env_evaluation_matches_sb3_evaluate_policy(trained_ppo_agent, monitored):
    def vec_env():
        if monitored:
            return DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1")) for _ in range(4)])
        return DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(4)])

    reference_env = vec_env()
    reference_env.seed(3)
    reference_returns, reference_lengths = evaluate_policy(
        trained_ppo_agent.model,
        reference_env,
        n_eval_episodes=10,
        deterministic=True,
        return_episode_rewards=True,
        warn=False,
    )
    result = episodes(trained_ppo_agent, vec_env(), 10, parallel=100, seeds=3)
    assert list(result.episode_returns) == [float(value) for value in reference_returns]
    assert list(result.episode_lengths) == list(reference_lengths)
    reference_env.seed(3)
    sb3_mean, sb3_std = evaluate_policy(trained_ppo_agent.model, reference_env, 10, deterministic=True, warn=False)
    ours_env = vec_env()
    assert trained_ppo_agent.evaluate(ours_env, 10, seeds=3, deterministic=True, progress_bar=False) == (
        pytest.approx(sb3_mean, abs=0),
        pytest.approx(sb3_std, abs=0),
    )


def test_vec_env_counts_unbiased_per_env_targets():
    # env 0 has short episodes (pole starts falling fast), the per-env targets still hold: 2, 2, 3, 3
    agent = CountingAgent()
    vec_env = VecMonitor(DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(4)]))
    result = episodes(agent, vec_env, 10, parallel=100, seeds=5)
    assert len(result.episode_returns) == 10
    vec_env.seed(5)
    reference, _ = evaluate_policy(_AgentAsModel(agent), vec_env, 10, return_episode_rewards=True, warn=False)
    assert list(result.episode_returns) == [float(value) for value in reference]


class _AgentAsModel:
    """Lets SB3's ``evaluate_policy`` call a BaseAgent (the reference implementation under comparison)."""

    def __init__(self, agent: BaseAgent) -> None:
        self.agent = agent

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False):
        return self.agent.choose_actions(observation, deterministic), None


def test_monitor_first_reports_raw_returns_under_reward_scaling(cartpole_expert):
    scaled_after_monitor = TransformReward(Monitor(gym.make("CartPole-v1")), lambda reward: 0.01 * reward)
    result = episodes(cartpole_expert, scaled_after_monitor, 3, parallel=100, seeds=0)
    np.testing.assert_array_equal(result.episode_returns, [500.0, 500.0, 500.0])
    np.testing.assert_array_equal(result.episode_lengths, [500, 500, 500])
    # without a Monitor the env's own (scaled) rewards are all there is to report
    scaled_only = TransformReward(gym.make("CartPole-v1"), lambda reward: 0.01 * reward)
    unmonitored = episodes(cartpole_expert, scaled_only, 3, parallel=100, seeds=0)
    np.testing.assert_allclose(unmonitored.episode_returns, [5.0, 5.0, 5.0])


class VecScaleReward(VecEnvWrapper):
    """A reward-scaling VecEnv wrapper (placed outside the VecMonitor)."""

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        observations, rewards, dones, infos = self.venv.step_wait()
        return observations, 0.5 * rewards, dones, infos


def test_vec_env_with_vecmonitor_inside_reward_scaling_reads_raw_returns():
    agent = CountingAgent()
    vec_env = VecScaleReward(VecMonitor(DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(2)])))
    result = episodes(agent, vec_env, 4, parallel=100, seeds=1)
    np.testing.assert_array_equal(result.episode_returns, result.episode_lengths)  # raw reward 1 per step
    vec_env.seed(1)
    reference, _ = evaluate_policy(_AgentAsModel(agent), vec_env, 4, return_episode_rewards=True, warn=False)
    assert list(result.episode_returns) == [float(value) for value in reference]


def test_non_copyable_env_evaluates_sequentially_and_correctly():
    agent = CountingAgent()
    env = OpaqueWrapper(gym.make("CartPole-v1"))
    result = episodes(agent, env, 6, parallel=100, seeds=20)
    assert set(agent.batch_sizes) == {1}  # one env, episodes one after another
    by_hand = [manual_rollout(CountingAgent(), OpaqueWrapper(gym.make("CartPole-v1")), 20 + i) for i in range(6)]
    assert list(result.episode_returns) == [total for total, _ in by_hand]


def test_batched_path_calls_policy_once_per_step_for_all_envs():
    batched, sequential = CountingAgent(), CountingAgent()
    result = episodes(batched, "CartPole-v1", 50, parallel=50, seeds=0)
    episodes(sequential, "CartPole-v1", 50, parallel=1, seeds=0)
    total_steps = int(result.episode_lengths.sum())
    assert sequential.calls == total_steps  # one call per step without batching
    assert batched.calls == int(result.episode_lengths.max())  # one call per step of the longest episode
    assert batched.calls * 5 < total_steps
    assert max(batched.batch_sizes) == 50


def test_custom_agent_with_only_choose_action_evaluates_through_default_loop():
    agent = MinimalAgent()
    result = episodes(agent, "CartPole-v1", 4, parallel=4, seeds=9)
    by_hand = [manual_rollout(MinimalAgent(), gym.make("CartPole-v1"), 9 + i) for i in range(4)]
    assert list(result.episode_returns) == [total for total, _ in by_hand]
    assert agent.single_calls == int(result.episode_lengths.sum())


def test_the_agents_session_sees_each_copy_and_each_episode_start():
    agent = SessionAgent()
    result = episodes(agent, "CartPole-v1", 5, parallel=2, seeds=0)
    assert agent.session.n_envs == 2
    assert list(result.episode_returns) == list(
        episodes(CountingAgent(), "CartPole-v1", 5, parallel=2, seeds=0).episode_returns
    )
    # copy 0 runs episodes 0, 2, 4 and copy 1 episodes 1, 3: a start flag exactly on each episode's first step
    for copy, own_episodes in ((0, [0, 2, 4]), (1, [1, 3])):
        flags = [start for index, start in agent.session.log if index == copy]
        assert flags == [step == 0 for episode in own_episodes for step in range(result.episode_lengths[episode])]


def test_seeds_int_list_and_none():
    agent = CountingAgent()
    from_int = episodes(agent, "CartPole-v1", 3, parallel=3, seeds=40)
    from_list = episodes(agent, "CartPole-v1", 3, parallel=3, seeds=[40, 41, 42])
    np.testing.assert_array_equal(from_int.episode_returns, from_list.episode_returns)
    reversed_list = episodes(agent, "CartPole-v1", 3, parallel=3, seeds=[42, 41, 40])
    np.testing.assert_array_equal(reversed_list.episode_returns, from_list.episode_returns[::-1])
    unseeded = episodes(agent, "CartPole-v1", 3, parallel=3, seeds=None)
    assert len(unseeded.episode_returns) == 3
    assert episode_seeds(np.int64(5), 2) == [5, 6]
    assert episode_seeds(None, 2) == [None, None]


def test_wrong_length_seed_list_is_rejected():
    with pytest.raises(ValueError, match="seeds has 2 entries but n_eval_episodes is 3"):
        episodes(CountingAgent(), "CartPole-v1", 3, parallel=3, seeds=[1, 2])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_non_positive_or_non_int_episode_count_is_rejected(bad):
    with pytest.raises(ValueError, match="n_eval_episodes must be a positive int"):
        CountingAgent().evaluate("CartPole-v1", bad, progress_bar=False)


def test_bad_parallel_count_and_bad_environment_are_rejected():
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=f"max_parallel_environments must be a positive int, got {bad}"):
            CountingAgent().evaluate("CartPole-v1", 2, progress_bar=False, max_parallel_environments=bad)
    with pytest.raises(ValueError, match="VecEnv resets itself.*Pass seeds as a single int"):
        CountingAgent().evaluate(DummyVecEnv([lambda: gym.make("CartPole-v1")]), 2, seeds=[1, 2], progress_bar=False)
    with pytest.raises(TypeError, match="Cannot use int as an environment"):
        CountingAgent().evaluate(42, 2, progress_bar=False)
    with pytest.raises(ValueError, match="list of environments is empty"):
        CountingAgent().evaluate([], 2, progress_bar=False)
    with pytest.raises(TypeError, match="returned str, not a gymnasium.Env"):
        CountingAgent().evaluate(lambda: "CartPole-v1", 2, progress_bar=False)


def test_progress_bar_shows_episodes(capsys):
    CountingAgent().evaluate("CartPole-v1", 3, seeds=0, progress_bar=True)
    assert "Evaluating" in capsys.readouterr().err
    CountingAgent().evaluate("CartPole-v1", 3, seeds=0, progress_bar=False)
    assert "Evaluating" not in capsys.readouterr().err


def test_evaluation_result_validates_and_summarises():
    result = EvaluationResult(np.array([1.0, 3.0]), np.array([2, 4]))
    assert (result.mean_reward, result.std_reward, result.mean_length) == (2.0, 1.0, 3.0)
    with pytest.raises(ValueError, match="same length"):
        EvaluationResult(np.array([1.0]), np.array([1, 2]))


def test_evaluation_leaves_the_users_env_open_and_closes_copies():
    env = gym.make("CartPole-v1")
    episodes(CountingAgent(), env, 4, parallel=4, seeds=0)
    observation, _ = env.reset(seed=0)  # still usable
    assert observation.shape == (4,)
