"""The one table of imitation-learning algorithms reachable by name, and how each one is trained.

Every name maps to the class it builds on, the trainer (``trainer.ImitationTrainer``) that builds
that algorithm with working defaults, trains it for a ``total_timesteps`` budget and hands out its
policy, and the defaults merged under the user's ``algorithm_parameters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rl_framework.util.algorithm_table import AlgorithmEntry, import_attribute, resolve_algorithm, table_name

if TYPE_CHECKING:
    from rl_framework.agent.imitation.imitation.trainer import ImitationTrainer

_HERE = "rl_framework.agent.imitation.imitation"


@dataclass(frozen=True)
class ImitationAlgorithm(AlgorithmEntry):
    """One imitation algorithm.

    :param trainer: how rl_framework builds and trains it, as ``"module:Class"`` of an ``ImitationTrainer``
        (imported on first use: each trainer pulls in its part of imitation, e.g. scikit-learn for Density).
    :param defaults: constructor parameters that make it work out of the box.
    """

    trainer: str = f"{_HERE}.supervised:BCTrainer"
    defaults: dict[str, Any] = field(default_factory=dict)

    def load_trainer(self) -> type[ImitationTrainer]:
        """Import and return the trainer class."""
        trainer: type[ImitationTrainer] = import_attribute(self.trainer)
        return trainer


_VARIABLE_HORIZON = {"allow_variable_horizon": True}

#: Name -> algorithm. Defaults are merged under the user's ``algorithm_parameters``.
IMITATION_ALGORITHMS: dict[str, ImitationAlgorithm] = {
    "BC": ImitationAlgorithm("imitation.algorithms.bc:BC", trainer=f"{_HERE}.supervised:BCTrainer"),
    "DAgger": ImitationAlgorithm(
        "imitation.algorithms.dagger:SimpleDAggerTrainer", trainer=f"{_HERE}.supervised:DAggerTrainer"
    ),
    "GAIL": ImitationAlgorithm(
        "imitation.algorithms.adversarial.gail:GAIL",
        trainer=f"{_HERE}.adversarial:AdversarialTrainer",
        defaults={"demo_batch_size": 64, **_VARIABLE_HORIZON},
    ),
    "AIRL": ImitationAlgorithm(
        "imitation.algorithms.adversarial.airl:AIRL",
        trainer=f"{_HERE}.adversarial:AdversarialTrainer",
        defaults={"demo_batch_size": 64, **_VARIABLE_HORIZON},
    ),
    "SQIL": ImitationAlgorithm(f"{_HERE}.sqil:SQIL", trainer=f"{_HERE}.sqil:SQILTrainer"),
    "Density": ImitationAlgorithm(
        "imitation.algorithms.density:DensityAlgorithm",
        trainer=f"{_HERE}.density:DensityTrainer",
        defaults=dict(_VARIABLE_HORIZON),
    ),
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


def resolve_imitation_algorithm(algorithm_class: str | type) -> tuple[str, type, ImitationAlgorithm]:
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
    return table_name(entry, IMITATION_ALGORITHMS), resolved, entry


def make_trainer(
    name: str, algorithm_class: type, entry: ImitationAlgorithm, parameters: dict[str, Any]
) -> ImitationTrainer:
    """Create the trainer of a resolved algorithm, with the entry's defaults under ``parameters``.

    :param name: the table name.
    :param algorithm_class: the resolved class.
    :param entry: its table row.
    :param parameters: the user's parameters (checked against what the algorithm accepts).
    :return: a trainer that has not trained yet.
    """
    return entry.load_trainer()(name, algorithm_class, {**entry.defaults, **parameters})
