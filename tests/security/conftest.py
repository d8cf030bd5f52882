"""Fixtures for the security tests: the connector tests' Hub stand-in and ClearML offline session.

Both are reused from ``tests/util/connector`` (their module is put on the import path, as pytest
does for the tests there), so the security tests speak to the same real clients.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "util" / "connector"))

from test_clearml import offline_folder  # noqa: E402, F401  (re-exported fixture)
from test_huggingface import TOKEN, hub  # noqa: E402, F401  (re-exported fixture)

__all__ = ["TOKEN", "hub", "offline_folder"]
