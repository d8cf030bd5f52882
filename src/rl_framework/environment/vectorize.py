"""Turning whatever the user passes as training environments into one SB3 VecEnv."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from rl_framework.environment.copies import as_env, copy_factories, is_wrapped_with
from rl_framework.util.checks import positive_int

Vectorization = Literal["dummy", "subprocess"]
#: One environment as users pass it: an env, a registered env id, or a zero-argument factory.
EnvironmentEntry = gym.Env | str | Callable[[], gym.Env]
#: Everything ``train`` accepts as ``training_environments``.
TrainingEnvironments = EnvironmentEntry | Sequence[EnvironmentEntry] | VecEnv
#: A per-environment wrapper hook (e.g. imitation's ``RolloutInfoWrapper``), applied inside the Monitor.
EnvironmentWrapper = Callable[[gym.Env], gym.Env]


def _monitored(entry: Any, wrapper: EnvironmentWrapper | None = None) -> Callable[[], gym.Env]:
    """Factory that builds ``entry``, applies ``wrapper`` and puts a Monitor on it (SB3 reads episode stats)."""

    def build() -> gym.Env:
        env, _ = as_env(entry)
        if wrapper is not None:
            env = wrapper(env)
        return env if is_wrapped_with(env, Monitor) else Monitor(env)

    return build


def to_factories(
    training_environments: TrainingEnvironments, n_envs: int, wrapper: EnvironmentWrapper | None = None
) -> list[Callable[[], gym.Env]]:
    """Expand the accepted input forms into one monitored factory per environment.

    :raises ValueError: when ``n_envs`` copies are asked of an env that cannot be copied.
    """
    n_envs = positive_int(n_envs, "n_envs")
    if isinstance(training_environments, Sequence) and not isinstance(training_environments, str):
        if len(training_environments) == 0:
            raise ValueError("training_environments is an empty list: pass at least one environment.")
        return [_monitored(entry, wrapper) for entry in training_environments]
    if isinstance(training_environments, gym.Env) and n_envs == 1:
        return [_monitored(training_environments, wrapper)]
    factories = copy_factories(training_environments, n_envs)
    if factories is None:
        if isinstance(training_environments, gym.Env):
            raise ValueError(
                f"Cannot make {n_envs} copies of this environment instance (it has no re-makeable spec). "
                f"Pass an env id, a factory, or a list of {n_envs} environments instead."
            )
        as_env(training_environments)  # raises the TypeError naming accepted inputs
    return [_monitored(factory, wrapper) for factory in factories or []]


def build_vec_env(
    training_environments: TrainingEnvironments,
    n_envs: int = 1,
    vectorization: Vectorization = "dummy",
    wrapper: EnvironmentWrapper | None = None,
) -> VecEnv:
    """Build one VecEnv from ``training_environments`` and check all its envs share their spaces.

    :param training_environments: a VecEnv (used as is), an env, env id, factory, or a list of envs/factories.
    :param n_envs: number of copies for an env id, a factory or a copyable env.
    :param vectorization: ``"dummy"`` (in-process, default) or ``"subprocess"`` (one process per env).
    :param wrapper: applied to every environment built here (not to a given VecEnv).
    :return: the VecEnv.
    """
    if isinstance(training_environments, VecEnv):
        return training_environments
    if vectorization not in ("dummy", "subprocess"):
        raise ValueError(f"vectorization must be 'dummy' or 'subprocess', got {vectorization!r}.")
    factories = to_factories(training_environments, n_envs, wrapper)
    vec_env: VecEnv = DummyVecEnv(factories) if vectorization == "dummy" else SubprocVecEnv(factories)
    try:
        check_same_spaces(vec_env)
    except ValueError:
        vec_env.close()
        raise
    return vec_env


def check_same_spaces(vec_env: VecEnv) -> None:
    """Raise ``ValueError`` if the envs inside ``vec_env`` disagree on their spaces."""
    for attribute in ("observation_space", "action_space"):
        spaces = vec_env.get_attr(attribute)
        for index, space in enumerate(spaces[1:], start=1):
            if space != spaces[0]:
                raise ValueError(
                    f"The training environments have different {attribute}s: env 0 has {spaces[0]}, "
                    f"env {index} has {space}. Vectorized training needs identical spaces; pass copies "
                    f"of one environment."
                )


def check_spaces_match(
    observation_space: gym.Space,
    action_space: gym.Space,
    env_observation_space: gym.Space,
    env_action_space: gym.Space,
    context: str,
) -> None:
    """Raise ``ValueError`` naming both spaces when an agent's spaces differ from an env's.

    :param context: what is being matched, e.g. "the loaded model" (for the message).
    """
    for kind, expected, given in (
        ("observation", observation_space, env_observation_space),
        ("action", action_space, env_action_space),
    ):
        if expected != given:
            raise ValueError(
                f"{context} expects the {kind} space {expected} but the environment has {given}. "
                f"Train a new agent for this environment, or pass an environment with matching spaces."
            )


def close_training_environments(vec_env: VecEnv, training_environments: TrainingEnvironments) -> None:
    """Close what ``build_vec_env`` built for training, but never the user's own objects.

    A VecEnv the user passed stays open, and so do env instances the user passed (they run
    inside an in-process ``DummyVecEnv``); copies, subprocesses and envs made from ids or
    factories are closed.
    """
    if vec_env is training_environments:
        return
    entries = training_environments if isinstance(training_environments, (list, tuple)) else [training_environments]
    user_envs = [entry for entry in entries if isinstance(entry, gym.Env)]
    if not (user_envs and isinstance(vec_env, DummyVecEnv)):
        vec_env.close()
        return
    for env in vec_env.envs:
        if not any(_wraps(env, user_env) for user_env in user_envs):
            env.close()


def _wraps(env: gym.Env, inner: gym.Env) -> bool:
    """Whether ``inner`` is ``env`` or sits somewhere in its wrapper chain."""
    current: Any = env
    while current is not None:
        if current is inner:
            return True
        current = getattr(current, "env", None)
    return False
