"""Fisher information over the store: exact against numpy, against the golden channel's own integral and the
Gaussian toy's analytic values; profiling and projection by hand and by finite differences."""

import logging

import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.demo import quadratic_event_weights
from columnminer.errors import InferenceError
from columnminer.inference.binned import weighted_quantile_edges
from columnminer.inference.fisher import (
    FisherInformation,
    detector_information,
    histogram_information,
    histogram_of_information,
    nuisance_constraint_information,
    profile_information,
    project_information,
    rate_information,
    sigma_and_dsigma,
    truth_information,
)
from columnminer.io.store import EventStore
from columnminer.ml import Ensemble, ParameterizedRatioEstimator, ScoreEstimator, TrainingOptions
from columnminer.simulators.golden import GoldenChannel
from columnminer.simulators.toy import GaussianToy
from columnminer.weights import theta_coefficients, theta_gradient_coefficients

N = 1500
LUMI = 300.0
THETA = [0.4, -0.3]


# -- exact against numpy on a small random store ----------------------------------------------------------
@pytest.fixture
def random_store(morphing_setup, tmp_path):
    """Events with positive quadratic weights w(z|theta) = |L_z^T (1, theta)|^2, two observables."""
    rng = np.random.default_rng(3)
    couplings = rng.normal(size=(N, 3, 2))
    weights = quadratic_event_weights(couplings, morphing_setup.parameter_space.benchmark_array()).T / N
    observables = np.column_stack([rng.normal(size=N), rng.uniform(0.0, 10.0, N)])
    store = EventStore.create(str(tmp_path / "r.zarr"), morphing_setup, ["a", "b"], chunk_size=400)
    store.append(observables, weights, 0)
    return store, observables, weights


def _reference(weights, setup, theta, mask=None, scale=1.0):
    """w, grad w at theta of the selected events (numpy)."""
    c = theta_coefficients(setup, theta)[0]
    dc = theta_gradient_coefficients(setup, theta)[0]
    w_b = weights if mask is None else weights[mask]
    return scale * w_b @ c, scale * w_b @ dc.T


def _ratio(sigma, dsigma):
    return LUMI * np.einsum("k,ki,kj->ij", 1.0 / np.asarray(sigma), dsigma, dsigma)


def test_truth_and_rate_equal_numpy(random_store):
    store, _, weights = random_store
    w, dw = _reference(weights, store.setup, THETA)
    info = truth_information(store, THETA, LUMI)
    f = np.einsum("n,ni,nj->nij", 1.0 / w, dw, dw)
    np.testing.assert_allclose(info.information, LUMI * f.sum(axis=0), rtol=1e-10)
    flat = f.reshape(N, 4)
    np.testing.assert_allclose(info.covariance.reshape(4, 4), LUMI**2 * flat.T @ flat, rtol=1e-10)
    assert info.kind == "truth" and info.parameter_names == ("a2", "a3") and info.luminosity_pb == LUMI
    np.testing.assert_array_equal(info.theta, THETA)
    # the rate term, and its covariance from linear propagation (Jacobian by finite differences)
    rate = rate_information(store, THETA, LUMI)
    sigma, dsigma = w.sum(), dw.sum(axis=0)
    np.testing.assert_allclose(rate.information, _ratio([sigma], dsigma[None]), rtol=1e-10)
    u = np.column_stack([w, dw])  # per-event (w, grad w): Cov[sum u] = u^T u
    x0 = u.sum(axis=0)

    def term(v):
        return (LUMI * np.outer(v[1:], v[1:]) / v[0]).ravel()

    jac = np.stack([(term(x0 + h) - term(x0 - h)) / (2 * 1e-7 * x0[0]) for h in np.eye(3) * 1e-7 * x0[0]], 1)
    np.testing.assert_allclose(rate.covariance.reshape(4, 4), jac @ (u.T @ u) @ jac.T, rtol=1e-5)
    # the full information bounds the rate information
    assert np.all(np.linalg.eigvalsh(info.information - rate.information) > 0)
    # scaling with luminosity
    np.testing.assert_allclose(info.scaled(2 * LUMI).information, 2 * info.information)


