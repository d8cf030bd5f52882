"""The table of imitation-learning algorithms reachable by name, and how each one is trained.

Every name maps to an ``AlgorithmEntry`` (the class it builds on, its default parameters) and to
a run class (``training.ImitationRun``) that knows how to build that algorithm with working
defaults, train it for a ``total_timesteps`` budget, and hand out its policy.
"""

from __future__ import annotations

from typing import Any

from rl_framework.agent.imitation.adversarial import AdversarialRun
from rl_framework.agent.imitation.learner_based import DensityRun, SQILRun
from rl_framework.agent.imitation.supervised import BCRun, DAggerRun
from rl_framework.agent.imitation.training import ImitationRun
from rl_framework.util.registry import AlgorithmEntry, resolve_algorithm

#: Name -> algorithm. Defaults are merged under the user's ``algorithm_parameters``.
IMITATION_ALGORITHMS: dict[str, AlgorithmEntry] = {
    "BC": AlgorithmEntry("imitation.algorithms.bc:BC"),
    "DAgger": AlgorithmEntry("imitation.algorithms.dagger:SimpleDAggerTrainer"),
    "GAIL": AlgorithmEntry(
        "imitation.algorithms.adversarial.gail:GAIL",
        defaults={"demo_batch_size": 64, "allow_variable_horizon": True},
    ),
    "AIRL": AlgorithmEntry(
        "imitation.algorithms.adversarial.airl:AIRL",
        defaults={"demo_batch_size": 64, "allow_variable_horizon": True},
    ),
    "SQIL": AlgorithmEntry("rl_framework.agent.imitation.sqil:SQIL"),
    "Density": AlgorithmEntry(
        "imitation.algorithms.density:DensityAlgorithm", defaults={"allow_variable_horizon": True}
    ),
}

#: Name -> how that algorithm is built and trained.
ALGORITHM_RUNS: dict[str, type[ImitationRun]] = {
    "BC": BCRun,
    "DAgger": DAggerRun,
    "GAIL": AdversarialRun,
    "AIRL": AdversarialRun,
    "SQIL": SQILRun,
    "Density": DensityRun,
}

#: Classes users may pass that cannot work here, with the reason and the fix.
_UNSUPPORTED_CLASSES: dict[str, str] = {
    "imitation.algorithms.sqil.SQIL": (
        "imitation 1.0.0's SQIL needs stable-baselines3 < 2.7 (its replay buffer concatenates the "
        "`discounts` field that newer ReplayBufferSamples leave as None). Pass algorithm_class='SQIL' "
        "to use rl_framework's SQIL, which trains on the installed stable-baselines3."
    ),
    "imitation.algorithms.preference_comparisons.PreferenceComparisons": (
        "PreferenceComparisons learns from preference queries, not from recorded episodes, so it does "
        "not fit ImitationAgent.train(episode_sequence=...). Use the imitation library directly."
    ),
    "imitation.algorithms.mce_irl.MCEIRL": (
        "MCE IRL needs a tabular environment model, not recorded episodes. Use the imitation library directly."
    ),
}


def resolve_imitation_algorithm(algorithm_class: str | type) -> tuple[str, type, AlgorithmEntry]:
    """Turn a name or class into ``(table name, class, entry)``.

    :param algorithm_class: a name from ``IMITATION_ALGORITHMS`` (case-insensitive) or one of its classes.
    :return: the canonical name, the class and its table entry.
    :raises ValueError: for unknown names and for classes ImitationAgent cannot train, naming the fix.
    """
    if isinstance(algorithm_class, type):
        qualified = f"{algorithm_class.__module__}.{algorithm_class.__name__}"
        if qualified in _UNSUPPORTED_CLASSES:
            raise ValueError(f"ImitationAgent cannot train {qualified}: {_UNSUPPORTED_CLASSES[qualified]}")
    resolved, entry = resolve_algorithm(algorithm_class, IMITATION_ALGORITHMS, "imitation")
    if entry is None:
        raise ValueError(
            f"ImitationAgent cannot train the class {resolved.__module__}.{resolved.__name__}. "
            f"Supported: {', '.join(IMITATION_ALGORITHMS)} (pass the name or the imitation class)."
        )
    name = next(key for key, value in IMITATION_ALGORITHMS.items() if value is entry)
    return name, resolved, entry


def make_run(algorithm_class: str | type, algorithm_parameters: dict[str, Any]) -> ImitationRun:
    """Create the run for an algorithm, with the entry's defaults under ``algorithm_parameters``.

    :param algorithm_class: a name or class accepted by ``resolve_imitation_algorithm``.
    :param algorithm_parameters: the user's parameters (checked against what the algorithm accepts).
    :return: a run that has not trained yet.
    """
    name, resolved, entry = resolve_imitation_algorithm(algorithm_class)
    return ALGORITHM_RUNS[name](name, resolved, {**entry.defaults, **algorithm_parameters})
