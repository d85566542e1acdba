"""Delphes reader against uproot's raw branches of a real file; schema variants, bad input, run_delphes."""

import gzip
import logging
import shutil
import stat
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from conftest_data import DATA, data_file

from columnminer.errors import InputFormatError
from columnminer.io.delphes import (
    ELECTRON_MASS,
    MUON_MASS,
    attach_lhe_weights,
    iterate_delphes,
    read_delphes,
)
from columnminer.io.delphes_run import DelphesRunError, run_delphes

DELPHES_FILE = DATA / "delphes" / "delphes-cms-10events.root"


@pytest.fixture(scope="module")
def real() -> Path:
    return data_file("delphes", "delphes-cms-10events.root")


@pytest.fixture(scope="module")
def raw(real):
    prefixes = (
        "Electron",
        "Muon",
        "Photon",
        "Jet",
        "MissingET",
        "Event",
        "Particle",
        "GenJet",
        "GenMissingET",
    )
    simple = {"float[]", "int32_t[]", "uint32_t[]", "int64_t[]", "double[]"}
    with uproot.open(real) as f:
        tree = f["Delphes"]
        leaves = {n.split("/")[-1]: t for n, t in tree.typenames().items()}
        # fUniqueID / fBits (TObject bookkeeping) are not decodable by uproot in this file; not needed.
        names = [
            n
            for n, t in leaves.items()
            if t in simple and n.split(".")[0] in prefixes and not n.endswith((".fBits", ".fUniqueID"))
        ]
        return tree.arrays(names)


@pytest.fixture(scope="module")
def events(real):
    return read_delphes(real, generator_truth=True)


def _sorted_raw(raw, branch, leaf):
    """The raw leaf ordered like the reader orders objects (by decreasing pt, stable)."""
    order = ak.argsort(raw[f"{branch}.PT"], axis=1, ascending=False, stable=True)
    return raw[f"{branch}.{leaf}"][order]


def _same(a, b, rtol=0.0):
    a, b = ak.flatten(a, axis=None), ak.flatten(b, axis=None)
    assert len(a) == len(b)
    np.testing.assert_allclose(ak.to_numpy(a).astype(float), ak.to_numpy(b).astype(float), rtol=rtol, atol=0)


# -- the real file, field by field ------------------------------------------------------------------------
def test_real_file_layout(events, raw):
    assert len(events) == 10
    for name in ("e", "mu", "a", "j", "met", "weights", "event_number", "particles", "genjet", "genmet"):
        assert name in ak.fields(events)
    for name in ("e", "mu", "a", "j", "genjet"):
        assert events[name].type.content.content.parameters["__record__"] == "Momentum4D"
        for field in ("pt", "eta", "phi", "E", "charge", "pdgid"):
            assert field in ak.fields(events[name])
        assert str(events[name].pt.type.content.content) == "float64"
        assert str(events[name].pdgid.type.content.content) == "int64"
    assert events.met.type.content.parameters["__record__"] == "Momentum2D"
    assert events.attrs["delphes_path"] == str(DELPHES_FILE)
    # the file's content: 2 electrons, 3 muons, no photon, 74 jets in 10 events
    assert ak.sum(ak.num(events.e)) == 2 and ak.sum(ak.num(events.mu)) == 3
    assert ak.sum(ak.num(events.a)) == 0 and ak.sum(ak.num(events.j)) == ak.sum(ak.num(raw["Jet.PT"])) == 74


@pytest.mark.parametrize(
    ("name", "branch"), [("e", "Electron"), ("mu", "Muon"), ("a", "Photon"), ("j", "Jet")]
)
def test_kinematics_equal_raw_branches(events, raw, name, branch):
    coll = events[name]
    assert ak.num(coll).tolist() == ak.num(raw[f"{branch}.PT"]).tolist()
    for field, leaf in (("pt", "PT"), ("eta", "Eta"), ("phi", "Phi")):
        _same(coll[field], _sorted_raw(raw, branch, leaf))
    assert ak.all(coll.pt[:, :-1] >= coll.pt[:, 1:])


