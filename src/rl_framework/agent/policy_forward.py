"""A cheap deterministic forward pass for small SB3 policies on vector observations.

SB3's ``predict`` spends most of a small network's time around the network: it copies and
checks the observation, builds a torch ``Distribution`` object, records autograd state and
converts back. Evaluating 100 CartPole copies for 500 steps calls it 500 times, and for an
MLP of two 64-unit layers that overhead is several times the matrix products themselves.

``deterministic_forward`` returns a callable that computes exactly what
``policy.predict(observations, deterministic=True)`` returns, with the policy's own modules
and the same torch operations in the same order (so the same floating-point results), but
with autograd off (``torch.inference_mode``), no distribution object, and the observations
copied into one input buffer that is reused every step. It covers the common small policies:
``ActorCriticPolicy`` (PPO, A2C, BC) with discrete or unsquashed Gaussian actions, and DQN's
``DQNPolicy``, on non-image ``Box`` observations. Anything else gets ``None`` and keeps
``predict``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution, DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.dqn.policies import DQNPolicy


class PolicyForward:
    """Deterministic actions of ``policy`` for up to ``max_rows`` observations per call.

    :param policy: an SB3 policy ``deterministic_forward`` accepted.
    :param actions: maps the float32 observation tensor to the action tensor (the policy's modules).
    :param max_rows: the largest batch a call will get (the input buffer's size).
    """

    def __init__(self, policy: BasePolicy, actions: Callable[[torch.Tensor], torch.Tensor], max_rows: int) -> None:
        self.policy = policy
        self._actions = actions
        self._observation_shape = tuple(policy.observation_space.shape or ())
        self._buffer = np.empty((max_rows, *self._observation_shape), dtype=np.float32)
        self._input = torch.from_numpy(self._buffer)  # shares the buffer's memory: no copy per call
        action_space = policy.action_space
        self._bounds = (action_space.low, action_space.high) if isinstance(action_space, spaces.Box) else None
        self._action_shape = tuple(action_space.shape or ())

    def __call__(self, observations: np.ndarray) -> np.ndarray | None:
        """Return the deterministic actions for a stacked batch, or ``None`` for input ``predict`` must judge.

        :param observations: ``(rows, *observation_shape)``, any numeric dtype (cast to float32 as SB3 casts).
        :return: ``(rows, *action_shape)`` actions, as ``predict(..., deterministic=True)`` returns them.
        """
        observations = np.asarray(observations)
        rows = len(observations) if observations.ndim else 0
        if observations.shape[1:] != self._observation_shape or not 0 < rows <= len(self._buffer):
            return None  # a single observation or a wrong shape: predict reshapes or explains
        if not np.issubdtype(observations.dtype, np.number):
            return None
        np.copyto(self._buffer[:rows], observations, casting="unsafe")
        if self.policy.training:  # predict switches to eval mode (dropout, batch norm) on every call
            self.policy.set_training_mode(False)
        with torch.inference_mode():
            actions = self._actions(self._input[:rows]).numpy().reshape((-1, *self._action_shape))
        if self._bounds is not None:
            actions = np.clip(actions, *self._bounds)
        return actions


def deterministic_forward(policy: object, max_rows: int) -> PolicyForward | None:
    """Return a ``PolicyForward`` for ``policy`` if it is one of the covered small policies, else ``None``.

    Covered: exactly ``ActorCriticPolicy`` (not a recurrent or masked subclass, whose ``predict``
    differs) with a categorical or unsquashed diagonal-Gaussian action distribution, and exactly
    ``DQNPolicy``; both on CPU with a non-image ``Box`` observation space.

    :param policy: any object (an SB3 policy, usually).
    :param max_rows: the largest batch the forward will get.
    :return: the forward, or ``None``.
    """
    if not isinstance(policy, BasePolicy) or policy.device.type != "cpu":
        return None
    observation_space = policy.observation_space
    if not isinstance(observation_space, spaces.Box) or is_image_space(observation_space, check_channels=False):
        return None
    if type(policy) is ActorCriticPolicy and not policy.squash_output:
        if isinstance(policy.action_dist, CategoricalDistribution):
            return PolicyForward(policy, _categorical_mode(policy), max_rows)
        if isinstance(policy.action_dist, DiagGaussianDistribution):
            return PolicyForward(policy, _gaussian_mean(policy), max_rows)
        return None
    if type(policy) is DQNPolicy:
        q_network = policy.q_net
        return PolicyForward(policy, lambda observations: q_network(observations).argmax(dim=1).reshape(-1), max_rows)
    return None


def _latent_actions(policy: ActorCriticPolicy) -> Callable[[torch.Tensor], torch.Tensor]:
    """The action network's output, as ``get_distribution`` computes it (Box preprocessing is ``float()``)."""
    extractor, actor, action_net = policy.pi_features_extractor, policy.mlp_extractor.forward_actor, policy.action_net
    return lambda observations: action_net(actor(extractor(observations.float())))


def _categorical_mode(policy: ActorCriticPolicy) -> Callable[[torch.Tensor], torch.Tensor]:
    """The argmax of the probabilities, normalised as ``torch.distributions.Categorical`` normalises logits."""
    outputs = _latent_actions(policy)

    def mode(observations: torch.Tensor) -> torch.Tensor:
        logits = outputs(observations)
        logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        return torch.softmax(logits, dim=-1).argmax(dim=1)

    return mode


def _gaussian_mean(policy: ActorCriticPolicy) -> Callable[[torch.Tensor], torch.Tensor]:
    """The Gaussian's mean: the deterministic action before ``predict`` clips it to the bounds."""
    return _latent_actions(policy)
