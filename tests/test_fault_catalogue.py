"""The fault catalogue: bad inputs and faults across the public API, each checked the same way.

For every fault: the exception type and a message that names the problem and the fix; no
partial file left anywhere in the working folder (the system temp folder is pointed inside it,
so leftover temporary folders count too); earlier saved agents and registry versions byte for
byte intact and still loadable. Faults that tamper with stored files on purpose do so in their
``prepare`` step, before the snapshot.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl_framework.agent import ImitationAgent, StableBaselinesAgent
from rl_framework.data import EpisodeSequence
from rl_framework.environment.vectorize import EnvironmentProcessError, NamedSubprocVecEnv
from rl_framework.util.connector import (
    ClearMLConnector,
    ClearMLDownloadConfig,
    HuggingFaceConnector,
    HuggingFaceDownloadConfig,
    HuggingFaceUploadConfig,
    LocalConnector,
    LocalDownloadConfig,
    LocalUploadConfig,
)
from rl_framework.util.finite import NonFiniteError
from rl_framework.util.video import record_video


def _load_hub_server() -> Any:
    """The stand-in Hub of the connector tests (a test helper module, not a package)."""
    if "hub_server" not in sys.modules:
        path = Path(__file__).parent / "util" / "connector" / "hub_server.py"
        spec = importlib.util.spec_from_file_location("hub_server", path)
        assert spec is not None and spec.loader is not None
        sys.modules["hub_server"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["hub_server"])
    return sys.modules["hub_server"]


TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "seed": 0, "device": "cpu"}
ALICE, BOB, READER = (
    "hf_CatalogueAlice0123456789abcdefgh",
    "hf_CatalogueBob0123456789abcdefghij",
    "hf_CatalogueRead0123456789abcdefgh",
)
SCOPED = "hf_CatalogueScoped0123456789abcdefg"
REPO = "alice/ppo-CartPole-v1"


@dataclass
class World:
    """One fault's working folder: a saved agent, a checkpoint, a registry with version 1."""

    root: Path
    agent: StableBaselinesAgent
    nan_agent: StableBaselinesAgent
    hub: Any

    @property
    def saved(self) -> Path:
        return self.root / "saved" / "agent.zip"

    @property
    def checkpoint(self) -> Path:
        return self.root / "saved" / "checkpoint.zip"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def version(self) -> Path:
        return self.registry / "ppo" / "v1"

    def local(self, **upload: Any) -> LocalConnector:
        config = LocalUploadConfig(agent_name="ppo", n_eval_episodes=1, video_length=5, **upload)
        return LocalConnector(config, registry_path=self.registry)

    def local_download(self, version: int | str = "latest") -> Path:
        return LocalConnector(
            download_config=LocalDownloadConfig("ppo", version), registry_path=self.registry
        ).download()

    def hugging_face(self, repository: str = REPO, token: str = ALICE, **changes: Any) -> HuggingFaceConnector:
        config = HuggingFaceUploadConfig(
            repository_id=repository, environment_name="CartPole-v1", model_architecture="PPO", n_eval_episodes=1
        )
        return HuggingFaceConnector(upload_config=config, token=token, retry_wait=0.0, max_retries=1, **changes)

    def edit_metadata(self, **changes: Any) -> None:
        metadata = json.loads((self.version / "metadata.json").read_text())
        (self.version / "metadata.json").write_text(json.dumps({**metadata, **changes}))


@dataclass(frozen=True)
class Fault:
    """A bad input or fault: ``act`` must raise ``error`` with a message matching ``message``.

    :param prepare: tampers with the world before the snapshot (the fault's cause).
    :param leaves: names of folders ``act`` may fill on purpose (e.g. prepared files it names).
    """

    name: str
    act: Callable[[World], object]
    error: type[BaseException]
    message: str
    prepare: Callable[[World], object] | None = None
    leaves: tuple[str, ...] = ()


# -- small helpers the faults use -------------------------------------------------------------
class Poisoned(gym.Wrapper):
    """CartPole that returns a NaN reward or an infinite observation at its 5th step."""

    def __init__(self, what: str) -> None:
        super().__init__(gym.make("CartPole-v1"))
        self.what, self.steps = what, 0

    def step(self, action: Any) -> Any:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps == 5:
            reward = float("nan") if self.what == "reward" else reward
            observation = np.full_like(observation, np.inf) if self.what == "observation" else observation
        return observation, reward, terminated, truncated, info


