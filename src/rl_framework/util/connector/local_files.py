"""The local registry's files: verifying a version folder, and the status of a staged run.

``verify_version`` is what ``LocalConnector.download`` trusts: every file recorded in a
version's ``metadata.json`` must lie inside the version folder and match its sha256, and no
unrecorded file may sit beside the agent file where a loader would pick it up. A staged run's
hidden ``.run.json`` records its owner process, so ``staged_runs`` can tell running,
interrupted (Ctrl-C) and abandoned (owner gone) runs apart.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from rl_framework.util.connector.bundle import METADATA_FILE, check_agent_file_name, sha256_of, visible_files
from rl_framework.util.files import atomic_write_text

#: Hidden status file of a staged run (owner process; "interrupted" after a Ctrl-C).
RUN_FILE = ".run.json"
RUN_NAME = re.compile(r"run-[A-Za-z0-9_]+")


def write_run_status(run: Path, **fields: Any) -> None:
    """Record this process as the owner of the staged ``run``, with ``fields`` (e.g. ``status``)."""
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "updated": time.time()}
    atomic_write_text(run / RUN_FILE, json.dumps({**owner, **fields}))


def run_status(run: Path) -> dict[str, Any]:
    """The status of a staged run from its ``.run.json``: running / interrupted / abandoned."""
    try:
        recorded = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    created = run.stat().st_mtime
    if recorded.get("status") == "interrupted":
        return {"status": "interrupted", "created": created, **{k: recorded.get(k) for k in ("timestep", "checkpoint")}}
    alive = recorded.get("host") == socket.gethostname() and process_alive(recorded.get("pid"))
    return {"status": "running" if alive else "abandoned", "created": created}


def process_alive(pid: Any) -> bool:
    """Whether a process with this id exists on this machine (``False`` for anything that is not a pid)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but belongs to someone else
    return True


def verify_version(folder: Path, fix: str) -> Path:
    """Check a version folder against its ``metadata.json``; return its agent file.

    Every file recorded in the metadata must be a plain path inside ``folder`` and match its
    sha256; files beside the agent file that share its stem (companions, read automatically when
    loading) must be recorded too.

    :param folder: the version folder.
    :param fix: what to do about a failed check, appended to the messages.
    :return: the agent file.
    :raises ValueError: naming the problem and ``fix``.
    """
    metadata_file = folder / METADATA_FILE
    if not metadata_file.is_file():
        raise ValueError(
            f"'{folder}' has no {METADATA_FILE}: the version is incomplete or was not written by LocalConnector. {fix}"
        )
    try:
        metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"'{metadata_file}' is corrupt (not JSON: {error}). {fix}") from None
    agent_name = metadata.get("agent_file") if isinstance(metadata, dict) else None
    if not isinstance(agent_name, str):
        raise ValueError(f"'{metadata_file}' names no agent file (no \"agent_file\" entry): it is corrupt. {fix}")
    try:
        check_agent_file_name(agent_name, reserved=(METADATA_FILE,))
    except ValueError:
        raise ValueError(
            f"'{metadata_file}' names the agent file {agent_name!r}, which is not a file inside the version folder: "
            f"the metadata was corrupted or tampered with, so nothing is returned. {fix}"
        ) from None
    files = metadata.get("files") or {agent_name: metadata.get("sha256")}
    other_files = metadata.get("other_files") or {}
    if not isinstance(files, dict) or not isinstance(other_files, dict) or agent_name not in files:
        raise ValueError(f"'{metadata_file}' does not record the sha256 of the agent file {agent_name!r}. {fix}")
    root = folder.resolve()
    for name, expected in {**other_files, **files}.items():
        path = (folder / str(name)).resolve()
        if (
            not isinstance(name, str)
            or Path(name).is_absolute()
            or ".." in Path(name).parts
            or not path.is_relative_to(root)
        ):
            raise ValueError(f"'{metadata_file}' records {name!r}, a path outside the version folder. {fix}")
        if not path.is_file():
            raise ValueError(f"The file '{folder / name}' recorded in '{metadata_file}' is missing. {fix}")
        actual = sha256_of(path)
        if actual != expected:
            raise ValueError(
                f"The file '{folder / name}' is corrupt or was modified: its sha256 is {actual}, metadata.json records "
                f"{expected}. {fix}"
            )
    stem = agent_name.rsplit(".", 1)[0]
    unrecorded = [name for name in visible_files(folder) if name.startswith(f"{stem}.") and name not in files]
    if unrecorded:
        raise ValueError(
            f"'{folder / unrecorded[0]}' lies beside the agent file but is not recorded in '{metadata_file}': it was "
            f"added after the upload and would be loaded with the agent. Remove it. {fix}"
        )
    return folder / agent_name
