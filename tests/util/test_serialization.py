"""Pickle-free JSON of values, arrays and spaces: exact round trips, strict JSON, refusals."""

from __future__ import annotations

import collections
import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit
from stable_baselines3.common.utils import ConstantSchedule, FloatSchedule, LinearSchedule

from rl_framework.util.safe_classes import UnsafeContentError
from rl_framework.util.serialization import TAG, Unreadable, from_json, is_unreadable, space_to_json, to_json


def through_json(value: Any) -> Any:
    """``value`` written as strict JSON text and read back."""
    return from_json(json.loads(json.dumps(to_json(value), allow_nan=False)))


SPACES = [
    gym.spaces.Box(-1.0, 1.0, (3,)),
    gym.spaces.Box(np.array([-np.inf, 0.0]), np.array([np.inf, 2.5]), dtype=np.float64),
    gym.spaces.Box(0, 255, (8, 8, 3), np.uint8),
    gym.spaces.Discrete(5, start=-2),
    gym.spaces.MultiDiscrete([[2, 3], [4, 5]]),
    gym.spaces.MultiDiscrete([3, 4], start=[1, -1]),
    gym.spaces.MultiBinary([2, 3]),
    gym.spaces.MultiBinary(4),
    gym.spaces.Dict({"position": gym.spaces.Box(-1, 1, (2,)), "mode": gym.spaces.Discrete(3)}),
    gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Dict({"x": gym.spaces.MultiBinary(2)}))),
]


@pytest.mark.parametrize("space", SPACES, ids=lambda space: type(space).__name__)
def test_spaces_round_trip_exactly(space: gym.Space) -> None:
    restored = through_json(space)
    assert type(restored) is type(space) and restored == space
    assert restored.dtype == space.dtype
    if isinstance(space, gym.spaces.Box):
        np.testing.assert_array_equal(restored.low, space.low)
        np.testing.assert_array_equal(restored.high, space.high)


def test_uniform_box_bounds_stay_readable_numbers() -> None:
    stored = space_to_json(gym.spaces.Box(0, 255, (84, 84, 3), np.uint8))
    assert stored["low"] == 0 and stored["high"] == 255 and stored["shape"] == [84, 84, 3]


def test_values_round_trip_with_their_types() -> None:
    value = {
        "float32 array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "big-endian": np.arange(3, dtype=">i4"),
        "bools": np.array([True, False]),
        "scalar": np.float32(1.5),
        "integer scalar": np.int64(-3),
        "not finite": [float("nan"), float("inf"), -float("inf")],
        "tuple": (1, "a", None),
        "non-string keys": {1: "one", (2, 3): "pair"},
        "deque": collections.deque([{"r": 1.0, "l": 3}], maxlen=100),
        "dtype": np.dtype(np.float16),
        "class": torch.nn.Tanh,
        "tensor": torch.tensor([1.0, -2.0]),
    }
    restored = through_json(value)
    np.testing.assert_array_equal(restored["float32 array"], value["float32 array"])
    assert restored["float32 array"].dtype == np.float32 and restored["big-endian"].dtype == np.dtype(">i4")
    assert restored["bools"].dtype == bool and restored["scalar"] == np.float32(1.5)
    assert type(restored["scalar"]) is np.float32 and type(restored["integer scalar"]) is np.int64
    assert np.isnan(restored["not finite"][0]) and restored["not finite"][1:] == [float("inf"), -float("inf")]
    assert restored["tuple"] == (1, "a", None) and restored["non-string keys"] == {1: "one", (2, 3): "pair"}
    assert restored["deque"] == value["deque"] and restored["deque"].maxlen == 100
    assert restored["dtype"] == np.float16 and restored["class"] is torch.nn.Tanh
    assert torch.equal(restored["tensor"], value["tensor"])


def test_sb3_objects_are_rebuilt_from_their_fields() -> None:
    statistics = RunningMeanStd(shape=(2,))
    statistics.update(np.array([[1.0, 2.0], [3.0, 5.0]]))
    noise = OrnsteinUhlenbeckActionNoise(np.zeros(2), 0.3 * np.ones(2), theta=0.2)
    noise()
    value = [
        FloatSchedule(ConstantSchedule(0.2)),
        LinearSchedule(1.0, 0.05, 0.1),
        TrainFreq(4, TrainFrequencyUnit.EPISODE),
        NormalActionNoise(np.zeros(3), 0.1 * np.ones(3)),
        noise,
        statistics,
    ]
    schedule, linear, frequency, normal, ornstein, running = through_json(value)
    assert schedule(0.7) == 0.2 and linear(1.0) == 1.0 and linear(0.0) == pytest.approx(0.05)
    assert frequency == TrainFreq(4, TrainFrequencyUnit.EPISODE)
    np.testing.assert_array_equal(normal._sigma, 0.1 * np.ones(3))
    np.testing.assert_array_equal(ornstein.noise_prev, noise.noise_prev)
    assert ornstein._theta == 0.2
    np.testing.assert_array_equal(running.mean, statistics.mean)
    np.testing.assert_array_equal(running.var, statistics.var)
    assert running.count == statistics.count


def test_values_without_a_safe_form_are_marked_unreadable_not_pickled() -> None:
    stored = to_json({"schedule": FloatSchedule(lambda progress: 0.1 * progress), "object": object()})
    assert is_unreadable(stored) and "serialized" not in json.dumps(stored)
    restored = from_json(stored)
    assert isinstance(restored["schedule"], Unreadable) and isinstance(restored["object"], Unreadable)


@pytest.mark.parametrize(
    ("stored", "error", "message"),
    [
        ({TAG: "ndarray", "dtype": "|O", "shape": [1], "data": ""}, UnsafeContentError, "only numbers and booleans"),
        ({TAG: "class", "name": "os:system"}, UnsafeContentError, "not on rl_framework's allowlist"),
        (
            {TAG: "object", "class": "subprocess:Popen", "fields": {"args": "true"}},
            UnsafeContentError,
            "not one of the objects rl_framework rebuilds",
        ),
        ({TAG: "pickle", "data": "gASV"}, ValueError, "tagged 'pickle', which this rl_framework does not know"),
        ({TAG: "ndarray", "dtype": "<f4", "shape": [3], "data": "AAAA"}, ValueError, "has 3 bytes"),
    ],
)
def test_unsafe_or_damaged_data_is_refused(stored: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        from_json(stored, "the test file")


def test_spaces_sb3_does_not_support_cannot_be_stored() -> None:
    with pytest.raises(TypeError, match="Cannot store the space .*Text"):
        space_to_json(gym.spaces.Text(5))