class BrokenOnReset(gym.Wrapper):
    def reset(self, **kwargs: Any) -> Any:
        raise RuntimeError("the simulator is down")


def broken_on_reset() -> gym.Env:
    return BrokenOnReset(gym.make("CartPole-v1"))


def crash_subprocess(world: World) -> None:
    vec_env = NamedSubprocVecEnv([broken_on_reset], ["'broken_on_reset'"], start_method="fork")
    try:
        vec_env.reset()
    finally:
        vec_env.close()


def train(algorithm: str = "PPO", **arguments: Any) -> Callable[[World], object]:
    def act(world: World) -> None:
        parameters = dict(TINY_PPO) if algorithm == "PPO" else {"device": "cpu"}
        defaults: dict[str, Any] = {
            "training_environments": "CartPole-v1",
            "total_timesteps": 64,
            "progress_bar": False,
        }
        StableBaselinesAgent(algorithm, parameters).train(**{**defaults, **arguments})

    return act


def episodes_with_action(action: int) -> EpisodeSequence:
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=0)
    steps = []
    for _ in range(3):
        next_observation, reward, terminated, truncated, info = env.step(0)
        steps.append((observation, action, next_observation, reward, terminated, truncated, info))
        observation = next_observation
    return EpisodeSequence.from_episodes([steps])


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def fake_session(world: World, uri: str, recorded_hash: str | None = None) -> Path:
    """An offline ClearML session whose task.json lists one 'agent' artifact at ``uri``."""
    folder = world.root / "session"
    write(folder / "data" / "agent.zip", world.saved.read_bytes())
    artifact = {"key": "agent", "uri": uri, "hash": recorded_hash}
    (folder / "task.json").write_text(
        json.dumps({"offline_folder": "/recorded", "execution": {"artifacts": [artifact]}})
    )
    return folder


def clearml_download(world: World) -> Path:
    config = ClearMLDownloadConfig(offline_session=world.root / "session", destination=world.root / "downloaded")
    return ClearMLConnector(download_config=config).download()


def clearml_unconfigured(world: World) -> None:
    from clearml import Task
    from clearml.config import ConfigWrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Task, "_offline_mode", False)
        patch.setattr(Task, "current_task", classmethod(lambda cls: None))
        patch.setattr(ConfigWrapper, "_config", None)
        patch.setenv("CLEARML_CONFIG_FILE", str(world.root / "no-clearml.conf"))
        patch.setenv("HOME", str(world.root / "home"))
        for name in ("CLEARML_API_ACCESS_KEY", "CLEARML_AUTH_TOKEN", "TRAINS_API_ACCESS_KEY"):
            patch.delenv(name, raising=False)
        train(connector=ClearMLConnector())(world)


def hub_download(file_name: str, drops: int = 0) -> Callable[[World], object]:
    def act(world: World) -> Path:
        world.hub.drop_next_downloads(drops)
        config = HuggingFaceDownloadConfig(REPO, file_name)
        return HuggingFaceConnector(download_config=config, max_retries=1, retry_wait=0.0).download()

    return act


def commit_fails(status: int) -> Callable[[World], object]:
    def act(world: World) -> str:
        world.hub.fail_next("commit", 5, status=status)
        return world.agent.upload(world.hugging_face(local_directory=world.root / "hf_local"))

    return act