@pytest.mark.parametrize(
    ("name", "branch", "pid", "mass"), [("e", "Electron", 11, ELECTRON_MASS), ("mu", "Muon", 13, MUON_MASS)]
)
def test_leptons_charge_pdgid_energy(events, raw, name, branch, pid, mass):
    coll = events[name]
    charge = _sorted_raw(raw, branch, "Charge")
    _same(coll.charge, charge)
    _same(coll.pdgid, -pid * charge)
    assert set(ak.flatten(coll.charge).tolist()) <= {-1.0, 1.0}
    pt, eta = _sorted_raw(raw, branch, "PT"), _sorted_raw(raw, branch, "Eta")
    expected = np.sqrt(
        (ak.values_astype(pt, np.float64) * np.cosh(ak.values_astype(eta, np.float64))) ** 2 + mass**2
    )
    _same(coll.E, expected, rtol=1e-12)
    _same(coll.mass, ak.full_like(coll.pt, mass), rtol=1e-3)


def test_jets_mass_flavour_tags(events, raw):
    j = events.j
    _same(j.mass, _sorted_raw(raw, "Jet", "Mass"), rtol=1e-3)
    _same(j.pdgid, _sorted_raw(raw, "Jet", "Flavor"))
    _same(j.btag, _sorted_raw(raw, "Jet", "BTag"))
    _same(j.tautag, _sorted_raw(raw, "Jet", "TauTag"))
    _same(j.charge, _sorted_raw(raw, "Jet", "Charge"))
    assert ak.sum(j.btag) == ak.sum(raw["Jet.BTag"]) > 0


def test_photons_have_fixed_pdgid(events):
    assert ak.all(events.a.pdgid == 22)


def test_met_weights_event_number(events, raw):
    _same(events.met.pt, raw["MissingET.MET"][:, 0])
    _same(events.met.phi, raw["MissingET.Phi"][:, 0])
    _same(events.weights.delphes, raw["Event.Weight"][:, 0])
    assert ak.fields(events.weights) == ["delphes"]  # the Weight branch of this file is empty
    assert events.event_number.tolist() == raw["Event.Number"][:, 0].tolist() == list(range(10))


def test_generator_truth(events, raw):
    p = events.particles
    for field, leaf in (
        ("id", "PID"),
        ("status", "Status"),
        ("px", "Px"),
        ("py", "Py"),
        ("pz", "Pz"),
        ("e", "E"),
        ("mother1", "M1"),
        ("daughter2", "D2"),
        ("gen_mass", "Mass"),
    ):
        _same(p[field], raw[f"Particle.{leaf}"])
    _same(p.pt, raw["Particle.PT"], rtol=1e-5)
    for field, leaf in (("pt", "PT"), ("eta", "Eta"), ("phi", "Phi")):
        _same(events.genjet[field], _sorted_raw(raw, "GenJet", leaf))
    _same(events.genmet.pt, raw["GenMissingET.MET"][:, 0])


def test_entry_range_and_collections(real, events):
    part = read_delphes(real, collections=("j", "met"), entry_start=3, entry_stop=7)
    assert set(ak.fields(part)) == {"j", "met", "weights", "event_number"}
    assert part.event_number.tolist() == [3, 4, 5, 6]
    assert part.attrs["delphes_first_event"] == 3
    assert part.j.pt.tolist() == events.j.pt[3:7].tolist()


def test_iterate_equals_read(real, events):
    chunks = list(iterate_delphes(real, step_size=4, generator_truth=True))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [c.attrs["delphes_first_event"] for c in chunks] == [0, 4, 8]
    joined = ak.concatenate(chunks)
    for name in ("e", "mu", "j", "met", "weights", "particles"):
        assert joined[name].tolist() == events[name].tolist()
    two = list(iterate_delphes([real, real], step_size=100))
    assert [len(c) for c in two] == [10, 10]


# -- schema variants (files written with uproot in the layout of other Delphes versions) ---------------------
def _write(path: Path, branches: dict, tree: str = "Delphes") -> Path:
    arrays = {k: ak.Array(v) if not isinstance(v, ak.Array) else v for k, v in branches.items()}
    with uproot.recreate(path) as f:
        t = f.mktree(
            tree,
            {k: a.type.content for k, a in arrays.items()},
            counter_name=lambda name: name.split(".")[0] + "_size",
        )
        t.extend(arrays)
    return path


