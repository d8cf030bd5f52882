"""The table of Stable-Baselines3 (and sb3-contrib) algorithms reachable by name, and their policies."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
from stable_baselines3.common.preprocessing import is_image_space

from rl_framework.util.algorithm_table import AlgorithmEntry
from rl_framework.util.checks import accepts_any_keyword, check_parameter_names, constructor_parameters

_ANY = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
_FEEDFORWARD = ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")
_RECURRENT = ("MlpLstmPolicy", "CnnLstmPolicy", "MultiInputLstmPolicy")

#: Constructor arguments rl_framework sets itself, with what to do instead.
RESERVED_PARAMETERS = {
    "env": "rl_framework builds the environment from train(training_environments=...); pass it there.",
    "_init_setup_model": "rl_framework always builds the model when training starts.",
}


@dataclass(frozen=True)
class SB3Algorithm(AlgorithmEntry):
    """One SB3 algorithm: where it lives, which action spaces it supports, its policy names.

    :param action_spaces: names of the gymnasium space classes it supports (e.g. ``("Discrete",)``).
    :param policies: its policy names for vector, image and dict observations.
    :param recurrent: acting needs the recurrent state carried between steps (``RecurrentPPO``).
    :param masked: acting needs the environment's ``action_masks()`` (``MaskablePPO``).
    """

    action_spaces: tuple[str, ...] = _ANY
    policies: tuple[str, str, str] = _FEEDFORWARD
    recurrent: bool = False
    masked: bool = False


#: Name -> algorithm. sb3-contrib names need ``pip install 'rl_framework[contrib]'``.
SB3_ALGORITHMS: dict[str, SB3Algorithm] = {
    "PPO": SB3Algorithm("stable_baselines3:PPO"),
    "A2C": SB3Algorithm("stable_baselines3:A2C"),
    "DQN": SB3Algorithm("stable_baselines3:DQN", action_spaces=("Discrete",)),
    "SAC": SB3Algorithm("stable_baselines3:SAC", action_spaces=("Box",)),
    "TD3": SB3Algorithm("stable_baselines3:TD3", action_spaces=("Box",)),
    "DDPG": SB3Algorithm("stable_baselines3:DDPG", action_spaces=("Box",)),
    "ARS": SB3Algorithm("sb3_contrib:ARS", "contrib", action_spaces=("Box", "Discrete")),
    "CrossQ": SB3Algorithm("sb3_contrib:CrossQ", "contrib", action_spaces=("Box",)),
    "MaskablePPO": SB3Algorithm(
        "sb3_contrib:MaskablePPO", "contrib", action_spaces=("Discrete", "MultiDiscrete", "MultiBinary"), masked=True
    ),
    "QRDQN": SB3Algorithm("sb3_contrib:QRDQN", "contrib", action_spaces=("Discrete",)),
    "RecurrentPPO": SB3Algorithm("sb3_contrib:RecurrentPPO", "contrib", policies=_RECURRENT, recurrent=True),
    "TQC": SB3Algorithm("sb3_contrib:TQC", "contrib", action_spaces=("Box",)),
    "TRPO": SB3Algorithm("sb3_contrib:TRPO", "contrib"),
}


def supporting_algorithms(action_space_name: str) -> list[str]:
    """Names of the table's algorithms that support an action space class name (e.g. ``"Box"``)."""
    return [name for name, entry in SB3_ALGORITHMS.items() if action_space_name in entry.action_spaces]


def default_policy(observation_space: gym.Space, entry: SB3Algorithm | None = None) -> str:
    """The policy name of ``entry`` that fits ``observation_space`` (dict -> MultiInput, images -> Cnn, else Mlp).

    :param observation_space: the environment's observation space.
    :param entry: the algorithm's table row; ``None`` (a class outside the table) uses SB3's names.
    :return: a policy name the algorithm's constructor accepts.
    """
    vector, image, dictionary = (entry or SB3Algorithm("")).policies
    if isinstance(observation_space, gym.spaces.Dict):
        return dictionary
    if is_image_space(observation_space, check_channels=False):
        return image
    return vector


def check_sb3_parameters(algorithm_class: type, names: object, context: str = "algorithm_parameters") -> None:
    """Refuse reserved names (``env``) and names ``algorithm_class``'s constructor does not take.

    :param algorithm_class: the SB3 algorithm class.
    :param names: the parameter names given.
    :param context: where they came from, for the message.
    """
    given = list(names)  # type: ignore[call-overload]
    accepted = set(given) if accepts_any_keyword(algorithm_class) else constructor_parameters(algorithm_class)
    check_parameter_names(given, accepted, algorithm_class.__name__, context, RESERVED_PARAMETERS)
