"""``--allow-pickle``: legacy pickle files are refused on the command line too, unless the user opts in."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rl_framework.agent import StableBaselinesAgent
from rl_framework.agent.reinforcement.normalization import normalizer_path
from rl_framework.data import EpisodeSequence


def test_an_agent_with_a_pickled_normaliser_loads_only_with_allow_pickle(invoke, tmp_path):
    normalized = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    model = PPO("MlpPolicy", normalized, n_steps=32, batch_size=32, n_epochs=1, seed=0).learn(32)
    model.save(tmp_path / "old.zip")  # what earlier rl_framework versions wrote: SB3's zip ...
    normalized.save(str(normalizer_path(tmp_path / "old.zip")))  # ... and VecNormalize's pickle beside it
    arguments = ("old.zip", "-a", "PPO", "-e", "CartPole-v1")

    push = ("push", "--to", "local", "--name", "old-ppo", "-n", "2", "--no-video")
    for command in (("evaluate", "-n", "2"), ("record", "--steps", "5", "--out", "clip.gif"), push):
        refused = invoke(command[0], *arguments, *command[1:], expect=1)
        assert "old.vecnormalize.pkl" in refused.output and "Unpickling runs whatever code" in refused.output
        assert "On the command line: add --allow-pickle (only for files you trust)." in refused.output
    assert not (tmp_path / "clip.gif").exists() and not (tmp_path / "registry").exists()  # refused before any work

    assert "old on CartPole-v1 (deterministic)" in invoke("evaluate", *arguments, "-n", "2", "--allow-pickle").output
    invoke("record", *arguments, "--steps", "5", "--out", "clip.gif", "--allow-pickle")
    assert (tmp_path / "clip.gif").read_bytes()[:3] == b"GIF"
    invoke(push[0], *arguments, *push[1:], "--allow-pickle")
    assert "old-ppo" in invoke("list").output  # the registry copy is pickle-free: no flag needed to read it
    assert "old-ppo:v1 on CartPole-v1" in invoke("evaluate", "old-ppo:1", "-n", "2").output
    (copy,) = (tmp_path / "registry" / "old-ppo" / "v1").glob("*.zip")
    statistics = StableBaselinesAgent.from_file(copy).normalizer.statistics  # carried over, now as JSON in the zip
    assert statistics is not None
    np.testing.assert_array_equal(statistics.obs_rms.mean, normalized.obs_rms.mean)


def test_imitate_reads_a_pickled_dataset_only_with_allow_pickle(invoke, tmp_path, cartpole_expert):
    trajectories = list(EpisodeSequence.from_agent(cartpole_expert, "CartPole-v1", n_episodes=2, seed=0))
    (tmp_path / "old.pkl").write_bytes(pickle.dumps(trajectories))  # imitation's oldest dataset format
    arguments = ("imitate", "-a", "BC", "-e", "CartPole-v1", "--episodes", "old.pkl", "-n", "64")
    arguments += ("--set", "evaluation.n_episodes=2", "--output", "bc-run")

    refused = invoke(*arguments, expect=1)
    assert "old.pkl' is a file" in refused.output and "add --allow-pickle" in refused.output
    assert not (tmp_path / "bc-run").exists()  # refused before the run folder was made

    trained = invoke(*arguments[:-1], "bc-run-2", "--allow-pickle")
    assert "CartPole-v1:" in trained.output and (tmp_path / "bc-run-2" / "agent.zip").is_file()


def test_commands_that_read_no_agent_file_have_no_such_flag(invoke):
    listing = invoke("list", "--allow-pickle", expect=2)
    assert "No such option '--allow-pickle'" in listing.output
