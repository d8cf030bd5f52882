"""``run_sweep``: N seeds x a search space as Ray Tune trials, then the table, the statistics and the best agent.

Ray is the engine (scheduling, resources, clusters, fault isolation, resumption); this module
only describes the trials to it and reads the results back. Ray is imported when a sweep runs,
never with ``rl_framework`` (``from ray import tune`` alone takes ~1.7 s).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.sweep.config import SweepConfig
from rl_framework.sweep.results import (
    ERROR,
    FINISHED,
    INTERRUPTED,
    STOPPED,
    ConfigurationSummary,
    TrialRecord,
    best_configuration,
    best_trial,
    format_table,
    summarise,
    write_results,
)
from rl_framework.sweep.spec import TrainingSpec
from rl_framework.sweep.trial import (
    METRIC,
    TIME_ATTRIBUTE,
    AgentStore,
    EvaluationSchedule,
    run_trial,
    trial_agent_name,
)

if TYPE_CHECKING:
    from rl_framework.agent.base_agent import BaseAgent

logger = logging.getLogger(__name__)
TUNE_FOLDER = "tune"


@dataclass(frozen=True)
class SweepResult:
    """What a sweep produced.

    :param records: one record per trial.
    :param summaries: one multi-seed summary per configuration.
    :param best_agent: the best configuration's best run, loaded (``None`` if no trial finished).
    :param best_location: where it was registered (registry version folder or repository URL).
    :param best_report: the multi-seed report stored with it.
    :param files: the written files by role (``csv``, ``json``, ``curves``).
    """

    records: list[TrialRecord]
    summaries: list[ConfigurationSummary]
    best_agent: BaseAgent | None = None
    best_location: str | None = None
    best_report: dict[str, Any] | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def table(self) -> str:
        """The results table and per-configuration summary as text."""
        return format_table(self.records, self.summaries)


def run_sweep(spec: TrainingSpec, config: SweepConfig | None = None, verbose: bool = True) -> SweepResult:
    """Run every configuration of ``config.search_space`` with every seed as Ray Tune trials.

    Everything is checked before Ray starts (parameter names by building one agent, the output
    folder, the search space). A trial that raises is recorded with its error and the others go on.
    On Ctrl-C, Ray Tune stops the running trials and saves its state; the finished trials' rows
    and agents are written and ``KeyboardInterrupt`` is raised; ``resume=True`` continues.

    :param spec: what every trial trains.
    :param config: seeds, search, resources, output folder (default ``SweepConfig()``).
    :param verbose: print one line per evaluation and the final table.
    :return: the records, summaries and the best agent.
    :raises FileExistsError: when ``output_dir`` holds a sweep and ``resume`` is not set.
    """
    config = config or SweepConfig()
    spec = _with_absolute_paths(spec)
    name = config.sweep_name(spec.algorithm_name, spec.environment_name)
    output = Path(config.output_dir).resolve()
    experiment = output / TUNE_FOLDER
    configurations = _configurations(config)
    spec.check(configurations[0])
    tune = import_tune()
    restoring = config.resume and tune.Tuner.can_restore(str(experiment))
    if experiment.exists() and not restoring:
        fix = "remove it" if config.resume else "continue it with resume=True (--resume)"
        raise FileExistsError(f"'{experiment}' holds a sweep that is not resumed: {fix}, or choose another output_dir.")
    output.mkdir(parents=True, exist_ok=True)
    start_ray(config)
    store = config.store()
    schedule = config.schedule(spec.total_timesteps)
    trainable = tune.with_resources(
        tune.with_parameters(
            _tune_trial, spec=spec, schedule=schedule, store=store, name=name, seeds=config.seed_list()
        ),
        config.resources(),
    )
    if restoring:
        tuner = tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True, resume_errored=False)
    else:
        tuner = _new_tuner(trainable, config, configurations, spec.total_timesteps, schedule, str(output), verbose)
    started = time.perf_counter()
    grid = tuner.fit()
    records = _records(grid, str(experiment), configurations, config)
    interrupted = any(record.status == INTERRUPTED for record in records)
    summaries = summarise(records)
    info = _info(name, spec, config, schedule, time.perf_counter() - started, interrupted)
    csv_file, json_file = write_results(output, records, summaries, info)
    files = {"csv": csv_file, "json": json_file}
    if records:
        from rl_framework.sweep.curves import plot_learning_curves

        title = f"{spec.algorithm_name} on {spec.environment_name}"
        files["curves"] = plot_learning_curves(records, output / "learning_curves.png", title)
    if interrupted:
        print(format_table(records, summaries))
        print(f"\nInterrupted: finished trials are saved in '{output}'. Continue with resume=True (--resume).")
        raise KeyboardInterrupt
    result = SweepResult(records, summaries, files=files)
    best = best_configuration(summaries)
    if best is not None:
        result = _publish(result, best, spec, config, store, name, output)
        write_results(output, records, summaries, {**info, "best": result.best_report})
    if verbose:
        print(result.table)
        if result.best_location:
            print(f"\nBest agent (configuration {best.configuration if best else '-'}): {result.best_location}")
    return result


def import_tune() -> Any:
    """``ray.tune``, or an ``ImportError`` that names the extra to install."""
    try:
        from ray import tune
    except ImportError as error:
        raise ImportError(
            f"Sweeps run on Ray Tune, which is not installed ({error}): pip install 'rl_framework[ray]'."
        ) from error
    return tune


def start_ray(config: SweepConfig) -> None:
    """Initialise Ray for ``config`` unless this process already did (a runtime is reused, not restarted).

    ``address`` (or ``$RAY_ADDRESS``) joins a running cluster; otherwise a local Ray starts on the
    loopback address with ``num_cpus`` CPUs.
    """
    import ray

    if ray.is_initialized():
        return
    # Ray reports usage statistics to its vendor unless told not to; a sweep does not send them on
    # the user's behalf (set RAY_USAGE_STATS_ENABLED=1 to opt in).
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = config.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    ray.init(
        # "local" starts a runtime of our own even when a `ray start` cluster runs on this machine
        # (without it Ray would join that cluster, and refuse num_cpus).
        address="local",
        num_cpus=config.num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        # A local runtime talks to itself only: keep it off the network interfaces.
        _node_ip_address="127.0.0.1",
    )


def _tune_trial(
    trial_config: dict[str, Any],
    spec: TrainingSpec,
    schedule: EvaluationSchedule,
    store: AgentStore,
    name: str,
    seeds: list[int],
) -> None:
    """The Ray Tune trainable: one ``run_trial`` with the trial's parameters and seed."""
    from ray import tune
    from ray.tune.search.repeater import TRIAL_INDEX

    seed = trial_config["seed"] if "seed" in trial_config else seeds[trial_config[TRIAL_INDEX]]
    trial_id = tune.get_context().get_trial_id()
    run_trial(spec, trial_config["parameters"], seed, schedule, tune.report, store, trial_agent_name(name, trial_id))


