"""Acting over whole episodes: the one way evaluation, replay videos and recordings ask for actions.

A single ``choose_action(observation)`` call cannot know two things some policies need:

- a recurrent policy's memory (``RecurrentPPO``'s LSTM state), which belongs to one environment
  copy and must be reset when that copy starts a new episode;
- the action masks an environment publishes through ``action_masks()`` (``MaskablePPO``).

So episodes are played through an *acting session*: ``agent.start_acting(n_envs)`` starts one for
``n_envs`` environment copies, and each step ``session.act(...)`` is given the observations of
some or all copies, which of them just started an episode, and (if ``needs_action_masks``) their
masks. ``act_in`` does that bookkeeping for gymnasium envs held in ``EnvSlot``s.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from rl_framework.agent.policy_forward import deterministic_forward
from rl_framework.util.checks import positive_int

MASK_METHOD = "action_masks"
_MASK_FIX = (
    "Give the env an action_masks() method returning one boolean per action (True = allowed), e.g. by wrapping "
    "it in sb3_contrib.common.wrappers.ActionMasker(env, mask_function)."
)


class ActingSession(ABC):
    """Picks actions for ``n_envs`` environment copies, step after step, across episodes.

    :param n_envs: how many environment copies the session acts in (their indices are ``0 .. n_envs - 1``).
    """

    #: Whether ``act`` needs the copies' action masks (callers fetch them with ``action_masks_of``).
    needs_action_masks: bool = False

    def __init__(self, n_envs: int = 1) -> None:
        self.n_envs = positive_int(n_envs, "n_envs")

    @abstractmethod
    def act(
        self,
        observations: Any,
        episode_starts: np.ndarray,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
        env_indices: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Return one action per observation row.

        :param observations: stacked observations (a dict of stacked arrays for Dict spaces).
        :param episode_starts: one bool per row: that copy's observation is the first of an episode.
        :param deterministic: take the most likely actions instead of sampling.
        :param action_masks: one mask row per observation row (True = allowed), when ``needs_action_masks``.
        :param env_indices: the copy each row belongs to; ``None`` means all copies, in order.
        :return: stacked actions.
        """


class BatchActing(ActingSession):
    """A session over a memoryless batched policy ``choose_actions(observations, deterministic=...)``.

    Episode starts, masks and copy indices do not change what a memoryless policy does.

    :param choose_actions: returns stacked actions for stacked observations.
    :param n_envs: how many environment copies the session acts in.
    """

    def __init__(self, choose_actions: Callable[..., Any], n_envs: int = 1) -> None:
        super().__init__(n_envs)
        self._choose_actions = choose_actions

    def act(
        self,
        observations: Any,
        episode_starts: np.ndarray,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
        env_indices: Sequence[int] | None = None,
    ) -> np.ndarray:
        """See ``ActingSession.act``."""
        return np.asarray(self._choose_actions(observations, deterministic=deterministic))


class PredictActing(ActingSession):
    """A session over an SB3 ``predict`` (of a model or a policy), keeping its state per copy.

    SB3's recurrent policies return their state as arrays whose axis 1 is the environment
    (``(n_layers, n_envs, hidden)``); the session keeps one such slice per copy and hands the
    policy the slices of the rows it acts on, with ``episode_start`` so the policy zeroes the
    state of copies that begin an episode. Memoryless policies return no state. Masks are
    passed when ``predict`` takes ``action_masks`` (``MaskablePPO``).

    :param predict: ``predict(observation, state, episode_start, deterministic[, action_masks])``.
    :param n_envs: how many environment copies the session acts in.
    :param prepare: turns raw observations into what the policy expects (e.g. frozen normalisation).
    """

    def __init__(
        self, predict: Callable[..., tuple[Any, Any]], n_envs: int = 1, prepare: Callable[[Any], Any] | None = None
    ) -> None:
        super().__init__(n_envs)
        self._predict = predict
        self._prepare = prepare or (lambda observations: observations)
        self.needs_action_masks = MASK_METHOD in inspect.signature(predict).parameters
        self._state: tuple[np.ndarray, ...] | None = None
        # small SB3 policies act deterministically through a cheaper forward with the same results
        self._forward = deterministic_forward(getattr(predict, "__self__", None), self.n_envs)

    def act(
        self,
        observations: Any,
        episode_starts: np.ndarray,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
        env_indices: Sequence[int] | None = None,
    ) -> np.ndarray:
        """See ``ActingSession.act``."""
        if deterministic and self._forward is not None and self._state is None:
            actions = self._forward(self._prepare(observations))
            if actions is not None:
                return actions
        rows = np.arange(self.n_envs) if env_indices is None else np.asarray(env_indices, dtype=np.int64)
        state = None if self._state is None else tuple(part[:, rows] for part in self._state)
        masks = {MASK_METHOD: action_masks} if self.needs_action_masks else {}
        actions, new_state = self._predict(
            self._prepare(observations),
            state=state,
            episode_start=np.asarray(episode_starts, dtype=bool),
            deterministic=deterministic,
            **masks,
        )
        if new_state is not None:
            if self._state is None:
                self._state = tuple(np.zeros((p.shape[0], self.n_envs, *p.shape[2:]), p.dtype) for p in new_state)
            for kept, new in zip(self._state, new_state, strict=True):
                kept[:, rows] = new
        return np.asarray(actions)