def _minimal(n_photons=((30.0,), ()), met_counts=(1, 1)) -> dict:
    """Two events in the layout of an old Delphes: no Photon.E, no Jet.Mass/Flavor/BTag, no Weight."""
    f32 = np.float32
    return {
        "Electron.PT": ak.values_astype([[25.0], []], f32),
        "Electron.Eta": ak.values_astype([[0.5], []], f32),
        "Electron.Phi": ak.values_astype([[0.1], []], f32),
        "Electron.Charge": ak.values_astype([[1], []], np.int32),
        "Muon.PT": ak.values_astype([[], [12.0, 40.0]], f32),
        "Muon.Eta": ak.values_astype([[], [1.0, -2.0]], f32),
        "Muon.Phi": ak.values_astype([[], [0.2, -0.3]], f32),
        "Muon.Charge": ak.values_astype([[], [-1, 1]], np.int32),
        "Photon.PT": ak.values_astype([list(x) for x in n_photons], f32),
        "Photon.Eta": ak.values_astype([[1.5] * len(x) for x in n_photons], f32),
        "Photon.Phi": ak.values_astype([[2.0] * len(x) for x in n_photons], f32),
        "Jet.PT": ak.values_astype([[40.0, 80.0], [50.0]], f32),
        "Jet.Eta": ak.values_astype([[0.0, 1.0], [-1.0]], f32),
        "Jet.Phi": ak.values_astype([[0.0, 1.0], [2.0]], f32),
        "MissingET.MET": ak.values_astype([[5.0] * met_counts[0], [7.0] * met_counts[1]], f32),
        "MissingET.Phi": ak.values_astype([[0.5] * met_counts[0], [-0.5] * met_counts[1]], f32),
    }


def test_old_schema_derives_missing_fields(tmp_path, caplog):
    path = _write(tmp_path / "old.root", _minimal())
    with caplog.at_level(logging.DEBUG, logger="columnminer.io.delphes"):
        ev = read_delphes(path)
    assert "massless" in caplog.text and "Photon has no E" in caplog.text
    assert "weights" not in ak.fields(ev) and "event_number" not in ak.fields(ev)
    assert "btag" not in ak.fields(ev.j)
    assert ev.j.pt.tolist() == [[80.0, 40.0], [50.0]]  # re-sorted by pt
    np.testing.assert_allclose(ak.flatten(ev.j.mass), 0.0, atol=1e-4)
    assert ev.j.pdgid.tolist() == [[0, 0], [0]] and ev.j.charge.tolist() == [[0.0, 0.0], [0.0]]
    np.testing.assert_allclose(ev.a.E[0, 0], 30.0 * np.cosh(np.float32(1.5)), rtol=1e-6)
    assert ev.e.pdgid.tolist() == [[-11], []] and ev.mu.pdgid.tolist() == [[], [-13, 13]]
    assert ev.mu.pt.tolist() == [[], [40.0, 12.0]]


