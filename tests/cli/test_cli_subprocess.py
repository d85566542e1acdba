"""``python -m columnminer`` in a subprocess: help texts, a real command, exit codes."""

COMMANDS = ["demo", "setup", "simulate", "analyse", "inspect", "augment", "train", "fisher", "limits"]


def test_help(run_module):
    completed = run_module("--help")
    assert completed.returncode == 0
    for command in COMMANDS:
        assert command in completed.stdout
    assert "Exit codes" in completed.stdout
    completed = run_module("limits", "--help")
    assert completed.returncode == 0
    assert "Exit codes" in completed.stdout and "--json" in completed.stdout


def test_inspect_and_errors(run_module, golden_store, tmp_path):
    completed = run_module("inspect", golden_store)
    assert completed.returncode == 0, completed.stderr
    assert "sigma [pb]" in completed.stdout and "m4l" in completed.stdout

    missing = tmp_path / "missing.zarr"
    completed = run_module("inspect", missing)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"columnminer: error: {missing}: no event store found (FileNotFoundError: {missing} does not exist)"
    ]

    completed = run_module("analyse", tmp_path / "x.zarr", "--sample", "no-benchmark.lhe.gz")
    assert completed.returncode == 2
    assert "argument --sample" in completed.stderr and "no-benchmark.lhe.gz" in completed.stderr
