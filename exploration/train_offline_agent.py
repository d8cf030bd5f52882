"""Offline RL on CartPole with d3rlpy, end to end: record, train without the environment, export to ONNX.

1. Record a mixed dataset: episodes of a scripted expert and of a noisy copy of it that takes a
   random action half of the time; save it as a dataset folder and reopen it with
   ``EpisodeSequence.from_dataset`` (memory-mapped, streamed into d3rlpy's buffer).
2. Train ``D3rlpyAgent("DiscreteCQL")`` on it: gradient steps only, no environment steps.
3. Evaluate it, save and reload it, and export the policy to ONNX; onnxruntime must pick the
   same actions as ``choose_action(..., deterministic=True)``.

Needs the extras ``d3rlpy`` and ``onnx``. Run: ``python exploration/train_offline_agent.py``
(21 s of CPU time; measured: the dataset's mean returns are 500.0 (expert) and 197.9 (noisy),
DiscreteCQL after 2,000 gradient steps 500.0 ± 0.0 over 20 episodes) or
``python exploration/train_offline_agent.py --quick`` for CI (seconds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime

from rl_framework.agent import D3rlpyAgent
from rl_framework.data import EpisodeSequence

ENVIRONMENT_ID = "CartPole-v1"
#: Settings for small vector tasks; d3rlpy's Q-learning defaults (lr 6.25e-5, target update every
#: 8,000 steps) are tuned for Atari and learn CartPole far more slowly.
PARAMETERS = {
    "DiscreteCQL": {"batch_size": 64, "learning_rate": 1e-3, "target_update_interval": 200, "seed": 0},
    "DiscreteBCQ": {"batch_size": 64, "learning_rate": 1e-3, "target_update_interval": 200, "seed": 0},
    "DiscreteBC": {"batch_size": 64, "learning_rate": 1e-3, "seed": 0},
}


def expert(observation: np.ndarray) -> int:
    """Near-optimal CartPole controller: push towards the side the pole falls to."""
    return int(3 * observation[2] + observation[3] > 0)


def noisy_expert(seed: int) -> Callable[[np.ndarray], int]:
    """The expert, but every other action (on average) is random."""
    rng = np.random.default_rng(seed)

    def act(observation: np.ndarray) -> int:
        return int(rng.integers(2)) if rng.random() < 0.5 else expert(observation)

    return act


def record_mixed_dataset(n_episodes: int, folder: Path) -> EpisodeSequence:
    """Half expert, half noisy episodes, saved to ``folder`` and reopened from disk."""
    expert_episodes = EpisodeSequence.from_agent(expert, ENVIRONMENT_ID, n_episodes=n_episodes // 2, seed=0)
    noisy_episodes = EpisodeSequence.from_agent(
        noisy_expert(1), ENVIRONMENT_ID, n_episodes=n_episodes - n_episodes // 2, seed=100
    )
    print(
        f"expert episodes: mean return {expert_episodes.statistics().return_mean:.1f}; "
        f"noisy episodes: {noisy_episodes.statistics().return_mean:.1f}"
    )
    EpisodeSequence.from_trajectories([*expert_episodes, *noisy_episodes]).save(folder)
    return EpisodeSequence.from_dataset(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI smoke run: tiny dataset and budget")
    parser.add_argument("--algorithm", default="DiscreteCQL", choices=list(PARAMETERS))
    parser.add_argument("--episodes", type=int, default=20, help="episodes to record (half expert, half noisy)")
    parser.add_argument("--timesteps", type=int, default=2_000, help="gradient steps")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--output", type=Path, default=Path("outputs/offline_cartpole"), help="folder for the files")
    parser.add_argument("--quiet", action="store_true", help="hide progress bars")
    args = parser.parse_args()
    if args.quick:
        args.episodes, args.timesteps, args.eval_episodes = 4, 200, 3

    agent = D3rlpyAgent(args.algorithm, PARAMETERS[args.algorithm])
    with tempfile.TemporaryDirectory() as scratch:
        episodes = record_mixed_dataset(args.episodes, Path(scratch) / "mixed_episodes")
        print(f"Recorded {episodes!r}")
        agent.train(episodes, ENVIRONMENT_ID, total_timesteps=args.timesteps, progress_bar=not args.quiet)

    mean_return, std_return = agent.evaluate(
        ENVIRONMENT_ID, n_eval_episodes=args.eval_episodes, seeds=1000, progress_bar=not args.quiet
    )
    print(f"{args.algorithm} after {args.timesteps} gradient steps: mean return {mean_return:.1f} ± {std_return:.1f}")

    agent_file = agent.save_to_file(args.output / f"{args.algorithm.lower()}.zip")[0]
    reloaded = D3rlpyAgent(args.algorithm)
    reloaded.load_from_file(agent_file)
    observations = np.stack([obs for trajectory in episodes_for_check() for obs in trajectory.obs]).astype(np.float32)
    actions = agent.choose_actions(observations, deterministic=True)
    onnx_file = agent.export_onnx(args.output / f"{args.algorithm.lower()}.onnx")
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    onnx_actions = session.run(["action"], {"observation": observations})[0]
    reloaded_same = np.array_equal(reloaded.choose_actions(observations, deterministic=True), actions)
    onnx_same = np.array_equal(onnx_actions, actions)
    print(f"Saved {agent_file} (reloaded agent acts the same: {reloaded_same}) and {onnx_file}")
    print(f"onnxruntime picks the agent's actions on {len(observations)} observations: {onnx_same}")
    if not (reloaded_same and onnx_same):
        return 1
    if not args.quick and mean_return < 475:
        print("The offline agent stayed below a mean return of 475.", file=sys.stderr)
        return 1
    return 0


def episodes_for_check() -> EpisodeSequence:
    """A few fresh noisy episodes whose observations compare the agent, its reload and the ONNX graph."""
    return EpisodeSequence.from_agent(noisy_expert(2), ENVIRONMENT_ID, n_episodes=2, seed=500)


if __name__ == "__main__":
    sys.exit(main())
