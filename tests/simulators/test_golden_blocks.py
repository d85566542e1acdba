"""The generator's cache-sized blocks and threads give the same bits; golden_setup's cache returns copies."""

import numpy as np

from columnminer.simulators import _amplitudes, _phasespace
from columnminer.simulators._amplitudes import ElectroweakParameters, amplitude_components
from columnminer.simulators._phasespace import BLOCK_ROWS, decay_momenta_at_rest, in_blocks, sample_decay
from columnminer.simulators.golden import golden_setup


def _unblocked_quadratic_form(momenta, ew):
    amps = amplitude_components(momenta, ew)
    return np.einsum("...hi,...hj->...ij", amps, np.conj(amps)).real


def test_blocked_and_threaded_amplitudes_are_bit_identical():
    ew = ElectroweakParameters()
    n = 2 * BLOCK_ROWS + 777  # a ragged last block
    decay = sample_decay(np.random.default_rng(5), n)
    for threads in (1, 2):
        q = in_blocks(lambda p: _amplitudes.quadratic_form(p, ew), decay.momenta, threads=threads)
        assert np.array_equal(q.view(np.int64), _unblocked_quadratic_form(decay.momenta, ew).view(np.int64))
    assert np.array_equal(_amplitudes.quadratic_form(decay.momenta, ew), q)


def test_blocked_decay_momenta_are_bit_identical():
    rng = np.random.default_rng(2)
    n = BLOCK_ROWS + 13
    m1, m2 = rng.uniform(60, 90, n), rng.uniform(12, 30, n)
    angles = rng.random((n, 6))
    whole = decay_momenta_at_rest(m1, m2, angles)
    blocked = in_blocks(lambda a, b, c: decay_momenta_at_rest(a, b, c), m1, m2, angles, threads=2)
    assert np.array_equal(whole.view(np.int64), blocked.view(np.int64))
    assert _phasespace.default_threads() >= 1


def test_golden_setup_cache_returns_independent_copies():
    first, second = golden_setup(), golden_setup()
    assert first is not second and first.benchmark_names == second.benchmark_names
    first.add_benchmark({"a2": 0.3, "a3": 0.0}, name="extra")
    assert "extra" not in golden_setup().benchmark_names
    as_ints = golden_setup(parameter_range=(-1, 1))
    assert as_ints.parameter_space.parameters["a2"].parameter_range == (-1, 1)
