"""``EpisodeSequence``: recorded episodes for imitation learning, in the ``imitation`` library's format.

The data format
---------------
An episode of length ``L`` is one ``imitation.data.types.TrajectoryWithRew``:

- ``obs``: ``(L + 1, *observation_shape)`` every observation, including the one after the last action;
- ``acts``: ``(L, *action_shape)`` the actions;
- ``rews``: ``(L,)`` float rewards;
- ``infos``: ``(L,)`` object array of the ``info`` dicts of the steps;
- ``terminal``: whether the episode ended (terminated or truncated) rather than being cut off.

On disk, ``save`` writes what ``imitation.data.serialize.save`` writes: a HuggingFace ``datasets``
folder with one row per episode (see ``episode_arrow`` for the columns). A saved folder is opened
lazily: only episode lengths are read, and iteration, batches and statistics stream from the
memory-mapped files, so datasets far larger than RAM work.

Examples::

    seq = EpisodeSequence.from_agent(expert, "CartPole-v1", n_episodes=20, seed=0)
    seq.save("demos/cartpole")
    seq = EpisodeSequence.from_dataset("demos/cartpole")
    print(seq.statistics())
    for batch in seq.transition_batches(batch_size=32):  # one pass = one epoch
        ...
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import gymnasium as gym
import numpy as np
from imitation.data import types

from rl_framework.data.arrow import ArrowEpisodes
from rl_framework.data.batches import TransitionBatches, episode_blocks
from rl_framework.data.building import EpisodeLayout, GrowingEpisodes, SelectedEpisodes, as_trajectory
from rl_framework.data.compatibility import check_episodes_fit
from rl_framework.data.recording import record_trajectories, trajectory_from_steps
from rl_framework.data.sources import (
    EpisodeSource,
    MemoryEpisodes,
    columns_of,
    copy_dataset_files,
    is_replaceable_dataset,
    open_episodes,
)
from rl_framework.data.statistics import EpisodeStatistics
from rl_framework.util.files import atomic_directory

DEFAULT_BUFFER_TRANSITIONS = 50_000
"""Transitions held in memory at once while streaming (a few MB for vector observations)."""


class EpisodeSequence:
    """An ordered collection of recorded episodes (the demonstrations of imitation learning).

    Build one with ``from_dataset``, ``from_trajectories``, ``from_episodes``, ``from_agent`` or
    ``from_generator``, or start with ``empty`` and ``append``; don't call the constructor. Only
    sequences made by ``empty``/``from_generator`` grow; the others are immutable. ``len(seq)`` is
    the number of episodes, ``seq[i]`` one episode and ``seq[a:b]`` a lazy sub-sequence,
    iterating yields one ``TrajectoryWithRew`` per episode (a ``Trajectory`` if the data has no
    rewards), and ``transition_batches`` streams shuffled transitions for training.

    :param source: where the episodes live (internal).
    """

    def __init__(self, source: EpisodeSource) -> None:
        self._source = source
        first = source.read(0, min(1, len(source)))  # an empty (growing) source gives its layout in a 0-episode block
        self.observation_shape: tuple[int, ...] = tuple(first.observations.shape[1:])
        """Shape of one observation (from the first episode)."""
        self.observation_dtype: np.dtype[Any] = first.observations.dtype
        """Dtype of the observations."""
        self.action_shape: tuple[int, ...] = tuple(first.actions.shape[1:])
        """Shape of one action: ``()`` for a ``Discrete`` action space."""
        self.action_dtype: np.dtype[Any] = first.actions.dtype
        """Dtype of the actions."""

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_dataset(cls, path: str | os.PathLike[str], allow_pickle: bool = False) -> EpisodeSequence:
        """Open episodes saved by ``save`` or ``imitation.data.serialize.save``, without running anything.

        A dataset folder is opened lazily (memory-mapped; nothing but episode lengths, and the
        infos that use jsonpickle tags, is read now). Infos are decoded as plain data, tuples,
        sets, bytes and numpy arrays; an info that names anything else (jsonpickle's objects,
        reduces, functions, types) is refused, where imitation's own loader would run it.

        :param path: the dataset folder, or (with ``allow_pickle``) an old ``.npz``/``.pkl`` file.
        :param allow_pickle: trust the data: decode infos with ``jsonpickle`` itself and read
            imitation's old ``.npz``/``.pkl`` files (loaded into memory), both of which run
            whatever code the file's author put in them. Only for data from a source you trust.
        :return: the episodes.
        :raises FileNotFoundError: if nothing exists at ``path``.
        :raises UnsafeContentError: (a ``ValueError``) for an old file or unsafe infos without
            ``allow_pickle``; the message names the opt-in.
        :raises ValueError: if ``path`` is not a trajectory dataset, holds no episodes, or its
            episodes are inconsistent.
        """
        return cls(open_episodes(path, allow_pickle))

    @classmethod
    def from_trajectories(cls, trajectories: Sequence[types.Trajectory]) -> EpisodeSequence:
        """Wrap imitation trajectories (e.g. from ``imitation.data.rollout.rollout``); they are copied.

        :param trajectories: ``TrajectoryWithRew`` (or all plain ``Trajectory``) objects with one
            observation/action shape and dtype.
        :return: the episodes, in memory.
        :raises ValueError: if the list is empty or the trajectories disagree.
        """
        return cls(MemoryEpisodes(columns_of(list(trajectories), "the given trajectories")))

    @classmethod
    def from_episodes(cls, episodes: Iterable[Sequence[Sequence[Any]]]) -> EpisodeSequence:
        """Build episodes from plain Python lists of per-step tuples.

        Each episode is a list of steps ``(observation, action, next_observation, reward,
        terminated, truncated, info)`` exactly as ``env.step`` produces them, in order; each
        ``next_observation`` must equal the following step's ``observation``.

        :param episodes: a list (or any iterable, e.g. a generator) of episodes, each a non-empty
            list of step tuples.
        :return: the episodes, in memory (rewards stored as float32).
        :raises ValueError: if there are no episodes, or an episode is empty or inconsistent.
        """
        trajectories = [trajectory_from_steps(steps, index) for index, steps in enumerate(episodes)]
        return cls(MemoryEpisodes(columns_of(trajectories, "the given episodes")))

    @classmethod
    def from_agent(
        cls,
        agent_or_policy: Any,
        environment: gym.Env | str,
        n_episodes: int,
        seed: int | None = None,
        deterministic: bool = True,
    ) -> EpisodeSequence:
        """Record ``n_episodes`` episodes of an expert acting in ``environment``.

        :param agent_or_policy: an rl_framework agent (``choose_action``), a Stable-Baselines3
            model or policy (``predict``), or any callable ``policy(observation) -> action``.
        :param environment: a gymnasium env, or an env id such as ``"CartPole-v1"``.
        :param n_episodes: how many complete episodes to record (> 0).
        :param seed: episode ``i`` resets the environment with ``seed + i``; ``None``: unseeded.
        :param deterministic: let agents/models take their most likely action.
        :return: the recorded episodes, in memory.
        """
        trajectories = record_trajectories(agent_or_policy, environment, n_episodes, seed, deterministic)
        return cls(MemoryEpisodes(columns_of(trajectories, "the recorded episodes")))

    @classmethod
    def from_generator(cls, episodes: Iterable[Any]) -> EpisodeSequence:
        """Build episodes from an iterable consumed once, e.g. a generator that records them.

        Each item is an imitation ``TrajectoryWithRew`` (or ``Trajectory``) or a list of step
        tuples as in ``from_episodes``. Episodes are appended one at a time to growing buffers
        (no list of all episodes is kept), so the result also takes ``append``.

        :param episodes: the episodes; all must share shapes and dtypes (those of the first).
        :return: the episodes, in memory.
        :raises ValueError: if there are no episodes, or one is inconsistent with the first.
        """
        iterator = iter(episodes)
        first = next(iterator, None)
        if first is None:
            raise ValueError(
                "The generator yielded no episodes. For a sequence that starts empty use "
                "EpisodeSequence.empty(observation_space, action_space) and append(...) to it."
            )
        trajectory = as_trajectory(first, 0)
        source = GrowingEpisodes(EpisodeLayout.of_columns(columns_of([trajectory], "episode 0")))
        source.append(trajectory, 0)
        for index, episode in enumerate(iterator, start=1):
            source.append(as_trajectory(episode, index), index)
        return cls(source)

    @classmethod
    def empty(
        cls, observation_space: gym.Space[Any], action_space: gym.Space[Any], with_rewards: bool = True
    ) -> EpisodeSequence:
        """An empty sequence for the episodes of an environment with these spaces; fill it with ``append``.

        :param observation_space: the environment's observation space (its shape and dtype are kept).
        :param action_space: the environment's action space.
        :param with_rewards: whether the episodes will carry rewards.
        :return: an empty sequence.
        :raises ValueError: for ``Dict``/``Tuple`` spaces (imitation's format stores arrays only).
        """
        return cls(GrowingEpisodes(EpisodeLayout.of_spaces(observation_space, action_space, with_rewards)))

    def append(self, episode: Any) -> None:
        """Append one episode to a sequence made by ``empty`` or ``from_generator``.

        :param episode: a ``TrajectoryWithRew`` (or ``Trajectory``) or a list of step tuples (see
            ``from_episodes``); observations and actions are cast to the sequence's dtypes.
        :raises TypeError: for a sequence of another kind (its episodes are fixed).
        :raises ValueError: when the episode's shapes, dtype kinds or rewards differ from the sequence's.
        """
        if not isinstance(self._source, GrowingEpisodes):
            raise TypeError(
                f"This EpisodeSequence reads {self._source.description} and cannot grow. Append to one made with "
                f"EpisodeSequence.empty(...) or .from_generator(...), e.g. "
                f"EpisodeSequence.from_generator(itertools.chain(sequence, [episode]))."
            )
        self._source.append(as_trajectory(episode, len(self)), len(self))

    # -- saving ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the episodes as imitation's dataset folder, atomically.

        The folder is written beside ``path`` under a temporary name and renamed into place, so
        a failed save leaves no half-written dataset. It reads back with ``from_dataset`` and
        with ``imitation.data.serialize.load``. An existing dataset folder at ``path`` is replaced.

        :param path: the destination folder.
        :return: the destination as a ``Path``.
        :raises ValueError: if ``path`` is a file or a non-empty folder that is not a dataset.
        """
        if len(self) == 0:
            raise ValueError("The episode sequence is empty, and imitation's format cannot save no episodes.")
        with atomic_directory(path, is_replaceable_dataset, "a trajectory dataset") as temporary:
            if isinstance(self._source, ArrowEpisodes):
                copy_dataset_files(self._source.folder, temporary)
            else:
                from imitation.data import serialize

                serialize.save(temporary, list(self))
        return Path(path)

    # -- reading --------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of episodes."""
        return len(self._source)

    def __iter__(self) -> Iterator[types.Trajectory]:
        """Yield the episodes in order, one ``TrajectoryWithRew`` at a time (streamed from disk for datasets)."""
        for start, stop in episode_blocks(self._source.lengths, DEFAULT_BUFFER_TRANSITIONS):
            columns = self._source.read(start, stop)
            for episode in range(columns.n_episodes):
                yield columns.trajectory(episode)
            self._source.release_pages()

    @overload
    def __getitem__(self, index: int) -> types.Trajectory: ...

    @overload
    def __getitem__(self, index: slice) -> EpisodeSequence: ...

    def __getitem__(self, index: int | slice) -> types.Trajectory | EpisodeSequence:
        """Episode ``index`` as a ``TrajectoryWithRew`` (negative counts from the end), or a slice as a sequence.

        A slice is a lazy view: slicing a dataset read from disk reads nothing until used.

        :raises IndexError: for an episode index out of range.
        """
        if isinstance(index, slice):
            layout = EpisodeLayout.of_columns(self._source.read(0, min(1, len(self))))
            chosen = np.arange(len(self))[index]
            return EpisodeSequence(SelectedEpisodes(self._source, chosen, layout))
        position = operator.index(index)
        if not -len(self) <= position < len(self):
            raise IndexError(f"Episode index {index} is out of range for {len(self)} episodes.")
        position %= len(self)
        return self._source.read(position, position + 1).trajectory(0)

    def __repr__(self) -> str:
        return (
            f"EpisodeSequence({len(self)} episodes, {self.n_transitions} transitions from {self._source.description})"
        )

    @property
    def episode_lengths(self) -> np.ndarray:
        """Length (number of actions) of every episode, in order."""
        return self._source.lengths.copy()

    @property
    def n_transitions(self) -> int:
        """Total number of transitions (actions) over all episodes."""
        return int(self._source.lengths.sum())

    def statistics(self) -> EpisodeStatistics:
        """Return episode count, transition count, return and length summaries (streams over the data).

        :return: the statistics.
        """
        lengths = self._source.lengths
        if len(lengths) == 0:
            raise ValueError("The episode sequence is empty: append(...) episodes first.")
        returns = self._returns()
        return EpisodeStatistics(
            n_episodes=len(lengths),
            n_transitions=int(lengths.sum()),
            return_mean=None if returns is None else float(np.mean(returns)),
            return_std=None if returns is None else float(np.std(returns)),
            return_min=None if returns is None else float(np.min(returns)),
            return_max=None if returns is None else float(np.max(returns)),
            length_mean=float(np.mean(lengths)),
            length_min=int(np.min(lengths)),
            length_max=int(np.max(lengths)),
        )

    def _returns(self) -> np.ndarray | None:
        """Every episode's return, reading the rewards block by block."""
        if not self._source.has_rewards:
            return None
        parts = []
        for start, stop in episode_blocks(self._source.lengths, DEFAULT_BUFFER_TRANSITIONS):
            parts.append(self._source.read(start, stop).returns())
            self._source.release_pages()
        return np.concatenate([part for part in parts if part is not None])

    # -- transitions ----------------------------------------------------------------------------
    def transition_batches(
        self,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        buffer_transitions: int = DEFAULT_BUFFER_TRANSITIONS,
    ) -> TransitionBatches:
        """Return a re-iterable stream of transition batches; each ``iter()`` is one pass (epoch).

        Batches are dicts of numpy arrays with keys ``obs``, ``acts``, ``next_obs``, ``dones`` and
        ``infos`` (imitation's ``TransitionMapping``, accepted as ``demonstrations`` by imitation's
        BC and adversarial trainers). Every transition appears exactly once per pass. All batches
        hold ``batch_size`` transitions except possibly the last of a pass; imitation's trainers
        reject a batch of another size, so pass ``drop_last=True`` for them (at most
        ``batch_size - 1`` transitions per pass are then skipped; with shuffling, different ones each pass).

        The data streams from disk: at most ``buffer_transitions`` transitions (and one batch
        carried over) are in memory at once. Shuffling visits blocks of whole episodes in random
        order, mixes several blocks in the buffer and permutes the buffer's transitions.

        :param batch_size: transitions per batch (> 0).
        :param shuffle: shuffle within the bounded buffer (see above); ``False`` keeps episode order.
        :param seed: seed for the shuffling; ``None`` for a fresh random order.
        :param drop_last: skip the final batch of a pass when it is short.
        :param buffer_transitions: memory bound of the shuffle buffer, in transitions.
        :return: the batch stream (``len()`` gives the number of batches per pass).
        """
        return TransitionBatches(self._source, batch_size, shuffle, seed, drop_last, buffer_transitions)

    def to_transitions(self) -> types.Transitions:
        """Return every transition in episode order as one in-memory imitation ``Transitions``.

        This materialises the whole dataset; prefer ``transition_batches`` for large data.

        :return: ``Transitions`` with ``obs``, ``acts``, ``next_obs``, ``dones`` and ``infos``.
        """
        everything = self.transition_batches(self.n_transitions, shuffle=False, buffer_transitions=self.n_transitions)
        return types.Transitions(**next(iter(everything)))

    # -- checking -------------------------------------------------------------------------------
    def check_compatible(self, observation_space: gym.Space[Any], action_space: gym.Space[Any]) -> None:
        """Raise if the episodes' observations or actions cannot come from these spaces.

        :param observation_space: the environment's observation space.
        :param action_space: the environment's action space.
        :raises ValueError: naming the episodes' shape and the space's shape when they differ,
            when discrete actions are stored as non-integers, when an action lies outside a
            discrete space (episodes from another environment), or when an action is NaN/inf.
        """
        check_episodes_fit(
            self._source,
            self.observation_shape,
            self.action_shape,
            self.action_dtype,
            observation_space,
            action_space,
        )


__all__ = ["EpisodeSequence", "EpisodeStatistics"]
