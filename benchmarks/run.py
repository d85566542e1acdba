"""One benchmark table (issue 25): columnminer beside MadMiner 0.9.6 and pylhe, medians, load, peak memory.

Every row of the table is a function ``row_xxx(ctx) -> list[dict]`` (one dict per printed line) in the
registry :data:`ROWS`; each row runs in a fresh child process of this script (``--child NAME``), so the
peak memory of a row (VmHWM, reset once its inputs are built) is that of columnminer's side alone: MadMiner,
pylhe probes and memory probes run in their own processes. Sides are interleaved run by run (ours, the
reference, ours, ...) ``--repeats`` times after one untimed warm-up of ours; the table shows medians.
Inputs (stores, the MadMiner HDF5 file, LHE files) are built once per run in a work folder and excluded
from every time.

Run::

    python benchmarks/run.py [--quick] [--only ROW,ROW] [--repeats N] [--madminer PYTHON | --no-madminer]
                             [--json benchmarks/results/latest.json] [--workdir DIR]

From Python (e.g. a quiet-machine rerun): ``results = run_benchmarks(["--quick", "--only", "xsecs"])``
returns the dictionary written to the JSON file; :func:`markdown_table` formats it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import (  # noqa: E402
    MADMINER_HELPER,
    environment,
    environment_line,
    export_npz,
    golden_store,
    interleave,
    lhe_difference,
    lhe_probe,
    line,
    markdown_table,
    max_rel,
    peak_rss_mb,
    pow10,
    reset_peak_rss,
    rss_mb,
    sin_work,
    stream_ceiling,
    stream_work,
    thread_ceiling,
    timed,
    train_alices,
)

DEFAULT_MADMINER = "/tmp/madminer-venv/bin/python"
DEFAULT_JSON = HERE / "results" / "latest.json"
LHE_DATA = HERE.parent / "tests" / "data" / "lhe"
SIZES = {  # full: the sizes of issue 25; quick: a smoke run of the whole table in minutes
    "full": {"events": 10**6, "samples": 10**5, "thetas": 100, "lhe_mb": 300, "reduction_events": 10**7,
             "reduction_thetas": 1000, "generator_events": 10**5, "train_samples": 10**5, "epochs": 10},
    "quick": {"events": 10**5, "samples": 10**4, "thetas": 10, "lhe_mb": 50, "reduction_events": 2 * 10**5,
              "reduction_thetas": 1000, "generator_events": 10**4, "train_samples": 10**4, "epochs": 2},
}  # fmt: skip


class Context:
    """What a row needs: the options, the sizes, the work folder and the inputs built there once."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.size = SIZES["quick" if args.quick else "full"]
        self.workdir = Path(args.workdir)
        self.madminer = args.madminer or None

    def store(self, n_events: int):
        """The golden store of ``n_events`` events (``golden_store``), built on first use."""
        return golden_store(self.workdir / f"golden_{n_events}.zarr", n_events)

    def madminer_dir(self, n_events: int) -> Path:
        """A folder holding ``events.npz`` and MadMiner's HDF5 file of the same events (written once, by
        ``madminer_sampling.py``'s build step; later calls pass ``--reuse``)."""
        folder = self.workdir / f"madminer_{n_events}"
        h5 = folder / "madminer_events.h5"
        if not Path(str(h5) + ".json").exists():
            folder.mkdir(parents=True, exist_ok=True)
            export_npz(self.store(n_events), folder / "events.npz")
            command = [self.madminer, str(HERE / "madminer_sampling.py"), "--npz", str(folder / "events.npz")]
            command += ["--n-samples", "0", "--n-thetas", "0", "--seed", "1", "--build-only", str(h5)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            Path(str(h5) + ".json").write_text(done.stdout.strip().splitlines()[-1])
        return folder

    def measuring(self) -> None:
        """Inputs are ready: from here the row's peak memory counts (VmHWM reset; the resident memory now
        is the baseline of the growth reported beside the peak)."""
        os.environ["CM_BENCH_BASELINE_MB"] = str(rss_mb() if reset_peak_rss() else float("nan"))


# -- rows 1-4: sampling and reductions against MadMiner on the same events ------------------------------
def _madminer_sampling(ctx: Context, kind: str, n_thetas: int, last: dict) -> Callable[[], float | None]:
    folder = ctx.madminer_dir(ctx.size["events"])

    def run() -> float | None:
        command = [ctx.madminer, str(HERE / "madminer_sampling.py"), "--npz", str(folder / "events.npz")]
        command += ["--n-samples", str(ctx.size["samples"]), "--n-thetas", str(n_thetas), "--seed", "1"]
        command += ["--workdir", str(folder), "--reuse", "--kind", kind]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        last.update(json.loads(done.stdout.strip().splitlines()[-1]))
        return last["seconds"]

    return run


def _madminer_reduction(ctx: Context, kind: str, thetas: np.ndarray, last: dict) -> Callable[[], float]:
    h5 = ctx.madminer_dir(ctx.size["events"]) / "madminer_events.h5"

    def run() -> float:
        command = [ctx.madminer, "-c", MADMINER_HELPER, kind, str(h5), json.dumps(thetas.tolist())]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        last.update(json.loads(done.stdout.strip().splitlines()[-1]))
        return last["seconds"]

    return run


def _versus_madminer(ctx: Context, work: str, ours: Callable[[], object], theirs: Callable | None,
                     target: float, check: Callable[[], dict]) -> list[dict]:  # fmt: skip
    """Ours (after a warm-up) and MadMiner's side interleaved; one line."""
    ours()
    ctx.measuring()
    sides = {"ours": timed(ours)} | ({"madminer": theirs} if theirs else {})
    times = interleave(sides, ctx.args.repeats)
    name = "MadMiner" if theirs else "MadMiner: not run"
    return [line(work, "s", times["ours"], times.get("madminer"), name, (">=", target, "ratio"), check())]


def row_sample_train_ratio(ctx: Context) -> list[dict]:
    from columnminer.sampling import SampleAugmenter, benchmark, random_morphing_points

    n, size = ctx.size["thetas"], ctx.size
    augmenter, out, last = SampleAugmenter(ctx.store(size["events"])), {}, {}
    theta0 = random_morphing_points(n, [("flat", -1.0, 1.0), ("flat", -1.0, 1.0)])

    def ours() -> None:
        out["s"] = augmenter.sample_train_ratio(theta0, benchmark("sm"), size["samples"], seed=1, write=False)

    theirs = _madminer_sampling(ctx, "ratio", n, last) if ctx.madminer else None

    def check() -> dict:
        mine = {"n_samples": len(out["s"]["x"]), "n_eff_min": float(np.min(out["s"].n_effective))}
        return mine | ({"madminer_n_samples": last["n_samples"]} if "n_samples" in last else {})

    work = (
        f"`sample_train_ratio`, {pow10(size['samples'])} samples, {n} theta0, {pow10(size['events'])} events"
    )
    return _versus_madminer(ctx, work, ours, theirs, 30, check)


def row_sample_train_local(ctx: Context) -> list[dict]:
    from columnminer.sampling import SampleAugmenter, benchmark

    size, out, last = ctx.size, {}, {}
    augmenter = SampleAugmenter(ctx.store(size["events"]))

    def ours() -> None:
        out["s"] = augmenter.sample_train_local(benchmark("sm"), size["samples"], seed=1, write=False)

    theirs = _madminer_sampling(ctx, "local", 1, last) if ctx.madminer else None

    def check() -> dict:  # sampling statistics (MadMiner's side reports only its sample count)
        x, t = out["s"]["x"], out["s"]["t_xz0" if "t_xz0" in out["s"].arrays else "t_xz"]
        mine = {"n_samples": len(x), "x_mean": x.mean(axis=0).tolist(), "t_xz_mean": t.mean(axis=0).tolist()}
        return mine | ({"madminer_n_samples": last["n_samples"]} if "n_samples" in last else {})

    work = f"`sample_train_local`, {pow10(size['samples'])} at the SM, {pow10(size['events'])} events"
    return _versus_madminer(ctx, work, ours, theirs, 5, check)


def _reduction_row(ctx: Context, kind: str, thetas: np.ndarray, target: float, work: str) -> list[dict]:
    """``truth_information`` (kind "truth", at ``thetas[0]``, 1 pb^-1) or cross sections ("xsecs") against
    MadMiner's FisherInformation / DataAnalyzer.xsecs on the same file; check: max relative difference."""
    from columnminer.inference.fisher import truth_information
    from columnminer.weights import cross_sections

    store, out, last = ctx.store(ctx.size["events"]), {}, {}

    def ours() -> None:
        if kind == "truth":
            out["r"] = truth_information(store, thetas[0], 1.0).information
        else:
            out["r"] = cross_sections(store, thetas)[0]

    theirs = _madminer_reduction(ctx, kind, thetas, last) if ctx.madminer else None

    def check() -> dict:
        return {f"{kind}_max_rel_diff": max_rel(out["r"], last["result"])} if "result" in last else {}

    return _versus_madminer(ctx, f"{work}, {pow10(ctx.size['events'])} events", ours, theirs, target, check)


def row_truth_information(ctx: Context) -> list[dict]:
    return _reduction_row(ctx, "truth", np.zeros((1, 2)), 100, "`truth_information` at the SM")


def row_xsecs(ctx: Context) -> list[dict]:
    thetas = np.random.default_rng(1).uniform(-1, 1, size=(100, 2))
    return _reduction_row(ctx, "xsecs", thetas, 50, "cross sections at 100 thetas")


# -- rows 5-6: LHE ---------------------------------------------------------------------------------------


def row_lhe_pylhe(ctx: Context) -> list[dict]:
    import pylhe

    from columnminer.io.lhe import read_lhe

    files = sorted(p for p in LHE_DATA.glob("*madgraph*.lhe*") if not p.name.endswith(".readme"))
    mb = sum(p.stat().st_size for p in files) / 1e6

    out: dict = {}

    def theirs() -> None:
        out["pylhe"] = [pylhe.to_awkward(pylhe.LHEFile.fromfile(str(p)).events) for p in files]

    def ours() -> None:
        out["ours"] = [read_lhe(p) for p in files]

    ours()
    ctx.measuring()
    times = interleave({"ours": timed(ours), "pylhe": timed(theirs)}, ctx.args.repeats)
    check = {
        "max_rel_diff_vs_pylhe": max(map(lhe_difference, out["ours"], out["pylhe"])),
        "files": len(files),
    }
    work = f"LHE read vs pylhe, {len(files)} MadGraph test files ({mb:.1f} MB)"
    return [line(work, "s", times["ours"], times["pylhe"], "pylhe.to_awkward", (">=", 50, "ratio"), check)]


def row_lhe_madminer(ctx: Context) -> list[dict]:
    from columnminer.io.lhe import read_lhe

    path, last = ctx.workdir / "pp_to_jj.lhe.gz", {}  # a copy: MadMiner unzips next to the file it reads
    shutil.copyfile(LHE_DATA / "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz", path)
    read_lhe(path)
    ctx.measuring()
    sides: dict[str, Callable[[], float | None]] = {"ours": timed(lambda: read_lhe(path))}
    if ctx.madminer:

        def theirs() -> float:
            command = [ctx.madminer, "-c", MADMINER_HELPER, "lhe", str(path), "[]"]
            last.update(json.loads(subprocess.check_output(command, text=True).strip().splitlines()[-1]))
            return last["seconds"]

        sides["madminer"] = theirs
    times = interleave(sides, 1 if ctx.args.quick else ctx.args.repeats)  # MadMiner: 20-40 s a run
    check = {"n_events": len(read_lhe(path))} | ({"madminer_n_events": last["result"][0]} if last else {})
    name = "MadMiner parse_lhe_file (LHEReader's parser)" if ctx.madminer else "MadMiner: not run"
    note = "MadMiner: XML events and one observable (leading-jet pT); ours: all particles and weights"
    work = "LHE read vs MadMiner, testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz"
    return [line(work, "s", times["ours"], times.get("madminer"), name, check=check, note=note)]


def row_lhe_throughput(ctx: Context) -> list[dict]:
    from columnminer.simulators.golden import simulate_golden

    folder = ctx.workdir / "golden_lhe"
    path = folder / "signal.lhe"
    if not path.exists():  # about 1.85 kB of text per golden-channel event
        simulate_golden(
            None, int(ctx.size["lhe_mb"] * 1e6 / 1850), folder, seed=1, n_background=0, gzip=False
        )
    mb = path.stat().st_size / 1e6
    ctx.measuring()  # the reads themselves run in fresh probe processes (their growth is in the lines)
    out: dict = {}
    times = interleave(
        {"read": lhe_probe("read", path, out), "iterate": lhe_probe("iter", path, out)}, ctx.args.repeats
    )
    growth = [r["growth_mb"] for r in out["read"] if r["growth_mb"] is not None]
    arrays_mb = out["read"][0]["nbytes"] / 1e6
    mem = [g / arrays_mb for g in growth]
    note = f"{mb:.0f} MB plain golden-channel LHE, {os.cpu_count()} threads, fresh process per run"
    return [
        line(f"`read_lhe` plain text MB/s ({mb:.0f} MB)", "MB/s", [mb / t for t in times["read"]],
             target=(">=", 600, "value"), note=note, speedup=False),
        line("`read_lhe` time / `iterate_lhe` time", "x",
             [r / i for r, i in zip(times["read"], times["iterate"], strict=True)],
             target=("<=", 1.0, "value"), check={"read_s": times["read"], "iterate_s": times["iterate"]}),
        line("`read_lhe` peak memory / returned arrays", "x", mem, target=("<=", 1.3, "value"),
             check={"growth_mb": growth, "arrays_mb": arrays_mb}),
    ]  # fmt: skip


# -- rows 7-9: scaling, generator, training --------------------------------------------------------------


#: Timings per repeat in the scaling rows: the shortest reductions take 40-200 ms, where one scheduler hiccup
#: or a neighbour's burst moves a single timing by 30 %; medians of 3 x 3 samples are steadier than of 3.
SCALING_SAMPLES = 3


def _noop(_: int) -> None:
    """A task that does nothing (the cluster's round trip)."""


def row_reductions(ctx: Context) -> list[dict]:
    import dask
    from distributed import Client, LocalCluster

    from columnminer.inference.binned import binned_weights
    from columnminer.inference.fisher import truth_information
    from columnminer.sampling import SampleAugmenter, benchmark
    from columnminer.weights import cross_section_gradients, cross_sections

    store, n = ctx.store(ctx.size["reduction_events"]), ctx.size["reduction_thetas"]
    thetas, edges = np.random.default_rng(1).uniform(-1, 1, size=(n, 2)), np.linspace(-3, 3, 21)
    reductions = {
        f"cross sections, {n} thetas": lambda c: cross_sections(store, thetas, client=c),
        f"cross-section gradients, {n} thetas": lambda c: cross_section_gradients(store, thetas, client=c),
        "truth_information at the SM": lambda c: truth_information(store, "sm", 1.0, client=c),
        "binned_weights, 20 bins": lambda c: binned_weights(store, "x0", edges, client=c),
        "sample_train_local, 10^5 at the SM": lambda c: SampleAugmenter(store, client=c).sample_train_local(
            benchmark("sm"), 100_000, seed=1, write=False
        ),
    }

    def threads(k: int, fn: Callable) -> Callable[[], object]:
        def run() -> object:
            with dask.config.set(num_workers=k):
                return fn(None)

        return run

    # threads first, with no cluster alive: an idle LocalCluster's scheduler, nannies and workers take about
    # 0.2 of a core between tasks, which the two-thread runs (wanting both cores) would pay
    tests = {(name, f"threads {k}"): timed(threads(k, fn)) for name, fn in reductions.items() for k in (1, 2)}
    for test in tests.values():  # warm-up round
        test()
    ctx.measuring()
    ceilings = {("ceiling", f"threads {k}"): timed(lambda k=k: thread_ceiling(k)) for k in (1, 2)}
    ceilings |= {("stream", f"threads {k}"): timed(lambda k=k: stream_ceiling(k)) for k in (1, 2)}
    pools = {k: ProcessPoolExecutor(k) for k in (1, 2)}
    try:
        for pool in pools.values():
            list(pool.map(sin_work, range(2)))
            list(pool.map(stream_work, range(2)))
        for kind, work in (("ceiling", sin_work), ("stream", stream_work)):
            ceilings |= {
                (kind, f"processes {k}"): timed(lambda k=k, work=work: list(pools[k].map(work, range(2))))
                for k in (1, 2)
            }
        stream_ceiling(1)  # the threads' arrays are made before the clock starts
        times = interleave(ceilings | tests, ctx.args.repeats * SCALING_SAMPLES)
    finally:
        for pool in pools.values():
            pool.shutdown()
    # then the clusters, one alive at a time, 1 and 2 workers in turn, each warmed up before it is timed
    for _ in range(ctx.args.repeats):
        for k in (1, 2):
            with LocalCluster(
                n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                with Client(cluster, set_as_default=False) as client:
                    for fn in reductions.values():
                        fn(client)
                    for _ in range(SCALING_SAMPLES):
                        for name, fn in reductions.items():
                            seconds = timed(lambda fn=fn, client=client: fn(client))()
                            times.setdefault((name, f"workers {k}"), []).append(seconds)
                        # what a call pays on the cluster whatever its work: one no-op task per worker, sent
                        # and gathered right after a reduction, as the reductions follow each other
                        seconds = timed(lambda c=client, k=k: c.gather(c.map(_noop, range(k), pure=False)))()
                        times.setdefault(("round trip", f"workers {k}"), []).append(seconds)
    ceiling = line("machine ceiling: np.sin, 2 threads vs 1", "s", times[("ceiling", "threads 2")],
                   times[("ceiling", "threads 1")], "1 thread", note="what two threads could gain then")  # fmt: skip
    process_ceiling = line("machine ceiling: np.sin, 2 processes vs 1", "s", times[("ceiling", "processes 2")],
                           times[("ceiling", "processes 1")], "1 process",
                           note="what two worker processes could gain then")  # fmt: skip
    stream = [
        line(f"machine ceiling: memory streaming (copies of 2 x 48 MB), 2 {kind} vs 1", "s",
             times[("stream", f"{kind} 2")], times[("stream", f"{kind} 1")], f"1 {one}",
             note="what two cores could gain on work bound by memory bandwidth")
        for kind, one in (("threads", "thread"), ("processes", "process"))
    ]  # fmt: skip
    trips = [
        line(f"cluster overhead: a no-op task per worker, {k}-worker LocalCluster, right after a reduction", "s",
             times[("round trip", f"workers {k}")], note="the scheduler's round trip that every call on a "
             "cluster pays on top of its work (batched messages between client, scheduler and workers)")
        for k in (1, 2)
    ]  # fmt: skip
    lines = [ceiling, process_ceiling, *stream, *trips]
    for name in reductions:
        for kind, label in (("threads", "2 threads vs 1"), ("workers", "2-worker LocalCluster vs 1")):
            two, one, check = (
                times[(name, f"{kind} 2")],
                times[(name, f"{kind} 1")],
                {"ceiling": (ceiling if kind == "threads" else process_ceiling)["ratio"]},
            )
            lines.append(
                line(f"{name}, {label}", "s", two, one, f"1 {kind[:-1]}", (">=", 1.7, "ratio"), check)
            )
    return lines


def row_generator(ctx: Context) -> list[dict]:
    from columnminer.simulators.golden import simulate_golden

    n, folder = ctx.size["generator_events"], ctx.workdir / "generator"
    simulate_golden(None, 1000, folder, seed=1)  # warm-up (numba kernels)
    ctx.measuring()
    runs = interleave({"gen": timed(lambda: simulate_golden(None, n, folder, seed=1))}, ctx.args.repeats)[
        "gen"
    ]
    note = f"simulate_golden: {n:,} signal + {n:,} background events written as gzip LHE, counted together"
    return [line("generator: golden channel end to end, events/s", "events/s", [2 * n / t for t in runs],
                 target=(">=", 50_000, "value"), note=note, speedup=False)]  # fmt: skip


def _training_data(ctx: Context) -> Path:
    """``training.py``'s toy ALICES data (ratio.npz), written once."""
    from training import make_data

    folder = ctx.workdir / "training"
    if not (folder / "ratio.npz").exists():
        folder.mkdir(exist_ok=True)
        make_data(folder, ctx.size["train_samples"], 0)
    return folder / "ratio.npz"


def row_training(ctx: Context) -> list[dict]:
    import torch

    npz, epochs, n = _training_data(ctx), ctx.size["epochs"], ctx.size["train_samples"]
    ours = train_alices(npz, epochs, "cpu")
    sides: dict[str, Callable[[], float | None]] = {
        "ours": ours,
        "ours_1": train_alices(npz, epochs, "cpu", threads=1),
    }
    if ctx.madminer:

        def theirs() -> float:
            command = [
                ctx.madminer,
                str(HERE / "madminer_training.py"),
                "--npz",
                str(npz),
                "--method",
                "alices",
            ]
            command += ["--epochs", str(epochs), "--batch-size", "128", "--hidden", "100,100", "--seed", "0"]
            done = subprocess.run(command, capture_output=True, text=True, check=True,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
            return json.loads(done.stdout.strip().splitlines()[-1])["seconds_per_epoch"]

        sides["madminer"] = theirs
    train_alices(npz, 1, "cpu")()  # warm-up
    ctx.measuring()
    times = interleave(sides, ctx.args.repeats)
    work = f"ALICES training, {pow10(n)} samples, {epochs} epochs, CPU, s/epoch"
    name = "MadMiner default (8 loader workers)" if ctx.madminer else "MadMiner: not run"
    note = f"hidden (100, 100), batch 128, torch threads {torch.get_num_threads()}"
    lines = [line(work, "s", times["ours"], times.get("madminer"), name, (">=", 10, "ratio"), note=note)]
    work = f"ALICES training, {pow10(n)} samples, {epochs} epochs, CPU, 1 torch thread, s/epoch"
    lines.append(
        line(work, "s", times["ours_1"], times.get("madminer"), name, note="not the default: one thread")
    )
    if not torch.cuda.is_available():
        return [
            *lines,
            line("ALICES training on GPU, samples/s", "samples/s", [], note="no GPU", speedup=False),
        ]
    return [*lines, _gpu_line(npz, n)]


def _gpu_line(npz: Path, n: int) -> dict:
    """ALICES samples/s on the GPU and on the CPU at batch sizes 128-8192 (2 epochs each): the best GPU rate
    beside the CPU's at that batch; check: every rate and the smallest batch where the GPU wins."""
    import torch

    rates = {}
    for batch in (128, 512, 2048, 8192):  # samples/s on the GPU and the CPU at the same batch size
        gpu = interleave(
            {"g": train_alices(npz, 2, "cuda", batch), "c": train_alices(npz, 2, "cpu", batch)}, 1
        )
        rates[batch] = (n / gpu["g"][0], n / gpu["c"][0])
    beats = [b for b, (g, c) in rates.items() if g > c]
    check = {
        "samples_per_s_gpu_cpu_by_batch": rates,
        "gpu_beats_cpu_from_batch": min(beats) if beats else None,
    }
    best = max(rates, key=lambda b: rates[b][0])
    gpu = torch.cuda.get_device_name()
    work = f"ALICES training on GPU ({gpu}), samples/s, batch {best}"
    note = f"the GPU beats the CPU from batch {check['gpu_beats_cpu_from_batch']}"
    gpu_line = line(work, "samples/s", [rates[best][0]], [rates[best][1]], "CPU, same batch", check=check,
                    note=note, speedup=False)  # fmt: skip
    return gpu_line


ROWS: dict[str, Callable[[Context], list[dict]]] = {
    "sample_train_ratio": row_sample_train_ratio,
    "sample_train_local": row_sample_train_local,
    "truth_information": row_truth_information,
    "xsecs": row_xsecs,
    "lhe_pylhe": row_lhe_pylhe,
    "lhe_madminer": row_lhe_madminer,
    "lhe_throughput": row_lhe_throughput,
    "reductions": row_reductions,
    "generator": row_generator,
    "training": row_training,
}


# -- running ---------------------------------------------------------------------------------------------
def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run of the table)")
    parser.add_argument("--only", default="", help=f"comma-separated rows of: {', '.join(ROWS)}")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3, quick 2)")
    default_mm = DEFAULT_MADMINER if Path(DEFAULT_MADMINER).exists() else ""
    parser.add_argument("--madminer", default=default_mm, help="MadMiner's Python (its own environment)")
    parser.add_argument("--no-madminer", dest="madminer", action="store_const", const="")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where the results go")
    parser.add_argument("--workdir", default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: run one row, print JSON
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 3
    unknown = set(filter(None, args.only.split(","))) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; rows: {', '.join(ROWS)}")
    return args


def _child(args: argparse.Namespace) -> None:
    """Run one row in this (fresh) process; print its lines and peak memory as one JSON line."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    start = time.perf_counter()
    lines = ROWS[args.child](Context(args))
    peak, baseline = peak_rss_mb(), float(os.environ.get("CM_BENCH_BASELINE_MB", "nan"))
    growth = None if np.isnan(baseline) else peak - baseline
    print(
        json.dumps(
            {"lines": lines, "peak_mb": peak, "peak_growth_mb": growth, "wall_s": time.perf_counter() - start}
        )
    )


def _run_row(name: str, args: argparse.Namespace, passthrough: list[str]) -> dict:
    """One row in a child process, with the load average before and after."""
    load_before = os.getloadavg()[0]
    command = [sys.executable, str(Path(__file__).resolve()), *passthrough, "--child", name]
    command += ["--workdir", args.workdir, "--repeats", str(args.repeats), "--madminer", args.madminer]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    row: dict = {"row": name, "load_before": load_before, "load_after": os.getloadavg()[0]}
    json_lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode or not json_lines:
        return row | {"error": (done.stderr or done.stdout).strip()[-2000:]}
    return row | json.loads(json_lines[-1])


def run_benchmarks(argv: list[str] | None = None) -> dict:
    """Run the selected rows (arguments as on the command line), write the JSON file, print the table;
    returns the results (``environment``, ``options``, ``rows``: per row its ``lines``, ``peak_mb``, load)."""
    args = _arguments(argv)
    names = [n for n in args.only.split(",") if n] or list(ROWS)
    passthrough = ["--quick"] if args.quick else []
    own_workdir = args.workdir is None
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="cm-bench-run-")
    results = {"environment": environment(args.madminer), "options": {"quick": args.quick, "repeats": args.repeats,
               "rows": names, "sizes": SIZES["quick" if args.quick else "full"]}, "rows": []}  # fmt: skip
    print(environment_line(results["environment"]), flush=True)
    try:
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results["rows"].append(_run_row(name, args, passthrough))
    finally:
        if own_workdir:
            shutil.rmtree(args.workdir, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(markdown_table(results))
    return results


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.child:
        _child(args)
        return 0
    results = run_benchmarks(argv)
    return 1 if any("error" in row for row in results["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
