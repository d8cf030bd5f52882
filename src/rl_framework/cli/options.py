"""Options every command shares (``--verbose``, ``--progress``) and small parsing helpers.

The shared options may stand before or after the subcommand (``rl-framework --verbose train``
and ``rl-framework train --verbose`` both work): their values go to ``ctx.meta``, which click
shares between a group's context and its subcommand's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

VERBOSE = "rl_framework.verbose"
PROGRESS = "rl_framework.progress"
PROGRESS_MODES = ("auto", "bar", "lines", "off")

Function = TypeVar("Function", bound=Callable[..., Any])


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, parameter: click.Parameter, value: Any) -> None:
        if value not in (None, False):
            ctx.meta[key] = value

    return callback


def common_options(function: Function) -> Function:
    """Add ``--verbose`` and ``--progress`` to a command or group."""
    function = click.option(
        "--progress",
        type=click.Choice(PROGRESS_MODES),
        default=None,
        expose_value=False,
        callback=_remember(PROGRESS),
        help="Progress display: a bar on a terminal and plain lines in a log file (auto, the default), or off.",
    )(function)
    function = click.option(
        "--verbose",
        "-v",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember(VERBOSE),
        help="Show the full traceback when a command fails.",
    )(function)
    return function


#: ``--allow-pickle``: the per-call opt-in to read legacy pickle files (off by default, as in the Python API).
allow_pickle_option = click.option(
    "--allow-pickle",
    is_flag=True,
    help="Also read legacy pickle files (an old agent.vecnormalize.pkl, a pickled policy or dataset). Unpickling "
    "runs whatever code the file's author put in it: only for files you trust.",
)


def progress_mode() -> str:
    """The ``--progress`` mode of the running command (``auto`` when not given)."""
    context = click.get_current_context(silent=True)
    return str(context.meta.get(PROGRESS, "auto")) if context is not None else "auto"


def parse_overrides(values: tuple[str, ...]) -> dict[str, Any]:
    """``--set key=value`` options as ``{dotted key: YAML value}``."""
    from rl_framework.experiment.config import parse_override

    return dict(parse_override(value) for value in values)
