"""The connector contract: where agents are uploaded to, downloaded from, and logged during training."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rl_framework.agent.base_agent import BaseAgent


class Connector(ABC):
    """Abstract connector to a model registry or experiment tracker.

    Agents call ``upload``/``download`` from ``BaseAgent.upload``/``BaseAgent.download``;
    during ``train(..., connector=...)`` a training callback calls ``log_value`` for metrics
    and ``save_checkpoint`` every ``checkpoint_frequency`` steps.
    """

    #: Environment steps between two checkpoints during training; 0 disables checkpoints.
    checkpoint_frequency: int = 0

    @abstractmethod
    def upload(
        self,
        agent: BaseAgent,
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
    def save_checkpoint(self, agent: BaseAgent, timestep: int) -> None:
        """Store a checkpoint of ``agent`` taken at ``timestep``."""
