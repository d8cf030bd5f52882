"""Density: an SB3 learner trained on the log-density of the demonstrations as reward.

The demonstrations are materialised: the kernel density estimate is fitted to all of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from imitation.algorithms.density import DensityAlgorithm
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from rl_framework.agent.imitation.imitation.logger import imitation_logger, learner_callbacks
from rl_framework.agent.imitation.imitation.trainer import (
    ImitationTrainer,
    TrainingCall,
    adopt_weights,
    build_learner,
)


class DensityTrainer(ImitationTrainer):
    """Density-based reward (kernel density of expert transitions) + an SB3 learner.

    ``total_timesteps`` = learner environment steps (rounded up to whole rollouts for PPO).
    Each ``train`` call refits the density model to its demonstrations, then trains the learner
    (default ``"PPO"``; ``learner_parameters`` go to its constructor) on the log-density reward.
    ``allow_variable_horizon=True`` by default (see ``AdversarialTrainer``).
    """

    supplied: ClassVar[frozenset[str]] = ImitationTrainer.supplied | {"rl_algo"}
    own_parameters: ClassVar[frozenset[str]] = frozenset({"seed", "learner", "learner_parameters"})

    def __init__(self, name: str, algorithm_class: type, parameters: dict[str, Any]) -> None:
        super().__init__(name, algorithm_class, parameters)
        self.learner_name: str | type[BaseAlgorithm] = self.parameters.pop("learner", "PPO")
        self.learner_parameters: dict[str, Any] = dict(self.parameters.pop("learner_parameters", None) or {})
        self.learner: BaseAlgorithm | None = None

    @property
    def policy(self) -> BasePolicy | None:
        """The learner's policy (the loaded one before training)."""
        return self.learner.policy if self.learner is not None else self.initial_policy

    def train(self, call: TrainingCall) -> int:
        """Fit the density model, then train the learner for ``total_timesteps`` environment steps."""
        if self.learner is None:
            self.seed_everything()
            self.learner = build_learner(self.learner_name, self.learner_parameters, call.venv, self.seed)
            adopt_weights(self.learner, self.initial_policy)
        stationary = self.parameters.get("is_stationary", True)
        density = DensityAlgorithm(
            demonstrations=call.episodes.to_transitions() if stationary else list(call.episodes),
            venv=call.venv,
            rng=self.rng,
            rl_algo=self.learner,
            custom_logger=imitation_logger(call.connector, self.scratch_dir / "logs"),
            **self.parameters,
        )
        density.train()
        callbacks = learner_callbacks(call.connector, call.agent)
        if callbacks:
            # imitation passes wrapper_callback to the learner's learn(), which takes a list of callbacks too.
            density.wrapper_callback = [density.wrapper_callback, *callbacks]  # type: ignore[assignment]
        steps_before = call.venv.steps
        density.train_policy(call.total_timesteps, progress_bar=call.progress_bar)
        return call.venv.steps - steps_before
