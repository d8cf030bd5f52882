"""``rl-framework list``: the agents of the local registry with their latest version and evaluation."""

from __future__ import annotations

import json
from typing import Any

import click

from rl_framework.cli.common import REGISTRY_OPTION_HELP, echo
from rl_framework.cli.options import common_options


@click.command()
@click.option("--registry", help=REGISTRY_OPTION_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
@common_options
def command(registry: str | None, as_json: bool) -> None:
    """List the agents of the local registry (name, versions, algorithm, environment, mean return)."""
    from rl_framework.util.connector.local import LocalConnector

    connector = LocalConnector(registry_path=registry)
    rows: list[dict[str, Any]] = []
    for name in connector.list_agents():
        versions = connector.list_versions(name)
        metadata_file = connector.version_path(name, versions[-1]) / "metadata.json"
        metadata = json.loads(metadata_file.read_text(encoding="utf-8")) if metadata_file.is_file() else {}
        evaluation = metadata.get("evaluation") or {}
        rows.append(
            {
                "name": name,
                "versions": versions,
                "algorithm": metadata.get("algorithm"),
                "environment": metadata.get("environment"),
                "mean_return": evaluation.get("mean_reward"),
                "std_return": evaluation.get("std_reward"),
                "created": metadata.get("created"),
            }
        )
    if as_json:
        echo(json.dumps({"registry": str(connector.root), "agents": rows}))
        return
    if not rows:
        echo(f"No agents in {connector.root} yet: `rl-framework push AGENT --to local` adds one.")
        return
    table = [("NAME", "VERSIONS", "ALGORITHM", "ENVIRONMENT", "MEAN RETURN")]
    for row in rows:
        result = "-" if row["mean_return"] is None else f"{row['mean_return']:.2f} ± {row['std_return']:.2f}"
        count = f"{len(row['versions'])} (latest v{row['versions'][-1]})"
        table.append((row["name"], count, str(row["algorithm"] or "-"), str(row["environment"] or "-"), result))
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    echo(f"Registry: {connector.root}")
    for line in table:
        echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
