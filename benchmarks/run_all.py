"""Run every performance benchmark and write their figures into BENCHMARKS.md.

Each benchmark runs in its own process (``python benchmarks/<name>.py --json <file> [--quick]``) and
reports ratios against references measured in the same run. The figures go into BENCHMARKS.md between
``<!-- performance -->`` and ``<!-- /performance -->`` with the command, the machine (cores, torch
threads, CPU, versions, load) and the date; every other part of the file (e.g. the learning table
between ``<!-- learning-table -->`` markers, written by ``learning_table.py``) is kept as it is.

    python benchmarks/run_all.py             # the full measurement (tens of minutes on 2 cores)
    python benchmarks/run_all.py --quick     # every benchmark at tiny sizes: checks they run (a few minutes)
    python benchmarks/run_all.py --only evaluation_speed train_overhead   # re-run two, keep the others

With ``--only``, the sections of the other benchmarks already in the file are kept (each section
records its own command, date and figures). A benchmark that fails is reported as failed in the file
and makes the command exit with status 1; the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmark_tools import machine, write_block

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE.parent / "BENCHMARKS.md"
BLOCK = "performance"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script and the heading its figures go under."""

    script: str
    title: str


BENCHMARKS = (
    Benchmark("train_overhead", "Training: `StableBaselinesAgent.train` vs raw SB3 `PPO.learn`"),
    Benchmark("thread_crossover", "Thread policy: CNN policies on 1 vs 2 torch threads"),
    Benchmark("evaluation_speed", "Evaluation: `evaluate` vs SB3 `evaluate_policy`"),
    Benchmark("imitation_training", "Imitation: `ImitationAgent` BC and GAIL vs imitation's own"),
    Benchmark("bc_scale", "Imitation at scale: BC over 1M and 10M transitions"),
    Benchmark("episode_sequence_memory", "Episode streaming: `EpisodeSequence` vs imitation's loader"),
    Benchmark("import_time", "Start-up: import and `rl-framework --help`"),
    Benchmark("video_fps", "Replay videos: `record_video` vs a hand-written loop"),
)


@dataclass(frozen=True)
class Result:
    """One benchmark's run: its figures (``None`` if it failed), wall time, command, date and load after it."""

    script: str
    payload: dict | None
    seconds: float
    command: str
    date: str
    load: str

    def to_comment(self) -> str:
        """The result as an HTML comment, so a later ``--only`` run can keep this section and its figures."""
        return f"<!-- result {json.dumps(asdict(self))} -->"


def run(benchmark: Benchmark, quick: bool, scratch: Path) -> Result:
    """Run one benchmark in its own process and collect its figures."""
    result_file = scratch / f"{benchmark.script}.json"
    command = [sys.executable, str(HERE / f"{benchmark.script}.py"), "--json", str(result_file)]
    command += ["--quick"] if quick else []
    shown = f"python benchmarks/{benchmark.script}.py" + (" --quick" if quick else "")
    print(f"\n=== {shown}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=HERE.parent)
    seconds = time.perf_counter() - started
    ok = completed.returncode == 0 and result_file.exists()
    payload = json.loads(result_file.read_text()) if ok else None
    return Result(benchmark.script, payload, seconds, shown, now(), load_average())


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def kept_results(file: Path) -> dict[str, Result]:
    """The results recorded in an existing performance block, by script name."""
    if not file.exists():
        return {}
    results = {}
    for match in re.finditer(r"<!-- result (\{.*?\}) -->", file.read_text(encoding="utf-8")):
        result = Result(**json.loads(match.group(1)))
        results[result.script] = result
    return results


def verdict(met: bool | None) -> str:
    return {None: "", True: "met", False: "**missed**"}[met]


def section(benchmark: Benchmark, result: Result) -> str:
    lines = [
        f"### {benchmark.title}",
        "",
        f"`{result.command}`: {result.seconds:.0f} s, finished {result.date}, load average after it {result.load}.",
        "",
    ]
    if result.payload is None:
        return "\n".join([*lines, "**The benchmark failed**: see its output for the error.", result.to_comment(), ""])
    lines += ["| Figure | Ratio | Target | |", "|---|---:|---|---|"]
    for figure in result.payload["figures"]:
        lines.append(f"| {figure['name']} | {figure['ratio']:.3f} | {figure['target']} | {verdict(figure['met'])} |")
    lines.append("")
    details = list(dict.fromkeys(figure["detail"] for figure in result.payload["figures"] if figure["detail"]))
    lines += [f"- {note}" for note in result.payload["notes"]] + [f"- {detail}" for detail in details]
    return "\n".join([*lines, "", result.to_comment(), ""])


def performance_block(results: list[tuple[Benchmark, Result]], quick: bool, header: dict, command: str) -> str:
    figures = [figure for _, result in results if result.payload for figure in result.payload["figures"]]
    missed = [figure["name"] for figure in figures if figure["met"] is False]
    kind = "quick run (tiny sizes: checks that every benchmark runs; the ratios are not measurements)"
    lines = [
        "## Performance against the libraries rl_framework wraps",
        "",
        f"Last written by `{command}` on {now()}" + (f": {kind}." if quick else "."),
        "Each section names its own command and date (`--only` re-runs some and keeps the others).",
        "",
        "Machine: " + ", ".join(f"{key} {value}" for key, value in header.items()) + ".",
        "",
        "Every figure is a ratio against a reference measured in the same run: the compared sides run in "
        "alternating rounds (A B, B A, ...) and a figure is the median of the per-round ratios. Times: lower "
        "is better; throughputs and speed-ups: higher is better. *Quiet* means the benchmark adds no load "
        "(other processes on the machine may still run: see the load averages); *one core busy* means the "
        "benchmark kept one core busy with a spinning subprocess it started and stopped. CPU-time figures "
        "count the process's own CPU seconds, which other processes disturb much less than wall time.",
        "",
        f"Targets met: {sum(figure['met'] is True for figure in figures)} of "
        f"{sum(figure['met'] is not None for figure in figures)}"
        + (f"; missed: {'; '.join(missed)}." if missed else "."),
        "",
    ]
    lines += [section(benchmark, result) for benchmark, result in results]
    return "\n".join(lines)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("--quick", action="store_true", help="tiny sizes: check that every benchmark runs")
    arguments.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the file to write (BENCHMARKS.md)")
    names = [benchmark.script for benchmark in BENCHMARKS]
    arguments.add_argument("--only", nargs="+", choices=names, help="run only these benchmarks")
    args = arguments.parse_args()
    chosen = [benchmark for benchmark in BENCHMARKS if not args.only or benchmark.script in args.only]
    header = machine()
    print("Machine: " + ", ".join(f"{key} {value}" for key, value in header.items()), flush=True)
    kept = kept_results(args.output) if args.only else {}
    with tempfile.TemporaryDirectory(prefix="rl_framework-benchmarks-") as scratch:
        fresh = {benchmark.script: run(benchmark, args.quick, Path(scratch)) for benchmark in chosen}
    results = [
        (benchmark, fresh.get(benchmark.script) or kept[benchmark.script])
        for benchmark in BENCHMARKS
        if benchmark.script in fresh or benchmark.script in kept
    ]
    command = shlex.join(["python", "benchmarks/run_all.py", *sys.argv[1:]])
    write_block(args.output, BLOCK, performance_block(results, args.quick, header, command))
    failed = [script for script, result in fresh.items() if result.payload is None]
    print(f"\nWrote the {BLOCK} block of {args.output}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
