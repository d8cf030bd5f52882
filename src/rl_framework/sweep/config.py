"""``SweepConfig``: how many seeds, which search, which resources, where the results go."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rl_framework.sweep.space import SearchSpace
from rl_framework.sweep.trial import AgentStore, EvaluationSchedule, LocalRegistryStore
from rl_framework.util.checks import is_integer, optional_positive_int, positive_int

if TYPE_CHECKING:
    from rl_framework.util.connector.huggingface_config import HuggingFaceUploadConfig
    from rl_framework.util.connector.local import LocalUploadConfig

SEARCHERS = ("basic", "optuna")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class SweepConfig:
    """How a sweep runs its trials (every field has a default that works on a laptop).

    :param seeds: the seeds every configuration runs with: a count ``n`` (seeds ``0 .. n-1``) or a list.
    :param search_space: the varied parameters (``SearchSpace``, or a dict / parsed YAML in its format).
    :param searcher: ``"basic"``: every ``{grid: ...}`` value crossed with ``num_samples`` random draws of
        the other dimensions (grid and random search); ``"optuna"``: Optuna's TPE proposes
        ``num_samples`` configurations through Ray Tune's ``OptunaSearch``, each run with every seed.
    :param num_samples: random draws per grid point (basic) or configurations proposed (optuna).
    :param early_stopping: stop trials whose returns lag behind the others' at the same step count
        (Ray Tune's ASHA on the reported mean return; the first stop can come at ``eval_frequency``).
    :param eval_frequency: training steps between evaluations; default: a tenth of the budget.
    :param n_eval_episodes: episodes per evaluation.
    :param deterministic_evaluation: evaluate with deterministic actions.
    :param cpus_per_trial: CPUs Ray reserves for each trial (torch uses that many threads in it).
    :param gpus_per_trial: GPUs (or a fraction of one) Ray reserves for each trial.
    :param max_concurrent_trials: cap on trials running at once (``None``: as many as the resources allow).
    :param address: the Ray cluster to use: ``None`` starts a local Ray (unless ``$RAY_ADDRESS`` is
        set), ``"auto"`` joins the cluster started on this machine with ``ray start``, or
        ``"<head-ip>:6379"``. A Ray already initialised in this process is reused as it is.
    :param num_cpus: CPUs of a local Ray (``None``: all of this machine's); ignored for a cluster.
    :param output_dir: the sweep's folder: Ray Tune's state (``tune/``), the trials' agents
        (``registry/``), ``results.csv``, ``results.json`` and ``learning_curves.png``.
    :param name: the sweep's name (registry entries are ``<name>-<trial id>`` and ``<name>-best``);
        default ``<algorithm>-<environment>``.
    :param resume: continue the sweep in ``output_dir``: finished trials are kept, unfinished ones
        run again. Without it an existing sweep there is an error (nothing is overwritten).
    :param agent_store: where trials store their agents; default: the local registry ``output_dir/registry``.
    :param evaluation_seed: base seed of the evaluation episodes (the same for every trial).
    :param search_seed: seed of the random draws (basic) or of Optuna's sampler.
    :param publish: where the best agent is registered, with its multi-seed report: a
        ``LocalUploadConfig`` (into ``output_dir/registry``) or a ``HuggingFaceUploadConfig``;
        default: ``LocalUploadConfig(agent_name="<name>-best")`` evaluated as the trials are.
    """

    seeds: int | Sequence[int] = 5
    search_space: SearchSpace | Mapping[str, Any] | None = None
    searcher: Literal["basic", "optuna"] = "basic"
    num_samples: int = 1
    early_stopping: bool = False
    eval_frequency: int | None = None
    n_eval_episodes: int = 10
    deterministic_evaluation: bool = True
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent_trials: int | None = None
    address: str | None = None
    num_cpus: int | None = None
    output_dir: str | Path = "sweeps"
    name: str | None = None
    resume: bool = False
    agent_store: AgentStore | None = None
    evaluation_seed: int = 0
    search_seed: int = 0
    publish: LocalUploadConfig | HuggingFaceUploadConfig | None = None
    space: SearchSpace = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "space", SearchSpace.from_mapping(self.search_space))
        if self.searcher not in SEARCHERS:
            raise ValueError(f"searcher must be one of {', '.join(SEARCHERS)}, got {self.searcher!r}.")
        if self.searcher == "optuna":
            self.space.check_adaptive()
        positive_int(self.num_samples, "num_samples", "configurations per grid point or proposed by Optuna")
        optional_positive_int(self.eval_frequency, "eval_frequency", "training steps between evaluations")
        positive_int(self.n_eval_episodes, "n_eval_episodes")
        optional_positive_int(self.max_concurrent_trials, "max_concurrent_trials")
        optional_positive_int(self.num_cpus, "num_cpus", "CPUs of the local Ray")
        if not (isinstance(self.cpus_per_trial, (int, float)) and self.cpus_per_trial > 0):
            raise ValueError(f"cpus_per_trial must be a number > 0, e.g. 1, got {self.cpus_per_trial!r}.")
        if not (isinstance(self.gpus_per_trial, (int, float)) and self.gpus_per_trial >= 0):
            raise ValueError(f"gpus_per_trial must be a number >= 0 (0.5 shares a GPU), got {self.gpus_per_trial!r}.")
        if self.name is not None and not _NAME.fullmatch(self.name):
            raise ValueError(
                f"name must be 1-100 letters, digits, '.', '_' or '-' starting with a letter or digit, got "
                f"{self.name!r}. Example: 'ppo-cartpole'."
            )
        self.seed_list()

    def seed_list(self) -> list[int]:
        """The seeds as a list (``seeds=3`` gives ``[0, 1, 2]``).

        :raises ValueError: for a count < 1, a non-integer or a repeated seed.
        """
        if is_integer(self.seeds):
            return list(range(positive_int(self.seeds, "seeds", "a count, or a list of seeds")))
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence) or not self.seeds:
            raise ValueError(f"seeds must be a count (e.g. 5) or a non-empty list of ints, got {self.seeds!r}.")
        if not all(is_integer(seed) for seed in self.seeds) or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct ints, got {list(self.seeds)!r}.")
        return [int(seed) for seed in self.seeds]

    def sweep_name(self, algorithm: str, environment: str) -> str:
        """``name``, or one made from the algorithm and environment (``PPO-CartPole-v1``)."""
        if self.name is not None:
            return self.name
        made = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{algorithm}-{environment}").strip("-._")
        return made[:100] or "sweep"

    def schedule(self, total_timesteps: int) -> EvaluationSchedule:
        """The trials' evaluation schedule for a budget of ``total_timesteps``."""
        frequency = self.eval_frequency or max(1, total_timesteps // 10)
        return EvaluationSchedule(
            min(frequency, total_timesteps), self.n_eval_episodes, self.deterministic_evaluation, self.evaluation_seed
        )

    def store(self) -> AgentStore:
        """``agent_store``, or the local registry inside the output folder."""
        if self.agent_store is not None:
            return self.agent_store
        return LocalRegistryStore(str(Path(self.output_dir).resolve() / "registry"))

    def resources(self) -> dict[str, float]:
        """Ray resources of one trial."""
        resources = {"cpu": float(self.cpus_per_trial)}
        if self.gpus_per_trial:
            resources["gpu"] = float(self.gpus_per_trial)
        return resources
