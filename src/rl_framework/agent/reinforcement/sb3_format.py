"""The ``StableBaselinesAgent`` file: SB3's own zip plus one JSON member, read without unpickling.

Layout::

    agent.zip                    written by SB3's ``model.save`` (plain ``PPO.load`` reads it)
    ├── data                     SB3's JSON; values JSON cannot hold are cloudpickled in it
    ├── policy.pth, ...          state dicts (tensors only: read with ``torch.load(weights_only=True)``)
    ├── pytorch_variables.pth
    ├── _stable_baselines3_version, system_info.txt
    └── rl_framework.json        added by rl_framework, ignored by SB3's loader (which reads only
                                 ``data`` and ``*.pth``): the algorithm's table name, every
                                 attribute of ``data`` in pickle-free JSON (spaces, allowlisted
                                 classes, schedules, counters), the ``VecNormalize`` statistics,
                                 and the library versions

Reading never unpickles: our own files are rebuilt from ``rl_framework.json``; a plain SB3 zip
(``PPO.save``) from the readable half of its ``data`` JSON (``sb3_readable.py``); the tensors come
from ``torch.load(weights_only=True)``. Only ``allow_pickle=True`` hands a plain zip to SB3's
own loader (which unpickles ``data``).
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import warnings
import zipfile
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file, recursive_setattr
from stable_baselines3.common.utils import ConstantSchedule

from rl_framework.agent.reinforcement.sb3_readable import REBUILT_KEYS, readable_data
from rl_framework.util.safe_classes import UnsafeContentError
from rl_framework.util.serialization import Unreadable, from_json, is_unreadable, to_json

logger = logging.getLogger(__name__)

MEMBER = "rl_framework.json"
FORMAT = "rl_framework.StableBaselinesAgent"
FORMAT_VERSION = 1
OPT_IN = "allow_pickle=True"
#: Attributes holding schedules: a callable without a safe form is stored as its current value.
SCHEDULE_KEYS = ("learning_rate", "lr_schedule", "clip_range", "clip_range_vf", "delta_std_schedule")
#: Attributes SB3 saves that a model gets only when it is set up (so a fresh instance lacks them).
_SETUP_ATTRIBUTES = REBUILT_KEYS | {"observation_space", "action_space", "n_envs", "n_params", "n_quantiles"}
_VERSIONED = ("rl_framework", "stable-baselines3", "sb3-contrib", "gymnasium", "torch", "numpy")


def sb3_zip_bytes(model: BaseAlgorithm, algorithm_name: str, normalizer: dict[str, Any] | None) -> bytes:
    """The agent file: ``model.save`` output plus the ``rl_framework.json`` member.

    :param model: the SB3 model.
    :param algorithm_name: its name in the algorithm table (or ``module:Class`` outside it).
    :param normalizer: the ``VecNormalize`` statistics as JSON, if the agent has them.
    :return: the zip's bytes.
    """
    buffer = io.BytesIO()
    model.save(buffer)
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": algorithm_name,
        "data": {key: to_json(value) for key, value in _saved_attributes(model).items()},
        "normalizer": normalizer,
        "library_versions": _library_versions(),
    }
    unreadable = sorted(key for key, value in header["data"].items() if is_unreadable(value))
    if unreadable:
        logger.info("Saved without a pickle-free form (restored only with allow_pickle=True): %s", unreadable)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, json.dumps(header, indent=1, allow_nan=False))
    return buffer.getvalue()


def _saved_attributes(model: BaseAlgorithm) -> dict[str, Any]:
    """What SB3's ``save`` puts into ``data`` (its own exclusion rules), schedules frozen where needed."""
    state_dicts, tensors = model._get_torch_save_params()
    excluded = set(model._excluded_save_params()) | {name.split(".")[0] for name in state_dicts + tensors}
    attributes = {key: value for key, value in vars(model).items() if key not in excluded}
    for key in SCHEDULE_KEYS:
        value = attributes.get(key)
        if callable(value) and is_unreadable(to_json(value)):
            # A user's own function cannot be stored without pickle: keep its value at this point of training.
            progress = min(max(float(model._current_progress_remaining), 0.0), 1.0)  # SB3 overshoots past 0
            attributes[key] = ConstantSchedule(float(value(progress)))
    return attributes


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions


