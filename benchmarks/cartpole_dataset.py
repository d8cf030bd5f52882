"""Large CartPole expert datasets in imitation's on-disk format, written in seconds for the benchmarks.

Recording 10 million transitions through ``gym.make`` takes many minutes, so the benchmarks simulate
CartPole's equations (as ``CartPoleEnv`` integrates them, in float64) for a thousand episodes at once
with the scripted expert ``3 * angle + angular velocity > 0``, and write each thousand episodes as
one Arrow shard of a HuggingFace ``datasets`` folder: the layout ``imitation.data.serialize.save``
writes (``state.json``, ``dataset_info.json``, ``data-XXXXX-of-XXXXX.arrow``), which both
``EpisodeSequence.from_dataset`` and ``imitation.data.serialize.load`` read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa

EPISODE_LENGTH = 500  # CartPole-v1's time limit; the expert reaches it
_FEATURES = {
    "obs": {"feature": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "List"}, "_type": "List"},
    "acts": {"feature": {"dtype": "int64", "_type": "Value"}, "_type": "List"},
    "infos": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"},
    "terminal": {"dtype": "bool", "_type": "Value"},
    "rews": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "List"},
}


def simulate(n_episodes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Simulate expert episodes of ``EPISODE_LENGTH`` steps: observations ``(n, L + 1, 4)``, actions ``(n, L)``."""
    gravity, cart_mass, pole_mass, half_length, force, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass, pole_moment = cart_mass + pole_mass, pole_mass * half_length
    state = rng.uniform(-0.05, 0.05, size=(4, n_episodes))
    observations = np.empty((n_episodes, EPISODE_LENGTH + 1, 4), np.float32)
    actions = np.empty((n_episodes, EPISODE_LENGTH), np.int64)
    for step in range(EPISODE_LENGTH):
        observations[:, step] = state.T
        x, x_dot, theta, theta_dot = state
        action = (3 * theta + theta_dot > 0).astype(np.int64)
        actions[:, step] = action
        cos, sin = np.cos(theta), np.sin(theta)
        temp = (np.where(action == 1, force, -force) + pole_moment * theta_dot**2 * sin) / total_mass
        theta_acc = (gravity * sin - cos * temp) / (half_length * (4.0 / 3.0 - pole_mass * cos**2 / total_mass))
        x_acc = temp - pole_moment * theta_acc * cos / total_mass
        state = np.stack([x + tau * x_dot, x_dot + tau * x_acc, theta + tau * theta_dot, theta_dot + tau * theta_acc])
    observations[:, EPISODE_LENGTH] = state.T
    return observations, actions


def _lists(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


def shard_table(observations: np.ndarray, actions: np.ndarray) -> pa.Table:
    """The episodes as an Arrow table with imitation's columns (one row per episode)."""
    n_episodes, length = actions.shape
    n_transitions = n_episodes * length
    step_rows = _lists(np.arange(0, 4 * n_episodes * (length + 1) + 1, 4), pa.array(observations.reshape(-1)))
    transition_offsets = np.arange(0, n_transitions + 1, length)
    empty_info = b"{}"
    infos = pa.StringArray.from_buffers(
        n_transitions,
        pa.py_buffer(np.arange(0, len(empty_info) * n_transitions + 1, len(empty_info), dtype=np.int32)),
        pa.py_buffer(empty_info * n_transitions),
    )
    table = pa.table(
        {
            "obs": _lists(np.arange(0, n_episodes * (length + 1) + 1, length + 1), step_rows),
            "acts": _lists(transition_offsets, pa.array(actions.reshape(-1))),
            "infos": _lists(transition_offsets, infos),
            "terminal": pa.array(np.zeros(n_episodes, bool)),  # every episode ends at the time limit
            "rews": _lists(transition_offsets, pa.array(np.ones(n_transitions, np.float32))),
        }
    )
    return table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": _FEATURES}})})


def write_dataset(folder: Path, n_transitions: int, episodes_per_shard: int = 1000, seed: int = 0) -> int:
    """Write at least ``n_transitions`` expert transitions (whole episodes) to ``folder``; return how many.

    :param folder: a new folder (created).
    :param n_transitions: the number of transitions wanted (rounded up to whole 500-step episodes).
    :param episodes_per_shard: episodes per Arrow shard (one shard is simulated in memory at a time).
    :param seed: seeds the initial states.
    :return: the number of transitions written.
    """
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    n_episodes = math.ceil(n_transitions / EPISODE_LENGTH)
    sizes = [episodes_per_shard] * (n_episodes // episodes_per_shard)
    sizes += [n_episodes % episodes_per_shard] if n_episodes % episodes_per_shard else []
    names = [f"data-{index:05d}-of-{len(sizes):05d}.arrow" for index in range(len(sizes))]
    for name, size in zip(names, sizes, strict=True):
        table = shard_table(*simulate(size, rng))
        with pa.OSFile(str(folder / name), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    state = {
        "_data_files": [{"filename": name} for name in names],
        "_fingerprint": f"cartpole-{n_episodes}-{seed}",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    (folder / "state.json").write_text(json.dumps(state, indent=2))
    info = {"citation": "", "description": "", "features": _FEATURES, "homepage": "", "license": ""}
    (folder / "dataset_info.json").write_text(json.dumps(info, indent=2))
    return n_episodes * EPISODE_LENGTH
