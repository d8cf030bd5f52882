"""Unity ML-Agents adapter: clear errors where mlagents-envs cannot run, conversions tested against a stand-in.

mlagents-envs installs only on CPython 3.10.1-3.10.12, so here the adapter meets ``StandInUnity``:
a small in-process object with the low-level ``BaseEnv`` interface of ``mlagents_envs``
(``behavior_specs``, ``get_steps``, ``set_actions``, ``step``, ``reset``, ``close``) and its data
shapes (``DecisionSteps``/``TerminalSteps`` arrays with one row per agent, ``ActionTuple``s made
by ``ActionSpec.empty_action``), driving a tiny 1-D world.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rl_framework.agent import StableBaselinesAgent
from rl_framework.environment.unity import UnityGymEnv, unity_environment


# -- the stand-in: mlagents_envs' low-level data types and BaseEnv interface ----------------------
class ObservationSpec(NamedTuple):
    shape: tuple[int, ...]
    name: str


class ActionTuple:
    """As mlagents_envs': (n_agents, size) float32 continuous and int32 discrete arrays."""

    def __init__(self, n_agents: int, continuous_size: int, discrete_size: int) -> None:
        self.continuous = np.zeros((n_agents, continuous_size), np.float32)
        self.discrete = np.zeros((n_agents, discrete_size), np.int32)

    def add_continuous(self, continuous: np.ndarray) -> None:
        self.continuous = continuous.astype(np.float32)

    def add_discrete(self, discrete: np.ndarray) -> None:
        self.discrete = discrete.astype(np.int32)


class ActionSpec(NamedTuple):
    continuous_size: int
    discrete_branches: tuple[int, ...]

    def empty_action(self, n_agents: int) -> ActionTuple:
        return ActionTuple(n_agents, self.continuous_size, len(self.discrete_branches))


CONTINUOUS = ActionSpec(1, ())


class BehaviorSpec(NamedTuple):
    observation_specs: list[ObservationSpec]
    action_spec: ActionSpec


@dataclass
class Steps:
    """DecisionSteps / TerminalSteps: one row per agent."""

    obs: list[np.ndarray]
    reward: np.ndarray
    agent_id: np.ndarray
    interrupted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.agent_id)


class StandInUnity:
    """A 1-D world: the agent at ``x`` moves by its action; it succeeds at ``x >= 1`` (reward 1, terminal),
    fails at ``x <= -1``, and is interrupted after ``max_steps`` decisions. It asks for a decision every
    ``decision_period`` Unity steps, earning -0.01 per Unity step. Observations: ``[x]`` plus extra sensors."""

    def __init__(
        self,
        action_spec: ActionSpec = CONTINUOUS,
        extra_sensors: tuple[tuple[int, ...], ...] = (),
        behaviors: tuple[str, ...] = ("Mover?team=0",),
        n_agents: int = 1,
        decision_period: int = 1,
        max_steps: int = 6,
    ) -> None:
        sensors = [
            ObservationSpec((1,), "Position"),
            *(ObservationSpec(s, f"Sensor{i}") for i, s in enumerate(extra_sensors)),
        ]
        self.behavior_specs = {name: BehaviorSpec(sensors, action_spec) for name in behaviors}
        self.n_agents, self.decision_period, self.max_steps = n_agents, decision_period, max_steps
        self.received: list[ActionTuple] = []
        self.resets = 0
        self.closed = False
        self.x = np.zeros(n_agents)

    def _obs(self, rows: np.ndarray) -> list[np.ndarray]:
        extra = self.behavior_specs[self.name].observation_specs[1:]
        return [self.x[rows].reshape(-1, 1).astype(np.float32)] + [
            np.full((len(rows), *spec.shape), 0.5, np.float32) for spec in extra
        ]

    @property
    def name(self) -> str:
        return next(iter(self.behavior_specs))

    def reset(self) -> None:
        self.resets += 1
        self.x = np.zeros(self.n_agents)
        self.unity_steps, self.decisions, self.pending_reward = 0, 0, 0.0
        self._decision = Steps(
            self._obs(np.arange(self.n_agents)), np.zeros(self.n_agents, np.float32), np.arange(self.n_agents) + 7
        )
        self._terminal = Steps([], np.zeros(0, np.float32), np.zeros(0, np.int64))

    def get_steps(self, behavior_name: str) -> tuple[Steps, Steps]:
        assert behavior_name in self.behavior_specs
        return self._decision, self._terminal

    def set_actions(self, behavior_name: str, action: ActionTuple) -> None:
        self.received.append(action)
        spec = self.behavior_specs[behavior_name].action_spec
        self.move = float(action.continuous[0, 0]) if spec.continuous_size else float(action.discrete[0].sum()) - 1

    def step(self) -> None:
        self.unity_steps += 1
        self.x[0] += self.move / self.decision_period
        self.pending_reward -= 0.01
        rows = np.array([0])
        empty = Steps([np.zeros((0, 1), np.float32)], np.zeros(0, np.float32), np.zeros(0, np.int64))
        if self.x[0] >= 1 or self.x[0] <= -1 or self.decisions + 1 >= self.max_steps:
            reward = self.pending_reward + (1.0 if self.x[0] >= 1 else 0.0)
            interrupted = not (self.x[0] >= 1 or self.x[0] <= -1)
            self._terminal = Steps(
                self._obs(rows), np.array([reward], np.float32), np.array([7]), np.array([interrupted])
            )
            self._decision = empty
        elif self.unity_steps % self.decision_period == 0:
            self.decisions += 1
            self._decision = Steps(self._obs(rows), np.array([self.pending_reward], np.float32), np.array([7]))
            self._terminal = empty
            self.pending_reward = 0.0
        else:
            self._decision, self._terminal = empty, empty

    def close(self) -> None:
        self.closed = True


