"""Making several independent copies of an environment, for batched evaluation and vectorized training."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gymnasium as gym

from rl_framework.environment.multi_agent import ParallelEnvMade, is_parallel_env


def is_wrapped_with(env: gym.Env, wrapper_class: type) -> bool:
    """Return whether ``wrapper_class`` appears anywhere in ``env``'s wrapper chain."""
    current: Any = env
    while current is not None:
        if isinstance(current, wrapper_class):
            return True
        current = getattr(current, "env", None)
    return False


def spec_copyable(env: gym.Env) -> bool:
    """Return whether ``gym.make(env.spec)`` rebuilds ``env`` with all its wrappers.

    True when the env was made from a registered id and every wrapper added afterwards records
    its constructor arguments (gymnasium's own wrappers do; SB3's ``Monitor`` does not).
    ``gym.make`` gives ``env.unwrapped`` a minimal spec, so a bare env copies as a bare env.
    """
    spec = env.spec
    if spec is None:
        return False
    return all(wrapper.kwargs is not None for wrapper in getattr(spec, "additional_wrappers", ()))


def as_env(entry: Any) -> tuple[gym.Env, bool]:
    """Turn one environment entry into an env; return ``(env, made_here)``.

    :param entry: a gymnasium env, an env id string, or a zero-argument factory.
    :raises TypeError: for anything else, naming what is accepted.
    """
    if isinstance(entry, gym.Env):
        return entry, False
    if isinstance(entry, str):
        return gym.make(entry), True
    if callable(entry):
        env = entry()
        if not isinstance(env, gym.Env):
            if is_parallel_env(env):  # train / evaluate catch it and go multi-agent (multi_agent.py)
                raise ParallelEnvMade(env, entry)
            raise TypeError(f"The environment factory {entry!r} returned {type(env).__name__}, not a gymnasium.Env.")
        return env, True
    raise TypeError(
        f"Cannot use {type(entry).__name__} as an environment. Pass a gymnasium.Env, an env id string, "
        f"a zero-argument factory returning an env, a list of those, or an SB3 VecEnv."
    )


def copy_factories(environment: Any, n_copies: int) -> list[Callable[[], gym.Env]] | None:
    """Return ``n_copies`` factories of fresh copies of ``environment``, or ``None`` if it cannot be copied.

    An env id or a factory can always be copied; an env instance only through its spec.
    """
    if isinstance(environment, str):
        return [lambda: gym.make(environment)] * n_copies
    if isinstance(environment, gym.Env):
        if not spec_copyable(environment):
            return None
        spec = environment.spec
        assert spec is not None  # spec_copyable checked it
        return [lambda: gym.make(spec)] * n_copies
    if callable(environment):
        return [environment] * n_copies
    return None


@contextlib.contextmanager
def environment_copies(environment: Any, n_copies: int) -> Iterator[list[gym.Env]]:
    """Yield up to ``n_copies`` independent envs for ``environment``; close the ones made here.

    - an env id or factory: ``n_copies`` fresh envs;
    - a list of envs / ids / factories: those (factories and ids instantiated);
    - a single env: the env itself plus copies made from its spec, or just the env when it
      cannot be copied (its episodes then run one after another).
    """
    made: list[gym.Env] = []
    try:
        if isinstance(environment, Sequence) and not isinstance(environment, str):
            if len(environment) == 0:
                raise ValueError("The list of environments is empty: pass at least one environment.")
            envs = []
            for entry in environment:
                env, made_here = as_env(entry)
                envs.append(env)
                if made_here:
                    made.append(env)
        else:
            is_instance = isinstance(environment, gym.Env)
            copies = copy_factories(environment, n_copies - 1 if is_instance else n_copies)
            if copies is None and not is_instance:
                as_env(environment)  # raises the TypeError that names what is accepted
            for factory in copies or []:
                made.append(as_env(factory)[0])  # appended one by one: all made so far get closed on error
            envs = [environment, *made] if is_instance else list(made)
        yield envs
    finally:
        for env in made:
            env.close()