def test_histograms_fixed_adaptive_and_events_per_bin(random_store):
    store, observables, weights = random_store
    w, dw = _reference(weights, store.setup, THETA)
    edges = np.array([-1.0, -0.2, 0.3, 1.2])
    info = histogram_information(store, THETA, LUMI, "a", edges)
    index = np.clip(np.searchsorted(edges, observables[:, 0], side="right") - 1, 0, 2)
    sigma = np.bincount(index, w, minlength=3)
    dsigma = np.stack([np.bincount(index, dw[:, i], minlength=3) for i in range(2)], axis=1)
    np.testing.assert_allclose(info.information, _ratio(sigma, dsigma), rtol=1e-10)
    assert info.kind == "histogram" and info.binned.shape == (3,)
    h = info.histogram()
    assert h.axes[0].name == "theta" and len(h.axes[0]) == 1
    np.testing.assert_allclose(h.values()[0], LUMI * sigma, rtol=1e-10)
    assert info.covariance.shape == (2, 2, 2, 2) and np.all(info.uncertainty > 0)
    # adaptive: the equal-cross-section edges at theta
    adaptive = histogram_information(store, THETA, LUMI, "b", bins=6)
    expected_edges = weighted_quantile_edges(store, "b", THETA, 6)
    np.testing.assert_allclose(adaptive.binned.edges[0], expected_edges)
    explicit = histogram_information(store, THETA, LUMI, "b", expected_edges)
    np.testing.assert_allclose(adaptive.information, explicit.information, rtol=1e-12)
    # events_per_bin: L sigma / n bins
    total = LUMI * w.sum()
    by_events = histogram_information(store, THETA, LUMI, "b", events_per_bin=total / 4.5)
    assert by_events.binned.shape == (4,)
    # 2-d: one count per feature, or explicit edges per feature
    two = histogram_information(store, THETA, LUMI, ["a", "b"], bins=[3, 4])
    assert two.binned.shape == (3, 4)
    two_explicit = histogram_information(
        store, THETA, LUMI, ["a", lambda c: c["b"]], [edges, [0.0, 5.0, 10.0]]
    )
    assert two_explicit.binned.shape == (3, 2)
    # the histogram information sits between the rate and the truth information
    rate = rate_information(store, THETA, LUMI).information
    truth = truth_information(store, THETA, LUMI).information
    for h in (info, adaptive, two, two_explicit):
        assert np.linalg.eigvalsh(h.information - rate).min() > -1e-9 * np.abs(rate).max()
        assert np.linalg.eigvalsh(truth - h.information).min() > -1e-9 * np.abs(truth).max()


def test_histogram_of_information_sums_and_sigma_dsigma(random_store):
    store, observables, weights = random_store
    edges = [0.0, 2.0, 5.0, 10.0]
    hist_info = histogram_of_information(store, THETA, LUMI, "b", edges)
    _, sigma, per_bin = hist_info
    assert per_bin.shape == (3, 2, 2) and hist_info.kind == "histogram"
    np.testing.assert_allclose(
        per_bin.sum(axis=0), histogram_information(store, THETA, LUMI, "b", edges).information, rtol=1e-10
    )
    truth_bins = histogram_of_information(store, THETA, LUMI, "b", edges, kind="truth")
    np.testing.assert_allclose(truth_bins.sigma, sigma, rtol=1e-10)
    np.testing.assert_allclose(
        truth_bins.information.sum(axis=0), truth_information(store, THETA, LUMI).information, rtol=1e-10
    )
    adaptive = histogram_of_information(store, THETA, LUMI, "b", 5)
    np.testing.assert_allclose(adaptive.sigma / adaptive.sigma.sum(), 0.2, atol=0.02)
    # sigma and its gradient per bin, at several thetas at once
    thetas = [[0.0, 0.0], THETA, "sm"]
    returned_edges, s, ds = sigma_and_dsigma(store, thetas, "b", edges)
    np.testing.assert_array_equal(returned_edges, edges)
    assert s.shape == (3, 3) and ds.shape == (3, 3, 2)
    np.testing.assert_allclose(s[1], sigma, rtol=1e-10)
    for t, theta in enumerate(thetas):
        _, dw = _reference(weights, store.setup, theta)
        index = np.clip(np.searchsorted(edges, observables[:, 1], side="right") - 1, 0, 2)
        np.testing.assert_allclose(ds[t, :, 1], np.bincount(index, dw[:, 1], minlength=3), rtol=1e-9)


