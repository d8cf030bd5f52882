"""rl_framework's own algorithms for ``CustomAgent``, reachable by name through one table.

Add an algorithm by subclassing ``CustomAlgorithm`` (``base.py``) and adding a row here, or pass
your subclass itself: ``CustomAgent(MyAlgorithm)``.
"""

from __future__ import annotations

from rl_framework.util.algorithm_table import AlgorithmEntry

_Q_LEARNING = AlgorithmEntry("rl_framework.agent.reinforcement.custom_algorithms.q_learning:QLearning")

#: Name -> algorithm (names are case-insensitive); the modules are imported when a name is used.
CUSTOM_ALGORITHMS: dict[str, AlgorithmEntry] = {
    "QLearning": _Q_LEARNING,
    "Q-Learning": _Q_LEARNING,
}

__all__ = ["CUSTOM_ALGORITHMS"]
