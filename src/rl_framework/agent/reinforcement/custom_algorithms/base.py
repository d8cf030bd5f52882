"""The contract a custom algorithm fulfils so that ``CustomAgent`` can train, run, save and share it.

``CustomAgent`` owns everything around the algorithm (the interaction loop over an SB3 ``VecEnv``,
auto-reset bookkeeping, logging, checkpoints, the progress bar, the file format); an algorithm only
acts on a batch of observations, learns from a batch of transitions and hands out its state as
JSON values plus numpy arrays, which is what keeps agent files free of pickle.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from rl_framework.util.checks import check_parameter_names


class CustomAlgorithm(ABC):
    """A learning algorithm behind ``CustomAgent`` (see ``QLearning`` for a complete one).

    Life cycle: ``make_parameters`` (at ``CustomAgent(...)``, so typos fail early) ->
    ``check_spaces`` (before the first training step) -> ``__init__`` -> per ``train`` call
    ``start_training`` then ``act`` / ``learn`` once per vectorized step -> ``state`` / ``from_state``
    for saving and loading.

    :param observation_space: the training environment's observation space (already checked).
    :param action_space: the training environment's action space (already checked).
    :param parameters: an instance of the class's ``Parameters`` dataclass.
    """

    #: A frozen dataclass of the algorithm's settings; its field names are the accepted
    #: ``algorithm_parameters`` and its ``__post_init__`` validates the values.
    Parameters: ClassVar[type]

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, parameters: Any) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.parameters = parameters
        #: Environment steps learned from so far, over every ``train`` call (and kept in the file).
        self.num_timesteps = 0

    @classmethod
    def make_parameters(cls, given: Mapping[str, Any]) -> Any:
        """Check the parameter names, then build (and thereby validate) ``cls.Parameters``.

        :param given: the ``algorithm_parameters`` the user passed.
        :return: the ``Parameters`` instance.
        :raises ValueError: for an unknown name (listing the valid ones) or an invalid value.
        """
        accepted = [field.name for field in dataclasses.fields(cls.Parameters)]
        check_parameter_names(given, accepted, cls.__name__)
        return cls.Parameters(**given)

    @classmethod
    @abstractmethod
    def check_spaces(cls, observation_space: gym.Space, action_space: gym.Space) -> None:
        """Raise ``ValueError`` naming the space and the fix if the algorithm cannot handle the spaces."""

    def start_training(self, total_timesteps: int) -> None:  # noqa: B027 - a hook with a no-op default
        """Called once at the start of every ``train`` call with its budget (e.g. to lay out schedules)."""

    @abstractmethod
    def act(self, observations: Any, deterministic: bool) -> np.ndarray:
        """Return one action per observation (first axis = batch).

        :param observations: a batch of observations (a dict of batches for ``Dict`` spaces).
        :param deterministic: the greedy action instead of an exploring one.
        :return: the batch of actions.
        """

    @abstractmethod
    def learn(
        self,
        observations: Any,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: Any,
        terminated: np.ndarray,
    ) -> None:
        """Learn from one transition per environment (one vectorized step).

        :param observations: where each environment was.
        :param actions: what was done there.
        :param rewards: what it earned.
        :param next_observations: where it got to; for a finished episode the episode's true last
            observation, never the first observation of the next one.
        :param terminated: the episode ended for good (no bootstrapping); ``False`` for a time-limit
            truncation, whose next observation still has a value.
        """

    def training_metrics(self) -> dict[str, float]:
        """Values to log with every finished episode (e.g. the exploration rate); none by default."""
        return {}

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The algorithm's learned state: JSON values (spaces, counters, random state) and numpy arrays.

        :return: ``(json_values, arrays)``; the parameters are stored by the agent separately.
        """

    @classmethod
    @abstractmethod
    def from_state(cls, parameters: Any, values: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> CustomAlgorithm:
        """Rebuild an algorithm from ``state()``'s output, checking it first.

        :param parameters: the ``Parameters`` to continue with (the stored ones merged with overrides).
        :param values: the JSON values ``state`` returned.
        :param arrays: the arrays ``state`` returned.
        :return: the restored algorithm.
        :raises ValueError: when the values or arrays are missing or inconsistent.
        """
