"""The StableBaselinesAgent file: SB3-compatible zip + rl_framework.json; plain SB3 zips load without pickle."""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import DQN, PPO, SAC, TD3
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.utils import ConstantSchedule

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.safe_classes import UnsafeContentError

CARTPOLE_OBSERVATIONS = np.random.default_rng(0).uniform(-0.2, 0.2, size=(16, 4)).astype(np.float32)


class DictEnv(gym.Env):
    """Dict observations, MultiDiscrete actions: MultiInputPolicy and spaces SB3 stores as nested reprs."""

    observation_space = gym.spaces.Dict(
        {"position": gym.spaces.Box(np.array([0.0, -1.5]), np.array([1.0, 2.25])), "mode": gym.spaces.Discrete(3)}
    )
    action_space = gym.spaces.MultiDiscrete([2, 3])

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        return self.observation_space.sample(), 0.0, False, False, {}


def test_our_file_is_read_by_plain_sb3_and_holds_everything_as_json(trained_ppo_agent, tmp_path: Path) -> None:
    path = trained_ppo_agent.save_to_file(tmp_path / "agent.zip")[0]
    plain = PPO.load(path)  # SB3 ignores the extra member
    expected = trained_ppo_agent.choose_action(CARTPOLE_OBSERVATIONS, deterministic=True)
    np.testing.assert_array_equal(plain.predict(CARTPOLE_OBSERVATIONS, deterministic=True)[0], expected)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("rl_framework.json"))
    assert header["algorithm"] == "PPO" and header["format_version"] == 1
    data = header["data"]
    assert data["num_timesteps"] == trained_ppo_agent.model.num_timesteps
    assert data["_n_updates"] == trained_ppo_agent.model._n_updates
    assert data["policy_class"] == {"$type": "class", "name": "stable_baselines3.common.policies:ActorCriticPolicy"}
    assert data["observation_space"]["space"] == "Box" and header["normalizer"] is None
    assert {"stable-baselines3", "torch", "gymnasium"} <= set(header["library_versions"])

    loaded = StableBaselinesAgent.from_file(path)
    np.testing.assert_array_equal(loaded.choose_action(CARTPOLE_OBSERVATIONS, deterministic=True), expected)
    assert loaded.model.num_timesteps == trained_ppo_agent.model.num_timesteps
    assert loaded.model.clip_range(1.0) == trained_ppo_agent.model.clip_range(1.0)


