"""Golden-channel systematics: the scale model, MadGraph-systematics-style scale weights in the LHE files."""

import gzip
import itertools

import awkward as ak
import numpy as np
import pytest

from columnminer.io.lhe import read_lhe, read_lhe_header, systematic_weights
from columnminer.io.lhe_writer import LHEEvents, LHEInit, WeightGroup, write_lhe
from columnminer.simulators._scales import (
    GGH_SCALES,
    QQZZ_SCALES,
    ScaleModel,
    alpha_s,
    scale_points,
    scale_weight_id,
    scale_weights,
)
from columnminer.simulators.golden import golden_setup, simulate_golden
from columnminer.systematics import Systematic

FACTORS = (0.5, 1.0, 2.0)
BENCHMARKS = golden_setup().benchmark_names


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same run (seed 7) written without and with scale variations."""
    plain = tmp_path_factory.mktemp("plain")
    varied = tmp_path_factory.mktemp("varied")
    kwargs = {"n_background": 200, "seed": 7, "gzip": False}
    simulate_golden(None, 400, plain, **kwargs)
    info = simulate_golden(None, 400, varied, scale_variations=FACTORS, **kwargs)
    return plain, varied, info


def _four_lepton_pt(events, leptons):
    p = events.particles[:, leptons]
    return np.hypot(ak.to_numpy(ak.sum(p.px, axis=1)), ak.to_numpy(ak.sum(p.py, axis=1)))


@pytest.mark.parametrize("sample", ["signal", "background"])
def test_header_has_nominal_and_eight_scale_variations(files, sample):
    """systematic_weights finds the nominal (MUR = MUF = 1) and the 8 other (muR, muF) combinations in an
    envelope group; the benchmark weights stay plain weights."""
    header = read_lhe_header(files[1] / f"{sample}.lhe")
    s = systematic_weights(header)
    assert s.nominal == "mur1_muf1"
    assert s.scale_combine == "envelope"
    assert len(s.scale) == 8
    expected = {p for p in itertools.product(FACTORS, FACTORS) if p != (1.0, 1.0)}
    assert set(s.scale_factors.values()) == expected
    for wid, (k_r, k_f) in s.scale_factors.items():
        assert wid == scale_weight_id(k_r, k_f)
    assert s.pdf == [] and s.other == BENCHMARKS
    group = next(g for g in header.weight_groups if g.name == "Central scale variation")
    assert group.combine == "envelope" and len(group.weight_ids) == 9


def test_mu_mur_muf_pick_different_weights(files):
    """The three scale choices of a Systematic read different weights, with different per-event effects."""
    from columnminer.io.lhe_systematics import variation_weight_ids

    header = read_lhe_header(files[1] / "signal.lhe")
    ids = {
        sc: variation_weight_ids(header, Systematic("s", "scale", scale=sc)) for sc in ("mu", "mur", "muf")
    }
    assert ids["mu"] == {"s_up": "mur2_muf2", "s_down": "mur0p5_muf0p5"}
    assert ids["mur"] == {"s_up": "mur2_muf1", "s_down": "mur0p5_muf1"}
    assert ids["muf"] == {"s_up": "mur1_muf2", "s_down": "mur1_muf0p5"}
    w = read_lhe(files[1] / "signal.lhe").weights
    ups = [ak.to_numpy(w[ids[sc]["s_up"]]) / ak.to_numpy(w.mur1_muf1) for sc in ("mu", "mur", "muf")]
    for a, b in itertools.combinations(ups, 2):
        assert np.max(np.abs(a - b)) > 0.01


@pytest.mark.parametrize(
    ("sample", "leptons", "model"),
    [("signal", slice(5, 9), GGH_SCALES), ("background", slice(4, 8), QQZZ_SCALES)],
)
def test_event_weights_are_model_factors_times_nominal(files, sample, leptons, model):
    """Every varied weight is the nominal (the weight at the sampling benchmark, sm) times the model's factor
    of the four-lepton pT read back from the file (7 printed digits)."""
    events = read_lhe(files[1] / f"{sample}.lhe")
    w = events.weights
    nominal = ak.to_numpy(w.mur1_muf1)
    np.testing.assert_array_equal(nominal, ak.to_numpy(w.sm))
    pt = _four_lepton_pt(events, leptons)
    for k_r, k_f in scale_points(FACTORS):
        got = ak.to_numpy(w[scale_weight_id(k_r, k_f)])
        np.testing.assert_allclose(got, nominal * model.factors(pt, k_r, k_f), rtol=2e-7)


def test_factors_are_one_at_central_scale():
    pt = np.array([0.0, 1.0, 15.0, 80.0, 900.0])
    for model in (GGH_SCALES, QQZZ_SCALES, ScaleModel(mu0=300.0, muf_shape=0.4)):
        np.testing.assert_array_equal(model.factors(pt, 1.0, 1.0), np.ones(5))
        np.testing.assert_array_equal(model.renormalisation(pt, 1.0), np.ones(5))
        np.testing.assert_array_equal(model.factorisation(pt, 1.0), np.ones(5))
    nominal = np.array([1.5, 2.5, 3.5, 4.5, 5.5])
    w = scale_weights(nominal, pt, FACTORS)
    np.testing.assert_array_equal(w["mur1_muf1"], nominal)
    assert list(w) == [scale_weight_id(*p) for p in scale_points(FACTORS)]


def test_documented_sizes():
    """One-loop alpha_s, and the sizes stated in the _scales docstring."""
    a = alpha_s(np.array([91.1876, 62.5, 125.0, 250.0]))
    np.testing.assert_allclose(a, [0.118, 0.1248, 0.1129, 0.1030], atol=5e-5)
    # gluon fusion, renormalisation: (alpha_s ratio)^2 at low pT, ^3 in the tail
    assert GGH_SCALES.factors(0.0, 2.0, 1.0) == pytest.approx(1 - 0.1667, abs=2e-4)
    assert GGH_SCALES.factors(0.0, 0.5, 1.0) == pytest.approx(1 + 0.2222, abs=2e-4)
    assert GGH_SCALES.factors(1e5, 2.0, 1.0) == pytest.approx(1 - 0.2393, abs=2e-4)
    assert GGH_SCALES.factors(1e5, 0.5, 1.0) == pytest.approx(1 + 0.3512, abs=2e-4)
    # factorisation: a shape, k_F^(+-c_F) in the tails, 1 at pT = p0
    assert GGH_SCALES.factors(1e5, 1.0, 2.0) == pytest.approx(2**0.1, rel=1e-6)
    assert GGH_SCALES.factors(0.0, 1.0, 2.0) == pytest.approx(2**-0.1, rel=1e-12)
    assert GGH_SCALES.factors(15.0, 1.0, 2.0) == pytest.approx(1.0, abs=1e-12)
    # background: alpha_s-independent, shape of at most 3.5 %
    pt = np.linspace(0.0, 500.0, 101)
    np.testing.assert_array_equal(QQZZ_SCALES.factors(pt, 2.0, 1.0), np.ones_like(pt))
    assert np.max(np.abs(QQZZ_SCALES.factors(pt, 1.0, 2.0) - 1)) < 0.036
    # averaged over the golden Higgs spectrum: +28.6 % / -20.4 % (mu_R), < 0.2 % (mu_F alone)
    spectrum = np.random.default_rng(0).gamma(1.6, 12.5, 200_000)
    assert GGH_SCALES.factors(spectrum, 0.5, 1.0).mean() == pytest.approx(1.286, abs=3e-3)
    assert GGH_SCALES.factors(spectrum, 2.0, 1.0).mean() == pytest.approx(0.796, abs=3e-3)
    for k in (0.5, 2.0):
        assert abs(GGH_SCALES.factors(spectrum, 1.0, k).mean() - 1) < 2e-3


def test_variations_in_the_files_have_the_documented_size(files):
    """Signal: scale up lowers, scale down raises the cross section by 15-35 %; background within 3.6 %."""
    _, _, info = files
    sig = info["scale_variations"]["signal_cross_section_pb"]
    bkg = info["scale_variations"]["background_cross_section_pb"]
    assert 0.70 < sig["mur2_muf2"] / sig["mur1_muf1"] < 0.85
    assert 1.15 < sig["mur0p5_muf0p5"] / sig["mur1_muf1"] < 1.35
    assert abs(sig["mur1_muf2"] / sig["mur1_muf1"] - 1) < 0.02
    assert all(abs(v / bkg["mur1_muf1"] - 1) < 0.036 for v in bkg.values())
    assert info["cross_section_pb"]["sm"] == pytest.approx(sig["mur1_muf1"], rel=1e-12)


@pytest.mark.parametrize("sample", ["signal", "background"])
def test_default_output_unchanged(files, sample):
    """Without scale_variations no scale group is written; with them, removing the scale group and the scale
    weights gives back the default file byte for byte (same events, weights, header)."""
    plain, varied, _ = files
    text = (plain / f"{sample}.lhe").read_text()
    assert "Central scale variation" not in text and "mur1_muf1" not in text
    header = read_lhe_header(plain / f"{sample}.lhe")
    assert header.weight_ids == BENCHMARKS
    assert systematic_weights(header).nominal is None
    lines, skip = [], False
    for line in (varied / f"{sample}.lhe").read_text().splitlines(keepends=True):
        if line.startswith('<weightgroup name="Central scale variation"'):
            skip = True
        if not skip and not line.startswith("<wgt id='mur"):
            lines.append(line)
        if skip and line.startswith("</weightgroup>"):
            skip = False
    assert "".join(lines) == text


def test_gzip_output_with_scale_weights(tmp_path):
    info = simulate_golden(None, 50, tmp_path, n_background=0, scale_variations=(0.5, 2.0))
    with gzip.open(info["files"]["signal"], "rt") as handle:
        text = handle.read()
    assert text.count("<wgt id='mur") == 50 * 9
    assert len(info["scale_variations"]["points"]) == 9  # factor 1 always added


def test_weight_group_writer_validation(tmp_path):
    """WeightGroup members must be declared weights in one group; attributes must be writable."""
    ev = LHEEvents(
        momenta=np.array([[[5.0, 0, 0, 5], [5.0, 0, 0, -5]]]),
        pdgid=[11, -11],
        status=[1, 1],
        mothers=[[0, 0], [0, 0]],
        colours=[[0, 0], [0, 0]],
        weight=1.0,
        weights={"a": [1.0], "b": [2.0]},
    )
    init = LHEInit([(1.0, 0.0, 1.0, 1)])
    good = WeightGroup("scales", ["b"], "envelope", {"b": {"MUR": "2.0"}})
    path = write_lhe(tmp_path / "x.lhe", ev, init=init, weight_names=["a", "b"], weight_groups=[good])
    header = read_lhe_header(path)
    assert header.weight_ids == ["a", "b"]
    assert [g.name for g in header.weight_groups] == ["mg_reweighting", "scales"]
    assert header.weights[1].attributes["MUR"] == "2.0"
    with pytest.raises(ValueError, match="weight_groups"):
        write_lhe(tmp_path / "y.lhe", ev, init=init, weight_names=["a"], weight_groups=[good])
    with pytest.raises(ValueError, match="weight_groups"):
        write_lhe(tmp_path / "y.lhe", ev, init=init, weight_names=["a", "b"], weight_groups=[good, good])
    bad = WeightGroup("scales", ["b"], attributes={"b": {"MUR": 'x"y'}})
    with pytest.raises(ValueError, match="cannot be written"):
        write_lhe(tmp_path / "y.lhe", ev, init=init, weight_names=["a", "b"], weight_groups=[bad])
    # all weights grouped: no empty default group
    path = write_lhe(
        tmp_path / "z.lhe",
        ev,
        init=init,
        weight_names=["a", "b"],
        weight_groups=[WeightGroup("g", ["a", "b"])],
    )
    assert [g.name for g in read_lhe_header(path).weight_groups] == ["g"]
