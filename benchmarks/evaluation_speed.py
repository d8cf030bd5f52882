"""``agent.evaluate`` against SB3's ``evaluate_policy`` on one env, quiet and beside a busy core.

Both evaluate the same trained PPO policy (CartPole-v1, deterministic) for ``--episodes`` episodes:

- ``evaluate_policy default``: ``evaluate_policy(model, Monitor(gym.make("CartPole-v1")), n)`` with
  torch's default thread count (what a user of SB3 runs);
- ``evaluate_policy 1 thread``: the same inside ``torch.set_num_threads(1)``;
- ``evaluate``: ``agent.evaluate("CartPole-v1", n, seeds=0)`` (gymnasium's native ``CartPoleVectorEnv``
  with the cheap policy forward, see ``environment/native_vector.py``).

Figures are speed-ups (reference time / ``evaluate`` time). Targets: >= 40x ``evaluate_policy`` (moonshot
60x) quiet, on either thread count; beside a busy core >= 5x the default (``evaluate`` <= 0.2x the time;
``--busy-episodes`` episodes there, as ``evaluate_policy`` slows down a lot). The run also checks that every
episode return equals a sequential ``choose_action`` loop on ``gym.make`` with seeds ``0 .. n-1``.

Run: ``python benchmarks/evaluation_speed.py [--episodes 100] [--repeats 3] [--quick]``
"""

from __future__ import annotations

import gymnasium as gym
import torch
from benchmark_tools import Figure, alternating, busy_core, describe, parser, ratio, report, timed
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.threads import torch_threads

PPO_PARAMETERS = {"n_steps": 64, "batch_size": 128, "learning_rate": 1e-3, "seed": 0, "device": "cpu"}


def reference(agent: StableBaselinesAgent, episodes: int, threads: int) -> None:
    with torch_threads(threads):
        evaluate_policy(agent.model, Monitor(gym.make("CartPole-v1")), n_eval_episodes=episodes, deterministic=True)


def ours(agent: StableBaselinesAgent, episodes: int) -> None:
    agent.evaluate("CartPole-v1", n_eval_episodes=episodes, seeds=0, deterministic=True, progress_bar=False)


def sequential_returns(agent: StableBaselinesAgent, episodes: int) -> list[float]:
    """Episode ``i`` on ``gym.make`` reset with seed ``i``, one ``choose_action`` per step."""
    env = gym.make("CartPole-v1")
    returns = []
    for seed in range(episodes):
        observation, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(agent.choose_action(observation, True))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return returns


def speedups(times: dict[str, list[float]], condition: str, targets: dict[str, str]) -> list[Figure]:
    detail = f"{condition}: " + "; ".join(f"{side}: {describe(values)}" for side, values in times.items())
    references = [side for side in times if side != "evaluate"]
    return [
        Figure(
            f"evaluate speed-up over evaluate_policy ({side.split(' ', 1)[1]}), {condition}",
            ratio(times[side], times["evaluate"]),
            targets.get(side, ""),
            detail,
        )
        for side in references
    ]


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--episodes", type=int, default=100)
    arguments.add_argument("--train-steps", type=int, default=20_000)
    arguments.add_argument("--repeats", type=int, default=3)
    arguments.add_argument("--busy-repeats", type=int, default=1)
    arguments.add_argument("--busy-episodes", type=int, default=20, help="evaluate_policy is slow beside a busy core")
    args = arguments.parse_args()
    if args.quick:
        args.episodes, args.busy_episodes, args.train_steps, args.repeats, args.busy_repeats = 4, 2, 512, 1, 1
    default_threads = torch.get_num_threads()
    agent = StableBaselinesAgent("PPO", PPO_PARAMETERS)
    agent.train("CartPole-v1", n_envs=8, total_timesteps=args.train_steps, progress_bar=False)
    ours(agent, 2)  # warm-up: the native vector class is verified once per process
    sides = {
        "evaluate_policy default": timed(lambda: reference(agent, args.episodes, default_threads)),
        "evaluate_policy 1 thread": timed(lambda: reference(agent, args.episodes, 1)),
        "evaluate": timed(lambda: ours(agent, args.episodes)),
    }
    quiet = alternating(sides, args.repeats)
    busy_sides = {
        "evaluate_policy default": timed(lambda: reference(agent, args.busy_episodes, default_threads)),
        "evaluate": timed(lambda: ours(agent, args.busy_episodes)),
    }
    with busy_core():
        busy = alternating(busy_sides, args.busy_repeats)
    result = agent.evaluate_episodes("CartPole-v1", args.episodes, seeds=0, progress_bar=False)
    identical = sum(
        ours_return == sequential
        for ours_return, sequential in zip(
            result.episode_returns, sequential_returns(agent, args.episodes), strict=True
        )
    )
    figures = speedups(quiet, "quiet", {"evaluate_policy default": ">= 40", "evaluate_policy 1 thread": ">= 40"})
    figures += speedups(busy, "one core busy", {"evaluate_policy default": ">= 5"})
    figures.append(
        Figure(
            "evaluate episode returns identical to a sequential loop (share of episodes)",
            identical / args.episodes,
            ">= 1.0",
            f"{identical} of {args.episodes} episodes; mean return {result.mean_reward:.1f}",
        )
    )
    notes = [
        f"PPO trained {args.train_steps} steps; {args.episodes} CartPole-v1 episodes ({args.busy_episodes} beside "
        f"the busy core), deterministic; {args.repeats} quiet / {args.busy_repeats} busy rounds; torch default "
        f"threads {default_threads}"
    ]
    report(figures, args.json, notes, args.quick)


if __name__ == "__main__":
    main()
