"""Learning table: every shipped experiment file x 5 seeds through the sweep runner, vs rl-baselines3-zoo.

For each experiment file (``rl_framework/configs``, e.g. ``ppo_cartpole``) this runs one sweep
(``rl_framework.sweep.run_sweep``: one Ray Tune trial per seed) and reports, over the seeds, the
mean, the IQM and the 95 % stratified-bootstrap interval of each run's final evaluation return
(Agarwal et al. 2021), next to the score rl-baselines3-zoo publishes for the same hyperparameters
(read from the file's header). The table goes into BENCHMARKS.md between
``<!-- learning-table -->`` and ``<!-- /learning-table -->``; the rest of the file is left alone.

    python benchmarks/learning_table.py             # the files' own budgets: for a big machine or a cluster
    python benchmarks/learning_table.py --quick     # every budget cut to 1,500 steps: minutes on 2 cores
    python benchmarks/learning_table.py --address auto   # on a running Ray cluster (ray start --head ...)

The quick mode checks that every file trains through the sweep runner; its returns are far below
the zoo's, which come from the files' full budgets.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_tools import write_block  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
BENCHMARKS_FILE = REPOSITORY / "BENCHMARKS.md"
QUICK_TIMESTEPS = 1500
_ZOO = re.compile(r"Zoo benchmark:\s*(-?[\d.]+)\s*\+/-\s*([\d.]+)\s*after\s*([\d.e+]+)\s*steps", re.IGNORECASE)


@dataclass
class Row:
    """One experiment file's line of the table."""

    experiment: str
    environment: str
    algorithm: str
    timesteps: int
    finished: int
    trials: int
    mean: float
    iqm: float
    ci_low: float
    ci_high: float
    zoo: str
    minutes: float
    errors: str


def zoo_score(experiment_file: Path) -> str:
    """The zoo's published score from the file's header comment (``"500.0 +/- 0.0 (1e5 steps)"``), or ``"n/a"``."""
    header = " ".join(line.lstrip("# ") for line in experiment_file.read_text().splitlines() if line.startswith("#"))
    match = _ZOO.search(header)
    return f"{match.group(1)} ± {match.group(2)} ({match.group(3)} steps)" if match else "n/a"


