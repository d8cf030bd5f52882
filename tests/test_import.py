"""Importing the package stays light: heavy optional libraries load only when used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("clearml", "huggingface_hub", "moviepy", "datasets", "imitation")


def modules_after(statement: str) -> set[str]:
    """The top-level module names loaded by ``statement`` in a fresh interpreter."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output.strip().splitlines()[-1]))


def test_import_rl_framework_and_agent_does_not_load_heavy_libraries():
    loaded = modules_after(
        "import rl_framework\nimport rl_framework.agent\n"
        "from rl_framework.agent import StableBaselinesAgent, RLAgent, ILAgent, BaseAgent\n"
        "from rl_framework.agent.reinforcement.stable_baselines import StableBaselinesAgent as Same\n"
        "import rl_framework.util.connector, rl_framework.util.connector.callbacks, rl_framework.environment.vectorize"
    )
    assert "stable_baselines3" in loaded  # the check sees real imports
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_public_names():
    import rl_framework
    import rl_framework.agent as agent_package

    assert rl_framework.__version__
    for name in ("StableBaselinesAgent", "RLAgent", "ILAgent", "BaseAgent", "EvaluationResult"):
        assert name in agent_package.__all__
        assert getattr(agent_package, name).__name__ == name
