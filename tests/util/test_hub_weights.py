"""model.safetensors beside an agent zip: identical actions after a round trip, shared extractors included."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from safetensors import safe_open
from stable_baselines3 import PPO

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.hub_weights import export_hub_files, is_self_contained, load_hub_weights
from rl_framework.util.serialization import from_json


class ImageEnv(gym.Env):
    """Small images: CnnPolicy, whose feature extractor is shared by actor and critic."""

    observation_space = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self.observation_space.sample(), 0.0, False, False, {}


def rebuilt_policy(folder: Path) -> torch.nn.Module:
    """The policy built from the exported JSON description and model.safetensors alone."""
    data = json.loads((folder / "rl_framework.json").read_text())["data"]
    policy_class = from_json(data["policy_class"])
    policy = policy_class(
        from_json(data["observation_space"]),
        from_json(data["action_space"]),
        lambda _: 0.0,
        **from_json(data["policy_kwargs"]),
    )
    policy.load_state_dict(load_hub_weights(folder / "model.safetensors"))
    return policy


def test_a_shared_feature_extractor_round_trips_through_safetensors(tmp_path: Path) -> None:
    PPO("CnnPolicy", ImageEnv(), n_steps=16, batch_size=16, seed=0, device="cpu").save(tmp_path / "plain.zip")
    agent = StableBaselinesAgent.from_file(tmp_path / "plain.zip")
    path = agent.save_to_file(tmp_path / "agent.zip")[0]
    assert is_self_contained(path) and not is_self_contained(tmp_path / "plain.zip")

    export = tmp_path / "hub"
    export.mkdir()
    written = export_hub_files(path, export)
    assert sorted(file.name for file in written) == ["model.safetensors", "rl_framework.json"]
    with safe_open(str(export / "model.safetensors"), framework="pt") as handle:
        stored, aliases = set(handle.keys()), json.loads(handle.metadata()["rl_framework.aliases"])
    assert aliases and all(name.startswith(("pi_features", "vf_features")) for name in aliases)  # stored once
    assert stored.isdisjoint(aliases)

    images = np.random.default_rng(1).integers(0, 256, size=(4, 36, 36, 3), dtype=np.uint8)
    policy = rebuilt_policy(export)
    np.testing.assert_array_equal(
        policy.predict(images, deterministic=True)[0], agent.choose_action(images, deterministic=True)
    )


def test_an_mlp_policy_round_trips_and_other_files_get_nothing(trained_ppo_agent, tmp_path: Path) -> None:
    path = trained_ppo_agent.save_to_file(tmp_path / "agent.zip")[0]
    export_hub_files(path, tmp_path)
    observations = np.random.default_rng(2).normal(size=(8, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        rebuilt_policy(tmp_path).predict(observations, deterministic=True)[0],
        trained_ppo_agent.choose_action(observations, deterministic=True),
    )
    (tmp_path / "notes.txt").write_text("not an agent")
    assert export_hub_files(tmp_path / "notes.txt", tmp_path) == []
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("something.json", "{}")
    assert export_hub_files(tmp_path / "other.zip", tmp_path) == []
