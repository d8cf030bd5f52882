from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from rl_framework.data import EpisodeSequence
from rl_framework.experiment import ExperimentError, load_experiment
from rl_framework.experiment.config import from_dict
from rl_framework.experiment.environments import EnvironmentFactory
from rl_framework.experiment.references import load_agent
from rl_framework.experiment.run import RunFolder, read_metric_lines
from rl_framework.experiment.training import finish_run, run_folder_for, train_from_config
from rl_framework.util.safe_classes import UnsafeContentError

#: The bundled PPO CartPole experiment shrunk to a fraction of a second (short episodes, tiny updates).
TINY = {
    "total_timesteps": 128,
    "n_envs": 2,
    "env_kwargs": {"max_episode_steps": 30},
    "algorithm_parameters.n_steps": 32,
    "algorithm_parameters.batch_size": 32,
    "algorithm_parameters.n_epochs": 1,
    "evaluation.n_episodes": 2,
    "evaluation.frequency": 64,
    "evaluation.seed": 0,
}


def tiny_ppo(**changes):
    return load_experiment("ppo_cartpole", overrides={**TINY, **changes})


def policy_parameters(agent) -> list[np.ndarray]:
    return [value.detach().numpy().copy() for value in agent.acting_policy().state_dict().values()]


def test_a_run_folder_gets_everything_and_its_experiment_repeats_the_run(tmp_path):
    config = tiny_ppo()
    reported: list[int] = []
    agent = train_from_config(config, tmp_path / "run", report=reported.append)
    folder = run_folder_for(config, tmp_path / "run")
    metadata = finish_run(agent, folder)

    names = {name for name, _, _ in read_metric_lines(folder.metrics_file)}
    assert {"episode/return", "eval/mean_return", "eval/std_return", "train/value_loss"} <= names
    assert list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    assert reported[-1] == 128 and reported == sorted(reported)
    evaluation = metadata["evaluation"]
    assert evaluation["n_eval_episodes"] == 2 and len(evaluation["episode_returns"]) == 2
    assert evaluation["iqm_reward"] == pytest.approx(np.mean(evaluation["episode_returns"]))  # n < 4: the mean
    assert metadata["experiment"] == config.to_dict() and metadata["learning_curve"] == "learning_curve.png"
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 10_000
    assert folder.download() == tmp_path / "run" / "agent.zip"

    repeated = load_experiment(tmp_path / "run" / "experiment.yaml")
    assert repeated == config
    again = train_from_config(repeated, tmp_path / "again")
    for first, second in zip(policy_parameters(agent), policy_parameters(again), strict=True):
        np.testing.assert_array_equal(first, second)  # same seed, same file: the same network


def test_normalisation_and_frame_stacking_apply_to_training_evaluation_and_reloading(tmp_path):
    config = tiny_ppo(normalize={"norm_reward": False}, frame_stack=3, tensorboard=False, **{"evaluation.frequency": 0})
    agent = train_from_config(config, tmp_path / "run")
    assert agent.normalizer.statistics is not None
    assert agent.model.observation_space.shape == (3, 4)
    finish_run(agent, run_folder_for(config, tmp_path / "run"))
    assert not (tmp_path / "run" / "tensorboard").exists()

    loaded = load_agent(str(tmp_path / "run"))
    assert loaded.agent.normalizer.statistics is not None  # the statistics travel with the agent file
    assert loaded.experiment["frame_stack"] == 3
    env = EnvironmentFactory.from_experiment(loaded.experiment)()
    observation, _ = env.reset(seed=0)
    assert np.asarray(observation).shape == (3, 4)
    batch = np.stack([np.asarray(observation)] * 2)
    np.testing.assert_array_equal(
        loaded.agent.choose_actions(batch, deterministic=True), agent.choose_actions(batch, deterministic=True)
    )


