from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from imitation.algorithms.bc import BC
from imitation.algorithms.preference_comparisons import PreferenceComparisons
from imitation.algorithms.sqil import SQIL as ImitationSQIL
from imitation.data import serialize
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rl_framework.agent import ImitationAgent
from rl_framework.data import EpisodeSequence
from rl_framework.util.connector.local import LocalConnector

ALGORITHMS = ["BC", "DAgger", "GAIL", "AIRL", "SQIL", "Density"]
OBSERVATIONS = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_each_algorithm_trains_and_round_trips(
    name: str, tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    agent = ImitationAgent(name, tiny_parameters[name])
    agent.train(episode_sequence=few_expert_episodes, training_environments="CartPole-v1", total_timesteps=64)
    assert agent.num_timesteps >= 64

    path = agent.save_to_file(tmp_path / f"{name}.zip")[0]
    reloaded = ImitationAgent(name)
    reloaded.load_from_file(path)

    expected = agent.choose_action(OBSERVATIONS, deterministic=True)
    np.testing.assert_array_equal(reloaded.choose_action(OBSERVATIONS, deterministic=True), expected)
    original = agent.evaluate_episodes("CartPole-v1", n_eval_episodes=2, seeds=0, progress_bar=False)
    again = reloaded.evaluate_episodes("CartPole-v1", n_eval_episodes=2, seeds=0, progress_bar=False)
    np.testing.assert_array_equal(again.episode_returns, original.episode_returns)  # the same policy acts


def test_bc_from_a_saved_dataset_clearly_beats_random(expert_episodes: EpisodeSequence, tmp_path: Path) -> None:
    serialize.save(tmp_path / "expert", list(expert_episodes))  # imitation's own format
    episodes = EpisodeSequence.from_dataset(tmp_path / "expert")
    agent = ImitationAgent("BC", {"seed": 0})
    agent.train(episode_sequence=episodes, training_environments="CartPole-v1", total_timesteps=20_000)
    mean_return, _ = agent.evaluate(
        "CartPole-v1", n_eval_episodes=10, seeds=100, deterministic=True, progress_bar=False
    )
    assert mean_return > 150  # a random policy scores ~22, the expert 500


def test_bc_counts_demonstration_samples_in_whole_batches(
    few_expert_episodes: EpisodeSequence, counted_cartpole: Any
) -> None:
    agent = ImitationAgent("BC", {"batch_size": 32, "seed": 0})
    agent.train(episode_sequence=few_expert_episodes, training_environments=counted_cartpole, total_timesteps=100)
    assert agent.num_timesteps == 128  # ceil(100 / 32) batches of 32
    first_policy = agent.acting_policy()
    agent.train(episode_sequence=few_expert_episodes, training_environments="CartPole-v1", total_timesteps=64)
    assert agent.num_timesteps == 192
    assert agent.acting_policy() is first_policy  # continued, not restarted
    assert counted_cartpole.steps == 0  # BC never steps the environment


@pytest.mark.parametrize(("name", "total", "expected_steps"), [("GAIL", 70, 96), ("AIRL", 64, 64), ("Density", 33, 64)])
def test_learner_steps_round_up_to_whole_rollouts(
    name: str,
    total: int,
    expected_steps: int,
    tiny_parameters: dict[str, Any],
    few_expert_episodes: EpisodeSequence,
    counted_cartpole: Any,
) -> None:
    agent = ImitationAgent(name, tiny_parameters[name])
    agent.train(episode_sequence=few_expert_episodes, training_environments=counted_cartpole, total_timesteps=total)
    assert agent.num_timesteps == expected_steps  # rollouts of n_steps=32
    assert counted_cartpole.steps == expected_steps


def test_sqil_counts_environment_steps(
    tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, counted_cartpole: Any
) -> None:
    agent = ImitationAgent("SQIL", tiny_parameters["SQIL"])
    agent.train(episode_sequence=few_expert_episodes, training_environments=counted_cartpole, total_timesteps=100)
    assert agent.num_timesteps == counted_cartpole.steps == 100


def test_dagger_collects_at_least_the_budget_in_whole_episodes(
    cartpole_expert: Any, few_expert_episodes: EpisodeSequence, counted_cartpole: Any
) -> None:
    agent = ImitationAgent("DAgger", {"expert": cartpole_expert, "seed": 0})
    agent.train(episode_sequence=few_expert_episodes, training_environments=counted_cartpole, total_timesteps=150)
    assert agent.num_timesteps == counted_cartpole.steps
    assert counted_cartpole.steps >= 150


def test_dagger_accepts_an_sb3_model_as_expert(trained_ppo_agent: Any, few_expert_episodes: EpisodeSequence) -> None:
    from imitation.data import serialize

    model = trained_ppo_agent.model
    agent = ImitationAgent("DAgger", {"expert": model, "rollout_round_min_timesteps": 32})
    agent.train(episode_sequence=few_expert_episodes, training_environments="CartPole-v1", total_timesteps=32)
    assert agent.num_timesteps >= 32
    # Every state DAgger visited was labelled by the SB3 model's deterministic action.
    demos = (agent.trainer.scratch_dir / "call-0" / "demos").glob("round-*/dagger-demo-*")  # not "initial_data-"
    rounds = sorted(demos)
    labelled = [trajectory for path in rounds for trajectory in serialize.load(path)]
    assert sum(len(trajectory.acts) for trajectory in labelled) >= 32
    for trajectory in labelled:
        expected, _ = model.predict(trajectory.obs[:-1], deterministic=True)
        np.testing.assert_array_equal(trajectory.acts, expected)


def test_connector_receives_metrics_and_checkpoints(
    tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    connector = LocalConnector(registry_path=tmp_path, checkpoint_frequency=64)
    for name in ("BC", "GAIL"):
        agent = ImitationAgent(name, tiny_parameters[name])
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=128, connector=connector)
    (metrics_file,) = tmp_path.rglob("metrics.jsonl")
    names = {json.loads(line)["name"] for line in metrics_file.read_text().splitlines()}
    assert "bc/loss" in names
    assert any(name.startswith("mean/disc/") for name in names)  # discriminator loss, accuracy
    assert "episode/return" in names  # the generator's episodes
    checkpoints = sorted(path.name for path in tmp_path.rglob("step_*.zip"))
    assert "step_64.zip" in checkpoints


def test_a_loaded_agent_continues_training(
    tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    for name in ("BC", "GAIL"):
        agent = ImitationAgent(name, tiny_parameters[name])
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)
        path = agent.save_to_file(tmp_path / f"{name}.zip")[0]
        reloaded = ImitationAgent(name, tiny_parameters[name])
        reloaded.load_from_file(path)
        before = reloaded.acting_policy().parameters_to_vector()
        reloaded.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)
        assert not np.array_equal(reloaded.acting_policy().parameters_to_vector(), before)


