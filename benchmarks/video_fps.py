"""Replay video recording speed: ``record_video`` against a hand-written render-and-encode loop.

Both record the same trained PPO policy acting deterministically in ``CartPole-v1`` (600x400 frames)
for ``--steps`` steps into an H.264 ``.mp4`` with the ffmpeg that ships in ``imageio-ffmpeg``:

- ``loop``: what a user writes without rl_framework: ``model.predict`` per step, ``env.render()``,
  frames sent to ``imageio_ffmpeg.write_frames`` (libx264, yuv420p, quality 5, as ``record_video`` uses);
- ``record_video``: ``record_video(agent, "CartPole-v1", path, n_steps=...)``.

The figure is frames per second of ``record_video`` over the loop's (target >= 0.95: the library adds
nothing measurable to rendering and encoding, which dominate).

Run: ``python benchmarks/video_fps.py [--steps 500] [--repeats 3] [--quick]``
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
from benchmark_tools import Figure, alternating, describe, median, parser, ratio, report, timed

from rl_framework.agent import StableBaselinesAgent
from rl_framework.util.video import record_video


def loop(agent: StableBaselinesAgent, steps: int, path: Path) -> int:
    """Render and encode ``steps`` steps by hand; return the frame count."""
    assert agent.model is not None
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    observation, _ = env.reset(seed=0)
    frame = env.render()
    height, width = frame.shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=30, codec="libx264", quality=5, macro_block_size=2, ffmpeg_log_level="error"
    )
    writer.send(None)
    writer.send(np.ascontiguousarray(frame))
    frames = 1
    for _ in range(steps):
        action, _ = agent.model.predict(observation, deterministic=True)
        observation, _, terminated, truncated, _ = env.step(action)
        writer.send(np.ascontiguousarray(env.render()))
        frames += 1
        if terminated or truncated:
            observation, _ = env.reset()
            writer.send(np.ascontiguousarray(env.render()))
            frames += 1
    writer.close()
    env.close()
    return frames


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--steps", type=int, default=500)
    arguments.add_argument("--repeats", type=int, default=3)
    arguments.add_argument("--train-steps", type=int, default=20_000)
    args = arguments.parse_args()
    if args.quick:
        args.steps, args.repeats, args.train_steps = 20, 1, 256
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless pygame, as record_video sets it
    agent = StableBaselinesAgent("PPO", {"n_steps": 64, "batch_size": 128, "learning_rate": 1e-3, "seed": 0})
    agent.train("CartPole-v1", n_envs=8, total_timesteps=args.train_steps, progress_bar=False)
    with tempfile.TemporaryDirectory(prefix="rl_framework-video-") as scratch:
        folder = Path(scratch)
        frames = loop(agent, args.steps, folder / "warm-up.mp4")  # the same frame count both ways
        times = alternating(
            {
                "loop": timed(lambda: loop(agent, args.steps, folder / "loop.mp4")),
                "record_video": timed(
                    lambda: record_video(agent, "CartPole-v1", folder / "ours.mp4", n_steps=args.steps, seed=0)
                ),
            },
            args.repeats,
        )
    fps = {side: frames / median(values) for side, values in times.items()}
    figures = [
        Figure(
            "record_video frames/s / hand-written render + encode loop",
            ratio(times["loop"], times["record_video"]),
            ">= 0.95",
            f"{frames} frames of 600x400; record_video {fps['record_video']:.0f} fps, loop {fps['loop']:.0f} fps; "
            + "; ".join(f"{side}: {describe(values)}" for side, values in times.items()),
        )
    ]
    report(figures, args.json, [f"CartPole-v1, {args.steps} steps, H.264 mp4, {args.repeats} rounds"], args.quick)


if __name__ == "__main__":
    main()
