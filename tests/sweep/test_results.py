"""The multi-seed numbers against values worked out by hand, and the table files."""

from __future__ import annotations

import csv
import json
import math

import pytest

from rl_framework.sweep.curves import configuration_curve, plot_learning_curves
from rl_framework.sweep.results import (
    ERROR,
    FINISHED,
    STOPPED,
    ConfigurationSummary,
    TrialRecord,
    best_configuration,
    best_trial,
    format_table,
    summarise,
    write_results,
)


def record(configuration, seed, final, status=FINISHED, parameters=None, curve=None, error=""):
    return TrialRecord(
        trial_id=f"t{configuration}{seed}",
        configuration=configuration,
        parameters=parameters if parameters is not None else {"lr": 0.001 * (configuration + 1)},
        seed=seed,
        status=status,
        final_return=final,
        best_return=final,
        timesteps=1000,
        seconds=1.5,
        error=error,
        curve=curve or [],
    )


def test_two_runs_give_the_mean_and_the_whole_range_as_interval():
    # IQM of fewer than 4 runs is their mean (nothing to trim). Resampling 2 runs with replacement
    # gives the means 0 (p=1/4), 5 (1/2), 10 (1/4): the 2.5% and 97.5% percentiles are 0 and 10.
    summary = ConfigurationSummary.of(0, [record(0, 0, 0.0), record(0, 1, 10.0)])
    assert (summary.mean, summary.iqm) == (5.0, 5.0)
    assert (summary.ci_low, summary.ci_high) == (0.0, 10.0)
    assert summary.seeds == [0, 1] and summary.trials == 2


def test_three_runs_interval_ends_at_the_extremes():
    # Of the 27 equally likely resamples of (0, 1, 2), only (0,0,0) has mean 0 and only (2,2,2) mean 2:
    # each has probability 1/27 = 3.7% > 2.5%, so the interval is exactly [0, 2].
    summary = ConfigurationSummary.of(0, [record(0, seed, float(seed)) for seed in range(3)])
    assert (summary.mean, summary.iqm, summary.ci_low, summary.ci_high) == (1.0, 1.0, 0.0, 2.0)


def test_iqm_over_eight_runs_drops_the_outlier_run():
    finals = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 100.0]
    summary = ConfigurationSummary.of(0, [record(0, seed, final) for seed, final in enumerate(finals)])
    assert summary.iqm == pytest.approx((3 + 4 + 5 + 6) / 4)  # 2 of 8 cut from each end
    assert summary.mean == pytest.approx(16.0)
    assert summary.ci_low <= summary.iqm <= summary.ci_high <= 100.0


def test_only_finished_runs_count_and_a_configuration_without_any_is_nan():
    records = [
        record(0, 0, 50.0),
        record(0, 1, 10.0, status=STOPPED),
        record(0, 2, math.nan, status=ERROR, error="RuntimeError: boom"),
        record(1, 0, 20.0, status=STOPPED),
    ]
    first, second = summarise(records)
    assert (first.final_returns, first.seeds, first.trials) == ([50.0], [0], 3)
    assert (first.mean, first.iqm, first.ci_low, first.ci_high) == (50.0, 50.0, 50.0, 50.0)
    assert math.isnan(second.iqm) and second.final_returns == []
    assert best_configuration([second]) is None


def test_the_best_configuration_is_the_highest_iqm_not_the_highest_mean():
    lucky = [record(0, seed, final) for seed, final in enumerate([0.0, 0.0, 0.0, 1000.0])]  # mean 250, IQM 0
    steady = [record(1, seed, 100.0 + seed) for seed in range(4)]  # mean = IQM = 101.5
    summaries = summarise(lucky + steady)
    best = best_configuration(summaries)
    assert best is not None and best.configuration == 1
    assert best_trial(lucky + steady, best).seed == 3  # the configuration's best run


def test_results_are_written_as_csv_and_json_and_printed(tmp_path):
    records = [
        record(0, 0, 50.0, curve=[(500, 20.0), (1000, 50.0)]),
        record(0, 1, 30.0, curve=[(500, 10.0), (1000, 30.0)]),
        record(1, 0, math.nan, status=ERROR, error="RuntimeError: boom"),
    ]
    summaries = summarise(records)
    csv_file, json_file = write_results(tmp_path, records, summaries, {"name": "demo"})
    rows = list(csv.DictReader(csv_file.open()))
    assert [row["trial_id"] for row in rows] == ["t00", "t01", "t10"]
    assert list(rows[0])[:4] == ["trial_id", "configuration", "lr", "seed"]
    assert rows[0]["final_return"] == "50.0" and rows[2]["final_return"] == "" and rows[2]["error"].endswith("boom")
    document = json.loads(json_file.read_text())
    assert document["name"] == "demo" and document["trials"][0]["curve"] == [[500, 20.0], [1000, 50.0]]
    assert document["trials"][2]["final_return"] is None  # NaN is not JSON
    assert document["configurations"][0]["iqm"] == 40.0 and "Agarwal" in document["interval_method"]
    table = format_table(records, summaries)
    assert "error: RuntimeError: boom" in table
    assert "IQM" in table and "[30.0, 50.0]" in table and "2/2" in table and "0/1" in table


def test_learning_curves_aggregate_by_evaluation_and_draw_a_png(tmp_path):
    records = [
        record(0, 0, 50.0, curve=[(500, 20.0), (1000, 50.0)]),
        record(0, 1, 30.0, curve=[(500, 10.0), (1000, 30.0)]),
        record(0, 2, 30.0, status=STOPPED, curve=[(500, 0.0)]),
    ]
    first, second = configuration_curve(records)
    assert (first.timesteps, first.runs, first.iqm) == (500.0, 3, 10.0)
    assert 0.0 <= first.ci_low < first.iqm < first.ci_high <= 20.0  # within the range of the 3 runs
    assert (second.runs, second.iqm) == (2, 40.0)
    png = plot_learning_curves(records, tmp_path / "curves.png", "demo")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