def test_new_schema_uses_mass_and_energy_leaves(tmp_path):
    b = _minimal()
    b["Jet.Mass"] = ak.values_astype([[5.0, 10.0], [0.0]], np.float32)
    b["Electron.E"] = ak.values_astype([[99.0], []], np.float32)
    b["Weight.Weight"] = ak.values_astype([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b["Event.Weight"] = ak.values_astype([[1.0], [3.0]], np.float32)
    ev = read_delphes(_write(tmp_path / "new.root", b), weight_names=["nominal", "up"])
    np.testing.assert_allclose(ak.flatten(ev.j.mass), [10.0, 5.0, 0.0], rtol=1e-5, atol=1e-3)
    assert ev.e.E.tolist() == [[99.0], []]
    assert ev.weights.tolist() == [
        {"delphes": 1.0, "nominal": 1.0, "up": 2.0},
        {"delphes": 3.0, "nominal": 3.0, "up": 4.0},
    ]
    default = read_delphes(tmp_path / "new.root")
    assert ak.fields(default.weights) == ["delphes", "delphes_0", "delphes_1"]
    with pytest.raises(InputFormatError, match="2 weights per event but 1 weight_names"):
        read_delphes(tmp_path / "new.root", weight_names=["one"])


def test_renamed_branches(tmp_path):
    b = {k.replace("Jet.", "JetPUPPI."): v for k, v in _minimal().items()}
    path = _write(tmp_path / "puppi.root", b)
    with pytest.raises(InputFormatError, match=r"Jet\.PT") as info:
        read_delphes(path)
    assert "no 'Jet' branch at all" in str(info.value) and info.value.field == "Jet.PT"
    ev = read_delphes(path, branches={"j": "JetPUPPI"})
    assert ev.j.pt.tolist() == [[80.0, 40.0], [50.0]]


# -- bad input -----------------------------------------------------------------------------------------------
def test_not_a_root_file(tmp_path):
    path = tmp_path / "events.root"
    path.write_text("<LesHouchesEvents version='3.0'>\n")
    with pytest.raises(InputFormatError, match="not a ROOT file") as info:
        read_delphes(path)
    assert info.value.path == str(path)
    empty = tmp_path / "empty.root"
    empty.write_bytes(b"")
    with pytest.raises(InputFormatError, match="not a ROOT file"):
        read_delphes(empty)
    with pytest.raises(InputFormatError, match="cannot open"):
        read_delphes(tmp_path / "missing.root")


@pytest.mark.parametrize("keep", [100, 400_000, -50])
def test_truncated_file(real, tmp_path, keep):
    data = real.read_bytes()
    path = tmp_path / "cut.root"
    path.write_bytes(data[:keep])
    with pytest.raises(InputFormatError, match="truncated ROOT file") as info:
        read_delphes(path)
    assert info.value.path == str(path) and str(len(data)) in str(info.value)


@pytest.mark.parametrize("offset", [100_000, 300_000])
def test_corrupt_baskets(real, tmp_path, offset):
    data = bytearray(real.read_bytes())
    data[offset : offset + 20_000] = bytes(20_000)
    path = tmp_path / "corrupt.root"
    path.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match="corrupt") as info:
        read_delphes(path, generator_truth=True)
    assert info.value.path == str(path)
    with pytest.raises(InputFormatError, match="corrupt"):
        list(iterate_delphes(path, generator_truth=True))


def test_no_delphes_tree(tmp_path):
    path = tmp_path / "other.root"
    with uproot.recreate(path) as f:
        f.mktree("Events", {"x": np.float64}).extend({"x": np.arange(3.0)})
        f.mktree("Runs", {"y": np.float64}).extend({"y": np.arange(1.0)})
    with pytest.raises(InputFormatError, match=r"no Delphes tree 'Delphes'.*\['Events', 'Runs'\]") as info:
        read_delphes(path)
    assert info.value.field == "Delphes"
    with pytest.raises(InputFormatError, match="no Delphes tree"):
        next(iterate_delphes(path))


@pytest.mark.parametrize("missing", ["Muon.Charge", "Photon.Eta", "MissingET.MET", "Electron.PT"])
def test_required_branch_missing(tmp_path, missing):
    b = _minimal()
    del b[missing]
    path = _write(tmp_path / "missing.root", b)
    with pytest.raises(InputFormatError, match=f"required Delphes branch '{missing}' is missing") as info:
        read_delphes(path)
    assert info.value.field == missing and info.value.path == str(path)
    other = [
        c
        for c in ("e", "mu", "a", "j", "met")
        if not missing.startswith(
            {"e": "Electron", "mu": "Muon", "a": "Photon", "j": "Jet", "met": "MissingET"}[c]
        )
    ]
    assert len(read_delphes(path, collections=other)) == 2


def test_truth_branch_missing_only_when_asked(tmp_path):
    path = _write(tmp_path / "reco.root", _minimal())
    read_delphes(path)
    with pytest.raises(InputFormatError, match=r"Particle\.PID"):
        read_delphes(path, generator_truth=True)


def test_met_count_error_names_event(tmp_path):
    path = _write(tmp_path / "met.root", _minimal(met_counts=(1, 2)))
    with pytest.raises(InputFormatError, match=r"event 1 has 2 MissingET\.MET entries") as info:
        read_delphes(path)
    assert info.value.event == 1 and info.value.field == "MissingET.MET"


def test_unknown_collection(real):
    with pytest.raises(ValueError, match="unknown collection 'tau'"):
        read_delphes(real, collections=("tau",))


# -- LHE weights ---------------------------------------------------------------------------------------------
def _lhe_like(n, first=None, path="signal.lhe"):
    rec = ak.zip({"sm": np.arange(n, dtype=float), "bsm": 10.0 + np.arange(n)})
    attrs = {"lhe_path": path}
    if first is not None:
        attrs["lhe_first_event"] = first
    return ak.Array(rec, attrs=attrs)


def test_attach_lhe_weights(events):
    out = attach_lhe_weights(events, _lhe_like(10))
    assert ak.fields(out.weights) == ["delphes", "sm", "bsm"]
    assert out.weights.sm.tolist() == list(range(10))
    assert out.weights.delphes.tolist() == events.weights.delphes.tolist()
    assert out.j.pt.tolist() == events.j.pt.tolist()
    assert out.attrs["delphes_path"] == str(DELPHES_FILE)


def test_attach_lhe_weights_count_mismatch(events):
    with pytest.raises(
        InputFormatError, match=r"delphes-cms-10events.root has 10 events but signal.lhe has 12"
    ):
        attach_lhe_weights(events, _lhe_like(12))


def test_attach_real_lhe_file_mismatch(events):
    lhe_wbj = data_file("lhe", "testfile-madgraph-2.0.0-wbj.lhe")
    from columnminer.io.lhe import read_lhe

    lhe = read_lhe(lhe_wbj)
    with pytest.raises(InputFormatError, match=r"has 10 events but .*wbj.lhe has 59") as info:
        attach_lhe_weights(events, lhe.weights, lhe_path=str(lhe_wbj))
    assert info.value.path == str(DELPHES_FILE)
    out = attach_lhe_weights(events, lhe.weights[:10], lhe_path=str(lhe_wbj))
    assert out.weights["1001"].tolist() == lhe.weights["1001"][:10].tolist()


def test_attach_lhe_weights_by_event_number(events):
    subset = events[[1, 4, 7]]
    out = attach_lhe_weights(subset, _lhe_like(20), match_event_numbers=True)
    assert out.weights.sm.tolist() == [1.0, 4.0, 7.0]
    out = attach_lhe_weights(subset, _lhe_like(20), match_event_numbers=True, event_number_offset=-1)
    assert out.weights.sm.tolist() == [2.0, 5.0, 8.0]
    with pytest.raises(InputFormatError, match="event 2 has event number 7, outside the 5 events"):
        attach_lhe_weights(subset, _lhe_like(5), match_event_numbers=True)
    no_numbers = ak.without_field(subset, "event_number")
    with pytest.raises(InputFormatError, match="no 'event_number'"):
        attach_lhe_weights(no_numbers, _lhe_like(20), match_event_numbers=True)


def test_attach_lhe_weights_chunk_alignment_and_collisions(real):
    chunks = list(iterate_delphes(real, step_size=5))
    out = attach_lhe_weights(chunks[1], _lhe_like(5, first=5))
    assert out.weights.sm.tolist() == list(range(5))
    with pytest.raises(InputFormatError, match=r"starts at event 5 .* at event 0"):
        attach_lhe_weights(chunks[1], _lhe_like(5, first=0), check_first_event=True)
    attach_lhe_weights(chunks[1], _lhe_like(5, first=5), check_first_event=True)
    attach_lhe_weights(chunks[1], _lhe_like(5, first=0))  # a slice keeps stale attrs: no check by default
    clash = ak.zip({"delphes": np.ones(5)})
    with pytest.raises(ValueError, match=r"'delphes' .* already in the Delphes weights"):
        attach_lhe_weights(chunks[0], clash)


# -- run_delphes with a recording fake Delphes ---------------------------------------------------------------
RECORDER = """#!{python}
import json, os, shutil, sys
with open(sys.argv[3], "rb") as handle:
    head = handle.read(4096).decode(errors="replace")
with open(os.environ["FAKE_DELPHES_RECORD"], "w") as out:
    json.dump({{"argv": sys.argv, "env": dict(os.environ), "input_head": head, "cwd": os.getcwd()}}, out)
print("fake Delphes reading", sys.argv[3])
code = int(os.environ.get("FAKE_DELPHES_EXIT", "0"))
if code:
    print("ERROR: something broke", file=sys.stderr)
    sys.exit(code)
if not os.environ.get("FAKE_DELPHES_NO_OUTPUT"):
    shutil.copy(os.environ["FAKE_DELPHES_SOURCE"], sys.argv[2])
"""


@pytest.fixture
def fake_delphes(tmp_path, real, monkeypatch):
    """A directory with recording stand-ins for the Delphes executables; returns (dir, record path)."""
    directory = tmp_path / "Delphes-3.5.0"
    directory.mkdir()
    for name in ("DelphesHepMC2", "DelphesHepMC3", "DelphesSTDHEP", "DelphesLHEF"):
        exe = directory / name
        exe.write_text(RECORDER.format(python=sys.executable))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_DELPHES_RECORD", str(record))
    monkeypatch.setenv("FAKE_DELPHES_SOURCE", str(real))
    (tmp_path / "card.tcl").write_text("set ExecutionPath {}\n")
    return directory, record


def _record(path):
    import json

    return json.loads(path.read_text())


HEPMC2 = "HepMC::Version 2.06.09\nHepMC::IO_GenEvent-START_EVENT_LISTING\nE 0 -1\n"
HEPMC3 = "HepMC::Version 3.02.02\nHepMC::Asciiv3-START_EVENT_LISTING\nE 0 3 5\n"


def test_run_delphes_hepmc2_command_line(fake_delphes, tmp_path):
    directory, record = fake_delphes
    sample = tmp_path / "tag_1_pythia8_events.hepmc"
    sample.write_text(HEPMC2)
    out = run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "out" / "delphes.root")
    assert out == tmp_path / "out" / "delphes.root"
    rec = _record(record)
    assert rec["argv"] == [
        str(directory / "DelphesHepMC2"),
        str(tmp_path / "card.tcl"),
        str(tmp_path / "out" / "delphes.root"),
        str(sample),
    ]
    assert rec["input_head"].startswith("HepMC::Version 2")
    assert len(read_delphes(out)) == 10


