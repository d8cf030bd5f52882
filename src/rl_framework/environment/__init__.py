"""Environments: turning what users pass into vectorized envs and evaluation copies, plus registered fixes.

Importing this package registers ``rl_framework/Acrobot-v1`` (gymnasium's Acrobot-v1, which steps on
numpy 2; see ``classic_control.py``).
"""

import gymnasium as gym

from rl_framework.environment.classic_control import ENV_ID as _ACROBOT_ID

if _ACROBOT_ID not in gym.registry:
    gym.register(
        _ACROBOT_ID,
        entry_point="rl_framework.environment.classic_control:Acrobot",
        reward_threshold=-100.0,
        max_episode_steps=500,
    )
