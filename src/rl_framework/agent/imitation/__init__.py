"""Imitation-learning agents and their data (imports the ``imitation`` library)."""
