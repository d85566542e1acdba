"""In-process and task passes of the sample augmenter draw the same samples, bit for bit."""

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.io.store import EventStore
from columnminer.sampling import SampleAugmenter, _runners, benchmark, random_morphing_points


@pytest.fixture
def store(tmp_path):
    store = EventStore.create(str(tmp_path / "s.zarr"), golden_channel_setup(), ["a", "b"], chunk_size=700)
    rng = np.random.default_rng(5)
    for sampled_from in (-1, 0, 1):
        store.append(rng.normal(size=(1500, 2)), rng.uniform(-0.1, 2, size=(1500, 6)), sampled_from)
    return store


@pytest.mark.parametrize("kind", ["local", "local_all", "ratio", "density"])
def test_in_process_passes_match_task_passes(store, monkeypatch, kind):
    def draw():
        augmenter = SampleAugmenter(store)
        if kind == "local":
            return augmenter.sample_train_local(benchmark("sm"), 2000, seed=3, write=False)
        if kind == "local_all":
            return augmenter.sample_train_local(
                benchmark("sm"),
                500,
                seed=4,
                write=False,
                partition=None,
                sample_only_from_closest_benchmark=False,
            )
        thetas = random_morphing_points(4, [("flat", -1.0, 1.0)] * 2)
        if kind == "ratio":
            return augmenter.sample_train_ratio(thetas, benchmark("sm"), 1000, seed=5, write=False)
        return augmenter.sample_train_density(thetas, 800, seed=6, write=False)

    assert _runners.passes_for(store, ("weights",)).in_process
    in_process = draw()
    monkeypatch.setattr(_runners, "IN_PROCESS_BYTES", 0)
    assert not _runners.passes_for(store, ("weights",)).in_process
    tasks = draw()
    assert in_process.arrays.keys() == tasks.arrays.keys()
    for key, values in in_process.arrays.items():
        np.testing.assert_array_equal(values, tasks.arrays[key], err_msg=key)
    np.testing.assert_array_equal(in_process.n_effective, tasks.n_effective)


def test_one_thread_and_many_draw_the_same(store):
    one = _runners.ChunkPasses(store, in_process=True, threads=1)
    many = _runners.ChunkPasses(store, in_process=True, threads=3)
    kernel = lambda chunk, memo: chunk["weights"].sum()  # noqa: E731
    assert one.map(kernel, columns=("weights",)) == many.map(kernel, columns=("weights",))
