"""Sweeps on Ray: N seeds x a search space of any agent as Ray Tune trials, with multi-seed statistics.

``run_sweep(TrainingSpec(...), SweepConfig(...))`` runs every configuration with every seed as a
Ray Tune trial (locally, or on a cluster with ``address="auto"``), prints and saves the results
table (``results.csv``/``results.json``), the learning curves (``learning_curves.png``) and the
per-configuration mean, IQM and 95 % interval over seeds, and registers the best agent.
``rl-framework sweep`` is the same from the command line. Needs the ``ray`` extra
(``pip install 'rl_framework[ray]'``); Ray is imported only when a sweep runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rl_framework.util.lazy import lazy_exports

if TYPE_CHECKING:
    from rl_framework.sweep.config import SweepConfig
    from rl_framework.sweep.experiment import spec_from_experiment
    from rl_framework.sweep.results import ConfigurationSummary, TrialRecord
    from rl_framework.sweep.runner import SweepResult, run_sweep
    from rl_framework.sweep.space import Dimension, SearchSpace
    from rl_framework.sweep.spec import TrainingSpec
    from rl_framework.sweep.trial import EvaluationSchedule, LocalRegistryStore, run_trial

#: public name -> module that defines it (imported on first use).
_LAZY_NAMES = {
    "TrainingSpec": "rl_framework.sweep.spec",
    "spec_from_experiment": "rl_framework.sweep.experiment",
    "SweepConfig": "rl_framework.sweep.config",
    "SearchSpace": "rl_framework.sweep.space",
    "Dimension": "rl_framework.sweep.space",
    "run_sweep": "rl_framework.sweep.runner",
    "SweepResult": "rl_framework.sweep.runner",
    "TrialRecord": "rl_framework.sweep.results",
    "ConfigurationSummary": "rl_framework.sweep.results",
    "EvaluationSchedule": "rl_framework.sweep.trial",
    "LocalRegistryStore": "rl_framework.sweep.trial",
    "run_trial": "rl_framework.sweep.trial",
}

__all__ = [
    "TrainingSpec",
    "spec_from_experiment",
    "SweepConfig",
    "SearchSpace",
    "Dimension",
    "run_sweep",
    "SweepResult",
    "TrialRecord",
    "ConfigurationSummary",
    "EvaluationSchedule",
    "LocalRegistryStore",
    "run_trial",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY_NAMES, globals())
