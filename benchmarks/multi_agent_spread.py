"""Parameter-shared PPO on PettingZoo's MPE simple_spread through rl_framework's multi-agent VecEnv.

Trains ``StableBaselinesAgent("PPO")`` on 4 copies of ``simple_spread_v3`` (2 agents, 25 cycles,
discrete actions; 8 VecEnv slots), then compares the mean agent-episode return over 100 seeded
evaluation episodes with a uniformly random policy on the same seeds. Needs the ``multiagent`` extra.

Run: ``python benchmarks/multi_agent_spread.py [--timesteps 150000]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from pettingzoo.mpe import simple_spread_v3

from rl_framework.agent import BaseAgent, StableBaselinesAgent

PARAMETERS = {"n_steps": 256, "batch_size": 256, "n_epochs": 10, "learning_rate": 1e-3, "seed": 0, "device": "cpu"}


def spread() -> Any:
    return simple_spread_v3.parallel_env(N=2, max_cycles=25, continuous_actions=False)


class RandomAgent(BaseAgent):
    """Uniformly random actions among simple_spread's 5."""

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)
        self.rng = np.random.default_rng(0)

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return np.asarray(self.rng.integers(5))

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        raise NotImplementedError("the random baseline is never saved")

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        raise NotImplementedError("the random baseline is never loaded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=150_000)
    args = parser.parse_args()
    random = RandomAgent().evaluate_episodes(spread, n_eval_episodes=100, seeds=1000, progress_bar=False)
    agent = StableBaselinesAgent("PPO", PARAMETERS)
    start = time.perf_counter()
    agent.train(spread, n_envs=4, total_timesteps=args.timesteps, progress_bar=False)
    seconds = time.perf_counter() - start
    trained = agent.evaluate_episodes(spread, n_eval_episodes=100, seeds=1000, progress_bar=False)
    print(f"random policy: {random.mean_reward:.1f} ± {random.std_reward:.1f} (100 agent episodes)")
    print(
        f"PPO after {args.timesteps} steps ({seconds:.0f} s): {trained.mean_reward:.1f} ± {trained.std_reward:.1f} "
        f"(100 agent episodes)"
    )


if __name__ == "__main__":
    main()
