"""Resumable checkpoints of a ``StableBaselinesAgent``: one file, pickle-free, continues the run.

A checkpoint is the agent file ``save_to_file`` writes (SB3's zip: weights and optimiser
states as ``*.pth`` tensors, so plain ``PPO.load`` and ``load_from_file`` read it) with two
more members that SB3's loader ignores:

- ``rl_framework_checkpoint.json``: the step counters (``num_timesteps``, updates, episodes,
  learning-rate progress, exploration rate), the recent episode statistics behind
  ``rollout/ep_rew_mean``, the replay buffer's position, and the connector's run;
- ``rl_framework_replay_buffer.npz`` (off-policy algorithms): the filled part of every array
  of the replay buffer, read back with ``allow_pickle=False``.

``StableBaselinesAgent.resume(path, connector=...)`` rebuilds the agent from the file,
restores all of it and lets the connector continue the run, so a resumed ``train`` continues
the step count and the logged curves instead of restarting at step 0 (SB3 issue #1277).
Nothing is unpickled: weights go through ``torch.load(weights_only=True)``, arrays through
``np.load(allow_pickle=False)``, the rest is JSON.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer

from rl_framework.agent.reinforcement.zip_check import read_data_keys
from rl_framework.util.files import atomic_path, atomic_write_with, check_replaceable, require_existing_file
from rl_framework.util.finite import check_finite_agent

if TYPE_CHECKING:
    from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent
    from rl_framework.util.connector.base import Connector

logger = logging.getLogger(__name__)

CHECKPOINT_MEMBER = "rl_framework_checkpoint.json"
REPLAY_BUFFER_MEMBER = "rl_framework_replay_buffer.npz"
FORMAT = "rl_framework-checkpoint"
FORMAT_VERSION = 1
#: Algorithm attributes that count progress; restored so that training continues where it stopped.
COUNTERS = (
    "num_timesteps",
    "_num_timesteps_at_start",
    "_total_timesteps",
    "_current_progress_remaining",
    "_episode_num",
    "_n_updates",
    "_n_calls",
    "exploration_rate",
)


def save_checkpoint(
    agent: StableBaselinesAgent,
    file_path: str | os.PathLike[str],
    connector: Connector | None = None,
    force: bool = False,
) -> list[Path]:
    """Write a resumable checkpoint of ``agent`` to ``file_path`` atomically (see the module docstring).

    :param agent: a trained or loaded agent.
    :param file_path: destination, conventionally ending in ``.zip``.
    :param connector: the connector whose run the checkpoint records (``resume`` continues it).
    :param force: save even a model whose weights hold NaN/inf values.
    :return: the written files, the checkpoint first.
    :raises NonFiniteError: for a model with NaN/inf weights (unless ``force``).
    :raises RuntimeError: for an agent without a model.
    """
    agent._check_ready_to_act()
    model = agent.model
    assert model is not None
    check_finite_agent(agent, "checkpoint", force)
    target = Path(file_path)
    check_replaceable(target)  # a read-only or folder target is refused before any work
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "algorithm": agent.algorithm_name,
        "counters": {name: _plain(getattr(model, name)) for name in COUNTERS if hasattr(model, name)},
        "episode_statistics": _episode_statistics(model),
        "connector_run": connector.run_state() if connector is not None else None,
        "replay_buffer": None,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    # The scratch folder carries a temporary name (.<name>.*.tmp), so a killed save is cleaned up later.
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent) as scratch:
        written = [Path(path) for path in agent.save_to_file(Path(scratch) / target.name, force=force)]
        with zipfile.ZipFile(written[0], "a", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            buffer = getattr(model, "replay_buffer", None)
            if isinstance(buffer, ReplayBuffer):
                arrays, record["replay_buffer"] = _buffer_arrays(buffer)
                with archive.open(REPLAY_BUFFER_MEMBER, "w", force_zip64=True) as handle:
                    np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub misreads **arrays
            archive.writestr(CHECKPOINT_MEMBER, json.dumps(record, indent=2))
        companions = [_copy_atomically(path, target.parent / path.name) for path in written[1:]]
        with atomic_path(target) as temporary:
            os.replace(written[0], temporary)
    return [target, *companions]


def resume(
    agent_class: type[StableBaselinesAgent],
    file_path: str | os.PathLike[str],
    connector: Connector | None = None,
    algorithm_class: Any = None,
    algorithm_parameters: dict[str, Any] | None = None,
) -> StableBaselinesAgent:
    """Rebuild an agent from a checkpoint written by ``save_checkpoint`` (see the module docstring).

    :param agent_class: the agent class to build (``StableBaselinesAgent`` or a subclass).
    :param file_path: the checkpoint.
    :param connector: continue the run recorded in the checkpoint on this connector (its
        metrics after the checkpoint's step are dropped); ``None`` leaves runs alone.
    :param algorithm_class: the algorithm, when it is not one of the name table's (default:
        the name recorded in the checkpoint).
    :param algorithm_parameters: merged over the stored parameters, as in ``load_from_file``.
    :return: the agent, ready to ``train`` on (the step count continues).
    :raises ValueError: when the file is not a checkpoint (e.g. a plain agent file, which
        ``load_from_file`` reads without training state) or its members are corrupt.
    """
    path = require_existing_file(file_path, "checkpoint")
    record, arrays = read_checkpoint(path)
    agent = agent_class(algorithm_class or record["algorithm"], dict(algorithm_parameters or {}))
    agent.load_from_file(path, algorithm_parameters)  # weights and optimiser states (all *.pth members)
    model = agent.model
    assert model is not None
    for name, value in record.get("counters", {}).items():
        if name in COUNTERS and hasattr(model, name):
            setattr(model, name, value)
    _restore_episode_statistics(model, record.get("episode_statistics") or {})
    if arrays is not None:
        _restore_buffer(model, arrays, record.get("replay_buffer") or {}, path)
    run = record.get("connector_run")
    if connector is not None and isinstance(run, dict):
        if run.get("connector") == type(connector).__name__ and connector.resume_run(run, int(model.num_timesteps)):
            logger.info("Continuing the %s run of %s.", type(connector).__name__, path)
        else:
            logger.info("The run recorded in %s cannot be continued on this connector; logging starts a new run.", path)
    return agent


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """The JSON record and replay-buffer arrays of a checkpoint, read without unpickling anything.

    :raises ValueError: when ``path`` is not a checkpoint or its members are corrupt.
    """
    read_data_keys(path)  # a complete SB3 zip (checksums, 'data' member), else a ValueError naming the problem
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if CHECKPOINT_MEMBER not in names:
                raise ValueError(
                    f"'{path}' is not an rl_framework checkpoint (it has no {CHECKPOINT_MEMBER}): it is a plain agent "
                    f"file. Load it with load_from_file (training then restarts its counters and replay buffer), or "
                    f"write checkpoints with agent.save_checkpoint(path)."
                )
            record = json.loads(archive.read(CHECKPOINT_MEMBER).decode("utf-8"))
            arrays = None
            if REPLAY_BUFFER_MEMBER in names:
                with np.load(io.BytesIO(archive.read(REPLAY_BUFFER_MEMBER)), allow_pickle=False) as stored:
                    arrays = {name: stored[name] for name in stored.files}
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"'{path}' is not a readable checkpoint ({error}): it is truncated or corrupt.") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("algorithm"), str):
        raise ValueError(f"'{path}' holds an unknown checkpoint record; write it again with agent.save_checkpoint.")
    if record.get("version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"'{path}' is a checkpoint of format version {record['version']}, newer than this rl_framework reads "
            f"({FORMAT_VERSION}). Upgrade rl_framework."
        )
    return record, arrays


def _copy_atomically(source: Path, target: Path) -> Path:
    return atomic_write_with(target, lambda temporary: shutil.copyfile(source, temporary))


def _plain(value: Any) -> Any:
    """A counter as a JSON number."""
    return value.item() if isinstance(value, np.generic) else value


def _episode_statistics(model: BaseAlgorithm) -> dict[str, Any]:
    """The recent episodes behind ``rollout/ep_rew_mean`` and ``rollout/success_rate``, as JSON."""
    episodes = [
        {key: float(value) for key, value in info.items() if isinstance(value, (int, float, np.number))}
        for info in (model.ep_info_buffer or [])
    ]
    return {"episodes": episodes, "successes": [bool(value) for value in (model.ep_success_buffer or [])]}


def _restore_episode_statistics(model: BaseAlgorithm, statistics: dict[str, Any]) -> None:
    window = model._stats_window_size
    model.ep_info_buffer = deque(statistics.get("episodes", []), maxlen=window)
    model.ep_success_buffer = deque(statistics.get("successes", []), maxlen=window)


def _buffer_arrays(buffer: ReplayBuffer) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The filled part of every array of ``buffer`` (dict observations as ``name/key``), and its position."""
    filled = buffer.buffer_size if buffer.full else buffer.pos
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(buffer).items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for key, array in items:
            if isinstance(array, np.ndarray) and array.dtype != object:
                sized = array.shape[:1] == (buffer.buffer_size,)
                arrays[name if key is None else f"{name}/{key}"] = array[:filled] if sized else array
    state = {"class": type(buffer).__name__, "pos": int(buffer.pos), "full": bool(buffer.full), "filled": filled}
    return arrays, state


