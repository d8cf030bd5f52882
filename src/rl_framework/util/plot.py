"""Learning curves from logged metrics: episode return vs environment steps, smoothed, with evaluation points.

Reads the ``metrics.jsonl`` every connector and run folder writes (``episode/return`` for each
finished training episode, ``eval/mean_return`` / ``eval/std_return`` for evaluations during
training) plus, when present, the final evaluation in ``metadata.json``. Drawing uses
matplotlib's object API on the Agg canvas, imported on first use: no pyplot, no display, no
change to the global backend (a notebook keeps its inline one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl_framework.util.files import atomic_path

METRICS_FILE = "metrics.jsonl"
METADATA_FILE = "metadata.json"
LEARNING_CURVE_FILE = "learning_curve.png"
EPISODE_RETURN = "episode/return"
EVALUATION_MEAN = "eval/mean_return"
EVALUATION_STD = "eval/std_return"


@dataclass(frozen=True)
class LearningCurve:
    """The data of one run's curve.

    :param label: the legend entry.
    :param steps: environment step of each finished training episode.
    :param returns: return of each finished training episode.
    :param evaluation_steps: steps of the evaluation points.
    :param evaluation_means: mean return of each evaluation.
    :param evaluation_stds: standard deviation of each evaluation.
    :param names: every metric name that was logged (for messages).
    """

    label: str
    steps: np.ndarray
    returns: np.ndarray
    evaluation_steps: np.ndarray
    evaluation_means: np.ndarray
    evaluation_stds: np.ndarray
    names: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether there is nothing to draw (no episode returns, no evaluations)."""
        return self.steps.size == 0 and self.evaluation_steps.size == 0


def read_metrics(metrics_file: str | os.PathLike[str]) -> dict[str, list[tuple[int, float]]]:
    """Every logged value of a ``metrics.jsonl`` by name, as ``(timestep, value)`` in file order.

    A line cut by a crash (or any line that is not a metric record) is skipped.
    """
    values: dict[str, list[tuple[int, float]]] = {}
    with Path(metrics_file).open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                values.setdefault(str(record["name"]), []).append((int(record["timestep"]), float(record["value"])))
            except (ValueError, KeyError, TypeError):
                continue
    return values


def learning_curve(
    metrics_file: str | os.PathLike[str], label: str = "", final_evaluation: dict[str, Any] | None = None
) -> LearningCurve:
    """The curve data of one metrics file.

    :param metrics_file: a ``metrics.jsonl``.
    :param label: the legend entry.
    :param final_evaluation: an upload's evaluation (``metadata["evaluation"]`` with ``mean_reward`` and
        ``std_reward``), drawn as an evaluation point at the last logged step.
    :return: the curve.
    """
    metrics = read_metrics(metrics_file)
    episodes = metrics.get(EPISODE_RETURN, [])
    means = metrics.get(EVALUATION_MEAN, [])
    stds = dict(metrics.get(EVALUATION_STD, []))
    evaluation = [(step, mean, stds.get(step, 0.0)) for step, mean in means]
    if final_evaluation and "mean_reward" in final_evaluation:
        last = max((step for series in metrics.values() for step, _ in series), default=0)
        evaluation.append((last, float(final_evaluation["mean_reward"]), float(final_evaluation.get("std_reward", 0))))
    episode_array = np.asarray(episodes, dtype=float).reshape(-1, 2)
    evaluation_array = np.asarray(evaluation, dtype=float).reshape(-1, 3)
    return LearningCurve(
        label=label,
        steps=episode_array[:, 0],
        returns=episode_array[:, 1],
        evaluation_steps=evaluation_array[:, 0],
        evaluation_means=evaluation_array[:, 1],
        evaluation_stds=evaluation_array[:, 2],
        names=tuple(sorted(metrics)),
    )


