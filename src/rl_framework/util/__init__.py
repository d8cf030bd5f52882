"""Utilities: connectors (upload/download/logging), input checks, atomic files, threads, video.

The connector names of ``rl_framework.util.connector`` are re-exported here; like there, a
connector class (and its SDK) loads on first access.
"""

from rl_framework.util.connector import _LAZY_NAMES
from rl_framework.util.connector import __all__ as _CONNECTOR_NAMES
from rl_framework.util.lazy import lazy_exports

__all__ = list(_CONNECTOR_NAMES)
__getattr__, __dir__ = lazy_exports(
    __name__, {name: _LAZY_NAMES.get(name, "rl_framework.util.connector") for name in _CONNECTOR_NAMES}, globals()
)
