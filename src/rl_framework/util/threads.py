"""The CPU thread policy: small policies train and act on one torch thread unless the user chose otherwise.

Small networks alternate tiny matrix products with Python environment steps. For them torch's
intra-op thread hand-offs cost more than they save, and on a busy machine (more runnable threads
than cores) they collapse. Measured on a 2-core machine: 100 CartPole evaluation episodes took
1.5-12 s with torch's default threads beside another busy process and 0.26-0.29 s on one thread;
10k PPO CartPole steps took 13-63 s vs 4.0 s (``benchmarks/train_overhead.py``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from rl_framework.util.checks import optional_positive_int

#: torch's intra-op thread count when rl_framework first imported torch: a different count at
#: training time means the user (or OMP_NUM_THREADS) chose one, and a user's choice always wins.
STARTUP_THREADS = torch.get_num_threads()
_USER_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def user_chose_threads() -> bool:
    """Whether the thread count was set by the user: ``torch.set_num_threads`` or ``OMP_NUM_THREADS``."""
    return torch.get_num_threads() != STARTUP_THREADS or any(os.environ.get(name) for name in _USER_VARIABLES)


def resolve_torch_threads(requested: int | None, small_policy: bool) -> int | None:
    """The thread count to train or act with, or ``None`` to leave torch's setting alone.

    :param requested: the ``torch_threads=`` argument (wins when given).
    :param small_policy: whether the network is small (vector observations: MLP policies).
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
