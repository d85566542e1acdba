"""Tests of the demo (the whole chain at a small size) and of the command line."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from columnminer import AnalysisSetup, __version__
from columnminer.cli import main
from columnminer.demo import STEPS, DemoResult, run_demo
from columnminer.io.store import EventStore

METHODS = ("rate", "histogram", "sally", "alices", "truth")


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory) -> DemoResult:
    """The quick demo at an even smaller size (6000 SM signal events): about 20 s."""
    return run_demo(tmp_path_factory.mktemp("demo"), n_events=6000, quick=True, seed=1, progress=False)


def test_run_demo_quick(quick_demo):
    result = quick_demo
    assert result.ok, result.summary_text()
    assert result.config.quick and result.config.n_events == 6000
    assert list(result.timings) == list(STEPS)
    assert all(path.exists() for path in result.files)
    assert sorted(p.name for p in result.files if p.suffix == ".png") == [
        "distributions.png",
        "fisher.png",
        "limits.png",
        "training_alices.png",
        "training_sally.png",
    ]
    assert AnalysisSetup.load(result.out / "setup.json") == result.setup
    store = EventStore.open(str(result.out / "golden.zarr"))
    assert store.n_events == result.n_events == sum(s["n_selected"] for s in result.samples)
    assert result.samples[0]["name"] == "sm" and result.samples[-1]["theta"] is None

    # every method has a positive region; the rate alone is the weakest, the exact likelihood (near) the best
    areas = {key: result.area(key) for key in METHODS}
    assert set(result.limits) == set(METHODS) and all(a > 0 for a in areas.values())
    assert areas["rate"] > areas["histogram"] and areas["rate"] > areas["truth"]
    assert areas["truth"] <= 1.25 * min(areas.values())
    assert result.limits["truth"].mode == "truth"
    assert np.allclose(result.limits["truth"].best_fit, 0.0)

    # the exact likelihood's region matches the truth Fisher information's ellipse (Delta q < 2.30)
    ellipse = 2.30 * math.pi / math.sqrt(result.fisher["truth"].determinant)
    assert areas["truth"] == pytest.approx(ellipse, rel=0.25)
    assert result.fisher["rate"].determinant < 1e-3 * result.fisher["truth"].determinant


def test_demo_summaries(quick_demo):
    result = quick_demo
    text = result.summary_text()
    for label in ("rate only", "2-d histogram (mZ2, Phi)", "SALLY", "ALICES", "exact likelihood (truth)"):
        assert label in text
    for heading in (
        "Events",
        "Fisher information at the SM",
        "Expected limits at the SM",
        "Timings",
        "Checks",
    ):
        assert heading in text
    assert "ML regions smaller than the histogram's" in text and text.endswith("demo passed")
    markdown = (result.out / "summary.md").read_text()
    assert markdown == result.summary_markdown() and "| SALLY |" in markdown
    data = json.loads((result.out / "summary.json").read_text())
    assert data["ok"] is True and set(data["limits"]) == set(METHODS)
    assert data["limits"]["histogram"]["area_68_over_histogram"] == pytest.approx(1.0)
    assert data["limits"]["truth"]["area_68_over_exact"] == pytest.approx(1.0)
    assert data["limits"]["truth"]["overlap_68_with_exact"] == pytest.approx(1.0)
    assert data["fisher_information"]["rate"]["one_sigma_area"] is None  # singular: infinite area
    assert data["headline_holds"] == result.headline_holds
    assert set(data["timings_s"]) == set(STEPS)


def test_demo_plot_fallbacks(quick_demo, tmp_path, monkeypatch):
    """When a columnminer.plotting function fails, the demo draws a plain figure and says so."""
    import columnminer.plotting as plotting
    from columnminer._demo.plots import write_plots

    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    for name in ("plot_limits", "plot_fisher_contours", "plot_distributions", "plot_training_history"):
        monkeypatch.setattr(plotting, name, broken)
    notes = list(quick_demo.notes)
    try:
        paths = write_plots(quick_demo, EventStore.open(str(quick_demo.out / "golden.zarr")), tmp_path)
        assert len(paths) == 5 and all(p.stat().st_size > 1000 for p in paths)
        assert sum("fallback" in n for n in quick_demo.notes) == 5
    finally:
        quick_demo.notes[:] = notes


def test_cli_demo_and_setup(tmp_path, capsys):
    assert main(["demo", "--quick", "--events", "6000", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Expected limits at the SM" in text
    assert any(
        line.split()[:2] == ["design.md", "reference"] and " OK " in line for line in text.splitlines()
    )
    assert text.rstrip().endswith("demo passed")
    assert main(["setup", str(tmp_path / "setup.json")]) == 0
    assert "morphing_basis_vector_0" in capsys.readouterr().out
    assert main(["setup", str(tmp_path / "setup.zarr")]) == 0


def test_cli_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["setup", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["setup", str(tmp_path / "missing.json")]) == 2
    with pytest.raises(SystemExit):
        main(["no-such-command"])


def test_console_script_runs(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "columnminer.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in completed.stdout
