"""The sweep's results: one row per trial, one multi-seed summary per configuration, saved and printed.

Multi-seed reporting follows Agarwal et al. (2021), "Deep RL at the Edge of the Statistical
Precipice": a configuration's score is each run's final evaluation return, summarised over its
runs by the mean, the interquartile mean (IQM) and a 95 % bootstrap confidence interval of the
IQM (``rl_framework.util.statistics``; with one task the stratified bootstrap resamples runs).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rl_framework.util.files import atomic_write_text
from rl_framework.util.statistics import iqm, stratified_bootstrap_ci

#: Bootstrap resamples of the 95 % intervals (2000 gives stable bounds, as in rliable's examples).
BOOTSTRAP_RESAMPLES = 2000
INTERVAL_METHOD = (
    "95% percentile interval of the IQM from a stratified bootstrap over runs (2000 resamples), Agarwal et al. 2021"
)
FINISHED, STOPPED, ERROR, INTERRUPTED = "finished", "stopped early", "error", "interrupted"


@dataclass(frozen=True)
class TrialRecord:
    """One trial: its configuration, seed, outcome and learning curve.

    :param trial_id: Ray Tune's trial id.
    :param configuration: index of the configuration (trials of one configuration differ only by seed).
    :param parameters: the configuration's parameters.
    :param seed: the trial's seed.
    :param status: ``finished``, ``stopped early`` (ASHA), ``error`` or ``interrupted``.
    :param final_return: mean return of the last evaluation (NaN before the first one).
    :param best_return: best mean return over the trial's evaluations.
    :param timesteps: training steps reached.
    :param seconds: the trial's wall time.
    :param cpu_seconds: CPU time of the trial's process while it ran (its share of a core = cpu / wall).
    :param agent_location: where the trained agent was stored (finished trials only).
    :param error: the exception, for trials that raised.
    :param curve: ``(timesteps, mean return)`` of every evaluation.
    """

    trial_id: str
    configuration: int
    parameters: dict[str, Any]
    seed: int
    status: str
    final_return: float
    best_return: float
    timesteps: int
    seconds: float
    cpu_seconds: float = math.nan
    agent_location: str = ""
    error: str = ""
    curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def agent_name(self) -> str:
        """The stored agent's registry name (the last folder before the version, for the local registry)."""
        return Path(self.agent_location).parent.name if self.agent_location else ""


@dataclass(frozen=True)
class ConfigurationSummary:
    """Final returns of one configuration's finished runs, summarised over the runs (seeds).

    :param configuration: the configuration's index.
    :param parameters: its parameters.
    :param seeds: seeds of the finished runs.
    :param final_returns: each finished run's final evaluation mean return.
    :param mean: mean over runs.
    :param iqm: interquartile mean over runs.
    :param ci_low: lower bound of the 95 % interval of the IQM.
    :param ci_high: upper bound of the 95 % interval of the IQM.
    :param trials: trials of the configuration (all statuses).
    """

    configuration: int
    parameters: dict[str, Any]
    seeds: list[int]
    final_returns: list[float]
    mean: float
    iqm: float
    ci_low: float
    ci_high: float
    trials: int

    @classmethod
    def of(cls, configuration: int, records: Sequence[TrialRecord]) -> ConfigurationSummary:
        """Summarise the finished runs among ``records`` (all of one configuration); NaN if none finished."""
        finished = [record for record in records if record.status == FINISHED]
        scores = [record.final_return for record in finished]
        mean = iqm_value = low = high = math.nan
        if scores:
            mean, iqm_value = float(np.mean(scores)), iqm(scores)
            low, high = stratified_bootstrap_ci(scores, iqm, n_resamples=BOOTSTRAP_RESAMPLES, seed=0)
        return cls(
            configuration,
            records[0].parameters,
            [record.seed for record in finished],
            scores,
            mean,
            iqm_value,
            low,
            high,
            len(records),
        )


def summarise(records: Sequence[TrialRecord]) -> list[ConfigurationSummary]:
    """One summary per configuration, in configuration order."""
    groups: dict[int, list[TrialRecord]] = {}
    for record in records:
        groups.setdefault(record.configuration, []).append(record)
    return [ConfigurationSummary.of(index, groups[index]) for index in sorted(groups)]


