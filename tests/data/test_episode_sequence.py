"""EpisodeSequence: building, saving/loading (imitation's formats), streaming batches, statistics, errors."""

from __future__ import annotations

import json
import pickle
import tracemalloc
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from imitation.data import rollout, serialize, types
from stable_baselines3 import PPO

from rl_framework.data import EpisodeSequence
from rl_framework.data.episode_sequence import EpisodeStatistics
from rl_framework.util.safe_classes import UnsafeContentError


def scripted_expert(observation: np.ndarray) -> int:
    """Near-optimal CartPole policy: push towards the side the pole falls to."""
    return int(3 * observation[2] + observation[3] > 0)


def numbered_trajectories(lengths: list[int], obs_dim: int = 3) -> list[types.TrajectoryWithRew]:
    """Trajectories whose observations encode (episode, step), so every transition is identifiable."""
    trajectories = []
    for episode, length in enumerate(lengths):
        steps = np.arange(length + 1, dtype=np.float32)
        obs = np.stack([np.full(length + 1, episode, np.float32), steps] + [steps * 0.5] * (obs_dim - 2), axis=1)
        infos = np.array([{"step": int(step)} if step % 3 == 0 else {} for step in range(length)], dtype=object)
        trajectories.append(
            types.TrajectoryWithRew(
                obs=obs,
                acts=(np.arange(length) + episode) % 2,
                infos=infos,
                terminal=episode % 2 == 0,
                rews=np.full(length, episode + 1.0, dtype=np.float32),
            )
        )
    return trajectories


LENGTHS = [5, 1, 12, 7, 30, 2, 9]


@pytest.fixture
def numbered() -> list[types.TrajectoryWithRew]:
    return numbered_trajectories(LENGTHS)


@pytest.fixture
def saved_numbered(tmp_path: Path, numbered: list[types.TrajectoryWithRew]) -> Path:
    folder = tmp_path / "numbered"
    EpisodeSequence.from_trajectories(numbered).save(folder)
    return folder


def assert_same_trajectories(
    actual: list[types.Trajectory], expected: list[types.Trajectory], check_dtypes: bool = True
) -> None:
    assert len(actual) == len(expected)
    for ours, theirs in zip(actual, expected, strict=True):
        assert type(ours) is type(theirs)
        assert ours == theirs  # imitation's equality: obs, acts, infos, terminal, rews
        if check_dtypes:
            assert ours.obs.dtype == theirs.obs.dtype and ours.acts.dtype == theirs.acts.dtype


def transition_keys(batches: list[dict]) -> list[tuple[float, float]]:
    return sorted((float(o[0]), float(o[1])) for batch in batches for o in batch["obs"])


# -- round trips --------------------------------------------------------------------------------
def test_save_and_from_dataset_round_trip(saved_numbered: Path, numbered: list[types.TrajectoryWithRew]) -> None:
    sequence = EpisodeSequence.from_dataset(saved_numbered)
    assert len(sequence) == len(LENGTHS)
    assert sequence.n_transitions == sum(LENGTHS)
    assert_same_trajectories(list(sequence), numbered)
    assert list(sequence.episode_lengths) == LENGTHS
    assert "numbered" in repr(sequence)


def test_save_is_readable_by_imitation(saved_numbered: Path, numbered: list[types.TrajectoryWithRew]) -> None:
    # imitation's own loader turns float32 into float64 (it goes through Python lists); values match
    assert_same_trajectories(list(serialize.load(saved_numbered)), numbered, check_dtypes=False)


def test_dataset_written_by_imitation_is_read(tmp_path: Path, numbered: list[types.TrajectoryWithRew]) -> None:
    serialize.save(tmp_path / "theirs", numbered)
    assert_same_trajectories(list(EpisodeSequence.from_dataset(tmp_path / "theirs")), numbered)


