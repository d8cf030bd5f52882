"""The ``rl-framework`` command line: train, evaluate, record and share agents without writing a script.

``run`` is the console script's entry point. Each subcommand lives in its own module
(``rl_framework.cli.<name>``, exposing ``command``) and is imported only when it runs, so
``rl-framework --help`` never imports torch, gymnasium or Stable-Baselines3.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Run the command line on ``sys.argv`` (exits with the command's status)."""
    try:
        import click  # noqa: F401 - only checks that the 'cli' extra is installed
    except ImportError:
        sys.stderr.write("Error: the rl-framework command needs the 'cli' extra: pip install 'rl_framework[cli]'\n")
        raise SystemExit(1) from None
    from rl_framework.cli.main import cli

    cli(prog_name="rl-framework")
