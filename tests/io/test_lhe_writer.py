"""The streaming LHE writer: MadGraph layout, printed precision, gzip, chunking, failures, readers."""

import gzip
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from columnminer.io.lhe_writer import LHEEvents, LHEInit, madgraph_run_card, write_lhe


def _events(n, seed=0, weights=("sm", "bsm")):
    """n random 2 -> 2 events (massless e- e+ -> mu- mu+ like) with two named weights."""
    rng = np.random.default_rng(seed)
    energy = rng.uniform(20, 200, n)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    p = np.zeros((n, 4, 4))
    p[:, 0] = np.stack([energy, 0 * energy, 0 * energy, energy], 1)
    p[:, 1] = np.stack([energy, 0 * energy, 0 * energy, -energy], 1)
    p[:, 2, 0], p[:, 2, 1:] = energy, energy[:, None] * direction
    p[:, 3, 0], p[:, 3, 1:] = energy, -energy[:, None] * direction
    w = {name: rng.uniform(0.1, 2.0, n) * 10.0 ** rng.integers(-5, 5, n) for name in weights}
    return LHEEvents(
        momenta=p,
        pdgid=[11, -11, 13, -13],
        status=[-1, -1, 1, 1],
        mothers=[[0, 0], [0, 0], [1, 2], [1, 2]],
        colours=[[0, 0]] * 4,
        weight=w[weights[0]] if weights else 1.0,
        weights=w,
        scale=2 * energy,
    )


def test_format_matches_madgraph_and_parses_as_xml(tmp_path):
    """Event and particle lines have MadGraph 3.5.8's column layout; the run card carries the lines MadMiner
    parses (' N = nevents ! ...', ' average = event_norm ! ...'); the whole file is well-formed XML (MadMiner
    parses it with ElementTree)."""
    ev = _events(3)
    path = write_lhe(tmp_path / "a.lhe", ev, init=LHEInit([(1.5, 0.1, 1.5, 1)]), weight_names=["sm", "bsm"])
    text = path.read_text()
    root = ET.fromstring(text)
    assert root.tag == "LesHouchesEvents" and len(root.findall("event")) == 3
    run_card = root.find("header").find("MGRunCard").text
    assert "  3 = nevents ! Number of unweighted events requested" in run_card
    assert "  average = event_norm ! average/sum. Normalization of the weight in the LHEF" in run_card
    ids = [w.attrib["id"] for w in root.find("header").find("initrwgt").iter("weight")]
    assert ids == ["sm", "bsm"]
    event = root.findall("event")[0].text.splitlines()
    head = event[1]
    assert head.startswith(" 4      1 +") and len(head.split()) == 6
    particle = event[2]
    assert particle.startswith("       11 -1    0    0    0    0 +")
    assert len(particle.split()) == 13
    init = root.find("init").text.split("\n")
    assert init[1] == "2212 2212 6.500000e+03 6.500000e+03 0 0 0 0 -4 1"
    assert init[2].split()[:2] == ["1.500000e+00", "1.000000e-01"]
    assert "<wgt id='bsm'> +" in text
    assert "nevents" in madgraph_run_card(5) and "event_norm" in madgraph_run_card(5, "sum")


def test_round_trip_through_columnminer_reader(tmp_path):
    """Momenta come back to the printed 11 significant digits and weights to the printed 8, through
    columnminer.io.lhe.read_lhe, for a gzip file written in several chunks from two blocks."""
    from columnminer.io.lhe import read_lhe

    a, b = _events(700, seed=1), _events(300, seed=2)
    path = write_lhe(
        tmp_path / "b.lhe.gz",
        iter([a, b]),
        init=LHEInit([(1.0, 0.0, 1.0, 1)]),
        weight_names=["sm", "bsm"],
        n_events=1000,
        chunk_size=128,
    )
    with gzip.open(path, "rt") as handle:
        assert handle.readline().startswith("<LesHouchesEvents")
    events = read_lhe(path)
    assert len(events) == 1000
    expected = np.concatenate([a.momenta, b.momenta])
    got = np.stack([np.asarray(events.particles[f]) for f in ("e", "px", "py", "pz")], axis=-1)
    assert np.allclose(got, expected, rtol=1e-10, atol=1e-12)
    for name in ("sm", "bsm"):
        want = np.concatenate([a.weights[name], b.weights[name]])
        assert np.allclose(np.asarray(events.weights[name]), want, rtol=6e-8, atol=0)
    assert np.array_equal(np.asarray(events.particles.id[0]), [11, -11, 13, -13])
    assert np.allclose(np.asarray(events.scale), np.concatenate([a.scale, b.scale]), rtol=1e-8)