def test_the_algorithm_class_itself_is_accepted() -> None:
    assert ImitationAgent(BC).algorithm_name == "BC"
    assert ImitationAgent("gail").algorithm_name == "GAIL"


# -- bad input ------------------------------------------------------------------------------
def test_dagger_without_expert_names_the_fix(few_expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("DAgger")
    with pytest.raises(ValueError, match=r"needs an expert.*algorithm_parameters=\{'expert'"):
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)


def test_dagger_rejects_an_expert_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="expert must be a trained rl_framework agent.*got str"):
        ImitationAgent("DAgger", {"expert": "PPO"})


def test_unknown_algorithm_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="Unknown imitation algorithm 'GAILX'.*AIRL, BC, DAgger, Density, GAIL, SQIL"):
        ImitationAgent("GAILX")


def test_imitation_sqil_names_the_stable_baselines3_version_it_needs() -> None:
    with pytest.raises(ValueError, match=r"needs stable-baselines3 < 2\.7.*algorithm_class='SQIL'"):
        ImitationAgent(ImitationSQIL)


def test_preference_comparisons_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="learns from preference queries"):
        ImitationAgent(PreferenceComparisons)


def test_misspelt_parameter_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"algorithm_parameters has unknown parameter\(s\) 'batchsize' for BC\. Valid names: batch_size",
    ):
        ImitationAgent("BC", {"batchsize": 32})


