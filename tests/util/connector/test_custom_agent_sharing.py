"""CustomAgent (Q-learning) through every connector: local registry, the HuggingFace stand-in, ClearML offline.

Each round trip trains with the connector (metrics + checkpoints), uploads with an evaluation,
downloads into a fresh agent and checks that it acts identically in every state.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from hub_server import HubServer
from test_clearml import offline_folder, session  # noqa: F401 - ClearML in offline mode (module fixture)
from test_huggingface import TOKEN, hub  # noqa: F401 - the stand-in Hub with huggingface_hub pointed at it

from rl_framework.agent import CustomAgent
from rl_framework.util.connector import (
    ClearMLConnector,
    ClearMLDownloadConfig,
    ClearMLUploadConfig,
    HuggingFaceConnector,
    HuggingFaceDownloadConfig,
    HuggingFaceUploadConfig,
    LocalConnector,
    LocalDownloadConfig,
    LocalUploadConfig,
)

ALL_STATES = np.arange(16)
REPO = "alice/qlearning-FrozenLake-v1"
AGENT_FILE = "qlearning-FrozenLake-v1.zip"  # huggingface_sb3 naming: <architecture>-<env id>


def frozen_lake(**kwargs: Any) -> gym.Env:
    return gym.make("FrozenLake-v1", is_slippery=False, **kwargs)


def assert_same_actions(restored: CustomAgent, original: CustomAgent) -> None:
    np.testing.assert_array_equal(
        restored.choose_actions(ALL_STATES, deterministic=True),
        original.choose_actions(ALL_STATES, deterministic=True),
    )


def train(connector: Any) -> CustomAgent:
    """Q-learning on the small FrozenLake with ``connector``: 3,000 steps solve it."""
    agent = CustomAgent("Q-Learning", {"seed": 0})
    agent.train(frozen_lake(), total_timesteps=3_000, connector=connector, progress_bar=False)
    return agent


def test_local_registry_round_trip(tmp_path: Path, small_upload: dict[str, Any]) -> None:
    config = LocalUploadConfig(agent_name="q-frozenlake", **small_upload)
    connector = LocalConnector(config, checkpoint_frequency=1_000, registry_path=tmp_path)
    agent = train(connector)
    location = agent.upload(
        connector,
        evaluation_environment=frozen_lake(),
        video_recording_environment=frozen_lake(render_mode="rgb_array"),
    )

    version = tmp_path / "q-frozenlake" / "v1"
    assert location == str(version)
    assert {"agent.zip", "metadata.json", "metrics.jsonl", "replay.mp4", "checkpoints"} <= {
        entry.name for entry in version.iterdir()
    }
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["agent_class"] == "CustomAgent" and metadata["algorithm"] == "QLearning"
    assert metadata["algorithm_parameters"] == {"seed": 0}
    assert metadata["evaluation"]["mean_reward"] == 1.0
    metrics = [json.loads(line) for line in (version / "metrics.jsonl").read_text().splitlines()]
    assert {"episode/return", "episode/length", "train/exploration_rate"} <= {row["name"] for row in metrics}
    assert any(row["name"] == "episode/return" and row["value"] == 1.0 for row in metrics)
    checkpoints = sorted(path.name for path in (version / "checkpoints").iterdir())
    assert checkpoints == ["step_1000.zip", "step_2000.zip", "step_3000.zip"]

    restored = CustomAgent("QLearning")
    downloader = LocalConnector(download_config=LocalDownloadConfig("q-frozenlake"), registry_path=tmp_path)
    assert restored.download(downloader) == version / "agent.zip"
    assert_same_actions(restored, agent)
    checkpoint = CustomAgent("Q-Learning")
    checkpoint.load_from_file(version / "checkpoints" / "step_1000.zip")
    assert checkpoint.num_timesteps == 1_000


def test_hugging_face_round_trip(hub: HubServer, tmp_path: Path, small_upload: dict[str, Any]) -> None:  # noqa: F811
    config = HuggingFaceUploadConfig(
        repository_id=REPO,
        environment_name="FrozenLake-v1",
        model_architecture="QLearning",
        commit_message="Q-learning on the small FrozenLake",
        **small_upload,
    )
    connector = HuggingFaceConnector(
        upload_config=config,
        token=TOKEN,
        retry_wait=0.01,
        local_directory=tmp_path / "local",
        checkpoint_frequency=1_500,
    )
    agent = train(connector)
    agent.upload(connector, evaluation_environment=frozen_lake())

    files = hub.files(REPO)
    assert {AGENT_FILE, "README.md", "results.json", "config.json", "metadata.json"} <= set(files)
    assert {
        "checkpoints/qlearning-FrozenLake-v1-step-1500.zip",
        "checkpoints/qlearning-FrozenLake-v1-step-3000.zip",
    } <= set(files)
    assert json.loads(files["results.json"])["mean_reward"] == 1.0
    readme = files["README.md"].decode()
    card = yaml.safe_load(readme.split("---\n")[1])
    assert card["library_name"] == "rl_framework" and "FrozenLake-v1" in card["tags"]

    restored = CustomAgent("Q-Learning")
    restored.download(HuggingFaceConnector(download_config=HuggingFaceDownloadConfig(REPO, AGENT_FILE)))
    assert_same_actions(restored, agent)
    # the model card's own usage snippet downloads the agent with CustomAgent("QLearning")
    snippet = re.search(r"## Usage \(with rl_framework\)\n\n```python\n(.*?)```", readme, flags=re.DOTALL)
    assert snippet is not None and 'CustomAgent("QLearning")' in snippet.group(1)
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    assert_same_actions(namespace["agent"], agent)


def test_clearml_offline_round_trip(
    offline_folder: Path,  # noqa: F811
    tmp_path: Path,
    small_upload: dict[str, Any],
) -> None:
    config = ClearMLUploadConfig(project_name="rl_framework-tests", task_name="q-learning", **small_upload)
    with ClearMLConnector(config, checkpoint_frequency=1_500) as connector:
        agent = train(connector)
        task_id = agent.upload(connector, evaluation_environment=frozen_lake())

    task, events = session(offline_folder, task_id)
    assert task["hyperparams"]["algorithm_parameters"]["seed"]["value"] == "0"
    scalars = {(event["metric"], event["variant"]) for event in events if event["type"] == "training_stats_scalar"}
    assert {("episode", "return"), ("episode", "length"), ("train", "exploration_rate")} <= scalars
    artifacts = {artifact["key"] for artifact in task["execution"]["artifacts"]}
    assert {"agent", "metadata", "checkpoint_step_1500", "checkpoint_step_3000"} <= artifacts

    restored = CustomAgent("Q-Learning")
    restored.download(ClearMLConnector(download_config=ClearMLDownloadConfig(task_id=task_id, destination=tmp_path)))
    assert_same_actions(restored, agent)
