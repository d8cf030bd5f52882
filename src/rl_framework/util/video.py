"""Replay videos: run an agent in an environment and write what it renders to an H.264 mp4.

Frames are encoded by the ffmpeg executable that ships inside the ``imageio-ffmpeg`` wheel,
so no system ffmpeg is needed, and streamed to it one at a time (memory stays flat however
long the video is).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from rl_framework.agent.acting import ActingSession, EnvSlot, act_in, start_acting, vec_action_masks
from rl_framework.environment.multi_agent import MultiAgentVecEnv, is_parallel_env
from rl_framework.util.checks import optional_positive_int, positive_number
from rl_framework.util.files import atomic_path


def record_video(
    agent: Any,
    environment: gym.Env | str,
    path: str | os.PathLike[str],
    n_steps: int | None = None,
    n_episodes: int | None = None,
    fps: float = 30,
    deterministic: bool = True,
    seed: int | None = None,
) -> Path:
    """Let ``agent`` act in ``environment`` and save the rendered frames as a video (``.mp4`` or ``.gif``).

    The video shows the first frame of every episode and one frame after every step, so it holds
    ``steps + episodes started`` frames. Recording stops after ``n_steps`` steps or ``n_episodes``
    finished episodes, whichever comes first (give at least one). The file is written atomically:
    on any error no (partial) video is left at ``path``.

    :param agent: an rl_framework agent (it acts through ``start_acting``: recurrent memory and
        action masks work), an SB3 model or policy, anything with ``choose_action(observation,
        deterministic=...)``, or a callable ``policy(observation) -> action``.
    :param environment: a gymnasium env created with ``render_mode="rgb_array"``, or an env id
        (made here with that render mode and closed afterwards), or an SB3 ``VecEnv`` or PettingZoo
        ``ParallelEnv`` made with that render mode (left open; a VecEnv's frames tile its envs, it
        resets itself so an episode's last frame is the next one's first, and episodes count on its
        first env; a ParallelEnv's agents all act through ``agent``).
    :param path: the file to write; its suffix picks the format: ``.mp4`` (H.264) or ``.gif`` (animated).
    :param n_steps: stop after this many environment steps.
    :param n_episodes: stop after this many finished episodes.
    :param fps: frames per second of the video.
    :param deterministic: let the agent take its most likely actions.
    :param seed: seed of the first reset (later episodes continue the environment's RNG).
    :return: the written path.
    :raises ValueError: for a bad limit, fps or suffix, or an environment that does not render ``rgb_array`` frames.
    """
    video_format = video_format_of(path)
    _check_limits(n_steps, n_episodes, fps)
    if isinstance(environment, VecEnv) or is_parallel_env(environment):
        frames = _play_vec_env(agent, environment, n_steps, n_episodes, deterministic, seed)
        return _write_video(frames, Path(path), fps, video_format)
    session = start_acting(agent, 1, purpose="record a video")
    _headless_sdl()
    env = _recording_environment(environment)
    try:
        frames = _play(session, env, n_steps, n_episodes, deterministic, seed)
        return _write_video(frames, Path(path), fps, video_format)
    finally:
        if env is not environment:
            env.close()


def _headless_sdl() -> None:
    """Without a display, tell SDL (pygame's renderer) to draw off-screen.

    Otherwise pygame-based environments print "XDG_RUNTIME_DIR is invalid" on headless machines.
    A user's own ``SDL_VIDEODRIVER`` setting wins.
    """
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _check_limits(n_steps: int | None, n_episodes: int | None, fps: float) -> None:
    if n_steps is None and n_episodes is None:
        raise ValueError("record_video needs a length: pass n_steps=... and/or n_episodes=....")
    for name, value in (("n_steps", n_steps), ("n_episodes", n_episodes)):
        optional_positive_int(value, name)
    positive_number(fps, "fps")


def _recording_environment(environment: gym.Env | str) -> gym.Env:
    """``environment`` itself, or a new ``rgb_array`` env for an env id; reject anything else."""
    if isinstance(environment, str):
        return gym.make(environment, render_mode="rgb_array")
    if not isinstance(environment, gym.Env):
        raise TypeError(
            f"record_video needs a gymnasium env or an env id, got {type(environment).__name__}. "
            f'Pass gym.make(env_id, render_mode="rgb_array") or the env id string.'
        )
    if environment.render_mode != "rgb_array":
        env_id = environment.spec.id if environment.spec is not None else "<env id>"
        raise ValueError(
            f"The environment renders with render_mode={environment.render_mode!r}; recording a video needs "
            f'"rgb_array" frames. Create it with gym.make("{env_id}", render_mode="rgb_array").'
        )
    return environment


def _play(
    session: ActingSession,
    env: gym.Env,
    n_steps: int | None,
    n_episodes: int | None,
    deterministic: bool,
    seed: int | None,
) -> Iterator[np.ndarray]:
    """Yield the rendered frames of the agent's episodes until a limit is reached."""
    slot = EnvSlot(env)
    slot.reset(seed=seed)
    yield _frame(env)
    steps = finished = 0
    while True:
        _, _, terminated, truncated, _ = slot.step(act_in(session, [slot], deterministic)[0])
        steps += 1
        yield _frame(env)
        if terminated or truncated:
            finished += 1
        if (n_steps is not None and steps >= n_steps) or (n_episodes is not None and finished >= n_episodes):
            return
        if terminated or truncated:
            slot.reset()
            yield _frame(env)


def _play_vec_env(
    agent: Any, environment: Any, n_steps: int | None, n_episodes: int | None, deterministic: bool, seed: int | None
) -> Iterator[np.ndarray]:
    """Yield the (tiled) frames of a VecEnv or ParallelEnv until a limit is reached."""
    vec_env = environment if isinstance(environment, VecEnv) else MultiAgentVecEnv([environment], [False])
    while isinstance(vec_env, VecNormalize):  # the agent applies its own frozen statistics
        vec_env = vec_env.venv
    if vec_env.render_mode != "rgb_array":
        raise ValueError(
            f"The environment renders with render_mode={vec_env.render_mode!r}; recording a video needs "
            f'"rgb_array" frames. Create its environments with render_mode="rgb_array".'
        )
    session = start_acting(agent, vec_env.num_envs, purpose="record a video")
    if seed is not None:
        vec_env.seed(seed)
    observations = vec_env.reset()
    episode_starts = np.ones(vec_env.num_envs, dtype=bool)
    yield _frame(vec_env)
    steps = finished = 0
    while (n_steps is None or steps < n_steps) and (n_episodes is None or finished < n_episodes):
        masks = vec_action_masks(vec_env) if session.needs_action_masks else None
        actions = session.act(observations, episode_starts, deterministic=deterministic, action_masks=masks)
        observations, _, episode_starts, _ = vec_env.step(actions)
        steps += 1
        yield _frame(vec_env)
        if isinstance(vec_env, MultiAgentVecEnv):  # a copy's episode ends when all its agents are done
            finished = vec_env.copy_episodes[0]
        else:
            finished += int(episode_starts[0])


def _frame(env: gym.Env | VecEnv) -> np.ndarray:
    frame: Any = env.render()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(
            f"env.render() must return an (height, width, 3 or 4) image array in rgb_array mode, got "
            f"{type(frame).__name__} {getattr(frame, 'shape', '')}."
        )
    return np.ascontiguousarray(frame, dtype=np.uint8)


@dataclass(frozen=True)
class VideoFormat:
    """How ffmpeg encodes one container format.

    :param codec: ffmpeg's encoder.
    :param pixel_format: the encoded pixel format.
    :param macro_block_size: frame sides are padded to a multiple of this.
    :param output_params: extra ffmpeg output options (the temporary file has no suffix, so ``-f`` names
        the container).
    """

    codec: str
    pixel_format: str
    macro_block_size: int
    output_params: tuple[str, ...]


#: Suffix -> encoding. GIF: one palette per video (``palettegen``/``paletteuse``) keeps colours true.
VIDEO_FORMATS = {
    ".mp4": VideoFormat("libx264", "yuv420p", 2, ("-f", "mp4", "-movflags", "+faststart")),
    ".gif": VideoFormat(
        "gif", "pal8", 1, ("-f", "gif", "-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse", "-loop", "0")
    ),
}


def video_format_of(path: str | os.PathLike[str]) -> VideoFormat:
    """The encoding for ``path``'s suffix; raise ``ValueError`` naming the supported suffixes otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_FORMATS:
        raise ValueError(
            f"Cannot record a video to '{path}': the suffix {suffix or '(none)'!r} is not a supported format. "
            f"Use one of {', '.join(VIDEO_FORMATS)} (e.g. 'replay.mp4')."
        )
    return VIDEO_FORMATS[suffix]


def _write_video(frames: Iterator[np.ndarray], path: Path, fps: float, video_format: VideoFormat) -> Path:
    """Encode ``frames`` with imageio-ffmpeg's bundled ffmpeg into ``path`` (atomically)."""
    import imageio_ffmpeg

    first = next(frames)
    height, width, channels = first.shape
    with atomic_path(path) as temporary:
        writer: Generator[None, Any, None] = imageio_ffmpeg.write_frames(
            str(temporary),
            (width, height),
            pix_fmt_in="rgb24" if channels == 3 else "rgba",
            pix_fmt_out=video_format.pixel_format,
            fps=fps,
            codec=video_format.codec,
            quality=None if video_format.codec == "gif" else 5,
            macro_block_size=video_format.macro_block_size,
            ffmpeg_log_level="error",
            output_params=list(video_format.output_params),
        )
        writer.send(None)
        try:
            writer.send(first)
            for frame in frames:
                if frame.shape != first.shape:
                    raise ValueError(f"The environment changed its frame size from {first.shape} to {frame.shape}.")
                writer.send(frame)
        finally:
            writer.close()
    return path
