"""Train PPO on CartPole-v1, evaluate it on 100 episodes, save it.

Run: ``python exploration/train_rl_agent.py`` (about 1-2 minutes on 2 CPU cores, mean return >= 475)
or ``python exploration/train_rl_agent.py --timesteps 2000`` for a quick smoke run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rl_framework.agent import StableBaselinesAgent

ENVIRONMENT_ID = "CartPole-v1"
# RL-Zoo's tuned PPO hyperparameters for CartPole-v1 (linear schedules replaced by constants that work as well).
PPO_PARAMETERS = {
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
    "seed": 0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=100_000, help="training environment steps")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument(
        "--output", type=Path, default=Path("outputs/ppo_cartpole.zip"), help="where to save the agent"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args()

    agent = StableBaselinesAgent(algorithm_class="PPO", algorithm_parameters=PPO_PARAMETERS)
    agent.train(
        training_environments=ENVIRONMENT_ID,
        n_envs=8,
        total_timesteps=args.timesteps,
        progress_bar=not args.no_progress,
    )
    mean_reward, std_reward = agent.evaluate(
        evaluation_environment=ENVIRONMENT_ID,
        n_eval_episodes=args.eval_episodes,
        seeds=1000,
        deterministic=True,
        progress_bar=not args.no_progress,
    )
    print(
        f"{ENVIRONMENT_ID}: mean return {mean_reward:.1f} ± {std_reward:.1f} over {args.eval_episodes} episodes"
    )
    saved = agent.save_to_file(args.output)
    print(f"Saved the agent to {saved}")


if __name__ == "__main__":
    main()
