"""EpisodeSequence: indexing and slicing, building from a generator, an empty sequence that grows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from imitation.data import serialize, types

from rl_framework.agent import ImitationAgent
from rl_framework.data import EpisodeSequence


def episode(number: int, length: int) -> types.TrajectoryWithRew:
    """An episode whose observations are ``[number, step, 0, 0]`` (CartPole-shaped) and reward ``number``."""
    steps = np.arange(length + 1, dtype=np.float32)
    observations = np.stack([np.full(length + 1, number, np.float32), steps, 0 * steps, 0 * steps], axis=1)
    return types.TrajectoryWithRew(
        obs=observations,
        acts=np.arange(length, dtype=np.int64) % 2,
        infos=np.array([{"step": step} for step in range(length)], dtype=object),
        terminal=True,
        rews=np.full(length, float(number), dtype=np.float32),
    )


LENGTHS = [3, 1, 4, 2, 5]


def numbered_episodes() -> Iterator[types.TrajectoryWithRew]:
    for number, length in enumerate(LENGTHS):
        yield episode(number, length)


def numbers(sequence: EpisodeSequence) -> list[int]:
    return [int(trajectory.obs[0, 0]) for trajectory in sequence]


@pytest.fixture(params=["memory", "dataset", "generator"])
def sequence(request: pytest.FixtureRequest, tmp_path: Path) -> EpisodeSequence:
    """The same five episodes from each kind of source."""
    if request.param == "memory":
        return EpisodeSequence.from_trajectories(list(numbered_episodes()))
    if request.param == "dataset":
        serialize.save(tmp_path / "numbered", list(numbered_episodes()))
        return EpisodeSequence.from_dataset(tmp_path / "numbered")
    return EpisodeSequence.from_generator(numbered_episodes())


def test_an_index_gives_one_episode_and_negative_indices_count_from_the_end(sequence: EpisodeSequence) -> None:
    third = sequence[2]
    assert isinstance(third, types.TrajectoryWithRew)
    np.testing.assert_array_equal(third.obs, episode(2, 4).obs)
    np.testing.assert_array_equal(third.rews, [2.0] * 4)
    assert third.infos[3] == {"step": 3}
    assert sequence[-1].obs[0, 0] == 4 and sequence[-5].obs[0, 0] == 0
    assert sequence[np.int64(1)].obs.shape == (2, 4)


def test_an_index_out_of_range_says_how_many_episodes_there_are(sequence: EpisodeSequence) -> None:
    with pytest.raises(IndexError, match="Episode index 5 is out of range for 5 episodes"):
        sequence[5]
    with pytest.raises(IndexError, match="-6 is out of range"):
        sequence[-6]


def test_slices_are_sequences_of_the_chosen_episodes(sequence: EpisodeSequence) -> None:
    assert numbers(sequence[1:4]) == [1, 2, 3]
    assert numbers(sequence[::-2]) == [4, 2, 0]
    assert numbers(sequence[-2:]) == [3, 4]
    picked = sequence[::2]
    assert picked.n_transitions == 3 + 4 + 5
    assert picked.statistics().return_mean == pytest.approx((0 * 3 + 2 * 4 + 4 * 5) / 3)
    batches = list(picked.transition_batches(batch_size=4, shuffle=False))
    assert np.concatenate([batch["obs"][:, 0] for batch in batches]).tolist() == [0] * 3 + [2] * 4 + [4] * 5
    assert numbers(picked[1:]) == [2, 4]  # a slice of a slice


def test_an_empty_slice_keeps_the_layout(sequence: EpisodeSequence) -> None:
    empty = sequence[3:3]
    assert len(empty) == 0 and empty.observation_shape == (4,) and list(empty) == []
    with pytest.raises(ValueError, match="empty"):
        empty.statistics()


def test_a_slice_of_a_dataset_saves_as_a_dataset(tmp_path: Path) -> None:
    serialize.save(tmp_path / "all", list(numbered_episodes()))
    tail = EpisodeSequence.from_dataset(tmp_path / "all")[3:]
    tail.save(tmp_path / "tail")
    assert numbers(EpisodeSequence.from_dataset(tmp_path / "tail")) == [3, 4]


def test_from_generator_consumes_a_generator_once_and_keeps_order() -> None:
    consumed: list[int] = []

    def recorded() -> Iterator[types.TrajectoryWithRew]:
        for number, length in enumerate(LENGTHS):
            consumed.append(number)
            yield episode(number, length)

    sequence = EpisodeSequence.from_generator(recorded())
    assert consumed == [0, 1, 2, 3, 4] and numbers(sequence) == [0, 1, 2, 3, 4]
    assert sequence.episode_lengths.tolist() == LENGTHS


def test_from_generator_takes_step_tuples_too() -> None:
    def steps() -> Iterator[list[tuple]]:
        for start in (0.0, 10.0):
            yield [(np.array([start]), 1, np.array([start + 1]), 1.0, False, False, {}),
                   (np.array([start + 1]), 0, np.array([start + 2]), 2.0, True, False, {})]  # fmt: skip

    sequence = EpisodeSequence.from_generator(steps())
    assert sequence.statistics().return_mean == 3.0 and sequence[1].obs[:, 0].tolist() == [10, 11, 12]


def test_from_episodes_accepts_a_generator() -> None:
    episodes = ([(np.zeros(2), 0, np.ones(2), 1.0, True, False, {})] for _ in range(3))
    assert len(EpisodeSequence.from_episodes(episodes)) == 3


def test_an_empty_sequence_fills_with_append_and_trains_bc() -> None:
    env = gym.make("CartPole-v1")
    sequence = EpisodeSequence.empty(env.observation_space, env.action_space)
    assert len(sequence) == 0 and sequence.n_transitions == 0
    assert sequence.observation_shape == (4,) and sequence.action_dtype == np.int64
    for number, length in enumerate([40, 30, 50]):
        sequence.append(episode(number, length))
        assert len(sequence) == number + 1
    first = sequence[0]
    sequence.append([(np.zeros(4), 1, np.ones(4), 1.0, True, False, None)])  # step tuples, float64 cast to float32
    np.testing.assert_array_equal(sequence[0].obs, first.obs)  # earlier episodes never change
    assert sequence[-1].obs.dtype == np.float32 and sequence.episode_lengths.tolist() == [40, 30, 50, 1]
    agent = ImitationAgent("BC", {"batch_size": 16, "seed": 0})
    agent.train(sequence, env, total_timesteps=64, progress_bar=False)
    assert agent.num_timesteps == 64


def test_append_grows_past_its_first_buffer() -> None:
    sequence = EpisodeSequence.empty(gym.spaces.Box(0, 100, (4,)), gym.spaces.Discrete(2))
    for number in range(40):  # 40 episodes x 3 steps: several doublings of every buffer
        sequence.append(episode(number, 3))
    assert numbers(sequence) == list(range(40)) and sequence.n_transitions == 120


def test_append_refuses_episodes_that_do_not_fit() -> None:
    sequence = EpisodeSequence.empty(gym.spaces.Box(0, 1, (4,)), gym.spaces.Discrete(2))
    with pytest.raises(ValueError, match=r"observations of shape \(3,\).*shape \(4,\)"):
        sequence.append([(np.zeros(3), 1, np.ones(3), 1.0, True, False, {})])
    with pytest.raises(ValueError, match="actions of shape .* dtype float64.*dtype int64"):
        sequence.append([(np.zeros(4, np.float32), 0.5, np.ones(4, np.float32), 1.0, True, False, {})])
    no_rewards = types.Trajectory(
        obs=np.zeros((2, 4), np.float32), acts=np.zeros(1, np.int64), infos=None, terminal=True
    )
    with pytest.raises(ValueError, match="lacks rewards"):
        sequence.append(no_rewards)
    with pytest.raises(TypeError, match="expected an imitation TrajectoryWithRew"):
        sequence.append("episode")
    assert len(sequence) == 0  # nothing half-appended


def test_only_growing_sequences_append() -> None:
    fixed = EpisodeSequence.from_trajectories([episode(0, 2)])
    with pytest.raises(TypeError, match=r"cannot grow.*EpisodeSequence.empty"):
        fixed.append(episode(1, 2))


def test_empty_inputs_name_the_fix() -> None:
    with pytest.raises(ValueError, match=r"yielded no episodes.*EpisodeSequence.empty"):
        EpisodeSequence.from_generator(iter([]))
    with pytest.raises(ValueError, match="no fixed array shape"):
        EpisodeSequence.empty(gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), gym.spaces.Discrete(2))
    with pytest.raises(ValueError, match="cannot save no episodes"):
        EpisodeSequence.empty(gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(2)).save("never-written")
    assert not Path("never-written").exists()
