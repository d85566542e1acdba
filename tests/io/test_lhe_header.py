"""LHE header parsing, weight normalisation, benchmark weights and systematic-variation groups."""

import re

import awkward as ak
import numpy as np
import pytest

from columnminer.errors import MissingWeightError
from columnminer.io.lhe import (
    benchmark_weight_ids,
    benchmark_weights,
    normalize_weights,
    read_lhe,
    read_lhe_header,
    systematic_weights,
    weight_scale_factor,
)


def test_madgraph_358_header(lhe_file):
    h = read_lhe_header(lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz"))
    assert h.version == "3.0"
    assert h.beam_ids == (2212, 2212)
    assert h.beam_energies == (6500.0, 6500.0)
    assert h.pdf_groups == (0, 0) and h.pdf_sets == (247000, 247000)
    assert h.weighting_strategy == -4
    assert len(h.processes) == 1
    proc = h.processes[0]
    assert (proc.xsec, proc.error, proc.max_weight, proc.process_id) == (
        6.996707e08,
        4.219275e06,
        6.996707e08,
        1,
    )
    assert h.xsec == 6.996707e08
    assert h.nevents == 1000 and h.event_norm == "average"
    assert (h.generator.name, h.generator.version) == ("MadGraph5_aMC@NLO", "3.5.8")
    assert h.weight_ids == [str(i) for i in range(1, 146)]
    w = h.weights[1]
    assert w.attributes["DYN_SCALE"] == "1" and w.attributes["MUR"] == "0.5"
    assert w.description == "MUR=0.5 MUF=0.5 dyn_scale_choice=sum pt"
    assert [g.name for g in h.weight_groups] == ["Central scale variation", "NNPDF23_lo_as_0130_qed"]
    assert [g.combine for g in h.weight_groups] == ["envelope", "replicas"]
    assert len(h.weight_groups[0].weight_ids) == 44 and len(h.weight_groups[1].weight_ids) == 101


@pytest.mark.parametrize(
    ("name", "generator", "version", "n_weights", "n_proc"),
    [
        ("testfile-madgraph-2.2.1-Z-mlm.lhe.gz", "MadGraph5_aMC@NLO", "2.2.1", 0, 3),
        ("testfile-madgraph-2.0.0-wbj.lhe", "MadGraph5_aMC@NLO", "2.0.0.beta4", 9, 1),
        ("testlhef3.lhe", "MadGraph5_aMC@NLO", "2.0.0.beta4", 9, 1),
        ("testfile-powheg-box-v2-W.lhe", "POWHEG-BOX", "V2", 1, 1),
        ("testfile-powheg-box-v2-Z.lhe", "POWHEG-BOX", "V2", 0, 1),
        ("testfile-pythia-8.3.14-weakbosons.lhe", "Pythia8", None, 0, 1),
        ("testfile-whizard-3.1.4-eeWW.lhe", "WHIZARD", "3.1.6", 0, 1),
        ("testfile-pr180.lhe", "MadGraph5_aMC@NLO", "3.4.2", 0, 1),
        ("testfile-pr29.lhe", "GiBUU", None, 0, 0),
    ],
)
def test_generators_weights_and_processes(lhe_file, name, generator, version, n_weights, n_proc):
    h = read_lhe_header(lhe_file(name))
    assert (h.generator.name, h.generator.version) == (generator, version)
    assert len(h.weights) == n_weights
    assert len(h.processes) == n_proc


def test_lhef3_generator_tags_and_init_details(lhe_file):
    h = read_lhe_header(lhe_file("testlhef3.lhe"))
    names = [(g.name, g.version) for g in h.generators]
    assert names[1:] == [("SomeGen1", "1.2.3"), ("SomeGen2", "a.x.3"), ("SomeGen3", "+.#.@")]
    assert h.processes[0].process_id == 66
    assert h.weight_groups[0].name == "scale_variation"  # from type= when there is no name=
    assert h.weights[0].description == "muR=0.10000E+01 muF=0.10000E+01"
    z = read_lhe_header(lhe_file("testfile-madgraph-2.2.1-Z-mlm.lhe.gz"))
    assert z.event_norm is None and z.nevents == 10000
    assert z.xsec == pytest.approx(0.60733273992e3 + 0.10785969890e4 + 0.20649062749e4)
    w = read_lhe_header(lhe_file("testfile-whizard-3.1.4-eeWW.lhe"))
    assert w.beam_ids == (-11, 11) and w.beam_energies == (250.0, 250.0)


def test_weight_normalisation(lhe_file):
    path = lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")
    h = read_lhe_header(path)
    assert weight_scale_factor(h, n_events=1000) == pytest.approx(1e-3)
    assert weight_scale_factor(h, n_events=1000, event_norm="sum") == 1.0
    events = read_lhe(path, normalize=True)
    raw = read_lhe(path)
    assert ak.sum(events.weight) == pytest.approx(ak.sum(raw.weight) / 1000)
    # MadGraph "average": each weight estimates the cross section, so the normalised sum is sigma
    assert ak.sum(events.weight) == pytest.approx(h.xsec, rel=1e-6)
    np.testing.assert_allclose(ak.to_numpy(events.weights["45"]), ak.to_numpy(raw.weights["45"]) / 1000)
    scaled = normalize_weights(raw, 2.0)
    assert ak.all(scaled.weights["3"] == 2 * raw.weights["3"])
    # files without a run card: LHEF's IDWTUP decides (POWHEG -4: average; Pythia 3: unit weights)
    pw = lhe_file("testfile-powheg-box-v2-W.lhe")
    assert ak.sum(read_lhe(pw, normalize=True).weight) == pytest.approx(read_lhe_header(pw).xsec, rel=0.05)
    py = lhe_file("testfile-pythia-8.3.14-weakbosons.lhe")
    assert ak.sum(read_lhe(py, normalize=True).weight) == pytest.approx(read_lhe_header(py).xsec)
    with pytest.raises(ValueError, match="event_norm"):
        weight_scale_factor(h, n_events=10, event_norm="bogus")


def test_systematic_groups_from_attributes(lhe_file):
    s = systematic_weights(read_lhe_header(lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")))
    assert s.nominal == "45"
    assert s.scale == [str(i) for i in range(1, 45)]
    assert s.pdf == [str(i) for i in range(46, 146)]
    assert s.scale_factors["1"] == (0.5, 0.5) and s.scale_factors["35"] == (2.0, 1.0)
    assert s.pdf_members["46"] == 247001 and s.pdf_members["145"] == 247100
    assert (s.scale_combine, s.pdf_combine) == ("envelope", "replicas")
    # LHEF 3 without attributes: muR / muF read from the descriptions
    t = systematic_weights(read_lhe_header(lhe_file("testlhef3.lhe")))
    assert t.nominal == "1001" and t.pdf == []
    assert t.scale == [str(i) for i in range(1002, 1010)]
    assert t.scale_factors["1002"] == (1.0, 2.0) and t.scale_factors["1009"] == (0.5, 0.5)
    p = systematic_weights(read_lhe_header(lhe_file("testfile-powheg-box-v2-W.lhe")))
    assert p.nominal == "ct10" and p.scale == [] and p.pdf == []


def test_benchmark_weights_and_missing_weights(lhe_file, tmp_path):
    path = lhe_file("testlhef3.lhe")
    events = read_lhe(path)
    w = benchmark_weights(events, ["1001", "1005"])
    assert w.shape == (59, 2) and w.dtype == np.float64
    np.testing.assert_array_equal(w[:, 1], ak.to_numpy(events.weights["1005"]))
    mapped = benchmark_weights(events, ["sm", "up"], {"sm": "1001", "up": "1004"})
    np.testing.assert_array_equal(mapped, benchmark_weights(events.weights, ["1001", "1004"]))
    with pytest.raises(MissingWeightError, match="'nope'") as err:
        benchmark_weights(events, ["1001", "nope"])
    assert err.value.path.endswith("testlhef3.lhe") and err.value.field == "nope"
    # an event without one of the weights: the error names that event (index within the file)
    src = path.read_bytes()
    k = [m.start() for m in re.finditer(rb"<event", src)][7]
    end = src.index(b"</event>", k)
    cut = src[:k] + re.sub(rb'<wgt id="1003">[^<]*</wgt>', b"", src[k:end]) + src[end:]
    assert cut != src
    bad = tmp_path / "lacking.lhe"
    bad.write_bytes(cut)
    with pytest.raises(MissingWeightError, match="event 7") as err:
        benchmark_weights(read_lhe(bad), ["1001", "1003"])
    assert err.value.event == 7 and err.value.field == "1003" and str(bad) in str(err.value)


def test_benchmark_ids_checked_against_the_header(lhe_file):
    h = read_lhe_header(lhe_file("testlhef3.lhe"))
    assert benchmark_weight_ids(h, ["a", "1002"], {"a": "1009"}) == ["1009", "1002"]
    with pytest.raises(MissingWeightError, match="'rwgt_7'") as err:
        benchmark_weight_ids(h, ["sm"], {"sm": "rwgt_7"})
    assert err.value.path == h.path and err.value.event == 0 and "testlhef3.lhe" in str(err.value)
