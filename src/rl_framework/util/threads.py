"""The CPU thread policy: small policies train and act on one torch thread unless the user chose otherwise.

Small networks alternate tiny matrix products with Python environment steps. For them torch's
intra-op thread hand-offs cost more than they save, and on a busy machine (more runnable threads
than cores) they collapse. Measured on a 2-core machine: 100 CartPole evaluation episodes took
1.5-12 s with torch's default threads beside another busy process and 0.26-0.29 s on one thread;
10k PPO CartPole steps took 13-63 s vs 4.0 s (``benchmarks/train_overhead.py``).

CNN policies do far more arithmetic per call. ``benchmarks/thread_crossover.py`` measures PPO
``CnnPolicy`` (NatureCNN) on 1 vs 2 threads per image size (BENCHMARKS.md, "Thread policy"). On the
quiet 2-core machine, two runs gave time ratios (2 threads / 1 thread) of 0.84 and 1.12 at NatureCNN's
smallest input 36x36x1 (even, within the noise), 0.67 and 0.88 at 64x64x3, 0.62-0.73 at 84x84 and
0.61-0.63 at 128x128x3. The crossover lies at the smallest image a CNN policy takes, so every image
(CNN) policy keeps torch's default threads; beside busy cores pass ``torch_threads=1`` to ``train``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import is_image_space

from rl_framework.util.checks import optional_positive_int

#: torch's intra-op thread count when rl_framework first imported torch: a different count at
#: training time means the user (or OMP_NUM_THREADS) chose one, and a user's choice always wins.
STARTUP_THREADS = torch.get_num_threads()
_USER_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def is_small_policy_input(observation_space: gym.Space) -> bool:
    """Whether a policy for ``observation_space`` is small enough to run faster on one torch thread.

    Vector observations (MLP policies) are small; images (CNN policies) are not: from NatureCNN's
    smallest input up, one thread was at best even (see the module's measurements); a ``Dict`` space
    is small when every part is.

    :param observation_space: the environment's observation space.
    :return: whether one intra-op thread is the faster choice.
    """
    if isinstance(observation_space, gym.spaces.Dict):
        return all(is_small_policy_input(space) for space in observation_space.spaces.values())
    return not is_image_space(observation_space, check_channels=False)


def user_chose_threads() -> bool:
    """Whether the thread count was set by the user: ``torch.set_num_threads`` or ``OMP_NUM_THREADS``."""
    return torch.get_num_threads() != STARTUP_THREADS or any(os.environ.get(name) for name in _USER_VARIABLES)


def resolve_torch_threads(requested: int | None, small_policy: bool) -> int | None:
    """The thread count to train or act with, or ``None`` to leave torch's setting alone.

    :param requested: the ``torch_threads=`` argument (wins when given).
    :param small_policy: whether the network is small (``is_small_policy_input``: MLP policies).
    :return: ``requested``; else 1 for small policies unless the user set a count; else ``None``.
    """
    requested = optional_positive_int(requested, "torch_threads", "or None for rl_framework's choice")
    if requested is not None:
        return requested
    if small_policy and not user_chose_threads():
        return 1
    return None


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the body with torch on ``count`` intra-op threads, then restore the previous setting.

    :param count: the thread count; ``None`` leaves torch's setting as it is.
    """
    previous = torch.get_num_threads()
    if count is not None and count != previous:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
