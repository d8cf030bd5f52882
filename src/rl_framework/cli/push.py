"""``rl-framework push``: share an agent on the local registry, the HuggingFace Hub or ClearML."""

from __future__ import annotations

import click

from rl_framework.cli.common import REGISTRY_OPTION_HELP, echo, environment_of, load_source, opened, share
from rl_framework.cli.options import allow_pickle_option, common_options

CONNECTOR_TYPES = ("local", "huggingface", "clearml")


@click.command()
@click.argument("agent")
@click.option("--to", "target", type=click.Choice(CONNECTOR_TYPES), required=True, help="Where to share the agent.")
@click.option("--name", help="local: the registry name (default <algorithm>-<env>).")
@click.option("--repo-id", help="huggingface: the repository, owner/name (default <your user>/<algorithm>-<env>).")
@click.option("--offline", is_flag=True, help="clearml: write an offline session instead of talking to a server.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Another upload setting of the "
              "connector, e.g. video_length=500, commit_message=..., project_name=... (repeatable).")  # fmt: skip
@click.option("--env", "-e", help="Environment to evaluate and record on (default: the one it was trained on).")
@click.option("--episodes", "-n", type=click.IntRange(min=1), help="Evaluation episodes of the upload.")
@click.option("--no-video", is_flag=True, help="Do not record a replay video.")
@click.option("--algorithm", "-a", help="The agent's algorithm, when its files do not say it.")
@click.option("--registry", help=REGISTRY_OPTION_HELP)
@allow_pickle_option
@common_options
def command(
    agent: str,
    target: str,
    name: str | None,
    repo_id: str | None,
    offline: bool,
    options: tuple[str, ...],
    env: str | None,
    episodes: int | None,
    no_video: bool,
    algorithm: str | None,
    registry: str | None,
    allow_pickle: bool,
) -> None:
    """Share AGENT (a file, run folder, registry name[:version] or Hub repo) with its metrics and curve.

    The upload carries a fresh evaluation, a replay video, the metrics logged while training (so
    the learning curve goes along) and the resolved experiment file.
    """
    from rl_framework.cli.options import parse_overrides
    from rl_framework.experiment.config import ConnectorSettings

    settings = {key: value for key, value in parse_overrides(options).items()}
    shortcuts = {"agent_name": name, "repository_id": repo_id, "offline": offline or None}
    if target == "local" and registry is not None:
        settings.setdefault("registry", registry)
    settings.update({key: value for key, value in shortcuts.items() if value is not None})
    if episodes is not None:
        settings["n_eval_episodes"] = episodes
    source = load_source(agent, algorithm, registry, allow_pickle)
    factory = environment_of(source, env)
    from rl_framework.experiment.connectors import build_connector

    connector = build_connector(
        ConnectorSettings(target, settings), source.agent.algorithm_name, factory.env_id, episodes or 10
    )
    with opened(connector):
        where = share(source.agent, connector, factory, source.metrics_file, video=not no_video)
        echo(f"Shared {source.label}: {where}")
