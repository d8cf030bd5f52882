"""ONNX export of an agent's deterministic policy: ``agent.export_onnx("policy.onnx")``.

Every agent that can export implements one hook, ``_onnx_actor()``, returning an ``OnnxActor``: a
torch module that maps a float32 observation batch ``(batch, *observation_shape)`` to the actions
``choose_action(..., deterministic=True)`` takes. The graph has one input, ``observation``, with a
dynamic batch axis, and one output, ``action`` (int64 indices for discrete actions, float32 for
``Box`` actions, already scaled and clipped to the action space).

- SB3 policies (``StableBaselinesAgent``, ``ImitationAgent``): the policy's own deterministic
  ``_predict`` (features -> actor -> action net -> argmax / distribution mode), followed by what
  SB3's ``predict`` does to ``Box`` actions (unscaling squashed actions, clipping the others).
  A ``StableBaselinesAgent`` trained with ``VecNormalize`` has its frozen observation statistics
  in the graph: feed raw observations.
- d3rlpy policies: see ``agent/imitation/d3rlpy/actors.py`` (scalers included in the graph).

The export uses torch's default (dynamo) exporter, which needs ``onnxscript``. SB3 builds
``torch.distributions`` objects while acting, and their argument checks cannot be traced, so the
checks are switched off for the duration of the export (and restored after). The written file is
checked with ``onnx.checker`` and, with ``onnxruntime``, against the torch module on a sample batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rl_framework.util.files import atomic_write_bytes

if TYPE_CHECKING:
    from stable_baselines3.common.policies import BasePolicy
    from stable_baselines3.common.vec_env import VecNormalize

INPUT_NAME = "observation"
OUTPUT_NAME = "action"
ONNX_EXTRA_HINT = "pip install 'rl_framework[onnx]'"


@dataclass(frozen=True)
class OnnxActor:
    """A deterministic policy as a torch module, ready for export.

    :param module: maps a float32 tensor ``(batch, *observation_shape)`` to the action batch.
    :param observation_shape: the shape of one observation.
    :param normalization: what the graph does to raw observations before the policy sees them
        (stored in the ONNX file's metadata), e.g. ``"VecNormalize statistics (frozen)"`` or ``"none"``.
    """

    module: nn.Module
    observation_shape: tuple[int, ...]
    normalization: str = "none"


class SB3DeterministicActor(nn.Module):
    """``observations -> deterministic actions`` of an SB3 policy, optionally behind frozen ``VecNormalize`` statistics.

    :param policy: a non-recurrent SB3 policy.
    :param statistics: the ``VecNormalize`` whose observation statistics the agent acts with, or ``None``.
    """

    mean: torch.Tensor
    scale: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, policy: BasePolicy, statistics: VecNormalize | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.normalizes = statistics is not None and bool(statistics.norm_obs)
        device = policy.device
        if statistics is not None and self.normalizes:
            rms: Any = statistics.obs_rms
            scale = np.sqrt(rms.var + statistics.epsilon)
            self.register_buffer("mean", torch.as_tensor(rms.mean, dtype=torch.float32, device=device))
            self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32, device=device))
            self.clip_obs = float(statistics.clip_obs)
        action_space = policy.action_space
        self.action_shape = tuple(action_space.shape or ())
        self.box = isinstance(action_space, gym.spaces.Box)
        self.squash = bool(policy.squash_output)
        if isinstance(action_space, gym.spaces.Box):
            self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32, device=device))
            self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32, device=device))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Return deterministic actions for a float32 batch of raw observations."""
        if self.normalizes:  # VecNormalize.normalize_obs: clip((obs - mean) / sqrt(var + epsilon))
            observations = torch.clamp((observations - self.mean) / self.scale, -self.clip_obs, self.clip_obs)
        actions = self.policy._predict(observations, deterministic=True).reshape((-1, *self.action_shape))
        if self.box:  # as BasePolicy.predict post-processes Box actions
            if self.squash:
                return self.low + 0.5 * (actions + 1.0) * (self.high - self.low)
            return torch.clamp(actions, self.low, self.high)
        return actions


def sb3_actor(policy: BasePolicy, statistics: VecNormalize | None = None) -> OnnxActor:
    """The ``OnnxActor`` of an SB3 policy (what ``StableBaselinesAgent`` and ``ImitationAgent`` export).

    :param policy: the agent's SB3 policy.
    :param statistics: frozen ``VecNormalize`` statistics to put in front of the policy, or ``None``.
    :return: the actor.
    :raises NotImplementedError: for recurrent policies and dict observations, with the reason.
    """
    if hasattr(policy, "lstm_actor"):
        raise NotImplementedError(
            f"{type(policy).__name__} is recurrent: its actions depend on an LSTM state carried between steps, "
            f"which a stateless ONNX graph of observation -> action cannot hold. Export a non-recurrent policy."
        )
    if isinstance(policy.observation_space, gym.spaces.Dict):
        raise NotImplementedError(
            "ONNX export takes one observation tensor; this policy reads Dict observations. Flatten them "
            "(gymnasium.wrappers.FlattenObservation) and train on the flat observations to export."
        )
    policy.set_training_mode(False)
    normalization = "VecNormalize statistics (frozen)" if statistics is not None and statistics.norm_obs else "none"
    shape = tuple(policy.observation_space.shape or ())
    return OnnxActor(SB3DeterministicActor(policy, statistics), shape, normalization)


def export_onnx(agent: Any, file_path: str | os.PathLike[str]) -> Path:
    """Export ``agent``'s deterministic policy to an ONNX file, atomically.

    :param agent: an agent implementing ``_onnx_actor()``.
    :param file_path: destination, conventionally ending in ``.onnx``.
    :return: the written path.
    :raises NotImplementedError: when the agent's policy cannot be exported (the message says why).
    :raises ImportError: when ``onnx``/``onnxscript`` are missing, naming the extra.
    """
    actor = agent._onnx_actor()
    onnx = _import_onnx()
    module = actor.module.eval()
    parameter = next(iter(module.parameters()), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    # A batch of 2: torch.export specialises a dimension of size 1 to a constant.
    example = torch.zeros((2, *actor.observation_shape), dtype=torch.float32, device=device)
    with _export_settings(), torch.no_grad():
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
    assert program is not None
    model = program.model_proto
    onnx.helper.set_model_props(
        model,
        {
            "rl_framework.agent": type(agent).__name__,
            "rl_framework.algorithm": str(agent.algorithm_name),
            "rl_framework.observation_shape": str(list(actor.observation_shape)),
            "rl_framework.observation_normalization": actor.normalization,
        },
    )
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    _check_against_torch(data, module, actor.observation_shape, device)
    return atomic_write_bytes(file_path, data)


def _import_onnx() -> Any:
    """Import ``onnx`` (and check for ``onnxscript``, which the dynamo exporter needs)."""
    try:
        import onnx
        import onnxscript  # noqa: F401  # imported by torch.onnx.export; checked here for a clear message
    except ImportError as error:
        raise ImportError(f"ONNX export needs the packages 'onnx' and 'onnxscript': {ONNX_EXTRA_HINT}.") from error
    return onnx


@contextlib.contextmanager
def _export_settings() -> Iterator[None]:
    """Switch off what breaks or clutters the export, and restore it afterwards.

    - ``torch.distributions`` argument checks (data-dependent ``if``s the exporter cannot trace);
    - the exporter's log lines about optional operator sets (e.g. torchvision not installed) and
      its deprecation warnings, which concern torch's internals, not the exported graph.
    """
    validate_args = torch.distributions.Distribution._validate_args
    exporter_logger = logging.getLogger("torch.onnx")
    level = exporter_logger.level
    torch.distributions.Distribution.set_default_validate_args(False)
    exporter_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(validate_args)
        exporter_logger.setLevel(level)


def _check_against_torch(data: bytes, module: nn.Module, observation_shape: tuple[int, ...], device: Any) -> None:
    """Run the exported graph with onnxruntime (if installed) and compare it with the torch module.

    :raises RuntimeError: when the two disagree (an exporter bug: nothing is written then).
    """
    try:
        import onnxruntime
    except ImportError:
        return
    observations = np.random.default_rng(0).standard_normal((8, *observation_shape)).astype(np.float32)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    exported = session.run([OUTPUT_NAME], {INPUT_NAME: observations})[0]
    with torch.no_grad():
        expected = module(torch.as_tensor(observations, device=device)).cpu().numpy()
    if exported.shape != expected.shape or not np.allclose(exported, expected, rtol=1e-4, atol=1e-5):
        raise RuntimeError(
            "The exported ONNX graph computes different actions than the torch policy on a sample batch; the file "
            "was not written. Please report this with the agent's algorithm and spaces."
        )
