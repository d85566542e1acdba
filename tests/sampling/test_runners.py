"""In-process and task passes of the sample augmenter draw the same samples, bit for bit."""

import numpy as np
import pytest

from columnminer.demo import golden_channel_setup
from columnminer.io.store import EventStore
from columnminer.sampling import SampleAugmenter, _pass_kernels, _runners, benchmark, random_morphing_points


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


def test_local_passes_match_a_distributed_client(store, monkeypatch):
    """Passes on this process's threads (kept columns, or read again with the factor codes kept) and on a
    client (every chunk a task that sends its drawn events back) draw the same sample."""
    from distributed import Client, LocalCluster

    thetas = random_morphing_points(3, [("flat", -1.0, 1.0)] * 2)

    def draw(client=None):
        augmenter = SampleAugmenter(store, client=client)
        return augmenter.sample_train_more_ratios(thetas, benchmark("sm"), 900, seed=2, write=False)

    samples = [draw()]
    monkeypatch.setattr(_runners, "IN_PROCESS_BYTES", 0)
    samples.append(draw())
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            samples.append(draw(client))
    for other in samples[1:]:
        assert list(other.arrays) == list(samples[0].arrays)
        for key, values in samples[0].arrays.items():
            np.testing.assert_array_equal(values, other.arrays[key], err_msg=key)


@pytest.mark.parametrize("in_process", [True, False])
def test_passes_run_off_the_calling_thread_and_raise_a_kernel_error(store, in_process):
    import threading

    passes = _runners.ChunkPasses(store, in_process=in_process, threads=2)
    caller = threading.get_ident()
    threads = passes.map(lambda chunk, memo: threading.get_ident(), columns=("weights",))
    assert len(threads) == passes._reader("weights").n_chunks and caller not in threads

    def kernel(chunk, memo):
        if chunk.index == 2:
            raise ValueError("chunk 2")
        return chunk.index

    with pytest.raises(ValueError, match="chunk 2"):
        passes.map(kernel, columns=("weights",))


def test_pass_one_candidates_give_the_same_draws(tmp_path, monkeypatch):
    """A single-point sample from a store read twice: pass 2 takes most chunks' draws from pass 1's
    candidates and reads the others (the heavy chunk draws more than its candidates): the sample is the
    in-process one, bit for bit."""
    store = EventStore.create(str(tmp_path / "c.zarr"), golden_channel_setup(), ["a", "b"], chunk_size=12800)
    rng = np.random.default_rng(8)
    weights = rng.uniform(0.1, 1.0, size=(6 * 12800, 6))
    weights[2 * 12800 : 3 * 12800] *= 4.0  # a chunk with more than its share of the cross section
    store.append(rng.normal(size=(len(weights), 2)), weights, 0)
    from columnminer.sampling import augmenter as augmenter_module

    made, covered = [], []
    original, original_covered = _pass_kernels.chunk_candidates, augmenter_module.covered_draws
    monkeypatch.setattr(_pass_kernels, "chunk_candidates", lambda *a: made.append(original(*a)) or made[-1])
    monkeypatch.setattr(
        augmenter_module,
        "covered_draws",
        lambda chunks, *a: covered.append([s // 12800 for s, _, _ in chunks]) or original_covered(chunks, *a),
    )

    def draw():
        return SampleAugmenter(store).sample_train_local(benchmark("sm"), 420, seed=11, write=False)

    in_process = draw()
    assert not made and not covered
    monkeypatch.setattr(_runners, "IN_PROCESS_BYTES", 0)
    tasks = draw()
    # candidates for every chunk; the chunks they cover drawn at once by the caller, the heavy one read again
    assert len(made) == 6 and all(len(kept[0]) < 200 for kept in made)
    assert covered == [[0, 1, 3, 4, 5]]
    for key, values in in_process.arrays.items():
        np.testing.assert_array_equal(values, tasks.arrays[key], err_msg=key)


def test_a_client_draws_covered_chunks_from_pass_one_candidates(tmp_path, monkeypatch):
    """On a distributed client, pass 1's tasks send the candidates back with the block sums: pass 2 sends a
    task only for the chunk that draws more than its candidates, and the sample is the in-process one."""
    from distributed import Client, LocalCluster

    from columnminer.sampling import augmenter as augmenter_module

    store = EventStore.create(str(tmp_path / "c.zarr"), golden_channel_setup(), ["a", "b"], chunk_size=12800)
    rng = np.random.default_rng(8)
    weights = rng.uniform(0.1, 1.0, size=(6 * 12800, 6))
    weights[2 * 12800 : 3 * 12800] *= 4.0  # a chunk with more than its share of the cross section
    store.append(rng.normal(size=(len(weights), 2)), weights, 0)
    in_process = SampleAugmenter(store).sample_train_local(benchmark("sm"), 420, seed=11, write=False)
    calls, covered = [], []
    original, original_covered = augmenter_module.chunk_draws, augmenter_module.covered_draws

    def recorded(chunk, *args):
        calls.append(chunk.index)
        return original(chunk, *args)

    def recorded_covered(chunks, *args):
        covered.append([start // 12800 for start, _, _ in chunks])
        return original_covered(chunks, *args)

    monkeypatch.setattr(augmenter_module, "chunk_draws", recorded)
    monkeypatch.setattr(augmenter_module, "covered_draws", recorded_covered)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            remote = SampleAugmenter(store, client=client).sample_train_local(
                benchmark("sm"), 420, seed=11, write=False
            )
    # drawn here from the candidates, at once: all chunks but the heavy one (a task drew it, in a copy of
    # this test's recorder: the client pickles the kernel), which the equal samples show
    assert covered == [[0, 1, 3, 4, 5]] and calls == []
    for key, values in in_process.arrays.items():
        np.testing.assert_array_equal(values, remote.arrays[key], err_msg=key)
