"""One trial without Ray: training, periodic evaluation reports, storing the agent; spec and config checks."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from sweep_agents import NoisyExpertAgent

from rl_framework.agent import StableBaselinesAgent
from rl_framework.data import EpisodeSequence
from rl_framework.sweep.config import SweepConfig
from rl_framework.sweep.spec import TrainingSpec
from rl_framework.sweep.trial import EvaluationSchedule, LocalRegistryStore, run_trial

TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "device": "cpu"}


def test_an_sb3_trial_reports_every_evaluation_and_stores_its_agent(tmp_path):
    spec = TrainingSpec("PPO", "CartPole-v1", 128, TINY_PPO)
    reports: list[dict] = []
    store = LocalRegistryStore(str(tmp_path / "registry"))
    final = run_trial(spec, {"learning_rate": 1e-3}, 3, EvaluationSchedule(32, 2), reports.append, store, "ppo-t1")
    assert [report["timesteps"] for report in reports] == [32, 64, 96, 128]
    assert reports[-1] is final and final["finished"] and "finished" not in reports[0]
    assert final["best_return"] == max(report["mean_return"] for report in reports)
    assert final["evaluations"] == 4 and final["trial_seconds"] > 0
    assert final["agent_location"] == str(tmp_path / "registry" / "ppo-t1" / "v1")
    agent = StableBaselinesAgent("PPO")
    agent.download(store("ppo-t1"))
    assert agent.model is not None and agent.model.seed == 3 and agent.model.learning_rate == 1e-3


def test_other_agents_train_in_chunks_between_evaluations():
    spec = TrainingSpec(NoisyExpertAgent, "CartPole-v1", 1000, {"halving": 200})
    reports: list[dict] = []
    final = run_trial(spec, {"noise": 0.5}, 0, EvaluationSchedule(300, 3), reports.append)
    assert [report["timesteps"] for report in reports] == [300, 600, 900, 1000]
    assert final["agent_location"] == ""  # no store


def test_an_imitation_agent_sweeps_with_its_demonstrations(cartpole_expert):
    episodes = EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=2, seed=0)
    spec = TrainingSpec("BC", "CartPole-v1", 256, {"batch_size": 32}, episode_sequence=episodes)
    spec.check({})
    reports: list[dict] = []
    run_trial(spec, {}, 0, EvaluationSchedule(128, 2), reports.append)
    assert [report["timesteps"] for report in reports] == [128, 256]


def test_a_failing_trial_raises_and_stores_nothing(tmp_path):
    spec = TrainingSpec(NoisyExpertAgent, "CartPole-v1", 1000, {"fail_after": 500})
    reports: list[dict] = []
    with pytest.raises(RuntimeError, match="diverged on purpose after 500 steps"):
        run_trial(spec, {}, 0, EvaluationSchedule(300, 2), reports.append, LocalRegistryStore(str(tmp_path)), "x")
    assert [report["timesteps"] for report in reports] == [300]
    assert not (tmp_path / "x").exists()


def test_spec_names_and_agent_factories():
    assert TrainingSpec("PPO", "CartPole-v1", 10).algorithm_name == "PPO"
    partial = TrainingSpec(functools.partial(StableBaselinesAgent, "A2C"), lambda: gym.make("CartPole-v1"), 10)
    assert partial.algorithm_name == "A2C" and partial.environment_name == "<lambda>"
    assert TrainingSpec(NoisyExpertAgent, "CartPole-v1", 10).algorithm_name == "NoisyExpertAgent"
    agent = TrainingSpec("dqn", "CartPole-v1", 10, {"buffer_size": 100}).build_agent({"gamma": 0.9}, seed=4)
    assert agent.algorithm_parameters == {"buffer_size": 100, "gamma": 0.9, "seed": 4}


def test_spec_errors_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="Unknown algorithm 'PPOO'.*pass a factory"):
        TrainingSpec("PPOO", "CartPole-v1", 10).check({})
    with pytest.raises(ValueError, match="unknown parameter.*'learning_rat'"):
        TrainingSpec("PPO", "CartPole-v1", 10).check({"learning_rat": 0.1})
    with pytest.raises(ValueError, match="learns from demonstrations: pass TrainingSpec\\(episode_sequence="):
        TrainingSpec("BC", "CartPole-v1", 10).check({})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TrainingSpec("BC", "CartPole-v1", 10, episode_sequence=str(tmp_path / "none")).check({})
    with pytest.raises(TypeError, match="cannot be swept: trials train"):
        TrainingSpec(lambda algorithm_parameters: _Scripted(), "CartPole-v1", 10).check({})
    with pytest.raises(TypeError, match="environment must be an env id or a factory"):
        TrainingSpec("PPO", gym.make("CartPole-v1"), 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="total_timesteps must be a positive int"):
        TrainingSpec("PPO", "CartPole-v1", 0)
    with pytest.raises(ValueError, match="vectorization must be 'dummy' or 'subprocess'"):
        TrainingSpec("PPO", "CartPole-v1", 10, vectorization="threads")  # type: ignore[arg-type]


class _Scripted(NoisyExpertAgent.__mro__[2]):  # BaseAgent: acts, never trains
    def choose_action(self, observation, deterministic=False):
        return 0

    def save_to_file(self, file_path):
        return []

    def load_from_file(self, file_path, algorithm_parameters=None):
        return None


def test_sweep_config_defaults_and_checks(tmp_path):
    config = SweepConfig(seeds=3, output_dir=tmp_path)
    assert config.seed_list() == [0, 1, 2]
    assert SweepConfig(seeds=[4, 9]).seed_list() == [4, 9]
    assert config.schedule(20_000) == EvaluationSchedule(2000, 10, True, 0)
    assert SweepConfig(eval_frequency=50_000).schedule(1000).frequency == 1000
    assert config.store() == LocalRegistryStore(str(Path(tmp_path).resolve() / "registry"))
    assert SweepConfig(gpus_per_trial=0.5, cpus_per_trial=2).resources() == {"cpu": 2.0, "gpu": 0.5}
    assert config.sweep_name("PPO", "ALE/Pong-v5") == "PPO-ALE-Pong-v5"
    assert SweepConfig(name="mine").sweep_name("PPO", "CartPole-v1") == "mine"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seeds": 0}, ValueError, "seeds must be a positive int"),
        ({"seeds": [1, 1]}, ValueError, "seeds must be distinct ints"),
        ({"seeds": "01"}, ValueError, "a count .* or a non-empty list"),
        ({"searcher": "bayes"}, ValueError, "searcher must be one of basic, optuna"),
        ({"searcher": "optuna", "search_space": {"n": {"grid": [1, 2]}}}, ValueError, "write \\{choice"),
        ({"num_samples": 0}, ValueError, "num_samples must be a positive int"),
        ({"cpus_per_trial": 0}, ValueError, "cpus_per_trial must be a number > 0"),
        ({"gpus_per_trial": -1}, ValueError, "gpus_per_trial must be a number >= 0"),
        ({"name": "bad name"}, ValueError, "name must be 1-100 letters"),
        ({"search_space": {"lr": {"uniform": [2, 1]}}}, ValueError, "Parameter 'lr'"),
    ],
)
def test_sweep_config_refuses_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        SweepConfig(**kwargs)


def test_without_ray_a_sweep_names_the_extra_before_any_work(monkeypatch, tmp_path):
    from rl_framework.sweep.runner import run_sweep

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ImportError, match=r"pip install 'rl_framework\[ray\]'"):
        run_sweep(TrainingSpec("PPO", "CartPole-v1", 64), SweepConfig(output_dir=tmp_path / "sweep"))
    assert not (tmp_path / "sweep").exists()
