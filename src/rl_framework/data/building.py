"""Episode sources built step by step: a growing in-memory source (``append``) and selections (slices).

``GrowingEpisodes`` keeps each column in a buffer that doubles when full, so appending ``n``
episodes costs amortised O(total size), and every read is a view of what was appended so far
(later appends never change episodes already handed out). ``SelectedEpisodes`` is a lazy view
of some episodes of another source: a slice of a memory-mapped dataset stays memory-mapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from imitation.data import types

from rl_framework.data.columns import EpisodeColumns
from rl_framework.data.recording import trajectory_from_steps
from rl_framework.data.sources import EpisodeSource, columns_of


@dataclass(frozen=True)
class EpisodeLayout:
    """Shapes and dtypes every episode of a sequence shares.

    :param observation_shape: shape of one observation.
    :param observation_dtype: dtype of the observations.
    :param action_shape: shape of one action (``()`` for ``Discrete``).
    :param action_dtype: dtype of the actions.
    :param has_rewards: whether the episodes carry rewards.
    """

    observation_shape: tuple[int, ...]
    observation_dtype: np.dtype[Any]
    action_shape: tuple[int, ...]
    action_dtype: np.dtype[Any]
    has_rewards: bool = True

    @classmethod
    def of_spaces(cls, observation_space: gym.Space, action_space: gym.Space, has_rewards: bool) -> EpisodeLayout:
        """The layout of episodes recorded in an environment with these spaces.

        :raises ValueError: for spaces without a fixed array shape (``Dict``, ``Tuple``), which
            imitation's format cannot store.
        """
        for kind, space in (("observation", observation_space), ("action", action_space)):
            if space.shape is None or isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
                raise ValueError(
                    f"The {kind} space {space} has no fixed array shape; imitation's episode format stores arrays "
                    f"only. Flatten it (gymnasium.wrappers.FlattenObservation for observations)."
                )
        assert observation_space.shape is not None and action_space.shape is not None  # checked above
        return cls(
            tuple(observation_space.shape),
            np.dtype(observation_space.dtype),
            tuple(action_space.shape),
            np.dtype(action_space.dtype),
            has_rewards,
        )

    @classmethod
    def of_columns(cls, columns: EpisodeColumns) -> EpisodeLayout:
        """The layout of the episodes in ``columns``."""
        return cls(
            tuple(columns.observations.shape[1:]),
            columns.observations.dtype,
            tuple(columns.actions.shape[1:]),
            columns.actions.dtype,
            columns.rewards is not None,
        )

    def empty_columns(self, infos_encoded: bool = False) -> EpisodeColumns:
        """A block of zero episodes with this layout."""
        return EpisodeColumns(
            observations=np.empty((0, *self.observation_shape), self.observation_dtype),
            actions=np.empty((0, *self.action_shape), self.action_dtype),
            rewards=np.empty(0, np.float32) if self.has_rewards else None,
            infos=np.empty(0, dtype=object),
            infos_encoded=infos_encoded,
            terminal=np.empty(0, dtype=bool),
            lengths=np.empty(0, dtype=np.int64),
        )


def as_trajectory(episode: Any, index: int) -> types.Trajectory:
    """An imitation trajectory from a ``Trajectory``/``TrajectoryWithRew`` or a list of step tuples.

    :param episode: the episode.
    :param index: its position, for error messages.
    :return: the trajectory.
    """
    if isinstance(episode, types.Trajectory):
        return episode
    if isinstance(episode, Sequence) and not isinstance(episode, (str, bytes)):
        return trajectory_from_steps(episode, index)
    raise TypeError(
        f"Episode {index} is a {type(episode).__name__}; expected an imitation TrajectoryWithRew (or Trajectory) or "
        f"a list of step tuples (observation, action, next_observation, reward, terminated, truncated, info)."
    )


class _Column:
    """A column that grows by doubling its buffer; ``values`` is a view of the filled part."""

    def __init__(self, row_shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._buffer = np.empty((16, *row_shape), dtype=dtype)
        self._size = 0

    def extend(self, rows: np.ndarray) -> None:
        needed = self._size + len(rows)
        if needed > len(self._buffer):
            grown = np.empty((max(needed, 2 * len(self._buffer)), *self._buffer.shape[1:]), self._buffer.dtype)
            grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown  # views handed out earlier keep the old buffer alive, unchanged
        self._buffer[self._size : needed] = rows
        self._size = needed

    @property
    def values(self) -> np.ndarray:
        return self._buffer[: self._size]


class GrowingEpisodes:
    """An in-memory episode source that episodes are appended to.

    :param layout: shapes and dtypes every appended episode must have.
    """

    infos_encoded = False
    allow_pickle = False  # appended infos are dicts already: nothing is ever decoded

    def __init__(self, layout: EpisodeLayout) -> None:
        self.layout = layout
        self.has_rewards = layout.has_rewards
        self._observations = _Column(layout.observation_shape, layout.observation_dtype)
        self._actions = _Column(layout.action_shape, layout.action_dtype)
        self._rewards = _Column((), np.dtype(np.float32))
        self._infos = _Column((), np.dtype(object))
        self._terminal = _Column((), np.dtype(bool))
        self._lengths = _Column((), np.dtype(np.int64))
        #: Length of every episode appended so far.
        self.lengths = self._lengths.values

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def description(self) -> str:
        """Where the episodes come from, for error messages."""
        return "the episodes appended in memory"

    def append(self, trajectory: types.Trajectory, index: int) -> None:
        """Append one episode after checking it against the layout.

        :param trajectory: the episode.
        :param index: its position in the sequence, for error messages.
        :raises ValueError: when its shapes, dtypes or reward presence differ from the layout's.
        """
        block = columns_of([trajectory], f"episode {index}")
        given = EpisodeLayout.of_columns(block)
        expected = self.layout
        for what, shape, dtype, want_shape, want_dtype in (
            (
                "observations",
                given.observation_shape,
                given.observation_dtype,
                expected.observation_shape,
                expected.observation_dtype,
            ),
            ("actions", given.action_shape, given.action_dtype, expected.action_shape, expected.action_dtype),
        ):
            if shape != want_shape or not np.can_cast(dtype, want_dtype, casting="same_kind"):
                raise ValueError(
                    f"Episode {index} has {what} of shape {shape} and dtype {dtype}; this sequence holds {what} of "
                    f"shape {want_shape} and dtype {want_dtype}. Keep episodes of one environment in one sequence."
                )
        if given.has_rewards != expected.has_rewards:
            raise ValueError(
                f"Episode {index} {'has' if given.has_rewards else 'lacks'} rewards but this sequence's episodes "
                f"{'have' if expected.has_rewards else 'have none'}: give every episode rewards, or none."
            )
        self._observations.extend(block.observations)
        self._actions.extend(block.actions)
        if block.rewards is not None:
            self._rewards.extend(block.rewards)
        self._infos.extend(block.infos)
        self._terminal.extend(block.terminal)
        self._lengths.extend(block.lengths)
        self.lengths = self._lengths.values

    def read(self, start: int, stop: int) -> EpisodeColumns:
        """Return episodes ``start`` to ``stop - 1`` (views of the buffers, no copy)."""
        everything = EpisodeColumns(
            observations=self._observations.values,
            actions=self._actions.values,
            rewards=self._rewards.values if self.has_rewards else None,
            infos=self._infos.values,
            infos_encoded=False,
            terminal=self._terminal.values,
            lengths=self.lengths,
        )
        return everything.episodes(start, stop)

    def release_pages(self) -> None:
        """Nothing to release: the episodes stay in memory."""


class SelectedEpisodes:
    """Some episodes of another source, in a given order (what slicing an ``EpisodeSequence`` returns).

    :param parent: the source the episodes live in.
    :param indices: the parent's episode indices, in the selection's order.
    :param layout: the parent's layout (an empty selection still knows its shapes).
    """

    def __init__(self, parent: EpisodeSource, indices: np.ndarray, layout: EpisodeLayout) -> None:
        self._parent = parent
        self._indices = np.asarray(indices, dtype=np.int64)
        self._layout = layout
        self.lengths = parent.lengths[self._indices]
        self.has_rewards = parent.has_rewards
        self.infos_encoded = parent.infos_encoded
        self.allow_pickle = parent.allow_pickle

    def __len__(self) -> int:
        return len(self._indices)

    @property
    def description(self) -> str:
        """Where the episodes come from, for error messages."""
        return f"{len(self)} selected episodes of {self._parent.description}"

    def read(self, start: int, stop: int) -> EpisodeColumns:
        """Return selected episodes ``start`` to ``stop - 1``, reading runs of consecutive parent episodes at once."""
        chosen = self._indices[start:stop]
        if len(chosen) == 0:
            return self._layout.empty_columns(self.infos_encoded)
        breaks = np.flatnonzero(np.diff(chosen) != 1) + 1
        runs = np.split(chosen, breaks)
        blocks = [self._parent.read(int(run[0]), int(run[-1]) + 1) for run in runs]
        return blocks[0] if len(blocks) == 1 else _concatenate(blocks)

    def release_pages(self) -> None:
        """Release what the parent's reads pinned."""
        self._parent.release_pages()


def _concatenate(blocks: list[EpisodeColumns]) -> EpisodeColumns:
    """Lay blocks end to end (copies them)."""
    rewards = [block.rewards for block in blocks]
    return EpisodeColumns(
        observations=np.concatenate([block.observations for block in blocks]),
        actions=np.concatenate([block.actions for block in blocks]),
        rewards=None if rewards[0] is None else np.concatenate(rewards),  # type: ignore[arg-type]
        infos=np.concatenate([block.infos for block in blocks]),
        infos_encoded=blocks[0].infos_encoded,
        terminal=np.concatenate([block.terminal for block in blocks]),
        lengths=np.concatenate([block.lengths for block in blocks]),
        allow_pickle=blocks[0].allow_pickle,
    )