def test_action_noise_activation_and_train_freq_reach_the_model(tmp_path):
    config = load_experiment("td3_pendulum").with_overrides(
        {
            "total_timesteps": 40,
            "algorithm_parameters.learning_starts": 20,
            "algorithm_parameters.policy_kwargs": {"net_arch": [8], "activation_fn": "Tanh"},
            "algorithm_parameters.train_freq": [1, "episode"],
            "tensorboard": False,
        }
    )
    agent = train_from_config(config)
    assert type(agent.model.action_noise).__name__ == "NormalActionNoise"
    assert agent.model.policy.actor.mu[1].__class__ is torch.nn.Tanh
    assert agent.model.train_freq.unit.value == "episode"
    assert agent.experiment_config == config.to_dict()


def test_a_missing_or_pickled_dataset_fails_before_the_run_folder_is_made(tmp_path, cartpole_expert):
    settings = {"algorithm": "BC", "env": "CartPole-v1", "total_timesteps": 64, "seed": 0}
    with pytest.raises(FileNotFoundError, match="No trajectory dataset at"):
        train_from_config(from_dict({**settings, "episodes": str(tmp_path / "nowhere")}), tmp_path / "run")
    legacy = tmp_path / "old.pkl"
    legacy.write_bytes(pickle.dumps(list(EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=1))))
    config = from_dict({**settings, "episodes": str(legacy)})
    with pytest.raises(UnsafeContentError, match="allow_pickle=True"):
        train_from_config(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    agent = train_from_config(config, tmp_path / "run", allow_pickle=True)  # the opt-in, for this call only
    assert agent.num_timesteps >= 64 and "allow_pickle" not in (tmp_path / "run" / "experiment.yaml").read_text()


def test_imitation_learns_from_recorded_episodes_with_progress(tmp_path, cartpole_expert):
    EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=2, seed=0).save(tmp_path / "episodes")
    config = from_dict(
        {"algorithm": "BC", "env": "CartPole-v1", "total_timesteps": 64, "seed": 0, "episodes": str(tmp_path / "ep")}
    ).with_overrides({"episodes": str(tmp_path / "episodes")})
    reported: list[int] = []
    agent = train_from_config(config, tmp_path / "run", report=reported.append)
    assert agent.algorithm_name == "BC" and reported  # BC's logged sample count drives the report
    metadata = finish_run(agent, run_folder_for(config, tmp_path / "run"))
    assert metadata["algorithm"] == "BC" and metadata["experiment"]["episodes"] == str(tmp_path / "episodes")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"algorithm": "PPO2"}, r"Unknown algorithm 'PPO2'\. Reinforcement learning: PPO, .*imitation learning: BC"),
        ({"env": "CartPol-v1"}, r"Unknown environment 'CartPol-v1'.*Did you mean CartPole-v1"),
        ({"algorithm": "GAIL"}, r"GAIL learns from recorded episodes: set episodes"),
        ({"algorithm": "BC", "episodes": "x", "normalize": True}, "imitation algorithms learn from raw"),
        ({"normalize": {"norm_everything": True}}, r"normalize: .*norm_everything.*VecNormalize's arguments"),
        ({"algorithm_parameters.n_step": 8}, r"unknown parameter\(s\) 'n_step' for PPO"),
    ],
)
def test_bad_experiments_fail_before_training_naming_the_problem(tmp_path, changes, match):
    with pytest.raises((ExperimentError, ValueError), match=match):
        train_from_config(tiny_ppo(**changes), tmp_path / "run")
    assert not list((tmp_path / "run").glob("*.zip"))


def test_a_run_without_a_saved_agent_says_how_to_finish_it(tmp_path):
    folder = RunFolder(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="did not finish.*rl-framework train --config"):
        folder.download()
    folder.log_value("episode/return", 1.0, 5)
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text())["timestep"] == 5


def test_run_folder_paths_are_numbered(tmp_path):
    from rl_framework.experiment.run import new_run_folder

    assert new_run_folder(tmp_path, "ppo-CartPole-v1") == tmp_path / "ppo-CartPole-v1-1"
    assert new_run_folder(tmp_path, "ppo-CartPole-v1") == tmp_path / "ppo-CartPole-v1-2"
    assert new_run_folder(tmp_path, "ppo-ALE/Pong-v5") == tmp_path / "ppo-ALE-Pong-v5-1"
    assert Path(tmp_path / "ppo-ALE-Pong-v5-1").is_dir()