@pytest.mark.parametrize(
    ("algorithm", "make_model", "observations"),
    [
        ("DQN", lambda: DQN("MlpPolicy", "CartPole-v1", seed=0, device="cpu"), CARTPOLE_OBSERVATIONS),
        ("SAC", lambda: SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu"), CARTPOLE_OBSERVATIONS[:, :3]),
        (
            "PPO",
            lambda: PPO("MultiInputPolicy", DictEnv(), n_steps=16, batch_size=16, seed=0, device="cpu"),
            {"position": CARTPOLE_OBSERVATIONS[:, :2], "mode": np.arange(16) % 3},
        ),
    ],
    ids=["DQN", "SAC", "PPO-dict"],
)
def test_plain_sb3_zips_load_without_the_opt_in_and_act_identically(
    algorithm: str, make_model, observations, tmp_path: Path
) -> None:
    model = make_model()
    model.save(tmp_path / "plain.zip")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = StableBaselinesAgent.from_file(tmp_path / "plain.zip", algorithm)
    messages = [str(warning.message) for warning in caught if "plain SB3 zip" in str(warning.message)]
    if algorithm == "PPO":
        assert messages == []  # everything PPO needs is readable
    else:  # SB3 pickles the TrainFreq tuple: it starts from the default, and the warning says so
        assert len(messages) == 1 and re.search(r"train_freq.*defaults.*allow_pickle=True", messages[0])
    assert loaded.model.observation_space == model.observation_space
    assert loaded.model.action_space == model.action_space
    expected = model.predict(observations, deterministic=True)[0]
    np.testing.assert_array_equal(loaded.choose_action(observations, deterministic=True), expected)


def test_plain_image_policy_zip_loads_without_the_opt_in(tmp_path: Path) -> None:
    class ImageEnv(DictEnv):
        observation_space = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)  # type: ignore[assignment]
        action_space = gym.spaces.Discrete(3)  # type: ignore[assignment]

    model = PPO("CnnPolicy", ImageEnv(), n_steps=16, batch_size=16, seed=0, device="cpu")
    model.save(tmp_path / "cnn.zip")
    loaded = StableBaselinesAgent.from_file(tmp_path / "cnn.zip")
    images = np.random.default_rng(1).integers(0, 256, size=(4, 36, 36, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        loaded.choose_action(images, deterministic=True), model.predict(images, deterministic=True)[0]
    )


def test_an_unreadable_plain_zip_needs_the_opt_in_and_then_loads_with_sb3(tmp_path: Path) -> None:
    class WideEnv(DictEnv):
        bounds = np.linspace(-1.0, 1.0, 1200)  # printed truncated in SB3's readable copy
        observation_space = gym.spaces.Box(bounds, bounds + 1.0)  # type: ignore[assignment]
        action_space = gym.spaces.Discrete(2)  # type: ignore[assignment]

    model = PPO("MlpPolicy", WideEnv(), n_steps=16, batch_size=16, seed=0, device="cpu")
    model.save(tmp_path / "wide.zip")
    agent = StableBaselinesAgent("PPO")
    with pytest.raises(UnsafeContentError, match=r"observation_space is stored only as a pickle.*allow_pickle=True"):
        agent.load_from_file(tmp_path / "wide.zip")
    assert agent.model is None
    agent.load_from_file(tmp_path / "wide.zip", allow_pickle=True)
    np.testing.assert_array_equal(agent.model.observation_space.low, model.observation_space.low)


def test_a_schedule_function_is_saved_as_its_current_value(tiny_ppo_parameters, tmp_path: Path) -> None:
    agent = StableBaselinesAgent("PPO", {**tiny_ppo_parameters, "learning_rate": lambda progress: 1e-3 * progress})
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    path = agent.save_to_file(tmp_path / "agent.zip")[0]
    loaded = StableBaselinesAgent.from_file(path)
    assert isinstance(loaded.model.learning_rate, ConstantSchedule)
    progress = min(max(agent.model._current_progress_remaining, 0.0), 1.0)
    assert loaded.model.learning_rate(0.5) == pytest.approx(1e-3 * progress)
    np.testing.assert_array_equal(
        loaded.choose_action(CARTPOLE_OBSERVATIONS, deterministic=True),
        agent.choose_action(CARTPOLE_OBSERVATIONS, deterministic=True),
    )


def test_our_file_of_another_algorithm_names_the_right_one(trained_ppo_agent, tmp_path: Path) -> None:
    path = trained_ppo_agent.save_to_file(tmp_path / "agent.zip")[0]
    with pytest.raises(ValueError, match=r"PPO .*StableBaselinesAgent\('PPO'\)"):
        StableBaselinesAgent("A2C").load_from_file(path)


class ConstantNoise(ActionNoise):
    """A user's own action noise: no pickle-free form."""

    def __call__(self) -> np.ndarray:
        return np.full(1, 0.1)


def test_our_file_with_a_custom_object_warns_and_restores_it_only_with_the_opt_in(tmp_path: Path) -> None:
    agent = StableBaselinesAgent("TD3")
    agent.model = TD3("MlpPolicy", "Pendulum-v1", action_noise=ConstantNoise(), seed=0, device="cpu")
    path = agent.save_to_file(tmp_path / "td3.zip")[0]
    with pytest.warns(UserWarning, match=r"stores action_noise only as SB3 pickles.*allow_pickle=True"):
        safe = StableBaselinesAgent.from_file(path, "TD3")
    assert safe.model.action_noise is None  # TD3's default
    trusted = StableBaselinesAgent.from_file(path, "TD3", allow_pickle=True)
    assert isinstance(trusted.model.action_noise, ConstantNoise)
