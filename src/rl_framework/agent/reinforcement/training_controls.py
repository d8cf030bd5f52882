"""Training controls SB3 lacks: gamma schedules, initial action bias, optimiser resets, step metrics.

- ``gamma`` schedule: ``algorithm_parameters={"gamma": "lin_0.9_0.99"}`` (or ``"lin_0.99"``, or a
  function of SB3's ``progress_remaining``, 1 -> 0). SB3 reads a constant ``gamma``, so the model
  starts with the schedule's first value and ``GammaScheduleCallback`` updates ``model.gamma``
  (and the rollout/replay buffer's ``gamma``, which on-policy returns are computed with) at the
  start of every rollout, logging ``train/gamma``.
- ``initial_action_bias``: the bias of the policy's final action layer when the model is built
  (``action_net`` of PPO/A2C/TRPO/ARS, the Q-network's last layer of DQN, its quantile layer of
  QRDQN, the actor's ``mu`` of SAC/TD3/DDPG/TQC/CrossQ; target networks get it too). The values
  are pre-activation: logits for discrete actions, the Gaussian mean for PPO's continuous
  actions, the value before ``tanh`` squashing for SAC/TD3-style actors.
- ``reset_optimizers(model)``: forget the optimisers' running statistics (Adam moments, step
  counts) when fine-tuning a loaded model, keeping their hyperparameters.
- ``StepMetricsCallback``: numbers from the environments' ``info`` dicts and histograms of actions
  and rewards, logged through a connector every ``frequency`` steps.
- ``log_without_an_empty_folder(model)``: SB3's logger minus the empty temporary folder per ``learn``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from rl_framework.util.checks import positive_int

if TYPE_CHECKING:
    from rl_framework.util.connector.base import Connector

#: ``algorithm_parameters`` entries rl_framework handles itself instead of passing them to SB3.
CONTROL_PARAMETERS = frozenset({"initial_action_bias"})
GammaSchedule = Callable[[float], float]
_LINEAR = re.compile(r"^lin_([0-9.eE+-]+)(?:_([0-9.eE+-]+))?$")
#: Final action layers by policy attribute path; the first path of a row that exists picks the row.
_ACTION_LAYERS = (
    ("action_net",),
    ("q_net.q_net", "q_net_target.q_net"),
    ("quantile_net.quantile_net", "quantile_net_target.quantile_net"),
    ("actor.mu", "actor_target.mu"),
)


def gamma_schedule(spec: str | GammaSchedule) -> GammaSchedule:
    """Turn a gamma schedule specification into a function of ``progress_remaining`` (1 at the start, 0 at the end).

    :param spec: ``"lin_<start>"`` (rl-zoo style: ``start * progress_remaining``),
        ``"lin_<start>_<end>"`` (linear from ``start`` to ``end``), or a callable.
    :return: the schedule.
    :raises ValueError: for an unknown string or a schedule that leaves ``[0, 1]`` at its ends.
    """
    if isinstance(spec, str):
        match = _LINEAR.match(spec)
        if match is None:
            raise ValueError(
                f"Unknown gamma schedule {spec!r}: use 'lin_<start>' (start * progress_remaining, as rl-zoo), "
                f"'lin_<start>_<end>' (linear from start to end), a float, or a function of progress_remaining."
            )
        start = float(match.group(1))
        end = float(match.group(2)) if match.group(2) is not None else 0.0
        schedule: GammaSchedule = _Linear(start, end)
    elif callable(spec):
        schedule = spec
    else:
        raise TypeError(f"gamma must be a float, a 'lin_...' string or a callable, got {type(spec).__name__}.")
    for progress in (1.0, 0.0):
        value = schedule(progress)
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(
                f"The gamma schedule {spec!r} gives {value} at progress_remaining={progress}; a discount must lie "
                f"in [0, 1]."
            )
    return schedule


class _Linear:
    """``start`` at progress 1, ``end`` at progress 0 (a class, so it has a readable repr in metadata)."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def __call__(self, progress_remaining: float) -> float:
        return self.end + (self.start - self.end) * progress_remaining

    def __repr__(self) -> str:
        return f"lin_{self.start}_{self.end}"


