"""Behavioural cloning and DAgger: supervised learning of the expert's actions.

BC streams the demonstrations in batches (``EpisodeSequence.transition_batches``) and never
touches the environment. DAgger adds rounds in the environment in which an expert labels the
states the learner visits; imitation's DAgger keeps every round's episodes on disk and in memory,
so it materialises the demonstrations.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import torch as th
from imitation.algorithms.bc import BC
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import CombinedExtractor, FlattenExtractor

from rl_framework.agent.imitation.imitation.expert import as_expert_policy, check_expert
from rl_framework.agent.imitation.imitation.logger import imitation_logger, shown_progress_bars
from rl_framework.agent.imitation.imitation.trainer import ImitationTrainer, TrainingCall
from rl_framework.agent.imitation.imitation.validation import BCValidation
from rl_framework.util.checks import constructor_parameters, positive_int

if TYPE_CHECKING:
    from imitation.util.logger import HierarchicalLogger

    from rl_framework.data.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector


def _unused_learning_rate(progress_remaining: float) -> float:
    """BC optimises with its own optimiser; the policy's own one must never step."""
    del progress_remaining
    return 0.0


def default_bc_policy(
    observation_space: gym.Space, action_space: gym.Space, policy_kwargs: dict[str, Any] | None = None
) -> ActorCriticPolicy:
    """The default BC network of imitation (two hidden layers of 32 units) as a plain SB3 policy.

    imitation's ``FeedForward32Policy`` cannot be re-created by SB3's ``BasePolicy.load`` (it
    passes ``net_arch`` twice), so the same network is built from ``ActorCriticPolicy``.

    :param policy_kwargs: ``ActorCriticPolicy`` arguments over the defaults, as SB3's
        ``policy_kwargs`` (e.g. ``features_extractor_class`` for a custom feature extractor).
    """
    extractor = CombinedExtractor if isinstance(observation_space, gym.spaces.Dict) else FlattenExtractor
    arguments = {"net_arch": [32, 32], "features_extractor_class": extractor, **(policy_kwargs or {})}
    return ActorCriticPolicy(observation_space, action_space, lr_schedule=_unused_learning_rate, **arguments)


def check_enough_transitions(episodes: EpisodeSequence, batch_size: int, parameter: str) -> None:
    """Raise ``ValueError`` when the demonstrations cannot fill a single batch."""
    if episodes.n_transitions < batch_size:
        raise ValueError(
            f"The episode sequence has {episodes.n_transitions} transitions, fewer than {parameter}="
            f"{batch_size}: record more episodes or pass a smaller {parameter} in algorithm_parameters."
        )


class BCTrainer(ImitationTrainer):
    """Behavioural cloning. ``total_timesteps`` = demonstration samples consumed.

    The budget is rounded up to whole batches: ``ceil(total_timesteps / batch_size)`` optimiser
    steps of ``batch_size`` samples each. The optimiser state carries over to the next ``train``.
    ``policy_kwargs`` customise the default policy (as SB3's: e.g. a ``features_extractor_class``);
    ``validation_episodes`` are held-out episodes whose BC loss is logged (``validation.py``).
    """

    own_parameters: ClassVar[frozenset[str]] = frozenset({"seed", "policy_kwargs", "validation_episodes"})

    def __init__(self, name: str, algorithm_class: type, parameters: dict[str, Any]) -> None:
        super().__init__(name, algorithm_class, parameters)
        self.policy_kwargs: dict[str, Any] = dict(self.parameters.get("policy_kwargs") or {})
        held_out = self.parameters.get("validation_episodes")
        self.validation = BCValidation(held_out) if held_out is not None else None
        self.bc_parameters = {key: value for key, value in self.parameters.items() if key in _BC_PARAMETERS}
        self.batch_size = positive_int(self.bc_parameters.get("batch_size", 32), "batch_size")
        self._policy: BasePolicy | None = self.bc_parameters.pop("policy", None)
        self._optimizer: th.optim.Optimizer | None = None

    @classmethod
    def accepted_parameters(cls, algorithm_class: type) -> frozenset[str]:
        """BC's constructor arguments except the ones the run supplies, plus ``seed``."""
        return (_BC_PARAMETERS - cls.supplied) | cls.own_parameters

    @property
    def policy(self) -> BasePolicy | None:
        """The cloned policy (the loaded or given one before training)."""
        return self._policy

    def start_from(self, policy: BasePolicy) -> None:
        """Continue cloning into ``policy`` (with a fresh optimiser)."""
        self._policy = policy
        self._optimizer = None

    def make_bc(self, observation_space: gym.Space, action_space: gym.Space, logger: HierarchicalLogger) -> BC:
        """A BC trainer around the run's lasting policy and optimiser."""
        if self._policy is None:
            self.seed_everything()
            self._policy = default_bc_policy(observation_space, action_space, self.policy_kwargs)
        if not isinstance(self._policy, ActorCriticPolicy):
            raise ValueError(
                f"{self.name} trains an SB3 ActorCriticPolicy, but the agent's policy is "
                f"{type(self._policy).__name__}. Load a file saved by a {self.name} agent, or pass an "
                f"ActorCriticPolicy as algorithm_parameters['policy']."
            )
        bc = BC(
            observation_space=observation_space,
            action_space=action_space,
            rng=self.rng,
            policy=self._policy,
            custom_logger=logger,
            **self.bc_parameters,
        )
        if self._optimizer is None:
            self._optimizer = bc.optimizer
        bc.optimizer = self._optimizer
        return bc

    def train(self, call: TrainingCall) -> int:
        """Clone the demonstrations for ``ceil(total_timesteps / batch_size)`` batches."""
        bc = self.make_bc(call.venv.observation_space, call.venv.action_space, _logger(self, call.connector))
        check_enough_transitions(call.episodes, bc.minibatch_size, "batch_size")
        batches = call.episodes.transition_batches(bc.minibatch_size, shuffle=True, seed=self.seed, drop_last=True)
        batches.decode_infos = False  # BC reads observations and actions only: decoding infos would slow every batch
        bc.set_demonstrations(batches)  # type: ignore[arg-type]  # re-iterable TransitionMapping batches
        counter = _BatchCounter(call, self.batch_size)
        n_batches = math.ceil(call.total_timesteps / self.batch_size)
        validate = self._validator(bc, call, lambda: counter.samples)
        bc.train(n_batches=n_batches, on_batch_end=counter, on_epoch_end=validate, progress_bar=call.progress_bar)
        validate()
        return counter.samples

    def _validator(self, bc: BC, call: TrainingCall, samples: Callable[[], int]) -> Callable[[], None]:
        """A hook that measures the validation loss (a no-op without ``validation_episodes``)."""
        validation = self.validation
        if validation is None:
            return lambda: None
        validation.episodes.check_compatible(call.venv.observation_space, call.venv.action_space)

        def validate() -> None:
            validation.measure(bc, samples(), call.connector)

        return validate