def run_experiment(name: str, arguments: argparse.Namespace, output: Path) -> Row:
    """Sweep one experiment file over the seeds and summarise it."""
    from rl_framework.experiment.config import find_experiment_file, load_experiment
    from rl_framework.sweep.config import SweepConfig
    from rl_framework.sweep.experiment import evaluation_settings, spec_from_experiment
    from rl_framework.sweep.runner import run_sweep

    experiment = load_experiment(name)
    if arguments.max_timesteps is not None:
        experiment = experiment.with_overrides(
            {"total_timesteps": min(experiment.total_timesteps, arguments.max_timesteps)}
        )
    settings = evaluation_settings(experiment)
    if arguments.quick:
        settings.update(n_eval_episodes=5, eval_frequency=max(1, experiment.total_timesteps // 2))
    config = SweepConfig(
        seeds=arguments.seeds,
        address=arguments.address,
        num_cpus=arguments.num_cpus,
        output_dir=output / name,
        name=name.replace("_", "-"),
        **settings,
    )
    started = time.perf_counter()
    result = run_sweep(spec_from_experiment(experiment), config, verbose=False)
    (summary,) = result.summaries
    errors = sorted({record.error for record in result.records if record.error})
    return Row(
        experiment=name,
        environment=experiment.env,
        algorithm=experiment.algorithm,
        timesteps=experiment.total_timesteps,
        finished=len(summary.final_returns),
        trials=summary.trials,
        mean=summary.mean,
        iqm=summary.iqm,
        ci_low=summary.ci_low,
        ci_high=summary.ci_high,
        zoo=zoo_score(find_experiment_file(name)),
        minutes=(time.perf_counter() - started) / 60,
        errors="; ".join(errors),
    )


def markdown(rows: list[Row], arguments: argparse.Namespace, command: str, wall_minutes: float) -> str:
    """The BENCHMARKS.md section."""
    mode = (
        f"**Reduced mode** (`--quick`): every budget cut to {arguments.max_timesteps:,} steps, so the returns are "
        f"far below the zoo's, which come from the files' full budgets; it shows every file trains through the sweep "
        f"runner and what the statistics look like, not the algorithms' final performance."
        if arguments.quick
        else "Each file's own budget (the zoo's), so the returns are comparable with the zoo's column."
    )
    lines = [
        "## Learning table (sweep runner, multi-seed)",
        "",
        f"Every shipped experiment file x {arguments.seeds} seeds, one Ray Tune trial per seed "
        "(`rl_framework.sweep`). Per file: the mean, the interquartile mean (IQM) and the 95 % "
        "stratified-bootstrap interval of the IQM over the runs' final evaluation returns (Agarwal et al. "
        "2021), next to rl-baselines3-zoo's published score for the same hyperparameters.",
        "",
        mode,
        "",
        "| Experiment | Environment | Algorithm | Steps | Runs | Mean | IQM | 95% CI (IQM) | Zoo | Minutes |",
        "|---|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for row in rows:
        interval = "-" if math.isnan(row.ci_low) else f"[{row.ci_low:.1f}, {row.ci_high:.1f}]"
        lines.append(
            f"| `{row.experiment}` | {row.environment} | {row.algorithm} | {row.timesteps:,} | "
            f"{row.finished}/{row.trials} | {_number(row.mean)} | {_number(row.iqm)} | {interval} | {row.zoo} | "
            f"{row.minutes:.1f} |"
        )
    failures = [row for row in rows if row.errors]
    if failures:
        lines += ["", "Runs that raised (reported by the sweep, which went on with the other trials):", ""]
        lines += [f"- `{row.experiment}`: {row.errors}" for row in failures]
    lines += [
        "",
        f"Command: `{command}` ({wall_minutes:.1f} minutes in all). Evaluation: each run's final "
        "evaluation (the file's episode count and determinism; 5 episodes in reduced mode).",
        "",
        f"Machine: {_machine()}.",
    ]
    return "\n".join(lines)


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _machine() -> str:
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, load average {load} at the end"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"cut every budget to {QUICK_TIMESTEPS:,} steps")
    parser.add_argument("--max-timesteps", type=int, default=None, help="cut every budget to this many steps")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per experiment file (default 5)")
    parser.add_argument("--experiments", default=None, help="comma-separated file names (default: all shipped)")
    parser.add_argument("--address", default=None, help="Ray cluster address ('auto'); default: a local Ray")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="sweep folders (default: a temporary folder)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    arguments = parser.parse_args()
    if arguments.quick and arguments.max_timesteps is None:
        arguments.max_timesteps = QUICK_TIMESTEPS
    from rl_framework.experiment.config import bundled_experiments

    names = arguments.experiments.split(",") if arguments.experiments else bundled_experiments()
    output = arguments.out or Path(tempfile.mkdtemp(prefix="learning-table-"))
    started = time.perf_counter()
    rows = []
    for name in names:
        print(f"== {name} ==", flush=True)
        rows.append(run_experiment(name, arguments, output))
        print(f"   IQM {rows[-1].iqm:.1f} over {rows[-1].finished}/{rows[-1].trials} runs", flush=True)
    command = "python " + " ".join(shlex.quote(part) for part in [os.path.relpath(__file__, REPOSITORY), *sys.argv[1:]])
    text = markdown(rows, arguments, command, (time.perf_counter() - started) / 60)
    print(text)
    print(f"\nSweep folders: {output}")
    if not arguments.no_write:
        write_block(BENCHMARKS_FILE, "learning-table", text)
        print(f"Wrote the learning-table block of {BENCHMARKS_FILE}")


if __name__ == "__main__":
    main()
