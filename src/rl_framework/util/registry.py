"""Name -> class lookup shared by every agent type (one table per library, no if/elif chains)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AlgorithmEntry:
    """One row of an algorithm table.

    :param import_path: ``"package.module:ClassName"`` imported only when the name is used.
    :param action_spaces: names of the gymnasium space classes the algorithm supports
        (e.g. ``("Discrete",)``); empty means "any".
    :param extra: the pip extra that provides the package, for the error message when missing.
    :param defaults: default constructor parameters that make the algorithm work out of the box.
    """

    import_path: str
    action_spaces: tuple[str, ...] = ()
    extra: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

    def load(self) -> type:
        """Import and return the class; raise ``ImportError`` naming the extra when missing."""
        module_name, class_name = self.import_path.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            hint = f" Install it with: pip install 'rl_framework[{self.extra}]'." if self.extra else ""
            raise ImportError(f"'{class_name}' needs the package '{module_name.split('.')[0]}'.{hint}") from error
        return getattr(module, class_name)


def resolve_algorithm(
    algorithm: str | type, table: dict[str, AlgorithmEntry], library: str
) -> tuple[type, AlgorithmEntry | None]:
    """Turn an algorithm name or class into ``(class, table entry or None)``.

    :param algorithm: a name from ``table`` (case-insensitive) or a class.
    :param table: the library's algorithm table.
    :param library: the library's name, for the error message.
    :return: the class and its table entry (``None`` for a class not in the table).
    :raises ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(algorithm, type):
        for entry in table.values():
            if entry.import_path.endswith(f":{algorithm.__name__}") and _same_class(entry, algorithm):
                return algorithm, entry
        return algorithm, None
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


def _same_class(entry: AlgorithmEntry, algorithm: type) -> bool:
    module_name, _ = entry.import_path.split(":")
    return algorithm.__module__.startswith(module_name.rsplit(".", 1)[0].split(".")[0])