def best_configuration(summaries: Sequence[ConfigurationSummary]) -> ConfigurationSummary | None:
    """The configuration with the highest IQM (ties: higher mean), among those with a finished run."""
    ranked = [summary for summary in summaries if summary.final_returns]
    return max(ranked, key=lambda summary: (summary.iqm, summary.mean)) if ranked else None


def best_trial(records: Sequence[TrialRecord], summary: ConfigurationSummary) -> TrialRecord:
    """The finished run of ``summary``'s configuration with the highest final return."""
    finished = [r for r in records if r.configuration == summary.configuration and r.status == FINISHED]
    return max(finished, key=lambda record: record.final_return)


def parameter_names(records: Sequence[TrialRecord]) -> list[str]:
    """Every parameter name that appears in a trial, in first-seen order."""
    return list(dict.fromkeys(name for record in records for name in record.parameters))


def table_rows(records: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """The results table: one flat dict per trial (parameters as columns, no curve)."""
    names = parameter_names(records)
    rows = []
    for record in records:
        fields = asdict(record)
        row: dict[str, Any] = {"trial_id": record.trial_id, "configuration": record.configuration}
        row.update({name: record.parameters.get(name, "") for name in names})
        row.update({key: fields[key] for key in _OUTCOME_COLUMNS})
        rows.append(row)
    return rows


_OUTCOME_COLUMNS = (
    "seed",
    "status",
    "final_return",
    "best_return",
    "timesteps",
    "seconds",
    "cpu_seconds",
    "agent_location",
    "error",
)


def write_results(
    folder: Path,
    records: Sequence[TrialRecord],
    summaries: Sequence[ConfigurationSummary],
    info: dict[str, Any],
) -> tuple[Path, Path]:
    """Write ``results.csv`` (the table) and ``results.json`` (table, curves, summaries, ``info``), atomically.

    :param folder: the sweep's output folder.
    :param records: the trials.
    :param summaries: the per-configuration summaries.
    :param info: what describes the sweep (spec, seeds, searcher, best agent ...).
    :return: the two files.
    """
    rows = table_rows(records)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["trial_id"])
    writer.writeheader()
    writer.writerows({key: _csv_value(value) for key, value in row.items()} for row in rows)
    csv_file = atomic_write_text(folder / "results.csv", buffer.getvalue())
    document = {
        **info,
        "interval_method": INTERVAL_METHOD,
        "trials": [asdict(record) for record in records],
        "configurations": [asdict(summary) for summary in summaries],
    }
    json_file = atomic_write_text(folder / "results.json", json.dumps(_finite(document), indent=2, default=str))
    return csv_file, json_file


def format_table(records: Sequence[TrialRecord], summaries: Sequence[ConfigurationSummary]) -> str:
    """The trial table and the per-configuration summary as aligned text."""
    names = parameter_names(records)
    header = ["trial", "cfg", *names, "seed", "status", "final", "best", "steps", "time[s]"]
    lines = [header]
    for record in records:
        status = record.status if not record.error else f"error: {record.error}"[:60]
        lines.append(
            [
                record.trial_id,
                str(record.configuration),
                *(_short(record.parameters.get(name, "")) for name in names),
                str(record.seed),
                status,
                _number(record.final_return),
                _number(record.best_return),
                str(record.timesteps),
                f"{record.seconds:.1f}",
            ]
        )
    summary_lines = [["cfg", *names, "runs", "mean", "IQM", "95% CI (IQM)"]]
    for summary in summaries:
        interval = f"[{_number(summary.ci_low)}, {_number(summary.ci_high)}]"
        summary_lines.append(
            [
                str(summary.configuration),
                *(_short(summary.parameters.get(name, "")) for name in names),
                f"{len(summary.final_returns)}/{summary.trials}",
                _number(summary.mean),
                _number(summary.iqm),
                interval,
            ]
        )
    return f"{_align(lines)}\n\nPer configuration, final return over seeds:\n{_align(summary_lines)}"


def _align(lines: list[list[str]]) -> str:
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines)


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _short(value: Any) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _csv_value(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return "" if isinstance(value, float) and math.isnan(value) else value


def _finite(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
