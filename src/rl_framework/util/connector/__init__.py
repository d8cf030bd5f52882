"""Connectors: where agents are uploaded to and downloaded from, and where training logs go."""

from rl_framework.util.connector.base import Connector

__all__ = ["Connector"]
