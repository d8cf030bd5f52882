"""``CustomAgent``: rl_framework's own algorithms (``custom_algorithms/``) behind the agent interface.

The agent runs the interaction loop over an SB3 ``VecEnv`` (auto-reset bookkeeping, episode
logging, checkpoints, progress bar) and stores the algorithm pickle-free: one zip holding a JSON
header and an ``.npz`` of arrays::

    agent.zip
    ├── rl_framework_custom.json   {"format", "format_version", "algorithm", "algorithm_parameters", "state"}
    └── arrays.npz                 e.g. the Q-table (read with allow_pickle=False)
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from rl_framework.agent.reinforcement.custom_algorithms import CUSTOM_ALGORITHMS
from rl_framework.agent.reinforcement.custom_algorithms.base import CustomAlgorithm
from rl_framework.agent.reinforcement_learning_agent import RLAgent
from rl_framework.environment.vectorize import check_spaces_match
from rl_framework.util.algorithm_table import resolve_algorithm
from rl_framework.util.checks import check_mapping
from rl_framework.util.connector.base import Connector
from rl_framework.util.files import atomic_write_bytes, require_existing_file

FORMAT = "rl_framework.CustomAgent"
FORMAT_VERSION = 1
HEADER_NAME = "rl_framework_custom.json"
ARRAYS_NAME = "arrays.npz"


def true_next_observations(
    observations: Any, finished: np.ndarray, infos: list[dict[str, Any]]
) -> tuple[Any, np.ndarray]:
    """The observations each step led to, and which episodes terminated, from a ``VecEnv.step`` result.

    A VecEnv resets a finished environment at once and returns the next episode's first
    observation; the true last one is in ``infos[i]["terminal_observation"]``. An episode cut by a
    time limit (``infos[i]["TimeLimit.truncated"]``) did not terminate: its last observation still
    has a value to bootstrap from.

    :param observations: the observations ``step`` returned (an array, or a dict of arrays).
    :param finished: indices of the environments whose episode ended in this step.
    :param infos: the infos ``step`` returned.
    :return: ``(next_observations, terminated)``; ``observations`` itself when no episode ended.
    """
    terminated = np.zeros(len(infos), dtype=bool)
    if len(finished) == 0:
        return observations, terminated
    if isinstance(observations, dict):
        next_observations: Any = {key: np.array(value) for key, value in observations.items()}
        for index in finished:
            for key, batch in next_observations.items():
                batch[index] = infos[index]["terminal_observation"][key]
    else:
        next_observations = np.array(observations)
        for index in finished:
            next_observations[index] = infos[index]["terminal_observation"]
    for index in finished:
        terminated[index] = not infos[index].get("TimeLimit.truncated", False)
    return next_observations, terminated


def _identity(algorithm_class: type) -> str:
    """``module:QualifiedName``: what an agent file records (and checks) as its algorithm."""
    return f"{algorithm_class.__module__}:{algorithm_class.__qualname__}"


class CustomAgent(RLAgent):
    """An RL agent running one of rl_framework's own algorithms, or your ``CustomAlgorithm`` subclass.

    The algorithm (e.g. the Q-table) is created on the first ``train`` call, when the environment's
    spaces are known, or by ``load_from_file``; ``algorithm`` gives direct access to it.

    :param algorithm_class: a name from the custom algorithm table (``"Q-Learning"`` / ``"QLearning"``,
        case-insensitive) or a ``CustomAlgorithm`` subclass.
    :param algorithm_parameters: the algorithm's settings (for Q-learning: ``learning_rate``, ``gamma``,
        ``epsilon_start``, ``epsilon_end``, ``exploration_fraction``, ``epsilon_schedule``,
        ``initial_q_value``, ``seed``); names and values are checked here.
    """

    def __init__(
        self,
        algorithm_class: str | type[CustomAlgorithm] = "Q-Learning",
        algorithm_parameters: dict[str, Any] | None = None,
    ) -> None:
        resolved, _ = resolve_algorithm(algorithm_class, CUSTOM_ALGORITHMS, "custom")
        if not issubclass(resolved, CustomAlgorithm):
            raise TypeError(
                f"CustomAgent runs CustomAlgorithm subclasses; {resolved.__name__} is not one. Subclass "
                f"rl_framework.agent.reinforcement.custom_algorithms.base.CustomAlgorithm, or use "
                f"StableBaselinesAgent for Stable-Baselines3 algorithms."
            )
        super().__init__(resolved, algorithm_parameters)
        self.algorithm_class: type[CustomAlgorithm] = resolved
        self.parameters = resolved.make_parameters(self.algorithm_parameters)
        self.algorithm: CustomAlgorithm | None = None

    @property
    def num_timesteps(self) -> int:
        """Environment steps trained so far, over every ``train`` call (0 before training)."""
        return 0 if self.algorithm is None else self.algorithm.num_timesteps

    def _timesteps_trained(self) -> int:
        """The training template's hook: steps trained so far (names the step of errors and final checkpoints)."""
        return self.num_timesteps

    # -- training -------------------------------------------------------------------------
    def _train(
        self, vec_env: VecEnv, total_timesteps: int, connector: Connector | None, progress_bar: bool, callback: Any
    ) -> None:
        """Run the algorithm on ``vec_env`` for ``total_timesteps`` steps; a second call continues training.

        Every finished episode's return and length (and the algorithm's ``training_metrics``) go to
        ``connector.log_value``; every ``connector.checkpoint_frequency`` steps a checkpoint is saved.
        """
        if callback is not None:
            raise TypeError(
                "CustomAgent does not train through Stable-Baselines3, so it runs no SB3 callbacks: drop callback= "
                "and pass connector= for metrics and checkpoints (or subclass CustomAgent and extend _train)."
            )
        algorithm = self._algorithm_for(vec_env)  # checks the spaces before the first step
        algorithm.start_training(total_timesteps)
        n_envs = vec_env.num_envs
        episode_returns, episode_lengths = np.zeros(n_envs), np.zeros(n_envs, dtype=np.int64)
        last_checkpoint, end = algorithm.num_timesteps, algorithm.num_timesteps + total_timesteps
        observations = vec_env.reset()
        with tqdm(total=total_timesteps, disable=not progress_bar, unit="step", desc=self.algorithm_name) as bar:
            while algorithm.num_timesteps < end:
                actions = algorithm.act(observations, deterministic=False)
                new_observations, rewards, dones, infos = vec_env.step(actions)
                algorithm.num_timesteps += n_envs
                finished = np.flatnonzero(dones)
                next_observations, terminated = true_next_observations(new_observations, finished, infos)
                algorithm.learn(observations, actions, rewards, next_observations, terminated)
                episode_returns += rewards
                episode_lengths += 1
                if connector is not None:
                    for index in finished:
                        self._log_episode(connector, infos[index], episode_returns[index], episode_lengths[index])
                    if (
                        connector.checkpoint_frequency
                        and algorithm.num_timesteps - last_checkpoint >= connector.checkpoint_frequency
                    ):
                        last_checkpoint = algorithm.num_timesteps
                        connector.save_checkpoint(self, algorithm.num_timesteps)
                episode_returns[finished], episode_lengths[finished] = 0.0, 0
                observations = new_observations
                bar.update(n_envs)

    def _algorithm_for(self, vec_env: VecEnv) -> CustomAlgorithm:
        """The existing algorithm (its spaces must match ``vec_env``'s) or a new one, seeding the envs."""
        if self.algorithm is not None:
            check_spaces_match(
                self.algorithm.observation_space,
                self.algorithm.action_space,
                vec_env.observation_space,
                vec_env.action_space,
                f"The agent's {self.algorithm_name}",
            )
            return self.algorithm
        self.algorithm_class.check_spaces(vec_env.observation_space, vec_env.action_space)
        seed = getattr(self.parameters, "seed", None)
        if seed is not None:
            vec_env.seed(seed)  # applies to the reset that starts training, as SB3 does
        self.algorithm = self.algorithm_class(vec_env.observation_space, vec_env.action_space, self.parameters)
        return self.algorithm

    def _log_episode(self, connector: Connector, info: dict[str, Any], episode_return: float, length: int) -> None:
        """Log a finished episode; a ``Monitor``'s numbers win (they are the environment's raw return)."""
        assert self.algorithm is not None
        algorithm, episode = self.algorithm, info.get("episode") or {"r": episode_return, "l": length}
        step = algorithm.num_timesteps
        connector.log_value("episode/return", float(episode["r"]), step)
        connector.log_value("episode/length", float(episode["l"]), step)
        for name, value in algorithm.training_metrics().items():
            connector.log_value(name, value, step)

    # -- acting ---------------------------------------------------------------------------
    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        """Return the action for one observation (greedy when ``deterministic``, else exploring)."""
        return self.choose_actions(np.asarray(observation).reshape(1), deterministic=deterministic)[0]

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        """Return one action per observation in one table look-up (what makes ``evaluate`` fast)."""
        self._check_ready_to_act()
        assert self.algorithm is not None
        return self.algorithm.act(np.asarray(observations), deterministic=deterministic)

    def _check_ready_to_act(self) -> None:
        if self.algorithm is None:
            raise RuntimeError(
                f"The CustomAgent has no trained {self.algorithm_name} yet: call train(...) or load_from_file(...) "
                f"first."
            )

    # -- persistence ----------------------------------------------------------------------
    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        """Save the algorithm's parameters and state as a zip of JSON and ``.npz`` (no pickle), atomically.

        :param file_path: destination, conventionally ending in ``.zip``.
        :return: ``[file_path]``.
        """
        self._check_ready_to_act()
        assert self.algorithm is not None
        values, arrays = self.algorithm.state()
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "algorithm": _identity(self.algorithm_class),
            "algorithm_parameters": dataclasses.asdict(self.algorithm.parameters),
            "state": values,
        }
        array_buffer = io.BytesIO()
        np.savez(array_buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub mistakes the names for flags
        archive_buffer = io.BytesIO()
        with zipfile.ZipFile(archive_buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(HEADER_NAME, json.dumps(header, indent=2))
            archive.writestr(ARRAYS_NAME, array_buffer.getvalue())
        return [atomic_write_bytes(file_path, archive_buffer.getvalue())]

    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        """Load an agent saved by ``save_to_file``; everything is read and checked before anything changes.

        :param file_path: the zip file.
        :param algorithm_parameters: merged over the stored parameters (e.g. ``{"learning_rate": 0.1}``
            for further training); a new ``seed`` restarts the exploration's random stream.
        """
        path = require_existing_file(file_path, "agent file")
        overrides = check_mapping(algorithm_parameters, "algorithm_parameters")
        try:
            with zipfile.ZipFile(path) as archive:
                header = json.loads(archive.read(HEADER_NAME))
                array_bytes = archive.read(ARRAYS_NAME)
            if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"its header says format {header.get('format')!r} v{header.get('format_version')}")
            stored_algorithm, stored_parameters = str(header["algorithm"]), dict(header["algorithm_parameters"])
            with np.load(io.BytesIO(array_bytes), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, AttributeError) as error:
            raise ValueError(
                f"Could not load a CustomAgent from '{path}': {error}. Check that the file was written by "
                f"CustomAgent.save_to_file and is not corrupt."
            ) from error
        if stored_algorithm != _identity(self.algorithm_class):
            raise ValueError(
                f"'{path}' holds a {stored_algorithm} agent, but this agent runs {_identity(self.algorithm_class)}: "
                f"create CustomAgent with the algorithm the file was saved from."
            )
        merged = {**stored_parameters, **overrides}
        parameters = self.algorithm_class.make_parameters(merged)  # a typo in the overrides fails here
        try:
            algorithm = self.algorithm_class.from_state(parameters, header.get("state"), arrays)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"Could not load a CustomAgent from '{path}': its state is inconsistent ({error})."
            ) from error
        self.algorithm, self.parameters, self.algorithm_parameters = algorithm, parameters, merged
