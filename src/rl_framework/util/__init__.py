"""Utilities: connectors (upload/download/logging), callbacks, atomic files, video.

The connector classes are re-exported here and load on first access.
"""

from typing import Any

_CONNECTOR_NAMES = {
    "Connector",
    "UploadOptions",
    "LocalConnector",
    "LocalUploadConfig",
    "LocalDownloadConfig",
    "ClearMLConnector",
    "ClearMLUploadConfig",
    "ClearMLDownloadConfig",
    "HuggingFaceConnector",
    "HuggingFaceUploadConfig",
    "HuggingFaceDownloadConfig",
}

__all__ = sorted(_CONNECTOR_NAMES)


def __getattr__(name: str) -> Any:
    if name in _CONNECTOR_NAMES:
        from rl_framework.util import connector

        return getattr(connector, name)
    raise AttributeError(f"module 'rl_framework.util' has no attribute '{name}'")
