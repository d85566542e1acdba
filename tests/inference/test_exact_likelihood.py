"""The exact likelihoods of truth_limits: the unlabelled mixture against a direct computation, and its limit
of a vanishing background (the labelled likelihood)."""

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.errors import InferenceError
from columnminer.inference.likelihood import parameter_grid, resolve_thetas
from columnminer.inference.truth_limits import (
    mixture_expected_limits,
    mixture_log_density,
    truth_expected_limits,
)
from columnminer.io.store import EventStore


def couplings(points):
    return np.concatenate([np.ones((len(points), 1)), np.asarray(points)], axis=1)


@pytest.fixture(scope="module")
def events():
    """Seven events with exactly quadratic weights w(theta) = c^T A c (three of them 'background': constant
    weights), the matching detector-level-like forms and background densities."""
    setup = golden_channel_setup()
    rng = np.random.default_rng(3)
    amplitudes = rng.normal(size=(7, 3, 2))
    amplitudes[4:, 1:] = 0.0  # background: no theta dependence
    w = quadratic_event_weights(amplitudes, setup.parameter_space.benchmark_array()).T * 1e-3
    store = EventStore.create("memory://test-exact", setup, ["m4l"], chunk_size=3)
    store.append(rng.normal(125, 2, (7, 1)), w, np.array([0, 0, 0, 0, -1, -1, -1]))
    forms = rng.normal(size=(7, 3, 2))
    forms = np.einsum("nik,njk->nij", forms, forms)
    background = rng.uniform(0.1, 2.0, 7)
    return {
        "store": store,
        "setup": setup,
        "w_forms": np.einsum("nik,njk->nij", amplitudes, amplitudes) * 1e-3,
        "forms": forms,
        "background": background,
    }


def test_unlabelled_likelihood_equals_direct_computation(events):
    """log L(theta) = sum_x L w_x(SM) log[f(x|theta) / sigma(theta)] + N log(L sigma) - L sigma, with
    f = c^T A c + b and sigma from the weights, written out event by event with numpy; and the sample
    normalisation replaces sigma(theta)/sigma(SM) by sum_x w_x(SM) f(x|theta)/f(x|SM) / sum_x w_x(SM)."""
    store, setup = events["store"], events["setup"]
    grid = parameter_grid([(-0.3, 0.3), (-0.5, 0.5)], [5, 5])
    lum = 3000.0
    c_grid, _ = resolve_thetas(setup, grid)
    c_sm, _ = resolve_thetas(setup, [[0.0, 0.0]])
    w = np.asarray(store.read("weights"))
    for normalisation in ("weights", "sample"):
        result = mixture_expected_limits(
            store,
            events["forms"],
            events["background"],
            couplings,
            [0.0, 0.0],
            grid,
            lum,
            partition=None,
            normalisation=normalisation,
        )
        expected = []
        for point, c in zip(grid, c_grid, strict=True):
            sigma = float(np.sum(w @ c))
            sigma_sm = float(np.sum(w @ c_sm[0]))
            n_total = lum * sigma_sm
            total = 0.0
            norm = 0.0
            for i in range(7):
                cc = np.array([1.0, *point])
                f = cc @ events["forms"][i] @ cc + events["background"][i]
                f_sm = events["forms"][i][0, 0] + events["background"][i]
                total += lum * (w[i] @ c_sm[0]) * np.log(f / f_sm)
                norm += (w[i] @ c_sm[0]) * f / f_sm
            scale = sigma / sigma_sm if normalisation == "weights" else norm / sigma_sm
            total += -n_total * np.log(scale) + n_total * np.log(lum * sigma) - lum * sigma
            expected.append(total)
        expected = np.array(expected)
        assert result.q == pytest.approx(-2 * (expected - expected.max()), rel=1e-9, abs=1e-9)
        assert result.mode == "truth-unlabelled"


def test_unlabelled_reduces_to_labelled_without_background(events):
    """With the parton-level forms (w(theta) = c^T A c per event) and the background density -> 0 at the
    signal events (and no signal density at the background events), the unlabelled likelihood is the
    labelled one, with either normalisation."""
    store = events["store"]
    grid = parameter_grid([(-0.3, 0.3), (-0.5, 0.5)], [5, 5])
    forms = events["w_forms"].copy()
    background = np.where(np.arange(7) < 4, 1e-15, forms[:, 0, 0])
    forms[4:] = 0.0
    labelled = truth_expected_limits(store, [0.0, 0.0], grid, 3000.0, partition=None)
    for normalisation in ("weights", "sample"):
        unlabelled = mixture_expected_limits(
            store,
            forms,
            background,
            couplings,
            [0.0, 0.0],
            grid,
            3000.0,
            partition=None,
            normalisation=normalisation,
        )
        assert unlabelled.q == pytest.approx(labelled.q, rel=1e-6, abs=1e-6)


def test_background_dilutes_the_signal(events):
    """A background density at the signal events flattens the likelihood: the unlabelled q is smaller than
    the labelled one everywhere (a larger region)."""
    store = events["store"]
    grid = parameter_grid([(-0.3, 0.3), (-0.5, 0.5)], [5, 5])
    forms = events["w_forms"].copy()
    forms[4:] = 0.0
    background = np.full(7, forms[:4, 0, 0].mean())
    labelled = truth_expected_limits(store, [0.0, 0.0], grid, 3000.0, partition=None)
    diluted = mixture_expected_limits(
        store, forms, background, couplings, [0.0, 0.0], grid, 3000.0, partition=None
    )
    assert np.all(diluted.q <= labelled.q + 1e-9) and diluted.q.sum() < 0.9 * labelled.q.sum()


def test_bad_inputs(events):
    with pytest.raises(InferenceError, match="signal_forms"):
        mixture_log_density(np.ones((2, 2, 2)), np.ones(2), [[1.0, 0.0, 0.0]])
    with pytest.raises(InferenceError, match="densities for the"):
        mixture_expected_limits(
            events["store"],
            np.ones((3, 3, 3)),
            np.ones(3),
            couplings,
            [0.0, 0.0],
            [[0.0, 0.0]],
            1.0,
            partition=None,
        )
    with pytest.raises(InferenceError, match="normalisation"):
        mixture_expected_limits(
            events["store"],
            events["forms"],
            events["background"],
            couplings,
            [0.0, 0.0],
            [[0.0, 0.0]],
            1.0,
            partition=None,
            normalisation="other",
        )
