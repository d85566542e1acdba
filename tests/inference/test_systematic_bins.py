"""Binned systematic variations, bands and profiled binned likelihoods: against numpy, scipy and known answers."""

import numpy as np
import pytest
from nuisance_stores import DELTA, make_nuisance_store
from scipy.optimize import minimize

from columnminer.errors import InferenceError
from columnminer.inference import (
    binned_variations,
    expected_limits,
    observed_limits,
    profile_binned_likelihood,
)
from columnminer.weights import theta_coefficients

EDGES = np.linspace(-1.0, 1.0, 6)


@pytest.fixture(scope="module")
def store_and_raw():
    return make_nuisance_store("memory://test-systematic-bins")


def test_variations_match_numpy(store_and_raw):
    store, raw = store_and_raw
    variations = binned_variations(store, "x", EDGES)
    k = np.clip(np.digitize(raw["x"], EDGES) - 1, 0, 4)
    w = raw["weights"]
    nominal = np.stack([np.bincount(k, w[:, b], minlength=5) for b in range(w.shape[1])], axis=1)
    np.testing.assert_allclose(variations.nominal, nominal, rtol=1e-12)
    up_mu = np.stack([np.bincount(k, w[:, b] * (1 + 0.2 * raw["s"]), minlength=5) for b in range(6)], axis=1)
    down_mu = np.stack(
        [np.bincount(k, w[:, b] * (1 - 0.2 * raw["s"]), minlength=5) for b in range(6)], axis=1
    )
    np.testing.assert_allclose(variations.up[1], up_mu, rtol=1e-10)
    np.testing.assert_allclose(variations.down[1], down_mu, rtol=1e-10)
    np.testing.assert_allclose(variations.up[0], (1 + DELTA) * nominal, rtol=1e-10)
    np.testing.assert_allclose(variations.down[0], nominal / (1 + DELTA), rtol=1e-10)
    # exact morphing of every bin: at theta the sums are those of w(z|theta)
    theta = np.array([[0.4, -0.3]])
    c = theta_coefficients(store.setup, theta)[0]
    nominal_theta, up, _ = variations.cross_sections(theta)
    np.testing.assert_allclose(nominal_theta[0], np.bincount(k, w @ c, minlength=5), rtol=1e-10)
    np.testing.assert_allclose(
        up[0, 1], np.bincount(k, (w @ c) * (1 + 0.2 * raw["s"]), minlength=5), rtol=1e-10
    )
    # interpolation: a normalisation is log-linear, alpha = log(1 + delta), beta = 0, in every bin
    _, alpha, beta = variations.interpolation("sm")
    np.testing.assert_allclose(alpha[0, 0], np.log1p(DELTA), rtol=1e-10)
    np.testing.assert_allclose(beta[0, 0], 0.0, atol=1e-12)
    assert np.all(np.abs(beta[0, 1]) > 0)  # the scale variation is asymmetric in every bin


def test_bands(store_and_raw):
    store, _ = store_and_raw
    variations = binned_variations(store, "x", EDGES)
    bands = variations.bands("sm", luminosity=100.0)
    nominal, up, down = variations.cross_sections("sm")
    np.testing.assert_allclose(bands["nominal"], 100 * nominal[0], rtol=1e-12)
    assert bands["up"].shape == bands["down"].shape == (2, 5)
    assert np.all(bands["low"] <= bands["nominal"]) and np.all(bands["high"] >= bands["nominal"])
    shift_up = np.maximum(np.maximum(up[0] - nominal[0], down[0] - nominal[0]), 0)
    np.testing.assert_allclose(bands["high"], 100 * (nominal[0] + np.sqrt((shift_up**2).sum(0))), rtol=1e-12)
    # the normalisation alone: the band is nominal x (1 + delta) and nominal / (1 + delta)
    lumi_only = type(variations)(
        variations.edges, variations.nominal, variations.up[:1], variations.down[:1], ("lumi",), store.setup
    ).bands("sm")
    np.testing.assert_allclose(lumi_only["high"], nominal[0] * (1 + DELTA), rtol=1e-12)
    np.testing.assert_allclose(lumi_only["low"], nominal[0] / (1 + DELTA), rtol=1e-12)


