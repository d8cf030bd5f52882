"""The ``rl-framework`` command group: a table of subcommands, each imported only when it runs.

``COMMANDS`` is the one place a subcommand is registered: its module path and the one-line
summary ``--help`` shows (so listing the commands imports none of them). A command module
exposes ``command`` (a ``click.Command``) and imports heavy libraries inside the command body.
Every error that reaches the group becomes one ``Error: ...`` line and exit status 1, unless
``--verbose`` asks for the traceback.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click

from rl_framework.cli.options import common_options


@dataclass(frozen=True)
class CommandEntry:
    """One subcommand of the table.

    :param import_path: ``"module:attribute"`` of the ``click.Command``.
    :param summary: the line ``rl-framework --help`` shows.
    :param extra: the pip extra its dependencies come from, for the message when they are missing.
    """

    import_path: str
    summary: str
    extra: str = "cli"


COMMANDS: dict[str, CommandEntry] = {
    "train": CommandEntry("rl_framework.cli.train:command", "Train an agent from flags or an experiment file."),
    "imitate": CommandEntry("rl_framework.cli.imitate:command", "Train an agent from recorded episodes (BC, GAIL...)."),
    "evaluate": CommandEntry("rl_framework.cli.evaluate:command", "Evaluate an agent: mean ± std, IQM, episodes."),
    "record": CommandEntry("rl_framework.cli.record:command", "Record a replay video of an agent."),
    "push": CommandEntry("rl_framework.cli.push:command", "Share an agent: local registry, HuggingFace Hub, ClearML."),
    "pull": CommandEntry("rl_framework.cli.pull:command", "Download an agent into a local folder."),
    "list": CommandEntry("rl_framework.cli.list:command", "List the agents of the local registry."),
    "plot": CommandEntry("rl_framework.cli.plot:command", "Draw learning curves of runs or agents into a PNG."),
    "sweep": CommandEntry("rl_framework.cli.sweep:command", "Search hyperparameters with Ray Tune.", extra="ray"),
}


class LazyGroup(click.Group):
    """A click group whose subcommands come from ``COMMANDS`` and are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The table's command names, in table order."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return a subcommand; a missing module or dependency is one clear error."""
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute = entry.import_path.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                raise click.ClickException(
                    f"The '{cmd_name}' command is not part of this installation ({module_name} is missing); "
                    f"update rl_framework (pip install -U 'rl_framework[{entry.extra}]')."
                ) from None
            raise click.ClickException(
                f"'rl-framework {cmd_name}' needs the package '{error.name}': "
                f"pip install 'rl_framework[{entry.extra}]'."
            ) from None
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from the table's summaries, without importing any of them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.summary) for name, entry in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; turn any error into one ``Error:`` line (the traceback with ``--verbose``)."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.ClickException("Interrupted.") from None
        except Exception as error:
            if ctx.meta.get("rl_framework.verbose"):
                raise
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None
            raise click.ClickException(one_line(error) + _pickle_hint(error, command)) from None


def _pickle_hint(error: BaseException, command: click.Command | None) -> str:
    """For a refused pickle: how to opt in on the command line (the message names the Python argument)."""
    from rl_framework.util.safe_classes import UnsafeContentError

    if not isinstance(error, UnsafeContentError):
        return ""
    if command is not None and any(parameter.name == "allow_pickle" for parameter in command.params):
        return " On the command line: add --allow-pickle (only for files you trust)."
    return ""


def one_line(error: BaseException) -> str:
    """The error's message on one line; the exception type is added where the message alone is unclear."""
    message = " ".join(str(error).split())
    user_facing = (ValueError, TypeError, LookupError, OSError, PermissionError, ImportError, RuntimeError)
    if isinstance(error, KeyError) or not isinstance(error, user_facing) or not message:
        return f"{type(error).__name__}: {message or 'no message'} (run with --verbose for the traceback)"
    return message


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="rl_framework", prog_name="rl-framework")
@common_options
def cli() -> None:
    """Train, evaluate, record and share reinforcement- and imitation-learning agents.

    \b
    Examples:
      rl-framework train --config ppo_cartpole
      rl-framework train --algorithm PPO --env CartPole-v1 --timesteps 20000
      rl-framework evaluate runs/ppo-CartPole-v1-1 --episodes 100
      rl-framework push runs/ppo-CartPole-v1-1 --to local
      rl-framework plot runs/ppo-CartPole-v1-1 runs/ppo-CartPole-v1-2 -o curves.png

    Every command takes --help, --verbose (full tracebacks) and --progress.
    """  # noqa: D301 - "\b" (a backspace) is click's marker for a paragraph it must not rewrap
