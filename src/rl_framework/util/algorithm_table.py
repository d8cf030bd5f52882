"""Name -> class lookup shared by every agent type (one table per backend, no if/elif chains).

Each backend keeps one table of ``AlgorithmEntry`` rows (or a subclass adding its own columns)
and resolves user input with ``resolve_algorithm``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True)
class AlgorithmEntry:
    """One row of an algorithm table.

    :param import_path: ``"package.module:ClassName"`` imported only when the name is used.
    :param extra: the pip extra that provides the package, for the error message when missing.
    """

    import_path: str
    extra: str | None = None

    def load(self) -> type:
        """Import and return the class; raise ``ImportError`` naming the extra when missing."""
        try:
            loaded: type = import_attribute(self.import_path)
        except ImportError as error:
            module_name, class_name = self.import_path.split(":")
            hint = f" Install it with: pip install 'rl_framework[{self.extra}]'." if self.extra else ""
            package = module_name.split(".")[0]
            raise ImportError(f"'{class_name}' needs the package '{package}'.{hint}") from error
        return loaded


def import_attribute(import_path: str) -> Any:
    """Import ``"package.module:Name"`` and return ``Name`` (tables name classes this way to import them on use)."""
    module_name, attribute = import_path.split(":")
    return getattr(importlib.import_module(module_name), attribute)


Entry = TypeVar("Entry", bound=AlgorithmEntry)


def resolve_algorithm(algorithm: str | type, table: Mapping[str, Entry], library: str) -> tuple[type, Entry | None]:
    """Turn an algorithm name or class into ``(class, table entry or None)``.

    :param algorithm: a name from ``table`` (case-insensitive) or a class.
    :param table: the library's algorithm table.
    :param library: the library's name, for the error message.
    :return: the class and its table entry (``None`` for a class not in the table).
    :raises ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(algorithm, type):
        return algorithm, _entry_of_class(algorithm, table)
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm_class must be a class or a name string, got {type(algorithm).__name__}.")
    by_lower_name = {name.lower(): name for name in table}
    name = by_lower_name.get(algorithm.lower())
    if name is None:
        raise ValueError(
            f"Unknown {library} algorithm '{algorithm}'. Valid names: {', '.join(sorted(table))}. "
            f"Or pass the algorithm class itself."
        )
    entry = table[name]
    return entry.load(), entry


def table_name(entry: AlgorithmEntry, table: Mapping[str, AlgorithmEntry]) -> str:
    """The name under which ``entry`` stands in ``table``."""
    return next(name for name, candidate in table.items() if candidate is entry)


def _entry_of_class(algorithm: type, table: Mapping[str, Entry]) -> Entry | None:
    """The entry of ``algorithm`` or of its nearest table ancestor (a user's ``class MyDQN(DQN)``).

    Only already imported modules are looked at: a class cannot derive from a module never imported.
    """
    loaded: list[tuple[type, Entry]] = []
    for entry in table.values():
        module_name, class_name = entry.import_path.split(":")
        candidate = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(candidate, type):
            loaded.append((candidate, entry))
    for ancestor in algorithm.__mro__:
        for candidate, entry in loaded:
            if ancestor is candidate:
                return entry
    return None
