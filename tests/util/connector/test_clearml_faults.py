"""ClearMLConnector under faults: tampered offline sessions, a missing configuration (real SDK, no server)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector import ClearMLConnector, ClearMLDownloadConfig


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_session(folder: Path, agent_file: Path, metadata: dict[str, Any] | None, **artifact: Any) -> Path:
    """An offline session as ClearML exports it: task.json listing the agent (and metadata) artifacts."""
    recorded_in = "/recorded/session"
    (folder / "data").mkdir(parents=True)
    stored = folder / "data" / "agent.zip"
    stored.write_bytes(agent_file.read_bytes())
    artifacts = [{"key": "agent", "uri": f"{recorded_in}/data/agent.zip", "hash": sha256(stored), **artifact}]
    if metadata is not None:
        (folder / "data" / "metadata.json").write_text(json.dumps(metadata))
        artifacts.append({"key": "metadata", "uri": f"{recorded_in}/data/metadata.json", "hash": None})
    task = {"offline_folder": recorded_in, "execution": {"artifacts": artifacts}}
    (folder / "task.json").write_text(json.dumps(task))
    return folder


@pytest.fixture
def agent_file(trained_ppo_agent: StableBaselinesAgent, tmp_path: Path) -> Path:
    return trained_ppo_agent.save_to_file(tmp_path / "saved" / "agent.zip")[0]


def download(session: Path, destination: Path) -> Path:
    config = ClearMLDownloadConfig(offline_session=session, destination=destination)
    return ClearMLConnector(download_config=config).download()


def test_artifact_uri_outside_the_session_is_never_returned(agent_file: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.zip"
    outside.write_bytes(b"a file of someone else")
    for uri in (str(outside), "/recorded/session/../../" + str(outside)):
        session = fake_session(tmp_path / f"session{len(uri)}", agent_file, None, uri=uri)
        with pytest.raises(ValueError, match=r"points at '.*', outside the session folder.*Export the session again"):
            download(session, tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_sha256_is_checked_even_when_the_file_name_differs(agent_file: Path, tmp_path: Path) -> None:
    metadata = {"artifact": "agent", "agent_file": "renamed.zip", "sha256": "0" * 64, "files": {}}
    session = fake_session(tmp_path / "session", agent_file, metadata)
    with pytest.raises(ValueError, match="artifact 'agent' is corrupt or does not belong to the task's metadata"):
        download(session, tmp_path / "out")
    assert not (tmp_path / "out").exists()

    good = {**metadata, "sha256": sha256(agent_file), "files": {"renamed.zip": sha256(agent_file)}}
    session = fake_session(tmp_path / "good", agent_file, good)
    assert download(session, tmp_path / "out").read_bytes() == agent_file.read_bytes()


def test_artifact_that_differs_from_clearmls_own_hash_is_refused(agent_file: Path, tmp_path: Path) -> None:
    session = fake_session(tmp_path / "session", agent_file, None, hash="f" * 64)
    with pytest.raises(ValueError, match="artifact 'agent' is corrupt or was modified.*Upload it again"):
        download(session, tmp_path / "out")


def test_corrupt_task_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "session").mkdir()
    (tmp_path / "session" / "task.json").write_text("{cut off")
    with pytest.raises(ValueError, match=r"task.json' is corrupt \(not JSON.*offline session is unusable"):
        download(tmp_path / "session", tmp_path / "out")


def test_missing_configuration_is_found_before_training(
    tiny_ppo_parameters: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clearml import Task
    from clearml.config import ConfigWrapper

    # Another test module may have switched offline mode on or left a task running (ClearML global state).
    monkeypatch.setattr(Task, "_offline_mode", False)
    monkeypatch.setattr(Task, "current_task", classmethod(lambda cls: None))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLEARML_CONFIG_FILE", str(tmp_path / "missing.conf"))
    for name in ("CLEARML_API_ACCESS_KEY", "CLEARML_AUTH_TOKEN", "TRAINS_API_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ConfigWrapper, "_config", None)  # re-read the (missing) configuration
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(PermissionError, match="ClearML is not configured on this machine.*clearml-init.*set_offline"):
        agent.train("CartPole-v1", total_timesteps=64, connector=ClearMLConnector(), progress_bar=False)
    assert agent.model is None  # nothing was trained
