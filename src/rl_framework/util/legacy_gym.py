"""Silence the notice of the unmaintained ``gym`` package, which the ``d3rlpy`` extra installs.

``gym`` 0.26 prints a deprecation notice to stderr when imported, and Stable-Baselines3 imports it
whenever it is installed. rl_framework never uses ``gym`` itself (Gymnasium is the API), so the
notice is only noise; it is swallowed once, before Stable-Baselines3 is first imported.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import sys


def import_legacy_gym_quietly() -> None:
    """Import an installed ``gym`` with its stderr notice discarded (no-op without ``gym`` or once imported)."""
    if "gym" in sys.modules or importlib.util.find_spec("gym") is None:
        return
    with contextlib.redirect_stderr(io.StringIO()):
        importlib.import_module("gym")