def test_run_delphes_gz_hepmc3_with_initial_command_and_log(fake_delphes, tmp_path):
    directory, record = fake_delphes
    sample = tmp_path / "events.hepmc.gz"
    with gzip.open(sample, "wt") as handle:
        handle.write(HEPMC3)
    log = tmp_path / "delphes.log"
    output = tmp_path / "delphes.root"
    run_delphes(
        directory, tmp_path / "card.tcl", sample, output, initial_command="export MY_SETUP=done", log_file=log
    )
    rec = _record(record)
    argv = rec["argv"]
    assert argv[:3] == [str(directory / "DelphesHepMC3"), str(tmp_path / "card.tcl"), str(output)]
    unzipped = Path(argv[3])
    assert unzipped.name == "events.hepmc" and unzipped.parent.parent == tmp_path
    assert rec["input_head"] == HEPMC3  # Delphes saw the unzipped text
    assert not unzipped.exists()  # the temporary copy is gone
    assert rec["env"]["MY_SETUP"] == "done"
    assert "fake Delphes reading" in log.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("delphes-input")) == []


@pytest.mark.parametrize(
    ("name", "exe"),
    [
        ("run.hep", "DelphesSTDHEP"),
        ("run.stdhep", "DelphesSTDHEP"),
        ("run.hepmc3", "DelphesHepMC3"),
        ("run.lhe", "DelphesLHEF"),
    ],
)
def test_run_delphes_picks_executable(fake_delphes, tmp_path, name, exe):
    directory, record = fake_delphes
    sample = tmp_path / name
    sample.write_bytes(b"\x00\x01binary")
    run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "o.root")
    assert _record(record)["argv"] == [
        str(directory / exe),
        str(tmp_path / "card.tcl"),
        str(tmp_path / "o.root"),
        str(sample),
    ]