def read_sb3_zip(
    path: Path,
    algorithm_class: type[BaseAlgorithm],
    algorithm_name: str,
    overrides: dict[str, Any],
    allow_pickle: bool = False,
) -> tuple[BaseAlgorithm, dict[str, Any] | None, bool]:
    """Rebuild the model in ``path``; without ``allow_pickle`` nothing is unpickled.

    :param path: the zip file.
    :param algorithm_class: the agent's algorithm.
    :param algorithm_name: its table name (compared with the name our files store).
    :param overrides: attributes to set on the loaded model (``algorithm_parameters``).
    :param allow_pickle: hand a plain SB3 zip to SB3's own loader, which unpickles its ``data``.
    :return: the model, the stored ``VecNormalize`` statistics (JSON, or ``None``), and whether
        the file is rl_framework's own (``False`` for a plain SB3 zip).
    :raises UnsafeContentError: when rebuilding needs unpickling (the message names the opt-in).
    :raises ValueError: for a damaged file or one saved from another algorithm.
    """
    where = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            header = json.loads(archive.read(MEMBER)) if MEMBER in names else None
            stored = json.loads(archive.read("data")) if "data" in names else None
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError, UnicodeDecodeError, EOFError) as error:
        raise ValueError(f"'{path}' is not an intact agent zip ({error}). It may be truncated or corrupt.") from error
    if header is not None:
        data, normalizer, skipped = _our_attributes(header, algorithm_name, where)
        if skipped and allow_pickle:  # the caller trusts the file: SB3's loader restores them from its pickles
            return _load_with_sb3(path, algorithm_class, overrides), normalizer, True
        if skipped:
            warnings.warn(
                f"'{where}' stores {', '.join(skipped)} only as SB3 pickles (e.g. a custom object): they start from "
                f"the algorithm's defaults. Pass {OPT_IN} to restore them with SB3's loader, only for a file you "
                f"trust.",
                stacklevel=3,
            )
        return _rebuild(path, algorithm_class, data, overrides), normalizer, True
    if not isinstance(stored, dict):
        raise ValueError(f"'{path}' has no SB3 'data' member: it is not a Stable-Baselines3 agent file.")
    if allow_pickle:
        return _load_with_sb3(path, algorithm_class, overrides), None, False
    data, skipped = readable_data(stored, where, OPT_IN)
    if skipped:
        warnings.warn(
            f"'{path}' is a plain SB3 zip that stores {', '.join(sorted(skipped))} only as pickles: they start from "
            f"{algorithm_class.__name__}'s defaults (only further training uses them). Pass {OPT_IN} to restore "
            f"them with SB3's loader, only for a file from a source you trust.",
            stacklevel=3,
        )
    return _rebuild(path, algorithm_class, data, overrides), None, False


def _load_with_sb3(path: Path, algorithm_class: type[BaseAlgorithm], overrides: dict[str, Any]) -> BaseAlgorithm:
    """SB3's own loader (unpickles ``data``): only for callers who opted in."""
    try:
        return algorithm_class.load(path, **overrides)
    except (ValueError, KeyError, TypeError, AttributeError, OSError, RuntimeError, AssertionError) as error:
        raise ValueError(
            f"Could not load a {algorithm_class.__name__} model from '{path}': {error}. Check that the file was saved "
            f"from a {algorithm_class.__name__} agent (pass algorithm_class to match) and is not corrupt."
        ) from error


