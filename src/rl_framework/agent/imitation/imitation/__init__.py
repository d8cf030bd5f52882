"""The backend for the ``imitation`` library: ``ImitationAgent`` and one trainer per algorithm family.

``imitation.py`` (the agent), ``algorithms.py`` (the name table), ``trainer.py`` (the trainer base),
``supervised.py`` (BC, DAgger), ``adversarial.py`` (GAIL, AIRL), ``density.py``, ``sqil.py``,
``expert.py`` (DAgger's expert), ``logger.py`` (metrics to the connector), ``persistence.py`` (file format).
"""

from rl_framework.util.lazy import lazy_exports

_LAZY = {
    "ImitationAgent": "rl_framework.agent.imitation.imitation.imitation",
    "IMITATION_ALGORITHMS": "rl_framework.agent.imitation.imitation.algorithms",
    "SQIL": "rl_framework.agent.imitation.imitation.sqil",
}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
