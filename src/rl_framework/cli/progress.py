"""One progress display for every long step of the command line (training, evaluation, upload).

On a terminal it is a tqdm bar; when the output goes to a file or pipe (a log), it writes the
same text as plain lines every ``RL_FRAMEWORK_PROGRESS_INTERVAL`` seconds (default 10) and once
at the end, so a log file shows progress while the command runs (a redrawn bar would only
appear at the end, as one line of carriage returns).
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import IO, Any

#: The one layout of every bar and line (tqdm's ``bar_format`` fields; ``{bar}`` only on a terminal).
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}]"
LINE_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}]"
INTERVAL_VARIABLE = "RL_FRAMEWORK_PROGRESS_INTERVAL"


def line_interval() -> float:
    """Seconds between two plain progress lines (``$RL_FRAMEWORK_PROGRESS_INTERVAL``, default 10)."""
    try:
        return max(0.0, float(os.environ.get(INTERVAL_VARIABLE, "10")))
    except ValueError:
        return 10.0


class Progress:
    """Progress of one step towards ``total`` units.

    :param description: what is running (``Training``, ``Evaluating``, ``Uploading``).
    :param total: units of the whole step.
    :param unit: the unit's name (``steps``, ``episodes``).
    :param mode: ``auto`` (bar on a terminal, lines otherwise), ``bar``, ``lines`` or ``off``.
    :param stream: where to write (default: standard error, so standard output keeps the results).
    """

    def __init__(self, description: str, total: int, unit: str, mode: str = "auto", stream: IO[str] | None = None):
        self.description = description
        self.total = max(int(total), 1)
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.done = 0
        self._start = time.monotonic()
        self._last_line = float("-inf")
        self._bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, desc=description, unit=unit, file=self.stream, bar_format=BAR_FORMAT, leave=True
            )
        elif mode == "lines":
            self._write_line()  # a log shows at once that the step started

    def update_to(self, done: int) -> None:
        """Set the units done so far (values never go back)."""
        done = min(int(done), self.total)
        if done <= self.done:
            return
        if self._bar is not None:
            self._bar.update(done - self.done)
        self.done = done
        if self.mode == "lines" and time.monotonic() - self._last_line >= line_interval():
            self._write_line()

    def advance(self, units: int = 1) -> None:
        """Add ``units`` done."""
        self.update_to(self.done + units)

    def close(self, complete: bool = True) -> None:
        """End the display (``complete``: the step finished, so it shows 100%)."""
        if complete and self.done < self.total:
            if self._bar is not None:
                self._bar.update(self.total - self.done)
            self.done = self.total
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "lines":
            self._write_line()
        self.mode = "off"

    def _write_line(self) -> None:
        from tqdm import tqdm

        elapsed = time.monotonic() - self._start
        text = tqdm.format_meter(
            self.done, self.total, elapsed, prefix=self.description, unit=self.unit, bar_format=LINE_FORMAT
        )
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close(complete=error is None)
