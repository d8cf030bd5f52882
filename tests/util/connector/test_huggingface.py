"""HuggingFaceConnector against a local Hub stand-in spoken to by the real huggingface_hub client."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from hub_server import HubServer, point_huggingface_hub_at
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from rl_framework.agent import BaseAgent, StableBaselinesAgent
from rl_framework.util.connector.huggingface import (
    HuggingFaceConnector,
    HuggingFaceDownloadConfig,
    HuggingFaceUploadConfig,
)

TOKEN = "hf_WriteTokenForTests0123456789abcdef"
READ_TOKEN = "hf_ReadOnlyTokenForTests0123456789"
OTHER_TOKEN = "hf_BobsTokenForTests0123456789abcd"
REPO = "alice/ppo-CartPole-v1"
AGENT_FILE = "ppo-CartPole-v1.zip"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The stand-in Hub, with huggingface_hub pointed at it and a fresh HF_HOME (no stored login)."""
    server = HubServer({TOKEN: ("alice", "write"), READ_TOKEN: ("alice", "read"), OTHER_TOKEN: ("bob", "write")})
    server.start()
    point_huggingface_hub_at(server, tmp_path / "hf_home", monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def agent(trained_ppo_agent: StableBaselinesAgent) -> StableBaselinesAgent:
    """The session's tiny trained PPO agent (read-only)."""
    return trained_ppo_agent


ConfigFactory = Callable[..., HuggingFaceUploadConfig]
ConnectorFactory = Callable[..., HuggingFaceConnector]


@pytest.fixture
def upload_config(small_upload: dict[str, Any]) -> ConfigFactory:
    """Build an upload config for REPO with a small evaluation and video; keyword arguments change it."""

    def make(**changes: Any) -> HuggingFaceUploadConfig:
        settings = {
            "repository_id": REPO,
            "environment_name": "CartPole-v1",
            "model_architecture": "PPO",
            "commit_message": "Add a tiny PPO agent",
            **small_upload,
        }
        return HuggingFaceUploadConfig(**{**settings, **changes})

    return make


@pytest.fixture
def fast_connector(upload_config: ConfigFactory) -> ConnectorFactory:
    """Build a connector with the write token and short retry waits; keyword arguments change it."""

    def make(**changes: Any) -> HuggingFaceConnector:
        settings: dict[str, Any] = {"upload_config": upload_config(), "token": TOKEN, "retry_wait": 0.01}
        return HuggingFaceConnector(**{**settings, **changes})

    return make


def observations(n: int = 16) -> np.ndarray:
    env = gym.make("CartPole-v1")
    rows = [env.reset(seed=seed)[0] for seed in range(n)]
    env.close()
    return np.stack(rows) * 3.0  # spread out, so the policy's decisions differ between rows


def same_policy(first: StableBaselinesAgent, second: StableBaselinesAgent) -> bool:
    assert first.model is not None and second.model is not None
    parameters = second.model.policy.state_dict()
    return all(parameters[name].equal(tensor) for name, tensor in first.model.policy.state_dict().items())


def model_card_yaml(readme: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", readme, flags=re.DOTALL)
    assert match is not None, "README.md has no YAML metadata block"
    return yaml.safe_load(match.group(1))


# -- round trip ----------------------------------------------------------------------------------
def test_upload_writes_hub_layout_in_one_commit_and_download_acts_identically(
    hub: HubServer,
    agent: StableBaselinesAgent,
    evaluation_environment: gym.Env,
    recording_environment: gym.Env,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    small_upload: dict[str, Any],
    fast_connector: ConnectorFactory,
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = fast_connector(local_directory=tmp_path / "local")
    url = agent.upload(
        connector, evaluation_environment=evaluation_environment, video_recording_environment=recording_environment
    )

    assert url == f"{hub.url}/{REPO}"
    files = hub.files(REPO)
    expected = {AGENT_FILE, "config.json", "results.json", "replay.mp4", "README.md", "metadata.json", ".gitattributes"}
    assert set(files) == expected | {"model.safetensors", "rl_framework.json"}  # weights + JSON beside the zip
    assert hub.commit_messages(REPO) == ["initial commit", "Add a tiny PPO agent"]
    assert hub.state.calls["commit"] == 1
    assert files["replay.mp4"][4:8] == b"ftyp"

    results = json.loads(files["results.json"])
    assert set(results) == {"mean_reward", "std_reward", "is_deterministic", "n_eval_episodes", "eval_datetime"}
    assert results["n_eval_episodes"] == small_upload["n_eval_episodes"] and results["is_deterministic"] is True
    config = json.loads(files["config.json"])
    assert "policy_class" in config and "system_info" in config
    assert config["rl_framework"]["algorithm"] == "PPO"

    readme = files["README.md"].decode()
    card = model_card_yaml(readme)
    assert card["library_name"] == "stable-baselines3"
    assert {"CartPole-v1", "reinforcement-learning"} <= set(card["tags"])
    metric = card["model-index"][0]["results"][0]["metrics"][0]
    assert metric["type"] == "mean_reward"
    assert metric["value"] == f"{results['mean_reward']:.2f} +/- {results['std_reward']:.2f}"
    assert card["model-index"][0]["results"][0]["dataset"]["name"] == "CartPole-v1"
    assert "agent.download(connector)" in readme and "load_from_hub" in readme

    downloader = HuggingFaceConnector(download_config=HuggingFaceDownloadConfig(REPO, AGENT_FILE))
    restored = StableBaselinesAgent("PPO")
    local_path = restored.download(downloader)
    assert local_path.name == AGENT_FILE and local_path.is_file()
    assert same_policy(restored, agent)
    batch = observations()
    np.testing.assert_array_equal(
        restored.choose_actions(batch, deterministic=True), agent.choose_actions(batch, deterministic=True)
    )

    captured = capsys.readouterr()
    for text in (caplog.text, captured.out, captured.err, repr(connector)):
        assert TOKEN not in text
    assert "token='***'" in repr(connector)


def test_repository_loads_with_huggingface_sb3_and_plain_sb3(
    hub: HubServer, agent: StableBaselinesAgent, fast_connector: ConnectorFactory
) -> None:
    from huggingface_sb3 import load_from_hub

    agent.upload(fast_connector(), evaluation_environment="CartPole-v1")
    model = PPO.load(load_from_hub(REPO, AGENT_FILE))
    batch = observations()
    actions, _ = model.predict(batch, deterministic=True)
    np.testing.assert_array_equal(actions, agent.choose_actions(batch, deterministic=True))


def test_model_card_usage_snippet_runs(
    hub: HubServer, agent: StableBaselinesAgent, fast_connector: ConnectorFactory
) -> None:
    agent.upload(fast_connector(), evaluation_environment="CartPole-v1")
    readme = hub.files(REPO)["README.md"].decode()
    snippet = re.search(r"## Usage \(with rl_framework\)\n\n```python\n(.*?)```", readme, flags=re.DOTALL)
    assert snippet is not None
    namespace: dict = {}
    exec(snippet.group(1), namespace)
    assert np.isfinite(namespace["mean_reward"]) and namespace["mean_reward"] > 0


def test_normalizer_travels_inside_the_agent_zip_and_old_pickles_are_removed(
    hub: HubServer,
    agent: StableBaselinesAgent,
    vecnormalize_agent: tuple[StableBaselinesAgent, VecNormalize],
    fast_connector: ConnectorFactory,
) -> None:
    from huggingface_hub import HfApi

    normalized = vecnormalize_agent[0]
    normalized.upload(fast_connector())
    files = set(hub.files(REPO))
    assert {AGENT_FILE, "model.safetensors", "rl_framework.json"} <= files  # weights + description beside the zip
    assert not [name for name in files if name.endswith(".pkl")]  # the statistics are JSON inside the zip

    restored = StableBaselinesAgent("PPO")
    restored.download(HuggingFaceConnector(download_config=HuggingFaceDownloadConfig(REPO, AGENT_FILE)))
    assert restored.normalizer.statistics is not None
    batch = observations()
    np.testing.assert_array_equal(
        restored.choose_actions(batch, deterministic=True), normalized.choose_actions(batch, deterministic=True)
    )

    # Pickles an earlier rl_framework uploaded (statistics beside the zip, the zoo's copy) go with the next upload.
    for name in ("ppo-CartPole-v1.vecnormalize.pkl", "vec_normalize.pkl"):
        HfApi(token=TOKEN).upload_file(path_or_fileobj=b"old", path_in_repo=name, repo_id=REPO)
    agent.upload(fast_connector())
    assert not [name for name in hub.files(REPO) if name.endswith(".pkl")]


def test_training_metrics_and_checkpoints_are_uploaded_and_checkpoints_download(
    hub: HubServer, tiny_ppo_parameters: dict, tmp_path: Path, fast_connector: ConnectorFactory
) -> None:
    connector = fast_connector(checkpoint_frequency=32, local_directory=tmp_path / "local")
    trained = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    trained.train("CartPole-v1", total_timesteps=64, connector=connector, progress_bar=False)
    trained.upload(connector)

    files = hub.files(REPO)
    metrics = [json.loads(line) for line in files["logs/metrics.jsonl"].decode().splitlines()]
    assert {"episode/return", "episode/length"} <= {row["name"] for row in metrics}
    assert {"checkpoints/ppo-CartPole-v1-step-32.zip", "checkpoints/ppo-CartPole-v1-step-64.zip"} <= set(files)
    checkpoint = HuggingFaceConnector(
        download_config=HuggingFaceDownloadConfig(REPO, "checkpoints/ppo-CartPole-v1-step-32.zip")
    )
    assert StableBaselinesAgent("PPO").download(checkpoint).name == "ppo-CartPole-v1-step-32.zip"


def test_download_by_commit_version_gets_that_commit(
    hub: HubServer,
    agent: StableBaselinesAgent,
    tiny_ppo_parameters: dict,
    upload_config: ConfigFactory,
    fast_connector: ConnectorFactory,
) -> None:
    agent.upload(fast_connector())
    first_commit = hub.state.repositories[REPO].branches["main"]
    other = StableBaselinesAgent("PPO", {**tiny_ppo_parameters, "seed": 1})
    other.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    other.upload(fast_connector(upload_config=upload_config(commit_message="second")))

    restored = StableBaselinesAgent("PPO")
    restored.download(HuggingFaceConnector(download_config=HuggingFaceDownloadConfig(REPO, AGENT_FILE, first_commit)))
    assert same_policy(restored, agent) and not same_policy(restored, other)
    assert hub.commit_messages(REPO)[-1] == "second"


def test_custom_agent_uploads_in_the_rl_framework_format(
    hub: HubServer,
    cartpole_expert: BaseAgent,
    evaluation_environment: gym.Env,
    upload_config: ConfigFactory,
    fast_connector: ConnectorFactory,
) -> None:
    config = upload_config(repository_id="alice/expert-CartPole-v1", model_architecture="Expert")
    cartpole_expert.upload(fast_connector(upload_config=config), evaluation_environment=evaluation_environment)

    files = hub.files("alice/expert-CartPole-v1")
    assert {"expert-CartPole-v1.zip", "config.json", "results.json", "README.md"} <= set(files)
    readme = files["README.md"].decode()
    card = model_card_yaml(readme)
    assert card["library_name"] == "rl_framework"
    assert card["model-index"][0]["results"][0]["metrics"][0]["value"] == "20.00 +/- 0.00"
    assert "Usage (with Stable-Baselines3)" not in readme and "CartPoleExpert()" in readme
    assert "policy_class" not in json.loads(files["config.json"])
    downloader = HuggingFaceConnector(
        download_config=HuggingFaceDownloadConfig("alice/expert-CartPole-v1", "expert-CartPole-v1.zip")
    )
    assert cartpole_expert.download(downloader).read_bytes() == files["expert-CartPole-v1.zip"]


def test_failed_bundling_leaves_no_staging_folder_and_no_commit(
    hub: HubServer, agent: StableBaselinesAgent, tmp_path: Path, fast_connector: ConnectorFactory
) -> None:
    connector = fast_connector(local_directory=tmp_path / "local")
    with pytest.raises(ValueError, match="recording a video needs"):
        agent.upload(connector, video_recording_environment=gym.make("CartPole-v1"))
    assert list((tmp_path / "local").iterdir()) == []
    assert hub.commit_messages(REPO) == ["initial commit"]


# -- tokens --------------------------------------------------------------------------------------
def test_token_from_environment_and_from_stored_login(
    hub: HubServer,
    agent: StableBaselinesAgent,
    monkeypatch: pytest.MonkeyPatch,
    upload_config: ConfigFactory,
    fast_connector: ConnectorFactory,
) -> None:
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert fast_connector(token=None).authenticated_user() == "alice"
    monkeypatch.delenv("HF_TOKEN")
    Path(constants.HF_TOKEN_PATH).parent.mkdir(parents=True, exist_ok=True)
    Path(constants.HF_TOKEN_PATH).write_text(OTHER_TOKEN)
    agent.upload(fast_connector(token=None, upload_config=upload_config(repository_id="bob/ppo-CartPole-v1")))
    assert AGENT_FILE in hub.files("bob/ppo-CartPole-v1")


def test_missing_token_fails_before_any_work(
    hub: HubServer, agent: StableBaselinesAgent, fast_connector: ConnectorFactory
) -> None:
    with pytest.raises(PermissionError, match="No HuggingFace token found.*HF_TOKEN.*hf auth login"):
        agent.upload(fast_connector(token=None), evaluation_environment="CartPole-v1")
    assert hub.state.repositories == {}


@pytest.mark.parametrize(
    ("source", "message"),
    [("argument", "rejected the token from the token argument"), ("env", "rejected the token from the HF_TOKEN")],
)
def test_invalid_token_fails_clearly_without_revealing_it(
    hub: HubServer,
    agent: StableBaselinesAgent,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    source: str,
    message: str,
    fast_connector: ConnectorFactory,
) -> None:
    caplog.set_level(logging.DEBUG)
    bad_token = "hf_NotAValidTokenAtAll0123456789"
    if source == "env":
        monkeypatch.setenv("HF_TOKEN", bad_token)
    connector = fast_connector(token=bad_token if source == "argument" else None)
    with pytest.raises(PermissionError, match=message) as raised:
        agent.upload(connector, evaluation_environment="CartPole-v1")
    assert hub.state.repositories == {}
    chain = [raised.value, raised.value.__cause__, raised.value.__context__]
    assert all(bad_token not in str(error) and bad_token not in repr(error) for error in chain)
    assert bad_token not in caplog.text and bad_token not in repr(connector)


def test_read_only_token_and_foreign_namespace_are_refused(
    hub: HubServer, agent: StableBaselinesAgent, upload_config: ConfigFactory, fast_connector: ConnectorFactory
) -> None:
    with pytest.raises(PermissionError, match="read-only"):
        agent.upload(fast_connector(token=READ_TOKEN))
    foreign = upload_config(repository_id="carol/ppo-CartPole-v1")
    with pytest.raises(PermissionError, match="may not create or write 'carol/ppo-CartPole-v1'"):
        agent.upload(fast_connector(upload_config=foreign))


# -- network failures ----------------------------------------------------------------------------
def test_commit_is_retried_after_server_errors(
    hub: HubServer, agent: StableBaselinesAgent, caplog: pytest.LogCaptureFixture, fast_connector: ConnectorFactory
) -> None:
    hub.fail_next("commit", 2)
    with caplog.at_level(logging.WARNING):
        agent.upload(fast_connector(max_retries=3))
    assert hub.state.calls["commit"] == 3
    assert AGENT_FILE in hub.files(REPO)
    assert caplog.text.count("retrying in") == 2


def test_exhausted_retries_give_a_clear_error_and_keep_the_prepared_files(
    hub: HubServer, agent: StableBaselinesAgent, tmp_path: Path, fast_connector: ConnectorFactory
) -> None:
    hub.fail_next("commit", 10)
    connector = fast_connector(max_retries=2, local_directory=tmp_path / "local")
    with pytest.raises(
        ConnectionError, match=r"push the agent to 'alice/ppo-CartPole-v1'.*failed 3 times.*503"
    ) as raised:
        agent.upload(connector)
    kept = Path(re.search(r"kept in '(.+?)'", str(raised.value)).group(1))  # type: ignore[union-attr]
    assert {AGENT_FILE, "README.md", "config.json"} <= {path.name for path in kept.iterdir()}
    assert hub.commit_messages(REPO) == ["initial commit"]


def test_unreachable_hub_gives_a_clear_error(
    hub: HubServer, agent: StableBaselinesAgent, fast_connector: ConnectorFactory
) -> None:
    hub.stop()
    with pytest.raises(ConnectionError, match="check the HuggingFace token.*failed 2 times.*Check your connection"):
        agent.upload(fast_connector(max_retries=1))


# -- download errors -----------------------------------------------------------------------------
def test_download_errors_name_the_problem(
    hub: HubServer, agent: StableBaselinesAgent, upload_config: ConfigFactory, fast_connector: ConnectorFactory
) -> None:
    agent.upload(fast_connector(upload_config=upload_config(private=True)))

    def download(file_name: str = AGENT_FILE, version: str = "main", token: str | None = TOKEN) -> Path:
        config = HuggingFaceDownloadConfig(REPO, file_name, version)
        return HuggingFaceConnector(download_config=config, token=token).download()

    with pytest.raises(FileNotFoundError, match="'ppo.zip' is not in .*Agent files there: ppo-CartPole-v1.zip"):
        download(file_name="ppo.zip")
    with pytest.raises(FileNotFoundError, match="version 'v9' does not exist"):
        download(version="v9")
    with pytest.raises(FileNotFoundError, match="'alice/ppo-CartPole-v1' was not found.*private"):
        download(token=None)
    with pytest.raises(PermissionError, match="rejected the token from the token argument"):
        download(token="hf_NotAValidTokenAtAll0123456789")
    assert download().is_file()
    with pytest.raises(ValueError, match="has no upload_config"):
        HuggingFaceConnector(download_config=HuggingFaceDownloadConfig(REPO, AGENT_FILE)).upload(agent)
    with pytest.raises(ValueError, match="has no download_config"):
        fast_connector().download()


# -- configuration -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"repository_id": ""}, "repository_id must be a non-empty string"),
        ({"repository_id": "just-a-name"}, "'just-a-name' is not a valid HuggingFace repository id.*owner/name"),
        ({"repository_id": "a/b/c"}, "'a/b/c' is not a valid"),
        ({"repository_id": "alice/bad name"}, "'alice/bad name' is not a valid"),
        ({"repository_id": "alice/-x"}, "'alice/-x' is not a valid"),
        ({"environment_name": ""}, "environment_name must be a non-empty string"),
        ({"environment_name": "Cart Pole"}, "environment id without spaces"),
        ({"model_architecture": " "}, "model_architecture must be a non-empty string"),
        ({"n_eval_episodes": 0}, "n_eval_episodes must be a positive int, got 0"),
        ({"video_length": True}, "video_length must be a positive int, got True"),
        ({"model_name": "dir/agent"}, "model_name must be a plain file stem"),
    ],
)
def test_upload_config_validation(changes: dict, message: str, upload_config: ConfigFactory) -> None:
    with pytest.raises(ValueError, match=message):
        upload_config(**changes)


def test_upload_config_default_model_name_follows_huggingface_sb3(upload_config: ConfigFactory) -> None:
    from huggingface_sb3 import EnvironmentName, ModelName

    config = upload_config(environment_name="ALE/Pong-v5", model_architecture="DQN")
    assert config.model_name == ModelName("dqn", EnvironmentName("ALE/Pong-v5")) == "dqn-ALE-Pong-v5"
    assert config.agent_file_name == "dqn-ALE-Pong-v5.zip"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("", AGENT_FILE), "repository_id must be a non-empty string"),
        (("alice", AGENT_FILE), "'alice' is not a valid HuggingFace repository id"),
        ((REPO, ""), "file_name must be a non-empty string"),
        ((REPO, "../secret.zip"), "is not a path inside the repository"),
        ((REPO, AGENT_FILE, ""), "version must be a non-empty string"),
        ((REPO, AGENT_FILE, "main..dev"), "'main..dev' is not a valid git revision.*branch name"),
        ((REPO, AGENT_FILE, "my branch"), "'my branch' is not a valid git revision"),
        ((REPO, AGENT_FILE, "v1:2"), "'v1:2' is not a valid git revision"),
    ],
)
def test_download_config_validation(arguments: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HuggingFaceDownloadConfig(*arguments)


def test_connector_argument_validation_never_echoes_the_token() -> None:
    with pytest.raises(ValueError, match="token must be a non-empty string") as raised:
        HuggingFaceConnector(token=" hf_SecretWithSpace ")
    assert "hf_SecretWithSpace" not in str(raised.value)
    with pytest.raises(ValueError, match=r"checkpoint_frequency must be an int >= 0 \(0 = off\), got -1"):
        HuggingFaceConnector(checkpoint_frequency=-1)
    with pytest.raises(ValueError, match="retry_wait must be a number of seconds >= 0"):
        HuggingFaceConnector(retry_wait=-1)
    with pytest.raises(TypeError, match="upload_config must be a HuggingFaceUploadConfig or None, got dict"):
        HuggingFaceConnector(upload_config={"repository_id": REPO})  # type: ignore[arg-type]


def test_upload_without_evaluation_environment_evaluates_on_the_configs_env_id(hub, agent, fast_connector):
    agent.upload(fast_connector())  # environment_name "CartPole-v1" is a registered id
    results = json.loads(hub.files(REPO)["results.json"])
    assert results["n_eval_episodes"] == 2 and results["mean_reward"] > 0


def test_upload_without_any_environment_to_evaluate_is_refused_before_any_work(
    hub, agent, fast_connector, upload_config
):
    connector = fast_connector(upload_config=upload_config(environment_name="MyPrivateEnv-v0"))
    with pytest.raises(ValueError, match=r"'MyPrivateEnv-v0' is not a registered id\. Pass evaluation_environment="):
        agent.upload(connector)
    with pytest.raises(KeyError):
        hub.files(REPO)  # not even the repository was created
