"""Fixtures of the command-line tests: an in-process runner and a run trained once through the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_runner import TINY_PPO, run_cli
from click.testing import CliRunner, Result

from rl_framework.cli.main import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "util" / "connector"))  # the Hub stand-in


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``rl-framework ARGUMENTS`` in this process, inside ``tmp_path`` with a private registry."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RL_FRAMEWORK_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("RL_FRAMEWORK_PROGRESS_INTERVAL", "0")

    def run(*arguments: str, expect: int = 0) -> Result:
        result = CliRunner().invoke(cli, list(arguments), catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result

    return run


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A tiny PPO CartPole run trained through the console script, and that command's result (read-only)."""
    workdir = tmp_path_factory.mktemp("cli")
    result = run_cli(
        "train", "--config", "ppo_cartpole", *TINY_PPO, "--output", "run", cwd=workdir, console_script=True
    )
    assert result.returncode == 0, result.stderr
    return workdir / "run", result
