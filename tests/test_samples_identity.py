"""analyse_samples and the CLI never put an event of a file into a store twice, nor mix settings or setups:
reruns with any step size add exactly the missing events; other settings or another setup are refused before
anything is written."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.cli import main
from columnminer.errors import BenchmarkMismatchError, DuplicateSourceError, LHEFormatError, StoreError
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden
from columnminer.weights import cross_sections

N = 500


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    out = tmp_path_factory.mktemp("identity")
    info = simulate_golden(None, N, out, n_background=0, seed=3)
    return info["files"]["signal"]


@pytest.fixture(scope="module")
def analysis():
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    return analysis


def new_store(path, analysis, setup=None):
    setup = golden_setup() if setup is None else setup
    return EventStore.create(str(path), setup, analysis.observable_names, chunk_size=64)


def run(store, analysis, path, step, **kwargs):
    sample = Sample(str(path), sampled_from_benchmark="sm", **kwargs)
    return analyse_samples([sample], analysis, store, step_size=step, progress=False)


def contents(store):
    """The store's events as a sorted table (order-independent comparison)."""
    table = np.column_stack([store.read("observables"), store.read("weights")])
    return table[np.lexsort(table.T[::-1])]


@pytest.fixture(scope="module")
def reference(golden, analysis, tmp_path_factory):
    store = new_store(tmp_path_factory.mktemp("ref") / "ref.zarr", analysis)
    run(store, analysis, golden, 10_000)
    return contents(store), cross_sections(store, ["sm"])[0][0]


def test_a_rerun_with_another_step_size_adds_exactly_the_missing_events(
    tmp_path, golden, analysis, reference
):
    store = new_store(tmp_path / "s.zarr", analysis)
    original = EventStore.append
    calls = []

    def failing_append(self, *args, **kwargs):  # the first run dies after two committed chunks
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    EventStore.append = failing_append
    try:
        with pytest.raises(KeyboardInterrupt):
            run(store, analysis, golden, 200)
    finally:
        EventStore.append = original
    assert [s["source"]["events"] for s in EventStore.open(str(tmp_path / "s.zarr")).sources] == [
        [0, 200],
        [200, 400],
    ]
    summary = run(EventStore.open(str(tmp_path / "s.zarr"), mode="a"), analysis, golden, 75)
    assert summary.n_read[str(golden)] == N - 400  # only the missing events were read
    store = EventStore.open(str(tmp_path / "s.zarr"))
    assert [s["source"]["events"] for s in store.sources][2:] == [[400, 450], [450, 500]]
    np.testing.assert_array_equal(contents(store), reference[0])
    assert cross_sections(store, ["sm"])[0][0] == pytest.approx(reference[1], rel=1e-12)
    summary = run(EventStore.open(str(tmp_path / "s.zarr"), mode="a"), analysis, golden, 33)  # complete
    assert summary.n_read[str(golden)] == 0
    assert EventStore.open(str(tmp_path / "s.zarr")).n_events == len(reference[0])


def test_a_moved_copy_is_the_same_file(tmp_path, golden, analysis, reference):
    store = new_store(tmp_path / "s.zarr", analysis)
    run(store, analysis, golden, 10_000)
    moved = tmp_path / "moved.lhe.gz"
    shutil.copy(golden, moved)
    run(store, analysis, moved, 100)
    assert store.n_events == len(reference[0])


def test_other_settings_for_a_file_already_in_the_store_are_refused_before_writing(
    tmp_path, golden, analysis
):
    store = new_store(tmp_path / "s.zarr", analysis)
    run(store, analysis, golden, 300)
    before = (store.n_events, store.generation)
    with pytest.raises(DuplicateSourceError, match=r"k_factor.*\(1\.0, 2\.0\).*nothing was written"):
        run(store, analysis, golden, 300, k_factor=2.0)
    with pytest.raises(DuplicateSourceError, match="given twice"):
        analyse_samples(
            [Sample(str(golden), "sm"), Sample(str(golden), "sm")], analysis, store, progress=False
        )
    again = EventStore.open(str(tmp_path / "s.zarr"))
    assert (again.n_events, again.generation) == before