def test_run_delphes_legacy_hepmc_executable(fake_delphes, tmp_path):
    directory, record = fake_delphes
    (directory / "DelphesHepMC2").rename(directory / "DelphesHepMC")
    sample = tmp_path / "a.hepmc"
    sample.write_text(HEPMC2)
    run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "o.root")
    assert _record(record)["argv"][0] == str(directory / "DelphesHepMC")


def test_run_delphes_failure_names_exit_code_and_log(fake_delphes, tmp_path, monkeypatch):
    directory, _ = fake_delphes
    sample = tmp_path / "a.hepmc"
    sample.write_text(HEPMC2)
    monkeypatch.setenv("FAKE_DELPHES_EXIT", "3")
    log = tmp_path / "fail.log"
    with pytest.raises(DelphesRunError, match=f"exit code 3.*log: {log}") as info:
        run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "o.root", log_file=log)
    assert info.value.returncode == 3 and info.value.log_file == str(log)
    assert "something broke" in str(info.value) and "something broke" in log.read_text()
    with pytest.raises(DelphesRunError, match=r"exit code 3.*no log file") as info:
        run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "o.root")
    assert "something broke" in str(info.value)
    with pytest.raises(DelphesRunError, match="exit code 7"):
        run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "o.root", initial_command="exit 7")


