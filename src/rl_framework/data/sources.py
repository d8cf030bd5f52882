"""Where an ``EpisodeSequence``'s episodes live (memory or a dataset folder), and saving them.

Both sources answer the same three questions: how long is each episode, read a run of episodes
as flat arrays, and release whatever memory a read pinned. ``EpisodeSequence`` only talks to
this protocol, so iteration, batching and statistics are written once.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from imitation.data import types

from rl_framework.data.arrow import EXPECTED_DATASET, ArrowEpisodes
from rl_framework.data.columns import EpisodeColumns
from rl_framework.util.safe_classes import UnsafeContentError


class EpisodeSource(Protocol):
    """Read access to a fixed list of episodes."""

    lengths: np.ndarray
    has_rewards: bool
    infos_encoded: bool
    allow_pickle: bool

    def __len__(self) -> int:
        """Number of episodes."""

    @property
    def description(self) -> str:
        """Where the episodes come from, for error messages."""

    def read(self, start: int, stop: int) -> EpisodeColumns:
        """Return episodes ``start`` to ``stop - 1`` as one block."""

    def release_pages(self) -> None:
        """Give back memory pinned by earlier reads (a no-op where nothing is pinned)."""


class MemoryEpisodes:
    """Episodes held in memory as one ``EpisodeColumns`` block.

    :param columns: all episodes, end to end.
    """

    def __init__(self, columns: EpisodeColumns) -> None:
        self._columns = columns
        self.lengths = columns.lengths
        self.has_rewards = columns.rewards is not None
        self.infos_encoded = columns.infos_encoded
        self.allow_pickle = columns.allow_pickle

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def description(self) -> str:
        """Where the episodes come from, for error messages."""
        return "the episodes in memory"

    def read(self, start: int, stop: int) -> EpisodeColumns:
        """Return episodes ``start`` to ``stop - 1`` (views of the block, no copy)."""
        return self._columns.episodes(start, stop)

    def release_pages(self) -> None:
        """Nothing to release: the episodes stay in memory."""


def open_episodes(path: str | os.PathLike[str], allow_pickle: bool = False) -> EpisodeSource:
    """Open a dataset folder lazily, or load an old ``.npz``/``.pkl`` trajectory file into memory.

    :param path: a folder written by ``imitation.data.serialize.save`` / ``EpisodeSequence.save``,
        or (with ``allow_pickle``) a file that ``imitation.data.serialize.load`` reads.
    :param allow_pickle: trust the data: decode infos with ``jsonpickle`` and read old ``.npz``/``.pkl``
        files, both of which unpickle (and so run whatever code the file's author put in them).
    :return: the episode source.
    :raises FileNotFoundError: if nothing exists at ``path``.
    :raises UnsafeContentError: for an old file or unsafe infos without ``allow_pickle``.
    :raises ValueError: if ``path`` is not a trajectory dataset or holds no episodes.
    """
    location = Path(path)
    if not location.exists():
        raise FileNotFoundError(
            f"No trajectory dataset at '{location}'. Check the path, or record episodes first "
            f"(EpisodeSequence.from_agent(...).save(path))."
        )
    if location.is_dir():
        return ArrowEpisodes(location, allow_pickle)
    if not allow_pickle:
        raise UnsafeContentError(
            f"'{location}' is a file, not a dataset folder: imitation's old .npz/.pkl trajectory files can only be "
            f"read by unpickling, which runs whatever code the file's author put in them. Pass allow_pickle=True "
            f"only if you trust its source, and convert it once: "
            f"EpisodeSequence.from_dataset(path, allow_pickle=True).save(new_folder). Otherwise expected "
            f"{EXPECTED_DATASET}."
        )
    columns = columns_of(_load_old_file(location), f"the file '{location}'")
    return MemoryEpisodes(dataclasses.replace(columns, allow_pickle=True))


def _load_old_file(file: Path) -> Sequence[types.Trajectory]:
    """Read the pre-datasets ``.npz``/pickle formats through imitation's own loader."""
    from imitation.data import serialize

    try:
        trajectories = serialize.load(file)
    except Exception as error:  # numpy/pickle raise many types for a file of the wrong kind
        raise ValueError(
            f"Cannot read '{file}' as trajectories ({type(error).__name__}: {error}). Expected {EXPECTED_DATASET}, "
            f"or an .npz/.pkl file written by imitation < 1.0."
        ) from error
    if not isinstance(trajectories, Sequence) or not all(isinstance(t, types.Trajectory) for t in trajectories):
        raise ValueError(f"'{file}' does not hold a list of imitation trajectories. Expected {EXPECTED_DATASET}.")
    return trajectories


def columns_of(trajectories: Sequence[types.Trajectory], description: str) -> EpisodeColumns:
    """Check that ``trajectories`` form one consistent dataset and lay them end to end.

    :param trajectories: imitation ``Trajectory``/``TrajectoryWithRew`` objects.
    :param description: where they come from, for error messages.
    :return: the block of all episodes.
    :raises ValueError: if there are none, or their shapes, dtypes or reward presence differ.
    """
    if len(trajectories) == 0:
        raise ValueError(f"{description} hold no episodes: pass at least one episode.")
    first = trajectories[0]
    for index, trajectory in enumerate(trajectories):
        if not isinstance(trajectory, types.Trajectory):
            raise TypeError(
                f"Episode {index} of {description} is a {type(trajectory).__name__}; expected "
                f"imitation.data.types.TrajectoryWithRew (or Trajectory)."
            )
        if isinstance(trajectory.obs, types.DictObs):
            raise ValueError(
                f"Episode {index} of {description} has dict observations, which imitation's dataset format "
                f"cannot store. Flatten the observations (gymnasium.wrappers.FlattenObservation)."
            )
        for field in ("obs", "acts"):
            ours, theirs = np.asarray(getattr(trajectory, field)), np.asarray(getattr(first, field))
            if ours.shape[1:] != theirs.shape[1:] or ours.dtype != theirs.dtype:
                raise ValueError(
                    f"Episode {index} of {description} is inconsistent with episode 0: its '{field}' rows have "
                    f"shape {ours.shape[1:]} and dtype {ours.dtype}, episode 0's have {theirs.shape[1:]} and "
                    f"{theirs.dtype}. Keep episodes from one environment in one sequence."
                )
        has_rewards = isinstance(trajectory, types.TrajectoryWithRew)
        if has_rewards != isinstance(first, types.TrajectoryWithRew):
            raise ValueError(
                f"Episode {index} of {description} {'has' if has_rewards else 'lacks'} rewards but episode 0 "
                f"does not: give every episode rewards, or none."
            )
    return EpisodeColumns.from_trajectories(trajectories)


def is_replaceable_dataset(target: Path) -> bool:
    """Whether ``target`` may be overwritten by a dataset: an empty folder or a datasets folder."""
    return target.is_dir() and (not any(target.iterdir()) or (target / "state.json").is_file())


def copy_dataset_files(source: Path, destination: Path) -> None:
    """Copy the files of a dataset folder (shards, state and info) into ``destination``.

    :param source: an existing dataset folder.
    :param destination: an existing, empty folder.
    """
    for file in source.iterdir():
        if file.is_file():
            shutil.copy2(file, destination / file.name)
