"""Start-up cost: ``import rl_framework.agent`` and ``rl-framework --help`` against ``import stable_baselines3``.

Each command runs in a fresh interpreter, the sides alternating, several times; medians are compared.
Figures: ``import rl_framework.agent`` / ``import stable_baselines3`` (target <= 1.15, i.e. at most about
+0.2 s on a 1.5 s import) and the CLI's ``rl-framework --help`` / ``python -c "import stable_baselines3"``,
both whole processes (target <= 0.5: the help answers without importing torch or SB3). Also lists heavy
optional modules the import pulled in (must be none).

Run: ``python benchmarks/import_time.py [--repeats 7] [--quick]``
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from benchmark_tools import Figure, describe, median, parser, ratio, report

PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
seconds = time.perf_counter() - start
heavy = [m for m in ("clearml", "huggingface_hub", "moviepy", "datasets", "imitation", "ray") if m in sys.modules]
print(json.dumps({{"seconds": seconds, "heavy": heavy}}))
"""


def import_seconds(module: str) -> tuple[float, list[str]]:
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result["seconds"], result["heavy"]


def process_seconds(command: list[str]) -> float:
    """Wall time of a whole process, interpreter start-up included."""
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start


def cli_help_command() -> list[str]:
    """The installed ``rl-framework --help`` (or ``python -m rl_framework --help`` without the script)."""
    executable = shutil.which("rl-framework")
    return [executable, "--help"] if executable else [sys.executable, "-m", "rl_framework", "--help"]


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--repeats", type=int, default=7)
    args = arguments.parse_args()
    if args.quick:
        args.repeats = 1
    if not args.quick:
        import_seconds("stable_baselines3")  # warm the file cache
    reference, cli, sb3_process = [], [], []
    agent_imports: list[tuple[float, list[str]]] = []
    for round_ in range(args.repeats):
        steps = [
            lambda: reference.append(import_seconds("stable_baselines3")[0]),
            lambda: agent_imports.append(import_seconds("rl_framework.agent")),
            lambda: cli.append(process_seconds(cli_help_command())),
            lambda: sb3_process.append(process_seconds([sys.executable, "-c", "import stable_baselines3"])),
        ]
        for step in steps if round_ % 2 == 0 else steps[::-1]:
            step()
    ours = [seconds for seconds, _ in agent_imports]
    heavy_modules = sorted({module for _, modules in agent_imports for module in modules})
    figures = [
        Figure(
            "import rl_framework.agent / import stable_baselines3 (time)",
            ratio(ours, reference),
            "<= 1.15",
            f"rl_framework.agent: {describe(ours)}; stable_baselines3: {describe(reference)}; "
            f"extra {median(ours) - median(reference):+.3f} s",
        ),
        Figure(
            "rl-framework --help / python -c 'import stable_baselines3' (time, whole processes)",
            ratio(cli, sb3_process),
            "<= 0.5",
            f"rl-framework --help: {describe(cli)}; python -c 'import stable_baselines3': {describe(sb3_process)}",
        ),
    ]
    notes = [f"heavy optional modules imported by rl_framework.agent: {heavy_modules or 'none'}; {args.repeats} rounds"]
    report(figures, args.json, notes, args.quick)


if __name__ == "__main__":
    main()
