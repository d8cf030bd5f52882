"""``ClearMLConnector``: log training to a ClearML task and share agents as its artifacts.

The connector uses the running ClearML task (``Task.current_task()``, e.g. one you created with
``Task.init``) or creates one from the upload config's project and task name. It reports every
logged value as a scalar, uploads checkpoints, the agent file, ``metadata.json`` (evaluation
included) and the replay video, and, when connected to a server, registers the agent as the
task's output model. ``clearml`` is imported only when the connector first talks to it.

Offline mode (``Task.set_offline(True)``) works without a server: everything lands in the
offline session folder, and the agent can be downloaded from it by its ``offline-...`` task id.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from rl_framework.util.connector.base import Connector, check_config_type
from rl_framework.util.connector.bundle import UploadOptions, bundle_agent, sha256_of
from rl_framework.util.files import atomic_write_with

if TYPE_CHECKING:
    from clearml import Task

    from rl_framework.util.connector.base import ShareableAgent

METADATA_ARTIFACT = "metadata"
#: Task.init settings for tasks the connector creates: no repository detection (it makes
#: ``task.close()`` wait up to 300 s) and no automatic model logging of every ``torch.save``.
TASK_FRAMEWORK_SETTINGS = {"detect_repository": False, "pytorch": False}

#: artifact name -> function returning the artifact's local file and its original file name
#: (copies in ClearML's download cache may carry another name).
ArtifactFiles = dict[str, Callable[[], tuple[Path, str]]]


def _require_text(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{owner}.{name} must be a non-empty string, got {value!r}.")


@dataclass(frozen=True, kw_only=True)
class ClearMLUploadConfig(UploadOptions):
    """Which task receives the logs and the agent, plus what an upload records (see ``UploadOptions``).

    :param project_name: ClearML project of a task the connector creates.
    :param task_name: name of a task the connector creates (ignored when a task is already running).
    :param artifact_name: artifact holding the agent file; companion files get ``<artifact_name>.<suffix>``.
    :param model_name: name of the output model registered when online (default: ``task_name``).
    """

    project_name: str = "rl_framework"
    task_name: str = "agent training"
    artifact_name: str = "agent"
    model_name: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("project_name", "task_name", "artifact_name"):
            _require_text("ClearMLUploadConfig", name, getattr(self, name))
        if self.model_name is not None:
            _require_text("ClearMLUploadConfig", "model_name", self.model_name)
        if self.artifact_name == METADATA_ARTIFACT:
            raise ValueError(f"artifact_name '{METADATA_ARTIFACT}' is taken by the metadata; choose another name.")


@dataclass(frozen=True)
class ClearMLDownloadConfig:
    """Which agent to download: give exactly one of ``task_id``, ``offline_session`` or ``model_id``.

    :param task_id: the task that uploaded the agent (an ``offline-...`` id is read from ClearML's
        local offline folder).
    :param artifact_name: the task's artifact holding the agent file (e.g. ``checkpoint_step_1000``).
    :param offline_session: an offline session folder or its ``.zip`` (as ClearML writes them).
    :param model_id: a registered model (online only).
    :param destination: folder that receives the files (default: a new temporary folder).
    """

    task_id: str | None = None
    artifact_name: str = "agent"
    offline_session: str | os.PathLike[str] | None = None
    model_id: str | None = None
    destination: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        sources = {"task_id": self.task_id, "offline_session": self.offline_session, "model_id": self.model_id}
        given = [name for name, value in sources.items() if value is not None]
        if len(given) != 1:
            raise ValueError(
                f"ClearMLDownloadConfig needs exactly one of task_id, offline_session or model_id, got "
                f"{given or 'none'}. Example: ClearMLDownloadConfig(task_id='<task id>')."
            )
        for name in ("task_id", "model_id"):
            if getattr(self, name) is not None:
                _require_text("ClearMLDownloadConfig", name, getattr(self, name))
        _require_text("ClearMLDownloadConfig", "artifact_name", self.artifact_name)


class ClearMLConnector(Connector):
    """Log training to, upload agents to and download agents from ClearML.

    Call ``close()`` (or use the connector as a context manager) to close a task the connector
    created; a task you started yourself is left open.

    :param upload_config: task names and what an upload records (default ``ClearMLUploadConfig()``).
    :param download_config: what ``download`` fetches (needed for downloads only).
    :param checkpoint_frequency: environment steps between checkpoints during training; 0 disables them.
    """

    def __init__(
        self,
        upload_config: ClearMLUploadConfig | None = None,
        download_config: ClearMLDownloadConfig | None = None,
        checkpoint_frequency: int = 0,
    ) -> None:
        super().__init__(checkpoint_frequency)
        check_config_type(upload_config, ClearMLUploadConfig, "upload_config")
        check_config_type(download_config, ClearMLDownloadConfig, "download_config")
        self.upload_config = upload_config or ClearMLUploadConfig()
        self.download_config = download_config
        self._task: Task | None = None
        self._owns_task = False
        self._last_timestep = 0

    # -- the task -------------------------------------------------------------------------
    @property
    def task(self) -> Task:
        """The ClearML task in use: the running one, or one created from the upload config."""
        if self._task is None:
            from clearml import Task

            running: Task | None = Task.current_task()
            if running is None:
                running = Task.init(
                    project_name=self.upload_config.project_name,
                    task_name=self.upload_config.task_name,
                    reuse_last_task_id=False,
                    auto_connect_frameworks=dict(TASK_FRAMEWORK_SETTINGS),
                )
                self._owns_task = True
            self._task = running
        return self._task

    def close(self) -> None:
        """Flush everything and close the task if this connector created it."""
        if self._task is None:
            return
        if self._owns_task:
            self._task.close()
        else:
            self._task.flush(wait_for_uploads=True)
        self._task, self._owns_task = None, False

    def __enter__(self) -> ClearMLConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- training hooks -------------------------------------------------------------------
    def log_value(self, name: str, value: float, timestep: int) -> None:
        """Report ``value`` as a scalar: ``"train/loss"`` becomes title ``train``, series ``loss``."""
        title, _, series = name.partition("/")
        self.task.get_logger().report_scalar(title, series or title, value=float(value), iteration=int(timestep))
        self._last_timestep = int(timestep)

    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Upload ``agent`` as the artifact ``checkpoint_step_<timestep>``."""
        name = f"checkpoint_step_{timestep}"
        with tempfile.TemporaryDirectory(prefix="rl_framework-checkpoint-") as folder:
            _upload_agent_files(self.task, tuple(agent.save_to_file(Path(folder) / f"{name}.zip")), name)

    # -- sharing --------------------------------------------------------------------------
    def upload(
        self,
        agent: ShareableAgent,
        evaluation_environment: Any | None = None,
        video_recording_environment: Any | None = None,
    ) -> str:
        """Upload ``agent`` with its metadata, evaluation and replay video to the task.

        The agent file is always an artifact; when online it is also registered as an output
        model (ClearML's offline mode cannot hold output models).

        :param agent: the agent to upload.
        :param evaluation_environment: evaluate on it; the result goes into the metadata and the task's summary.
        :param video_recording_environment: record the replay video on it (``render_mode="rgb_array"``).
        :return: the task id.
        """
        from clearml import OutputModel, Task

        config, task = self.upload_config, self.task
        with tempfile.TemporaryDirectory(prefix="rl_framework-clearml-") as folder:
            bundle = bundle_agent(agent, Path(folder), config, evaluation_environment, video_recording_environment)
            if bundle.metadata["algorithm_parameters"]:
                task.connect(bundle.metadata["algorithm_parameters"], name="algorithm_parameters")
            _upload_agent_files(task, bundle.agent_files, config.artifact_name)
            task.upload_artifact(METADATA_ARTIFACT, artifact_object=bundle.metadata, wait_on_upload=True)
            logger = task.get_logger()
            for name, value in bundle.metadata.get("evaluation", {}).items():
                if name != "is_deterministic":
                    logger.report_single_value(name, float(value))
            if bundle.video_file is not None:
                logger.report_media("replay", "video", iteration=self._last_timestep, local_path=str(bundle.video_file))
            if not Task.is_offline():
                model = OutputModel(task=task, name=config.model_name or config.task_name)
                model.update_weights(
                    weights_filename=str(bundle.agent_file), auto_delete_file=False, async_enable=False
                )
            task.flush(wait_for_uploads=True)  # the bundle folder disappears after this block
        return str(task.id)

    def download(self) -> Path:
        """Download the configured agent file (and its companion files) into the destination folder.

        :return: the local agent file.
        :raises LookupError: if the task has no such artifact (the message lists the artifacts).
        :raises ValueError: if the file does not match the sha256 in the task's metadata.
        """
        config = self.download_config
        if config is None:
            raise ValueError(
                "This ClearMLConnector has no download_config: create it with "
                "ClearMLConnector(download_config=ClearMLDownloadConfig(task_id='<task id>'))."
            )
        with tempfile.TemporaryDirectory(prefix="rl_framework-clearml-") as scratch:
            if config.model_id is not None:
                sources = [_model_file(config.model_id)]
            else:
                sources = _agent_sources(config, Path(scratch))
            destination = Path(config.destination or tempfile.mkdtemp(prefix="rl_framework-clearml-"))
            copies = [_copy_into(source, name, destination) for source, name in sources]
        return copies[0]


