"""Agents: the abstract bases and the ready-made implementations.

``ImitationAgent`` and ``EpisodeSequence`` import the ``imitation`` library, so they load on
first access rather than with ``import rl_framework``.
"""

from typing import Any

from rl_framework.agent.base_agent import BaseAgent
from rl_framework.agent.evaluation import EvaluationResult
from rl_framework.agent.il_agent import ILAgent
from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent
from rl_framework.agent.rl_agent import RLAgent

_LAZY = {
    "ImitationAgent": "rl_framework.agent.imitation.imitation_agent",
    "EpisodeSequence": "rl_framework.agent.imitation.episode_sequence",
}

__all__ = [
    "BaseAgent",
    "EpisodeSequence",
    "EvaluationResult",
    "ILAgent",
    "ImitationAgent",
    "RLAgent",
    "StableBaselinesAgent",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rl_framework.agent' has no attribute '{name}'")
