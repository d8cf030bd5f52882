"""Everything an upload carries, prepared once for every connector.

``bundle_agent`` saves the agent into a folder, evaluates it, records a replay video and
writes ``metadata.json``; each connector then only moves the folder's files to its backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.util.checks import positive_int
from rl_framework.util.connector.base import METRICS_FILE, save_agent_files
from rl_framework.util.files import atomic_write_text
from rl_framework.util.finite import check_finite_agent
from rl_framework.util.statistics import iqm

if TYPE_CHECKING:
    from rl_framework.util.connector.base import EpisodeResults, ShareableAgent

#: Libraries whose versions go into ``metadata.json``.
RECORDED_LIBRARIES = ("rl_framework", "stable-baselines3", "imitation", "gymnasium", "torch", "numpy")
METADATA_FILE = "metadata.json"
VIDEO_FILE = "replay.mp4"
#: Names the files of an upload use besides the agent file (an agent file of such a name would replace them).
#: The resolved experiment file and the learning curve an upload adds when it has them (rl_framework.experiment).
EXPERIMENT_FILE = "experiment.yaml"
LEARNING_CURVE_FILE = "learning_curve.png"
RESERVED_FILE_NAMES = (METADATA_FILE, VIDEO_FILE, "metrics.jsonl", "checkpoints", EXPERIMENT_FILE, LEARNING_CURVE_FILE)


def check_agent_file_name(name: Any, reserved: tuple[str, ...] = RESERVED_FILE_NAMES) -> str:
    """Return ``name`` if it can name an agent file inside an upload, else raise ``ValueError``.

    Refused: empty names, ``.``/``..``, path separators, hidden names (``.x``: temporary files
    are hidden) and the names of the upload's other files (``reserved``).

    :param name: the value to check.
    :param reserved: file names the upload uses for other files.
    :return: the name.
    """
    example = "Use a plain file name such as 'agent.zip'."
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ValueError(
            f"agent_file_name must be a non-empty name without surrounding spaces, got {name!r}. {example}"
        )
    if any(separator in name for separator in ("/", "\\", os.sep, "\x00")) or name.startswith("."):
        raise ValueError(
            f"agent_file_name must be a plain file name (no folder, no path separator, not '.', '..' or a hidden "
            f"name), got {name!r}. {example}"
        )
    # Companion files are found by the agent file's stem ("<stem>.<x>"), so a stem shared with a
    # reserved file ("metadata.zip" -> "metadata.json") would make that file look like the agent's.
    stem = name.rsplit(".", 1)[0]
    if any(name.lower() == entry.lower() or entry.lower().startswith(f"{stem.lower()}.") for entry in reserved):
        raise ValueError(
            f"agent_file_name {name!r} collides with another file of the upload ({', '.join(reserved)}): the agent "
            f"would replace it or be mistaken for it. {example}"
        )
    return name


@dataclass(frozen=True)
class UploadOptions:
    """What an upload records besides the agent.

    :param agent_file_name: file name of the saved agent inside the bundle.
    :param n_eval_episodes: episodes for the evaluation stored with the agent.
    :param deterministic_evaluation: evaluate (and record) with deterministic actions.
    :param video_length: environment steps in the replay video.
    :param video_fps: frames per second of the replay video.
    :param seed: base seed of the evaluation episodes (episode ``i`` uses ``seed + i``).
    """

    agent_file_name: str = "agent.zip"
    n_eval_episodes: int = 10
    deterministic_evaluation: bool = True
    video_length: int = 1000
    video_fps: int = 30
    seed: int | None = 0

    def __post_init__(self) -> None:
        check_agent_file_name(self.agent_file_name)
        for name in ("n_eval_episodes", "video_length", "video_fps"):
            positive_int(getattr(self, name), name)


@dataclass(frozen=True)
class AgentBundle:
    """The files of one upload, all inside ``folder``.

    :param folder: the folder holding every file of the bundle.
    :param agent_files: what the agent's ``save_to_file`` wrote: the agent file first, then its
        companion files (e.g. normaliser statistics).
    :param metadata: the content of ``metadata.json``.
    :param evaluation: the evaluation result, if an evaluation environment was given.
    :param video_file: the replay video, if a recording environment was given.
    """

    folder: Path
    agent_files: tuple[Path, ...]
    metadata: dict[str, Any]
    evaluation: EpisodeResults | None = None
    video_file: Path | None = None
    learning_curve: Path | None = None

    @property
    def agent_file(self) -> Path:
        """The agent file itself (the first of ``agent_files``)."""
        return self.agent_files[0]

    @property
    def companion_files(self) -> tuple[Path, ...]:
        """Files the agent wrote besides its agent file."""
        return self.agent_files[1:]


def visible_files(folder: Path) -> list[str]:
    """Every file below ``folder`` as a '/'-separated relative path, sorted; hidden files and folders are skipped.

    Hidden names are temporary files of interrupted writes (``.<name>.*.tmp``) and markers.
    """
    names = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            names.append(relative.as_posix())
    return sorted(names)


def sha256_of(file_path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with file_path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that decide whether an agent file loads."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions


def environment_name(environment: Any) -> str | None:
    """The env id of ``environment`` (an id string, an env with a spec, or a VecEnv of such)."""
    if environment is None:
        return None
    if isinstance(environment, str):
        return environment
    if isinstance(environment, (list, tuple)) and environment:
        return environment_name(environment[0])
    spec = getattr(environment, "spec", None)
    if spec is None and hasattr(environment, "get_attr"):
        spec = environment.get_attr("spec", [0])[0]
    return getattr(spec, "id", None)


def results_environment(given: Any | None, environment_name: str | None, connector: str, fix: str) -> Any:
    """The environment an upload that shows results (a model card, an experiment page) evaluates on.

    :param given: the ``evaluation_environment`` passed to ``upload``, used when given.
    :param environment_name: the upload config's environment id, used when registered with gymnasium.
    :param connector: the connector's name, for the message.
    :param fix: how to set an environment name in that connector's config, for the message.
    :return: ``given``, or ``environment_name``.
    :raises ValueError: when there is nothing to evaluate on, before any work.
    """
    if given is not None:
        return given
    import gymnasium as gym

    if environment_name is not None and environment_name in gym.registry:
        return environment_name
    problem = "no environment_name" if environment_name is None else f"'{environment_name}' is not a registered id"
    raise ValueError(
        f"{connector} shows the agent's evaluation results, but upload got no evaluation_environment and the "
        f"config has {problem}. Pass evaluation_environment=... to upload, or {fix}."
    )


def bundle_agent(
    agent: ShareableAgent,
    folder: Path,
    options: UploadOptions,
    evaluation_environment: Any | None = None,
    video_recording_environment: Any | None = None,
    force: bool = False,
    metrics_file: Path | None = None,
) -> AgentBundle:
    """Save ``agent`` into ``folder`` with its metadata, evaluation and replay video.

    ``metadata.json`` records the sha256 of every file in ``folder``: the agent file and its
    companions under ``"files"``, everything else (video, a run's metrics and checkpoints)
    under ``"other_files"``, so a download can verify the whole version.

    :param agent: the agent to bundle.
    :param folder: an empty (or new) folder that receives the files.
    :param options: what to evaluate and record.
    :param evaluation_environment: evaluate the agent on it when given.
    :param video_recording_environment: record a replay video on it when given (``render_mode="rgb_array"``).
    :param force: bundle even an agent whose network holds NaN/inf values.
    :param metrics_file: the metrics logged while training (default ``folder/metrics.jsonl``); when it
        holds episode returns, ``learning_curve.png`` is drawn from it. An agent trained from an
        experiment (``agent.experiment_config``) also gets its resolved ``experiment.yaml``.
    :return: the bundle.
    :raises NonFiniteError: for an agent with NaN/inf weights (unless ``force``), before any work.
    """
    check_finite_agent(agent, "upload", force)
    folder.mkdir(parents=True, exist_ok=True)
    agent_files = saved_files(
        save_agent_files(agent, folder / options.agent_file_name, force), folder, type(agent).__name__
    )
    agent_file = agent_files[0]
    evaluation = None
    if evaluation_environment is not None:
        evaluation = agent.evaluate_episodes(
            evaluation_environment,
            options.n_eval_episodes,
            seeds=options.seed,
            deterministic=options.deterministic_evaluation,
            progress_bar=False,
        )
    video_file = None
    if video_recording_environment is not None:
        from rl_framework.util.video import record_video

        video_file = record_video(
            agent,
            video_recording_environment,
            folder / VIDEO_FILE,
            n_steps=options.video_length,
            fps=options.video_fps,
            deterministic=options.deterministic_evaluation,
        )
    experiment = getattr(agent, "experiment_config", None)  # set by rl_framework.experiment.train_from_config
    if experiment:
        atomic_write_text(folder / EXPERIMENT_FILE, _experiment_yaml(experiment))
    environment = environment_name(evaluation_environment) or environment_name(video_recording_environment)
    learning_curve = _learning_curve(
        metrics_file or folder / METRICS_FILE, folder, evaluation, f"{agent.algorithm_name} on {environment}"
    )
    metadata: dict[str, Any] = {
        "agent_class": type(agent).__name__,
        "algorithm": agent.algorithm_name if agent.algorithm_class is not None else None,
        "algorithm_parameters": _jsonable(agent.algorithm_parameters),
        "environment": environment,
        "agent_file": agent_file.name,
        "sha256": sha256_of(agent_file),
        "files": {path.name: sha256_of(path) for path in agent_files},
        "other_files": {
            name: sha256_of(folder / name)
            for name in visible_files(folder)
            if name != METADATA_FILE and name not in {path.name for path in agent_files}
        },
        "library_versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if evaluation is not None:
        metadata["evaluation"] = {
            "mean_reward": evaluation.mean_reward,
            "std_reward": evaluation.std_reward,
            "mean_episode_length": evaluation.mean_length,
            "n_eval_episodes": len(evaluation.episode_returns),
            "is_deterministic": options.deterministic_evaluation,
            "iqm_reward": iqm(evaluation.episode_returns),
            "episode_returns": [float(value) for value in evaluation.episode_returns],
        }
    if experiment:
        metadata["experiment"] = _jsonable(experiment)
    if learning_curve is not None:
        metadata["learning_curve"] = learning_curve.name
    atomic_write_text(folder / METADATA_FILE, json.dumps(metadata, indent=2))
    return AgentBundle(folder, agent_files, metadata, evaluation, video_file, learning_curve)


def saved_files(returned: Any, folder: Path, agent_class: str) -> tuple[Path, ...]:
    """Check what ``save_to_file`` returned: a non-empty list of files it wrote inside ``folder``.

    :raises TypeError: naming the contract when an agent's ``save_to_file`` returns anything else.
    """
    paths = [returned] if isinstance(returned, Path) else returned
    valid = isinstance(paths, (list, tuple)) and len(paths) > 0 and all(isinstance(path, Path) for path in paths)
    if not valid:
        raise TypeError(
            f"{agent_class}.save_to_file returned {returned!r}; it must return the list of files it wrote "
            f"(agent file first), e.g. `return [atomic_write_bytes(file_path, data)]`."
        )
    resolved = folder.resolve()
    for path in paths:
        if not path.is_file() or path.resolve().parent != resolved:
            raise ValueError(
                f"{agent_class}.save_to_file reported '{path}', which is not a file it wrote beside the agent file "
                f"in '{folder}'. Write companion files next to the given file_path."
            )
    return tuple(paths)


def _jsonable(value: Any) -> Any:
    """``value`` with everything JSON cannot hold turned into its ``repr``."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, dict):
            return {str(key): _jsonable(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [_jsonable(item) for item in value]
        return repr(value)


def _experiment_yaml(experiment: dict[str, Any]) -> str:
    """The resolved experiment file: ``rl-framework train --config experiment.yaml`` repeats the run."""
    import yaml

    header = "# The resolved experiment of this agent: rl-framework train --config experiment.yaml repeats it.\n"
    return header + yaml.safe_dump(_jsonable(experiment), sort_keys=False)


def _learning_curve(metrics_file: Path, folder: Path, evaluation: EpisodeResults | None, label: str) -> Path | None:
    """Draw ``learning_curve.png`` (episode returns + evaluations) when training metrics were logged."""
    if not metrics_file.is_file():
        return None
    from rl_framework.util.plot import write_learning_curve

    final = None if evaluation is None else {"mean_reward": evaluation.mean_reward, "std_reward": evaluation.std_reward}
    try:
        return write_learning_curve(metrics_file, folder / LEARNING_CURVE_FILE, label, final)
    except ModuleNotFoundError as error:  # matplotlib is optional (the 'cli' extra): the upload goes on without
        if error.name != "matplotlib":
            raise
        return None
