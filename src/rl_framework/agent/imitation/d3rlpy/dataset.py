"""``EpisodeSequence`` -> d3rlpy ``ReplayBuffer``, one episode at a time and without copying observations.

The two formats differ in three ways, each handled here:

- imitation stores ``L + 1`` observations for ``L`` actions; d3rlpy stores one observation per
  action and takes the next observation from the following row. A terminated episode therefore
  uses the first ``L`` observations (a view, no copy): its last transition ends in a terminal.
- d3rlpy drops the last transition of an episode that did not terminate (it lacks the row the next
  observation would come from). Such an episode keeps all ``L + 1`` observations (again a view)
  and gets one padding action and reward, so its last transition (which bootstraps from the final
  observation) is kept. Only the small action and reward arrays are copied.
- imitation keeps one ``terminal`` flag for "the episode ended"; offline RL must know whether it
  ended in a true termination (no future reward) or a time limit. An episode counts as truncated
  when it is not ``terminal``, when its last info says ``TimeLimit.truncated`` or ``truncated``, or
  when its length reaches the environment's ``max_episode_steps``.

The buffer indexes transitions by episode boundaries (``EpisodeIndex``) instead of d3rlpy's
``InfiniteBuffer`` list of one tuple per transition.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from d3rlpy.constants import ActionSpace
from d3rlpy.dataset import Episode, EpisodeBase, ReplayBuffer, Signature, TransitionMiniBatch
from stable_baselines3.common.vec_env import VecEnv

if TYPE_CHECKING:
    from imitation.data import types

    from rl_framework.data.episode_sequence import EpisodeSequence

#: Info keys that mark an episode cut off by a time limit (SB3's VecEnv and gymnasium conventions).
TRUNCATION_KEYS = ("TimeLimit.truncated", "truncated")


class EpisodeIndex:
    """A d3rlpy ``BufferProtocol`` that locates transition ``i`` by bisecting episode boundaries.

    d3rlpy's ``InfiniteBuffer`` keeps one ``(episode, index)`` tuple per transition; this keeps one
    boundary per episode. Episodes are appended transition by transition, in order, as
    ``ReplayBuffer.append_episode`` does.
    """

    def __init__(self) -> None:
        self._episodes: list[EpisodeBase] = []
        self._ends: list[int] = []  # cumulative transition count after each episode

    def append(self, episode: EpisodeBase, index: int) -> None:
        """Add transition ``index`` of ``episode`` (the next one after the previous call)."""
        if not self._episodes or episode is not self._episodes[-1]:
            self._episodes.append(episode)
            self._ends.append(self.transition_count)
        self._ends[-1] += 1

    @property
    def episodes(self) -> Sequence[EpisodeBase]:
        """The episodes, in the order they were added."""
        return self._episodes

    @property
    def transition_count(self) -> int:
        """Number of transitions over all episodes."""
        return self._ends[-1] if self._ends else 0

    def __len__(self) -> int:
        return self.transition_count

    def __getitem__(self, index: int) -> tuple[EpisodeBase, int]:
        episode = bisect.bisect_right(self._ends, index)
        start = self._ends[episode - 1] if episode else 0
        return self._episodes[episode], index - start


def time_limit_of(vec_env: VecEnv) -> int | None:
    """The ``max_episode_steps`` of the training environments' registered spec, if they share one."""
    try:
        specs = vec_env.get_attr("spec")
    except AttributeError:
        return None
    limits = {getattr(spec, "max_episode_steps", None) for spec in specs}
    return limits.pop() if len(limits) == 1 else None


def ends_in_termination(trajectory: types.Trajectory, time_limit: int | None) -> bool:
    """Whether the episode's last step was a true termination rather than a truncation or a cut."""
    if not trajectory.terminal:
        return False
    infos = trajectory.infos
    last_info = infos[-1] if infos is not None and len(infos) else {}
    if isinstance(last_info, dict) and any(last_info.get(key) for key in TRUNCATION_KEYS):
        return False
    return time_limit is None or len(trajectory.acts) < time_limit


