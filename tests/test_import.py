"""Importing the package stays light, the layout keeps its promises, and lazy names are discoverable."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rl_framework"
HEAVY = ("clearml", "huggingface_hub", "moviepy", "datasets", "imitation", "ray", "d3rlpy", "onnx", "pettingzoo")


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
        "import rl_framework.util.connector, rl_framework.util.connector.callbacks\n"
        "import rl_framework.environment.vectorize\n"
        "import rl_framework.data, rl_framework.agent.imitation, rl_framework.agent.imitation.imitation\n"
        "dir(rl_framework); dir(rl_framework.agent); dir(rl_framework.util)"
    )
    assert "stable_baselines3" in loaded  # the check sees real imports
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_an_imitation_agent_imports_only_its_own_algorithm():
    """BC needs neither scikit-learn (Density), HuggingFace datasets (DAgger) nor the adversarial trainers."""
    loaded = modules_after(
        "from rl_framework.agent import ImitationAgent\nImitationAgent('BC')\n"
        "bc_loaded = {name.split('.')[0] for name in sys.modules}\n"
        "assert bc_loaded.isdisjoint({'sklearn', 'datasets'}), sorted(bc_loaded & {'sklearn', 'datasets'})\n"
        "ImitationAgent('Density')"
    )
    assert "imitation" in loaded and "sklearn" in loaded  # the check sees real imports: Density's come on use


def test_import_rl_framework_alone_loads_no_learning_library():
    loaded = modules_after("import rl_framework")
    assert loaded.isdisjoint({"torch", "stable_baselines3", "gymnasium", *HEAVY}), sorted(loaded)


@pytest.mark.parametrize(
    "module",
    [
        "rl_framework.agent.reinforcement_learning_agent",
        "rl_framework.agent.imitation_learning_agent",
        "rl_framework.agent.imitation.imitation.imitation",
        "rl_framework.agent.reinforcement.stable_baselines",
        "rl_framework.agent.base_agent",
        "rl_framework.util.connector",
    ],
)
def test_the_readme_paths_import(module):
    __import__(module)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth, including ``TYPE_CHECKING`` blocks."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "base", ["agent/base_agent.py", "agent/reinforcement_learning_agent.py", "agent/imitation_learning_agent.py"]
)
def test_the_bases_import_no_backend(base):
    backends = ("rl_framework.agent.reinforcement", "rl_framework.agent.imitation", "imitation", "sb3_contrib")
    imported = imported_modules(SRC / base)
    assert not [name for name in imported if name.startswith(backends)], imported


def test_connectors_never_import_the_agents():
    for path in (SRC / "util" / "connector").rglob("*.py"):
        assert not [name for name in imported_modules(path) if name.startswith("rl_framework.agent")], path


def test_public_and_lazy_names_are_listed_by_dir():
    import rl_framework
    import rl_framework.agent as agent_package
    import rl_framework.agent.imitation as imitation_package
    import rl_framework.data as data_package
    import rl_framework.util as util_package

    assert rl_framework.__version__
    for package in (rl_framework, agent_package, imitation_package, data_package, util_package):
        listed = dir(package)
        for name in package.__all__:
            assert name in listed, (package.__name__, name)
            assert getattr(package, name) is not None
    assert {"StableBaselinesAgent", "ImitationAgent", "EpisodeSequence"} <= set(dir(rl_framework))
    assert rl_framework.StableBaselinesAgent is agent_package.StableBaselinesAgent
    assert {"ImitationAgent"} <= set(dir(imitation_package)) and {"LocalConnector"} <= set(dir(util_package))
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = agent_package.Nope


def test_the_legacy_gym_notice_is_silenced():
    result = subprocess.run(
        [sys.executable, "-c", "import rl_framework.agent, sys; print('gym' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Gym has been unmaintained" not in result.stderr
    assert result.stdout.strip() == "True"  # the d3rlpy extra (installed for the tests) brings gym along
