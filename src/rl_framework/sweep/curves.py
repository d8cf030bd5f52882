"""Learning curves with interval bands: per configuration, the IQM over runs at each evaluation and its 95 % CI."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rl_framework.sweep.results import TrialRecord
from rl_framework.util.files import atomic_path
from rl_framework.util.statistics import iqm, stratified_bootstrap_ci

#: Fewer resamples than the final table: a curve has one interval per evaluation.
CURVE_RESAMPLES = 500


@dataclass(frozen=True)
class CurvePoint:
    """One evaluation of a configuration, over its runs.

    :param timesteps: the median step count of the runs' evaluation number ``k``.
    :param runs: runs with an evaluation number ``k``.
    :param iqm: IQM of their mean returns.
    :param ci_low: lower bound of the 95 % interval of the IQM.
    :param ci_high: upper bound.
    """

    timesteps: float
    runs: int
    iqm: float
    ci_low: float
    ci_high: float


def configuration_curve(records: Sequence[TrialRecord]) -> list[CurvePoint]:
    """Aggregate the curves of one configuration's runs, evaluation by evaluation.

    Runs evaluate on the same schedule, so evaluation ``k`` of every run lies at (nearly) the
    same step count; runs stopped early or failed simply stop contributing.

    :param records: the configuration's trials (any status).
    :return: one point per evaluation index that at least one run reached.
    """
    curves = [record.curve for record in records if record.curve]
    points = []
    for index in range(max((len(curve) for curve in curves), default=0)):
        reached = [curve[index] for curve in curves if len(curve) > index]
        returns = np.array([value for _, value in reached], dtype=float)
        low, high = stratified_bootstrap_ci(returns, iqm, n_resamples=CURVE_RESAMPLES, seed=0)
        steps = float(np.median([step for step, _ in reached]))
        points.append(CurvePoint(steps, len(reached), iqm(returns), low, high))
    return points


def plot_learning_curves(records: Sequence[TrialRecord], file_path: Path, title: str) -> Path:
    """Draw every configuration's IQM curve with its 95 % interval band into a PNG, atomically.

    :param records: the sweep's trials.
    :param file_path: the PNG to write.
    :param title: the plot's title.
    :return: ``file_path``.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display: the figure only goes to a file
    import matplotlib.pyplot as plt

    groups: dict[int, list[TrialRecord]] = {}
    for record in records:
        groups.setdefault(record.configuration, []).append(record)
    figure, axes = plt.subplots(figsize=(8, 5))
    for configuration, group in sorted(groups.items()):
        points = configuration_curve(group)
        if not points:
            continue
        steps = [point.timesteps for point in points]
        seeds = len({record.seed for record in group})
        line = axes.plot(steps, [point.iqm for point in points], label=_label(configuration, group[0], seeds))[0]
        axes.fill_between(
            steps,
            [point.ci_low for point in points],
            [point.ci_high for point in points],
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    axes.set_xlabel("training steps")
    axes.set_ylabel("evaluation return (IQM over runs, 95% CI band)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize="small", loc="best")
    figure.tight_layout()
    with atomic_path(file_path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return file_path


def _label(configuration: int, record: TrialRecord, seeds: int) -> str:
    parameters = ", ".join(f"{name}={_compact(value)}" for name, value in record.parameters.items())
    text = f"cfg {configuration}" + (f": {parameters}" if parameters else "") + f" ({seeds} seeds)"
    return text if len(text) <= 70 else text[:67] + "..."


def _compact(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.3g}"
    return str(value)
