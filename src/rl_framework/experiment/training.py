"""``train_from_config``: build the agent and environments an experiment describes and train it.

The same function serves ``rl-framework train``, notebooks and hyperparameter sweeps: it takes
an ``ExperimentConfig`` (plus, optionally, a run folder that receives the logs) and returns the
trained agent. ``finish_run`` then evaluates the agent and saves it into the run folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from stable_baselines3.common.callbacks import BaseCallback

from rl_framework.agent.base_agent import BaseAgent
from rl_framework.experiment.config import EvaluationSettings, ExperimentConfig, ExperimentError, from_dict
from rl_framework.experiment.environments import (
    EnvironmentFactory,
    ReportingWrapper,
    check_environment_id,
    normalized,
)
from rl_framework.experiment.parameters import resolve_parameters
from rl_framework.experiment.run import AGENT_FILE, TENSORBOARD_FOLDER, RunFolder, read_metadata
from rl_framework.util.connector.base import Connector
from rl_framework.util.connector.bundle import UploadOptions
from rl_framework.util.connector.callbacks import as_callback_list

if TYPE_CHECKING:
    from rl_framework.data.episode_sequence import EpisodeSequence

Family = Literal["rl", "il"]


def algorithm_family(algorithm: str) -> Family:
    """``"rl"`` for a Stable-Baselines3 name, ``"il"`` for an imitation name (case-insensitive).

    :raises ExperimentError: for an unknown name, listing every valid one.
    """
    from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS

    if algorithm.lower() in {name.lower() for name in SB3_ALGORITHMS}:
        return "rl"
    from rl_framework.agent.imitation.imitation.algorithms import IMITATION_ALGORITHMS

    if algorithm.lower() in {name.lower() for name in IMITATION_ALGORITHMS}:
        return "il"
    raise ExperimentError(
        f"Unknown algorithm '{algorithm}'. Reinforcement learning: {', '.join(SB3_ALGORITHMS)}; "
        f"imitation learning: {', '.join(IMITATION_ALGORITHMS)}."
    )


def run_folder_for(config: ExperimentConfig, path: str | os.PathLike[str]) -> RunFolder:
    """The ``RunFolder`` at ``path`` for ``config``: its final evaluation and checkpoints follow the config."""
    options = UploadOptions(
        agent_file_name=AGENT_FILE,
        n_eval_episodes=config.evaluation.n_episodes,
        deterministic_evaluation=config.evaluation.deterministic,
        seed=config.evaluation.seed,
    )
    return RunFolder(path, options, checkpoint_frequency=config.checkpoint_frequency)


def train_from_config(
    config: ExperimentConfig,
    run: RunFolder | str | os.PathLike[str] | None = None,
    callback: Any = None,
    progress_bar: bool = False,
    report: Callable[[int], None] | None = None,
    allow_pickle: bool = False,
    episodes: EpisodeSequence | None = None,
) -> BaseAgent:
    """Train the agent ``config`` describes and return it.

    Checks the algorithm name and the environment id first. With a run folder, the resolved
    experiment goes to ``experiment.yaml``, every logged value to ``metrics.jsonl``, TensorBoard
    files to ``tensorboard/`` (SB3 algorithms, unless ``config.tensorboard`` is false),
    checkpoints to ``checkpoints/`` and periodic evaluations (``evaluation.frequency``) to the metrics.
    Without one, nothing is written.

    :param config: the experiment.
    :param run: a ``RunFolder`` or a folder path that receives the run's files.
    :param callback: extra SB3 callback(s) for RL algorithms (e.g. a sweep's reporter).
    :param progress_bar: show the agent's own progress bar.
    :param report: called with the budget units done so far (``total_timesteps`` counts them): after
        every step for RL; for imitation after every environment step (one process only) or, for
        BC, whenever its sample count is logged to the run folder.
    :param allow_pickle: imitation only: the recorded episodes and DAgger's expert may be legacy pickle
        files (for this call; unpickling runs the file author's code). Never stored in the experiment.
    :param episodes: imitation only: the experiment's episodes, already opened by ``open_demonstrations``
        (a caller that checked them before creating its run folder need not open them twice).
    :return: the trained agent; ``agent.experiment_config`` holds the resolved experiment, which
        every later upload saves with it.
    :raises ExperimentError: for an unknown algorithm or environment, or a parameter value that
        cannot be built (before any training).
    """
    check_environment_id(config.env)
    family = algorithm_family(config.algorithm)
    if family == "il" and episodes is None:
        episodes = open_demonstrations(config, allow_pickle)  # before any file is written
    folder = run if isinstance(run, RunFolder) or run is None else run_folder_for(config, run)
    if folder is not None:
        folder.write_experiment(config.to_yaml("Resolved experiment: rl-framework train --config <this file>"))
    factory = EnvironmentFactory(config.env, config.env_kwargs, config.frame_stack)
    if family == "rl":
        callbacks = as_callback_list(callback) + ([StepReporter(report)] if report is not None else [])
        agent = _train_reinforcement(config, factory, folder, callbacks, progress_bar)
    else:
        if report is not None:
            factory, folder = _reporting_imitation(config, factory, folder, report)
        assert episodes is not None
        agent = _train_imitation(config, episodes, factory, folder, progress_bar, allow_pickle)
    agent.experiment_config = config.to_dict()  # type: ignore[attr-defined]
    return agent


def _train_reinforcement(
    config: ExperimentConfig,
    factory: EnvironmentFactory,
    folder: RunFolder | None,
    callbacks: list[BaseCallback],
    progress_bar: bool,
) -> BaseAgent:
    from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent
    from rl_framework.environment.vectorize import build_vec_env

    action_space = None
    if isinstance(config.algorithm_parameters.get("action_noise"), dict):
        probe = factory()
        action_space = probe.action_space
        probe.close()
    parameters = resolve_parameters(config.algorithm_parameters, action_space)
    if config.seed is not None:
        parameters["seed"] = config.seed
    if folder is not None and config.tensorboard:
        parameters.setdefault("tensorboard_log", str(folder.path / TENSORBOARD_FOLDER))
    agent = StableBaselinesAgent(config.algorithm, parameters)
    if folder is not None and config.evaluation.frequency > 0:
        callbacks.append(PeriodicEvaluation(agent, factory, config.evaluation, folder))
    if config.normalize is False:
        agent.train(
            factory,
            config.total_timesteps,
            connector=folder,
            n_envs=config.n_envs,
            vectorization=config.vectorization,  # type: ignore[arg-type]
            progress_bar=progress_bar,
            callback=callbacks or None,
        )
        return agent
    vec_env = normalized(build_vec_env(factory, config.n_envs, config.vectorization), config.normalize)  # type: ignore[arg-type]
    try:
        agent.train(vec_env, config.total_timesteps, connector=folder, progress_bar=progress_bar, callback=callbacks)
    finally:
        vec_env.close()  # built here, so closed here (train never closes environments it was given)
    return agent


def _reporting_imitation(
    config: ExperimentConfig, factory: EnvironmentFactory, folder: RunFolder | None, report: Callable[[int], None]
) -> tuple[EnvironmentFactory, RunFolder | None]:
    """Feed ``report`` from an imitation run: environment steps, or BC's logged sample count."""
    if folder is not None:
        folder.on_value = lambda name, value, step: report(int(value)) if name == "bc/samples_so_far" else None
    if config.vectorization != "dummy":
        return factory, folder  # steps happen in other processes
    steps = [0]

    def count() -> None:
        steps[0] += 1
        report(steps[0])

    return factory.with_options(wrapper=lambda env: ReportingWrapper(env, on_step=count)), folder


def open_demonstrations(config: ExperimentConfig, allow_pickle: bool = False) -> EpisodeSequence:
    """The recorded episodes of an imitation experiment, opened (streamed, not loaded) and checked.

    Called before anything is written, so a missing or refused dataset leaves no run folder behind.

    :param config: an experiment of an imitation algorithm.
    :param allow_pickle: the dataset may be one of imitation's old pickled formats (this call only).
    :raises ExperimentError: when the experiment names no episodes, or asks to normalise them.
    """
    if config.episodes is None:
        raise ExperimentError(
            f"{config.algorithm} learns from recorded episodes: set episodes to a dataset folder or file "
            f"(`--episodes PATH`, or `episodes:` in the experiment file)."
        )
    if config.normalize is not False:
        raise ExperimentError(
            "normalize: imitation algorithms learn from raw recorded observations; set normalize: false."
        )
    from rl_framework.data.episode_sequence import EpisodeSequence

    return EpisodeSequence.from_dataset(config.episodes, allow_pickle=allow_pickle)


def _train_imitation(
    config: ExperimentConfig,
    episodes: EpisodeSequence,
    factory: EnvironmentFactory,
    folder: RunFolder | None,
    progress_bar: bool,
    allow_pickle: bool = False,
) -> BaseAgent:
    from rl_framework.agent.imitation.imitation.imitation import ImitationAgent

    parameters = dict(config.algorithm_parameters)
    if config.seed is not None:
        parameters["seed"] = config.seed
    if config.expert is not None:
        from rl_framework.experiment.references import load_agent

        parameters["expert"] = load_agent(config.expert, allow_pickle=allow_pickle).agent
    agent = ImitationAgent(config.algorithm, parameters)
    agent.train(
        episodes,
        factory,
        config.total_timesteps,
        connector=folder,
        n_envs=config.n_envs,
        vectorization=config.vectorization,  # type: ignore[arg-type]
        progress_bar=progress_bar,
    )
    return agent


def finish_run(
    agent: BaseAgent, run: RunFolder | str | os.PathLike[str], evaluation_environment: Any = None
) -> dict[str, Any]:
    """Evaluate the trained agent and save it into its run folder (agent, metadata, learning curve).

    :param agent: the agent ``train_from_config`` returned (its experiment sets the evaluation:
        ``evaluation.n_episodes``, ``deterministic``, ``seed``).
    :param run: the run folder (a ``RunFolder`` or its path).
    :param evaluation_environment: what to evaluate on; default: the experiment's environment.
    :return: the run's metadata (``metadata["evaluation"]`` holds the result, every episode's return included).
    """
    experiment = getattr(agent, "experiment_config", None)
    if isinstance(run, RunFolder):
        folder = run
    elif experiment:
        folder = run_folder_for(from_dict(experiment), run)
    else:
        folder = RunFolder(run)
    if evaluation_environment is None:
        if not experiment:
            raise ValueError("finish_run needs an evaluation_environment for an agent not trained from a config.")
        evaluation_environment = EnvironmentFactory.from_experiment(experiment)
    folder.upload(agent, evaluation_environment=evaluation_environment)
    return read_metadata(folder.path)


class StepReporter(BaseCallback):
    """Calls ``report(num_timesteps)`` after every environment step (drives progress displays and sweeps).

    :param report: receives the training's total step count so far.
    """

    def __init__(self, report: Callable[[int], None]) -> None:
        super().__init__()
        self._report = report

    def _on_step(self) -> bool:
        self._report(self.num_timesteps)
        return True


class PeriodicEvaluation(BaseCallback):
    """Evaluate the agent every ``settings.frequency`` steps and log ``eval/mean_return`` and ``eval/std_return``.

    :param agent: the agent being trained (it evaluates with its current policy and normalisation).
    :param environment: what to evaluate on.
    :param settings: episodes, frequency, determinism and seed of the evaluations.
    :param connector: receives the evaluation points.
    """

    def __init__(self, agent: BaseAgent, environment: Any, settings: EvaluationSettings, connector: Connector) -> None:
        super().__init__()
        self.agent = agent
        self.environment = environment
        self.settings = settings
        self.connector = connector
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps - self._last >= self.settings.frequency:
            self._last = self.num_timesteps
            result = self.agent.evaluate_episodes(
                self.environment,
                self.settings.n_episodes,
                seeds=self.settings.seed,
                deterministic=self.settings.deterministic,
                progress_bar=False,
            )
            self.connector.log_value("eval/mean_return", result.mean_reward, self.num_timesteps)
            self.connector.log_value("eval/std_return", result.std_reward, self.num_timesteps)
        return True
