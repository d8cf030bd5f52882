"""The ImitationAgent file: JSON header + tensor-only weights; version 1 (pickled policy) only with the opt-in."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rl_framework.agent import ImitationAgent
from rl_framework.data import EpisodeSequence
from rl_framework.util.safe_classes import UnsafeContentError

OBSERVATIONS = np.random.default_rng(3).normal(size=(32, 4)).astype(np.float32)


@pytest.fixture
def bc_agent(tiny_parameters: dict[str, dict[str, Any]], few_expert_episodes: EpisodeSequence) -> ImitationAgent:
    agent = ImitationAgent("BC", tiny_parameters["BC"])
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32)
    return agent


def rewrite(source: Path, target: Path, header: dict[str, Any] | None = None, policy: bytes | None = None) -> Path:
    """A copy of an agent file with its header and/or policy member replaced."""
    with zipfile.ZipFile(source) as original:
        members = {name: original.read(name) for name in original.namelist()}
    if header is not None:
        members["rl_framework_imitation.json"] = json.dumps(header).encode()
    if policy is not None:
        members["policy.pth"] = policy
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return target


def test_the_file_holds_json_and_tensors_only(bc_agent: ImitationAgent, tmp_path: Path) -> None:
    path = bc_agent.save_to_file(tmp_path / "bc.zip")[0]
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("rl_framework_imitation.json"))
        weights = torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)
    assert header["format_version"] == 2 and header["algorithm"] == "BC"
    assert header["policy_class"] == "stable_baselines3.common.policies:ActorCriticPolicy"
    assert header["policy_parameters"]["observation_space"]["space"] == "Box"
    tanh = {"$type": "class", "name": "torch.nn.modules.activation:Tanh"}
    assert header["policy_parameters"]["activation_fn"] == tanh
    assert weights.keys() == bc_agent.acting_policy().state_dict().keys()


def test_a_version_1_file_needs_the_opt_in_and_converts_on_save(bc_agent: ImitationAgent, tmp_path: Path) -> None:
    good = bc_agent.save_to_file(tmp_path / "bc.zip")[0]
    with zipfile.ZipFile(good) as archive:
        header = json.loads(archive.read("rl_framework_imitation.json"))
    pickled = io.BytesIO()
    bc_agent.acting_policy().save(pickled)  # what earlier versions stored: SB3's BasePolicy.save (a pickle)
    old_header = {**header, "format_version": 1}
    del old_header["policy_parameters"], old_header["library_versions"]
    old = rewrite(good, tmp_path / "old.zip", old_header, pickled.getvalue())

    agent = ImitationAgent("BC")
    with pytest.raises(UnsafeContentError, match=r"ImitationAgent format 1.*pickle.*allow_pickle=True"):
        agent.load_from_file(old)
    agent.load_from_file(old, allow_pickle=True)
    expected = bc_agent.choose_action(OBSERVATIONS, deterministic=True)
    np.testing.assert_array_equal(agent.choose_action(OBSERVATIONS, deterministic=True), expected)
    converted = agent.save_to_file(tmp_path / "converted.zip")[0]
    again = ImitationAgent("BC")
    again.load_from_file(converted)
    np.testing.assert_array_equal(again.choose_action(OBSERVATIONS, deterministic=True), expected)


def test_a_policy_class_outside_the_allowlist_is_refused(bc_agent: ImitationAgent, tmp_path: Path) -> None:
    good = bc_agent.save_to_file(tmp_path / "bc.zip")[0]
    with zipfile.ZipFile(good) as archive:
        header = json.loads(archive.read("rl_framework_imitation.json"))
    crafted = rewrite(good, tmp_path / "crafted.zip", {**header, "policy_class": "subprocess:Popen"})
    with pytest.raises(UnsafeContentError, match=r"class .*'subprocess:Popen'.* not on rl_framework's allowlist"):
        ImitationAgent("BC").load_from_file(crafted)
