"""Systematics: nuisance parameters, their columns, the exponential nuisance morphing and saving."""

import numpy as np
import pytest

from columnminer import AnalysisSetup
from columnminer.errors import ParameterSpaceError, SetupFormatError
from columnminer.systematics import (
    Systematic,
    log_variations,
    nuisance_factor_gradients,
    nuisance_factors,
    nuisance_model,
)


def test_variations_are_reproduced_at_plus_and_minus_one_sigma(rng):
    n = 50
    nominal = rng.uniform(0.5, 2.0, n)
    up, down = nominal * rng.uniform(1.0, 1.3, n), nominal * rng.uniform(0.7, 1.0, n)
    hessian = nominal[:, None] * rng.uniform(0.9, 1.1, (n, 4))
    systematics = [
        Systematic("lumi", "norm", norm_variation=1.05),
        Systematic("mu", "scale"),
        Systematic("pdf", "pdf", pdf_members=4, pdf_kind="hessian"),
    ]
    model = nuisance_model(systematics)
    assert model.nuisance_names == ("lumi", "mu", "pdf_0", "pdf_1")
    weights = np.column_stack([nominal * 1.05, up, down, hessian])
    L = log_variations(weights, nominal)
    points = np.array(
        [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1.0]]
    )
    factors = nuisance_factors(model, L, points)
    np.testing.assert_allclose(factors[:, 0], 1.0)
    np.testing.assert_allclose(factors[:, 1], 1.05)
    np.testing.assert_allclose(factors[:, 2] * nominal, up)
    np.testing.assert_allclose(factors[:, 3] * nominal, down)
    np.testing.assert_allclose(factors[:, 4] * nominal, hessian[:, 0])
    np.testing.assert_allclose(factors[:, 5] * nominal, hessian[:, 3])
    # gradients against central finite differences
    nus = np.array([[0.3, -0.7, 0.2, 1.1]])
    grads = nuisance_factor_gradients(model, L, nus)[:, 0]
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-6
        numeric = (nuisance_factors(model, L, nus + step) - nuisance_factors(model, L, nus - step))[
            :, 0
        ] / 2e-6
        np.testing.assert_allclose(grads[:, j], numeric, rtol=1e-6)


def test_replica_components_reproduce_the_replica_covariance(rng):
    # replicas that vary along two hidden directions: two components carry all the covariance
    n, r = 30, 40
    directions = rng.normal(size=(2, n))
    coefficients = rng.normal(size=(r, 2))
    replicas = 0.02 * coefficients @ directions  # D[r, z] = L_r(z)
    d = replicas - replicas.mean(axis=0)
    u, _, _ = np.linalg.svd(d @ d.T)
    components = u[:, :2] / np.sqrt(r)
    systematic = Systematic(
        "nnpdf", "pdf", pdf_members=r, pdf_kind="replicas", components=tuple(map(tuple, components))
    )
    model = nuisance_model([systematic])
    a, b = model.coefficients(replicas.T)
    np.testing.assert_allclose(a @ a.T, d.T @ d / r, atol=1e-12)
    np.testing.assert_array_equal(b, 0.0)


def test_setup_round_trip_and_errors(morphing_setup, tmp_path):
    morphing_setup.add_systematics("norm", "lumi", norm_variation=1.02)
    morphing_setup.add_systematics("scale", scale="mur", scale_variations=(0.5, 1.0, 2.0))
    morphing_setup.add_systematics("pdf", pdf_variation="CT10", pdf_members=52, pdf_kind="hessian")
    assert morphing_setup.nuisance_parameter_names[:2] == ["lumi", "scale"]
    assert len(morphing_setup.nuisance_parameter_names) == 2 + 26
    assert len(morphing_setup.nuisance_benchmark_names) == 1 + 2 + 52
    loaded = AnalysisSetup.load(morphing_setup.save(tmp_path / "s.json"))
    assert loaded == morphing_setup
    assert loaded.systematics[1].scale == "mur"
    with pytest.raises(Exception, match="exists already"):
        morphing_setup.add_systematics("norm", "lumi")
    with pytest.raises(ParameterSpaceError, match="effect must be one of"):
        Systematic("x", "lumi")
    with pytest.raises(ParameterSpaceError, match="pdf_members"):
        Systematic("x", "pdf")
    data = morphing_setup.to_dict()
    data["systematics"][0]["effect"] = "bogus"
    with pytest.raises(SetupFormatError, match="systematics"):
        AnalysisSetup.from_dict(data)
