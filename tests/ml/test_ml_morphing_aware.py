"""The morphing-aware ratio estimator on a toy whose density is exactly quadratic in theta.

Toy: z ~ p(z|theta) = (1 + theta z)^2 N(z; 0, 1) / (1 + theta^2), x = z + N(0, 0.5). The weight (1 + theta z)^2
is a polynomial of degree 2, so three basis points morph it exactly, and

    p(x|theta) = N(x; 0, sqrt(1.25)) (1 + 2 theta mu + theta^2 (mu^2 + v)) / (1 + theta^2),
    mu = x / 1.25, v = 0.25 / 1.25  (the posterior mean and variance of z given x).
"""

import numpy as np
import pytest
import torch

from columnminer.errors import EstimatorError
from columnminer.ml.base import load_estimator
from columnminer.ml.morphing_aware import MorphingAwareRatioEstimator, MorphingAwareRatioNetwork
from columnminer.ml.ratio import ParameterizedRatioEstimator
from columnminer.morphing import Morpher

SMEAR = 0.5
MORPHER = Morpher([[0], [1], [2]], [[-1.0], [0.0], [1.0]])
THETAS = np.linspace(-1.0, 1.0, 20)


def _sample_z(theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact draws by rejection from 2 (N(z) + theta^2 z^2 N(z)) / (1 + theta^2) >= p(z|theta)."""
    theta = np.asarray(theta, dtype=np.float64)
    z, todo = np.empty_like(theta), np.ones(theta.shape, dtype=bool)
    while todo.any():
        t = theta[todo]
        n = t.size
        from_maxwell = rng.uniform(size=n) < t**2 / (1 + t**2)  # z^2 N(z): |z| ~ chi(3), random sign
        maxwell = np.sqrt(rng.chisquare(3, n)) * rng.choice([-1.0, 1.0], n)
        candidate = np.where(from_maxwell, maxwell, rng.standard_normal(n))
        accept = rng.uniform(size=n) < (1 + t * candidate) ** 2 / (2 * (1 + t**2 * candidate**2))
        rows = np.flatnonzero(todo)[accept]
        z[rows] = candidate[accept]
        todo[rows] = False
    return z


def _log_p_z(z, theta):
    return np.log((1 + theta * z) ** 2 / (1 + theta**2)) - 0.5 * z**2


def _log_p_x(x, theta):
    mu, v = x / (1 + SMEAR**2), SMEAR**2 / (1 + SMEAR**2)
    return np.log((1 + 2 * theta * mu + theta**2 * (mu**2 + v)) / (1 + theta**2)) - 0.5 * x**2 / (
        1 + SMEAR**2
    )


def _ratio_sample(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta0 = rng.uniform(-1, 1, n)
    y = (np.arange(n) >= n // 2).astype(np.float64)
    z = _sample_z(np.where(y == 0, theta0, 0.0), rng)
    x = z + SMEAR * rng.standard_normal(n)
    return {
        "x": x[:, None],
        "theta": theta0[:, None],
        "y": y,
        "r_xz": np.exp(_log_p_z(z, theta0) - _log_p_z(z, 0.0)),
        "t_xz": (2 * z / (1 + theta0 * z) - 2 * theta0 / (1 + theta0**2))[:, None],
    }


@pytest.fixture(scope="module")
def x_eval():
    rng = np.random.default_rng(5)
    return _sample_z(np.full(50, 0.5), rng) + SMEAR * rng.standard_normal(50)


@pytest.fixture(scope="module")
def trained():
    estimator = MorphingAwareRatioEstimator(
        MORPHER, reference=[0.0], n_hidden=(32, 32), activation="tanh"
    )  # small budget
    estimator.train("alices", **_ratio_sample(3000), n_epochs=12, progress=False)
    return estimator


def test_sampler_matches_the_density():
    z = _sample_z(np.full(100_000, 0.7), np.random.default_rng(3))
    assert abs(z.mean() - 2 * 0.7 / (1 + 0.49)) < 0.02  # E[z] = 2 theta / (1 + theta^2)


def test_formula_is_exact_with_the_true_benchmark_densities():
    """With g_b(x) = log dsigma_b(x)/q(x) and k_b = log sigma_b the network's ratio is the exact one."""
    net = MorphingAwareRatioNetwork(MORPHER.components, MORPHER.matrix, 1, hidden=(4,), reference=[0.0])
    net = net.double()
    x = np.linspace(-3, 3, 13)
    mu, v = x / (1 + SMEAR**2), SMEAR**2 / (1 + SMEAR**2)
    tb = MORPHER.basis[:, 0]
    g = torch.tensor(np.log(1 + 2 * tb * mu[:, None] + tb**2 * (mu[:, None] ** 2 + v)))
    with torch.no_grad():
        net.raw_log_xsec.copy_(torch.tensor(np.log(1 + tb**2)) / 10.0)
    for theta0, theta1 in [(-0.8, 0.0), (0.3, 1.0), (2.0, -1.5)]:
        t0 = torch.full((13, 1), theta0, dtype=torch.float64)
        t1 = torch.full((13, 1), theta1, dtype=torch.float64)
        log_r = (net.log_density(g, t0) - net.log_density(g, t1)).detach().numpy()
        np.testing.assert_allclose(log_r, _log_p_x(x, theta0) - _log_p_x(x, theta1), atol=1e-12)


def test_morphing_weights_match_the_morpher():
    thetas = np.random.default_rng(0).normal(size=(9, 2))
    thetas[0] = 0.0
    morpher = Morpher([[2, 0], [1, 1], [0, 2], [1, 0], [0, 1], [0, 0]], thetas[3:])
    net = MorphingAwareRatioNetwork(morpher.components, morpher.matrix, 1, hidden=(4,)).double()
    theta = torch.tensor(thetas, requires_grad=True)
    weights = net.morphing_weights(theta)
    np.testing.assert_allclose(weights.detach().numpy(), morpher.weights(thetas), atol=1e-9)
    (grad,) = torch.autograd.grad(weights[:, 2].sum(), theta)
    np.testing.assert_allclose(grad.numpy(), morpher.weight_gradients(thetas)[:, :, 2], atol=1e-9)
    assert torch.isfinite(grad).all()  # smooth at theta = 0


def test_learns_the_ratio(trained, x_eval):
    exact = _log_p_x(x_eval[None, :], THETAS[:, None]) - _log_p_x(x_eval[None, :], 0.0)
    log_r = trained.evaluate_log_likelihood_ratio(x_eval[:, None], THETAS[:, None])
    assert log_r.shape == (20, 50)
    mse = np.mean((log_r - exact) ** 2)
    assert mse < 0.5 * np.mean(exact**2), (mse, np.mean(exact**2))  # a small budget; tails are hard
    score = trained.evaluate_score(x_eval[:, None], [[0.5]])
    assert score.shape == (1, 50, 1) and np.all(np.isfinite(score))


def test_exact_identities(trained, x_eval):
    x = x_eval[:, None]
    same = trained.evaluate_log_likelihood_ratio(x, [[0.4]], [[0.4]])
    assert np.all(same == 0.0)
    a_ref = trained.evaluate_log_likelihood_ratio(x, [[0.7]])
    b_ref = trained.evaluate_log_likelihood_ratio(x, [[-0.6]])
    a_b = trained.evaluate_log_likelihood_ratio(x, [[0.7]], [[-0.6]])
    np.testing.assert_allclose(a_b, a_ref - b_ref, atol=2e-5)
    log_r, score = trained.evaluate_log_likelihood_ratio(
        x, np.full((50, 1), 0.3), test_all_combinations=False, evaluate_score=True
    )
    assert log_r.shape == (50,) and score.shape == (50, 1)
    # the score does not depend on the reference: finite differences of log r
    eps = 1e-2
    up = trained.evaluate_log_likelihood_ratio(x, [[0.3 + eps]])[0]
    down = trained.evaluate_log_likelihood_ratio(x, [[0.3 - eps]])[0]
    np.testing.assert_allclose(score[:, 0], (up - down) / (2 * eps), atol=5e-3)
    np.testing.assert_allclose(trained.evaluate_score(x, [[0.3]])[0], score, atol=1e-5)
    g, k = trained.evaluate_benchmark_log_densities(x)
    assert g.shape == (50, 3) and k.shape == (3,)


def test_beats_the_plain_estimator_at_equal_budget(trained, x_eval):
    plain = ParameterizedRatioEstimator(n_hidden=(32, 32))
    plain.train("alices", **_ratio_sample(3000), n_epochs=12, progress=False)
    # outside the training range of theta0 the morphing extrapolates, a plain network cannot
    far = np.array([[1.8], [2.5]])
    exact = _log_p_x(x_eval[None, :], far) - _log_p_x(x_eval[None, :], 0.0)
    mse_morph = np.mean((trained.evaluate_log_likelihood_ratio(x_eval[:, None], far) - exact) ** 2)
    mse_plain = np.mean((plain.evaluate_log_likelihood_ratio(x_eval[:, None], far) - exact) ** 2)
    assert mse_morph < mse_plain, (mse_morph, mse_plain)


def test_save_load_round_trip(trained, x_eval, tmp_path):
    trained.save(tmp_path / "morph")
    loaded = load_estimator(tmp_path / "morph")
    assert isinstance(loaded, MorphingAwareRatioEstimator)
    np.testing.assert_allclose(loaded.morpher.matrix, MORPHER.matrix)
    np.testing.assert_allclose(
        loaded.evaluate_log_likelihood_ratio(x_eval[:, None], THETAS[:, None], [[0.2]]),
        trained.evaluate_log_likelihood_ratio(x_eval[:, None], THETAS[:, None], [[0.2]]),
        rtol=1e-6,
        atol=1e-7,
    )


def test_theta1_column_and_errors():
    sample = _ratio_sample(400)
    no_reference = MorphingAwareRatioEstimator(components=[[0], [1], [2]], basis=[[-1.0], [0.0], [1.0]])
    with pytest.raises(EstimatorError, match="reference"):
        no_reference.train("carl", x=sample["x"], y=sample["y"], theta=sample["theta"], n_epochs=1)
    history = no_reference.train(
        "carl",
        x=sample["x"],
        y=sample["y"],
        theta=sample["theta"],
        theta1=np.zeros((400, 1)),
        n_epochs=1,
        progress=False,
    )
    assert history.n_epochs == 1
    with pytest.raises(EstimatorError, match="no theta1"):
        no_reference.evaluate_log_likelihood_ratio(sample["x"][:3], [[0.5]])
    assert no_reference.evaluate_log_likelihood_ratio(sample["x"][:3], [[0.5]], [[0.0]]).shape == (1, 3)
    with pytest.raises(EstimatorError, match="Morpher, or components"):
        MorphingAwareRatioEstimator()
    with pytest.raises(EstimatorError, match="reference must have"):
        MorphingAwareRatioEstimator(MORPHER, reference=[0.0, 1.0])
    with pytest.raises(EstimatorError, match="parameters"):
        MorphingAwareRatioEstimator(MORPHER, reference=[0.0]).train(
            "carl", x=sample["x"], y=sample["y"], theta=np.zeros((400, 2)), n_epochs=1
        )
