"""LocalConnector: versioned uploads, metrics and checkpoints from training, verified downloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector import LocalConnector, LocalDownloadConfig, LocalUploadConfig

OBSERVATIONS = np.random.default_rng(0).uniform(-0.2, 0.2, size=(16, 4)).astype(np.float32)


def download(registry: Path, name: str, version: int | str = "latest") -> Path:
    return LocalConnector(download_config=LocalDownloadConfig(name, version), registry_path=registry).download()


def test_upload_writes_a_complete_version_and_download_restores_the_agent(
    trained_ppo_agent, tmp_path, small_upload, evaluation_environment, recording_environment
) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="ppo-cartpole", **small_upload), registry_path=tmp_path)
    location = trained_ppo_agent.upload(connector, evaluation_environment, recording_environment)

    version = tmp_path / "ppo-cartpole" / "v1"
    assert location == str(version)
    assert sorted(entry.name for entry in version.iterdir()) == ["agent.zip", "metadata.json", "replay.mp4"]
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["algorithm"] == "PPO"
    assert metadata["environment"] == "CartPole-v1"
    assert metadata["evaluation"]["n_eval_episodes"] == 2
    assert {"stable-baselines3", "gymnasium", "torch"} <= set(metadata["library_versions"])

    restored = StableBaselinesAgent("PPO")
    assert restored.download(
        LocalConnector(download_config=LocalDownloadConfig("ppo-cartpole"), registry_path=tmp_path)
    ) == (version / "agent.zip")
    np.testing.assert_array_equal(
        restored.choose_actions(OBSERVATIONS, deterministic=True),
        trained_ppo_agent.choose_actions(OBSERVATIONS, deterministic=True),
    )


def test_each_upload_is_a_new_version_and_latest_is_the_newest(trained_ppo_agent, tmp_path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="a"), registry_path=tmp_path)
    for _ in range(3):
        trained_ppo_agent.upload(connector)
    # a version folder made by another writer in the meantime is skipped, not overwritten
    (tmp_path / "a" / "v4").mkdir()
    (tmp_path / "a" / "v4" / "agent.zip").write_bytes(b"someone else's")
    assert connector.upload(trained_ppo_agent) == str(tmp_path / "a" / "v5")

    assert connector.list_versions("a") == [1, 2, 3, 4, 5]
    assert connector.list_agents() == ["a"]  # the staging folder is not an agent
    assert download(tmp_path, "a") == tmp_path / "a" / "v5" / "agent.zip"
    assert download(tmp_path, "a", 2) == tmp_path / "a" / "v2" / "agent.zip"


def test_training_metrics_and_checkpoints_go_into_the_next_version(tiny_ppo_parameters, tmp_path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="trained"), registry_path=tmp_path, checkpoint_frequency=64)
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=256, connector=connector, progress_bar=False)
    run = next((tmp_path / ".staging").iterdir())
    assert (run / "metrics.jsonl").is_file()  # kept in the run folder until the upload

    version = Path(agent.upload(connector))
    records = [json.loads(line) for line in (version / "metrics.jsonl").read_text().splitlines()]
    names = {record["name"] for record in records}
    assert {"episode/return", "episode/length", "train/loss"} <= names
    assert all(0 < record["timestep"] <= 256 for record in records)
    checkpoints = sorted(path.name for path in (version / "checkpoints").iterdir())
    assert checkpoints == ["step_128.zip", "step_192.zip", "step_256.zip", "step_64.zip"]
    StableBaselinesAgent("PPO").load_from_file(version / "checkpoints" / "step_128.zip")
    assert not run.exists()

    second = Path(agent.upload(connector))  # nothing logged since the first upload
    assert sorted(entry.name for entry in second.iterdir()) == ["agent.zip", "metadata.json"]


def test_vecnormalize_statistics_travel_with_the_agent(vecnormalize_agent, tmp_path) -> None:
    agent, _ = vecnormalize_agent
    agent.upload(LocalConnector(LocalUploadConfig(agent_name="normalised"), registry_path=tmp_path))
    restored = StableBaselinesAgent("PPO")
    path = restored.download(LocalConnector(download_config=LocalDownloadConfig("normalised"), registry_path=tmp_path))
    assert sorted(entry.name for entry in path.parent.iterdir() if entry.name.startswith("agent")) == ["agent.zip"]
    assert restored.normalizer.statistics is not None  # read from the JSON inside the zip
    np.testing.assert_array_equal(
        restored.choose_actions(OBSERVATIONS, deterministic=True),
        agent.choose_actions(OBSERVATIONS, deterministic=True),
    )


def test_registry_location_comes_from_the_environment_variable(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RL_FRAMEWORK_REGISTRY", str(tmp_path / "from-env"))
    assert LocalConnector().root == tmp_path / "from-env"
    assert LocalConnector(registry_path=tmp_path / "explicit").root == tmp_path / "explicit"
    monkeypatch.delenv("RL_FRAMEWORK_REGISTRY")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert LocalConnector().root == tmp_path / "home" / ".rl_framework" / "registry"


def test_corrupt_agent_file_is_detected(trained_ppo_agent, tmp_path) -> None:
    trained_ppo_agent.upload(LocalConnector(LocalUploadConfig(agent_name="c"), registry_path=tmp_path))
    with (tmp_path / "c" / "v1" / "agent.zip").open("ab") as handle:
        handle.write(b"bit rot")
    with pytest.raises(ValueError, match=r"corrupt or was modified: its sha256 is [0-9a-f]{64}.*versions: 1"):
        download(tmp_path, "c")


def test_unknown_names_and_versions_list_what_exists(trained_ppo_agent, tmp_path) -> None:
    with pytest.raises(LookupError, match="No agent 'x' in the registry .* Agents there: none yet"):
        download(tmp_path, "x")
    assert not tmp_path.joinpath("x").exists()
    trained_ppo_agent.upload(LocalConnector(LocalUploadConfig(agent_name="known"), registry_path=tmp_path))
    with pytest.raises(LookupError, match="Agents there: known"):
        download(tmp_path, "x")
    with pytest.raises(LookupError, match=r"no version 7 .* Versions: 1 \(or 'latest'\)"):
        download(tmp_path, "known", 7)


def test_failed_upload_leaves_no_version_and_keeps_the_logged_run(trained_ppo_agent, tmp_path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="f"), registry_path=tmp_path)
    connector.log_value("episode/return", 1.0, 10)
    with pytest.raises(TypeError, match="gymnasium env or an env id"):
        trained_ppo_agent.upload(connector, video_recording_environment=42)
    assert connector.list_versions("f") == []
    run = next((tmp_path / ".staging").iterdir())
    assert sorted(entry.name for entry in run.iterdir()) == [".run.json", "metrics.jsonl"]
    version = Path(trained_ppo_agent.upload(connector))
    assert (version / "metrics.jsonl").read_text().count("\n") == 1


def test_upload_of_an_untrained_agent_fails_clearly(tmp_path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="empty"), registry_path=tmp_path)
    with pytest.raises(RuntimeError, match="no model yet"):
        StableBaselinesAgent("PPO").upload(connector)
    assert connector.list_agents() == []


@pytest.mark.parametrize("name", ["", "a/b", ".hidden", "with space", 3])
def test_bad_agent_names_are_rejected(name) -> None:
    with pytest.raises(ValueError, match="agent_name must be 1-128 letters"):
        LocalUploadConfig(agent_name=name)
    with pytest.raises(ValueError, match="agent_name must be 1-128 letters"):
        LocalDownloadConfig(name)


@pytest.mark.parametrize("version", [0, -1, "v2", "newest", True, 1.0])
def test_bad_versions_are_rejected(version) -> None:
    with pytest.raises(ValueError, match=r"version must be a positive int \(or 'latest'\)"):
        LocalDownloadConfig("a", version)


def test_bad_connector_arguments_are_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="video_length must be a positive int"):
        LocalUploadConfig(agent_name="a", video_length=0)
    with pytest.raises(ValueError, match="checkpoint_frequency must be an int >= 0"):
        LocalConnector(checkpoint_frequency=-5)
    with pytest.raises(TypeError, match="upload_config must be a LocalUploadConfig or None, got LocalDownloadConfig"):
        LocalConnector(upload_config=LocalDownloadConfig("a"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"no upload_config: .*LocalUploadConfig\(agent_name='my-agent'\)"):
        LocalConnector(registry_path=tmp_path).upload(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no download_config"):
        LocalConnector(registry_path=tmp_path).download()


# -- faults: names, tampered versions, staged runs ---------------------------------------------
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("metadata.json", "collides with another file"),
        ("replay.zip", "collides with another file"),
        ("checkpoints", "collides with another file"),
        ("..", "plain file name"),
        (".", "plain file name"),
        ("sub/agent.zip", "plain file name"),
        (".hidden.zip", "plain file name"),
        (" agent.zip", "without surrounding spaces"),
    ],
)
def test_agent_file_names_that_would_clash_or_escape_are_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"agent_file_name .*{message}.*'agent.zip'"):
        LocalUploadConfig(agent_name="a", agent_file_name=name)


def uploaded(agent, registry: Path, recording_environment=None) -> Path:
    connector = LocalConnector(
        LocalUploadConfig(agent_name="v", n_eval_episodes=2, video_length=5), registry_path=registry
    )
    return Path(agent.upload(connector, video_recording_environment=recording_environment))


def rewrite_metadata(version: Path, **changes) -> None:
    metadata = json.loads((version / "metadata.json").read_text())
    (version / "metadata.json").write_text(json.dumps({**metadata, **changes}))


@pytest.mark.parametrize("agent_file", ["../../outside.zip", "/etc/hostname", "metadata.json"])
def test_metadata_naming_a_file_outside_the_version_returns_nothing(trained_ppo_agent, tmp_path, agent_file) -> None:
    version = uploaded(trained_ppo_agent, tmp_path)
    (tmp_path / "outside.zip").write_bytes(b"not in the registry")
    rewrite_metadata(version, agent_file=agent_file)
    with pytest.raises(ValueError, match=r"names the agent file .*not a file inside the version folder.*versions: 1"):
        download(tmp_path, "v")


def test_missing_or_corrupt_metadata_is_a_clear_error(trained_ppo_agent, tmp_path) -> None:
    version = uploaded(trained_ppo_agent, tmp_path)
    (version / "metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"metadata.json' is corrupt \(not JSON"):
        download(tmp_path, "v")
    (version / "metadata.json").write_text("[]")
    with pytest.raises(ValueError, match="names no agent file"):
        download(tmp_path, "v")
    (version / "metadata.json").unlink()
    with pytest.raises(ValueError, match="has no metadata.json: the version is incomplete"):
        download(tmp_path, "v")


def test_every_file_of_a_version_is_verified(trained_ppo_agent, tmp_path, recording_environment) -> None:
    version = uploaded(trained_ppo_agent, tmp_path, recording_environment)
    assert set(json.loads((version / "metadata.json").read_text())["other_files"]) == {"replay.mp4"}
    with (version / "replay.mp4").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(ValueError, match=r"replay.mp4' is corrupt or was modified"):
        download(tmp_path, "v")


def test_a_companion_added_after_the_upload_is_refused(trained_ppo_agent, tmp_path) -> None:
    version = uploaded(trained_ppo_agent, tmp_path)
    (version / "agent.vecnormalize.pkl").write_bytes(b"planted")
    with pytest.raises(ValueError, match=r"agent.vecnormalize.pkl' lies beside the agent file but is not recorded"):
        download(tmp_path, "v")


def test_staged_runs_are_listed_and_discarded_by_status(tmp_path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="s"), registry_path=tmp_path)
    connector.log_value("episode/return", 1.0, 1)
    (run,) = connector.staged_runs()
    assert run["status"] == "running"  # this process owns it
    abandoned = tmp_path / ".staging" / "run-crashed"
    abandoned.mkdir()
    (abandoned / ".run.json").write_text(json.dumps({"pid": 2**22 + 12345, "host": "elsewhere"}))
    statuses = {entry["path"].name: entry["status"] for entry in connector.staged_runs()}
    assert statuses == {run["path"].name: "running", "run-crashed": "abandoned"}
    assert connector.discard_staged_runs() == [abandoned]
    assert [entry["path"] for entry in connector.staged_runs()] == [run["path"]]


def test_a_failed_first_upload_leaves_no_empty_run_folder(trained_ppo_agent, tmp_path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="f"), registry_path=tmp_path)
    with pytest.raises(TypeError, match="gymnasium env or an env id"):
        trained_ppo_agent.upload(connector, video_recording_environment=42)
    assert list((tmp_path / ".staging").iterdir()) == []


def test_non_finite_agent_is_not_uploaded_unless_forced(tiny_ppo_parameters, tmp_path) -> None:
    import torch

    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    with torch.no_grad():
        next(agent.model.policy.parameters()).fill_(float("inf"))
    connector = LocalConnector(LocalUploadConfig(agent_name="nan"), registry_path=tmp_path)
    with pytest.raises(ValueError, match="Refusing to upload the agent: its model holds NaN or infinite.*force=True"):
        agent.upload(connector)
    assert connector.list_versions("nan") == [] and not (tmp_path / ".staging").exists()
    assert Path(agent.upload(connector, force=True)).name == "v1"
