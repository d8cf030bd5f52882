"""Robust summaries of episode returns: the interquartile mean and stratified bootstrap confidence intervals.

Follows Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice"
(NeurIPS 2021, the ``rliable`` library): the interquartile mean (IQM) discards the lowest and
highest 25% of the scores, so it is less sensitive to outlier episodes or runs than the mean and
less coarse than the median; confidence intervals come from a bootstrap that resamples runs
within each task (the strata) so every task keeps its weight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: A statistic of a 1-D array of scores (e.g. ``iqm`` or ``np.mean``).
Statistic = Callable[[np.ndarray], float]


def _scores_1d(values: Any, name: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} must contain at least one score, got an empty sequence.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers; found NaN or infinity.")
    return array


def trimmed_mean(values: Any, proportion: float) -> float:
    """Mean after cutting ``proportion`` of the scores from each end (as ``scipy.stats.trim_mean``).

    ``int(proportion * n)`` scores are cut from each end of the sorted scores, so a sample too
    small to cut anything (``n < 1 / proportion``) gives the plain mean.

    :param values: the scores (any array-like; flattened).
    :param proportion: fraction cut from each end, in ``[0, 0.5)``.
    :return: the trimmed mean.
    :raises ValueError: for an empty input, non-finite scores or a proportion outside ``[0, 0.5)``.
    """
    if not 0 <= proportion < 0.5:
        raise ValueError(f"proportion must be in [0, 0.5), got {proportion!r}.")
    scores = np.sort(_scores_1d(values))
    cut = int(proportion * scores.size)
    return float(np.mean(scores[cut : scores.size - cut]))


def iqm(values: Any) -> float:
    """Interquartile mean: the mean of the middle 50% of the scores (25% trimmed from each end).

    :param values: the scores, e.g. the episode returns of an evaluation (flattened).
    :return: the IQM; the plain mean for fewer than 4 scores.
    :raises ValueError: for an empty input or non-finite scores.
    """
    return trimmed_mean(values, 0.25)


def _strata(scores: Any) -> list[np.ndarray]:
    """Scores as a list of 1-D strata: a 2-D ``(runs, tasks)`` array gives one stratum per task (column)."""
    if isinstance(scores, np.ndarray) or (
        isinstance(scores, Sequence) and scores and not isinstance(scores[0], (Sequence, np.ndarray))
    ):
        array = np.asarray(scores, dtype=float)
        if array.ndim == 1:
            return [_scores_1d(array, "scores")]
        if array.ndim == 2:
            return [_scores_1d(array[:, task], f"scores[:, {task}]") for task in range(array.shape[1])]
        raise ValueError(f"scores must be 1-D (one task) or 2-D (runs x tasks), got shape {array.shape}.")
    if isinstance(scores, Sequence) and scores:
        return [_scores_1d(stratum, f"scores[{index}]") for index, stratum in enumerate(scores)]
    raise ValueError(
        "scores must be a non-empty 1-D array (one task), a 2-D (runs x tasks) array or a list of 1-D arrays "
        "(one per task, sizes may differ)."
    )


def stratified_bootstrap_ci(
    scores: Any,
    statistic: Statistic = iqm,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Percentile confidence interval of ``statistic`` by a bootstrap stratified over tasks.

    Each resample draws, for every task separately, as many scores as the task has, with
    replacement, then applies ``statistic`` to all drawn scores together (for a single task this
    is the ordinary bootstrap). As in ``rliable``, the strata keep every task's weight fixed.

    :param scores: one task's scores (1-D), a ``(runs, tasks)`` array, or a list of 1-D arrays,
        one per task (their sizes may differ).
    :param statistic: a function of the pooled 1-D scores (default ``iqm``; ``np.mean``, ``np.median`` ...).
    :param confidence: the interval's coverage, in ``(0, 1)``.
    :param n_resamples: bootstrap resamples (>= 1; 2000 gives stable 95% bounds).
    :param seed: seed of the resampling (``None``: a fresh random one each call).
    :return: ``(low, high)``.
    :raises ValueError: for empty or non-finite scores, ``confidence`` outside ``(0, 1)`` or ``n_resamples < 1``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive int, e.g. 2000, got {n_resamples!r}.")
    strata = _strata(scores)
    rng = np.random.default_rng(seed)
    # Draw every resample's indices at once per stratum: (n_resamples, stratum size).
    drawn = [stratum[rng.integers(0, stratum.size, size=(n_resamples, stratum.size))] for stratum in strata]
    pooled = np.concatenate(drawn, axis=1)
    estimates = np.fromiter((statistic(row) for row in pooled), dtype=float, count=n_resamples)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)
