"""Ray Tune vs a plain sequential loop: 8 seeds x PPO on CartPole-v1, 20,000 steps each, 2 CPUs.

Both sides run the same trials (``rl_framework.sweep.run_trial``: train with torch on one thread,
evaluate 10 episodes at the end): the loop one after another in this process, the sweep as Ray
Tune trials on a local Ray limited to ``--cpus`` CPUs, started once before timing (its start-up is
reported separately: a long-lived runtime is reused across sweeps). The sweep's time includes
everything ``run_sweep`` does (storing each agent, the results files, registering the best agent).
The result goes into BENCHMARKS.md between ``<!-- ray-vs-loop -->`` and ``<!-- /ray-vs-loop -->``.

    python benchmarks/ray_vs_loop.py            # 8 seeds x 20,000 steps (several minutes)
    python benchmarks/ray_vs_loop.py --quick    # 4 seeds x 2,000 steps: checks the script runs
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_tools import write_block  # noqa: E402
from learning_table import BENCHMARKS_FILE, REPOSITORY, _machine  # noqa: E402

TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 seeds x 2,000 steps")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md alone")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seeds, arguments.timesteps = 4, 2000

    import ray

    from rl_framework.sweep.config import SweepConfig
    from rl_framework.sweep.runner import run_sweep, start_ray
    from rl_framework.sweep.spec import TrainingSpec
    from rl_framework.sweep.trial import EvaluationSchedule, run_trial

    spec = TrainingSpec("PPO", "CartPole-v1", arguments.timesteps, {"device": "cpu"})
    schedule = EvaluationSchedule(arguments.timesteps, n_episodes=10)
    config = SweepConfig(
        seeds=arguments.seeds,
        eval_frequency=arguments.timesteps,
        num_cpus=arguments.cpus,
        output_dir=Path(tempfile.mkdtemp(prefix="ray-vs-loop-")),
    )
    load_before = _load()
    started = time.perf_counter()
    start_ray(config)
    ray_start = time.perf_counter() - started

    load_ray = _load()
    started = time.perf_counter()
    result = run_sweep(spec, config, verbose=False)
    ray_seconds = time.perf_counter() - started
    ray_trials = [record.seconds for record in result.records]
    ray_cpu = [record.cpu_seconds for record in result.records]
    ray.shutdown()  # the loop gets the machine to itself, as a user without Ray would have it

    load_loop = _load()
    loop_trials, loop_cpu = [], []
    started = time.perf_counter()
    for seed in config.seed_list():
        trial_start = time.perf_counter()
        final = run_trial(spec, {}, seed, schedule, report=lambda _: None)
        loop_trials.append(time.perf_counter() - trial_start)
        loop_cpu.append(final["cpu_seconds"])
    loop_seconds = time.perf_counter() - started

    ratio = loop_seconds / ray_seconds
    loop_cores, ray_cores = sum(loop_cpu) / loop_seconds, sum(ray_cpu) / ray_seconds
    verdict = "target met" if ratio >= TARGET else "TARGET MISSED"
    command = "python " + " ".join(shlex.quote(part) for part in [os.path.relpath(__file__, REPOSITORY), *sys.argv[1:]])
    text = "\n".join(
        [
            "## Ray sweep vs a sequential loop",
            "",
            f"{arguments.seeds} seeds x PPO (SB3 defaults) on CartPole-v1, {arguments.timesteps:,} steps each plus "
            f"a final 10-episode evaluation; torch on 1 thread per trial. Ray: a local runtime limited to "
            f"{arguments.cpus} CPUs, 1 CPU per trial, started before timing; loop: the same `run_trial` one "
            f"after another in one process.",
            "",
            "| | Wall time | Per trial: wall (median) | Per trial: CPU (median) |",
            "|---|---:|---:|---:|",
            f"| Sequential loop | {loop_seconds:.1f} s | {statistics.median(loop_trials):.1f} s | "
            f"{statistics.median(loop_cpu):.1f} s |",
            f"| Ray Tune sweep (`run_sweep`) | {ray_seconds:.1f} s | {statistics.median(ray_trials):.1f} s | "
            f"{statistics.median(ray_cpu):.1f} s |",
            f"| Ray start-up (`ray.init`, once per runtime) | {ray_start:.1f} s | | |",
            "",
            f"**Speed-up: {ratio:.2f}x** (loop / sweep; target >= {TARGET}x: {verdict}).",
            "",
            f"A trial's CPU time: median {statistics.median(loop_cpu):.1f} s in the loop, "
            f"{statistics.median(ray_cpu):.1f} s as a Ray trial (Ray's threads in the worker process, and two trials "
            f"sharing the cores and caches, included). Had "
            f"the trials had the cores to themselves, the loop would take its CPU seconds ({sum(loop_cpu):.0f} s) "
            f"and the sweep its CPU seconds over {arguments.cpus} cores ({sum(ray_cpu) / arguments.cpus:.0f} s): an "
            f"estimated {sum(loop_cpu) / (sum(ray_cpu) / arguments.cpus):.2f}x, an estimate from the measured CPU "
            f"times, not a measured wall time.",
            "",
            f"Cores the trials got (their CPU seconds / the side's wall time): loop {loop_cores:.2f}, "
            f"sweep {ray_cores:.2f} (of the {arguments.cpus} Ray may use). Load average (1 min) "
            f"before Ray's start: {load_before}, before the sweep: {load_ray}, before the loop: {load_loop}: other "
            f"processes share the cores, and they take from the parallel side what the loop never had. Two cores "
            f"bound the speed-up at 2x; every trial also pays Ray's scheduling, a worker process (reused between "
            f"trials) and storing its agent, so short trials gain less.",
            "",
            f"Command: `{command}`. Machine: {_machine()}.",
        ]
    )
    print(text)
    if not arguments.no_write:
        write_block(BENCHMARKS_FILE, "ray-vs-loop", text)
        print(f"\nWrote the ray-vs-loop block of {BENCHMARKS_FILE}")


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
