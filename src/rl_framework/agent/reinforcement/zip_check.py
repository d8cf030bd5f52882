"""Checks of an SB3 agent zip before loading it, read without unpickling anything.

SB3's own loader reports a truncated file as a bare ``AssertionError`` or ``BadZipFile`` and
loads a PPO file into an A2C model without a word (both use ``ActorCriticPolicy``).
``check_agent_zip`` reads only the zip's directory and the top-level keys of its ``data`` JSON
(plus the module of ``policy_class``, stored there in plain text) and names the problem.

Which algorithm wrote a file: the policy class's module narrows it to the algorithms of the
name table using that policy (``stable_baselines3.dqn.policies`` -> DQN); among those sharing a
policy (PPO, A2C, TRPO) the one whose constructor parameters best match the stored attributes
wins (PPO stores ``clip_range`` and ``n_epochs``, A2C does not).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS
from rl_framework.util.checks import constructor_parameters


def check_agent_zip(path: Path, algorithm_class: type) -> None:
    """Raise ``ValueError`` if ``path`` is not a complete SB3 zip written by ``algorithm_class``.

    :param path: an existing file.
    :param algorithm_class: the algorithm the agent loads it into.
    :raises ValueError: for a file that is not a zip, a truncated or corrupt zip, a zip without
        SB3's ``data`` member, or one written by another algorithm of the name table.
    """
    data = read_data_keys(path)
    stored = guess_algorithm(data)
    if stored is None or stored == algorithm_class.__name__:
        return
    expected_entry = SB3_ALGORITHMS.get(algorithm_class.__name__)
    if expected_entry is None or expected_entry.load() is not algorithm_class:
        return  # a class outside the table: nothing to compare with
    stored_class = SB3_ALGORITHMS[stored].load()
    if issubclass(stored_class, algorithm_class) or issubclass(algorithm_class, stored_class):
        return  # e.g. DDPG is a TD3 with other defaults: SB3 loads one into the other correctly
    raise ValueError(
        f"'{path}' holds a {stored} model (read from its data: policy class and stored settings), not a "
        f"{algorithm_class.__name__} one. Load it with StableBaselinesAgent('{stored}') (or {stored}.load)."
    )


def read_data_keys(path: Path) -> dict[str, Any]:
    """The top-level entries of an SB3 zip's ``data`` JSON; serialized values stay unread strings.

    :raises ValueError: for a file that is not a zip, a truncated/corrupt one, or one without ``data``.
    """
    fix = "Save or download it again (an interrupted copy or download leaves such a file)."
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()  # reads every member: catches a cut-off or bit-flipped file
            if broken is not None:
                raise ValueError(f"'{path}' is corrupt: its member '{broken}' fails its checksum. {fix}")
            if "data" not in archive.namelist():
                # A cut-off agent file can still open as a zip: the weights inside are zips themselves.
                raise ValueError(
                    f"'{path}' is not a complete Stable-Baselines3 agent file (it has no 'data' member): it is "
                    f"truncated or corrupt, or another kind of zip. Check the path (files written by save_to_file, "
                    f"save_checkpoint or SB3's model.save load), or {fix[0].lower()}{fix[1:]}"
                )
            text = archive.read("data").decode("utf-8")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as error:
        raise ValueError(f"'{path}' is not a complete zip file ({error}): it is truncated or corrupt. {fix}") from None
    except UnicodeDecodeError:
        raise ValueError(f"'{path}' has an unreadable 'data' member (not UTF-8 JSON). {fix}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"'{path}' has a corrupt 'data' member ({error}). {fix}") from None
    if not isinstance(data, dict):
        raise ValueError(f"'{path}' has a 'data' member that is not an SB3 settings object. {fix}")
    return data


def guess_algorithm(data: dict[str, Any]) -> str | None:
    """The table name of the algorithm that wrote ``data`` (SB3's saved settings), or ``None`` if unknown.

    Only installed algorithms are considered; nothing from the file is imported or unpickled.
    """
    policy = data.get("policy_class")
    module = policy.get("__module__") if isinstance(policy, dict) else None
    if not isinstance(module, str):
        return None
    stored = set(data)
    best: tuple[int, str] | None = None
    for name, entry in SB3_ALGORITHMS.items():
        try:
            algorithm = entry.load()
        except ImportError:
            continue  # an extra that is not installed
        modules = {policy_class.__module__ for policy_class in getattr(algorithm, "policy_aliases", {}).values()}
        if module not in modules:
            continue
        parameters = constructor_parameters(algorithm) - {"policy", "env", "_init_setup_model"}
        score = len(stored & parameters) - len(parameters - stored)
        if best is None or score > best[0]:
            best = (score, name)
    return best[1] if best else None
