"""ONNX export: onnxruntime gives the deterministic actions of choose_action, for every kind of agent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import onnx
import onnxruntime
import pytest
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import MultiInputActorCriticPolicy

from rl_framework.agent import BaseAgent, D3rlpyAgent, ImitationAgent, StableBaselinesAgent
from rl_framework.agent.export import sb3_actor
from rl_framework.data import EpisodeSequence


def observations_of(environment: str, n: int = 100) -> np.ndarray:
    """``n`` observations visited by random play (realistic inputs for comparing policies)."""
    env = gym.make(environment)
    env.action_space.seed(0)
    observation, _ = env.reset(seed=0)
    observations = []
    while len(observations) < n:
        observations.append(observation)
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            observation, _ = env.reset()
    return np.stack(observations).astype(np.float32)


def exported_actions(path: Path, observations: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["action"], {"observation": observations})[0]


def assert_exports_choose_action(agent: BaseAgent, environment: str, path: Path) -> onnx.ModelProto:
    """Export ``agent``; onnxruntime must give its deterministic actions on 100 observations."""
    assert agent.export_onnx(path) == path
    observations = observations_of(environment)
    expected = agent.choose_action(observations, deterministic=True)
    actions = exported_actions(path, observations)
    assert actions.shape == expected.shape
    if np.issubdtype(expected.dtype, np.integer):
        np.testing.assert_array_equal(actions, expected)
    else:
        np.testing.assert_allclose(actions, expected, rtol=1e-5, atol=1e-5)
    return onnx.load(str(path))


def metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def pendulum_controller(observation: np.ndarray) -> np.ndarray:
    return np.clip([-0.5 * observation[2]], -2.0, 2.0).astype(np.float32)


# -- SB3 ------------------------------------------------------------------------------------
def test_a_discrete_sb3_policy_with_its_vecnormalize_statistics_inside(vecnormalize_agent: Any, tmp_path: Path) -> None:
    agent, _ = vecnormalize_agent  # PPO on CartPole, trained on VecNormalize: feed raw observations
    model = assert_exports_choose_action(agent, "CartPole-v1", tmp_path / "normalised.onnx")
    assert metadata(model)["rl_framework.observation_normalization"] == "VecNormalize statistics (frozen)"
    assert metadata(model)["rl_framework.algorithm"] == "PPO"
    assert [node.name for node in model.graph.input] == ["observation"]


@pytest.mark.parametrize(
    ("algorithm", "parameters"),
    [
        ("SAC", {"learning_starts": 0, "batch_size": 16, "seed": 0}),  # squashed: tanh, then unscaled to [-2, 2]
        ("A2C", {"n_steps": 8, "seed": 0}),  # Gaussian mean, clipped to [-2, 2]
    ],
)
def test_continuous_sb3_policies(algorithm: str, parameters: dict[str, Any], tmp_path: Path) -> None:
    agent = StableBaselinesAgent(algorithm, {**parameters, "device": "cpu"})
    agent.train("Pendulum-v1", total_timesteps=16, progress_bar=False)
    assert_exports_choose_action(agent, "Pendulum-v1", tmp_path / f"{algorithm}.onnx")


def test_an_imitation_policy(cartpole_expert: BaseAgent, tmp_path: Path) -> None:
    episodes = EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=1, seed=0)
    agent = ImitationAgent("BC", {"batch_size": 32, "seed": 0})
    agent.train(episodes, "CartPole-v1", total_timesteps=320, progress_bar=False)
    assert_exports_choose_action(agent, "CartPole-v1", tmp_path / "bc.onnx")


# -- d3rlpy ---------------------------------------------------------------------------------
def test_a_discrete_d3rlpy_policy(cartpole_expert: BaseAgent, tmp_path: Path) -> None:
    episodes = EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=1, seed=0)
    agent = D3rlpyAgent("DiscreteCQL", {"batch_size": 32, "learning_rate": 1e-3, "seed": 0})
    agent.train(episodes, "CartPole-v1", total_timesteps=50, progress_bar=False)
    model = assert_exports_choose_action(agent, "CartPole-v1", tmp_path / "cql.onnx")
    assert metadata(model)["rl_framework.agent"] == "D3rlpyAgent"


@pytest.mark.parametrize("name", ["CQL", "BCQ"])
def test_continuous_d3rlpy_policies(name: str, tmp_path: Path) -> None:
    episodes = EpisodeSequence.from_agent(pendulum_controller, "Pendulum-v1", n_episodes=1, seed=0)
    agent = D3rlpyAgent(name, {"batch_size": 32, "n_action_samples": 4, "seed": 0})
    agent.train(episodes, "Pendulum-v1", total_timesteps=10, progress_bar=False)
    assert_exports_choose_action(agent, "Pendulum-v1", tmp_path / f"{name}.onnx")  # action scaler in the graph


# -- what cannot be exported ------------------------------------------------------------------
def test_an_agent_without_a_torch_policy_says_how_to_export(cartpole_expert: BaseAgent, tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match=r"CartPoleExpert cannot be exported to ONNX.*overriding _onnx_actor"):
        cartpole_expert.export_onnx(tmp_path / "expert.onnx")
    assert not (tmp_path / "expert.onnx").exists()


def test_an_untrained_agent_says_to_train_first(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"no model yet: call train"):
        StableBaselinesAgent("PPO").export_onnx(tmp_path / "untrained.onnx")


def test_recurrent_and_dict_policies_are_refused_with_the_reason() -> None:
    box = gym.spaces.Box(-1.0, 1.0, (3,))
    recurrent = RecurrentActorCriticPolicy(box, gym.spaces.Discrete(2), lambda _: 0.0)
    with pytest.raises(NotImplementedError, match="is recurrent: its actions depend on an LSTM state"):
        sb3_actor(recurrent)
    dict_policy = MultiInputActorCriticPolicy(gym.spaces.Dict({"a": box}), gym.spaces.Discrete(2), lambda _: 0.0)
    with pytest.raises(NotImplementedError, match="reads Dict observations. Flatten them"):
        sb3_actor(dict_policy)


def test_missing_exporter_packages_name_the_extra(
    trained_ppo_agent: StableBaselinesAgent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'rl_framework\[onnx\]'"):
        trained_ppo_agent.export_onnx(tmp_path / "policy.onnx")
    assert not (tmp_path / "policy.onnx").exists()
