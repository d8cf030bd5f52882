"""The ``ImitationAgent`` file: a zip of a small JSON header and the policy in SB3's policy format.

Layout::

    agent.zip
    ├── rl_framework_imitation.json   {"format": ..., "format_version": 1, "algorithm": "BC",
    │                                  "policy_class": "stable_baselines3.common.policies:ActorCriticPolicy"}
    └── policy.pth                    BasePolicy.save() output (weights + constructor arguments)

The policy alone reloads with SB3: ``ActorCriticPolicy.load(zipfile.ZipFile(path).open("policy.pth"))``.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stable_baselines3.common.policies import BasePolicy

from rl_framework.util.files import atomic_write_bytes, require_existing_file

FORMAT = "rl_framework.ImitationAgent"
FORMAT_VERSION = 1
HEADER_NAME = "rl_framework_imitation.json"
POLICY_NAME = "policy.pth"


@dataclass(frozen=True)
class SavedPolicy:
    """What an agent file holds.

    :param algorithm: the algorithm's table name (e.g. ``"BC"``).
    :param policy: the SB3 policy that acts.
    """

    algorithm: str
    policy: BasePolicy

    def __post_init__(self) -> None:
        if not isinstance(self.policy, BasePolicy):
            raise TypeError(f"policy must be an SB3 BasePolicy, got {type(self.policy).__name__}.")


def write_agent_file(file_path: str | os.PathLike[str], saved: SavedPolicy) -> Path:
    """Write ``saved`` to ``file_path`` atomically.

    :param file_path: destination, conventionally ending in ``.zip``.
    :param saved: the algorithm name and policy.
    :return: the written path.
    """
    policy_class = type(saved.policy)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": saved.algorithm,
        "policy_class": f"{policy_class.__module__}:{policy_class.__qualname__}",
    }
    policy_bytes = io.BytesIO()
    saved.policy.save(policy_bytes)  # type: ignore[arg-type]  # torch.save accepts file objects
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(HEADER_NAME, json.dumps(header, indent=2))
        zipped.writestr(POLICY_NAME, policy_bytes.getvalue())
    return atomic_write_bytes(file_path, archive.getvalue())


def read_agent_file(file_path: str | os.PathLike[str]) -> SavedPolicy:
    """Read a file written by ``write_agent_file``.

    :param file_path: the agent file.
    :return: the algorithm name and the policy (on CPU or the default device).
    :raises FileNotFoundError: when there is no file.
    :raises ValueError: when the file is not an intact ImitationAgent file.
    """
    path = require_existing_file(file_path, "agent file")
    try:
        with zipfile.ZipFile(path) as zipped:
            header = json.loads(zipped.read(HEADER_NAME))
            policy_bytes = zipped.read(POLICY_NAME)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"'{path}' is not an ImitationAgent file ({error}). Pass a file written by ImitationAgent.save_to_file; "
            f"it may be corrupt or come from another agent type."
        ) from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"'{path}' has no ImitationAgent header; it was not written by ImitationAgent.save_to_file.")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"'{path}' has ImitationAgent format version {header.get('format_version')!r}; this rl_framework reads "
            f"version {FORMAT_VERSION}. Use the rl_framework version that saved it."
        )
    policy_class = _import_policy_class(str(header.get("policy_class")), path)
    try:
        policy = policy_class.load(io.BytesIO(policy_bytes))  # type: ignore[arg-type]
    except Exception as error:  # torch/pickle raise many types for damaged data
        raise ValueError(f"Could not load the policy stored in '{path}': {error}. The file may be corrupt.") from error
    return SavedPolicy(str(header.get("algorithm")), policy)


def _import_policy_class(reference: str, path: Path) -> type[BasePolicy]:
    module_name, _, qualified_name = reference.partition(":")
    try:
        target: object = importlib.import_module(module_name)
        for part in qualified_name.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(
            f"'{path}' needs the policy class '{reference}', which cannot be imported ({error}). Install the "
            f"package that defines it."
        ) from error
    if not (isinstance(target, type) and issubclass(target, BasePolicy)):
        raise ValueError(f"'{path}' names '{reference}' as its policy class, which is not an SB3 BasePolicy.")
    return target
