"""Statistical and bookkeeping tests of columnminer.sampling on the Gaussian toy and the golden channel."""

import numpy as np
import pytest
from scipy import stats

from columnminer import AnalysisSetup
from columnminer.analysis import Analysis
from columnminer.errors import MorphingError, StoreError
from columnminer.fourlepton import add_four_lepton_observables
from columnminer.io.store import EventStore
from columnminer.samples import Sample, analyse_samples
from columnminer.sampling import (
    SampleAugmenter,
    benchmark,
    benchmarks,
    morphing_point,
    morphing_points,
    random_morphing_points,
)
from columnminer.simulators.golden import simulate_golden
from columnminer.simulators.toy import GaussianToy

TOY_THETAS = {"gen": 0.0, "minus": -1.0, "plus": 1.0}
EPSILON = 1e-5


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """20000 toy events generated at theta = 0, exactly reweighted to every benchmark (sigma = 1 pb)."""
    model = GaussianToy()
    n = 20_000
    x, z = model.simulate(0.0, n=n, seed=5)
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-2.0, 2.0))
    for name, value in TOY_THETAS.items():
        setup.add_benchmark([value], name=name)
    setup.finite_differences(EPSILON)
    values = setup.parameter_space.benchmark_array()[:, 0]
    weights = np.exp(model.log_p_z(z[:, None], values[None, :]) - model.log_p_z(z, 0.0)[:, None]) / n
    path = tmp_path_factory.mktemp("toy") / "toy.zarr"
    store = EventStore.create(str(path), setup, ["x"], chunk_size=3000)
    for start in range(0, n, 5000):
        store.append(x[start : start + 5000, None], weights[start : start + 5000], 0, source=start)
    return {"model": model, "store": store, "x": x, "z": z, "weights": weights}


def weighted_chi2_pvalue(sampled, values, weights, bins):
    """p-value of sampled values against the weighted histogram of the store (the distribution drawn from)."""
    expected, _ = np.histogram(values, bins=bins, weights=weights)
    observed, _ = np.histogram(sampled, bins=bins)
    expected = expected / expected.sum() * observed.sum()
    keep = expected > 5
    observed, expected = observed[keep], expected[keep]
    expected *= observed.sum() / expected.sum()
    return stats.chisquare(observed, expected).pvalue


def test_toy_plain_sample_follows_p_x_theta(toy):
    store = toy["store"]
    sample = SampleAugmenter(store).sample_train_plain(
        benchmark("plus"), 6000, seed=3, write=False, sample_only_from_closest_benchmark=False
    )
    assert sample["x"].shape == (6000, 1)
    np.testing.assert_array_equal(sample["theta0"], 1.0)
    train = store.partition_mask("train")
    column = store.benchmark_names.index("plus")
    p = weighted_chi2_pvalue(
        sample["x"][:, 0], toy["x"][train], toy["weights"][train, column], np.linspace(-6, 8, 30)
    )
    assert p > 1e-3
    assert np.all(train[sample["event"]])  # drawn from the training partition only
    # and, more loosely, the true marginal N(theta, sqrt 5)
    assert stats.kstest(sample["x"][:, 0], "norm", args=(1.0, np.sqrt(5.0))).pvalue > 1e-4


def test_toy_joint_score_has_zero_mean_and_matches_the_exact_score(toy):
    sample = SampleAugmenter(toy["store"]).sample_train_local(benchmark("gen"), 8000, seed=4, write=False)
    t = sample["t_xz0"][:, 0]
    assert abs(t.mean()) < 4 * t.std() / np.sqrt(len(t))
    exact = toy["model"].joint_score(toy["x"], toy["z"], 0.0)[sample["event"]]
    # finite differences of exact weights: equal up to O(epsilon) and the sample's d sigma / sigma
    np.testing.assert_allclose(t - t.mean(), exact - exact.mean(), atol=1e-3)


