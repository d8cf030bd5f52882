"""The command group: fast help, the command table, one-line errors, ``--verbose`` tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_runner import quiet_environment, run_cli

from rl_framework.cli.main import COMMANDS, one_line

HEAVY = ("torch", "gymnasium", "stable_baselines3", "imitation", "matplotlib", "huggingface_hub")


def modules_after(arguments: list[str], tmp_path) -> tuple[set[str], str]:
    """Top-level modules loaded by ``rl-framework ARGUMENTS`` in a fresh interpreter, and its output."""
    script = (
        "import json, sys\nfrom rl_framework.cli import run\n"
        f"sys.argv = ['rl-framework', *{arguments!r}]\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "sys.stdout.write('\\nMODULES ' + json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=quiet_environment(tmp_path), capture_output=True, text=True
    )
    text, _, modules = output.stdout.rpartition("\nMODULES ")
    return set(json.loads(modules)), text + output.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["train", "--help"],
        ["evaluate", "--help"],
        ["train", "--timesteps", "many"],  # an argument error
        ["train", "--config", "ppo_cartpole", "--set", "n_env=4"],  # a bad key
    ],
)
def test_help_and_argument_errors_import_no_heavy_library(arguments, tmp_path):
    loaded, output = modules_after(arguments, tmp_path)
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))
    assert "click" in loaded and output.strip()


def test_help_lists_every_command_from_the_table(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for name, entry in COMMANDS.items():
        assert f"{name}" in result.stdout and entry.summary in result.stdout
    assert "rl-framework train --config ppo_cartpole" in result.stdout  # the examples keep their lines


def test_every_registered_command_has_help_except_a_missing_module(tmp_path, invoke):
    for name in COMMANDS:
        if name == "sweep":
            continue
        assert "Usage: " in invoke(name, "--help").output
    version = invoke("--version").output
    assert version.startswith("rl-framework, version ")


def test_a_command_whose_module_is_missing_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(COMMANDS, "ghost", COMMANDS["sweep"].__class__("rl_framework.cli.ghost:command", "x"))
    from click.testing import CliRunner

    from rl_framework.cli.main import cli

    result = CliRunner().invoke(cli, ["ghost"])
    assert result.exit_code == 1
    assert "The 'ghost' command is not part of this installation (rl_framework.cli.ghost is missing)" in result.output


def test_errors_are_one_line_without_traceback_and_verbose_shows_it(tmp_path):
    result = run_cli("train", "--config", "missing.yaml", cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"Error: No experiment file 'missing.yaml'. {lines[0].split('. ', 1)[1]}"]
    assert "Traceback" not in result.stderr and "ppo_cartpole" in lines[0]  # the fix: the bundled names

    verbose = run_cli("train", "--config", "missing.yaml", "--verbose", cwd=tmp_path)
    assert verbose.returncode == 1 and "Traceback (most recent call last)" in verbose.stderr
    assert "FileNotFoundError: No experiment file 'missing.yaml'" in verbose.stderr
    before = run_cli("--verbose", "train", "--config", "missing.yaml", cwd=tmp_path)
    assert "Traceback" in before.stderr  # the shared options work before the subcommand too


def test_usage_errors_exit_2(tmp_path):
    result = run_cli("train", "--timesteps", "many", cwd=tmp_path)
    assert result.returncode == 2 and "'many' is not a valid integer" in result.stderr
    result = run_cli("launch", cwd=tmp_path)
    assert result.returncode == 2 and "No such command 'launch'" in result.stderr


def test_one_line_keeps_messages_and_names_unexpected_errors():
    assert one_line(ValueError("a\n  b")) == "a b"
    assert one_line(KeyError("x")) == "KeyError: 'x' (run with --verbose for the traceback)"
    assert one_line(ZeroDivisionError()) == "ZeroDivisionError: no message (run with --verbose for the traceback)"
