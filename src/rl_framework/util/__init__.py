"""Utilities: connectors (upload/download/logging), callbacks, atomic files, video."""
