"""Decode the ``jsonpickle`` info dicts of imitation's datasets without running anything.

imitation stores each step's info dict as ``jsonpickle.encode(info)`` text. ``jsonpickle.decode``
rebuilds whatever that text describes: it imports modules and calls functions the text names
(``py/object``, ``py/reduce``, ``py/function``, ``py/type``, ``py/repr``, ...), so a crafted dataset
runs code as soon as its infos are read. ``decode_info`` reads the same text as plain JSON and
understands only data:

- dicts, lists, strings, numbers, booleans and ``null``;
- ``py/tuple``, ``py/set``, ``py/b64``/``py/b85`` (bytes) and ``py/id`` (a repeated object);
- the exact ``py/reduce`` shapes jsonpickle writes for numpy arrays, numpy scalars and dtypes of
  numbers and booleans (rebuilt with ``np.frombuffer``, nothing named by the text is imported).

Any other ``py/`` tag is refused with ``UnsafeContentError``; ``allow_pickle=True`` hands the text
to ``jsonpickle.decode`` instead (for datasets from a source you trust).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from rl_framework.util.safe_classes import UnsafeContentError
from rl_framework.util.serialization import safe_dtype

_RECONSTRUCT = frozenset({"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"})
_SCALAR = frozenset({"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"})
_DATA_TAGS = ("py/tuple", "py/set", "py/b64", "py/b85", "py/id", "py/reduce")


def decode_info(text: str, where: str) -> Any:
    """One info as ``jsonpickle.decode`` would return it, for infos made of plain data only.

    :param text: the jsonpickle text of one info dict.
    :param where: the dataset, for messages.
    :return: the decoded value (normally a dict).
    :raises UnsafeContentError: when the text asks for anything but the data described above.
    """
    try:
        tree = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"An info in {where} is not JSON ({error}); the dataset is damaged.") from error
    return _Decoder(where, text).value(tree)


class _Decoder:
    """One info's decoding; ``objects`` numbers dicts, lists and reduces as jsonpickle does for ``py/id``."""

    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self.text = text
        self.objects: list[Any] = []

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items: list[Any] = []
            self.objects.append(items)
            items.extend(self.value(item) for item in node)
            return items
        if not isinstance(node, dict):
            return node
        tags = [key for key in node if key.startswith("py/")]
        if not tags:
            mapping: dict[str, Any] = {}
            self.objects.append(mapping)
            for key, item in node.items():
                mapping[key] = self.value(item)
            return mapping
        tag = next((candidate for candidate in _DATA_TAGS if candidate in node), tags[0])
        if tag == "py/tuple":
            return tuple(self.value(item) for item in self._list(node, tag))
        if tag == "py/set":
            return {self.value(item) for item in self._list(node, tag)}
        if tag == "py/b64":
            return base64.b64decode(str(node[tag]), validate=True)
        if tag == "py/b85":
            return base64.b85decode(str(node[tag]))
        if tag == "py/id":
            return self._reference(node[tag])
        if tag == "py/reduce":
            return self._reduce(self._list(node, tag))
        raise self.refusal(tag)

    def refusal(self, tag: str) -> UnsafeContentError:
        """The error for a jsonpickle entry that only executing code could rebuild."""
        excerpt = self.text if len(self.text) <= 120 else self.text[:117] + "..."
        return UnsafeContentError(
            f"An info in {self.where} holds a jsonpickle '{tag}' entry ({excerpt}); rebuilding it would import and "
            f"run code the dataset names. rl_framework reads plain data, tuples, sets, bytes and numpy arrays only. "
            f"Pass allow_pickle=True (EpisodeSequence.from_dataset(path, allow_pickle=True)) only if you trust the "
            f"dataset's source."
        )

    def _list(self, node: dict[str, Any], tag: str) -> list[Any]:
        items = node[tag]
        if not isinstance(items, list):
            raise ValueError(f"An info in {self.where} has a malformed '{tag}' entry; the dataset is damaged.")
        return items

    def _reference(self, index: Any) -> Any:
        if not isinstance(index, int) or not 0 <= index < len(self.objects) or self.objects[index] is None:
            raise ValueError(f"An info in {self.where} refers to object {index!r}, which it does not hold (damaged).")
        return self.objects[index]

    def _reduce(self, items: list[Any]) -> Any:
        """A numpy array, scalar or dtype written as ``py/reduce``; any other reduce is refused."""
        slot = len(self.objects)
        self.objects.append(None)  # jsonpickle numbers a reduce before its arguments
        name = self._callable(items[0] if items else None)
        arguments = self._tuple(items[1] if len(items) > 1 else None)
        state = self.value(items[2]) if len(items) > 2 else None
        if any(item is not None for item in items[3:]):
            raise self.refusal("py/reduce")
        if name in _RECONSTRUCT:
            result: Any = self._array(arguments, state)
        elif name in _SCALAR and len(arguments) == 2:
            dtype, raw = arguments
            result = np.frombuffer(self._bytes(raw), dtype=self._dtype(dtype), count=1)[0]
        elif name == "numpy.dtype" and len(arguments) == 3:
            result = safe_dtype(str(arguments[0]))
            if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">"):
                result = result.newbyteorder(state[1])
        else:
            raise self.refusal("py/reduce")
        self.objects[slot] = result
        return result

    def _callable(self, head: Any) -> str:
        """The name of the numpy function or type a reduce starts with (only those are accepted)."""
        if isinstance(head, dict) and len(head) == 1:
            tag, name = next(iter(head.items()))
            if tag == "py/function" and name in _RECONSTRUCT | _SCALAR:
                return str(name)
            if tag == "py/type" and name == "numpy.dtype":
                return str(name)
        raise self.refusal("py/reduce")

    def _tuple(self, node: Any) -> tuple[Any, ...]:
        if not (isinstance(node, dict) and isinstance(node.get("py/tuple"), list)):
            raise self.refusal("py/reduce")
        items = node["py/tuple"]
        if items and items[0] == {"py/type": "numpy.ndarray"}:  # _reconstruct's (ndarray, (0,), b"b")
            return ("numpy.ndarray", *(self.value(item) for item in items[1:]))
        return tuple(self.value(item) for item in items)

    def _array(self, arguments: tuple[Any, ...], state: Any) -> np.ndarray:
        if arguments[:1] != ("numpy.ndarray",) or not (isinstance(state, tuple) and len(state) == 5):
            raise self.refusal("py/reduce")
        _, shape, dtype, fortran_order, raw = state
        dtype = self._dtype(dtype)
        if not (isinstance(shape, tuple) and all(isinstance(size, int) and size >= 0 for size in shape)):
            raise ValueError(f"An info in {self.where} holds an array with a malformed shape (damaged).")
        data = self._bytes(raw)
        if len(data) != int(np.prod(shape)) * dtype.itemsize:
            raise ValueError(f"An info in {self.where} holds an array whose size does not match its shape (damaged).")
        return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C").copy()

    def _dtype(self, dtype: Any) -> np.dtype[Any]:
        if not isinstance(dtype, np.dtype):
            raise self.refusal("py/reduce")  # e.g. an object array's pickled items
        return dtype

    def _bytes(self, raw: Any) -> bytes:
        if not isinstance(raw, bytes):
            raise self.refusal("py/reduce")
        return raw