def test_run_delphes_no_output(fake_delphes, tmp_path, monkeypatch):
    directory, _ = fake_delphes
    sample = tmp_path / "a.hepmc"
    sample.write_text(HEPMC2)
    monkeypatch.setenv("FAKE_DELPHES_NO_OUTPUT", "1")
    with pytest.raises(DelphesRunError, match="wrote no"):
        run_delphes(directory, tmp_path / "card.tcl", sample, tmp_path / "o.root")


def test_run_delphes_existing_output_and_bad_arguments(fake_delphes, tmp_path):
    directory, _ = fake_delphes
    sample = tmp_path / "a.hepmc"
    sample.write_text(HEPMC2)
    output = tmp_path / "o.root"
    output.write_text("old")
    with pytest.raises(FileExistsError, match=r"o\.root"):
        run_delphes(directory, tmp_path / "card.tcl", sample, output)
    run_delphes(directory, tmp_path / "card.tcl", sample, output, overwrite=True)
    assert output.read_bytes()[:4] == b"root"
    with pytest.raises(FileNotFoundError, match="card"):
        run_delphes(directory, tmp_path / "nocard.tcl", sample, tmp_path / "p.root")
    with pytest.raises(FileNotFoundError, match="input file"):
        run_delphes(directory, tmp_path / "card.tcl", tmp_path / "none.hepmc", tmp_path / "p.root")
    weird = tmp_path / "a.txt"
    weird.write_text("x")
    with pytest.raises(ValueError, match="cannot tell the format"):
        run_delphes(directory, tmp_path / "card.tcl", weird, tmp_path / "p.root")
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    with pytest.raises(DelphesRunError, match=r"no executable DelphesHepMC2 in .*empty-dir \(found \[\]\)"):
        run_delphes(empty, tmp_path / "card.tcl", sample, tmp_path / "p.root")
    shutil.rmtree(empty)


@pytest.mark.parametrize("span", [(0, 4), (4, 8), (8, 10), (0, 10)])
def test_events_from_nanoevents_equal_read_delphes_bit_for_bit(span):
    from coffea.nanoevents import BaseSchema, NanoEventsFactory

    from columnminer.io.delphes import events_from_nanoevents

    start, stop = span
    delivered = NanoEventsFactory.from_root(
        {str(DELPHES_FILE): "Delphes"},
        schemaclass=BaseSchema,
        mode="virtual",
        entry_start=start,
        entry_stop=stop,
        metadata={"filename": str(DELPHES_FILE), "entrystart": start},
    ).events()
    got = events_from_nanoevents(delivered)
    expected = read_delphes(DELPHES_FILE, entry_start=start, entry_stop=stop)
    assert str(got.type) == str(expected.type)
    assert ak.array_equal(got, expected)
    assert got.attrs["delphes_first_event"] == start and got.attrs["delphes_path"] == str(DELPHES_FILE)


def test_events_from_nanoevents_reads_delphes_schema_collections():
    """DelphesSchema layout: events.Electron.PT, flattened singletons (MissingET, Event)."""
    from columnminer.io.delphes import events_from_nanoevents

    def jagged(values):
        return ak.Array(values)

    electrons = ak.zip(
        {
            "PT": jagged([[20.0, 40.0], []]),
            "Eta": jagged([[0.0, 1.0], []]),
            "Phi": jagged([[0.0, 0.5], []]),
            "Charge": jagged([[1, -1], []]),
        }
    )
    none = ak.zip({k: jagged([[], []]) for k in ("PT", "Eta", "Phi", "Charge")})
    met = ak.zip({"MET": np.array([5.0, 6.0]), "Phi": np.array([0.1, 0.2])})
    event = ak.zip({"Weight": np.array([1.5, 2.5]), "Number": np.array([7, 8])})
    delivered = ak.zip(
        {"Electron": electrons, "Muon": none, "Photon": none, "Jet": none, "MissingET": met, "Event": event},
        depth_limit=1,
    )
    events = events_from_nanoevents(delivered)
    assert events.e.pt.tolist() == [[40.0, 20.0], []] and events.e.pdgid.tolist() == [[11, -11], []]
    assert events.met.pt.tolist() == [5.0, 6.0] and events.weights.delphes.tolist() == [1.5, 2.5]
    assert events.event_number.tolist() == [7, 8]
