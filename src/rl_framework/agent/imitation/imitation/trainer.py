"""What every imitation-library trainer shares: its inputs per ``train`` call, parameter checks, learners.

A trainer owns an algorithm's lasting state (policy, SB3 learner, reward network) across
``train`` calls. The imitation library's own trainer objects hold the environment and the
demonstrations, so ours rebuilds them on every call around that lasting state: a second call
continues training.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS, default_policy
from rl_framework.util.algorithm_table import resolve_algorithm
from rl_framework.util.checks import check_parameter_names, constructor_parameters

if TYPE_CHECKING:
    from rl_framework.agent.imitation.imitation.reward_net_file import SavedRewardNet
    from rl_framework.data.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector, ShareableAgent


class StepCountingVecEnv(VecEnvWrapper):
    """Counts environment steps (one per sub-environment per ``step``): the unit of most budgets."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.steps = 0

    def reset(self) -> Any:
        """Reset every sub-environment (not counted as a step)."""
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        """Finish a step of every sub-environment and count it."""
        self.steps += self.num_envs
        return self.venv.step_wait()


@dataclass(frozen=True)
class TrainingCall:
    """The inputs of one ``ImitationAgent.train`` call, as a trainer receives them.

    :param episodes: the demonstrations (already checked against the environment's spaces).
    :param venv: the training environments, counting their steps.
    :param total_timesteps: the validated budget, in the algorithm's unit (see ``ImitationAgent``).
    :param connector: receives metrics and checkpoints, or ``None``.
    :param agent: the agent being trained (what a checkpoint saves).
    :param progress_bar: whether the imitation library's own progress bars show.
    """

    episodes: EpisodeSequence
    venv: StepCountingVecEnv
    total_timesteps: int
    connector: Connector | None
    agent: ShareableAgent
    progress_bar: bool = False


class ImitationTrainer(ABC):
    """One algorithm's lasting training state across ``train`` calls.

    :param name: the algorithm's table name (e.g. ``"GAIL"``).
    :param algorithm_class: the class the trainer builds (imitation's, or ours for SQIL).
    :param parameters: the user's parameters merged over the table defaults; checked here.
    """

    #: Constructor arguments the trainer supplies itself; users cannot pass them.
    supplied: ClassVar[frozenset[str]] = frozenset(
        {"demonstrations", "venv", "rng", "custom_logger", "observation_space", "action_space"}
    )
    #: Parameters rl_framework adds to the algorithm's own (all runs accept ``seed``).
    own_parameters: ClassVar[frozenset[str]] = frozenset({"seed"})

    def __init__(self, name: str, algorithm_class: type, parameters: dict[str, Any]) -> None:
        self.name = name
        self.algorithm_class = algorithm_class
        check_parameter_names(parameters, self.accepted_parameters(algorithm_class), name, reserved=self.reserved())
        self.parameters = dict(parameters)
        self.seed: int | None = self.parameters.pop("seed", None)
        self.rng = np.random.default_rng(self.seed)
        self.initial_policy: BasePolicy | None = None
        self._scratch = tempfile.TemporaryDirectory(prefix=f"rl_framework-{name}-")

    @classmethod
    def accepted_parameters(cls, algorithm_class: type) -> frozenset[str]:
        """Names a user may put in ``algorithm_parameters`` for this algorithm."""
        return (constructor_parameters(algorithm_class) - cls.supplied) | cls.own_parameters

    @classmethod
    def reserved(cls) -> dict[str, str]:
        """Constructor arguments rl_framework supplies itself, with what to do instead."""
        return {name: "rl_framework sets it from train(...)'s arguments; remove it." for name in cls.supplied}

    @property
    def scratch_dir(self) -> Path:
        """A private folder for files the imitation library insists on writing (logs, DAgger rounds)."""
        return Path(self._scratch.name)

    def start_from(self, policy: BasePolicy) -> None:
        """Continue from ``policy`` (e.g. one loaded from a file) instead of a fresh network."""
        self.initial_policy = policy

    def saved_reward_net(self) -> SavedRewardNet | None:
        """The learned reward network the agent file keeps (GAIL/AIRL override this), or ``None``."""
        return None

    def restore_reward_net(self, saved: SavedRewardNet) -> None:
        """Continue from a saved reward network; only algorithms that learn one accept it."""
        raise ValueError(f"The agent file holds a reward network, but {self.name} learns none; the file is damaged.")

    @property
    @abstractmethod
    def policy(self) -> BasePolicy | None:
        """The policy that acts: the trained one, else the one given to ``start_from``, else ``None``."""

    @abstractmethod
    def train(self, call: TrainingCall) -> int:
        """Train for ``call.total_timesteps`` units; return how many units were actually used.

        :param call: the inputs of this ``train`` call.
        :return: units consumed, at least ``call.total_timesteps`` after rounding up to the
            algorithm's unit of work (a batch, a rollout, an episode).
        """

    def seed_everything(self) -> None:
        """Seed numpy, random and torch when the user gave a ``seed`` (before networks are built)."""
        if self.seed is not None:
            set_random_seed(self.seed)


def build_learner(
    learner: str | type[BaseAlgorithm], parameters: dict[str, Any], venv: VecEnv, seed: int | None
) -> BaseAlgorithm:
    """Build an SB3 learner on ``venv`` (``policy`` defaults to the one that fits the observations).

    :param learner: an SB3 algorithm name from the RL table (e.g. ``"PPO"``) or class.
    :param parameters: its constructor arguments.
    :param venv: the environment it trains on.
    :param seed: the run's seed, used unless ``parameters`` has its own.
    :return: the learner.
    """
    learner_class, entry = resolve_algorithm(learner, SB3_ALGORITHMS, "stable-baselines3")
    arguments = {"policy": default_policy(venv.observation_space, entry), "seed": seed, **parameters}
    try:
        return learner_class(env=venv, **arguments)
    except AssertionError as error:  # SB3 asserts unsupported spaces in its constructors
        raise ValueError(f"{learner_class.__name__} cannot train on this environment: {error}") from error
    except TypeError as error:  # an unknown or misspelt learner parameter
        raise ValueError(
            f"Could not build the {learner_class.__name__} learner from learner_parameters {sorted(parameters)}: "
            f"{error}. Check the names against {learner_class.__name__}'s constructor."
        ) from error


def adopt_weights(learner: BaseAlgorithm, policy: BasePolicy | None) -> None:
    """Copy a loaded policy's weights into a freshly built learner (continuing a saved agent)."""
    if policy is None:
        return
    try:
        learner.policy.load_state_dict(policy.state_dict())
    except RuntimeError as error:
        raise ValueError(
            f"The loaded policy does not fit the {type(learner).__name__} learner built from "
            f"algorithm_parameters: {error}. Use the learner settings the agent was saved with."
        ) from error
