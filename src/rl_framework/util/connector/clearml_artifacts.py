"""Reading a ClearML task's artifacts for a download: from an offline session or the server, each verified.

Every fetched file is compared with the sha256 ClearML recorded for its artifact, and the agent
artifact (with its companions) with the task's ``metadata`` artifact when that describes it.
An offline session's ``task.json`` is followed only to files inside the session folder.
"""

from __future__ import annotations

import functools
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from rl_framework.util.connector.bundle import sha256_of
from rl_framework.util.files import atomic_write_with

if TYPE_CHECKING:
    from rl_framework.util.connector.clearml import ClearMLDownloadConfig

METADATA_ARTIFACT = "metadata"
#: artifact name -> function returning the artifact's local file, its original file name (copies
#: in ClearML's download cache may carry another name) and the sha256 ClearML recorded for it.
ArtifactFiles = dict[str, Callable[[], tuple[Path, str, str | None]]]


def agent_sources(config: ClearMLDownloadConfig, scratch: Path) -> list[tuple[Path, str]]:
    """The agent artifact's file and its companions with their names, each verified.

    Every file is checked against the sha256 ClearML recorded for its artifact, and the agent
    artifact (with its companions) against the task's ``metadata`` when it describes that artifact.
    """
    artifacts = _artifact_files(config, scratch)
    if config.artifact_name not in artifacts:
        raise LookupError(
            f"The ClearML task has no artifact '{config.artifact_name}'. Its artifacts: "
            f"{', '.join(sorted(artifacts)) or 'none'}. Set ClearMLDownloadConfig(artifact_name=...)."
        )
    names = [config.artifact_name, *(name for name in artifacts if name.startswith(f"{config.artifact_name}."))]
    fetched = {name: _checked(name, *artifacts[name]()) for name in names}
    if METADATA_ARTIFACT in artifacts:
        metadata_file, _, recorded = artifacts[METADATA_ARTIFACT]()
        _checked(METADATA_ARTIFACT, metadata_file, METADATA_ARTIFACT, recorded)
        try:
            metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"The task's metadata artifact is corrupt ({error}). Upload the agent again.") from None
        _verify(config.artifact_name, fetched, metadata)
    return list(fetched.values())


def _checked(artifact: str, path: Path, name: str, recorded: str | None) -> tuple[Path, str]:
    """``(path, name)`` after comparing the file with the sha256 ClearML recorded for the artifact."""
    if recorded and path.is_file() and sha256_of(path) != recorded:
        raise ValueError(
            f"The file of the ClearML artifact '{artifact}' is corrupt or was modified: its sha256 differs from the "
            f"one ClearML recorded ({recorded}). Upload it again."
        )
    return path, name


def _artifact_files(config: ClearMLDownloadConfig, scratch: Path) -> ArtifactFiles:
    """The artifacts of the configured task, read from an offline session or fetched from the server.

    :param scratch: where a zipped offline session is extracted.
    """
    if config.offline_session is not None:
        return _offline_artifacts(_session_folder(Path(config.offline_session), scratch))
    assert config.task_id is not None
    if config.task_id.startswith("offline-"):
        from clearml.config import get_offline_dir

        return _offline_artifacts(get_offline_dir(task_id=config.task_id))
    from clearml import Task

    artifacts: dict[str, Any] = Task.get_task(task_id=config.task_id).artifacts
    return {name: functools.partial(_fetch_artifact, artifact) for name, artifact in artifacts.items()}


def _fetch_artifact(artifact: Any) -> tuple[Path, str, str | None]:
    """Download a server artifact into ClearML's cache; return the copy, its file name and recorded sha256."""
    return Path(artifact.get_local_copy(raise_on_error=True)), _url_name(artifact.url), artifact.hash or None


def _session_folder(session: Path, scratch: Path) -> Path:
    """``session`` itself, or ``scratch`` with the session ``.zip`` extracted into it."""
    if session.is_dir():
        return session
    if session.is_file() and zipfile.is_zipfile(session):
        with zipfile.ZipFile(session) as archive:
            archive.extractall(scratch)
        return scratch
    raise FileNotFoundError(
        f"No ClearML offline session at '{session}': pass the session folder or the .zip ClearML wrote "
        f"(printed as 'ClearML Task: Offline session stored in ...')."
    )


