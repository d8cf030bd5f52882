"""Safe decoding of jsonpickle infos: what jsonpickle gives for plain data, a refusal for everything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import jsonpickle
import numpy as np
import pytest
from imitation.data import rollout, serialize
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3.common.vec_env import DummyVecEnv

from rl_framework.data import EpisodeSequence
from rl_framework.data.infos import decode_info
from rl_framework.util.safe_classes import UnsafeContentError

SHARED = {"k": [1, 2]}
INFOS = [
    {},
    {"TimeLimit.truncated": False, "episode": {"r": 21.0, "l": 21, "t": 0.5}},
    {"terminal_observation": np.array([0.1, -0.2, 0.3, 0.4], dtype=np.float32)},
    {"a": np.zeros((2, 3), dtype=np.uint8), "b": np.ones(2, dtype=np.float32), "c": np.float32(2.5)},
    {"fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "big": np.arange(3, dtype=">i4")},
    {"flag": np.bool_(True), "count": np.int64(7), "tuple": (1, "x"), "set": {1, 2}, "bytes": b"\x00\xff"},
    {"first": SHARED, "again": SHARED, "nested": [SHARED, (SHARED,)]},
]


def assert_same(ours: Any, theirs: Any) -> None:
    assert type(ours) is type(theirs)
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for key in theirs:
            assert_same(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs, strict=True):
            assert_same(mine, other)
    else:
        assert ours == theirs


@pytest.mark.parametrize("info", INFOS)
def test_plain_infos_decode_to_what_was_encoded(info: dict[str, Any]) -> None:
    decoded = decode_info(jsonpickle.encode(info), "the test")
    assert_same(decoded, info)  # (jsonpickle itself loses the byte order of ">i4" arrays; we keep it)


def test_shared_objects_stay_shared() -> None:
    decoded = decode_info(jsonpickle.encode(INFOS[-1]), "the test")
    assert decoded["first"] is decoded["again"] is decoded["nested"][0] is decoded["nested"][1][0]


class Marker:
    """An object jsonpickle stores as ``py/object`` (decoding it imports this module and builds it)."""

    def __init__(self) -> None:
        self.value = 1


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        (jsonpickle.encode({"x": Marker()}), "py/object"),
        (jsonpickle.encode({"f": print}), "py/function"),
        (jsonpickle.encode({"t": Path}), "py/type"),
        ('{"x": {"py/reduce": [{"py/function": "os.system"}, {"py/tuple": ["true"]}]}}', "py/reduce"),
        ('{"x": {"py/repr": "os/os.system(\'true\')"}}', "py/repr"),
        ('{"x": {"py/mod": "os"}}', "py/mod"),
        (  # a numpy-looking reduce whose array items are pickled objects
            '{"x": {"py/reduce": [{"py/function": "numpy._core.multiarray._reconstruct"}, {"py/tuple": ['
            '{"py/type": "numpy.ndarray"}, {"py/tuple": [0]}, {"py/b64": "Yg=="}]}, {"py/tuple": [1, '
            '{"py/tuple": [1]}, {"py/type": "builtins.object"}, false, [{"py/object": "os._wrap_close"}]]}]}}',
            "py/",
        ),
    ],
)
def test_anything_that_would_run_code_is_refused_with_the_opt_in_named(text: str, tag: str) -> None:
    with pytest.raises(UnsafeContentError, match=rf"holds a jsonpickle '{tag}.*allow_pickle=True"):
        decode_info(text, "the test dataset")


def test_imitation_rollout_infos_load_safely_and_equal_imitations_loader(tmp_path: Path) -> None:
    venv = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make("CartPole-v1", max_episode_steps=15))])
    trajectories = rollout.generate_trajectories(
        lambda observations, *_: (np.zeros(len(observations), dtype=np.int64), None),
        venv,
        rollout.make_sample_until(min_episodes=2),
        rng=np.random.default_rng(0),
    )
    serialize.save(tmp_path / "episodes", trajectories)  # infos hold numpy arrays (jsonpickle py/reduce)
    ours = list(EpisodeSequence.from_dataset(tmp_path / "episodes"))
    theirs = list(serialize.load(tmp_path / "episodes"))
    assert any(info for trajectory in theirs for info in trajectory.infos)  # the infos are not all empty
    for mine, other in zip(ours, theirs, strict=True):
        assert_same(list(mine.infos), list(other.infos))


@pytest.mark.parametrize("window", [1, 3, 5, 1 << 16])
def test_the_tag_search_finds_each_string_once_across_windows(window: int) -> None:
    import pyarrow as pa

    from rl_framework.data.arrow import _strings_containing

    texts = pa.array(["{}", 'ab"py/x"py/', "{}", '"py/', '"p', 'y/"', "{}"])
    assert _strings_containing(texts, b'"py/', window).tolist() == [1, 3]  # not the match split across 4 and 5
    assert _strings_containing(texts.slice(2), b'"py/', window).tolist() == [1]  # offsets of a sliced array
