"""The connector contract: where agents are uploaded to, downloaded from, and logged during training."""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rl_framework.util.checks import non_negative_int
from rl_framework.util.files import atomic_write_text

logger = logging.getLogger(__name__)


class EpisodeResults(Protocol):
    """What an upload reads of an evaluation (``rl_framework.agent.evaluation.EvaluationResult`` has it)."""

    @property
    def episode_returns(self) -> Any:
        """Every episode's return."""

    @property
    def episode_lengths(self) -> Any:
        """Every episode's length."""

    @property
    def mean_reward(self) -> float:
        """Mean episode return."""

    @property
    def std_reward(self) -> float:
        """Standard deviation of the episode returns."""

    @property
    def mean_length(self) -> float:
        """Mean episode length."""


@runtime_checkable
class ShareableAgent(Protocol):
    """What a connector needs of an agent; every ``ShareableAgent`` has it, so connectors never import ``agent``."""

    algorithm_class: Any
    algorithm_parameters: dict[str, Any]

    @property
    def algorithm_name(self) -> str:
        """The algorithm's name (``"PPO"``), for metadata and model cards."""

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        """Save the agent; return every file written (the agent file first)."""

    def start_acting(self, n_envs: int = 1) -> Any:
        """Start an acting session over ``n_envs`` environment copies (what replay videos act through)."""

    def evaluate_episodes(
        self,
        evaluation_environment: Any,
        n_eval_episodes: int = 10,
        seeds: Any = None,
        deterministic: bool = True,
        progress_bar: bool = True,
        max_parallel_environments: int = 100,
    ) -> EpisodeResults:
        """Evaluate the agent; return its per-episode results."""


