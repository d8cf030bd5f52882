"""The GAIL/AIRL reward network inside the ImitationAgent file, pickle-free, so training can continue.

Two zip members beside the policy:

- ``reward_net.json``: ``{"class": "module:Name", "parameters": {...} | null}``; the constructor
  arguments besides the spaces, as ``util/serialization.py`` JSON (classes such as
  ``RunningNorm`` by allowlisted name), or ``null`` when the user built the network
  (then ``reward_net=`` must be given again when loading);
- ``reward_net.pt``: its ``state_dict`` (weights and running statistics), read with
  ``torch.load(weights_only=True)``: tensors only, nothing unpickled.

The spaces are not stored: the network is rebuilt for the training environment of the next
``train`` call and the weights are loaded into it (a mismatch is refused with a clear message).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch as th

from rl_framework.util.safe_classes import allow_class, class_reference, resolve_class
from rl_framework.util.serialization import from_json, to_json

HEADER_MEMBER = "reward_net.json"
WEIGHTS_MEMBER = "reward_net.pt"


def _allow_imitation_reward_nets() -> None:
    """Imitation's own reward networks and input normaliser: what rl_framework builds by default."""
    from imitation.rewards import reward_nets
    from imitation.util import networks

    for cls in (
        reward_nets.BasicRewardNet,
        reward_nets.BasicShapedRewardNet,
        reward_nets.BasicPotentialMLP,
        networks.RunningNorm,
        networks.EMANorm,
    ):
        allow_class(cls)


@dataclass(frozen=True)
class SavedRewardNet:
    """A reward network as the agent file keeps it.

    :param class_name: ``"module:QualifiedName"`` of the network's class.
    :param parameters: its constructor arguments besides the spaces, or ``None`` if unknown
        (a network the user built).
    :param state_dict: its tensors.
    """

    class_name: str
    parameters: dict[str, Any] | None
    state_dict: dict[str, th.Tensor]

    @classmethod
    def of(cls, net: th.nn.Module, parameters: dict[str, Any] | None) -> SavedRewardNet:
        """Capture ``net`` (a copy of its tensors on the CPU) and the arguments it was built with."""
        state = {name: tensor.detach().cpu().clone() for name, tensor in net.state_dict().items()}
        return cls(class_reference(type(net)), parameters, state)

    def members(self) -> dict[str, bytes]:
        """The zip members that store it."""
        weights = io.BytesIO()
        th.save(self.state_dict, weights)
        header = {"class": self.class_name, "parameters": None if self.parameters is None else to_json(self.parameters)}
        return {HEADER_MEMBER: json.dumps(header, indent=2).encode(), WEIGHTS_MEMBER: weights.getvalue()}

    @classmethod
    def from_members(cls, header: bytes, weights: bytes, where: str) -> SavedRewardNet:
        """Read the members ``members`` wrote (tensors only, nothing unpickled).

        :raises ValueError: when they are damaged.
        """
        try:
            decoded = json.loads(header)
            state = th.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
            class_name, stored_parameters = str(decoded["class"]), decoded["parameters"]
        except Exception as error:  # json/torch raise many types for damaged data
            raise ValueError(f"The reward network stored in {where} is damaged ({error}).") from error
        if not isinstance(state, dict) or not all(isinstance(value, th.Tensor) for value in state.values()):
            raise ValueError(f"The reward network weights in {where} are not a state dict of tensors.")
        _allow_imitation_reward_nets()
        resolve_class(class_name, f"The reward network class in {where}", base=th.nn.Module)  # refused before use
        parameters = None if stored_parameters is None else from_json(stored_parameters, where)
        if parameters is not None and not isinstance(parameters, dict):
            raise ValueError(f"The reward network arguments in {where} are not a mapping; the file is damaged.")
        return cls(class_name, parameters, state)

    def build(self, observation_space: gym.Space, action_space: gym.Space, where: str = "the agent file") -> Any:
        """Rebuild the network for these spaces and load the weights.

        :raises ValueError: when the stored arguments are unknown (a user-built network) or the
            weights do not fit.
        """
        if self.parameters is None:
            raise ValueError(
                f"The reward network in {where} was built by you ({self.class_name}), so its constructor arguments "
                f"were not stored. Pass the same network again: algorithm_parameters={{'reward_net': ...}}."
            )
        _allow_imitation_reward_nets()
        net_class = resolve_class(self.class_name, f"The reward network class in {where}", base=th.nn.Module)
        net = net_class(observation_space, action_space, **self.parameters)
        self.load_into(net, where)
        return net

    def load_into(self, net: th.nn.Module, where: str = "the agent file") -> None:
        """Load the stored weights into ``net`` (one built from ``reward_net`` parameters given at load).

        :raises ValueError: when they do not fit (another architecture or other spaces).
        """
        try:
            net.load_state_dict(self.state_dict)
        except RuntimeError as error:
            raise ValueError(
                f"The reward network weights in {where} do not fit the network {type(net).__name__} built for "
                f"this environment: {error}. Train in the environment the agent was saved from, with the same "
                f"reward_net settings."
            ) from error
