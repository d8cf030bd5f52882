"""Importing d3rlpy: quietly, and with an error that names the fitting version when it is missing.

d3rlpy 2.6 imports the old OpenAI ``gym`` package (0.26.2), whose ``__init__`` prints a
deprecation banner to stderr. The banner says nothing about our use (d3rlpy only reads
``gym.spaces``; rl_framework works with Gymnasium), so the first ``gym`` import is made with
stderr silenced. Later imports of ``gym`` find it loaded and print nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import sys
from types import ModuleType

#: The d3rlpy line that installs beside Gymnasium 0.29 (d3rlpy 2.7+ requires Gymnasium >= 1.0).
SUPPORTED_D3RLPY = ">=2.6.1,<2.7"
INSTALL_HINT = f"pip install 'rl_framework[d3rlpy]' (d3rlpy{SUPPORTED_D3RLPY})"


def import_gym_quietly() -> None:
    """Import the old ``gym`` package, if installed, without its deprecation banner on stderr."""
    if "gym" in sys.modules or importlib.util.find_spec("gym") is None:
        return
    with contextlib.redirect_stderr(io.StringIO()):
        importlib.import_module("gym")


def import_d3rlpy() -> ModuleType:
    """Import and return the ``d3rlpy`` package.

    :return: the module.
    :raises ImportError: when d3rlpy is not installed, naming the extra to install.
    """
    import_gym_quietly()
    try:
        return importlib.import_module("d3rlpy")
    except ImportError as error:
        raise ImportError(f"D3rlpyAgent needs the package 'd3rlpy'. Install it with: {INSTALL_HINT}.") from error
