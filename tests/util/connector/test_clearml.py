"""ClearMLConnector with the real clearml SDK in offline mode: nothing leaves the temporary folder.

Assertions read the offline session ClearML writes (``task.json``, ``metrics.jsonl``, ``data/``),
and downloads read the same session back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector import ClearMLConnector, ClearMLDownloadConfig, ClearMLUploadConfig

OBSERVATIONS = np.random.default_rng(1).uniform(-0.2, 0.2, size=(16, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def offline_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ClearML in offline mode with its home, configuration and cache inside a temporary folder."""
    home = tmp_path_factory.mktemp("clearml-home")
    config = home / "clearml.conf"
    # Reporting from a thread instead of a subprocess makes flush/close take milliseconds.
    config.write_text("sdk { development { report_use_subprocess: false } }\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("CLEARML_CONFIG_FILE", str(config))
        patch.setenv("CLEARML_CACHE_DIR", str(home / "cache"))
        from clearml import Task

        Task.set_offline(True)
        yield home / "cache" / "offline"


def session(offline_folder: Path, task_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``task.json`` and the reported events of an offline session."""
    folder = offline_folder / task_id
    events = [event for line in (folder / "metrics.jsonl").read_text().splitlines() for event in json.loads(line)]
    return json.loads((folder / "task.json").read_text()), events


@pytest.fixture(scope="module")
def trained_session(offline_folder: Path) -> tuple[str, StableBaselinesAgent]:
    """Train PPO with a ClearMLConnector that creates its own task, upload, close; return the task id."""
    import gymnasium as gym

    config = ClearMLUploadConfig(
        project_name="rl_framework-tests", task_name="ppo", n_eval_episodes=2, video_length=10, video_fps=10
    )
    agent = StableBaselinesAgent("PPO", {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "seed": 0, "device": "cpu"})
    with ClearMLConnector(config, checkpoint_frequency=128) as connector:
        agent.train("CartPole-v1", total_timesteps=256, connector=connector, progress_bar=False)
        recording = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=20)
        task_id = agent.upload(connector, gym.make("CartPole-v1", max_episode_steps=20), recording)
        assert task_id == connector.task.id
    return task_id, agent


def test_training_and_upload_fill_the_offline_session(offline_folder, trained_session) -> None:
    task_id, agent = trained_session
    task, events = session(offline_folder, task_id)
    assert task["project_name"] == "rl_framework-tests" and task["name"] == "ppo"
    assert task["hyperparams"]["algorithm_parameters"]["n_steps"]["value"] == "32"

    scalars = {(event["metric"], event["variant"]) for event in events if event["type"] == "training_stats_scalar"}
    assert {("episode", "return"), ("episode", "length"), ("train", "loss")} <= scalars
    assert {("Summary", "mean_reward"), ("Summary", "std_reward")} <= scalars
    videos = [event for event in events if event["type"] == "training_debug_image"]
    assert [(video["metric"], video["variant"]) for video in videos] == [("replay", "video")]
    assert Path(videos[0]["url"]).is_file() and videos[0]["url"].endswith(".mp4")

    artifacts = {artifact["key"]: artifact for artifact in task["execution"]["artifacts"]}
    assert set(artifacts) == {"agent", "metadata", "checkpoint_step_128", "checkpoint_step_256"}
    assert Path(artifacts["agent"]["uri"]).name == "agent.zip"
    metadata = json.loads(Path(artifacts["metadata"]["uri"]).read_text())
    assert metadata["algorithm"] == "PPO" and metadata["evaluation"]["n_eval_episodes"] == 2
    assert (offline_folder / f"{task_id}.zip").is_file()  # the task was closed by the connector


def test_download_by_offline_task_id_restores_the_agent(trained_session, tmp_path) -> None:
    task_id, agent = trained_session
    restored = StableBaselinesAgent("PPO")
    config = ClearMLDownloadConfig(task_id=task_id, destination=tmp_path)
    assert restored.download(ClearMLConnector(download_config=config)) == tmp_path / "agent.zip"
    np.testing.assert_array_equal(
        restored.choose_actions(OBSERVATIONS, deterministic=True),
        agent.choose_actions(OBSERVATIONS, deterministic=True),
    )


def test_download_a_checkpoint_from_a_moved_session_zip(offline_folder, trained_session, tmp_path) -> None:
    task_id, _ = trained_session
    moved = shutil.copy(offline_folder / f"{task_id}.zip", tmp_path / "session.zip")
    config = ClearMLDownloadConfig(offline_session=moved, artifact_name="checkpoint_step_128", destination=tmp_path)
    path = ClearMLConnector(download_config=config).download()
    assert path == tmp_path / "checkpoint_step_128.zip"
    StableBaselinesAgent("PPO").load_from_file(path)


def test_corrupt_agent_artifact_is_detected(offline_folder, trained_session, tmp_path) -> None:
    task_id, _ = trained_session
    copy = Path(shutil.copytree(offline_folder / task_id, tmp_path / "session"))
    next(copy.glob("data/**/artifacts/agent/agent.zip")).write_bytes(b"not the agent")
    config = ClearMLDownloadConfig(offline_session=copy, destination=tmp_path / "out")
    with pytest.raises(ValueError, match="artifact 'agent' is corrupt or was modified.*Upload it again"):
        ClearMLConnector(download_config=config).download()
    assert not (tmp_path / "out").exists()


def test_unknown_artifact_lists_the_task_artifacts(trained_session) -> None:
    config = ClearMLDownloadConfig(task_id=trained_session[0], artifact_name="policy")
    with pytest.raises(LookupError, match="no artifact 'policy'. Its artifacts: agent, checkpoint_step_128"):
        ClearMLConnector(download_config=config).download()


def test_running_task_is_used_and_left_open_and_a_normalised_agent_is_one_file(
    offline_folder, vecnormalize_agent, tmp_path
) -> None:
    from clearml import Task

    agent, _ = vecnormalize_agent
    task = Task.init(project_name="mine", task_name="own task", auto_connect_frameworks={"detect_repository": False})
    try:
        connector = ClearMLConnector(
            ClearMLUploadConfig(
                task_name="ignored", artifact_name="policy", environment_name="CartPole-v1", n_eval_episodes=2
            )
        )
        connector.log_value("custom", 2.5, 7)
        assert agent.upload(connector) == task.id
        connector.close()
        assert Task.current_task() is task
    finally:
        task.close()
    task_json, events = session(offline_folder, task.id)
    assert task_json["name"] == "own task"
    assert {"policy", "metadata"} == {a["key"] for a in task_json["execution"]["artifacts"]}  # statistics in the zip
    assert ("Summary", "mean_reward") in {
        (e.get("metric"), e.get("variant")) for e in events
    }  # evaluated on environment_name
    assert any(event.get("metric") == "custom" and event["value"] == 2.5 for event in events)

    config = ClearMLDownloadConfig(task_id=task.id, artifact_name="policy", destination=tmp_path)
    restored = StableBaselinesAgent("PPO")
    restored.download(ClearMLConnector(download_config=config))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["agent.zip"]
    assert restored.normalizer.statistics is not None
    np.testing.assert_array_equal(
        restored.choose_actions(OBSERVATIONS, deterministic=True),
        agent.choose_actions(OBSERVATIONS, deterministic=True),
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "exactly one of task_id, offline_session or model_id, got none"),
        ({"task_id": "a", "model_id": "b"}, r"got \['task_id', 'model_id'\]"),
        ({"task_id": " "}, "task_id must be a non-empty string"),
        ({"task_id": "a", "artifact_name": ""}, "artifact_name must be a non-empty string"),
    ],
)
def test_bad_download_configs_are_rejected(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClearMLDownloadConfig(**arguments)


def test_bad_upload_configs_and_arguments_are_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="project_name must be a non-empty string"):
        ClearMLUploadConfig(project_name="")
    with pytest.raises(ValueError, match="artifact_name 'metadata' is taken"):
        ClearMLUploadConfig(artifact_name="metadata")
    with pytest.raises(ValueError, match="n_eval_episodes must be a positive int"):
        ClearMLUploadConfig(n_eval_episodes=0)
    with pytest.raises(ValueError, match="checkpoint_frequency must be an int >= 0"):
        ClearMLConnector(checkpoint_frequency=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="download_config must be a ClearMLDownloadConfig or None"):
        ClearMLConnector(download_config=ClearMLUploadConfig())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no download_config"):
        ClearMLConnector().download()
    missing = ClearMLDownloadConfig(offline_session=tmp_path / "nothing.zip")
    with pytest.raises(FileNotFoundError, match="No ClearML offline session at .*nothing.zip"):
        ClearMLConnector(download_config=missing).download()
    with pytest.raises(FileNotFoundError, match="no task.json"):
        ClearMLConnector(download_config=ClearMLDownloadConfig(offline_session=tmp_path)).download()


def test_importing_the_connectors_does_not_import_clearml() -> None:
    code = (
        "import sys, rl_framework.util.connector as c; c.ClearMLConnector; c.ClearMLUploadConfig(); "
        "assert 'clearml' not in sys.modules, 'clearml imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
