"""Find and load an agent from one string, as the command line takes it.

A reference is, in this order:

- ``hf:owner/name[@revision]``: a HuggingFace Hub repository;
- ``clearml:<task id>``: the ``agent`` artifact of a ClearML task;
- an existing file (an agent file) or folder (a run folder, a registry version, a pulled agent);
- ``name[:version]``: an agent of the local registry (``version``: a number or ``latest``);
- ``owner/name[@revision]``: a Hub repository (when no such local path exists).

The algorithm comes from ``metadata.json`` (written by every upload and run), else from the
experiment file beside the agent, else from the header rl_framework writes into its agent files,
else from a file name in huggingface_sb3's ``<algo>-<env>.zip`` naming; the ``algorithm``
argument always wins.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.agent.base_agent import BaseAgent
from rl_framework.experiment.config import ExperimentError
from rl_framework.experiment.run import EXPERIMENT_FILE, read_metadata
from rl_framework.util.connector.base import METRICS_FILE
from rl_framework.util.connector.bundle import METADATA_FILE

if TYPE_CHECKING:
    from rl_framework.agent.imitation.imitation.imitation import ImitationAgent
    from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent

_REGISTRY_REFERENCE = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,127})(?::(?P<version>[1-9][0-9]*|latest))?")
_HUB_REFERENCE = re.compile(r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?:@(?P<revision>[^\s@]+))?")


@dataclass
class AgentSource:
    """A loaded agent and where it came from.

    :param agent: the agent, ready to act.
    :param label: a short name for messages and plot legends (``ppo-cartpole:v3``, a folder name).
    :param folder: the local folder holding the agent file and its companions (metrics, metadata).
    :param agent_file: the agent file inside ``folder``.
    :param metadata: the agent's ``metadata.json`` (``{}`` if it has none).
    """

    agent: BaseAgent
    label: str
    folder: Path
    agent_file: Path
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def experiment(self) -> dict[str, Any] | None:
        """The resolved experiment the agent was trained with, if known."""
        experiment = self.metadata.get("experiment")
        return experiment if isinstance(experiment, dict) else None

    @property
    def metrics_file(self) -> Path | None:
        """The metrics logged while training the agent, if they came with it."""
        for candidate in (self.folder / METRICS_FILE, self.folder / "logs" / METRICS_FILE):
            if candidate.is_file():
                return candidate
        return None

    @property
    def environment(self) -> str | None:
        """The environment id the agent was trained or evaluated on, if known."""
        experiment = self.experiment
        return experiment["env"] if experiment else self.metadata.get("environment")


def load_agent(
    reference: str, algorithm: str | None = None, registry: str | None = None, allow_pickle: bool = False
) -> AgentSource:
    """Load the agent ``reference`` names (see the module docstring for the forms).

    :param reference: the agent reference.
    :param algorithm: the algorithm name, when the agent's files do not say it.
    :param registry: the local registry folder (default ``$RL_FRAMEWORK_REGISTRY`` or ``~/.rl_framework/registry``).
    :param allow_pickle: also read legacy pickle files of the agent (this call only; unpickling runs the file
        author's code).
    :return: the agent with its label, folder and metadata.
    :raises FileNotFoundError: when nothing matches the reference (listing what exists).
    :raises ExperimentError: when the algorithm cannot be determined.
    """
    if reference.startswith("hf:"):
        return _from_hub(reference[3:], algorithm, allow_pickle)
    if reference.startswith("clearml:"):
        return _from_clearml(reference[len("clearml:") :], algorithm, allow_pickle)
    path = Path(reference).expanduser()
    if path.exists():
        return _from_path(path, algorithm, allow_pickle)
    local = _REGISTRY_REFERENCE.fullmatch(reference)
    if local:
        from rl_framework.util.connector.local import LocalConnector

        connector = LocalConnector(registry_path=registry)
        if local.group("name") in connector.list_agents():
            version_text = local.group("version") or "latest"
            version: Any = "latest" if version_text == "latest" else int(version_text)
            folder = connector.version_path(local.group("name"), version)
            source = _from_path(folder, algorithm, allow_pickle)
            source.label = f"{local.group('name')}:{folder.name}"
            return source
    if _HUB_REFERENCE.fullmatch(reference):
        return _from_hub(reference, algorithm, allow_pickle)
    from rl_framework.util.connector.local import LocalConnector

    connector = LocalConnector(registry_path=registry)
    known = ", ".join(connector.list_agents()) or "none"
    raise FileNotFoundError(
        f"No agent '{reference}': it is not a file or folder, not an agent of the local registry '{connector.root}' "
        f"(agents there: {known}), and not a Hub repository id (owner/name). Check the name or path."
    )


def agent_class_for(algorithm: str) -> type[StableBaselinesAgent] | type[ImitationAgent]:
    """``StableBaselinesAgent`` for an SB3 algorithm name, ``ImitationAgent`` for an imitation one."""
    from rl_framework.experiment.training import algorithm_family

    if algorithm_family(algorithm) == "rl":
        from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent

        return StableBaselinesAgent
    from rl_framework.agent.imitation.imitation.imitation import ImitationAgent

    return ImitationAgent


def _algorithm_of(metadata: dict[str, Any], folder: Path, agent_file: Path, given: str | None) -> str:
    if given:
        return given
    if metadata.get("algorithm"):
        return str(metadata["algorithm"])
    experiment_file = folder / EXPERIMENT_FILE
    if experiment_file.is_file():
        import yaml

        experiment = yaml.safe_load(experiment_file.read_text(encoding="utf-8")) or {}
        if isinstance(experiment, dict) and experiment.get("algorithm"):
            return str(experiment["algorithm"])
    recorded = _algorithm_in_file(agent_file)
    if recorded:
        return recorded
    guess = agent_file.stem.split("-")[0]  # huggingface_sb3 names files "<algo>-<env>.zip"
    from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS

    for name in SB3_ALGORITHMS:
        if name.lower() == guess.lower():
            return name
    raise ExperimentError(
        f"Cannot tell which algorithm '{agent_file}' was trained with (no metadata.json or experiment.yaml beside "
        f"it). Pass --algorithm, e.g. --algorithm PPO."
    )


def _algorithm_in_file(agent_file: Path) -> str | None:
    """The algorithm named in the JSON header rl_framework writes into its agent zips (read, never unpickled)."""
    from rl_framework.agent.imitation.imitation.persistence import HEADER_NAME
    from rl_framework.agent.reinforcement.sb3_format import MEMBER

    if not zipfile.is_zipfile(agent_file):
        return None
    with zipfile.ZipFile(agent_file) as archive:
        for member in (MEMBER, HEADER_NAME):
            if member in archive.namelist():
                try:
                    algorithm = json.loads(archive.read(member)).get("algorithm")
                except (ValueError, AttributeError):
                    return None
                return str(algorithm) if algorithm else None
    return None


def _load(
    agent_file: Path, folder: Path, metadata: dict[str, Any], label: str, algorithm: str | None, allow_pickle: bool
) -> AgentSource:
    name = _algorithm_of(metadata, folder, agent_file, algorithm)
    agent = agent_class_for(name)(name)
    agent.load_from_file(agent_file, allow_pickle=allow_pickle)
    if isinstance(metadata.get("experiment"), dict):
        agent.experiment_config = metadata["experiment"]  # type: ignore[union-attr]  # later uploads keep it
    return AgentSource(agent, label, folder, agent_file, metadata)


def _from_path(path: Path, algorithm: str | None, allow_pickle: bool) -> AgentSource:
    if path.is_dir():
        metadata = read_metadata(path)
        agent_file = path / metadata.get("agent_file", "agent.zip")
        if not agent_file.is_file():
            zips = sorted(path.glob("*.zip"))
            if len(zips) != 1:
                raise FileNotFoundError(
                    f"The folder '{path}' holds no agent: no metadata.json naming its agent file and "
                    f"{len(zips)} .zip files. Give the agent file's path instead."
                )
            agent_file = zips[0]
        return _load(agent_file, path, metadata, path.name, algorithm, allow_pickle)
    folder = path.parent
    metadata = read_metadata(folder)
    if metadata.get("agent_file") not in (None, path.name):
        metadata = {}  # the metadata beside it describes another agent file
    return _load(path, folder, metadata, path.stem, algorithm, allow_pickle)


def _from_hub(reference: str, algorithm: str | None, allow_pickle: bool) -> AgentSource:
    from huggingface_hub import HfApi, hf_hub_download

    from rl_framework.util.connector.huggingface import HuggingFaceConnector, HuggingFaceDownloadConfig

    match = _HUB_REFERENCE.fullmatch(reference)
    if match is None:
        raise FileNotFoundError(f"'{reference}' is not a Hub repository id: use owner/name[@revision].")
    repo, revision = match.group("repo"), match.group("revision") or "main"
    files = sorted(sibling.rfilename for sibling in HfApi().model_info(repo, revision=revision).siblings or [])
    metadata: dict[str, Any] = {}
    if METADATA_FILE in files:
        metadata = json.loads(Path(hf_hub_download(repo, METADATA_FILE, revision=revision)).read_text("utf-8"))
    agent_name = metadata.get("agent_file")
    if agent_name is None:
        zips = [name for name in files if name.endswith(".zip") and "/" not in name]
        if len(zips) != 1:
            raise FileNotFoundError(f"Cannot tell which file of '{repo}' is the agent: {', '.join(zips) or 'no .zip'}.")
        agent_name = zips[0]
    connector = HuggingFaceConnector(download_config=HuggingFaceDownloadConfig(repo, agent_name, revision))
    agent_file = connector.download()
    for extra in ("logs/" + METRICS_FILE,):
        if extra in files:  # the training metrics, for plots
            hf_hub_download(repo, extra, revision=revision)
    label = f"{repo}@{revision}" if match.group("revision") else repo
    return _load(agent_file, agent_file.parent, metadata, label, algorithm, allow_pickle)


def _from_clearml(task_id: str, algorithm: str | None, allow_pickle: bool) -> AgentSource:
    from rl_framework.util.connector.clearml import ClearMLConnector, ClearMLDownloadConfig

    connector = ClearMLConnector(download_config=ClearMLDownloadConfig(task_id=task_id))
    agent_file = connector.download()
    metadata = read_metadata(agent_file.parent)
    return _load(agent_file, agent_file.parent, metadata, f"clearml:{task_id}", algorithm, allow_pickle)


def copy_agent_folder(source: AgentSource, destination: Path) -> Path:
    """Copy the agent file, its companions, metadata and metrics of ``source`` into ``destination``.

    :return: the destination folder (a folder ``load_agent`` reads back).
    """
    destination.mkdir(parents=True, exist_ok=True)
    names = set(source.metadata.get("files", {})) | {source.agent_file.name, METADATA_FILE, EXPERIMENT_FILE}
    names.add(METRICS_FILE)
    names |= {path.name for path in source.folder.glob(f"{source.agent_file.stem}.*")}  # companions
    names |= set(source.metadata.get("other_files", {}))
    for name in sorted(names):
        path = source.folder / name
        if path.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    hub_metrics = source.folder / "logs" / METRICS_FILE
    if hub_metrics.is_file() and not (destination / METRICS_FILE).exists():
        shutil.copy2(hub_metrics, destination / METRICS_FILE)
    return destination
