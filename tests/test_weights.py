"""Tests of columnminer.weights: kernels against numpy and against exact quadratic weights; dask and distributed."""

import os
import threading
import time

import cloudpickle
import numpy as np
import pytest

import columnminer.compute as compute_module
from columnminer import AnalysisSetup, MorphingError, ParameterSpaceError
from columnminer.compute import run_tasks
from columnminer.demo import golden_channel_setup, quadratic_event_weights
from columnminer.io.store import EventStore
from columnminer.thetas import benchmark_index
from columnminer.weights import (
    closest_benchmark,
    cross_section_gradients,
    cross_sections,
    cross_sections_from_moments,
    event_weight_gradients,
    event_weights,
    generated_close_to,
    joint_likelihood_ratio,
    joint_likelihood_ratios,
    joint_score,
    joint_scores,
    theta_coefficients,
    theta_gradient_coefficients,
    weight_gradients_at,
    weight_moments,
    weights_at,
)

N_EVENTS = 20_000


def exact_gradients(couplings, thetas):
    """d w / d theta_i of w = |L^T v|^2, v = (1, theta): 2 (L^T v) . (L^T e_{i+1}); [n_thetas, n_events, 2]."""
    v = np.concatenate([np.ones((len(thetas), 1)), thetas], axis=1)
    amplitudes = np.einsum("tj,njk->tnk", v, couplings)
    return 2 * np.einsum("tnk,nik->tni", amplitudes, couplings[:, 1:, :])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A store of quadratic per-event weights at the golden-channel benchmarks, plus the exact truth."""
    setup = golden_channel_setup()
    rng = np.random.default_rng(42)
    couplings = rng.normal(size=(N_EVENTS, 3, 2))
    weights = quadratic_event_weights(couplings, setup.parameter_space.benchmark_array()).T * 1e-3  # pb
    path = tmp_path_factory.mktemp("w") / "store.zarr"
    store = EventStore.create(str(path), setup, ["x"], chunk_size=3000)
    sampled = rng.integers(-1, 6, size=N_EVENTS)
    for start in range(0, N_EVENTS, 7000):
        stop = min(start + 7000, N_EVENTS)
        store.append(rng.normal(size=(stop - start, 1)), weights[start:stop], sampled[start:stop])
    return {"setup": setup, "store": store, "weights": weights, "couplings": couplings, "sampled": sampled}


THETAS = np.array([[0.0, 0.0], [0.3, -0.2], [-0.9, 0.8], [1.7, -2.5], [0.05, 0.5]])


def test_theta_coefficients(world):
    setup = world["setup"]
    c = theta_coefficients(setup, ["sm", benchmark_index(3), np.array([0.3, -0.2])])
    assert c.shape == (3, 6)
    np.testing.assert_array_equal(c[0], np.eye(6)[0])
    np.testing.assert_array_equal(c[1], np.eye(6)[3])
    np.testing.assert_allclose(c[2], setup.morphing_weights([0.3, -0.2]))
    np.testing.assert_allclose(theta_coefficients(setup, THETAS), setup.morphing_weights(THETAS))
    assert theta_coefficients(setup, [0.3, -0.2]).shape == (1, 6)  # one point, not two indices
    assert theta_coefficients(setup, "morphing_basis_vector_1").shape == (1, 6)
    with pytest.raises(ParameterSpaceError, match="unknown benchmark 'nope'"):
        theta_coefficients(setup, "nope")
    with pytest.raises(ParameterSpaceError, match="out of range"):
        theta_coefficients(setup, benchmark_index(17))
    with pytest.raises(ParameterSpaceError, match="a bare number 3 is a point of a one-parameter setup"):
        theta_coefficients(setup, 3)  # numbers are parameter values, never benchmark indices
    with pytest.raises(ParameterSpaceError, match=r"must have shape \[n_thetas, 2\]"):
        theta_coefficients(setup, [[1.0, 2.0, 3.0]])


def test_chunk_kernels_against_exact_weights(world):
    weights, couplings = world["weights"], world["couplings"]
    setup = world["setup"]
    exact = quadratic_event_weights(couplings, THETAS).T * 1e-3
    morphed = weights_at(weights, theta_coefficients(setup, THETAS))
    np.testing.assert_allclose(morphed, exact, rtol=1e-9, atol=1e-12 * exact.max())
    gradients = weight_gradients_at(weights, theta_gradient_coefficients(setup, THETAS))
    np.testing.assert_allclose(
        gradients, exact_gradients(couplings, THETAS).transpose(1, 0, 2) * 1e-3, rtol=1e-8, atol=1e-11
    )


def test_store_cross_sections_equal_numpy(world):
    store, weights, setup = world["store"], world["weights"], world["setup"]
    coefficients = theta_coefficients(setup, THETAS)
    xsec, error = cross_sections(store, THETAS)
    direct = weights @ coefficients.T
    np.testing.assert_allclose(xsec, direct.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(error, np.sqrt((direct**2).sum(axis=0)), rtol=1e-12)
    # the truth: sum over events of the exact weights at theta
    exact = (quadratic_event_weights(world["couplings"], THETAS) * 1e-3).sum(axis=1)
    np.testing.assert_allclose(xsec, exact, rtol=1e-10)
    benchmarks, _ = cross_sections(store)
    np.testing.assert_allclose(benchmarks, weights.sum(axis=0), rtol=1e-12)
    by_name, _ = cross_sections(store, ["sm", "morphing_basis_vector_2"])
    np.testing.assert_allclose(by_name, weights.sum(axis=0)[[0, 3]], rtol=1e-12)


def test_cross_section_gradients(world):
    store, weights, setup = world["store"], world["weights"], world["setup"]
    gradients = cross_section_gradients(store, THETAS)
    direct = weight_gradients_at(weights, theta_gradient_coefficients(setup, THETAS)).sum(axis=0)
    # 1e-12 relative to the size of the terms summed (some components cancel to ~1e-3 of them)
    scale = np.abs(theta_gradient_coefficients(setup, THETAS)) @ np.abs(weights.sum(axis=0))
    assert np.all(np.abs(gradients - direct) <= 1e-12 * scale)
    h = 1e-6
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        numeric = (cross_sections(store, THETAS + step)[0] - cross_sections(store, THETAS - step)[0]) / (
            2 * h
        )
        np.testing.assert_allclose(gradients[:, i], numeric, rtol=1e-6)


def test_partitions_estimate_the_totals(world):
    """Each partition's events, weighted by 1 / fraction, estimate the full cross section; the
    fraction-weighted partition estimates add up to it exactly, and the errors scale as 1 / fraction."""
    store = world["store"]
    total, _ = cross_sections(store, THETAS)
    fractions = store.partition_spec["fractions"]
    parts = {p: cross_sections(store, THETAS, partition=p) for p in ("train", "validation", "test")}
    np.testing.assert_allclose(sum(fractions[p] * parts[p][0] for p in parts), total, rtol=1e-12)
    mask = store.partition_mask("validation")
    w = world["weights"][mask] @ theta_coefficients(world["setup"], THETAS).T
    np.testing.assert_allclose(parts["validation"][0], w.sum(0) / fractions["validation"], rtol=1e-12)
    np.testing.assert_allclose(
        parts["validation"][1], np.sqrt((w**2).sum(0)) / fractions["validation"], rtol=1e-12
    )


def test_joint_ratio_and_score(world):
    weights, couplings, setup = world["weights"], world["couplings"], world["setup"]
    theta0, theta1 = THETAS[:3], THETAS[2:5]
    xsec0, _ = cross_sections_from_moments(
        weights.sum(0), weights.T @ weights, theta_coefficients(setup, theta0)
    )
    xsec1, _ = cross_sections_from_moments(
        weights.sum(0), weights.T @ weights, theta_coefficients(setup, theta1)
    )
    r = joint_likelihood_ratio(
        weights, theta_coefficients(setup, theta0), theta_coefficients(setup, theta1), xsec0, xsec1
    )
    w0 = quadratic_event_weights(couplings, theta0).T
    w1 = quadratic_event_weights(couplings, theta1).T
    expected_r = (w0 / w0.sum(0)) / (w1 / w1.sum(0))
    np.testing.assert_allclose(r, expected_r, rtol=1e-8)

    xsec, _ = cross_sections_from_moments(
        weights.sum(0), weights.T @ weights, theta_coefficients(setup, THETAS)
    )
    dxsec = theta_gradient_coefficients(setup, THETAS) @ weights.sum(0)
    t = joint_score(
        weights, theta_coefficients(setup, THETAS), theta_gradient_coefficients(setup, THETAS), xsec, dxsec
    )
    w = quadratic_event_weights(couplings, THETAS)  # [t, n]
    dw = exact_gradients(couplings, THETAS)  # [t, n, p]
    expected_t = dw / w[..., None] - (dw.sum(1) / w.sum(1)[:, None])[:, None, :]
    np.testing.assert_allclose(t, expected_t.transpose(1, 0, 2), rtol=1e-6, atol=1e-8)
    # the score has zero expectation under p(z|theta)
    p = w / w.sum(1, keepdims=True)
    np.testing.assert_allclose(np.einsum("tn,ntp->tp", p, t), 0.0, atol=1e-9)


def test_finite_difference_gradients_without_morphing():
    setup = AnalysisSetup()
    setup.add_parameter("b", 1, name="x")
    setup.add_benchmark([0.5], name="sm")
    setup.finite_differences(1e-3)
    weights = np.array([[2.0, 2.004], [1.0, 0.999]])
    gradients = weight_gradients_at(weights, theta_gradient_coefficients(setup, ["sm"]))
    np.testing.assert_allclose(gradients[:, 0, 0], [4.0, -1.0], rtol=1e-9)
    with pytest.raises(MorphingError, match="no gradient available"):
        theta_gradient_coefficients(setup, ["sm_plus_x"])


def test_generated_close_to(world):
    setup, sampled = world["setup"], world["sampled"]
    assert closest_benchmark(setup, [0.9, -0.9]) == setup.benchmark_names.index("morphing_basis_vector_0")
    assert closest_benchmark(setup, [0.9, -0.9], candidates=[0, 2]) in (0, 2)
    mask = generated_close_to(sampled, setup, [0.05, 0.0])
    np.testing.assert_array_equal(mask, (sampled == 0) | (sampled == -1))
    only_three = np.where(sampled == 0, 3, sampled)  # benchmark 0 never sampled
    mask = generated_close_to(only_three, setup, [0.0, 0.0])
    assert not np.any(only_three[mask] == 0)


def _refaults() -> int:
    """Page faults of this thread while it makes a 5 MB array right after freeing one of that size: about
    1,300 where malloc maps it anew or trims its heap in between, none where the memory is reused."""
    import resource

    np.ones(5 * 2**20 // 8)
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    np.ones(5 * 2**20 // 8)
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


def _released(client, keys, seconds=20.0) -> bool:
    """Whether the client drops ``keys`` within ``seconds`` (a future's release runs on the client's loop)."""
    deadline = time.monotonic() + seconds
    while any(key in client.futures for key in keys) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not any(key in client.futures for key in keys)


def test_distributed_client_gives_the_same_answer(world, monkeypatch):
    """On a 2-worker LocalCluster: equal to the threaded result, and the graph carries no event data.

    Robust under CPU load: the cluster gets generous start-up / connect timeouts, and the check that the
    work ran on the cluster reads the scheduler's task stream (an index-based record of finished tasks).
    It used to count ``dask_scheduler.task_groups``, which the scheduler deletes once the client has
    released the results: a race between the client's release message and the ``run_on_scheduler`` call
    that a loaded machine loses now and then (0 task groups, assertion fails).
    """
    distributed = pytest.importorskip("distributed")
    import dask

    store = world["store"]
    threaded = cross_sections(store, THETAS)
    graph = dict(store.to_dask("weights").__dask_graph__())
    assert len(cloudpickle.dumps(graph)) < 0.1 * world["weights"].nbytes
    timeouts = {"distributed.comm.timeouts.connect": "120s", "distributed.comm.timeouts.tcp": "120s"}
    with (
        dask.config.set(timeouts),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # its HTTP server: any free port, not 8787
        ) as cluster,
        distributed.Client(cluster, timeout="120s") as client,
    ):
        client.wait_for_workers(2, timeout=180)
        with distributed.get_task_stream(client) as stream:
            passed = cross_sections(store, THETAS, client=client)
            active = weight_moments(store)  # the active client is picked up
        # dask's nanny set MALLOC_TRIM_THRESHOLD_ in the workers; the tasks fixed their mmap threshold first
        # and raised the trim threshold: a freed 5 MB array is not faulted in again when the next one comes
        probe = [
            lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), list(compute_module._TUNED), _refaults())
        ] * 2
        tuned = run_tasks(probe, client)
        # a call's futures are kept (their release would hold the next graph back), then released by the next
        # call once its graph is sent (the timer of HOLD_SECONDS made long), or by the timer (made short)
        monkeypatch.setattr(compute_module, "HOLD_SECONDS", 60.0)
        first = list(compute_module._HELD.futures)
        assert [f.status for f in first] == ["finished", "finished"]
        keys = [f.key for f in first]
        del first
        assert run_tasks([lambda: 1], client) == [1]
        assert _released(client, keys) and set(client.futures) == {
            f.key for f in compute_module._HELD.futures
        }
        monkeypatch.setattr(compute_module, "HOLD_SECONDS", 0.1)
        assert run_tasks([lambda: 2], client) == [2]
        assert _released(client, list(client.futures)) and compute_module._HELD.futures is None
        # one long-lived thread drops them on time, however many calls there were
        assert sum(t.name == "columnminer-held" for t in threading.enumerate()) == 1
    assert len(stream.data) > 0  # the chunks were reduced by the cluster's workers
    assert [flags for env, flags, _ in tuned if env is not None] == [[True], [True]]
    assert [faults < 100 for env, _, faults in tuned if env is not None] == [True, True], tuned
    for a, b in zip(threaded, passed, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(active[0], world["weights"].sum(0), rtol=1e-12)


def test_lazy_event_quantities_over_the_store(world):
    store, weights, setup = world["store"], world["weights"], world["setup"]
    lazy = event_weights(store, THETAS)
    assert lazy.chunks[0] == store.to_dask("weights").chunks[0]
    np.testing.assert_allclose(
        lazy.compute(), weights_at(weights, theta_coefficients(setup, THETAS)), rtol=1e-12
    )
    np.testing.assert_allclose(
        event_weight_gradients(store, THETAS).compute(),
        weight_gradients_at(weights, theta_gradient_coefficients(setup, THETAS)),
        rtol=1e-12,
    )
    theta0, theta1 = THETAS[:2], THETAS[3:5]
    w0 = quadratic_event_weights(world["couplings"], theta0).T
    w1 = quadratic_event_weights(world["couplings"], theta1).T
    np.testing.assert_allclose(
        joint_likelihood_ratios(store, theta0, theta1).compute(),
        (w0 / w0.sum(0)) / (w1 / w1.sum(0)),
        rtol=1e-8,
    )
    t = joint_scores(store, THETAS).compute()
    assert t.shape == (N_EVENTS, len(THETAS), 2)
    w = weights_at(weights, theta_coefficients(setup, THETAS))
    np.testing.assert_allclose(np.einsum("nt,ntp->tp", w / w.sum(0), t), 0.0, atol=1e-9)
    with pytest.raises(MorphingError, match="must pair up"):
        joint_likelihood_ratios(store, THETAS, THETAS[:2])


def test_store_at_an_fsspec_url():
    """The same store and reductions on a non-local fsspec URL (memory://)."""
    store = EventStore.create(
        "memory://columnminer-test/s.zarr", golden_channel_setup(), ["x"], chunk_size=10, overwrite=True
    )
    store.append(np.zeros((25, 1)), np.full((25, 6), 2.0), 0, source="a")
    reopened = EventStore.open("memory://columnminer-test/s.zarr")
    assert reopened.to_dask("weights").chunks[0] == (10, 10, 5)
    xsec, error = cross_sections(reopened, ["sm"])
    assert xsec.tolist() == [50.0] and error.tolist() == [10.0]
