"""``rl-framework pull``: download an agent (with its metadata, metrics and experiment file) into a folder."""

from __future__ import annotations

from pathlib import Path

import click

from rl_framework.cli.common import REGISTRY_OPTION_HELP, echo, load_source
from rl_framework.cli.options import common_options


@click.command()
@click.argument("agent")
@click.option("--out", "-o", "output", help="Destination folder (default: ./<agent name>).")
@click.option("--algorithm", "-a", help="The agent's algorithm, when its files do not say it.")
@click.option("--registry", help=REGISTRY_OPTION_HELP)
@common_options
def command(agent: str, output: str | None, algorithm: str | None, registry: str | None) -> None:
    """Download AGENT (hf:owner/name, owner/name, clearml:<task id> or a registry name[:version]) into a folder.

    The agent is loaded once to check it; the folder then works with every other command
    (`rl-framework evaluate <folder>`), and its experiment.yaml retrains it.
    """
    source = load_source(agent, algorithm, registry)
    from rl_framework.experiment.references import copy_agent_folder

    default = "".join(character if character.isalnum() or character in "-_." else "-" for character in source.label)
    destination = Path(output or default)
    if destination.exists() and any(destination.iterdir()):
        raise FileExistsError(f"'{destination}' exists and is not empty. Choose another --out folder.")
    copy_agent_folder(source, destination)
    echo(f"Pulled {source.label} into {destination}")