def test_misspelt_learner_parameter_is_refused(few_expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("GAIL", {"learner_parameters": {"n_step": 32}})
    with pytest.raises(ValueError, match=r"Could not build the PPO learner from learner_parameters \['n_step'\]"):
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)


def test_space_mismatch_names_both_shapes(few_expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("BC")
    with pytest.raises(ValueError, match=r"observations have shape \(4,\).*\(6,\)"):
        agent.train(few_expert_episodes, "Acrobot-v1", total_timesteps=32)


def test_vecnormalize_environments_are_refused(few_expert_episodes: EpisodeSequence) -> None:
    vec_env = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    with pytest.raises(ValueError, match="cannot train on a VecNormalize environment"):
        ImitationAgent("BC").train(few_expert_episodes, vec_env, total_timesteps=32)


def test_too_few_transitions_for_a_batch(few_expert_episodes: EpisodeSequence) -> None:
    agent = ImitationAgent("GAIL", {"demo_batch_size": 5_000})
    with pytest.raises(ValueError, match="1000 transitions, fewer than demo_batch_size=5000"):
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)


@pytest.mark.parametrize("total", [0, -5, 1.5, True])
def test_total_timesteps_must_be_a_positive_int(total: Any, few_expert_episodes: EpisodeSequence) -> None:
    with pytest.raises(ValueError, match="total_timesteps must be a positive int"):
        ImitationAgent("BC").train(few_expert_episodes, "CartPole-v1", total_timesteps=total)


def test_acting_before_training_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"no policy yet: call train\(...\) or load_from_file"):
        ImitationAgent("BC").choose_action(OBSERVATIONS[0])


def test_loading_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No agent file at"):
        ImitationAgent("BC").load_from_file(tmp_path / "missing.zip")


def test_loading_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not an ImitationAgent file"):
        ImitationAgent("BC").load_from_file(path)


def test_loading_a_file_with_damaged_policy(
    tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    agent = ImitationAgent("BC", tiny_parameters["BC"])
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)
    good = agent.save_to_file(tmp_path / "good.zip")[0]
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        target.writestr("rl_framework_imitation.json", source.read("rl_framework_imitation.json"))
        target.writestr("policy.pth", b"garbage")
    with pytest.raises(ValueError, match="Could not load the policy stored in .*corrupt"):
        ImitationAgent("BC").load_from_file(damaged)


def test_loading_another_algorithms_file(
    tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    agent = ImitationAgent("BC", tiny_parameters["BC"])
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)
    path = agent.save_to_file(tmp_path / "bc.zip")[0]
    with pytest.raises(ValueError, match=r"holds a BC agent but this agent is GAIL.*ImitationAgent\('BC'\)"):
        ImitationAgent("GAIL").load_from_file(path)


def test_a_failed_save_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no policy yet"):
        ImitationAgent("BC").save_to_file(tmp_path / "agent.zip")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("show", [False, True])
def test_progress_bar_switch_governs_imitations_own_bars(
    show: bool, tiny_parameters: dict[str, Any], few_expert_episodes: EpisodeSequence, capsys: pytest.CaptureFixture
) -> None:
    agent = ImitationAgent("GAIL", tiny_parameters["GAIL"])
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32, progress_bar=show)
    assert ("round" in capsys.readouterr().err) is show  # imitation's adversarial "round" bar
