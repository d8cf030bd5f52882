"""One trial: train an agent, evaluate it every ``frequency`` steps, report each result, store the agent.

``run_trial`` knows nothing of Ray: the runner hands it ``ray.tune.report`` as ``report``, and a
plain loop (the benchmark's baseline) hands it anything else. Reports carry ``timesteps`` (the
x-axis of the learning curves and ASHA's time axis) and ``mean_return``; the last report also
carries ``finished`` and the stored agent's location.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stable_baselines3.common.callbacks import BaseCallback

from rl_framework.util.checks import positive_int

if TYPE_CHECKING:
    from rl_framework.agent.base_agent import BaseAgent
    from rl_framework.sweep.spec import TrainingSpec
    from rl_framework.util.connector.base import Connector

#: Receives one result dict per evaluation (``ray.tune.report`` in a sweep).
Reporter = Callable[[dict[str, Any]], None]
#: The metric every trial reports and the sweep optimises.
METRIC = "mean_return"
#: The time axis of the reports (and of ASHA).
TIME_ATTRIBUTE = "timesteps"


def trial_agent_name(sweep_name: str, trial_id: str) -> str:
    """The name a trial's agent is stored under: ``<sweep name>-<trial id>``."""
    return f"{sweep_name}-{trial_id}"


class AgentStore(Protocol):
    """Where trials store their agents: a connector (upload and download configs) for one agent name."""

    def __call__(self, agent_name: str) -> Connector:
        """The connector that uploads, and later downloads, the agent called ``agent_name``."""


@dataclass(frozen=True)
class LocalRegistryStore:
    """The default store: every trial's agent becomes an entry of a local registry folder.

    On a cluster the folder must be on storage every node can reach (or use another connector).

    :param registry_path: the registry folder.
    """

    registry_path: str

    def __call__(self, agent_name: str) -> Connector:
        """A ``LocalConnector`` that uploads and downloads ``agent_name`` in the registry."""
        from rl_framework.util.connector.local import LocalConnector, LocalDownloadConfig, LocalUploadConfig

        return LocalConnector(
            LocalUploadConfig(agent_name=agent_name),
            LocalDownloadConfig(agent_name),
            registry_path=self.registry_path,
        )


@dataclass(frozen=True)
class EvaluationSchedule:
    """When and how a trial evaluates its agent.

    :param frequency: training steps between two evaluations (the last one is always at the end).
    :param n_episodes: episodes per evaluation.
    :param deterministic: evaluate with deterministic actions.
    :param seed: base seed of the evaluation episodes, the same for every trial (common random
        numbers: configurations are compared on the same episodes).
    """

    frequency: int
    n_episodes: int = 10
    deterministic: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        positive_int(self.frequency, "eval_frequency", "training steps between evaluations")
        positive_int(self.n_episodes, "n_eval_episodes", "episodes per evaluation")

    def thresholds(self, total_timesteps: int) -> list[int]:
        """The step counts of the evaluations before the final one."""
        return list(range(self.frequency, total_timesteps, self.frequency))


class _Evaluator:
    """Evaluates one trial's agent and keeps what the reports accumulate (best return, count, clock)."""

    def __init__(self, agent: BaseAgent, spec: TrainingSpec, schedule: EvaluationSchedule) -> None:
        self.agent, self.spec, self.schedule = agent, spec, schedule
        self.best_return = -math.inf
        self.evaluations = 0
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()

    def measure(self, timesteps: int) -> dict[str, Any]:
        result = self.agent.evaluate_episodes(
            self.spec.evaluation_environment or self.spec.environment,
            self.schedule.n_episodes,
            seeds=self.schedule.seed,
            deterministic=self.schedule.deterministic,
            progress_bar=False,
        )
        self.best_return = max(self.best_return, result.mean_reward)
        self.evaluations += 1
        return {
            TIME_ATTRIBUTE: int(timesteps),
            METRIC: result.mean_reward,
            "std_return": result.std_reward,
            "best_return": self.best_return,
            "evaluations": self.evaluations,
            "trial_seconds": time.perf_counter() - self.started,
        }


class _PeriodicEvaluation(BaseCallback):
    """SB3 callback: evaluate and report whenever training passes the next threshold."""

    def __init__(self, evaluator: _Evaluator, thresholds: list[int], report: Reporter) -> None:
        super().__init__()
        self.evaluator, self.pending, self.report = evaluator, list(thresholds), report

    def _on_step(self) -> bool:
        if self.pending and self.num_timesteps >= self.pending[0]:
            while self.pending and self.num_timesteps >= self.pending[0]:
                self.pending.pop(0)
            self.report(self.evaluator.measure(self.num_timesteps))
        return True


def run_trial(
    spec: TrainingSpec,
    parameters: Mapping[str, Any],
    seed: int,
    schedule: EvaluationSchedule,
    report: Reporter,
    store: AgentStore | None = None,
    agent_name: str | None = None,
) -> dict[str, Any]:
    """Train one agent with evaluations on ``schedule``, store it, and return the final report.

    Agents that train through SB3 (``StableBaselinesAgent``) train in one ``train`` call and are
    evaluated from a callback; every other agent trains in chunks between evaluations (a second
    ``train`` call continues training).

    :param spec: what to train.
    :param parameters: this trial's configuration (over ``spec.algorithm_parameters``).
    :param seed: this trial's seed.
    :param schedule: when and how to evaluate.
    :param report: receives each evaluation's result, the final one with ``finished=True``.
    :param store: where the trained agent goes (``None``: it is not stored).
    :param agent_name: the agent's name in ``store``.
    :return: the final report.
    """
    from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent

    agent = spec.build_agent(parameters, seed)
    episodes = spec.load_episodes()
    evaluator = _Evaluator(agent, spec, schedule)
    thresholds = schedule.thresholds(spec.total_timesteps)
    if isinstance(agent, StableBaselinesAgent):
        spec.train(agent, spec.total_timesteps, episodes, callback=_PeriodicEvaluation(evaluator, thresholds, report))
        assert agent.model is not None
        timesteps = int(agent.model.num_timesteps)
    else:
        timesteps = 0
        for target in thresholds:
            spec.train(agent, target - timesteps, episodes)
            timesteps = target
            report(evaluator.measure(timesteps))
        spec.train(agent, spec.total_timesteps - timesteps, episodes)
        timesteps = spec.total_timesteps
    final = evaluator.measure(timesteps)
    final["agent_location"] = store(agent_name or "agent").upload(agent) if store is not None else ""
    final["trial_seconds"] = time.perf_counter() - evaluator.started
    # CPU time of the whole process (Ray's worker threads included): set beside the wall time, it
    # shows how much of a core the trial got.
    final["cpu_seconds"] = time.process_time() - evaluator.cpu_started
    final["finished"] = True
    report(final)
    return final
