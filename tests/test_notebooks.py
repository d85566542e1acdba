"""The notebooks in examples/ execute from start to end at reduced size (so they never rot)."""

import os
from pathlib import Path

import nbformat
import pytest
from conftest_data import data_file
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
#: Reduced sizes the notebooks read from the environment.
SMALL = {
    "COLUMNMINER_EXAMPLE_EVENTS": "4000",
    "COLUMNMINER_EXAMPLE_EPOCHS": "10",
    "OPENBLAS_NUM_THREADS": "1",
}


def test_there_are_notebooks():
    names = {path.name for path in NOTEBOOKS}
    assert {"05_gaussian_toy.ipynb", "06_golden_channel.ipynb", "07_madgraph_workflow.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    for key, value in SMALL.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if "madgraph" in path.stem:  # MadMiner's tutorial cards, tests/data/madgraph-cards/
        monkeypatch.setenv("COLUMNMINER_MADGRAPH_CARDS", str(data_file("madgraph-cards")))
        monkeypatch.delenv("MG_DIRECTORY", raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the failing cell and its traceback
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    assert os.environ["COLUMNMINER_EXAMPLE_EVENTS"] == SMALL["COLUMNMINER_EXAMPLE_EVENTS"]
