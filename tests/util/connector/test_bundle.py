"""bundle_agent enforces the save_to_file contract: return the files written, all beside the agent file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rl_framework.agent import BaseAgent
from rl_framework.util.connector.bundle import UploadOptions, bundle_agent, saved_files, sha256_of
from rl_framework.util.files import atomic_write_text, require_existing_file


class SavingAgent(BaseAgent):
    """Writes a small agent file and returns whatever ``report(agent_file)`` gives (right or wrong)."""

    def __init__(self, report: Callable[[Path], Any]) -> None:
        super().__init__(algorithm_class=None)
        self.report = report

    def choose_action(self, observation: Any, deterministic: bool = False) -> np.ndarray:
        return np.asarray(0)

    def save_to_file(self, file_path: str | os.PathLike[str]) -> Any:
        return self.report(atomic_write_text(file_path, json.dumps({"policy": "always-left"})))

    def load_from_file(self, file_path: str | os.PathLike[str], algorithm_parameters: dict | None = None) -> None:
        require_existing_file(file_path, "agent file")


def test_a_save_to_file_that_returns_nothing_is_refused(tmp_path: Path) -> None:
    agent = SavingAgent(lambda agent_file: None)
    message = (
        r"SavingAgent.save_to_file returned None; it must return the list of files it wrote \(agent file first\), "
        r"e.g. `return \[atomic_write_bytes\(file_path, data\)\]`"
    )
    with pytest.raises(TypeError, match=message):
        bundle_agent(agent, tmp_path / "bundle", UploadOptions())
    assert not (tmp_path / "bundle" / "metadata.json").exists()


@pytest.mark.parametrize("returned", [[], "agent.zip", ["agent.zip"]], ids=["empty", "string", "strings"])
def test_anything_but_a_list_of_paths_is_refused(returned: Any, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="it must return the list of files it wrote"):
        saved_files(returned, tmp_path, "MyAgent")


def test_a_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "statistics.json"
    outside.parent.mkdir()
    outside.write_text("{}")
    agent = SavingAgent(lambda agent_file: [agent_file, outside])
    message = (
        r"SavingAgent.save_to_file reported '.*elsewhere/statistics.json', which is not a file it wrote beside the "
        r"agent file in '.*bundle'. Write companion files next to the given file_path."
    )
    with pytest.raises(ValueError, match=message):
        bundle_agent(agent, tmp_path / "bundle", UploadOptions())
    assert not (tmp_path / "bundle" / "metadata.json").exists()
    with pytest.raises(ValueError, match="reported '.*missing.bin', which is not a file it wrote"):
        saved_files([tmp_path / "missing.bin"], tmp_path, "MyAgent")


def test_the_agent_file_and_its_companions_are_bundled(tmp_path: Path) -> None:
    def with_companion(agent_file: Path) -> list[Path]:
        return [agent_file, atomic_write_text(agent_file.with_suffix(".stats.json"), "{}")]

    bundle = bundle_agent(SavingAgent(with_companion), tmp_path, UploadOptions(agent_file_name="agent.json"))
    assert bundle.agent_file == tmp_path / "agent.json"
    assert bundle.companion_files == (tmp_path / "agent.stats.json",)
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["agent_file"] == "agent.json" and metadata["sha256"] == sha256_of(tmp_path / "agent.json")
    assert set(metadata["files"]) == {"agent.json", "agent.stats.json"}
    # a single Path is read as a one-file list
    assert saved_files(tmp_path / "agent.json", tmp_path, "MyAgent") == (tmp_path / "agent.json",)
