"""Systematics through analyse_samples into stores, against hand-computed numbers: the sampling benchmark read
from the event weight XWGTUP, and a PDF error set (CT10) other than the generation PDF (nn23lo1) measured
against its own central member (MadMiner's tutorial: ``--pdf=CT10`` with ``pdlabel = nn23lo1``)."""

import math

import awkward as ak
import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.errors import MissingWeightError
from columnminer.io.lhe import (
    benchmark_weight_ids,
    benchmark_weights,
    pdf_systematic,
    read_lhe,
    read_lhe_header,
)
from columnminer.io.lhe_writer import LHEEvents, LHEInit, WeightGroup, write_lhe
from columnminer.io.store import EventStore
from columnminer.nuisances import cross_sections_with_nuisances, nuisance_log_variations
from columnminer.processors.morphed import MorphedWeights
from columnminer.samples import Sample, analyse_samples, plan_samples

#: generation weights XWGTUP (pb), one negative; "w" is the reweighted benchmark
W0 = np.array([1.5, -0.5, 2.0, 3.0])
W_BENCHMARK = np.array([3.0, -1.0, 1.0, 6.0])
#: the CT10 central member relative to the generation PDF: not 1, so measuring against w0 would be wrong
CENTRAL = np.array([1.25, 1.25, 0.75, 1.5])
#: CT10 members relative to the CT10 central member: two Hessian pairs (+, -), then two alpha_s members
MEMBERS = np.array(
    [
        [1.05, 0.97, 1.02, 0.99, 1.1, 0.9],
        [1.05, 0.95, 0.98, 1.01, 1.1, 0.9],
        [1.1, 0.9, 1.0, 1.0, 1.1, 0.9],
        [0.96, 1.04, 1.03, 0.98, 1.1, 0.9],
    ]
)
#: scale weights (MUR = MUF = 2 and 0.5) relative to w0
SCALES = np.array([[1.2, 0.9], [1.5, 0.8], [1.1, 0.95], [0.9, 1.1]])
PDF_IDS = ["10", "11", "12", "13", "14", "15", "16"]


def write_ct10_sample(path):
    """Four e+e- events generated with nn23lo1 (LHAPDF 247000), reweighted to "w", with MadGraph-systematics
    scale weights and a CT10 (11000) "hessian+as" error set written as MadGraph writes it for ``--pdf=CT10``."""
    n = len(W0)
    momenta = np.zeros((n, 2, 4))
    momenta[:, 0] = [[50.0, 30.0, 0.0, 40.0]]
    momenta[:, 1] = [[50.0, -30.0, 0.0, -40.0]]
    weights = {"w": W_BENCHMARK, "mu_2": W0 * SCALES[:, 0], "mu_05": W0 * SCALES[:, 1]}
    central = W0 * CENTRAL
    weights["10"] = central
    weights |= {wid: central * MEMBERS[:, k] for k, wid in enumerate(PDF_IDS[1:])}
    scales = WeightGroup(
        "Central scale variation",
        ["mu_2", "mu_05"],
        "envelope",
        {
            "mu_2": {"MUR": "2.0", "MUF": "2.0", "PDF": "247000"},
            "mu_05": {"MUR": "0.5", "MUF": "0.5", "PDF": "247000"},
        },
    )
    ct10 = WeightGroup(
        "CT10",
        PDF_IDS,
        "hessian+as",
        {wid: {"MUR": "1.0", "MUF": "1.0", "PDF": str(11000 + k)} for k, wid in enumerate(PDF_IDS)},
    )
    events = LHEEvents(
        momenta=momenta,
        pdgid=[11, -11],
        status=[1, 1],
        mothers=[[0, 0], [0, 0]],
        colours=[[0, 0], [0, 0]],
        weight=W0,
        weights=weights,
    )
    init = LHEInit([(float(W0.mean()), 0.0, 3.0, 1)], pdf_groups=(0, 0), pdf_sets=(247000, 247000))
    return write_lhe(
        path,
        events,
        init=init,
        weight_names=["w", "mu_2", "mu_05", *PDF_IDS],
        weight_groups=[scales, ct10],
    )


def ct10_setup(path):
    setup = AnalysisSetup()
    setup.add_parameter("LHA", 1, name="c", morphing_max_power=1, parameter_range=(-1, 1))
    setup.add_benchmark([0.0], "sm")
    setup.add_benchmark([1.0], "w")
    setup.add_systematics("scale", "mu")
    setup.add_systematics("pdf", **pdf_systematic(path, pdf_variation="CT10"))
    return setup


def energy_analysis():
    analysis = Analysis()
    analysis.add_observable("e1", lambda ev: ev.particles.E[:, 0])
    return analysis


@pytest.fixture
def ct10_store(tmp_path):
    path = str(write_ct10_sample(tmp_path / "ct10.lhe"))
    setup = ct10_setup(path)
    analysis = energy_analysis()
    store = EventStore.create(str(tmp_path / "s.zarr"), setup, analysis.observable_names)
    sample = Sample(path, "sm", weight_mapping={"sm": "XWGTUP"}, systematics=["mu", "pdf"])
    analyse_samples([sample], analysis, store, progress=False)
    return path, sample, store


