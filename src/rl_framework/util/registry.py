"""Name -> class lookup shared by every agent type (one table per library, no if/elif chains)."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterable
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
            package = module_name.split(".")[0]
            raise ImportError(f"'{class_name}' needs the package '{package}'.{hint}") from error
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


def _entry_of_class(algorithm: type, table: dict[str, AlgorithmEntry]) -> AlgorithmEntry | None:
    """The entry of ``algorithm`` or of its nearest table ancestor (a user's ``class MyDQN(DQN)``).

    Only already imported modules are looked at: a class cannot derive from a module never imported.
    """
    loaded: list[tuple[type, AlgorithmEntry]] = []
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


def check_parameter_names(algorithm_class: type, names: Iterable[str], context: str) -> None:
    """Raise ``ValueError`` for names that ``algorithm_class``'s constructor does not take (typos).

    :param algorithm_class: the algorithm whose constructor defines the valid names.
    :param names: the parameter names given by the user.
    :param context: where the names came from, for the message (e.g. "algorithm_parameters").
    :raises ValueError: naming the unknown names and listing the valid ones.
    """
    parameters = inspect.signature(algorithm_class).parameters
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()):
        return  # the constructor itself accepts any name
    valid = sorted(parameters)
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise ValueError(
            f"{context} has unknown parameter(s) {', '.join(map(repr, unknown))} for "
            f"{algorithm_class.__name__}. Valid names: {', '.join(valid)}."
        )
