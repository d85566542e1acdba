"""Augmented samples with nuisance parameters: joint ratios and scores at (theta, nu) against numpy, the
distribution drawn at shifted nuisances, zero-mean nuisance scores, iid nuisance points, options and errors."""

import numpy as np
import pytest
from nuisance_stores import make_nuisance_store

from columnminer.demo import golden_channel_setup
from columnminer.errors import MorphingError, StoreError
from columnminer.io.store import EventStore
from columnminer.sampling import (
    SampleAugmenter,
    benchmark,
    fixed_nuisances,
    iid_nuisances,
    morphing_point,
    nominal_nuisances,
    random_morphing_points,
)
from columnminer.weights import theta_coefficients, theta_gradient_coefficients

OPTIONS = {"partition": None, "sample_only_from_closest_benchmark": False, "write": False}


@pytest.fixture(scope="module")
def store_and_raw():
    return make_nuisance_store("memory://test-augmenter-nuisances")


def _exact(store, raw, theta, nu):
    """numpy: per-event w(z|theta, nu), dw/dtheta / w, a + 2 b nu, and sigma, grad_theta sigma, grad_nu sigma."""
    model = store.setup.nuisance_model()
    log_ratios = np.log(store.read("nuisance_weights") / raw["w0"][:, None])
    a, b = model.coefficients(log_ratios)
    c = theta_coefficients(store.setup, theta)[0]
    dc = theta_gradient_coefficients(store.setup, theta)[0]
    nu = np.asarray(nu, dtype=float)
    factor = np.exp(a @ nu + b @ nu**2)
    w = raw["weights"] @ c * factor
    dw = (raw["weights"] @ dc.T) * factor[:, None]
    dnu = a + 2 * b * nu
    sigma = w.sum()
    return w, dw / w[:, None], dnu, sigma, dw.sum(axis=0), (w[:, None] * dnu).sum(axis=0)


def test_joint_ratio_and_score_at_theta_and_nu_match_numpy(store_and_raw):
    store, raw = store_and_raw
    theta0, nu0 = [0.3, 0.1], [1.0, -0.7]
    sample = SampleAugmenter(store).sample_train_ratio(
        morphing_point(theta0), benchmark("sm"), 3000, nu0=fixed_nuisances(nu0), seed=4, **OPTIONS
    )
    assert sample["t_xz0"].shape == (3000, 4)  # a2, a3, lumi, mu
    np.testing.assert_array_equal(sample["nu0"], np.tile(nu0, (3000, 1)))
    np.testing.assert_array_equal(sample["nu1"], np.zeros((3000, 2)))
    w0, dlogw0, dnu0, sigma0, dsigma0, dnusigma0 = _exact(store, raw, np.array([theta0]), nu0)
    w1, *_, sigma1, _, _ = _exact(store, raw, "sm", [0.0, 0.0])
    e = sample["event"]
    np.testing.assert_allclose(sample["r_xz"], (w0[e] / sigma0) / (w1[e] / sigma1), rtol=1e-10)
    expected = np.hstack([dlogw0[e] - dsigma0 / sigma0, dnu0[e] - dnusigma0 / sigma0])
    np.testing.assert_allclose(sample["t_xz0"], expected, rtol=1e-9, atol=1e-12)
    assert sample.attrs["nuisance_parameters"] == ["lumi", "mu"] and sample.attrs["nuisance_score"]


def test_events_are_drawn_from_the_shifted_distribution(store_and_raw):
    store, raw = store_and_raw
    nu = [0.0, 2.5]  # the shape nuisance: w (1 + 0.2 s)^{2.5}-like tilt towards large x
    sample = SampleAugmenter(store).sample_train_local(
        benchmark("sm"), 20_000, nu0=fixed_nuisances(nu), seed=2, **OPTIONS
    )
    w, *_ = _exact(store, raw, "sm", nu)
    w_nominal, *_ = _exact(store, raw, "sm", [0.0, 0.0])
    x = raw["x"]
    expected, nominal = np.sum(w * x) / w.sum(), np.sum(w_nominal * x) / w_nominal.sum()
    error = np.std(sample["x"][:, 0]) / np.sqrt(len(sample["x"]))
    assert abs(np.mean(sample["x"][:, 0]) - expected) < 4 * error
    assert abs(expected - nominal) > 15 * error  # the test can tell the shift apart


def test_nuisance_scores_have_zero_mean_where_drawn(store_and_raw):
    store, _ = store_and_raw
    sample = SampleAugmenter(store).sample_train_local(
        benchmark("sm"), 20_000, nu0=fixed_nuisances([0.5, -1.0]), seed=3, **OPTIONS
    )
    t = sample["t_xz0"]
    np.testing.assert_array_less(np.abs(t.mean(axis=0)), 4 * t.std(axis=0) / np.sqrt(len(t)) + 1e-12)