def test_saving_an_opened_dataset_copies_it(saved_numbered: Path, tmp_path: Path, numbered: list) -> None:
    copy = EpisodeSequence.from_dataset(saved_numbered).save(tmp_path / "copy")
    assert_same_trajectories(list(EpisodeSequence.from_dataset(copy)), numbered)


def test_save_replaces_a_dataset_without_leftovers(tmp_path: Path, numbered: list) -> None:
    folder = tmp_path / "data"
    EpisodeSequence.from_trajectories(numbered).save(folder)
    EpisodeSequence.from_trajectories(numbered[:2]).save(folder)
    assert len(EpisodeSequence.from_dataset(folder)) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data"]


def test_trajectories_without_rewards_round_trip(tmp_path: Path, numbered: list) -> None:
    plain = [types.Trajectory(obs=t.obs, acts=t.acts, infos=t.infos, terminal=t.terminal) for t in numbered]
    serialize.save(tmp_path / "plain", plain)
    sequence = EpisodeSequence.from_dataset(tmp_path / "plain")
    assert_same_trajectories(list(sequence), plain)
    statistics = sequence.statistics()
    assert statistics.return_mean is None and statistics.length_max == max(LENGTHS)


def test_old_npz_format(tmp_path: Path, numbered: list[types.TrajectoryWithRew]) -> None:
    # The layout imitation < 1.0 wrote and imitation.data.serialize.load still reads.
    file = tmp_path / "old.npz"
    lengths = np.array([len(t) for t in numbered])
    np.savez_compressed(
        file,
        obs=np.concatenate([t.obs for t in numbered]),
        acts=np.concatenate([t.acts for t in numbered]),
        infos=np.concatenate([t.infos for t in numbered]),
        terminal=np.array([t.terminal for t in numbered]),
        rews=np.concatenate([t.rews for t in numbered]),
        indices=np.cumsum(lengths)[:-1],
    )
    with pytest.raises(UnsafeContentError, match=r"old.npz' is a file.*unpickling.*allow_pickle=True"):
        EpisodeSequence.from_dataset(file)  # its infos are an object array: numpy unpickles them
    assert_same_trajectories(list(EpisodeSequence.from_dataset(file, allow_pickle=True)), numbered)


def test_old_pickle_format(tmp_path: Path, numbered: list[types.TrajectoryWithRew]) -> None:
    file = tmp_path / "old.pkl"
    file.write_bytes(pickle.dumps(numbered))
    with pytest.raises(UnsafeContentError, match=r"old.pkl' is a file.*allow_pickle=True"):
        EpisodeSequence.from_dataset(file)
    sequence = EpisodeSequence.from_dataset(file, allow_pickle=True)
    assert_same_trajectories(list(sequence), numbered)
    assert_same_trajectories(list(serialize.load(sequence.save(tmp_path / "new"))), numbered, check_dtypes=False)


# -- building -----------------------------------------------------------------------------------
def test_from_episodes_builds_trajectories() -> None:
    env = gym.make("CartPole-v1")
    episodes = []
    for seed in (0, 1):
        observation, _ = env.reset(seed=seed)
        steps = []
        for step in range(6):
            action = scripted_expert(observation)
            next_observation, reward, terminated, truncated, info = env.step(action)
            truncated = truncated or step == 5  # cut short: the last step marks the end
            steps.append((observation, action, next_observation, reward, terminated, truncated, info))
            observation = next_observation
        episodes.append(steps)
    sequence = EpisodeSequence.from_episodes(episodes)
    first = next(iter(sequence))
    assert isinstance(first, types.TrajectoryWithRew)
    assert first.obs.shape == (7, 4) and first.acts.shape == (6,) and first.terminal
    np.testing.assert_array_equal(first.obs[1:], np.stack([step[2] for step in episodes[0]]))
    assert first.rews.dtype == np.float32 and first.rews.sum() == 6.0
    assert sequence.statistics().n_transitions == 12


