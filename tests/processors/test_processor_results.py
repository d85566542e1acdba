"""Processors on one core, on local processes and on a 2-worker LocalCluster: the same numbers as the
single-process path (analyse_samples + the store reductions), bit for bit where the order of the sums is fixed."""

import hist
import numpy as np
import pytest
from coffea.processor import DaskExecutor, IterativeExecutor
from processor_helpers import CHUNKSIZE, COS, LUMINOSITY, M4L, PHI, THETAS

from columnminer.errors import ProcessorError
from columnminer.inference.binned import binned_weights
from columnminer.inference.fisher import rate_information, truth_information
from columnminer.processors import (
    AnalysisProcessor,
    ChunkKey,
    ChunkResults,
    CrossSectionProcessor,
    HistogramProcessor,
    run_fileset,
    work_items,
)
from columnminer.weights import (
    cross_section_gradients,
    cross_sections,
    theta_coefficients,
    theta_gradient_coefficients,
)


def test_chunking_comes_from_coffea(golden):
    items = work_items(golden["fileset"], CHUNKSIZE, IterativeExecutor(status=False))
    assert [(i.dataset, i.entrystart, i.entrystop) for i in items] == [
        ("signal_sm", 0, 667),
        ("signal_sm", 667, 1334),
        ("signal_sm", 1334, 2000),
        ("signal_bsm", 0, 600),
        ("background", 0, 600),
    ]
    assert [i.usermeta["chunk"] for i in items] == [0, 1, 2, 0, 0]


def test_events_equal_analyse_samples_bitwise(golden, runs):
    reference = golden["reference"]
    for name, out in runs.items():
        events = out["events"]
        for array in ("observables", "weights", "sampled_from"):
            np.testing.assert_array_equal(
                getattr(events, array), reference.read(array), err_msg=f"{name} {array}"
            )
        expected = golden["summary"]
        assert events.summary.n_read == expected.n_read and events.summary.n_kept == expected.n_kept, name
        assert events.summary.counts == expected.counts, name
        assert [k.entry_start for k in events.chunks] == [0, 667, 1334, 0, 0]


def test_executors_agree_bit_for_bit(runs):
    """Ordered accumulation: the sums are taken in file-set order whatever the executor did."""
    base = runs["iterative"]
    for name in ("futures", "dask"):
        out = runs[name]
        for key in ("m4l", "phi_cos"):
            np.testing.assert_array_equal(out["hist"][key].view(flow=True), base["hist"][key].view(flow=True))
        for field in ("xsec", "xsec_error", "xsec_gradient", "total", "gram"):
            np.testing.assert_array_equal(getattr(out["fisher"], field), getattr(base["fisher"], field))
        infos = zip(
            out["fisher"].truth + out["fisher"].rate, base["fisher"].truth + base["fisher"].rate, strict=True
        )
        for a, b in infos:
            np.testing.assert_array_equal(a.information, b.information)
            np.testing.assert_array_equal(a.covariance, b.covariance)


def test_histograms_equal_the_store_reductions(golden, runs):
    out = runs["dask"]["hist"]
    reference = golden["reference"]
    h = out["m4l"]
    assert h.axes.name == ("theta", "m4l") and h.storage_type is hist.storage.Weight
    np.testing.assert_array_equal(out.thetas, THETAS)
    # per-bin morphing of the store's binned weights (flow bins at the edges, as hist does)
    binned = binned_weights(reference, ["m4l"], [M4L.edges], flow=False)
    np.testing.assert_allclose(h.values(), binned.cross_sections(THETAS), rtol=1e-12, atol=1e-18)
    # directly: weights at theta from the stored benchmark weights, filled into hist
    w = reference.read("weights") @ theta_coefficients(golden["setup"], THETAS).T
    x = reference.read("observables")
    for t in range(len(THETAS)):
        direct = hist.Hist(M4L, storage=hist.storage.Weight()).fill(x[:, 0], weight=w[:, t])
        np.testing.assert_allclose(
            h[t, ...].view(flow=True)["value"], direct.view(flow=True)["value"], rtol=1e-12
        )
        np.testing.assert_allclose(
            h[t, ...].view(flow=True)["variance"], direct.view(flow=True)["variance"], rtol=1e-9, atol=1e-30
        )
    names = reference.observable_names
    direct = hist.Hist(PHI, COS).fill(x[:, names.index("Phi")], x[:, names.index("cos_theta1")])
    np.testing.assert_array_equal(out.counts["phi_cos"].view(flow=True), direct.view(flow=True))
    assert out.n_events == reference.n_events
    remorphed = out.at(THETAS[::-1])
    np.testing.assert_allclose(remorphed["m4l"].values(), h.values()[::-1], rtol=1e-14)


