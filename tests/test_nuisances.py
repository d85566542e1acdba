"""Nuisance kernels, Fisher information and binned modifiers with systematics, against numpy and known answers."""

import numpy as np
import pytest
from nuisance_stores import DELTA
from nuisance_stores import make_nuisance_store as _make_store

from columnminer.demo import golden_channel_setup
from columnminer.errors import InferenceError, ParameterSpaceError, StoreError
from columnminer.inference.binned import binned_weights
from columnminer.inference.fisher import profile_information
from columnminer.inference.likelihood import fix_params, histogram_nll, profile_log_likelihood
from columnminer.inference.nuisance_fisher import binned_nuisance_modifiers, truth_information_with_nuisances
from columnminer.io.store import EventStore
from columnminer.nuisances import (
    cross_sections_with_nuisances,
    fit_replica_components,
    nuisance_cross_section_gradients,
    nuisance_joint_scores,
    nuisance_log_variations,
)
from columnminer.weights import theta_coefficients, theta_gradient_coefficients


@pytest.fixture(scope="module")
def shape_store():
    return _make_store("memory://test-nuisances-shape")


def _numpy_coefficients(store, raw):
    model = store.setup.nuisance_model()
    lr = np.log(
        np.stack(
            [raw["w0"] * (1 + DELTA), raw["w0"] * (1 + 0.2 * raw["s"]), raw["w0"] * (1 - 0.2 * raw["s"])], 1
        )
        / raw["w0"][:, None]
    )
    return model.coefficients(lr)


def test_log_variations_against_numpy(shape_store):
    store, raw = shape_store
    lr = nuisance_log_variations(store, 100, 1950)
    s = raw["s"][100:1950]
    expected = np.stack([np.full(len(s), np.log1p(DELTA)), np.log1p(0.2 * s), np.log1p(-0.2 * s)], 1)
    np.testing.assert_allclose(lr, expected, atol=1e-12)


def test_cross_sections_and_gradients_against_numpy(shape_store):
    store, raw = shape_store
    thetas = [[0.0, 0.0], [0.5, -0.3]]
    nus = np.array([[0.0, 0.0], [1.0, 0.0], [0.3, -1.2], [-2.0, 2.0]])
    a, b = _numpy_coefficients(store, raw)
    w = raw["weights"] @ theta_coefficients(store.setup, thetas).T  # [n, T]
    factors = np.exp(a @ nus.T + b @ (nus**2).T)
    np.testing.assert_allclose(cross_sections_with_nuisances(store, thetas, nus), w.T @ factors, rtol=1e-12)
    nu = np.array([0.4, -0.7])
    wn = w[:, 1] * np.exp(a @ nu + b @ nu**2)
    expected = wn @ (a + 2 * b * nu)
    gradient = nuisance_cross_section_gradients(store, thetas[1], nu)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)
    h = 1e-6  # and against finite differences of the cross section
    plus = cross_sections_with_nuisances(store, [thetas[1]], nu + h * np.eye(2))
    minus = cross_sections_with_nuisances(store, [thetas[1]], nu - h * np.eye(2))
    np.testing.assert_allclose((plus - minus)[0] / (2 * h), gradient, rtol=1e-6)
    train = cross_sections_with_nuisances(store, thetas, nus, partition="train")  # 1 / fraction reweighted
    np.testing.assert_allclose(train, w.T @ factors, rtol=0.05)


def test_joint_scores_against_numpy(shape_store):
    store, raw = shape_store
    theta, nu = [0.2, 0.1], np.array([0.5, -0.5])
    t = nuisance_joint_scores(store, theta, nu)
    a, b = _numpy_coefficients(store, raw)
    w = raw["weights"] @ theta_coefficients(store.setup, [theta])[0] * np.exp(a @ nu + b @ nu**2)
    expected = a + 2 * b * nu - (w @ (a + 2 * b * nu)) / w.sum()
    np.testing.assert_allclose(t, expected, atol=1e-12)
    np.testing.assert_allclose(w @ t, 0.0, atol=1e-12)  # the score has zero mean under p(z|theta, nu)
    assert nuisance_joint_scores(store, theta, nu, 10, 20).shape == (10, 2)


