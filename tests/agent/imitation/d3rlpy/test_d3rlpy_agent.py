"""D3rlpyAgent: every algorithm trains, acts, saves and reloads; bad input fails before any work."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import d3rlpy
import gymnasium as gym
import numpy as np
import pytest
import torch
from d3rlpy_settings import CONTINUOUS, DISCRETE, tiny_parameters
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rl_framework.agent import D3rlpyAgent
from rl_framework.data import EpisodeSequence
from rl_framework.util.connector import LocalConnector, LocalDownloadConfig, LocalUploadConfig


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


@pytest.fixture(scope="module")
def trained_cql(cartpole_episodes: EpisodeSequence) -> D3rlpyAgent:
    """DiscreteCQL after 300 gradient steps on two expert CartPole episodes. Read-only."""
    agent = D3rlpyAgent("DiscreteCQL", tiny_parameters("DiscreteCQL"))
    agent.train(cartpole_episodes, "CartPole-v1", total_timesteps=300, progress_bar=False)
    return agent


# -- every algorithm ------------------------------------------------------------------------
@pytest.mark.parametrize("name", DISCRETE + CONTINUOUS)
def test_every_algorithm_trains_acts_and_reloads_identically(
    name: str, cartpole_episodes: EpisodeSequence, pendulum_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    environment, episodes = (
        ("CartPole-v1", cartpole_episodes) if name in DISCRETE else ("Pendulum-v1", pendulum_episodes)
    )
    agent = D3rlpyAgent(name, tiny_parameters(name))
    agent.train(episodes, environment, total_timesteps=5, progress_bar=False)
    observations = observations_of(environment, 20)
    space = gym.make(environment).action_space
    actions = agent.choose_actions(observations, deterministic=True)
    sampled = agent.choose_actions(observations, deterministic=False)
    assert all(space.contains(action) for action in [*actions, *sampled]), (actions, sampled)
    np.testing.assert_array_equal(actions, agent.choose_actions(observations, deterministic=True))
    (path,) = agent.save_to_file(tmp_path / f"{name}.zip")
    reloaded = D3rlpyAgent(name)
    reloaded.load_from_file(path)
    np.testing.assert_array_equal(reloaded.choose_actions(observations, deterministic=True), actions)
    assert reloaded.num_timesteps == agent.num_timesteps == 5


def test_the_agent_learns_from_expert_episodes(trained_cql: D3rlpyAgent) -> None:
    # 300 steps on two expert episodes beat random play (~22) by far (measured: 74.6 with this seed).
    mean_return, _ = trained_cql.evaluate("CartPole-v1", n_eval_episodes=5, seeds=0, progress_bar=False)
    assert mean_return > 50


def test_one_observation_gets_one_action(trained_cql: D3rlpyAgent) -> None:
    observations = observations_of("CartPole-v1", 10)
    action = trained_cql.choose_action(observations[0], deterministic=True)
    assert np.ndim(action) == 0 and action == trained_cql.choose_actions(observations, deterministic=True)[0]


def test_bcq_acts_the_same_for_an_observation_in_any_batch(pendulum_episodes: EpisodeSequence) -> None:
    agent = D3rlpyAgent("BCQ", tiny_parameters("BCQ"))
    agent.train(pendulum_episodes, "Pendulum-v1", total_timesteps=5, progress_bar=False)
    observations = observations_of("Pendulum-v1", 30)
    batched = agent.choose_actions(observations, deterministic=True)
    one_by_one = np.stack([agent.choose_action(observation, deterministic=True) for observation in observations])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5, atol=1e-6)


def test_box_actions_are_scaled_to_the_action_space(pendulum_episodes: EpisodeSequence) -> None:
    agent = D3rlpyAgent("BC", tiny_parameters("BC"))
    agent.train(pendulum_episodes, "Pendulum-v1", total_timesteps=200, progress_bar=False)
    # The damping controller's torques lie in [-2, 2]; outside [-1, 1] they need the MinMaxActionScaler.
    scaler = agent.algorithm.config.action_scaler
    assert isinstance(scaler, d3rlpy.preprocessing.MinMaxActionScaler)
    np.testing.assert_array_equal(scaler.minimum, [-2.0]) and np.testing.assert_array_equal(scaler.maximum, [2.0])


def test_a_second_call_continues_and_the_same_seed_reproduces(cartpole_episodes: EpisodeSequence) -> None:
    agents = [D3rlpyAgent("DiscreteBC", tiny_parameters("DiscreteBC", seed=7)) for _ in range(2)]
    for agent in agents:
        agent.train(cartpole_episodes, "CartPole-v1", total_timesteps=10, progress_bar=False)
    before = [p.detach().clone() for p in agents[0].acting_policy().parameters()]
    agents[0].train(cartpole_episodes, "CartPole-v1", total_timesteps=10, progress_bar=False)
    assert agents[0].num_timesteps == 20 and agents[0].algorithm.grad_step == 20
    assert any(not torch.equal(a, b) for a, b in zip(before, agents[0].acting_policy().parameters(), strict=True))
    for first, second in zip(before, agents[1].acting_policy().parameters(), strict=True):
        torch.testing.assert_close(first, second)


# -- connectors, upload/download, video -----------------------------------------------------
def test_losses_and_checkpoints_go_to_the_connector_and_the_agent_round_trips(
    cartpole_episodes: EpisodeSequence, tmp_path: Path
) -> None:
    connector = LocalConnector(
        LocalUploadConfig(agent_name="cql-cartpole", n_eval_episodes=2), registry_path=tmp_path, checkpoint_frequency=20
    )
    agent = D3rlpyAgent("DiscreteCQL", tiny_parameters("DiscreteCQL"), log_interval=20)
    agent.train(cartpole_episodes, "CartPole-v1", total_timesteps=50, connector=connector, progress_bar=False)
    agent.upload(
        connector,
        evaluation_environment="CartPole-v1",
        video_recording_environment=gym.make("CartPole-v1", render_mode="rgb_array"),
    )
    version = tmp_path / "cql-cartpole" / "v1"
    records = [json.loads(line) for line in (version / "metrics.jsonl").read_text().splitlines()]
    assert [r["timestep"] for r in records if r["name"] == "train/loss"] == [20, 40, 50]
    assert {"train/td_loss", "train/conservative_loss"} <= {r["name"] for r in records}
    assert sorted(path.name for path in (version / "checkpoints").iterdir()) == ["step_20.zip", "step_40.zip"]
    assert (version / "replay.mp4").stat().st_size > 0
    downloaded = D3rlpyAgent("DiscreteCQL")
    downloaded.download(LocalConnector(download_config=LocalDownloadConfig("cql-cartpole"), registry_path=tmp_path))
    observations = observations_of("CartPole-v1", 50)
    np.testing.assert_array_equal(
        downloaded.choose_actions(observations, deterministic=True), agent.choose_actions(observations, True)
    )


def test_the_file_holds_json_and_tensors_only(trained_cql: D3rlpyAgent, tmp_path: Path) -> None:
    (path,) = trained_cql.save_to_file(tmp_path / "agent.zip")
    with zipfile.ZipFile(path) as zipped:
        header = json.loads(zipped.read("rl_framework_d3rlpy.json"))
        weights = torch.load(zipped.open("weights.pt"), weights_only=True)  # loads without unpickling objects
    assert header["algorithm"] == "DiscreteCQL" and header["config"]["config"]["type"] == "discrete_cql"
    assert header["action_space"] == {"type": "Discrete", "n": 2, "start": 0}
    assert {"q_funcs", "targ_q_funcs", "optim"} <= set(weights)


def test_parameters_given_on_load_override_the_stored_ones(trained_cql: D3rlpyAgent, tmp_path: Path) -> None:
    (path,) = trained_cql.save_to_file(tmp_path / "agent.zip")
    reloaded = D3rlpyAgent("DiscreteCQL")
    reloaded.load_from_file(path, {"learning_rate": 1e-4})
    optimizer = reloaded.algorithm.impl.modules.optim
    assert reloaded.algorithm.config.learning_rate == 1e-4
    assert all(group["lr"] == 1e-4 for group in optimizer.param_groups)
    assert optimizer.state  # the optimiser's moments came from the file


# -- bad input ------------------------------------------------------------------------------
def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="Unknown d3rlpy algorithm 'CQLX'.*BC, BCQ, CQL, DiscreteBC"):
        D3rlpyAgent("CQLX")
    assert D3rlpyAgent(d3rlpy.algos.DiscreteCQLConfig).algorithm_name == "DiscreteCQL"
    assert D3rlpyAgent(d3rlpy.algos.IQL).algorithm_name == "IQL"
    assert D3rlpyAgent("discretecql").algorithm_name == "DiscreteCQL"


def test_misspelt_and_misplaced_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'learningrate' for DiscreteCQL.*learning_rate"):
        D3rlpyAgent("DiscreteCQL", {"learningrate": 1e-3})
    with pytest.raises(ValueError, match="DiscreteBC picks discrete actions.*remove action_scaler"):
        D3rlpyAgent("DiscreteBC", {"action_scaler": d3rlpy.preprocessing.MinMaxActionScaler()})


@pytest.mark.parametrize(
    ("name", "environment", "message"),
    [
        ("CQL", "CartPole-v1", r"CQL learns Box actions .* Use D3rlpyAgent\('DiscreteCQL'\)"),
        ("DiscreteBCQ", "Pendulum-v1", r"DiscreteBCQ learns Discrete actions .* Use D3rlpyAgent\('BCQ'\)"),
        ("IQL", "CartPole-v1", r"IQL learns Box actions .* Algorithms for Discrete actions: DiscreteCQL"),
    ],
)
def test_the_wrong_action_space_names_the_algorithm_to_use(
    name: str, environment: str, message: str, cartpole_episodes: EpisodeSequence, pendulum_episodes: EpisodeSequence
) -> None:
    episodes = cartpole_episodes if environment == "CartPole-v1" else pendulum_episodes
    agent = D3rlpyAgent(name)
    with pytest.raises(ValueError, match=message):
        agent.train(episodes, environment, total_timesteps=1, progress_bar=False)
    assert agent.algorithm is None and agent.num_timesteps == 0


class ShiftedActions(gym.ActionWrapper):
    """CartPole with actions numbered 1 and 2."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.action_space = gym.spaces.Discrete(2, start=1)

    def action(self, action: int) -> int:
        return int(action) - 1


