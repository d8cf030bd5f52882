"""Evaluation on an environment's own vectorized implementation (gymnasium's ``vector_entry_point``).

Some registered environments ship a class that steps many copies with one set of numpy
operations: gymnasium 0.29 registers ``CartPoleVectorEnv`` for ``CartPole-v0``/``v1``. Stepping
100 copies that way costs about as much as stepping 10 single envs, so evaluation can run at
the policy's speed instead of the environment's. Three things keep the results identical to
playing the episodes one after another with ``gym.make(id)`` (and so to ``evaluate``'s copies):

1. **Same initial states.** Episode ``i`` must start from ``env.reset(seed=seed + i)``, but the
   vector class takes one seed for all copies and re-draws finished copies from its own RNG.
   So every episode's initial state comes from a seeded reset of one single env of the same
   spec, written into the vector env's ``state`` in place of the state it drew itself.
2. **Same precision.** ``CartPoleEnv`` integrates its state in float64 (Python floats) and
   returns float32 observations; ``CartPoleVectorEnv`` keeps a float32 state, which drifts
   from the single env within a few dozen steps. The injected state is float64, and numpy
   keeps it float64 through the vector class's step, so both integrate the same numbers.
3. **Verified, not assumed.** Before first use in a process, a few hundred steps of the vector
   class are compared bit for bit with single-env steps from the same states (numpy's SIMD
   ``cos``/``sin`` could in principle round differently from the C library's on some CPU).
   A class that differs, or one not in ``_STATE_LAYOUTS``, is not used.

Episode bookkeeping follows SB3's ``evaluate_policy``: copy ``k`` of ``n`` runs episodes
``k, k + n, k + 2n, ...``; time limits come from the spec's ``max_episode_steps``. Anything this
module cannot reproduce exactly (other kwargs such as ``render_mode``, wrappers added after
``gym.make``, a ``Monitor``, a modified env instance, policies that need action masks) is left
to the copies in ``copies.py``: ``native_vector_episodes`` returns ``None`` for it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec, load_env_creator
from stable_baselines3.common.monitor import Monitor

from rl_framework.environment.copies import is_wrapped_with

#: Vector classes whose copies keep their state as ``state[:, copy]`` (one row per state variable),
#: as their single env keeps ``state`` (same variables), mapped to the single env's entry point.
_STATE_LAYOUTS = {
    "gymnasium.envs.classic_control.cartpole:CartPoleVectorEnv": "gymnasium.envs.classic_control.cartpole:CartPoleEnv",
}
_PROBE_COPIES, _PROBE_STEPS = 8, 30


class ActingSession(Protocol):
    """What the runner needs of ``rl_framework.agent.acting.ActingSession``."""

    needs_action_masks: bool

    def act(
        self,
        observations: Any,
        episode_starts: np.ndarray,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
        env_indices: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Return one action per observation row."""


def native_vector_spec(environment: Any) -> EnvSpec | None:
    """The spec to evaluate ``environment`` on with its native vector class, or ``None``.

    :param environment: what the user passed to ``evaluate``: only an env id or an env made by
        ``gym.make`` (without wrappers added afterwards, a ``Monitor`` or extra kwargs) qualify.
    :return: the spec, when its ``vector_entry_point`` is one this module reproduces exactly.
    """
    spec: EnvSpec | None
    if isinstance(environment, str):
        try:
            spec = gym.spec(environment)
        except gym.error.Error:
            return None  # the copies path raises gymnasium's own error for a bad id
    elif isinstance(environment, gym.Env) and not is_wrapped_with(environment, Monitor):
        spec = environment.spec
    else:
        return None
    if (
        spec is None
        or spec.vector_entry_point not in _STATE_LAYOUTS
        or spec.entry_point != _STATE_LAYOUTS[spec.vector_entry_point]
        or spec.kwargs  # e.g. render_mode: the vector class would not render like the single env
        or spec.additional_wrappers
        or spec.max_episode_steps is None
        or spec.apply_api_compatibility
    ):
        return None
    if isinstance(environment, gym.Env) and not _same_parameters(environment.unwrapped, spec):
        return None
    return spec if _verified(spec.vector_entry_point) else None


