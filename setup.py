"""Build shim so that ``python setup.py bdist_wheel`` works; all metadata lives in pyproject.toml."""

from setuptools import setup

setup()