def test_fisher_and_cross_sections_equal_the_store_functions(golden, runs):
    out = runs["dask"]["fisher"]
    store = golden["reference"]
    thetas = [*THETAS, "sm"]
    xsec, error = cross_sections(store, thetas)
    np.testing.assert_allclose(out.xsec, xsec, rtol=1e-12)
    np.testing.assert_allclose(out.xsec_error, error, rtol=1e-12)
    # gradients cancel between benchmarks: 1e-12 relative to the size of the terms summed
    scale = np.abs(theta_gradient_coefficients(golden["setup"], thetas)) @ np.abs(out.total)
    assert np.all(np.abs(out.xsec_gradient - cross_section_gradients(store, thetas)) <= 1e-12 * scale)
    for t, theta in enumerate(thetas):
        truth = truth_information(store, theta, LUMINOSITY)
        rate = rate_information(store, theta, LUMINOSITY)
        np.testing.assert_allclose(out.truth[t].information, truth.information, rtol=1e-12)
        np.testing.assert_allclose(out.truth[t].covariance, truth.covariance, rtol=1e-12)
        size = LUMINOSITY * np.outer(scale[t], scale[t]) / out.xsec[t]  # the rate term from |gradient| terms
        assert np.all(np.abs(out.rate[t].information - rate.information) <= 1e-12 * size)
        np.testing.assert_allclose(out.rate[t].covariance, rate.covariance, rtol=1e-9, atol=1e-24)
    assert out.truth[-1].theta.tolist() == [0.0, 0.0] and out.truth[0].kind == "truth"


def test_unordered_accumulation_agrees_to_rounding(golden, plan, client, runs):
    """ordered=False: payloads added as they arrive (constant memory) -- equal to 1e-12."""
    out = run_fileset(
        golden["fileset"],
        CrossSectionProcessor(plan, THETAS, ordered=False),
        DaskExecutor(client=client, status=False),
        chunksize=CHUNKSIZE,
    )
    np.testing.assert_allclose(out.xsec, runs["iterative"]["fisher"].xsec[:-1], rtol=1e-12)
    assert out.chunks is None and out.n_events == golden["reference"].n_events


def test_a_chunk_counted_twice_is_an_error():
    key = ChunkKey(0, 0, 0, 10, "d", "f.lhe")
    a = ChunkResults({key: {"w": np.ones(1)}})
    with pytest.raises(ProcessorError, match=r"d: f.lhe entries 0..10 was accumulated twice"):
        a + ChunkResults({key: {"w": np.ones(1)}})


def test_bad_configurations(plan):
    with pytest.raises(ProcessorError, match="not an observable"):
        HistogramProcessor(plan, THETAS, {"x": hist.axis.Regular(3, 0, 1, name="nope")})
    with pytest.raises(ProcessorError, match="grows"):
        HistogramProcessor(plan, THETAS, {"x": hist.axis.IntCategory([], name="m4l", growth=True)})
    with pytest.raises(ProcessorError, match="no coffea metadata"):
        AnalysisProcessor(plan).process(np.zeros(3))
