"""``D3rlpyAgent``: d3rlpy's offline RL and behaviour cloning algorithms behind the agent interface."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import d3rlpy
import gymnasium as gym
import numpy as np
import torch
from d3rlpy.algos.utility import build_scalers_with_transition_picker
from d3rlpy.base import LearnableConfigWithShape
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper
from tqdm.auto import tqdm

from rl_framework.agent.export import OnnxActor
from rl_framework.agent.imitation.d3rlpy.actors import GreedyActor, deterministic_actor
from rl_framework.agent.imitation.d3rlpy.algorithms import (
    OWN_PARAMETERS,
    SCALERS,
    build_config,
    check_action_space,
    check_d3rlpy_parameters,
    resolve_d3rlpy_algorithm,
)
from rl_framework.agent.imitation.d3rlpy.dataset import build_replay_buffer, sample_batch, time_limit_of
from rl_framework.agent.imitation.d3rlpy.persistence import SavedAlgorithm, read_agent_file, write_agent_file
from rl_framework.agent.imitation.d3rlpy.reporting import TrainingReporter
from rl_framework.agent.imitation_learning_agent import ILAgent
from rl_framework.environment.vectorize import check_spaces_match
from rl_framework.util.checks import positive_int

if TYPE_CHECKING:
    from rl_framework.data.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector


class D3rlpyAgent(ILAgent):
    """An agent that learns offline from recorded episodes with a d3rlpy algorithm (it never steps an environment).

    ========== ========== ================================================================
    name       actions    method
    ========== ========== ================================================================
    DiscreteCQL Discrete  conservative Q-learning (a DQN whose Q-values of unseen actions are pushed down)
    CQL        Box        conservative Q-learning on SAC
    IQL        Box        implicit Q-learning (expectile value regression, advantage-weighted actor)
    DiscreteBCQ Discrete  batch-constrained Q-learning (only actions the data makes likely)
    BCQ        Box        batch-constrained Q-learning with a generative action model
    DiscreteBC Discrete   behaviour cloning (no rewards needed)
    BC         Box        behaviour cloning (no rewards needed)
    ========== ========== ================================================================

    ``total_timesteps`` in ``train`` counts gradient steps; each draws ``batch_size`` transitions
    uniformly (with replacement) from the episodes. ``training_environments`` only supply the
    spaces and the time limit (``max_episode_steps``) that tells truncated from terminated episodes
    (see ``dataset.py``). A second ``train`` call continues training the same networks.

    :param algorithm_class: a name from the table, or d3rlpy's config or algorithm class.
    :param algorithm_parameters: fields of the algorithm's d3rlpy config (``batch_size``,
        ``learning_rate``, ``observation_scaler``, ... ; unknown names are an error), plus ``seed``
        (network initialisation and batch sampling) and ``device`` (default ``"cpu"``). ``Box``
        algorithms get a ``MinMaxActionScaler`` with the action space's bounds unless you pass an
        ``action_scaler``.
    :param log_interval: gradient steps per loss average sent to a connector.
    """

    def __init__(
        self,
        algorithm_class: str | type = "DiscreteCQL",
        algorithm_parameters: dict[str, Any] | None = None,
        log_interval: int = 100,
    ) -> None:
        name, config_class, self._entry = resolve_d3rlpy_algorithm(algorithm_class)
        super().__init__(config_class, algorithm_parameters)
        self.algorithm_class: type = config_class
        self._name = name
        check_d3rlpy_parameters(name, config_class, self._entry, self.algorithm_parameters)
        self.log_interval = positive_int(log_interval, "log_interval")
        #: The d3rlpy algorithm (``d3rlpy.algos.DiscreteCQL``, ...), built by the first ``train`` or by a load.
        self.algorithm: Any | None = None
        self.observation_space: gym.spaces.Box | None = None
        self.action_space: gym.spaces.Box | gym.spaces.Discrete | None = None
        #: Gradient steps trained so far over all ``train`` calls.
        self.num_timesteps = 0
        self._actor: GreedyActor | None = None
        self._rng = np.random.default_rng(self.algorithm_parameters.get("seed"))

    @property
    def algorithm_name(self) -> str:
        """The algorithm's table name (``"DiscreteCQL"``, ``"IQL"``, ...)."""
        return self._name

    # -- training -------------------------------------------------------------------------
    def _train(
        self,
        episodes: EpisodeSequence,
        vec_env: VecEnv,
        total_timesteps: int,
        connector: Connector | None,
        progress_bar: bool,
    ) -> None:
        """Run ``total_timesteps`` gradient steps on ``episodes``; the first call builds the networks."""
        observation_space, action_space = self._check_spaces(vec_env)
        replay_buffer = build_replay_buffer(
            episodes, action_space, time_limit_of(vec_env), rewards_required=self._entry.needs_rewards
        )
        if self.algorithm is None:
            self._build(replay_buffer, observation_space, action_space)
        assert self.algorithm is not None
        batch_size = int(self.algorithm.config.batch_size)
        reporter = TrainingReporter(connector, self, self.log_interval, self.num_timesteps)
        for _ in tqdm(range(total_timesteps), desc=self.algorithm_name, disable=not progress_bar, unit="step"):
            losses = self.algorithm.update(sample_batch(replay_buffer, batch_size, self._rng))
            self.num_timesteps += 1
            reporter.after_step(self.num_timesteps, losses)
        reporter.flush(self.num_timesteps)

    def _check_spaces(self, vec_env: VecEnv) -> tuple[gym.spaces.Box, gym.spaces.Box | gym.spaces.Discrete]:
        """The environments' spaces, refused (before any work) where the algorithm cannot learn them."""
        if unwrap_vec_wrapper(vec_env, VecNormalize) is not None:
            raise ValueError(
                "D3rlpyAgent cannot train on a VecNormalize environment: the episodes hold raw observations. Pass the "
                "environment without VecNormalize (an observation_scaler in algorithm_parameters normalises them)."
            )
        observation_space, action_space = vec_env.observation_space, vec_env.action_space
        if not isinstance(observation_space, gym.spaces.Box):
            raise ValueError(f"D3rlpyAgent learns from Box observations, got {observation_space}. Flatten them first.")
        check_action_space(self.algorithm_name, self._entry, action_space)
        if self.algorithm is not None:
            assert self.observation_space is not None and self.action_space is not None
            check_spaces_match(
                self.observation_space, self.action_space, observation_space, action_space, f"The agent's {self._name}"
            )
        assert isinstance(action_space, (gym.spaces.Box, gym.spaces.Discrete))
        return observation_space, action_space

    def _build(
        self, replay_buffer: Any, observation_space: gym.spaces.Box, action_space: gym.spaces.Box | gym.spaces.Discrete
    ) -> None:
        """Create the algorithm and its networks for these spaces, fitting d3rlpy's scalers to the data."""
        config = build_config(self.algorithm_class, self.algorithm_parameters, action_space)
        seed = self.algorithm_parameters.get("seed")
        if seed is not None:
            torch.manual_seed(seed)
        algorithm = config.create(device=self.algorithm_parameters.get("device", "cpu"))
        build_scalers_with_transition_picker(algorithm, replay_buffer)
        action_size = int(action_space.n) if isinstance(action_space, gym.spaces.Discrete) else action_space.shape[0]
        algorithm.create_impl(tuple(observation_space.shape), action_size)
        self._use(algorithm, observation_space, action_space)

    def _use(self, algorithm: Any, observation_space: gym.spaces.Box, action_space: Any) -> None:
        self.algorithm, self.observation_space, self.action_space = algorithm, observation_space, action_space
        self._actor = deterministic_actor(self.algorithm_name, algorithm, action_space)

    # -- acting ---------------------------------------------------------------------------
    def _check_ready_to_act(self) -> None:
        if self.algorithm is None:
            raise RuntimeError("The agent has no trained algorithm yet: call train(...) or load_from_file(...) first.")

    def acting_policy(self) -> GreedyActor:
        """The torch module that picks deterministic actions; it holds all of the algorithm's networks.

        (Named like ``SB3PolicyActing.acting_policy``, so checks that look for an agent's networks,
        such as the non-finite weight check before saving, find them.)
        """
        self._check_ready_to_act()
        assert self._actor is not None
        return self._actor

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        """Return the action for one observation, or actions for a stacked batch.

        :param observation: one observation (of the observation space's shape) or a batch of them.
        :param deterministic: the greedy action (see ``actors.py``) instead of a sampled one.
        :return: the action (or stacked actions).
        """
        self._check_ready_to_act()
        assert self.observation_space is not None
        observations = np.asarray(observation, dtype=np.float32)
        single = observations.shape == self.observation_space.shape
        actions = self.choose_actions(observations[None] if single else observations, deterministic)
        return actions[0] if single else actions

    def choose_actions(self, observations: Any, deterministic: bool = False) -> np.ndarray:
        """Return actions for a stacked batch of observations in one network call."""
        self._check_ready_to_act()
        assert self.algorithm is not None and self._actor is not None and self.observation_space is not None
        batch = np.asarray(observations, dtype=np.float32)
        if batch.shape[1:] != self.observation_space.shape:
            raise ValueError(
                f"Expected observations of shape {self.observation_space.shape} (or a batch of them), got an "
                f"array of shape {batch.shape}."
            )
        if deterministic:
            with torch.no_grad():
                actions = self._actor(torch.as_tensor(batch, device=self.algorithm.impl.device)).cpu().numpy()
        else:
            actions = self.algorithm.sample_action(batch)
        if isinstance(self.action_space, gym.spaces.Box):
            return np.clip(actions, self.action_space.low, self.action_space.high).astype(self.action_space.dtype)
        return actions.astype(np.int64)

    def _onnx_actor(self) -> OnnxActor:
        """The greedy actor (scalers and clipping included), exactly what deterministic ``choose_action`` runs."""
        actor = self.acting_policy()
        assert self.algorithm is not None and self.observation_space is not None
        scaler = self.algorithm.config.observation_scaler
        normalization = "none" if scaler is None else f"d3rlpy {type(scaler).__name__}"
        return OnnxActor(actor, tuple(self.observation_space.shape), normalization)

    # -- persistence ----------------------------------------------------------------------
    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        """Save the config, spaces and weights in one zip, atomically (see ``persistence.py``; no pickles).

        :param file_path: destination, conventionally ending in ``.zip``.
        :return: the written file (one: the zip).
        """
        self._check_ready_to_act()
        assert self.algorithm is not None and self.observation_space is not None and self.action_space is not None
        impl = self.algorithm.impl
        shaped = LearnableConfigWithShape(
            observation_shape=impl.observation_shape, action_size=impl.action_size, config=self.algorithm.config
        )
        modules = impl.modules.create_checkpointer(impl.device).modules
        saved = SavedAlgorithm(
            algorithm=self.algorithm_name,
            config=shaped.serialize_to_dict(),
            weights={name: module.state_dict() for name, module in modules.items()},
            observation_space=self.observation_space,
            action_space=self.action_space,
            num_timesteps=self.num_timesteps,
        )
        return [write_agent_file(file_path, saved, d3rlpy.__version__)]

    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        """Load a file written by ``save_to_file`` by an agent of the same algorithm.

        Everything is read and rebuilt before the agent changes (a failed load changes nothing).
        Optimiser moments come from the file; hyperparameters (e.g. ``learning_rate``) come from the
        stored config with ``algorithm_parameters`` merged over it.

        :param file_path: the zip file.
        :param algorithm_parameters: config fields to change for later ``train`` calls (not the
            fitted scalers), plus ``seed`` and ``device``.
        :raises FileNotFoundError: when there is no file.
        :raises ValueError: when the file is corrupt, not a D3rlpyAgent file, from another algorithm,
            or its weights do not fit the changed parameters.
        """
        overrides = dict(algorithm_parameters or {})
        check_d3rlpy_parameters(self._name, self.algorithm_class, self._entry, overrides)
        changed_scalers = sorted(set(overrides) & set(SCALERS))
        if changed_scalers:
            raise ValueError(
                f"{', '.join(changed_scalers)} cannot change on load: the stored scalers were fitted to the training "
                f"data. Remove them from algorithm_parameters."
            )
        saved = read_agent_file(file_path)
        if saved.algorithm != self.algorithm_name:
            raise ValueError(
                f"'{file_path}' holds a {saved.algorithm} agent but this agent is {self.algorithm_name}. Load it with "
                f"D3rlpyAgent('{saved.algorithm}')."
            )
        parameters = {**self.algorithm_parameters, **overrides}
        algorithm = _restore_algorithm(saved, overrides, parameters.get("device", "cpu"), file_path)
        self._use(algorithm, saved.observation_space, saved.action_space)
        self.algorithm_parameters, self.num_timesteps = parameters, saved.num_timesteps
        self._rng = np.random.default_rng(parameters.get("seed"))


