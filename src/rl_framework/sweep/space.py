"""Search spaces: which algorithm parameters a sweep varies, and how.

A space maps parameter names to a *dimension* or to a fixed value. Dimensions are written the
same way in Python and in a YAML file (``--search SPACE.yaml``)::

    learning_rate: {loguniform: [1.0e-4, 1.0e-3]}   # log-uniform float in [low, high]
    ent_coef: {uniform: [0.0, 0.01]}                # uniform float in [low, high]
    n_epochs: {randint: [3, 11]}                    # integer in [low, high)
    gamma: {choice: [0.98, 0.99, 0.999]}            # one of the values, drawn at random
    n_steps: {grid: [64, 128]}                      # every value (the grid is crossed)
    batch_size: 64                                  # fixed

Grid and random search are expanded here, in the driver, with one seeded generator, so every
configuration is known before the first trial starts and each one runs with every seed (Ray
Tune would redraw random values for every grid point, i.e. for every seed). Optuna samples
adaptively, so for it the dimensions become Ray Tune domains (``to_tune``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rl_framework.util.checks import positive_int

#: Dimension kind -> what its value must be, for the error message.
DIMENSION_KINDS = {
    "grid": "a non-empty list of values, e.g. {grid: [64, 128]}",
    "choice": "a non-empty list of values, e.g. {choice: [0.98, 0.99]}",
    "uniform": "[low, high] with low < high, e.g. {uniform: [0.0, 0.01]}",
    "loguniform": "[low, high] with 0 < low < high, e.g. {loguniform: [1.0e-4, 1.0e-3]}",
    "randint": "[low, high] integers with low < high (high excluded), e.g. {randint: [3, 11]}",
}
RANDOM_KINDS = ("choice", "uniform", "loguniform", "randint")
GRID_WITH_OPTUNA = (
    "Optuna samples adaptively and cannot enumerate a grid: write {choice: [...]} instead of {grid: [...]}, "
    "or use searcher='basic'."
)


@dataclass(frozen=True)
class Dimension:
    """One varied parameter.

    :param kind: one of ``DIMENSION_KINDS``.
    :param values: the grid/choice values, or ``(low, high)`` for the numeric kinds.
    """

    kind: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if self.kind not in DIMENSION_KINDS:
            raise ValueError(f"Unknown dimension kind {self.kind!r}. Kinds: {', '.join(DIMENSION_KINDS)}.")
        expected = DIMENSION_KINDS[self.kind]
        values = self.values
        if self.kind in ("grid", "choice"):
            if len(values) == 0:
                raise ValueError(f"A {self.kind} dimension needs {expected}; got an empty list.")
            return
        numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
        if len(values) != 2 or not numeric or not values[0] < values[1]:
            raise ValueError(f"A {self.kind} dimension needs {expected}; got {list(values)!r}.")
        if self.kind == "loguniform" and values[0] <= 0:
            raise ValueError(f"A loguniform dimension needs {expected}; got {list(values)!r}.")
        if self.kind == "randint" and not all(isinstance(value, int) for value in values):
            raise ValueError(f"A randint dimension needs {expected}; got {list(values)!r}.")

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value (random kinds only).

        :param rng: the sweep's generator.
        :return: the value, as a plain Python number or one of the listed values.
        """
        low, high = self.values[0], self.values[-1]
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        if self.kind == "randint":
            return int(rng.integers(low, high))
        raise ValueError(f"A {self.kind} dimension is enumerated, not sampled.")

    def to_tune(self) -> Any:
        """The equivalent Ray Tune domain (``tune.loguniform(...)`` ...), for adaptive searchers."""
        from ray import tune

        if self.kind == "grid":
            raise ValueError(GRID_WITH_OPTUNA)
        if self.kind == "choice":
            return tune.choice(list(self.values))
        low, high = self.values
        builder = {"uniform": tune.uniform, "loguniform": tune.loguniform, "randint": tune.randint}[self.kind]
        return builder(low, high)


