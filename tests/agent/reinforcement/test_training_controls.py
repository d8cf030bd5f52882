"""Training controls: gamma schedules, initial action bias, optimiser resets, feature extractors, logging to a
connector (evaluation, histograms, step metrics, episode end reasons), download with parameters, VecEnv videos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv

from rl_framework.agent import StableBaselinesAgent
from rl_framework.agent.reinforcement.training_controls import (
    StepMetricsCallback,
    apply_initial_action_bias,
    gamma_schedule,
    reset_optimizers,
)
from rl_framework.util.connector import LocalConnector, LocalDownloadConfig, LocalUploadConfig
from rl_framework.util.connector.base import Connector
from rl_framework.util.safe_classes import allow_class
from rl_framework.util.video import record_video

TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "seed": 0, "device": "cpu"}
OBSERVATIONS = np.random.default_rng(0).uniform(-0.2, 0.2, size=(32, 4)).astype(np.float32)


class RecordingConnector(Connector):
    """A connector that keeps what is logged to it in memory (the default ``log_histogram`` included)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, float, int]] = []

    def log_value(self, name: str, value: float, timestep: int) -> None:
        self.values.append((name, value, timestep))

    def named(self, name: str) -> list[float]:
        return [value for logged, value, _ in self.values if logged == name]

    def save_checkpoint(self, agent: Any, timestep: int) -> None:
        raise AssertionError("no checkpoints are configured in these tests")

    def upload(self, agent: Any, evaluation_environment: Any = None, video_recording_environment: Any = None) -> str:
        raise AssertionError("these tests never upload through it")

    def download(self) -> Path:
        raise AssertionError("these tests never download through it")


class TinyExtractor(BaseFeaturesExtractor):
    """A custom feature extractor: scales the observation and keeps its first two entries' squares."""

    def __init__(self, observation_space: gym.spaces.Box, scale: float = 2.0) -> None:
        super().__init__(observation_space, features_dim=6)
        self.scale = scale

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return th.cat([observations * self.scale, observations[:, :2] ** 2], dim=1)


# -- gamma schedules ---------------------------------------------------------------------------
def test_gamma_schedule_strings_follow_rl_zoo_and_a_start_end_form() -> None:
    assert gamma_schedule("lin_0.99")(0.5) == pytest.approx(0.495)
    schedule = gamma_schedule("lin_0.9_0.99")
    assert (schedule(1.0), schedule(0.0)) == (pytest.approx(0.9), pytest.approx(0.99))


@pytest.mark.parametrize(("algorithm", "rollout"), [("PPO", 32), ("DQN", 16)])
def test_gamma_follows_its_schedule_during_training(algorithm: str, rollout: int) -> None:
    parameters = dict(TINY_PPO) if algorithm == "PPO" else {"learning_starts": 0, "train_freq": rollout, "seed": 0}
    agent = StableBaselinesAgent(algorithm, {**parameters, "gamma": "lin_0.9_0.99"})
    connector = RecordingConnector()
    agent.train("CartPole-v1", total_timesteps=128, connector=connector, progress_bar=False)
    assert agent.model is not None
    # set at the start of each rollout, from the progress made so far: 0.9 + 0.09 * (steps done / 128)
    expected = [0.9 + 0.09 * start / 128 for start in range(0, 128, rollout)]
    assert agent.model.gamma == pytest.approx(expected[-1])
    logged = connector.named("train/gamma")  # what SB3 dumped: every rollout for PPO, every 4 episodes for DQN
    assert logged and all(any(value == pytest.approx(e) for e in expected) for value in logged)
    assert logged == sorted(logged)
    if algorithm == "PPO":
        assert logged == pytest.approx(expected)
        assert agent.model.rollout_buffer.gamma == agent.model.gamma  # the returns used the scheduled value


def test_a_callable_gamma_schedule_is_used_and_bad_schedules_name_the_forms() -> None:
    seen: list[float] = []

    def schedule(progress_remaining: float) -> float:
        seen.append(progress_remaining)
        return 0.95

    agent = StableBaselinesAgent("PPO", {**TINY_PPO, "gamma": schedule})
    agent.train("CartPole-v1", total_timesteps=64, progress_bar=False)
    assert agent.model is not None and agent.model.gamma == 0.95 and 1.0 in seen
    with pytest.raises(ValueError, match="Unknown gamma schedule 'exp_0.9'.*lin_<start>_<end>"):
        StableBaselinesAgent("PPO", {"gamma": "exp_0.9"})
    with pytest.raises(ValueError, match=r"gives 1.5 at progress_remaining=1.0; a discount must lie in \[0, 1\]"):
        StableBaselinesAgent("PPO", {"gamma": lambda progress: 1.5})


