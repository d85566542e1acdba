"""benchmarks/sampling.py: the issue-25 sampling rows return their numbers as dicts (tiny sizes, no MadMiner)."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def sampling_benchmark():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("benchmark_sampling", BENCHMARKS / "sampling.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_rows_return_medians_and_runs(sampling_benchmark, tmp_path):
    sizes = {"n_events": 3000, "n_samples": 400, "chunk_size": 1000, "repeats": 2, "workdir": tmp_path}
    ratio = sampling_benchmark.ratio_row(None, n_thetas=5, **sizes)
    assert ratio["kind"] == "ratio" and ratio["n_thetas"] == 5 and len(ratio["columnminer_runs"]) == 2
    assert ratio["columnminer_s"] > 0 and ratio["madminer_s"] is None and ratio["speedup"] is None
    local = sampling_benchmark.local_row(None, **sizes)  # reuses the store built for the ratio row
    assert local["kind"] == "local" and local["n_thetas"] == 1 and len(local["load"]) == 2
    scaling = sampling_benchmark.thread_scaling("ratio", n_thetas=5, **(sizes | {"repeats": 1}))
    assert len(scaling["threads_1_runs"]) == len(scaling["threads_2_runs"]) == 1 and scaling["speedup"] > 0
    assert 0 < scaling["sequential_2"] <= 1 and scaling["ceiling"] > 0 and scaling["process_cpu_1_s"] > 0
