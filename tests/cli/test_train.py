"""``rl-framework train`` / ``imitate`` end to end, and every way their input can be wrong."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from cli_runner import TINY_PPO, run_cli

from rl_framework.data import EpisodeSequence
from rl_framework.experiment.references import load_agent


def test_train_writes_a_complete_run_folder_with_progress_lines(trained_run):
    run, result = trained_run
    assert {"experiment.yaml", "metrics.jsonl", "agent.zip", "metadata.json", "learning_curve.png"} <= {
        path.name for path in run.iterdir()
    }
    assert list((run / "tensorboard").rglob("events.out.tfevents.*"))  # TensorBoard by default
    assert f"Run folder: {run.name}" in result.stdout
    assert re.search(r"CartPole-v1: mean return [\d.]+ ± [\d.]+, IQM [\d.]+ \(95% CI .*\), 3 episodes", result.stdout)
    # Output goes to a pipe: the progress is plain lines (start, periodic, end), never carriage returns.
    training = [line for line in result.stderr.splitlines() if line.startswith("Training:")]
    assert training[0].startswith("Training:   0% 0/256 steps") and training[-1].startswith("Training: 100% 256/256")
    assert len(training) > 3 and "\r" not in result.stderr
    assert any(line.startswith("Evaluating: 100% 3/3 episodes") for line in result.stderr.splitlines())
    experiment = yaml.safe_load((run / "experiment.yaml").read_text())
    assert experiment["total_timesteps"] == 256 and experiment["algorithm_parameters"]["learning_rate"] == "lin_0.001"


def test_the_saved_experiment_reproduces_the_run(trained_run, invoke):
    run, _ = trained_run
    repeated = invoke("train", "--config", str(run / "experiment.yaml"), "--output", "again")
    assert "Run folder: again" in repeated.output
    first = json.loads((run / "metadata.json").read_text())
    second = json.loads(open("again/metadata.json").read())
    assert second["experiment"] == first["experiment"]
    assert second["evaluation"]["episode_returns"] == first["evaluation"]["episode_returns"]
    trained, repeated_agent = load_agent(str(run)).agent, load_agent("again").agent
    for name, tensor in trained.acting_policy().state_dict().items():
        assert tensor.equal(repeated_agent.acting_policy().state_dict()[name])  # the very same network


def test_flags_without_a_file_and_tensorboard_off(invoke, tmp_path):
    invoke(
        "train", "-a", "A2C", "-e", "CartPole-v1", "-n", "64", "--n-envs", "2", "--seed", "3", "--no-tensorboard",
        "--set", "evaluation.n_episodes=2", "--set", "env_kwargs.max_episode_steps=20", "--runs-dir", "runs",
    )  # fmt: skip
    run = tmp_path / "runs" / "a2c-CartPole-v1-1"
    assert (run / "agent.zip").is_file() and not (run / "tensorboard").exists()
    experiment = yaml.safe_load((run / "experiment.yaml").read_text())
    assert (experiment["algorithm"], experiment["n_envs"], experiment["seed"], experiment["tensorboard"]) == (
        "A2C", 2, 3, False,
    )  # fmt: skip


def test_train_shares_to_the_local_registry_with_the_curve(invoke, tmp_path):
    result = invoke(
        "train", "--config", "ppo_cartpole", *TINY_PPO, "--set", "total_timesteps=64", "--connector", "local",
        "--set", "connector.agent_name=tiny", "--set", "connector.video_length=10", "--output", "run",
    )  # fmt: skip
    version = tmp_path / "registry" / "tiny" / "v1"
    assert f"Shared the agent: {version}" in result.output
    assert {"agent.zip", "metadata.json", "metrics.jsonl", "replay.mp4", "learning_curve.png", "experiment.yaml"} <= {
        path.name for path in version.iterdir()
    }
    metadata = json.loads((version / "metadata.json").read_text())
    connector = {"type": "local", "options": {"agent_name": "tiny", "video_length": 10}}
    assert metadata["experiment"]["connector"] == connector
    assert "Uploading 2/3: recording: 100% 10/10 steps" in result.output


def test_imitate_trains_bc_from_recorded_episodes(invoke, tmp_path, cartpole_expert):
    EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=2, seed=0).save(tmp_path / "episodes")
    result = invoke(
        "imitate", "-a", "BC", "--episodes", "episodes", "-e", "CartPole-v1", "-n", "64", "--output", "bc",
        "--set", "evaluation.n_episodes=2",
    )  # fmt: skip
    assert "CartPole-v1: mean return" in result.output
    metadata = json.loads((tmp_path / "bc" / "metadata.json").read_text())
    assert metadata["algorithm"] == "BC" and metadata["experiment"]["episodes"] == "episodes"
    wrong = invoke("imitate", "-a", "PPO", "--episodes", "episodes", "-e", "CartPole-v1", "-n", "64", expect=2)
    assert "'PPO' is a reinforcement-learning algorithm: use `rl-framework train`" in wrong.output


def error_line(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--config", "ppo_cartpole", "--set", "n_env=4"], r"Unknown key 'n_env' in --set\. Accepted keys: algorithm"),
        (["--algorithm", "PPO", "--env", "CartPole-v1"], r"needs total_timesteps"),
        (["--config", "ppo_cartpole", "--env", "CartPol-v1"], r"Unknown environment 'CartPol-v1'.*Did you mean"),
        (["--config", "bad.yaml"], r"Unknown key\(s\) 'learning_rate' in 'bad.yaml'"),
        (["--config", "broken.yaml"], r"'broken.yaml' is not valid YAML at line \d+: .* Fix the file's syntax"),
        (["--config", "ppo_cartpole", "--connector", "huggingface"], r"No HuggingFace token found .*HF_TOKEN"),
        (["--config", "ppo_cartpole", "--set", "connector.bucket=x"], r"Unknown local connector option\(s\) 'bucket'"),
        (["--config", "ppo_cartpole", "--output", "taken"], r"'taken' already holds a run\. Choose another --output"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix_before_any_training(arguments, expected, tmp_path):
    (tmp_path / "bad.yaml").write_text("algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nlearning_rate: 0.1\n")
    (tmp_path / "broken.yaml").write_text("algorithm: PPO\nenv: [CartPole\n")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "experiment.yaml").write_text("x")
    result = run_cli("train", *arguments, cwd=tmp_path)
    assert re.search(expected, error_line(result))
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_unknown_algorithm_lists_both_families(invoke):
    result = invoke("train", "-a", "PPO2", "-e", "CartPole-v1", "-n", "64", expect=1)
    expected = r"Error: Unknown algorithm 'PPO2'\. Reinforcement learning: PPO, A2C.*imitation learning: BC"
    assert re.search(expected, result.output)
