"""``ImitationAgent``: the imitation library's algorithms (and our SQIL) behind the agent interface."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rl_framework.agent.export import OnnxActor, sb3_actor
from rl_framework.agent.imitation.imitation.algorithms import make_trainer, resolve_imitation_algorithm
from rl_framework.agent.imitation.imitation.persistence import SavedPolicy, read_agent_file, write_agent_file
from rl_framework.agent.imitation.imitation.trainer import ImitationTrainer, StepCountingVecEnv, TrainingCall
from rl_framework.agent.imitation_learning_agent import ILAgent
from rl_framework.agent.sb3_policy import SB3PolicyActing
from rl_framework.environment.copies import is_wrapped_with

if TYPE_CHECKING:
    from rl_framework.data.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector


class ImitationAgent(SB3PolicyActing, ILAgent):
    """An agent that learns from recorded episodes with an imitation-learning algorithm.

    ``total_timesteps`` in ``train`` means, per algorithm (each rounds up to its unit of work):

    ========= ====================================== ==================================================
    name      ``total_timesteps`` counts              defaults
    ========= ====================================== ==================================================
    BC        demonstration samples consumed          ``batch_size=32``, 32x32 MLP policy
              (whole batches)
    DAgger    environment steps collected             needs ``expert``; 1+ episode and
              (whole episodes, whole rounds)          ``min(500, total_timesteps)`` steps per round
    GAIL      generator environment steps             PPO learner, ``BasicRewardNet``,
              (whole rounds of ``n_steps*n_envs``)    ``demo_batch_size=64``, ``allow_variable_horizon=True``
    AIRL      generator environment steps             as GAIL with ``BasicShapedRewardNet``
    SQIL      learner environment steps               DQN (Discrete) or SAC (Box), see ``sqil.py``
    Density   learner environment steps               PPO learner, state-action kernel density,
                                                      ``allow_variable_horizon=True``
    ========= ====================================== ==================================================

    ``allow_variable_horizon=True`` lets GAIL, AIRL and Density train on episodes that end at
    different times (CartPole's do); imitation refuses them otherwise. Episode length then leaks
    reward information, see imitation's "variable horizon" guide; pass ``False`` to refuse them.

    Demonstrations are streamed in batches for BC, GAIL and AIRL; DAgger, SQIL and Density
    materialise them (DAgger's rounds, SQIL's replay buffer, Density's kernel density need them all).

    :param algorithm_class: a name ("BC", "DAgger", "GAIL", "AIRL", "SQIL", "Density") or the
        imitation class (``imitation.algorithms.bc.BC``, ...).
    :param algorithm_parameters: the algorithm's constructor arguments (unknown keys are an
        error), plus ``seed`` for all; ``expert`` for DAgger (an rl_framework agent, SB3 model or
        SB3 policy; required); ``learner`` (SB3 algorithm name or class) and ``learner_parameters``
        for GAIL, AIRL, SQIL and Density; ``reward_net`` (class or instance) and
        ``reward_net_parameters`` for GAIL and AIRL.
    """

    def __init__(self, algorithm_class: str | type = "BC", algorithm_parameters: dict[str, Any] | None = None) -> None:
        name, resolved, self._entry = resolve_imitation_algorithm(algorithm_class)
        super().__init__(resolved, algorithm_parameters)
        self.algorithm_class: type = resolved
        self.trainer: ImitationTrainer = make_trainer(name, resolved, self._entry, self.algorithm_parameters)
        #: Units trained so far over all ``train`` calls (what ``total_timesteps`` counts, see above).
        self.num_timesteps = 0

    @property
    def algorithm_name(self) -> str:
        """The algorithm's table name (``"BC"``, ``"GAIL"``, ...)."""
        return self.trainer.name

    # -- training -------------------------------------------------------------------------
    def _wrap_training_environment(self, env: gym.Env) -> gym.Env:
        """Add imitation's ``RolloutInfoWrapper`` (whole episodes in ``info``), which its rollouts need."""
        return env if is_wrapped_with(env, RolloutInfoWrapper) else RolloutInfoWrapper(env)

    def _train(
        self,
        episodes: EpisodeSequence,
        vec_env: VecEnv,
        total_timesteps: int,
        connector: Connector | None,
        progress_bar: bool,
    ) -> None:
        """Train the algorithm's trainer for ``total_timesteps`` units; a second call continues.

        BC only reads the environments' spaces; the other algorithms step them.
        """
        if unwrap_vec_wrapper(vec_env, VecNormalize) is not None:
            raise ValueError(
                "ImitationAgent cannot train on a VecNormalize environment: the demonstrations hold raw "
                "observations. Pass the environment without VecNormalize."
            )
        call = TrainingCall(episodes, StepCountingVecEnv(vec_env), total_timesteps, connector, self, progress_bar)
        self.num_timesteps += self.trainer.train(call)

    # -- acting ---------------------------------------------------------------------------
    def acting_policy(self) -> BasePolicy:
        """Return the SB3 policy of the trained or loaded agent."""
        self._check_ready_to_act()
        assert self.trainer.policy is not None
        return self.trainer.policy

    def _check_ready_to_act(self) -> None:
        if self.trainer.policy is None:
            raise RuntimeError("The agent has no policy yet: call train(...) or load_from_file(...) first.")

    def _onnx_actor(self) -> OnnxActor:
        """The policy's deterministic actions as a torch module (see ``agent/export.py``)."""
        return sb3_actor(self.acting_policy())

    # -- persistence ----------------------------------------------------------------------
    def save_to_file(self, file_path: str | os.PathLike[str]) -> list[Path]:
        """Save the policy and the algorithm's name in one zip, atomically (see ``persistence.py``).

        The policy is saved, and for GAIL/AIRL also the reward network (discriminator), so
        training a reloaded agent continues from both; optimiser states and replay buffers are
        not saved and start afresh.

        :param file_path: destination, conventionally ending in ``.zip``.
        :return: the written file (one: the zip).
        """
        saved = SavedPolicy(self.algorithm_name, self.acting_policy(), self.trainer.saved_reward_net())
        return [write_agent_file(file_path, saved)]

    def load_from_file(
        self,
        file_path: str | os.PathLike[str],
        algorithm_parameters: dict[str, Any] | None = None,
        allow_pickle: bool = False,
    ) -> None:
        """Load a file written by ``save_to_file`` by an agent of the same algorithm, without unpickling.

        Everything is read and checked before the agent changes (a failed load changes nothing).

        :param file_path: the zip file.
        :param algorithm_parameters: merged over the agent's parameters for later ``train`` calls.
        :param allow_pickle: also read files of earlier rl_framework versions, whose policy is a
            pickle (unpickling runs whatever code the file's author put in it). Only for files you trust.
        :raises FileNotFoundError: when there is no file.
        :raises UnsafeContentError: (a ``ValueError``) for a pickled file without ``allow_pickle``.
        :raises ValueError: when the file is corrupt, not an ImitationAgent file, or from another algorithm.
        """
        saved = read_agent_file(file_path, allow_pickle)
        if saved.algorithm != self.algorithm_name:
            raise ValueError(
                f"'{file_path}' holds a {saved.algorithm} agent but this agent is {self.algorithm_name}. Load it "
                f"with ImitationAgent('{saved.algorithm}')."
            )
        parameters = {**self.algorithm_parameters, **(algorithm_parameters or {})}
        trainer = make_trainer(self.algorithm_name, self.algorithm_class, self._entry, parameters)
        trainer.start_from(saved.policy)
        if saved.reward_net is not None:
            trainer.restore_reward_net(saved.reward_net)
        self.algorithm_parameters, self.trainer, self.num_timesteps = parameters, trainer, 0