# -- clear errors where Unity cannot run --------------------------------------------------------------
def test_a_missing_build_names_how_to_build_or_use_the_editor(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"No Unity build at .*File > Build Settings.*file_name=None"):
        unity_environment(tmp_path / "Missing.x86_64")


def test_without_mlagents_envs_the_error_names_the_python_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlagents_envs", None)  # absent (as on this Python 3.11) in any case
    running = ".".join(map(str, sys.version_info[:3]))
    build = tmp_path / "Scene.x86_64"
    build.write_bytes(b"")
    for file_name in (build, None):  # a build, or the Editor
        with pytest.raises(ImportError, match=rf"only on CPython 3.10.1 to 3.10.12 .*this is Python {running}"):
            unity_environment(file_name)


# -- conversions, against the stand-in -------------------------------------------------------------------
def test_continuous_actions_and_episode_ends() -> None:
    unity = StandInUnity(ActionSpec(1, ()))
    env = UnityGymEnv(unity)
    assert env.observation_space == gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    observation, info = env.reset(seed=0)
    assert observation.tolist() == [0.0] and info == {} and unity.resets == 2  # one reset to read the specs
    observation, reward, terminated, truncated, _ = env.step(np.array([0.6]))
    assert observation.tolist() == pytest.approx([0.6]) and reward == pytest.approx(-0.01)
    assert not (terminated or truncated)
    _, reward, terminated, truncated, _ = env.step(np.array([5.0]))  # clipped to 1: x = 1.6, success
    assert unity.received[-1].continuous.tolist() == [[1.0]] and unity.received[-1].continuous.dtype == np.float32
    assert (reward, terminated, truncated) == (pytest.approx(0.99), True, False)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0.0]))
    env.reset()
    for _ in range(6):
        _, _, terminated, truncated, _ = env.step(np.array([0.0]))
    assert (terminated, truncated) == (False, True)  # the 6th step reaches Max Step: interrupted
    env.close()
    assert unity.closed


def test_decision_periods_are_stepped_through_and_rewards_summed() -> None:
    env = UnityGymEnv(StandInUnity(ActionSpec(1, ()), decision_period=4, max_steps=50))
    env.reset()
    observation, reward, terminated, truncated, _ = env.step(np.array([0.4]))
    assert observation.tolist() == pytest.approx([0.4]) and reward == pytest.approx(-0.04)  # 4 Unity steps
    assert env.unity.unity_steps == 4


@pytest.mark.parametrize(
    ("branches", "space", "action", "sent"),
    [
        ((3,), gym.spaces.Discrete(3), np.int64(2), [[2]]),
        ((2, 3), gym.spaces.MultiDiscrete([2, 3]), np.array([1, 2]), [[1, 2]]),
    ],
)
def test_discrete_branches(branches: tuple[int, ...], space: gym.Space, action: Any, sent: list) -> None:
    unity = StandInUnity(ActionSpec(0, branches))
    env = UnityGymEnv(unity)
    assert env.action_space == space
    env.reset()
    env.step(action)
    assert unity.received[-1].discrete.tolist() == sent and unity.received[-1].discrete.dtype == np.int32


def test_several_vector_sensors_are_concatenated_and_cameras_make_a_dict() -> None:
    vectors = UnityGymEnv(StandInUnity(extra_sensors=((3,), (2,))))
    assert vectors.observation_space.shape == (6,)
    assert vectors.reset()[0].tolist() == [0.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    camera = UnityGymEnv(StandInUnity(extra_sensors=((8, 8, 3),)))
    assert isinstance(camera.observation_space, gym.spaces.Dict)
    assert camera.observation_space["Sensor0"] == gym.spaces.Box(0.0, 1.0, (8, 8, 3), np.float32)
    observation, _ = camera.reset()
    assert observation["Position"].tolist() == [0.0] and observation["Sensor0"].shape == (8, 8, 3)


@pytest.mark.filterwarnings("ignore:.*infinity")  # vector observations are unbounded, as Unity sends them
def test_the_adapter_passes_gymnasiums_env_checker() -> None:
    check_env(UnityGymEnv(StandInUnity()), skip_render_check=True)


def test_ppo_trains_and_evaluates_on_the_adapter() -> None:
    agent = StableBaselinesAgent("PPO", {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "seed": 0, "device": "cpu"})
    agent.train(lambda: UnityGymEnv(StandInUnity()), total_timesteps=64, progress_bar=False)
    result = agent.evaluate_episodes(lambda: UnityGymEnv(StandInUnity()), n_eval_episodes=2, progress_bar=False)
    assert len(result.episode_lengths) == 2 and all(1 <= length <= 6 for length in result.episode_lengths)


def test_behaviour_and_agent_problems_name_the_fix() -> None:
    with pytest.raises(ValueError, match=r"2 behaviours \(A, B\); pass behavior_name"):
        UnityGymEnv(StandInUnity(behaviors=("A", "B")))
    with pytest.raises(ValueError, match="no behaviour 'C'; it has A, B"):
        UnityGymEnv(StandInUnity(behaviors=("A", "B")), behavior_name="C")
    assert UnityGymEnv(StandInUnity(behaviors=("A", "B")), behavior_name="A").behavior_name == "A"
    with pytest.raises(ValueError, match="both continuous .* and discrete .* no hybrid action space"):
        UnityGymEnv(StandInUnity(ActionSpec(1, (2,))))
    several = UnityGymEnv(StandInUnity(n_agents=3))
    with pytest.raises(ValueError, match="3 agents asking for a decision.*exactly one"):
        several.reset()