def test_toy_ratio_sample(toy):
    augmenter = SampleAugmenter(toy["store"])
    sample = augmenter.sample_train_ratio(benchmark("minus"), benchmark("plus"), 10_000, seed=5, name="ratio")
    y = sample["y"]
    assert set(np.unique(y)) == {0.0, 1.0} and abs(y.mean() - 0.5) < 1e-9
    r = sample["r_xz"]
    assert abs(r[y == 1].mean() - 1.0) < 4 * r[y == 1].std() / np.sqrt((y == 1).sum())
    assert abs((1 / r[y == 0]).mean() - 1.0) < 4 * (1 / r[y == 0]).std() / np.sqrt((y == 0).sum())
    exact = toy["model"].joint_ratio(toy["x"], toy["z"], -1.0, 1.0)[sample["event"]]
    ratio = r / exact  # r_xz uses the sample's cross sections: a constant factor close to 1
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert abs(ratio[0] - 1.0) < 0.05
    stored = toy["store"].read_sample("ratio")
    np.testing.assert_array_equal(stored["r_xz"], r)
    assert toy["store"].sample_attrs("ratio")["kind"] == "train_ratio"
    with pytest.raises(StoreError, match="exists"):
        augmenter.sample_train_ratio(benchmark("minus"), benchmark("plus"), 100, seed=5, name="ratio")


def test_scores_need_morphing_or_finite_differences(tmp_path):
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta")
    setup.add_benchmark([0.0], name="a")
    store = EventStore.create(str(tmp_path / "s.zarr"), setup, ["x"])
    store.append(np.zeros((10, 1)), np.ones((10, 1)), 0)
    with pytest.raises(MorphingError, match="joint scores need morphing"):
        SampleAugmenter(store).sample_train_local(benchmark("a"), 10, write=False)
    with pytest.raises(MorphingError, match="need a setup with morphing"):
        SampleAugmenter(store).sample_train_plain(morphing_point([0.3]), 10, write=False)
    assert SampleAugmenter(store).sample_train_plain(benchmark("a"), 10, write=False)["x"].shape == (10, 1)


def test_few_events_warning(tmp_path, caplog):
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta")
    setup.add_benchmark([0.0], name="a")
    store = EventStore.create(str(tmp_path / "s.zarr"), setup, ["x"])
    weights = np.ones((50, 1))
    weights[0] = 1000.0  # one event carries most of the weight
    store.append(np.arange(50.0)[:, None], weights, 0)
    sample = SampleAugmenter(store).sample_train_plain(benchmark("a"), 2000, partition=None, write=False)
    assert "use few distinct events" in caplog.text
    assert sample.n_effective[0] < 2.0 and sample.max_weight_fraction[0] > 0.9


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """Golden-channel signal sampled at the SM and at a BSM benchmark, plus background, analysed into a store."""
    out = tmp_path_factory.mktemp("golden")
    sm = simulate_golden(None, 6000, out / "sm", n_background=2000, seed=21)
    setup = AnalysisSetup.load(sm["files"]["setup"])
    bsm = simulate_golden(
        setup, 6000, out / "bsm", sampling_benchmark="morphing_basis_vector_2", n_background=0, seed=22
    )
    analysis = Analysis()
    add_four_lepton_observables(analysis)
    store = EventStore.create(str(out / "golden.zarr"), setup, analysis.observable_names, chunk_size=2500)
    samples = [
        Sample(sm["files"]["signal"], sampled_from_benchmark="sm"),
        Sample(bsm["files"]["signal"], sampled_from_benchmark="morphing_basis_vector_2"),
        Sample(sm["files"]["background"], is_background=True),
    ]
    analyse_samples(samples, analysis, store, step_size=3000, progress=False)
    return store


def test_golden_local_and_ratio_samples(golden):
    augmenter = SampleAugmenter(golden)
    local = augmenter.sample_train_local(benchmark("sm"), 6000, seed=1, write=False)
    t = local["t_xz0"]
    assert np.all(np.abs(t.mean(axis=0)) < 4 * t.std(axis=0) / np.sqrt(len(t)))
    sampled_from = golden.read("sampled_from")[local["event"]]
    assert set(np.unique(sampled_from)) <= {0, -1}  # closest benchmark to the SM is the SM sample

    theta0 = random_morphing_points(20, [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)])
    ratio = augmenter.sample_train_ratio(
        theta0,
        morphing_point([0.0, 0.0]),
        8000,
        seed=2,
        write=False,
        sample_only_from_closest_benchmark=False,
    )
    y, r = ratio["y"], ratio["r_xz"]
    assert len(np.unique(ratio["theta0"], axis=0)) == 20
    assert abs(r[y == 1].mean() - 1.0) < 4 * r[y == 1].std() / np.sqrt((y == 1).sum())
    assert ratio["t_xz0"].shape == (8000, 2)


