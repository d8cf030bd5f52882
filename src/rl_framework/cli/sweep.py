"""``rl-framework sweep``: N seeds x a search space as Ray Tune trials, with the multi-seed results table."""

from __future__ import annotations

from typing import Any

import click

from rl_framework.cli.options import common_options


@click.command()
@click.option("--config", "-c", "config", help="Experiment file: a path or a bundled name (e.g. ppo_cartpole).")
@click.option("--algorithm", "-a", help="Algorithm name, e.g. PPO, DQN, SAC, BC (overrides the file).")
@click.option("--env", "-e", help="Gymnasium environment id, e.g. CartPole-v1 (overrides the file).")
@click.option("--timesteps", "-n", "total_timesteps", type=int, help="Training budget of every trial.")
@click.option("--n-envs", type=int, help="Environment copies per trial.")
@click.option("--episodes", help="Recorded episodes of an imitation algorithm (dataset folder or file).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override an experiment key, e.g. "
              "algorithm_parameters.n_steps=256 (repeatable).")  # fmt: skip
@click.option("--seeds", default=5, show_default=True, type=int, help="Seeds per configuration (0 .. N-1).")
@click.option("--search", "search_file", type=click.Path(dir_okay=False), help="Search space YAML file.")
@click.option("--searcher", type=click.Choice(["basic", "optuna"]), default="basic", show_default=True,
              help="basic: the grid x random draws; optuna: Optuna's TPE through Ray Tune.")  # fmt: skip
@click.option("--samples", "num_samples", default=1, show_default=True, type=int,
              help="Random draws per grid point (basic) or configurations Optuna proposes.")  # fmt: skip
@click.option("--early-stopping", is_flag=True, help="Stop lagging trials early (ASHA on the evaluation returns).")
@click.option("--eval-frequency", type=int, help="Steps between evaluations (default: the file's, or budget/10).")
@click.option("--eval-episodes", type=int, help="Episodes per evaluation (default: the file's, or 10).")
@click.option("--cpus-per-trial", default=1.0, show_default=True, type=float, help="CPUs Ray reserves per trial.")
@click.option("--gpus-per-trial", default=0.0, show_default=True, type=float, help="GPUs (fraction) per trial.")
@click.option("--max-concurrent", type=int, help="Trials running at once (default: as many as fit).")
@click.option("--address", help="Ray cluster: 'auto' (ray start on this machine) or HEAD:6379; default local Ray.")
@click.option("--num-cpus", type=int, help="CPUs of the local Ray (default: all).")
@click.option("--out", "output_dir", help="Output folder (default: sweeps/<algorithm>-<env>).")
@click.option("--name", help="Sweep name: registry entries <name>-<trial> and <name>-best.")
@click.option("--resume", is_flag=True, help="Continue the sweep in --out: finished trials are kept.")
@click.option("--push-to-hub", "hub_repository", metavar="OWNER/NAME",
              help="Publish the best agent to this HuggingFace repository, multi-seed card included.")  # fmt: skip
@common_options
def command(
    config: str | None,
    algorithm: str | None,
    env: str | None,
    total_timesteps: int | None,
    n_envs: int | None,
    episodes: str | None,
    overrides: tuple[str, ...],
    seeds: int,
    search_file: str | None,
    searcher: str,
    num_samples: int,
    early_stopping: bool,
    eval_frequency: int | None,
    eval_episodes: int | None,
    cpus_per_trial: float,
    gpus_per_trial: float,
    max_concurrent: int | None,
    address: str | None,
    num_cpus: int | None,
    output_dir: str | None,
    name: str | None,
    resume: bool,
    hub_repository: str | None,
) -> None:
    """Train every configuration of a search space with several seeds, as Ray Tune trials.

    \b
    Examples:
      rl-framework sweep --algorithm PPO --env CartPole-v1 --seeds 4 --timesteps 2048
      rl-framework sweep --config ppo_cartpole --search space.yaml --searcher optuna --samples 8
      rl-framework sweep --config sac_pendulum --seeds 5 --address auto --out sweeps/sac

    Prints one row per trial (parameters, seed, final and best return, steps, time) and, per
    configuration, the mean, IQM and 95% interval over seeds; writes results.csv, results.json and
    learning_curves.png into --out, and registers the best agent (<out>/registry/<name>-best).
    """  # noqa: D301 - "\b" keeps click from rewrapping the examples
    from rl_framework.cli.train import experiment_from_options
    from rl_framework.sweep.config import SweepConfig
    from rl_framework.sweep.experiment import evaluation_settings, spec_from_experiment
    from rl_framework.sweep.space import SearchSpace

    flags = {
        "algorithm": algorithm,
        "env": env,
        "total_timesteps": total_timesteps,
        "n_envs": n_envs,
        "episodes": episodes,
    }
    experiment = experiment_from_options(config, flags, overrides, None, tensorboard=False)
    spec = spec_from_experiment(experiment)
    settings: dict[str, Any] = evaluation_settings(experiment)
    if eval_frequency is not None:
        settings["eval_frequency"] = eval_frequency
    if eval_episodes is not None:
        settings["n_eval_episodes"] = eval_episodes
    default_name = f"{experiment.algorithm}-{experiment.env}".replace("/", "-").replace(":", "-")
    publish = None
    if hub_repository is not None:
        from rl_framework.util.connector.huggingface_config import HuggingFaceUploadConfig

        publish = HuggingFaceUploadConfig(
            repository_id=hub_repository,
            environment_name=experiment.env,
            model_architecture=experiment.algorithm,
            commit_message=f"Best agent of a {seeds}-seed sweep (rl_framework)",
            n_eval_episodes=settings["n_eval_episodes"],
            deterministic_evaluation=settings["deterministic_evaluation"],
        )
    sweep_config = SweepConfig(
        seeds=seeds,
        search_space=SearchSpace.from_yaml(search_file) if search_file else None,
        searcher=searcher,  # type: ignore[arg-type]  # click.Choice checked it
        num_samples=num_samples,
        early_stopping=early_stopping,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        max_concurrent_trials=max_concurrent,
        address=address,
        num_cpus=num_cpus,
        output_dir=output_dir or f"sweeps/{name or default_name}",
        name=name,
        resume=resume,
        publish=publish,
        **settings,
    )
    from rl_framework.sweep.runner import run_sweep

    result = run_sweep(spec, sweep_config, verbose=True)
    click.echo(f"\nResults: {result.files['csv']} (also results.json, learning_curves.png)")