def test_cuts_efficiencies_partition(random_store):
    store, observables, weights = random_store

    def cut(c):
        return c["b"] > 3.0

    def efficiency(c):
        return 0.5 + 0.05 * c["b"]

    options = {"cuts": [cut], "efficiencies": [efficiency], "partition": "train"}
    mask = store.partition_mask("train") & (observables[:, 1] > 3.0)
    scale = (0.5 + 0.05 * observables[mask, 1]) / store.partition_spec["fractions"]["train"]
    w_b = weights[mask] * scale[:, None]
    w, dw = _reference(w_b, store.setup, THETA)
    truth = truth_information(store, THETA, LUMI, **options)
    np.testing.assert_allclose(truth.information, LUMI * np.einsum("n,ni,nj->ij", 1 / w, dw, dw), rtol=1e-10)
    rate = rate_information(store, THETA, LUMI, **options)
    np.testing.assert_allclose(rate.information, _ratio([w.sum()], dw.sum(axis=0)[None]), rtol=1e-10)
    one_bin = histogram_information(store, THETA, LUMI, "a", [-10.0, 10.0], **options)
    np.testing.assert_allclose(one_bin.information, rate.information, rtol=1e-10)


# -- the golden channel against the generator's integral ----------------------------------------------------
def _generator_information(theta, n_points=300_000, seed=7):
    r"""E over the generator's trial points of 4 (W c)_i (W c)_j / (c^T W c), i, j in (a2, a3): the
    phase-space integral of (d_i w)(d_j w)/w (pb); returns the mean [2, 2] and its covariance [4, 4]."""
    channel = GoldenChannel()
    rng = np.random.default_rng(seed)
    c = channel.couplings(np.asarray(theta, dtype=np.float64))
    total, square = np.zeros(4), np.zeros((4, 4))
    for _ in range(n_points // 100_000):
        wc = channel._trial(rng, 100_000)[2] @ c
        d = 2.0 * wc[:, 1:]
        f = (d[:, :, None] * d[:, None, :] / (wc @ c)[:, None, None]).reshape(-1, 4)
        total += f.sum(axis=0)
        square += f.T @ f
    mean = total / n_points
    return mean.reshape(2, 2), (square / n_points - np.outer(mean, mean)) / n_points


@pytest.mark.parametrize("theta", [[0.0, 0.0], [0.3, -0.2]])
def test_golden_truth_information_equals_the_generator_integral(golden_store, theta):
    store = golden_store["store"]
    info = truth_information(store, theta, 1.0)
    expected, expected_cov = _generator_information(theta)
    variance = np.diagonal(info.covariance.reshape(4, 4)) + np.diagonal(expected_cov)
    pulls = (info.information - expected).ravel() / np.sqrt(variance)
    # (the fixture's SM sample happens to sit 2.9 sigma high on the CP-odd a2-a3 entry, whose true value is
    # zero at the SM; per event the store reproduces the generator's weights exactly)
    assert np.all(np.abs(pulls) < 4.5), pulls
    np.testing.assert_allclose(np.diag(info.information), np.diag(expected), rtol=0.06)
    # the order rate <= histograms <= truth
    rate = rate_information(store, theta, 1.0)
    histograms = [
        histogram_information(store, theta, 1.0, "m4l", bins=5),
        histogram_information(store, theta, 1.0, "mZ2", bins=12),
        histogram_information(store, theta, 1.0, ["cos_theta1", "Phi"], bins=[5, 6]),
    ]
    scale = np.abs(info.information).max()
    for h in histograms:
        assert np.linalg.eigvalsh(h.information - rate.information).min() > -1e-9 * scale
        assert np.linalg.eigvalsh(info.information - h.information).min() > -1e-9 * scale
    # the angular histogram sees the CP-odd a3 far better than the rate
    assert histograms[2].information[1, 1] > 2 * rate.information[1, 1]


# -- the Gaussian toy: exact z- and x-level informations ----------------------------------------------------
TOY_N = 20_000


@pytest.fixture(scope="module")
def fd_toy(tmp_path_factory):
    """Toy events drawn at theta = 0, reweighted exactly to 0, 1 and the finite-difference partners
    (sigma = 1 pb at every theta)."""
    model = GaussianToy()
    x, z = model.simulate(0.0, n=TOY_N, seed=21)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-2.0, 2.0))
    setup.add_benchmark([0.0], name="zero")
    setup.add_benchmark([1.0], name="one")
    setup.finite_differences(1e-5)
    values = setup.parameter_space.benchmark_array()[:, 0]
    weights = np.exp(model.log_p_z(z[:, None], values[None, :]) - model.log_p_z(z, 0.0)[:, None]) / TOY_N
    store = EventStore.create(str(tmp_path_factory.mktemp("fd_toy") / "toy.zarr"), setup, ["x"], 4000)
    store.append(x[:, None], weights, 0)
    return {"store": store, "model": model}