class Connector(ABC):
    """Abstract connector to a model registry or experiment tracker.

    Agents call ``upload``/``download`` from ``BaseAgent.upload``/``BaseAgent.download``;
    during ``train(..., connector=...)`` a training callback calls ``log_value`` for metrics
    and ``save_checkpoint`` every ``checkpoint_frequency`` steps.
    """

    #: Environment steps between two checkpoints during training; 0 disables checkpoints.
    checkpoint_frequency: int = 0

    def __init__(self, checkpoint_frequency: int = 0) -> None:
        """:param checkpoint_frequency: environment steps between checkpoints during training; 0 disables them."""
        self.checkpoint_frequency = non_negative_int(checkpoint_frequency, "checkpoint_frequency", "0 = off")

    def check_access(self) -> None:  # noqa: B027 - a hook with a no-op default, like SB3's callbacks
        """Raise if a later upload is bound to fail (e.g. a missing token); called before training starts.

        The default has nothing to check.
        """

    @abstractmethod
    def upload(
        self,
        agent: ShareableAgent,
        evaluation_environment: Any | None = None,
        video_recording_environment: Any | None = None,
        force: bool = False,
    ) -> str:
        """Upload ``agent`` (plus evaluation result and replay video when environments are given).

        Every connector refuses, before any work, an agent whose network holds NaN/inf values
        (``NonFiniteError``) unless ``force=True``.

        :return: where the agent went (version folder, repository URL, task id ...).
        """

    @abstractmethod
    def download(self) -> Path:
        """Download the agent file described by the connector's download config.

        :return: local path of the agent file (companion files lie beside it).
        """

    @abstractmethod
    def log_value(self, name: str, value: float, timestep: int) -> None:
        """Record one scalar metric (e.g. ``"episode/return"``) at ``timestep``."""

    def log_histogram(self, name: str, values: Any, timestep: int) -> None:
        """Record the distribution of ``values`` (e.g. the actions of a rollout) at ``timestep``.

        The default logs a summary through ``log_value``: ``<name>/mean``, ``/std``, ``/min`` and
        ``/max`` of the finite values; connectors whose backend keeps histograms override it.
        """
        finite = finite_values(values)
        if finite.size:
            for statistic in ("mean", "std", "min", "max"):
                self.log_value(f"{name}/{statistic}", float(getattr(finite, statistic)()), timestep)

    @abstractmethod
    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Store a checkpoint of ``agent`` taken at ``timestep``."""

    def training_interrupted(self, agent: ShareableAgent, timestep: int) -> None:
        """Called when ``train(..., connector=...)`` is interrupted (Ctrl-C): keep a final checkpoint.

        The default saves ``save_checkpoint(agent, timestep)``; a failure to do so is logged, never
        raised, so the interrupt itself still reaches the caller.

        :param agent: the agent being trained.
        :param timestep: the agent's step count at the interrupt.
        """
        try:
            self.save_checkpoint(agent, timestep)
        except Exception as error:  # the user asked to stop: report, but let the KeyboardInterrupt through
            logger.warning(
                "Training was interrupted at step %d and no final checkpoint could be saved: %s", timestep, error
            )
            return
        logger.warning(
            "Training was interrupted at step %d; a final checkpoint was saved with this connector's run %s. "
            "StableBaselinesAgent.resume(<checkpoint>, connector=connector) continues it.",
            timestep,
            self.run_state() or "",
        )

    def run_state(self) -> dict[str, Any] | None:
        """What identifies the run this connector logs to, so a resumed training continues it.

        Checkpoints record it (``StableBaselinesAgent.save_checkpoint``); ``resume_run`` takes
        it back. The default (a connector without runs) is ``None``.

        :return: a JSON-compatible dict, or ``None``.
        """
        return None

    def resume_run(self, state: dict[str, Any], timestep: int) -> bool:
        """Continue logging into the run described by ``state`` (from ``run_state``) after step ``timestep``.

        Called by ``StableBaselinesAgent.resume(..., connector=...)``. The default cannot continue runs.

        :param state: what ``run_state`` returned when the checkpoint was saved.
        :param timestep: the checkpoint's step count; values logged after it belong to the
            abandoned part of the run and may be dropped.
        :return: whether the run is continued (``False``: a new run starts).
        """
        return False


def check_config_type(config: object, expected: type, parameter: str) -> None:
    """Raise ``TypeError`` unless ``config`` is ``None`` or an ``expected`` instance."""
    if config is not None and not isinstance(config, expected):
        raise TypeError(f"{parameter} must be a {expected.__name__} or None, got {type(config).__name__}.")


#: File name of the JSON-lines metric log the file-based connectors keep.
METRICS_FILE = "metrics.jsonl"


def append_metric(metrics_file: Path, name: str, value: float, timestep: int) -> None:
    """Append ``{"name", "value", "timestep", "time"}`` as one JSON line to ``metrics_file``.

    One complete line per write: a crash can at most cut the last line, never rewrite earlier ones
    (rewriting the file atomically on every value would cost O(n^2)).
    """
    line = json.dumps({"name": name, "value": float(value), "timestep": int(timestep), "time": time.time()})
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    with metrics_file.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


#: Bins of the histograms written to ``metrics.jsonl`` and reported to ClearML.
HISTOGRAM_BINS = 20


def finite_values(values: Any) -> np.ndarray:
    """``values`` flattened to float64, without NaN/inf (a histogram's range must be finite)."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return array[np.isfinite(array)]


def histogram(values: Any, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray] | None:
    """``(counts, bin_edges)`` of the finite ``values``, or ``None`` when there are none."""
    finite = finite_values(values)
    return np.histogram(finite, bins=bins) if finite.size else None


def append_histogram(metrics_file: Path, name: str, values: Any, timestep: int) -> None:
    """Append ``{"name", "histogram": {"counts", "edges"}, "count", "mean", "timestep", "time"}`` as one JSON line.

    Readers of scalar metrics skip these lines (they have no ``"value"``). Nothing is written
    when ``values`` holds no finite number.
    """
    result = histogram(values)
    if result is None:
        return
    counts, edges = result
    record = {
        "name": name,
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
        "count": int(counts.sum()),
        "mean": float(finite_values(values).mean()),
        "timestep": int(timestep),
        "time": time.time(),
    }
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    with metrics_file.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def save_agent_checkpoint(agent: ShareableAgent, file_path: Path, connector: Connector | None = None) -> list[Path]:
    """Save a resumable checkpoint of ``agent`` to ``file_path``, or its plain file if it has no checkpoints.

    Agents with a ``save_checkpoint(path, connector=...)`` method (``StableBaselinesAgent``) write
    everything a resumed training needs (optimiser, replay buffer, counters, the connector's
    run); other agents checkpoint as ``save_to_file``.

    :param agent: the agent.
    :param file_path: the checkpoint's file.
    :param connector: the connector whose run the checkpoint records.
    :return: the written files, the checkpoint first.
    """
    saver = getattr(agent, "save_checkpoint", None)
    if callable(saver) and "connector" in inspect.signature(saver).parameters:
        return list(saver(file_path, connector=connector))
    return agent.save_to_file(file_path)


def save_agent_files(agent: ShareableAgent, file_path: Path, force: bool = False) -> list[Path]:
    """``agent.save_to_file(file_path)``, passing ``force=True`` on to agents whose ``save_to_file`` takes it.

    :param agent: the agent.
    :param file_path: the agent file.
    :param force: save even a model with NaN/inf weights (agents that check them take ``force``).
    :return: the written files, the agent file first.
    """
    # Returned as given: ``bundle.saved_files`` checks it and names the contract if it is not a list.
    if force and "force" in inspect.signature(agent.save_to_file).parameters:
        return agent.save_to_file(file_path, force=True)  # type: ignore[call-arg]
    return agent.save_to_file(file_path)


def truncate_metrics(metrics_file: Path, timestep: int) -> int:
    """Drop the values logged after ``timestep`` from a JSON-lines metric log (when a run resumes there).

    A line cut by a crash is dropped too. The file is rewritten atomically.

    :param metrics_file: the ``metrics.jsonl`` file (nothing happens if it does not exist).
    :param timestep: the last step to keep.
    :return: the number of lines dropped.
    """
    if not metrics_file.is_file():
        return 0
    kept, dropped = [], 0
    for line in metrics_file.read_text(encoding="utf-8").splitlines():
        try:
            if int(json.loads(line)["timestep"]) <= timestep:
                kept.append(line)
                continue
        except (ValueError, KeyError, TypeError):
            pass
        dropped += 1
    if dropped:
        atomic_write_text(metrics_file, "".join(f"{line}\n" for line in kept))
    return dropped
