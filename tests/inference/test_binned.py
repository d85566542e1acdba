"""Binned weight sums over the store against plain numpy histograms of the morphed weights."""

import numpy as np
import pytest

from columnminer.errors import InferenceError
from columnminer.inference.binned import (
    ChunkColumns,
    binned_weights,
    reduce_chunks,
    weighted_quantile_edges,
)
from columnminer.io.store import EventStore
from columnminer.thetas import benchmark_index
from columnminer.weights import theta_coefficients, theta_gradient_coefficients

N = 1000


@pytest.fixture
def store(morphing_setup, tmp_path):
    rng = np.random.default_rng(7)
    observables = np.column_stack([rng.normal(size=N), rng.uniform(0, 10, N)])
    observables[5, 0] = np.nan
    weights = rng.uniform(0.01, 1.0, size=(N, morphing_setup.parameter_space.n_benchmarks))
    s = EventStore.create(str(tmp_path / "s.zarr"), morphing_setup, ["a", "b"], chunk_size=128)
    s.append(observables, weights, 0)
    return s, observables, weights


def numpy_reference(observables, weights, c, edges):
    w = weights @ c
    a = np.clip(observables[:, 0], edges[0] + 1e-12, edges[-1] - 1e-12)
    return np.histogram(a, bins=edges, weights=w)[0]


def test_morphed_bin_cross_sections_equal_numpy(store):
    s, observables, weights = store
    edges = np.array([-1.0, -0.3, 0.0, 0.4, 1.5])
    binned = binned_weights(s, "a", edges)
    thetas = np.array([[0.0, 0.0], [0.5, -0.7], [-1.0, 1.0]])
    coefficients = theta_coefficients(s.setup, thetas)
    expected = np.stack([numpy_reference(observables, weights, c, edges) for c in coefficients])
    np.testing.assert_allclose(binned.cross_sections(thetas), expected, rtol=1e-12)
    # the NaN event is in no bin, every other event is (flow into the edge bins)
    assert binned.n_outside == 1
    assert binned.counts.sum() == N - 1
    # gradients: the same sums with the gradient coefficients
    grads = theta_gradient_coefficients(s.setup, thetas)
    for t in range(len(thetas)):
        for i in range(2):
            np.testing.assert_allclose(
                binned.cross_section_gradients(thetas)[t, i],
                numpy_reference(observables, weights, grads[t, i], edges),
                rtol=1e-10,
                atol=1e-12,
            )
    # Monte Carlo errors: sqrt(sum w^2) per bin
    w = weights @ coefficients[1]
    a = np.clip(observables[:, 0], edges[0] + 1e-12, edges[-1] - 1e-12)
    np.testing.assert_allclose(
        binned.cross_section_errors(thetas[1])[0], np.sqrt(np.histogram(a, edges, weights=w**2)[0])
    )


def test_two_dimensions_cuts_efficiencies_partition(store):
    s, observables, weights = store
    edges = [np.array([-3.0, 0.0, 3.0]), np.array([0.0, 2.0, 5.0, 10.0])]
    binned = binned_weights(
        s,
        ["a", lambda c: c["b"]],
        edges,
        partition="test",
        cuts=[lambda c: c["b"] > 1.0],
        efficiencies=[lambda c: np.full(c.n_events, 0.5)],
        flow=False,
    )
    mask = s.partition_mask("test") & (observables[:, 1] > 1.0)
    fraction = s.partition_spec["fractions"]["test"]
    w = weights[mask, 0] * 0.5 / fraction
    expected = np.histogram2d(observables[mask, 0], observables[mask, 1], bins=edges, weights=w)[0]
    np.testing.assert_allclose(binned.cross_sections(benchmark_index(0))[0], expected, rtol=1e-12)
    h = binned.to_hist(benchmark_index(0), luminosity=10.0)
    assert h.axes.name == ("theta", "a", "<lambda>") and list(h.axes["theta"]) == [s.benchmark_names[0]]
    np.testing.assert_allclose(h[{"theta": s.benchmark_names[0]}].values(), 10.0 * expected)


