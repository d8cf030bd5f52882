from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rl_framework.util.plot import (
    folder_curve,
    learning_curve,
    plot_learning_curves,
    read_metrics,
    smooth,
    write_learning_curve,
)


def write_metrics(path: Path, episodes: int = 60, offset: float = 0.0, evaluations: bool = True) -> Path:
    lines = []
    for index in range(episodes):
        step = (index + 1) * 50
        lines.append({"name": "episode/return", "value": offset + index + (index % 7), "timestep": step, "time": 0})
        lines.append({"name": "train/loss", "value": 1.0 / (index + 1), "timestep": step, "time": 0})
        if evaluations and index % 20 == 19:
            lines.append({"name": "eval/mean_return", "value": offset + index, "timestep": step, "time": 0})
            lines.append({"name": "eval/std_return", "value": 3.0, "timestep": step, "time": 0})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"name": "cut', encoding="utf-8")
    return path


def curve_pixels(png: Path) -> int:
    """Pixels that are neither the white background nor light grey grid lines."""
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return int(np.sum(np.abs(image - 255).sum(axis=2) > 120))


def test_read_metrics_skips_a_cut_last_line(tmp_path):
    metrics = read_metrics(write_metrics(tmp_path / "metrics.jsonl", episodes=3, evaluations=False))
    assert set(metrics) == {"episode/return", "train/loss"}
    assert metrics["episode/return"] == [(50, 0.0), (100, 2.0), (150, 4.0)]


def test_smooth_is_a_trailing_mean():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    np.testing.assert_allclose(smooth(values, 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(smooth(values, 1), values)
    np.testing.assert_allclose(smooth(values, 10), [1.0, 2.0, 3.0, 4.0])


def test_curve_has_episodes_and_evaluation_points_including_the_final_evaluation(tmp_path):
    metrics = write_metrics(tmp_path / "metrics.jsonl")
    curve = learning_curve(metrics, "run", final_evaluation={"mean_reward": 80.0, "std_reward": 1.0})
    assert curve.steps.size == 60 and curve.returns[0] == 0.0
    np.testing.assert_allclose(curve.evaluation_steps, [1000, 2000, 3000, 3000])
    np.testing.assert_allclose(curve.evaluation_means, [19, 39, 59, 80])
    np.testing.assert_allclose(curve.evaluation_stds, [3, 3, 3, 1])


def test_png_is_a_real_image_with_curves_and_several_runs_overlay(tmp_path):
    one = plot_learning_curves([learning_curve(write_metrics(tmp_path / "a.jsonl"), "a")], tmp_path / "one.png")
    two = plot_learning_curves(
        [
            learning_curve(write_metrics(tmp_path / "a.jsonl"), "a"),
            learning_curve(write_metrics(tmp_path / "b.jsonl", offset=40), "b"),
        ],
        tmp_path / "two.png",
    )
    for png in (one, two):
        with Image.open(png) as image:
            assert image.format == "PNG" and image.size == (800, 450)
    assert curve_pixels(one) > 3000  # lines, markers, labels
    assert curve_pixels(two) > curve_pixels(one) + 1000  # the second run adds its own curve
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_folder_curve_reads_a_run_folder_with_its_final_evaluation(tmp_path):
    write_metrics(tmp_path / "run" / "metrics.jsonl")
    (tmp_path / "run" / "metadata.json").write_text(json.dumps({"evaluation": {"mean_reward": 5, "std_reward": 0}}))
    curve = folder_curve(tmp_path / "run")
    assert curve.label == "run" and curve.evaluation_means[-1] == 5
    hub_layout = tmp_path / "hub"
    write_metrics(hub_layout / "logs" / "metrics.jsonl")
    assert folder_curve(hub_layout).steps.size == 60


def test_nothing_to_draw_is_an_error_naming_what_was_logged(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(json.dumps({"name": "bc/loss", "value": 1.0, "timestep": 1}) + "\n")
    with pytest.raises(ValueError, match=r"Nothing to draw.*logged: bc/loss"):
        plot_learning_curves([learning_curve(metrics)], tmp_path / "x.png")
    assert write_learning_curve(metrics, tmp_path / "x.png") is None
    assert write_learning_curve(tmp_path / "missing.jsonl", tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="at least one curve"):
        plot_learning_curves([], tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="No metrics.jsonl in .*no curve to draw"):
        folder_curve(tmp_path / "empty_run")
