"""Reinforcement-learning agents (Stable-Baselines3)."""

from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent

__all__ = ["StableBaselinesAgent"]