@dataclass(frozen=True)
class SearchSpace:
    """Parameters a sweep varies (``dimensions``) and the ones it fixes (``fixed``).

    :param dimensions: parameter name -> dimension.
    :param fixed: parameter name -> value given to every trial.
    """

    dimensions: Mapping[str, Dimension] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, space: SearchSpace | Mapping[str, Any] | None) -> SearchSpace:
        """Read a space written as in the module docstring (a dict, or a parsed YAML file).

        :param space: parameter name -> ``{kind: values}`` or a fixed value (a ``SearchSpace`` is returned as
            it is); ``None`` or ``{}``: nothing varies.
        :return: the space.
        :raises TypeError: when ``space`` is not a mapping with string keys.
        :raises ValueError: for a malformed dimension, naming the parameter and the expected form.
        """
        if isinstance(space, SearchSpace):
            return space
        if space is None:
            return cls()
        if not isinstance(space, Mapping) or not all(isinstance(name, str) for name in space):
            raise TypeError(
                f"The search space must map parameter names to dimensions, e.g. "
                f"{{'learning_rate': {{'loguniform': [1e-4, 1e-3]}}}}; got {type(space).__name__}."
            )
        dimensions, fixed = {}, {}
        for name, value in space.items():
            if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in DIMENSION_KINDS:
                kind, values = next(iter(value.items()))
                if not isinstance(values, (list, tuple)):
                    raise ValueError(f"Parameter {name!r}: a {kind} dimension needs {DIMENSION_KINDS[kind]}.")
                try:
                    dimensions[name] = Dimension(kind, tuple(values))
                except ValueError as error:
                    raise ValueError(f"Parameter {name!r}: {error}") from None
            else:
                fixed[name] = value
        return cls(dimensions, fixed)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SearchSpace:
        """Read a space from a YAML file (the format of the module docstring).

        :param path: the file.
        :return: the space.
        :raises FileNotFoundError: when the file does not exist.
        """
        import yaml

        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"Search space file '{file}' does not exist. Write one like:\n{__doc__}")
        return cls.from_mapping(yaml.safe_load(file.read_text(encoding="utf-8")) or {})

    @property
    def names(self) -> list[str]:
        """Every parameter the space sets (varied first, then fixed)."""
        return [*self.dimensions, *self.fixed]

    @property
    def is_random(self) -> bool:
        """Whether any dimension is drawn at random (else the space is a plain grid)."""
        return any(dimension.kind in RANDOM_KINDS for dimension in self.dimensions.values())

    def configurations(self, num_samples: int = 1, seed: int = 0) -> list[dict[str, Any]]:
        """Expand the space for grid/random search: the grid crossed with ``num_samples`` random draws.

        :param num_samples: random draws per grid point (ignored, i.e. 1, when nothing is random).
        :param seed: seed of the draws, so a sweep and its resumption see the same configurations.
        :return: one parameter dict per configuration, in a stable order.
        """
        num_samples = positive_int(num_samples, "num_samples", "configurations drawn per grid point")
        rng = np.random.default_rng(seed)
        grid = {name: dimension.values for name, dimension in self.dimensions.items() if dimension.kind == "grid"}
        random = {name: dimension for name, dimension in self.dimensions.items() if dimension.kind != "grid"}
        draws = num_samples if random else 1
        configurations = []
        for point in itertools.product(*grid.values()):
            for _ in range(draws):
                sampled = {name: dimension.sample(rng) for name, dimension in random.items()}
                configurations.append({**self.fixed, **dict(zip(grid, point, strict=True)), **sampled})
        return configurations

    def check_adaptive(self) -> None:
        """Raise ``ValueError`` if an adaptive searcher (Optuna) cannot sample this space (it has a grid)."""
        grids = [name for name, dimension in self.dimensions.items() if dimension.kind == "grid"]
        if grids:
            raise ValueError(f"Parameter(s) {', '.join(map(repr, grids))}: {GRID_WITH_OPTUNA}")

    def to_tune(self) -> dict[str, Any]:
        """The space as Ray Tune domains plus fixed values (for Optuna through Ray Tune).

        :raises ValueError: for a grid dimension (adaptive search cannot enumerate it).
        """
        return {**self.fixed, **{name: dimension.to_tune() for name, dimension in self.dimensions.items()}}