@pytest.fixture(scope="module")
def sally():
    model = GaussianToy()
    x, z = model.simulate(0.0, n=3000, seed=22)
    estimator = ScoreEstimator(n_hidden=(16,))
    options = TrainingOptions(n_epochs=10, batch_size=64, initial_lr=3e-3, final_lr=3e-4, progress=False)
    estimator.train("sally", x=x[:, None], t_xz=model.joint_score(x, z, 0.0)[:, None], options=options)
    return estimator


def test_toy_truth_information_is_the_z_level_information(fd_toy):
    info = truth_information(fd_toy["store"], "zero", 1.0)
    # 1 / sigma_z^2 per pb: E[t(z)^2] = 1/4 with sigma = 1 pb
    assert info.information[0, 0] == pytest.approx(0.25, abs=4 * info.uncertainty[0, 0])
    assert info.uncertainty[0, 0] < 0.01
    assert rate_information(fd_toy["store"], "zero", 1.0).information[0, 0] < 1e-3


def test_toy_sally_detector_information(fd_toy, sally, caplog):
    store = fd_toy["store"]
    info = detector_information(sally, store, "zero", 100.0)  # the test partition
    assert info.kind == "detector" and info.covariance.shape == (1, 1, 1, 1)
    assert info.information[0, 0] == pytest.approx(100 * 0.2, rel=0.15)
    # by hand on the same events
    mask = store.partition_mask("test")
    x = store.read("observables")[mask]
    w = store.read("weights")[mask, 0] / store.partition_spec["fractions"]["test"]
    t = sally.evaluate_score(x)[:, 0]
    rate = rate_information(store, "zero", 100.0, partition="test").information
    np.testing.assert_allclose(info.information, 100.0 * np.sum(w * t * t) + rate, rtol=1e-6)
    without_rate = detector_information(sally, store, "zero", 100.0, include_rate=False, batch_size=77)
    np.testing.assert_allclose(without_rate.information + rate, info.information, rtol=1e-6)
    everything = detector_information(sally, store, "zero", 1.0, partition=None)
    assert everything.information[0, 0] == pytest.approx(0.2, rel=0.1)
    # a SALLY estimator used away from where it was trained
    with caplog.at_level(logging.WARNING, logger="columnminer.inference"):
        detector_information(sally, store, "one", 1.0, trained_at="zero")
    assert "trained at" in caplog.text


def test_detector_information_of_ensembles_and_ratio_estimators(fd_toy, sally):
    store = fd_toy["store"]
    model = GaussianToy()
    x, z = model.simulate(0.0, n=600, seed=23)
    other = ScoreEstimator(n_hidden=(8,))
    other.train("sally", x=x[:, None], t_xz=model.joint_score(x, z, 0.0)[:, None], n_epochs=2, progress=False)
    ensemble = Ensemble([sally, other])
    info = detector_information(ensemble, store, "zero", 10.0)
    singles = [detector_information(e, store, "zero", 10.0).information for e in (sally, other)]
    np.testing.assert_allclose(info.members, np.stack(singles), rtol=1e-9)
    np.testing.assert_allclose(info.information, np.mean(singles, axis=0), rtol=1e-9)
    np.testing.assert_allclose(info.covariance.reshape(()), np.var([s[0, 0] for s in singles], ddof=1))
    score_mode = detector_information(ensemble, store, "zero", 10.0, mode="score")
    assert score_mode.information[0, 0] <= info.information[0, 0] + 1e-12
    # a parameterised ratio estimator gives its score at theta
    rng = np.random.default_rng(0)
    theta0 = rng.uniform(-2, 2, 400)
    y = np.repeat([0.0, 1.0], 200)
    xr, _ = model.simulate(np.where(y == 0, theta0, 0.0), seed=1)
    carl = ParameterizedRatioEstimator(n_hidden=(8,))
    carl.train("carl", x=xr[:, None], y=y, theta=theta0[:, None], n_epochs=1, progress=False)
    result = detector_information(carl, store, "one", 5.0, include_rate=False)
    mask = store.partition_mask("test")
    xs = store.read("observables")[mask]
    w = store.read("weights")[mask, 1] / store.partition_spec["fractions"]["test"]
    t = carl.evaluate_score(xs, [[1.0]])[0, :, 0]
    np.testing.assert_allclose(result.information[0, 0], 5.0 * np.sum(w * t * t), rtol=1e-6)


