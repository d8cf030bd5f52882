"""A custom agent that trains in milliseconds, so Ray tests spend their time on Ray, not on torch.

``NoisyExpertAgent`` acts like a scripted CartPole expert, except that it takes a random action
with probability ``noise``, which halves every ``halving`` training steps: its returns climb as it
trains, like a learner's. ``fail_after`` (steps) and ``fail_for_seed`` make training raise (a
trial that crashes); ``interrupt_file`` + ``interrupt_seed`` make the trial of that seed send
SIGINT to the sweep's driver (``driver_pid``) once (a user pressing Ctrl-C). The saved agent
records the Ray node it trained on.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from rl_framework.agent import RLAgent
from rl_framework.util.files import atomic_write_text


class NoisyExpertAgent(RLAgent):
    """A CartPole expert made worse by random actions that fade with training (see the module docstring)."""

    def __init__(self, algorithm_parameters: dict[str, Any] | None = None) -> None:
        parameters = {"noise": 0.9, "halving": 500, **(algorithm_parameters or {})}
        super().__init__(algorithm_class=None, algorithm_parameters=parameters)
        self.trained_steps = 0
        self.node = ""
        self.rng = np.random.default_rng(parameters.get("seed"))

    @property
    def noise(self) -> float:
        """Probability of a random action at the current training step count."""
        parameters = self.algorithm_parameters
        return float(parameters["noise"]) * 0.5 ** (self.trained_steps / float(parameters["halving"]))

    def _train(self, vec_env: Any, total_timesteps: int, connector: Any, progress_bar: bool, callback: Any) -> None:
        parameters = self.algorithm_parameters
        if "fail_after" in parameters and self.trained_steps + total_timesteps > parameters["fail_after"]:
            raise RuntimeError(f"diverged on purpose after {parameters['fail_after']} steps")
        if parameters.get("fail_for_seed") == parameters.get("seed"):
            raise RuntimeError(f"diverged on purpose with seed {parameters['seed']}")
        marker = parameters.get("interrupt_file")
        if marker and parameters.get("interrupt_seed") == parameters.get("seed") and not Path(marker).exists():
            Path(marker).write_text("interrupted once", encoding="utf-8")
            os.kill(int(parameters["driver_pid"]), signal.SIGINT)
            time.sleep(3)  # Ray Tune stops the trial meanwhile: its later reports are never recorded
        time.sleep(total_timesteps * float(parameters.get("seconds_per_step", 0.0)))
        self.trained_steps += total_timesteps
        import ray

        self.node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return self.choose_actions(np.asarray(observation)[None], deterministic)[0]

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        observations = np.asarray(observations)
        expert = (observations[:, 2] + 0.5 * observations[:, 3] > 0).astype(np.int64)
        random = self.rng.integers(0, 2, size=len(observations))
        return np.where(self.rng.random(len(observations)) < self.noise, random, expert)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        state = {"parameters": self.algorithm_parameters, "trained_steps": self.trained_steps, "node": self.node}
        return [atomic_write_text(file_path, json.dumps(state))]

    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        state = json.loads(Path(file_path).read_text(encoding="utf-8"))
        self.algorithm_parameters = {**state["parameters"], **(algorithm_parameters or {})}
        self.trained_steps = int(state["trained_steps"])
        self.node = state["node"]
