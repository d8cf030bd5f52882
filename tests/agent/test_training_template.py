"""The training template of ``RLAgent``/``ILAgent``: every agent gets the same prologue and load contract.

Each test here pins one drift the architecture review found between the agents at bd7f125
(section C): the base now owns the prologue, so the agents cannot drift apart again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl_framework.agent import ImitationAgent, StableBaselinesAgent
from rl_framework.data import EpisodeSequence
from rl_framework.util.connector.base import Connector
from rl_framework.util.threads import STARTUP_THREADS

TINY_LEARNER = {"n_steps": 32, "batch_size": 32, "n_epochs": 1}


class DeniedConnector(Connector):
    """A connector whose upload target refuses us (e.g. a read-only token)."""

    def check_access(self) -> None:
        raise PermissionError("read-only token: use a token with write access")

    def upload(self, agent, evaluation_environment=None, video_recording_environment=None) -> str:
        raise AssertionError("never reached")

    def download(self) -> Path:
        raise AssertionError("never reached")

    def log_value(self, name: str, value: float, timestep: int) -> None:
        raise AssertionError("no training may happen")

    def save_checkpoint(self, agent, timestep: int) -> None:
        raise AssertionError("no training may happen")


class Counted(gym.Wrapper):
    """Counts steps and records whether someone closed the env."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.steps = 0
        self.closed = False

    def step(self, action: Any) -> Any:
        self.steps += 1
        return self.env.step(action)

    def close(self) -> None:
        self.closed = True
        super().close()


def imitation_parameters(name: str, expert: Any) -> dict[str, Any]:
    return {
        "BC": {"batch_size": 32, "seed": 0},
        "DAgger": {"expert": expert, "batch_size": 32, "seed": 0},
        "GAIL": {"learner_parameters": TINY_LEARNER, "demo_batch_size": 32, "seed": 0},
    }[name]


@pytest.fixture(scope="module")
def demonstrations() -> EpisodeSequence:
    def expert(observation: np.ndarray) -> int:
        return int(3 * observation[2] + observation[3] > 0)

    return EpisodeSequence.from_agent(expert, "CartPole-v1", n_episodes=2, seed=0)


# -- C1: the connector's access is checked before any work, by every agent ---------------------------
@pytest.mark.parametrize("name", ["BC", "DAgger", "GAIL"])
def test_imitation_agents_check_the_connector_before_training(name, demonstrations, cartpole_expert):
    env = Counted(gym.make("CartPole-v1"))
    agent = ImitationAgent(name, imitation_parameters(name, cartpole_expert))
    with pytest.raises(PermissionError, match="read-only token"):
        agent.train(demonstrations, env, total_timesteps=64, connector=DeniedConnector(), progress_bar=False)
    assert agent.num_timesteps == 0 and env.steps == 0 and agent.trainer.policy is None


def test_rl_agent_checks_the_connector_before_building_environments(tiny_ppo_parameters):
    built: list[int] = []

    def factory() -> gym.Env:
        built.append(1)
        return gym.make("CartPole-v1")

    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(PermissionError, match="read-only token"):
        agent.train(factory, total_timesteps=64, connector=DeniedConnector(), progress_bar=False)
    assert built == [] and agent.model is None


# -- C2: training never closes the user's own environments -------------------------------------------
def test_imitation_training_leaves_the_users_environment_open(demonstrations):
    env = Counted(gym.make("CartPole-v1"))
    ImitationAgent("BC", {"batch_size": 32}).train(demonstrations, env, total_timesteps=64, progress_bar=False)
    assert not env.closed
    env.reset(seed=0)
    env.step(0)  # still usable


def test_environments_built_for_training_are_closed(tiny_ppo_parameters):
    made: list[Counted] = []

    def factory() -> gym.Env:
        made.append(Counted(gym.make("CartPole-v1")))
        return made[-1]

    StableBaselinesAgent("PPO", tiny_ppo_parameters).train(factory, total_timesteps=32, n_envs=2, progress_bar=False)
    assert len(made) == 2 and all(env.closed for env in made)


# -- C3: one load contract: read everything, then swap; parameters merge ----------------------------
def test_a_failed_imitation_load_changes_nothing(demonstrations, tmp_path):
    agent = ImitationAgent("BC", {"batch_size": 32, "seed": 3})
    agent.train(demonstrations, "CartPole-v1", total_timesteps=64, progress_bar=False)
    before = {key: value.clone() for key, value in agent.acting_policy().state_dict().items()}
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 not a zip")
    other = tmp_path / "gail.zip"
    gail = ImitationAgent("GAIL", {"learner_parameters": TINY_LEARNER, "demo_batch_size": 32})
    gail.train(demonstrations, "CartPole-v1", total_timesteps=32, progress_bar=False)
    gail.save_to_file(other)
    for bad in (corrupt, other, tmp_path / "missing.zip"):
        with pytest.raises((ValueError, FileNotFoundError)):
            agent.load_from_file(bad, algorithm_parameters={"batch_size": 64})
        assert agent.num_timesteps == 64 and agent.algorithm_parameters == {"batch_size": 32, "seed": 3}
        after = agent.acting_policy().state_dict()
        assert all(torch.equal(before[key], after[key]) for key in before)


