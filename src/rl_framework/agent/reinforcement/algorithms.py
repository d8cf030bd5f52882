"""The table of Stable-Baselines3 (and sb3-contrib) algorithms reachable by name."""

from __future__ import annotations

from rl_framework.util.registry import AlgorithmEntry

_ANY = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")

#: Name -> algorithm. sb3-contrib names need ``pip install 'rl_framework[contrib]'``.
SB3_ALGORITHMS: dict[str, AlgorithmEntry] = {
    "PPO": AlgorithmEntry("stable_baselines3:PPO", _ANY),
    "A2C": AlgorithmEntry("stable_baselines3:A2C", _ANY),
    "DQN": AlgorithmEntry("stable_baselines3:DQN", ("Discrete",)),
    "SAC": AlgorithmEntry("stable_baselines3:SAC", ("Box",)),
    "TD3": AlgorithmEntry("stable_baselines3:TD3", ("Box",)),
    "DDPG": AlgorithmEntry("stable_baselines3:DDPG", ("Box",)),
    "ARS": AlgorithmEntry("sb3_contrib:ARS", ("Box", "Discrete"), extra="contrib"),
    "CrossQ": AlgorithmEntry("sb3_contrib:CrossQ", ("Box",), extra="contrib"),
    "MaskablePPO": AlgorithmEntry(
        "sb3_contrib:MaskablePPO", ("Discrete", "MultiDiscrete", "MultiBinary"), extra="contrib"
    ),
    "QRDQN": AlgorithmEntry("sb3_contrib:QRDQN", ("Discrete",), extra="contrib"),
    "RecurrentPPO": AlgorithmEntry("sb3_contrib:RecurrentPPO", _ANY, extra="contrib"),
    "TQC": AlgorithmEntry("sb3_contrib:TQC", ("Box",), extra="contrib"),
    "TRPO": AlgorithmEntry("sb3_contrib:TRPO", _ANY, extra="contrib"),
}


def supporting_algorithms(action_space_name: str) -> list[str]:
    """Names of the table's algorithms that support an action space class name (e.g. ``"Box"``)."""
    return [name for name, entry in SB3_ALGORITHMS.items() if action_space_name in entry.action_spaces]
