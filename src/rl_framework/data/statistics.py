"""``EpisodeStatistics``: the summary ``EpisodeSequence.statistics()`` returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpisodeStatistics:
    """Summary of an ``EpisodeSequence``, for sanity checks before training.

    :param n_episodes: number of episodes.
    :param n_transitions: number of transitions (actions) over all episodes.
    :param return_mean: mean undiscounted episode return (``None`` if no rewards are stored).
    :param return_std: population standard deviation of the returns (``None`` without rewards).
    :param return_min: lowest episode return (``None`` without rewards).
    :param return_max: highest episode return (``None`` without rewards).
    :param length_mean: mean episode length.
    :param length_min: shortest episode length.
    :param length_max: longest episode length.
    """

    n_episodes: int
    n_transitions: int
    return_mean: float | None
    return_std: float | None
    return_min: float | None
    return_max: float | None
    length_mean: float
    length_min: int
    length_max: int

    def __post_init__(self) -> None:
        if self.n_episodes <= 0 or self.n_transitions < self.n_episodes:
            raise ValueError(
                f"Statistics need at least one episode of at least one transition, got {self.n_episodes} "
                f"episodes with {self.n_transitions} transitions."
            )
        if not self.length_min <= self.length_mean <= self.length_max:
            raise ValueError(
                f"Inconsistent lengths: min {self.length_min}, mean {self.length_mean}, max {self.length_max}."
            )


__all__ = ["EpisodeStatistics"]