def _offline_artifacts(folder: Path) -> ArtifactFiles:
    """Artifacts listed in an offline session's ``task.json``, resolved inside ``folder`` only.

    A URI that does not lead to a file inside the session (an absolute path elsewhere, ``..``)
    is never followed: fetching that artifact raises ``ValueError``.
    """
    folder = Path(str(folder))  # clearml hands out pathlib2 paths, which lack is_relative_to
    task_file = folder / "task.json"
    if not task_file.is_file():
        raise FileNotFoundError(
            f"No ClearML offline session at '{folder}' (no task.json). Check the task id, or pass "
            f"offline_session=<session folder or .zip>."
        )
    try:
        exported = json.loads(task_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"'{task_file}' is corrupt (not JSON: {error}); the offline session is unusable.") from None
    # Artifact URIs are absolute paths inside the folder the session was recorded in.
    recorded_in = Path(exported.get("offline_folder", folder))
    inside = folder.resolve()
    files: ArtifactFiles = {}
    for artifact in exported.get("execution", {}).get("artifacts", []):
        path = Path(str(artifact.get("uri", "")))
        local = (folder / path.relative_to(recorded_in)).resolve() if path.is_relative_to(recorded_in) else None
        key = str(artifact.get("key"))
        if local is None or not local.is_relative_to(inside):
            files[key] = functools.partial(_outside_session, key, str(path), folder)
        else:
            files[key] = functools.partial(_same_file, local, artifact.get("hash"))
    return files


def _outside_session(key: str, uri: str, folder: Path) -> tuple[Path, str, str | None]:
    raise ValueError(
        f"The artifact '{key}' of the offline session '{folder}' points at '{uri}', outside the session folder: the "
        f"session's task.json is corrupt or was tampered with, so the file is not used. Export the session again."
    )


def _same_file(path: Path, recorded: str | None) -> tuple[Path, str, str | None]:
    return path, path.name, recorded


def _url_name(url: str) -> str:
    """The file name at the end of an artifact or model URL."""
    return Path(urlparse(url).path).name


def model_file(model_id: str) -> tuple[Path, str]:
    """A registered model's weights file (online only) and its original name."""
    from clearml import InputModel

    model = InputModel(model_id=model_id)
    return Path(model.get_local_copy(raise_on_error=True)), _url_name(model.url)


def copy_into(source: Path, name: str, destination: Path) -> Path:
    """Copy ``source`` into ``destination`` atomically as ``name``."""
    if not source.is_file():
        raise FileNotFoundError(f"The ClearML artifact file '{source}' is missing; the session may be incomplete.")
    return atomic_write_with(destination / name, lambda temporary: shutil.copyfile(source, temporary))


def _verify(artifact_name: str, fetched: dict[str, tuple[Path, str]], metadata: dict[str, Any]) -> None:
    """Compare the agent artifact and its companions with the sha256 values in the task's metadata.

    The metadata describes the artifact it names (``"artifact"``; older uploads: the one whose
    file name is ``"agent_file"``); other artifacts (checkpoints) are left to ClearML's own hashes.
    """
    agent_path, agent_name = fetched[artifact_name]
    described = metadata.get("artifact", artifact_name if metadata.get("agent_file") == agent_name else None)
    if described != artifact_name or "sha256" not in metadata:
        return
    stem = Path(str(metadata.get("agent_file", agent_name))).stem
    recorded = dict(metadata.get("files") or {})
    for name, (path, _) in fetched.items():
        file_name = str(metadata.get("agent_file")) if name == artifact_name else stem + name[len(artifact_name) :]
        expected = metadata["sha256"] if name == artifact_name else recorded.get(file_name)
        actual = sha256_of(path)
        if expected is None:
            raise ValueError(
                f"The ClearML artifact '{name}' is not recorded in the task's metadata: it was added after the upload "
                f"and would be loaded with the agent. Upload the agent again."
            )
        if actual != expected:
            raise ValueError(
                f"The agent file of the ClearML artifact '{name}' is corrupt or does not belong to the task's metadata "
                f"(an upload cut off halfway?): its sha256 is {actual}, the metadata records {expected}. Upload the "
                f"agent again."
            )
