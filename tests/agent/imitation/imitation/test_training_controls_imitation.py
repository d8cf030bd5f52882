"""ImitationAgent training controls: BC validation episodes, custom BC feature extractors, GAIL/AIRL reward
networks kept in the agent file so that training continues."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from imitation.rewards.reward_nets import BasicRewardNet
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from rl_framework.agent import ImitationAgent
from rl_framework.data import EpisodeSequence
from rl_framework.util.connector.base import Connector
from rl_framework.util.safe_classes import UnsafeContentError, allow_class

TINY_LEARNER = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "device": "cpu"}
OBSERVATIONS = np.random.default_rng(3).uniform(-0.2, 0.2, size=(16, 4)).astype(np.float32)


class RecordingConnector(Connector):
    """Keeps logged values in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, float, int]] = []

    def log_value(self, name: str, value: float, timestep: int) -> None:
        self.values.append((name, value, timestep))

    def save_checkpoint(self, agent: Any, timestep: int) -> None:
        raise AssertionError("no checkpoints are configured in these tests")

    def upload(self, agent: Any, evaluation_environment: Any = None, video_recording_environment: Any = None) -> str:
        raise AssertionError("these tests never upload")

    def download(self) -> Path:
        raise AssertionError("these tests never download")


class AngleFeatures(BaseFeaturesExtractor):
    """A custom extractor: the pole's angle and angular velocity, scaled."""

    def __init__(self, observation_space: gym.spaces.Box, scale: float = 3.0) -> None:
        super().__init__(observation_space, features_dim=2)
        self.scale = scale

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return observations[:, 2:] * self.scale


def reward_net_of(agent: ImitationAgent) -> th.nn.Module:
    reward_net = agent.trainer.reward_net  # type: ignore[attr-defined]
    assert reward_net is not None
    return reward_net


# -- BC validation ---------------------------------------------------------------------------------
def test_bc_logs_the_validation_loss_each_pass_and_it_falls(few_expert_episodes: EpisodeSequence) -> None:
    expert = lambda observation: int(3 * observation[2] + observation[3] > 0)  # noqa: E731 - the fixtures' expert
    held_out = EpisodeSequence.from_agent(expert, "CartPole-v1", n_episodes=1, seed=50)
    connector = RecordingConnector()
    agent = ImitationAgent("BC", {"batch_size": 50, "seed": 0, "validation_episodes": held_out})
    # 1000 demonstration transitions = 20 batches per pass: 2100 samples make two passes and two batches
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=2100, connector=connector, progress_bar=False)
    losses = [(step, value) for name, value, step in connector.values if name == "bc/validation_loss"]
    history = agent.trainer.validation.history  # type: ignore[attr-defined]
    assert len(losses) == len(history) == 3  # after each of the two passes and at the end of the call
    assert [step for step, _ in losses] == [1000, 2000, 2100]  # samples cloned so far
    assert losses[-1][1] < losses[0][1]
    assert history[-1][1]["prob_true_act"] > history[0][1]["prob_true_act"]  # held-out expert actions: more likely
    assert {name for name, _, _ in connector.values if name.startswith("bc/validation_")} == {
        "bc/validation_loss",
        "bc/validation_neglogp",
        "bc/validation_prob_true_act",
    }


def test_validation_episodes_from_another_environment_are_refused(few_expert_episodes: EpisodeSequence) -> None:
    pendulum = EpisodeSequence.from_agent(lambda observation: np.zeros(1, np.float32), "Pendulum-v1", n_episodes=1)
    agent = ImitationAgent("BC", {"batch_size": 32, "validation_episodes": pendulum})
    with pytest.raises(ValueError, match=r"observations have shape \(3,\)"):
        agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32, progress_bar=False)
    with pytest.raises(ValueError, match="validation_episodes holds no transitions"):
        ImitationAgent("BC", {"validation_episodes": few_expert_episodes[0:0]})


# -- custom feature extractors for BC -------------------------------------------------------------------
def test_bc_policy_kwargs_take_a_custom_extractor_that_saves_and_loads(
    few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    policy_kwargs = {"features_extractor_class": AngleFeatures, "net_arch": [8]}
    agent = ImitationAgent("BC", {"batch_size": 32, "seed": 0, "policy_kwargs": policy_kwargs})
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=320, progress_bar=False)
    policy = agent.acting_policy()
    assert isinstance(policy.features_extractor, AngleFeatures) and policy.mlp_extractor.policy_net[0].in_features == 2
    agent.save_to_file(tmp_path / "bc.zip")
    with pytest.raises(UnsafeContentError, match="allow_class"):  # a file cannot make us import any class
        ImitationAgent("BC").load_from_file(tmp_path / "bc.zip")
    allow_class(AngleFeatures)
    loaded = ImitationAgent("BC")
    loaded.load_from_file(tmp_path / "bc.zip")
    assert isinstance(loaded.acting_policy().features_extractor, AngleFeatures)
    np.testing.assert_array_equal(loaded.choose_actions(OBSERVATIONS, True), agent.choose_actions(OBSERVATIONS, True))


