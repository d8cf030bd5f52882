"""The environments of an experiment: made the same way for training, evaluation and videos.

``EnvironmentFactory`` makes one environment from an id, its ``gymnasium.make`` keyword
arguments and the observation wrappers of the experiment (frame stacking), so an agent trained
on stacked frames is also evaluated and recorded on stacked frames. ``VecNormalize`` is the one
wrapper applied to the vectorized training environments; the agent keeps its statistics and
applies them itself when it acts.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import gymnasium as gym

import rl_framework.environment  # noqa: F401 - registers rl_framework/Acrobot-v1
from rl_framework.experiment.config import ExperimentError


def check_environment_id(env_id: str) -> None:
    """Raise ``ExperimentError`` unless gymnasium knows ``env_id`` (a ``module:`` prefix is imported first).

    :param env_id: e.g. ``"CartPole-v1"`` or ``"my_package:MyEnv-v0"``.
    """
    try:
        gym.spec(env_id)
    except (gym.error.Error, ModuleNotFoundError) as error:
        known = list(gym.envs.registry)
        close = difflib.get_close_matches(env_id, known, n=3)
        hint = f"Did you mean {', '.join(close)}? " if close else ""
        raise ExperimentError(
            f"Unknown environment '{env_id}' ({' '.join(str(error).split())}). {hint}Use a registered id "
            f"(`python -c \"import gymnasium; gymnasium.pprint_registry()\"` lists them) or 'module:EnvId' to "
            f"import the module that registers it."
        ) from None


class EnvironmentFactory:
    """A picklable function that makes the experiment's environment (subprocess-safe).

    :param env_id: the gymnasium id.
    :param env_kwargs: keyword arguments of ``gymnasium.make``.
    :param frame_stack: observations stacked along a new first axis (1: no stacking).
    :param render_mode: ``"rgb_array"`` for videos; ``None`` otherwise.
    :param wrapper: applied last to every environment made (e.g. progress reporting).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any] | None = None,
        frame_stack: int = 1,
        render_mode: str | None = None,
        wrapper: Callable[[gym.Env], gym.Env] | None = None,
    ) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.frame_stack = frame_stack
        self.render_mode = render_mode
        self.wrapper = wrapper

    @classmethod
    def from_experiment(cls, experiment: dict[str, Any], **kwargs: Any) -> EnvironmentFactory:
        """The factory of a resolved experiment (``ExperimentConfig.to_dict()``, e.g. from an agent's metadata).

        :param experiment: the experiment's keys (``env``, ``env_kwargs``, ``frame_stack``).
        :param kwargs: ``render_mode`` / ``wrapper``.
        """
        return cls(experiment["env"], experiment.get("env_kwargs"), experiment.get("frame_stack") or 1, **kwargs)

    @property
    def spec(self) -> Any:
        """The registered spec of the environment it makes (upload metadata reads its ``id``)."""
        return gym.spec(self.env_id)

    def with_options(self, **changes: Any) -> EnvironmentFactory:
        """A copy with ``render_mode`` and/or ``wrapper`` replaced."""
        options = {"render_mode": self.render_mode, "wrapper": self.wrapper, **changes}
        return EnvironmentFactory(self.env_id, self.env_kwargs, self.frame_stack, **options)

    def __call__(self) -> gym.Env:
        """Make one environment."""
        kwargs = dict(self.env_kwargs)
        if self.render_mode is not None:
            kwargs["render_mode"] = self.render_mode
        env = gym.make(self.env_id, **kwargs)
        if self.frame_stack > 1:
            env = stack_frames(env, self.frame_stack)
        return self.wrapper(env) if self.wrapper is not None else env

    def __repr__(self) -> str:
        return f"EnvironmentFactory({self.env_id!r}, env_kwargs={self.env_kwargs}, frame_stack={self.frame_stack})"


def stack_frames(env: gym.Env, n: int) -> gym.Env:
    """Gymnasium's frame-stacking wrapper (``FrameStack`` in 0.29, ``FrameStackObservation`` from 1.0)."""
    wrappers: Any = gym.wrappers
    if hasattr(wrappers, "FrameStackObservation"):
        return wrappers.FrameStackObservation(env, n)
    return wrappers.FrameStack(env, n)


class ReportingWrapper(gym.Wrapper):
    """Calls ``on_step()`` after every step and ``on_episode()`` after every finished episode (progress bars).

    :param env: the environment.
    :param on_step: called once per step.
    :param on_episode: called once per finished (terminated or truncated) episode.
    """

    def __init__(
        self, env: gym.Env, on_step: Callable[[], None] | None = None, on_episode: Callable[[], None] | None = None
    ) -> None:
        super().__init__(env)
        self._on_step = on_step
        self._on_episode = on_episode

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step the environment and report."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self._on_step is not None:
            self._on_step()
        if (terminated or truncated) and self._on_episode is not None:
            self._on_episode()
        return observation, reward, terminated, truncated, info


def normalized(vec_env: Any, normalize: bool | dict[str, Any]) -> Any:
    """``vec_env`` in ``VecNormalize`` when ``normalize`` asks for it (``true`` or its keyword arguments).

    :raises ExperimentError: for keyword arguments ``VecNormalize`` does not take.
    """
    if normalize is False:
        return vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    kwargs = {} if normalize is True else dict(normalize)
    try:
        return VecNormalize(vec_env, **kwargs)
    except TypeError as error:
        raise ExperimentError(
            f"normalize: {error}. It takes VecNormalize's arguments, e.g. {{norm_obs: true, norm_reward: false, "
            f"clip_obs: 10.0, gamma: 0.99}}."
        ) from None
