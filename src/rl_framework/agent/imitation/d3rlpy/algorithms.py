"""The one table of d3rlpy algorithms reachable by name, and how their d3rlpy config is built.

Each d3rlpy algorithm exists once per action-space kind (``CQL`` for ``Box`` actions,
``DiscreteCQL`` for ``Discrete`` ones); a row knows its kind and the name of its counterpart, so a
mismatch is refused with the name to use instead. A row's class is d3rlpy's config dataclass
(``d3rlpy.algos.CQLConfig``); ``algorithm_parameters`` are that dataclass's fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rl_framework.util.algorithm_table import AlgorithmEntry, resolve_algorithm, table_name
from rl_framework.util.checks import check_parameter_names


@dataclass(frozen=True)
class D3rlpyAlgorithm(AlgorithmEntry):
    """One d3rlpy algorithm.

    :param action_space: the action space it learns for: ``"Discrete"`` or ``"Box"``.
    :param counterpart: the table name of the same method for the other action-space kind.
    :param needs_rewards: whether it learns from rewards (offline RL) or only imitates actions (BC).
    """

    action_space: str = "Discrete"
    counterpart: str | None = None
    needs_rewards: bool = True


#: Name -> algorithm. The config classes are imported only when a name is used.
D3RLPY_ALGORITHMS: dict[str, D3rlpyAlgorithm] = {
    "DiscreteCQL": D3rlpyAlgorithm("d3rlpy.algos:DiscreteCQLConfig", "d3rlpy", "Discrete", "CQL"),
    "CQL": D3rlpyAlgorithm("d3rlpy.algos:CQLConfig", "d3rlpy", "Box", "DiscreteCQL"),
    "IQL": D3rlpyAlgorithm("d3rlpy.algos:IQLConfig", "d3rlpy", "Box", None),
    "DiscreteBCQ": D3rlpyAlgorithm("d3rlpy.algos:DiscreteBCQConfig", "d3rlpy", "Discrete", "BCQ"),
    "BCQ": D3rlpyAlgorithm("d3rlpy.algos:BCQConfig", "d3rlpy", "Box", "DiscreteBCQ"),
    "DiscreteBC": D3rlpyAlgorithm("d3rlpy.algos:DiscreteBCConfig", "d3rlpy", "Discrete", "BC", needs_rewards=False),
    "BC": D3rlpyAlgorithm("d3rlpy.algos:BCConfig", "d3rlpy", "Box", "DiscreteBC", needs_rewards=False),
}

#: Parameters rl_framework adds to the config's own fields.
OWN_PARAMETERS = {
    "seed": "seeds the network initialisation and the batch sampling",
    "device": "the torch device, default 'cpu'",
}
#: Scalers d3rlpy fits to the training data; a loaded agent keeps the fitted ones.
SCALERS = ("observation_scaler", "action_scaler", "reward_scaler")


def resolve_d3rlpy_algorithm(algorithm_class: str | type) -> tuple[str, type, D3rlpyAlgorithm]:
    """Turn a name, a d3rlpy config class or a d3rlpy algorithm class into ``(table name, config class, entry)``.

    :param algorithm_class: a name from ``D3RLPY_ALGORITHMS`` (case-insensitive), its config class
        (``d3rlpy.algos.DiscreteCQLConfig``) or its algorithm class (``d3rlpy.algos.DiscreteCQL``).
    :return: the canonical name, the config class and its table entry.
    :raises ValueError: for unknown names and classes, listing the supported ones.
    """
    if isinstance(algorithm_class, type) and algorithm_class.__module__.startswith("d3rlpy."):
        if algorithm_class.__name__ in D3RLPY_ALGORITHMS:  # an algorithm class: use its config
            algorithm_class = algorithm_class.__name__
    config_class, entry = resolve_algorithm(algorithm_class, D3RLPY_ALGORITHMS, "d3rlpy")
    if entry is None:
        raise ValueError(
            f"D3rlpyAgent cannot train {config_class.__module__}.{config_class.__name__}. Supported: "
            f"{', '.join(D3RLPY_ALGORITHMS)} (pass the name, d3rlpy's config class or its algorithm class)."
        )
    return table_name(entry, D3RLPY_ALGORITHMS), config_class, entry


def check_d3rlpy_parameters(name: str, config_class: type, entry: D3rlpyAlgorithm, parameters: dict[str, Any]) -> None:
    """Refuse unknown parameter names (typos) and settings the algorithm cannot use, before any work.

    :param name: the algorithm's table name, for messages.
    :param config_class: its d3rlpy config dataclass.
    :param entry: its table row.
    :param parameters: the user's ``algorithm_parameters``.
    :raises ValueError: naming the bad parameter and the accepted ones.
    """
    fields = {field.name for field in dataclasses.fields(config_class)}
    check_parameter_names(parameters, fields | set(OWN_PARAMETERS), name)
    if entry.action_space == "Discrete" and parameters.get("action_scaler") is not None:
        raise ValueError(f"{name} picks discrete actions, which d3rlpy cannot scale: remove action_scaler.")


def check_action_space(name: str, entry: D3rlpyAlgorithm, action_space: gym.Space) -> None:
    """Raise ``ValueError`` when ``name`` cannot act in ``action_space``, naming the algorithm that can.

    :param name: the algorithm's table name.
    :param entry: its table row.
    :param action_space: the training environment's action space.
    """
    kind = type(action_space).__name__
    if isinstance(action_space, gym.spaces.Discrete) and action_space.start != 0 and kind == entry.action_space:
        raise ValueError(
            f"{name} learns actions 0 .. n-1 but the action space {action_space} starts at {action_space.start}. "
            f"Wrap the environment in a gymnasium.ActionWrapper that maps 0 .. n-1 onto its actions."
        )
    if kind == entry.action_space and (kind == "Discrete" or len(action_space.shape or ()) == 1):
        return
    if kind == "Box" and entry.action_space == "Box":
        raise ValueError(
            f"{name} needs a 1-D Box action space (one vector per action), got {action_space}. Wrap the "
            f"environment in a gymnasium.ActionWrapper that maps a flat vector onto its actions."
        )
    instead = entry.counterpart if entry.counterpart and kind in ("Discrete", "Box") else None
    if instead is None:
        supporting = [other for other, row in D3RLPY_ALGORITHMS.items() if row.action_space == kind]
        advice = f"Algorithms for {kind} actions: {', '.join(supporting) or 'none'}."
    else:
        advice = f"Use D3rlpyAgent('{instead}') for {kind} actions."
    raise ValueError(
        f"{name} learns {entry.action_space} actions but the environment's action space is {action_space}. {advice}"
    )


def build_config(config_class: type, parameters: dict[str, Any], action_space: gym.Space) -> Any:
    """Create the d3rlpy config from the user's parameters, with a working action scaler for ``Box`` actions.

    d3rlpy's continuous policies output actions in ``[-1, 1]``; unless the user passed an
    ``action_scaler``, a ``MinMaxActionScaler`` with the space's bounds maps them onto the
    environment's range (it is the identity for ``[-1, 1]`` spaces). Unbounded spaces get none.

    :param config_class: the d3rlpy config dataclass.
    :param parameters: the checked ``algorithm_parameters`` (``seed`` and ``device`` are not the config's).
    :param action_space: the training environment's action space.
    :return: the config (``config.create(device)`` builds the algorithm).
    """
    from d3rlpy.preprocessing import MinMaxActionScaler

    fields = {key: value for key, value in parameters.items() if key not in OWN_PARAMETERS}
    bounded = isinstance(action_space, gym.spaces.Box) and bool(
        np.all(np.isfinite([action_space.low, action_space.high]))
    )
    if bounded and fields.get("action_scaler") is None:
        assert isinstance(action_space, gym.spaces.Box)
        fields["action_scaler"] = MinMaxActionScaler(
            minimum=action_space.low.astype(np.float32), maximum=action_space.high.astype(np.float32)
        )
    return config_class(**fields)
