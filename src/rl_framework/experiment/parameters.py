"""Turn an experiment file's algorithm parameters (plain YAML values) into the objects SB3 takes.

YAML holds numbers, strings, lists and mappings; SB3 wants schedules (callables), ``torch.nn``
classes and action-noise objects. The zoo writes those as Python code strings (``dict(...)``);
experiment files never run code, so they use these spellings instead:

- ``learning_rate: lin_0.001``: linear decay from 0.001 to 0 over training (the zoo's ``lin_``);
- ``policy_kwargs: {net_arch: [64, 64], activation_fn: ReLU}``: a ``torch.nn`` class by name;
- ``action_noise: {type: normal | ornstein-uhlenbeck, std: 0.1}``: Gaussian or OU noise of that
  standard deviation on every action dimension (the zoo's ``noise_type``/``noise_std``);
- ``train_freq: [1, episode]``: SB3's ``(frequency, unit)`` tuple.
"""

from __future__ import annotations

import copy
from typing import Any

from rl_framework.experiment.config import ExperimentError

NOISE_TYPES = ("normal", "ornstein-uhlenbeck")


class LinearSchedule:
    """``lin_<start>``: ``start`` at the beginning of training, decaying linearly to 0 at its end.

    SB3 calls a schedule with ``progress_remaining``, which goes from 1 to 0 during ``learn``.

    :param start: the value at the start of training.
    """

    def __init__(self, start: float) -> None:
        self.start = float(start)

    def __call__(self, progress_remaining: float) -> float:
        """The value at ``progress_remaining`` (1 = start of training, 0 = end)."""
        return progress_remaining * self.start

    def __repr__(self) -> str:
        return f"lin_{self.start:g}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinearSchedule) and other.start == self.start

    def __hash__(self) -> int:
        return hash(("lin", self.start))


def parse_schedule(name: str, value: Any) -> Any:
    """``LinearSchedule`` for a ``"lin_<number>"`` string, anything else unchanged.

    :raises ExperimentError: for ``lin_`` followed by something that is not a number.
    """
    if not (isinstance(value, str) and value.startswith("lin_")):
        return value
    try:
        return LinearSchedule(float(value[len("lin_") :]))
    except ValueError:
        raise ExperimentError(
            f"algorithm_parameters.{name}: {value!r} is not a schedule; write lin_<start>, e.g. lin_0.001."
        ) from None


def resolve_parameters(parameters: dict[str, Any], action_space: Any = None) -> dict[str, Any]:
    """The constructor arguments for SB3 from an experiment file's ``algorithm_parameters``.

    :param parameters: the file's values (left unchanged).
    :param action_space: the environment's action space, needed for ``action_noise``.
    :return: a new dict with schedules, activation classes, action noise and ``train_freq`` built.
    :raises ExperimentError: naming the parameter whose value cannot be built.
    """
    resolved = {name: parse_schedule(name, value) for name, value in copy.deepcopy(parameters).items()}
    if isinstance(resolved.get("policy_kwargs"), dict):
        resolved["policy_kwargs"] = _policy_kwargs(resolved["policy_kwargs"])
    if isinstance(resolved.get("action_noise"), dict):
        resolved["action_noise"] = action_noise(resolved["action_noise"], action_space)
    train_freq = resolved.get("train_freq")
    if isinstance(train_freq, list) and len(train_freq) == 2 and isinstance(train_freq[1], str):
        resolved["train_freq"] = (train_freq[0], train_freq[1])
    return resolved


def _policy_kwargs(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        import torch

        name = activation.removeprefix("torch.").removeprefix("nn.")
        candidate = getattr(torch.nn, name, None)
        if not (isinstance(candidate, type) and issubclass(candidate, torch.nn.Module)):
            raise ExperimentError(
                f"algorithm_parameters.policy_kwargs.activation_fn: {activation!r} is not a torch.nn module; "
                f"use a name such as ReLU, Tanh, ELU or LeakyReLU."
            )
        policy_kwargs = {**policy_kwargs, "activation_fn": candidate}
    return policy_kwargs


def action_noise(settings: dict[str, Any], action_space: Any) -> Any:
    """SB3 action noise from ``{type: normal | ornstein-uhlenbeck, std: <float>}`` for a ``Box`` action space.

    :raises ExperimentError: for an unknown type or key, a bad ``std`` or a non-``Box`` action space.
    """
    import numpy as np
    from gymnasium import spaces
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    unknown = sorted(set(settings) - {"type", "std"})
    noise_type, std = settings.get("type"), settings.get("std")
    if unknown or noise_type not in NOISE_TYPES:
        raise ExperimentError(
            f"algorithm_parameters.action_noise takes type ({', '.join(NOISE_TYPES)}) and std, got {settings!r}."
        )
    if isinstance(std, bool) or not isinstance(std, (int, float)) or std <= 0:
        raise ExperimentError(f"algorithm_parameters.action_noise.std must be a number > 0, got {std!r}.")
    if not isinstance(action_space, spaces.Box):
        raise ExperimentError(
            f"algorithm_parameters.action_noise needs a continuous (Box) action space, the environment has "
            f"{action_space}. Remove action_noise for this environment."
        )
    dimensions = int(np.prod(action_space.shape))
    mean, sigma = np.zeros(dimensions), float(std) * np.ones(dimensions)
    if noise_type == "normal":
        return NormalActionNoise(mean=mean, sigma=sigma)
    return OrnsteinUhlenbeckActionNoise(mean=mean, sigma=sigma)
