"""SB3 callbacks that connect a training run to a connector (metrics + checkpoints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, ConvertCallback
from stable_baselines3.common.logger import KVWriter

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector, ShareableAgent


def as_callback_list(callback: BaseCallback | list[BaseCallback] | Callable[..., bool] | None) -> list[BaseCallback]:
    """Every form SB3's ``learn(callback=...)`` accepts as a list of callbacks (a function is converted).

    :raises TypeError: for anything else, naming the accepted forms.
    """
    if callback is None:
        return []
    items = callback if isinstance(callback, list) else [callback]
    callbacks: list[BaseCallback] = []
    for item in items:
        if isinstance(item, BaseCallback):
            callbacks.append(item)
        elif callable(item):
            callbacks.append(ConvertCallback(item))
        else:
            raise TypeError(
                f"callback must be an SB3 BaseCallback, a function (locals, globals) -> bool, or a list of those; "
                f"got {type(item).__name__}."
            )
    return callbacks


class ConnectorOutputFormat(KVWriter):
    """An SB3 logger output that forwards every numeric value SB3 logs (losses, rollout stats)."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        """Forward the numeric values of one SB3 log dump to ``connector.log_value``."""
        for key, value in key_values.items():
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                self.connector.log_value(key, float(value), step)

    def close(self) -> None:
        """Nothing to release: the connector outlives the training run."""


class ConnectorCallback(BaseCallback):
    """Log finished episodes and SB3's own metrics to a connector; checkpoint periodically.

    Per finished episode: ``episode/return``, ``episode/length`` and the running count of how
    episodes ended, ``episodes/terminated`` or ``episodes/truncated`` (time limit).

    :param connector: receives ``log_value`` and ``save_checkpoint`` calls.
    :param agent: the agent being trained (what a checkpoint saves).
    """

    def __init__(self, connector: Connector, agent: ShareableAgent) -> None:
        super().__init__()
        self.connector = connector
        self.agent = agent
        self._output = ConnectorOutputFormat(connector)
        self._last_checkpoint = 0
        #: Finished episodes of this ``learn`` call by how they ended (SB3's ``TimeLimit.truncated``).
        self.episode_ends = {"terminated": 0, "truncated": 0}

    def _on_training_start(self) -> None:
        self.logger.output_formats.append(self._output)
        self._last_checkpoint = self.num_timesteps

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            episode = info.get("episode")
            if episode is not None:
                self.connector.log_value("episode/return", float(episode["r"]), self.num_timesteps)
                self.connector.log_value("episode/length", float(episode["l"]), self.num_timesteps)
                reason = "truncated" if info.get("TimeLimit.truncated") else "terminated"
                self.episode_ends[reason] += 1  # logged as a running count: episodes/terminated, episodes/truncated
                self.connector.log_value(f"episodes/{reason}", float(self.episode_ends[reason]), self.num_timesteps)
        frequency = self.connector.checkpoint_frequency
        if frequency > 0 and self.num_timesteps - self._last_checkpoint >= frequency:
            self._last_checkpoint = self.num_timesteps
            self.connector.save_checkpoint(self.agent, self.num_timesteps)
        return True

    def _on_training_end(self) -> None:
        if self._output in self.logger.output_formats:
            self.logger.output_formats.remove(self._output)
