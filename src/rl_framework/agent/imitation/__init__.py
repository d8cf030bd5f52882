"""Imitation-learning agents and their data (imports the ``imitation`` library).

Names load on first access, so ``import rl_framework.agent.imitation.<module>`` stays cheap.
"""

from typing import Any

_LAZY = {
    "EpisodeSequence": "rl_framework.agent.imitation.episode_sequence",
    "ImitationAgent": "rl_framework.agent.imitation.imitation_agent",
    "IMITATION_ALGORITHMS": "rl_framework.agent.imitation.algorithms",
    "SQIL": "rl_framework.agent.imitation.sqil",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rl_framework.agent.imitation' has no attribute '{name}'")
