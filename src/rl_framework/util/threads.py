"""The CPU thread policy: small policies train and act on one torch thread unless the user chose otherwise.

Small networks alternate tiny matrix products with Python environment steps. For them torch's
intra-op thread hand-offs cost more than they save, and on a busy machine (more runnable threads
than cores) they collapse. Measured on a 2-core machine: 100 CartPole evaluation episodes took
1.5-12 s with torch's default threads beside another busy process and 0.26-0.29 s on one thread;
10k PPO CartPole steps took 13-63 s vs 4.0 s (``benchmarks/train_overhead.py``).

CNN policies do far more arithmetic per call, so above some image size a second thread pays for its
hand-offs on a quiet machine. ``benchmarks/thread_crossover.py`` measures PPO ``CnnPolicy`` (NatureCNN)
on 1 vs 2 threads per image size; ``SMALL_IMAGE_PIXELS`` is the crossover it found (BENCHMARKS.md):
images of up to that many pixels (height x width; channels change only the first layer's cost) count
as small and train on one thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.preprocessing import is_image_space

from rl_framework.util.checks import optional_positive_int

#: torch's intra-op thread count when rl_framework first imported torch: a different count at
#: training time means the user (or OMP_NUM_THREADS) chose one, and a user's choice always wins.
STARTUP_THREADS = torch.get_num_threads()
_USER_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


#: Images of at most this many pixels (height x width) train faster on one thread. Measured crossover
#: (thread_crossover.py, 2 cores): one thread won up to 64x64 (4,096 pixels), two threads from 84x84.
SMALL_IMAGE_PIXELS = 4_096


def is_small_policy_input(observation_space: gym.Space) -> bool:
    """Whether a policy for ``observation_space`` is small enough to run faster on one torch thread.

    Vector observations (MLP policies) are small; images (CNN policies) are small up to
    ``SMALL_IMAGE_PIXELS`` pixels, whatever their channel count; a ``Dict`` space is small when every part is.

    :param observation_space: the environment's observation space.
    :return: whether one intra-op thread is the faster choice.
    """
    if isinstance(observation_space, gym.spaces.Dict):
        return all(is_small_policy_input(space) for space in observation_space.spaces.values())
    if not is_image_space(observation_space, check_channels=False):
        return True
    shape = tuple(observation_space.shape or ())
    pixels = int(np.prod(shape)) // min(shape)  # channels first or last: the smallest side is the channels
    return pixels <= SMALL_IMAGE_PIXELS


def user_chose_threads() -> bool:
    """Whether the thread count was set by the user: ``torch.set_num_threads`` or ``OMP_NUM_THREADS``."""
    return torch.get_num_threads() != STARTUP_THREADS or any(os.environ.get(name) for name in _USER_VARIABLES)


def resolve_torch_threads(requested: int | None, small_policy: bool) -> int | None:
    """The thread count to train or act with, or ``None`` to leave torch's setting alone.

    :param requested: the ``torch_threads=`` argument (wins when given).
    :param small_policy: whether the network is small (``is_small_policy_input``: MLPs, small CNNs).
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
