"""Utilities: connectors (upload/download/logging), callbacks, atomic files, video.

The connector names of ``rl_framework.util.connector`` are re-exported here; like there, a
connector class (and its SDK) loads on first access.
"""

from typing import Any

from rl_framework.util.connector import __all__ as _CONNECTOR_NAMES

__all__ = list(_CONNECTOR_NAMES)


def __getattr__(name: str) -> Any:
    if name in _CONNECTOR_NAMES:
        from rl_framework.util import connector

        return getattr(connector, name)
    raise AttributeError(f"module 'rl_framework.util' has no attribute '{name}'")
