"""Training overhead of StableBaselinesAgent.train against raw SB3 PPO.learn (target ratio <= 1.02).

Both sides: same seed, same DummyVecEnv of CartPole-v1 copies, same steps, progress bar off.
Runs alternate (raw, ours, raw, ours ...) so machine load hits both alike; medians are compared.

Run: ``python benchmarks/train_overhead.py [--timesteps 20000] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from rl_framework.agent import StableBaselinesAgent

PARAMETERS = {"n_steps": 128, "batch_size": 64, "n_epochs": 4, "seed": 0, "device": "cpu"}


def raw_sb3(timesteps: int, n_envs: int) -> float:
    start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=n_envs)
    PPO("MlpPolicy", env, **PARAMETERS).learn(total_timesteps=timesteps, progress_bar=False)
    env.close()
    return time.perf_counter() - start


def ours(timesteps: int, n_envs: int) -> float:
    start = time.perf_counter()
    agent = StableBaselinesAgent("PPO", PARAMETERS)
    agent.train(training_environments="CartPole-v1", n_envs=n_envs, total_timesteps=timesteps, progress_bar=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    raw_times, our_times = [], []
    raw_sb3(2_000, args.n_envs), ours(2_000, args.n_envs)  # warm-up: imports, torch kernels
    for _ in range(args.repeats):
        raw_times.append(raw_sb3(args.timesteps, args.n_envs))
        our_times.append(ours(args.timesteps, args.n_envs))
    raw_median, our_median = statistics.median(raw_times), statistics.median(our_times)
    print(f"raw PPO.learn      median {raw_median:.3f} s  runs {[round(t, 3) for t in raw_times]}")
    print(f"agent.train        median {our_median:.3f} s  runs {[round(t, 3) for t in our_times]}")
    print(f"ratio agent/raw = {our_median / raw_median:.3f} (target <= 1.02)")


if __name__ == "__main__":
    main()
