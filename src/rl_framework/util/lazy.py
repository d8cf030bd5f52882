"""The one helper behind every package's lazy exports (PEP 562), so heavy libraries load on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, names: dict[str, str], eager: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return a package's ``__getattr__`` and ``__dir__`` for names imported on first access.

    :param package: the package's ``__name__``, for the error message.
    :param names: public name -> module that defines it.
    :param eager: the package's ``globals()`` (a resolved name is cached there).
    :return: ``(__getattr__, __dir__)`` to assign at module level.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        eager[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(eager) | set(names))

    return __getattr__, __dir__