# -- initial action bias -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("algorithm", "env_id", "bias", "layers"),
    [
        ("PPO", "CartPole-v1", [0.0, 3.0], ["action_net"]),
        ("PPO", "Pendulum-v1", [0.5], ["action_net"]),
        ("DQN", "CartPole-v1", [0.0, 3.0], ["q_net.q_net.4", "q_net_target.q_net.4"]),
        ("SAC", "Pendulum-v1", [-0.25], ["actor.mu"]),
        ("TD3", "Pendulum-v1", [0.25], ["actor.mu.4", "actor_target.mu.4"]),
    ],
)
def test_initial_action_bias_sets_the_final_action_layer(algorithm: str, env_id: str, bias: list, layers: list) -> None:
    # weights as built: PPO updates with a zero learning rate, off-policy algorithms wait for learning_starts
    parameters = {**TINY_PPO, "learning_rate": 0.0} if algorithm == "PPO" else {"seed": 0, "learning_starts": 100}
    agent = StableBaselinesAgent(algorithm, {**parameters, "initial_action_bias": bias})
    agent.train(env_id, total_timesteps=1, progress_bar=False)
    assert agent.model is not None
    modules = dict(agent.model.policy.named_modules())
    for layer in layers:
        np.testing.assert_allclose(modules[layer].bias.detach().numpy(), bias)
    if algorithm == "PPO" and env_id == "CartPole-v1":
        # a 3-logit lead for action 1 over action 0 on the tiny initial weights: it is always chosen
        assert (agent.choose_actions(OBSERVATIONS, deterministic=True) == 1).all()