SAVE_FIX = "Make it writable|save to another path"
FAULTS = [
    # -- saving ----------------------------------------------------------------------------------
    Fault(
        "save onto a read-only file",
        lambda w: w.agent.save_to_file(w.saved),
        PermissionError,
        r"'.*agent\.zip': the file is read-only.*chmod u\+w",
        prepare=lambda w: w.saved.chmod(0o444),
    ),
    Fault(
        "save onto a folder",
        lambda w: w.agent.save_to_file(w.root / "saved"),
        IsADirectoryError,
        r"Cannot save to '.*saved': it is a folder\. Give a file path",
    ),
    Fault(
        "save an untrained agent",
        lambda w: StableBaselinesAgent("PPO").save_to_file(w.root / "new.zip"),
        RuntimeError,
        r"no model yet: call train\(\.\.\.\) or load_from_file",
    ),
    Fault(
        "save a NaN model",
        lambda w: w.nan_agent.save_to_file(w.root / "nan.zip"),
        NonFiniteError,
        r"Refusing to save the agent: its model holds NaN.*Fix that.*force=True",
    ),
    Fault(
        "checkpoint a NaN model",
        lambda w: w.nan_agent.save_checkpoint(w.root / "nan.zip"),
        NonFiniteError,
        r"Refusing to checkpoint the agent.*force=True",
    ),
    Fault(
        "checkpoint onto a read-only file",
        lambda w: w.agent.save_checkpoint(w.checkpoint),
        PermissionError,
        r"read-only.*chmod u\+w",
        prepare=lambda w: w.checkpoint.chmod(0o444),
    ),
    # -- loading ---------------------------------------------------------------------------------
    Fault(
        "load a missing file",
        lambda w: StableBaselinesAgent("PPO").load_from_file(w.root / "nope.zip"),
        FileNotFoundError,
        r"No agent file at '.*nope\.zip'\. Check the path",
    ),
    Fault(
        "load a truncated zip",
        lambda w: StableBaselinesAgent("PPO").load_from_file(w.root / "cut.zip"),
        ValueError,
        r"truncated or corrupt.*(save|download) it again",
        prepare=lambda w: write(w.root / "cut.zip", w.saved.read_bytes()[: w.saved.stat().st_size // 2]),
    ),
    Fault(
        "load a text file",
        lambda w: StableBaselinesAgent("PPO").load_from_file(w.root / "notes.zip"),
        ValueError,
        r"not a complete zip file.*truncated or corrupt",
        prepare=lambda w: write(w.root / "notes.zip", b"hello"),
    ),
    Fault(
        "load a bit-flipped zip",
        lambda w: StableBaselinesAgent("PPO").load_from_file(w.root / "flip.zip"),
        ValueError,
        r"is corrupt: its member 'policy.pth' fails its checksum.*again",
        prepare=lambda w: write(w.root / "flip.zip", flip_byte_in(w.saved, "policy.pth")),
    ),
    Fault(
        "load a PPO file into A2C",
        lambda w: StableBaselinesAgent("A2C").load_from_file(w.saved),
        ValueError,
        r"holds a PPO model .*not a A2C one\. Load it with StableBaselinesAgent\('PPO'\)",
    ),
    Fault(
        "load a PPO file into DQN",
        lambda w: StableBaselinesAgent("DQN").load_from_file(w.saved),
        ValueError,
        r"holds a PPO model .*StableBaselinesAgent\('PPO'\)",
    ),
    Fault(
        "load a zip that is no agent",
        lambda w: StableBaselinesAgent("PPO").load_from_file(w.root / "other.zip"),
        ValueError,
        r"no 'data' member.*Check the path",
        prepare=lambda w: write_zip(w.root / "other.zip"),
    ),
    Fault(
        "resume a plain agent file",
        lambda w: StableBaselinesAgent.resume(w.saved),
        ValueError,
        r"not an rl_framework checkpoint.*plain agent file\. Load it with load_from_file",
    ),
    Fault(
        "resume a truncated checkpoint",
        lambda w: StableBaselinesAgent.resume(w.root / "cut.zip"),
        ValueError,
        r"truncated or corrupt",
        prepare=lambda w: write(w.root / "cut.zip", w.checkpoint.read_bytes()[:-300]),
    ),
    Fault(
        "resume a missing checkpoint",
        lambda w: StableBaselinesAgent.resume(w.root / "nope.zip"),
        FileNotFoundError,
        r"No checkpoint at '.*nope\.zip'\. Check the path",
    ),
    # -- training --------------------------------------------------------------------------------
    Fault(
        "NaN reward from the environment",
        train(training_environments=lambda: Poisoned("reward")),
        NonFiniteError,
        r"step 5: the training environment 'CartPole-v1' \(copy 0\) returned a reward that is NaN"
        r".*Fix the environment",
    ),
    Fault(
        "infinite observation",
        train(training_environments=lambda: Poisoned("observation")),
        NonFiniteError,
        r"'CartPole-v1' \(copy 0\) returned an observation that is NaN or infinite.*wrap it to clip",
    ),
    Fault("zero budget", train(total_timesteps=0), ValueError, r"total_timesteps must be a positive int.*e\.g\."),
    Fault(
        "unknown vectorization",
        train(vectorization="threads"),
        ValueError,
        r"vectorization must be 'dummy' or 'subprocess', got 'threads'",
    ),
    Fault(
        "DQN on a continuous action space",
        train("DQN", training_environments="Pendulum-v1"),
        ValueError,
        r"DQN does not support the action space.*Algorithms for Box: .*SAC",
    ),
    Fault(
        "callback of a wrong type",
        train(callback=42),
        TypeError,
        r"callback must be an SB3 BaseCallback, a function \(locals, globals\) -> bool, or a list",
    ),
    Fault("no environment copies", train(n_envs=0), ValueError, r"n_envs must be a positive int"),
    Fault(
        "training with a Hub connector but no token",
        lambda w: train(connector=w.hugging_face(token=None))(w),
        PermissionError,
        r"No HuggingFace token found.*HF_TOKEN.*hf auth login",
    ),
    Fault(
        "training with ClearML but no configuration",
        clearml_unconfigured,
        PermissionError,
        r"ClearML is not configured.*clearml-init.*Task.set_offline\(True\)",
    ),
    Fault(
        "environment crashing in its subprocess",
        crash_subprocess,
        EnvironmentProcessError,
        r"'broken_on_reset' \(copy 0\) failed in its subprocess.*vectorization=\"dummy\"",
    ),
    Fault(
        "demonstrations from another environment",
        lambda w: ImitationAgent("BC").train(episodes_with_action(2), "CartPole-v1", 64, progress_bar=False),
        ValueError,
        r"action 2, which the environment's action space Discrete\(2\) cannot take.*another environment",
    ),
    Fault(
        "demonstrations of another shape",
        lambda w: ImitationAgent("BC").train(episodes_with_action(0), "Pendulum-v1", 64, progress_bar=False),
        ValueError,
        r"observations have shape \(4,\) but the environment's observation space.*Train in the",
    ),
    # -- local registry --------------------------------------------------------------------------
    Fault(
        "agent file named metadata.json",
        lambda w: w.local(agent_file_name="metadata.json"),
        ValueError,
        r"agent_file_name 'metadata.json' collides with another file.*'agent.zip'",
    ),
    Fault(
        "agent file named ..",
        lambda w: w.local(agent_file_name=".."),
        ValueError,
        r"agent_file_name must be a plain file name.*'agent.zip'",
    ),
    Fault(
        "agent file in a sub-folder",
        lambda w: w.local(agent_file_name="x/agent.zip"),
        ValueError,
        r"must be a plain file name \(no folder",
    ),
    Fault(
        "agent file sharing the video's stem",
        lambda w: w.local(agent_file_name="replay.zip"),
        ValueError,
        r"collides with another file of the upload",
    ),
    Fault(
        "metadata pointing outside the registry",
        lambda w: w.local_download(),
        ValueError,
        r"names the agent file '\.\./\.\./\.\./saved/agent.zip', which is not a file inside the version folder",
        prepare=lambda w: w.edit_metadata(agent_file="../../../saved/agent.zip"),
    ),
    Fault(
        "metadata with an absolute path",
        lambda w: w.local_download(),
        ValueError,
        r"not a file inside the version folder.*versions: 1",
        prepare=lambda w: w.edit_metadata(agent_file=str(w.saved)),
    ),
    Fault(
        "missing metadata",
        lambda w: w.local_download(),
        ValueError,
        r"has no metadata.json: the version is incomplete.*Upload the agent again",
        prepare=lambda w: (w.version / "metadata.json").unlink(),
    ),
    Fault(
        "corrupt metadata",
        lambda w: w.local_download(),
        ValueError,
        r"is corrupt \(not JSON.*Upload the agent again",
        prepare=lambda w: (w.version / "metadata.json").write_text('{"agent_file": '),
    ),
    Fault(
        "planted companion file",
        lambda w: w.local_download(),
        ValueError,
        r"'.*agent.vecnormalize.pkl' lies beside the agent file but is not recorded.*Remove it",
        prepare=lambda w: write(w.version / "agent.vecnormalize.pkl", b"payload"),
    ),
    Fault(
        "modified agent file",
        lambda w: w.local_download(),
        ValueError,
        r"agent.zip' is corrupt or was modified: its sha256 is",
        prepare=lambda w: append(w.version / "agent.zip"),
    ),
    Fault("unknown version", lambda w: w.local_download(7), LookupError, r"no version 7 .* Versions: 1"),
    Fault(
        "upload a NaN model",
        lambda w: w.nan_agent.upload(w.local()),
        NonFiniteError,
        r"Refusing to upload the agent.*pass force=True",
    ),
    Fault(
        "upload with a video env that cannot render",
        lambda w: w.agent.upload(w.local(), "CartPole-v1", gym.make("CartPole-v1")),
        ValueError,
        r"render_mode=None; recording a video needs .*rgb_array",
    ),
    Fault(
        "upload without upload config",
        lambda w: w.agent.upload(LocalConnector(registry_path=w.registry)),
        ValueError,
        r"no upload_config: create it with.*LocalUploadConfig\(agent_name=",
    ),
    # -- HuggingFace Hub -------------------------------------------------------------------------
    Fault(
        "read-only Hub token",
        lambda w: w.agent.upload(w.hugging_face(token=READER), "CartPole-v1"),
        PermissionError,
        r"is read-only\..*write access",
    ),
    Fault(
        "token of another user for an existing repo",
        lambda w: w.agent.upload(w.hugging_face(token=BOB), "CartPole-v1"),
        PermissionError,
        r"may not create or write 'alice/ppo-CartPole-v1': the token belongs to 'bob'.*own namespace",
    ),
    Fault(
        "fine-grained token without repo.write",
        lambda w: w.agent.upload(w.hugging_face(token=SCOPED), "CartPole-v1"),
        PermissionError,
        r"fine-grained token without the 'repo.write' permission",
    ),
    Fault(
        "connection dropped during every download",
        hub_download("config.json", drops=5),
        ConnectionError,
        r"download 'config.json' from 'alice/ppo-CartPole-v1'.*failed 2 times.*Check your connection",
    ),
    Fault(
        "file not in the repository",
        hub_download("missing.zip"),
        FileNotFoundError,
        r"'missing.zip' is not in 'alice/ppo-CartPole-v1'.*Set file_name to one of them",
    ),
    Fault(
        "Hub keeps failing the commit",
        commit_fails(503),
        ConnectionError,
        r"push the agent to 'alice/ppo-CartPole-v1'.*failed 2 times.*kept in '.*hf_local",
        leaves=("hf_local",),
    ),
    Fault(
        "Hub refuses the commit",
        commit_fails(403),
        PermissionError,
        r"refused to write 'alice/ppo-CartPole-v1'.*Use a token with write access",
        leaves=("hf_local",),
    ),
    # -- ClearML ---------------------------------------------------------------------------------
    Fault(
        "offline session pointing at a local file",
        clearml_download,
        ValueError,
        r"points at '.*agent.zip', outside the session folder.*Export the session again",
        prepare=lambda w: fake_session(w, str(w.saved)),
    ),
    Fault(
        "offline artifact that fails ClearML's hash",
        clearml_download,
        ValueError,
        r"artifact 'agent' is corrupt or was modified.*Upload it again",
        prepare=lambda w: fake_session(w, "/recorded/data/agent.zip", "0" * 64),
    ),
    Fault(
        "ClearML download config without a source",
        lambda w: ClearMLDownloadConfig(),
        ValueError,
        r"needs exactly one of task_id, offline_session or model_id.*Example",
    ),
    # -- data and videos -------------------------------------------------------------------------
    Fault(
        "episodes from a missing folder",
        lambda w: EpisodeSequence.from_dataset(w.root / "demos"),
        FileNotFoundError,
        r"No trajectory dataset at '.*demos'\. Check the path, or record episodes first",
    ),
    Fault(
        "video of an env without frames",
        lambda w: record_video(w.agent, gym.make("CartPole-v1"), w.root / "replay.mp4", n_steps=5),
        ValueError,
        r"render_mode.*rgb_array",
    ),
]


def flip_byte_in(file: Path, member: str) -> bytes:
    """``file``'s bytes with one byte inside the stored ``member`` inverted (its checksum then fails)."""
    with zipfile.ZipFile(file) as archive:
        info = archive.getinfo(member)
    content = bytearray(file.read_bytes())
    content[info.header_offset + 30 + len(member) + info.compress_size // 2] ^= 0xFF
    return bytes(content)


def write_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not an agent")


def append(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"bit rot")


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder below ``root`` (hidden ones included) with the sha256 of each file.

    SB3's own logger makes an empty ``SB3-<date>`` folder in the temp folder whenever ``learn``
    starts (SB3's behaviour, the same for a successful run); those are not counted.
    """
    entries = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("tmp/SB3-"):
            continue
        entries[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return entries


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, trained_ppo_agent: StableBaselinesAgent) -> Path:
    """The stored state every fault starts from: a saved agent, a checkpoint, a registry with v1."""
    root = tmp_path_factory.mktemp("template")
    trained_ppo_agent.save_to_file(root / "saved" / "agent.zip")
    trained_ppo_agent.save_checkpoint(root / "saved" / "checkpoint.zip")
    trained_ppo_agent.upload(LocalConnector(LocalUploadConfig(agent_name="ppo"), registry_path=root / "registry"))
    (root / "tmp").mkdir()
    return root


@pytest.fixture(scope="module")
def nan_agent() -> StableBaselinesAgent:
    agent = StableBaselinesAgent("PPO", dict(TINY_PPO))
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert agent.model is not None
    with torch.no_grad():
        next(agent.model.policy.parameters()).fill_(float("nan"))
    return agent


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, trained_ppo_agent: StableBaselinesAgent) -> Iterator[Any]:
    """The stand-in Hub with alice's repository holding the trained agent."""
    hub_server = _load_hub_server()
    server = hub_server.HubServer(
        {ALICE: ("alice", "write"), BOB: ("bob", "write"), READER: ("alice", "read"), SCOPED: ("alice", "fineGrained")},
        scopes={SCOPED: [(REPO, ("repo.content.read",))]},
    ).start()
    with pytest.MonkeyPatch.context() as patch:
        hub_server.point_huggingface_hub_at(server, tmp_path_factory.mktemp("hf_home"), patch)
        config = HuggingFaceUploadConfig(
            repository_id=REPO, environment_name="CartPole-v1", model_architecture="PPO", n_eval_episodes=1
        )
        trained_ppo_agent.upload(HuggingFaceConnector(upload_config=config, token=ALICE))
        yield server
    server.stop()


def test_the_catalogue_covers_at_least_forty_faults() -> None:
    assert len(FAULTS) >= 40
    assert len({fault.name for fault in FAULTS}) == len(FAULTS)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault_is_named_and_loses_nothing(
    fault: Fault,
    template: Path,
    trained_ppo_agent: StableBaselinesAgent,
    nan_agent: StableBaselinesAgent,
    hub: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(Path(shutil.copytree(template, tmp_path / "world")), trained_ppo_agent, nan_agent, hub)
    monkeypatch.setattr(tempfile, "tempdir", str(world.root / "tmp"))  # leftover temporary folders show up
    monkeypatch.delenv("HF_TOKEN", raising=False)
    if fault.prepare is not None:
        fault.prepare(world)
    before = snapshot(world.root)
    commits = len(hub.commit_messages(REPO))

    with pytest.raises(fault.error, match=fault.message):
        fault.act(world)

    after = {name: digest for name, digest in snapshot(world.root).items() if name.split("/")[0] not in fault.leaves}
    assert after == {name: digest for name, digest in before.items() if name.split("/")[0] not in fault.leaves}
    assert len(hub.commit_messages(REPO)) == commits
    for path in (world.saved, world.checkpoint, world.version / "agent.zip"):
        if not os.access(path, os.R_OK) or fault.prepare is not None:
            continue  # tampered with on purpose
        StableBaselinesAgent("PPO").load_from_file(path)
    if fault.prepare is None:
        assert world.local_download() == world.version / "agent.zip"