class DAggerTrainer(BCTrainer):
    """DAgger with a synthetic expert. ``total_timesteps`` = environment steps collected.

    Rounds run until at least ``total_timesteps`` steps were collected; a round ends after
    ``rollout_round_min_episodes`` whole episodes (default 1) and ``rollout_round_min_timesteps``
    steps (default ``min(500, total_timesteps)``), so the count rounds up to whole episodes. After
    each round BC trains 4 epochs on everything collected so far. A second ``train`` call continues
    from the current policy; its aggregated dataset restarts from the given demonstrations.
    """

    own_parameters: ClassVar[frozenset[str]] = BCTrainer.own_parameters | {
        "expert",
        "rollout_round_min_episodes",
        "rollout_round_min_timesteps",
    }

    def __init__(self, name: str, algorithm_class: type, parameters: dict[str, Any]) -> None:
        super().__init__(name, algorithm_class, parameters)
        self.expert = self.parameters.get("expert")
        if self.expert is not None:
            check_expert(self.expert, name)
        self.min_episodes = positive_int(
            self.parameters.get("rollout_round_min_episodes", 1), "rollout_round_min_episodes"
        )
        self.min_timesteps: int | None = self.parameters.get("rollout_round_min_timesteps")
        self.beta_schedule = self.parameters.get("beta_schedule")

    @classmethod
    def accepted_parameters(cls, algorithm_class: type) -> frozenset[str]:
        """BC's parameters, DAgger's ``beta_schedule``, ``expert`` and the round sizes."""
        from imitation.algorithms import dagger  # with HuggingFace datasets: only DAgger pays for it

        trainer = constructor_parameters(dagger.DAggerTrainer) - {"scratch_dir", "bc_trainer"}
        return (_BC_PARAMETERS | trainer) - cls.supplied | cls.own_parameters

    def train(self, call: TrainingCall) -> int:
        """Run DAgger rounds until ``total_timesteps`` environment steps were collected."""
        from imitation.algorithms import dagger

        expert = check_expert(self.expert, self.name)
        logger = _logger(self, call.connector)
        bc = self.make_bc(call.venv.observation_space, call.venv.action_space, logger)
        check_enough_transitions(call.episodes, bc.minibatch_size, "batch_size")
        call_dir = self.scratch_dir / f"call-{len(list(self.scratch_dir.glob('call-*')))}"
        steps_before = call.venv.steps
        validate = self._validator(bc, call, lambda: call.venv.steps - steps_before)
        with quiet_dataset_saving(), shown_progress_bars(call.progress_bar):  # DAgger saves episodes with datasets
            trainer = dagger.SimpleDAggerTrainer(
                venv=call.venv,
                scratch_dir=call_dir,
                expert_policy=as_expert_policy(expert, call.venv.observation_space, call.venv.action_space),
                rng=self.rng,
                expert_trajs=list(call.episodes),
                bc_trainer=bc,
                custom_logger=logger,
                beta_schedule=self.beta_schedule,
            )
            trainer.train(
                call.total_timesteps,
                rollout_round_min_episodes=self.min_episodes,
                rollout_round_min_timesteps=self.min_timesteps or min(500, call.total_timesteps),
                bc_train_kwargs={
                    "log_rollouts_venv": None,
                    "progress_bar": call.progress_bar,
                    "on_epoch_end": validate,
                },
            )
        validate()
        return call.venv.steps - steps_before


@contextlib.contextmanager
def quiet_dataset_saving() -> Iterator[None]:
    """Hide HuggingFace datasets' progress bars (one per saved episode) and restore the setting after."""
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()


_BC_PARAMETERS = constructor_parameters(BC)


def _logger(trainer: ImitationTrainer, connector: Connector | None) -> HierarchicalLogger:
    return imitation_logger(connector, trainer.scratch_dir / "logs")


class _BatchCounter:
    """``on_batch_end`` hook: counts the samples BC consumed and checkpoints through the connector."""

    def __init__(self, call: TrainingCall, batch_size: int) -> None:
        self.call = call
        self.batch_size = batch_size
        self.samples = 0
        self._last_checkpoint = 0

    def __call__(self) -> None:
        self.samples += self.batch_size
        connector = self.call.connector
        if connector is None or connector.checkpoint_frequency <= 0:
            return
        if self.samples - self._last_checkpoint >= connector.checkpoint_frequency:
            self._last_checkpoint = self.samples
            connector.save_checkpoint(self.call.agent, self.samples)
