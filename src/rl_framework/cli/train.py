"""``rl-framework train``: train an agent from flags or an experiment file, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rl_framework.cli.common import echo, opened, progress, share, summary
from rl_framework.cli.options import common_options, parse_overrides

if TYPE_CHECKING:
    from rl_framework.experiment.config import ExperimentConfig

CONNECTOR_TYPES = ("local", "huggingface", "clearml")


def experiment_from_options(
    config: str | None, flags: dict[str, Any], overrides: tuple[str, ...], connector: str | None, tensorboard: bool
) -> ExperimentConfig:
    """The resolved experiment: the file (if any), then the flags, then ``--set``, then ``--connector``.

    Imports only PyYAML, so a bad file or key fails in a fraction of a second.
    """
    from rl_framework.experiment.config import from_dict, load_experiment

    given = {key: value for key, value in flags.items() if value is not None}
    if config is not None:
        experiment = load_experiment(config)
        data = experiment.to_dict()
        data.update(given)
        source = f"'{config}' with the command-line flags"
    else:
        data, source = given, "the command line (give --algorithm, --env and --timesteps, or --config FILE)"
    if not tensorboard:
        data["tensorboard"] = False
    experiment = from_dict(data, source)
    experiment = experiment.with_overrides(parse_overrides(overrides))
    if connector is not None:
        current = experiment.connector
        options = current.options if current is not None and current.type == connector else {}
        experiment = experiment.with_overrides({"connector": {"type": connector, "options": options}})
    return experiment


def run_folder_path(output: str | None, runs_dir: str, experiment: ExperimentConfig) -> Path:
    """``--output`` (which must not hold a run yet), else a new ``<runs_dir>/<algorithm>-<env>-<N>``."""
    from rl_framework.experiment.connectors import default_agent_name
    from rl_framework.experiment.run import new_run_folder

    path = check_output(output)
    if path is None:
        return new_run_folder(runs_dir, default_agent_name(experiment.algorithm, experiment.env))
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_output(output: str | None) -> Path | None:
    """``--output`` as a path, refused when it already holds a run (checked before any work)."""
    from rl_framework.experiment.run import EXPERIMENT_FILE

    if output is None:
        return None
    path = Path(output)
    if (path / EXPERIMENT_FILE).exists():
        raise FileExistsError(
            f"'{path}' already holds a run. Choose another --output, or leave it out for a new folder."
        )
    return path


def execute(experiment: ExperimentConfig, output: str | None, runs_dir: str, allow_pickle: bool = False) -> None:
    """Train ``experiment`` into a run folder, evaluate and save the agent, then share it if asked.

    ``allow_pickle`` lets the recorded episodes and DAgger's expert be legacy pickle files (this run only).
    """
    from rl_framework.experiment.connectors import build_connector

    check_output(output)
    connector = None
    if experiment.connector is not None:  # built first: a missing Hub token fails before training
        connector = build_connector(
            experiment.connector, experiment.algorithm, experiment.env, experiment.evaluation.n_episodes
        )
    from rl_framework.experiment.environments import check_environment_id

    check_environment_id(experiment.env)  # gymnasium only: before the algorithm check imports torch
    from rl_framework.experiment.training import (
        algorithm_family,
        finish_run,
        open_demonstrations,
        run_folder_for,
        train_from_config,
    )

    episodes = None
    if algorithm_family(experiment.algorithm) == "il":
        episodes = open_demonstrations(experiment, allow_pickle)  # a bad dataset fails before the run folder
    folder = run_folder_for(experiment, run_folder_path(output, runs_dir, experiment))
    echo(f"Run folder: {folder.path}")
    with progress("Training", experiment.total_timesteps, "steps") as display:
        agent = train_from_config(
            experiment, folder, report=display.update_to, allow_pickle=allow_pickle, episodes=episodes
        )
    from rl_framework.experiment.environments import EnvironmentFactory, ReportingWrapper

    factory = EnvironmentFactory.from_experiment(experiment.to_dict())
    with progress("Evaluating", experiment.evaluation.n_episodes, "episodes") as display:
        reporting = factory.with_options(wrapper=lambda env: ReportingWrapper(env, on_episode=display.advance))
        metadata = finish_run(agent, folder, evaluation_environment=reporting)
    echo(f"{experiment.env}: {summary(metadata['evaluation']['episode_returns'])}")
    echo(f"Saved the agent, its metrics and learning curve in {folder.path}")
    if connector is not None:
        with opened(connector):
            where = share(agent, connector, factory, folder.metrics_file)
            echo(f"Shared the agent: {where}")


@click.command()
@click.option("--config", "-c", "config", help="Experiment file: a path or a bundled name (e.g. ppo_cartpole).")
@click.option("--algorithm", "-a", help="Algorithm name, e.g. PPO, A2C, DQN, SAC, TD3 (overrides the file).")
@click.option("--env", "-e", help="Gymnasium environment id, e.g. CartPole-v1 (overrides the file).")
@click.option("--timesteps", "-n", "total_timesteps", type=int, help="Training budget in environment steps.")
@click.option("--n-envs", type=int, help="Environment copies trained on in parallel.")
@click.option("--seed", type=int, help="Seed of the algorithm and environments.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key, e.g. n_envs=4 or "
              "algorithm_parameters.learning_rate=0.0003 (repeatable).")  # fmt: skip
@click.option("--connector", type=click.Choice(CONNECTOR_TYPES), help="Share the trained agent there.")
@click.option("--output", "-o", help="Run folder (default: a new <runs-dir>/<algorithm>-<env>-<N>).")
@click.option("--runs-dir", default="runs", show_default=True, help="Where new run folders go.")
@click.option("--no-tensorboard", is_flag=True, help="Do not write TensorBoard event files.")
@common_options
def command(
    config: str | None,
    algorithm: str | None,
    env: str | None,
    total_timesteps: int | None,
    n_envs: int | None,
    seed: int | None,
    overrides: tuple[str, ...],
    connector: str | None,
    output: str | None,
    runs_dir: str,
    no_tensorboard: bool,
) -> None:
    """Train an agent from flags or an experiment file.

    The run folder receives the resolved experiment (experiment.yaml: `rl-framework train --config
    <run>/experiment.yaml` repeats the run), every logged metric, TensorBoard files, the agent,
    its evaluation and its learning curve.
    """
    flags = {"algorithm": algorithm, "env": env, "total_timesteps": total_timesteps, "n_envs": n_envs, "seed": seed}
    experiment = experiment_from_options(config, flags, overrides, connector, not no_tensorboard)
    execute(experiment, output, runs_dir)
