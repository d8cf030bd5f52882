"""Does stepping environments asynchronously (while the policy computes) speed up experience collection?

Three ways to collect the same number of environment steps with a PPO MLP policy (64x64, one
torch thread, as training uses it), for a fast env (CartPole-v1) and a CPU-bound slow one
(CartPole plus ~1 ms of pure-Python work per step, like a physics simulator):

- ``dummy``: all envs stepped one after another in this process (``vectorization="dummy"``);
- ``subprocess``: one process per env, stepped in parallel, the policy waiting for all of them
  (``vectorization="subprocess"``);
- ``pipelined``: the envs split into two subprocess groups; while group A steps in its processes,
  the policy computes group B's actions, and the other way round (true asynchronous stepping).

Runs alternate between the methods so machine load hits all alike; medians of env steps per second
are printed, plus the share of a synchronous step the policy takes (the most pipelining can hide).

Run: ``python benchmarks/async_stepping.py [--steps 4000] [--n-envs 4] [--repeats 3] [--work-ms 1.0]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv


class SlowStep(gym.Wrapper):
    """Burns ``work_ms`` of CPU per step in pure Python (a slow simulator; sleeping would not use a core)."""

    def __init__(self, env: gym.Env, work_ms: float) -> None:
        super().__init__(env)
        self.work_s = work_ms / 1000

    def step(self, action):  # type: ignore[no-untyped-def]
        deadline = time.perf_counter() + self.work_s
        total = 0
        while time.perf_counter() < deadline:
            total += 1
        return self.env.step(action)


def factory(work_ms: float) -> Callable[[], gym.Env]:
    def make() -> gym.Env:
        env = gym.make("CartPole-v1")
        return SlowStep(env, work_ms) if work_ms > 0 else env

    return make


def synchronous(vec_env: VecEnv, policy, steps: int) -> float:  # type: ignore[no-untyped-def]
    observations = vec_env.reset()
    start = time.perf_counter()
    for _ in range(steps // vec_env.num_envs):
        actions, _ = policy.predict(observations, deterministic=False)
        observations, _, _, _ = vec_env.step(actions)
    return steps / (time.perf_counter() - start)


def pipelined(group_a: VecEnv, group_b: VecEnv, policy, steps: int) -> float:  # type: ignore[no-untyped-def]
    observations_a, observations_b = group_a.reset(), group_b.reset()
    start = time.perf_counter()
    group_b.step_async(policy.predict(observations_b, deterministic=False)[0])
    for _ in range(steps // (group_a.num_envs + group_b.num_envs)):
        group_a.step_async(policy.predict(observations_a, deterministic=False)[0])  # A steps ...
        observations_b = group_b.step_wait()[0]  # ... while B's results arrive
        group_b.step_async(policy.predict(observations_b, deterministic=False)[0])  # B steps ...
        observations_a = group_a.step_wait()[0]  # ... while A's results arrive
    group_b.step_wait()
    return steps / (time.perf_counter() - start)


def policy_share(vec_env: VecEnv, policy, steps: int) -> float:  # type: ignore[no-untyped-def]
    """Fraction of a synchronous dummy step spent in the policy."""
    observations = vec_env.reset()
    in_policy = in_env = 0.0
    for _ in range(steps // vec_env.num_envs):
        tick = time.perf_counter()
        actions, _ = policy.predict(observations, deterministic=False)
        tock = time.perf_counter()
        observations, _, _, _ = vec_env.step(actions)
        in_policy += tock - tick
        in_env += time.perf_counter() - tock
    return in_policy / (in_policy + in_env)


def measure(work_ms: float, n_envs: int, steps: int, repeats: int) -> None:
    make = factory(work_ms)
    policy = PPO("MlpPolicy", DummyVecEnv([make]), device="cpu", seed=0).policy
    dummy = DummyVecEnv([make] * n_envs)
    subprocess = SubprocVecEnv([make] * n_envs)
    group_a, group_b = SubprocVecEnv([make] * (n_envs // 2)), SubprocVecEnv([make] * (n_envs - n_envs // 2))
    runs: dict[str, list[float]] = {"dummy": [], "subprocess": [], "pipelined": []}
    try:
        synchronous(dummy, policy, 200), synchronous(subprocess, policy, 200), pipelined(group_a, group_b, policy, 200)
        for _ in range(repeats):
            runs["dummy"].append(synchronous(dummy, policy, steps))
            runs["subprocess"].append(synchronous(subprocess, policy, steps))
            runs["pipelined"].append(pipelined(group_a, group_b, policy, steps))
        share = policy_share(dummy, policy, steps)
    finally:
        for vec_env in (dummy, subprocess, group_a, group_b):
            vec_env.close()
    label = f"CartPole-v1 + {work_ms:g} ms/step" if work_ms else "CartPole-v1"
    print(f"{label}: {n_envs} envs, {steps} steps x {repeats} runs; policy share of a dummy step: {share:.1%}")
    baseline = statistics.median(runs["dummy"])
    for method, rates in runs.items():
        median = statistics.median(rates)
        print(
            f"  {method:<10} {median:9.0f} steps/s  ({median / baseline:.2f}x dummy)  runs {[round(r) for r in rates]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work-ms", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as training small policies does (util/threads.py)
    np.random.seed(0)
    measure(0.0, args.n_envs, args.steps, args.repeats)
    measure(args.work_ms, args.n_envs, args.steps // 4, args.repeats)


if __name__ == "__main__":
    main()