def test_initial_action_bias_for_quantiles_and_bad_sizes() -> None:
    agent = StableBaselinesAgent("QRDQN", {"seed": 0, "initial_action_bias": [1.0, 2.0], "learning_starts": 10})
    agent.train("CartPole-v1", total_timesteps=1, progress_bar=False)
    assert agent.model is not None
    bias = agent.model.policy.quantile_net.quantile_net[-1].bias.detach().numpy()
    np.testing.assert_allclose(bias, np.tile([1.0, 2.0], len(bias) // 2))  # the same value for every quantile
    wrong = StableBaselinesAgent("PPO", {**TINY_PPO, "initial_action_bias": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="has 3 values but PPO's action layer 'action_net' has 2 outputs"):
        wrong.train("CartPole-v1", total_timesteps=32, progress_bar=False)


def test_initial_action_bias_names_a_policy_without_an_action_layer() -> None:
    class Headless:  # an algorithm whose policy is one plain layer (none of the known action layers)
        policy = th.nn.Sequential(th.nn.Linear(2, 2))
        action_space = gym.spaces.Discrete(2)

    with pytest.raises(ValueError, match="not supported for Headless.*Remove it from algorithm_parameters"):
        apply_initial_action_bias(Headless(), 1.0)  # type: ignore[arg-type]


# -- optimiser reset ---------------------------------------------------------------------------
def test_reset_optimizer_on_load_forgets_adam_state_and_training_continues(tmp_path: Path) -> None:
    agent = StableBaselinesAgent("SAC", {"seed": 0, "learning_starts": 0, "batch_size": 16})
    agent.train("Pendulum-v1", total_timesteps=20, progress_bar=False)
    agent.save_to_file(tmp_path / "sac.zip")
    kept = StableBaselinesAgent("SAC")
    kept.load_from_file(tmp_path / "sac.zip")
    assert kept.model is not None and kept.model.actor.optimizer.state  # Adam moments came with the file
    fresh = StableBaselinesAgent("SAC")
    fresh.load_from_file(tmp_path / "sac.zip", reset_optimizer=True)
    assert fresh.model is not None
    for optimizer in (fresh.model.actor.optimizer, fresh.model.critic.optimizer, fresh.model.ent_coef_optimizer):
        assert not optimizer.state
    np.testing.assert_allclose(fresh.model.actor.optimizer.param_groups[0]["lr"], 3e-4)  # hyperparameters kept
    fresh.train("Pendulum-v1", total_timesteps=20, progress_bar=False)
    assert fresh.model.actor.optimizer.state


def test_reset_optimizers_names_what_it_reset() -> None:
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert agent.model is not None
    assert reset_optimizers(agent.model) == ["policy.optimizer"] and not agent.model.policy.optimizer.state


# -- feature extractors --------------------------------------------------------------------------
def test_a_custom_feature_extractor_acts_in_training_evaluation_video_and_after_loading(tmp_path: Path) -> None:
    allow_class(TinyExtractor)  # agent files name classes; loading imports only allowed ones
    parameters = {**TINY_PPO, "policy_kwargs": {"features_extractor_class": TinyExtractor}}
    agent = StableBaselinesAgent("PPO", parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert agent.model is not None and isinstance(agent.model.policy.features_extractor, TinyExtractor)
    agent.evaluate("CartPole-v1", n_eval_episodes=2, progress_bar=False)
    record_video(agent, "CartPole-v1", tmp_path / "video.mp4", n_steps=3)
    agent.save_to_file(tmp_path / "agent.zip")
    loaded = StableBaselinesAgent("PPO")
    loaded.load_from_file(tmp_path / "agent.zip")
    assert loaded.model is not None and isinstance(loaded.model.policy.features_extractor, TinyExtractor)
    np.testing.assert_array_equal(loaded.choose_actions(OBSERVATIONS, True), agent.choose_actions(OBSERVATIONS, True))


# -- download with parameters ----------------------------------------------------------------------
def test_download_merges_algorithm_parameters_over_the_stored_ones(tmp_path: Path) -> None:
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    agent.upload(LocalConnector(LocalUploadConfig(agent_name="ppo"), registry_path=tmp_path))
    downloaded = StableBaselinesAgent("PPO")
    downloaded.download(
        LocalConnector(download_config=LocalDownloadConfig("ppo"), registry_path=tmp_path),
        algorithm_parameters={"learning_rate": 1e-5, "n_epochs": 3},
    )
    assert downloaded.model is not None
    assert (downloaded.model.learning_rate, downloaded.model.n_epochs) == (1e-5, 3)
    assert downloaded.algorithm_parameters["learning_rate"] == 1e-5
    np.testing.assert_array_equal(
        downloaded.choose_actions(OBSERVATIONS, True), agent.choose_actions(OBSERVATIONS, True)
    )


# -- logging through a connector ----------------------------------------------------------------------
def test_evaluate_logs_each_episode_and_the_summary_at_the_trained_timesteps(trained_ppo_agent) -> None:
    connector = RecordingConnector()
    result = trained_ppo_agent.evaluate_episodes("CartPole-v1", n_eval_episodes=3, seeds=0, connector=connector)
    assert connector.named("eval/episode_return") == result.episode_returns.tolist()
    assert connector.named("eval/episode_length") == result.episode_lengths.tolist()
    assert connector.named("eval/mean_return") == [result.mean_reward]
    assert connector.named("eval/std_return") == [result.std_reward]
    assert connector.named("eval/mean_length") == [result.mean_length]
    assert {timestep for _, _, timestep in connector.values} == {trained_ppo_agent.model.num_timesteps}
    mean, std = trained_ppo_agent.evaluate("CartPole-v1", n_eval_episodes=3, seeds=0, connector=connector)
    assert connector.named("eval/mean_return") == [mean, mean]


def test_episode_end_reasons_are_counted_during_training() -> None:
    connector = RecordingConnector()
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    agent.train(lambda: gym.make("CartPole-v1", max_episode_steps=12), 256, connector=connector, progress_bar=False)
    terminated, truncated = connector.named("episodes/terminated"), connector.named("episodes/truncated")
    assert terminated and truncated  # random play: some poles fall before 12 steps, some episodes reach the limit
    assert terminated == list(range(1, len(terminated) + 1)) and truncated == list(range(1, len(truncated) + 1))
    assert len(terminated) + len(truncated) == len(connector.named("episode/return"))
    lengths_at_limit = [length for length in connector.named("episode/length") if length == 12]
    assert len(truncated) == len(lengths_at_limit)


def test_the_default_histogram_logs_summary_statistics_of_finite_values() -> None:
    connector = RecordingConnector()
    connector.log_histogram("step/rewards", [1.0, 3.0, np.nan, np.inf], timestep=5)
    assert connector.values == [
        ("step/rewards/mean", 2.0, 5),
        ("step/rewards/std", 1.0, 5),
        ("step/rewards/min", 1.0, 5),
        ("step/rewards/max", 3.0, 5),
    ]
    connector.log_histogram("step/none", [np.nan], timestep=6)
    assert len(connector.values) == 4


def test_the_local_registry_keeps_histograms_in_metrics_jsonl(tmp_path: Path) -> None:
    connector = LocalConnector(LocalUploadConfig(agent_name="h"), registry_path=tmp_path)
    connector.log_histogram("step/actions", np.array([0, 1, 1, 1, np.nan]), timestep=7)
    connector.log_value("episode/return", 3.0, 7)
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    version = Path(agent.upload(connector))
    lines = [json.loads(line) for line in (version / "metrics.jsonl").read_text().splitlines()]
    histogram = lines[0]
    assert histogram["name"] == "step/actions" and histogram["timestep"] == 7 and histogram["count"] == 4
    assert sum(histogram["histogram"]["counts"]) == 4 and len(histogram["histogram"]["edges"]) == 21
    assert histogram["histogram"]["counts"][0] == 1 and histogram["histogram"]["counts"][-1] == 3
    assert lines[1]["value"] == 3.0  # scalar lines are unchanged


def test_step_metrics_callback_logs_info_means_and_histograms() -> None:
    class Tilt(gym.Wrapper):
        def step(self, action: Any) -> Any:
            observation, reward, terminated, truncated, info = self.env.step(action)
            return observation, reward, terminated, truncated, {**info, "tilt": abs(float(observation[2]))}

    connector = RecordingConnector()
    agent = StableBaselinesAgent("PPO", TINY_PPO)
    callback = StepMetricsCallback(connector, frequency=32, info_keys=("tilt",))
    agent.train(lambda: Tilt(gym.make("CartPole-v1")), total_timesteps=64, callback=callback, progress_bar=False)
    tilts = connector.named("step/tilt")
    assert len(tilts) == 2 and all(0 <= tilt < 0.21 for tilt in tilts)  # |angle| < 12 degrees while alive
    assert connector.named("step/reward") == [1.0, 1.0]
    action_means = connector.named("step/actions/mean")  # the default histogram: summary statistics
    assert len(action_means) == 2 and all(0 <= mean <= 1 for mean in action_means)
    assert connector.named("step/actions/min") == [0.0, 0.0] and connector.named("step/actions/max") == [1.0, 1.0]
    with pytest.raises(ValueError, match="frequency"):
        StepMetricsCallback(connector, frequency=0)


def test_clearml_reports_histograms_as_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "clearml-home"
    home.mkdir()
    (home / "clearml.conf").write_text("sdk { development { report_use_subprocess: false } }\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLEARML_CONFIG_FILE", str(home / "clearml.conf"))
    monkeypatch.setenv("CLEARML_CACHE_DIR", str(home / "cache"))
    from clearml import Task

    from rl_framework.util.connector import ClearMLConnector, ClearMLUploadConfig

    Task.set_offline(True)
    with ClearMLConnector(ClearMLUploadConfig(project_name="rl_framework-tests", task_name="histogram")) as connector:
        connector.log_histogram("step/actions", np.array([0, 0, 1]), timestep=3)
        task_id = connector.task.id
    metrics = home / "cache" / "offline" / task_id / "metrics.jsonl"
    events = [event for line in metrics.read_text().splitlines() for event in json.loads(line)]
    plots = [event for event in events if event.get("metric") == "step" and event.get("variant") == "actions"]
    assert plots and plots[0]["iter"] == 3
    plot = json.loads(plots[0]["plot_str"])
    assert sum(plot["data"][0]["y"]) == 3


# -- videos of VecEnvs ---------------------------------------------------------------------------
def test_video_of_an_sb3_vec_env_tiles_its_envs_and_counts_episodes_on_the_first(trained_ppo_agent, tmp_path) -> None:
    vec_env = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=4)] * 2)
    path = record_video(trained_ppo_agent, vec_env, tmp_path / "vec.mp4", n_episodes=1, seed=0)
    frames = list(imageio_ffmpeg.read_frames(str(path)))
    assert frames[0]["size"] == (600, 800)  # two 600x400 frames stacked
    assert len(frames) - 1 == 1 + 4  # the first frame + one per step of the first env's 4-step episode
    vec_env.close()


def test_video_of_a_vec_env_without_rgb_array_names_the_fix(trained_ppo_agent, tmp_path) -> None:
    vec_env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    with pytest.raises(ValueError, match='recording a video needs "rgb_array" frames'):
        record_video(trained_ppo_agent, vec_env, tmp_path / "no.mp4", n_steps=2)
    assert not (tmp_path / "no.mp4").exists()