# -- projection, profiling, constraints -------------------------------------------------------------------
def test_project_and_profile_by_hand():
    two = np.array([[2.0, 1.0], [1.0, 4.0]])
    np.testing.assert_allclose(profile_information(two, [0])[0], [[1.75]])
    np.testing.assert_allclose(profile_information(two, [1])[0], [[3.5]])
    np.testing.assert_allclose(project_information(two, [1])[0], [[4.0]])
    three = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    np.testing.assert_allclose(profile_information(three, [0])[0], [[4.0 / 3.0]])
    np.testing.assert_allclose(profile_information(three, [0, 2])[0], [[1.5, -0.5], [-0.5, 1.5]])
    np.testing.assert_allclose(profile_information(three, [2, 0])[0], [[1.5, -0.5], [-0.5, 1.5]])
    np.testing.assert_allclose(project_information(three, [2, 0])[0], [[2.0, 0.0], [0.0, 2.0]])
    assert profile_information(three, [0, 1, 2])[1] is None
    np.testing.assert_allclose(profile_information(three, [1, 0, 2])[0], three[np.ix_([1, 0, 2], [1, 0, 2])])
    # FisherInformation in, FisherInformation out (names select parameters too)
    info = FisherInformation(three, np.zeros((3,) * 4), ("a", "b", "c"), 10.0, "truth")
    profiled = profile_information(info, ["c", "a"])
    assert isinstance(profiled, FisherInformation) and profiled.parameter_names == ("c", "a")
    assert profiled.kind == "profiled" and profiled.covariance.shape == (2, 2, 2, 2)
    # constraints: unit Gaussians on the nuisances, added before profiling
    constraint = nuisance_constraint_information(1, 2)
    np.testing.assert_array_equal(constraint, np.diag([0.0, 1.0, 1.0]))
    total = info + constraint
    assert total.kind == "sum"
    np.testing.assert_allclose(total.information, three + np.diag([0.0, 1.0, 1.0]))
    np.testing.assert_allclose((constraint + info).information, total.information)
    np.testing.assert_allclose((info + info).covariance, 0.0)
    with pytest.raises(InferenceError, match="luminosities"):
        info + info.scaled(20.0)
    np.testing.assert_allclose(profile_information(total, [0]).information, [[1.625]])  # 2 - 3/8


@pytest.mark.parametrize("remaining", [[0], [2, 0], [1]])
def test_profiled_covariance_against_finite_differences(remaining):
    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 3))
    information = a @ a.T + 3 * np.eye(3)
    b = rng.normal(size=(9, 9))
    covariance = (b @ b.T).reshape(3, 3, 3, 3) * 0.01
    _, propagated = profile_information(information, remaining, covariance)
    m = len(remaining)
    h = 1e-6
    jac = np.zeros((m * m, 9))
    for k in range(9):
        step = np.zeros(9)
        step[k] = h
        up = profile_information(information + step.reshape(3, 3), remaining)[0]
        down = profile_information(information - step.reshape(3, 3), remaining)[0]
        jac[:, k] = ((up - down) / (2 * h)).ravel()
    expected = jac @ covariance.reshape(9, 9) @ jac.T
    np.testing.assert_allclose(propagated.reshape(m * m, m * m), expected, rtol=1e-6, atol=1e-10)
    _, projected = project_information(information, remaining, covariance)
    np.testing.assert_allclose(projected, covariance[np.ix_(remaining, remaining, remaining, remaining)])


