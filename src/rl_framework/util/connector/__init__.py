"""Connectors: where agents are uploaded to and downloaded from, and where training logs go.

``LocalConnector`` (a versioned folder, the default) needs nothing else; ``HuggingFaceConnector``
needs ``huggingface_hub`` and ``ClearMLConnector`` needs ``clearml``. Connector classes are imported
on first access, so importing this package never imports a backend's SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rl_framework.util.connector.base import Connector
from rl_framework.util.connector.bundle import UploadOptions

if TYPE_CHECKING:
    from rl_framework.util.connector.clearml import ClearMLConnector, ClearMLDownloadConfig, ClearMLUploadConfig
    from rl_framework.util.connector.huggingface import HuggingFaceConnector
    from rl_framework.util.connector.huggingface_config import HuggingFaceDownloadConfig, HuggingFaceUploadConfig
    from rl_framework.util.connector.local import LocalConnector, LocalDownloadConfig, LocalUploadConfig

#: public name -> module that defines it (imported when the name is first used).
_LAZY_NAMES = {
    "LocalConnector": "rl_framework.util.connector.local",
    "LocalUploadConfig": "rl_framework.util.connector.local",
    "LocalDownloadConfig": "rl_framework.util.connector.local",
    "ClearMLConnector": "rl_framework.util.connector.clearml",
    "ClearMLUploadConfig": "rl_framework.util.connector.clearml",
    "ClearMLDownloadConfig": "rl_framework.util.connector.clearml",
    "HuggingFaceConnector": "rl_framework.util.connector.huggingface",
    "HuggingFaceUploadConfig": "rl_framework.util.connector.huggingface_config",
    "HuggingFaceDownloadConfig": "rl_framework.util.connector.huggingface_config",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    """Import a connector class on first access (PEP 562)."""
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
