"""rl_framework: one interface to train, evaluate, record, save and share RL and IL agents.

The main names load on first access, so ``import rl_framework`` stays fast::

    from rl_framework import StableBaselinesAgent, ImitationAgent, EpisodeSequence
"""

from rl_framework.util.lazy import lazy_exports

__version__ = "0.2.0"

_NAMES = {
    "BaseAgent": "rl_framework.agent.base_agent",
    "RLAgent": "rl_framework.agent.reinforcement_learning_agent",
    "ILAgent": "rl_framework.agent.imitation_learning_agent",
    "StableBaselinesAgent": "rl_framework.agent.reinforcement.stable_baselines",
    "CustomAgent": "rl_framework.agent.reinforcement.custom_agent",
    "ImitationAgent": "rl_framework.agent.imitation.imitation.imitation",
    "D3rlpyAgent": "rl_framework.agent.imitation.d3rlpy.d3rlpy",
    "EpisodeSequence": "rl_framework.data.episode_sequence",
    "EvaluationResult": "rl_framework.agent.evaluation",
}
__all__ = ["__version__", *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _NAMES, globals())
