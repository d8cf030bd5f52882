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

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.util.connector.base import Connector, check_config_type, histogram, save_agent_checkpoint
from rl_framework.util.connector.bundle import UploadOptions, bundle_agent, results_environment
from rl_framework.util.connector.clearml_artifacts import METADATA_ARTIFACT, agent_sources, copy_into, model_file
from rl_framework.util.finite import check_finite_agent

if TYPE_CHECKING:
    from clearml import Task

    from rl_framework.util.connector.base import ShareableAgent

#: Task.init settings for tasks the connector creates: no repository detection (it makes
#: ``task.close()`` wait up to 300 s) and no automatic model logging of every ``torch.save``.
TASK_FRAMEWORK_SETTINGS = {"detect_repository": False, "pytorch": False}

CONFIGURATION_HELP = (
    "Run `clearml-init` once (it writes ~/clearml.conf with your server and API keys), or set "
    "CLEARML_CONFIG_FILE, or CLEARML_API_HOST + CLEARML_API_ACCESS_KEY + CLEARML_API_SECRET_KEY; to work without "
    "a server call clearml.Task.set_offline(True) first."
)


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
    :param environment_name: a registered env id to evaluate on when ``upload`` gets no
        ``evaluation_environment`` (the task always shows evaluation results).
    """

    project_name: str = "rl_framework"
    task_name: str = "agent training"
    artifact_name: str = "agent"
    model_name: str | None = None
    environment_name: str | None = None

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
        self._continue_task_id: str | None = None

    def check_access(self) -> None:
        """Make sure ClearML can record: a running task, offline mode, or a configured server.

        Called by ``train(..., connector=...)`` before training, so a missing ``clearml.conf``
        is found before any work instead of at the first logged value.

        :raises PermissionError: when ClearML has no server configuration and no API credentials.
        """
        from clearml import Task

        if self._task is not None or Task.current_task() is not None or Task.is_offline():
            return
        from clearml.backend_api.session.defs import ENV_ACCESS_KEY, ENV_AUTH_TOKEN
        from clearml.config import ConfigWrapper

        if not (
            ENV_AUTH_TOKEN.get()
            or ENV_ACCESS_KEY.get()
            or ConfigWrapper._init().get("api.credentials.access_key", None)
        ):
            raise PermissionError(
                f"ClearML is not configured on this machine (no API credentials). {CONFIGURATION_HELP}"
            )

    # -- the task -------------------------------------------------------------------------
    @property
    def task(self) -> Task:
        """The ClearML task in use: the running one, or one created from the upload config."""
        if self._task is None:
            from clearml import Task

            running: Task | None = Task.current_task()
            if running is None:
                self.check_access()
                running = Task.init(
                    project_name=self.upload_config.project_name,
                    task_name=self.upload_config.task_name,
                    reuse_last_task_id=False,
                    auto_connect_frameworks=dict(TASK_FRAMEWORK_SETTINGS),
                    continue_last_task=self._continue_task_id or False,  # a resumed run's task, else a new one
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

    def log_histogram(self, name: str, values: Any, timestep: int) -> None:
        """Report a histogram plot (20 bins, labelled by bin centre): ``"step/actions"`` -> title ``step``."""
        result = histogram(values)
        if result is None:
            return
        counts, edges = result
        title, _, series = name.partition("/")
        centres = [f"{(low + high) / 2:.4g}" for low, high in zip(edges[:-1], edges[1:], strict=True)]
        self.task.get_logger().report_histogram(
            title, series or title, values=counts.tolist(), iteration=int(timestep), xlabels=centres, xaxis=name
        )

    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Upload a resumable checkpoint of ``agent`` as the artifact ``checkpoint_step_<timestep>``."""
        name = f"checkpoint_step_{timestep}"
        with tempfile.TemporaryDirectory(prefix="rl_framework-checkpoint-") as folder:
            files = save_agent_checkpoint(agent, Path(folder) / f"{name}.zip", self)
            _upload_agent_files(self.task, tuple(files), name)

    def run_state(self) -> dict[str, Any]:
        """The task this connector reports to (recorded in checkpoints)."""
        return {"connector": type(self).__name__, "task_id": str(self.task.id)}

    def resume_run(self, state: dict[str, Any], timestep: int) -> bool:
        """Report to ``state``'s task again (ClearML's ``continue_last_task``) if no task is in use yet.

        Scalars reported after ``timestep`` stay in the task (ClearML keeps its history); the
        resumed run reports from ``timestep`` on. Offline sessions cannot be continued.

        :return: whether the task is continued.
        """
        from clearml import Task

        task_id = state.get("task_id")
        if not isinstance(task_id, str) or self._task is not None or Task.is_offline():
            return False
        running: Task | None = Task.current_task()
        if running is not None:
            return str(running.id) == task_id
        self._continue_task_id = task_id
        return True

    # -- sharing --------------------------------------------------------------------------
    def upload(
        self,
        agent: ShareableAgent,
        evaluation_environment: Any | None = None,
        video_recording_environment: Any | None = None,
        force: bool = False,
    ) -> str:
        """Upload ``agent`` with its metadata, evaluation and replay video to the task.

        The agent file is always an artifact; when online it is also registered as an output
        model (ClearML's offline mode cannot hold output models).

        :param agent: the agent to upload.
        :param evaluation_environment: evaluate on it; the result goes into the metadata and the task's summary.
        :param video_recording_environment: record the replay video on it (``render_mode="rgb_array"``).
        :param force: upload even an agent whose network holds NaN/inf values.
        :return: the task id.
        :raises NonFiniteError: for an agent with NaN/inf weights (unless ``force``), before any work.
        """
        check_finite_agent(agent, "upload", force)
        from clearml import OutputModel, Task

        config, task = self.upload_config, self.task
        evaluation_environment = results_environment(
            evaluation_environment,
            config.environment_name,
            "A ClearML task",
            "set ClearMLUploadConfig(environment_name=...) to a registered env id",
        )
        with tempfile.TemporaryDirectory(prefix="rl_framework-clearml-") as folder:
            bundle = bundle_agent(
                agent, Path(folder), config, evaluation_environment, video_recording_environment, force
            )
            if bundle.metadata["algorithm_parameters"]:
                task.connect(bundle.metadata["algorithm_parameters"], name="algorithm_parameters")
            _upload_agent_files(task, bundle.agent_files, config.artifact_name)
            # Uploaded last and naming its artifact: a download verifies the agent artifact against it, so
            # an upload cut off halfway (new agent, old metadata) is detected instead of loaded.
            metadata = {**bundle.metadata, "artifact": config.artifact_name}
            task.upload_artifact(METADATA_ARTIFACT, artifact_object=metadata, wait_on_upload=True)
            logger = task.get_logger()
            for name, value in bundle.metadata.get("evaluation", {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):  # numbers only (no lists, flags)
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
                sources = [model_file(config.model_id)]
            else:
                sources = agent_sources(config, Path(scratch))
            # Created only now that every file is found and verified: a failed download leaves no empty folder.
            destination = Path(config.destination or tempfile.mkdtemp(prefix="rl_framework-clearml-"))
            try:
                copies = [copy_into(source, name, destination) for source, name in sources]
            except BaseException:
                if config.destination is None:
                    shutil.rmtree(destination, ignore_errors=True)
                raise
        return copies[0]


def _upload_agent_files(task: Task, agent_files: tuple[Path, ...], name: str) -> None:
    """Upload the agent file as artifact ``name`` and each companion ``<stem>.x`` as ``<name>.x``."""
    agent_file = agent_files[0]
    for path in agent_files:
        suffix = path.name[len(agent_file.stem) :] if path.name.startswith(agent_file.stem) else f".{path.name}"
        key = name if path == agent_file else name + suffix
        task.upload_artifact(key, artifact_object=str(path), wait_on_upload=True)
