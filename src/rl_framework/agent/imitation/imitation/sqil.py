"""SQIL (Reddy et al., 2019, "SQIL: Imitation Learning via RL with Sparse Rewards") on current SB3.

An off-policy learner (DQN for discrete actions, SAC for continuous ones) trains from a replay
buffer whose every batch mixes expert transitions, rewarded 1, with the learner's own
transitions, rewarded 0: the learner is paid for reaching and staying in the expert's states.

Written here because imitation 1.0.0's SQIL fails on stable-baselines3 >= 2.7: its buffer
concatenates every field of ``ReplayBufferSamples``, including ``discounts``, which is ``None``
there. ``SQILReplayBuffer`` combines only the fields both halves carry.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from rl_framework.agent.imitation.imitation.logger import learner_callbacks
from rl_framework.agent.imitation.imitation.trainer import ImitationTrainer, TrainingCall, adopt_weights, build_learner
from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS
from rl_framework.agent.reinforcement.training_controls import log_without_an_empty_folder
from rl_framework.util.algorithm_table import resolve_algorithm

#: Learner defaults for CartPole-sized problems, used when ``learner`` is left at its default.
DEFAULT_LEARNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "Discrete": (
        "DQN",
        {
            "learning_rate": 1e-3,
            "buffer_size": 50_000,
            "learning_starts": 0,
            "batch_size": 64,
            "train_freq": 4,
            "gradient_steps": 1,
            "target_update_interval": 250,
            "exploration_fraction": 0.1,
            "exploration_final_eps": 0.02,
            "policy_kwargs": {"net_arch": [64, 64]},
        },
    ),
    "Box": ("SAC", {"learning_starts": 0, "buffer_size": 100_000}),
}


@dataclass(frozen=True)
class ExpertTransitions:
    """Expert transitions as arrays whose first axis is the transition.

    :param observations: observations ``(n, *obs_shape)``.
    :param actions: actions ``(n, *action_shape)`` in the environment's action space.
    :param next_observations: observations after each action.
    :param dones: whether the episode terminated after each action (not truncated), ``(n,)``.
    """

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    dones: np.ndarray

    def __post_init__(self) -> None:
        lengths = {len(self.observations), len(self.actions), len(self.next_observations), len(self.dones)}
        if len(lengths) != 1:
            raise ValueError(f"Expert arrays must all have one entry per transition, got lengths {sorted(lengths)}.")
        if len(self.observations) == 0:
            raise ValueError("SQIL needs at least one expert transition; the demonstrations are empty.")

    @classmethod
    def from_transitions(cls, transitions: Any) -> ExpertTransitions:
        """Build from imitation ``Transitions`` (or anything with ``obs``, ``acts``, ``next_obs``, ``dones``)."""
        return cls(
            np.asarray(transitions.obs),
            np.asarray(transitions.acts),
            np.asarray(transitions.next_obs),
            np.asarray(transitions.dones),
        )

    def __len__(self) -> int:
        return len(self.observations)


class SQILReplayBuffer(ReplayBuffer):
    """A replay buffer mixing expert transitions (reward 1) and the learner's own (reward 0).

    Each sample is ``expert_fraction`` expert transitions, the rest the learner's. SB3 creates
    it through ``replay_buffer_class``/``replay_buffer_kwargs``; the first arguments are
    ``ReplayBuffer``'s.

    :param demonstrations: the expert transitions (kept in memory).
    :param expert_fraction: share of every batch drawn from the expert, in (0, 1).
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: gym.Space,
        action_space: gym.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        *,
        demonstrations: ExpertTransitions,
        expert_fraction: float = 0.5,
    ) -> None:
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )
        if not 0.0 < expert_fraction < 1.0:
            raise ValueError(f"expert_fraction must be between 0 and 1 (exclusive), got {expert_fraction}.")
        self.expert_fraction = expert_fraction
        self.set_demonstrations(demonstrations)

    def set_demonstrations(self, demonstrations: ExpertTransitions) -> None:
        """Replace the expert transitions (stored in the buffer's own shapes, dtypes and action scale)."""
        n = len(demonstrations)
        actions = demonstrations.actions.reshape(n, self.action_dim).astype(self.actions.dtype)
        if isinstance(self.action_space, gym.spaces.Box):
            # SB3's off-policy learners store Box actions rescaled to [-1, 1].
            low, high = self.action_space.low, self.action_space.high
            actions = (2.0 * (actions - low) / (high - low) - 1.0).astype(self.actions.dtype)
        self._expert = {
            "observations": demonstrations.observations.reshape(n, *self.obs_shape).astype(self.observations.dtype),
            "actions": actions,
            "next_observations": demonstrations.next_observations.reshape(n, *self.obs_shape).astype(
                self.observations.dtype
            ),
            "dones": demonstrations.dones.reshape(n, 1).astype(np.float32),
        }

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> ReplayBufferSamples:
        """Sample a batch: expert transitions rewarded 1 plus learner transitions rewarded 0."""
        n_expert = batch_size if self.size() == 0 else int(round(batch_size * self.expert_fraction))
        expert = self._expert_samples(n_expert, env)
        if n_expert == batch_size:
            return expert
        learner = super().sample(batch_size - n_expert, env=env)
        return combine_samples(learner._replace(rewards=th.zeros_like(learner.rewards)), expert)

    def _expert_samples(self, n_samples: int, env: VecNormalize | None) -> ReplayBufferSamples:
        indices = np.random.randint(0, len(self._expert["observations"]), size=n_samples)
        data: list[Any] = [
            self._normalize_obs(self._expert["observations"][indices], env),
            self._expert["actions"][indices],
            self._normalize_obs(self._expert["next_observations"][indices], env),
            self._expert["dones"][indices],
            np.ones((n_samples, 1), dtype=np.float32),
        ]
        return ReplayBufferSamples(*[self.to_torch(array) for array in data])


