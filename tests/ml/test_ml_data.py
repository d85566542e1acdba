"""TrainingData: sources (arrays, .npy memory maps, store samples), splits, block-shuffled batches, statistics."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from columnminer import AnalysisSetup
from columnminer.errors import EstimatorError, StoreError
from columnminer.io.store import EventStore
from columnminer.ml import Scaler, TrainingData


def _columns(n=103):
    rows = np.arange(n, dtype=np.float64)
    return {"x": np.stack([rows, -rows], axis=1), "y": rows % 2, "r_xz": rows}


def _rows_seen(batches):
    return np.concatenate([b["r_xz"].numpy() for b in batches]).astype(int)


def test_batches_visit_every_row_once_and_keep_rows_together():
    data = TrainingData(_columns(), block_size=10, buffer_blocks=3)
    batches = list(data.batches(16, shuffle=True, seed=4))
    rows = _rows_seen(batches)
    assert sorted(rows) == list(range(103))
    assert not np.array_equal(rows, np.arange(103))  # shuffled
    for batch in batches:  # x, y and r_xz of one row stay aligned
        np.testing.assert_array_equal(batch["x"][:, 0], batch["r_xz"])
        np.testing.assert_array_equal(batch["y"], batch["r_xz"] % 2)
        assert batch["x"].dtype == torch.float32
    assert [len(b["y"]) for b in batches[:-1]] == [16] * (len(batches) - 1)


def test_shuffle_is_reproducible_and_depends_on_the_seed():
    data = TrainingData(_columns(), block_size=10)
    first = _rows_seen(data.batches(8, seed=1))
    np.testing.assert_array_equal(first, _rows_seen(data.batches(8, seed=1)))
    assert not np.array_equal(first, _rows_seen(data.batches(8, seed=2)))
    np.testing.assert_array_equal(_rows_seen(data.batches(8, shuffle=False)), np.arange(103))


def test_block_shuffle_mixes_blocks_within_a_buffer():
    data = TrainingData(_columns(1000), block_size=50, buffer_blocks=4)
    first = next(data.batches(100, seed=0))["r_xz"].numpy().astype(int)
    assert len(set(first // 50)) > 1  # rows of several blocks in one batch
    assert len(set(first // 50)) <= 4 + 1  # from one buffer (plus a carried remainder)


def test_drop_last():
    data = TrainingData(_columns(), block_size=1000)
    assert sum(len(b["y"]) for b in data.batches(10, drop_last=True)) == 100


def test_split_is_disjoint_deterministic_and_complete():
    data = TrainingData(_columns(), block_size=7)
    train, val = data.split(0.25, seed=3)
    rows_train = set(train.to_numpy("r_xz").astype(int))
    rows_val = set(val.to_numpy("r_xz").astype(int))
    assert rows_train.isdisjoint(rows_val) and rows_train | rows_val == set(range(103))
    assert len(val) == 26 and len(train) == 77
    again, _ = data.split(0.25, seed=3)
    np.testing.assert_array_equal(train.to_numpy("r_xz"), again.to_numpy("r_xz"))
    # a view of a view, batches and statistics only see its rows
    sub = val.subset(np.arange(5))
    assert _rows_seen(sub.batches(2, shuffle=False)).tolist() == sorted(rows_val)[:5]
    assert sub.statistics("r_xz").mean[0] == pytest.approx(np.mean(sorted(rows_val)[:5]))


def test_npy_columns_are_memory_mapped(tmp_path):
    columns = _columns()
    paths = {}
    for name, values in columns.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], values)
    data = TrainingData({k: str(v) for k, v in paths.items()})
    assert isinstance(data._columns["x"], np.memmap)
    np.testing.assert_array_equal(data.to_numpy("x"), columns["x"])
    with pytest.raises(EstimatorError, match=r"not a \.npy file"):
        TrainingData({"x": tmp_path / "x.npz"})
    with pytest.raises(EstimatorError, match="no file"):
        TrainingData({"x": tmp_path / "missing.npy"})


def test_bad_columns_are_rejected():
    with pytest.raises(EstimatorError, match="different lengths"):
        TrainingData({"x": np.zeros((3, 1)), "y": np.zeros(4)})
    with pytest.raises(EstimatorError, match="1-d or 2-d"):
        TrainingData({"x": np.zeros((3, 1, 1))})
    with pytest.raises(EstimatorError, match="no training column"):
        TrainingData({"x": np.zeros(3)}).statistics("y")
    with pytest.raises(EstimatorError, match="validation_fraction"):
        TrainingData({"x": np.zeros(3)}).split(1.0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 300),
    block=st.integers(1, 64),
    offset=st.floats(-1e6, 1e6),
    spread=st.floats(1e-3, 1e3),
)
def test_streaming_statistics_match_numpy(n, block, offset, spread):
    values = offset + spread * np.random.default_rng(n).normal(size=(n, 3))
    stats = TrainingData({"x": values}, block_size=block).statistics("x")
    assert stats.count == n
    np.testing.assert_allclose(stats.mean, values.mean(axis=0), rtol=1e-9, atol=1e-9 * spread)
    np.testing.assert_allclose(stats.std, values.std(axis=0), rtol=1e-6, atol=1e-9 * spread)
    np.testing.assert_array_equal(stats.minimum, values.min(axis=0))
    np.testing.assert_array_equal(stats.maximum, values.max(axis=0))


@pytest.mark.parametrize("mode", ["standard", "minmax", "none"])
def test_scaler_modes(mode):
    values = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    scaler = Scaler(2, mode)
    scaler.fit(TrainingData({"x": values}).statistics("x"))
    scaled = scaler(torch.tensor(values, dtype=torch.float32)).numpy()
    if mode == "standard":
        np.testing.assert_allclose(scaled[:, 0].mean(), 0, atol=1e-6)
        np.testing.assert_allclose(scaled[:, 0].std(), 1, atol=1e-6)
    elif mode == "minmax":
        np.testing.assert_allclose(scaled[:, 0], [0, 0.5, 1])
    else:
        np.testing.assert_allclose(scaled, values)
    np.testing.assert_allclose(scaled[:, 1], scaled[0, 1])  # constant feature: scale 1, no division by 0
    assert np.isfinite(scaled).all()
    with pytest.raises(EstimatorError, match="unknown scaling"):
        Scaler(2, "robust")


@pytest.fixture
def sample_store(tmp_path):
    setup = AnalysisSetup()
    setup.add_parameter("toy", 1, name="theta", parameter_range=(-2.0, 2.0))
    setup.add_benchmark([0.0], name="sm")
    store = EventStore.create(str(tmp_path / "s.zarr"), setup, ["x"], chunk_size=16)
    n = 100
    arrays = {
        "x": np.arange(n, dtype=np.float64)[:, None],
        "theta0": np.zeros((n, 1)),
        "t_xz0": np.arange(n, dtype=np.float64)[:, None] / 10,
        "event": np.arange(n),
    }
    store.write_sample("local", arrays, {"kind": "train_local"})
    return store


def test_store_sample_is_read_in_blocks(sample_store):
    data = TrainingData.from_store(sample_store, "local")
    assert sorted(data.names) == ["t_xz", "theta", "x"]  # renamed, "event" skipped
    assert type(data._columns["x"]).__module__.startswith("zarr")  # not loaded whole
    assert data.block_size % 16 == 0
    rows = np.concatenate([b["x"][:, 0].numpy() for b in data.batches(7, seed=1)])
    assert sorted(rows.astype(int)) == list(range(100))
    by_path = TrainingData.from_store(sample_store.url, "local", block_size=16)
    np.testing.assert_allclose(by_path.statistics("t_xz").mean, [4.95])
    with pytest.raises(StoreError, match="no sample"):
        TrainingData.from_store(sample_store, "missing")