def test_reduce_chunks_sees_every_committed_event_once(store):
    s, _, weights = store
    rows = np.concatenate(reduce_chunks(s, lambda c: c.rows))
    np.testing.assert_array_equal(rows, np.arange(N))
    total = sum(reduce_chunks(s, lambda c, k: c.weights[:, k].sum(), 2))
    assert total == pytest.approx(weights[:, 2].sum())
    columns = ChunkColumns(("a", "b"), np.zeros((2, 2)), np.zeros((2, 6)), np.arange(2))
    with pytest.raises(KeyError, match="no observable 'c'"):
        columns["c"]


def test_weighted_quantile_edges_equalise_the_cross_section(store):
    s = store[0]
    edges = weighted_quantile_edges(s, "b", [0.3, 0.2], 5)
    assert len(edges) == 6 and np.all(np.diff(edges) > 0)
    per_bin = binned_weights(s, "b", edges).cross_sections([0.3, 0.2])[0]
    np.testing.assert_allclose(per_bin / per_bin.sum(), 0.2, atol=0.01)


def test_bad_definitions_are_named(store):
    s, _, _ = store
    with pytest.raises(InferenceError, match="cut 'bad'"):

        def bad(c):
            return np.ones(3)

        binned_weights(s, "a", [0.0, 1.0], cuts=[bad])
    with pytest.raises(InferenceError, match="increasing"):
        binned_weights(s, "a", [1.0, 0.0])
    with pytest.raises(InferenceError, match="2 dimensions but bins has 1"):
        binned_weights(s, lambda c: c.x, [0.0, 1.0])
    empty = EventStore.create("memory://binned-empty", s.setup, ["a"], partition_fractions=(1.0, 0.0, 0.0))
    with pytest.raises(InferenceError, match="holds no events"):
        binned_weights(empty, "a", [0.0, 1.0])
    empty.append(np.zeros((3, 1)), np.ones((3, 6)), 0)
    with pytest.raises(InferenceError, match="partition 'test' holds no events"):
        binned_weights(empty, "a", [0.0, 1.0], partition="test")


def test_chunks_emptied_by_cuts_contribute_nothing(store):
    """A chunk with no events left after the cuts (here the first 128 rows) must not break the reduction."""
    s, observables, weights = store
    cut = lambda columns: columns.rows >= 128  # noqa: E731
    binned = binned_weights(s, "b", [0.0, 5.0, 10.0], cuts=[cut])
    keep = np.arange(N) >= 128
    expected = np.histogram(observables[keep, 1], [0.0, 5.0, 10.0], weights=weights[keep, 0])[0]
    np.testing.assert_allclose(binned.sums[:, 0], expected, rtol=1e-12)


def test_binned_kernel_is_bincount_bit_for_bit(store):
    """The compiled per-bin sums add in np.bincount's order: identical bits, and the GIL released."""
    from columnminer.inference.binned import ChunkColumns, _binned_kernel, _chunk_binned, bin_index

    _, observables, weights = store
    edges = (np.linspace(-2.0, 2.0, 9), np.array([0.0, 5.0, 10.0]))
    columns = ChunkColumns(("a", "b"), observables, weights, np.arange(N))
    sums, gram, counts, outside = _chunk_binned(columns, ["a", "b"], edges, False)
    flat, keep = bin_index(observables, edges, False)
    flat, w = flat[keep], weights[keep]
    n_bins, b = 16, weights.shape[1]
    assert np.array_equal(sums, np.stack([np.bincount(flat, w[:, i], minlength=n_bins) for i in range(b)], 1))
    outer = (w[:, :, None] * w[:, None, :]).reshape(len(w), b * b)
    assert np.array_equal(
        gram, np.stack([np.bincount(flat, outer[:, k], minlength=n_bins) for k in range(b * b)], 1)
    )
    assert np.array_equal(counts, np.bincount(flat, minlength=n_bins)) and outside == int((~keep).sum())
    assert _binned_kernel.targetoptions["nogil"]


def test_reduce_chunks_without_observables(store):
    s, _, weights = store
    parts = reduce_chunks(s, lambda c: (c.x.shape[1], len(c), c.weights.sum(axis=0)), observables=False)
    assert {p[0] for p in parts} == {0} and {p[1] for p in parts} == {0}
    np.testing.assert_allclose(np.sum([p[2] for p in parts], axis=0), weights.sum(axis=0), rtol=1e-12)
    with_cut = reduce_chunks(s, lambda c: len(c), observables=False, cuts=[lambda c: c["b"] > 5.0])
    assert set(with_cut) == {2}  # a cut reads the observables anyway
