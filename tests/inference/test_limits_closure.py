"""The ml limits on Asimov data: the estimator's model normalised on the Asimov events (the best fit is the
true point for any estimator) and the closure check that says whether the estimator can be trusted."""

import warnings

import numpy as np
import pytest

from columnminer.inference.limits import expected_limits, observed_limits

TOY_NAMES = [f"theta_{k}" for k in range(25)]
TRUE = "theta_12"  # theta = 0


def _exact(toy):
    return lambda x, thetas: toy.log_p_x(x[None, :, 0], thetas[:, :1])


def _misnormalised(toy):
    """The exact log density plus 0.3 theta^2: E_true[r_hat] = e^{0.3 theta^2}, as an estimator whose
    normalisation was never calibrated."""
    return lambda x, thetas: toy.log_p_x(x[None, :, 0], thetas[:, :1]) + 0.3 * thetas[:, :1] ** 2


def test_exact_estimator_passes_and_is_normalised_on_the_asimov_events(toy_store):
    common = {"luminosity": 20.0, "include_rate": False}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        result = expected_limits(
            toy_store["store"], "ml", TRUE, TOY_NAMES, estimator=_exact(toy_store["model"]), **common
        )
    assert result.closure is not None and result.closure.passed, result.closure.summary()
    assert result.closure.partition == "test" and result.closure.n_events == pytest.approx(result.n_observed)
    assert result.best_fit == pytest.approx([0.0]) and result.q[12] == 0.0
    # the normalisation removed is the Asimov sample's statistical fluctuation, zero at the true point
    log_c = result.asimov_log_normalisation
    assert log_c[12] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(np.exp(log_c), result.closure.normalisation)
    assert np.all(np.abs(result.closure.normalisation_pull) < 4)
    raw = expected_limits(
        toy_store["store"],
        "ml",
        TRUE,
        TOY_NAMES,
        estimator=_exact(toy_store["model"]),
        asimov_normalisation=False,
        **common,
    )
    total = raw.log_likelihood - result.n_observed * log_c
    np.testing.assert_allclose(
        total - total.max(), result.log_likelihood - result.log_likelihood.max(), atol=1e-6
    )


def test_misnormalised_estimator_is_flagged(toy_store):
    store, toy = toy_store["store"], toy_store["model"]
    common = {"luminosity": 20.0, "include_rate": False}
    exact = expected_limits(store, "ml", TRUE, TOY_NAMES, estimator=_exact(toy), **common)
    with pytest.warns(UserWarning, match="closure check"):
        wrong = expected_limits(store, "ml", TRUE, TOY_NAMES, estimator=_misnormalised(toy), **common)
    assert not wrong.closure.passed and wrong.closure.failed_normalisation.any()
    assert "closure FAILED" in wrong.closure.summary()
    # normalised on the Asimov events, a per-theta factor cancels: same limits as the exact ratio, centred...
    np.testing.assert_allclose(wrong.q, exact.q, atol=1e-6)
    # ... and without that normalisation the factor moves the best fit away from the truth (the failure mode)
    with pytest.warns(UserWarning, match="closure check"):
        raw = expected_limits(
            store, "ml", TRUE, TOY_NAMES, estimator=_misnormalised(toy), asimov_normalisation=False, **common
        )
    assert abs(raw.best_fit[0]) >= 0.5 and raw.p_values[12] < 0.05
    # closure=False: no check, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        quiet = expected_limits(
            store, "ml", TRUE, TOY_NAMES, estimator=_misnormalised(toy), closure=False, **common
        )
    assert quiet.closure is None and quiet.asimov_log_normalisation is not None


def test_observed_limits_have_no_asimov_normalisation(toy_store):
    store, toy = toy_store["store"], toy_store["model"]
    x_obs = toy.simulate(0.0, n=30, seed=5)[0][:, None]
    result = observed_limits(store, "ml", x_obs, TOY_NAMES, 1.0, estimator=_exact(toy), include_rate=False)
    assert result.closure is None and result.asimov_log_normalisation is None
