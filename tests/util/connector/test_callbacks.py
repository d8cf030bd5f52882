"""ConnectorCallback: episodes, SB3's own metrics and periodic checkpoints reach the connector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.logger import Logger

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector.base import Connector
from rl_framework.util.connector.callbacks import ConnectorOutputFormat


class RecordingConnector(Connector):
    """A small connector (test double of the interface) that keeps what it is given in memory."""

    def __init__(self, checkpoint_frequency: int, folder: Path) -> None:
        self.checkpoint_frequency = checkpoint_frequency
        self.folder = folder
        self.values: list[tuple[str, float, int]] = []
        self.checkpoints: list[tuple[int, Path]] = []

    def upload(self, agent, evaluation_environment=None, video_recording_environment=None) -> str:
        raise AssertionError("not used during training")

    def download(self) -> Path:
        raise AssertionError("not used during training")

    def log_value(self, name: str, value: float, timestep: int) -> None:
        self.values.append((name, value, timestep))

    def save_checkpoint(self, agent, timestep: int) -> None:
        self.checkpoints.append((timestep, agent.save_to_file(self.folder / f"checkpoint-{timestep}.zip")[0]))

    def named(self, name: str) -> list[tuple[float, int]]:
        return [(value, step) for key, value, step in self.values if key == name]


def test_training_with_connector_logs_episodes_metrics_and_checkpoints(tiny_ppo_parameters, tmp_path):
    connector = RecordingConnector(checkpoint_frequency=64, folder=tmp_path)
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=128, connector=connector, progress_bar=False)

    returns, lengths = connector.named("episode/return"), connector.named("episode/length")
    assert len(returns) == len(lengths) > 3  # an untrained CartPole policy ends episodes every ~20 steps
    assert [value for value, _ in returns] == [value for value, _ in lengths]  # reward 1 per step
    assert all(0 < step <= 128 for _, step in returns)
    assert [step for _, step in returns] == sorted(step for _, step in returns)

    # SB3's own metrics: losses of the updates, dumped with the timestep
    for key in ("train/value_loss", "train/policy_gradient_loss", "train/entropy_loss", "time/fps"):
        assert connector.named(key), key
    assert all(isinstance(value, float) and np.isfinite(value) for _, value, _ in connector.values)

    assert [step for step, _ in connector.checkpoints] == [64, 128]
    assert all(path.is_file() for _, path in connector.checkpoints)
    reloaded = StableBaselinesAgent("PPO")
    reloaded.load_from_file(connector.checkpoints[-1][1])
    assert reloaded.model is not None and reloaded.model.num_timesteps == 128

    # the connector's output is detached when training ends
    assert not any(isinstance(output, ConnectorOutputFormat) for output in agent.model.logger.output_formats)


def test_continued_training_checkpoints_relative_to_its_start(tiny_ppo_parameters, tmp_path):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    connector = RecordingConnector(checkpoint_frequency=32, folder=tmp_path)
    agent.train("CartPole-v1", total_timesteps=64, connector=connector, progress_bar=False)
    assert [step for step, _ in connector.checkpoints] == [64, 96]


def test_zero_frequency_disables_checkpoints(tiny_ppo_parameters, tmp_path):
    connector = RecordingConnector(checkpoint_frequency=0, folder=tmp_path)
    StableBaselinesAgent("PPO", tiny_ppo_parameters).train(
        "CartPole-v1", total_timesteps=64, connector=connector, progress_bar=False
    )
    assert connector.checkpoints == []
    assert connector.named("episode/return")
    assert list(tmp_path.iterdir()) == []


def test_output_format_forwards_numbers_only(tmp_path):
    connector = RecordingConnector(checkpoint_frequency=0, folder=tmp_path)
    logger = Logger(folder=None, output_formats=[ConnectorOutputFormat(connector)])
    logger.record("train/loss", np.float32(0.5))
    logger.record("rollout/count", 3)
    logger.record("flag", True)
    logger.record("text", "ignored")
    logger.dump(step=7)
    assert sorted(connector.values) == [("rollout/count", 3.0, 7), ("train/loss", 0.5, 7)]


def test_a_plain_function_is_accepted_as_callback_and_can_stop_training(tiny_ppo_parameters):
    calls = []

    def stop_after_ten_steps(local_variables: dict, global_variables: dict) -> bool:
        calls.append(local_variables["self"].num_timesteps)
        return len(calls) < 10

    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=256, callback=stop_after_ten_steps, progress_bar=False)
    assert len(calls) == 10 and agent.model is not None and agent.model.num_timesteps == 10
    agent.train("CartPole-v1", total_timesteps=32, callback=[lambda _locals, _globals: True], progress_bar=False)
    assert agent.model.num_timesteps == 42
