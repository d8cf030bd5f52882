"""Turning experience into imitation trajectories: per-step tuples, or recording a policy in an environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from imitation.data import types

from rl_framework.agent.acting import ActingSession, EnvSlot, act_in, start_acting
from rl_framework.environment.copies import as_env
from rl_framework.util.checks import positive_int

STEP_FIELDS = ("observation", "action", "next_observation", "reward", "terminated", "truncated", "info")
"""The fields of one step tuple accepted by ``EpisodeSequence.from_episodes``, in order."""


def trajectory_from_steps(steps: Sequence[Sequence[Any]], episode: int) -> types.TrajectoryWithRew:
    """Build one ``TrajectoryWithRew`` from per-step tuples (see ``STEP_FIELDS``).

    Imitation keeps one ``terminal`` flag per episode: it is true when the last step was
    terminated or truncated, false for a fragment that stops mid-episode.

    :param steps: the episode's steps in order.
    :param episode: the episode's index, for error messages.
    :return: the trajectory (rewards as float32, like imitation's own rollouts).
    :raises ValueError: for an empty episode, a malformed step, a ``next_observation`` that is not
        the following step's ``observation``, or an episode that continues after it ended.
    """
    if len(steps) == 0:
        raise ValueError(f"Episode {episode} has no steps: every episode needs at least one step tuple.")
    for index, step in enumerate(steps):
        if not isinstance(step, Sequence) or len(step) != len(STEP_FIELDS):
            raise ValueError(
                f"Step {index} of episode {episode} is {step!r}; expected a tuple of {len(STEP_FIELDS)} fields "
                f"({', '.join(STEP_FIELDS)})."
            )
        if index + 1 < len(steps):
            if step[4] or step[5]:
                raise ValueError(
                    f"Episode {episode} continues after step {index}, which is terminated or truncated: split it "
                    f"into one list per episode."
                )
            if not np.array_equal(step[2], steps[index + 1][0]):
                raise ValueError(
                    f"Episode {episode} is inconsistent: the next_observation of step {index} differs from the "
                    f"observation of step {index + 1}. Steps must follow each other within one episode."
                )
    observations = [step[0] for step in steps] + [steps[-1][2]]
    last = steps[-1]
    return types.TrajectoryWithRew(
        obs=_stack(observations, "observations", episode),
        acts=_stack([step[1] for step in steps], "actions", episode),
        infos=_object_array([step[6] if step[6] is not None else {} for step in steps]),
        terminal=bool(last[4] or last[5]),
        rews=np.asarray([step[3] for step in steps], dtype=np.float32),
    )


def record_trajectories(
    agent_or_policy: Any,
    environment: Any,
    n_episodes: int,
    seed: int | None,
    deterministic: bool,
) -> list[types.TrajectoryWithRew]:
    """Run ``n_episodes`` full episodes of a policy in one environment and record them.

    :param agent_or_policy: an rl_framework agent (it acts through ``start_acting``: recurrent
        memory and action masks work), an SB3 model or policy (``predict``), or a callable
        ``policy(observation) -> action``.
    :param environment: a gymnasium env (left open) or an env id / factory (made and closed here).
    :param n_episodes: number of episodes (> 0).
    :param seed: episode ``i`` resets with ``seed + i`` (as ``BaseAgent.evaluate`` does); ``None``: unseeded.
    :param deterministic: let agents/models take their most likely action; a plain callable decides itself.
    :return: the recorded trajectories (all ``terminal``: every episode runs until it ends).
    :raises TypeError: for a policy of none of these kinds.
    """
    n_episodes = positive_int(n_episodes, "n_episodes")
    session = start_acting(agent_or_policy, 1, purpose="record episodes")
    env, made_here = as_env(environment)
    try:
        slot = EnvSlot(env)
        return [
            _record_episode(slot, session, deterministic, None if seed is None else seed + episode, episode)
            for episode in range(n_episodes)
        ]
    finally:
        if made_here:
            env.close()


def _record_episode(
    slot: EnvSlot, session: ActingSession, deterministic: bool, seed: int | None, episode: int
) -> types.TrajectoryWithRew:
    """Play one episode until it is terminated or truncated."""
    observation, _ = slot.reset(seed=seed)
    observations, actions, rewards, infos = [observation], [], [], []
    while True:
        action = act_in(session, [slot], deterministic)[0]
        observation, reward, terminated, truncated, info = slot.step(action)
        observations.append(observation)
        actions.append(action)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            break
    return types.TrajectoryWithRew(
        obs=_stack(observations, "observations", episode),
        acts=_stack(actions, "actions", episode),
        infos=_object_array(infos),
        terminal=True,
        rews=np.asarray(rewards, dtype=np.float32),
    )


def _stack(rows: list[Any], what: str, episode: int) -> np.ndarray:
    """Stack per-step values into one array, with a clear error for dicts or ragged shapes."""
    if isinstance(rows[0], dict):
        raise ValueError(
            f"Episode {episode} has dict {what}, which imitation's dataset format cannot store. "
            f"Flatten them (gymnasium.wrappers.FlattenObservation)."
        )
    try:
        return np.stack([np.asarray(row) for row in rows])
    except ValueError as error:
        raise ValueError(f"The {what} of episode {episode} do not share one shape: {error}.") from error


def _object_array(values: list[Any]) -> np.ndarray:
    """Put info dicts in a 1-D object array (``np.array`` would try to unpack them)."""
    array = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        array[index] = value
    return array
