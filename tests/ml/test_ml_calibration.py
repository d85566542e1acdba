"""Calibration and closure of ratio estimators on held-out store events (columnminer.ml.calibration).

Toy with exact morphing: z ~ N(0, 1) generated at theta = 0, dsigma(z|theta) = (1 + theta z)^2 N(z) (a
polynomial of degree 2, so the three benchmarks theta = 0, -1, 1 morph it exactly), x = z + N(0, 0.5), and

    p(x|theta) = N(x; 0, sqrt(1.25)) (1 + 2 theta mu + theta^2 (mu^2 + v)) / (1 + theta^2),
    mu = x / 1.25, v = 0.25 / 1.25.
"""

import numpy as np
import pytest
import torch

from columnminer import AnalysisSetup
from columnminer.errors import EstimatorError
from columnminer.io.store import EventStore
from columnminer.ml import (
    CalibratedRatioEstimator,
    MorphingAwareRatioEstimator,
    calibrate_ratio,
    load_estimator,
    ratio_closure,
)
from columnminer.ml.morphing_aware import XSEC_STEP

SMEAR = 0.5
N_EVENTS = 20_000
THETAS = np.linspace(-1.0, 1.0, 9)[:, None]
#: Expected events of the "measurement" the closure effects are scaled to.
N_MEASURED = 10.0


def _log_p_x(x, theta):
    mu, v = x / (1 + SMEAR**2), SMEAR**2 / (1 + SMEAR**2)
    shape = (1 + 2 * theta * mu + theta**2 * (mu**2 + v)) / (1 + theta**2)
    return np.log(shape) - 0.5 * x**2 / (1 + SMEAR**2)


def exact(x, thetas):
    """The exact log p(x|theta) [T, n] in the estimators' calling convention."""
    return _log_p_x(x[None, :, 0], thetas[:, :1])


@pytest.fixture(scope="module")
def store():
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", morphing_max_power=2, parameter_range=(-1.0, 1.0))
    for name, value in (("sm", 0.0), ("minus", -1.0), ("plus", 1.0)):
        setup.add_benchmark([value], name=name)
    setup.set_morphing_basis(["sm", "minus", "plus"])
    rng = np.random.default_rng(1)
    z = rng.standard_normal(N_EVENTS)
    x = z + SMEAR * rng.standard_normal(N_EVENTS)
    weights = (1 + np.array([0.0, -1.0, 1.0])[None, :] * z[:, None]) ** 2 / N_EVENTS
    store = EventStore.create("memory://test-ml-calibration", setup, ["x"], chunk_size=5000)
    store.append(x[:, None], weights, 0)
    return store


def test_exact_ratio_passes_closure(store):
    closure = ratio_closure(exact, store, THETAS, theta_ref=[0.0], n_events=N_MEASURED)
    assert closure.passed, closure.summary()
    assert closure.partition == "test" and 1500 < closure.n_sample < 2500
    np.testing.assert_allclose(closure.normalisation, 1.0, atol=4 * closure.normalisation_error.max())
    assert np.all(np.abs(closure.normalisation_pull) < 4)
    np.testing.assert_allclose(closure.inverse_normalisation, 1.0, atol=0.05)
    # learned (normalised) Asimov log-likelihood: <= 0, zero at the reference, not below the parton level
    assert np.all(closure.log_likelihood <= 1e-12) and closure.log_likelihood[4] == pytest.approx(
        0, abs=1e-12
    )
    assert np.all(closure.log_likelihood >= closure.log_likelihood_truth - 4 * closure.log_likelihood_error)
    assert np.all(closure.q_learned <= closure.q_truth + 1.0)
    assert "closure passed" in closure.summary() and closure.to_dict()["passed"] is True


def test_misnormalised_estimator_is_detected_and_calibrated(store):
    """log r_hat = log r + 0.2 theta^2: E_SM[r_hat] = e^{0.2 theta^2}, 20 % off at theta = +-1."""

    def wrong(x, thetas):
        return exact(x, thetas) + 0.2 * thetas[:, :1] ** 2

    closure = ratio_closure(wrong, store, THETAS, theta_ref=[0.0], n_events=N_MEASURED)
    assert not closure.passed and "closure FAILED" in closure.summary()
    np.testing.assert_allclose(closure.normalisation, np.exp(0.2 * THETAS[:, 0] ** 2), rtol=0.02)
    assert closure.failed_normalisation[[0, 1, 7, 8]].all() and not closure.failed_normalisation[4]
    assert not closure.failed_sharpness.any()
    # the q shift it would cause: 2 N log E[r_hat]
    assert closure.q_shift[0] == pytest.approx(2 * N_MEASURED * 0.2, rel=0.1)

    result = calibrate_ratio(wrong, store, "validation", theta_ref="sm")
    calibrated = result.estimator
    assert isinstance(calibrated, CalibratedRatioEstimator) and result.log_xsec_shifts is None
    assert result.partition == "validation" and result.n_effective == pytest.approx(result.n_events)
    assert result.n_events > 1500
    # the offset, plus the statistical fluctuation of the exact ratio's mean over the validation events
    noise = calibrate_ratio(exact, store, "validation", theta_ref=[0.0]).estimator.log_normalisation(THETAS)
    assert np.abs(noise).max() < 0.1
    np.testing.assert_allclose(
        calibrated.log_normalisation(THETAS), 0.2 * THETAS[:, 0] ** 2 + noise, atol=1e-9
    )
    x = np.linspace(-2, 2, 5)[:, None]
    np.testing.assert_allclose(
        calibrated.evaluate_log_likelihood_ratio(x, THETAS),
        exact(x, THETAS)
        - exact(x, np.zeros((1, 1)))
        + 0.2 * THETAS**2
        - calibrated.log_normalisation(THETAS)[:, None],
        atol=1e-12,
    )
    fixed = ratio_closure(calibrated, store, THETAS, n_events=N_MEASURED)  # theta_ref from the calibration
    assert fixed.passed, fixed.summary()
    assert fixed.calibration_events == pytest.approx(result.n_effective)
    # on its own calibration events the normalisation is 1 by construction: said in a note
    own = ratio_closure(calibrated, store, THETAS, partition="validation")
    np.testing.assert_allclose(own.normalisation, 1.0, atol=1e-9)
    assert own.notes and "not independent" in own.notes[0]
    with pytest.raises(EstimatorError, match="theta1"):
        calibrated.evaluate_log_likelihood_ratio(x, THETAS, theta1=[[0.5]])
    with pytest.warns(UserWarning, match="Asimov data"):
        calibrate_ratio(wrong, store, "test", theta_ref=[0.0])


