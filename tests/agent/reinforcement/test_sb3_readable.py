"""Reading plain SB3 ``data`` JSON from its readable half: spaces, classes, schedules; nothing unpickled."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.policies import ActorCriticCnnPolicy, MultiInputActorCriticPolicy
from stable_baselines3.common.save_util import data_to_json
from stable_baselines3.common.utils import FloatSchedule, LinearSchedule
from stable_baselines3.dqn.policies import DQNPolicy

from rl_framework.agent.reinforcement.sb3_readable import NotReadable, parse_repr, readable_data
from rl_framework.util.safe_classes import UnsafeContentError

SPACES = [
    gym.spaces.Box(-1.0, 1.0, (3,)),
    gym.spaces.Box(np.array([-4.8, -np.inf]), np.array([4.8, np.inf])),
    gym.spaces.Box(0, 255, (84, 84, 3), np.uint8),
    gym.spaces.Discrete(4, start=1),
    gym.spaces.MultiDiscrete([[2, 3], [4, 5]]),
    gym.spaces.MultiBinary([2, 3]),
    gym.spaces.Dict(
        {"a": gym.spaces.Box(np.array([0.0, -1.5]), np.array([1.0, 2.25])), "b": gym.spaces.Discrete(3, start=1)}
    ),
    gym.spaces.Tuple((gym.spaces.MultiDiscrete([3, 4]), gym.spaces.MultiBinary(2), gym.spaces.Box(0, 1, (2, 2)))),
]


def sb3_json(**data: object) -> dict:
    """What SB3's save writes into the zip's ``data`` member for these attributes."""
    return json.loads(data_to_json(data))


@pytest.mark.parametrize("space", SPACES, ids=lambda space: type(space).__name__)
def test_spaces_are_rebuilt_from_sb3s_readable_fields(space: gym.Space) -> None:
    data, skipped = readable_data(sb3_json(observation_space=space), "test.zip", "allow_pickle=True")
    restored = data["observation_space"]
    assert type(restored) is type(space) and restored == space and restored.dtype == space.dtype and skipped == []


@pytest.mark.parametrize("policy", [DQNPolicy, ActorCriticCnnPolicy, MultiInputActorCriticPolicy])
def test_policy_classes_are_identified_from_their_module_and_methods(policy: type) -> None:
    data, _ = readable_data(sb3_json(policy_class=policy), "test.zip", "allow_pickle=True")
    assert data["policy_class"] is policy


def test_schedules_and_policy_kwargs_are_read_and_pickled_leftovers_listed() -> None:
    import torch

    stored = sb3_json(
        clip_range=FloatSchedule(0.1),
        exploration_schedule=LinearSchedule(1.0, 0.05, 0.1),
        policy_kwargs={"activation_fn": torch.nn.ReLU, "net_arch": [8, 8]},
        _last_obs=np.zeros((1, 4)),
        action_noise=object(),
        gamma=0.98,
    )
    data, skipped = readable_data(stored, "test.zip", "allow_pickle=True")
    assert data["clip_range"](0.5) == 0.1 and data["exploration_schedule"](1.0) == 1.0
    assert data["policy_kwargs"] == {"activation_fn": torch.nn.ReLU, "net_arch": [8, 8]}
    assert data["gamma"] == 0.98 and "_last_obs" not in data  # runtime state SB3 rebuilds
    assert skipped == ["action_noise"]


def test_a_truncated_printout_is_refused_with_the_opt_in_named() -> None:
    bounds = np.linspace(-1.0, 1.0, 2000)  # numpy prints arrays of > 1000 values with '...'
    stored = sb3_json(observation_space=gym.spaces.Box(bounds, bounds + 1.0))
    with pytest.raises(UnsafeContentError, match=r"observation_space is stored only as a pickle .*allow_pickle=True"):
        readable_data(stored, "test.zip", "allow_pickle=True")


class Custom(DQNPolicy):
    """A policy class outside the allowlist."""

    def forward(self, *args: object) -> None:  # a method, so SB3's readable copy names the class
        raise NotImplementedError


def test_a_class_outside_the_allowlist_is_refused() -> None:
    with pytest.raises(UnsafeContentError, match=r"Custom'.* not on rl_framework's allowlist"):
        readable_data(sb3_json(policy_class=Custom), "test.zip", "allow_pickle=True")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[-4.8000002e+00 -3.4028235e+38  inf]", [-4.8000002, -3.4028235e38, float("inf")]),
        ("[[2 3]\n [4 5]]", [[2, 3], [4, 5]]),
        ("(84, 84, 3)", (84, 84, 3)),
        ("ConstantSchedule(val=0.2)", None),
    ],
)
def test_parse_repr_reads_numbers_arrays_and_known_calls(text: str, expected: object) -> None:
    parsed = parse_repr(text)
    if expected is None:
        assert parsed(0.3) == 0.2
    else:
        assert parsed == expected


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "eval(1)", "[1 2 ... 5]", "Box(", "open('x')"])
def test_parse_repr_evaluates_nothing_else(text: str) -> None:
    with pytest.raises(NotReadable):
        parse_repr(text)
