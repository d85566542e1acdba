"""Tests of the demo (the whole chain at a small size) and of the command line."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from columnminer import AnalysisSetup, __version__
from columnminer._demo.plots import FIGURES
from columnminer.cli import main
from columnminer.demo import STEPS, DemoResult, run_demo
from columnminer.io.store import EventStore

METHODS = ("rate", "histogram", "sally", "alices", "exact", "truth")


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory) -> DemoResult:
    """The quick demo at an even smaller size (6000 SM signal events, 100 coverage toys): about 30 s."""
    return run_demo(
        tmp_path_factory.mktemp("demo"), n_events=6000, quick=True, seed=1, progress=False, coverage_toys=100
    )


def test_run_demo_quick(quick_demo):
    result = quick_demo
    assert result.ok, result.summary_text()
    assert result.config.quick and result.config.n_events == 6000 and result.config.coverage_toys == 100
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

    # every method has a positive region; the rate alone is the weakest, the exact likelihoods (near) the best
    areas = {key: result.area(key) for key in METHODS}
    assert set(result.limits) == set(METHODS) and all(a > 0 for a in areas.values())
    assert areas["rate"] > areas["histogram"] and areas["rate"] > areas["truth"]
    assert areas["truth"] <= 1.25 * min(areas.values())
    assert result.limits["truth"].mode == "truth" and result.limits["exact"].mode == "truth-unlabelled"
    assert np.allclose(result.limits["truth"].best_fit, 0.0) and np.allclose(
        result.limits["exact"].best_fit, 0.0
    )
    # the labelled parton-level likelihood bounds the unlabelled detector-level one (within the MC errors)
    assert areas["exact"] > areas["truth"] - 3 * result.area_error("truth")
    assert result.reference == "exact" and result.area_ratio("exact", "exact") == 1.0
    # areas carry bootstrap errors; the event-level models reproduce the limits; the densities close
    assert all(0 < result.area_error(key) < 0.5 * result.area(key) for key in METHODS)
    assert 0 < result.area_ratio_error("alices", "exact") < 1
    assert max(result.uncertainties.q_agreement.values()) < 0.05
    assert abs(result.exact.background_closure - 1) < 4 * result.exact.closure_error
    # coverage of every method at 300 and 3000 fb^-1
    assert set(result.uncertainties.coverage) == {3.0e5, 3.0e6}
    for results in result.uncertainties.coverage.values():
        assert set(results) == set(METHODS)
        assert all(r.n_toys == 100 and r.neyman_thresholds is not None for r in results.values())
        assert results["truth"].fractions[1] > 0.8

    # the exact likelihood's region matches the truth Fisher information's ellipse (Delta q < 2.30)
    ellipse = 2.30 * math.pi / math.sqrt(result.fisher["truth"].determinant)
    assert areas["truth"] == pytest.approx(ellipse, rel=0.25)
    assert result.fisher["rate"].determinant < 1e-3 * result.fisher["truth"].determinant


def test_demo_summaries(quick_demo):
    result = quick_demo
    text = result.summary_text()
    for label in (
        "rate only",
        "2-d histogram (mZ2, Phi)",
        "SALLY",
        "ALICES",
        "exact, detector level (unlabelled)",
        "exact, parton level (labelled bound)",
    ):
        assert label in text
    for heading in (
        "Events",
        "Fisher information at the SM",
        "Expected limits at the SM",
        "Coverage of the expected regions by toys",
        "Timings",
        "Checks",
    ):
        assert heading in text
    limits = text.split("Expected limits at the SM")[1].split("Coverage of the expected regions")[0]
    exact_row = next(line for line in limits.splitlines() if "exact, detector level (unlabelled)" in line)
    assert exact_row.count("±") == 2  # area 68 % and 95 % with their errors
    coverage = text.split("Coverage of the expected regions by toys")[1].split("Timings")[0]
    rows = [line for line in coverage.splitlines() if line.strip().startswith(("ALICES", "exact, detector"))]
    assert len(rows) == 4 and all(line.count("±") == 2 for line in rows)  # two luminosities, 68 / 95 %
    assert "(target <= 1.05" in text
    assert "ML regions smaller than the histogram's" in text and text.endswith("demo passed")
    markdown = (result.out / "summary.md").read_text()
    assert markdown == result.summary_markdown() and "| SALLY |" in markdown
    data = json.loads((result.out / "summary.json").read_text())
    assert data["ok"] is True and set(data["limits"]) == set(METHODS)
    assert data["limits"]["histogram"]["area_68_over_histogram"] == pytest.approx(1.0)
    assert data["limits"]["exact"]["area_68_over_exact"] == pytest.approx(1.0)
    assert data["limits"]["exact"]["overlap_68_with_exact"] == pytest.approx(1.0)
    assert (
        data["limits"]["alices"]["area_68_error"] > 0
        and data["limits"]["alices"]["area_68_over_exact_error"] > 0
    )
    assert set(data["coverage"]) == {"300 fb^-1", "3000 fb^-1"}
    assert set(data["coverage"]["300 fb^-1"]) == set(METHODS)
    assert data["exact_detector_level"]["n_integration_points"] == 32
    assert data["fisher_information"]["rate"]["one_sigma_area"] is None  # singular: infinite area
    assert data["headline_holds"] == result.headline_holds
    assert set(data["timings_s"]) == set(STEPS)
    assert data["config"]["luminosity_pb"] == 3.0e6 and data["config"]["partition_fractions"] == [
        0.8,
        0.1,
        0.1,
    ]


def test_demo_summary_lists_every_output_with_its_size(quick_demo):
    """Every output folder is listed with its size, the LHE files too; no check is labelled with a document."""
    markdown = (quick_demo.out / "summary.md").read_text()
    files = markdown.split("## Files")[1]
    for name in ("lhe", "golden.zarr", "leptons.zarr", "models", "plots", "setup.json", "setup.zarr"):
        line = next(line for line in files.splitlines() if line.startswith(f"- `{quick_demo.out / name}`"))
        assert line.endswith(" kB)") or line.endswith(" MB)") or line.endswith(" B)"), line
    assert quick_demo.output_sizes()[str(quick_demo.out / "lhe")] > 0
    assert "design.md" not in markdown
    assert "morphing reference case: weights and gradients at theta = (1, 1)" in quick_demo.checks


def test_demo_fisher_table_shows_the_truth_and_flags_disagreements(quick_demo):
    text = quick_demo.summary_text()
    fisher = text.split("Fisher information at the SM")[1].split("Expected limits")[0]
    truth = np.asarray(quick_demo.fisher["truth"].information)
    sally_row = next(line for line in fisher.splitlines() if line.strip().startswith("SALLY"))
    assert f"({truth[0, 1]:.4g})" in sally_row  # the truth beside the estimate
    assert "vs truth" in fisher
    flags = quick_demo.fisher_disagreements()
    for key, words in flags.items():
        assert "DISAGREES" in next(line for line in fisher.splitlines() if quick_demo._label(key) in line)
        assert words in fisher
    # a made-up estimate with the wrong correlation is flagged in words
    from types import SimpleNamespace

    rho = truth[0, 1] / np.sqrt(truth[0, 0] * truth[1, 1])
    off = -0.8 * (1.0 if rho >= 0 else -1.0) * 0.5 * np.sqrt(truth[0, 0] * truth[1, 1])
    wrong = np.array([[0.5 * truth[0, 0], off], [off, 0.5 * truth[1, 1]]])
    saved = dict(quick_demo.fisher)
    try:
        quick_demo.fisher["alices"] = SimpleNamespace(
            information=wrong, determinant=float(np.linalg.det(wrong))
        )
        assert "correlation" in quick_demo.fisher_disagreements()["alices"]
    finally:
        quick_demo.fisher.clear()
        quick_demo.fisher.update(saved)


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
    images = tmp_path / "images"
    args = ["demo", "--quick", "--events", "6000", "--coverage-toys", "0", "--out", str(tmp_path)]
    assert main([*args, "--images", str(images)]) == 0
    text = capsys.readouterr().out
    assert "Expected limits at the SM" in text and "Coverage of the expected regions" not in text
    assert any(
        line.strip().startswith("morphing reference case") and " OK " in line for line in text.splitlines()
    )
    assert text.rstrip().endswith("demo passed")
    # the README's figures under stable names
    assert sorted(p.name for p in images.iterdir()) == sorted(FIGURES)
    assert (images / "limits.png").read_bytes() == (tmp_path / "plots" / "limits.png").read_bytes()
    assert main(["setup", str(tmp_path / "setup.json")]) == 0
    assert "morphing_basis_vector_0" in capsys.readouterr().out
    assert main(["setup", str(tmp_path / "setup.zarr")]) == 0


def test_cli_demo_options(tmp_path, capsys):
    """--coverage-toys must be 0 or at least 20 (argparse error, exit 2); --neyman needs toys."""
    for bad in (["--coverage-toys", "5"], ["--coverage-toys", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["demo", "--quick", "--out", str(tmp_path / "x"), *bad])
        assert exit_info.value.code == 2
    assert "at least 20" in capsys.readouterr().err
    with pytest.raises(ValueError, match="neyman needs toys"):
        run_demo(tmp_path / "y", quick=True, coverage_toys=0, neyman=True, progress=False)


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