def test_iid_nuisances_one_point_per_draw_point(store_and_raw):
    store, _ = store_and_raw
    sample = SampleAugmenter(store).sample_train_local(
        benchmark("sm"), 4000, nu0=iid_nuisances(n_points=400), seed=5, **OPTIONS
    )
    points = np.unique(sample["nu0"], axis=0)
    assert len(points) == 400
    assert abs(points.mean()) < 0.15 and abs(points.std() - 1.0) < 0.15
    ratio = SampleAugmenter(store).sample_train_ratio(
        random_morphing_points(20, [("flat", -0.5, 0.5)] * 2),
        benchmark("sm"),
        2000,
        nu0=iid_nuisances(),
        nu1=nominal_nuisances(),
        seed=6,
        **OPTIONS,
    )
    pairs = np.unique(np.hstack([ratio["theta0"], ratio["nu0"]]), axis=0)
    assert len(pairs) == 20  # one nuisance point per theta0 point, shared by the y = 0 and y = 1 rows
    assert np.all(ratio["nu1"] == 0.0)


def test_options_and_errors(store_and_raw):
    store, _ = store_and_raw
    augmenter = SampleAugmenter(store)
    plain = augmenter.sample_train_local(
        benchmark("sm"), 500, nu0=fixed_nuisances([1.0, 0.0]), nuisance_score=False, **OPTIONS
    )
    assert plain["t_xz0"].shape == (500, 2)
    auto = augmenter.sample_train_local(benchmark("sm"), 500, **OPTIONS)
    assert auto["t_xz0"].shape == (500, 4) and np.all(auto["nu0"] == 0.0)
    # the physics score at nominal nuisances is the score without nuisances
    without = augmenter.sample_train_local(benchmark("sm"), 500, nuisance_score=False, **OPTIONS)
    np.testing.assert_allclose(auto["t_xz0"][:, :2], without["t_xz0"], rtol=1e-10, atol=1e-12)
    with pytest.raises(MorphingError, match="NuisanceSampler"):
        augmenter.sample_train_local(benchmark("sm"), 10, nu0=[1.0, 0.0], **OPTIONS)
    with pytest.raises(MorphingError, match="pair up"):
        augmenter.sample_train_local(
            random_morphing_points(3, [("flat", -1, 1)] * 2), 10, nu0=iid_nuisances(n_points=5), **OPTIONS
        )
    with pytest.raises(MorphingError, match="additional_thetas"):
        augmenter.sample_train_more_ratios(
            morphing_point([0.2, 0.0]), benchmark("sm"), 100, additional_thetas=2, **OPTIONS
        )
    with pytest.raises(MorphingError, match="nuisance_score"):
        augmenter.sample_train_local(benchmark("sm"), 10, nuisance_score="yes", **OPTIONS)
    plain_store = EventStore.create("memory://test-augmenter-no-nuisances", golden_channel_setup(), ["x"])
    plain_store.append(np.zeros((20, 1)), np.ones((20, 6)), 0)
    no_nuisances = SampleAugmenter(plain_store)
    assert "nu0" not in no_nuisances.sample_train_local(benchmark("sm"), 10, **OPTIONS).arrays
    with pytest.raises(StoreError, match="nuisance"):
        no_nuisances.sample_train_local(benchmark("sm"), 10, nu0=nominal_nuisances(), **OPTIONS)


def test_sally_with_nuisance_scores_learns_the_profiled_information():
    """SALLY on (a2, a3, lumi, mu) scores without background, where x determines z and t(x) = t(x, z): its
    information on (a2, mu) matches the exact one, and profiling mu removes what the exact matrix says."""
    from columnminer.inference.fisher import profile_information
    from columnminer.ml import ScoreEstimator, TrainingOptions

    store, raw = make_nuisance_store("memory://test-augmenter-sally", background=False)
    sample = SampleAugmenter(store).sample_train_local(benchmark("sm"), 6000, seed=7, **OPTIONS)
    sally = ScoreEstimator(n_hidden=(32,))
    options = TrainingOptions(n_epochs=25, batch_size=64, initial_lr=3e-3, final_lr=3e-4, progress=False)
    sally.train("sally", x=sample["x"], t_xz=sample["t_xz0"], options=options)
    w, dlogw, dnu, sigma, dsigma, dnusigma = _exact(store, raw, "sm", [0.0, 0.0])
    t = np.hstack([dlogw - dsigma / sigma, dnu - dnusigma / sigma])[:, [0, 3]]  # a2, mu
    luminosity = 1000.0
    exact = luminosity * (w[:, None] * t).T @ t
    x = store.read("observables")
    learned = sally.calculate_fisher_information(x, weights=w, n_events=luminosity * sigma)[
        np.ix_([0, 3], [0, 3])
    ]
    np.testing.assert_allclose(np.diag(learned), np.diag(exact), rtol=0.15)
    # the mu tilt, exp(nu log(1 + 0.2 x)) ~ 1 + 0.2 x nu, mimics a2's (1 + x) dependence: profiling it leaves
    # almost no information on a2, and the learned scores see the same degeneracy
    profiled_exact = profile_information(exact, [0])[0][0, 0]
    profiled_learned = profile_information(learned, [0])[0][0, 0]
    assert profiled_exact < 0.01 * exact[0, 0]
    assert profiled_learned < 0.05 * learned[0, 0]
    # n_events scales the information linearly
    np.testing.assert_allclose(
        sally.calculate_fisher_information(x, weights=w)[0, 0],
        learned[0, 0] / (luminosity * sigma),
        rtol=1e-10,
    )
