"""Tuned experiment files (rl-baselines3-zoo hyperparameters) that ship with rl_framework.

``rl-framework train --config ppo_cartpole`` finds them by name; ``configs/`` at the repository root
links here.
"""
