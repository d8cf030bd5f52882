"""Replay videos: bundled ffmpeg, H.264, exact frame counts, atomic writes and clear errors."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
import pytest

from rl_framework.agent import BaseAgent
from rl_framework.agent.acting import ActingSession, BatchActing
from rl_framework.util.video import record_video


class PushLeft:
    """Always pushes the cart left: CartPole episodes end after about ten steps."""

    def choose_action(self, observation: object, deterministic: bool = False) -> int:
        return 0


def decode(path: Path) -> tuple[dict, list[bytes]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    metadata = next(reader)
    return metadata, list(reader)


def test_video_has_first_frame_of_each_episode_and_one_per_step(tmp_path: Path) -> None:
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=5)
    path = record_video(PushLeft(), env, tmp_path / "replay.mp4", n_steps=12, fps=10, seed=0)
    metadata, frames = decode(path)
    # episodes of 5, 5 and 2 steps: 12 step frames + 3 first frames
    assert len(frames) == 15
    assert metadata["codec"] == "h264"
    assert metadata["fps"] == 10
    assert metadata["size"] == (600, 400)
    env.reset(seed=0)
    first = np.frombuffer(frames[0], dtype=np.uint8).reshape(400, 600, 3)
    assert np.abs(first.astype(int) - env.render().astype(int)).mean() < 3  # the reset frame, lossy-encoded
    env.close()


def test_video_stops_after_n_episodes(tmp_path: Path) -> None:
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=4)
    path = record_video(PushLeft(), env, tmp_path / "two.mp4", n_episodes=2, seed=0)
    assert len(decode(path)[1]) == 2 * (4 + 1)
    env.close()


def test_video_of_a_trained_agent_from_an_env_id(trained_ppo_agent, tmp_path: Path) -> None:
    path = record_video(trained_ppo_agent, "CartPole-v1", tmp_path / "sub" / "ppo.mp4", n_steps=6, seed=1)
    assert path == tmp_path / "sub" / "ppo.mp4"
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] >= 7
    assert [entry.name for entry in path.parent.iterdir()] == ["ppo.mp4"]  # no temporary left


class StartLoggingPushLeft(BaseAgent):
    """Pushes left through its own acting session, logging the episode-start flag of every step."""

    def __init__(self) -> None:
        super().__init__(algorithm_class=None)
        self.starts: list[bool] = []

    def choose_action(self, observation: object, deterministic: bool = False) -> int:
        return 0

    def start_acting(self, n_envs: int = 1) -> ActingSession:
        agent = self

        class Logging(BatchActing):
            def act(self, observations, episode_starts, *args, **kwargs):  # type: ignore[no-untyped-def]
                agent.starts += [bool(start) for start in episode_starts]
                return super().act(observations, episode_starts, *args, **kwargs)

        return Logging(self.choose_actions, n_envs)

    def save_to_file(self, file_path):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def load_from_file(self, file_path, algorithm_parameters=None):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_video_acts_through_the_agents_session_with_episode_starts(tmp_path: Path) -> None:
    agent = StartLoggingPushLeft()
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=5)
    record_video(agent, env, tmp_path / "starts.mp4", n_steps=12, seed=0)
    # episodes of 5, 5 and 2 steps; a recurrent policy's memory restarts where the flag is set
    assert agent.starts == [True, False, False, False, False] * 2 + [True, False]
    env.close()


def test_env_without_rgb_array_names_the_fix(tmp_path: Path) -> None:
    env = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match=r'gym.make\("CartPole-v1", render_mode="rgb_array"\)'):
        record_video(PushLeft(), env, tmp_path / "x.mp4", n_steps=3)
    assert list(tmp_path.iterdir()) == []
    env.close()


def test_not_an_env_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="gymnasium env or an env id, got int"):
        record_video(PushLeft(), 3, tmp_path / "x.mp4", n_steps=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({}, "needs a length"),
        ({"n_steps": 0}, "n_steps must be a positive int"),
        ({"n_episodes": 1.5}, "n_episodes must be a positive int"),
        ({"n_steps": 3, "fps": 0}, "fps must be a positive number"),
    ],
)
def test_bad_limits_are_rejected(limits: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        record_video(PushLeft(), "CartPole-v1", tmp_path / "x.mp4", **limits)


class FailingAgent:
    def __init__(self) -> None:
        self.calls = 0

    def choose_action(self, observation: object, deterministic: bool = False) -> int:
        self.calls += 1
        if self.calls > 3:
            raise RuntimeError("policy crashed")
        return 0


def test_failure_mid_recording_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "replay.mp4"
    target.write_bytes(b"previous video")
    with pytest.raises(RuntimeError, match="policy crashed"):
        record_video(FailingAgent(), "CartPole-v1", target, n_steps=10)
    assert target.read_bytes() == b"previous video"
    assert [entry.name for entry in tmp_path.iterdir()] == ["replay.mp4"]
