"""``model.safetensors`` beside an agent zip: the policy's weights in the format the HuggingFace Hub favours.

An rl_framework agent zip (``StableBaselinesAgent``, ``ImitationAgent``) keeps the policy's
``state_dict`` in ``policy.pth`` and describes the agent in a JSON member (``rl_framework.json``
or ``rl_framework_imitation.json``). ``export_hub_files`` writes both next to the zip for a Hub
upload: the weights as ``model.safetensors`` (tensors only, readable by any safetensors
library) and the JSON description under its member name.

Policies whose feature extractor is shared between actor and critic (SB3's ``CnnPolicy``) list
the same tensor under several names; safetensors stores each tensor once, so the extra names are
kept in the file's metadata (``rl_framework.aliases``) and ``load_hub_weights`` restores them.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from rl_framework.util.files import atomic_write_bytes

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
POLICY_MEMBER = "policy.pth"
#: The JSON members that describe an rl_framework agent zip (one per agent type).
DESCRIPTION_MEMBERS = ("rl_framework.json", "rl_framework_imitation.json")
ALIASES_KEY = "rl_framework.aliases"


def is_self_contained(agent_file: Path) -> bool:
    """Whether ``agent_file`` is an rl_framework zip that holds everything needed to load it (no companion files)."""
    try:
        with zipfile.ZipFile(agent_file) as archive:
            return any(name in archive.namelist() for name in DESCRIPTION_MEMBERS)
    except (zipfile.BadZipFile, OSError):
        return False


def export_hub_files(agent_file: Path, folder: Path) -> list[Path]:
    """Write ``model.safetensors`` and the agent's JSON description into ``folder``.

    :param agent_file: an agent zip; anything else (a custom agent's file) gets no extra files.
    :param folder: where to write them (the upload's staging folder).
    :return: the written files (empty when ``agent_file`` is not an rl_framework zip with a policy).
    """
    try:
        with zipfile.ZipFile(agent_file) as archive:
            names = set(archive.namelist())
            description = next((name for name in DESCRIPTION_MEMBERS if name in names), None)
            if description is None or POLICY_MEMBER not in names:
                return []
            description_bytes = archive.read(description)
            policy_bytes = archive.read(POLICY_MEMBER)
    except (zipfile.BadZipFile, OSError):
        return []
    try:
        from safetensors.torch import save
    except ImportError:
        logger.warning(
            "Not uploading %s: it needs the safetensors package (pip install 'rl_framework[safetensors]').",
            WEIGHTS_FILE,
        )
        return [atomic_write_bytes(folder / description, description_bytes)]
    import torch

    try:
        state_dict = torch.load(io.BytesIO(policy_bytes), map_location="cpu", weights_only=True)
    except Exception as error:  # not a tensor-only state dict (damaged, or not ours): nothing to convert
        logger.warning("Not uploading %s: %s does not hold plain tensors (%s).", WEIGHTS_FILE, POLICY_MEMBER, error)
        return [atomic_write_bytes(folder / description, description_bytes)]
    if not isinstance(state_dict, dict) or not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        return [atomic_write_bytes(folder / description, description_bytes)]
    tensors, aliases = _unique_tensors(state_dict)
    metadata = {"format": "pt", "rl_framework.agent_file": agent_file.name, ALIASES_KEY: json.dumps(aliases)}
    return [
        atomic_write_bytes(folder / WEIGHTS_FILE, save(tensors, metadata=metadata)),
        atomic_write_bytes(folder / description, description_bytes),
    ]


def _unique_tensors(state_dict: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Each distinct tensor once (contiguous), and ``alias -> kept name`` for the names that share one."""
    kept: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], str] = {}
    tensors: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    for name, tensor in state_dict.items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tensor.stride())
        if tensor.numel() and key in kept:
            aliases[name] = kept[key]
            continue
        kept[key] = name
        tensors[name] = tensor.contiguous()
    return tensors, aliases


def load_hub_weights(path: str | Path) -> dict[str, Any]:
    """The policy ``state_dict`` stored in a ``model.safetensors`` written by ``export_hub_files``.

    Load it into a policy built from the description JSON: ``policy.load_state_dict(load_hub_weights(path))``.

    :param path: the ``model.safetensors`` file.
    :return: name -> tensor, shared tensors under all their names again.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as handle:
        aliases = json.loads((handle.metadata() or {}).get(ALIASES_KEY, "{}"))
    return {**tensors, **{alias: tensors[name] for alias, name in aliases.items()}}
