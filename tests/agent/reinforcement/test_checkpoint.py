"""One-call resume: save_checkpoint / StableBaselinesAgent.resume restore everything training needs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from rl_framework.agent import StableBaselinesAgent
from rl_framework.agent.reinforcement.checkpoint import CHECKPOINT_MEMBER, REPLAY_BUFFER_MEMBER
from rl_framework.util.connector import LocalConnector, LocalUploadConfig

TINY_DQN = {"learning_starts": 16, "buffer_size": 400, "train_freq": 4, "seed": 0, "device": "cpu"}


def optimizer_states(agent: StableBaselinesAgent) -> dict[str, Any]:
    assert agent.model is not None
    return {name: module.state_dict() for name, module in vars(agent.model.policy).items() if name == "optimizer"}


def assert_same_tensors(first: Any, second: Any) -> None:
    """Equal nested state dicts (tensors compared exactly)."""
    if isinstance(first, torch.Tensor):
        assert torch.equal(first, second)
    elif isinstance(first, dict):
        assert first.keys() == second.keys()
        for key in first:
            assert_same_tensors(first[key], second[key])
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second)
        for left, right in zip(first, second, strict=True):
            assert_same_tensors(left, right)
    else:
        assert first == second


def test_dqn_resume_restores_optimiser_replay_buffer_and_counters(tmp_path: Path) -> None:
    agent = StableBaselinesAgent("DQN", dict(TINY_DQN))
    agent.train("CartPole-v1", total_timesteps=200, progress_bar=False)
    assert agent.model is not None
    written = agent.save_checkpoint(tmp_path / "dqn.zip")
    assert written == [tmp_path / "dqn.zip"] and sorted(p.name for p in tmp_path.iterdir()) == ["dqn.zip"]

    resumed = StableBaselinesAgent.resume(tmp_path / "dqn.zip")
    model, original = resumed.model, agent.model
    assert model is not None and type(model) is type(original)
    for name in ("num_timesteps", "_n_updates", "_episode_num", "_n_calls", "exploration_rate"):
        assert getattr(model, name) == getattr(original, name), name
    assert_same_tensors(model.policy.state_dict(), original.policy.state_dict())
    assert_same_tensors(model.policy.optimizer.state_dict(), original.policy.optimizer.state_dict())
    assert model.replay_buffer.pos == original.replay_buffer.pos == 200 and model.replay_buffer.size() == 200
    for field in ("observations", "actions", "rewards", "dones"):
        np.testing.assert_array_equal(getattr(model.replay_buffer, field), getattr(original.replay_buffer, field))
    assert list(model.ep_info_buffer) == list(original.ep_info_buffer)

    resumed.train("CartPole-v1", total_timesteps=100, progress_bar=False)
    assert model.num_timesteps == 300 and model.replay_buffer.pos == 300


def test_ppo_checkpoint_is_a_plain_agent_file_and_resumes_its_counters(tiny_ppo_parameters, tmp_path: Path) -> None:
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=64, progress_bar=False)
    agent.save_checkpoint(tmp_path / "ppo.zip")
    with zipfile.ZipFile(tmp_path / "ppo.zip") as archive:
        record = json.loads(archive.read(CHECKPOINT_MEMBER))
        assert REPLAY_BUFFER_MEMBER not in archive.namelist()  # on-policy: no replay buffer
    assert record["algorithm"] == "PPO" and record["counters"]["num_timesteps"] == 64
    PPO.load(tmp_path / "ppo.zip")  # SB3 ignores the extra member
    StableBaselinesAgent("PPO").load_from_file(tmp_path / "ppo.zip")

    resumed = StableBaselinesAgent.resume(tmp_path / "ppo.zip")
    assert resumed.model is not None and agent.model is not None
    assert resumed.model._n_updates == agent.model._n_updates
    assert_same_tensors(optimizer_states(resumed), optimizer_states(agent))
    resumed.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert resumed.model.num_timesteps == 96


class StopAt(BaseCallback):
    """Raise KeyboardInterrupt (what Ctrl-C does) once ``step`` environment steps are done."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.step:
            raise KeyboardInterrupt
        return True


def metric_steps(metrics_file: Path) -> list[int]:
    return [json.loads(line)["timestep"] for line in metrics_file.read_text().splitlines()]


def test_interrupted_run_keeps_a_checkpoint_and_resumes_its_curves(tiny_ppo_parameters, tmp_path: Path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="ppo"), registry_path=tmp_path, checkpoint_frequency=32)
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(KeyboardInterrupt):
        agent.train("CartPole-v1", total_timesteps=1000, connector=connector, callback=StopAt(80), progress_bar=False)
    (run,) = connector.staged_runs()
    assert run["status"] == "interrupted" and run["timestep"] == 80 and run["checkpoint"] == "step_80.zip"
    checkpoint = run["path"] / "checkpoints" / "step_80.zip"
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["step_32.zip", "step_64.zip", "step_80.zip"]

    later = LocalConnector(LocalUploadConfig(agent_name="ppo"), registry_path=tmp_path, checkpoint_frequency=32)
    resumed = StableBaselinesAgent.resume(checkpoint, connector=later)
    assert resumed.model is not None and resumed.model.num_timesteps == 80
    assert later.staged_runs()[0]["status"] == "running"
    resumed.train("CartPole-v1", total_timesteps=64, connector=later, progress_bar=False)
    version = Path(resumed.upload(later))
    steps = metric_steps(version / "metrics.jsonl")
    assert steps == sorted(steps) and steps[-1] >= 144  # one curve from step 0 on, continued after 80
    assert "step_112.zip" in {p.name for p in (version / "checkpoints").iterdir()}
    assert later.staged_runs() == [] and not (version / ".run.json").exists()


def test_periodic_checkpoint_resumes_and_drops_values_logged_after_it(tiny_ppo_parameters, tmp_path: Path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="ppo"), registry_path=tmp_path, checkpoint_frequency=32)
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=128, connector=connector, progress_bar=False)
    run = connector.staged_runs()[0]["path"]
    assert max(metric_steps(run / "metrics.jsonl")) > 64

    resumed = StableBaselinesAgent.resume(run / "checkpoints" / "step_64.zip", connector=connector)
    assert resumed.model is not None and resumed.model.num_timesteps == 64
    assert max(metric_steps(run / "metrics.jsonl")) <= 64  # the abandoned part of the curve is gone


def test_resume_names_the_problem_for_files_that_are_no_checkpoints(trained_ppo_agent, tmp_path: Path) -> None:
    trained_ppo_agent.save_to_file(tmp_path / "plain.zip")
    with pytest.raises(ValueError, match="not an rl_framework checkpoint .*plain agent file.*load_from_file"):
        StableBaselinesAgent.resume(tmp_path / "plain.zip")
    trained_ppo_agent.save_checkpoint(tmp_path / "full.zip")
    (tmp_path / "cut.zip").write_bytes((tmp_path / "full.zip").read_bytes()[:-200])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        StableBaselinesAgent.resume(tmp_path / "cut.zip")
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        StableBaselinesAgent.resume(tmp_path / "missing.zip")


def test_non_finite_model_is_not_checkpointed_unless_forced(tiny_ppo_parameters, tmp_path: Path) -> None:
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert agent.model is not None
    with torch.no_grad():
        next(agent.model.policy.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="Refusing to checkpoint the agent: its model holds NaN.*force=True"):
        agent.save_checkpoint(tmp_path / "nan.zip")
    assert list(tmp_path.iterdir()) == []
    agent.save_checkpoint(tmp_path / "nan.zip", force=True)
    assert (tmp_path / "nan.zip").is_file()
