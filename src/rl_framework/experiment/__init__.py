"""Experiment files and runs: one YAML file describes a training run, ``train_from_config`` performs it.

``load_experiment`` / ``ExperimentConfig`` read and check files without importing torch;
``train_from_config`` (which imports the agents) loads on first access::

    from rl_framework.experiment import load_experiment, train_from_config

    config = load_experiment("ppo_cartpole", overrides={"total_timesteps": 10_000})
    agent = train_from_config(config, run="runs/ppo-cartpole")
"""

from rl_framework.experiment.config import (
    ConnectorSettings,
    EvaluationSettings,
    ExperimentConfig,
    ExperimentError,
    bundled_experiments,
    load_experiment,
)
from rl_framework.util.lazy import lazy_exports

_LAZY = {
    "train_from_config": "rl_framework.experiment.training",
    "finish_run": "rl_framework.experiment.training",
    "RunFolder": "rl_framework.experiment.run",
    "load_agent": "rl_framework.experiment.references",
    "build_connector": "rl_framework.experiment.connectors",
    "EnvironmentFactory": "rl_framework.experiment.environments",
}

__all__ = [
    "ConnectorSettings",
    "EvaluationSettings",
    "ExperimentConfig",
    "ExperimentError",
    "bundled_experiments",
    "load_experiment",
    *_LAZY,
]
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