def native_vector_episodes(
    environment: Any,
    n_copies: int,
    start_acting: Callable[[int], ActingSession],
    seeds: Sequence[int | None],
    deterministic: bool,
    on_episode: Callable[[int], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Run ``len(seeds)`` episodes on ``n_copies`` copies of the native vector class, if ``environment`` has one.

    :param environment: an env id or a ``gym.make`` env (see ``native_vector_spec``).
    :param n_copies: how many copies step together (at most one per episode is used).
    :param start_acting: starts the agent's acting session for that many copies.
    :param seeds: one reset seed (or ``None``) per episode; episode ``i`` uses ``seeds[i]``.
    :param deterministic: let the policy take its most likely actions.
    :param on_episode: called with 1 after every finished episode (a progress bar's ``update``).
    :return: ``(returns, lengths)`` in episode order, or ``None`` when the environment (or a
        policy that needs action masks) must run on copies instead.
    """
    spec = native_vector_spec(environment)
    if spec is None:
        return None
    n_copies = min(n_copies, len(seeds))
    session = start_acting(n_copies)
    if session.needs_action_masks:  # the vector class has no action_masks()
        return None
    with contextlib.closing(_make_vector_env(spec, n_copies)) as vector_env:
        runner = _Runner(vector_env, _make_single_env(spec), seeds)
        return runner.run(session, deterministic, on_episode or (lambda count: None))


class _Runner:
    """Steps all copies together; each copy works through its own share of the episodes."""

    def __init__(self, vector_env: Any, single_env: Any, seeds: Sequence[int | None]) -> None:
        self.vector_env = vector_env
        self.single_env = single_env
        self.seeds = list(seeds)
        n_copies = vector_env.num_envs
        self.episode = np.arange(n_copies)  # the episode each copy is running
        self.returns = np.zeros(len(self.seeds))
        self.lengths = np.zeros(len(self.seeds), dtype=np.int64)

    def initial_state(self, episode: int) -> np.ndarray:
        """The state ``gym.make(id).reset(seed=seeds[episode])`` starts from (float64, as the single env keeps it)."""
        self.single_env.reset(seed=self.seeds[episode])
        return np.asarray(self.single_env.state, dtype=np.float64)

    def run(
        self, session: ActingSession, deterministic: bool, on_episode: Callable[[int], Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        vector_env, n_copies, n_episodes = self.vector_env, self.vector_env.num_envs, len(self.seeds)
        vector_env.reset()  # sets up its internals; every copy's state is replaced next
        vector_env.state = np.stack([self.initial_state(episode) for episode in range(n_copies)], axis=1)
        running_return, running_length = np.zeros(n_copies), np.zeros(n_copies, dtype=np.int64)
        episode_starts = np.ones(n_copies, dtype=bool)
        active = np.ones(n_copies, dtype=bool)
        all_actions = np.zeros(n_copies, dtype=np.int64)  # finished copies keep stepping with a dummy action
        while True:
            observations = np.ascontiguousarray(vector_env.state.T, dtype=np.float32)  # as the single env casts
            if active.all():
                actions = session.act(observations, episode_starts, deterministic=deterministic)
                all_actions[:] = np.asarray(actions).reshape(n_copies)
            else:
                rows = np.flatnonzero(active)
                actions = session.act(
                    observations[rows], episode_starts[rows], deterministic=deterministic, env_indices=rows.tolist()
                )
                all_actions[rows] = np.asarray(actions).reshape(len(rows))
            _, rewards, terminated, truncated, _ = vector_env.step(all_actions)
            running_return += rewards
            running_length += 1
            episode_starts[:] = False
            for copy in np.flatnonzero((terminated | truncated) & active):
                episode = int(self.episode[copy])
                self.returns[episode], self.lengths[episode] = running_return[copy], running_length[copy]
                running_return[copy], running_length[copy] = 0.0, 0
                on_episode(1)
                next_episode = episode + n_copies
                if next_episode < n_episodes:
                    self.episode[copy] = next_episode
                    vector_env.state[:, copy] = self.initial_state(next_episode)  # in place of its own redraw
                    episode_starts[copy] = True
                else:
                    active[copy] = False
            if not active.any():
                return self.returns, self.lengths


def _create(entry_point: Any, **kwargs: Any) -> Any:
    """Instantiate a registered entry point (``"module:Class"``) without any of ``gym.make``'s wrappers."""
    return load_env_creator(entry_point)(**kwargs)


def _make_vector_env(spec: EnvSpec, n_copies: int) -> Any:
    return _create(spec.vector_entry_point, num_envs=n_copies, max_episode_steps=spec.max_episode_steps)


def _make_single_env(spec: EnvSpec) -> Any:
    """The bare single env (no wrappers: only its seeded reset is used)."""
    return _create(spec.entry_point)


def _same_parameters(single_env: gym.Env, spec: EnvSpec) -> bool:
    """Whether a user's env instance still has the physical constants a fresh one has (nobody changed gravity)."""
    fresh = _make_single_env(spec)
    constants = {
        name: value
        for name, value in vars(fresh).items()
        if not name.startswith("_") and isinstance(value, (int, float, str)) and not isinstance(value, bool)
    }
    return all(getattr(single_env, name, None) == value for name, value in constants.items())


@functools.cache
def _verified(vector_entry_point: str) -> bool:
    """Step the vector class beside its single env from the same states; True when all agree bit for bit."""
    vector_env = _create(vector_entry_point, num_envs=_PROBE_COPIES, max_episode_steps=10**6)
    single_env = _create(_STATE_LAYOUTS[vector_entry_point])
    single_env.reset(seed=0)
    vector_env.reset(seed=0)
    rng = np.random.default_rng(0)
    state = rng.uniform(-0.05, 0.05, size=(4, _PROBE_COPIES))
    for _ in range(_PROBE_STEPS):
        actions = rng.integers(0, 2, size=_PROBE_COPIES)
        vector_env.state = state.copy()
        _, _, terminated, _, _ = vector_env.step(actions)
        for copy in range(_PROBE_COPIES):
            single_env.state = state[:, copy].copy()
            single_env.steps_beyond_terminated = None
            observation, _, single_terminated, _, _ = single_env.step(int(actions[copy]))
            if bool(single_terminated) != bool(terminated[copy]):
                return False
            if terminated[copy]:  # the vector class has already replaced this copy's state with a fresh one
                continue
            exact = np.asarray(single_env.state, dtype=np.float64)
            if not (
                np.array_equal(exact, vector_env.state[:, copy])
                and np.array_equal(observation, vector_env.state[:, copy].astype(np.float32))
            ):
                return False
        fresh = rng.uniform(-0.05, 0.05, size=(4, _PROBE_COPIES))
        state = np.where(terminated, fresh, vector_env.state)
    return True
