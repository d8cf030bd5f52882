"""Abstract reinforcement-learning agent: learns by interacting with environments."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.base_agent import BaseAgent
from rl_framework.environment.vectorize import TrainingEnvironments, Vectorization

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector


class RLAgent(BaseAgent):
    """An agent trained on gymnasium environments through trial and error.

    ``train`` is a template (as SB3's ``learn`` -> ``_setup_learn``): it validates the budget,
    checks the connector's access, builds the vectorized environments from any accepted input,
    applies the CPU thread policy, calls the subclass's ``_train`` and closes only what it built.
    A subclass implements ``_train`` (plus acting and persistence from ``BaseAgent``).
    """

    def train(
        self,
        training_environments: TrainingEnvironments,
        total_timesteps: int,
        connector: Connector | None = None,
        n_envs: int = 1,
        vectorization: Vectorization = "dummy",
        progress_bar: bool = True,
        torch_threads: int | None = None,
        callback: Any = None,
    ) -> None:
        """Train the agent for ``total_timesteps`` environment steps; a second call continues training.

        :param training_environments: a gymnasium env, env id, env factory, list of envs or
            factories, or an SB3 ``VecEnv`` (used as given); also a PettingZoo ``ParallelEnv`` or a
            factory/list of them, one slot per agent (``environment/multi_agent.py``).
        :param total_timesteps: environment steps to train for (> 0).
        :param connector: logs metrics and checkpoints during training; its access (e.g. an
            upload token) is checked before any work.
        :param n_envs: number of copies for an env id or factory (ignored for lists and VecEnvs).
        :param vectorization: ``"dummy"`` (one process, default) or ``"subprocess"``.
        :param progress_bar: show a progress bar.
        :param torch_threads: torch intra-op threads while training; by default small (non-image)
            policies train on one thread unless you set a count yourself (``torch.set_num_threads``
            or ``OMP_NUM_THREADS``), restored afterwards.
        :param callback: extra SB3 callback(s) (a ``BaseCallback``, a list, or a function of
            ``(locals, globals) -> bool``), for agents that train through SB3.
        """
        with self._training_session(
            training_environments, total_timesteps, connector, n_envs, vectorization, torch_threads
        ) as (vec_env, budget):
            self._train(vec_env, budget, connector, progress_bar, callback)

    @abstractmethod
    def _train(
        self, vec_env: VecEnv, total_timesteps: int, connector: Connector | None, progress_bar: bool, callback: Any
    ) -> None:
        """Train on ``vec_env`` for ``total_timesteps`` steps (inputs already checked).

        :param vec_env: the training environments (do not close them: the template does).
        :param total_timesteps: the validated budget.
        :param connector: log through ``connector.log_value`` and checkpoint with
            ``connector.save_checkpoint`` every ``connector.checkpoint_frequency`` steps, if given.
        :param progress_bar: whether to show a progress bar.
        :param callback: the ``callback`` given to ``train`` (``None`` if none).
        """
