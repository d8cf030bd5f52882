"""``rl-framework evaluate``: evaluate an agent and print mean ± std, IQM and the episode count."""

from __future__ import annotations

import json

import click

from rl_framework.cli.common import REGISTRY_OPTION_HELP, echo, environment_of, evaluate, load_source, summary
from rl_framework.cli.options import allow_pickle_option, common_options


@click.command()
@click.argument("agent")
@click.option("--env", "-e", help="Environment id (default: the one the agent was trained on).")
@click.option("--episodes", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Episodes to run.")
@click.option("--deterministic/--stochastic", default=True, show_default=True, help="Most likely or sampled actions.")
@click.option("--seed", type=int, help="Base seed of the episodes (episode i uses seed + i).")
@click.option("--algorithm", "-a", help="The agent's algorithm, when its files do not say it.")
@click.option("--registry", help=REGISTRY_OPTION_HELP)
@allow_pickle_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (with every episode's return).")
@common_options
def command(
    agent: str,
    env: str | None,
    episodes: int,
    deterministic: bool,
    seed: int | None,
    algorithm: str | None,
    registry: str | None,
    allow_pickle: bool,
    as_json: bool,
) -> None:
    """Evaluate AGENT: a file, a run folder, a registry name[:version] or a Hub repo (owner/name)."""
    source = load_source(agent, algorithm, registry, allow_pickle)
    factory = environment_of(source, env)
    result = evaluate(source.agent, factory, episodes, deterministic, seed)
    if as_json:
        from rl_framework.util.statistics import iqm, stratified_bootstrap_ci

        low, high = stratified_bootstrap_ci(result.episode_returns)
        report = {
            "agent": source.label,
            "environment": factory.env_id,
            "deterministic": deterministic,
            "n_episodes": len(result.episode_returns),
            "mean_return": result.mean_reward,
            "std_return": result.std_reward,
            "iqm_return": iqm(result.episode_returns),
            "iqm_ci95": [low, high],
            "mean_episode_length": result.mean_length,
            "episode_returns": [float(value) for value in result.episode_returns],
        }
        echo(json.dumps(report))
        return
    mode = "deterministic" if deterministic else "stochastic"
    echo(f"{source.label} on {factory.env_id} ({mode}): {summary(result.episode_returns)}")
