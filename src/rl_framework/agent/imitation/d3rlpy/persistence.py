"""The ``D3rlpyAgent`` file: a zip of a JSON header and the torch state dicts, readable without unpickling.

Layout::

    agent.zip
    ├── rl_framework_d3rlpy.json   {"format": ..., "format_version": 1, "algorithm": "DiscreteCQL",
    │                               "d3rlpy_version": "2.6.1", "config": <d3rlpy's JSON config with shapes>,
    │                               "observation_space": {...}, "action_space": {...}, "num_timesteps": 1000}
    └── weights.pt                 torch.save({module name: state_dict}) of every network and optimiser

The config is d3rlpy's own JSON serialisation (``LearnableConfigWithShape``, fitted scalers
included); the weights are plain tensors, read back with ``torch.load(weights_only=True)``.
d3rlpy's own ``save``/``load_learnable`` (``.d3``) files are pickles and are not used.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rl_framework.util.files import atomic_write_bytes, require_existing_file

FORMAT = "rl_framework.D3rlpyAgent"
FORMAT_VERSION = 1
HEADER_NAME = "rl_framework_d3rlpy.json"
WEIGHTS_NAME = "weights.pt"


@dataclass(frozen=True)
class SavedAlgorithm:
    """What an agent file holds.

    :param algorithm: the algorithm's table name (e.g. ``"DiscreteCQL"``).
    :param config: d3rlpy's ``LearnableConfigWithShape`` as a JSON-compatible dict.
    :param weights: module name -> state dict (networks and optimisers).
    :param observation_space: the observation space the agent acts in.
    :param action_space: the action space it acts in.
    :param num_timesteps: gradient steps trained so far.
    """

    algorithm: str
    config: dict[str, Any]
    weights: dict[str, Any]
    observation_space: gym.spaces.Box
    action_space: gym.spaces.Box | gym.spaces.Discrete
    num_timesteps: int


def space_to_json(space: gym.Space) -> dict[str, Any]:
    """Describe a ``Box`` or ``Discrete`` space in JSON (bounds as lists)."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    raise TypeError(f"Only Box and Discrete spaces are stored, got {space}.")


def space_from_json(description: Any) -> gym.spaces.Box | gym.spaces.Discrete:
    """Rebuild a space written by ``space_to_json``.

    :raises ValueError: when ``description`` is not such a description.
    """
    try:
        if description["type"] == "Discrete":
            return gym.spaces.Discrete(int(description["n"]), start=int(description["start"]))
        if description["type"] == "Box":
            low = np.asarray(description["low"], dtype=description["dtype"])
            high = np.asarray(description["high"], dtype=description["dtype"])
            return gym.spaces.Box(low, high, shape=tuple(description["shape"]), dtype=description["dtype"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"invalid space description {description!r} ({error})") from error
    raise ValueError(f"invalid space description {description!r}")


def write_agent_file(file_path: str | os.PathLike[str], saved: SavedAlgorithm, d3rlpy_version: str) -> Path:
    """Write ``saved`` to ``file_path`` atomically.

    :param file_path: destination, conventionally ending in ``.zip``.
    :param saved: what to store.
    :param d3rlpy_version: the installed d3rlpy version, recorded for the reader.
    :return: the written path.
    """
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": saved.algorithm,
        "d3rlpy_version": d3rlpy_version,
        "config": saved.config,
        "observation_space": space_to_json(saved.observation_space),
        "action_space": space_to_json(saved.action_space),
        "num_timesteps": saved.num_timesteps,
    }
    weights = io.BytesIO()
    torch.save(saved.weights, weights)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(HEADER_NAME, json.dumps(header, indent=2))
        zipped.writestr(WEIGHTS_NAME, weights.getvalue())
    return atomic_write_bytes(file_path, archive.getvalue())


def read_agent_file(file_path: str | os.PathLike[str]) -> SavedAlgorithm:
    """Read and check a file written by ``write_agent_file`` (nothing is unpickled).

    :param file_path: the agent file.
    :return: its content (weights on the CPU).
    :raises FileNotFoundError: when there is no file.
    :raises ValueError: when the file is not an intact D3rlpyAgent file of this format version.
    """
    path = require_existing_file(file_path, "agent file")
    try:
        with zipfile.ZipFile(path) as zipped:
            header = json.loads(zipped.read(HEADER_NAME))
            weights_bytes = zipped.read(WEIGHTS_NAME)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"'{path}' is not a D3rlpyAgent file ({error}). Pass a file written by D3rlpyAgent.save_to_file; it may "
            f"be corrupt or come from another agent type."
        ) from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"'{path}' has no D3rlpyAgent header; it was not written by D3rlpyAgent.save_to_file.")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"'{path}' has D3rlpyAgent format version {header.get('format_version')!r}; this rl_framework reads "
            f"version {FORMAT_VERSION}. Use the rl_framework version that saved it."
        )
    try:
        weights = torch.load(io.BytesIO(weights_bytes), map_location="cpu", weights_only=True)
        observation_space = space_from_json(header["observation_space"])
        action_space = space_from_json(header["action_space"])
        algorithm, config, num_timesteps = (
            str(header["algorithm"]),
            dict(header["config"]),
            int(header["num_timesteps"]),
        )
    except Exception as error:  # torch's restricted loader and the header raise many types for damaged data
        raise ValueError(f"Could not read the D3rlpyAgent file '{path}': {error}. The file may be corrupt.") from error
    if not isinstance(observation_space, gym.spaces.Box) or not isinstance(weights, dict):
        raise ValueError(f"'{path}' is not an intact D3rlpyAgent file (observation space {observation_space}).")
    return SavedAlgorithm(algorithm, config, weights, observation_space, action_space, num_timesteps)