def _restore_buffer(model: BaseAlgorithm, arrays: dict[str, np.ndarray], state: dict[str, Any], path: Path) -> None:
    """Copy the stored arrays into the loaded model's (freshly built, same-sized) replay buffer."""
    buffer = getattr(model, "replay_buffer", None)
    if not isinstance(buffer, ReplayBuffer) or type(buffer).__name__ != state.get("class"):
        raise ValueError(
            f"'{path}' stores a {state.get('class')} replay buffer but the loaded model has "
            f"{type(buffer).__name__}. Resume it with the algorithm and replay_buffer_class it was trained with."
        )
    filled = int(state.get("filled", 0))
    for stored_name, stored in arrays.items():
        name, _, key = stored_name.partition("/")
        target = getattr(buffer, name, None)
        target = target.get(key) if isinstance(target, dict) else target
        if not isinstance(target, np.ndarray):
            continue
        sized = target.shape[:1] == (buffer.buffer_size,)
        expected = (filled, *target.shape[1:]) if sized else target.shape
        if stored.shape != expected:
            raise ValueError(
                f"The replay buffer in '{path}' does not fit the model: '{stored_name}' has shape {stored.shape}, "
                f"the model's buffer needs {expected} (was buffer_size or the number of environments changed?). "
                f"Resume with the algorithm_parameters it was trained with."
            )
        if sized:
            target[:filled] = stored
        else:
            target[...] = stored
    buffer.pos, buffer.full = int(state.get("pos", 0)), bool(state.get("full", False))
