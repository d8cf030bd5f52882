"""Whether recorded episodes fit an environment: shapes, dtypes and every action's value.

``EpisodeSequence.check_compatible`` runs this before any training, so episodes recorded in another
environment fail with a message naming the mismatch instead of deep inside torch (an index outside
a discrete space) or silently (a NaN action turns the loss into NaN).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rl_framework.data.batches import episode_blocks
from rl_framework.data.sources import EpisodeSource

#: Transitions read at once while checking the actions (the data stays memory-mapped).
CHECK_BLOCK_TRANSITIONS = 50_000


def check_episodes_fit(
    source: EpisodeSource,
    observation_shape: tuple[int, ...],
    action_shape: tuple[int, ...],
    action_dtype: np.dtype[Any],
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
) -> None:
    """Raise if the episodes' observations or actions cannot come from these spaces.

    :param source: the episodes' storage.
    :param observation_shape: the shape of one stored observation.
    :param action_shape: the shape of one stored action.
    :param action_dtype: the stored actions' dtype.
    :param observation_space: the environment's observation space.
    :param action_space: the environment's action space.
    :raises ValueError: naming the episodes' shape and the space's shape when they differ, when
        discrete actions are stored as non-integers, when an action lies outside a discrete space,
        or when an action is NaN/inf.
    """
    for what, shape, space in (
        ("observations", observation_shape, observation_space),
        ("actions", action_shape, action_space),
    ):
        if space.shape is None or tuple(space.shape) != shape:
            raise ValueError(
                f"The episodes' {what} have shape {shape} but the environment's {what[:-1]} space {space} "
                f"has shape {space.shape}. Train in the environment the episodes were recorded in "
                f"(or wrap it so its spaces match)."
            )
    discrete = isinstance(action_space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete))
    if discrete and not np.issubdtype(action_dtype, np.integer):
        raise ValueError(
            f"The episodes' actions have dtype {action_dtype} but the environment's action space "
            f"{action_space} is discrete: record the episodes with integer actions."
        )
    # Values, block by block (datasets are memory-mapped): an index outside a discrete space
    # would otherwise fail deep inside torch, a NaN action would silently turn the loss into NaN.
    if isinstance(action_space, gym.spaces.Discrete):
        low, high = np.asarray(action_space.start), np.asarray(action_space.start + action_space.n - 1)
    elif isinstance(action_space, gym.spaces.MultiDiscrete):
        low, high = np.asarray(action_space.start), np.asarray(action_space.start + action_space.nvec - 1)
    elif isinstance(action_space, gym.spaces.MultiBinary):
        low, high = np.asarray(0), np.asarray(1)
    else:
        low = high = None  # type: ignore[assignment]  # continuous actions: only NaN/inf are checked
    start = 0
    for first, stop in episode_blocks(source.lengths, CHECK_BLOCK_TRANSITIONS):
        actions = source.read(first, stop).actions
        bad = ~np.isfinite(actions) if np.issubdtype(actions.dtype, np.floating) else np.zeros(actions.shape, bool)
        if low is not None:
            bad |= (actions < low) | (actions > high)
        if bad.any():
            index = int(np.flatnonzero(bad.reshape(len(actions), -1).any(axis=1))[0])
            raise ValueError(
                f"Transition {start + index} of the episodes has the action {actions[index].tolist()}, which the "
                f"environment's action space {action_space} cannot take (out of range or NaN/inf): the episodes "
                f"were recorded in another environment. Train in that environment, or record new episodes."
            )
        start += len(actions)
        source.release_pages()