def folder_curve(folder: str | os.PathLike[str], label: str | None = None) -> LearningCurve:
    """The curve of a run folder, registry version or downloaded agent (``metrics.jsonl`` + ``metadata.json``).

    :param folder: the folder (or a ``metrics.jsonl`` file directly).
    :param label: the legend entry (default: the folder's name).
    :raises FileNotFoundError: when there is no ``metrics.jsonl`` (directly or under ``logs/``).
    """
    path = Path(folder)
    if path.is_file():
        return learning_curve(path, label or path.parent.name)
    candidates = [path / METRICS_FILE, path / "logs" / METRICS_FILE]
    metrics_file = next((candidate for candidate in candidates if candidate.is_file()), None)
    if metrics_file is None:
        raise FileNotFoundError(
            f"No {METRICS_FILE} in '{path}': the agent was trained without logging (train with a connector or "
            f"`rl-framework train`, which log every episode), so there is no curve to draw."
        )
    evaluation = None
    metadata_file = path / METADATA_FILE
    if metadata_file.is_file():
        evaluation = json.loads(metadata_file.read_text(encoding="utf-8")).get("evaluation")
    return learning_curve(metrics_file, label or path.name, evaluation)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average: point ``i`` is the mean of the ``window`` values up to ``i`` (fewer at the start)."""
    if values.size == 0 or window <= 1:
        return values.astype(float)
    sums = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    counts = np.minimum(np.arange(1, values.size + 1), window)
    return (sums[1:] - sums[np.maximum(np.arange(1, values.size + 1) - window, 0)]) / counts


def default_window(n_episodes: int) -> int:
    """Smoothing window: about a twentieth of the episodes, between 1 and 100."""
    return int(np.clip(n_episodes // 20, 1, 100))


def plot_learning_curves(
    curves: Sequence[LearningCurve],
    output: str | os.PathLike[str],
    window: int | None = None,
    title: str | None = None,
) -> Path:
    """Draw one or more learning curves into a PNG (several overlay, each with its legend entry).

    Each curve shows the training episodes' returns (faint), their moving average (solid) and
    the evaluation points (markers with one standard deviation as error bars).

    :param curves: the curves to draw.
    :param output: the PNG file, written atomically.
    :param window: smoothing window in episodes (default: ``default_window`` of each curve).
    :param title: the figure's title (default: none for several curves, the label for one).
    :return: the written file.
    :raises ValueError: when there is no curve or every curve is empty (naming what was logged).
    """
    if not curves:
        raise ValueError("plot_learning_curves needs at least one curve.")
    if all(curve.is_empty for curve in curves):
        logged = sorted({name for curve in curves for name in curve.names})
        raise ValueError(
            f"Nothing to draw: no '{EPISODE_RETURN}' or '{EVALUATION_MEAN}' values were logged "
            f"(logged: {', '.join(logged) or 'nothing'}). Algorithms that never play episodes while training (BC) "
            f"have no learning curve."
        )
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    cycle = [entry["color"] for entry in _color_cycle()]
    for index, curve in enumerate(curves):
        color = cycle[index % len(cycle)]
        if curve.steps.size:
            axes.plot(curve.steps, curve.returns, color=color, alpha=0.2, linewidth=0.8)
            size = window or default_window(curve.steps.size)
            axes.plot(
                curve.steps,
                smooth(curve.returns, size),
                color=color,
                linewidth=2,
                label=curve.label or "training (smoothed)",
            )
        if curve.evaluation_steps.size:
            axes.errorbar(
                curve.evaluation_steps,
                curve.evaluation_means,
                yerr=curve.evaluation_stds,
                fmt="o",
                color=color,
                markeredgecolor="black",
                capsize=3,
                label=f"{curve.label} evaluation" if curve.label else "evaluation",
            )
    axes.set_xlabel("environment steps")
    axes.set_ylabel("episode return")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    if title or len(curves) == 1:
        axes.set_title(title or curves[0].label)
    figure.tight_layout()
    with atomic_path(output) as temporary:
        figure.savefig(temporary, format="png")
    return Path(output)


def _color_cycle() -> list[dict[str, Any]]:
    from matplotlib import rcParams

    return list(rcParams["axes.prop_cycle"])


def write_learning_curve(
    metrics_file: str | os.PathLike[str],
    output: str | os.PathLike[str],
    label: str = "",
    final_evaluation: dict[str, Any] | None = None,
) -> Path | None:
    """Draw the curve of one metrics file if it has anything to draw (uploads call this).

    :param metrics_file: a ``metrics.jsonl`` (nothing is drawn if it does not exist).
    :param output: the PNG file.
    :param label: the title and legend entry.
    :param final_evaluation: the upload's evaluation, drawn as the last evaluation point.
    :return: the PNG, or ``None`` when there was nothing to draw.
    """
    if not Path(metrics_file).is_file():
        return None
    curve = learning_curve(metrics_file, label, final_evaluation)
    if curve.is_empty:
        return None
    return plot_learning_curves([curve], output)
