"""Connectors: where agents are uploaded to and downloaded from, and where training logs go.

``LocalConnector`` (a versioned folder, the default) needs nothing else; ``HuggingFaceConnector``
needs ``huggingface_hub`` and ``ClearMLConnector`` needs ``clearml``. Connector classes are imported
on first access, so importing this package never imports a backend's SDK (nor numpy: the command
line's ``--help`` stays fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rl_framework.util.lazy import lazy_exports

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector
    from rl_framework.util.connector.bundle import UploadOptions
    from rl_framework.util.connector.clearml import ClearMLConnector, ClearMLDownloadConfig, ClearMLUploadConfig
    from rl_framework.util.connector.huggingface import HuggingFaceConnector
    from rl_framework.util.connector.huggingface_config import HuggingFaceDownloadConfig, HuggingFaceUploadConfig
    from rl_framework.util.connector.local import LocalConnector, LocalDownloadConfig, LocalUploadConfig

#: public name -> module that defines it (imported when the name is first used).
_LAZY_NAMES = {
    "Connector": "rl_framework.util.connector.base",
    "UploadOptions": "rl_framework.util.connector.bundle",
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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY_NAMES, globals())
