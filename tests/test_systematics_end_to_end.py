"""Systematics end to end: golden-channel LHE with scale weights -> store with nuisance weights -> profiled
likelihoods whose widening has a known answer."""

import numpy as np
import pytest

from columnminer.analysis import Analysis
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.inference import binned_nuisance_modifiers, binned_weights, histogram_nll
from columnminer.inference.likelihood import profile_log_likelihood
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.simulators.golden import golden_setup, simulate_golden

NORM = 1.05  # the luminosity-like normalisation at +1 sigma


@pytest.fixture(scope="module")
def golden_with_systematics(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden_systematics")
    setup = golden_setup(n_trials=20)
    setup.add_systematics("norm", "lumi", norm_variation=NORM)
    setup.add_systematics("scale", "mu", scale="mu", scale_variations=(0.5, 1.0, 2.0))
    info = simulate_golden(setup, 3000, out, n_background=1000, seed=8, scale_variations=(0.5, 1.0, 2.0))
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(out / "store.zarr"), setup, analysis.observable_names, chunk_size=1500)
    samples = [
        Sample(info["files"]["signal"], sampled_from_benchmark="sm", systematics=["lumi", "mu"]),
        Sample(info["files"]["background"], is_background=True, systematics=["lumi"]),
    ]
    analyse_samples(samples, analysis, store, progress=False)
    return store


def test_nuisance_weights_come_from_the_lhe_file(golden_with_systematics):
    store = golden_with_systematics
    assert store.nuisance_benchmark_names == ["lumi", "mu_up", "mu_down"]
    weights, nuisance = store.read("weights"), store.read("nuisance_weights")
    sampled_from = store.read("sampled_from")
    nominal = np.where(
        sampled_from >= 0, weights[np.arange(len(weights)), np.maximum(sampled_from, 0)], weights[:, 0]
    )
    np.testing.assert_allclose(nuisance[:, 0], NORM * nominal, rtol=1e-6)
    signal = sampled_from >= 0
    # the scale variations move the signal weights by O(10 %), in opposite directions
    up, down = nuisance[signal, 1] / nominal[signal], nuisance[signal, 2] / nominal[signal]
    assert 0.02 < abs(np.mean(up) - 1.0) < 0.5 and 0.02 < abs(np.mean(down) - 1.0) < 0.5
    assert np.sign(np.mean(up) - 1.0) == -np.sign(np.mean(down) - 1.0)


def test_profiled_rate_limits_widen_by_the_known_factor(golden_with_systematics):
    """One bin (the total rate), the normalisation nuisance only: for log-linear yields nu e^{k eta} with
    k = log(1.05) and a N(0, 1) constraint, q_profiled = q / (1 + N k^2) to second order."""
    store = golden_with_systematics
    binned = binned_weights(store, "m4l", [0.0, 1.0])  # every event flows into the single bin
    modifiers = binned_nuisance_modifiers(store, "m4l", [0.0, 1.0], [0.0, 0.0])
    np.testing.assert_allclose(modifiers[0], NORM - 1.0, rtol=1e-6)
    n_expected = binned.cross_sections([0.0, 0.0])[0].sum()
    k = np.log(NORM)
    luminosity = 1.0 / (k**2 * n_expected)  # N k^2 = 1: the profiled q is half the unprofiled one
    observed = binned.yields([0.0, 0.0], luminosity)[0]
    thetas = np.column_stack([np.linspace(-0.15, 0.15, 13), np.zeros(13)])
    fixed = histogram_nll(binned, observed, luminosity)
    q_fixed = 2 * (fixed(thetas) - fixed(np.zeros((1, 2))))
    with_lumi = histogram_nll(binned, observed, luminosity, modifiers=modifiers[:1], modifier_names=["lumi"])
    scan = profile_log_likelihood(with_lumi, [0, 1], thetas=thetas, theta_start=np.zeros(3))
    n = luminosity * n_expected
    usable = (q_fixed > 0.05) & (q_fixed < 3.0)
    assert usable.sum() >= 4
    np.testing.assert_allclose(scan.q[usable] / q_fixed[usable], 1.0 / (1.0 + n * k**2), rtol=0.08)
    # profiling the scale nuisance as well can only widen further
    with_both = histogram_nll(
        binned, observed, luminosity, modifiers=modifiers, modifier_names=["lumi", "mu"]
    )
    scan_both = profile_log_likelihood(with_both, [0, 1], thetas=thetas, theta_start=np.zeros(4))
    assert np.all(scan_both.q <= scan.q + 1e-6)
    assert scan_both.q[usable].sum() < 0.9 * scan.q[usable].sum()


def _width(x, q, level=1.0):
    """Width of {q < level} on a 1-d scan, the crossings linearly interpolated."""
    best = int(np.argmin(q))
    left = np.interp(level, q[: best + 1][::-1], x[: best + 1][::-1])
    right = np.interp(level, q[best:], x[best:])
    return right - left


def test_profiled_expected_limits_are_wider_by_the_known_factor(golden_with_systematics):
    """expected_limits with profile_nuisances: from the LHE file's weights to a profiled limit whose 1-sigma
    interval is wider by sqrt(1 + N k^2) (rate, normalisation nuisance), and wider still with the scale
    nuisance profiled too; the shape analysis with both nuisances is never narrower than without."""
    from columnminer.inference import expected_limits

    store = golden_with_systematics
    n_expected = float(binned_weights(store, "m4l", [0.0, 1.0]).cross_sections([0.0, 0.0])[0].sum())
    k = np.log(NORM)
    luminosity = 1.0 / (k**2 * n_expected)  # N k^2 = 1
    a2 = np.linspace(-0.12, 0.12, 49)
    thetas = np.column_stack([a2, np.zeros_like(a2)])
    common = {"partition": None, "return_histograms": False, "dof": 1}
    fixed = expected_limits(store, "rate", [0.0, 0.0], thetas, luminosity, **common)
    lumi = expected_limits(
        store, "rate", [0.0, 0.0], thetas, luminosity, profile_nuisances=["lumi"], **common
    )
    both = expected_limits(store, "rate", [0.0, 0.0], thetas, luminosity, profile_nuisances=True, **common)
    ratio = _width(a2, lumi.q) / _width(a2, fixed.q)
    assert ratio == pytest.approx(np.sqrt(2.0), rel=0.05)
    assert _width(a2, both.q) > 1.02 * _width(a2, lumi.q)
    assert both.nuisance_names == ("lumi", "mu")
    histo = dict(common, features="m4l", bins=8)
    shape_fixed = expected_limits(store, "histo", [0.0, 0.0], thetas, 10 * luminosity, **histo)
    shape_profiled = expected_limits(
        store, "histo", [0.0, 0.0], thetas, 10 * luminosity, profile_nuisances=True, **histo
    )
    assert np.all(shape_profiled.q <= shape_fixed.q + 1e-8)
    assert _width(a2, shape_profiled.q) > _width(a2, shape_fixed.q)