def test_bad_arguments_name_themselves(random_store, toy_store):
    store = random_store[0]
    with pytest.raises(InferenceError, match="theta"):
        truth_information(store, "no_such_benchmark", LUMI)
    with pytest.raises(InferenceError, match="theta"):
        rate_information(store, [0.1, 0.2, 0.3], LUMI)
    with pytest.raises(InferenceError, match="theta"):  # no morphing, no finite differences: no gradient
        truth_information(toy_store["store"], "theta_12", LUMI)
    with pytest.raises(InferenceError, match="luminosity"):
        truth_information(store, THETA, -1.0)
    with pytest.raises(InferenceError, match="bins"):
        histogram_information(store, THETA, LUMI, "a", bins=4, events_per_bin=10.0)
    with pytest.raises(InferenceError, match="bins"):
        histogram_information(store, THETA, LUMI, ["a", "b"], bins=[3, 4, 5])
    with pytest.raises(InferenceError, match="features"):
        histogram_information(store, THETA, LUMI, ["a", "b", "a"], bins=3)
    with pytest.raises(InferenceError, match="kind"):
        histogram_of_information(store, THETA, LUMI, "a", 3, kind="detector")
    with pytest.raises(InferenceError, match="information must be a square"):
        profile_information(np.ones((2, 3)), [0])
    with pytest.raises(InferenceError, match="covariance must have shape"):
        project_information(np.eye(2), [0], np.zeros((2, 2)))
    with pytest.raises(InferenceError, match="remaining"):
        profile_information(np.eye(2), [2])
    with pytest.raises(InferenceError, match="remaining"):
        profile_information(np.eye(2), [0, 0])
    with pytest.raises(InferenceError, match="singular"):
        profile_information(np.array([[1.0, 0.0], [0.0, 0.0]]), [0])
    with pytest.raises(InferenceError, match="n_nuisance"):
        nuisance_constraint_information(2, -1)
    with pytest.raises(InferenceError, match="estimator"):
        detector_information(object(), store, THETA, LUMI)
    with pytest.raises(InferenceError, match="estimator: trained for 1 observables"):
        untrained_shape = ScoreEstimator(n_hidden=(4,))
        untrained_shape.train("sally", x=np.zeros((8, 1)), t_xz=np.zeros((8, 2)), n_epochs=1, progress=False)
        detector_information(untrained_shape, store, THETA, LUMI)


# -- the compiled truth kernel against the numpy terms it replaced ---------------------------------------
def _numpy_truth(weights, c, dc):
    w, dw = weights @ c, weights @ dc.T
    keep = w > 0
    skipped = int(np.count_nonzero(~keep & ((w < 0) | np.any(dw != 0.0, axis=1))))
    w, dw = w[keep], dw[keep]
    f = (dw[:, :, None] * dw[:, None, :] / w[:, None, None]).reshape(len(w), dc.shape[0] ** 2)
    return f.sum(axis=0), f.T @ f, skipped


@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 3001])
def test_chunk_truth_kernel_equals_numpy(n):
    from columnminer.inference.binned import ChunkColumns
    from columnminer.inference.fisher_terms import _truth_kernel, chunk_truth

    rng = np.random.default_rng(n)
    weights = rng.normal(0.5, 1.0, size=(n, 6))  # some events with w <= 0: skipped and counted
    weights[::7] = 0.0  # w = 0 with a zero gradient: not counted
    c, dc = rng.normal(size=6), rng.normal(size=(3, 6))
    columns = ChunkColumns((), np.empty((n, 0)), weights, np.arange(n))
    sums, gram, skipped = chunk_truth(columns, c, dc)
    ref_sums, ref_gram, ref_skipped = _numpy_truth(weights, c, dc)
    assert skipped == ref_skipped
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-12, atol=1e-12 * np.abs(ref_sums).max(initial=1.0))
    np.testing.assert_allclose(gram, ref_gram, rtol=1e-12, atol=1e-12 * np.abs(ref_gram).max(initial=1.0))
    assert _truth_kernel.targetoptions["nogil"]  # threads share the work


def test_truth_terms_compiled_and_numpy_agree():
    """chunk_truth's compiled kernel (large stores) and numpy path (small stores, no numba start-up) give the
    same sums, Gram matrix and skipped count, with zero and negative weights in the chunk."""
    from columnminer.inference import fisher_terms
    from columnminer.inference.binned import ChunkColumns

    rng = np.random.default_rng(5)
    weights = rng.normal(1.0, 0.6, size=(5000, 6))
    weights[:10] = 0.0
    columns = ChunkColumns(("x",), np.zeros((5000, 1)), weights, np.arange(5000))
    c, dc = rng.normal(size=6), rng.normal(size=(2, 6))
    compiled = fisher_terms.chunk_truth(columns, c, dc)
    plain = fisher_terms.chunk_truth(columns, c, dc, compiled=False)
    np.testing.assert_allclose(compiled[0], plain[0], rtol=1e-12)
    np.testing.assert_allclose(compiled[1], plain[1], rtol=1e-12)
    assert compiled[2] == plain[2] > 0
