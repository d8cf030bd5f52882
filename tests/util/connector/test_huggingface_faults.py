"""HuggingFaceConnector under faults: dropped downloads, tokens that cannot write, failed uploads' leftovers."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest
from hub_server import HubServer, point_huggingface_hub_at

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector.huggingface import (
    HuggingFaceConnector,
    HuggingFaceDownloadConfig,
    HuggingFaceUploadConfig,
)

ALICE = "hf_AliceWritesForTests0123456789abcd"
BOB = "hf_BobWritesForTests0123456789abcdef"
SCOPED_READ = "hf_FineGrainedReadOnly0123456789abc"
SCOPED_WRITE = "hf_FineGrainedWriter0123456789abcd"
REPO = "alice/ppo-CartPole-v1"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The stand-in Hub: alice and bob with write tokens, two fine-grained tokens of carol in org 'team'."""
    server = HubServer(
        {ALICE: ("alice", "write"), BOB: ("bob", "write"), SCOPED_READ: ("carol", "fineGrained")}
        | {SCOPED_WRITE: ("carol", "fineGrained")},
        organisations={"team": {"carol": "write", "alice": "read"}},
        scopes={
            SCOPED_READ: [("team", ("repo.content.read",))],
            SCOPED_WRITE: [("team/ppo", ("repo.content.read", "repo.write"))],
        },
    ).start()
    point_huggingface_hub_at(server, tmp_path / "hf_home", monkeypatch)
    yield server
    server.stop()


def connector(repository_id: str = REPO, token: str = ALICE, **changes: object) -> HuggingFaceConnector:
    config = HuggingFaceUploadConfig(
        repository_id=repository_id,
        environment_name="CartPole-v1",
        model_architecture="PPO",
        n_eval_episodes=2,
        video_length=10,
        video_fps=10,
    )
    return HuggingFaceConnector(upload_config=config, token=token, retry_wait=0.01, **changes)  # type: ignore[arg-type]


class CountingEnv(gym.Wrapper):
    """Counts resets: an evaluation that ran leaves resets behind."""

    resets = 0

    def reset(self, **kwargs):  # type: ignore[no-untyped-def]
        type(self).resets += 1
        return self.env.reset(**kwargs)


def test_dropped_download_is_retried_then_named(hub: HubServer, trained_ppo_agent: StableBaselinesAgent) -> None:
    trained_ppo_agent.upload(connector(), evaluation_environment="CartPole-v1")
    download = HuggingFaceDownloadConfig(REPO, "ppo-CartPole-v1.zip")
    hub.drop_next_downloads(1)
    path = HuggingFaceConnector(download_config=download, retry_wait=0.01).download()
    assert path.read_bytes() == hub.files(REPO)["ppo-CartPole-v1.zip"]
    assert hub.state.dropped_downloads == 0  # the dropped one happened, then the retry succeeded

    fresh = HuggingFaceDownloadConfig(REPO, "config.json")  # not cached yet
    hub.drop_next_downloads(10)
    with pytest.raises(ConnectionError, match=r"download 'config.json' from 'alice/ppo-CartPole-v1'.*failed 3 times"):
        HuggingFaceConnector(download_config=fresh, max_retries=2, retry_wait=0.01).download()


@pytest.mark.parametrize(
    ("token", "repository", "reason"),
    [
        (BOB, REPO, "belongs to 'bob', who is neither 'alice' nor a member"),
        (ALICE, "team/ppo", "'alice' has only the read role in the organisation 'team'"),
        (SCOPED_READ, "team/ppo", "fine-grained token without the 'repo.write' permission"),
    ],
)
def test_token_without_write_access_fails_before_evaluating(
    hub: HubServer, trained_ppo_agent: StableBaselinesAgent, token: str, repository: str, reason: str
) -> None:
    if repository == REPO:
        trained_ppo_agent.upload(connector())  # the repository exists: create_repo alone would not refuse
    commits = len(hub.commit_messages(REPO)) if REPO in hub.state.repositories else 0
    CountingEnv.resets = 0
    with pytest.raises(PermissionError, match=rf"may not create or write '{repository}': .*{reason}.*own namespace"):
        trained_ppo_agent.upload(connector(repository, token), CountingEnv(gym.make("CartPole-v1")))
    assert CountingEnv.resets == 0
    assert (len(hub.commit_messages(REPO)) if REPO in hub.state.repositories else 0) == commits


def test_fine_grained_token_with_repo_write_uploads(hub: HubServer, trained_ppo_agent: StableBaselinesAgent) -> None:
    hub.state.repositories.clear()
    trained_ppo_agent.upload(connector("team/ppo", SCOPED_WRITE))
    assert "ppo-CartPole-v1.zip" in hub.files("team/ppo")


def test_refused_commit_is_a_permission_error_and_leaves_no_staging(
    hub: HubServer, trained_ppo_agent: StableBaselinesAgent, tmp_path: Path
) -> None:
    hub.fail_next("commit", 1, status=403)  # e.g. the token lost its rights after check_access
    local = tmp_path / "local"
    with pytest.raises(
        PermissionError, match="refused to write 'alice/ppo-CartPole-v1'.*Use a token with write access"
    ):
        trained_ppo_agent.upload(connector(local_directory=local))
    assert list(local.iterdir()) == []


def test_uploads_leave_no_temporary_folder(
    hub: HubServer, trained_ppo_agent: StableBaselinesAgent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    uploader = connector()
    trained_ppo_agent.upload(uploader)
    hub.fail_next("commit", 1, status=400)
    with pytest.raises(Exception, match="Bad request for commit"):
        trained_ppo_agent.upload(uploader)
    assert list(temporary.iterdir()) == []


def test_interrupted_training_keeps_a_checkpoint_that_resumes_the_run(
    hub: HubServer, tiny_ppo_parameters: dict, tmp_path: Path
) -> None:
    from stable_baselines3.common.callbacks import BaseCallback

    class CtrlC(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps >= 48:
                raise KeyboardInterrupt
            return True

    uploader = connector(local_directory=tmp_path / "run", checkpoint_frequency=32)
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(KeyboardInterrupt):
        agent.train("CartPole-v1", total_timesteps=500, connector=uploader, callback=CtrlC(), progress_bar=False)
    checkpoints = sorted(path.name for path in (tmp_path / "run" / "checkpoints").iterdir())
    assert checkpoints == ["ppo-CartPole-v1-step-32.zip", "ppo-CartPole-v1-step-48.zip"]

    later = connector(checkpoint_frequency=32)  # a new connector (e.g. a new process) picks the run up again
    resumed = StableBaselinesAgent.resume(tmp_path / "run" / "checkpoints" / checkpoints[-1], connector=later)
    assert later.local_directory == tmp_path / "run" and resumed.model is not None
    assert resumed.model.num_timesteps == 48
    resumed.train("CartPole-v1", total_timesteps=32, connector=later, progress_bar=False)
    resumed.upload(later)
    uploaded = hub.files(REPO)
    assert {"checkpoints/ppo-CartPole-v1-step-48.zip", "checkpoints/ppo-CartPole-v1-step-80.zip"} <= set(uploaded)
    steps = [json.loads(line)["timestep"] for line in uploaded["logs/metrics.jsonl"].decode().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 80
