"""What one sweep trial trains: the agent, its environment and budget, built the same way on every worker."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rl_framework.util.checks import check_mapping, check_total_timesteps, positive_int

if TYPE_CHECKING:
    from rl_framework.agent.base_agent import BaseAgent
    from rl_framework.environment.vectorize import Vectorization

#: A factory of agents: called as ``factory(algorithm_parameters=...)``.
AgentFactory = Callable[..., "BaseAgent"]


@dataclass(frozen=True)
class TrainingSpec:
    """The training every trial of a sweep runs; the trial adds its parameters and seed.

    Trials run in other processes (and on other machines), so everything here must pickle:
    environment ids and factory functions do, environment instances should not be shared.

    :param agent: an algorithm name (``"PPO"``, ``"SAC"`` ... for ``StableBaselinesAgent``;
        ``"BC"``, ``"GAIL"`` ... for ``ImitationAgent``), or a factory called as
        ``agent(algorithm_parameters={...})`` that returns an ``RLAgent`` or ``ILAgent``: a custom
        agent class, or ``functools.partial(MyAgent, "my-algorithm")``.
    :param environment: the training environment: an env id or a factory (``lambda: gym.make(...)``).
    :param total_timesteps: each trial's training budget (in the algorithm's unit for IL agents).
    :param algorithm_parameters: parameters every trial gets; the search space's values go over them,
        and ``seed`` is set per trial.
    :param episode_sequence: the demonstrations of an ``ILAgent`` (a dataset folder or an
        ``EpisodeSequence``); ``None`` for RL agents.
    :param n_envs: environment copies per trial.
    :param vectorization: ``"dummy"`` (one process) or ``"subprocess"`` (one process per copy).
    :param normalize: train on ``VecNormalize``-wrapped environments: ``True`` or its keyword
        arguments (RL agents; the agent keeps the statistics and evaluates with them).
    :param evaluation_environment: the environment of the periodic evaluations; default: ``environment``.
    """

    agent: str | AgentFactory
    environment: str | Callable[[], Any]
    total_timesteps: int
    algorithm_parameters: Mapping[str, Any] = field(default_factory=dict)
    episode_sequence: Any = None
    n_envs: int = 1
    vectorization: Vectorization = "dummy"
    normalize: bool | Mapping[str, Any] = False
    evaluation_environment: str | Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        check_total_timesteps(self.total_timesteps)
        positive_int(self.n_envs, "n_envs", "environment copies per trial")
        if self.vectorization not in ("dummy", "subprocess"):
            raise ValueError(f"vectorization must be 'dummy' or 'subprocess', got {self.vectorization!r}.")
        parameters = check_mapping(self.algorithm_parameters, "algorithm_parameters")
        object.__setattr__(self, "algorithm_parameters", parameters)
        if not isinstance(self.agent, str) and not callable(self.agent):
            raise TypeError(
                f"agent must be an algorithm name ('PPO', 'BC' ...) or a factory returning an agent, got "
                f"{type(self.agent).__name__}."
            )
        for name in ("environment", "evaluation_environment"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str) and not callable(value):
                raise TypeError(
                    f"{name} must be an env id or a factory (lambda: gym.make(...)) so every trial builds its own; "
                    f"got {type(value).__name__}."
                )

    @property
    def algorithm_name(self) -> str:
        """A short name of the agent, for tables and registry names (``"PPO"``, ``"MyAgent"``)."""
        if isinstance(self.agent, str):
            return self.agent
        target = self.agent.func if isinstance(self.agent, functools.partial) else self.agent
        if isinstance(self.agent, functools.partial) and self.agent.args and isinstance(self.agent.args[0], str):
            return self.agent.args[0]
        return getattr(target, "__name__", type(target).__name__)

    @property
    def environment_name(self) -> str:
        """The env id (of an id, or of a factory with an ``env_id``), else the factory's name."""
        if isinstance(self.environment, str):
            return self.environment
        env_id = getattr(self.environment, "env_id", None)
        return env_id if isinstance(env_id, str) else getattr(self.environment, "__name__", "custom-environment")

    def build_agent(self, parameters: Mapping[str, Any], seed: int | None) -> BaseAgent:
        """Create a fresh, untrained agent with the spec's parameters, ``parameters`` over them and ``seed``.

        :param parameters: the trial's configuration.
        :param seed: the trial's seed (``None``: no ``seed`` parameter).
        :return: the agent.
        """
        merged = {**self.algorithm_parameters, **parameters}
        if seed is not None:
            merged["seed"] = int(seed)
        return self._factory()(algorithm_parameters=merged)

    def _factory(self) -> AgentFactory:
        if not isinstance(self.agent, str):
            return self.agent
        from rl_framework.agent.reinforcement.algorithms import SB3_ALGORITHMS

        if self.agent.lower() in {name.lower() for name in SB3_ALGORITHMS}:
            from rl_framework.agent import StableBaselinesAgent

            return functools.partial(StableBaselinesAgent, self.agent)
        from rl_framework.agent.imitation.imitation.algorithms import IMITATION_ALGORITHMS

        if self.agent.lower() in {name.lower() for name in IMITATION_ALGORITHMS}:
            from rl_framework.agent.imitation.imitation.imitation import ImitationAgent

            return functools.partial(ImitationAgent, self.agent)
        raise ValueError(
            f"Unknown algorithm {self.agent!r}. Stable-Baselines3 names: {', '.join(SB3_ALGORITHMS)}; imitation "
            f"names: {', '.join(IMITATION_ALGORITHMS)}. For another agent pass a factory: "
            f"TrainingSpec(agent=MyAgent, ...)."
        )

    def check(self, parameters: Mapping[str, Any]) -> None:
        """Build one agent with ``parameters`` and check it can train, before any trial starts.

        :param parameters: one configuration of the sweep.
        :raises ValueError: for unknown parameter names (from the agent's own checks), an agent
            that does not train, or an IL agent without demonstrations.
        """
        from rl_framework.agent import ILAgent, RLAgent

        agent = self.build_agent(parameters, seed=0)
        if not isinstance(agent, (RLAgent, ILAgent)):
            raise TypeError(
                f"{type(agent).__name__} cannot be swept: trials train, so the agent must be an RLAgent or an "
                f"ILAgent (derive your agent from one of them and implement _train)."
            )
        if isinstance(agent, ILAgent) and self.episode_sequence is None:
            raise ValueError(
                f"{type(agent).__name__} learns from demonstrations: pass TrainingSpec(episode_sequence=<dataset "
                f"folder or EpisodeSequence>)."
            )
        if isinstance(self.episode_sequence, (str, os.PathLike)) and not os.path.exists(self.episode_sequence):
            raise FileNotFoundError(f"episode_sequence '{self.episode_sequence}' does not exist.")

    def train(self, agent: BaseAgent, timesteps: int, episodes: Any = None, callback: Any = None) -> None:
        """Train ``agent`` for ``timesteps`` more steps on the spec's environment.

        :param agent: an agent from ``build_agent``.
        :param timesteps: the budget of this call (a later call continues training).
        :param episodes: the demonstrations, already loaded (IL agents).
        :param callback: SB3 callback(s) for RL agents that train through SB3.
        """
        from rl_framework.agent import ILAgent

        common: dict[str, Any] = {"n_envs": self.n_envs, "vectorization": self.vectorization, "progress_bar": False}
        if isinstance(agent, ILAgent):
            agent.train(episodes, self.environment, timesteps, **common)
        elif self.normalize is False:
            agent.train(self.environment, timesteps, callback=callback, **common)  # type: ignore[attr-defined]
        else:
            from stable_baselines3.common.vec_env import VecNormalize

            from rl_framework.environment.vectorize import build_vec_env

            kwargs = {} if self.normalize is True else dict(self.normalize)
            vec_env = VecNormalize(build_vec_env(self.environment, self.n_envs, self.vectorization), **kwargs)
            try:  # train never closes environments it is given: this one is ours to close
                agent.train(vec_env, timesteps, callback=callback, progress_bar=False)  # type: ignore[attr-defined]
            finally:
                vec_env.close()

    def load_episodes(self) -> Any:
        """The demonstrations as an ``EpisodeSequence`` (``None`` for RL agents), loaded once per trial."""
        if self.episode_sequence is None:
            return None
        from rl_framework.agent.imitation_learning_agent import as_episode_sequence

        return as_episode_sequence(self.episode_sequence)
