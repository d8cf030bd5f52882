"""Reading imitation's trajectory datasets straight from their memory-mapped Arrow files.

``imitation.data.serialize.save`` writes a HuggingFace ``datasets`` folder (``save_to_disk``):
``state.json`` naming the ``data-XXXXX-of-XXXXX.arrow`` shards, ``dataset_info.json`` with the
features, and the shards themselves in Arrow's IPC stream format. Each row is one episode:

===========  ==========================  =============================================
column       Arrow type                  meaning
===========  ==========================  =============================================
``obs``      list<list<...<number>>>     the episode's ``L + 1`` observations
``acts``     list<number or list<...>>   its ``L`` actions
``infos``    list<string>                one ``jsonpickle``-encoded info dict per action
``terminal`` bool                        whether the episode ended
``rews``     list<float>                 one reward per action (absent: no rewards)
===========  ==========================  =============================================

The shards are memory-mapped, so opening a dataset reads only the episode lengths; a read of a
few episodes touches only their bytes, and ``release_pages`` hands the touched pages back to the
operating system's file cache, so a full pass never holds the whole dataset in memory.
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path

import numpy as np
import pyarrow as pa

from rl_framework.data.columns import EMPTY_INFO_ENCODING, EpisodeColumns
from rl_framework.data.infos import decode_info

REQUIRED_COLUMNS = ("obs", "acts", "terminal")
EXPECTED_DATASET = (
    "a folder written by imitation.data.serialize.save or EpisodeSequence.save (HuggingFace datasets "
    "save_to_disk layout: state.json, dataset_info.json and data-*.arrow files with one episode per row "
    "and columns obs, acts, infos, terminal, rews)"
)


class ArrowEpisodes:
    """The episodes of one imitation dataset folder, read lazily from memory-mapped shards.

    :param folder: the dataset folder.
    :param allow_pickle: decode the infos with ``jsonpickle`` itself, which runs whatever code
        they name; otherwise only plain data and numpy arrays are read (``data/infos.py``) and
        every info that names anything else is refused when the dataset is opened.
    :raises ValueError: if the folder is not a trajectory dataset, is empty or is inconsistent.
    :raises UnsafeContentError: for infos only jsonpickle could rebuild, without ``allow_pickle``.
    """

    def __init__(self, folder: Path, allow_pickle: bool = False) -> None:
        self.folder = folder
        self.allow_pickle = allow_pickle
        self._maps: list[mmap.mmap] = []
        table = pa.concat_tables([self._map_shard(shard) for shard in _shard_paths(folder)])
        missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
        if missing:
            raise ValueError(
                f"'{folder}' is not a trajectory dataset: it has columns {table.column_names} but lacks "
                f"{missing}. Expected {EXPECTED_DATASET}."
            )
        if table.num_rows == 0:
            raise ValueError(f"The trajectory dataset '{folder}' holds no episodes: record or save some first.")
        self._table = table
        self.lengths = _list_lengths(table.column("acts"))
        self.has_rewards = "rews" in table.column_names
        self.infos_encoded = True
        self._check_lengths()
        if not allow_pickle and "infos" in table.column_names:
            self._check_infos()

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def description(self) -> str:
        """Where the episodes come from, for error messages."""
        return f"the dataset '{self.folder}'"

    def read(self, start: int, stop: int) -> EpisodeColumns:
        """Return episodes ``start`` to ``stop - 1`` as flat arrays (zero-copy views where Arrow allows).

        :param start: first episode index.
        :param stop: one past the last episode index.
        :return: the block of episodes.
        """
        rows = self._table.slice(start, stop - start)
        n_transitions = int(self.lengths[start:stop].sum())
        observations = self._values(rows.column("obs"), "obs")
        actions = self._values(rows.column("acts"), "acts")
        if "infos" in rows.column_names:
            infos = self._values(rows.column("infos"), "infos")
        else:
            infos = np.full(n_transitions, EMPTY_INFO_ENCODING, dtype=object)
        return EpisodeColumns(
            observations=observations,
            actions=actions,
            rewards=self._values(rows.column("rews"), "rews") if self.has_rewards else None,
            infos=infos,
            infos_encoded=True,
            terminal=np.concatenate([to_numpy(chunk) for chunk in rows.column("terminal").chunks]).astype(bool),
            lengths=self.lengths[start:stop],
            allow_pickle=self.allow_pickle,
        )

    def release_pages(self) -> None:
        """Drop the shard pages this process has touched; later reads fault them back in from the file."""
        if not hasattr(mmap, "MADV_DONTNEED"):  # not offered on every platform; then the OS decides
            return
        for shard_map in self._maps:
            shard_map.madvise(mmap.MADV_DONTNEED)

    # -- internals ------------------------------------------------------------------------------
    def _map_shard(self, shard: Path) -> pa.Table:
        """Memory-map one Arrow shard and return its table (whose buffers point into the map)."""
        try:
            with shard.open("rb") as handle:
                shard_map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            table = pa.ipc.open_stream(pa.BufferReader(pa.py_buffer(shard_map))).read_all()
        except (ValueError, OSError, pa.ArrowInvalid) as error:
            raise ValueError(
                f"Cannot read '{shard}' as an Arrow shard ({error}). Expected {EXPECTED_DATASET}."
            ) from error
        self._maps.append(shard_map)
        return table

    def _check_lengths(self) -> None:
        """Check per episode: no empty episode, one more observation than actions, one reward/info per action."""
        if np.any(self.lengths == 0):
            episode = int(np.argmax(self.lengths == 0))
            raise ValueError(f"Episode {episode} of '{self.folder}' has no actions: every episode needs at least one.")
        expected = {"obs": self.lengths + 1, "rews": self.lengths, "infos": self.lengths}
        for name, lengths in expected.items():
            if name not in self._table.column_names:
                continue
            mismatch = np.flatnonzero(_list_lengths(self._table.column(name)) != lengths)
            if len(mismatch):
                episode = int(mismatch[0])
                raise ValueError(
                    f"Episode {episode} of '{self.folder}' is inconsistent: it has {self.lengths[episode]} actions "
                    f"but its '{name}' list does not have {lengths[episode]} entries."
                )

    def _check_infos(self) -> None:
        """Decode (and drop) every info that uses a jsonpickle tag, so unsafe ones are refused before training.

        Only infos containing ``"py/`` are decoded (found by a vectorised byte search), typically one per
        episode at most.
        """
        for chunk in self._table.column("infos").chunks:
            texts = _list_values(chunk)
            for index in _strings_containing(texts, b'"py/'):
                decode_info(texts[int(index)].as_py(), self.description)
            self.release_pages()

    def _values(self, column: pa.ChunkedArray, name: str) -> np.ndarray:
        """Flatten a list column (one list per episode) into one array with a row per list entry."""
        parts = [_nested_list_to_numpy(chunk, name, self.folder) for chunk in column.chunks if len(chunk)]
        shapes = {part.shape[1:] for part in parts}
        if len(shapes) > 1:
            raise ValueError(f"The '{name}' entries of '{self.folder}' have different shapes {sorted(shapes)}.")
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _shard_paths(folder: Path) -> list[Path]:
    """Return the Arrow shards listed in ``folder/state.json``, checking the folder is a dataset."""
    if (folder / "dataset_dict.json").is_file():
        raise ValueError(
            f"'{folder}' holds several dataset splits (a DatasetDict). Pass the folder of one split, "
            f"e.g. '{folder / 'train'}'."
        )
    state_file = folder / "state.json"
    try:
        shard_names = [entry["filename"] for entry in json.loads(state_file.read_text())["_data_files"]]
    except FileNotFoundError:
        raise ValueError(
            f"'{folder}' is not a trajectory dataset (no state.json). Expected {EXPECTED_DATASET}."
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"'{state_file}' is not a datasets state file ({error}). Expected {EXPECTED_DATASET}."
        ) from error
    shards = [folder / name for name in shard_names]
    absent = [str(shard) for shard in shards if not shard.is_file()]
    if absent:
        raise ValueError(f"The dataset '{folder}' is incomplete: missing {absent}. Save or download it again.")
    if not shards:
        raise ValueError(f"The trajectory dataset '{folder}' holds no episodes: record or save some first.")
    return shards


def _list_offsets(lists: pa.Array) -> np.ndarray:
    """Return the ``len(lists) + 1`` offsets of a (possibly sliced) list array into its child values."""
    if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)):
        raise ValueError(f"Expected a list column (one list per episode), got Arrow type {lists.type}.")
    offset_type = np.int64 if pa.types.is_large_list(lists.type) else np.int32
    return np.frombuffer(lists.buffers()[1], dtype=offset_type)[lists.offset : lists.offset + len(lists) + 1]


def _list_lengths(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Return the length of every list in a list column, from its offsets alone (no copy of the data)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return np.concatenate(
        [np.zeros(0, dtype=np.int64)] + [np.diff(_list_offsets(chunk)).astype(np.int64) for chunk in chunks]
    )


def _list_values(lists: pa.Array) -> pa.Array:
    """Return the child values a (possibly sliced) list array covers, as a zero-copy slice."""
    offsets = _list_offsets(lists)
    first, last = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
    return lists.values.slice(first, last - first)


def to_numpy(values: pa.Array) -> np.ndarray:
    """Convert a flat Arrow array without nulls to numpy: zero-copy for numbers.

    Written against the Arrow buffers because pyarrow's own ``to_numpy`` imports pandas on first
    use, which costs tens of MB of memory and a second of start-up for nothing here. Strings
    become an object array in which every ``"{}"`` (an empty info) is one shared string object.

    :param values: a boolean, numeric or string array.
    :return: the numpy array.
    :raises ValueError: for nulls or other Arrow types.
    """
    if values.null_count:
        raise ValueError(f"The Arrow array has {values.null_count} missing values; trajectory data has none.")
    value_type = values.type
    if pa.types.is_boolean(value_type):
        first_byte, skip = divmod(values.offset, 8)
        packed = np.frombuffer(values.buffers()[1], dtype=np.uint8)[
            first_byte : first_byte + (skip + len(values) + 7) // 8
        ]
        return np.unpackbits(packed, bitorder="little")[skip : skip + len(values)].astype(bool)
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        return _strings_to_numpy(values)
    if not (pa.types.is_integer(value_type) or pa.types.is_floating(value_type)):
        raise ValueError(f"Unsupported Arrow type {value_type} in a trajectory dataset; expected numbers or strings.")
    dtype = np.dtype(value_type.to_pandas_dtype())
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize)


def _strings_to_numpy(values: pa.Array) -> np.ndarray:
    """Decode a string array, skipping the per-string work for the common empty info ``"{}"``."""
    offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    window = slice(values.offset, values.offset + len(values) + 1)
    offsets = np.frombuffer(values.buffers()[1], dtype=offset_type)[window].astype(np.int64)
    data_buffer = values.buffers()[2]
    data = np.zeros(0, np.uint8) if data_buffer is None else np.frombuffer(data_buffer, dtype=np.uint8)
    starts, stops = offsets[:-1], offsets[1:]
    empty = EMPTY_INFO_ENCODING.encode()
    is_empty = stops - starts == len(empty)
    for position, byte in enumerate(empty):
        is_empty[is_empty] = data[starts[is_empty] + position] == byte
    strings = np.full(len(values), EMPTY_INFO_ENCODING, dtype=object)
    for index in np.flatnonzero(~is_empty):
        strings[index] = data[starts[index] : stops[index]].tobytes().decode("utf-8")
    return strings


def _strings_containing(values: pa.Array, needle: bytes, window: int = 1 << 16) -> np.ndarray:
    """Indices of the strings of a string array that contain ``needle``.

    Searches the array's bytes a window at a time (``bytes.find``), so memory stays at one small
    window however large the dataset is.
    """
    offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    window_of_offsets = slice(values.offset, values.offset + len(values) + 1)
    offsets = np.frombuffer(values.buffers()[1], dtype=offset_type)[window_of_offsets]  # a view: no copy
    data_buffer = values.buffers()[2]
    if data_buffer is None or len(offsets) < 2:
        return np.zeros(0, dtype=np.int64)
    view = memoryview(data_buffer)
    first, last = int(offsets[0]), int(offsets[-1])
    starts = []
    for position in range(first, last, window):
        chunk = bytes(view[position : min(position + window + len(needle) - 1, last)])
        found = chunk.find(needle)
        while 0 <= found < window:  # a match starting in the overlap belongs to the next window
            starts.append(position + found)
            found = chunk.find(needle, found + 1)
    if not starts:
        return np.zeros(0, dtype=np.int64)
    begins = np.asarray(starts, dtype=np.int64)
    owners = np.searchsorted(offsets, begins, side="right") - 1  # the string whose bytes hold the match
    inside = begins + len(needle) <= offsets[owners + 1].astype(np.int64)
    return np.unique(owners[inside])


def _nested_list_to_numpy(lists: pa.Array, name: str, folder: Path) -> np.ndarray:
    """Turn a (possibly sliced) list array of ``(shape)``-nested lists into ``(n_entries, *shape)``.

    ``datasets`` stores an ``(L, 4)`` array as a list of ``L`` lists of 4 numbers; every inner
    level must have one length throughout, which becomes one axis of the result.
    """
    values = _list_values(lists)
    n_entries = len(values)
    shape: list[int] = []
    while pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        lengths = _list_lengths(values)
        low, high = (int(lengths.min()), int(lengths.max())) if len(lengths) else (0, 0)
        if low != high:
            raise ValueError(
                f"The '{name}' entries of '{folder}' have different shapes (axis {len(shape) + 1} "
                f"varies between {low} and {high}); every observation/action must have one shape."
            )
        shape.append(low)
        values = _list_values(values)
    return to_numpy(values).reshape(n_entries, *shape)
