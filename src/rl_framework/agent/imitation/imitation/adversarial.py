"""GAIL and AIRL: a discriminator tells expert from learner transitions; an SB3 learner fools it.

The demonstrations are streamed to the discriminator in batches of ``demo_batch_size``
(``EpisodeSequence.transition_batches``), never materialised.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
from imitation.algorithms.adversarial import common as adversarial_common
from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, RewardNet
from imitation.util.networks import RunningNorm
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from rl_framework.agent.imitation.imitation.logger import imitation_logger, learner_callbacks, shown_progress_bars
from rl_framework.agent.imitation.imitation.reward_net_file import SavedRewardNet
from rl_framework.agent.imitation.imitation.supervised import check_enough_transitions
from rl_framework.agent.imitation.imitation.trainer import (
    ImitationTrainer,
    TrainingCall,
    adopt_weights,
    build_learner,
)
from rl_framework.util.checks import constructor_parameters, positive_int


class AdversarialTrainer(ImitationTrainer):
    """GAIL or AIRL. ``total_timesteps`` = generator (learner) environment steps.

    Training alternates rounds: the learner collects ``gen_train_timesteps`` steps (default: one
    rollout, ``n_steps * n_envs`` for PPO) and updates, then the discriminator takes
    ``n_disc_updates_per_round`` steps. The budget is rounded up to whole rounds.

    Defaults: learner ``"PPO"`` (``learner_parameters`` go to its constructor), reward network
    ``BasicRewardNet`` for GAIL and ``BasicShapedRewardNet`` for AIRL (its ``discount_factor``
    follows the learner's ``gamma``) with normalised inputs, ``demo_batch_size=64`` and
    ``allow_variable_horizon=True``: episodes that end early (CartPole) are accepted, although
    their length leaks reward information (see imitation's "variable horizon" guide).
    The learner and the reward network carry over to the next ``train`` call; the
    discriminator's optimiser restarts.
    """

    supplied: ClassVar[frozenset[str]] = ImitationTrainer.supplied | {"gen_algo", "log_dir"}
    own_parameters: ClassVar[frozenset[str]] = frozenset(
        {"seed", "learner", "learner_parameters", "reward_net", "reward_net_parameters"}
    )

    def __init__(self, name: str, algorithm_class: type, parameters: dict[str, Any]) -> None:
        super().__init__(name, algorithm_class, parameters)
        self.learner_name: str | type[BaseAlgorithm] = self.parameters.pop("learner", "PPO")
        self.learner_parameters: dict[str, Any] = dict(self.parameters.pop("learner_parameters", None) or {})
        self.reward_net_spec: RewardNet | type[RewardNet] | None = self.parameters.pop("reward_net", None)
        self.reward_net_parameters: dict[str, Any] = dict(self.parameters.pop("reward_net_parameters", None) or {})
        self.demo_batch_size = positive_int(self.parameters.get("demo_batch_size"), "demo_batch_size")
        self.learner: BaseAlgorithm | None = None
        self.reward_net: RewardNet | None = None
        #: The constructor arguments of a reward net built here (``None`` for one the user built).
        self.reward_net_arguments: dict[str, Any] | None = None
        #: A reward net loaded from an agent file, built into the first ``train`` call's environment.
        self.restored_reward_net: SavedRewardNet | None = None

    @classmethod
    def accepted_parameters(cls, algorithm_class: type) -> frozenset[str]:
        """Imitation's ``AdversarialTrainer`` arguments (GAIL/AIRL pass theirs on) plus learner and reward net."""
        return (constructor_parameters(adversarial_common.AdversarialTrainer) - cls.supplied) | cls.own_parameters

    @property
    def policy(self) -> BasePolicy | None:
        """The learner's policy (the loaded one before training)."""
        return self.learner.policy if self.learner is not None else self.initial_policy

    def train(self, call: TrainingCall) -> int:
        """Alternate generator and discriminator rounds until ``total_timesteps`` learner steps."""
        check_enough_transitions(call.episodes, self.demo_batch_size, "demo_batch_size")
        if self.learner is None:
            self.seed_everything()
            self.learner = build_learner(self.learner_name, self.learner_parameters, call.venv, self.seed)
            adopt_weights(self.learner, self.initial_policy)
            self.reward_net = self._build_reward_net(call.venv.observation_space, call.venv.action_space)
        trainer = self._make_trainer(call)
        callbacks = learner_callbacks(call.connector, call.agent)
        if callbacks:
            # imitation passes gen_callback to the learner's learn(), which takes a list of callbacks too.
            trainer.gen_callback = [*filter(None, [trainer.gen_callback]), *callbacks]  # type: ignore[assignment]
        rounds = math.ceil(call.total_timesteps / trainer.gen_train_timesteps)
        steps_before = call.venv.steps
        with shown_progress_bars(call.progress_bar):
            trainer.train(rounds * trainer.gen_train_timesteps)
        return call.venv.steps - steps_before

    def _make_trainer(self, call: TrainingCall) -> adversarial_common.AdversarialTrainer:
        assert self.learner is not None and self.reward_net is not None
        demonstrations = call.episodes.transition_batches(
            self.demo_batch_size, shuffle=True, seed=self.seed, drop_last=True
        )
        demonstrations.decode_infos = False  # the discriminator reads obs, acts, next_obs and dones only
        trainer: adversarial_common.AdversarialTrainer = self.algorithm_class(
            demonstrations=demonstrations,
            venv=call.venv,
            gen_algo=self.learner,
            reward_net=self.reward_net,
            custom_logger=imitation_logger(call.connector, self.scratch_dir / "logs"),
            log_dir=self.scratch_dir / "logs",
            **self.parameters,
        )
        return trainer

    def saved_reward_net(self) -> SavedRewardNet | None:
        """The reward net as the agent file keeps it (the restored one until training builds it), if any."""
        if self.reward_net is None:
            return self.restored_reward_net
        return SavedRewardNet.of(self.reward_net, self.reward_net_arguments)

    def restore_reward_net(self, saved: SavedRewardNet) -> None:
        """Continue from a saved reward net: the next ``train`` builds it and loads its weights."""
        self.restored_reward_net = saved

    def _build_reward_net(self, observation_space: gym.Space, action_space: gym.Space) -> RewardNet:
        restored = self.restored_reward_net
        if restored is not None and self.reward_net_spec is None:  # rebuild it as saved
            self.reward_net_arguments = restored.parameters
            net: RewardNet = restored.build(observation_space, action_space)
            return net
        net = self._new_reward_net(observation_space, action_space)
        if restored is not None:
            restored.load_into(net)
        return net

    def _new_reward_net(self, observation_space: gym.Space, action_space: gym.Space) -> RewardNet:
        if isinstance(self.reward_net_spec, RewardNet):
            self.reward_net_arguments = None
            return self.reward_net_spec
        net_class = self.reward_net_spec
        defaults: dict[str, Any] = {}
        if net_class is None:
            net_class = BasicShapedRewardNet if self.name == "AIRL" else BasicRewardNet
            defaults["normalize_input_layer"] = RunningNorm
            if net_class is BasicShapedRewardNet and self.learner is not None:
                defaults["discount_factor"] = getattr(self.learner, "gamma", 0.99)
        self.reward_net_arguments = {**defaults, **self.reward_net_parameters}
        try:
            return net_class(observation_space, action_space, **self.reward_net_arguments)
        except TypeError as error:
            raise ValueError(
                f"Could not build the {self.name} reward network {net_class.__name__} from "
                f"reward_net_parameters={self.reward_net_parameters}: {error}."
            ) from error
