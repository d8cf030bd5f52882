"""Evaluation speed: BaseAgent.evaluate (batched copies) against SB3's evaluate_policy on one env.

Both evaluate the same trained PPO policy on 100 CartPole-v1 episodes, deterministic. Target: >= 10x.
Also checks that both report statistically the same returns.

Run: ``python benchmarks/evaluation_speed.py [--episodes 100] [--train-steps 20000]``
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from rl_framework.agent import StableBaselinesAgent

PPO_PARAMETERS = {"n_steps": 64, "batch_size": 128, "learning_rate": 1e-3, "seed": 0, "device": "cpu"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--train-steps", type=int, default=20_000)
    args = parser.parse_args()
    agent = StableBaselinesAgent("PPO", PPO_PARAMETERS)
    agent.train("CartPole-v1", n_envs=8, total_timesteps=args.train_steps, progress_bar=False)
    assert agent.model is not None

    env = Monitor(gym.make("CartPole-v1"))
    start = time.perf_counter()
    sb3_mean, sb3_std = evaluate_policy(agent.model, env, n_eval_episodes=args.episodes, deterministic=True)
    sb3_seconds = time.perf_counter() - start

    start = time.perf_counter()
    our_mean, our_std = agent.evaluate(
        "CartPole-v1", n_eval_episodes=args.episodes, deterministic=True, progress_bar=False
    )
    our_seconds = time.perf_counter() - start

    print(f"evaluate_policy (1 env): {sb3_seconds:.3f} s, return {sb3_mean:.1f} ± {sb3_std:.1f}")
    print(f"agent.evaluate (batched): {our_seconds:.3f} s, return {our_mean:.1f} ± {our_std:.1f}")
    print(f"speed-up = {sb3_seconds / our_seconds:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
