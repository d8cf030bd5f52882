"""Pickle-free JSON for what agent files hold: numbers, arrays, gymnasium spaces, allowlisted classes.

``to_json`` turns a value into JSON-compatible data; ``from_json`` turns it back without running
anything the file chooses. Plain JSON values stay as they are; everything else becomes a dict
tagged with ``"$type"``:

=============  ==================================================================================
``$type``      holds
=============  ==================================================================================
``ndarray``    ``dtype`` (numbers and booleans only), ``shape``, base64 ``data``
``tensor``     the same, read back as a torch tensor
``scalar``     a numpy scalar: ``dtype`` and ``value``
``float``      ``"nan"``, ``"inf"`` or ``"-inf"`` (strict JSON has no such numbers)
``tuple``      ``items``
``dict``       ``items`` as ``[key, value]`` pairs (dicts with non-string keys)
``deque``      ``items`` and ``maxlen``
``dtype``      a numpy dtype string
``space``      a gymnasium space (``space_to_json``)
``class``      ``name``: an allowlisted ``"module:QualifiedName"`` (``util/safe_classes.py``)
``object``     ``class`` and ``fields``: one of the few objects in ``OBJECT_CODECS`` (schedules,
               ``TrainFreq``, action noise, running statistics), rebuilt from its fields
``unreadable`` ``type``: a value that has no safe form (a lambda, a custom object); not restored
=============  ==================================================================================
"""

from __future__ import annotations

import base64
import collections
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rl_framework.util.safe_classes import UnsafeContentError, class_reference, resolve_class

TAG = "$type"
#: numpy dtype kinds a file may hold: booleans, integers, floats, complex numbers (never objects).
ARRAY_KINDS = "biufc"


@dataclass(frozen=True)
class Unreadable:
    """A value stored without a safe form: ``from_json`` returns this marker instead of the value.

    :param type_name: the type of the value that was not stored.
    """

    type_name: str


@dataclass(frozen=True)
class ObjectCodec:
    """How one allowlisted object type is stored as fields and rebuilt from them.

    :param fields: the object's fields (values ``to_json`` can store).
    :param build: rebuild the object from its class and decoded fields.
    """

    fields: Callable[[Any], dict[str, Any]]
    build: Callable[[type, dict[str, Any]], Any]


def _running_mean_std(cls: type, fields: dict[str, Any]) -> Any:
    statistics = cls(shape=np.shape(fields["mean"]))
    statistics.mean, statistics.var, statistics.count = fields["mean"], fields["var"], float(fields["count"])
    return statistics


def _ornstein_uhlenbeck(cls: type, fields: dict[str, Any]) -> Any:
    noise = cls(**{key: value for key, value in fields.items() if key != "noise_prev"})
    noise.noise_prev = fields["noise_prev"]
    return noise


def _noise_dtype(noise: Any) -> str:
    return str(np.dtype(noise._dtype).str)


