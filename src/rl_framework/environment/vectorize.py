"""Turning whatever the user passes as training environments into one SB3 VecEnv.

Two guards make training faults name their cause: ``FiniteCheckVecEnv`` stops training at the
first NaN/inf reward, observation or action (before the model learns from it), and the
subprocess vectorization turns a crashed worker's bare ``EOFError`` into an error that names
the environment and how to see its traceback.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from rl_framework.environment.copies import as_env, copy_factories, is_wrapped_with
from rl_framework.environment.multi_agent import ParallelEnvMade, from_first_product, multi_agent_training_env
from rl_framework.util.checks import positive_int
from rl_framework.util.finite import NonFiniteError

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
    multi_agent = multi_agent_training_env(training_environments, n_envs, vectorization)
    if multi_agent is not None:  # a PettingZoo ParallelEnv: one slot per agent (environment/multi_agent.py)
        return multi_agent
    factories = to_factories(training_environments, n_envs, wrapper)
    if vectorization == "dummy":
        try:
            vec_env: VecEnv = DummyVecEnv(factories)
        except ParallelEnvMade as made:  # a factory of PettingZoo envs: its first product is copy 0 (multi_agent.py)
            return from_first_product(made, training_environments, n_envs)
    else:
        vec_env = NamedSubprocVecEnv(factories, describe_entries(training_environments, len(factories)))
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


class PicklableHook:
    """An agent's per-environment hook (a bound method) that subprocess workers receive without the agent.

    Pickling a bound method pickles its agent, model included, which fails once the agent holds
    a trained model (SB3 models hold weak references). Pickled, this hook carries only the
    agent's class and the method name; a worker calls the method on a blank instance, so a
    hook must not depend on the agent's state (``_wrap_training_environment`` does not).

    :param hook: a bound method of an agent, taking and returning an environment.
    """

    def __init__(self, hook: Callable[[gym.Env], gym.Env]) -> None:
        self.hook = hook

    def __call__(self, env: gym.Env) -> gym.Env:
        """Apply the hook to ``env``."""
        return self.hook(env)

    def __reduce__(self) -> tuple[Any, ...]:
        owner = self.hook.__self__  # type: ignore[attr-defined]
        return (_blank_hook, (type(owner), self.hook.__name__))


def _blank_hook(owner_class: type, name: str) -> PicklableHook:
    return PicklableHook(getattr(object.__new__(owner_class), name))


def describe_entries(training_environments: Any, count: int) -> list[str]:
    """A readable name for each of ``count`` environments built from ``training_environments`` (for errors)."""
    entries = training_environments if isinstance(training_environments, (list, tuple)) else [training_environments]
    names = [_describe(entry) for entry in entries]
    return names if len(names) == count else [names[0]] * count


def _describe(entry: Any) -> str:
    if isinstance(entry, str):
        return repr(entry)
    spec_id = getattr(getattr(entry, "spec", None), "id", None)
    if spec_id:
        return repr(spec_id)
    if isinstance(entry, gym.Env):
        return repr(type(entry.unwrapped).__name__)
    return repr(getattr(entry, "__qualname__", None) or type(entry).__name__)


class NamedSubprocVecEnv(SubprocVecEnv):
    """``SubprocVecEnv`` whose crashed workers raise an error naming the environment.

    A worker whose environment raises dies (printing the traceback on stderr) and SB3 then
    only reports an empty ``EOFError`` or ``BrokenPipeError``.

    :param env_fns: one factory per environment.
    :param names: a readable name per environment (e.g. its env id).
    :param start_method: the multiprocessing start method (SB3's default when ``None``).
    """

    def __init__(self, env_fns: list[Callable[[], gym.Env]], names: list[str], start_method: str | None = None) -> None:
        self.names = names
        self.remotes, self.processes = (), []  # so that a failure while starting can be explained
        with self._explained("while starting"):
            super().__init__(env_fns, start_method)

    @contextlib.contextmanager
    def _explained(self, during: str) -> Iterator[None]:
        try:
            yield
        except (EOFError, ConnectionError) as error:  # BrokenPipeError and ConnectionResetError included
            self.waiting = False
            failed = self._dead_workers() or list(range(len(self.names)))
            which = ", ".join(f"{self.names[index]} (copy {index})" for index in failed)
            raise EnvironmentProcessError(
                f"The training environment {which} failed in its subprocess {during}: the process ended "
                f"({type(error).__name__}), and its traceback, if any, is printed above on stderr. Train with "
                f'vectorization="dummy" to get the environment\'s own error raised here with its traceback.'
            ) from error

    def _dead_workers(self) -> list[int]:
        deadline = time.monotonic() + 2.0  # a crashing worker may still be printing its traceback
        while True:
            dead = [index for index, process in enumerate(self.processes) if process.exitcode is not None]
            if dead or time.monotonic() > deadline:
                return dead
            time.sleep(0.02)

    def step_wait(self) -> VecEnvStepReturn:
        """As ``SubprocVecEnv.step_wait``; a crashed worker raises ``EnvironmentProcessError``."""
        with self._explained("during step()"):
            return super().step_wait()

    def reset(self) -> VecEnvObs:
        """As ``SubprocVecEnv.reset``; a crashed worker raises ``EnvironmentProcessError``."""
        with self._explained("during reset()"):
            return super().reset()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """As ``SubprocVecEnv.get_attr``; a crashed worker raises ``EnvironmentProcessError``."""
        with self._explained(f"while reading '{attr_name}'"):
            return super().get_attr(attr_name, indices)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        """As ``SubprocVecEnv.env_method``; a crashed worker raises ``EnvironmentProcessError``."""
        with self._explained(f"in {method_name}()"):
            return super().env_method(method_name, *method_args, indices=indices, **method_kwargs)

    def close(self) -> None:
        """Close the workers; ones that crashed are only reaped (they cannot answer any more)."""
        if self.closed:
            return
        try:
            super().close()
        except (EOFError, ConnectionError, OSError):
            for process in self.processes:
                process.terminate()
                process.join(timeout=5)
            for remote in self.remotes:
                remote.close()
            self.closed = True


class EnvironmentProcessError(RuntimeError):
    """A training environment's subprocess ended (its environment raised, or it was killed)."""


class FiniteCheckVecEnv(VecEnvWrapper):
    """Stop training at the first NaN/inf reward, observation or action, naming the environment and step.

    The error is raised inside ``step``, before the algorithm stores the transition or updates
    on it, so the model stays as it was after its last update. Integer observations (images)
    cannot be non-finite and are not checked.

    :param venv: the training environments.
    :param first_step: the agent's step count when this training call starts (for the message).
    """

    def __init__(self, venv: VecEnv, first_step: int = 0) -> None:
        super().__init__(venv)
        self.step_count = first_step
        self._zeros: dict[tuple[int, np.dtype[Any]], np.ndarray] = {}

    def reset(self) -> VecEnvObs:
        """Reset every environment; raise ``NonFiniteError`` on a non-finite observation."""
        observations = self.venv.reset()
        self._check("an observation from reset()", observations)
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        """Send ``actions`` on; raise ``NonFiniteError`` if one of them is non-finite."""
        if isinstance(actions, np.ndarray) and actions.dtype.kind == "f":
            if not self._all_finite(actions):
                raise NonFiniteError(
                    f"Training stopped at step {self.step_count}: the policy produced a NaN/inf action, so its "
                    f"parameters are no longer finite (often the effect of NaN/inf rewards or observations "
                    f"earlier, or of a too high learning rate). Lower the learning rate or fix the environment, "
                    f"and train again from a saved checkpoint."
                )
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step every environment; raise ``NonFiniteError`` on a non-finite reward or observation."""
        observations, rewards, dones, infos = self.venv.step_wait()
        self.step_count += self.num_envs
        self._check("a reward", rewards)
        self._check("an observation", observations)
        return observations, rewards, dones, infos

    def _check(self, what: str, values: Any) -> None:
        # Cheap on the hot path: one isfinite per float array (integer images cannot hold NaN).
        if isinstance(values, np.ndarray):
            arrays: tuple[Any, ...] = (values,)
        else:  # Dict observations arrive as a dict of arrays, Tuple observations as a tuple
            arrays = tuple(values.values()) if isinstance(values, dict) else tuple(values)
        for array in arrays:
            array = np.asarray(array)
            if array.dtype.kind != "f" or self._all_finite(array):
                continue
            rows = np.flatnonzero(~np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1))
            index = int(rows[0]) if rows.size else 0
            raise NonFiniteError(
                f"Training stopped at step {self.step_count}: the training environment {self._name(index)} (copy "
                f"{index}) returned {what} that is NaN or infinite. The model did not learn from it (it is as it "
                f"was after its last update). Fix the environment, or wrap it to clip or replace non-finite "
                f"values, then train again."
            )

    def _all_finite(self, array: np.ndarray) -> bool:
        flat = array.reshape(-1)
        zeros = self._zeros.get((flat.size, flat.dtype))
        if zeros is None:
            zeros = self._zeros[(flat.size, flat.dtype)] = np.zeros(flat.size, flat.dtype)
        # NaN * 0 and inf * 0 are NaN, finite * 0 is 0: one dot product tells whether every value is
        # finite, twice as fast as isfinite().all() on the small arrays of one step (an inf also makes
        # numpy warn "invalid value", just before the NonFiniteError).
        return math.isfinite(flat.dot(zeros))

    def _name(self, index: int) -> str:
        try:
            spec = self.venv.get_attr("spec", [index])[0]
        except Exception:  # a broken environment may not even answer this; the copy index still names it
            spec = None
        return repr(spec.id) if getattr(spec, "id", None) else "(unnamed)"
