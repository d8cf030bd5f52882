"""``python -m rl_framework``: the same command line as the ``rl-framework`` console script."""

from rl_framework.cli import run

if __name__ == "__main__":
    run()
