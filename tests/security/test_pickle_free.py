"""Crafted files that run code when unpickled: never run without ``allow_pickle=True``, on every load path.

Every payload is harmless: unpickling it creates a marker folder (``os.makedirs``). Each test
asserts the marker never appears without the opt-in. Where the opt-in is the documented way to
read a legitimate old file, the test shows that works too; for SB3's own loader it also shows
the payload is live (the opt-in really unpickles), so the "never" above is not vacuous.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from imitation.data import serialize, types
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
from test_huggingface import TOKEN  # the Hub stand-in's write token (tests/security/conftest.py)

from rl_framework.agent import BaseAgent, ImitationAgent, StableBaselinesAgent
from rl_framework.data import EpisodeSequence
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
from rl_framework.util.files import atomic_write_bytes
from rl_framework.util.safe_classes import UnsafeContentError

OBSERVATIONS = np.random.default_rng(7).uniform(-0.2, 0.2, size=(16, 4)).astype(np.float32)


class Payload:
    """Unpickling this runs ``os.makedirs(marker)``: the stand-in for an attacker's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return os.makedirs, (self.marker,)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """Where the payload leaves its trace if it ever runs."""
    return tmp_path / "PAYLOAD_RAN"


# -- crafting ---------------------------------------------------------------------------------------
def plain_zip() -> bytes:
    """A genuine plain SB3 zip (``PPO.save``)."""
    buffer = io.BytesIO()
    PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu").save(buffer)
    return buffer.getvalue()


def replaced(zip_bytes: bytes, members: dict[str, bytes]) -> bytes:
    """A copy of a zip with some members replaced."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as source:
        content = {name: source.read(name) for name in source.namelist()}
    content.update(members)
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    return target.getvalue()


def member(zip_bytes: bytes, name: str) -> Any:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return json.loads(archive.read(name))


def with_pickled_sb3_value(zip_bytes: bytes, key: str, marker: Path, keep_readable: bool) -> bytes:
    """SB3's ``data`` with ``key`` pickled as the payload (its readable copy kept or dropped)."""
    data = member(zip_bytes, "data")
    readable = (
        {name: value for name, value in data[key].items() if keep_readable} if isinstance(data[key], dict) else {}
    )
    payload = base64.b64encode(pickle.dumps(Payload(marker))).decode()
    data[key] = {":type:": "<class 'dict'>", **readable, ":serialized:": payload}
    return replaced(zip_bytes, {"data": json.dumps(data).encode()})


def torch_payload(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"weight": Payload(marker)}, buffer)
    return buffer.getvalue()


def sb3_crafts(marker: Path, own: bytes) -> dict[str, tuple[dict[str, bytes], str | None]]:
    """Crafted StableBaselinesAgent files: name -> (``{suffix: bytes}``, expected refusal or None = loads)."""
    plain = plain_zip()
    header = member(own, "rl_framework.json")
    evil_class = {**header, "data": {**header["data"], "policy_class": {"$type": "class", "name": "os:system"}}}
    evil_object = {
        **header,
        "data": {**header["data"], "clip_range": {"$type": "object", "class": "os:makedirs", "fields": {}}},
    }
    return {
        "SB3 data, pickled space with readable copy": (
            {".zip": with_pickled_sb3_value(plain, "observation_space", marker, keep_readable=True)},
            None,  # read from the readable copy: loads, the pickle is never touched
        ),
        "SB3 data, pickled policy kwargs": (
            {".zip": with_pickled_sb3_value(plain, "policy_kwargs", marker, keep_readable=False)},
            r"policy_kwargs is stored only as a pickle.*allow_pickle=True",
        ),
        "policy.pth": ({".zip": replaced(plain, {"policy.pth": torch_payload(marker)})}, "objects other than tensors"),
        "pytorch_variables.pth": (
            {".zip": replaced(plain, {"pytorch_variables.pth": torch_payload(marker)})},
            "objects other than tensors",
        ),
        "our JSON naming os:system": (
            {".zip": replaced(own, {"rl_framework.json": json.dumps(evil_class).encode()})},
            r"'os:system'.* not on rl_framework's allowlist",
        ),
        "our JSON building os:makedirs": (
            {".zip": replaced(own, {"rl_framework.json": json.dumps(evil_object).encode()})},
            "not one of the objects rl_framework rebuilds",
        ),
        "our zip with a pickle in SB3's data": (
            {".zip": with_pickled_sb3_value(own, "observation_space", marker, keep_readable=False)},
            None,  # our JSON describes everything: SB3's data is not read
        ),
        ".vecnormalize.pkl beside a plain zip": (
            {".zip": plain, ".vecnormalize.pkl": pickle.dumps(Payload(marker))},
            r"pickle '.*\.vecnormalize\.pkl'.*allow_pickle=True",
        ),
    }


