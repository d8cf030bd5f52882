"""The connector contract: where agents are uploaded to, downloaded from, and logged during training."""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rl_framework.util.checks import non_negative_int


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

    def choose_action(self, observation: Any, deterministic: bool = False) -> Any:
        """Act on one observation (what replay videos call)."""

    def evaluate_episodes(
        self, evaluation_environment: Any, n_eval_episodes: int = 10, *args: Any, **kwargs: Any
    ) -> Any:
        """Evaluate the agent; return an ``EvaluationResult``."""


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
    ) -> str:
        """Upload ``agent`` (plus evaluation result and replay video when environments are given).

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

    @abstractmethod
    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Store a checkpoint of ``agent`` taken at ``timestep``."""


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
