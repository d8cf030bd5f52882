"""Agents: the abstract bases and the ready-made implementations.

``ImitationAgent`` imports the ``imitation`` library, so it loads on first access rather than
with ``import rl_framework.agent``.
"""

from rl_framework.agent.base_agent import BaseAgent
from rl_framework.agent.evaluation import EvaluationResult
from rl_framework.agent.imitation_learning_agent import ILAgent
from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent
from rl_framework.agent.reinforcement_learning_agent import RLAgent
from rl_framework.util.lazy import lazy_exports

_LAZY = {
    "ImitationAgent": "rl_framework.agent.imitation.imitation.imitation",
    "CustomAgent": "rl_framework.agent.reinforcement.custom_agent",
}

__all__ = [
    "BaseAgent",
    "CustomAgent",
    "EvaluationResult",
    "ILAgent",
    "ImitationAgent",
    "RLAgent",
    "StableBaselinesAgent",
]
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