class CraftedAgent(BaseAgent):
    """Uploads prepared bytes as its agent file and companions: a stranger's agent on its way to you."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(algorithm_class=None)
        self.files = files

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return np.int64(0)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        path = Path(file_path)
        written = [atomic_write_bytes(path, self.files[".zip"])]
        for suffix, content in self.files.items():
            if suffix != ".zip":
                written.append(atomic_write_bytes(path.with_name(path.stem + suffix), content))
        return written

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: Any = None) -> None:
        raise NotImplementedError("only uploads")


def check_load(load: Callable[[], Any], refusal: str | None, marker: Path) -> None:
    """``load()`` refuses with ``refusal`` (or succeeds when ``None``); the payload never runs."""
    if refusal is None:
        load()
    else:
        with pytest.raises(UnsafeContentError, match=refusal):
            load()
    assert not marker.exists()


# -- StableBaselinesAgent files: load_from_file and the three connectors --------------------------------
def test_crafted_agent_files_never_run_through_load_from_file(trained_ppo_agent, marker: Path, tmp_path: Path) -> None:
    own = trained_ppo_agent.save_to_file(tmp_path / "own.zip")[0].read_bytes()
    for name, (files, refusal) in sb3_crafts(marker, own).items():
        folder = tmp_path / name.replace(" ", "_").replace("/", "_")
        CraftedAgent(files).save_to_file(folder / "agent.zip")
        agent = StableBaselinesAgent("PPO")
        check_load(lambda folder=folder, agent=agent: agent.load_from_file(folder / "agent.zip"), refusal, marker)
    # The payloads are live: with the opt-in SB3's own loader unpickles its data, the payload runs (and
    # returns nothing SB3 can use, so SB3 fails afterwards).
    with pytest.raises(ValueError, match="not a Gymnasium space"):
        StableBaselinesAgent("PPO").load_from_file(
            tmp_path / "SB3_data,_pickled_space_with_readable_copy" / "agent.zip", allow_pickle=True
        )
    assert marker.exists()


def test_crafted_files_never_run_through_a_local_registry_download(trained_ppo_agent, marker: Path, tmp_path) -> None:
    own = trained_ppo_agent.save_to_file(tmp_path / "own.zip")[0].read_bytes()
    registry = tmp_path / "registry"
    for index, (files, refusal) in enumerate(sb3_crafts(marker, own).values()):
        CraftedAgent(files).upload(
            LocalConnector(LocalUploadConfig(agent_name=f"crafted-{index}"), registry_path=registry)
        )
        download = LocalConnector(download_config=LocalDownloadConfig(f"crafted-{index}"), registry_path=registry)
        check_load(lambda download=download: StableBaselinesAgent("PPO").download(download), refusal, marker)


def test_crafted_files_never_run_through_a_hub_download(hub, trained_ppo_agent, marker: Path, tmp_path) -> None:
    own = trained_ppo_agent.save_to_file(tmp_path / "own.zip")[0].read_bytes()
    crafts = sb3_crafts(marker, own)
    for name in (
        "SB3 data, pickled policy kwargs",
        "policy.pth",
        "our JSON naming os:system",
        ".vecnormalize.pkl beside a plain zip",
    ):
        files, refusal = crafts[name]
        config = HuggingFaceUploadConfig("alice/crafted-agent", "CartPole-v1", "PPO", n_eval_episodes=1, video_length=2)
        CraftedAgent(files).upload(HuggingFaceConnector(upload_config=config, token=TOKEN))
        download = HuggingFaceConnector(
            download_config=HuggingFaceDownloadConfig("alice/crafted-agent", "ppo-CartPole-v1.zip")
        )
        check_load(lambda download=download: StableBaselinesAgent("PPO").download(download), refusal, marker)


def test_crafted_files_never_run_through_a_clearml_offline_download(
    offline_folder, trained_ppo_agent, marker: Path, tmp_path
) -> None:
    own = trained_ppo_agent.save_to_file(tmp_path / "own.zip")[0].read_bytes()
    crafts = sb3_crafts(marker, own)
    for index, name in enumerate(("SB3 data, pickled policy kwargs", ".vecnormalize.pkl beside a plain zip")):
        files, refusal = crafts[name]
        with ClearMLConnector(
            ClearMLUploadConfig(
                project_name="security", task_name=f"crafted-{index}", environment_name="CartPole-v1", n_eval_episodes=1
            )
        ) as upload:
            task_id = CraftedAgent(files).upload(upload)
        config = ClearMLDownloadConfig(task_id=task_id, destination=tmp_path / f"download-{index}")
        check_load(
            lambda config=config: StableBaselinesAgent("PPO").download(ClearMLConnector(download_config=config)),
            refusal,
            marker,
        )


def test_own_uploads_and_legit_old_files_load(vecnormalize_agent, tmp_path: Path) -> None:
    agent, training_env = vecnormalize_agent
    registry = tmp_path / "registry"
    agent.upload(LocalConnector(LocalUploadConfig(agent_name="own"), registry_path=registry))
    restored = StableBaselinesAgent("PPO")
    restored.download(LocalConnector(download_config=LocalDownloadConfig("own"), registry_path=registry))  # no opt-in
    np.testing.assert_array_equal(
        restored.choose_action(OBSERVATIONS, deterministic=True), agent.choose_action(OBSERVATIONS, deterministic=True)
    )
    # What an earlier rl_framework uploaded: SB3's zip plus a pickled VecNormalize beside it.
    old_statistics = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    old_statistics.obs_rms = training_env.obs_rms
    buffer, pickled = io.BytesIO(), tmp_path / "statistics.pkl"
    agent.model.save(buffer)
    old_statistics.save(str(pickled))
    old = CraftedAgent({".zip": buffer.getvalue(), ".vecnormalize.pkl": pickled.read_bytes()})
    old.upload(LocalConnector(LocalUploadConfig(agent_name="old"), registry_path=registry))
    download = LocalConnector(download_config=LocalDownloadConfig("old"), registry_path=registry)
    with pytest.raises(UnsafeContentError, match="allow_pickle=True"):
        StableBaselinesAgent("PPO").download(download)
    trusted = StableBaselinesAgent("PPO")
    trusted.download(download, allow_pickle=True)
    np.testing.assert_array_equal(
        trusted.choose_action(OBSERVATIONS, deterministic=True), agent.choose_action(OBSERVATIONS, deterministic=True)
    )


# -- ImitationAgent files ---------------------------------------------------------------------------
def test_crafted_imitation_agent_files_never_run(marker: Path, tmp_path: Path) -> None:
    episodes = EpisodeSequence.from_agent(lambda observation: int(observation[2] > 0), "CartPole-v1", 2, seed=0)
    agent = ImitationAgent("BC", {"batch_size": 32, "seed": 0})
    agent.train(episodes, "CartPole-v1", total_timesteps=32)
    own = agent.save_to_file(tmp_path / "own.zip")[0].read_bytes()
    header = member(own, "rl_framework_imitation.json")
    old_header = json.dumps({**header, "format_version": 1}).encode()
    crafts = {
        "pickle as weights": (replaced(own, {"policy.pth": torch_payload(marker)}), ValueError, "not a plain tensor"),
        "format 1": (
            replaced(own, {"rl_framework_imitation.json": old_header, "policy.pth": torch_payload(marker)}),
            UnsafeContentError,
            "format 1.*allow_pickle=True",
        ),
    }
    registry = tmp_path / "registry"
    for index, (content, error, message) in enumerate(crafts.values()):
        path = atomic_write_bytes(tmp_path / f"crafted-{index}.zip", content)
        with pytest.raises(error, match=message):
            ImitationAgent("BC").load_from_file(path)
        CraftedAgent({".zip": content}).upload(
            LocalConnector(LocalUploadConfig(agent_name=f"il-{index}"), registry_path=registry)
        )
        with pytest.raises(error, match=message):
            ImitationAgent("BC").download(
                LocalConnector(download_config=LocalDownloadConfig(f"il-{index}"), registry_path=registry)
            )
        assert not marker.exists()


# -- episode datasets -----------------------------------------------------------------------------------
def test_crafted_episode_infos_never_run_without_the_opt_in(marker: Path, tmp_path: Path) -> None:
    observations = np.zeros((4, 4), dtype=np.float32)
    infos = np.array([{}, {"note": Payload(marker)}, {}], dtype=object)
    episode = types.TrajectoryWithRew(observations, np.zeros(3, dtype=np.int64), infos, True, np.ones(3, np.float32))
    serialize.save(tmp_path / "episodes", [episode])  # jsonpickle writes the payload as py/reduce
    assert not marker.exists()
    with pytest.raises(UnsafeContentError, match=r"jsonpickle 'py/reduce'.*allow_pickle=True"):
        EpisodeSequence.from_dataset(tmp_path / "episodes")  # refused when opened, before any training
    assert not marker.exists()

    (tmp_path / "old.pkl").write_bytes(pickle.dumps([episode]))  # imitation's old pickle format
    with pytest.raises(UnsafeContentError, match=r"old.pkl' is a file.*allow_pickle=True"):
        EpisodeSequence.from_dataset(tmp_path / "old.pkl")
    assert not marker.exists()

    list(EpisodeSequence.from_dataset(tmp_path / "episodes", allow_pickle=True))  # the opt-in: jsonpickle decodes
    assert marker.exists()  # the payload was live
