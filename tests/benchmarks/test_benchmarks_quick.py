"""Every benchmark runs in its quick mode and hands its figures over; ``run_all`` keeps the other blocks.

Benchmarks are scripts, not timed tests: nothing here checks a speed, only that each script runs,
reports finite ratios, claims no target at quick sizes, and that ``run_all.py`` writes its block
into BENCHMARKS.md without touching the blocks other scripts write.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RUN_DIRECTLY = [
    "train_overhead",
    "thread_crossover",
    "evaluation_speed",
    "imitation_training",
    "bc_scale",
    "episode_sequence_memory",
]


def run(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{script}.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCHMARKS.parent,
    )


@pytest.mark.parametrize("script", RUN_DIRECTLY)  # import_time and video_fps run through run_all below
def test_benchmark_runs_in_quick_mode(script, tmp_path):
    result = run(script, "--quick", "--json", str(tmp_path / "figures.json"))
    assert result.returncode == 0, result.stderr[-4000:]
    payload = json.loads((tmp_path / "figures.json").read_text())
    assert payload["figures"], "the benchmark reported no figure"
    for figure in payload["figures"]:
        assert math.isfinite(figure["ratio"]) and figure["ratio"] > 0, figure
        assert figure["target"] == "" and figure["met"] is None  # quick sizes claim no target
        assert figure["name"] in result.stdout
    assert any("quick mode" in note for note in payload["notes"])


def test_run_all_writes_its_block_and_keeps_the_others(tmp_path):
    output = tmp_path / "BENCHMARKS.md"
    learning = (
        "<!-- learning-table -->\n| experiment | mean |\n|---|---|\n| ppo_cartpole | 500 |\n<!-- /learning-table -->"
    )
    output.write_text(f"# Benchmarks\n\nIntro kept.\n\n{learning}\n")
    result = run("run_all", "--quick", "--only", "video_fps", "--output", str(output))
    assert result.returncode == 0, result.stderr[-4000:] + result.stdout[-4000:]
    text = output.read_text()
    assert "Intro kept." in text and learning in text
    block = text[text.index("<!-- performance -->") : text.index("<!-- /performance -->")]
    assert f"Last written by `python benchmarks/run_all.py --quick --only video_fps --output {output}`" in block
    assert "Machine: cores " in block and "torch default threads" in block
    assert "### Replay videos: `record_video` vs a hand-written loop" in block
    assert "| record_video frames/s / hand-written render + encode loop |" in block
    video_section = block[block.index("### Replay videos") :]
    # re-running another benchmark keeps this one's section (with its own date) and replaces the block
    result = run("run_all", "--quick", "--only", "import_time", "--output", str(output))
    assert result.returncode == 0, result.stderr[-4000:] + result.stdout[-4000:]
    text = output.read_text()
    assert text.count("<!-- performance -->") == 1 and "Intro kept." in text and learning in text
    block = text[text.index("<!-- performance -->") : text.index("<!-- /performance -->")]
    assert "### Start-up: import and `rl-framework --help`" in block
    assert video_section.strip() in block  # kept as it was
    assert block.index("### Start-up") < block.index("### Replay videos")  # in the benchmarks' order


def test_run_all_rejects_an_unknown_benchmark_before_running_any(tmp_path):
    result = run("run_all", "--only", "no_such_benchmark", "--output", str(tmp_path / "B.md"))
    assert result.returncode == 2 and "invalid choice: 'no_such_benchmark'" in result.stderr
    assert not (tmp_path / "B.md").exists()


def test_figures_from_numpy_values_are_judged_and_written(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from benchmark_tools import Figure, report

    figures = [Figure("met", np.int64(3) / 4, ">= 0.5"), Figure("missed", np.float64(1.5), "<= 1.0"), Figure("x", 2.0)]
    report(figures, tmp_path / "figures.json")
    payload = json.loads((tmp_path / "figures.json").read_text())
    assert [figure["met"] for figure in payload["figures"]] == [True, False, None]
    assert payload["figures"][0]["ratio"] == 0.75
