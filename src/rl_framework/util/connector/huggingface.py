"""``HuggingFaceConnector``: share agents on the HuggingFace Hub.

An upload checks the token first (``whoami``), creates the repository if needed, bundles the
agent (evaluation, replay video), adds the Hub layout of the HF RL ecosystem (``config.json``,
``results.json``, model card) plus logged metrics and checkpoints, and pushes everything in one
commit. Network errors are retried with exponential backoff. ``huggingface_hub`` is imported only
when the connector talks to the Hub; its endpoint comes from ``HF_ENDPOINT`` as usual.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from rl_framework.util.checks import non_negative_int
from rl_framework.util.connector.base import (
    METRICS_FILE,
    Connector,
    append_histogram,
    append_metric,
    check_config_type,
    save_agent_checkpoint,
    truncate_metrics,
)
from rl_framework.util.connector.bundle import AgentBundle, bundle_agent, results_environment
from rl_framework.util.connector.huggingface_access import is_transient, status_code, write_access_problem
from rl_framework.util.connector.huggingface_card import RESULTS_FILE, fetch_model_card, write_hub_files
from rl_framework.util.connector.huggingface_config import HuggingFaceDownloadConfig, HuggingFaceUploadConfig
from rl_framework.util.finite import check_finite_agent
from rl_framework.util.hub_weights import DESCRIPTION_MEMBERS, WEIGHTS_FILE, export_hub_files, is_self_contained

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from rl_framework.util.connector.base import ShareableAgent

__all__ = ["HuggingFaceConnector", "HuggingFaceDownloadConfig", "HuggingFaceUploadConfig"]

logger = logging.getLogger(__name__)
Result = TypeVar("Result")

CHECKPOINT_FOLDER = "checkpoints"
#: The pickled ``VecNormalize`` statistics earlier versions uploaded for the RL Zoo. The agent zip now
#: holds them as JSON, so none is uploaded and a stale one is deleted by the next upload.
ZOO_NORMALIZER_FILE = "vec_normalize.pkl"
#: Files an upload owns: removed from the repository when a new upload does not produce them.
MANAGED_FILES = (
    RESULTS_FILE,
    "replay.mp4",
    ZOO_NORMALIZER_FILE,
    "learning_curve.png",
    "experiment.yaml",
    WEIGHTS_FILE,
    *DESCRIPTION_MEMBERS,
)
TOKEN_HELP = (
    "Pass token=..., set the HF_TOKEN environment variable, or log in once with `hf auth login`. "
    "Create a token with write access at https://huggingface.co/settings/tokens."
)


class HuggingFaceConnector(Connector):
    """Upload agents to and download agents from the HuggingFace Hub.

    The token comes from ``token``, else from ``HF_TOKEN`` or the stored ``hf auth login``
    (``huggingface_hub.get_token``). It is never printed, logged or shown in ``repr``.

    :param upload_config: where and how ``upload`` publishes (needed for ``upload``).
    :param download_config: what ``download`` fetches (needed for ``download``).
    :param token: a HuggingFace access token; ``None`` uses the standard HF mechanisms.
    :param checkpoint_frequency: environment steps between checkpoints during training (0: none).
    :param local_directory: where logged metrics, checkpoints and upload staging live
        (default: a new temporary folder, created on first use).
    :param max_retries: retries of a failing Hub request (network errors, 429 and 5xx answers).
    :param retry_wait: seconds before the first retry; doubled for every further one.
    """

    def __init__(
        self,
        upload_config: HuggingFaceUploadConfig | None = None,
        download_config: HuggingFaceDownloadConfig | None = None,
        token: str | None = None,
        checkpoint_frequency: int = 0,
        local_directory: str | os.PathLike[str] | None = None,
        max_retries: int = 3,
        retry_wait: float = 1.0,
    ) -> None:
        super().__init__(checkpoint_frequency)
        check_config_type(upload_config, HuggingFaceUploadConfig, "upload_config")
        check_config_type(download_config, HuggingFaceDownloadConfig, "download_config")
        if token is not None and (not isinstance(token, str) or not token.strip() or token != token.strip()):
            # Never echo the value: it may be a real secret with a stray character.
            raise ValueError(f"token must be a non-empty string without surrounding spaces or None. {TOKEN_HELP}")
        max_retries = non_negative_int(max_retries, "max_retries")
        if not isinstance(retry_wait, (int, float)) or retry_wait < 0:
            raise ValueError(f"retry_wait must be a number of seconds >= 0, got {retry_wait!r}.")
        self.upload_config = upload_config
        self.download_config = download_config
        self.max_retries = max_retries
        self.retry_wait = float(retry_wait)
        self._token = token
        self._local_directory = Path(local_directory) if local_directory is not None else None

    def __repr__(self) -> str:
        token = "'***'" if self._token is not None else "None"
        return (
            f"{type(self).__name__}(upload_config={self.upload_config!r}, download_config={self.download_config!r}, "
            f"token={token}, checkpoint_frequency={self.checkpoint_frequency})"
        )

    @property
    def local_directory(self) -> Path:
        """The folder holding logged metrics, checkpoints and upload staging (created on first use)."""
        if self._local_directory is None:
            self._local_directory = Path(tempfile.mkdtemp(prefix="rl_framework-huggingface-"))
        self._local_directory.mkdir(parents=True, exist_ok=True)
        return self._local_directory

    # -- authentication -------------------------------------------------------------------
    def check_access(self) -> None:
        """Make sure a token with write access is available and accepted by the Hub (when uploading).

        Called by ``train(..., connector=...)`` before training and by ``upload`` before any
        evaluation or recording, so a token problem never costs work. A connector without an
        upload config has nothing to check.

        The token must be able to write ``upload_config.repository_id``: its namespace must be the
        token user's or an organisation where the user may write, and a fine-grained token needs
        ``repo.write`` for the repository or its namespace (read from the Hub's ``whoami``).

        :raises PermissionError: when no token is found, or the Hub rejects it, it is read-only, or
            it cannot write the repository.
        """
        if self.upload_config is not None:
            identity = self._identity()
            problem = write_access_problem(identity, self.upload_config.repository_id)
            if problem is not None:
                raise PermissionError(
                    f"The HuggingFace token from {self._token_and_source()[1]} may not create or write "
                    f"'{self.upload_config.repository_id}': {problem}. Upload to your own namespace "
                    f"('{identity.get('name')}/...') or an organisation you can write to, or use a token with write "
                    f"access to that repository."
                )

    def authenticated_user(self) -> str:
        """The Hub user name the token belongs to, checking the token has write access.

        :raises PermissionError: when no token is found, or the Hub rejects it or it is read-only.
        """
        return str(self._identity().get("name"))

    def _identity(self) -> dict[str, Any]:
        """The Hub's ``whoami`` answer for the token, refusing missing, rejected and read-only tokens."""
        token, source = self._token_and_source()
        if token is None:
            raise PermissionError(f"No HuggingFace token found for uploading. {TOKEN_HELP}")
        try:
            identity = self._retrying(lambda: self._api(token).whoami(), "check the HuggingFace token")
        except Exception as error:
            if status_code(error) == 401:
                raise PermissionError(f"The HuggingFace Hub rejected the token from {source}. {TOKEN_HELP}") from None
            raise
        role = identity.get("auth", {}).get("accessToken", {}).get("role")
        if role == "read":
            raise PermissionError(f"The HuggingFace token from {source} is read-only. {TOKEN_HELP}")
        return dict(identity)

    def _token_and_source(self) -> tuple[str | None, str]:
        if self._token is not None:
            return self._token, "the token argument"
        from huggingface_hub import get_token

        source = "the HF_TOKEN environment variable" if os.environ.get("HF_TOKEN") else "the stored login"
        return get_token(), source

    def _api(self, token: str | None) -> HfApi:
        from huggingface_hub import HfApi

        return HfApi(token=token)

    # -- upload ---------------------------------------------------------------------------
    def upload(
        self,
        agent: ShareableAgent,
        evaluation_environment: Any | None = None,
        video_recording_environment: Any | None = None,
        force: bool = False,
    ) -> str:
        """Publish ``agent`` to ``upload_config.repository_id`` in one commit.

        The repository gets ``<model_name>.zip`` (+ the agent's companion files, if any), for
        rl_framework agents ``model.safetensors`` (the policy's weights) and the agent's JSON
        description (``rl_framework.json``), ``config.json``, ``metadata.json``, a ``README.md``
        model card, ``results.json`` (with an evaluation environment),
        ``replay.mp4`` (with a video recording environment), ``logs/metrics.jsonl`` and
        ``checkpoints/`` (when logged and asked for).

        :param agent: the agent to publish.
        :param evaluation_environment: evaluate the agent on it (``upload_config.n_eval_episodes`` episodes).
        :param video_recording_environment: record ``replay.mp4`` on it (``render_mode="rgb_array"``).
        :param force: publish even an agent whose network holds NaN/inf values.
        :return: the repository's URL.
        :raises NonFiniteError: for an agent with NaN/inf weights (unless ``force``), before any work.
        :raises PermissionError: for a missing, rejected or read-only token, or one that cannot
            write the repository (before any work).
        :raises ConnectionError: when the Hub stays unreachable after the retries; the prepared
            files are kept and the message names their folder (any other failure removes them).
        """
        config = _required(self.upload_config, "upload_config", "HuggingFaceUploadConfig(...)")
        check_finite_agent(agent, "upload", force)
        evaluation_environment = results_environment(
            evaluation_environment, config.environment_name, "The Hub's model card", "set environment_name to its id"
        )
        self.check_access()
        api = self._api(self._token_and_source()[0])
        repository_url = self._create_repository(api, config)
        # Staging goes into local_directory only when one was given: no implicit temporary folder is left over.
        parent = self.local_directory if self._local_directory is not None else None
        staging = Path(tempfile.mkdtemp(prefix="rl_framework-huggingface-upload-", dir=parent))
        try:
            logged = self._local_directory / METRICS_FILE if self._local_directory is not None else None
            bundle = bundle_agent(
                agent,
                staging,
                config.upload_options(),
                evaluation_environment,
                video_recording_environment,
                force,
                metrics_file=logged,  # draws learning_curve.png from the training's metrics
            )
            card = self._retrying(
                lambda: fetch_model_card(api, config.repository_id), "read the current model card", kept_folder=staging
            )
            write_hub_files(bundle, config, type(agent), existing_card=card)  # keeps the user's edits
            uploads = self._files_to_upload(bundle, config)
            remote_files = self._retrying(
                lambda: {sibling.rfilename for sibling in api.model_info(config.repository_id).siblings or []},
                f"list the files of '{config.repository_id}'",
                kept_folder=staging,
            )
            operations = _commit_operations(uploads, _stale_files(remote_files, set(uploads), config))
            commit = self._commit(api, config, operations, staging)
        except BaseException as error:
            # Only a ConnectionError that names the folder keeps it (the files wait there for a retry).
            if not (isinstance(error, ConnectionError) and str(staging) in str(error)):
                shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(staging, ignore_errors=True)
        logger.info("Uploaded %d files to %s (commit %s).", len(uploads), repository_url, commit.oid)
        return str(repository_url)

    def _commit(self, api: HfApi, config: HuggingFaceUploadConfig, operations: list[Any], staging: Path) -> Any:
        """Push ``operations`` in one commit; a 403 that ``check_access`` could not foresee is a PermissionError."""
        try:
            return self._retrying(
                lambda: api.create_commit(config.repository_id, operations, commit_message=config.commit_message),
                f"push the agent to '{config.repository_id}'",
                kept_folder=staging,
            )
        except Exception as error:
            if status_code(error) == 403:
                raise PermissionError(
                    f"The HuggingFace Hub refused to write '{config.repository_id}' with the token from "
                    f"{self._token_and_source()[1]}: it has no write access to that repository. Use a token with "
                    f"write access to it (or repo.write for a fine-grained token), or upload to your own namespace."
                ) from None
            raise

    def _create_repository(self, api: HfApi, config: HuggingFaceUploadConfig) -> str:
        """Create the repository if it does not exist yet; return its URL."""
        try:
            return self._retrying(
                lambda: api.create_repo(config.repository_id, private=config.private, exist_ok=True),
                f"create the repository '{config.repository_id}'",
            )
        except Exception as error:
            if status_code(error) == 403:
                owner = config.repository_id.split("/")[0]
                raise PermissionError(
                    f"The token may not create or write '{config.repository_id}': use your user name or an "
                    f"organisation you can write to as owner (not '{owner}'), or a token with write access to it."
                ) from None
            raise

    def _files_to_upload(self, bundle: AgentBundle, config: HuggingFaceUploadConfig) -> dict[str, Path]:
        export_hub_files(bundle.agent_file, bundle.folder)  # model.safetensors + the JSON description
        uploads = {path.name: path for path in _visible_files(bundle.folder)}
        run_folder = self._local_directory or bundle.folder  # no run was logged without a local directory
        metrics = run_folder / METRICS_FILE
        if config.upload_metrics and metrics.is_file():
            uploads[f"logs/{METRICS_FILE}"] = metrics
        checkpoints = run_folder / CHECKPOINT_FOLDER
        if config.upload_checkpoints and checkpoints.is_dir():
            uploads.update({f"{CHECKPOINT_FOLDER}/{path.name}": path for path in _visible_files(checkpoints)})
        return uploads

    # -- download -------------------------------------------------------------------------
    def download(self) -> Path:
        """Download ``download_config.file_name`` (and its companion files) at ``download_config.version``.

        Files land in the HuggingFace cache (``HF_HOME``), all from the same commit. An rl_framework
        agent zip holds everything it needs, so nothing else is fetched for it; companion files
        (``<stem>.*``) are fetched only beside other files, such as a zip of an earlier rl_framework
        whose pickled ``<stem>.vecnormalize.pkl`` the agent then reads only with ``allow_pickle=True``
        (fetching stores bytes; nothing here unpickles).

        :return: the local path of the agent file.
        :raises FileNotFoundError: when the repository, version or file does not exist.
        :raises ConnectionError: when the Hub stays unreachable after the retries.
        """
        from huggingface_hub import hf_hub_download
        from huggingface_hub.utils import RepositoryNotFoundError, RevisionNotFoundError

        config = _required(self.download_config, "download_config", "HuggingFaceDownloadConfig(...)")
        token, source = self._token_and_source()
        where = f"'{config.repository_id}' at version '{config.version}'"
        try:
            info = self._retrying(
                lambda: self._api(token).model_info(config.repository_id, revision=config.version),
                f"look up {where}",
            )
        except RepositoryNotFoundError:
            raise FileNotFoundError(
                f"The repository '{config.repository_id}' was not found on the Hub (or it is private and the token "
                f"has no access). Check repository_id; for a private repository, log in or pass token=..."
            ) from None
        except RevisionNotFoundError:
            raise FileNotFoundError(
                f"The version '{config.version}' does not exist in '{config.repository_id}'. Use an existing "
                f"branch (e.g. 'main'), tag, or full commit sha."
            ) from None
        except Exception as error:
            if status_code(error) == 401:
                raise PermissionError(f"The HuggingFace Hub rejected the token from {source}. {TOKEN_HELP}") from None
            raise
        remote_files = sorted(sibling.rfilename for sibling in info.siblings or [])
        if config.file_name not in remote_files:
            candidates = [name for name in remote_files if name.endswith(".zip")] or remote_files
            raise FileNotFoundError(
                f"'{config.file_name}' is not in {where}. Agent files there: {', '.join(candidates)}. "
                f"Set file_name to one of them."
            )

        def fetch(name: str) -> Path:
            return Path(
                self._retrying(
                    functools.partial(hf_hub_download, config.repository_id, name, revision=info.sha, token=token),
                    f"download '{name}' from {where}",
                )
            )

        agent_file = fetch(config.file_name)
        if not is_self_contained(agent_file):
            for name in _companions(config.file_name, remote_files):
                fetch(name)
        return agent_file

    # -- training hooks -------------------------------------------------------------------
    def log_value(self, name: str, value: float, timestep: int) -> None:
        """Append one metric to ``<local_directory>/metrics.jsonl`` (uploaded as ``logs/metrics.jsonl``)."""
        append_metric(self.local_directory / METRICS_FILE, name, value, timestep)

    def log_histogram(self, name: str, values: Any, timestep: int) -> None:
        """Append the histogram of ``values`` (counts and edges) as one line to ``metrics.jsonl``."""
        append_histogram(self.local_directory / METRICS_FILE, name, values, timestep)

    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Save a resumable checkpoint to ``<local_directory>/checkpoints/<model_name>-step-<timestep>.zip``."""
        stem = self.upload_config.model_name if self.upload_config is not None else "agent"
        save_agent_checkpoint(agent, self.local_directory / CHECKPOINT_FOLDER / f"{stem}-step-{timestep}.zip", self)

    def run_state(self) -> dict[str, Any]:
        """The local directory holding the run's metrics and checkpoints (recorded in checkpoints)."""
        return {"connector": type(self).__name__, "local_directory": str(self.local_directory.resolve())}

    def resume_run(self, state: dict[str, Any], timestep: int) -> bool:
        """Continue the run in ``state``'s local directory (if it still exists and none was chosen here).

        Values logged there after ``timestep`` are dropped, so the uploaded curves continue from the checkpoint.

        :return: whether the run is continued.
        """
        folder = Path(str(state.get("local_directory", "")))
        if not folder.is_dir() or (self._local_directory is not None and self._local_directory.resolve() != folder):
            return False
        self._local_directory = folder
        truncate_metrics(folder / METRICS_FILE, timestep)
        return True

    # -- retries --------------------------------------------------------------------------
    def _retrying(self, action: Callable[[], Result], what: str, kept_folder: Path | None = None) -> Result:
        """Run ``action``; on a transient network error wait and retry up to ``max_retries`` times."""
        for attempt in range(self.max_retries + 1):
            try:
                return action()
            except Exception as error:
                if not is_transient(error):
                    raise
                summary = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                if attempt == self.max_retries:
                    kept = f" The prepared files are kept in '{kept_folder}'." if kept_folder else ""
                    raise ConnectionError(
                        f"Could not {what}: the HuggingFace Hub failed {attempt + 1} times (last error: {summary}). "
                        f"Check your connection (and HF_ENDPOINT if set) and try again.{kept}"
                    ) from error
                wait = self.retry_wait * 2**attempt
                logger.warning("Could not %s (%s); retrying in %.1f s.", what, summary, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")


def _required(config: Result | None, name: str, example: str) -> Result:
    if config is None:
        raise ValueError(f"This HuggingFaceConnector has no {name}: create it with {name}={example}.")
    return config


def _visible_files(folder: Path) -> list[Path]:
    """The files of ``folder``, without hidden ones (such as an interrupted atomic write's temp file)."""
    return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))


def _companions(file_name: str, remote_files: list[str]) -> list[str]:
    """Files beside ``file_name`` whose names start with its stem (e.g. ``<stem>.vecnormalize.pkl``)."""
    path = PurePosixPath(file_name)
    return [
        name
        for name in remote_files
        if name != file_name
        and PurePosixPath(name).parent == path.parent
        and name.startswith(f"{path.with_suffix('')}.")
    ]


def _stale_files(remote_files: set[str], uploads: set[str], config: HuggingFaceUploadConfig) -> list[str]:
    """Files an earlier upload left that this one replaces by absence (old companions, results, replay)."""
    owned = set(MANAGED_FILES) | set(_companions(config.agent_file_name, sorted(remote_files)))
    return sorted((owned & remote_files) - uploads)


def _commit_operations(uploads: dict[str, Path], deletions: list[str]) -> list[Any]:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    operations: list[Any] = [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in sorted(uploads.items())
    ]
    operations.extend(CommitOperationDelete(path_in_repo=name) for name in deletions)
    return operations
