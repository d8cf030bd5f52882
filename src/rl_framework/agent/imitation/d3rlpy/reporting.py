"""What a d3rlpy training run sends to a connector: averaged losses and periodic checkpoints.

d3rlpy's own ``fit`` logs through its file/TensorBoard adapters and prints every epoch; our loop
calls ``algorithm.update`` itself and reports here instead, so nothing is printed or written
outside the connector.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector, ShareableAgent


class TrainingReporter:
    """Averages each loss over ``log_interval`` gradient steps and logs it as ``train/<loss>``; checkpoints.

    Without a connector it does nothing.

    :param connector: receives ``log_value`` and ``save_checkpoint`` calls, or ``None``.
    :param agent: the agent being trained (what a checkpoint saves).
    :param log_interval: gradient steps per logged average.
    :param start_step: the agent's step count when this training call starts.
    """

    def __init__(self, connector: Connector | None, agent: ShareableAgent, log_interval: int, start_step: int) -> None:
        self.connector = connector
        self.agent = agent
        self.log_interval = log_interval
        self._losses: defaultdict[str, list[float]] = defaultdict(list)
        self._last_log = start_step
        self._last_checkpoint = start_step

    def after_step(self, step: int, losses: dict[str, float]) -> None:
        """Record the losses of gradient step ``step`` (the agent's running count)."""
        if self.connector is None:
            return
        for name, value in losses.items():
            self._losses[name].append(float(value))
        if step - self._last_log >= self.log_interval:
            self.flush(step)
        frequency = self.connector.checkpoint_frequency
        if frequency > 0 and step - self._last_checkpoint >= frequency:
            self._last_checkpoint = step
            self.connector.save_checkpoint(self.agent, step)

    def flush(self, step: int) -> None:
        """Log the averages of the losses recorded since the last flush (call once more at the end)."""
        if self.connector is None:
            return
        for name, values in self._losses.items():
            if values:
                self.connector.log_value(f"train/{name}", float(np.mean(values)), step)
        self._losses.clear()
        self._last_log = step