def test_sampling_benchmark_column_is_the_event_weight_xwgtup(ct10_store):
    _, _, store = ct10_store
    n = len(W0)  # event_norm average: factor 1 / n
    np.testing.assert_allclose(store.read("weights"), np.stack([W0, W_BENCHMARK], axis=1) / n, rtol=1e-14)


def test_pdf_set_other_than_the_generation_pdf_against_hand_computed_coefficients(ct10_store):
    path, sample, store = ct10_store
    assert store.setup.systematics[1].pdf_members == 4  # the two alpha_s members are no error members
    (planned,), _ = plan_samples([sample], store.setup)
    assert planned.nuisance == (
        ("mu_up", "weight", "mu_2"),
        ("mu_down", "weight", "mu_05"),
        ("pdf_member_1", "pdf", ("11", "10")),
        ("pdf_member_2", "pdf", ("12", "10")),
        ("pdf_member_3", "pdf", ("13", "10")),
        ("pdf_member_4", "pdf", ("14", "10")),
    )
    # by hand: scale a = ln(up / down) / 2, b = ln(up down) / 2 against w0; each CT10 pair (+, -) against the
    # CT10 central member: a = ln(f+ / f-) / 2, b = ln(f+ f-) / 2 with f = w_member / w_central
    up, down = SCALES[:, 0], SCALES[:, 1]
    hand_a = [[0.5 * math.log(u / d)] for u, d in zip(up, down, strict=True)]
    hand_b = [[0.5 * math.log(u * d)] for u, d in zip(up, down, strict=True)]
    for j in range(2):
        plus, minus = MEMBERS[:, 2 * j], MEMBERS[:, 2 * j + 1]
        for row, (p, m) in enumerate(zip(plus, minus, strict=True)):
            hand_a[row].append(0.5 * math.log(p / m))
            hand_b[row].append(0.5 * math.log(p * m))
    a, b = store.setup.nuisance_model().coefficients(nuisance_log_variations(store))
    np.testing.assert_allclose(a, hand_a, rtol=1e-6, atol=1e-12)  # weights are written with 8 digits
    np.testing.assert_allclose(b, hand_b, rtol=1e-6, atol=1e-8)
    # measured against w0 instead (before), ln(w_central / w0) entered b of every pair
    lhe = read_lhe(path)
    naive = np.log(ak.to_numpy(lhe.weights["11"]) / W0) + np.log(ak.to_numpy(lhe.weights["12"]) / W0)
    np.testing.assert_allclose(0.5 * naive - b[:, 1], np.log(CENTRAL), rtol=1e-6)


