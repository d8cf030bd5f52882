"""Tabular Q-learning (``CustomAgent("Q-Learning")``) on FrozenLake and Taxi: train, evaluate, share locally.

Run: ``python exploration/train_custom_agent.py`` (targets: FrozenLake-v1 without slipping mean
return 1.0, Taxi-v3 mean return above 7, both over 100 deterministic evaluation episodes; the
script exits with status 1 if a target is missed) or ``python exploration/train_custom_agent.py --quick``
for a smoke run without targets.

Each trained agent goes to the local, account-free registry (``~/.rl_framework/registry``, or
``--registry``) with its evaluation result, training metrics and checkpoints.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from rl_framework.agent import CustomAgent
from rl_framework.util.connector import LocalConnector, LocalUploadConfig


@dataclass(frozen=True)
class Task:
    """One benchmark: an environment, a training budget and the mean return to reach."""

    name: str
    make_kwargs: dict[str, Any]
    total_timesteps: int
    quick_timesteps: int
    target: float
    above: bool = False  # the target must be exceeded, not just reached
    parameters: dict[str, Any] = field(default_factory=dict)

    def make(self) -> gym.Env:
        return gym.make(**self.make_kwargs)

    def met(self, mean_reward: float) -> bool:
        return mean_reward > self.target if self.above else mean_reward >= self.target

    @property
    def goal(self) -> str:
        return f"{'>' if self.above else '>='} {self.target}"


TASKS = (
    Task("FrozenLake-v1 (is_slippery=False)", {"id": "FrozenLake-v1", "is_slippery": False}, 3_000, 3_000, 1.0),
    Task("Taxi-v3", {"id": "Taxi-v3"}, 100_000, 10_000, 7.0, above=True),
)


def run(task: Task, seed: int, eval_episodes: int, total_timesteps: int, args: argparse.Namespace) -> float:
    """Train, evaluate and upload one agent; return its mean evaluation return."""
    agent_name = f"q-learning-{task.make_kwargs['id']}-seed{seed}"
    connector = LocalConnector(
        LocalUploadConfig(agent_name=agent_name, n_eval_episodes=eval_episodes, seed=1000),
        checkpoint_frequency=total_timesteps // 2,
        registry_path=args.registry,
    )
    agent = CustomAgent("Q-Learning", {**task.parameters, "seed": seed})
    start = time.perf_counter()
    agent.train(task.make(), total_timesteps=total_timesteps, connector=connector, progress_bar=not args.no_progress)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    mean_reward, std_reward = agent.evaluate(
        task.make(), n_eval_episodes=eval_episodes, seeds=1000, deterministic=True, progress_bar=False
    )
    eval_seconds = time.perf_counter() - start
    version = agent.upload(connector, evaluation_environment=task.make())
    print(
        f"{task.name} seed {seed}: mean return {mean_reward:.2f} ± {std_reward:.2f} over {eval_episodes} episodes "
        f"({total_timesteps:,} steps trained in {train_seconds:.1f} s, evaluated in {eval_seconds:.2f} s) -> {version}"
    )
    return mean_reward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budgets, no targets (smoke run)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (default: 0)")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument(
        "--registry", type=Path, default=None, help="registry folder (default ~/.rl_framework/registry)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args()

    missed = []
    for task in TASKS:
        total_timesteps = task.quick_timesteps if args.quick else task.total_timesteps
        eval_episodes = min(args.eval_episodes, 20) if args.quick else args.eval_episodes
        for seed in args.seeds:
            mean_reward = run(task, seed, eval_episodes, total_timesteps, args)
            if not task.met(mean_reward):
                missed.append(f"{task.name} seed {seed}: {mean_reward:.2f}, target {task.goal}")
    if missed and not args.quick:
        print("Targets missed:\n  " + "\n  ".join(missed))
        sys.exit(1)
    if not args.quick:
        print("All targets met: " + ", ".join(f"{task.name} {task.goal}" for task in TASKS) + ".")


if __name__ == "__main__":
    main()