#: The objects a file may store by value; each is rebuilt only through its own constructor.
OBJECT_CODECS: dict[str, ObjectCodec] = {
    "stable_baselines3.common.utils:FloatSchedule": ObjectCodec(
        lambda schedule: {"value_schedule": schedule.value_schedule}, lambda cls, f: cls(f["value_schedule"])
    ),
    "stable_baselines3.common.utils:ConstantSchedule": ObjectCodec(
        lambda schedule: {"val": schedule.val}, lambda cls, f: cls(float(f["val"]))
    ),
    "stable_baselines3.common.utils:LinearSchedule": ObjectCodec(
        lambda schedule: {"start": schedule.start, "end": schedule.end, "end_fraction": schedule.end_fraction},
        lambda cls, f: cls(float(f["start"]), float(f["end"]), float(f["end_fraction"])),
    ),
    "stable_baselines3.common.type_aliases:TrainFreq": ObjectCodec(
        lambda frequency: {"frequency": frequency.frequency, "unit": frequency.unit},
        lambda cls, f: cls(int(f["frequency"]), f["unit"]),
    ),
    "stable_baselines3.common.type_aliases:TrainFrequencyUnit": ObjectCodec(
        lambda unit: {"value": unit.value}, lambda cls, f: cls(str(f["value"]))
    ),
    "stable_baselines3.common.noise:NormalActionNoise": ObjectCodec(
        lambda noise: {"mean": noise._mu, "sigma": noise._sigma, "dtype": _noise_dtype(noise)},
        lambda cls, f: cls(f["mean"], f["sigma"], dtype=np.dtype(f["dtype"]).type),
    ),
    "stable_baselines3.common.noise:OrnsteinUhlenbeckActionNoise": ObjectCodec(
        lambda noise: {
            "mean": noise._mu,
            "sigma": noise._sigma,
            "theta": noise._theta,
            "dt": noise._dt,
            "initial_noise": noise.initial_noise,
            "dtype": _noise_dtype(noise),
            "noise_prev": noise.noise_prev,
        },
        lambda cls, f: _ornstein_uhlenbeck(cls, {**f, "dtype": np.dtype(f["dtype"]).type}),
    ),
    "stable_baselines3.common.running_mean_std:RunningMeanStd": ObjectCodec(
        lambda statistics: {"mean": statistics.mean, "var": statistics.var, "count": statistics.count},
        _running_mean_std,
    ),
}


# -- arrays -----------------------------------------------------------------------------------
def safe_dtype(text: object) -> np.dtype[Any]:
    """The numpy dtype a file names, if it holds plain numbers or booleans.

    :raises UnsafeContentError: for object, structured or unknown dtypes.
    """
    try:
        dtype = np.dtype(text) if isinstance(text, str) and len(text) <= 16 else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafeContentError(f"The file names the array dtype {text!r}; only numbers and booleans are read.")
    return dtype


def array_to_json(array: np.ndarray, tag: str = "ndarray") -> dict[str, Any]:
    """``array`` (numbers or booleans) as tagged JSON with its raw bytes in base64."""
    array = np.asarray(array)
    safe_dtype(array.dtype.str)
    data = base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
    return {TAG: tag, "dtype": array.dtype.str, "shape": list(array.shape), "data": data}


def array_from_json(stored: dict[str, Any]) -> np.ndarray:
    """The array stored by ``array_to_json`` (a fresh, writable copy)."""
    dtype = safe_dtype(stored.get("dtype"))
    shape = stored.get("shape")
    if not isinstance(shape, list) or not all(isinstance(size, int) and size >= 0 for size in shape):
        raise ValueError(f"Stored array shape {shape!r} is not a list of sizes. The file is damaged.")
    raw = base64.b64decode(str(stored.get("data", "")), validate=True)
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"Stored array of shape {shape} and dtype {dtype} has {len(raw)} bytes. The file is damaged.")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


