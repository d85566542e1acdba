"""Expected / observed limits on the Gaussian toy (exact vs histogram vs neural) and the golden channel, and
coverage of histogram regions by toys."""

import numpy as np
import pytest
import torch
from scipy import stats

from columnminer.errors import InferenceError
from columnminer.hists import theta_values
from columnminer.inference.binned import binned_weights
from columnminer.inference.likelihood import parameter_grid
from columnminer.inference.limits import LimitResult, expected_limits, observed_limits
from columnminer.inference.toys import coverage
from columnminer.ml import Ensemble, ParameterizedRatioEstimator, ScoreEstimator, TrainingOptions
from columnminer.sampling import benchmark
from columnminer.sampling.augmenter import SampleAugmenter

TOY_NAMES = [f"theta_{k}" for k in range(25)]
#: Golden channel: 300 fb^-1, a 9 x 9 grid over (a2, a3) in [-1, 1]^2 (step 0.25).
LUMINOSITY = 3e5
GRID = parameter_grid([(-1.0, 1.0), (-1.0, 1.0)], 9)
SM = int(np.flatnonzero(np.all(GRID == 0.0, axis=1))[0])
OPTIONS = TrainingOptions(n_epochs=15, batch_size=128, initial_lr=3e-3, final_lr=3e-4, progress=False, seed=0)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _exact(toy):
    """The toy's exact log p(x|theta) in the estimator calling convention f(x [n, 1], thetas [T, 1])."""
    return lambda x, thetas: toy.log_p_x(x[None, :, 0], thetas[:, :1])


