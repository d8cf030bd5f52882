"""``LocalConnector``: a versioned agent registry in a plain folder; no account, no network.

Layout (``root`` defaults to ``~/.rl_framework/registry``, or ``$RL_FRAMEWORK_REGISTRY``)::

    <root>/<agent_name>/v<N>/agent.zip            the agent (companion files that an agent
                                                  writes, if any, lie beside it)
                            /metadata.json        algorithm, environment, library versions,
                                                  sha256 of the agent file, evaluation result
                            /replay.mp4           when a recording environment was given
                            /metrics.jsonl        values logged during training
                            /checkpoints/step_<T>.zip
    <root>/.staging/<run>/                        the run being logged, not yet uploaded

Values and checkpoints logged during ``train(..., connector=...)`` go to the run's staging folder;
the next ``upload`` adds the agent files to that folder and renames it to the next free
``v<N>``, so a version appears complete or not at all, and each version carries the metrics
and checkpoints of the training since the previous upload. ``metadata.json`` records the
sha256 of every file of the version; ``download`` verifies them all and never returns a file
outside the version folder.

A staged run carries a hidden ``.run.json`` (owner process, and after a Ctrl-C during training
``"status": "interrupted"`` with the final checkpoint). ``staged_runs()`` lists the runs with their
status (``running``, ``interrupted``, or ``abandoned`` when the owner process is gone);
``discard_staged_runs()`` deletes the ones no process works on.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rl_framework.util.checks import positive_int
from rl_framework.util.connector.base import (
    METRICS_FILE,
    Connector,
    append_histogram,
    append_metric,
    check_config_type,
    save_agent_checkpoint,
    truncate_metrics,
)
from rl_framework.util.connector.bundle import UploadOptions, bundle_agent
from rl_framework.util.connector.local_files import (
    RUN_FILE,
    RUN_NAME,
    run_status,
    verify_version,
    write_run_status,
)
from rl_framework.util.finite import check_finite_agent

if TYPE_CHECKING:
    from rl_framework.util.connector.base import ShareableAgent

REGISTRY_ENVIRONMENT_VARIABLE = "RL_FRAMEWORK_REGISTRY"
DEFAULT_REGISTRY = Path("~/.rl_framework/registry")
logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = "checkpoints"
STAGING_FOLDER = ".staging"
_AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_VERSION_FOLDER = re.compile(r"v([1-9][0-9]*)")


def check_agent_name(agent_name: Any) -> str:
    """Return ``agent_name`` if it can name a registry folder, else raise ``ValueError``.

    :param agent_name: letters, digits, ``.``, ``_`` and ``-``; starts with a letter or digit.
    :return: the name.
    """
    if not isinstance(agent_name, str) or not _AGENT_NAME.fullmatch(agent_name):
        raise ValueError(
            f"agent_name must be 1-128 letters, digits, '.', '_' or '-' starting with a letter or digit, got "
            f"{agent_name!r}. Example: 'ppo-cartpole'."
        )
    return agent_name


@dataclass(frozen=True, kw_only=True)
class LocalUploadConfig(UploadOptions):
    """Where an upload goes in the local registry, plus what it records (see ``UploadOptions``).

    :param agent_name: the registry entry; every upload adds its next version.
    """

    agent_name: str

    def __post_init__(self) -> None:
        super().__post_init__()
        check_agent_name(self.agent_name)


@dataclass(frozen=True)
class LocalDownloadConfig:
    """Which agent version to take from the local registry.

    :param agent_name: the registry entry.
    :param version: a version number (>= 1) or ``"latest"``.
    """

    agent_name: str
    version: int | Literal["latest"] = "latest"

    def __post_init__(self) -> None:
        check_agent_name(self.agent_name)
        if self.version != "latest":
            object.__setattr__(self, "version", positive_int(self.version, "version", "or 'latest'"))


class LocalConnector(Connector):
    """Upload agents to, and download them from, a versioned registry folder.

    :param upload_config: what ``upload`` stores (needed for uploads only).
    :param download_config: what ``download`` returns (needed for downloads only).
    :param registry_path: the registry folder; default ``$RL_FRAMEWORK_REGISTRY``, else
        ``~/.rl_framework/registry``.
    :param checkpoint_frequency: environment steps between checkpoints during training; 0 disables them.
    """

    def __init__(
        self,
        upload_config: LocalUploadConfig | None = None,
        download_config: LocalDownloadConfig | None = None,
        registry_path: str | os.PathLike[str] | None = None,
        checkpoint_frequency: int = 0,
    ) -> None:
        super().__init__(checkpoint_frequency)
        check_config_type(upload_config, LocalUploadConfig, "upload_config")
        check_config_type(download_config, LocalDownloadConfig, "download_config")
        self.upload_config = upload_config
        self.download_config = download_config
        if registry_path is None:
            registry_path = os.environ.get(REGISTRY_ENVIRONMENT_VARIABLE) or DEFAULT_REGISTRY
        self.root = Path(registry_path).expanduser()
        self._staging: Path | None = None

    # -- browsing -------------------------------------------------------------------------
    def list_agents(self) -> list[str]:
        """Names of the agents with at least one version, sorted."""
        if not self.root.is_dir():
            return []
        names = (entry.name for entry in self.root.iterdir() if entry.is_dir() and _AGENT_NAME.fullmatch(entry.name))
        return sorted(name for name in names if self.list_versions(name))

    def list_versions(self, agent_name: str) -> list[int]:
        """Version numbers of ``agent_name``, ascending (empty for an unknown name)."""
        folder = self.root / check_agent_name(agent_name)
        if not folder.is_dir():
            return []
        numbers = (_VERSION_FOLDER.fullmatch(entry.name) for entry in folder.iterdir() if entry.is_dir())
        return sorted(int(match.group(1)) for match in numbers if match)

    def version_path(self, agent_name: str, version: int | Literal["latest"] = "latest") -> Path:
        """The folder of one version; raise ``LookupError`` listing what exists if there is none.

        :param agent_name: the registry entry.
        :param version: a version number or ``"latest"``.
        :return: ``<root>/<agent_name>/v<N>``.
        """
        versions = self.list_versions(agent_name)
        if not versions:
            known = ", ".join(self.list_agents()) or "none yet"
            raise LookupError(
                f"No agent '{agent_name}' in the registry '{self.root}'. Agents there: {known}. "
                f"Upload one with LocalUploadConfig(agent_name='{agent_name}'), or pass registry_path=... "
                f"(or set ${REGISTRY_ENVIRONMENT_VARIABLE}) to use another registry."
            )
        number = versions[-1] if version == "latest" else version
        if number not in versions:
            raise LookupError(
                f"Agent '{agent_name}' has no version {version!r} in '{self.root}'. "
                f"Versions: {', '.join(map(str, versions))} (or 'latest')."
            )
        return self.root / agent_name / f"v{number}"

    # -- training hooks -------------------------------------------------------------------
    def log_value(self, name: str, value: float, timestep: int) -> None:
        """Append ``{"name", "value", "timestep", "time"}`` as one line to the run's ``metrics.jsonl``."""
        append_metric(self._run_folder() / METRICS_FILE, name, value, timestep)

    def log_histogram(self, name: str, values: Any, timestep: int) -> None:
        """Append the histogram of ``values`` (20 bins: counts and edges) as one line to ``metrics.jsonl``."""
        append_histogram(self._run_folder() / METRICS_FILE, name, values, timestep)

    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Save a resumable checkpoint of ``agent`` to the run's ``checkpoints/step_<timestep>.zip``."""
        save_agent_checkpoint(agent, self._run_folder() / CHECKPOINT_FOLDER / f"step_{timestep}.zip", self)

    def training_interrupted(self, agent: ShareableAgent, timestep: int) -> None:
        """After a Ctrl-C: save ``checkpoints/step_<timestep>.zip`` and mark the staged run ``interrupted``.

        The run stays in ``<registry>/.staging/`` for this connector: the next ``upload`` (after
        ``StableBaselinesAgent.resume(checkpoint, connector=connector)`` and more training, or
        right away) publishes it as the next version; ``discard_staged_runs()`` deletes it.
        """
        run = self._run_folder()
        checkpoint = run / CHECKPOINT_FOLDER / f"step_{timestep}.zip"
        try:
            save_agent_checkpoint(agent, checkpoint, self)
        except Exception as error:  # let the KeyboardInterrupt through; say what is missing
            logger.warning("Could not save a final checkpoint after the interrupt: %s", error)
            checkpoint = None  # type: ignore[assignment]
        write_run_status(run, status="interrupted", timestep=int(timestep), checkpoint=checkpoint and checkpoint.name)
        logger.warning(
            "Training was interrupted at step %d. The run is kept in '%s' (metrics.jsonl%s), marked interrupted. "
            "Continue it with StableBaselinesAgent.resume('%s', connector=connector) and upload, or delete it "
            "with connector.discard_staged_runs().",
            timestep,
            run,
            f", {CHECKPOINT_FOLDER}/{checkpoint.name}" if checkpoint else "",
            checkpoint or "<checkpoint>",
        )

    def run_state(self) -> dict[str, Any]:
        """The registry and staged run this connector logs to (recorded in checkpoints)."""
        return {"connector": type(self).__name__, "registry": str(self.root.resolve()), "run": self._run_folder().name}

    def resume_run(self, state: dict[str, Any], timestep: int) -> bool:
        """Continue the staged run of ``state`` if it is still staged in this registry.

        Values it logged after ``timestep`` are dropped, so the curves continue from the
        checkpoint. A run that was uploaded meanwhile (or another registry's) is not continued:
        a new run starts and the next upload holds what is logged from now on.

        :return: whether the staged run is continued.
        """
        run = self.root / STAGING_FOLDER / str(state.get("run", ""))
        same_registry = state.get("registry") == str(self.root.resolve())
        if not (same_registry and RUN_NAME.fullmatch(run.name) and run.is_dir()):
            return False
        truncate_metrics(run / METRICS_FILE, timestep)
        self._staging = run
        write_run_status(run, status="running")
        return True

    def staged_runs(self) -> list[dict[str, Any]]:
        """Runs waiting in ``<registry>/.staging/`` for an upload, with their status.

        :return: one dict per run: ``path``, ``status`` (``running``: its process is alive;
            ``interrupted``: stopped by Ctrl-C, with ``timestep`` and ``checkpoint``;
            ``abandoned``: its process is gone), ``created``.
        """
        folder = self.root / STAGING_FOLDER
        runs = []
        for run in sorted(folder.iterdir()) if folder.is_dir() else []:
            if run.is_dir() and RUN_NAME.fullmatch(run.name):
                runs.append({"path": run, **run_status(run)})
        return runs

    def discard_staged_runs(self, statuses: tuple[str, ...] = ("interrupted", "abandoned")) -> list[Path]:
        """Delete staged runs that no process works on (by default interrupted and abandoned ones).

        :param statuses: which statuses to delete; ``running`` runs of another live process are never deleted.
        :return: the deleted run folders.
        """
        deleted = []
        for run in self.staged_runs():
            if run["status"] in statuses and run["status"] != "running":
                shutil.rmtree(run["path"])
                deleted.append(run["path"])
                if self._staging == run["path"]:
                    self._staging = None
        return deleted

    def _run_folder(self) -> Path:
        """The staging folder of the current run, created on first use."""
        if self._staging is None or not self._staging.is_dir():
            parent = self.root / STAGING_FOLDER
            parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
            write_run_status(self._staging, status="running")
        return self._staging

    # -- sharing --------------------------------------------------------------------------
    def upload(
        self,
        agent: ShareableAgent,
        evaluation_environment: Any | None = None,
        video_recording_environment: Any | None = None,
        force: bool = False,
    ) -> str:
        """Store ``agent`` as a new version with metadata, evaluation, video, the run's metrics/checkpoints.

        :param agent: the agent to store.
        :param evaluation_environment: evaluate the agent on it and record the result in ``metadata.json``.
        :param video_recording_environment: record ``replay.mp4`` on it (``render_mode="rgb_array"``).
        :param force: store even an agent whose network holds NaN/inf values.
        :return: the new version folder.
        :raises NonFiniteError: for an agent with NaN/inf weights (unless ``force``), before any work.
        """
        if self.upload_config is None:
            raise ValueError(
                "This LocalConnector has no upload_config: create it with "
                "LocalConnector(upload_config=LocalUploadConfig(agent_name='my-agent'))."
            )
        check_finite_agent(agent, "upload", force)
        staging = self._run_folder()
        run_entries = {METRICS_FILE, CHECKPOINT_FOLDER, RUN_FILE}
        try:
            bundle_agent(agent, staging, self.upload_config, evaluation_environment, video_recording_environment, force)
            version_folder = self._publish(staging, self.upload_config.agent_name)
        except BaseException:
            # Keep the logged run for the next attempt; drop the half-made bundle (and an empty run).
            for entry in staging.iterdir():
                if entry.name in run_entries:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            if {entry.name for entry in staging.iterdir()} <= {RUN_FILE}:
                shutil.rmtree(staging)
                self._staging = None
            raise
        self._staging = None
        return str(version_folder)

    def _publish(self, staging: Path, agent_name: str) -> Path:
        """Rename ``staging`` to the next free ``v<N>``; retry if another writer took that number."""
        agent_folder = self.root / agent_name
        agent_folder.mkdir(parents=True, exist_ok=True)
        number = max(self.list_versions(agent_name), default=0) + 1
        status = (staging / RUN_FILE).read_bytes() if (staging / RUN_FILE).is_file() else None
        (staging / RUN_FILE).unlink(missing_ok=True)  # a staging marker, not part of the version
        while True:
            target = agent_folder / f"v{number}"
            try:
                # An existing version is never empty, so renaming onto it fails instead of replacing it.
                os.rename(staging, target)
                return target
            except OSError:
                if not target.exists():
                    if status is not None:
                        (staging / RUN_FILE).write_bytes(status)
                    raise
                number = max(self.list_versions(agent_name), default=number) + 1

    def download(self) -> Path:
        """Return the agent file of the configured version, after checking every file of the version.

        :return: the agent file inside the registry (companion files lie beside it).
        :raises LookupError: for an unknown agent name or version.
        :raises ValueError: if ``metadata.json`` is missing or unreadable, names a file outside the
            version, or a file does not match its recorded sha256 (corrupt, modified or added).
        """
        if self.download_config is None:
            raise ValueError(
                "This LocalConnector has no download_config: create it with "
                "LocalConnector(download_config=LocalDownloadConfig(agent_name='my-agent', version=1)) "
                "(version defaults to 'latest')."
            )
        folder = self.version_path(self.download_config.agent_name, self.download_config.version)
        versions = ", ".join(map(str, self.list_versions(self.download_config.agent_name)))
        return verify_version(folder, f"Upload the agent again or download another version (versions: {versions}).")
