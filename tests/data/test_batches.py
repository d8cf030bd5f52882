"""Transition batches leave infos undecoded for consumers that never read them (BC, the GAIL/AIRL discriminator)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rl_framework.agent import ImitationAgent
from rl_framework.data import EpisodeSequence


class Rebuilt:
    """An info value only jsonpickle can rebuild; counts its instances (decoding makes one each time)."""

    count = 0

    def __new__(cls) -> Rebuilt:
        cls.count += 1
        return super().__new__(cls)


class InfoCartPole(gym.Wrapper):
    """CartPole whose infos carry a number and, optionally, an object only jsonpickle can rebuild."""

    def __init__(self, with_object: bool) -> None:
        super().__init__(gym.make("CartPole-v1"))
        self.with_object = with_object

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        info = {"x": float(observation[0])}
        if self.with_object:
            info["marker"] = Rebuilt()
        return observation, reward, terminated, truncated, info


def expert(observation):
    return int(observation[2] + 0.5 * observation[3] > 0)


def saved_episodes(tmp_path, with_object: bool) -> EpisodeSequence:
    recorded = EpisodeSequence.from_agent(expert, InfoCartPole(with_object), n_episodes=2, seed=0)
    return EpisodeSequence.from_dataset(recorded.save(tmp_path / "episodes"), allow_pickle=with_object)


def test_infos_are_decoded_by_default_and_left_as_stored_on_request(tmp_path):
    episodes = saved_episodes(tmp_path, with_object=False)
    decoded = list(episodes.transition_batches(64, shuffle=True, seed=3))
    raw_batches = episodes.transition_batches(64, shuffle=True, seed=3)
    raw_batches.decode_infos = False
    raw = list(raw_batches)
    assert len(raw) == len(decoded) > 1
    for plain, stored in zip(decoded, raw, strict=True):
        for key in ("obs", "acts", "next_obs", "dones"):
            np.testing.assert_array_equal(plain[key], stored[key])  # the same transitions either way
        assert all(isinstance(info, dict) and "x" in info for info in plain["infos"])
        assert all(isinstance(text, str) and '"x"' in text for text in stored["infos"])
        assert [info["x"] for info in plain["infos"]] == pytest.approx([float(row[0]) for row in plain["next_obs"]])


@pytest.mark.parametrize(
    ("algorithm", "parameters", "budget"),
    [
        ("BC", {"batch_size": 32}, 640),  # 20 batches
        ("GAIL", {"demo_batch_size": 32, "learner_parameters": {"n_steps": 64, "batch_size": 32}}, 128),
    ],
)
def test_imitation_trains_without_decoding_a_single_info(tmp_path, algorithm, parameters, budget):
    episodes = saved_episodes(tmp_path, with_object=True)
    before = Rebuilt.count
    next(iter(episodes.transition_batches(32, seed=0)))  # a batch for a reader of infos decodes them
    assert Rebuilt.count - before >= 32
    before = Rebuilt.count
    agent = ImitationAgent(algorithm, {**parameters, "seed": 0})
    agent.train(episodes, "CartPole-v1", total_timesteps=budget, progress_bar=False)
    assert agent.num_timesteps >= budget
    assert Rebuilt.count == before  # BC's and the discriminator's batches: not one info decoded