def test_fragment_without_end_is_not_terminal() -> None:
    obs = [np.array([float(i)]) for i in range(4)]
    steps = [(obs[i], 0, obs[i + 1], 1.0, False, False, {}) for i in range(3)]
    assert next(iter(EpisodeSequence.from_episodes([steps]))).terminal is False


def test_from_trajectories_copies(numbered: list[types.TrajectoryWithRew]) -> None:
    sequence = EpisodeSequence.from_trajectories(numbered)
    numbered[0].obs[0, 0] = 123.0
    assert next(iter(sequence)).obs[0, 0] == 0.0


def test_from_agent_with_a_scripted_callable() -> None:
    sequence = EpisodeSequence.from_agent(scripted_expert, "CartPole-v1", n_episodes=2, seed=3)
    statistics = sequence.statistics()
    assert statistics.n_episodes == 2 and statistics.return_mean == 500.0 and statistics.length_min == 500
    again = EpisodeSequence.from_agent(scripted_expert, gym.make("CartPole-v1"), n_episodes=2, seed=3)
    assert_same_trajectories(list(again), list(sequence))  # seeded: reproducible
    assert sequence.observation_shape == (4,) and sequence.action_shape == ()
    assert sequence.observation_dtype == np.float32 and np.issubdtype(sequence.action_dtype, np.integer)


def test_from_agent_with_an_sb3_model() -> None:
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, seed=0, device="cpu")
    sequence = EpisodeSequence.from_agent(model, "CartPole-v1", n_episodes=2, seed=0)
    first = next(iter(sequence))
    expected = [model.predict(observation, deterministic=True)[0] for observation in first.obs[:-1]]
    np.testing.assert_array_equal(first.acts, expected)


def test_from_agent_with_our_agent(trained_ppo_agent) -> None:
    sequence = EpisodeSequence.from_agent(trained_ppo_agent, "CartPole-v1", n_episodes=2, seed=0)
    first = next(iter(sequence))
    expected = [trained_ppo_agent.choose_action(observation, deterministic=True) for observation in first.obs[:-1]]
    np.testing.assert_array_equal(first.acts, expected)
    assert all(trajectory.terminal for trajectory in sequence)


# -- statistics and transitions ----------------------------------------------------------------
def test_statistics(numbered: list[types.TrajectoryWithRew]) -> None:
    statistics = EpisodeSequence.from_trajectories(numbered).statistics()
    returns = np.array([length * (episode + 1.0) for episode, length in enumerate(LENGTHS)])
    assert (statistics.n_episodes, statistics.n_transitions) == (7, sum(LENGTHS))
    assert statistics.return_mean == pytest.approx(returns.mean())
    assert statistics.return_std == pytest.approx(returns.std())
    assert (statistics.return_min, statistics.return_max) == (1 * 2.0, 30 * 5.0)
    assert statistics.length_mean == pytest.approx(np.mean(LENGTHS))
    assert (statistics.length_min, statistics.length_max) == (1, 30)
    with pytest.raises(ValueError, match="at least one episode"):
        EpisodeStatistics(0, 0, None, None, None, None, 0.0, 0, 0)


def test_to_transitions_matches_imitation(saved_numbered: Path, numbered: list) -> None:
    ours = EpisodeSequence.from_dataset(saved_numbered).to_transitions()
    theirs = rollout.flatten_trajectories(numbered)
    assert isinstance(ours, types.Transitions)
    for key in ("obs", "acts", "next_obs", "dones", "infos"):
        np.testing.assert_array_equal(getattr(ours, key), getattr(theirs, key))


