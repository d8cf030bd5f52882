"""The ``ImitationAgent`` file: a zip of a JSON header and the policy's weights, read without unpickling.

Layout::

    agent.zip
    ├── rl_framework_imitation.json   {"format": ..., "format_version": 2, "algorithm": "BC",
    │                                  "policy_class": "stable_baselines3.common.policies:ActorCriticPolicy",
    │                                  "policy_parameters": {...constructor arguments as JSON...},
    │                                  "library_versions": {...}}
    ├── policy.pth                    the policy's state_dict: tensors only, read with
    │                                 ``torch.load(weights_only=True)``
    ├── reward_net.json               GAIL/AIRL only: the reward network's class and constructor
    └── reward_net.pt                 arguments, and its state_dict (``reward_net_file.py``)

The policy class must be on the allowlist (``util/safe_classes.py``); its constructor arguments
(spaces, network sizes, activation and optimiser classes) are ``util/serialization.py`` JSON.
Version 1 files (earlier rl_framework versions) stored ``BasePolicy.save`` output, a pickle: they
are read only with ``allow_pickle=True``.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import ConstantSchedule, get_device

from rl_framework.agent.imitation.imitation.reward_net_file import HEADER_MEMBER as REWARD_NET_HEADER
from rl_framework.agent.imitation.imitation.reward_net_file import WEIGHTS_MEMBER as REWARD_NET_WEIGHTS
from rl_framework.agent.imitation.imitation.reward_net_file import SavedRewardNet
from rl_framework.util.files import atomic_write_bytes, require_existing_file
from rl_framework.util.safe_classes import UnsafeContentError, class_reference, resolve_class
from rl_framework.util.serialization import Unreadable, from_json, is_unreadable, to_json

FORMAT = "rl_framework.ImitationAgent"
FORMAT_VERSION = 2
PICKLED_FORMAT_VERSION = 1
HEADER_NAME = "rl_framework_imitation.json"
POLICY_NAME = "policy.pth"
#: Constructor arguments not stored: the policy's own optimiser is never used to train an imitation policy.
UNSTORED_PARAMETERS = ("lr_schedule",)


@dataclass(frozen=True)
class SavedPolicy:
    """What an agent file holds.

    :param algorithm: the algorithm's table name (e.g. ``"BC"``).
    :param policy: the SB3 policy that acts.
    :param reward_net: the learned reward network (GAIL/AIRL), so that training can continue.
    """

    algorithm: str
    policy: BasePolicy
    reward_net: SavedRewardNet | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.policy, BasePolicy):
            raise TypeError(f"policy must be an SB3 BasePolicy, got {type(self.policy).__name__}.")


def write_agent_file(file_path: str | os.PathLike[str], saved: SavedPolicy) -> Path:
    """Write ``saved`` to ``file_path`` atomically.

    :param file_path: destination, conventionally ending in ``.zip``.
    :param saved: the algorithm name and policy.
    :return: the written path.
    :raises ValueError: when a constructor argument of the policy has no pickle-free form.
    """
    parameters = {
        name: to_json(value)
        for name, value in saved.policy._get_constructor_parameters().items()
        if name not in UNSTORED_PARAMETERS
    }
    unstorable = sorted(name for name, value in parameters.items() if is_unreadable(value))
    if unstorable:
        raise ValueError(
            f"Cannot save the {type(saved.policy).__name__} policy: its constructor arguments {unstorable} have no "
            f"pickle-free form (e.g. a function). Build the policy from classes and plain values instead."
        )
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": saved.algorithm,
        "policy_class": class_reference(type(saved.policy)),
        "policy_parameters": parameters,
        "library_versions": _library_versions(),
    }
    weights = io.BytesIO()
    torch.save({name: tensor.detach().cpu() for name, tensor in saved.policy.state_dict().items()}, weights)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(HEADER_NAME, json.dumps(header, indent=2, allow_nan=False))
        zipped.writestr(POLICY_NAME, weights.getvalue())
        for name, content in (saved.reward_net.members() if saved.reward_net is not None else {}).items():
            zipped.writestr(name, content)
    return atomic_write_bytes(file_path, archive.getvalue())


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in ("rl_framework", "imitation", "stable-baselines3", "gymnasium", "torch"):
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions


def read_agent_file(file_path: str | os.PathLike[str], allow_pickle: bool = False) -> SavedPolicy:
    """Read a file written by ``write_agent_file``; nothing is unpickled unless ``allow_pickle``.

    :param file_path: the agent file.
    :param allow_pickle: also read version 1 files (earlier rl_framework versions), whose policy
        is a pickle: unpickling runs whatever code the file's author put in it.
    :return: the algorithm name and the policy (on the default device).
    :raises FileNotFoundError: when there is no file.
    :raises UnsafeContentError: for a version 1 file without ``allow_pickle``, or a policy class
        outside the allowlist.
    :raises ValueError: when the file is not an intact ImitationAgent file.
    """
    path = require_existing_file(file_path, "agent file")
    try:
        with zipfile.ZipFile(path) as zipped:
            header = json.loads(zipped.read(HEADER_NAME))
            policy_bytes = zipped.read(POLICY_NAME)
            reward_net_members = None
            if REWARD_NET_HEADER in zipped.namelist():  # GAIL/AIRL
                reward_net_members = (zipped.read(REWARD_NET_HEADER), zipped.read(REWARD_NET_WEIGHTS))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as error:
        raise ValueError(
            f"'{path}' is not an ImitationAgent file ({error}). Pass a file written by ImitationAgent.save_to_file; "
            f"it may be corrupt or come from another agent type."
        ) from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"'{path}' has no ImitationAgent header; it was not written by ImitationAgent.save_to_file.")
    version = header.get("format_version")
    if version == PICKLED_FORMAT_VERSION:
        return SavedPolicy(str(header.get("algorithm")), _read_pickled_policy(path, header, policy_bytes, allow_pickle))
    if version != FORMAT_VERSION:
        raise ValueError(
            f"'{path}' has ImitationAgent format version {version!r}; this rl_framework reads versions "
            f"{PICKLED_FORMAT_VERSION} and {FORMAT_VERSION}. Use the rl_framework version that saved it."
        )
    reward_net = None if reward_net_members is None else SavedRewardNet.from_members(*reward_net_members, f"'{path}'")
    return SavedPolicy(str(header.get("algorithm")), _build_policy(path, header, policy_bytes), reward_net)


def _build_policy(path: Path, header: dict[str, Any], policy_bytes: bytes) -> BasePolicy:
    """The policy from its allowlisted class, JSON arguments and tensor-only weights."""
    policy_class = resolve_class(header.get("policy_class"), f"The policy class of '{path}'", BasePolicy)
    parameters = from_json(header.get("policy_parameters"), f"'{path}'")
    if not isinstance(parameters, dict) or any(isinstance(value, Unreadable) for value in parameters.values()):
        raise ValueError(f"'{path}' has damaged policy parameters. Save the agent again.")
    try:
        state_dict = torch.load(io.BytesIO(policy_bytes), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types; UnpicklingError for anything but tensors
        summary = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"Could not load the policy stored in '{path}': the file may be corrupt (its weights are not a plain "
            f"tensor file: {summary})."
        ) from error
    if not isinstance(state_dict, dict) or not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise ValueError(f"Could not load the policy stored in '{path}': the weights are not a state dict (corrupt).")
    try:
        policy = policy_class(**parameters, lr_schedule=ConstantSchedule(0.0))
        policy.load_state_dict(state_dict)
    except (TypeError, ValueError, RuntimeError, KeyError, AssertionError) as error:
        raise ValueError(
            f"Could not load the policy stored in '{path}': {error}. The file may be corrupt or need another "
            f"version of {policy_class.__module__.split('.')[0]}."
        ) from error
    return policy.to(get_device("auto"))


def _read_pickled_policy(path: Path, header: dict[str, Any], policy_bytes: bytes, allow_pickle: bool) -> BasePolicy:
    """A version 1 policy (``BasePolicy.save`` output, a pickle): only for callers who opted in."""
    if not allow_pickle:
        raise UnsafeContentError(
            f"'{path}' was saved by an earlier rl_framework version (ImitationAgent format 1), whose policy is a "
            f"pickle. Unpickling runs whatever code the file's author put in it: pass allow_pickle=True only if you "
            f"trust its source, then save_to_file again to convert it to the pickle-free format."
        )
    policy_class = resolve_class(header.get("policy_class"), f"The policy class of '{path}'", BasePolicy)
    try:
        policy: BasePolicy = policy_class.load(io.BytesIO(policy_bytes))  # type: ignore[attr-defined]
        return policy
    except Exception as error:  # torch/pickle raise many types for damaged data
        raise ValueError(f"Could not load the policy stored in '{path}': {error}. The file may be corrupt.") from error
