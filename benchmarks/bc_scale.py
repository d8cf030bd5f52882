"""Behavioural cloning at scale: one epoch over 1M and over 10M CartPole transitions streamed from disk.

For each size a dataset folder is written to a temporary directory (``cartpole_dataset.py``; ~37 MB
per million transitions, deleted afterwards), and a fresh subprocess trains
``ImitationAgent("BC", {"batch_size": ...})`` for exactly one epoch (``total_timesteps`` = the number
of transitions) on ``EpisodeSequence.from_dataset(folder)``. The child imports everything and opens
the dataset first, then resets the kernel's peak-RSS counter (``/proc/self/clear_refs``), so the
figure is the peak RSS growth of the training itself (``VmHWM`` after - ``VmRSS`` before), memory-mapped
file pages the process touched included.

Targets: the larger dataset grows peak RSS by the same amount as the smaller one (ratio within
1.1), and the time per transition stays the same (time grows linearly: ratio <= 1.1).

Run: ``python benchmarks/bc_scale.py [--sizes 1000000 10000000] [--batch-size 1024] [--quick]``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark_tools import Figure, parser, report, status_bytes
from cartpole_dataset import write_dataset


def child(folder: Path, batch_size: int) -> dict[str, float]:
    """In a fresh process: one BC epoch over the dataset; peak RSS growth and time of the training."""
    from rl_framework.agent import ImitationAgent
    from rl_framework.data import EpisodeSequence

    episodes = EpisodeSequence.from_dataset(folder)
    agent = ImitationAgent("BC", {"batch_size": batch_size, "seed": 0})
    with open("/proc/self/clear_refs", "w") as handle:  # reset VmHWM to the current RSS
        handle.write("5")
    before = status_bytes("VmRSS")
    started = time.perf_counter()
    agent.train(episodes, "CartPole-v1", total_timesteps=episodes.n_transitions, progress_bar=False)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_growth": status_bytes("VmHWM") - before,
        "transitions": episodes.n_transitions,
        "trained": agent.num_timesteps,
    }


def measure(size: int, batch_size: int, scratch: Path) -> dict[str, float]:
    folder = scratch / f"cartpole-{size}"
    started = time.perf_counter()
    written = write_dataset(folder, size)
    print(f"wrote {written} transitions in {time.perf_counter() - started:.1f} s to {folder}", flush=True)
    command = [sys.executable, __file__, "--child", str(folder), "--batch-size", str(batch_size)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    for file in folder.iterdir():  # free the disk before the next size
        file.unlink()
    folder.rmdir()
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--sizes", type=int, nargs=2, default=[1_000_000, 10_000_000])
    arguments.add_argument("--batch-size", type=int, default=1024)
    arguments.add_argument("--child", type=Path, default=None, help=argparse_suppress())
    args = arguments.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.batch_size)))
        return
    if args.quick:
        args.sizes = [4_000, 12_000]
    with tempfile.TemporaryDirectory(prefix="rl_framework-bc-scale-") as scratch:
        small, large = (measure(size, args.batch_size, Path(scratch)) for size in args.sizes)
    megabyte = 1024**2
    detail = "; ".join(
        f"{int(result['transitions']):,} transitions: {result['seconds']:.1f} s, peak RSS +"
        f"{result['rss_growth'] / megabyte:.1f} MB"
        for result in (small, large)
    )
    per_transition = (large["seconds"] / large["transitions"]) / (small["seconds"] / small["transitions"])
    figures = [
        Figure(
            f"BC one epoch: peak RSS growth {large['transitions'] / 1e6:g}M / {small['transitions'] / 1e6:g}M "
            f"transitions",
            large["rss_growth"] / small["rss_growth"],
            "<= 1.1",
            detail,
        ),
        Figure(
            f"BC one epoch: time per transition {large['transitions'] / 1e6:g}M / {small['transitions'] / 1e6:g}M",
            per_transition,
            "<= 1.1",
            detail,
        ),
    ]
    notes = [f"BC batch size {args.batch_size}, one epoch, streamed from a memory-mapped dataset folder"]
    report(figures, args.json, notes, args.quick)


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
