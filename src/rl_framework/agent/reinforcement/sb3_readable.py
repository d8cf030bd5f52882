"""Rebuild the settings of a plain SB3 zip (``PPO.save``) from the readable half of its ``data`` JSON.

SB3 stores every value JSON cannot hold as ``{":type:": ..., ":serialized:": <base64 cloudpickle>}``
and, beside it, a readable copy of the object's first-level attributes: a space's ``_shape``,
``dtype``, ``low_repr``/``high_repr``, ``n``, ``nvec``; a class's ``__module__`` and methods
(``"<function ActorCriticPolicy.__init__ at 0x...>"``); a schedule's ``value_schedule``
(``"ConstantSchedule(val=0.2)"``). This module reads only that readable copy, never the
``:serialized:`` pickle. Nested reprs (``Box(-1.0, 1.0, (3,), float32)`` inside a ``Dict``) go
through a small parser that knows a few constructor names and literals; it evaluates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import ConstantSchedule, FloatSchedule, LinearSchedule

from rl_framework.util.safe_classes import UnsafeContentError, resolve_class
from rl_framework.util.serialization import safe_dtype

SERIALIZED = ":serialized:"
#: Runtime state that SB3 rebuilds itself (on ``_setup_model``, ``set_env`` or the next ``learn``).
REBUILT_KEYS = frozenset(
    {
        "_last_obs",
        "_last_episode_starts",
        "_last_original_obs",
        "ep_info_buffer",
        "ep_success_buffer",
        "lr_schedule",
        "exploration_schedule",
        "batch_norm_stats",
        "batch_norm_stats_target",
        "actor_batch_norm_stats",
        "actor_batch_norm_stats_target",
        "critic_batch_norm_stats",
        "critic_batch_norm_stats_target",
        "weights",
        "rollout_buffer_class",
        "replay_buffer_class",
    }
)


class NotReadable(ValueError):
    """A stored value has no readable copy this module understands."""


def readable_data(stored: dict[str, Any], where: str, opt_in: str) -> tuple[dict[str, Any], list[str]]:
    """Decode the readable parts of SB3's ``data`` JSON.

    :param stored: the parsed ``data`` member of the zip.
    :param where: the file, for messages.
    :param opt_in: how the caller opts into SB3's own (pickle-based) loader, for messages.
    :return: the decoded attributes, and the names of pickled attributes that had to be left at
        the algorithm's defaults (they matter for further training only).
    :raises UnsafeContentError: when the spaces, policy class or policy kwargs cannot be read.
    """
    data: dict[str, Any] = {}
    skipped: list[str] = []
    for key, value in stored.items():
        if not (isinstance(value, dict) and SERIALIZED in value):
            data[key] = value
            continue
        readable = {name: item for name, item in value.items() if name not in (SERIALIZED, ":type:")}
        try:
            data[key] = _decode(key, str(value.get(":type:", "")), readable, where)
        except NotReadable as error:
            if key in ("observation_space", "action_space", "policy_class", "policy_kwargs"):
                raise UnsafeContentError(
                    f"'{where}' is a plain SB3 zip whose {key} is stored only as a pickle ({error}). Reading it "
                    f"needs unpickling, which runs whatever code the file's author put in it: pass {opt_in} only "
                    f"for a file from a source you trust."
                ) from None
            if key == "target_entropy" and isinstance(data.get("action_space"), gym.Space):
                # Pickled only as the numpy scalar SB3 computes for target_entropy="auto": compute it the same way.
                data[key] = np.float32(-np.prod(data["action_space"].shape))
            elif key not in REBUILT_KEYS:
                skipped.append(key)
    if not {"ep_info_buffer", "ep_success_buffer"} <= set(data):
        # SB3's next learn() recreates both only when ep_info_buffer is missing (ARS stores it as a plain list).
        data.pop("ep_info_buffer", None)
        data.pop("ep_success_buffer", None)
    return data, skipped


def _decode(key: str, type_name: str, readable: dict[str, Any], where: str) -> Any:
    named = re.search(r"'([\w.]+)'", type_name)  # "<class 'gymnasium.spaces.box.Box'>" -> "Box"
    kind = named.group(1).rsplit(".", 1)[-1] if named else ""
    if key in ("observation_space", "action_space"):
        return space_from_readable(kind, readable)
    if key == "policy_class":
        return resolve_class(class_reference_from_readable(readable), f"The policy class of '{where}'", BasePolicy)
    if key == "policy_kwargs":
        if not readable:  # SB3 pickles a dict only for an entry JSON cannot hold, and lists every entry
            raise NotReadable("its entries have no readable copy")
        return {name: _readable_value(item, where) for name, item in readable.items()}
    if kind in ("FloatSchedule", "ConstantSchedule", "LinearSchedule"):
        fields = {name: parse_repr(item) if isinstance(item, str) else item for name, item in readable.items()}
        return _build_call(kind, [], fields)
    raise NotReadable(f"no readable copy of a {kind or 'value'}")


def class_reference_from_readable(readable: dict[str, Any]) -> str:
    """``"module:Class"`` of a class from its readable ``__module__`` and method reprs.

    A method repr names its class: ``"<function ActorCriticPolicy.forward at 0x...>"``.
    """
    module = readable.get("__module__")
    owners = {
        match.group(1).rsplit(".", 1)[0]
        for item in readable.values()
        if isinstance(item, str)
        for match in re.finditer(r"<function ([\w.]+)\.\w+ at 0x", item)
    }
    if not isinstance(module, str) or len(owners) != 1:
        raise NotReadable("the class cannot be identified from its readable attributes")
    return f"{module}:{owners.pop()}"


def _readable_value(item: Any, where: str) -> Any:
    """One first-level entry of a readable dict: JSON as is, ``"<class 'x.Y'>"`` through the allowlist."""
    if not isinstance(item, str):
        return item
    match = re.fullmatch(r"<class '([\w.]+)\.(\w+)'>", item)
    if match:
        return resolve_class(f"{match.group(1)}:{match.group(2)}", f"A class in the policy kwargs of '{where}'")
    if item.startswith("<") or " object at 0x" in item:
        raise NotReadable(f"the value {item!r} is only stored as a pickle")
    return item


def space_from_readable(kind: str, readable: dict[str, Any]) -> gym.Space[Any]:
    """A gymnasium space from SB3's readable copy of its attributes.

    :param kind: the space's class name (``"Box"``, ``"Discrete"``, ...).
    :param readable: the readable attributes (``_shape``, ``dtype``, ``low_repr``, ``n``, ``spaces``, ...).
    :raises NotReadable: for other spaces, or arrays that were printed truncated (``...``).
    """
    if kind == "Box":
        shape = tuple(readable["_shape"])
        low = parse_repr(str(readable.get("low_repr", readable.get("low"))))
        high = parse_repr(str(readable.get("high_repr", readable.get("high"))))
        return _build_call("Box", [low, high, shape, str(readable["dtype"])], {})
    if kind == "Discrete":
        return gym.spaces.Discrete(int(readable["n"]), start=int(readable.get("start", 0)))
    if kind == "MultiDiscrete":
        nvec = np.asarray(parse_repr(str(readable["nvec"])))
        start = np.asarray(parse_repr(str(readable.get("start", "0"))))
        dtype = safe_dtype(str(readable.get("dtype", "int64")))
        return gym.spaces.MultiDiscrete(nvec, dtype=dtype, start=np.broadcast_to(start, nvec.shape))  # type: ignore[arg-type]
    if kind == "MultiBinary":
        n = readable["n"]
        return gym.spaces.MultiBinary(parse_repr(n) if isinstance(n, str) else n)
    if kind in ("Dict", "Tuple"):
        space: gym.Space[Any] = _build_call(kind, [parse_repr(str(readable["spaces"]))], {})
        return space
    raise NotReadable(f"a {kind or 'custom'} space has no readable form")


# -- a parser for the reprs of spaces and schedules ----------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)(?![\w.]))"
    r"|(?P<ellipsis>\.\.\.)|(?P<name>[A-Za-z_][\w.]*)|(?P<string>'[^'\\]*'|\"[^\"\\]*\")|(?P<punct>[\[\](){}:,=]))"
)


def parse_repr(text: str) -> Any:
    """Parse the printed form of a space, schedule, number or numpy array; evaluate nothing.

    Numbers become floats or ints, ``[...]`` (Python or numpy style) lists, ``(...)`` tuples,
    ``{...}`` dicts, and ``Name(...)`` calls are built only for the spaces and schedules above.

    :raises NotReadable: for anything else, including numpy's truncated ``...`` printing.
    """
    tokens = _tokenize(text)
    value, position = _parse_value(tokens, 0)
    if position != len(tokens):
        raise NotReadable(f"unexpected {tokens[position][1]!r} in {text[:80]!r}")
    return value


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise NotReadable(f"cannot read {text[position : position + 20]!r}")
        if match.lastgroup == "ellipsis":
            raise NotReadable("the array was printed truncated ('...')")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


def _parse_value(tokens: list[tuple[str, str]], at: int) -> tuple[Any, int]:
    if at >= len(tokens):
        raise NotReadable("the text ends early")
    kind, text = tokens[at]
    if kind == "number":
        number = float(text)
        return (int(text) if re.fullmatch(r"[-+]?\d+", text) else number), at + 1
    if kind == "string":
        return text[1:-1], at + 1
    if kind == "name" and at + 1 < len(tokens) and tokens[at + 1][1] == "(":
        args, kwargs, pairs, at = _parse_arguments(tokens, at + 2, ")")
        return _build_call(text, args or ([dict(pairs)] if pairs else []), kwargs), at
    if kind == "name":
        return text, at + 1  # a dtype name such as float32
    if text in "[(":
        closing = "]" if text == "[" else ")"
        args, kwargs, pairs, at = _parse_arguments(tokens, at + 1, closing)
        return (args if text == "[" else tuple(args)), at
    if text == "{":
        _, _, pairs, at = _parse_arguments(tokens, at + 1, "}")
        return dict(pairs), at
    raise NotReadable(f"unexpected {text!r}")


def _parse_arguments(
    tokens: list[tuple[str, str]], at: int, closing: str
) -> tuple[list[Any], dict[str, Any], list[Any], int]:
    """Items up to ``closing``: positional values, ``name=value`` and ``key: value`` pairs."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    pairs: list[tuple[Any, Any]] = []
    while at < len(tokens) and tokens[at][1] != closing:
        if tokens[at][0] == "name" and at + 1 < len(tokens) and tokens[at + 1][1] == "=":
            kwargs[tokens[at][1]], at = _parse_value(tokens, at + 2)
        else:
            value, at = _parse_value(tokens, at)
            if at < len(tokens) and tokens[at][1] == ":":
                item, at = _parse_value(tokens, at + 1)
                pairs.append((value, item))
            else:
                args.append(value)
        if at < len(tokens) and tokens[at][1] == ",":
            at += 1
    if at >= len(tokens):
        raise NotReadable(f"missing {closing!r}")
    return args, kwargs, pairs, at + 1


