"""The backend for the ``d3rlpy`` library: ``D3rlpyAgent`` (offline RL and behaviour cloning).

``d3rlpy.py`` (the agent), ``algorithms.py`` (the name table), ``dataset.py`` (episodes -> d3rlpy
replay buffer), ``actors.py`` (the deterministic policy, also what ONNX export writes),
``reporting.py`` (losses and checkpoints to the connector), ``persistence.py`` (file format),
``library.py`` (importing d3rlpy).

Importing this package imports d3rlpy (without the old ``gym`` package's banner), or raises an
``ImportError`` naming the ``d3rlpy`` extra when it is not installed.
"""

from rl_framework.agent.imitation.d3rlpy.library import import_d3rlpy
from rl_framework.util.lazy import lazy_exports

import_d3rlpy()

_LAZY = {
    "D3rlpyAgent": "rl_framework.agent.imitation.d3rlpy.d3rlpy",
    "D3RLPY_ALGORITHMS": "rl_framework.agent.imitation.d3rlpy.algorithms",
}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