def _upload_agent_files(task: Task, agent_files: tuple[Path, ...], name: str) -> None:
    """Upload the agent file as artifact ``name`` and each companion ``<stem>.x`` as ``<name>.x``."""
    agent_file = agent_files[0]
    for path in agent_files:
        suffix = path.name[len(agent_file.stem) :] if path.name.startswith(agent_file.stem) else f".{path.name}"
        key = name if path == agent_file else name + suffix
        task.upload_artifact(key, artifact_object=str(path), wait_on_upload=True)


def _agent_sources(config: ClearMLDownloadConfig, scratch: Path) -> list[tuple[Path, str]]:
    """The agent artifact's file (checked against the task's metadata) and its companions, with their names."""
    artifacts = _artifact_files(config, scratch)
    if config.artifact_name not in artifacts:
        raise LookupError(
            f"The ClearML task has no artifact '{config.artifact_name}'. Its artifacts: "
            f"{', '.join(sorted(artifacts)) or 'none'}. Set ClearMLDownloadConfig(artifact_name=...)."
        )
    agent = artifacts[config.artifact_name]()
    if METADATA_ARTIFACT in artifacts:
        metadata_file, _ = artifacts[METADATA_ARTIFACT]()
        _verify(*agent, json.loads(metadata_file.read_text(encoding="utf-8")))
    companions = [fetch() for name, fetch in artifacts.items() if name.startswith(f"{config.artifact_name}.")]
    return [agent, *companions]


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


