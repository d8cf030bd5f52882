"""The README's "Custom agents" snippets run exactly as written (full budgets) and do what the text says.

All three run in one fresh interpreter (one import of torch/SB3), each in its own namespace via
``runpy``, followed by a few checks of what it produced; cwd and registry are a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

#: snippet marker -> checks run right after the snippet, in its namespace.
CHECKS = {
    "class RandomSearchAgent(RLAgent)": (
        "assert mean_reward > 50, mean_reward  # random play: about 22, the untrained policy: about 9\n"
        "restored = RandomSearchAgent()\n"
        "restored.load_from_file(connector.version_path('random-search-cartpole') / 'agent.json')\n"
        "assert restored.weights.tolist() == agent.weights.tolist() and restored.steps == 10_000\n"
    ),
    "class AngleAgent(BaseAgent)": (
        "assert agent.evaluate('CartPole-v1', n_eval_episodes=10, progress_bar=False) == (500.0, 0.0)\n"
        "restored = AngleAgent(gain=1.0)\n"
        "restored.load_from_file('angle_agent.json', algorithm_parameters={'extra': 1})\n"
        "assert restored.algorithm_parameters == {'gain': 3.0, 'extra': 1}\n"
    ),
    'CustomAgent("Q-Learning"': (
        "assert (mean_reward, std_reward) == (1.0, 0.0)\n"
        "restored = CustomAgent('QLearning')\n"
        "restored.load_from_file('q_frozenlake.zip')\n"
        "assert (restored.choose_actions(list(range(16)), deterministic=True)"
        " == agent.choose_actions(list(range(16)), deterministic=True)).all()\n"
    ),
}


def custom_agent_snippets() -> dict[str, str]:
    """The runnable ```python blocks of the "Custom agents" section, by the marker that identifies each."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Custom agents\n") : text.index("\n## ", text.index("## Custom agents\n") + 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    found = {marker: [block for block in blocks if marker in block] for marker in CHECKS}
    assert all(len(matches) == 1 for matches in found.values()), {marker: len(m) for marker, m in found.items()}
    return {marker: matches[0] for marker, matches in found.items()}


def test_custom_agent_snippets_run_as_written(tmp_path: Path) -> None:
    scripts = []
    for index, (marker, code) in enumerate(custom_agent_snippets().items()):
        assert code.lstrip().startswith(("import", "from")), f"the snippet with {marker!r} is not self-contained"
        script = tmp_path / f"snippet_{index}.py"
        script.write_text(code + "\n" + CHECKS[marker], encoding="utf-8")
        scripts.append(str(script))
    driver = "import runpy, sys\nfor path in sys.argv[1:]:\n    runpy.run_path(path, run_name='__main__')\n"
    environment = {
        **os.environ,
        "RL_FRAMEWORK_REGISTRY": str(tmp_path / "registry"),
        "SDL_VIDEODRIVER": "dummy",
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", driver, *scripts],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"mean return \d+\.\d \+/- \d+\.\d", result.stdout)

    # the RandomSearchAgent trained, logged, checkpointed and uploaded into the local registry
    version = tmp_path / "registry" / "random-search-cartpole" / "v1"
    assert f"uploaded to {version}" in result.stdout
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["algorithm"] == "RandomSearch" and metadata["agent_file"] == "agent.json"
    assert metadata["evaluation"]["n_eval_episodes"] == 10
    metrics = [json.loads(line) for line in (version / "metrics.jsonl").read_text().splitlines()]
    assert metrics and {row["name"] for row in metrics} == {"episode/return"}
    assert sorted(path.name for path in (version / "checkpoints").iterdir()) == ["step_10000.zip", "step_5000.zip"]
    assert json.loads((version / "checkpoints" / "step_5000.zip").read_text())["steps"] == 5_000
    assert (tmp_path / "angle_agent.json").is_file() and (tmp_path / "q_frozenlake.zip").is_file()