@pytest.mark.parametrize("agent_type", ["sb3", "imitation"])
def test_load_merges_parameters_over_the_stored_ones(agent_type, demonstrations, tmp_path, tiny_ppo_parameters):
    if agent_type == "sb3":
        agent: Any = StableBaselinesAgent("PPO", {**tiny_ppo_parameters, "seed": 3})
        agent.train("CartPole-v1", total_timesteps=32, progress_bar=False)
        override, kept = {"learning_rate": 0.01}, "seed"
    else:
        agent = ImitationAgent("BC", {"batch_size": 32, "seed": 3})
        agent.train(demonstrations, "CartPole-v1", total_timesteps=32, progress_bar=False)
        override, kept = {"batch_size": 64}, "seed"
    [path, *_] = agent.save_to_file(tmp_path / "agent.zip")
    agent.load_from_file(path, algorithm_parameters=override)
    assert agent.algorithm_parameters[kept] == 3
    assert all(agent.algorithm_parameters[key] == value for key, value in override.items())


# -- C4: numbers are accepted the same way everywhere -----------------------------------------------
def test_numpy_integers_are_accepted_everywhere(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    agent.train("CartPole-v1", total_timesteps=np.int64(32), n_envs=np.int64(2), progress_bar=False)
    assert agent.model is not None and agent.model.n_envs == 2
    result = agent.evaluate_episodes("CartPole-v1", n_eval_episodes=np.int32(2), progress_bar=False)
    assert len(result.episode_returns) == 2


# -- C5: names rl_framework sets itself are refused at construction ---------------------------------
@pytest.mark.parametrize("reserved", ["env", "_init_setup_model"])
def test_reserved_sb3_parameters_are_refused_at_construction(reserved):
    with pytest.raises(ValueError, match=f"must not contain '{reserved}' for PPO"):
        StableBaselinesAgent("PPO", {reserved: "CartPole-v1"})


@pytest.mark.parametrize("reserved", ["venv", "demonstrations", "rng"])
def test_reserved_imitation_parameters_are_refused_at_construction(reserved):
    with pytest.raises(ValueError, match=f"must not contain '{reserved}' for GAIL: rl_framework sets it"):
        ImitationAgent("GAIL", {reserved: None})


# -- the CPU thread policy -----------------------------------------------------------------------------
class ThreadProbe:
    """An SB3 callback function that records torch's thread count while training runs."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def __call__(self, local_variables: dict, global_variables: dict) -> bool:
        self.seen.add(torch.get_num_threads())
        return True


def test_small_policies_train_on_one_thread_and_a_users_choice_wins(tiny_ppo_parameters, monkeypatch):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    before = torch.get_num_threads()
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    try:
        torch.set_num_threads(STARTUP_THREADS)  # nobody chose a count: torch's start-up default
        default = ThreadProbe()
        agent.train("CartPole-v1", total_timesteps=32, callback=default, progress_bar=False)
        assert default.seen == {1} and torch.get_num_threads() == STARTUP_THREADS  # restored afterwards

        explicit = ThreadProbe()
        agent.train("CartPole-v1", total_timesteps=32, callback=explicit, progress_bar=False, torch_threads=3)
        assert explicit.seen == {3} and torch.get_num_threads() == STARTUP_THREADS

        torch.set_num_threads(STARTUP_THREADS + 1)  # the user set a count of their own
        user_set = ThreadProbe()
        agent.train("CartPole-v1", total_timesteps=32, callback=user_set, progress_bar=False)
        assert user_set.seen == {STARTUP_THREADS + 1}
    finally:
        torch.set_num_threads(before)


def test_bad_thread_count_is_refused_before_training(tiny_ppo_parameters):
    agent = StableBaselinesAgent("PPO", tiny_ppo_parameters)
    with pytest.raises(ValueError, match="torch_threads must be a positive int"):
        agent.train("CartPole-v1", total_timesteps=32, torch_threads=0, progress_bar=False)
    assert agent.model is None


# -- what ILAgent.train accepts as episodes --------------------------------------------------------
def test_episodes_can_be_a_dataset_path_or_a_list_of_trajectories(demonstrations, tmp_path):
    demonstrations.save(tmp_path / "episodes")
    for given in (tmp_path / "episodes", str(tmp_path / "episodes"), list(demonstrations)):
        agent = ImitationAgent("BC", {"batch_size": 32})
        agent.train(given, "CartPole-v1", total_timesteps=32, progress_bar=False)
        assert agent.num_timesteps == 32


def test_other_episode_inputs_get_a_clear_error():
    with pytest.raises(TypeError, match=r"episode_sequence must be an EpisodeSequence.*EpisodeSequence\.from_dataset"):
        ImitationAgent("BC").train({"obs": []}, "CartPole-v1", total_timesteps=32)
    with pytest.raises(FileNotFoundError):
        ImitationAgent("BC").train("no/such/folder", "CartPole-v1", total_timesteps=32)