def combine_samples(first: ReplayBufferSamples, second: ReplayBufferSamples) -> ReplayBufferSamples:
    """Concatenate two sample batches field by field; fields absent (``None``) in both stay ``None``.

    :raises ValueError: when a field is present in one batch only (they cannot be mixed).
    """
    fields: list[th.Tensor | None] = []
    for name, left, right in zip(ReplayBufferSamples._fields, first, second, strict=True):
        if left is None and right is None:
            fields.append(None)
        elif left is None or right is None:
            raise ValueError(f"Cannot mix replay samples: '{name}' is present in only one of the two batches.")
        else:
            fields.append(th.cat([left, right.to(left.dtype)]))
    return ReplayBufferSamples._make(fields)


class SQIL:
    """Soft Q Imitation Learning with an SB3 off-policy learner.

    :param venv: the training environments.
    :param demonstrations: the expert transitions.
    :param learner: an SB3 off-policy algorithm name or class; default DQN for ``Discrete``
        actions and SAC for ``Box`` actions, with small CartPole-sized defaults.
    :param learner_parameters: arguments for the learner's constructor (over the defaults when
        ``learner`` is left at its default).
    :param expert_fraction: share of every replay batch drawn from the expert.
    :param seed: seed for the learner.
    """

    def __init__(
        self,
        *,
        venv: VecEnv,
        demonstrations: ExpertTransitions,
        learner: str | type[OffPolicyAlgorithm] | None = None,
        learner_parameters: Mapping[str, Any] | None = None,
        expert_fraction: float = 0.5,
        seed: int | None = None,
    ) -> None:
        defaults: dict[str, Any] = {}
        if learner is None:
            learner, defaults = default_learner(venv.action_space)
        parameters = {**defaults, **(learner_parameters or {})}
        for reserved in ("replay_buffer_class", "replay_buffer_kwargs"):
            if reserved in parameters:
                raise ValueError(f"SQIL sets the learner's {reserved} itself; remove it from learner_parameters.")
        learner_class, _ = resolve_algorithm(learner, SB3_ALGORITHMS, "stable-baselines3")
        if not issubclass(learner_class, OffPolicyAlgorithm):
            raise ValueError(
                f"SQIL needs an off-policy learner with a replay buffer (DQN, SAC, TD3, DDPG), got "
                f"{learner_class.__name__}."
            )
        parameters["replay_buffer_class"] = SQILReplayBuffer
        parameters["replay_buffer_kwargs"] = {"demonstrations": demonstrations, "expert_fraction": expert_fraction}
        self.learner: BaseAlgorithm = build_learner(learner_class, parameters, venv, seed)

    @property
    def policy(self) -> BasePolicy:
        """The learner's policy."""
        return self.learner.policy

    def set_demonstrations(self, demonstrations: ExpertTransitions) -> None:
        """Train on other expert transitions from now on."""
        assert isinstance(self.learner, OffPolicyAlgorithm) and isinstance(self.learner.replay_buffer, SQILReplayBuffer)
        self.learner.replay_buffer.set_demonstrations(demonstrations)

    def set_env(self, venv: VecEnv) -> None:
        """Train on ``venv`` from now on (same spaces and number of environments)."""
        self.learner.set_env(venv)

    def train(self, total_timesteps: int, callback: list[BaseCallback] | None = None) -> None:
        """Train the learner for ``total_timesteps`` more environment steps (rounded up to ``train_freq``)."""
        log_without_an_empty_folder(self.learner)
        self.learner.learn(total_timesteps, callback=callback or None, reset_num_timesteps=False)