def test_round_trip_through_pylhe(tmp_path):
    """pylhe (LHEFile API) reads the same numbers: init block, per-event weights, momenta."""
    pylhe = pytest.importorskip("pylhe")
    ev = _events(50, seed=3)
    path = write_lhe(tmp_path / "c.lhe", ev, init=LHEInit([(2.5, 0.2, 2.5, 7)]), weight_names=["sm", "bsm"])
    lhe_file = pylhe.LHEFile.fromfile(str(path))
    assert lhe_file.init.procInfo[0].xSection == pytest.approx(2.5)
    assert lhe_file.init.procInfo[0].procId == 7
    parsed = list(lhe_file.events)
    assert len(parsed) == 50
    for i in (0, 17, 49):
        assert parsed[i].weights["bsm"] == pytest.approx(ev.weights["bsm"][i], rel=6e-8)
        assert parsed[i].particles[2].px == pytest.approx(ev.momenta[i, 2, 1], rel=1e-10, abs=1e-12)
        assert parsed[i].eventinfo.weight == pytest.approx(ev.weights["sm"][i], rel=6e-8)


def test_failures_leave_no_file(tmp_path):
    """Missing weights, bad weight ids, unknown event_norm raise ValueError and leave neither the target nor
    a temporary file behind; an existing file is not replaced by a failed write."""
    target = tmp_path / "d.lhe"
    target.write_text("keep me")
    with pytest.raises(ValueError, match="lack the weights"):
        write_lhe(target, _events(5), init=LHEInit([(1.0, 0.0, 1.0, 1)]), weight_names=["sm", "other"])
    assert target.read_text() == "keep me"
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="weight id"):
        write_lhe(tmp_path / "e.lhe", _events(2), init=LHEInit([(1.0, 0.0, 1.0, 1)]), weight_names=["a'b"])
    with pytest.raises(ValueError, match="event_norm"):
        write_lhe(tmp_path / "f.lhe", _events(2), init=LHEInit([(1, 0, 1, 1)]), event_norm="mean")
    with pytest.raises(ValueError, match="n_events"):
        write_lhe(tmp_path / "g.lhe", iter([_events(2)]), init=LHEInit([(1, 0, 1, 1)]))
    assert not (tmp_path / "e.lhe").exists() and not (tmp_path / "f.lhe").exists()


def test_per_event_particle_columns_and_masses(tmp_path):
    """pdg ids given per event ([n, k]) are written per event; masses default to the invariant mass (zero for
    massless momenta) and can be given explicitly."""
    ev = _events(4, weights=())
    ev.pdgid = np.array([[11, -11, 13, -13], [11, -11, 15, -15], [11, -11, 13, -13], [11, -11, 1, -1]])
    ev.masses = np.tile([0.0, 0.0, 1.777, 1.777], (4, 1))
    path = write_lhe(tmp_path / "h.lhe", ev, init=LHEInit([(1.0, 0.0, 1.0, 1)]))
    root = ET.parse(path).getroot()
    lines = root.findall("event")[1].text.splitlines()
    assert lines[4].split()[0] == "15" and lines[5].split()[0] == "-15"
    assert float(lines[5].split()[10]) == pytest.approx(1.777) and float(lines[2].split()[10]) == 0.0
    assert root.find("header").find("initrwgt") is None


def test_text_is_that_of_python_percent_and_gzip_bytes_are_reproducible(tmp_path):
    """The numba formatter writes exactly ``format % values`` event by event (the text of the former writer);
    a gzip file's bytes depend on the events, chunk_size and level only (not on threads or the time)."""
    from columnminer.io.lhe_writer import _event_format

    ev = _events(257, seed=4)
    ev.weights["sm"][3] = np.nan  # a value the kernel leaves to Python
    init = LHEInit([(1.0, 0.0, 1.0, 1)])
    plain = write_lhe(
        tmp_path / "p.lhe", ev, init=init, weight_names=["sm", "bsm"], chunk_size=50
    ).read_bytes()
    fmt = _event_format(4, ["sm", "bsm"], 7)
    rows = ev.columns(0, 257, ["sm", "bsm"]).tolist()
    events = "".join(fmt % tuple(row) for row in rows).encode()
    assert plain[plain.index(b"<event>") : plain.index(b"</LesHouchesEvents>")] == events
    packed = [
        write_lhe(
            tmp_path / f"{k}.lhe.gz", ev, init=init, weight_names=["sm", "bsm"], chunk_size=50, threads=k
        )
        for k in (1, 2, 2)
    ]
    raw = [p.read_bytes() for p in packed]
    assert raw[0] == raw[1] == raw[2]
    assert gzip.decompress(raw[0]) == plain
    other = write_lhe(tmp_path / "c.lhe.gz", ev, init=init, weight_names=["sm", "bsm"], chunk_size=64)
    assert gzip.decompress(other.read_bytes()) == plain
