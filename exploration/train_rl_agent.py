"""Train PPO on CartPole-v1, evaluate it on 100 episodes, share it in the local registry.

Run: ``python exploration/train_rl_agent.py`` (under a minute on 2 CPU cores, mean return 500)
or ``python exploration/train_rl_agent.py --timesteps 2000`` for a quick smoke run.

The agent goes to the local, account-free registry (``~/.rl_framework/registry``, or ``--registry``)
with its evaluation result, training metrics and a replay video; ``exploration/share_agent.py``
shows the switch to the HuggingFace Hub or ClearML.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector import LocalConnector, LocalUploadConfig

ENVIRONMENT_ID = "CartPole-v1"
# RL-Zoo's tuned PPO hyperparameters for CartPole-v1 (its linear schedules replaced by constants).
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


#: The registry name exploration/share_agent.py shares, and the full run's budget.
AGENT_NAME = "ppo-CartPole-v1"
FULL_TIMESTEPS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=FULL_TIMESTEPS, help="training environment steps")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument(
        "--registry", type=Path, default=None, help="registry folder (default ~/.rl_framework/registry)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args()

    # A quick smoke run goes under its own name, so it never becomes the "latest" of the real agent
    # that exploration/share_agent.py shares.
    agent_name = AGENT_NAME if args.timesteps >= FULL_TIMESTEPS else f"{AGENT_NAME}-quick"
    connector = LocalConnector(
        LocalUploadConfig(agent_name=agent_name, n_eval_episodes=args.eval_episodes, video_length=500),
        registry_path=args.registry,
    )
    agent = StableBaselinesAgent(algorithm_class="PPO", algorithm_parameters=PPO_PARAMETERS)
    agent.train(
        training_environments=ENVIRONMENT_ID,
        n_envs=8,
        total_timesteps=args.timesteps,
        connector=connector,  # logs episode returns and PPO's losses into the registry
        progress_bar=not args.no_progress,
    )
    mean_reward, std_reward = agent.evaluate(
        evaluation_environment=ENVIRONMENT_ID,
        n_eval_episodes=args.eval_episodes,
        seeds=1000,
        deterministic=True,
        progress_bar=not args.no_progress,
    )
    print(f"{ENVIRONMENT_ID}: mean return {mean_reward:.1f} ± {std_reward:.1f} over {args.eval_episodes} episodes")
    version = agent.upload(
        connector,
        evaluation_environment=ENVIRONMENT_ID,
        video_recording_environment=gym.make(ENVIRONMENT_ID, render_mode="rgb_array"),
    )
    print(f"Uploaded the agent with its metrics and replay video to {version}")


if __name__ == "__main__":
    main()
