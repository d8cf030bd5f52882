"""Import cost of ``rl_framework.agent`` over ``stable_baselines3`` (target: at most +0.2 s).

Each import runs in a fresh interpreter, alternating, several times; medians are compared.
Also lists heavy optional modules the import pulled in (must be none).

Run: ``python benchmarks/import_time.py [--repeats 7]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
seconds = time.perf_counter() - start
heavy = [m for m in ("clearml", "huggingface_hub", "moviepy", "datasets", "imitation") if m in sys.modules]
print(json.dumps({{"seconds": seconds, "heavy": heavy}}))
"""


def import_seconds(module: str) -> tuple[float, list[str]]:
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result["seconds"], result["heavy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import_seconds("stable_baselines3")  # warm the file cache
    reference, ours, heavy = [], [], []
    for _ in range(args.repeats):
        reference.append(import_seconds("stable_baselines3")[0])
        seconds, heavy = import_seconds("rl_framework.agent")
        ours.append(seconds)
    difference = statistics.median(ours) - statistics.median(reference)
    print(f"import stable_baselines3   median {statistics.median(reference):.3f} s")
    print(f"import rl_framework.agent  median {statistics.median(ours):.3f} s")
    print(f"extra cost = {difference:+.3f} s (target <= +0.2 s); heavy optional modules imported: {heavy or 'none'}")


if __name__ == "__main__":
    main()
