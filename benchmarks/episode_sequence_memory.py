"""Streaming a large trajectory dataset with ``EpisodeSequence`` against imitation's loader.

1,000,000 CartPole transitions on disk (imitation's dataset format, ``cartpole_dataset.py``): opening
the folder plus one full pass of ``transition_batches`` (shuffled, batch 32) against
``imitation.data.serialize.load`` followed by ``rollout.flatten_trajectories``. Targets: peak RSS growth
<= 1.2x the raw array bytes, and time <= 1.0x imitation's.

Each side runs in its own subprocess. It imports everything first, then resets the kernel's peak
RSS counter (``/proc/self/clear_refs``), so the reported growth is ``VmHWM - RSS before`` for just
the measured work. RSS includes memory-mapped file pages the process has touched.

Raw array bytes = the numeric arrays the dataset stores (observations, actions, rewards, terminal
flags) in their own dtypes; the larger "flattened Transitions bytes" (obs + next_obs + acts + dones,
what ``flatten_trajectories`` must hold) is printed too.

Run: ``python benchmarks/episode_sequence_memory.py [--transitions 1000000] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchmark_tools import Figure, parser, report, status_bytes
from cartpole_dataset import write_dataset


def peak_rss_reset() -> int:
    """Reset the kernel's peak-RSS counter and return the current RSS in bytes."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return status_bytes("VmRSS")


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
        "rss_growth": status_bytes("VmHWM") - before,
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
        "rss_growth": status_bytes("VmHWM") - before,
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


def measure(folder: Path, side: str, batch_size: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--side", side, "--folder", str(folder), "--batch-size", str(batch_size)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--transitions", type=int, default=1_000_000)
    arguments.add_argument("--batch-size", type=int, default=32, help="32 is imitation BC's default batch size")
    arguments.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    arguments.add_argument("--side", choices=["ours", "imitation"], help=argparse.SUPPRESS)
    args = arguments.parse_args()
    if args.side:  # child process: measure one side and report as JSON
        result = run_ours(args.folder, args.batch_size) if args.side == "ours" else run_imitation(args.folder)
        print(json.dumps(result))
        return
    if args.quick:
        args.transitions = 20_000
    with tempfile.TemporaryDirectory(prefix="rl_framework-streaming-") as scratch:
        folder = Path(scratch) / "episodes"
        write_dataset(folder, args.transitions)
        stored, flattened = raw_bytes(folder)
        disk = sum(file.stat().st_size for file in folder.iterdir())
        ours, theirs = (measure(folder, side, args.batch_size) for side in ("ours", "imitation"))
    if not (ours["transitions"] == theirs["transitions"] and ours["checksum"] == theirs["checksum"]):
        raise RuntimeError(f"The two sides read different data: {ours} vs {theirs}.")
    megabyte = 1024**2
    detail = (
        f"EpisodeSequence open + 1 pass: {ours['seconds']:.2f} s, peak RSS +{ours['rss_growth'] / megabyte:.1f} MB; "
        f"imitation load + flatten: {theirs['seconds']:.2f} s, peak RSS +{theirs['rss_growth'] / megabyte:.1f} MB; "
        f"raw array bytes {stored / megabyte:.1f} MB, flattened Transitions {flattened / megabyte:.1f} MB, "
        f"{disk / megabyte:.1f} MB on disk"
    )
    figures = [
        Figure(
            f"streaming {ours['transitions']:,} transitions: peak RSS growth / raw array bytes",
            ours["rss_growth"] / stored,
            "<= 1.2",
            detail,
        ),
        Figure(
            "streaming: EpisodeSequence open + pass / imitation load + flatten (time)",
            ours["seconds"] / theirs["seconds"],
            "<= 1.0",
            detail,
        ),
        Figure(
            "streaming: EpisodeSequence / imitation peak RSS growth",
            ours["rss_growth"] / theirs["rss_growth"],
            "",
            detail,
        ),
    ]
    notes = [f"{args.transitions:,} CartPole transitions, batch {args.batch_size}, shuffled, one pass"]
    report(figures, args.json, notes, args.quick)


if __name__ == "__main__":
    main()