def is_gamma_schedule(value: Any) -> bool:
    """Whether a ``gamma`` parameter is a schedule (a string or callable) rather than a number."""
    return isinstance(value, str) or callable(value)


def sb3_arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    """The constructor arguments for SB3: controls removed, a gamma schedule replaced by its first value.

    :param parameters: the agent's ``algorithm_parameters``.
    :return: what the SB3 constructor (or ``load``) receives.
    """
    arguments = {name: value for name, value in parameters.items() if name not in CONTROL_PARAMETERS}
    if is_gamma_schedule(arguments.get("gamma")):
        arguments["gamma"] = float(gamma_schedule(arguments["gamma"])(1.0))
    return arguments


def control_callbacks(parameters: dict[str, Any]) -> list[BaseCallback]:
    """The callbacks the controls in ``parameters`` need during ``learn`` (a gamma schedule's)."""
    gamma: Any = parameters.get("gamma")
    return [GammaScheduleCallback(gamma_schedule(gamma))] if is_gamma_schedule(gamma) else []


class GammaScheduleCallback(BaseCallback):
    """Set the discount from a schedule of ``progress_remaining`` at the start of every rollout.

    :param schedule: ``progress_remaining -> gamma``.
    """

    def __init__(self, schedule: GammaSchedule) -> None:
        super().__init__()
        self.schedule = schedule

    def _on_rollout_start(self) -> None:
        gamma = float(self.schedule(self.model._current_progress_remaining))
        self.model.gamma = gamma  # type: ignore[attr-defined]  # every algorithm with a discount has it
        for buffer_name in ("rollout_buffer", "replay_buffer"):
            buffer = getattr(self.model, buffer_name, None)
            if buffer is not None and hasattr(buffer, "gamma"):  # on-policy returns / n-step replay use it
                buffer.gamma = gamma
        self.logger.record("train/gamma", gamma)

    def _on_step(self) -> bool:
        return True