def _configurations(config: SweepConfig) -> list[dict[str, Any]]:
    """The configurations of a basic search, or one sample of the space for the up-front check (Optuna)."""
    if config.searcher == "basic":
        return config.space.configurations(config.num_samples, config.search_seed)
    return config.space.configurations(1, config.search_seed)[:1]


def _new_tuner(
    trainable: Any,
    config: SweepConfig,
    configurations: list[dict[str, Any]],
    total_timesteps: int,
    schedule: EvaluationSchedule,
    storage: str,
    verbose: bool,
) -> Any:
    from ray import tune

    from rl_framework.sweep.progress import ProgressPrinter

    seeds = config.seed_list()
    if config.searcher == "basic":
        param_space = {"parameters": tune.grid_search(configurations), "seed": tune.grid_search(seeds)}
        search_alg, num_samples = None, 1
    else:
        from ray.tune.search import Repeater
        from ray.tune.search.optuna import OptunaSearch

        # Repeater runs every proposed configuration once per seed and tells Optuna their mean.
        optuna = OptunaSearch(seed=config.search_seed)
        search_alg = Repeater(optuna, repeat=len(seeds), set_index=True)
        param_space = {"parameters": config.space.to_tune()}
        num_samples = config.num_samples * len(seeds)
    scheduler = None
    if config.early_stopping:
        from ray.tune.schedulers import ASHAScheduler

        # max_t beyond the budget: a trial ends by finishing its training, never by ASHA's cap
        # (a stop at max_t would cut the final report that stores the agent).
        scheduler = ASHAScheduler(
            time_attr=TIME_ATTRIBUTE, max_t=2 * total_timesteps, grace_period=schedule.frequency, reduction_factor=2
        )
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            search_alg=search_alg,
            scheduler=scheduler,
            num_samples=num_samples,
            max_concurrent_trials=config.max_concurrent_trials,
            # A new trial reuses a finished trial's worker process: torch, SB3 and gymnasium are
            # imported once per worker instead of once per trial (seconds each on a busy machine).
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=TUNE_FOLDER,
            storage_path=storage,
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            callbacks=[ProgressPrinter()] if verbose else None,
        ),
    )


