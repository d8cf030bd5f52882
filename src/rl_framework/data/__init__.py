"""Recorded episodes, the input of every imitation-learning agent (imitation's trajectory format, streamed).

``episode_sequence.py`` (the ``EpisodeSequence`` facade), ``sources.py`` (where episodes come from),
``arrow.py`` (memory-mapped reader of imitation datasets), ``columns.py`` (one block of episodes),
``infos.py`` (safe decoding of stored infos), ``batches.py`` (bounded-memory shuffled batches),
``building.py`` (episodes added one by one), ``recording.py`` (rollouts of a policy),
``compatibility.py`` (do the episodes fit an environment), ``statistics.py`` (``EpisodeStatistics``).
Names load on first access (they import the ``imitation`` library's data types).
"""

from rl_framework.util.lazy import lazy_exports

_LAZY = {
    "EpisodeSequence": "rl_framework.data.episode_sequence",
    "EpisodeStatistics": "rl_framework.data.statistics",
}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
