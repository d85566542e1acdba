"""The dask-awkward LHE source: partitions by event ranges, same events as the eager reader."""

import re

import awkward as ak
import numpy as np
import pytest

from columnminer.errors import LHEFormatError
from columnminer.io.lhe import lhe_to_dask, read_lhe

dask = pytest.importorskip("dask")
pytest.importorskip("dask_awkward")


@pytest.fixture(autouse=True)
def _no_graph_rewrites():
    # dask-awkward 2025.3's layer-chain rewrite fails under dask >= 2025.x ("Cannot fuse tasks with
    # multiple outputs" / missing layers) for any collection; computing without it is unaffected.
    with dask.config.set({"awkward.optimization.enabled": False}):
        yield


def test_partitions_and_divisions(lhe_file):
    path = lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")
    coll = lhe_to_dask(path, step_size=300)
    assert coll.npartitions == 4
    assert coll.divisions == (0, 300, 600, 900, 1000)
    assert coll.fields == ["nparticles", "pid", "weight", "scale", "aqed", "aqcd", "particles", "weights"]
    eager = read_lhe(path)
    got = coll.compute(scheduler="sync")
    assert ak.array_equal(got, eager, equal_nan=True)
    third = coll.partitions[2].compute(scheduler="sync")
    assert ak.array_equal(third, eager[600:900], equal_nan=True)
    assert third.attrs["lhe_first_event"] == 600
    # vector behaviour survives the lazy path
    pt = coll.particles.pt.compute(scheduler="sync")
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(pt)), ak.to_numpy(ak.flatten(eager.particles.pt)))


def test_several_files_share_one_schema(lhe_file):
    a = lhe_file("testlhef3.lhe")
    b = lhe_file("testfile-powheg-box-v2-W.lhe")
    coll = lhe_to_dask([a, b], step_size=40)
    assert coll.divisions == (0, 40, 59, 99, 139, 159)
    got = coll.compute(scheduler="threads")
    assert got.weights.fields == [*(str(i) for i in range(1001, 1010)), "ct10"]
    ct10 = ak.to_numpy(got.weights["ct10"])
    assert np.isnan(ct10[:59]).all()
    np.testing.assert_array_equal(ct10[59:], ak.to_numpy(read_lhe(b).weights["ct10"]))
    np.testing.assert_array_equal(ak.to_numpy(got.weight[:59]), ak.to_numpy(read_lhe(a).weight))


def test_partition_errors_name_the_event_of_the_file(lhe_file, tmp_path):
    src = lhe_file("testfile-powheg-box-v2-W.lhe").read_bytes()
    k = [m.start() for m in re.finditer(rb"<event>", src)][57]
    path = tmp_path / "truncated.lhe"
    path.write_bytes(src[: k + 100])
    coll = lhe_to_dask(path, step_size=20)
    assert coll.divisions == (0, 20, 40, 58)
    assert len(coll.partitions[1].compute(scheduler="sync")) == 20
    with pytest.raises(LHEFormatError, match="event 57") as err:
        coll.partitions[2].compute(scheduler="sync")
    assert err.value.event == 57 and err.value.n_complete_events == 57
