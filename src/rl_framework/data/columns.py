"""Whole episodes laid end to end in flat arrays: the unit ``EpisodeSequence`` reads and batches.

An ``EpisodeColumns`` block is what one read from disk (or from memory) returns: a run of
consecutive episodes whose observations, actions, rewards and infos sit back to back. From it we
cut imitation's per-episode ``TrajectoryWithRew`` objects or per-transition batches by index
arithmetic instead of per-step Python loops.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from imitation.data import types

from rl_framework.data.infos import decode_info

EMPTY_INFO_ENCODING = "{}"
"""How ``jsonpickle`` (imitation's info encoding) writes an empty info dict: the common case."""


def decode_infos(
    infos: np.ndarray, encoded: bool, allow_pickle: bool = False, where: str = "the dataset"
) -> np.ndarray:
    """Return ``infos`` as an object array of info dicts.

    :param infos: info dicts, or their ``jsonpickle`` strings as imitation's datasets store them.
    :param encoded: whether ``infos`` holds strings that still need decoding.
    :param allow_pickle: decode with ``jsonpickle`` itself, which imports and runs whatever the
        text names; otherwise only plain data and numpy arrays are read (``data/infos.py``).
    :param where: the dataset, for messages.
    :return: a 1-D object array of dicts (a fresh dict per empty info, so callers may mutate them).
    :raises UnsafeContentError: for an info only jsonpickle could rebuild, without ``allow_pickle``.
    """
    if not encoded:
        return infos
    if allow_pickle:
        import jsonpickle

        decode: Callable[[str], Any] = jsonpickle.decode
    else:
        decode = functools.partial(decode_info, where=where)
    decoded = np.empty(len(infos), dtype=object)
    for index, text in enumerate(infos):
        # Most steps carry no info; skipping the decoder for them makes a pass several times faster.
        decoded[index] = {} if text == EMPTY_INFO_ENCODING else decode(text)
    return decoded


@dataclass(frozen=True)
class EpisodeColumns:
    """A run of complete episodes stored end to end.

    With ``L_e`` the length (number of actions) of episode ``e`` and ``N = sum(L_e)``:

    :param observations: ``(N + n_episodes, *observation_shape)``; episode ``e`` contributes its
        ``L_e + 1`` observations (the last one is the observation after its final action).
    :param actions: ``(N, *action_shape)``.
    :param rewards: ``(N,)`` floats, or ``None`` when the episodes carry no rewards.
    :param infos: ``(N,)`` object array of info dicts, or of their ``jsonpickle`` strings.
    :param infos_encoded: whether ``infos`` holds strings (as read from an imitation dataset).
    :param terminal: ``(n_episodes,)`` bools: whether each episode ended (imitation's ``terminal``).
    :param lengths: ``(n_episodes,)`` episode lengths ``L_e`` (each at least 1).
    :param allow_pickle: decode encoded infos with ``jsonpickle`` itself (the caller trusts the data).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray | None
    infos: np.ndarray
    infos_encoded: bool
    terminal: np.ndarray
    lengths: np.ndarray
    allow_pickle: bool = False

    def __post_init__(self) -> None:
        n_transitions = int(self.lengths.sum())
        n_episodes = len(self.lengths)
        if len(self.terminal) != n_episodes:
            raise ValueError(f"{len(self.terminal)} terminal flags for {n_episodes} episodes.")
        if len(self.observations) != n_transitions + n_episodes:
            raise ValueError(
                f"{len(self.observations)} observations for {n_episodes} episodes with {n_transitions} "
                f"actions: every episode needs exactly one more observation than actions."
            )
        for name, column in (("actions", self.actions), ("rewards", self.rewards), ("infos", self.infos)):
            if column is not None and len(column) != n_transitions:
                raise ValueError(f"{len(column)} {name} for {n_transitions} actions: expected one per action.")

    @property
    def n_episodes(self) -> int:
        """Number of episodes in the block."""
        return len(self.lengths)

    @property
    def n_transitions(self) -> int:
        """Number of transitions (actions) in the block."""
        return int(self.lengths.sum())

    def transition_starts(self) -> np.ndarray:
        """Return the index of each episode's first transition (``n_episodes + 1`` entries, last = N)."""
        return np.concatenate(([0], np.cumsum(self.lengths)))

    def observation_index(self) -> np.ndarray:
        """Return, per transition, the index of its observation in ``observations``.

        Episode ``e`` is shifted by ``e`` because each earlier episode stored one extra observation;
        the next observation of transition ``i`` is always at ``observation_index()[i] + 1``.
        """
        episode_of_transition = np.repeat(np.arange(self.n_episodes), self.lengths)
        return np.arange(self.n_transitions) + episode_of_transition

    def dones(self) -> np.ndarray:
        """Return imitation's per-transition ``dones``: the episode's ``terminal`` flag on its last step."""
        dones = np.zeros(self.n_transitions, dtype=bool)
        dones[self.transition_starts()[1:] - 1] = self.terminal
        return dones

    def returns(self) -> np.ndarray | None:
        """Return each episode's undiscounted return, or ``None`` without rewards."""
        if self.rewards is None:
            return None
        return np.add.reduceat(self.rewards.astype(np.float64), self.transition_starts()[:-1])

    def trajectory(self, episode: int) -> types.Trajectory:
        """Return episode ``episode`` of the block as an imitation trajectory.

        :param episode: index within this block.
        :return: a ``TrajectoryWithRew`` when rewards are stored, else a ``Trajectory``.
        """
        start, stop = self.transition_starts()[episode : episode + 2]
        observations = self.observations[start + episode : stop + episode + 1]
        infos = decode_infos(self.infos[start:stop], self.infos_encoded, self.allow_pickle)
        terminal = bool(self.terminal[episode])
        if self.rewards is None:
            return types.Trajectory(obs=observations, acts=self.actions[start:stop], infos=infos, terminal=terminal)
        return types.TrajectoryWithRew(
            obs=observations,
            acts=self.actions[start:stop],
            infos=infos,
            terminal=terminal,
            rews=self.rewards[start:stop],
        )

    def episodes(self, start: int, stop: int) -> EpisodeColumns:
        """Return episodes ``start`` to ``stop - 1`` of this block (views, no copy).

        :param start: first episode index.
        :param stop: one past the last episode index.
        :return: the sub-block.
        """
        starts = self.transition_starts()
        first, last = int(starts[start]), int(starts[stop])
        return EpisodeColumns(
            observations=self.observations[first + start : last + stop],
            actions=self.actions[first:last],
            rewards=None if self.rewards is None else self.rewards[first:last],
            infos=self.infos[first:last],
            infos_encoded=self.infos_encoded,
            terminal=self.terminal[start:stop],
            lengths=self.lengths[start:stop],
            allow_pickle=self.allow_pickle,
        )

    def transitions(self, order: np.ndarray | None = None) -> dict[str, Any]:
        """Return the block's transitions as imitation's ``TransitionMapping`` arrays.

        :param order: transition indices to take, in this order (``None``: all, in episode order).
        :return: a dict with ``obs``, ``acts``, ``next_obs``, ``dones`` and (still encoded if
            ``infos_encoded``) ``infos``, each a fresh array with one row per selected transition.
        """
        if order is None:
            order = np.arange(self.n_transitions)
        observation_index = self.observation_index()[order]
        return {
            "obs": self.observations[observation_index],
            "acts": self.actions[order],
            "next_obs": self.observations[observation_index + 1],
            "dones": self.dones()[order],
            "infos": self.infos[order],
        }

    @classmethod
    def from_trajectories(cls, trajectories: Sequence[types.Trajectory]) -> EpisodeColumns:
        """Lay imitation trajectories end to end (copies their arrays).

        :param trajectories: at least one trajectory; all with rewards or all without.
        :return: the block.
        """
        with_rewards = isinstance(trajectories[0], types.TrajectoryWithRew)
        return cls(
            observations=np.concatenate([np.asarray(trajectory.obs) for trajectory in trajectories]),
            actions=np.concatenate([trajectory.acts for trajectory in trajectories]),
            rewards=(
                np.concatenate([trajectory.rews for trajectory in trajectories])  # type: ignore[attr-defined]
                if with_rewards
                else None
            ),
            infos=np.concatenate([_infos_of(trajectory) for trajectory in trajectories]),
            infos_encoded=False,
            terminal=np.array([trajectory.terminal for trajectory in trajectories], dtype=bool),
            lengths=np.array([len(trajectory) for trajectory in trajectories], dtype=np.int64),
        )


def _infos_of(trajectory: types.Trajectory) -> np.ndarray:
    """Return a trajectory's infos as an object array (imitation allows ``None`` for "all empty")."""
    infos = np.empty(len(trajectory), dtype=object)
    if trajectory.infos is None:
        for index in range(len(trajectory)):
            infos[index] = {}
    else:
        for index, info in enumerate(trajectory.infos):
            infos[index] = info
    return infos
