"""The name -> class table: lookups, errors naming valid names and extras, parameter-name checks."""

from __future__ import annotations

import pytest
from sb3_contrib import QRDQN
from stable_baselines3 import DQN, PPO, SAC

from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS, check_sb3_parameters, supporting_algorithms
from rl_framework.util.algorithm_table import AlgorithmEntry, resolve_algorithm
from rl_framework.util.checks import check_parameter_names


def test_names_resolve_case_insensitively_to_class_and_entry():
    for name in ("PPO", "ppo", "Ppo"):
        algorithm, entry = resolve_algorithm(name, SB3_ALGORITHMS, "stable-baselines3")
        assert algorithm is PPO
        assert entry is SB3_ALGORITHMS["PPO"]
    assert resolve_algorithm("qrdqn", SB3_ALGORITHMS, "stable-baselines3") == (QRDQN, SB3_ALGORITHMS["QRDQN"])


def test_classes_resolve_to_their_entry_or_their_ancestors():
    assert resolve_algorithm(SAC, SB3_ALGORITHMS, "sb3") == (SAC, SB3_ALGORITHMS["SAC"])

    class MyDQN(DQN):
        pass

    class Unlisted:
        pass

    assert resolve_algorithm(MyDQN, SB3_ALGORITHMS, "sb3") == (MyDQN, SB3_ALGORITHMS["DQN"])
    assert resolve_algorithm(QRDQN, SB3_ALGORITHMS, "sb3") == (QRDQN, SB3_ALGORITHMS["QRDQN"])
    assert resolve_algorithm(Unlisted, SB3_ALGORITHMS, "sb3") == (Unlisted, None)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown lib algorithm 'XYZ'\. Valid names: A2C, ARS, .*TD3, TQC, TRPO\. "):
        resolve_algorithm("XYZ", SB3_ALGORITHMS, "lib")
    with pytest.raises(TypeError, match="must be a class or a name string, got float"):
        resolve_algorithm(1.0, SB3_ALGORITHMS, "lib")


def test_missing_package_names_the_extra():
    table = {"Ghost": AlgorithmEntry("rl_framework_no_such_package:Ghost", extra="contrib")}
    with pytest.raises(ImportError, match=r"needs the package 'rl_framework_no_such_package'\. .*\[contrib\]"):
        resolve_algorithm("ghost", table, "lib")


def test_action_space_table():
    assert "DQN" in supporting_algorithms("Discrete") and "SAC" not in supporting_algorithms("Discrete")
    assert {"SAC", "TD3", "DDPG", "TQC"} <= set(supporting_algorithms("Box")) and "DQN" not in supporting_algorithms(
        "Box"
    )
    assert SB3_ALGORITHMS["PPO"].action_spaces == ("Box", "Discrete", "MultiDiscrete", "MultiBinary")


def test_check_sb3_parameters_refuses_typos_and_reserved_names():
    check_sb3_parameters(PPO, ["learning_rate", "n_steps", "policy", "device"])
    with pytest.raises(
        ValueError, match=r"params has unknown parameter\(s\) 'gama', 'lr' for PPO\. Valid names: .*gamma"
    ):
        check_sb3_parameters(PPO, ["gama", "lr", "gamma"], "params")
    with pytest.raises(ValueError, match=r"must not contain 'env' for PPO: .*train\(training_environments=...\)"):
        check_sb3_parameters(PPO, ["env"])

    class Open:
        def __init__(self, **anything):
            pass

    check_sb3_parameters(Open, ["whatever"], "params")  # a constructor taking **kwargs accepts any name


def test_check_parameter_names_is_the_one_checker():
    check_parameter_names(["a"], {"a", "b"}, "Thing")
    with pytest.raises(ValueError, match=r"algorithm_parameters has unknown parameter\(s\) 'c' for Thing"):
        check_parameter_names(["c"], {"a", "b"}, "Thing")
    with pytest.raises(ValueError, match="must not contain 'venv' for Thing: set by us"):
        check_parameter_names(["venv"], {"venv"}, "Thing", reserved={"venv": "set by us"})
