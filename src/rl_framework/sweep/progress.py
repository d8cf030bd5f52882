"""A Ray Tune callback that prints one line per trial evaluation (imports Ray: load it only in a sweep)."""

from __future__ import annotations

from typing import Any

from ray import tune

from rl_framework.sweep.trial import METRIC, TIME_ATTRIBUTE


class ProgressPrinter(tune.Callback):
    """Print ``[trial] <steps> steps: mean return <r>`` for every result a trial reports, and each error."""

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        """Print the trial's latest evaluation."""
        marker = " (finished)" if result.get("finished") else ""
        print(
            f"[{trial.trial_id}] {result.get(TIME_ATTRIBUTE)} steps: mean return {result.get(METRIC, float('nan')):.1f}"
            f"{marker}",
            flush=True,
        )

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """Say that the trial failed (the sweep goes on; its error is in the results table)."""
        print(f"[{trial.trial_id}] failed; the other trials go on (the error is in the results table)", flush=True)
