from __future__ import annotations

import tempfile
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from rl_framework.agent import ImitationAgent
from rl_framework.agent.imitation.imitation.sqil import ExpertTransitions, SQILReplayBuffer, combine_samples
from rl_framework.data import EpisodeSequence

CARTPOLE = gym.make("CartPole-v1")


def expert_transitions(n: int, action: int = 1) -> ExpertTransitions:
    observations = np.arange(n * 4, dtype=np.float32).reshape(n, 4)
    return ExpertTransitions(observations, np.full(n, action), observations + 1, np.zeros(n, dtype=bool))


def filled_buffer(n_learner: int, expert_fraction: float = 0.5) -> SQILReplayBuffer:
    buffer = SQILReplayBuffer(
        100,
        CARTPOLE.observation_space,
        CARTPOLE.action_space,
        device="cpu",
        demonstrations=expert_transitions(10),
        expert_fraction=expert_fraction,
    )
    for _ in range(n_learner):
        observation = -np.ones((1, 4), dtype=np.float32)
        buffer.add(observation, observation, np.array([0]), np.array([5.0]), np.array([False]), [{}])
    return buffer


def test_sqil_clearly_beats_a_random_policy(expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("SQIL", {"seed": 0})
    agent.train(episode_sequence=expert_episodes, training_environments="CartPole-v1", total_timesteps=2_000)
    mean_return, _ = agent.evaluate(
        "CartPole-v1", n_eval_episodes=10, seeds=100, deterministic=True, progress_bar=False
    )
    assert mean_return > 150  # a random policy scores ~22, the expert 500


def test_samples_mix_expert_rewarded_one_with_learner_rewarded_zero() -> None:
    samples = filled_buffer(n_learner=20).sample(10)
    rewards = samples.rewards.flatten()
    from_expert = samples.observations[:, 0] >= 0  # the learner's observations are all -1
    assert int(from_expert.sum()) == 5
    assert th.all(rewards[from_expert] == 1.0)
    assert th.all(rewards[~from_expert] == 0.0)  # the environment's reward 5.0 is replaced
    assert samples.discounts is None  # absent in both halves, so absent in the mix
    assert samples.actions.shape == (10, 1)


def test_an_empty_learner_buffer_samples_only_the_expert() -> None:
    samples = filled_buffer(n_learner=0).sample(8)
    assert th.all(samples.rewards == 1.0)


def test_box_expert_actions_are_stored_in_sb3_scale() -> None:
    action_space = gym.spaces.Box(-2.0, 2.0, shape=(1,), dtype=np.float32)
    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
    demonstrations = ExpertTransitions(
        np.zeros((2, 3), np.float32), np.array([[2.0], [-1.0]]), np.zeros((2, 3), np.float32), np.zeros(2)
    )
    buffer = SQILReplayBuffer(10, observation_space, action_space, device="cpu", demonstrations=demonstrations)
    actions = set(buffer.sample(50).actions.flatten().tolist())
    assert actions == {1.0, -0.5}


def test_mixing_a_field_present_in_one_batch_only_is_refused() -> None:
    tensor = th.zeros((2, 1))
    with_discounts = ReplayBufferSamples(tensor, tensor, tensor, tensor, tensor, discounts=tensor)
    without = ReplayBufferSamples(tensor, tensor, tensor, tensor, tensor)
    with pytest.raises(ValueError, match="'discounts' is present in only one"):
        combine_samples(with_discounts, without)


def test_expert_fraction_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="expert_fraction must be between 0 and 1"):
        filled_buffer(n_learner=0, expert_fraction=1.0)


def test_expert_arrays_must_have_one_entry_per_transition() -> None:
    with pytest.raises(ValueError, match=r"one entry per transition, got lengths \[2, 3\]"):
        ExpertTransitions(np.zeros((3, 4)), np.zeros(3), np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="at least one expert transition"):
        ExpertTransitions(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4)), np.zeros(0))


def test_sqil_trains_sac_for_continuous_actions(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where SB3's learn would make an SB3-<time> folder
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    episodes = EpisodeSequence.from_agent(lambda observation: np.array([0.5], np.float32), "Pendulum-v1", 1, seed=0)
    agent = ImitationAgent("SQIL", {"learner_parameters": {"batch_size": 16, "buffer_size": 500}, "seed": 0})
    agent.train(episode_sequence=episodes, training_environments="Pendulum-v1", total_timesteps=20)
    assert agent.num_timesteps == 20
    assert list(tmp_path.glob("SB3-*")) == []  # the learner logs without an empty temporary folder
    path = agent.save_to_file(tmp_path / "sqil_sac.zip")[0]
    reloaded = ImitationAgent("SQIL")
    reloaded.load_from_file(path)
    observations = np.zeros((3, 3), np.float32)
    np.testing.assert_array_equal(
        reloaded.choose_action(observations, deterministic=True), agent.choose_action(observations, deterministic=True)
    )


def test_sqil_needs_an_off_policy_learner(few_expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("SQIL", {"learner": "PPO"})
    with pytest.raises(ValueError, match="SQIL needs an off-policy learner .*got PPO"):
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)


def test_sqil_sets_the_replay_buffer_itself(few_expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("SQIL", {"learner_parameters": {"replay_buffer_class": None}})
    with pytest.raises(ValueError, match="SQIL sets the learner's replay_buffer_class itself"):
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)


def test_sqil_has_no_default_learner_for_multidiscrete_actions() -> None:
    from rl_framework.agent.imitation.imitation.sqil import default_learner

    with pytest.raises(ValueError, match=r"no default learner for the action space .*MultiDiscrete.*'learner'"):
        default_learner(gym.spaces.MultiDiscrete([2, 3]))
