"""Sweeps on a local Ray limited to 2 CPUs (one runtime for the whole module), loopback only."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator

import pytest
import sweep_agents
from click.testing import CliRunner
from sweep_agents import NoisyExpertAgent

from rl_framework.sweep.config import SweepConfig
from rl_framework.sweep.results import ERROR, FINISHED, INTERRUPTED, STOPPED
from rl_framework.sweep.runner import run_sweep
from rl_framework.sweep.spec import TrainingSpec


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray runtime (2 CPUs, loopback, no usage reports) that every sweep of the module reuses."""
    import ray
    from ray import cloudpickle

    # Ray workers cannot import this test folder: ship the test agent's class by value.
    cloudpickle.register_pickle_by_value(sweep_agents)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        patch.delenv("RAY_ADDRESS", raising=False)
        ray.init(
            address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1"
        )
        yield
        ray.shutdown()


def test_cli_sweep_end_to_end(local_ray, tmp_path):
    from rl_framework.cli.main import cli

    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {grid: [0.0003, 0.001]}\n")
    out = tmp_path / "sweep"
    arguments = ["sweep", "--algorithm", "PPO", "--env", "CartPole-v1", "--seeds", "2", "--timesteps", "512",
                 "--set", "algorithm_parameters.n_steps=128", "--set", "algorithm_parameters.batch_size=64",
                 "--search", str(space), "--eval-frequency", "256", "--eval-episodes", "3",
                 "--out", str(out)]  # fmt: skip
    outcome = CliRunner().invoke(cli, arguments)
    assert outcome.exit_code == 0, outcome.output
    assert "Per configuration, final return over seeds" in outcome.output and "95% CI (IQM)" in outcome.output
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4 and {row["status"] for row in rows} == {FINISHED}
    assert sorted((row["learning_rate"], row["seed"]) for row in rows) == [
        ("0.0003", "0"), ("0.0003", "1"), ("0.001", "0"), ("0.001", "1")
    ]  # fmt: skip
    assert all(int(row["timesteps"]) == 512 and os.path.isdir(row["agent_location"]) for row in rows)
    assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    document = json.loads((out / "results.json").read_text())
    best = document["best"]
    assert best["runs"] == 2 and best["seeds"] == [0, 1] and best["n_eval_episodes"] == 3 and best["deterministic"]
    metadata = json.loads((out / "registry" / "PPO-CartPole-v1-best" / "v1" / "metadata.json").read_text())
    assert metadata["multi_seed_evaluation"]["iqm"] == best["iqm"]
    assert metadata["evaluation"]["n_eval_episodes"] == 3


def test_a_failing_trial_is_reported_and_asha_stops_lagging_ones(local_ray, tmp_path):
    spec = TrainingSpec(NoisyExpertAgent, "CartPole-v1", 1000, {"halving": 1e9, "fail_for_seed": 1})
    config = SweepConfig(
        seeds=2,
        search_space={"noise": {"grid": [0.0, 1.0]}},
        early_stopping=True,
        eval_frequency=250,
        n_eval_episodes=5,
        max_concurrent_trials=1,  # trials in grid order, so ASHA's comparisons are known in advance
        output_dir=tmp_path,
    )
    result = run_sweep(spec, config, verbose=False)
    statuses = {(record.parameters["noise"], record.seed): record.status for record in result.records}
    # noise 0 plays perfectly; noise 1 plays at random and is stopped at ASHA's first rung (250 steps).
    assert statuses == {(0.0, 0): FINISHED, (1.0, 0): STOPPED, (0.0, 1): ERROR, (1.0, 1): ERROR}
    errors = [record.error for record in result.records if record.status == ERROR]
    assert errors == ["RuntimeError: diverged on purpose with seed 1"] * 2
    stopped = next(record for record in result.records if record.status == STOPPED)
    assert stopped.timesteps == 250 and stopped.agent_location == ""
    assert result.summaries[0].final_returns == [500.0] and result.summaries[1].final_returns == []
    assert isinstance(result.best_agent, NoisyExpertAgent) and result.best_agent.algorithm_parameters["noise"] == 0.0
    assert result.best_location == str(tmp_path / "registry" / "NoisyExpertAgent-CartPole-v1-best" / "v1")


def test_optuna_proposes_configurations_that_run_with_every_seed(local_ray, tmp_path):
    spec = TrainingSpec(NoisyExpertAgent, "CartPole-v1", 400, {"halving": 100})
    config = SweepConfig(
        seeds=[3, 4],
        search_space={"noise": {"uniform": [0.2, 0.9]}, "halving": {"choice": [50, 100]}},
        searcher="optuna",
        num_samples=1,
        eval_frequency=200,
        n_eval_episodes=3,
        output_dir=tmp_path,
    )
    result = run_sweep(spec, config, verbose=False)
    assert [record.status for record in result.records] == [FINISHED, FINISHED]
    (summary,) = result.summaries  # Ray Tune's Repeater gave Optuna's proposal to both seeds
    assert summary.seeds == [3, 4] and 0.2 <= summary.parameters["noise"] <= 0.9
    assert summary.parameters["halving"] in (50, 100)


def test_an_interrupted_sweep_keeps_finished_trials_and_resumes(local_ray, tmp_path):
    marker = tmp_path / "interrupted"
    parameters = {"halving": 100, "interrupt_file": str(marker), "interrupt_seed": 1, "driver_pid": os.getpid()}
    spec = TrainingSpec(NoisyExpertAgent, "CartPole-v1", 300, parameters)
    config = SweepConfig(seeds=2, eval_frequency=150, n_eval_episodes=2, max_concurrent_trials=1, output_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, config, verbose=False)
    rows = {row["seed"]: row for row in csv.DictReader((tmp_path / "results.csv").open())}
    assert rows["0"]["status"] == FINISHED and rows["1"]["status"] == INTERRUPTED
    assert os.path.isdir(rows["0"]["agent_location"])
    with pytest.raises(FileExistsError, match="continue it with resume=True"):
        run_sweep(spec, config, verbose=False)

    resumed = run_sweep(spec, SweepConfig(**{**_fields(config), "resume": True}), verbose=False)
    by_seed = {record.seed: record for record in resumed.records}
    assert by_seed[0].status == by_seed[1].status == FINISHED
    assert (by_seed[0].trial_id, by_seed[0].agent_location) == (rows["0"]["trial_id"], rows["0"]["agent_location"])
    assert os.listdir(os.path.dirname(by_seed[0].agent_location)) == ["v1"]  # not trained again


def _fields(config: SweepConfig) -> dict:
    return {name: getattr(config, name) for name in config.__dataclass_fields__ if name != "space"}