def test_a_read_only_store_is_refused(tmp_path, golden, analysis):
    new_store(tmp_path / "s.zarr", analysis)
    with pytest.raises(StoreError, match="opened read-only; open it with mode='a'"):
        run(EventStore.open(str(tmp_path / "s.zarr")), analysis, golden, 100)


def test_a_file_made_for_another_setup_is_refused(tmp_path, analysis):
    moved = golden_setup().to_dict()
    moved.pop("morphing", None)
    for bench in moved["benchmarks"]:
        if bench["name"] != "sm":
            bench["values"] = {k: v + 0.25 for k, v in bench["values"].items()}
            break
    other = AnalysisSetup.from_dict(moved)
    info = simulate_golden(other, 50, tmp_path / "other", n_background=0)
    store = new_store(tmp_path / "s.zarr", analysis)
    with pytest.raises(
        BenchmarkMismatchError,
        match=r"(?s)signal\.lhe\.gz.*benchmark .morphing_basis_vector_0.*parameter .a2.*1\.161985.*0\.91198",
    ):
        run(store, analysis, info["files"]["signal"], 100)
    assert EventStore.open(str(tmp_path / "s.zarr")).n_events == 0
    code = main(
        ["analyse", str(tmp_path / "s.zarr"), "--append", "--sample", f"{info['files']['signal']}:sm"]
    )
    assert code == 1
    assert EventStore.open(str(tmp_path / "s.zarr")).n_events == 0


def test_cli_rerun_with_another_step_size(tmp_path, golden, reference, capsys):
    store = tmp_path / "c.zarr"
    assert main(["analyse", str(store), "--sample", f"{golden}:sm", "--step-size", "200"]) == 0
    n_first = EventStore.open(str(store)).n_events
    args = ["analyse", str(store), "--append", "--sample", f"{golden}:sm", "--step-size", "100"]
    assert main(args) == 0
    final = EventStore.open(str(store))
    assert final.n_events == n_first == len(reference[0])
    assert cross_sections(final, ["sm"])[0][0] == pytest.approx(reference[1], rel=1e-12)


def spoil_momentum(path, out, event):
    """A copy of a gzip LHE file whose ``event``-th event has px = nan in its first particle line."""
    import gzip

    text = gzip.decompress(open(path, "rb").read()).decode()
    head, *events = text.split("<event>")
    lines = events[event].split("\n")
    fields = lines[2].split()
    fields[6] = "nan"
    lines[2] = " ".join(fields)
    events[event] = "\n".join(lines)
    out.write_bytes(gzip.compress(("<event>".join([head, *events])).encode()))
    return str(out)


def test_nan_momenta_are_an_error_naming_the_event_or_dropped_on_request(tmp_path, golden, analysis, caplog):
    bad = spoil_momentum(golden, tmp_path / "bad.lhe.gz", 123)
    store = new_store(tmp_path / "s.zarr", analysis)
    with pytest.raises(LHEFormatError, match=r"bad\.lhe\.gz.*event 123.*px") as info:
        run(store, analysis, bad, 100)
    assert info.value.event == 123 and info.value.field == "px"
    failed = EventStore.open(str(tmp_path / "s.zarr"))  # chunks run in batches of 4: none was committed
    assert failed.n_events == 0 and failed.incomplete is None
    summary = run(EventStore.open(str(tmp_path / "s.zarr"), mode="a"), analysis, bad, 100, invalid="drop")
    assert summary.n_dropped[bad] == 1 and summary.n_read[bad] == N - 1
    assert "1 invalid events dropped" in summary.table()
    assert "123" in caplog.text


def test_cli_invalid_events_stop_the_run_or_are_dropped_on_request(tmp_path, golden, capsys):
    bad = spoil_momentum(golden, tmp_path / "bad.lhe.gz", 7)
    store = tmp_path / "c.zarr"
    setup = ["--setup", str(Path(golden).parent / "setup.json")]
    assert main(["analyse", str(store), "--sample", f"{bad}:sm", *setup]) == 1
    err = capsys.readouterr().err
    assert "event 7" in err and "px" in err and "Traceback" not in err
    assert not store.exists()  # the store this failed command created is removed
    assert main(["analyse", str(store), "--sample", f"{bad}:sm,invalid=drop", *setup]) == 0
    assert "1 invalid events dropped" in capsys.readouterr().out