def start_acting(actor: Any, n_envs: int = 1, purpose: str = "act") -> ActingSession:
    """Start an acting session for an rl_framework agent, an SB3 model or policy, or a callable.

    :param actor: has ``start_acting(n_envs)`` (every rl_framework agent), has ``predict`` (SB3
        models and policies: state and masks are handled), has ``choose_actions`` or
        ``choose_action(observation, deterministic=...)``, or is a callable ``policy(observation) -> action``.
    :param n_envs: how many environment copies the session acts in.
    :param purpose: what the session is for, for the error message (``"record episodes"``).
    :return: the session.
    :raises TypeError: for anything else.
    """
    if hasattr(actor, "start_acting"):
        session: ActingSession = actor.start_acting(n_envs)
        return session
    if hasattr(actor, "predict"):
        return PredictActing(actor.predict, n_envs)
    if hasattr(actor, "choose_actions"):
        return BatchActing(actor.choose_actions, n_envs)
    if hasattr(actor, "choose_action"):
        return BatchActing(row_by_row(actor.choose_action), n_envs)
    if callable(actor):
        return BatchActing(row_by_row(lambda observation, deterministic: actor(observation)), n_envs)
    raise TypeError(
        f"Cannot {purpose} with {type(actor).__name__}: pass an rl_framework agent, a Stable-Baselines3 model or "
        f"policy (predict), an object with choose_action(observation, deterministic), or a callable "
        f"policy(observation)."
    )


def row_by_row(choose_action: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """Turn ``choose_action(observation, deterministic=...)`` for one observation into a batched policy."""

    def choose_actions(observations: Any, deterministic: bool = False) -> np.ndarray:
        return np.stack([np.asarray(choose_action(row, deterministic=deterministic)) for row in unstack(observations)])

    return choose_actions


def stack_observations(observations: Sequence[Any]) -> Any:
    """Stack per-environment observations into one batch (dict observations key by key)."""
    if isinstance(observations[0], dict):
        return {key: np.stack([obs[key] for obs in observations]) for key in observations[0]}
    return np.stack([np.asarray(obs) for obs in observations])


def unstack(observations: Any) -> list[Any]:
    """Split a stacked batch (a dict of stacked arrays for Dict spaces) into single observations."""
    if isinstance(observations, dict):
        batch_size = len(next(iter(observations.values())))
        return [{key: value[i] for key, value in observations.items()} for i in range(batch_size)]
    return list(observations)


def action_masks_of(env: gym.Env) -> np.ndarray:
    """Return ``env``'s current action mask (from ``action_masks()`` anywhere in its wrapper chain).

    :raises ValueError: when the env has no ``action_masks()``.
    """
    try:
        method = env.get_wrapper_attr(MASK_METHOD)
    except AttributeError:
        raise ValueError(
            f"The policy acts with action masks but the env {env} has no {MASK_METHOD}(). {_MASK_FIX}"
        ) from None
    return np.asarray(method(), dtype=bool)


def vec_action_masks(vec_env: VecEnv) -> np.ndarray:
    """Return the stacked current action masks of every env in ``vec_env``.

    :raises ValueError: when its envs have no ``action_masks()``.
    """
    if not vec_env.has_attr(MASK_METHOD):
        raise ValueError(
            f"The policy acts with action masks but the VecEnv's envs have no {MASK_METHOD}(). {_MASK_FIX}"
        )
    return np.stack(vec_env.env_method(MASK_METHOD)).astype(bool)


class EnvSlot:
    """One environment a session acts in: its index in the session, latest observation, episode start.

    :param env: the environment.
    :param index: its copy index in the session.
    """

    def __init__(self, env: gym.Env, index: int = 0) -> None:
        self.env = env
        self.index = index
        self.observation: Any = None
        self.episode_start = True

    def reset(self, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset the env (a new episode starts); return ``(observation, info)``."""
        self.observation, info = self.env.reset(seed=seed)
        self.episode_start = True
        return self.observation, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step the env; return what ``env.step`` returns."""
        self.observation, reward, terminated, truncated, info = self.env.step(action)
        self.episode_start = False
        return self.observation, reward, terminated, truncated, info


def act_in(session: ActingSession, slots: Sequence[EnvSlot], deterministic: bool) -> np.ndarray:
    """Ask ``session`` for the actions of ``slots`` (their latest observations) in one call.

    :param session: the acting session the slots belong to.
    :param slots: the envs to act in, each reset at least once.
    :param deterministic: take the most likely actions instead of sampling.
    :return: one action per slot, in order.
    """
    masks = np.stack([action_masks_of(slot.env) for slot in slots]) if session.needs_action_masks else None
    return session.act(
        stack_observations([slot.observation for slot in slots]),
        np.array([slot.episode_start for slot in slots]),
        deterministic=deterministic,
        action_masks=masks,
        env_indices=[slot.index for slot in slots],
    )
