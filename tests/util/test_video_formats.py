"""``record_video`` picks the container from the path's suffix: H.264 ``.mp4`` or animated ``.gif``."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from rl_framework.util.video import record_video


class PushLeft:
    def choose_action(self, observation: np.ndarray, deterministic: bool = True) -> int:
        return 0


def test_gif_and_mp4_hold_the_same_frames(tmp_path):
    gif = record_video(PushLeft(), "CartPole-v1", tmp_path / "replay.gif", n_steps=20, seed=0)
    mp4 = record_video(PushLeft(), "CartPole-v1", tmp_path / "replay.mp4", n_steps=20, seed=0)
    assert gif.read_bytes()[:6] == b"GIF89a"
    with Image.open(gif) as image:
        gif_frames, size, loop = image.n_frames, image.size, image.info.get("loop")
    mp4_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert gif_frames == mp4_frames > 20  # 20 steps plus the first frame of every episode
    assert size == (600, 400) and loop == 0  # CartPole's frame size; the GIF loops forever


def test_gif_keeps_the_frame_colours(tmp_path):
    gif = record_video(PushLeft(), "CartPole-v1", tmp_path / "replay.gif", n_steps=1, seed=0)
    with Image.open(gif) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=4096)}
    assert (255, 255, 255) in colours and len(colours) >= 3  # white background, cart and pole survive the palette


@pytest.mark.parametrize("name", ["replay.avi", "replay", "replay.MP4.txt"])
def test_other_suffixes_are_refused_before_any_work(tmp_path, name):
    with pytest.raises(ValueError, match=r"not a supported format\. Use one of \.mp4, \.gif"):
        record_video(PushLeft(), "NoSuchEnvironment-v0", tmp_path / name, n_steps=5)
    assert list(tmp_path.iterdir()) == []


def test_suffix_is_case_insensitive(tmp_path):
    path = record_video(PushLeft(), "CartPole-v1", tmp_path / "REPLAY.GIF", n_steps=2, seed=0)
    assert path.read_bytes()[:6] == b"GIF89a"
