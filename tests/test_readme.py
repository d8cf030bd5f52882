"""Every runnable README snippet runs as pasted, each in a fresh interpreter (shrunk to tiny budgets).

A snippet is a ```python block that starts with ``import``/``from``. The only changes made before
running it make it small: step budgets, episode counts and SB3 rollout sizes shrink, so the whole
README runs in seconds. Snippets that need a service this machine cannot reach (the real
HuggingFace Hub, a ClearML server) are run against the same local stand-ins as the connector tests
(tests/util/connector/), or listed in ``NEEDS_OUTSIDE`` with the test that covers them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Markers of snippets that need the real Hub or a ClearML server; tests/util/connector/ covers them.
NEEDS_OUTSIDE = ("HuggingFaceConnector(", "ClearMLConnector(", "ray start", "unity_environment(")

#: (pattern, replacement) pairs that shrink a snippet without changing what it does.
SHRINK = (
    (r"total_timesteps=[\d_]+", "total_timesteps=64"),
    (r"n_eval_episodes=\d[\d_]*", "n_eval_episodes=2"),
    (r"n_episodes=\d[\d_]*", "n_episodes=2"),
    (r"n_steps=\d[\d_]*", "n_steps=50"),
    (r"checkpoint_frequency=[\d_]+", "checkpoint_frequency=32"),
)
#: Runs before each snippet: SB3 algorithms built by name or class use one tiny rollout.
PRELUDE = """
import stable_baselines3.common.on_policy_algorithm as _on_policy
_original_init = _on_policy.OnPolicyAlgorithm.__init__
def _tiny_init(self, *args, **kwargs):
    kwargs["n_steps"] = 32
    _original_init(self, *args, **kwargs)
    self.batch_size = min(getattr(self, "batch_size", 32) or 32, 32)
_on_policy.OnPolicyAlgorithm.__init__ = _tiny_init
"""


def runnable_snippets() -> list[tuple[str, str]]:
    """``(id, code)`` for every runnable snippet, the id naming its section and position."""
    text = README.read_text(encoding="utf-8")
    snippets = []
    section = "top"
    for match in re.finditer(r"^(#{2,3} [^\n]+)$|```python\n(.*?)```", text, flags=re.DOTALL | re.MULTILINE):
        if match.group(1):
            section = re.sub(r"[^a-z0-9]+", "-", match.group(1).lstrip("#").strip().lower()).strip("-")
            continue
        code = match.group(2)
        if code.lstrip().startswith(("import", "from")) and not any(marker in code for marker in NEEDS_OUTSIDE):
            snippets.append((f"{section}-{len([s for s in snippets if s[0].startswith(section)]) + 1}", code))
    return snippets


def shrink(code: str) -> str:
    """``code`` with the tiny budgets of ``SHRINK``."""
    for pattern, replacement in SHRINK:
        code = re.sub(pattern, replacement, code)
    return code


def test_the_readme_shows_runnable_snippets_for_every_main_section():
    sections = {snippet_id.rsplit("-", 1)[0] for snippet_id, _ in runnable_snippets()}
    for expected in ("rl-agent", "imitationagent", "custom-agents", "evaluation", "local-registry-default-no-account"):
        assert expected in sections, sorted(sections)


@pytest.mark.parametrize(("snippet_id", "code"), runnable_snippets(), ids=[s[0] for s in runnable_snippets()])
def test_snippet_runs_as_pasted(snippet_id, code, tmp_path):
    environment = {
        **os.environ,
        "RL_FRAMEWORK_REGISTRY": str(tmp_path / "registry"),
        "SDL_VIDEODRIVER": "dummy",
        "OMP_NUM_THREADS": "1",
    }
    script = tmp_path / f"{snippet_id}.py"
    script.write_text(PRELUDE + "\n" + shrink(code), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"README snippet {snippet_id} failed:\n{result.stderr[-3000:]}"