def to_d3rlpy_episode(trajectory: types.Trajectory, terminated: bool, rewards_required: bool) -> Episode:
    """Turn one imitation trajectory into a d3rlpy ``Episode`` (observations are views, see the module doc).

    :param trajectory: ``L + 1`` observations, ``L`` actions, and rewards if recorded.
    :param terminated: whether the last step was a true termination (see ``ends_in_termination``).
    :param rewards_required: refuse a trajectory without rewards (offline RL needs them; BC does not).
    :return: the episode.
    :raises ValueError: when rewards are required but the trajectory has none.
    """
    length = len(trajectory.acts)
    recorded = getattr(trajectory, "rews", None)
    if recorded is None and rewards_required:
        raise ValueError(
            "The episodes carry no rewards, which offline RL learns from. Record them with rewards "
            "(EpisodeSequence.from_agent records them) or use 'BC' / 'DiscreteBC', which only imitate actions."
        )
    rewards = np.zeros((length, 1), np.float32) if recorded is None else np.asarray(recorded, np.float32).reshape(-1, 1)
    actions = np.asarray(trajectory.acts).reshape(length, -1)
    if terminated:
        return Episode(observations=trajectory.obs[:length], actions=actions, rewards=rewards, terminated=True)
    return Episode(
        observations=trajectory.obs,
        actions=np.concatenate([actions, np.zeros_like(actions[:1])]),
        rewards=np.concatenate([rewards, np.zeros((1, 1), np.float32)]),
        terminated=False,
    )


def build_replay_buffer(
    episodes: EpisodeSequence,
    action_space: gym.Space,
    time_limit: int | None,
    rewards_required: bool,
) -> ReplayBuffer:
    """Stream ``episodes`` into a d3rlpy ``ReplayBuffer``, one episode at a time.

    :param episodes: the demonstrations (already checked against the environment's spaces).
    :param action_space: a ``Discrete`` or 1-D ``Box`` action space.
    :param time_limit: the environment's ``max_episode_steps`` (episodes this long count as truncated).
    :param rewards_required: refuse episodes without rewards.
    :return: the replay buffer; its episodes share the observation arrays of ``episodes``' trajectories.
    """
    discrete = isinstance(action_space, gym.spaces.Discrete)
    action_width = 1 if discrete else int(np.prod(action_space.shape or (1,)))
    replay_buffer = ReplayBuffer(
        EpisodeIndex(),
        observation_signature=Signature(dtype=[episodes.observation_dtype], shape=[episodes.observation_shape]),
        action_signature=Signature(dtype=[episodes.action_dtype], shape=[(action_width,)]),
        reward_signature=Signature(dtype=[np.dtype(np.float32)], shape=[(1,)]),
        action_space=ActionSpace.DISCRETE if discrete else ActionSpace.CONTINUOUS,
        action_size=int(action_space.n) if isinstance(action_space, gym.spaces.Discrete) else action_width,
    )
    for trajectory in episodes:
        terminated = ends_in_termination(trajectory, time_limit)
        replay_buffer.append_episode(to_d3rlpy_episode(trajectory, terminated, rewards_required))
    return replay_buffer


def sample_batch(replay_buffer: ReplayBuffer, batch_size: int, rng: np.random.Generator) -> TransitionMiniBatch:
    """Draw ``batch_size`` transitions uniformly with replacement, from our own seeded generator.

    d3rlpy's ``sample_transition_batch`` draws from numpy's global generator; ours keeps a
    ``seed`` reproducible without reseeding the process.
    """
    picker = replay_buffer.transition_picker
    indices = rng.integers(replay_buffer.transition_count, size=batch_size)
    transitions: list[Any] = [picker(*replay_buffer.buffer[int(index)]) for index in indices]
    return TransitionMiniBatch.from_transitions(transitions)