def default_learner(action_space: gym.Space) -> tuple[str, dict[str, Any]]:
    """The default learner name and parameters for ``action_space`` (DQN for Discrete, SAC for Box)."""
    space_name = type(action_space).__name__
    if space_name not in DEFAULT_LEARNERS:
        raise ValueError(
            f"SQIL has no default learner for the action space {action_space} ({space_name}); it supports "
            f"{', '.join(DEFAULT_LEARNERS)}. Pass algorithm_parameters={{'learner': ...}} with an off-policy "
            f"SB3 algorithm that supports it."
        )
    name, parameters = DEFAULT_LEARNERS[space_name]
    return name, copy.deepcopy(parameters)


class SQILTrainer(ImitationTrainer):
    """rl_framework's SQIL. ``total_timesteps`` = learner environment steps.

    Defaults: DQN for ``Discrete`` actions, SAC for ``Box`` actions (see ``sqil.DEFAULT_LEARNERS``);
    ``learner_parameters`` override them. The count rounds up to whole ``train_freq`` chunks.
    The learner (and its replay buffer) carries over to the next ``train`` call, whose
    demonstrations replace the expert half of the buffer.
    """

    supplied: ClassVar[frozenset[str]] = ImitationTrainer.supplied

    def __init__(self, name: str, algorithm_class: type, parameters: dict[str, Any]) -> None:
        super().__init__(name, algorithm_class, parameters)
        self.sqil: SQIL | None = None

    @property
    def policy(self) -> BasePolicy | None:
        """The learner's policy (the loaded one before training)."""
        return self.sqil.policy if self.sqil is not None else self.initial_policy

    def train(self, call: TrainingCall) -> int:
        """Train the learner for ``total_timesteps`` environment steps."""
        demonstrations = ExpertTransitions.from_transitions(call.episodes.to_transitions())
        if self.sqil is None:
            self.seed_everything()
            self.sqil = SQIL(venv=call.venv, demonstrations=demonstrations, seed=self.seed, **self.parameters)
            adopt_weights(self.sqil.learner, self.initial_policy)
        else:
            self.sqil.set_env(call.venv)
            self.sqil.set_demonstrations(demonstrations)
        steps_before = call.venv.steps
        self.sqil.train(call.total_timesteps, callback=learner_callbacks(call.connector, call.agent))
        return call.venv.steps - steps_before
