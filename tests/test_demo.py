"""Tests of the demo and the command line."""

import subprocess
import sys

import pytest

from columnminer import AnalysisSetup, __version__
from columnminer.cli import main
from columnminer.demo import run_demo


def test_run_demo_quick(tmp_path):
    result = run_demo(tmp_path, quick=True, seed=1)
    assert result.ok
    assert result.n_events == 10_000
    assert result.max_event_deviation < 1e-9
    assert result.squared_weight_sum_optimised < result.squared_weight_sum_random
    assert AnalysisSetup.load(tmp_path / "setup.json") == result.setup


def test_cli_demo_and_setup(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "demo passed" in text
    assert "DESIGN.md reference weights and gradients      OK" in text
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
