"""StableBaselinesAgent: names, training inputs, validation, acting, persistence, VecNormalize."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from sb3_contrib import QRDQN, TQC
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

from rl_framework.agent import RLAgent, StableBaselinesAgent
from rl_framework.agent.reinforcement.normalization import normalizer_path
from rl_framework.util.safe_classes import UnsafeContentError
from rl_framework.util.serialization import from_json

SAMPLE_OBSERVATIONS = np.array(
    [[0.01 * i, -0.02 * i, 0.03 * (i - 5), 0.1 * (5 - i)] for i in range(10)], dtype=np.float32
)


def deterministic_actions(agent: StableBaselinesAgent) -> np.ndarray:
    return np.array([agent.choose_action(observation, deterministic=True) for observation in SAMPLE_OBSERVATIONS])


def parameters_of(agent: StableBaselinesAgent) -> list[torch.Tensor]:
    assert agent.model is not None
    return [parameter.detach().clone() for parameter in agent.model.policy.parameters()]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# -- algorithm names ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("PPO", PPO),
        ("A2C", A2C),
        ("DQN", DQN),
        ("SAC", SAC),
        ("TD3", TD3),
        ("DDPG", DDPG),
        ("QRDQN", QRDQN),
        ("TQC", TQC),
        ("ppo", PPO),
        ("qrDqn", QRDQN),
        ("tqc", TQC),
    ],
)
def test_algorithm_by_name_is_case_insensitive(name, expected):
    agent = StableBaselinesAgent(name)
    assert agent.algorithm_class is expected
    assert isinstance(agent, RLAgent)
    assert agent.model is None


def test_algorithm_by_class():
    assert StableBaselinesAgent(SAC).algorithm_class is SAC
    assert StableBaselinesAgent().algorithm_class is PPO


def test_unknown_algorithm_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown stable-baselines3 algorithm 'PPX'\. Valid names: .*DQN.*PPO.*TQC"):
        StableBaselinesAgent("PPX")
    with pytest.raises(TypeError, match="algorithm_class must be a class or a name string, got int"):
        StableBaselinesAgent(3)


def test_misspelled_algorithm_parameter_is_rejected_at_construction():
    with pytest.raises(
        ValueError, match=r"unknown parameter\(s\) 'learnig_rate' for PPO\. Valid names: .*learning_rate"
    ):
        StableBaselinesAgent("PPO", {"learnig_rate": 0.1})


# -- training inputs ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make_environments", "n_envs", "expected_envs"),
    [
        pytest.param(lambda: gym.make("CartPole-v1"), 1, 1, id="single-env"),
        pytest.param(lambda: [gym.make("CartPole-v1"), gym.make("CartPole-v1")], 1, 2, id="list-of-envs"),
        pytest.param(lambda: [lambda: gym.make("CartPole-v1")] * 2, 1, 2, id="list-of-factories"),
        pytest.param(lambda: "CartPole-v1", 2, 2, id="env-id-n-envs"),
        pytest.param(lambda: DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2), 1, 2, id="vec-env"),
    ],
)
def test_train_accepts_every_environment_form(tiny_ppo_parameters, make_environments, n_envs, expected_envs):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train(make_environments(), total_timesteps=32, n_envs=n_envs, progress_bar=False)
    assert agent.model is not None
    assert agent.model.n_envs == expected_envs
    assert agent.model.num_timesteps == 32 * expected_envs  # one rollout of n_steps per env


def test_train_with_subprocess_vectorization(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    seen = []

    from stable_baselines3.common.callbacks import BaseCallback

    class RecordEnvType(BaseCallback):
        def _on_training_start(self) -> None:
            seen.append(self.training_env)

        def _on_step(self) -> bool:
            return True

    agent.train(
        "CartPole-v1",
        total_timesteps=32,
        n_envs=2,
        vectorization="subprocess",
        progress_bar=False,
        callback=RecordEnvType(),
    )
    assert isinstance(seen[0].unwrapped, SubprocVecEnv)  # inside the NaN/inf guard (FiniteCheckVecEnv)
    assert agent.model is not None and agent.model.num_timesteps == 64


def test_train_twice_continues_the_same_model(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    model, weights = agent.model, parameters_of(agent)
    assert model is not None and model.num_timesteps == 32
    agent.train("CartPole-v1", total_timesteps=64, progress_bar=False)
    assert agent.model is model
    assert model.num_timesteps == 96
    assert any(not torch.equal(before, after) for before, after in zip(weights, parameters_of(agent), strict=True))


def test_progress_bar_flag(tiny_ppo_parameters, capsys):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert "32/32" not in capsys.readouterr().out
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=True)
    assert "100%" in capsys.readouterr().out  # SB3's (rich) progress bar over this run's steps


def test_training_leaves_no_empty_sb3_folder_and_keeps_sb3s_outputs(tiny_ppo_parameters, tmp_path, monkeypatch, capsys):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where SB3 makes its SB3-<time> folders
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    quiet = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    for _ in range(2):
        quiet.train("CartPole-v1", total_timesteps=32, progress_bar=False)

    def sb3_folders() -> list[Path]:
        return list(scratch.glob("SB3-*"))

    assert sb3_folders() == [] and "rollout/" not in capsys.readouterr().out
    PPO("MlpPolicy", "CartPole-v1", **tiny_ppo_parameters).learn(32)  # raw SB3, for comparison
    assert len(sb3_folders()) == 1

    verbose = StableBaselinesAgent("PPO", {**tiny_ppo_parameters, "verbose": 1})
    verbose.train("CartPole-v1", total_timesteps=64, progress_bar=False)
    assert "| time/" in capsys.readouterr().out  # SB3's table, as with raw SB3 at verbose=1
    board = StableBaselinesAgent("PPO", {**tiny_ppo_parameters, "tensorboard_log": str(tmp_path / "tb")})
    board.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    (events,) = (tmp_path / "tb" / "PPO_1").iterdir()
    assert events.name.startswith("events.out.tfevents.")
    assert len(sb3_folders()) == 1


def test_continue_training_after_load(tiny_ppo_parameters, tmp_path):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    agent.save_to_file(tmp_path / "agent.zip")
    loaded = StableBaselinesAgent("PPO")
    loaded.load_from_file(tmp_path / "agent.zip")
    assert loaded.model is not None and loaded.model.num_timesteps == 32
    loaded.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert loaded.model.num_timesteps == 64


# -- invalid combinations fail before training -----------------------------------------------------
def test_dqn_on_continuous_actions_is_rejected_before_training():
    agent = StableBaselinesAgent("DQN")
    with pytest.raises(ValueError, match=r"DQN does not support the action space .*\(Box\).*Algorithms for Box: .*SAC"):
        agent.train("Pendulum-v1", total_timesteps=100, progress_bar=False)
    assert agent.model is None


@pytest.mark.parametrize("name", ["SAC", "TD3", "DDPG", "TQC"])
def test_continuous_algorithms_on_discrete_actions_are_rejected_before_training(name):
    agent = StableBaselinesAgent(name)
    with pytest.raises(ValueError, match=rf"{name} does not support .*\(Discrete\).*Algorithms for Discrete: .*DQN"):
        agent.train("CartPole-v1", total_timesteps=100, progress_bar=False)
    assert agent.model is None


def test_unlisted_algorithm_subclass_still_gets_the_action_space_check():
    class MyDQN(DQN):
        pass

    agent = StableBaselinesAgent(MyDQN)
    with pytest.raises(ValueError, match="MyDQN does not support the action space"):
        agent.train("Pendulum-v1", total_timesteps=100, progress_bar=False)
    assert agent.model is None


@pytest.mark.parametrize("bad", [0, -5, 1.5, "100", True, None])
def test_bad_total_timesteps_is_rejected_before_training(tiny_ppo_parameters, bad):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(
        ValueError, match=r"total_timesteps must be a positive int \(the training budget, e\.g\. total_timesteps="
    ):
        agent.train("CartPole-v1", total_timesteps=bad, progress_bar=False)
    assert agent.model is None


def test_numpy_integer_total_timesteps_is_accepted(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=np.int64(32), progress_bar=False)
    assert agent.model is not None and agent.model.num_timesteps == 32


def test_environments_with_different_spaces_are_rejected_before_training(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(ValueError, match="different observation_spaces.*pass copies of one environment"):
        agent.train([gym.make("CartPole-v1"), gym.make("Acrobot-v1")], total_timesteps=32, progress_bar=False)
    assert agent.model is None


def test_loaded_model_with_other_spaces_is_rejected_before_training(trained_ppo_agent, tmp_path):
    trained_ppo_agent.save_to_file(tmp_path / "cartpole.zip")
    agent = StableBaselinesAgent("PPO")
    agent.load_from_file(tmp_path / "cartpole.zip")
    assert agent.model is not None
    timesteps = agent.model.num_timesteps
    with pytest.raises(ValueError, match=r"model expects the observation space Box\(.*\(4,\).*Train a new agent"):
        agent.train("Acrobot-v1", total_timesteps=32, progress_bar=False)
    assert agent.model.num_timesteps == timesteps


def test_loaded_normalized_model_with_other_spaces_is_rejected_cleanly(vecnormalize_agent, tmp_path):
    trained, _ = vecnormalize_agent
    trained.save_to_file(tmp_path / "normalized.zip")
    agent = StableBaselinesAgent("PPO")
    agent.load_from_file(tmp_path / "normalized.zip")
    normalizer = agent.normalizer.statistics
    with pytest.raises(ValueError, match="model expects the observation space"):
        agent.train("Acrobot-v1", total_timesteps=32, progress_bar=False)
    assert agent.normalizer.statistics is normalizer  # unchanged by the failed call


def test_bad_n_envs_and_vectorization_are_rejected(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(ValueError, match="n_envs must be a positive int, got 0"):
        agent.train("CartPole-v1", total_timesteps=32, n_envs=0, progress_bar=False)
    with pytest.raises(ValueError, match="vectorization must be 'dummy' or 'subprocess', got 'threads'"):
        agent.train("CartPole-v1", total_timesteps=32, vectorization="threads", progress_bar=False)
    assert agent.model is None


# -- acting -------------------------------------------------------------------------------------
def test_choose_action_on_single_observation_and_batch(trained_ppo_agent):
    single = trained_ppo_agent.choose_action(SAMPLE_OBSERVATIONS[0], deterministic=True)
    assert np.shape(single) == ()
    assert trained_ppo_agent.model.action_space.contains(int(single))
    batch = trained_ppo_agent.choose_action(SAMPLE_OBSERVATIONS, deterministic=True)
    assert batch.shape == (10,)
    np.testing.assert_array_equal(batch, deterministic_actions(trained_ppo_agent))
    np.testing.assert_array_equal(trained_ppo_agent.choose_actions(SAMPLE_OBSERVATIONS, deterministic=True), batch)


def test_choose_action_on_continuous_actions(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("Pendulum-v1", total_timesteps=32, progress_bar=False)
    observations = np.zeros((5, 3), dtype=np.float32)
    assert agent.choose_action(observations[0]).shape == (1,)
    assert agent.choose_action(observations).shape == (5, 1)


def test_acting_before_training_raises():
    agent = StableBaselinesAgent("PPO")
    with pytest.raises(RuntimeError, match=r"no model yet: call train\(\.\.\.\) or load_from_file"):
        agent.choose_action(SAMPLE_OBSERVATIONS[0])
    with pytest.raises(RuntimeError, match="no model yet"):
        agent.evaluate("CartPole-v1", 1, progress_bar=False)
    with pytest.raises(RuntimeError, match="no model yet"):
        agent.save_to_file("never-written.zip")
    assert not Path("never-written.zip").exists()


# -- persistence --------------------------------------------------------------------------------
def test_save_writes_sb3_zip_loadable_by_plain_ppo_load(trained_ppo_agent, tmp_path):
    path = trained_ppo_agent.save_to_file(tmp_path / "agent.zip")[0]
    assert path == tmp_path / "agent.zip"
    assert leftovers(tmp_path) == ["agent.zip"]  # no temp file, no normaliser file
    plain = PPO.load(path, device="cpu")
    plain_actions = plain.predict(SAMPLE_OBSERVATIONS, deterministic=True)[0]
    np.testing.assert_array_equal(plain_actions, deterministic_actions(trained_ppo_agent))


def test_save_load_round_trip_gives_identical_deterministic_actions(trained_ppo_agent, tmp_path):
    trained_ppo_agent.save_to_file(tmp_path / "agent.zip")
    loaded = StableBaselinesAgent("PPO")
    loaded.load_from_file(tmp_path / "agent.zip")
    np.testing.assert_array_equal(deterministic_actions(loaded), deterministic_actions(trained_ppo_agent))
    for before, after in zip(parameters_of(trained_ppo_agent), parameters_of(loaded), strict=True):
        assert torch.equal(before, after)


class FailingSavePPO(PPO):
    """A PPO whose ``save`` writes part of the file and then fails (e.g. a full disk)."""

    def save(self, path, exclude=None, include=None) -> None:
        if isinstance(path, io.BufferedIOBase | io.BytesIO):
            path.write(b"PK\x03\x04 half a zip")
        else:
            Path(path).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError("No space left on device")


def test_failed_save_leaves_no_file_and_keeps_the_old_one(tiny_ppo_parameters, tmp_path):
    agent = StableBaselinesAgent(FailingSavePPO, tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    with pytest.raises(OSError, match="No space left"):
        agent.save_to_file(tmp_path / "agent.zip")
    assert leftovers(tmp_path) == []
    (tmp_path / "agent.zip").write_bytes(b"previous good file")
    with pytest.raises(OSError, match="No space left"):
        agent.save_to_file(tmp_path / "agent.zip")
    assert leftovers(tmp_path) == ["agent.zip"]
    assert (tmp_path / "agent.zip").read_bytes() == b"previous good file"


def test_save_to_unwritable_target_leaves_no_temp_file(trained_ppo_agent, tmp_path):
    (tmp_path / "agent.zip").mkdir()  # a folder where the file should go: the final rename fails
    with pytest.raises(OSError):
        trained_ppo_agent.save_to_file(tmp_path / "agent.zip")
    assert leftovers(tmp_path) == ["agent.zip"]
    assert list((tmp_path / "agent.zip").iterdir()) == []
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OSError):
        trained_ppo_agent.save_to_file(tmp_path / "file" / "agent.zip")
    assert leftovers(tmp_path) == ["agent.zip", "file"]


def test_load_overrides_algorithm_parameters(trained_ppo_agent, tmp_path):
    trained_ppo_agent.save_to_file(tmp_path / "agent.zip")
    agent = StableBaselinesAgent("PPO")
    agent.load_from_file(tmp_path / "agent.zip", algorithm_parameters={"learning_rate": 0.0123, "n_epochs": 2})
    assert agent.model is not None
    assert agent.model.learning_rate == 0.0123
    assert agent.model.n_epochs == 2
    assert agent.algorithm_parameters["learning_rate"] == 0.0123
    np.testing.assert_array_equal(deterministic_actions(agent), deterministic_actions(trained_ppo_agent))
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)  # SB3 applies the rate when it trains
    assert agent.model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(0.0123)


def test_load_rejects_misspelled_override(trained_ppo_agent, tmp_path):
    trained_ppo_agent.save_to_file(tmp_path / "agent.zip")
    agent = StableBaselinesAgent("PPO")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'learning_rat' for PPO"):
        agent.load_from_file(tmp_path / "agent.zip", algorithm_parameters={"learning_rat": 0.1})
    assert agent.model is None


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No agent file at '.*missing\.zip'"):
        StableBaselinesAgent("PPO").load_from_file(tmp_path / "missing.zip")


def test_load_corrupt_file_raises_value_error_naming_the_path(tmp_path):
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"this is not a zip file")
    agent = StableBaselinesAgent("PPO")
    with pytest.raises(ValueError, match=r"'.*corrupt\.zip' is not a complete zip file .*truncated or corrupt"):
        agent.load_from_file(corrupt)
    assert agent.model is None


def test_load_file_of_another_algorithm_raises_value_error(tmp_path):
    dqn = StableBaselinesAgent("DQN", {"learning_starts": 0, "seed": 0, "device": "cpu"})
    dqn.train("CartPole-v1", total_timesteps=8, progress_bar=False)
    dqn.save_to_file(tmp_path / "dqn.zip")
    message = r"'.*dqn\.zip' holds a DQN model .*not a PPO one.*StableBaselinesAgent\('DQN'\)"
    with pytest.raises(ValueError, match=message):
        StableBaselinesAgent("PPO").load_from_file(tmp_path / "dqn.zip")
    loaded = StableBaselinesAgent("dqn")
    loaded.load_from_file(tmp_path / "dqn.zip")
    np.testing.assert_array_equal(deterministic_actions(loaded), deterministic_actions(dqn))


# -- VecNormalize ---------------------------------------------------------------------------------
def test_vecnormalize_statistics_are_saved_inside_the_zip_and_restored_frozen(vecnormalize_agent, tmp_path):
    trained, training_env = vecnormalize_agent
    assert trained.normalizer.statistics is training_env
    path = trained.save_to_file(tmp_path / "agent.zip")[0]
    assert leftovers(tmp_path) == ["agent.zip"]  # one file: weights and statistics are saved as one unit
    with zipfile.ZipFile(path) as archive:
        stored = json.loads(archive.read("rl_framework.json"))["normalizer"]
    np.testing.assert_array_equal(from_json(stored["obs_rms"]).mean, training_env.obs_rms.mean)  # JSON, no pickle
    assert stored["norm_reward"] is True and stored["clip_obs"] == training_env.clip_obs

    agent = StableBaselinesAgent("PPO")
    agent.load_from_file(path)
    normalizer = agent.normalizer.statistics
    assert normalizer is not None
    assert normalizer.training is False and normalizer.norm_reward is False
    np.testing.assert_array_equal(normalizer.obs_rms.mean, training_env.obs_rms.mean)
    np.testing.assert_array_equal(normalizer.obs_rms.var, training_env.obs_rms.var)

    # acting normalises observations exactly as SB3 would with the frozen statistics
    manual = agent.model.policy.predict(training_env.normalize_obs(SAMPLE_OBSERVATIONS), deterministic=True)[0]
    np.testing.assert_array_equal(agent.choose_action(SAMPLE_OBSERVATIONS, deterministic=True), manual)
    np.testing.assert_array_equal(deterministic_actions(agent), deterministic_actions(trained))
    # the statistics do not move while acting
    agent.evaluate("CartPole-v1", 3, seeds=0, progress_bar=False)
    np.testing.assert_array_equal(normalizer.obs_rms.mean, training_env.obs_rms.mean)


def test_vecnormalize_evaluation_applies_obs_normalisation_and_reports_raw_returns(vecnormalize_agent, tmp_path):
    trained, training_env = vecnormalize_agent
    trained.save_to_file(tmp_path / "agent.zip")
    agent = StableBaselinesAgent("PPO")
    agent.load_from_file(tmp_path / "agent.zip")
    policy = agent.model.policy

    def manual_episode(seed: int) -> float:
        env = gym.make("CartPole-v1")
        observation, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            action = policy.predict(training_env.normalize_obs(observation), deterministic=True)[0]
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        return total

    expected = [manual_episode(50 + i) for i in range(4)]
    result = agent.evaluate_episodes("CartPole-v1", 4, seeds=50, deterministic=True, progress_bar=False)
    assert list(result.episode_returns) == expected
    np.testing.assert_array_equal(result.episode_returns, result.episode_lengths)  # CartPole: raw reward 1/step
    # the user's own (reward-normalising) VecNormalize env gives the same raw returns
    user_env = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), norm_reward=True)
    on_vec_env = agent.evaluate_episodes(user_env, 3, seeds=50, deterministic=True, progress_bar=False)
    np.testing.assert_array_equal(on_vec_env.episode_returns, on_vec_env.episode_lengths)
    assert on_vec_env.episode_returns[0] == expected[0]


def test_load_then_save_keeps_normalizer_and_continued_training_normalizes_rewards(vecnormalize_agent, tmp_path):
    trained, training_env = vecnormalize_agent
    trained.save_to_file(tmp_path / "first.zip")
    agent = StableBaselinesAgent("PPO")
    agent.load_from_file(tmp_path / "first.zip")
    agent.save_to_file(tmp_path / "second.zip")  # e.g. download then upload: no training in between
    again = StableBaselinesAgent("PPO")
    again.load_from_file(tmp_path / "second.zip")
    np.testing.assert_array_equal(again.normalizer.statistics.obs_rms.mean, training_env.obs_rms.mean)

    again.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    continued = again.normalizer.statistics
    assert continued is not None and continued.training is True
    assert continued.norm_reward is True  # the training-time setting survives the frozen acting copy
    assert continued.obs_rms.count > training_env.obs_rms.count  # statistics keep updating
    assert again.model.num_timesteps == trained.model.num_timesteps + 32


def test_saving_without_normalizer_removes_a_stale_statistics_file(trained_ppo_agent, tmp_path):
    normalizer_path(tmp_path / "agent.zip").write_bytes(b"stale")
    trained_ppo_agent.save_to_file(tmp_path / "agent.zip")
    assert leftovers(tmp_path) == ["agent.zip"]


def test_a_pickled_statistics_file_beside_a_plain_zip_needs_the_opt_in(trained_ppo_agent, tmp_path):
    trained_ppo_agent.model.save(tmp_path / "agent.zip")  # a zip of an earlier rl_framework: no JSON member
    normalizer_path(tmp_path / "agent.zip").write_bytes(b"not a pickle")
    agent = StableBaselinesAgent("PPO")
    with pytest.raises(UnsafeContentError, match=r"pickle '.*agent\.vecnormalize\.pkl'.*pass allow_pickle=True"):
        agent.load_from_file(tmp_path / "agent.zip")
    with pytest.raises(ValueError, match=r"Could not read normaliser statistics from '.*agent\.vecnormalize\.pkl'"):
        agent.load_from_file(tmp_path / "agent.zip", allow_pickle=True)
    assert agent.model is None


def test_a_legacy_statistics_file_loads_with_the_opt_in_and_converts_on_save(vecnormalize_agent, tmp_path):
    trained, training_env = vecnormalize_agent
    trained.model.save(tmp_path / "old.zip")  # what earlier versions wrote: SB3's zip plus VecNormalize.save
    detached = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    detached.obs_rms, detached.ret_rms = training_env.obs_rms, training_env.ret_rms
    detached.save(str(normalizer_path(tmp_path / "old.zip")))
    agent = StableBaselinesAgent.from_file(tmp_path / "old.zip", allow_pickle=True)
    np.testing.assert_array_equal(agent.normalizer.statistics.obs_rms.mean, training_env.obs_rms.mean)
    np.testing.assert_array_equal(deterministic_actions(agent), deterministic_actions(trained))
    agent.save_to_file(tmp_path / "old.zip")  # now one pickle-free file
    assert leftovers(tmp_path) == ["old.zip"]
    again = StableBaselinesAgent.from_file(tmp_path / "old.zip")
    np.testing.assert_array_equal(deterministic_actions(again), deterministic_actions(trained))


def test_continuing_on_a_different_number_of_environments_keeps_weights_and_step_count(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
    assert agent.model is not None
    steps_before = agent.model.num_timesteps
    weights_before = {name: value.clone() for name, value in agent.model.policy.state_dict().items()}
    at_rebuild: dict[str, torch.Tensor] = {}

    class WeightsAtStart(BaseCallback):
        """Copies the rebuilt model's weights before its first update."""

        def _on_training_start(self) -> None:
            at_rebuild.update({name: value.clone() for name, value in self.model.policy.state_dict().items()})

        def _on_step(self) -> bool:
            return True

    agent.train("CartPole-v1", n_envs=4, total_timesteps=128, progress_bar=False, callback=WeightsAtStart())

    assert agent.model.n_envs == 4
    assert agent.model.num_timesteps >= steps_before + 128
    # The rebuilt model started from the trained weights, not from a fresh initialisation, then trained on:
    assert at_rebuild.keys() == weights_before.keys()
    assert all(torch.equal(weights_before[name], value) for name, value in at_rebuild.items())
    assert any(not torch.equal(weights_before[name], value) for name, value in agent.model.policy.state_dict().items())
