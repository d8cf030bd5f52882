"""SQIL and Density: an SB3 learner trained with a reward derived from the demonstrations.

Both materialise the demonstrations: SQIL keeps every expert transition in its replay buffer,
Density fits a kernel density estimate to all of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from imitation.algorithms.density import DensityAlgorithm
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from rl_framework.agent.imitation.metrics import imitation_logger, learner_callbacks
from rl_framework.agent.imitation.sqil import SQIL, ExpertTransitions
from rl_framework.agent.imitation.training import (
    ImitationRun,
    TrainingCall,
    adopt_weights,
    build_learner,
)


class SQILRun(ImitationRun):
    """rl_framework's SQIL. ``total_timesteps`` = learner environment steps.

    Defaults: DQN for ``Discrete`` actions, SAC for ``Box`` actions (see ``sqil.DEFAULT_LEARNERS``);
    ``learner_parameters`` override them. The count rounds up to whole ``train_freq`` chunks.
    The learner (and its replay buffer) carries over to the next ``train`` call, whose
    demonstrations replace the expert half of the buffer.
    """

    supplied: ClassVar[frozenset[str]] = ImitationRun.supplied

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


class DensityRun(ImitationRun):
    """Density-based reward (kernel density of expert transitions) + an SB3 learner.

    ``total_timesteps`` = learner environment steps (rounded up to whole rollouts for PPO).
    Each ``train`` call refits the density model to its demonstrations, then trains the learner
    (default ``"PPO"``; ``learner_parameters`` go to its constructor) on the log-density reward.
    ``allow_variable_horizon=True`` by default (see ``AdversarialRun``).
    """

    supplied: ClassVar[frozenset[str]] = ImitationRun.supplied | {"rl_algo"}
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
        density.train_policy(call.total_timesteps, progress_bar=False)
        return call.venv.steps - steps_before
