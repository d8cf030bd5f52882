"""``rl-framework imitate``: train an imitation-learning agent from recorded episodes, into a run folder."""

from __future__ import annotations

import click

from rl_framework.cli.options import allow_pickle_option, common_options
from rl_framework.cli.train import CONNECTOR_TYPES, execute, experiment_from_options


@click.command()
@click.option("--config", "-c", "config", help="Experiment file: a path or a bundled name.")
@click.option("--algorithm", "-a", help="Imitation algorithm, e.g. BC, DAgger, GAIL, AIRL, SQIL, Density.")
@click.option("--episodes", "episodes", help="Recorded episodes: a dataset folder or file (EpisodeSequence).")
@click.option("--env", "-e", help="Gymnasium environment id the episodes were recorded on.")
@click.option("--timesteps", "-n", "total_timesteps", type=int, help="Budget (BC: samples; others: env steps).")
@click.option("--expert", help="DAgger's expert: an agent file, run folder or registry name[:version].")
@click.option("--n-envs", type=int, help="Environment copies used in parallel.")
@click.option("--seed", type=int, help="Seed of the algorithm and environments.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key (repeatable).")
@click.option("--connector", type=click.Choice(CONNECTOR_TYPES), help="Share the trained agent there.")
@click.option("--output", "-o", help="Run folder (default: a new <runs-dir>/<algorithm>-<env>-<N>).")
@click.option("--runs-dir", default="runs", show_default=True, help="Where new run folders go.")
@allow_pickle_option
@common_options
def command(
    config: str | None,
    algorithm: str | None,
    episodes: str | None,
    env: str | None,
    total_timesteps: int | None,
    expert: str | None,
    n_envs: int | None,
    seed: int | None,
    overrides: tuple[str, ...],
    connector: str | None,
    output: str | None,
    runs_dir: str,
    allow_pickle: bool,
) -> None:
    """Train an agent from recorded episodes (BC, DAgger, GAIL, AIRL, SQIL, Density).

    Like `train` (same run folder, evaluation and sharing), for the imitation algorithms;
    `--episodes` names the demonstrations and DAgger takes `--expert`.
    """
    flags = {
        "algorithm": algorithm,
        "env": env,
        "total_timesteps": total_timesteps,
        "n_envs": n_envs,
        "seed": seed,
        "episodes": episodes,
        "expert": expert,
    }
    experiment = experiment_from_options(config, flags, overrides, connector, tensorboard=True)
    from rl_framework.experiment.training import algorithm_family

    if algorithm_family(experiment.algorithm) != "il":
        from rl_framework.agent.imitation.imitation.algorithms import IMITATION_ALGORITHMS

        raise click.UsageError(
            f"'{experiment.algorithm}' is a reinforcement-learning algorithm: use `rl-framework train`, or pick one of "
            f"{', '.join(IMITATION_ALGORITHMS)}."
        )
    if experiment.episodes is None:
        raise click.UsageError(f"{experiment.algorithm} needs --episodes PATH (a recorded-episode dataset).")
    execute(experiment, output, runs_dir, allow_pickle)