class MatrixActions(gym.ActionWrapper):
    """Pendulum with its torque as a 1x1 matrix."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.action_space = gym.spaces.Box(-2.0, 2.0, (1, 1), np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        return np.reshape(action, (1,))


def test_action_spaces_d3rlpy_cannot_index_are_refused() -> None:
    shifted_env = ShiftedActions(gym.make("CartPole-v1"))
    shifted = EpisodeSequence.from_agent(lambda observation: 1, shifted_env, n_episodes=1, seed=0)
    with pytest.raises(ValueError, match=r"learns actions 0 \.\. n-1 .* starts at 1\. Wrap the environment"):
        D3rlpyAgent("DiscreteBC").train(shifted, shifted_env, total_timesteps=1, progress_bar=False)
    matrix_env = MatrixActions(gym.make("Pendulum-v1"))
    episodes = EpisodeSequence.from_agent(lambda observation: np.zeros((1, 1), np.float32), matrix_env, 1, seed=0)
    with pytest.raises(ValueError, match=r"CQL needs a 1-D Box action space .* gymnasium.ActionWrapper"):
        D3rlpyAgent("CQL").train(episodes, matrix_env, total_timesteps=1, progress_bar=False)


def test_vecnormalize_and_other_spaces_are_refused(
    cartpole_episodes: EpisodeSequence, trained_cql: D3rlpyAgent
) -> None:
    with pytest.raises(ValueError, match="cannot train on a VecNormalize environment"):
        D3rlpyAgent("DiscreteCQL").train(
            cartpole_episodes, VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")])), total_timesteps=1
        )
    mountain_car = EpisodeSequence.from_agent(lambda observation: 0, "MountainCar-v0", n_episodes=1, seed=0)
    with pytest.raises(ValueError, match=r"The agent's DiscreteCQL .*\(4,\).*\(2,\)"):
        trained_cql.train(mountain_car, "MountainCar-v0", total_timesteps=1, progress_bar=False)


def test_acting_before_training_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"no trained algorithm yet: call train\(...\) or load_from_file"):
        D3rlpyAgent("IQL").choose_action(np.zeros(3, np.float32))


def test_wrong_observation_shape_is_refused(trained_cql: D3rlpyAgent) -> None:
    with pytest.raises(ValueError, match=r"Expected observations of shape \(4,\).*shape \(2, 3\)"):
        trained_cql.choose_actions(np.zeros((2, 3), np.float32))


def test_failed_loads_change_nothing(trained_cql: D3rlpyAgent, tmp_path: Path) -> None:
    (path,) = trained_cql.save_to_file(tmp_path / "agent.zip")
    agent = D3rlpyAgent("DiscreteCQL")
    agent.load_from_file(path)
    algorithm = agent.algorithm
    with pytest.raises(FileNotFoundError, match="No agent file at"):
        agent.load_from_file(tmp_path / "missing.zip")
    (tmp_path / "foreign.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a D3rlpyAgent file"):
        agent.load_from_file(tmp_path / "foreign.zip")
    with pytest.raises(
        ValueError, match=r"holds a DiscreteCQL agent but this agent is DiscreteBC.*D3rlpyAgent\('DiscreteCQL'\)"
    ):
        D3rlpyAgent("DiscreteBC").load_from_file(path)
    with pytest.raises(ValueError, match="observation_scaler cannot change on load"):
        agent.load_from_file(path, {"observation_scaler": d3rlpy.preprocessing.StandardObservationScaler()})
    with pytest.raises(ValueError, match="stored weights no longer fit"):
        agent.load_from_file(path, {"n_critics": 3})
    assert agent.algorithm is algorithm


def test_the_backend_loads_on_first_access_without_the_old_gym_banner() -> None:
    # SB3 itself imports gym when installed (its banner comes before the marker); dropping gym shows ours.
    script = (
        "import sys\nimport rl_framework.agent\nassert 'd3rlpy' not in sys.modules and 'onnx' not in sys.modules\n"
        "print('MARKER', file=sys.stderr)\n"
        "for name in [n for n in sys.modules if n == 'gym' or n.startswith('gym.')]:\n    del sys.modules[name]\n"
        "from rl_framework.agent import D3rlpyAgent\nassert 'gym' in sys.modules and 'd3rlpy' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "Gym has been unmaintained" not in result.stderr.split("MARKER")[1]
