"""Experiment files as sweep specs: the file's agent, environment and evaluation, the trial's seed and parameters."""

from __future__ import annotations

import pytest

from rl_framework.experiment.config import load_experiment
from rl_framework.sweep.experiment import ExperimentAgent, evaluation_settings, spec_from_experiment
from rl_framework.sweep.trial import EvaluationSchedule, run_trial


def test_a_bundled_file_becomes_a_spec():
    spec = spec_from_experiment("ppo_cartpole", {"total_timesteps": 256})
    assert (spec.algorithm_name, spec.environment_name, spec.total_timesteps) == ("PPO", "CartPole-v1", 256)
    assert isinstance(spec.agent, ExperimentAgent) and spec.n_envs == 8
    assert spec.algorithm_parameters["learning_rate"] == "lin_0.001"  # resolved per trial, not here
    assert evaluation_settings(load_experiment("ppo_cartpole")) == {
        "n_eval_episodes": 100,
        "deterministic_evaluation": True,
        "eval_frequency": 20000,
    }


def test_a_trial_resolves_the_files_notations_and_trains_normalised():
    spec = spec_from_experiment("ppo_cartpole", {"total_timesteps": 256, "normalize": True})
    agent = spec.build_agent({"learning_rate": "lin_0.0003"}, seed=5)
    schedule = agent.algorithm_parameters["learning_rate"]
    assert callable(schedule) and schedule(1.0) == pytest.approx(0.0003)  # progress 1.0 = the start
    reports: list[dict] = []
    run_trial(spec, {"n_epochs": 1}, 5, EvaluationSchedule(128, 2), reports.append)
    assert [report["timesteps"] for report in reports] == [128, 256]


def test_bad_files_fail_before_any_trial():
    with pytest.raises(FileNotFoundError):
        spec_from_experiment("no_such_experiment")
    with pytest.raises(ValueError, match="Unknown algorithm 'PPOX'"):
        spec_from_experiment("ppo_cartpole", {"algorithm": "PPOX"})
