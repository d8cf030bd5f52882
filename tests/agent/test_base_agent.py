"""BaseAgent contract: abstract surface, parameter handling, default batching, connector seam."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rl_framework.agent import BaseAgent, ILAgent, RLAgent
from rl_framework.util.connector.base import Connector


class EchoAgent(BaseAgent):
    """Acts with the sum of the observation's entries; remembers what it loaded."""

    def __init__(self, algorithm_parameters: dict[str, Any] | None = None) -> None:
        super().__init__("echo", algorithm_parameters)
        self.loaded: list[Path] = []

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        if isinstance(observation, dict):
            return np.asarray(observation["a"].sum() + observation["b"].sum())
        return np.asarray(np.sum(observation))

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        Path(file_path).write_text("echo")
        return [Path(file_path)]

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        self.loaded.append(Path(file_path))


class RecordingConnector(Connector):
    """Test double of the connector interface: records what the agent hands it."""

    def __init__(self, download_path: Path) -> None:
        self.download_path = download_path
        self.uploads: list[tuple[BaseAgent, Any, Any]] = []

    def upload(self, agent, evaluation_environment=None, video_recording_environment=None) -> str:
        self.uploads.append((agent, evaluation_environment, video_recording_environment))
        return "version-1"

    def download(self) -> Path:
        return self.download_path

    def log_value(self, name: str, value: float, timestep: int) -> None:
        raise AssertionError("not used here")

    def save_checkpoint(self, agent, timestep: int) -> None:
        raise AssertionError("not used here")


def test_bases_are_abstract():
    for base in (BaseAgent, RLAgent, ILAgent):
        with pytest.raises(TypeError, match="abstract"):
            base("PPO")  # type: ignore[abstract]
    assert issubclass(RLAgent, BaseAgent) and issubclass(ILAgent, BaseAgent)


def test_algorithm_parameters_are_copied_and_validated():
    given = {"learning_rate": 0.1}
    agent = EchoAgent(given)
    given["learning_rate"] = 0.5
    assert agent.algorithm_parameters == {"learning_rate": 0.1}
    assert EchoAgent().algorithm_parameters == {}
    assert agent.algorithm_class == "echo"
    with pytest.raises(TypeError, match="algorithm_parameters must be a dict of keyword arguments .*got list"):
        EchoAgent([("learning_rate", 0.1)])  # type: ignore[arg-type]


def test_default_choose_actions_loops_over_array_batches():
    observations = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(EchoAgent().choose_actions(observations), [1.0, 5.0, 9.0])


def test_default_choose_actions_splits_dict_batches():
    observations = {"a": np.array([[1.0], [2.0]]), "b": np.array([[10.0, 1.0], [20.0, 2.0]])}
    np.testing.assert_array_equal(EchoAgent().choose_actions(observations), [12.0, 24.0])


def test_upload_delegates_to_the_connector(tmp_path):
    agent, connector = EchoAgent(), RecordingConnector(tmp_path / "agent.zip")
    assert agent.upload(connector, evaluation_environment="CartPole-v1") == "version-1"
    assert connector.uploads == [(agent, "CartPole-v1", None)]


def test_download_loads_what_the_connector_fetched(tmp_path):
    agent, connector = EchoAgent(), RecordingConnector(tmp_path / "agent.zip")
    assert agent.download(connector) == tmp_path / "agent.zip"
    assert agent.loaded == [tmp_path / "agent.zip"]
