"""Agents: the abstract bases and the ready-made implementations.

``ImitationAgent`` imports the ``imitation`` library and ``D3rlpyAgent`` the ``d3rlpy`` library
(the ``d3rlpy`` extra), so they load on first access rather than with ``import rl_framework.agent``.
"""

from rl_framework.util.legacy_gym import import_legacy_gym_quietly

import_legacy_gym_quietly()  # before Stable-Baselines3 imports an installed gym and it prints its notice

from rl_framework.agent.base_agent import BaseAgent  # noqa: E402
from rl_framework.agent.evaluation import EvaluationResult  # noqa: E402
from rl_framework.agent.imitation_learning_agent import ILAgent  # noqa: E402
from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent  # noqa: E402
from rl_framework.agent.reinforcement_learning_agent import RLAgent  # noqa: E402
from rl_framework.util.lazy import lazy_exports  # noqa: E402

_LAZY = {
    "ImitationAgent": "rl_framework.agent.imitation.imitation.imitation",
    "CustomAgent": "rl_framework.agent.reinforcement.custom_agent",
    "D3rlpyAgent": "rl_framework.agent.imitation.d3rlpy.d3rlpy",
}

__all__ = [
    "BaseAgent",
    "CustomAgent",
    "D3rlpyAgent",
    "EvaluationResult",
    "ILAgent",
    "ImitationAgent",
    "RLAgent",
    "StableBaselinesAgent",
]
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
