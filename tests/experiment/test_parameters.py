from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

from rl_framework.experiment.config import ExperimentError
from rl_framework.experiment.parameters import LinearSchedule, parse_schedule, resolve_parameters

BOX = spaces.Box(-1.0, 1.0, shape=(2,))


def test_lin_schedule_decays_to_zero_like_the_zoo():
    schedule = parse_schedule("learning_rate", "lin_0.001")
    assert isinstance(schedule, LinearSchedule)
    assert schedule(1.0) == pytest.approx(0.001) and schedule(0.5) == pytest.approx(0.0005) and schedule(0.0) == 0
    assert repr(schedule) == "lin_0.001"
    assert pickle.loads(pickle.dumps(schedule)) == schedule  # SB3 saves schedules with the model
    assert parse_schedule("learning_rate", 0.01) == 0.01
    with pytest.raises(ExperimentError, match="write lin_<start>, e.g. lin_0.001"):
        parse_schedule("learning_rate", "lin_fast")


def test_resolve_builds_activation_noise_and_train_freq_without_changing_the_input():
    given = {
        "learning_rate": "lin_0.0003",
        "policy_kwargs": {"net_arch": [64, 64], "activation_fn": "nn.ReLU"},
        "action_noise": {"type": "normal", "std": 0.1},
        "train_freq": [1, "episode"],
    }
    resolved = resolve_parameters(given, BOX)
    assert resolved["learning_rate"] == LinearSchedule(0.0003)
    assert resolved["policy_kwargs"] == {"net_arch": [64, 64], "activation_fn": torch.nn.ReLU}
    noise = resolved["action_noise"]
    assert isinstance(noise, NormalActionNoise)
    np.testing.assert_allclose(noise._sigma, [0.1, 0.1])
    assert resolved["train_freq"] == (1, "episode")
    assert given["learning_rate"] == "lin_0.0003" and given["policy_kwargs"]["activation_fn"] == "nn.ReLU"
    ou = resolve_parameters({"action_noise": {"type": "ornstein-uhlenbeck", "std": 0.5}}, BOX)["action_noise"]
    assert isinstance(ou, OrnsteinUhlenbeckActionNoise)


@pytest.mark.parametrize(
    ("parameters", "space", "match"),
    [
        ({"policy_kwargs": {"activation_fn": "Relu"}}, None, "'Relu' is not a torch.nn module"),
        ({"action_noise": {"type": "pink", "std": 0.1}}, BOX, r"takes type \(normal, ornstein-uhlenbeck\) and std"),
        ({"action_noise": {"type": "normal", "std": -1}}, BOX, "std must be a number > 0"),
        ({"action_noise": {"type": "normal", "std": 0.1}}, spaces.Discrete(2), "needs a continuous .*Box"),
    ],
)
def test_bad_values_name_the_parameter(parameters, space, match):
    with pytest.raises(ExperimentError, match=match):
        resolve_parameters(parameters, space)
