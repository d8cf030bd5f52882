"""The README's self-contained Python snippets run as written (with tiny step counts)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
#: Snippets that need a service this machine cannot reach, or data the reader brings, are covered elsewhere
#: (tests/util/connector/, tests/agent/imitation/).
NEEDS_OUTSIDE = ("HuggingFace", "ClearML", "expert_episodes", "trajectories", "record_video(agent")


def self_contained_snippets() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [
        block
        for block in blocks
        if block.lstrip().startswith(("import", "from")) and not any(marker in block for marker in NEEDS_OUTSIDE)
    ]


def test_the_readme_has_self_contained_snippets():
    assert len(self_contained_snippets()) >= 4


@pytest.mark.parametrize("snippet", self_contained_snippets(), ids=lambda block: block.splitlines()[-1][:40])
def test_snippet_runs(snippet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RL_FRAMEWORK_REGISTRY", str(tmp_path / "registry"))
    tiny = re.sub(r"total_timesteps=[\d_]+", "total_timesteps=64", snippet)
    tiny = re.sub(r"n_eval_episodes=\d+", "n_eval_episodes=2", tiny)
    tiny = tiny.replace('StableBaselinesAgent("PPO")', 'StableBaselinesAgent("PPO", {"n_steps": 32, "batch_size": 32})')
    exec(compile(tiny, "README.md", "exec"), {"__name__": "readme"})