# -- spaces -----------------------------------------------------------------------------------
def space_to_json(space: gym.Space[Any]) -> dict[str, Any]:
    """A gymnasium ``Box``, ``Discrete``, ``MultiDiscrete``, ``MultiBinary``, ``Dict`` or ``Tuple`` as JSON.

    :raises TypeError: for other spaces (SB3 supports none of them).
    """
    if isinstance(space, gym.spaces.Box):
        return {
            TAG: "space",
            "space": "Box",
            "low": _compact(space.low),
            "high": _compact(space.high),
            "shape": list(space.shape),
            "dtype": space.dtype.str,  # type: ignore[union-attr]
        }
    if isinstance(space, gym.spaces.Discrete):
        return {TAG: "space", "space": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {
            TAG: "space",
            "space": "MultiDiscrete",
            "nvec": array_to_json(space.nvec),
            "start": array_to_json(getattr(space, "start", np.zeros_like(space.nvec))),
            "dtype": space.dtype.str,  # type: ignore[union-attr]
        }
    if isinstance(space, gym.spaces.MultiBinary):
        return {TAG: "space", "space": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, gym.spaces.Dict):
        return {TAG: "space", "space": "Dict", "spaces": [[key, space_to_json(sub)] for key, sub in space.items()]}
    if isinstance(space, gym.spaces.Tuple):
        return {TAG: "space", "space": "Tuple", "spaces": [space_to_json(sub) for sub in space.spaces]}
    raise TypeError(
        f"Cannot store the space {space} ({type(space).__name__}): agent files hold Box, Discrete, MultiDiscrete, "
        f"MultiBinary, Dict and Tuple spaces."
    )


def _compact(bound: np.ndarray) -> Any:
    """A bound that is one number everywhere stays one (readable) number."""
    flat = bound.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return to_json(flat[0].item())
    return array_to_json(bound)


def space_from_json(stored: dict[str, Any]) -> gym.Space[Any]:
    """The space stored by ``space_to_json``."""
    kind = stored.get("space")
    if kind == "Box":
        dtype = safe_dtype(stored.get("dtype"))
        shape = tuple(int(size) for size in stored["shape"])
        low, high = (np.broadcast_to(from_json(stored[bound]), shape).astype(dtype) for bound in ("low", "high"))
        return gym.spaces.Box(low=low, high=high, shape=shape, dtype=dtype)  # type: ignore[arg-type]
    if kind == "Discrete":
        return gym.spaces.Discrete(int(stored["n"]), start=int(stored.get("start", 0)))
    if kind == "MultiDiscrete":
        nvec, start = array_from_json(stored["nvec"]), array_from_json(stored["start"])
        dtype = safe_dtype(stored.get("dtype", "<i8"))
        return gym.spaces.MultiDiscrete(nvec, dtype=dtype.type, start=start)
    if kind == "MultiBinary":
        n = stored["n"]
        return gym.spaces.MultiBinary(int(n) if isinstance(n, int) else [int(size) for size in n])
    if kind == "Dict":
        return gym.spaces.Dict({str(key): space_from_json(sub) for key, sub in stored["spaces"]})
    if kind == "Tuple":
        return gym.spaces.Tuple(tuple(space_from_json(sub) for sub in stored["spaces"]))
    raise ValueError(f"Unknown stored space kind {kind!r}. The file is damaged or from a newer rl_framework.")


# -- values -----------------------------------------------------------------------------------
def to_json(value: Any) -> Any:
    """``value`` as JSON-compatible data (see the module docstring); one without a safe form becomes ``unreadable``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {TAG: "float", "value": str(value)}
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        return {TAG: "scalar", "dtype": value.dtype.str, "value": to_json(value.item())}
    if isinstance(value, np.ndarray) and value.dtype.kind in ARRAY_KINDS:
        return array_to_json(value)
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):  # named tuples go through OBJECT_CODECS
        return {TAG: "tuple", "items": [to_json(item) for item in value]}
    if isinstance(value, collections.deque):
        return {TAG: "deque", "maxlen": value.maxlen, "items": [to_json(item) for item in value]}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and TAG not in value:
            return {key: to_json(item) for key, item in value.items()}
        return {TAG: "dict", "items": [[to_json(key), to_json(item)] for key, item in value.items()]}
    if isinstance(value, np.dtype):
        return {TAG: "dtype", "value": value.str}
    if isinstance(value, gym.Space):
        return space_to_json(value)
    if isinstance(value, type):
        return {TAG: "class", "name": class_reference(value)}
    return _object_to_json(value)


def _object_to_json(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        try:
            return array_to_json(value.detach().cpu().numpy(), tag="tensor")
        except (TypeError, UnsafeContentError):  # e.g. bfloat16 has no numpy dtype
            return {TAG: "unreadable", "type": str(value.dtype)}
    reference = class_reference(type(value))
    codec = OBJECT_CODECS.get(reference)
    if codec is None:
        return {TAG: "unreadable", "type": reference}
    return {
        TAG: "object",
        "class": reference,
        "fields": {key: to_json(item) for key, item in codec.fields(value).items()},
    }


def is_unreadable(stored: Any) -> bool:
    """Whether ``to_json`` output holds an ``unreadable`` value anywhere (so it will not be fully restored)."""
    if isinstance(stored, list):
        return any(is_unreadable(item) for item in stored)
    if isinstance(stored, dict):
        return stored.get(TAG) == "unreadable" or any(is_unreadable(item) for item in stored.values())
    return False


def from_json(stored: Any, where: str = "the file") -> Any:
    """The value ``to_json`` stored; ``Unreadable`` for values stored without a safe form.

    Nothing named by the data is imported unless it is on the class allowlist, and nothing is unpickled.

    :param stored: JSON-compatible data.
    :param where: where the data comes from, for messages.
    :raises UnsafeContentError: for a class outside the allowlist or an unsafe array dtype.
    :raises ValueError: for damaged data.
    """
    if isinstance(stored, list):
        return [from_json(item, where) for item in stored]
    if not isinstance(stored, dict):
        return stored
    tag = stored.get(TAG)
    if tag is None:
        return {key: from_json(item, where) for key, item in stored.items()}
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None:
        raise ValueError(f"{where} holds a value tagged {tag!r}, which this rl_framework does not know.")
    try:
        return decoder(stored, where)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, UnsafeContentError):
            raise
        raise ValueError(f"{where} holds a damaged {tag!r} value ({error}).") from error


def _decode_scalar(stored: dict[str, Any], where: str) -> Any:
    return safe_dtype(stored["dtype"]).type(from_json(stored["value"], where))


def _decode_tensor(stored: dict[str, Any], where: str) -> Any:
    import torch

    return torch.from_numpy(array_from_json(stored))


def _decode_object(stored: dict[str, Any], where: str) -> Any:
    reference = stored["class"]
    codec = OBJECT_CODECS.get(reference) if isinstance(reference, str) else None
    if codec is None:
        raise UnsafeContentError(
            f"{where} stores an object of class {reference!r}, which is not one of the objects rl_framework "
            f"rebuilds from a file ({', '.join(sorted(OBJECT_CODECS))})."
        )
    fields = {key: from_json(item, where) for key, item in stored["fields"].items()}
    missing = [key for key, value in fields.items() if isinstance(value, Unreadable)]
    if missing:  # e.g. a FloatSchedule around a user's own function: the object cannot be rebuilt
        return Unreadable(f"{reference} ({', '.join(missing)} not stored)")
    try:
        return codec.build(_import_codec_class(reference), fields)
    except AssertionError as error:  # SB3 validates constructor arguments with assert
        raise ValueError(str(error)) from error


def _import_codec_class(reference: str) -> type:
    import importlib

    module_name, _, name = reference.partition(":")
    found: type = getattr(importlib.import_module(module_name), name)
    return found


_DECODERS: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "ndarray": lambda stored, where: array_from_json(stored),
    "tensor": _decode_tensor,
    "scalar": _decode_scalar,
    "float": lambda stored, where: float({"nan": "nan", "inf": "inf", "-inf": "-inf"}[stored["value"]]),
    "tuple": lambda stored, where: tuple(from_json(item, where) for item in stored["items"]),
    "dict": lambda stored, where: {from_json(key, where): from_json(item, where) for key, item in stored["items"]},
    "deque": lambda stored, where: collections.deque(from_json(stored["items"], where), maxlen=stored["maxlen"]),
    "dtype": lambda stored, where: safe_dtype(stored["value"]),
    "space": lambda stored, where: space_from_json(stored),
    "class": lambda stored, where: resolve_class(stored["name"], f"A class named in {where}"),
    "object": _decode_object,
    "unreadable": lambda stored, where: Unreadable(str(stored.get("type"))),
}