def apply_initial_action_bias(model: BaseAlgorithm, bias: Any) -> None:
    """Set the bias of the final action layer of ``model``'s policy (and of its target network).

    :param model: a freshly built SB3 model.
    :param bias: a number (every output) or one value per action output (``n`` logits for
        ``Discrete(n)``, ``d`` values for a ``d``-dimensional ``Box``); for QRDQN the value per
        action is used for every quantile.
    :raises ValueError: when the algorithm's policy has no known action layer or the values do
        not fit its outputs.
    """
    policy = model.policy
    layers = next((row for row in _ACTION_LAYERS if _module(policy, row[0]) is not None), None)
    if layers is None:
        raise ValueError(
            f"initial_action_bias is not supported for {type(model).__name__}: its policy "
            f"{type(policy).__name__} has none of the known action layers ({', '.join(r[0] for r in _ACTION_LAYERS)}). "
            f"Remove it from algorithm_parameters."
        )
    values = np.asarray(bias, dtype=np.float32).reshape(-1)
    for path in layers:
        module = _module(policy, path)
        if module is None:
            continue
        linear = _last_linear(module)
        outputs = linear.out_features
        if outputs % values.size != 0:
            raise ValueError(
                f"initial_action_bias has {values.size} values but {type(model).__name__}'s action layer "
                f"'{path}' has {outputs} outputs (action space {model.action_space}). Give one number, or one "
                f"value per action output."
            )
        with th.no_grad():
            linear.bias.copy_(th.as_tensor(np.tile(values, outputs // values.size), device=linear.bias.device))


def _module(root: th.nn.Module, path: str) -> th.nn.Module | None:
    current: Any = root
    for part in path.split("."):
        current = getattr(current, part, None)
        if current is None:
            return None
    return current if isinstance(current, th.nn.Module) else None


def _last_linear(module: th.nn.Module) -> th.nn.Linear:
    linears = [layer for layer in module.modules() if isinstance(layer, th.nn.Linear)]
    if not linears or linears[-1].bias is None:
        raise ValueError(f"The action layer {module} has no linear layer with a bias to set.")
    return linears[-1]


def reset_optimizers(model: BaseAlgorithm) -> list[str]:
    """Forget the running state (moments, step counts) of every optimiser of an SB3 model.

    The optimisers keep their parameters and hyperparameters (learning rate, betas); the next
    update behaves like the first update of a fresh optimiser. Use it when fine-tuning a loaded
    model on a new task, where the old Adam moments would skew the first updates.

    :param model: the SB3 model.
    :return: the attribute paths of the optimisers reset (e.g. ``["actor.optimizer", "critic.optimizer"]``).
    """
    reset = []
    for path in model._get_torch_save_params()[0]:
        target: Any = model
        for part in path.split("."):
            target = getattr(target, part, None)
        if isinstance(target, th.optim.Optimizer):
            target.state.clear()
            reset.append(path)
    return reset


class StepMetricsCallback(BaseCallback):
    """Log numbers the environments report in ``info`` and histograms of actions and rewards.

    Every ``frequency`` environment steps (counted over all environments) it logs, through the
    connector, the mean of each ``info_keys`` entry over the steps since the last log
    (``step/<key>``), the mean reward (``step/reward``) and histograms of the actions and
    rewards (``step/actions``, ``step/rewards``, via ``Connector.log_histogram``). Pass it as
    ``train(..., callback=StepMetricsCallback(connector, ...))``.

    :param connector: receives the values and histograms.
    :param frequency: environment steps between two logs (> 0).
    :param info_keys: numeric ``info`` entries to average (steps without the key are skipped).
    """

    def __init__(self, connector: Connector, frequency: int = 1000, info_keys: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.connector = connector
        self.frequency = positive_int(frequency, "frequency")
        self.info_keys = tuple(info_keys)
        self._actions: list[np.ndarray] = []
        self._rewards: list[np.ndarray] = []
        self._info_values: dict[str, list[float]] = {key: [] for key in self.info_keys}
        self._last_log = 0

    def _on_training_start(self) -> None:
        self._last_log = self.num_timesteps

    def _on_step(self) -> bool:
        self._actions.append(np.asarray(self.locals["actions"]).reshape(len(self.locals["rewards"]), -1))
        self._rewards.append(np.asarray(self.locals["rewards"], dtype=np.float64))
        for info in self.locals.get("infos", []):
            for key in self.info_keys:
                if key in info and np.isscalar(info[key]):
                    self._info_values[key].append(float(info[key]))
        if self.num_timesteps - self._last_log >= self.frequency:
            self._log()
        return True

    def _on_training_end(self) -> None:
        if self._rewards:
            self._log()

    def _log(self) -> None:
        step = self.num_timesteps
        rewards = np.concatenate(self._rewards)
        self.connector.log_value("step/reward", float(rewards.mean()), step)
        self.connector.log_histogram("step/rewards", rewards, step)
        self.connector.log_histogram("step/actions", np.concatenate(self._actions).reshape(-1), step)
        for key, values in self._info_values.items():
            if values:
                self.connector.log_value(f"step/{key}", float(np.mean(values)), step)
            values.clear()
        self._actions.clear()
        self._rewards.clear()
        self._last_log = step


def log_without_an_empty_folder(model: BaseAlgorithm) -> None:
    """Give ``model`` the logger SB3 would build, minus the empty ``/tmp/SB3-<time>`` folder it makes per ``learn``.

    Without ``tensorboard_log`` SB3 writes no file, yet its ``configure`` creates a fresh temporary
    folder on every ``learn`` call. Here the same outputs (SB3's table on stdout with ``verbose >= 1``,
    nothing otherwise) go to a logger without a folder. TensorBoard logging, ``$SB3_LOGDIR`` and a
    logger the user set with ``model.set_logger`` keep SB3's own behaviour.
    """
    if model.tensorboard_log is not None or os.environ.get("SB3_LOGDIR") or model._custom_logger:
        return
    from stable_baselines3.common.logger import HumanOutputFormat, Logger

    outputs = [HumanOutputFormat(sys.stdout)] if model.verbose >= 1 else []
    model.set_logger(Logger(folder=None, output_formats=list(outputs)))