def test_joint_quantities_equal_the_weight_kernels_for_one_and_many_draw_points(golden):
    """The drawn events' r_xz and t_xz0 are the weight kernels at their thetas, with the partition's cross
    sections: the one-draw-point path (SM samples) and the per-event path agree with them to rounding."""
    from columnminer.weights import (
        event_weight_gradients_at,
        event_weights_at,
        ratio_from_weights,
        score_from_weights,
        theta_coefficients,
        theta_gradient_coefficients,
        weight_moments,
    )

    augmenter = SampleAugmenter(golden)
    total, _ = weight_moments(golden, "train")
    local = augmenter.sample_train_local(benchmark("sm"), 3000, seed=4, write=False)
    ratio = augmenter.sample_train_ratio(
        random_morphing_points(3, [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)]),
        benchmark("sm"),
        3000,
        seed=5,
        write=False,
    )
    for sample in (local, ratio):
        w = golden.read_rows("weights", sample["event"])
        c0 = theta_coefficients(golden.setup, sample["theta0"])
        dc0 = theta_gradient_coefficients(golden.setup, sample["theta0"])
        w0 = event_weights_at(w, c0)
        expected = score_from_weights(w0, event_weight_gradients_at(w, dc0), c0 @ total, dc0 @ total)
        np.testing.assert_allclose(sample["t_xz0"], expected, rtol=1e-9, atol=1e-9)
    c1 = theta_coefficients(golden.setup, ratio["theta1"])
    w = golden.read_rows("weights", ratio["event"])
    c0 = theta_coefficients(golden.setup, ratio["theta0"])
    expected = ratio_from_weights(event_weights_at(w, c0), event_weights_at(w, c1), c0 @ total, c1 @ total)
    np.testing.assert_allclose(ratio["r_xz"], expected, rtol=1e-9)


def test_golden_sample_follows_the_morphed_distribution(golden):
    theta = np.array([0.6, -0.5])
    sample = SampleAugmenter(golden).sample_train_plain(
        morphing_point(theta), 8000, seed=6, write=False, sample_only_from_closest_benchmark=False
    )
    from columnminer.weights import theta_coefficients

    train = golden.partition_mask("train")
    weights = golden.read("weights")[train] @ theta_coefficients(golden.setup, [theta])[0]
    observables = golden.read("observables")[train]
    for name, bins in (("Phi", np.linspace(-np.pi, np.pi, 13)), ("cos_theta1", np.linspace(-1, 1, 11))):
        column = golden.observable_names.index(name)
        p = weighted_chi2_pvalue(sample["x"][:, column], observables[:, column], weights, bins)
        assert p > 1e-3, name


def test_more_ratios_with_additional_thetas(golden):
    augmenter = SampleAugmenter(golden)
    theta0 = morphing_points([[0.5, 0.5], [-0.5, 0.2]])
    sample = augmenter.sample_train_more_ratios(
        theta0, benchmark("sm"), 1000, additional_thetas=2, seed=3, write=False
    )
    n_ones = 500
    assert len(sample["y"]) == 1000 + 2 * n_ones
    assert {"t_xz0", "t_xz1", "r_xz"} <= set(sample.arrays)
    extra = slice(1000, None)
    from columnminer.weights import theta_coefficients, weight_moments

    total, _ = weight_moments(golden, "train")
    w = golden.read("weights")[sample["event"][extra]]
    c0 = theta_coefficients(golden.setup, sample["theta0"][extra])
    c1 = theta_coefficients(golden.setup, sample["theta1"][extra])
    expected = (np.einsum("nb,nb->n", w, c0) / (c0 @ total)) / (np.einsum("nb,nb->n", w, c1) / (c1 @ total))
    np.testing.assert_allclose(sample["r_xz"][extra], expected, rtol=1e-10)


def test_same_seed_same_sample_on_a_cluster(golden):
    distributed = pytest.importorskip("distributed")
    local = SampleAugmenter(golden).sample_train_ratio(
        benchmarks(["sm", "morphing_basis_vector_1"]),
        benchmark("morphing_basis_vector_2"),
        3000,
        seed=9,
        write=False,
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            remote = SampleAugmenter(golden, client=client).sample_train_ratio(
                benchmarks(["sm", "morphing_basis_vector_1"]),
                benchmark("morphing_basis_vector_2"),
                3000,
                seed=9,
                write=False,
            )
    for key in local.arrays:
        np.testing.assert_array_equal(local[key], remote[key])
