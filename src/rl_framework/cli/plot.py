"""``rl-framework plot``: learning curves of runs or agents, overlaid in one PNG."""

from __future__ import annotations

from pathlib import Path

import click

from rl_framework.cli.common import REGISTRY_OPTION_HELP, echo
from rl_framework.cli.options import common_options


def curve_folder(source: str, registry: str | None) -> tuple[Path, str]:
    """The folder (or metrics file) holding ``source``'s logged metrics, and its legend label.

    ``source`` is a run folder, a ``metrics.jsonl`` file, a registry ``name[:version]`` or a Hub
    repository (``hf:owner/name[@revision]``), whose ``logs/metrics.jsonl`` is downloaded.
    """
    path = Path(source).expanduser()
    if path.exists():
        return path, path.parent.name if path.is_file() else path.name
    if source.startswith("hf:"):
        return _hub_folder(source[3:]), source[3:]
    from rl_framework.util.connector.local import LocalConnector

    connector = LocalConnector(registry_path=registry)
    name, _, version = source.partition(":")
    if name in connector.list_agents():
        folder = connector.version_path(name, "latest" if version in ("", "latest") else int(version))
        return folder, f"{name}:{folder.name}"
    if "/" in source:
        return _hub_folder(source), source
    known = ", ".join(connector.list_agents()) or "none"
    raise FileNotFoundError(
        f"No run or agent '{source}': not a folder or metrics file, not in the local registry '{connector.root}' "
        f"(agents there: {known}), not a Hub repository (owner/name)."
    )


def _hub_folder(reference: str) -> Path:
    from huggingface_hub import hf_hub_download

    repo, _, revision = reference.partition("@")
    metrics = Path(hf_hub_download(repo, "logs/metrics.jsonl", revision=revision or "main"))
    try:
        hf_hub_download(repo, "metadata.json", revision=revision or "main")
    except Exception:  # noqa: BLE001 - the final evaluation point is optional
        pass
    return metrics.parent.parent


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "-o", "output", default="learning_curve.png", show_default=True, help="The PNG to write.")
@click.option("--window", type=click.IntRange(min=1), help="Smoothing window in episodes (default: automatic).")
@click.option("--title", help="The figure's title.")
@click.option("--registry", help=REGISTRY_OPTION_HELP)
@common_options
def command(sources: tuple[str, ...], output: str, window: int | None, title: str | None, registry: str | None) -> None:
    """Draw the learning curves of SOURCES (run folders, metrics files, registry name[:version], Hub repos).

    Each curve: training episode returns (faint), their moving average, and the evaluation points
    (mean ± std). Several sources overlay with a legend.
    """
    if not output.lower().endswith(".png"):
        raise click.BadParameter(f"the figure is written as PNG: give a file ending in .png, got '{output}'.")
    from rl_framework.util.plot import folder_curve, plot_learning_curves

    curves = [folder_curve(folder, label) for folder, label in (curve_folder(source, registry) for source in sources)]
    path = plot_learning_curves(curves, output, window=window, title=title)
    echo(f"Wrote {path} ({len(curves)} curve{'s' if len(curves) > 1 else ''})")