def _box(low: Any, high: Any, shape: Any, dtype: Any) -> gym.spaces.Box:
    dtype = safe_dtype(str(dtype))
    shape = tuple(int(size) for size in shape)
    low, high = (np.broadcast_to(np.asarray(bound, dtype=np.float64), shape).astype(dtype) for bound in (low, high))
    return gym.spaces.Box(low, high, shape=shape, dtype=dtype.type)


def _multi_discrete(nvec: Any, start: Any = 0, dtype: Any = "int64") -> gym.spaces.MultiDiscrete:
    vector = np.asarray(nvec, dtype=np.int64)
    return gym.spaces.MultiDiscrete(vector, start=np.broadcast_to(np.asarray(start, dtype=np.int64), vector.shape))


def _dict_space(spaces: Any = None) -> gym.spaces.Dict:
    items = spaces.items() if isinstance(spaces, dict) else spaces
    return gym.spaces.Dict({str(key): _space(value) for key, value in items})


def _space(value: Any) -> gym.Space[Any]:
    if not isinstance(value, gym.Space):
        raise NotReadable(f"{value!r} is not a space")
    return value


_CALLS: dict[str, Callable[..., Any]] = {
    "Box": _box,
    "Discrete": lambda n, start=0: gym.spaces.Discrete(int(n), start=int(start)),
    "MultiDiscrete": _multi_discrete,
    "MultiBinary": lambda n: gym.spaces.MultiBinary(n if isinstance(n, int) else [int(size) for size in n]),
    "Dict": _dict_space,
    "OrderedDict": lambda items=(): dict(items),
    "Tuple": lambda *spaces: gym.spaces.Tuple(
        tuple(_space(space) for space in (spaces[0] if len(spaces) == 1 and isinstance(spaces[0], tuple) else spaces))
    ),
    "ConstantSchedule": lambda val: ConstantSchedule(float(val)),
    "LinearSchedule": lambda start, end, end_fraction: LinearSchedule(float(start), float(end), float(end_fraction)),
    "FloatSchedule": lambda value_schedule: FloatSchedule(value_schedule),
}


def _build_call(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    build = _CALLS.get(name)
    if build is None:
        raise NotReadable(f"'{name}(...)' is not a space or schedule rl_framework reads")
    try:
        return build(*args, **kwargs)
    except (TypeError, ValueError, AssertionError) as error:
        raise NotReadable(f"'{name}(...)' has unexpected arguments ({error})") from error
