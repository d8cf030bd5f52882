"""Every runnable README snippet runs as pasted, each in a fresh process (shrunk to tiny budgets).

A snippet is a ```python block that starts with ``import``/``from``. The only changes made before
running it make it small: step budgets, episode counts and SB3 rollout sizes shrink, so the whole
README runs in seconds. Snippets that need a service this machine cannot reach (the real
HuggingFace Hub, a ClearML server) are run against the same local stand-ins as the connector tests
(tests/util/connector/), or listed in ``NEEDS_OUTSIDE`` with the test that covers them.

Each snippet runs as ``__main__`` in a process forked from a "snippet server" that imported numpy,
torch, gymnasium and SB3 and ran nothing else: what a snippet sees is what a fresh
``python snippet.py`` sees (every name it uses it must import itself), without paying ~2 s of
imports per snippet.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
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


#: Reads one JSON request per line, forks, runs the script as ``__main__`` in the child and answers
#: with the child's exit code. The child exits through the interpreter (atexit handlers run: Ray,
#: ClearML and SubprocVecEnv clean up as after a normal script) and is killed after ``timeout`` seconds.
SERVER = r"""
import json, os, runpy, signal, sys, traceback
import numpy, torch, gymnasium, stable_baselines3  # imported once, before any snippet runs

for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        signal.alarm(request["timeout"])
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.argv, sys.path[0] = [request["script"]], os.path.dirname(request["script"])
        try:
            runpy.run_path(request["script"], run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
"""


@pytest.fixture(scope="session")
def snippet_server() -> Iterator[subprocess.Popen[str]]:
    """One snippet server per test process (each pytest-xdist worker has its own)."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment
    )
    yield server
    assert server.stdin is not None
    server.stdin.close()
    server.wait(timeout=60)


def run_snippet(server: subprocess.Popen[str], script: Path, environment: dict[str, str]) -> tuple[int, str]:
    """Run ``script`` in a child of ``server``; its exit code and the end of its stderr."""
    assert server.stdin is not None and server.stdout is not None
    stderr = script.with_suffix(".stderr")
    request = {
        "script": str(script),
        "cwd": str(script.parent),
        "env": environment,
        "stdout": str(script.with_suffix(".stdout")),
        "stderr": str(stderr),
        "timeout": 300,
    }
    server.stdin.write(json.dumps(request) + "\n")
    server.stdin.flush()
    answer = server.stdout.readline()
    assert answer, "the snippet server died"
    return json.loads(answer), stderr.read_text(errors="replace")[-3000:]


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
def test_snippet_runs_as_pasted(snippet_id, code, tmp_path, snippet_server):
    script = tmp_path / f"{snippet_id}.py"
    script.write_text(PRELUDE + "\n" + shrink(code), encoding="utf-8")
    returncode, stderr = run_snippet(snippet_server, script, {"RL_FRAMEWORK_REGISTRY": str(tmp_path / "registry")})
    assert returncode == 0, f"README snippet {snippet_id} failed:\n{stderr}"
