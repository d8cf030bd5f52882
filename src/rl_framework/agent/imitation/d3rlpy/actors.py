"""The deterministic policy of a trained d3rlpy algorithm as one torch module.

``D3rlpyAgent.choose_action(..., deterministic=True)`` acts through this module and
``export_onnx`` exports the same module, so the exported graph and the agent agree by
construction. The module maps a float32 observation batch to an action batch: d3rlpy's
observation scaler, the algorithm's greedy action, d3rlpy's action scaler (back to the
environment's range) and, for ``Box`` actions, clipping to the action space.

BCQ (continuous) is the one algorithm whose greedy action is random in d3rlpy: it decodes
``n_action_samples`` candidate actions from fresh latent noise and takes the one the critic values
most. Here the candidates come from ``n_action_samples`` latent codes drawn once (seed 0, clipped
to ``[-0.5, 0.5]`` as d3rlpy clips its noise), so the same observation always gets the same
action, in any batch, in torch and in ONNX alike.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from torch import nn

#: Seed of BCQ's fixed latent codes (a constant, so saved and reloaded agents act the same).
BCQ_LATENT_SEED = 0


class GreedyActor(nn.Module):
    """``observations -> greedy actions`` of a trained d3rlpy algorithm (see the module doc).

    :param algorithm: the d3rlpy algorithm (built: ``algorithm.impl`` exists).
    :param action_space: the environment's action space (``Box`` bounds clip the actions).
    """

    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, algorithm: Any, action_space: gym.Space) -> None:
        super().__init__()
        self._impl = algorithm.impl
        # Registered so that the export sees every weight as a parameter of this module.
        self.networks = nn.ModuleDict(
            {name: module for name, module in vars(self._impl.modules).items() if isinstance(module, nn.Module)}
        )
        self._observation_scaler = algorithm.config.observation_scaler
        self._action_scaler = algorithm.config.action_scaler
        self.clips = isinstance(action_space, gym.spaces.Box)
        if isinstance(action_space, gym.spaces.Box):
            device = self._impl.device
            self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32, device=device))
            self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32, device=device))
        self.eval()

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Return the greedy actions for a float32 batch ``(batch, *observation_shape)``."""
        if self._observation_scaler is not None:
            observations = self._observation_scaler.transform(observations)
        actions = self.select(observations)
        if self._action_scaler is not None:
            actions = self._action_scaler.reverse_transform(actions)
        if self.clips:
            actions = torch.clamp(actions, self.low, self.high)
        return actions

    def select(self, observations: torch.Tensor) -> torch.Tensor:
        """The algorithm's greedy action for scaled observations (in its own action scale)."""
        self._impl.modules.set_eval()
        return self._impl.inner_predict_best_action(observations)


class FixedLatentBCQActor(GreedyActor):
    """Continuous BCQ with fixed latent codes: deterministic, batch-independent (see the module doc)."""

    latents: torch.Tensor

    def __init__(self, algorithm: Any, action_space: gym.Space) -> None:
        super().__init__(algorithm, action_space)
        n_samples = int(algorithm.config.n_action_samples)
        latent_size = 2 * int(self._impl.action_size)  # d3rlpy's BCQ latent size
        generator = torch.Generator().manual_seed(BCQ_LATENT_SEED)
        latents = torch.randn(n_samples, latent_size, generator=generator).clamp(-0.5, 0.5)
        self.register_buffer("latents", latents.to(self._impl.device))

    def select(self, observations: torch.Tensor) -> torch.Tensor:
        """Decode one candidate per latent code, perturb it, and keep the one the first critic values most."""
        modules = self._impl.modules
        modules.set_eval()
        n_samples, action_size = self.latents.shape[0], int(self._impl.action_size)
        repeated = observations.repeat_interleave(n_samples, dim=0)  # (batch * n, *observation_shape)
        latents = self.latents.repeat(observations.shape[0], 1)
        candidates = modules.policy(repeated, modules.vae_decoder(repeated, latents)).squashed_mu
        values = modules.q_funcs[0](repeated, candidates).q_value.view(-1, n_samples)
        best = values.argmax(dim=1).view(-1, 1, 1).expand(-1, 1, action_size)
        return candidates.view(-1, n_samples, action_size).gather(1, best).squeeze(1)


def deterministic_actor(algorithm_name: str, algorithm: Any, action_space: gym.Space) -> GreedyActor:
    """The deterministic actor of a trained algorithm (``FixedLatentBCQActor`` for ``"BCQ"``)."""
    actor_class = FixedLatentBCQActor if algorithm_name == "BCQ" else GreedyActor
    return actor_class(algorithm, action_space)
