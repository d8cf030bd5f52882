from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats  # installed with imitation (scikit-learn)

from rl_framework.util.statistics import iqm, stratified_bootstrap_ci, trimmed_mean


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert iqm(np.arange(12).reshape(3, 4)) == pytest.approx(np.mean(np.arange(3, 9)))  # flattened


def test_iqm_matches_scipy_trim_mean_for_any_size():
    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 4, 5, 7, 10, 33, 101):
        values = rng.normal(size=size)
        assert iqm(values) == pytest.approx(scipy_stats.trim_mean(values, 0.25))


def test_small_samples_give_the_plain_mean():
    assert iqm([2.0, 4.0, 9.0]) == pytest.approx(5.0)
    assert trimmed_mean([1.0], 0.4) == 1.0


@pytest.mark.parametrize(
    ("values", "match"),
    [([], "at least one score"), ([1.0, float("nan")], "finite"), ([1.0, float("inf")], "finite")],
)
def test_iqm_refuses_bad_scores(values, match):
    with pytest.raises(ValueError, match=match):
        iqm(values)


def test_trimmed_mean_refuses_bad_proportion():
    with pytest.raises(ValueError, match=r"proportion must be in \[0, 0.5\)"):
        trimmed_mean([1.0, 2.0], 0.5)


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_data():
    rng = np.random.default_rng(1)
    small, large = rng.normal(10, 2, size=20), rng.normal(10, 2, size=2000)
    low_small, high_small = stratified_bootstrap_ci(small, n_resamples=500)
    low_large, high_large = stratified_bootstrap_ci(large, n_resamples=500)
    assert low_small <= iqm(small) <= high_small
    assert low_large <= iqm(large) <= high_large
    assert high_large - low_large < (high_small - low_small) / 4  # ~sqrt(100) narrower


def test_bootstrap_is_reproducible_with_a_seed_and_constant_scores_give_a_point():
    scores = np.arange(30.0)
    assert stratified_bootstrap_ci(scores, seed=3) == stratified_bootstrap_ci(scores, seed=3)
    assert stratified_bootstrap_ci([500.0] * 10) == (500.0, 500.0)


def test_bootstrap_is_stratified_by_task():
    # Task 0 scores ~0, task 1 ~100: every resample keeps 5 of each, so the pooled mean stays ~50.
    runs_by_task = np.stack([np.linspace(-1, 1, 5), np.linspace(99, 101, 5)], axis=1)
    low, high = stratified_bootstrap_ci(runs_by_task, statistic=np.mean, n_resamples=300)
    assert 49 < low <= high < 51
    # Tasks of different sizes as a list of strata.
    low, high = stratified_bootstrap_ci([[0.0, 0.0, 0.0], [100.0]], statistic=np.mean, n_resamples=50)
    assert low == high == pytest.approx(25.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scores": []}, "non-empty"),
        ({"scores": np.zeros((2, 2, 2))}, "1-D .* or 2-D"),
        ({"scores": [1.0], "confidence": 1.0}, r"confidence must be in \(0, 1\)"),
        ({"scores": [1.0], "n_resamples": 0}, "n_resamples must be a positive int"),
        ({"scores": [[1.0], []]}, r"scores\[1\] must contain at least one score"),
    ],
)
def test_bootstrap_refuses_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stratified_bootstrap_ci(**kwargs)
