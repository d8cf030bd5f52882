"""exploration/getting_started.ipynb runs end to end on a real Jupyter kernel (in its small mode)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "exploration" / "getting_started.ipynb"


def test_getting_started_notebook_runs_end_to_end(tmp_path, monkeypatch):
    # The kernel inherits this environment: small mode, a private registry, one torch thread.
    monkeypatch.setenv("RL_FRAMEWORK_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("RL_FRAMEWORK_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit it cleared"
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    rich = [output.data for output in outputs if output.output_type == "display_data"]
    assert "IQM" in text and "uploaded to" in text and "fine-tuned agent: mean return" in text
    assert any("text/html" in data and "<video" in data["text/html"] for data in rich)  # the replay, inline
    assert any("image/png" in data for data in rich)  # the learning curve, inline
    versions = list((tmp_path / "registry" / "notebook-ppo-cartpole").iterdir())
    assert [version.name for version in versions] == ["v1"]
    assert {"learning_curve.png", "replay.mp4", "experiment.yaml"} <= {path.name for path in versions[0].iterdir()}