def _fetch_artifact(artifact: Any) -> tuple[Path, str]:
    """Download a server artifact into ClearML's cache; return the copy and the artifact's file name."""
    return Path(artifact.get_local_copy(raise_on_error=True)), _url_name(artifact.url)


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
    """Artifacts listed in an offline session's ``task.json``, resolved inside ``folder``."""
    task_file = folder / "task.json"
    if not task_file.is_file():
        raise FileNotFoundError(
            f"No ClearML offline session at '{folder}' (no task.json). Check the task id, or pass "
            f"offline_session=<session folder or .zip>."
        )
    exported = json.loads(task_file.read_text(encoding="utf-8"))
    # Artifact URIs are absolute paths inside the folder the session was recorded in.
    recorded_in = Path(exported.get("offline_folder", folder))
    files: ArtifactFiles = {}
    for artifact in exported.get("execution", {}).get("artifacts", []):
        path = Path(artifact["uri"])
        local = folder / path.relative_to(recorded_in) if path.is_relative_to(recorded_in) else path
        files[artifact["key"]] = functools.partial(_same_file, local)
    return files


def _same_file(path: Path) -> tuple[Path, str]:
    return path, path.name


def _url_name(url: str) -> str:
    """The file name at the end of an artifact or model URL."""
    return Path(urlparse(url).path).name


def _model_file(model_id: str) -> tuple[Path, str]:
    """A registered model's weights file (online only) and its original name."""
    from clearml import InputModel

    model = InputModel(model_id=model_id)
    return Path(model.get_local_copy(raise_on_error=True)), _url_name(model.url)


def _copy_into(source: Path, name: str, destination: Path) -> Path:
    """Copy ``source`` into ``destination`` atomically as ``name``."""
    if not source.is_file():
        raise FileNotFoundError(f"The ClearML artifact file '{source}' is missing; the session may be incomplete.")
    return atomic_write_with(destination / name, lambda temporary: shutil.copyfile(source, temporary))


def _verify(agent_file: Path, name: str, metadata: dict[str, Any]) -> None:
    """Compare ``agent_file`` (originally called ``name``) with the sha256 in the metadata uploaded with it."""
    if metadata.get("agent_file") != name or "sha256" not in metadata:
        return  # e.g. a checkpoint: the metadata describes another file
    actual = sha256_of(agent_file)
    if actual != metadata["sha256"]:
        raise ValueError(
            f"The agent file '{name}' of the ClearML task is corrupt: its sha256 is {actual}, the task's metadata "
            f"records {metadata['sha256']}. Upload the agent again."
        )
