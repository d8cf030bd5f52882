"""Where an imitation trainer's output goes: metrics to the connector, progress bars on or off.

imitation's algorithms log through a ``HierarchicalLogger``; the SB3 learners inside GAIL, AIRL,
SQIL and Density log through SB3's logger and report episodes to callbacks. Both end in
``connector.log_value`` here; no log line is printed and nothing is written outside the
trainer's scratch folder. imitation's own tqdm bars (BC batches, adversarial rounds) follow the
``progress_bar`` argument of ``train``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from imitation.util.logger import HierarchicalLogger
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger

from rl_framework.util.connector.callbacks import ConnectorCallback, ConnectorOutputFormat

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector, ShareableAgent


def imitation_logger(connector: Connector | None, folder: Path) -> HierarchicalLogger:
    """A quiet imitation logger that forwards every numeric value it dumps to ``connector``.

    :param connector: receives ``log_value`` calls (BC's loss, the discriminator's loss and
        accuracy, the generator's means, DAgger's round statistics); ``None`` logs nowhere.
    :param folder: where imitation may create its (empty) per-context folders.
    :return: the logger to pass as ``custom_logger``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    output_formats: list[KVWriter] = [] if connector is None else [ConnectorOutputFormat(connector)]
    return HierarchicalLogger(Logger(str(folder), output_formats), format_strs=[])


def learner_callbacks(connector: Connector | None, agent: ShareableAgent) -> list[BaseCallback]:
    """SB3 callbacks for a learner inside an imitation algorithm: episode returns and checkpoints.

    :param connector: receives episode returns/lengths and ``save_checkpoint`` calls; ``None`` for none.
    :param agent: the agent a checkpoint saves.
    :return: the callbacks (empty without a connector).
    """
    return [] if connector is None else [ConnectorCallback(connector, agent)]


@contextlib.contextmanager
def shown_progress_bars(show: bool) -> Iterator[None]:
    """Show or hide the tqdm bars imitation draws itself (it offers no switch for some of them).

    tqdm reads ``TQDM_DISABLE`` only when it is first imported, so hiding swaps in a default of
    ``disable=True`` for bars created in the body; the original constructor is restored after.
    """
    if show:
        yield
        return
    import tqdm

    original = tqdm.tqdm.__init__
    tqdm.tqdm.__init__ = functools.partialmethod(original, disable=True)
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = original