def _our_attributes(
    header: Any, algorithm_name: str, where: str
) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """The decoded attributes, the normaliser statistics, and the attributes stored only as SB3 pickles."""
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(header.get("data"), dict):
        raise ValueError(f"'{where}' has a damaged {MEMBER}. Save the agent again.")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"'{where}' has rl_framework format version {header.get('format_version')!r}; this rl_framework reads "
            f"version {FORMAT_VERSION}. Use the rl_framework version that saved it."
        )
    if header.get("algorithm") != algorithm_name:
        raise ValueError(
            f"'{where}' holds a {header.get('algorithm')} agent but this agent is {algorithm_name}. Load it with "
            f"StableBaselinesAgent('{header.get('algorithm')}')."
        )
    decoded = {key: from_json(value, f"'{where}'") for key, value in header["data"].items()}
    data = {key: value for key, value in decoded.items() if not isinstance(value, Unreadable)}
    skipped = sorted(set(decoded) - set(data) - REBUILT_KEYS)
    normalizer = header.get("normalizer")
    return data, normalizer if isinstance(normalizer, dict) else None, skipped


def _rebuild(
    path: Path, algorithm_class: type[BaseAlgorithm], data: dict[str, Any], overrides: dict[str, Any]
) -> BaseAlgorithm:
    """SB3's ``load`` without ``data``'s pickles: the same steps on the decoded attributes."""
    for key in ("policy_class", "observation_space", "action_space"):
        if key not in data:
            raise ValueError(f"'{path}' does not store the model's {key}. The file is damaged.")
    policy_kwargs = dict(data.get("policy_kwargs") or {})
    policy_kwargs.pop("device", None)  # as SB3's load: the device is chosen here
    data["policy_kwargs"] = policy_kwargs
    tensors = _read_tensors(path)
    try:
        model = algorithm_class(policy=data["policy_class"], env=None, device="auto", _init_setup_model=False)  # type: ignore[call-arg]
    except (TypeError, ValueError, AssertionError) as error:
        raise ValueError(f"'{path}' names a policy {algorithm_class.__name__} cannot use ({error}).") from error
    # Only attributes the algorithm has may be set (a file must not plant others on the model).
    foreign = sorted(set(data) - set(vars(model)) - _SETUP_ATTRIBUTES)
    if "policy_kwargs" in overrides and overrides["policy_kwargs"] != policy_kwargs:
        raise ValueError(
            f"algorithm_parameters['policy_kwargs'] differs from the policy_kwargs stored in '{path}' "
            f"({policy_kwargs}); the stored network needs them. Leave policy_kwargs out when loading."
        )
    model.__dict__.update(data)
    model.__dict__.update(overrides)
    try:
        if foreign:
            raise ValueError(f"it stores attributes {algorithm_class.__name__} does not have ({', '.join(foreign)})")
        model._setup_model()
        params, variables = tensors
        model.set_parameters(params, exact_match=True, device=model.device)
        for name, value in (variables or {}).items():
            if value is not None:
                recursive_setattr(model, f"{name}.data", value.data)
    except (ValueError, KeyError, TypeError, AttributeError, RuntimeError, AssertionError) as error:
        raise ValueError(
            f"Could not load a {algorithm_class.__name__} model from '{path}': {error}. Check that the file was saved "
            f"from a {algorithm_class.__name__} agent (pass algorithm_class to match) and is not corrupt."
        ) from error
    if model.use_sde:
        model.policy.reset_noise()  # type: ignore[operator]
    return model


def _read_tensors(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The state dicts and torch variables of the zip, read by SB3 with ``torch.load(weights_only=True)``."""
    try:
        _, params, variables = load_from_zip_file(path, load_data=False, device="cpu")
    except pickle.UnpicklingError as error:
        raise UnsafeContentError(
            f"'{path}' has a .pth member that holds objects other than tensors, which only unpickling could read "
            f"(and unpickling runs whatever code the file's author put in it). rl_framework and SB3 read tensors "
            f"only; the file is not a genuine agent file."
        ) from error
    except (ValueError, RuntimeError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"'{path}' has damaged weights ({error}). It may be truncated or corrupt.") from error
    return params, variables