def test_cross_sections_at_plus_minus_one_sigma_are_the_member_cross_sections(ct10_store):
    """exp(+-a + b) = f+- exactly: sigma(nu_j = +-1) / sigma(0) = sum w0 f+- / sum w0 (negative weight included)."""
    _, _, store = ct10_store
    nus = [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
    sigma = cross_sections_with_nuisances(store, "sm", nus)[0]
    expected = [W0.sum()]
    for columns in (SCALES, MEMBERS[:, :2], MEMBERS[:, 2:4]):
        expected += [W0 @ columns[:, 0], W0 @ columns[:, 1]]
    np.testing.assert_allclose(sigma, np.array(expected) / len(W0), rtol=1e-6)


def test_benchmark_weights_read_xwgtup_unless_the_file_declares_it(tmp_path):
    path = write_ct10_sample(tmp_path / "ct10.lhe")
    events = read_lhe(path)
    np.testing.assert_array_equal(benchmark_weights(events, ["sm", "w"], {"sm": "XWGTUP"})[:, 0], W0)
    # given explicitly (Delphes events carry the LHE weights but not XWGTUP)
    got = benchmark_weights(events.weights, ["sm"], {"sm": "XWGTUP"}, nominal=2 * W0)
    np.testing.assert_array_equal(got[:, 0], 2 * W0)
    with pytest.raises(MissingWeightError, match="XWGTUP"):
        benchmark_weights(events.weights, ["sm"], {"sm": "XWGTUP"})  # a bare weights record has no XWGTUP
    declared = ak.with_field(events, ak.with_field(events.weights, 7 * W0, "XWGTUP"), "weights")
    np.testing.assert_array_equal(benchmark_weights(declared, ["sm"], {"sm": "XWGTUP"})[:, 0], 7 * W0)
    assert benchmark_weight_ids(read_lhe_header(path), ["sm", "w"], {"sm": "XWGTUP"}) == ["XWGTUP", "w"]


def test_morphed_weights_read_the_sampling_benchmark_from_xwgtup(tmp_path):
    path = str(write_ct10_sample(tmp_path / "ct10.lhe"))
    morphed = MorphedWeights(ct10_setup(path), ["sm", "w"], {"d.root": path}, weight_mapping={"sm": "XWGTUP"})
    events = ak.Array(
        [{"x": 1}] * 3, attrs={"coffea_metadata": {"filename": "d.root", "entrystart": 1, "entrystop": 4}}
    )
    expected = np.stack([W0, W_BENCHMARK], axis=1)[1:4] / len(W0)
    np.testing.assert_allclose(morphed(events), expected, rtol=1e-14)


def test_replica_components_give_lhapdf_replica_standard_deviation():
    """One event, four replicas with L = (0.3, -0.1, 0.1, -0.3): LHAPDF's replica standard deviation is
    sqrt(sum (L - mean)^2 / (R - 1)) = sqrt(0.2 / 3) = 0.2582 (1/R gave sqrt(0.2 / 4) = 0.2236)."""
    from columnminer.nuisances import fit_replica_components

    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta")
    setup.add_benchmark([0.0], name="sm")
    setup.add_systematics("pdf", "nnpdf", pdf_variation="NNPDF", pdf_members=4, pdf_kind="replicas")
    store = EventStore.create("memory://test-replica-std", setup, ["x"])
    logs = np.array([[0.3, -0.1, 0.1, -0.3]])
    store.append(np.zeros((1, 1)), np.full((1, 1), 2.0), 0, nuisance_weights=2.0 * np.exp(logs))
    fitted = fit_replica_components(store, "nnpdf")
    assert fitted.n_components == 1
    setup.replace_systematic(fitted)
    a, b = setup.nuisance_model().coefficients(logs)
    assert abs(a[0, 0]) == pytest.approx(math.sqrt(0.2 / 3), rel=1e-12)
    assert b[0, 0] == 0.0


def test_histogram_nll_keeps_both_sides_of_an_asymmetric_scale_variation_like_the_binned_profile():
    """A scale variation up x(1.3 + 0.1 x), down x0.95 (not the mirror 1/1.3 of the up side): histogram_nll with
    up and down modifiers gives the down yields at eta = -1 and the same profiled likelihood as
    profile_binned_likelihood; up-only modifiers (log-linear, the former behaviour) do not."""
    from columnminer.demo import golden_channel_setup
    from columnminer.inference.binned import binned_weights
    from columnminer.inference.likelihood import histogram_nll, profile_log_likelihood
    from columnminer.inference.systematic_bins import binned_variations, profile_binned_likelihood

    rng = np.random.default_rng(11)
    setup = golden_channel_setup()
    setup.add_systematics("scale", "mu")
    n = 400
    x = rng.uniform(-1.0, 1.0, n)
    weights = np.ones((n, len(setup.benchmark_names))) / n  # 1 pb, the same at every benchmark
    nuisance = weights[:, :1] * np.stack([1.3 + 0.1 * x, np.full(n, 0.95)], axis=1)
    store = EventStore.create("memory://test-asymmetric-scale", setup, ["x"])
    store.append(x[:, None], weights, 0, nuisance_weights=nuisance)
    edges, lumi = [-1.0, 0.0, 1.0], 500.0
    binned = binned_weights(store, "x", edges)
    variations = binned_variations(store, "x", edges)
    nominal, up, down = (a[0] for a in variations.cross_sections("sm"))  # [K], [N, K], [N, K] (pb)
    delta_up, delta_down = up / nominal - 1.0, down / nominal - 1.0
    counts = np.array([130.0, 110.0])
    nll = histogram_nll(
        binned, counts, lumi, modifiers=delta_up, modifier_names=["mu"], down_modifiers=delta_down
    )

    def poisson_nll(mu, eta):
        return float(np.sum(mu - counts * np.log(mu)) + 0.5 * eta**2)

    for eta, yields in ((1.0, up[0]), (-1.0, down[0]), (0.0, nominal)):
        assert nll([0.0, 0.0, eta])[0] == pytest.approx(poisson_nll(lumi * yields, eta), rel=1e-12)
    np.testing.assert_allclose(down[0], 0.95 * nominal, rtol=1e-12)
    # the profile over eta agrees with profile_binned_likelihood's exponential-quadratic interpolation
    expected, alpha, beta = variations.interpolation("sm")
    value, nu_hat, _ = profile_binned_likelihood(lumi * expected, counts, alpha, beta)
    scan = profile_log_likelihood(nll, [0, 1], thetas=[[0.0, 0.0]])
    assert scan.other_values[0, 0] == pytest.approx(nu_hat[0, 0], abs=1e-5)
    assert nll([0.0, 0.0, nu_hat[0, 0]])[0] == pytest.approx(-value[0], rel=1e-12)
    # up-only modifiers mirror the up side: at eta = -1 the yields are nominal / 1.3..., not 0.95 nominal
    mirrored = histogram_nll(binned, counts, lumi, modifiers=delta_up)
    assert mirrored([0.0, 0.0, -1.0])[0] != pytest.approx(poisson_nll(lumi * down[0], -1.0), rel=1e-3)
