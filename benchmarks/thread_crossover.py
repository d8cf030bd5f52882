"""Where do CNN policies start to gain from a second torch thread? PPO ``CnnPolicy``, 1 vs 2 threads.

Small MLP policies train faster on one intra-op thread (``util/threads.py``). A CNN does much more
arithmetic per call, so at some image size the second thread should pay for its hand-offs. This
benchmark trains SB3's PPO with ``CnnPolicy`` (NatureCNN) on a synthetic image environment (a bright
square whose side tells the rewarded action; rendering costs microseconds, so the network dominates)
for several image sizes, alternating 1-thread and 2-thread runs, and prints ``time(2 threads) /
time(1 thread)`` per size: below 1.0 the second thread gains.

``BaseAgent._has_small_policy`` follows the result (``util/threads.py``): on a quiet 2-core machine
the two were even at 36x36x1 and two threads won from 64x64x3 on, so CNN policies keep torch's
default thread count.

Run: ``python benchmarks/thread_crossover.py [--timesteps 1024] [--repeats 3] [--quick]``
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from benchmark_tools import Figure, alternating, describe, parser, ratio, report, timed
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from rl_framework.util.threads import torch_threads

#: (height, width, channels): from NatureCNN's smallest input to Atari's 84x84 (1 and 4 stacked frames) and beyond.
SIZES = [(36, 36, 1), (64, 64, 3), (84, 84, 1), (84, 84, 4), (128, 128, 3)]
PARAMETERS = {"n_steps": 128, "batch_size": 64, "n_epochs": 4, "seed": 0, "device": "cpu"}


class SquareImageEnv(gym.Env):
    """A square drawn left or right in the image; action 1 is rewarded when it is on the right."""

    def __init__(self, shape: tuple[int, int, int] = (84, 84, 4), episode_length: int = 100) -> None:
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.episode_length = episode_length
        self._image = np.zeros(shape, np.uint8)
        self._right = False
        self._steps = 0

    def _observe(self) -> np.ndarray:
        self._right = bool(self.np_random.integers(2))
        height, width = self._image.shape[:2]
        self._image[:] = 0
        left = width // 2 if self._right else 0
        self._image[height // 4 : 3 * height // 4, left + width // 8 : left + 3 * width // 8] = 255
        return self._image.copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._steps = 0
        return self._observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = float(int(action) == int(self._right))
        self._steps += 1
        return self._observe(), reward, False, self._steps >= self.episode_length, {}


def train(shape: tuple[int, int, int], threads: int, timesteps: int, parameters: dict) -> None:
    with torch_threads(threads):
        env = make_vec_env(SquareImageEnv, n_envs=4, env_kwargs={"shape": shape})
        PPO("CnnPolicy", env, **parameters).learn(total_timesteps=timesteps, progress_bar=False)
        env.close()


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--timesteps", type=int, default=1024)
    arguments.add_argument("--repeats", type=int, default=3)
    args = arguments.parse_args()
    sizes, parameters = SIZES, PARAMETERS
    if args.quick:
        sizes, args.timesteps, args.repeats = SIZES[:1], 64, 1
        parameters = {**PARAMETERS, "n_steps": 16, "batch_size": 32, "n_epochs": 1}
    train(sizes[0], 1, 64, {**parameters, "n_steps": 16, "batch_size": 32, "n_epochs": 1})  # warm-up
    figures = []
    for shape in sizes:
        times = alternating(
            {
                "1 thread": timed(lambda shape=shape: train(shape, 1, args.timesteps, parameters)),
                "2 threads": timed(lambda shape=shape: train(shape, 2, args.timesteps, parameters)),
            },
            args.repeats,
        )
        label = "x".join(str(side) for side in shape)
        figures.append(
            Figure(
                f"CnnPolicy PPO {label} image: 2 threads / 1 thread (time)",
                ratio(times["2 threads"], times["1 thread"]),
                "",
                f"{label}: " + "; ".join(f"{side}: {describe(values)}" for side, values in times.items()),
            )
        )
    notes = [f"PPO CnnPolicy, 4 envs, {args.timesteps} steps x {args.repeats} rounds, {PARAMETERS}"]
    report(figures, args.json, notes, args.quick)


if __name__ == "__main__":
    main()
