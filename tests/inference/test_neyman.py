"""Event-level likelihood models: they reproduce the limits, cover as Wilks says where it applies, flag a
mis-specified model, and give Neyman critical values where Wilks fails."""

import numpy as np
import pytest
from scipy import stats

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.errors import InferenceError
from columnminer.inference.likelihood import parameter_grid, resolve_thetas
from columnminer.inference.limits import expected_limits
from columnminer.inference.neyman import (
    EventModel,
    gather_event_sample,
    neyman_critical_values,
    toy_coverage,
)
from columnminer.inference.truth_limits import truth_expected_limits, truth_log_density
from columnminer.io.store import EventStore

GRID = parameter_grid([(-0.5, 0.5), (-0.5, 0.5)], [21, 21])
CENTRE = 220  # (0, 0)


def _gaussian(n_events=5000, n_expected=200.0, width=1.0, seed=0):
    """x ~ N(0, 1) in 2-d, model log f = -|x - theta|^2 / (2 width^2): exact for width 1."""
    x = np.random.default_rng(seed).normal(size=(n_events, 2))
    log_density = -0.5 * np.sum((x[:, None, :] - GRID[None, :, :]) ** 2, axis=-1) / width**2
    weights = np.full((n_events, 1), n_expected / n_events)
    return EventModel(
        f"w{width}", GRID, np.ones((len(GRID), 1)), CENTRE, weights, 1.0, log_density=log_density
    )


def test_gaussian_coverage_is_nominal_and_misspecification_is_flagged():
    """Unbinned toys of an exactly Gaussian problem cover at 68.3 / 95.4 % within their binomial errors; a model
    with a width 0.7 times the true one (q inflated by 1 / 0.49) under-covers and is flagged. The Neyman
    critical values from half the toys repair it on the other half."""
    exact, wrong = _gaussian(), _gaussian(width=0.7)
    result = toy_coverage([exact, wrong], n_toys=1500, seed=4)
    good, bad = result["w1.0"], result["w0.7"]
    assert good.n_toys == 1500 and good.method == "w1.0"
    assert np.all(np.abs(good.pulls()) < 3.5), good.fractions
    assert good.is_nominal(0.02)
    assert np.all(good.neyman_thresholds == pytest.approx(stats.chi2.ppf(good.levels, 2), rel=0.15))
    assert bad.fractions[0] < 0.5 and np.all(bad.pulls() < -5) and not bad.is_nominal(0.02)
    assert np.all(np.abs(bad.neyman_fractions - bad.levels) < 4 * bad.neyman_errors + 0.01)
    assert good.at_edge == 0.0


def test_wilks_fails_for_one_constrained_direction_and_neyman_fixes_it():
    """A likelihood that constrains only theta_1 (like the rate alone): q(theta_true) ~ chi^2_1, so the 2-dof
    Wilks region over-covers and the toy critical values are the 1-dof quantiles (0.99, 4.0)."""
    x = np.random.default_rng(1).normal(size=4000)
    log_density = -0.5 * (x[:, None] - GRID[None, :, 0]) ** 2
    model = EventModel(
        "one", GRID, np.ones((len(GRID), 1)), CENTRE, np.full((4000, 1), 0.05), 1.0, log_density=log_density
    )
    result = toy_coverage([model], n_toys=800, seed=2)["one"]
    assert result.fractions[0] > 0.8 and not result.is_nominal(0.02)
    critical = neyman_critical_values(model, n_toys=800, seed=5)[0]
    assert critical == pytest.approx(stats.chi2.ppf([0.6827, 0.9545], 1), rel=0.2)


@pytest.fixture(scope="module")
def small_store():
    """400 golden-channel-like events with exactly quadratic weights and two observables."""
    setup = golden_channel_setup()
    rng = np.random.default_rng(0)
    couplings = rng.normal(size=(600, 3, 2))
    w = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T * 1e-3
    x = np.column_stack([couplings[:, 1, 0], couplings[:, 2, 1]]) + 0.1 * rng.normal(size=(600, 2))
    store = EventStore.create("memory://test-neyman", setup, ["u", "v"], chunk_size=150)
    store.append(x, w, np.zeros(600, dtype=int))
    return store


