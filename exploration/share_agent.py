"""Share an agent from the local registry on the HuggingFace Hub or ClearML (the connector switch).

First train one: ``python exploration/train_rl_agent.py``. Then:

- ``python exploration/share_agent.py huggingface --repository-id YOUR_NAME/ppo-CartPole-v1``
  (needs a write token: ``HF_TOKEN`` or ``hf auth login``);
- ``python exploration/share_agent.py clearml`` (a configured ClearML server), or
  ``python exploration/share_agent.py clearml --offline`` (no server: writes an offline session
  that ``Task.import_offline_session`` can upload later).

Every connector takes the same ``agent.upload(connector, ...)`` / ``agent.download(connector)``
calls; only the connector and its configs change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.connector import (
    ClearMLConnector,
    ClearMLUploadConfig,
    Connector,
    HuggingFaceConnector,
    HuggingFaceUploadConfig,
    LocalConnector,
    LocalDownloadConfig,
)

ENVIRONMENT_ID = "CartPole-v1"


def target_connector(args: argparse.Namespace) -> Connector:
    """The connector the agent is shared through, from the command line."""
    if args.target == "huggingface":
        return HuggingFaceConnector(
            HuggingFaceUploadConfig(
                repository_id=args.repository_id,
                environment_name=ENVIRONMENT_ID,
                model_architecture="PPO",
                commit_message="PPO agent trained with rl_framework",
                n_eval_episodes=args.eval_episodes,
            )
        )
    if args.offline:
        from clearml import Task

        Task.set_offline(True)
    return ClearMLConnector(ClearMLUploadConfig(project_name="rl_framework", task_name="ppo-CartPole-v1"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["huggingface", "clearml"])
    parser.add_argument("--repository-id", help="HuggingFace repository, e.g. your-name/ppo-CartPole-v1")
    parser.add_argument("--offline", action="store_true", help="ClearML offline mode (no server needed)")
    parser.add_argument("--registry", type=Path, default=None, help="local registry (default ~/.rl_framework/registry)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()
    if args.target == "huggingface" and not args.repository_id:
        parser.error("huggingface needs --repository-id OWNER/NAME")

    agent = StableBaselinesAgent("PPO")
    agent.download(LocalConnector(download_config=LocalDownloadConfig("ppo-CartPole-v1"), registry_path=args.registry))
    connector = target_connector(args)
    where = agent.upload(
        connector,
        evaluation_environment=ENVIRONMENT_ID,
        video_recording_environment=gym.make(ENVIRONMENT_ID, render_mode="rgb_array"),
    )
    if isinstance(connector, ClearMLConnector):
        connector.close()
    print(f"Shared the agent: {where}")


if __name__ == "__main__":
    main()
