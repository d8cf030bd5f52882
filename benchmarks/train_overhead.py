"""``StableBaselinesAgent.train`` against raw SB3 ``PPO.learn``, on a quiet machine and beside a busy core.

Three sides, all PPO with SB3's default hyperparameters (seed 0, CPU) on ``n_envs`` CartPole-v1
copies in a ``DummyVecEnv``, progress bar off:

- ``raw default``: ``PPO("MlpPolicy", make_vec_env(...)).learn(...)`` with torch's default thread count
  (what a user who runs SB3 directly gets);
- ``raw 1 thread``: the same inside ``torch.set_num_threads(1)`` (SB3 on the thread count ``train`` picks);
- ``train``: ``StableBaselinesAgent("PPO").train("CartPole-v1", n_envs=...)``.

Targets: quiet, ``train`` <= 1.0x raw default and <= 1.02x raw on the same thread count; with the
benchmark keeping one core busy (a spinning subprocess), ``train`` <= 0.2x raw default.

Run: ``python benchmarks/train_overhead.py [--timesteps 16384] [--repeats 5] [--quick]``
"""

from __future__ import annotations

import torch
from benchmark_tools import Figure, alternating, busy_core, describe, parser, ratio, report, timed
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.threads import torch_threads

PARAMETERS = {"seed": 0, "device": "cpu"}
QUICK_PARAMETERS = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, **PARAMETERS}


def raw_sb3(timesteps: int, n_envs: int, threads: int | None, parameters: dict) -> None:
    with torch_threads(threads):
        env = make_vec_env("CartPole-v1", n_envs=n_envs)
        PPO("MlpPolicy", env, **parameters).learn(total_timesteps=timesteps, progress_bar=False)
        env.close()


def ours(timesteps: int, n_envs: int, parameters: dict) -> None:
    agent = StableBaselinesAgent("PPO", dict(parameters))
    agent.train(training_environments="CartPole-v1", n_envs=n_envs, total_timesteps=timesteps, progress_bar=False)


def compare(
    timesteps: int, n_envs: int, repeats: int, parameters: dict, default_threads: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall times and CPU times of the three sides."""
    runs = {
        "raw default": timed(lambda: raw_sb3(timesteps, n_envs, default_threads, parameters)),
        "raw 1 thread": timed(lambda: raw_sb3(timesteps, n_envs, 1, parameters)),
        "train": timed(lambda: ours(timesteps, n_envs, parameters)),
    }
    return alternating(runs, repeats), {side: run.cpu for side, run in runs.items()}


def cpu_figure(cpu: dict[str, list[float]], condition: str) -> Figure:
    """The same-thread comparison in CPU time: what ``train`` itself adds, whatever else the machine runs."""
    return Figure(
        f"train / raw PPO.learn (raw 1 thread), CPU time, {condition}",
        ratio(cpu["train"], cpu["raw 1 thread"]),
        "<= 1.02",
        f"{condition} CPU time: " + "; ".join(f"{side}: {describe(values)}" for side, values in cpu.items()),
    )


def figures_of(times: dict[str, list[float]], condition: str, targets: dict[str, str]) -> list[Figure]:
    detail = f"{condition}: " + "; ".join(f"{side}: {describe(values)}" for side, values in times.items())
    return [
        Figure(
            f"train / raw PPO.learn ({reference}), {condition}",
            ratio(times["train"], times[reference]),
            targets.get(reference, ""),
            detail,
        )
        for reference in ("raw default", "raw 1 thread")
    ]


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--timesteps", type=int, default=16_384)
    arguments.add_argument("--busy-timesteps", type=int, default=8_192)
    arguments.add_argument("--n-envs", type=int, default=4)
    arguments.add_argument("--repeats", type=int, default=5)
    arguments.add_argument("--busy-repeats", type=int, default=3)
    args = arguments.parse_args()
    parameters = QUICK_PARAMETERS if args.quick else PARAMETERS
    if args.quick:
        args.timesteps = args.busy_timesteps = 128
        args.repeats = args.busy_repeats = 1
    default_threads = torch.get_num_threads()  # torch's own default, before anything changed it
    if not args.quick:  # warm-up: imports, torch kernels
        raw_sb3(256, args.n_envs, default_threads, QUICK_PARAMETERS)
        ours(256, args.n_envs, QUICK_PARAMETERS)
    quiet, quiet_cpu = compare(args.timesteps, args.n_envs, args.repeats, parameters, default_threads)
    with busy_core():
        busy, _ = compare(args.busy_timesteps, args.n_envs, args.busy_repeats, parameters, default_threads)
    figures = figures_of(quiet, "quiet", {"raw default": "<= 1.0", "raw 1 thread": "<= 1.02"})
    figures.append(cpu_figure(quiet_cpu, "quiet"))
    figures += figures_of(busy, "one core busy", {"raw default": "<= 0.2"})
    notes = [
        f"PPO defaults, CartPole-v1 x {args.n_envs} envs; quiet {args.timesteps} steps x {args.repeats} rounds, "
        f"busy {args.busy_timesteps} steps x {args.busy_repeats} rounds; torch default threads {default_threads}"
    ]
    report(figures, args.json, notes, args.quick)


if __name__ == "__main__":
    main()
