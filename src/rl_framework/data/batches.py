"""Streaming transition batches out of an episode source, one bounded buffer at a time.

How one pass (epoch) works:

1. The episodes are split once into *blocks* of consecutive episodes of about
   ``buffer_transitions / BLOCKS_PER_BUFFER`` transitions each (always whole episodes).
2. With ``shuffle=True`` each pass visits the blocks in a fresh random order and fills a buffer
   with ``BLOCKS_PER_BUFFER`` of them, so transitions from distant parts of the dataset meet;
   the buffer's transitions are then permuted.
3. The buffer is cut into batches of ``batch_size``; the remainder (fewer than ``batch_size``)
   is carried into the next buffer, so every batch is full except possibly the very last one.

Only one buffer (plus the carried remainder) is in memory at a time, whatever the dataset size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from rl_framework.data.columns import decode_infos
from rl_framework.data.sources import EpisodeSource
from rl_framework.util.checks import positive_int

BLOCKS_PER_BUFFER = 4
"""How many independently chosen blocks one shuffle buffer mixes."""


def episode_blocks(lengths: np.ndarray, block_transitions: int) -> list[tuple[int, int]]:
    """Split episodes into runs of consecutive whole episodes of about ``block_transitions`` transitions.

    :param lengths: the episode lengths, in order.
    :param block_transitions: target transitions per block (a long episode makes a block alone).
    :return: ``(start, stop)`` episode ranges covering every episode once, in order.
    """
    ends = np.cumsum(lengths)
    blocks = []
    start = 0
    while start < len(lengths):
        already = ends[start - 1] if start else 0
        # first episode whose end reaches the target; at least one episode per block
        stop = int(np.searchsorted(ends, already + block_transitions, side="left")) + 1
        stop = max(start + 1, min(stop, len(lengths)))
        blocks.append((start, stop))
        start = stop
    return blocks


class TransitionBatches:
    """A re-iterable stream of transition batches; every ``iter()`` is one new pass over all transitions.

    Each batch is a dict in imitation's ``TransitionMapping`` layout, which imitation's ``BC`` and
    adversarial trainers accept as demonstrations:

    - ``obs``: ``(batch, *observation_shape)`` observations the actions were chosen on,
    - ``acts``: ``(batch, *action_shape)`` the actions,
    - ``next_obs``: ``(batch, *observation_shape)`` the observations after the actions,
    - ``dones``: ``(batch,)`` bools, true on the last step of an episode that ended,
    - ``infos``: ``(batch,)`` object array of the steps' info dicts.

    Every transition appears exactly once per pass. Batches hold ``batch_size`` transitions
    except possibly the last of a pass; with ``drop_last=True`` that short batch is dropped,
    which imitation's trainers need, as they reject a batch of a different size.

    :param source: where the episodes are read from.
    :param batch_size: transitions per batch (> 0).
    :param shuffle: mix transitions across the dataset within a bounded buffer (see module docs).
    :param seed: seeds the shuffling. Each pass draws from one generator, so passes differ, and
        a new ``TransitionBatches`` with the same seed repeats the same sequence of passes.
    :param drop_last: skip the final short batch of a pass.
    :param buffer_transitions: transitions held in memory at once (at least ``batch_size``).
    :param decode_infos: turn stored ``jsonpickle`` infos into dicts in every batch. A consumer that
        never reads ``infos`` (imitation's BC and adversarial trainers) sets this (or the attribute)
        to ``False`` and gets them as stored: decoding costs about 30 us per non-empty info, as much
        per batch of 32 as a BC update of a small policy.
    """

    def __init__(
        self,
        source: EpisodeSource,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
        drop_last: bool,
        buffer_transitions: int,
        decode_infos: bool = True,
    ) -> None:
        batch_size = positive_int(batch_size, "batch_size")
        if buffer_transitions <= 0:
            raise ValueError(f"buffer_transitions must be positive, got {buffer_transitions!r}.")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._source = source
        self._blocks_per_buffer = BLOCKS_PER_BUFFER if shuffle else 1
        block_transitions = max(buffer_transitions, self.batch_size) // self._blocks_per_buffer
        self._blocks = episode_blocks(source.lengths, max(1, block_transitions))
        self._rng = np.random.default_rng(seed)
        self.decode_infos = decode_infos

    def __len__(self) -> int:
        """Number of batches in one pass."""
        n_transitions = int(self._source.lengths.sum())
        full, rest = divmod(n_transitions, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Start a new pass over every transition."""
        block_order = self._rng.permutation(len(self._blocks)) if self.shuffle else np.arange(len(self._blocks))
        carried: dict[str, np.ndarray] | None = None
        for first in range(0, len(block_order), self._blocks_per_buffer):
            buffer = self._fill_buffer(block_order[first : first + self._blocks_per_buffer], carried)
            n_full = len(buffer["acts"]) // self.batch_size * self.batch_size
            for start in range(0, n_full, self.batch_size):
                # copies, so a batch the caller keeps does not pin the whole buffer
                yield self._finish(
                    {key: value[start : start + self.batch_size].copy() for key, value in buffer.items()}
                )
            carried = {key: value[n_full:].copy() for key, value in buffer.items()}
            del buffer  # free this buffer before the next one is filled
        if carried is not None and len(carried["acts"]) and not self.drop_last:
            yield self._finish(carried)

    def _fill_buffer(self, blocks: np.ndarray, carried: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """Gather the carried transitions and the given blocks' transitions into one (permuted) buffer.

        Each block is scattered straight to its shuffled positions, so the buffer is the only
        full-size copy; a block's pages are released as soon as it has been copied.
        """
        columns = [self._source.read(*self._blocks[int(block)]) for block in blocks]
        n_carried = 0 if carried is None else len(carried["acts"])
        total = n_carried + sum(column.n_transitions for column in columns)
        destination = self._rng.permutation(total) if self.shuffle else np.arange(total)
        example = columns[0]
        buffer = {
            "obs": np.empty((total, *example.observations.shape[1:]), dtype=example.observations.dtype),
            "acts": np.empty((total, *example.actions.shape[1:]), dtype=example.actions.dtype),
            "next_obs": np.empty((total, *example.observations.shape[1:]), dtype=example.observations.dtype),
            "dones": np.empty(total, dtype=bool),
            "infos": np.empty(total, dtype=object),
        }
        if carried is not None:
            for key, value in carried.items():
                buffer[key][destination[:n_carried]] = value
        position = n_carried
        for column in columns:
            targets = destination[position : position + column.n_transitions]
            for key, value in column.transitions().items():
                buffer[key][targets] = value
            position += column.n_transitions
            self._source.release_pages()
        return buffer

    def _finish(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        """Decode the batch's infos (kept encoded until now: most are never looked at twice), if wanted."""
        if self.decode_infos:
            source = self._source
            batch["infos"] = decode_infos(batch["infos"], source.infos_encoded, source.allow_pickle, source.description)
        return batch