def test_truth_information_with_nuisances_against_numpy(shape_store):
    store, raw = shape_store
    lumi = 300.0
    info = truth_information_with_nuisances(store, "sm", lumi)
    assert info.parameter_names == ("a2", "a3", "lumi", "mu")
    c = theta_coefficients(store.setup, "sm")[0]
    dc = theta_gradient_coefficients(store.setup, "sm")[0]
    w = raw["weights"] @ c
    a, _ = _numpy_coefficients(store, raw)
    d = np.concatenate([raw["weights"] @ dc.T, w[:, None] * a], 1)
    expected = lumi * (d.T / w) @ d + np.diag([0, 0, 1.0, 1.0])
    np.testing.assert_allclose(info.information, expected, rtol=1e-10)
    no_constraint = truth_information_with_nuisances(store, "sm", lumi, include_constraint=False)
    np.testing.assert_allclose(no_constraint.information, expected - np.diag([0, 0, 1.0, 1.0]), rtol=1e-10)
    # the scale-like nuisance: d_nu w = w * atanh(0.2 s) at nu = 0
    np.testing.assert_allclose(a[:, 1], np.arctanh(0.2 * raw["s"]), atol=1e-12)
    # profiling: the Schur complement, never more than the unprofiled information
    profiled = profile_information(info, [0, 1])
    m = expected
    schur = m[:2, :2] - m[:2, 2:] @ np.linalg.solve(m[2:, 2:], m[2:, :2])
    np.testing.assert_allclose(profiled.information, schur, rtol=1e-9)
    assert np.linalg.eigvalsh(m[:2, :2] - profiled.information).min() >= -1e-9
    assert profiled.information[0, 0] < m[0, 0]


def test_binned_modifiers_against_numpy(shape_store):
    store, raw = shape_store
    edges = np.linspace(-1, 1, 6)
    theta = [0.3, 0.0]
    deltas = binned_nuisance_modifiers(store, "x", edges, theta)
    assert deltas.shape == (2, 5)
    w = raw["weights"] @ theta_coefficients(store.setup, [theta])[0]
    k = np.clip(np.digitize(raw["x"], edges) - 1, 0, 4)
    nominal = np.bincount(k, w, minlength=5)
    np.testing.assert_allclose(deltas[0], DELTA, rtol=1e-10)  # the norm systematic: the same in every bin
    up = np.bincount(k, w * (1 + 0.2 * raw["s"]), minlength=5)
    np.testing.assert_allclose(deltas[1], up / nominal - 1, rtol=1e-10)
    assert deltas[1, 0] < 0 < deltas[1, -1]
    # the down side: the norm systematic mirrors (1 + d+)(1 + d-) = 1, the scale one is its own variation
    downs = binned_nuisance_modifiers(store, "x", edges, theta, side="down")
    np.testing.assert_allclose((1 + deltas[0]) * (1 + downs[0]), 1.0, rtol=1e-10)
    down = np.bincount(k, w * (1 - 0.2 * raw["s"]), minlength=5)
    np.testing.assert_allclose(downs[1], down / nominal - 1, rtol=1e-10)
    with pytest.raises(InferenceError, match="side must be 'up' or 'down'"):
        binned_nuisance_modifiers(store, "x", edges, theta, side="both")


def _interval(points, q, level=1.0):
    """Edges where q crosses ``level`` either side of its minimum (linear interpolation)."""
    i = int(np.argmin(q))
    left = np.interp(level, q[: i + 1][::-1], points[: i + 1][::-1])
    right = np.interp(level, q[i:], points[i:])
    return left, right


def test_rate_only_profiled_interval_widens_by_known_factor():
    """Counting experiment, yields N(a2) = N0 (1 + a2)^2 e^{eta k}, k = log(1 + delta), eta ~ N(0, 1):
    to second order q_unprofiled = N0 u^2, q_profiled = min_eta N0 (u + k eta)^2 + eta^2 = N0 u^2 / (1 + N0 k^2)
    with u = log N(a2)/N0, so the interval widens by sqrt(1 + N0 k^2) and the Fisher information on a2
    shrinks by exactly 1 / (1 + N0 k^2)."""
    store, _ = _make_store("memory://test-nuisances-rate", shape=False, scale=False, background=False)
    lumi = 10_000.0
    n0 = lumi * cross_sections_with_nuisances(store, "sm", [[0.0]])[0, 0]
    k = np.log1p(DELTA)
    factor = 1.0 + n0 * k**2  # 1 + 1e4 * 0.0198^2 = 4.92
    # Fisher information: the exact Schur-complement statement for a rate-only analysis
    info = truth_information_with_nuisances(store, "sm", lumi)
    profiled = profile_information(info, [0, 1])
    np.testing.assert_allclose(profiled.information, info.information[:2, :2] / factor, rtol=1e-9)
    # likelihood: one bin, modifiers from the store, Asimov data at the SM
    binned = binned_weights(store, "x", [-2.0, 2.0])
    modifiers = binned_nuisance_modifiers(store, "x", [-2.0, 2.0], "sm")
    np.testing.assert_allclose(modifiers, [[DELTA]], rtol=1e-10)
    observed = binned.yields("sm", lumi)[0]
    nll = histogram_nll(binned, observed, lumi, modifiers=modifiers, modifier_names=["lumi"])
    grid = np.linspace(-0.03, 0.03, 121)
    q_fixed = fix_params(nll, [0.0, 0.0], [1, 2])(grid[:, None])
    q_fixed = 2 * (q_fixed - q_fixed.min())
    scan = profile_log_likelihood(fix_params(nll, [0.0], [1]), [0], thetas=grid[:, None])
    lo0, hi0 = _interval(grid, q_fixed)
    lo1, hi1 = _interval(grid, scan.q)
    ratio = (hi1 - lo1) / (hi0 - lo0)
    assert ratio == pytest.approx(np.sqrt(factor), rel=0.005)  # sqrt(4.92) = 2.2184; measured 2.2183
    assert np.all(scan.q <= q_fixed + 1e-6)


