"""Run ``rl-framework`` as a user does: in a subprocess (console script or ``python -m``), or in-process.

Subprocess runs cover what only a fresh interpreter shows (startup imports, exit codes, the
console script); the many commands that act on an already trained run go through click's
``CliRunner`` in this process, which invokes the same ``cli`` with the same arguments without
paying the torch import for every command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: Overrides that shrink the bundled PPO CartPole experiment to about a second of training.
TINY_PPO = (
    "--set", "total_timesteps=256",
    "--set", "n_envs=2",
    "--set", "env_kwargs.max_episode_steps=40",
    "--set", "algorithm_parameters.n_steps=32",
    "--set", "algorithm_parameters.batch_size=32",
    "--set", "algorithm_parameters.n_epochs=1",
    "--set", "evaluation.n_episodes=3",
    "--set", "evaluation.frequency=128",
    "--set", "evaluation.seed=0",
)  # fmt: skip


def quiet_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: registry and HF home inside ``tmp_path``, no token, one thread."""
    environment = {key: value for key, value in os.environ.items() if key not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    environment.update(
        {
            "RL_FRAMEWORK_REGISTRY": str(tmp_path / "registry"),
            "HF_HOME": str(tmp_path / "hf_home"),
            "OMP_NUM_THREADS": "1",
            "RL_FRAMEWORK_PROGRESS_INTERVAL": "0",
        }
    )
    environment.update(extra)
    return environment


def run_cli(
    *arguments: str, cwd: Path, console_script: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``rl-framework ARGUMENTS`` (the console script) or ``python -m rl_framework ARGUMENTS``."""
    if console_script:
        executable = shutil.which("rl-framework", path=str(Path(sys.executable).parent))
        assert executable is not None, "the console script is missing: pip install -e '.[cli]'"
        command = [executable, *arguments]
    else:
        command = [sys.executable, "-m", "rl_framework", *arguments]
    return subprocess.run(
        command, cwd=cwd, env=env or quiet_environment(cwd), capture_output=True, text=True, timeout=300
    )