# -- GAIL / AIRL reward networks in the agent file -------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["GAIL", "AIRL"])
def test_the_reward_net_is_saved_and_training_continues_from_it(
    algorithm: str, few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    parameters = {"learner_parameters": dict(TINY_LEARNER), "demo_batch_size": 32, "seed": 0}
    agent = ImitationAgent(algorithm, parameters)
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32, progress_bar=False)
    trained = {name: tensor.clone() for name, tensor in reward_net_of(agent).state_dict().items()}
    agent.save_to_file(tmp_path / "agent.zip")
    with zipfile.ZipFile(tmp_path / "agent.zip") as zipped:
        header = json.loads(zipped.read("reward_net.json"))
    expected = "BasicShapedRewardNet" if algorithm == "AIRL" else "BasicRewardNet"
    assert header["class"] == f"imitation.rewards.reward_nets:{expected}"
    assert header["parameters"]["normalize_input_layer"] == {
        "$type": "class",
        "name": "imitation.util.networks:RunningNorm",
    }

    loaded = ImitationAgent(algorithm, parameters)
    loaded.load_from_file(tmp_path / "agent.zip")
    loaded.save_to_file(tmp_path / "again.zip")  # not trained yet: the restored net is kept as it is
    loaded.train(few_expert_episodes, "CartPole-v1", total_timesteps=32, progress_bar=False)
    continued = reward_net_of(loaded).state_dict()
    assert type(reward_net_of(loaded)).__name__ == expected
    # the running input statistics continue from the saved ones: one more round of samples on top
    fresh = ImitationAgent(algorithm, parameters)
    fresh.train(few_expert_episodes, "CartPole-v1", total_timesteps=32, progress_bar=False)
    counts = [name for name in trained if name.endswith("normalize_input.count")]
    assert counts and all(continued[name] > reward_net_of(fresh).state_dict()[name] for name in counts)
    with zipfile.ZipFile(tmp_path / "again.zip") as zipped:
        again = th.load(zipped.open("reward_net.pt"), weights_only=True)
    assert all(th.equal(again[name], trained[name]) for name in trained)


def test_a_user_built_reward_net_is_loaded_into_the_one_given_again(
    few_expert_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    env = gym.make("CartPole-v1")
    own = BasicRewardNet(env.observation_space, env.action_space, hid_sizes=(16,))
    parameters = {"learner_parameters": dict(TINY_LEARNER), "demo_batch_size": 32, "seed": 0, "reward_net": own}
    agent = ImitationAgent("GAIL", parameters)
    agent.train(few_expert_episodes, env, total_timesteps=32, progress_bar=False)
    agent.save_to_file(tmp_path / "agent.zip")
    without = ImitationAgent("GAIL", {**parameters, "reward_net": None})
    without.load_from_file(tmp_path / "agent.zip")
    with pytest.raises(ValueError, match=r"built by you .*Pass the same network again"):
        without.train(few_expert_episodes, env, total_timesteps=32, progress_bar=False)
    again = BasicRewardNet(env.observation_space, env.action_space, hid_sizes=(16,))
    loaded = ImitationAgent("GAIL", {**parameters, "reward_net": again})
    loaded.load_from_file(tmp_path / "agent.zip")
    loaded.train(few_expert_episodes, env, total_timesteps=32, progress_bar=False)
    assert reward_net_of(loaded) is again
    wrong = ImitationAgent(
        "GAIL", {**parameters, "reward_net": BasicRewardNet(env.observation_space, env.action_space)}
    )
    wrong.load_from_file(tmp_path / "agent.zip")
    with pytest.raises(ValueError, match="do not fit the network BasicRewardNet"):
        wrong.train(few_expert_episodes, env, total_timesteps=32, progress_bar=False)


def test_a_damaged_reward_net_is_refused_on_load(few_expert_episodes: EpisodeSequence, tmp_path: Path) -> None:
    parameters = {"learner_parameters": dict(TINY_LEARNER), "demo_batch_size": 32, "seed": 0}
    agent = ImitationAgent("GAIL", parameters)
    agent.train(few_expert_episodes, "CartPole-v1", total_timesteps=32, progress_bar=False)
    agent.save_to_file(tmp_path / "agent.zip")
    with zipfile.ZipFile(tmp_path / "agent.zip") as source, zipfile.ZipFile(tmp_path / "bad.zip", "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "reward_net.json":
                content = json.dumps({"class": "os:system", "parameters": {}}).encode()
            target.writestr(item, content)
    with pytest.raises(UnsafeContentError, match="'os:system'"):
        ImitationAgent("GAIL", parameters).load_from_file(tmp_path / "bad.zip")
