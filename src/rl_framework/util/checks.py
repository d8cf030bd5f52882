"""Input checks used at every public boundary, so every entry point accepts and refuses the same things.

Each check returns the value in its canonical type or raises ``ValueError``/``TypeError`` with a
message that names the parameter, what was given and what is accepted.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def is_integer(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy integer (``bool`` is not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def positive_int(value: Any, name: str, hint: str = "") -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1 (numpy integers included).

    :param value: the value to check.
    :param name: the parameter's name, for the message.
    :param hint: an example or the unit, appended to the message (e.g. "environment steps, e.g. 10_000").
    :return: ``int(value)``.
    :raises ValueError: for anything else.
    """
    if not is_integer(value) or value < 1:
        raise ValueError(f"{name} must be a positive int{_suffix(hint)}, got {value!r}.")
    return int(value)


def non_negative_int(value: Any, name: str, hint: str = "") -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 0 (numpy integers included).

    :param value: the value to check.
    :param name: the parameter's name, for the message.
    :param hint: what 0 means or the unit, appended to the message.
    :return: ``int(value)``.
    :raises ValueError: for anything else.
    """
    if not is_integer(value) or value < 0:
        raise ValueError(f"{name} must be an int >= 0{_suffix(hint)}, got {value!r}.")
    return int(value)


def optional_positive_int(value: Any, name: str, hint: str = "") -> int | None:
    """Like ``positive_int`` but ``None`` passes through."""
    return None if value is None else positive_int(value, name, hint)


def positive_number(value: Any, name: str, hint: str = "") -> float:
    """Return ``value`` as a ``float`` if it is a real number > 0 (``bool`` is not).

    :raises ValueError: for anything else.
    """
    valid = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not valid or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number{_suffix(hint)}, got {value!r}.")
    return float(value)


def check_total_timesteps(total_timesteps: Any) -> int:
    """Return the training budget as an ``int``; the one check every agent's ``train`` runs."""
    return positive_int(total_timesteps, "total_timesteps", "the training budget, e.g. total_timesteps=10_000")


def check_mapping(value: Any, name: str) -> dict[str, Any]:
    """Return a copy of ``value`` as a dict of keyword arguments (``None`` gives ``{}``).

    :raises TypeError: when ``value`` is not a mapping with string keys.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise TypeError(f"{name} must be a dict of keyword arguments (string keys), got {type(value).__name__}.")
    return dict(value)


def constructor_parameters(target: type) -> frozenset[str]:
    """Named keyword parameters of ``target``'s constructor (``*args`` and ``**kwargs`` excluded)."""
    return frozenset(
        name
        for name, parameter in inspect.signature(target).parameters.items()
        if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    )


def accepts_any_keyword(target: type) -> bool:
    """Whether ``target``'s constructor takes ``**kwargs`` (then no name is a typo)."""
    parameters = inspect.signature(target).parameters.values()
    return any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)


def check_parameter_names(
    names: Iterable[str],
    accepted: Iterable[str],
    owner: str,
    context: str = "algorithm_parameters",
    reserved: Mapping[str, str] | None = None,
) -> None:
    """Refuse parameter names that are reserved (set by rl_framework) or unknown (typos).

    The one name check for every algorithm table (SB3, sb3-contrib, imitation, custom agents).

    :param names: the names the user gave.
    :param accepted: every name the user may give.
    :param owner: what the parameters are for (e.g. "PPO"), for the message.
    :param context: where the names came from (e.g. "algorithm_parameters").
    :param reserved: name -> why rl_framework sets it itself and what to do instead.
    :raises ValueError: naming the reserved or unknown names and listing the accepted ones.
    """
    given = set(names)
    for name in sorted(given & set(reserved or {})):
        assert reserved is not None
        raise ValueError(f"{context} must not contain '{name}' for {owner}: {reserved[name]}")
    valid = sorted(set(accepted))
    unknown = sorted(given - set(valid))
    if unknown:
        raise ValueError(
            f"{context} has unknown parameter(s) {', '.join(map(repr, unknown))} for {owner}. "
            f"Valid names: {', '.join(valid)}."
        )


def _suffix(hint: str) -> str:
    return f" ({hint})" if hint else ""
