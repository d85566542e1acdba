"""Fixtures of the command-line tests: a small golden-channel simulation and its store, made by the CLI."""

import subprocess
import sys

import pytest

from columnminer.cli import main

#: Signal and background events of the shared simulation.
N_SIGNAL, N_BACKGROUND = 1500, 500


@pytest.fixture(scope="session")
def golden_dir(tmp_path_factory):
    """``columnminer simulate golden`` output: signal.lhe.gz, background.lhe.gz, setup.json, summary.json."""
    out = tmp_path_factory.mktemp("cli_golden") / "golden"
    code = main(
        [
            "simulate",
            "golden",
            "--events",
            str(N_SIGNAL),
            "--background",
            str(N_BACKGROUND),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="session")
def golden_store(golden_dir, tmp_path_factory):
    """``columnminer analyse`` of the shared simulation with the default (four-lepton) observables."""
    store = tmp_path_factory.mktemp("cli_store") / "golden.zarr"
    code = main(
        [
            "analyse",
            str(store),
            "--sample",
            f"{golden_dir / 'signal.lhe.gz'}:sm",
            "--background",
            str(golden_dir / "background.lhe.gz"),
            "--chunk-size",
            "1000",
        ]
    )
    assert code == 0
    return store


@pytest.fixture
def run_module():
    """``run_module(*args)``: ``python -m columnminer ARGS`` in a subprocess, returning the CompletedProcess."""

    def run(*args, cwd=None):
        return subprocess.run(
            [sys.executable, "-m", "columnminer", *map(str, args)], capture_output=True, text=True, cwd=cwd
        )

    return run