def _records(
    grid: Any, experiment: str, configurations: list[dict[str, Any]], config: SweepConfig
) -> list[TrialRecord]:
    """One record per trial of the result grid, statuses from the saved experiment state."""
    from ray import tune

    trials = {trial.path: trial for trial in tune.ExperimentAnalysis(experiment).trials}
    seeds = config.seed_list()
    keys = [json.dumps(configuration, sort_keys=True, default=repr) for configuration in configurations]
    records = []
    for result in grid:
        metrics = result.metrics or {}
        trial_config = result.config or {}
        parameters = dict(trial_config.get("parameters", {}))
        key = json.dumps(parameters, sort_keys=True, default=repr)
        if key not in keys:  # Optuna: configurations appear as the searcher proposes them
            keys.append(key)
        seed = trial_config.get("seed", seeds[trial_config.get("__trial_index__", 0) % len(seeds)])
        history = result.metrics_dataframe
        curve: list[tuple[int, float]] = []
        if history is not None and METRIC in history:
            curve = [(int(t), float(r)) for t, r in zip(history[TIME_ATTRIBUTE], history[METRIC], strict=True)]
        trial = trials.get(result.path)
        trial_id = metrics.get("trial_id") or (trial.trial_id if trial is not None else Path(result.path).name)
        status, error = _status(metrics, result.error, trial.status if trial is not None else None)
        records.append(
            TrialRecord(
                trial_id=str(trial_id),
                configuration=keys.index(key),
                parameters=parameters,
                seed=int(seed),
                status=status,
                final_return=float(metrics.get(METRIC, float("nan"))),
                best_return=float(metrics.get("best_return", float("nan"))),
                timesteps=int(metrics.get(TIME_ATTRIBUTE, 0)),
                seconds=float(metrics.get("trial_seconds", metrics.get("time_total_s", 0.0))),
                cpu_seconds=float(metrics.get("cpu_seconds", float("nan"))),
                agent_location=str(metrics.get("agent_location", "")),
                error=error,
                curve=curve,
            )
        )
    return sorted(records, key=lambda record: (record.configuration, record.seed))


def _status(metrics: dict[str, Any], error: BaseException | None, tune_status: str | None) -> tuple[str, str]:
    if error is not None:
        cause = getattr(error, "cause", None) or error
        lines = [line for line in str(cause).strip().splitlines() if line.strip()]
        return ERROR, f"{type(cause).__name__}: {lines[-1] if lines else ''}".strip()
    if metrics.get("finished"):
        return FINISHED, ""
    return (STOPPED if tune_status == "TERMINATED" else INTERRUPTED), ""


def _publish(
    result: SweepResult,
    best: ConfigurationSummary,
    spec: TrainingSpec,
    config: SweepConfig,
    store: AgentStore,
    name: str,
    output: Path,
) -> SweepResult:
    """Load the best configuration's best run from the store and register it with the multi-seed report."""
    from rl_framework.sweep.publish import multi_seed_report, publish_best
    from rl_framework.util.connector.local import LocalUploadConfig

    record = best_trial(result.records, best)
    agent = spec.build_agent(record.parameters, record.seed)
    agent.download(store(trial_agent_name(name, record.trial_id)))
    report = multi_seed_report(best, record, spec, config.n_eval_episodes, config.deterministic_evaluation)
    destination = config.publish or LocalUploadConfig(
        agent_name=f"{name}-best",
        n_eval_episodes=config.n_eval_episodes,
        deterministic_evaluation=config.deterministic_evaluation,
        seed=config.evaluation_seed,
    )
    evaluation_environment = spec.evaluation_environment or spec.environment
    location = publish_best(agent, report, destination, output / "registry", evaluation_environment)
    return dataclasses.replace(result, best_agent=agent, best_location=location, best_report=report)


def _info(
    name: str, spec: TrainingSpec, config: SweepConfig, schedule: EvaluationSchedule, seconds: float, stopped: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "algorithm": spec.algorithm_name,
        "environment": spec.environment_name,
        "total_timesteps": spec.total_timesteps,
        "base_parameters": spec.algorithm_parameters,
        "seeds": config.seed_list(),
        "searcher": config.searcher,
        "num_samples": config.num_samples,
        "early_stopping": config.early_stopping,
        "eval_frequency": schedule.frequency,
        "n_eval_episodes": schedule.n_episodes,
        "deterministic": schedule.deterministic,
        "resources_per_trial": config.resources(),
        "wall_seconds": seconds,
        "interrupted": stopped,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }


def _with_absolute_paths(spec: TrainingSpec) -> TrainingSpec:
    """Trials may run in another working directory (Ray's trial folder): make file paths absolute."""
    episodes = spec.episode_sequence
    if isinstance(episodes, (str, os.PathLike)):
        return dataclasses.replace(spec, episode_sequence=str(Path(episodes).resolve()))
    return spec
