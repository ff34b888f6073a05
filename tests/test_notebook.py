"""The walkthrough notebook runs top to bottom, and is committed without outputs.

The notebook is executed headless with nbclient on a small sample of the corpora
(``MODERATION_NOTEBOOK_SAMPLE``), in a ``python3`` kernel that runs this very
interpreter, so it sees the package and the extras installed here.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from conftest import ROOT, skip_or_fail

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
SAMPLE_ROWS = "500"  # per corpus: the whole run takes well under a minute
CELL_TIMEOUT = 300  # seconds per cell

CHECK_INTERPRETER = "import sys; print('kernel prefix:', sys.prefix)"


def run_notebook(tmp_path, monkeypatch, data: str):
    """Execute a copy of the notebook with ``MODERATION_DATA=data``; the executed notebook."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError as e:
        skip_or_fail(f'the notebook extra is not installed (pip install ".[notebook]"): {e}')
    # A kernelspec named python3 that runs this interpreter. JUPYTER_PATH comes first in
    # the kernelspec search, so a python3 kernel elsewhere (user or system) cannot win.
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MODERATION_DATA", data)
    monkeypatch.setenv("MODERATION_NOTEBOOK_SAMPLE", SAMPLE_ROWS)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws the charts
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_INTERPRETER))
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on an error
    return nb


def outputs(nb) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def printed(nb) -> str:
    return "".join(o.get("text", "") for o in outputs(nb) if o["output_type"] == "stream")


def check_run(nb) -> float:
    """Common checks of an executed notebook; the ROC-AUC it printed."""
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    text = printed(nb)
    assert f"kernel prefix: {sys.prefix}" in text, "the kernel did not run this interpreter"
    auc = re.search(r"ROC-AUC (\d\.\d+)", text)
    assert auc, "no cell printed the ROC-AUC"
    assert any("image/png" in o.get("data", {}) for o in outputs(nb)), "the chart was not drawn"
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs(nb))
    assert "Worst false positives" in html and "Worst false negatives" in html
    assert "walkthrough" in text and "model.skops" in text  # the model was saved
    return float(auc.group(1))


def test_notebook_runs_on_the_corpora(data_root, tmp_path, monkeypatch):
    nb = run_notebook(tmp_path, monkeypatch, str(data_root))
    assert "public corpora from" in printed(nb)
    assert 0.5 < check_run(nb) <= 1.0
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs(nb))
    assert "<mark" in html, "no span was highlighted"


def test_notebook_falls_back_to_the_sample(tmp_path, monkeypatch):
    """Without the corpora the notebook says so and runs on data/sample_labelled.csv."""
    nb = run_notebook(tmp_path, monkeypatch, str(tmp_path / "no-corpora-here"))
    assert "No public corpora found" in printed(nb)
    assert 0.5 < check_run(nb) <= 1.0


def test_committed_notebook_is_stripped():
    """No outputs or execution counts: corpus texts must never be committed, not even as output."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code
    for i, cell in enumerate(code):
        assert cell["outputs"] == [], f"code cell {i} has outputs"
        assert cell["execution_count"] is None, f"code cell {i} has an execution count"
        assert "execution" not in cell.get("metadata", {}), f"code cell {i} has execution timings"
    assert "widgets" not in nb["metadata"]