def _restore_algorithm(saved: SavedAlgorithm, overrides: dict[str, Any], device: str, file_path: Any) -> Any:
    """Rebuild the d3rlpy algorithm from a file's config (with ``overrides``) and load its weights.

    :raises ValueError: when the config or the weights cannot be restored.
    """
    try:
        shaped = LearnableConfigWithShape.deserialize_from_dict(saved.config)
        fields = {key: value for key, value in overrides.items() if key not in OWN_PARAMETERS}
        algorithm = dataclasses.replace(shaped.config, **fields).create(device=device)
        algorithm.create_impl(shaped.observation_shape, shaped.action_size)
        modules = algorithm.impl.modules.create_checkpointer(algorithm.impl.device).modules
        for name, module in modules.items():
            if isinstance(module, torch.optim.Optimizer):
                # The config's hyperparameters win over the file's: keep them across the state load.
                hyperparameters = [{k: v for k, v in group.items() if k != "params"} for group in module.param_groups]
                module.load_state_dict(saved.weights[name])
                for group, values in zip(module.param_groups, hyperparameters, strict=True):
                    group.update(values)
            else:
                module.load_state_dict(saved.weights[name])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        raise ValueError(
            f"Could not restore the {saved.algorithm} agent from '{file_path}': {error}. The file may be corrupt, or "
            f"algorithm_parameters change the network so that the stored weights no longer fit."
        ) from error
    algorithm.set_grad_step(saved.num_timesteps)
    return algorithm