def test_profiled_histogram_limits_wider(shape_store):
    store, _ = shape_store
    lumi = 2000.0
    edges = np.linspace(-1, 1, 6)
    binned = binned_weights(store, "x", edges)
    modifiers = binned_nuisance_modifiers(store, "x", edges, "sm")
    nll = histogram_nll(binned, binned.yields("sm", lumi)[0], lumi, modifiers=modifiers)
    grid = np.linspace(-0.4, 0.4, 41)
    q_fixed = fix_params(nll, [0.0, 0.0, 0.0], [1, 2, 3])(grid[:, None])
    q_fixed = 2 * (q_fixed - q_fixed.min())
    scan = profile_log_likelihood(fix_params(nll, [0.0], [1]), [0], thetas=grid[:, None])
    assert np.all(scan.q <= q_fixed + 1e-6)
    lo0, hi0 = _interval(grid, q_fixed)
    lo1, hi1 = _interval(grid, scan.q)
    assert hi1 - lo1 > 1.05 * (hi0 - lo0)


def test_replica_components_reproduce_covariance():
    rng = np.random.default_rng(5)
    n, n_replicas = 300, 40
    setup = golden_channel_setup()
    setup.add_systematics("pdf", "nnpdf", pdf_variation="NNPDF", pdf_members=n_replicas, pdf_kind="replicas")
    s1, s2 = rng.normal(size=n), rng.normal(size=n)  # two hidden directions
    g1, g2 = rng.normal(0, 0.05, n_replicas), rng.normal(0, 0.03, n_replicas)
    log_ratios = np.outer(s1, g1) + np.outer(s2, g2) + 0.01  # plus a common shift (removed by centring)
    weights = np.ones((n, 6)) / n
    store = EventStore.create("memory://test-nuisances-pca", setup, ["x"], chunk_size=128)
    store.append(rng.normal(size=(n, 1)), weights, 0, nuisance_weights=weights[:, :1] * np.exp(log_ratios))
    fitted = fit_replica_components(store, "nnpdf")
    assert fitted.n_components == 2 and fitted.nuisance_names == ["nnpdf_0", "nnpdf_1"]
    setup.replace_systematic(fitted)
    model = setup.nuisance_model()
    a, _ = model.coefficients(log_ratios)
    centred = log_ratios - log_ratios.mean(axis=1, keepdims=True)
    covariance = centred @ centred.T / (n_replicas - 1)  # replica covariance between events (LHAPDF: 1/(R-1))
    np.testing.assert_allclose(a @ a.T, covariance, atol=1e-12 + 1e-9 * np.abs(covariance).max())
    assert len(fit_replica_components(store, "nnpdf", n_components=5).components[0]) == 5
    with pytest.raises(ParameterSpaceError, match="systematic_name"):
        fit_replica_components(store, "missing")


def test_errors(shape_store):
    store, _ = shape_store
    with pytest.raises(ParameterSpaceError, match="nus"):
        cross_sections_with_nuisances(store, "sm", [[0.0, 0.0, 0.0]])
    plain = EventStore.create("memory://test-nuisances-plain", golden_channel_setup(), ["x"])
    plain.append(np.zeros((3, 1)), np.ones((3, 6)), 0)
    with pytest.raises(StoreError, match="nuisance"):
        nuisance_log_variations(plain)
    with pytest.raises(InferenceError, match="store"):
        truth_information_with_nuisances(plain, "sm", 1.0)
    with pytest.raises(ParameterSpaceError, match="replica"):
        fit_replica_components(store, "lumi")
