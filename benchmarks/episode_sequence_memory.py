"""Memory and speed of streaming a large trajectory dataset with EpisodeSequence vs imitation's loader.

Target (issue 10): 1,000,000 CartPole transitions on disk -> opening + one full pass of
``transition_batches`` with peak RSS growth <= 1.2x the raw array bytes, and not slower than
``imitation.data.serialize.load`` followed by ``rollout.flatten_trajectories``.

Each side runs in its own subprocess. It imports everything first, then resets the kernel's peak
RSS counter (``/proc/self/clear_refs``), so the reported growth is ``VmHWM - RSS before`` for just
the measured work. RSS includes memory-mapped file pages the process has touched.

Raw array bytes = the numeric arrays the dataset stores (observations, actions, rewards, terminal
flags) in their own dtypes; the larger "flattened Transitions bytes" (obs + next_obs + acts + dones,
what ``flatten_trajectories`` must hold) is printed too.

Usage::

    python benchmarks/episode_sequence_memory.py                  # 1,000,000 transitions
    python benchmarks/episode_sequence_memory.py --transitions 100000 --folder /tmp/small
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CARTPOLE_EPISODE_LENGTH = 500  # the scripted expert always reaches the time limit


def scripted_expert(observation: np.ndarray) -> int:
    """Near-optimal CartPole controller: push towards the side the pole falls to."""
    return int(3 * observation[2] + observation[3] > 0)


def make_dataset(folder: Path, n_transitions: int) -> None:
    from rl_framework.data.episode_sequence import EpisodeSequence

    n_episodes = -(-n_transitions // CARTPOLE_EPISODE_LENGTH)
    started = time.perf_counter()
    sequence = EpisodeSequence.from_agent(scripted_expert, "CartPole-v1", n_episodes=n_episodes, seed=0)
    sequence.save(folder)
    print(f"recorded and saved {sequence.n_transitions} transitions in {time.perf_counter() - started:.1f} s")


def peak_rss_reset() -> int:
    """Reset the kernel's peak-RSS counter and return the current RSS in bytes."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return _status_bytes("VmRSS")


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_ours(folder: Path, batch_size: int) -> dict[str, float]:
    from rl_framework.data.episode_sequence import EpisodeSequence

    before = peak_rss_reset()
    started = time.perf_counter()
    sequence = EpisodeSequence.from_dataset(folder)
    seen = 0
    checksum = 0
    for batch in sequence.transition_batches(batch_size, shuffle=True, seed=0):
        seen += len(batch["acts"])
        checksum += int(batch["acts"].sum()) + len(batch["infos"])
    seconds = time.perf_counter() - started
    assert seen == sequence.n_transitions, (seen, sequence.n_transitions)
    return {
        "seconds": seconds,
        "rss_growth": _status_bytes("VmHWM") - before,
        "transitions": seen,
        "checksum": checksum,
    }


def run_imitation(folder: Path) -> dict[str, float]:
    from imitation.data import rollout, serialize

    before = peak_rss_reset()
    started = time.perf_counter()
    transitions = rollout.flatten_trajectories(serialize.load(folder))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_growth": _status_bytes("VmHWM") - before,
        "transitions": len(transitions),
        "checksum": int(transitions.acts.sum()) + len(transitions.infos),
    }


def raw_bytes(folder: Path) -> tuple[int, int]:
    """Return (stored array bytes, flattened Transitions bytes) of the dataset."""
    from rl_framework.data.episode_sequence import EpisodeSequence

    sequence = EpisodeSequence.from_dataset(folder)
    n, episodes = sequence.n_transitions, len(sequence)
    observation = int(np.prod(sequence.observation_shape)) * sequence.observation_dtype.itemsize
    action = int(np.prod(sequence.action_shape)) * sequence.action_dtype.itemsize
    reward = 4  # float32, as recorded
    stored = (n + episodes) * observation + n * (action + reward) + episodes
    flattened = 2 * n * observation + n * (action + 1)
    return stored, flattened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transitions", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=32, help="32 is imitation BC's default batch size")
    parser.add_argument("--folder", type=Path, default=None, help="dataset folder (created if missing)")
    parser.add_argument("--side", choices=["ours", "imitation"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.side:  # child process: measure one side and report as JSON
        if arguments.side == "ours":
            result = run_ours(arguments.folder, arguments.batch_size)
        else:
            result = run_imitation(arguments.folder)
        print(json.dumps(result))
        return

    folder = arguments.folder or Path(tempfile.gettempdir()) / f"cartpole_{arguments.transitions}_transitions"
    if not folder.is_dir():
        make_dataset(folder, arguments.transitions)
    stored, flattened = raw_bytes(folder)
    disk = sum(file.stat().st_size for file in folder.iterdir())
    results = {}
    for side in ("ours", "imitation"):
        command = [sys.executable, __file__, "--side", side, "--folder", str(folder)]
        command += ["--batch-size", str(arguments.batch_size)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
        results[side] = json.loads(output.strip().splitlines()[-1])
    ours, theirs = results["ours"], results["imitation"]
    assert ours["transitions"] == theirs["transitions"] and ours["checksum"] == theirs["checksum"]

    megabyte = 1024**2
    print(f"dataset: {folder} ({ours['transitions']} transitions, {disk / megabyte:.1f} MB on disk)")
    print(f"raw array bytes (obs, acts, rews, terminal): {stored / megabyte:.1f} MB")
    print(f"flattened Transitions bytes (obs, next_obs, acts, dones): {flattened / megabyte:.1f} MB")
    for name, result in (("EpisodeSequence open + 1 pass", ours), ("imitation load + flatten", theirs)):
        print(
            f"{name:32s} {result['seconds']:7.2f} s   peak RSS growth {result['rss_growth'] / megabyte:7.1f} MB "
            f"= {result['rss_growth'] / stored:.2f}x raw"
        )
    memory_ok = ours["rss_growth"] <= 1.2 * stored
    speed_ok = ours["seconds"] <= theirs["seconds"]
    print(f"RSS growth ratio (ours / raw bytes): {ours['rss_growth'] / stored:.3f}  (target <= 1.2: {memory_ok})")
    print(f"time ratio (ours / imitation): {ours['seconds'] / theirs['seconds']:.3f}  (target <= 1.0: {speed_ok})")


if __name__ == "__main__":
    main()
