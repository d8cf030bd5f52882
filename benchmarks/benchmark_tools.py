"""What every benchmark here shares: alternating runs, a busy core, ratio figures and their JSON hand-over.

Every figure is a ratio against a reference measured in the same run, on the same machine, under
the same load: runs of the compared sides alternate (A B, B A, A B, ...) so that whatever else the
machine does hits both alike, and a figure is the median of the per-round ratios (``ratio``).
``run_all.py`` starts each benchmark with ``--json FILE`` and collects the figures into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    """One measured ratio.

    :param name: what is compared, e.g. ``"train / raw PPO.learn (default threads), quiet"``.
    :param ratio: ours divided by the reference (times: lower is better; speeds: higher is better).
    :param target: the target as text (``"<= 1.0"``, ``">= 40"``), or ``""`` for a figure without one.
    :param detail: the absolute numbers behind the ratio (medians and all runs).
    """

    name: str
    ratio: float
    target: str = ""
    detail: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the ratio meets the target (``None`` without a target)."""
        if not self.target:
            return None
        operator, value = self.target.split()
        ratio = float(self.ratio)  # numpy scalars would make a numpy bool, which json cannot write
        return ratio <= float(value) if operator == "<=" else ratio >= float(value)

    def line(self) -> str:
        verdict = {None: "", True: "  [target met]", False: "  [TARGET MISSED]"}[self.met]
        target = f" (target {self.target})" if self.target else ""
        return f"{self.name}: {self.ratio:.3f}{target}{verdict}\n    {self.detail}"


def parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes (``--quick``, ``--json``)."""
    arguments = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks the benchmark runs, not a measurement"
    )
    arguments.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    return arguments


def report(figures: list[Figure], json_path: Path | None, notes: list[str] | None = None, quick: bool = False) -> None:
    """Print the figures; write them (and notes) as JSON for ``run_all.py`` when asked.

    In quick mode the sizes are too small for the targets to mean anything, so they are dropped.
    """
    if quick:
        for figure in figures:
            figure.target = ""
        notes = ["quick mode: tiny sizes, a check that the benchmark runs; not a measurement", *(notes or [])]
    for figure in figures:
        print(figure.line())
    for note in notes or []:
        print(note)
    if json_path is not None:
        payload = {
            "figures": [asdict(figure) | {"ratio": float(figure.ratio), "met": figure.met} for figure in figures],
            "notes": notes or [],
        }
        json_path.write_text(json.dumps(payload, indent=2))


def alternating(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run every side ``repeats`` times, alternating the order (A B, B A, ...); return each side's results.

    :param runs: side name -> a function that runs once and returns its measurement (seconds).
    :param repeats: rounds of all sides.
    :return: side name -> its measurements, in order.
    """
    names = list(runs)
    results: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else names[::-1]:
            results[name].append(runs[name]())
    return results


class timed:  # noqa: N801 - used like a function: timed(work)
    """Wrap ``function`` so that calling it returns its wall time in seconds; CPU times are kept in ``cpu``.

    The process's CPU time (all its threads) is much less disturbed by other processes on a shared
    machine than wall time, so it is the steadier figure for two sides on the same thread count.
    """

    def __init__(self, function: Callable[[], object]) -> None:
        self.function = function
        self.cpu: list[float] = []

    def __call__(self) -> float:
        start, cpu_start = time.perf_counter(), time.process_time()
        self.function()
        self.cpu.append(time.process_time() - cpu_start)
        return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of the per-round ratios ``numerators[i] / denominators[i]``.

    Each round's two runs follow each other (``alternating``), so whatever else the machine does at
    that moment hits both; the per-round ratio cancels most of it, the median drops the odd round.
    """
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def describe(values: list[float], unit: str = "s") -> str:
    """``median X s (runs a, b, c)``."""
    runs = ", ".join(f"{value:.3g}" for value in values)
    return f"median {median(values):.4g} {unit} (runs {runs})"


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """Keep one core busy with a spinning subprocess for the duration of the block (started and stopped here)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it get scheduled before the measurement starts
        yield
    finally:
        spinner.kill()
        spinner.wait()


def machine() -> dict[str, str]:
    """The machine the numbers come from: cores, torch's default threads, CPU, versions."""
    import numpy
    import stable_baselines3
    import torch

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": str(os.cpu_count()),
        "torch default threads": str(torch.get_num_threads()),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "stable-baselines3": stable_baselines3.__version__,
        "numpy": numpy.__version__,
        "load average at start": " ".join(f"{value:.1f}" for value in os.getloadavg()),
    }


def status_bytes(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` (``VmRSS``, ``VmHWM``, ...), in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def write_block(file: Path, name: str, body: str) -> None:
    """Replace the text between ``<!-- name -->`` and ``<!-- /name -->`` in ``file`` (append the block if absent).

    Other sections (written by other benchmark scripts) are kept as they are; the file is written atomically.
    """
    from rl_framework.util.files import atomic_write_text

    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = file.read_text(encoding="utf-8") if file.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    atomic_write_text(file, text)