@pytest.fixture(scope="module")
def ratio_estimator(toy_store):
    """A small ALICES ratio estimator against theta_ref = 0 (10^4 samples, theta0 ~ U(-4, 4))."""
    toy = toy_store["model"]
    rng = np.random.default_rng(3)
    n = 10_000
    theta0 = rng.uniform(-4, 4, n)
    y = (np.arange(n) >= n // 2).astype(float)
    x, z = toy.simulate(np.where(y == 0, theta0, 0.0), seed=rng)
    estimator = ParameterizedRatioEstimator(n_hidden=(32, 32))
    estimator.train(
        "alices",
        x=x[:, None],
        theta=theta0[:, None],
        y=y,
        r_xz=toy.joint_ratio(x, z, theta0, 0.0),
        t_xz=toy.joint_score(x, z, theta0)[:, None],
        options=OPTIONS,
    )
    return estimator


@pytest.fixture(scope="module")
def sally(golden_store):
    store = golden_store["store"]
    sample = SampleAugmenter(store).sample_train_local(
        benchmark("sm"), 4000, partition="train", seed=1, write=False
    )
    estimator = ScoreEstimator(n_hidden=(32,))
    estimator.train("sally", x=sample["x"], t_xz=sample["t_xz0"], options=OPTIONS.replace(n_epochs=10))
    return estimator


@pytest.mark.parametrize("true", ["theta_12", "theta_16"])
def test_toy_exact_histo_and_ml_intervals_agree(toy_store, ratio_estimator, true):
    """20 expected events: the exact 68% interval is theta_true +- sqrt(5 / 20) = +- 0.5; the exact (Asimov
    = weighted test events), fine-histogram and neural intervals agree within 0.1 at each end."""
    store, toy = toy_store["store"], toy_store["model"]
    theta_true = toy_store["grid"][int(true.split("_")[1])]
    common = {"theta_true": true, "thetas": TOY_NAMES, "luminosity": 20.0, "include_rate": False}
    exact = expected_limits(store, "ml", estimator=_exact(toy), **common)
    histo = expected_limits(store, "histo", features="x", bins=40, **common)
    ml = expected_limits(store, "ml", estimator=ratio_estimator, **common)
    for result in (exact, histo, ml):
        assert result.best_fit == pytest.approx([theta_true])
        assert result.p_values[result.best_fit_index] == 1.0
        assert result.n_observed == pytest.approx(20.0, rel=0.02)
    analytic = np.array([theta_true - 0.5, theta_true + 0.5])
    np.testing.assert_allclose(exact.interval(0.6827), analytic, atol=0.06)
    np.testing.assert_allclose(histo.interval(0.6827), exact.interval(0.6827), atol=0.1)
    np.testing.assert_allclose(ml.interval(0.6827), exact.interval(0.6827), atol=0.1)
    np.testing.assert_allclose(histo.interval(0.9545), exact.interval(0.9545), atol=0.15)
    # an ensemble gives its member mean; a random subset of the Asimov events keeps the expected count
    ensemble = expected_limits(store, "ml", estimator=Ensemble([ratio_estimator]), **common)
    np.testing.assert_allclose(ensemble.q, ml.q, atol=1e-9)
    subset = expected_limits(store, "ml", estimator=_exact(toy), n_asimov=500, return_asimov=True, **common)
    assert subset.n_observed == pytest.approx(exact.n_observed) and len(subset.asimov["x"]) == 500
    assert subset.best_fit == pytest.approx([theta_true], abs=0.25)
    assert histo.histograms.axes.name == ("theta", "x") and len(histo.histograms.axes["theta"]) == 25
    np.testing.assert_allclose(theta_values(histo.histograms), histo.thetas)
    assert histo.data_histograms.sum().value == pytest.approx(histo.n_observed)
    assert exact.histograms is None and exact.thetas.shape == (25, 1)


def test_golden_rate_and_histograms(golden_store):
    store = golden_store["store"]
    rate = expected_limits(store, "rate", [0.0, 0.0], GRID, LUMINOSITY)
    m4l = expected_limits(store, "histo", "sm", GRID, LUMINOSITY, features="m4l", bins=10)
    angles = expected_limits(
        store,
        "histo",
        [0.0, 0.0],
        GRID,
        LUMINOSITY,
        features=["cos_theta1", "Phi"],
        bins=5,
        return_asimov=True,
    )
    for result in (rate, m4l, angles):
        assert isinstance(result, LimitResult)
        assert result.best_fit_index == SM and result.p_values[SM] == 1.0
        assert np.all((result.p_values >= 0) & (result.p_values <= 1)) and result.dof == 2
        np.testing.assert_allclose(
            result.log_likelihood, result.log_likelihood_kinematic + result.log_likelihood_rate
        )
    assert rate.histograms is None and np.all(rate.log_likelihood_kinematic == 0)
    # the kinematics add information: the 95% regions shrink
    assert angles.region_volume(0.9545) < rate.region_volume(0.9545)
    assert m4l.region_volume(0.9545) <= rate.region_volume(0.9545)
    assert np.all(angles.p_values <= rate.p_values + 1e-9)
    h = angles.histograms[{"theta": "a2=0,a3=0"}]  # the tested point by name (hists convention)
    assert [a.name for a in h.axes] == ["cos_theta1", "Phi"] and h.values().shape == (5, 5)
    assert h.sum().value == pytest.approx(angles.n_observed)
    np.testing.assert_allclose(angles.data_histograms.values(), h.values())
    np.testing.assert_allclose(angles.histograms.values()[SM], h.values())
    assert len(m4l.histograms.axes["theta"]) == len(GRID) and m4l.histograms.axes[1].name == "m4l"
    assert angles.asimov["weights"].sum() == pytest.approx(angles.n_observed)
    assert angles.asimov["x"].shape[1] == len(store.observable_names)
    # restricting the Asimov events to the SM sample keeps the total, and the best fit
    closest = expected_limits(
        store,
        "histo",
        [0.0, 0.0],
        GRID,
        LUMINOSITY,
        features="m4l",
        bins=10,
        sample_only_from_closest_benchmark=True,
    )
    assert closest.n_observed == pytest.approx(m4l.n_observed) and closest.best_fit_index == SM
    # shape only: the rate part is dropped
    shape = expected_limits(
        store, "histo", [0.0, 0.0], GRID, LUMINOSITY, features="m4l", bins=10, include_rate=False
    )
    assert np.all(shape.log_likelihood_rate == 0) and shape.q.max() < m4l.q.max()


def test_golden_sally_modes(golden_store, sally):
    store = golden_store["store"]
    small = GRID[np.all(np.abs(GRID) <= 0.5, axis=1)]
    sm = int(np.flatnonzero(np.all(small == 0.0, axis=1))[0])
    results = {
        "sally": expected_limits(store, "sally", [0.0, 0.0], GRID, LUMINOSITY, estimator=sally, bins=6),
        "sally-1": expected_limits(
            store, "sally", [0.0, 0.0], GRID, LUMINOSITY, estimator=sally, score_components=[0], bins=10
        ),
        "sallino": expected_limits(store, "sallino", [0.0, 0.0], small, LUMINOSITY, estimator=sally, bins=8),
        "adaptive": expected_limits(
            store, "adaptive-sally", [0.0, 0.0], small, LUMINOSITY, estimator=sally, bins=[3, 3, 4]
        ),
    }
    for name, result in results.items():
        assert np.all((result.p_values >= 0) & (result.p_values <= 1)), name
        assert np.all(np.abs(result.best_fit) <= 0.25), name
    assert results["sally"].best_fit_index == SM
    assert results["sally"].histograms.axes.name == ("theta", "score_0", "score_1")
    # per tested point binning: one histogram per point, h = t . (theta - theta_ref); zero at theta_ref
    sallino = results["sallino"]
    assert len(sallino.data_histograms) == len(small) and sallino.histograms[0].axes.name == ("theta", "h")
    assert sallino.log_likelihood_kinematic[sm] == 0.0
    assert results["adaptive"].histograms[1].axes.name == ("theta", "score_0", "score_1", "h")
    # binning options: sallino binned once at theta_true; histo binned per tested point; postprocessing
    fixed = expected_limits(
        store, "sallino", [0.0, 0.0], small, LUMINOSITY, estimator=sally, bins=8, fix_adaptive_binning=True
    )
    assert fixed.best_fit_index == sm and np.all(np.isfinite(fixed.q))
    per_point = expected_limits(
        store, "histo", "sm", small, LUMINOSITY, features="Phi", fix_adaptive_binning=False
    )
    assert per_point.best_fit_index == sm and len(per_point.data_histograms) == len(small)
    folded = expected_limits(
        store, "histo", "sm", small, LUMINOSITY, features="Phi", bins=5, postprocessing=np.abs
    )
    assert folded.histograms.axes[1].edges[0] >= 0.0 and folded.best_fit_index == sm
    # observed events through the per-point binning
    x = store.read("observables", 0, 300)
    observed = observed_limits(store, "sallino", x, small, LUMINOSITY, estimator=sally, bins=5)
    assert np.all((observed.p_values >= 0) & (observed.p_values <= 1)) and observed.n_observed == 300
    # the rate-only limits are weaker than SALLY's
    rate = expected_limits(store, "rate", [0.0, 0.0], GRID, LUMINOSITY)
    assert results["sally"].region_volume(0.9545) < rate.region_volume(0.9545)


def test_observed_limits(golden_store, toy_store, ratio_estimator):
    store = golden_store["store"]
    # rate: the Poisson likelihood of the count
    result = observed_limits(store, "rate", None, GRID, LUMINOSITY, n_observed=900)
    sigma = binned_weights(store, "m4l", [0.0, 1e4]).cross_sections(GRID)[:, 0]
    expected = stats.poisson.logpmf(900, LUMINOSITY * sigma)
    np.testing.assert_allclose(result.q, -2 * (expected - expected.max()), atol=1e-6)
    # histograms from counts with explicit edges, and from events
    edges = np.linspace(100, 150, 6)
    model = binned_weights(store, "m4l", edges)
    counts = np.round(model.yields([0.3, 0.0], LUMINOSITY)[0])
    from_counts = observed_limits(
        store, "histo", None, GRID, LUMINOSITY, counts=counts, features="m4l", bins=[edges]
    )
    assert from_counts.best_fit[0] > 0 and from_counts.n_observed == counts.sum()
    x = store.read("observables", 0, 500)
    from_events = observed_limits(
        store, "histo", x, GRID, LUMINOSITY, features="m4l", bins=8, n_observed=1000
    )
    assert from_events.n_observed == pytest.approx(1000.0)
    # the neural likelihood of observed toy events: best fit near their mean
    toy = toy_store["model"]
    x_obs = toy.simulate(1.0, n=40, seed=9)[0]
    ml = observed_limits(
        toy_store["store"], "ml", x_obs, TOY_NAMES, 1.0, estimator=ratio_estimator, include_rate=False
    )
    exact = observed_limits(
        toy_store["store"], "ml", x_obs, TOY_NAMES, 1.0, estimator=_exact(toy), include_rate=False
    )
    assert abs(exact.best_fit[0] - x_obs.mean()) <= 0.125
    assert abs(ml.best_fit[0] - exact.best_fit[0]) <= 0.25


def test_coverage_of_histogram_regions(golden_store):
    """Wilks: the 68.27% / 95.45% regions cover theta_true in that fraction of Poisson toys (m4l, a2 line)."""
    model = binned_weights(golden_store["store"], "m4l", np.linspace(110, 140, 7))
    line = np.column_stack([np.linspace(-0.5, 0.5, 201), np.zeros(201)])
    result = coverage(model, [0.0, 0.0], line, LUMINOSITY, n_toys=400, dof=1, seed=3)
    nominal_error = np.sqrt(result.levels * (1 - result.levels) / 400)
    assert np.all(np.abs(result.fractions - result.levels) < 3 * nominal_error), result.fractions
    assert np.all(np.abs(result.pulls()) < 3)
    assert result.q_true.shape == (400,) and np.all(result.q_true >= 0)
    np.testing.assert_allclose(result.errors, np.sqrt(result.fractions * (1 - result.fractions) / 400))
    shape_only = coverage(model, [0.0, 0.0], line, LUMINOSITY, n_toys=200, dof=1, seed=4, include_rate=False)
    assert shape_only.fractions.shape == (2,)
    with pytest.raises(InferenceError, match="n_toys"):
        coverage(model, [0.0, 0.0], line, LUMINOSITY, n_toys=0)
    with pytest.raises(InferenceError, match="levels"):
        coverage(model, [0.0, 0.0], line, LUMINOSITY, levels=[1.5])


def test_bad_arguments_are_named(golden_store, toy_store, sally):
    store = golden_store["store"]
    with pytest.raises(InferenceError, match="mode"):
        expected_limits(store, "magic", [0.0, 0.0], GRID, LUMINOSITY)
    for mode in ("sally", "sallino", "adaptive-sally"):
        with pytest.raises(InferenceError, match="estimator"):
            expected_limits(store, mode, [0.0, 0.0], GRID, LUMINOSITY)
    with pytest.raises(InferenceError, match="estimator"):
        expected_limits(store, "ml", [0.0, 0.0], GRID, LUMINOSITY)
    with pytest.raises(InferenceError, match="features"):
        expected_limits(store, "histo", [0.0, 0.0], GRID, LUMINOSITY)
    with pytest.raises(InferenceError, match="thetas"):
        expected_limits(store, "rate", [0.0, 0.0], np.zeros((3, 3)), LUMINOSITY)
    with pytest.raises(InferenceError, match="theta_true"):
        expected_limits(store, "rate", GRID[:2], GRID, LUMINOSITY)
    with pytest.raises(InferenceError, match="luminosity"):
        expected_limits(store, "rate", [0.0, 0.0], GRID, -1.0)
    with pytest.raises(InferenceError, match="bins"):
        expected_limits(store, "histo", [0.0, 0.0], GRID, LUMINOSITY, features=["m4l", "Phi"], bins=[3, 3, 3])
    with pytest.raises(InferenceError, match="x_observed"):
        observed_limits(store, "histo", np.zeros((5, 3)), GRID, LUMINOSITY, features="m4l")
    with pytest.raises(InferenceError, match="x_observed"):
        observed_limits(store, "rate", None, GRID, LUMINOSITY)
    with pytest.raises(InferenceError, match="counts"):
        observed_limits(
            store,
            "histo",
            None,
            GRID,
            LUMINOSITY,
            counts=[1.0, 2.0],
            features="m4l",
            bins=[[0.0, 1.0, 2.0, 3.0]],
        )
    with pytest.raises(InferenceError, match="score"):
        expected_limits(toy_store["store"], "sallino", "theta_12", TOY_NAMES, 10.0, estimator=sally)
    with pytest.raises(InferenceError, match="thetas"):  # no morphing: only benchmarks
        expected_limits(toy_store["store"], "rate", "theta_12", [[0.1]], 10.0)
    with pytest.raises(InferenceError, match="interval"):
        expected_limits(store, "rate", [0.0, 0.0], GRID, LUMINOSITY).interval()


def test_a_grid_that_repeats_a_point_gets_one_histogram_per_distinct_point(golden_store):
    store = golden_store["store"]
    grid = [[0.0, 0.0], [0.5, 0.0], [0.0, 0.0]]
    result = expected_limits(store, "histo", "sm", grid, LUMINOSITY, features="m4l", bins=5)
    assert list(result.histograms.axes["theta"]) == ["a2=0,a3=0", "a2=0.5,a3=0"]
    assert result.q[0] == result.q[2] and len(result.q) == 3
    np.testing.assert_allclose(theta_values(result.histograms), [[0.0, 0.0], [0.5, 0.0]])
