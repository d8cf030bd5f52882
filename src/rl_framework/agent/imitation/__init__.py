"""Imitation-learning backends, one subpackage each.

``imitation/`` (the imitation library: BC, DAgger, GAIL, AIRL, SQIL, Density) and ``d3rlpy/``
(d3rlpy's offline RL: DiscreteCQL, CQL, IQL, (Discrete)BCQ, (Discrete)BC).

Each backend is a subpackage with its own agent; names load on first access, so importing this
package imports no backend library.
"""

from rl_framework.util.lazy import lazy_exports

_LAZY = {
    "ImitationAgent": "rl_framework.agent.imitation.imitation.imitation",
    "IMITATION_ALGORITHMS": "rl_framework.agent.imitation.imitation.algorithms",
    "SQIL": "rl_framework.agent.imitation.imitation.sqil",
    "D3rlpyAgent": "rl_framework.agent.imitation.d3rlpy.d3rlpy",
    "D3RLPY_ALGORITHMS": "rl_framework.agent.imitation.d3rlpy.algorithms",
}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
