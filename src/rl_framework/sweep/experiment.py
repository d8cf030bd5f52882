"""Sweep an experiment file: its agent, environment and budget as a ``TrainingSpec``.

An experiment file (``rl_framework.experiment``, e.g. the bundled ``ppo_cartpole``) describes one
training run. ``spec_from_experiment`` turns it into the spec every trial runs, built from the
experiment package's own pieces (``EnvironmentFactory``, ``resolve_parameters``, DAgger's expert
reference), so a trial trains exactly what ``rl-framework train --config`` would, with the
trial's seed and parameters, and with periodic evaluations the sweep can report and stop on.
Parameters are resolved per trial, so a search space may use the file's notations too
(``learning_rate: {choice: [lin_0.001, 0.0003]}``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rl_framework.sweep.spec import TrainingSpec

if TYPE_CHECKING:
    from rl_framework.agent.base_agent import BaseAgent
    from rl_framework.experiment.config import ExperimentConfig
    from rl_framework.experiment.environments import EnvironmentFactory


@dataclass(frozen=True)
class ExperimentAgent:
    """The agent factory of an experiment: ``ExperimentAgent(...)(algorithm_parameters={...})``.

    :param algorithm: the experiment's algorithm name (SB3 or imitation).
    :param environment: the experiment's environment factory (for ``action_noise``'s action space).
    :param expert: DAgger's expert reference (an agent file, run folder or registry reference).
    """

    algorithm: str
    environment: EnvironmentFactory
    expert: str | None = None

    @property
    def __name__(self) -> str:  # the spec names a factory by its __name__
        """The algorithm's name, for tables and registry names."""
        return self.algorithm

    def __call__(self, algorithm_parameters: dict[str, Any]) -> BaseAgent:
        """Build the agent with ``algorithm_parameters`` resolved as ``train_from_config`` resolves them."""
        from rl_framework.experiment.training import algorithm_family

        if algorithm_family(self.algorithm) == "rl":
            from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent
            from rl_framework.experiment.parameters import resolve_parameters

            action_space = None
            if isinstance(algorithm_parameters.get("action_noise"), dict):
                probe = self.environment()
                action_space = probe.action_space
                probe.close()
            return StableBaselinesAgent(self.algorithm, resolve_parameters(algorithm_parameters, action_space))
        from rl_framework.agent.imitation.imitation.imitation import ImitationAgent

        parameters = dict(algorithm_parameters)
        if self.expert is not None:
            from rl_framework.experiment.references import load_agent

            parameters["expert"] = load_agent(self.expert).agent
        return ImitationAgent(self.algorithm, parameters)


def spec_from_experiment(
    experiment: ExperimentConfig | str | os.PathLike[str], overrides: dict[str, Any] | None = None
) -> TrainingSpec:
    """The ``TrainingSpec`` of an experiment file (its ``seed`` is replaced by each trial's seed).

    :param experiment: an ``ExperimentConfig``, a file path or a bundled name (``"ppo_cartpole"``).
    :param overrides: dotted keys to replace first (``{"total_timesteps": 20_000}``).
    :return: the spec.
    :raises FileNotFoundError: for a missing file.
    :raises ExperimentError: for an invalid file, algorithm or environment id.
    """
    from rl_framework.experiment.config import ExperimentConfig, load_experiment
    from rl_framework.experiment.environments import EnvironmentFactory, check_environment_id
    from rl_framework.experiment.training import algorithm_family

    if isinstance(experiment, ExperimentConfig):
        config = experiment.with_overrides(overrides) if overrides else experiment
    else:
        config = load_experiment(experiment, overrides)
    algorithm_family(config.algorithm)
    check_environment_id(config.env)
    environment = EnvironmentFactory(config.env, config.env_kwargs, config.frame_stack)
    return TrainingSpec(
        agent=ExperimentAgent(config.algorithm, environment, config.expert),
        environment=environment,
        total_timesteps=config.total_timesteps,
        algorithm_parameters=config.algorithm_parameters,
        episode_sequence=config.episodes,
        n_envs=config.n_envs,
        vectorization=config.vectorization,  # type: ignore[arg-type]  # checked by ExperimentConfig
        normalize=config.normalize,
    )


def evaluation_settings(experiment: ExperimentConfig) -> dict[str, Any]:
    """The experiment's evaluation settings as ``SweepConfig`` keyword arguments.

    :param experiment: the experiment.
    :return: ``n_eval_episodes``, ``deterministic_evaluation``, and ``eval_frequency`` /
        ``evaluation_seed`` where the file sets them.
    """
    settings: dict[str, Any] = {
        "n_eval_episodes": experiment.evaluation.n_episodes,
        "deterministic_evaluation": experiment.evaluation.deterministic,
    }
    if experiment.evaluation.frequency > 0:
        settings["eval_frequency"] = experiment.evaluation.frequency
    if experiment.evaluation.seed is not None:
        settings["evaluation_seed"] = experiment.evaluation.seed
    return settings
