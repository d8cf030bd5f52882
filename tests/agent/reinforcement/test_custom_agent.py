"""CustomAgent with tabular Q-learning: real learning on FrozenLake, auto-reset handling, files, errors."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rl_framework.agent import CustomAgent
from rl_framework.agent.reinforcement.custom_algorithms.q_learning import QLearning, QLearningParameters

FROZEN_LAKE = {"id": "FrozenLake-v1", "is_slippery": False}
ALL_STATES = np.arange(16)


def frozen_lake() -> gym.Env:
    return gym.make(**FROZEN_LAKE)


@pytest.fixture(scope="module")
def trained_agent() -> CustomAgent:
    """Q-learning trained for 3,000 FrozenLake steps (well past what it needs). Read-only."""
    agent = CustomAgent("Q-Learning", {"seed": 0})
    agent.train(frozen_lake(), total_timesteps=3_000, progress_bar=False)
    return agent


class TwoStates(gym.Env):
    """State 0 -> state 1 (reward 0), then state 1 -> state 1 (reward 1) until the time limit or termination.

    With the 2-step time limit every episode ends in state 1, and the VecEnv's auto-reset hands out
    state 0 as the next observation. Q-learning (gamma 0.5, learning rate 1) must reach Q[1] = 2 when
    it bootstraps a truncated episode from the true last state 1 (1 / (1 - gamma)), Q[1] = 4/3 if it
    bootstrapped from the reset state 0 instead, and Q[1] = 1 for a real termination.
    """

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, terminate: bool = False) -> None:
        self.terminate = terminate
        self.state = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.state = 0
        return 0, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        reward = float(self.state == 1)
        terminated = self.terminate and self.state == 1
        self.state = 1
        return 1, reward, terminated, False, {}


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def two_states(terminate: bool) -> gym.Env:
    return gym.wrappers.TimeLimit(TwoStates(terminate), max_episode_steps=2)


# -- learning -----------------------------------------------------------------------------------
def test_q_learning_solves_frozen_lake(trained_agent: CustomAgent) -> None:
    mean_reward, std_reward = trained_agent.evaluate(frozen_lake(), n_eval_episodes=10, progress_bar=False)
    assert (mean_reward, std_reward) == (1.0, 0.0)
    assert trained_agent.num_timesteps == 3_000
    # the greedy path from the start reaches the goal in the 6 steps of a shortest path
    result = trained_agent.evaluate_episodes(frozen_lake(), n_eval_episodes=2, progress_bar=False)
    assert result.episode_lengths.tolist() == [6, 6]


def test_learns_on_several_environments_at_once() -> None:
    agent = CustomAgent("QLearning", {"seed": 1})
    agent.train(frozen_lake, n_envs=4, total_timesteps=4_000, progress_bar=False)
    assert agent.num_timesteps == 4_000
    assert agent.evaluate(frozen_lake(), n_eval_episodes=4, progress_bar=False)[0] == 1.0


@pytest.mark.parametrize(("terminate", "expected"), [(False, [1.0, 2.0]), (True, [0.5, 1.0])])
def test_truncation_bootstraps_from_the_true_last_observation(terminate: bool, expected: list[float]) -> None:
    agent = CustomAgent("Q-Learning", {"learning_rate": 1.0, "gamma": 0.5, "seed": 0})
    agent.train(lambda: two_states(terminate), total_timesteps=200, progress_bar=False)
    assert isinstance(agent.algorithm, QLearning)
    np.testing.assert_allclose(agent.algorithm.q_table[:, 0], expected)


def test_second_call_continues_training_and_the_schedule() -> None:
    agent = CustomAgent("Q-Learning", {"seed": 0, "exploration_fraction": 1.0, "epsilon_end": 0.1})
    agent.train(frozen_lake(), total_timesteps=500, progress_bar=False)
    assert isinstance(agent.algorithm, QLearning)
    table = agent.algorithm.q_table.copy()
    assert agent.algorithm.exploration_rate == pytest.approx(0.1)
    agent.train(frozen_lake(), total_timesteps=500, progress_bar=False)
    assert agent.num_timesteps == 1_000
    assert not np.array_equal(agent.algorithm.q_table, table)  # the same table learned on
    assert agent.algorithm.exploration_rate == pytest.approx(0.1)  # the schedule spans both calls
    with pytest.raises(ValueError, match=r"expects the observation space Discrete\(16\) but the environment has"):
        agent.train(gym.make("FrozenLake-v1", map_name="8x8"), total_timesteps=10, progress_bar=False)


def test_same_seed_learns_the_same_table() -> None:
    tables = []
    for seed in (3, 3, 4):
        agent = CustomAgent("Q-Learning", {"seed": seed})
        agent.train(frozen_lake(), total_timesteps=300, progress_bar=False)
        assert agent.algorithm is not None
        tables.append(agent.algorithm.state()[1]["q_table"])
    assert np.array_equal(tables[0], tables[1]) and not np.array_equal(tables[0], tables[2])


def test_epsilon_schedules() -> None:
    spaces = (gym.spaces.Discrete(3), gym.spaces.Discrete(2))
    linear = QLearning(*spaces, QLearningParameters(epsilon_start=1.0, epsilon_end=0.0, exploration_fraction=0.5))
    exponential = QLearning(
        *spaces,
        QLearningParameters(
            epsilon_start=1.0, epsilon_end=0.01, exploration_fraction=0.5, epsilon_schedule="exponential"
        ),
    )
    for algorithm in (linear, exponential):
        algorithm.start_training(100)
    rates = []
    for step in (0, 25, 50, 100):
        linear.num_timesteps = exponential.num_timesteps = step
        rates.append([linear.exploration_rate, exponential.exploration_rate])
    np.testing.assert_allclose(rates, [[1.0, 1.0], [0.5, 0.1], [0.0, 0.01], [0.0, 0.01]])


def test_progress_bar_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    CustomAgent("Q-Learning").train(frozen_lake(), total_timesteps=50)
    assert "50/50" in capsys.readouterr().err


# -- acting -------------------------------------------------------------------------------------
def test_acting_greedy_batched_and_exploring(trained_agent: CustomAgent) -> None:
    assert trained_agent.algorithm is not None
    greedy = trained_agent.choose_actions(ALL_STATES, deterministic=True)
    np.testing.assert_array_equal(greedy, trained_agent.algorithm.q_table.argmax(axis=1))
    assert trained_agent.choose_action(np.int64(14), deterministic=True) == 2  # right, into the goal
    assert trained_agent.choose_action(14, deterministic=True).shape == ()
    exploring = CustomAgent("Q-Learning", {"epsilon_end": 1.0, "seed": 0})
    exploring.algorithm = QLearning(gym.spaces.Discrete(16), gym.spaces.Discrete(4), exploring.parameters)
    assert set(exploring.choose_actions(np.zeros(400, dtype=np.int64)).tolist()) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match=r"Observations \[16\] are outside the agent's observation space"):
        trained_agent.choose_actions(np.array([16]), deterministic=True)
    with pytest.raises(ValueError, match="outside the agent's observation space"):
        trained_agent.choose_actions(np.array([-1]), deterministic=True)
    with pytest.raises(RuntimeError, match=r"no trained QLearning yet: call train\(...\) or load_from_file"):
        CustomAgent().choose_action(0)


# -- files --------------------------------------------------------------------------------------
def test_save_and_load_round_trip_without_pickle(trained_agent: CustomAgent, tmp_path) -> None:
    assert trained_agent.save_to_file(tmp_path / "agent.zip") == [tmp_path / "agent.zip"]
    with zipfile.ZipFile(tmp_path / "agent.zip") as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "rl_framework_custom.json"]
        header = json.loads(archive.read("rl_framework_custom.json"))
        with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as arrays:
            assert arrays["q_table"].shape == (16, 4)
    assert header["algorithm_parameters"]["seed"] == 0 and header["state"]["num_timesteps"] == 3_000

    restored = CustomAgent("qlearning", {"learning_rate": 0.9})
    restored.load_from_file(tmp_path / "agent.zip", algorithm_parameters={"gamma": 0.9})
    np.testing.assert_array_equal(
        restored.choose_actions(ALL_STATES, deterministic=True),
        trained_agent.choose_actions(ALL_STATES, deterministic=True),
    )
    # merged over the stored parameters (not over the constructor's)
    assert restored.algorithm_parameters["gamma"] == 0.9 and restored.algorithm_parameters["learning_rate"] == 0.5
    assert restored.num_timesteps == 3_000
    restored.train(frozen_lake(), total_timesteps=100, progress_bar=False)
    assert restored.num_timesteps == 3_100


def test_the_random_stream_continues_after_loading(trained_agent: CustomAgent, tmp_path) -> None:
    trained_agent.save_to_file(tmp_path / "agent.zip")
    first, second = CustomAgent(), CustomAgent()
    first.load_from_file(tmp_path / "agent.zip")
    second.load_from_file(tmp_path / "agent.zip")
    batch = np.zeros(50, dtype=np.int64)
    np.testing.assert_array_equal(first.choose_actions(batch), second.choose_actions(batch))
    reseeded = CustomAgent()
    reseeded.load_from_file(tmp_path / "agent.zip", algorithm_parameters={"seed": 1, "epsilon_end": 1.0})
    first.load_from_file(tmp_path / "agent.zip", algorithm_parameters={"epsilon_end": 1.0})
    assert not np.array_equal(first.choose_actions(batch), reseeded.choose_actions(batch))


def test_a_failed_load_changes_nothing(trained_agent: CustomAgent, tmp_path) -> None:
    trained_agent.save_to_file(tmp_path / "agent.zip")
    agent = CustomAgent("Q-Learning", {"seed": 5})
    agent.load_from_file(tmp_path / "agent.zip")
    assert agent.algorithm is not None
    before = (agent.algorithm, dict(agent.algorithm_parameters))

    (tmp_path / "corrupt.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="Could not load a CustomAgent from .*corrupt.zip.*written by"):
        agent.load_from_file(tmp_path / "corrupt.zip")
    with zipfile.ZipFile(tmp_path / "sb3.zip", "w") as archive:  # another library's zip
        archive.writestr("data", "{}")
    with pytest.raises(ValueError, match="Could not load a CustomAgent from .*sb3.zip"):
        agent.load_from_file(tmp_path / "sb3.zip")
    with zipfile.ZipFile(tmp_path / "agent.zip") as source, zipfile.ZipFile(tmp_path / "other.zip", "w") as target:
        header = json.loads(source.read("rl_framework_custom.json"))
        target.writestr("rl_framework_custom.json", json.dumps({**header, "format_version": 99}))
        target.writestr("arrays.npz", source.read("arrays.npz"))
    with pytest.raises(ValueError, match="header says format 'rl_framework.CustomAgent' v99"):
        agent.load_from_file(tmp_path / "other.zip")
    with zipfile.ZipFile(tmp_path / "agent.zip") as source, zipfile.ZipFile(tmp_path / "small.zip", "w") as target:
        target.writestr("rl_framework_custom.json", source.read("rl_framework_custom.json"))
        target.writestr("arrays.npz", _npz(q_table=np.zeros((4, 4))))  # a table of the wrong size
    with pytest.raises(ValueError, match=r"its state is inconsistent \(the Q-table has shape \(4, 4\)"):
        agent.load_from_file(tmp_path / "small.zip")
    with pytest.raises(ValueError, match="unknown parameter.*'alpha'.*Valid names: epsilon_end"):
        agent.load_from_file(tmp_path / "agent.zip", algorithm_parameters={"alpha": 0.1})
    with pytest.raises(FileNotFoundError, match="No agent file at"):
        agent.load_from_file(tmp_path / "missing.zip")

    class OtherQLearning(QLearning):
        pass

    with pytest.raises(ValueError, match="holds a .*q_learning:QLearning agent, but this agent runs .*OtherQLearning"):
        CustomAgent(OtherQLearning).load_from_file(tmp_path / "agent.zip")
    assert (agent.algorithm, agent.algorithm_parameters) == before


def test_save_before_training_says_what_to_do(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="call train"):
        CustomAgent().save_to_file(tmp_path / "agent.zip")
    assert not (tmp_path / "agent.zip").exists()


# -- refused input ------------------------------------------------------------------------------
class BoxActions(gym.Env):
    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        return 0, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        raise AssertionError("training must stop before the first step")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ("CartPole-v1", r"needs a Discrete observation space, but the environment has Box.*Discretize.*DQN"),
        (BoxActions, r"needs a Discrete action space, but the environment has Box.*StableBaselinesAgent\('PPO'\)"),
    ],
)
def test_unsupported_spaces_are_refused_before_training(environment: Any, message: str) -> None:
    agent = CustomAgent("Q-Learning")
    with pytest.raises(ValueError, match=message):
        agent.train(environment, total_timesteps=10, progress_bar=False)
    assert agent.algorithm is None and agent.num_timesteps == 0


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (("Sarsa",), ValueError, "Unknown custom algorithm 'Sarsa'. Valid names: Q-Learning, QLearning"),
        ((QLearningParameters,), TypeError, "QLearningParameters is not one. Subclass .*CustomAlgorithm"),
        (("Q-Learning", {"alpha": 0.1}), ValueError, r"unknown parameter\(s\) 'alpha' for QLearning. Valid names:"),
        (("Q-Learning", {"learning_rate": 0}), ValueError, r"learning_rate must be a number in \(0, 1\], got 0"),
        (("Q-Learning", {"gamma": 1.5}), ValueError, r"gamma must be a number in \[0, 1\]"),
        (("Q-Learning", {"epsilon_start": 0.01}), ValueError, r"epsilon_end \(0.05\) must not exceed epsilon_start"),
        (("Q-Learning", {"epsilon_schedule": "cosine"}), ValueError, "'linear' or 'exponential', got 'cosine'"),
        (
            ("Q-Learning", {"epsilon_schedule": "exponential", "epsilon_end": 0.0}),
            ValueError,
            "needs epsilon_end > 0 .*use e.g. epsilon_end=0.01",
        ),
        (("Q-Learning", {"seed": -1}), ValueError, "seed must be an int >= 0 or None, got -1"),
        (("Q-Learning", {"initial_q_value": "high"}), ValueError, "initial_q_value must be a number"),
    ],
)
def test_bad_algorithms_and_parameters_fail_at_construction(arguments: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        CustomAgent(*arguments)


def test_sb3_callbacks_are_refused_before_training() -> None:
    agent = CustomAgent()
    with pytest.raises(TypeError, match="runs no SB3 callbacks: drop callback= and pass connector="):
        agent.train(frozen_lake(), total_timesteps=10, progress_bar=False, callback=lambda *_: True)
    assert agent.algorithm is None
