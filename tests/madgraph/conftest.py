"""Fixtures for the MadGraph steering tests: MadMiner's tutorial setup and a recording fake MadGraph."""

import json
import sys
from pathlib import Path

import pytest
from conftest_data import data_file

from columnminer import AnalysisSetup, LinearTransform

HERE = Path(__file__).resolve().parent


@pytest.fixture
def tutorial_setup() -> AnalysisSetup:
    """VBF H -> gamma gamma: CWL2 and CPWL2 (dim6 2 and 5, card value 16.52 theta), SM plus a morphing basis."""
    setup = AnalysisSetup()
    for lha_id, name in ((2, "CWL2"), (5, "CPWL2")):
        setup.add_parameter(
            "dim6",
            lha_id,
            name=name,
            morphing_max_power=2,
            parameter_range=(-20.0, 20.0),
            param_card_transform=LinearTransform(scale=16.52),
        )
    setup.add_benchmark({"CWL2": 0.0, "CPWL2": 0.0}, name="sm")
    setup.add_benchmark({"CWL2": 15.2, "CPWL2": 0.1}, name="w")
    setup.set_morphing(max_overall_power=2, n_trials=10, n_test_thetas=20, seed=7)
    return setup


@pytest.fixture
def cards():
    """Callable: path of one of MadMiner's tutorial cards in tests/data/madgraph-cards/ (fails when missing)."""
    return lambda name: data_file("madgraph-cards", name)


class FakeMadGraph:
    """A fake MG5_aMC folder whose executables record every call into ``record_file``."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "MG5_aMC"
        self.record_file = root / "madgraph_calls.jsonl"
        source = (HERE / "fake_madgraph.py").read_text()
        source = source.replace("RECORD_FILE = None", f"RECORD_FILE = {str(self.record_file)!r}", 1)
        launcher = self.directory / "bin" / "mg5_aMC"
        launcher.parent.mkdir(parents=True)
        launcher.write_text(f"#!{sys.executable}\n{source}")
        launcher.chmod(0o755)
        (self.directory / "models").mkdir()

    @property
    def launcher(self) -> Path:
        return self.directory / "bin" / "mg5_aMC"

    def calls(self) -> list[dict]:
        """The recorded calls, in order (empty when MadGraph was never called)."""
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text().splitlines()]


@pytest.fixture
def fake_madgraph(tmp_path) -> FakeMadGraph:
    return FakeMadGraph(tmp_path)
