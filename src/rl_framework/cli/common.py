"""What several commands share: loading agents, their environments, progress around evaluation and upload.

Imported by command modules at their top, so it imports only click and the standard library at
module level; everything heavier is imported inside the functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rl_framework.cli.options import progress_mode
from rl_framework.cli.progress import Progress

if TYPE_CHECKING:
    from rl_framework.agent.evaluation import EvaluationResult
    from rl_framework.experiment.environments import EnvironmentFactory
    from rl_framework.experiment.references import AgentSource
    from rl_framework.util.connector.base import Connector

REGISTRY_OPTION_HELP = "Local registry folder (default: $RL_FRAMEWORK_REGISTRY or ~/.rl_framework/registry)."


def progress(description: str, total: int, unit: str) -> Progress:
    """A progress display in the command's ``--progress`` mode."""
    return Progress(description, total, unit, mode=progress_mode())


def load_source(
    reference: str, algorithm: str | None = None, registry: str | None = None, allow_pickle: bool = False
) -> AgentSource:
    """Load the agent a command-line reference names (see ``rl_framework.experiment.references``)."""
    from rl_framework.experiment.references import load_agent

    return load_agent(reference, algorithm=algorithm, registry=registry, allow_pickle=allow_pickle)


def environment_of(source: AgentSource, env: str | None) -> EnvironmentFactory:
    """The environment to run ``source``'s agent on: ``--env``, else the one it was trained on.

    The agent's experiment (environment keyword arguments, frame stacking) applies whenever the
    environment is the one it was trained on.

    :raises ValueError: when neither ``--env`` nor the agent's files name an environment.
    """
    from rl_framework.experiment.environments import EnvironmentFactory, check_environment_id

    experiment = source.experiment
    if env is not None:
        check_environment_id(env)
        if experiment and experiment.get("env") == env:
            return EnvironmentFactory.from_experiment(experiment)
        return EnvironmentFactory(env)
    if experiment:
        return EnvironmentFactory.from_experiment(experiment)
    if source.environment:
        return EnvironmentFactory(source.environment)
    raise ValueError(f"The files of '{source.label}' do not say which environment it plays: pass --env ENV_ID.")


def evaluate(
    agent: Any, factory: EnvironmentFactory, episodes: int, deterministic: bool, seed: int | None
) -> EvaluationResult:
    """Evaluate ``agent`` with a progress display over finished episodes."""
    from rl_framework.experiment.environments import ReportingWrapper

    with progress("Evaluating", episodes, "episodes") as display:
        reporting = factory.with_options(wrapper=lambda env: ReportingWrapper(env, on_episode=display.advance))
        result: EvaluationResult = agent.evaluate_episodes(
            reporting, episodes, seeds=seed, deterministic=deterministic, progress_bar=False
        )
    return result


def summary(returns: Any) -> str:
    """``mean ± std, IQM (95% CI), n episodes`` of episode returns."""
    import numpy as np

    from rl_framework.util.statistics import iqm, stratified_bootstrap_ci

    values = np.asarray(returns, dtype=float)
    low, high = stratified_bootstrap_ci(values)
    return (
        f"mean return {values.mean():.2f} ± {values.std():.2f}, IQM {iqm(values):.2f} "
        f"(95% CI {low:.2f} to {high:.2f}), {values.size} episodes"
    )


class UploadProgress:
    """The stages of an upload shown one after another: evaluating, recording the video, sending.

    :param episodes: evaluation episodes of the upload.
    :param frames: steps of the replay video (0: no video).
    :param destination: where the files go, for the last stage's description.
    """

    def __init__(self, episodes: int, frames: int, destination: str) -> None:
        self._stages: list[tuple[str, int, str]] = [("Uploading 1/3: evaluating", episodes, "episodes")]
        if frames:
            self._stages.append(("Uploading 2/3: recording", frames, "steps"))
        self._stages.append((f"Uploading 3/3: sending to {destination}", 1, "upload"))
        self._current: Progress | None = None
        self._next_stage()

    def _next_stage(self) -> None:
        if self._current is not None:
            self._current.close()
        self._current = progress(*self._stages.pop(0)) if self._stages else None

    def advance(self) -> None:
        """One episode evaluated or one frame recorded; moves to the next stage when this one is full."""
        if self._current is None:
            return
        self._current.advance()
        if self._current.done >= self._current.total and self._stages:
            self._next_stage()

    def finish(self, complete: bool = True) -> None:
        """Close the last stage."""
        while self._current is not None and complete and self._stages:
            self._next_stage()
        if self._current is not None:
            self._current.close(complete)
            self._current = None


def share(
    agent: Any,
    connector: Connector,
    factory: EnvironmentFactory,
    metrics_file: Path | None,
    video: bool = True,
) -> str:
    """Upload ``agent`` through ``connector`` with its training metrics, an evaluation and a replay video.

    :param agent: the agent.
    :param connector: where to (its upload config says how many episodes and frames).
    :param factory: the environment to evaluate and record on.
    :param metrics_file: the metrics logged while training, replayed into the connector first.
    :param video: record a replay video.
    :return: where the agent went.
    """
    from rl_framework.experiment.environments import ReportingWrapper
    from rl_framework.experiment.run import replay_metrics

    if metrics_file is not None:
        replay_metrics(metrics_file, connector)
    options = getattr(connector, "upload_config", None)
    episodes = int(getattr(options, "n_eval_episodes", 10))
    frames = int(getattr(options, "video_length", 1000)) if video else 0
    stages = UploadProgress(episodes, frames, type(connector).__name__.removesuffix("Connector"))
    try:
        evaluation = factory.with_options(wrapper=lambda env: ReportingWrapper(env, on_episode=stages.advance))
        recording = None
        if video:
            recording = factory.with_options(
                render_mode="rgb_array", wrapper=lambda env: ReportingWrapper(env, on_step=stages.advance)
            )()
        try:
            where = str(
                agent.upload(connector, evaluation_environment=evaluation, video_recording_environment=recording)
            )
        finally:
            if recording is not None:
                recording.close()
    except BaseException:
        stages.finish(complete=False)
        raise
    stages.finish()
    return where


@contextlib.contextmanager
def opened(connector: Connector) -> Iterator[Connector]:
    """Close a connector that holds a session (ClearML's task) when the command is done with it.

    Results must be printed inside the block: ClearML takes over standard output until its task closes.
    """
    try:
        yield connector
    finally:
        close: Callable[[], None] | None = getattr(connector, "close", None)
        if close is not None:
            close()


def echo(message: str) -> None:
    """Print a result line on standard output (progress goes to standard error)."""
    click.echo(message)
