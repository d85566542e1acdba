"""The sink that puts each chunk's drawn events at their shuffled places: every array (1-D, rows of several
columns, non-contiguous pieces, integer and float, NaN payloads) lands exactly where numpy's own indexing
puts it."""

import itertools

import numpy as np

from columnminer.sampling._pass_kernels import SampleSink, benchmark_bincount


def _pieces(rng, offsets):
    pieces = []
    for lo, hi in itertools.pairwise(offsets):
        n = int(hi - lo)
        wide = rng.normal(size=(n, 6))
        pieces.append(
            {
                "x": wide[:, ::2],  # a strided view: three of six columns
                "event": rng.integers(0, 2**40, size=n),
                "theta0": rng.normal(size=(n, 2)),
                "t_xz0": np.asfortranarray(rng.normal(size=(n, 3))),
                "y": rng.integers(0, 2, size=n).astype(np.float32),
                "cube": rng.normal(size=(n, 2, 2)),
            }
        )
    pieces[0]["theta0"][0, 0] = np.frombuffer(np.uint64(0x7FF8_0000_0000_1234).tobytes(), np.float64)[0]
    return pieces


def test_sink_puts_every_row_where_numpy_indexing_puts_it():
    rng = np.random.default_rng(4)
    offsets = np.array([0, 7, 7, 300, 1000])  # an empty chunk among them
    order = rng.permutation(offsets[-1])
    places = np.empty_like(order)
    places[order] = np.arange(len(order))
    pieces = _pieces(rng, offsets)
    sink = SampleSink(places, offsets)
    for j in (3, 0, 2, 1):  # chunks arrive in any order
        sink.put(j, pieces[j])
    for key in pieces[0]:
        expected = np.empty((offsets[-1], *pieces[0][key].shape[1:]), pieces[0][key].dtype)
        for j, piece in enumerate(pieces):
            expected[places[offsets[j] : offsets[j + 1]]] = piece[key]
        got = sink.arrays[key]
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes(), key  # bit for bit, NaN payload included
    assert sink.arrays["theta0"].view(np.uint64).ravel()[2 * order.tolist().index(0)] == 0x7FF8_0000_0000_1234


def test_sink_rows_of_zero_columns():
    places, offsets = np.array([1, 0]), np.array([0, 2])
    sink = SampleSink(places, offsets)
    sink.put(0, {"x": np.empty((2, 0)), "event": np.array([5, 6])})
    assert sink.arrays["x"].shape == (2, 0)
    assert sink.arrays["event"].tolist() == [6, 5]


def test_benchmark_counts_of_one_value_chunks_are_bincounts():
    """The shortcut for a chunk of one benchmark counts what np.bincount counts (background, benchmarks,
    values beyond the counted ones); mixed chunks go to bincount."""
    size = 4
    for values in ([2] * 5, [-1] * 3, [0], [5] * 2, [3] * 4, [-1, 0, 2, 2], [1, 1, 0]):
        chunk = np.array(values, dtype=np.int16)
        expected = np.bincount(chunk + 1, minlength=size)[:size]
        counted = benchmark_bincount(chunk, size)
        assert counted.dtype == expected.dtype and counted.tolist() == expected.tolist(), values