def test_overconfident_estimator_fails_and_histogram_calibration_fixes_it(store):
    """log r_hat = 3 log r: normalisation off and an Asimov likelihood falling faster than the parton-level
    one. The CARL histogram calibration of its output (a monotonic function of the exact log r) restores
    both."""

    def sharp(x, thetas):
        return 3.0 * (exact(x, thetas) - exact(x, np.zeros((1, 1))))

    closure = ratio_closure(sharp, store, THETAS, theta_ref=[0.0], n_events=N_MEASURED)
    assert not closure.passed and closure.failed_sharpness.any()
    assert np.any(closure.q_learned > closure.q_truth + 1.0)

    result = calibrate_ratio(sharp, store, "validation", theta_ref=[0.0], method="histogram", bins=20)
    assert result.method == "histogram" and result.estimator.calibration_info["method"] == "histogram"
    fixed = ratio_closure(result.estimator, store, THETAS, n_events=N_MEASURED)
    assert fixed.passed, fixed.summary()
    reference = ratio_closure(exact, store, THETAS, theta_ref=[0.0], n_events=N_MEASURED)
    # binning loses a little information, never adds any
    np.testing.assert_allclose(fixed.q_learned, reference.q_learned, rtol=0.25, atol=0.5)
    x = np.linspace(-2, 2, 7)[:, None]
    assert np.all(result.estimator.evaluate_log_likelihood_ratio(x, [[0.0]]) == 0.0)


def test_morphing_aware_estimator_is_calibrated_in_place(store, tmp_path):
    rng = np.random.default_rng(3)
    n = 4000
    theta0 = rng.uniform(-1, 1, n)
    y = (np.arange(n) >= n // 2).astype(np.float64)
    z = rng.standard_normal(n)  # carl only needs x, theta, y: draw x at theta0 by reweighting-free rejection
    keep = rng.uniform(size=n) < (1 + np.where(y == 0, theta0, 0.0) * z) ** 2 / (1 + np.abs(z)) ** 2
    x = (z + SMEAR * rng.standard_normal(n))[keep]
    estimator = MorphingAwareRatioEstimator(store.setup.morpher, reference=[0.0], n_hidden=(8,))
    estimator.train("carl", x=x[:, None], theta=theta0[keep, None], y=y[keep], n_epochs=2, progress=False)
    with torch.no_grad():  # deliberately wrong log cross sections
        estimator.model.raw_log_xsec.add_(torch.tensor([0.0, 0.3, -0.3]) / XSEC_STEP)
    before = ratio_closure(estimator, store, THETAS, n_events=N_MEASURED)
    assert not before.passed

    result = calibrate_ratio(estimator, store)  # validation events, theta_ref = the estimator's reference
    assert result.estimator is estimator and result.log_xsec_shifts.shape == (3,)
    assert estimator.calibration_info["partition"] == "validation"
    # exact for every theta at once, also between the grid points
    thetas = np.concatenate([THETAS, [[0.37], [-0.81]]])
    own = ratio_closure(estimator, store, thetas, partition="validation")
    np.testing.assert_allclose(own.normalisation, 1.0, atol=1e-5)
    after = ratio_closure(estimator, store, THETAS, n_events=N_MEASURED)
    assert after.passed, after.summary()
    # the calibration lives in the saved weights
    estimator.save(tmp_path / "ma")
    loaded = load_estimator(tmp_path / "ma")
    x_eval = np.linspace(-2, 2, 5)[:, None]
    np.testing.assert_allclose(
        loaded.evaluate_log_likelihood_ratio(x_eval, THETAS),
        estimator.evaluate_log_likelihood_ratio(x_eval, THETAS),
        atol=1e-6,
    )


def test_errors(store):
    with pytest.raises(EstimatorError, match="theta_ref"):
        calibrate_ratio(exact, store)
    with pytest.raises(EstimatorError, match="unknown calibration"):
        calibrate_ratio(exact, store, theta_ref=[0.0], method="isotonic")
    with pytest.raises(Exception, match="weights must have shape"):
        ratio_closure(exact, store, THETAS, theta_ref=[0.0], events=(np.zeros((5, 1)), np.ones((5, 2))))