@pytest.mark.parametrize("include_rate", [True, False])
def test_profiling_matches_scipy(include_rate):
    rng = np.random.default_rng(0)
    n_points, n_nuisances, n_bins = 12, 3, 8
    expected = rng.uniform(20, 200, (n_points, n_bins))
    counts = rng.uniform(20, 200, n_bins)
    alpha = rng.normal(0, 0.1, (n_points, n_nuisances, n_bins))
    beta = rng.normal(0, 0.02, (n_points, n_nuisances, n_bins))
    value, nu, varied = profile_binned_likelihood(expected, counts, alpha, beta, include_rate=include_rate)
    for t in range(n_points):

        def nll(n, t=t):
            mu = expected[t] * np.exp(n @ alpha[t] + n**2 @ beta[t])
            log_l = counts @ np.log(mu) - mu.sum() if include_rate else counts @ np.log(mu / mu.sum())
            return -(log_l - 0.5 * n @ n)

        best = minimize(nll, np.zeros(n_nuisances), method="BFGS", options={"gtol": 1e-10})
        assert value[t] == pytest.approx(-best.fun, abs=1e-7)
        np.testing.assert_allclose(nu[t], best.x, atol=1e-4)
    np.testing.assert_allclose(
        varied, expected * np.exp(np.einsum("tj,tjk->tk", nu, alpha) + np.einsum("tj,tjk->tk", nu**2, beta))
    )
    with pytest.raises(InferenceError, match="do not match"):
        profile_binned_likelihood(expected, counts[:-1], alpha, beta)


def _rate_only_store():
    store, _ = make_nuisance_store(
        "memory://test-systematic-bins-rate", shape=False, scale=False, background=False
    )
    return store


def test_profiled_rate_limits_known_answer():
    """Rate only, one normalisation nuisance: q_profiled = q / (1 + N k^2) to second order (k = log(1 + delta))."""
    store = _rate_only_store()
    n_sm = float(np.sum(store.read("weights")[:, 0]))
    k = np.log1p(DELTA)
    luminosity = 3.0 / (k**2 * n_sm)  # N k^2 = 3: q shrinks by 4
    thetas = np.column_stack([np.linspace(-0.03, 0.03, 25), np.zeros(25)])
    common = {"partition": None, "return_histograms": False}
    fixed = expected_limits(store, "rate", [0.0, 0.0], thetas, luminosity, **common)
    profiled = expected_limits(
        store, "rate", [0.0, 0.0], thetas, luminosity, profile_nuisances=True, **common
    )
    assert profiled.nuisance_names == ("lumi",) and profiled.fitted_nuisances.shape == (25, 1)
    usable = (fixed.q > 0.02) & (fixed.q < 2.0)
    assert usable.sum() >= 4
    np.testing.assert_allclose(profiled.q[usable] / fixed.q[usable], 1.0 / (1.0 + 3.0), rtol=0.05)
    assert profiled.fitted_nuisances[12, 0] == pytest.approx(0.0, abs=1e-6)  # theta_true: nothing to pull
    # away from theta_true the nuisance absorbs the rate change: k (N - mu_t) / (1 + mu_t k^2) to first order
    n_asimov = luminosity * n_sm
    mu = luminosity * (1.0 + thetas[:, 0]) ** 2  # sigma(a2) = (1 + a2)^2 sigma_sm here
    linear = k * (n_asimov - mu) / (1.0 + mu * k**2)
    np.testing.assert_allclose(profiled.fitted_nuisances[usable, 0], linear[usable], rtol=0.05)


def test_profiled_histogram_limits(store_and_raw):
    store, _ = store_and_raw
    thetas = np.column_stack([np.linspace(-0.2, 0.2, 9), np.zeros(9)])
    common = {"features": "x", "bins": EDGES, "partition": None, "return_histograms": False}
    fixed = expected_limits(store, "histo", [0.0, 0.0], thetas, 2000.0, **common)
    profiled = expected_limits(store, "histo", [0.0, 0.0], thetas, 2000.0, profile_nuisances=True, **common)
    lumi_only = expected_limits(
        store, "histo", [0.0, 0.0], thetas, 2000.0, profile_nuisances=["lumi"], **common
    )
    assert np.all(profiled.q <= lumi_only.q + 1e-8) and np.all(lumi_only.q <= fixed.q + 1e-8)
    assert profiled.q.sum() < 0.9 * fixed.q.sum()
    assert profiled.best_fit_index == 4
    # observed counts equal to the Asimov yields give the same answer
    observed = observed_limits(
        store,
        "histo",
        None,
        thetas,
        2000.0,
        counts=2000.0 * binned_variations(store, "x", EDGES).cross_sections("sm")[0][0],
        profile_nuisances=True,
        features="x",
        bins=EDGES,
        return_histograms=False,
    )
    np.testing.assert_allclose(observed.q, profiled.q, atol=1e-6)
    with pytest.raises(InferenceError, match="unknown nuisance"):
        expected_limits(store, "histo", [0.0, 0.0], thetas, 2000.0, profile_nuisances=["jes"], **common)
    with pytest.raises(InferenceError, match="not supported"):
        expected_limits(
            store, "ml", [0.0, 0.0], thetas, 2000.0, estimator=lambda x, t: 0, profile_nuisances=True
        )
