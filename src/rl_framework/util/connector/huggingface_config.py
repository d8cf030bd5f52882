"""Upload and download settings of the HuggingFace Hub connector, validated on construction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rl_framework.util.checks import positive_int
from rl_framework.util.connector.bundle import UploadOptions

#: One part of a repository id ("owner" or "name"), as the Hub accepts it.
_REPOSITORY_PART = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")
#: Characters git forbids in a branch or tag name (plus whitespace and control characters).
_FORBIDDEN_IN_REVISION = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{|//")


def check_repository_id(repository_id: object) -> str:
    """Return ``repository_id`` if it has the form ``"owner/name"``, else raise ``ValueError``.

    :param repository_id: the value to check.
    :return: the repository id.
    """
    accepted = (
        "Use 'owner/name' where owner is your user or organisation name and both parts consist of "
        "letters, digits, '_', '-' or '.' (at most 96 characters each, not starting or ending with '-' or "
        "'.', no '--' or '..'), e.g. 'alice/ppo-CartPole-v1'."
    )
    if not isinstance(repository_id, str) or not repository_id:
        raise ValueError(f"repository_id must be a non-empty string, got {repository_id!r}. {accepted}")
    parts = repository_id.split("/")
    if (
        len(parts) != 2
        or not all(_REPOSITORY_PART.match(part) for part in parts)
        or "--" in repository_id
        or ".." in repository_id
        or repository_id.endswith(".git")
    ):
        raise ValueError(f"repository_id {repository_id!r} is not a valid HuggingFace repository id. {accepted}")
    return repository_id


def check_revision(version: object) -> str:
    """Return ``version`` if it can name a branch, tag or commit, else raise ``ValueError``.

    :param version: the value to check.
    :return: the revision.
    """
    accepted = "Use a branch name (e.g. 'main'), a tag, or a full 40-character commit sha."
    if not isinstance(version, str) or not version:
        raise ValueError(f"version must be a non-empty string, got {version!r}. {accepted}")
    if (
        _FORBIDDEN_IN_REVISION.search(version)
        or version.startswith(("/", "-", "."))
        or version.endswith(("/", ".", ".lock"))
        or version == "@"
    ):
        raise ValueError(f"version {version!r} is not a valid git revision. {accepted}")
    return version


def check_file_name(file_name: object, what: str = "file_name") -> str:
    """Return ``file_name`` if it is a relative path inside a repository, else raise ``ValueError``.

    :param file_name: the value to check.
    :param what: the parameter's name, for the message.
    :return: the file name.
    """
    if not isinstance(file_name, str) or not file_name.strip():
        raise ValueError(f"{what} must be a non-empty string, got {file_name!r}. E.g. 'ppo-CartPole-v1.zip'.")
    parts = file_name.split("/")
    if "\\" in file_name or any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"{what} {file_name!r} is not a path inside the repository: use '/'-separated names without "
            f"'..', empty parts or a leading '/', e.g. 'ppo-CartPole-v1.zip' or 'checkpoints/agent.zip'."
        )
    return file_name


def default_model_name(model_architecture: str, environment_name: str) -> str:
    """The huggingface_sb3 naming scheme: ``"<architecture>-<env id>"`` (e.g. ``"ppo-CartPole-v1"``).

    As huggingface_sb3's ``EnvironmentName`` does, '/' in the env id becomes '-' and a
    ``"module:"`` prefix is dropped.
    """
    environment = environment_name.rsplit(":", 1)[-1].replace("/", "-")
    return f"{model_architecture.lower()}-{environment}"


@dataclass(frozen=True)
class HuggingFaceUploadConfig:
    """Where and how ``HuggingFaceConnector.upload`` publishes an agent.

    :param repository_id: the model repository, ``"owner/name"`` (created if missing).
    :param environment_name: the environment id the agent plays (model card, tags, file name).
    :param model_architecture: the algorithm's name, e.g. ``"PPO"`` (model card, file name).
    :param commit_message: message of the upload commit.
    :param n_eval_episodes: episodes of the evaluation stored in ``results.json``.
    :param model_name: stem of the agent file ``<model_name>.zip``; defaults to
        ``"<architecture>-<env id>"`` (huggingface_sb3's naming, e.g. ``"ppo-CartPole-v1"``).
    :param deterministic_evaluation: evaluate and record with deterministic actions.
    :param video_length: environment steps in ``replay.mp4``.
    :param video_fps: frames per second of ``replay.mp4``.
    :param private: create the repository as private (an existing repository keeps its visibility).
    :param upload_metrics: also upload the metrics logged during training (``logs/metrics.jsonl``).
    :param upload_checkpoints: also upload the checkpoints saved during training (``checkpoints/``).
    """

    repository_id: str
    environment_name: str
    model_architecture: str
    commit_message: str = "Upload agent with rl_framework"
    n_eval_episodes: int = 10
    model_name: str | None = None
    deterministic_evaluation: bool = True
    video_length: int = 1000
    video_fps: int = 30
    private: bool = False
    upload_metrics: bool = True
    upload_checkpoints: bool = True

    def __post_init__(self) -> None:
        check_repository_id(self.repository_id)
        for name in ("environment_name", "model_architecture", "commit_message"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}.")
        if any(character.isspace() for character in self.environment_name):
            raise ValueError(
                f"environment_name must be an environment id without spaces, got {self.environment_name!r}."
            )
        if self.model_name is None:
            object.__setattr__(self, "model_name", default_model_name(self.model_architecture, self.environment_name))
        check_file_name(self.model_name, "model_name")
        if "/" in str(self.model_name):
            raise ValueError(f"model_name must be a plain file stem without '/', got {self.model_name!r}.")
        for name in ("n_eval_episodes", "video_length", "video_fps"):
            value = getattr(self, name)
            positive_int(value, name)

    @property
    def agent_file_name(self) -> str:
        """The agent file's name in the repository, ``<model_name>.zip``."""
        return f"{self.model_name}.zip"

    def upload_options(self) -> UploadOptions:
        """The bundle options (evaluation, video) this config asks for."""
        return UploadOptions(
            agent_file_name=self.agent_file_name,
            n_eval_episodes=self.n_eval_episodes,
            deterministic_evaluation=self.deterministic_evaluation,
            video_length=self.video_length,
            video_fps=self.video_fps,
        )


@dataclass(frozen=True)
class HuggingFaceDownloadConfig:
    """What ``HuggingFaceConnector.download`` fetches.

    :param repository_id: the model repository, ``"owner/name"``.
    :param file_name: the agent file inside it, e.g. ``"ppo-CartPole-v1.zip"`` or
        ``"checkpoints/ppo-CartPole-v1-step-5000.zip"``. Files beside it that start with its stem
        (e.g. an earlier version's ``ppo-CartPole-v1.vecnormalize.pkl``) are downloaded too, unless
        the agent file is a self-contained rl_framework zip.
    :param version: a branch, tag or full commit sha.
    """

    repository_id: str
    file_name: str
    version: str = "main"

    def __post_init__(self) -> None:
        check_repository_id(self.repository_id)
        check_file_name(self.file_name)
        check_revision(self.version)
