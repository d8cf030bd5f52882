"""Non-finite models are found before they are saved, uploaded or trained on."""

from __future__ import annotations

import pytest
import torch

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.finite import NonFiniteError, agent_networks, check_finite_agent, non_finite_tensors


def test_non_finite_tensors_names_parameters_and_buffers() -> None:
    network = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    assert non_finite_tensors(network) == []
    with torch.no_grad():
        network[0].bias[1] = float("nan")
    network[1].running_var[0] = float("inf")
    assert non_finite_tensors(network) == ["0.bias", "1.running_var"]


def test_check_finite_agent_refuses_unless_forced(cartpole_expert, tiny_ppo_parameters) -> None:
    check_finite_agent(cartpole_expert, "upload")  # a scripted agent has no network to check
    assert agent_networks(StableBaselinesAgent("PPO")) is None  # no model yet
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    check_finite_agent(agent, "save")
    assert agent.model is not None
    with torch.no_grad():
        agent.model.policy.action_net.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"Refusing to save the agent: .*\(action_net.weight\).*pass force=True"):
        check_finite_agent(agent, "save")
    check_finite_agent(agent, "save", force=True)
