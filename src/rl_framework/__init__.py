"""rl_framework: one interface to train, evaluate, record, save and share RL and IL agents.

Start with ``from rl_framework.agent import StableBaselinesAgent`` (RL) or
``from rl_framework.agent import ImitationAgent, EpisodeSequence`` (IL).
"""

__version__ = "0.2.0"