@pytest.mark.parametrize("from_disk", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_transition_once_per_pass(
    from_disk: bool, shuffle: bool, saved_numbered: Path, numbered: list
) -> None:
    sequence = (
        EpisodeSequence.from_dataset(saved_numbered) if from_disk else EpisodeSequence.from_trajectories(numbered)
    )
    # a tiny buffer forces many buffers, carried remainders and block reads
    batches = sequence.transition_batches(batch_size=4, shuffle=shuffle, seed=1, buffer_transitions=8)
    expected = rollout.flatten_trajectories(numbered)
    expected_keys = sorted((float(o[0]), float(o[1])) for o in expected.obs)
    passes = [list(batches), list(batches)]  # re-iterable: each iter() is a new pass
    for batch_list in passes:
        assert len(batch_list) == len(batches) == -(-sum(LENGTHS) // 4)
        assert [len(batch["acts"]) for batch in batch_list[:-1]] == [4] * (len(batch_list) - 1)
        assert transition_keys(batch_list) == expected_keys
        for batch in batch_list:
            assert set(batch) == {"obs", "acts", "next_obs", "dones", "infos"}
            episode, step = batch["obs"][:, 0].astype(int), batch["obs"][:, 1].astype(int)
            np.testing.assert_array_equal(batch["next_obs"][:, 1], step + 1)  # next_obs follows obs
            np.testing.assert_array_equal(batch["acts"], (step + episode) % 2)
            is_last = step == np.array(LENGTHS)[episode] - 1
            np.testing.assert_array_equal(batch["dones"], is_last & (episode % 2 == 0))
            assert [info for info in batch["infos"]] == [{"step": s} if s % 3 == 0 else {} for s in step]
    orders = [[tuple(o) for batch in batch_list for o in batch["obs"][:, :2]] for batch_list in passes]
    assert (orders[0] != orders[1]) == shuffle


def test_seeded_batches_repeat_and_drop_last(numbered: list) -> None:
    sequence = EpisodeSequence.from_trajectories(numbered)
    first = [b["obs"] for b in sequence.transition_batches(5, seed=7, buffer_transitions=10)]
    second = [b["obs"] for b in sequence.transition_batches(5, seed=7, buffer_transitions=10)]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    dropped = sequence.transition_batches(5, seed=7, drop_last=True)
    assert len(dropped) == sum(LENGTHS) // 5 and all(len(b["acts"]) == 5 for b in dropped)


def test_iterating_a_dataset_streams(tmp_path: Path) -> None:
    # 300 episodes x 500 steps of 32 float32s: 19 MB of observations on disk
    trajectories = [
        types.TrajectoryWithRew(
            obs=np.random.default_rng(episode).random((501, 32), dtype=np.float32),
            acts=np.zeros(500, dtype=np.int64),
            infos=None,
            terminal=True,
            rews=np.ones(500, dtype=np.float32),
        )
        for episode in range(300)
    ]
    raw_bytes = sum(t.obs.nbytes + t.acts.nbytes + t.rews.nbytes for t in trajectories)
    EpisodeSequence.from_trajectories(trajectories).save(tmp_path / "big")
    tracemalloc.start()  # numpy reports its allocations to tracemalloc; memory-mapped pages are not allocations
    try:
        sequence = EpisodeSequence.from_dataset(tmp_path / "big")
        opened = tracemalloc.get_traced_memory()[1]
        batches = iter(sequence.transition_batches(batch_size=64, buffer_transitions=4000))
        first = next(batches)
        first_batch_peak = tracemalloc.get_traced_memory()[1]
        first_episode = next(iter(sequence))
    finally:
        tracemalloc.stop()
    assert opened < raw_bytes / 50  # opening read the episode lengths and the first episode (for shapes)
    assert first_batch_peak < raw_bytes / 10  # the first batch needed one small buffer, not the dataset
    assert first["obs"].shape == (64, 32)
    np.testing.assert_array_equal(first_episode.obs, trajectories[0].obs)


# -- spaces --------------------------------------------------------------------------------------
def test_check_compatible(numbered: list) -> None:
    cartpole = gym.make("CartPole-v1")
    EpisodeSequence.from_agent(scripted_expert, cartpole, 1, seed=0).check_compatible(
        cartpole.observation_space, cartpole.action_space
    )
    sequence = EpisodeSequence.from_trajectories(numbered)  # observations of shape (3,)
    with pytest.raises(ValueError, match=r"observations have shape \(3,\).*has shape \(4,\)"):
        sequence.check_compatible(cartpole.observation_space, cartpole.action_space)
    pendulum = gym.make("Pendulum-v1")  # observations (3,), actions (1,)
    with pytest.raises(ValueError, match=r"actions have shape \(\).*has shape \(1,\)"):
        sequence.check_compatible(pendulum.observation_space, pendulum.action_space)
    floats = [types.TrajectoryWithRew(t.obs, t.acts.astype(np.float32), t.infos, t.terminal, t.rews) for t in numbered]
    with pytest.raises(ValueError, match="dtype float32 .* discrete"):
        EpisodeSequence.from_trajectories(floats).check_compatible(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2))


def test_check_compatible_refuses_actions_another_environment_took(numbered: list) -> None:
    sequence = EpisodeSequence.from_trajectories(numbered)  # observations (3,), integer actions
    largest = max(int(t.acts.max()) for t in numbered)
    sequence.check_compatible(gym.spaces.Box(-np.inf, np.inf, (3,)), gym.spaces.Discrete(largest + 1))
    with pytest.raises(
        ValueError, match=rf"action {largest}, which the environment's action space Discrete\({largest}\) "
    ):
        sequence.check_compatible(gym.spaces.Box(-np.inf, np.inf, (3,)), gym.spaces.Discrete(largest))
    with pytest.raises(ValueError, match="cannot take .*recorded in another environment"):
        sequence.check_compatible(gym.spaces.Box(-np.inf, np.inf, (3,)), gym.spaces.Discrete(largest + 1, start=1))


# -- bad input -----------------------------------------------------------------------------------
def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        EpisodeSequence.from_dataset(tmp_path / "nowhere")


def test_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(ValueError, match=r"photos' is not a trajectory dataset.*serialize.save"):
        EpisodeSequence.from_dataset(tmp_path / "photos")


def test_dataset_without_trajectory_columns(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_dict({"text": ["a", "b"]}).save_to_disk(tmp_path / "text")
    with pytest.raises(ValueError, match=r"text' is not a trajectory dataset.*lacks \['obs', 'acts', 'terminal'\]"):
        EpisodeSequence.from_dataset(tmp_path / "text")


def test_dataset_dict_folder(tmp_path: Path, numbered: list) -> None:
    import datasets
    from imitation.data import huggingface_utils

    split = huggingface_utils.trajectories_to_dataset(numbered)
    datasets.DatasetDict({"train": split}).save_to_disk(tmp_path / "splits")
    with pytest.raises(ValueError, match=r"several dataset splits.*splits/train"):
        EpisodeSequence.from_dataset(tmp_path / "splits")


def test_corrupt_shard_and_state(saved_numbered: Path) -> None:
    shard = next(saved_numbered.glob("*.arrow"))
    shard.write_bytes(b"not arrow at all")
    with pytest.raises(ValueError, match="Cannot read .*arrow.* as an Arrow shard"):
        EpisodeSequence.from_dataset(saved_numbered)
    shard.unlink()
    with pytest.raises(ValueError, match="is incomplete: missing"):
        EpisodeSequence.from_dataset(saved_numbered)
    (saved_numbered / "state.json").write_text(json.dumps({"nothing": []}))
    with pytest.raises(ValueError, match="not a datasets state file"):
        EpisodeSequence.from_dataset(saved_numbered)


def test_file_that_is_not_trajectories(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes.txt' is a file, not a dataset folder.*Otherwise expected a folder"):
        EpisodeSequence.from_dataset(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match=r"Cannot read .*notes.txt' as trajectories"):
        EpisodeSequence.from_dataset(tmp_path / "notes.txt", allow_pickle=True)
    (tmp_path / "dict.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match=r"dict.pkl"):
        EpisodeSequence.from_dataset(tmp_path / "dict.pkl", allow_pickle=True)


def test_empty_dataset_and_empty_lists(tmp_path: Path) -> None:
    import datasets

    empty = {"obs": [], "acts": [], "infos": [], "terminal": [], "rews": []}
    datasets.Dataset.from_dict(empty).save_to_disk(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"empty' holds no episodes"):
        EpisodeSequence.from_dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match="hold no episodes"):
        EpisodeSequence.from_trajectories([])
    with pytest.raises(ValueError, match="hold no episodes"):
        EpisodeSequence.from_episodes([])
    with pytest.raises(ValueError, match="Episode 0 has no steps"):
        EpisodeSequence.from_episodes([[]])


def test_inconsistent_episodes(numbered: list) -> None:
    wider = numbered_trajectories([4], obs_dim=5)
    with pytest.raises(ValueError, match=r"Episode 7 .* shape \(5,\) .* episode 0's have \(3,\)"):
        EpisodeSequence.from_trajectories(numbered + wider)
    plain = types.Trajectory(obs=numbered[0].obs, acts=numbered[0].acts, infos=None, terminal=True)
    with pytest.raises(ValueError, match="Episode 1 .* lacks rewards"):
        EpisodeSequence.from_trajectories([numbered[0], plain])
    with pytest.raises(TypeError, match="Episode 0 .* is a dict"):
        EpisodeSequence.from_trajectories([{"obs": 1}])  # type: ignore[list-item]
    a, b, c = (np.array([float(i)]) for i in range(3))
    with pytest.raises(ValueError, match="next_observation of step 0 differs"):
        EpisodeSequence.from_episodes([[(a, 0, b, 1.0, False, False, {}), (c, 0, a, 1.0, True, False, {})]])
    with pytest.raises(ValueError, match="continues after step 0"):
        EpisodeSequence.from_episodes([[(a, 0, b, 1.0, True, False, {}), (b, 0, c, 1.0, True, False, {})]])
    with pytest.raises(ValueError, match="expected a tuple of 7 fields"):
        EpisodeSequence.from_episodes([[(a, 0, b)]])


def test_inconsistent_dataset_on_disk(tmp_path: Path, numbered: list) -> None:
    import datasets
    from imitation.data import huggingface_utils

    columns = huggingface_utils.trajectories_to_dict(numbered)
    columns["rews"] = [rews[:-1] for rews in columns["rews"]]  # one reward short per episode
    datasets.Dataset.from_dict(columns).save_to_disk(tmp_path / "short")
    with pytest.raises(ValueError, match=r"Episode 0 of .*short' is inconsistent.*'rews'"):
        EpisodeSequence.from_dataset(tmp_path / "short")


def test_bad_recording_and_batch_arguments(numbered: list) -> None:
    with pytest.raises(TypeError, match="Cannot record episodes with int"):
        EpisodeSequence.from_agent(42, "CartPole-v1", 1)
    with pytest.raises(ValueError, match="n_episodes must be a positive int, got 0"):
        EpisodeSequence.from_agent(scripted_expert, "CartPole-v1", 0)
    with pytest.raises(ValueError, match="dict observations"):
        dict_env = gym.wrappers.TransformObservation(gym.make("CartPole-v1"), lambda obs: {"x": obs})
        EpisodeSequence.from_agent(lambda obs: 0, dict_env, 1)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        EpisodeSequence.from_trajectories(numbered).transition_batches(0)


def test_save_refuses_to_replace_other_files(tmp_path: Path, numbered: list) -> None:
    sequence = EpisodeSequence.from_trajectories(numbered)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match=r"Refusing to overwrite .*mine'.*not a trajectory dataset"):
        sequence.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="Refusing to overwrite .*a file"):
        sequence.save(tmp_path / "file")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "mine"]
