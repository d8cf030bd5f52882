"""Imitate a CartPole expert with behavioural cloning, end to end.

1. Get an expert: train PPO (default), load a saved agent (``--expert-file``, e.g. the output of
   ``train_rl_agent.py``), or use a scripted controller (``--expert scripted``).
2. Record 20 expert episodes with imitation's own ``rollout.rollout`` and store them with
   ``imitation.data.serialize.save``.
3. Open them with ``EpisodeSequence.from_dataset`` and train ``ImitationAgent("BC")``.
4. Evaluate expert and imitator on the same seeds and print both returns.

Run: ``python exploration/train_il_agent.py`` (a few minutes on 2 CPU cores; expected: BC >= 95 %
of the expert's mean return) or ``python exploration/train_il_agent.py --quick`` for CI (seconds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from imitation.data import rollout, serialize
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3.common.vec_env import DummyVecEnv

# The expert is trained as in the RL example (same folder): RL-Zoo's tuned PPO settings for CartPole-v1.
from train_rl_agent import ENVIRONMENT_ID, PPO_PARAMETERS

from rl_framework.agent import BaseAgent, ImitationAgent, StableBaselinesAgent
from rl_framework.data import EpisodeSequence


class ScriptedExpert(BaseAgent):
    """Near-optimal CartPole controller: push towards the side the pole falls to."""

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return np.asarray(int(3 * observation[2] + observation[3] > 0))

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        observations = np.asarray(observations)
        return (3 * observations[:, 2] + observations[:, 3] > 0).astype(np.int64)

    def save_to_file(self, file_path: Any) -> list[Path]:
        raise NotImplementedError("The scripted expert is code; there is nothing to save.")

    def load_from_file(self, file_path: Any, algorithm_parameters: dict[str, Any] | None = None) -> None:
        raise NotImplementedError("The scripted expert is code; there is nothing to load.")


def get_expert(args: argparse.Namespace) -> BaseAgent:
    if args.expert == "scripted":
        return ScriptedExpert()
    agent = StableBaselinesAgent("PPO", PPO_PARAMETERS)
    if args.expert_file is not None:
        agent.load_from_file(args.expert_file)
    else:
        agent.train(ENVIRONMENT_ID, total_timesteps=args.expert_timesteps, n_envs=8, progress_bar=not args.quiet)
    return agent


def record_with_imitation(expert: BaseAgent, n_episodes: int, folder: Path, seed: int) -> None:
    """Record with imitation's own rollout helper and save with its serializer (the format users receive)."""
    venv = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make(ENVIRONMENT_ID))])
    venv.seed(seed)

    def policy(observations: np.ndarray, states: Any, episode_starts: Any) -> tuple[np.ndarray, None]:
        return expert.choose_actions(observations, deterministic=True), None

    trajectories = rollout.rollout(
        policy,
        venv,
        rollout.make_sample_until(min_episodes=n_episodes),
        rng=np.random.default_rng(seed),
        verbose=False,
    )
    venv.close()
    serialize.save(folder, trajectories[:n_episodes])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI smoke run: scripted expert, tiny budgets")
    parser.add_argument("--expert", choices=["ppo", "scripted"], default="ppo")
    parser.add_argument("--expert-file", type=Path, help="a saved StableBaselinesAgent PPO file to use as expert")
    parser.add_argument("--expert-timesteps", type=int, default=100_000, help="PPO expert training steps")
    parser.add_argument("--episodes", type=int, default=20, help="expert episodes to record")
    parser.add_argument("--timesteps", type=int, default=200_000, help="BC budget: demonstration samples")
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--output", type=Path, default=Path("outputs/bc_cartpole.zip"), help="where to save BC")
    parser.add_argument("--quiet", action="store_true", help="hide progress bars")
    args = parser.parse_args()
    if args.quick:
        args.expert, args.episodes, args.timesteps, args.eval_episodes = "scripted", 4, 5_000, 5

    expert = get_expert(args)
    with tempfile.TemporaryDirectory() as scratch:
        dataset = Path(scratch) / "expert_episodes"
        record_with_imitation(expert, args.episodes, dataset, seed=0)
        episodes = EpisodeSequence.from_dataset(dataset)
        print(f"Recorded {episodes!r}")

        imitator = ImitationAgent("BC", {"seed": 0})
        imitator.train(episode_sequence=episodes, training_environments=ENVIRONMENT_ID, total_timesteps=args.timesteps)

    evaluation = {"n_eval_episodes": args.eval_episodes, "seeds": 1000, "deterministic": True}
    expert_mean, expert_std = expert.evaluate(ENVIRONMENT_ID, progress_bar=not args.quiet, **evaluation)
    imitator_mean, imitator_std = imitator.evaluate(ENVIRONMENT_ID, progress_bar=not args.quiet, **evaluation)
    ratio = imitator_mean / expert_mean
    print(
        f"expert ({args.expert}): mean return {expert_mean:.1f} ± {expert_std:.1f} over {args.eval_episodes} episodes"
    )
    print(f"BC imitator: mean return {imitator_mean:.1f} ± {imitator_std:.1f} ({ratio:.1%} of the expert)")
    print(f"Saved the imitator to {imitator.save_to_file(args.output)[0]}")
    if not args.quick and ratio < 0.95:
        print("BC reached less than 95 % of the expert's return.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
