"""A training run's folder, and ``train_from_config``: an experiment file in, a trained agent out.

Layout of a run folder (``rl-framework train`` makes ``runs/<algorithm>-<env>-<N>``)::

    experiment.yaml      the resolved experiment (``rl-framework train --config`` repeats the run)
    metrics.jsonl        every value logged while training (episode returns, losses, evaluations)
    tensorboard/         TensorBoard event files (SB3 algorithms; ``tensorboard: false`` turns them off)
    checkpoints/         ``step_<T>.zip`` every ``checkpoint_frequency`` steps
    agent.zip            the trained agent (+ ``agent.vecnormalize.pkl`` with normalisation)
    metadata.json        algorithm, parameters, environment, versions, final evaluation
    learning_curve.png   episode return vs steps, with the evaluation points

``RunFolder`` is the connector that writes it: during training it receives the logged values and
checkpoints, and its ``upload`` puts the finished agent (evaluated) into the folder. Sharing a run
elsewhere replays its metrics into the other connector (``replay_metrics``) before uploading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.util.connector.base import METRICS_FILE, Connector, append_metric
from rl_framework.util.connector.bundle import METADATA_FILE, UploadOptions, bundle_agent
from rl_framework.util.files import atomic_write_text

if TYPE_CHECKING:
    from rl_framework.util.connector.base import ShareableAgent

EXPERIMENT_FILE = "experiment.yaml"
TENSORBOARD_FOLDER = "tensorboard"
CHECKPOINT_FOLDER = "checkpoints"
AGENT_FILE = "agent.zip"


class RunFolder(Connector):
    """The folder of one training run, used as the connector of that training.

    :param path: the run folder (created if missing).
    :param upload_options: how ``upload`` evaluates the finished agent (``agent_file_name``, episodes, seed).
    :param checkpoint_frequency: environment steps between checkpoints in ``checkpoints/`` (0: none).
    """

    def __init__(
        self, path: str | os.PathLike[str], upload_options: UploadOptions | None = None, checkpoint_frequency: int = 0
    ) -> None:
        super().__init__(checkpoint_frequency)
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.upload_options = upload_options or UploadOptions(agent_file_name=AGENT_FILE)
        #: Called with ``(name, value, timestep)`` after every logged value (e.g. to drive a progress display).
        self.on_value: Callable[[str, float, int], None] | None = None

    def __repr__(self) -> str:
        return f"RunFolder('{self.path}')"

    @property
    def metrics_file(self) -> Path:
        """The run's ``metrics.jsonl``."""
        return self.path / METRICS_FILE

    def log_value(self, name: str, value: float, timestep: int) -> None:
        """Append one value to the run's ``metrics.jsonl``."""
        append_metric(self.metrics_file, name, value, timestep)
        if self.on_value is not None:
            self.on_value(name, value, timestep)

    def save_checkpoint(self, agent: ShareableAgent, timestep: int) -> None:
        """Save ``agent`` to ``checkpoints/step_<timestep>.zip``."""
        agent.save_to_file(self.path / CHECKPOINT_FOLDER / f"step_{timestep}.zip")

    def upload(
        self,
        agent: ShareableAgent,
        evaluation_environment: Any | None = None,
        video_recording_environment: Any | None = None,
        force: bool = False,
    ) -> str:
        """Save the finished agent into the run folder with its metadata, evaluation and learning curve.

        :param agent: the trained agent.
        :param evaluation_environment: evaluate it (``upload_options.n_eval_episodes`` episodes) and record the result.
        :param video_recording_environment: record ``replay.mp4`` on it.
        :param force: save even an agent whose network holds NaN/inf values.
        :return: the run folder.
        """
        bundle_agent(agent, self.path, self.upload_options, evaluation_environment, video_recording_environment, force)
        return str(self.path)

    def download(self) -> Path:
        """The agent file of the finished run.

        :raises FileNotFoundError: when the run has no saved agent (yet).
        """
        agent_file = self.path / read_metadata(self.path).get("agent_file", AGENT_FILE)
        if not agent_file.is_file():
            raise FileNotFoundError(
                f"The run '{self.path}' has no agent file yet ({agent_file.name}): its training did not finish. "
                f"Train it again with `rl-framework train --config {self.path / EXPERIMENT_FILE}`."
            )
        return agent_file

    def write_experiment(self, text: str) -> Path:
        """Write the resolved experiment file of the run."""
        return atomic_write_text(self.path / EXPERIMENT_FILE, text)


def read_metadata(folder: Path) -> dict[str, Any]:
    """``metadata.json`` of a run or registry folder (``{}`` when there is none)."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def new_run_folder(parent: str | os.PathLike[str], stem: str) -> Path:
    """Create and return ``<parent>/<stem>-<N>`` with the first free N (1, 2, ...), like the zoo's log folders.

    :param parent: where runs go (e.g. ``runs``).
    :param stem: the run's name stem, e.g. ``ppo-CartPole-v1``.
    """
    parent_path = Path(parent)
    parent_path.mkdir(parents=True, exist_ok=True)
    safe_stem = "".join(character if character.isalnum() or character in "-_." else "-" for character in stem)
    number = 1
    while True:
        folder = parent_path / f"{safe_stem}-{number}"
        try:
            folder.mkdir()  # atomic: two runs started together never share a folder
            return folder
        except FileExistsError:
            number += 1


def read_metric_lines(metrics_file: Path) -> Iterator[tuple[str, float, int]]:
    """``(name, value, timestep)`` of every complete line of a ``metrics.jsonl`` file (a cut last line is skipped)."""
    if not metrics_file.is_file():
        return
    with metrics_file.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                yield str(record["name"]), float(record["value"]), int(record["timestep"])
            except (ValueError, KeyError, TypeError):
                continue


def replay_metrics(metrics_file: Path, connector: Connector, on_line: Callable[[], None] | None = None) -> int:
    """Log every value of a run's ``metrics.jsonl`` into ``connector`` (before uploading the run there).

    :param metrics_file: the run's metrics.
    :param connector: receives one ``log_value`` per line.
    :param on_line: called after each line (progress).
    :return: the number of values replayed.
    """
    count = 0
    for name, value, timestep in read_metric_lines(metrics_file):
        connector.log_value(name, value, timestep)
        count += 1
        if on_line is not None:
            on_line()
    return count