def test_event_models_reproduce_expected_limits(small_store):
    """The Asimov q of the rate, histogram, unbinned-estimator and exact-weight models equals that of
    expected_limits / truth_expected_limits point by point; with the estimator normalised on the events
    ("sample") the maximum is at theta_true."""
    store = small_store
    grid = parameter_grid([(-0.4, 0.4), (-0.4, 0.4)], [9, 9])
    sample = gather_event_sample(store, None)
    lum = 2000.0

    def density(x, thetas):  # any callable log density of the events
        return -0.5 * ((x[None, :, 0] - thetas[:, :1]) ** 2 + (x[None, :, 1] - thetas[:, 1:]) ** 2)

    kw = {"partition": None, "return_histograms": False}
    # the ml limits normalise the estimator on the Asimov events ("sample")
    normalisation, ml_kw = "sample", {"asimov_normalisation": True, "closure": False}
    pairs = [
        (EventModel.rate(sample, grid, [0, 0], lum), expected_limits(store, "rate", [0, 0], grid, lum, **kw)),
        (
            EventModel.binned(sample, sample.x, 3, grid, [0, 0], lum),
            expected_limits(store, "histo", [0, 0], grid, lum, features=["u", "v"], bins=3, **kw),
        ),
        (
            EventModel.unbinned(sample, density(sample.x, grid).T, grid, [0, 0], lum, normalisation),
            expected_limits(store, "ml", [0, 0], grid, lum, estimator=density, **kw, **ml_kw),
        ),
        (
            EventModel.unbinned(
                sample,
                truth_log_density(sample.weights, resolve_thetas(sample.setup, grid)[0]),
                grid,
                [0, 0],
                lum,
                "none",
            ),
            truth_expected_limits(store, [0, 0], grid, lum, partition=None),
        ),
    ]
    for model, result in pairs:
        assert model.asimov_q() == pytest.approx(result.q, abs=1e-4 * max(1.0, result.q.max()))
    sampled = EventModel.unbinned(sample, density(sample.x, grid).T, grid, [0, 0], lum, "sample")
    assert sampled.asimov_q()[sampled.true_index] == 0.0


def test_toy_q_of_binned_model_matches_poisson_bins(small_store):
    """Per-event Poisson toys summed into bins give the binned likelihood: q(true) of the rate model equals the
    Poisson formula 2 [n log(n / nu_best) - (n - nu_best)] evaluated over the grid."""
    sample = gather_event_sample(small_store, None)
    grid = parameter_grid([(-0.4, 0.4), (-0.4, 0.4)], [9, 9])
    model = EventModel.rate(sample, grid, [0, 0], 500.0)
    counts = np.random.default_rng(0).poisson(model.expected_counts()[None, :], size=(50, sample.n_events))
    ll = model.log_likelihood(counts)
    nu = 500.0 * model.coefficients @ sample.weights.sum(axis=0)
    n = counts.sum(axis=1)
    assert ll == pytest.approx(n[:, None] * np.log(nu)[None, :] - nu[None, :], rel=1e-9)


def test_models_must_share_events(small_store):
    sample = gather_event_sample(small_store, None)
    grid = parameter_grid([(-0.4, 0.4), (-0.4, 0.4)], [9, 9])
    a = EventModel.rate(sample, grid, [0, 0], 500.0, name="a")
    b = EventModel.rate(sample, grid, [0, 0], 900.0, name="b")
    with pytest.raises(InferenceError, match="same events"):
        toy_coverage([a, b], n_toys=10)
    with pytest.raises(InferenceError, match="grid points"):
        EventModel.rate(sample, grid, [0.05, 0.0], 500.0)
    with pytest.raises(InferenceError, match="not both or neither"):
        EventModel("x", grid, a.coefficients, 40, sample.weights, 1.0)
