"""``ImitationAgent``: the imitation library's algorithms (and our SQIL) behind the agent interface."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rl_framework.agent.il_agent import ILAgent
from rl_framework.agent.imitation.algorithms import make_run, resolve_imitation_algorithm
from rl_framework.agent.imitation.persistence import SavedPolicy, read_agent_file, write_agent_file
from rl_framework.agent.imitation.training import ImitationRun, StepCountingVecEnv, TrainingCall
from rl_framework.agent.policy_acting import SB3PolicyActing
from rl_framework.agent.reinforcement.stable_baselines import check_total_timesteps
from rl_framework.environment.copies import is_wrapped_with, make_env
from rl_framework.environment.vectorize import TrainingEnvironments, make_vec_env, to_factories

if TYPE_CHECKING:
    from rl_framework.agent.imitation.episode_sequence import EpisodeSequence
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
        super().__init__(algorithm_class, algorithm_parameters)
        self.algorithm_name, self.algorithm_class, _ = resolve_imitation_algorithm(algorithm_class)
        self.run: ImitationRun = make_run(self.algorithm_name, self.algorithm_parameters)
        #: Units trained so far over all ``train`` calls (what ``total_timesteps`` counts, see above).
        self.num_timesteps = 0

    # -- training -------------------------------------------------------------------------
    def train(
        self,
        episode_sequence: EpisodeSequence,
        training_environments: TrainingEnvironments,
        total_timesteps: int,
        connector: Connector | None = None,
    ) -> None:
        """Train on ``episode_sequence`` for ``total_timesteps`` units; a second call continues.

        :param episode_sequence: the demonstrations; their spaces must match the environments'.
        :param training_environments: a gymnasium env, env id, env factory, list of envs or
            factories, or an SB3 VecEnv (used as given). Envs get a ``Monitor`` and imitation's
            ``RolloutInfoWrapper``. BC only reads their spaces.
        :param total_timesteps: the budget (> 0); its unit depends on the algorithm (class docstring).
        :param connector: receives metrics (losses, discriminator statistics, episode returns)
            through ``log_value`` and checkpoints every ``checkpoint_frequency`` units.
        """
        check_total_timesteps(total_timesteps)
        vec_env = _training_vec_env(training_environments)
        try:
            if unwrap_vec_wrapper(vec_env, VecNormalize) is not None:
                raise ValueError(
                    "ImitationAgent cannot train on a VecNormalize environment: the demonstrations hold raw "
                    "observations. Pass the environment without VecNormalize."
                )
            episode_sequence.check_compatible(vec_env.observation_space, vec_env.action_space)
            call = TrainingCall(episode_sequence, StepCountingVecEnv(vec_env), total_timesteps, connector, self)
            self.num_timesteps += self.run.train(call)
        finally:
            if vec_env is not training_environments:
                vec_env.close()

    # -- acting ---------------------------------------------------------------------------
    def acting_policy(self) -> BasePolicy:
        """Return the SB3 policy of the trained or loaded agent."""
        self._check_ready_to_act()
        assert self.run.policy is not None
        return self.run.policy

    def _check_ready_to_act(self) -> None:
        if self.run.policy is None:
            raise RuntimeError("The agent has no policy yet: call train(...) or load_from_file(...) first.")

    # -- persistence ----------------------------------------------------------------------
    def save_to_file(self, file_path: str | os.PathLike[str]) -> Path:
        """Save the policy and the algorithm's name in one zip, atomically (see ``persistence.py``).

        Only what acting needs is saved; training state (discriminator, replay buffer, optimiser)
        is not, so training a reloaded agent starts those afresh from the saved policy.

        :param file_path: destination, conventionally ending in ``.zip``.
        :return: the written path.
        """
        path = write_agent_file(file_path, SavedPolicy(self.algorithm_name, self.acting_policy()))
        self.save_normalizer(path)
        return path

    def load_from_file(
        self, file_path: str | os.PathLike[str], algorithm_parameters: dict[str, Any] | None = None
    ) -> None:
        """Load a file written by ``save_to_file`` by an agent of the same algorithm.

        :param file_path: the zip file.
        :param algorithm_parameters: replace the agent's parameters for later ``train`` calls.
        :raises FileNotFoundError: when there is no file.
        :raises ValueError: when the file is corrupt, not an ImitationAgent file, or from another algorithm.
        """
        saved = read_agent_file(file_path)
        if saved.algorithm != self.algorithm_name:
            raise ValueError(
                f"'{file_path}' holds a {saved.algorithm} agent but this agent is {self.algorithm_name}. Load it "
                f"with ImitationAgent('{saved.algorithm}')."
            )
        if algorithm_parameters is not None:
            self.algorithm_parameters = dict(algorithm_parameters)
        self.run = make_run(self.algorithm_name, self.algorithm_parameters)
        self.run.start_from(saved.policy)
        self.num_timesteps = 0
        self.load_normalizer(file_path)


def _with_rollout_info(factory: Callable[[], gym.Env]) -> Callable[[], gym.Env]:
    """Factory that adds imitation's ``RolloutInfoWrapper`` (full episodes in ``info``) if missing."""

    def build() -> gym.Env:
        env, _ = make_env(factory)
        return env if is_wrapped_with(env, RolloutInfoWrapper) else RolloutInfoWrapper(env)

    return build


def _training_vec_env(training_environments: TrainingEnvironments) -> VecEnv:
    if isinstance(training_environments, VecEnv):
        return training_environments
    factories = to_factories(training_environments, n_envs=1)
    return make_vec_env([_with_rollout_info(factory) for factory in factories])
