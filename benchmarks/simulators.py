"""Throughput of the built-in simulators and of the LHE writer (one core; medians of repeats).

Prints:

- golden channel: time and events/s for ``--events`` unweighted SM events (default 10^6) with weights at the
  six benchmarks of :func:`golden_setup` (generation, |M|^2 quadratic forms, unweighting, benchmark
  weights, lab boost; no file), the trial-point rate and the unweighting efficiency;
- the Gaussian toy: events/s for simulation plus joint ratio and score;
- LHE writing of golden events, plain and gzip: events/s and MB/s of the uncompressed text, beside a
  per-event Python f-string loop writing the same lines (the obvious non-vectorised reference);
- peak resident memory of the process (``ru_maxrss``).

Run: ``python benchmarks/simulators.py [--events 1000000] [--repeats 3] [--write-events 100000]``

Issue 25, item 4: ``simulate_golden`` end to end (signal + equal background, 9 scale weights, gzip), before
(``%`` formatting, gzip level 6, one thread) and after (numba formatter, gzip level 1 compressed in chunks by
2 threads), interleaved on the shared 2-core machine (load average 5-6, so absolute numbers are low):

=========================  ====================  ====================
n = 50,000 signal events   before: total/write   after: total/write
=========================  ====================  ====================
round 1                    29.8 s / 27.9 s       11.3 s / 7.2 s
round 2                    17.4 s / 14.6 s       15.6 s / 8.8 s
=========================  ====================  ====================

Decompressed text identical to before (checked on both files); formatting alone: 207 MB/s per thread
(Python's ``%``: 17-28 MB/s), zlib level 1 190 MB/s. Generation itself (about 35,000 events/s on one core,
amplitudes of 6.5 trial points per event) is now the larger cost; 50,000 events/s end to end is not reached.

Issue 25, item 4, second step: the background is generated and written by a second thread while the signal
is generated (``simulate_golden(..., parallel_background=True)``, the default; same bytes), and the formatter
guesses the decimal exponent from the binary one instead of calling ``log10`` (formatting +22 % per thread,
174 -> 214 MB/s CPU time, same text). CPU seconds per 100,000 signal + 100,000 background events (one
thread each, measured apart): signal generation 2.4, background 0.8, formatting 1.6, zlib level 1 1.8,
CRC 0.1 -- about 6.7 CPU seconds, so two cores cannot go below about 3.4 s (30,000 signal events/s, 60,000
events/s counting both files) without a cheaper generator. Interleaved HEAD / working tree, subprocesses,
n = 50,000 / 100,000 signal events plus as many background events, on the shared 2-core machine at load
average 6-10 (so the cores were never idle and the numbers are noisy):

====================  ==================  ==================  ======================
batch                 before (median)     after (median)      ratio
====================  ==================  ==================  ======================
n=50k, 2 rounds       21.8 s              14.0 s              1.55x (load 6.5-7.3)
n=100k, 3 rounds      24.4 s              20.1 s              1.21x (load 6.1-9.5)
n=50k, 2 rounds       13.9 s              17.8 s              0.78x (load 5.8-7.3)
n=50k, 4 rounds       15.8 s              17.7 s              0.89x (load 6.6-10.5)
====================  ==================  ==================  ======================

Process CPU time is the same on both sides (7.2-7.6 s before, 7.2-8.0 s after at n = 50,000): with the
cores saturated by other users the second thread cannot help, and its GIL hand-overs can cost. On a quiet
machine the background overlaps the single-threaded signal generation (expected gain about 1.4x);
``golden_benchmark`` reports both modes, interleaved, for the lead's quiet rerun (``end_to_end_*`` and
``end_to_end_sequential_*``), and the default should follow that measurement. Not reached: 50,000 signal
events/s end to end; a bit-identical numba generator is blocked by numpy's complex multiply, which uses
FMA (SIMD ``muladdsub``) on this CPU, so a compiled kernel would change the last bit of |M|^2 in about a
quarter of the products (and numpy's result is itself CPU-dependent).

Issue 25, item 4, third step (CPU per event, same decompressed text): constant numbers of a chunk (ids,
status, mothers, colours, lifetimes, spins, XWGTUP, often SCALUP and the background's weights) are formatted
once into the chunk's format (``fold_constants``: 142 numbers per signal event -> 44, background -> 35);
gzip by ISA-L (python-isal) at level 1 when installed (signal chunk of 20,000 events: 0.063 s CPU against
zlib's 0.19 s, 1 % smaller; the compressed bytes differ from zlib's, the text does not); no copy of the
kernel's output; the amplitude, decay and background |M|^2 code runs on blocks of 8,192 events (temporaries
stay in cache: |M|^2 forms 0.27 -> 0.165 s CPU per 131,072 trials, bit-identical, checked on 1.8 million
trial points) in 2 threads; ``golden_setup`` builds its morphing basis once per process (0.19 s per call
before). CPU seconds per 100,000 signal + 100,000 background events (run.py's row, no scale weights):
signal generation 1.9 -> 1.55, formatting 1.9 -> 1.0, gzip 1.8 -> 0.55, setup 0.19 -> 0; in all, process
CPU 7.7 -> 5.0 s, so 2 cores cannot take longer than about 2.5 s (80,000 events/s) once quiet.
Interleaved HEAD / working tree, one subprocess each, ``simulate_golden(None, 100000, folder, seed=1)``
(run.py's row) after a warm-up, on the shared 2-core machine with the other engineers' jobs running (load
average 3-4.6, so wall times are noisy and well above the quiet machine's):

=============================  =====================  =====================  =======================
batch (medians of the runs)    before: wall / CPU     after: wall / CPU      ratio wall / CPU
=============================  =====================  =====================  =======================
4 pairs x 1 run, load 3.0-4.1  11.9 s / 7.7 s         6.4 s / 5.2 s          1.87x / 1.50x
4 pairs x 2 runs, load 3.8-4.6 9.9 s / 7.7 s          5.9 s / 5.0 s          1.68x / 1.56x
3 pairs x 2 runs, load 3.5-4.0 5.6 s / 7.4 s          4.3 s / 4.9 s          1.32x / 1.51x
=============================  =====================  =====================  =======================

(the first two batches before the last two writer steps: no output copy, the table filled in place).
Best single run after: 3.2 s (62,600 events/s) at load 3.7. HEAD reached 45,600 events/s on the quiet
machine; with 1.5x less CPU per event the quiet rerun should land well above 50,000 (the lead's
``benchmarks/run.py --only generator`` decides).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from columnminer.io.lhe_writer import LHEEvents, LHEInit, write_lhe
from columnminer.simulators._events import SIGNAL_RECORD
from columnminer.simulators.golden import GoldenChannel, golden_setup
from columnminer.simulators.toy import GaussianToy


def median_time(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def python_loop_writer(path: Path, events: LHEEvents, names: list[str]) -> None:
    """Reference: the same event text, one f-string per line in a Python loop over events and particles."""
    pdg, status, mothers, colours = (
        np.asarray(x) for x in (events.pdgid, events.status, events.mothers, events.colours)
    )
    with open(path, "w") as handle:
        for i in range(events.n_events):
            handle.write("<event>\n")
            handle.write(
                f"{events.n_particles:2d} {1:6d} {events.weight[i]:+.7e} {125.0:.8e} {7.546771e-3:.8e} {0.118:.8e}\n"
            )
            for k in range(events.n_particles):
                e, px, py, pz = events.momenta[i, k]
                m2 = e * e - px * px - py * py - pz * pz
                mass = np.sqrt(m2) if m2 > 1e-6 * e * e else 0.0
                handle.write(
                    f"{pdg[k]:9d} {status[k]:2d} {mothers[k, 0]:4d} {mothers[k, 1]:4d} {colours[k, 0]:4d} "
                    f"{colours[k, 1]:4d} {px:+.10e} {py:+.10e} {pz:+.10e} {e:.10e} {mass:.10e} {0.0:.4e} {9.0:.4e}\n"
                )
            handle.write("<rwgt>\n")
            for name in names:
                handle.write(f"<wgt id='{name}'> {events.weights[name][i]:+.7e} </wgt>\n")
            handle.write("</rwgt>\n</event>\n")


def golden_end_to_end_once(n_events: int, seed: int = 1, scale_variations=(0.5, 1.0, 2.0), **options) -> dict:
    """One ``simulate_golden`` run (n signal + n background events, 9 scale weights, gzip) in a temporary
    directory: wall and process CPU seconds, its own split (generation of the signal / the rest) and the
    bytes written."""
    from columnminer.simulators.golden import simulate_golden

    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        info = simulate_golden(None, n_events, tmp, seed=seed, scale_variations=scale_variations, **options)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "seconds_generate_signal": info["seconds_generate"],
        "seconds_rest": info["seconds_write"],
        "gzip_mb": size / 1e6,
    }


def golden_benchmark(n_events: int = 100_000, repeats: int = 3, seed: int = 1) -> dict:
    """Throughput of the golden channel, medians of ``repeats`` runs, as a dict (for ``benchmarks/run.py``).

    - ``end_to_end``: :func:`~columnminer.simulators.golden.simulate_golden` writing ``n_events`` signal and
      as many background events (gzip, 9 scale weights): seconds, process CPU seconds (``end_to_end_cpu_s``:
      the quiet-machine floor is about half of it on 2 cores), signal events/s and all events/s; the
      ``end_to_end_sequential`` numbers are the same with ``parallel_background=False`` (run in turn);
    - ``generation``: ``GoldenChannel.generate`` plus ``background_events`` (no file), one after the other;
    - ``writing``: ``write_lhe`` of those signal and background events (gzip level 1), one after the other.
    """
    from columnminer.simulators._background import background_events
    from columnminer.simulators._events import BACKGROUND_RECORD, write_events

    setup, channel = golden_setup(), GoldenChannel()
    golden_end_to_end_once(min(n_events, 1000), seed)  # warm-up: imports, numba's cache, the page cache
    ends, ends_sequential = [], []
    for _ in range(repeats):  # interleaved: background in a second thread, and one after the other
        ends.append(golden_end_to_end_once(n_events, seed))
        ends_sequential.append(golden_end_to_end_once(n_events, seed, parallel_background=False))
    end = statistics.median(r["seconds"] for r in ends)
    end_sequential = statistics.median(r["seconds"] for r in ends_sequential)

    def generate():
        return channel.generate(setup, n_events, "sm", seed=seed), background_events(n_events, seed=seed + 7)

    t_gen, (sample, (bkg, bkg_sigma)) = median_time(generate, repeats)
    names = setup.benchmark_names

    def write(tmp: Path) -> None:
        scale = np.full(n_events, 125.0)
        write_events(
            tmp / "s.lhe.gz",
            sample.momenta,
            SIGNAL_RECORD,
            sample.weights,
            1.0,
            0.0,
            scale,
            seed,
            "",
            {},
            "",
            1,
        )
        weights = {name: np.full(n_events, bkg_sigma) for name in names}
        write_events(
            tmp / "b.lhe.gz", bkg, BACKGROUND_RECORD, weights, bkg_sigma, 0.0, scale, seed, "", {}, "", 2
        )

    with tempfile.TemporaryDirectory() as tmp:
        t_write, _ = median_time(lambda: write(Path(tmp)), repeats)
    return {
        "n_events": n_events,
        "n_background": n_events,
        "repeats": repeats,
        "end_to_end_s": end,
        "end_to_end_signal_events_per_s": n_events / end,
        "end_to_end_events_per_s": 2 * n_events / end,
        "end_to_end_cpu_s": statistics.median(r["cpu_seconds"] for r in ends),
        "end_to_end_sequential_s": end_sequential,
        "end_to_end_sequential_signal_events_per_s": n_events / end_sequential,
        "generation_s": t_gen,
        "generation_signal_events_per_s": n_events / t_gen,
        "writing_s": t_write,
        "writing_events_per_s": 2 * n_events / t_write,
        "gzip_mb": statistics.median(r["gzip_mb"] for r in ends),
        "load_average": os.getloadavg()[0],
    }


def print_lhe_writes(sample, names: list[str], write_events: int, repeats: int) -> None:
    """Print the LHE-write rows: plain, gzip and the Python f-string reference loop."""
    n_write = min(write_events, sample.n_events)
    events = LHEEvents(
        momenta=sample.momenta[:n_write],
        pdgid=SIGNAL_RECORD[0],
        status=SIGNAL_RECORD[1],
        mothers=SIGNAL_RECORD[2],
        colours=SIGNAL_RECORD[3],
        weight=sample.weights["sm"][:n_write],
        weights={name: w[:n_write] for name, w in sample.weights.items()},
        scale=125.0,
    )
    init = LHEInit([(float(sample.weights["sm"][0]), 0.0, float(sample.weights["sm"][0]), 1)])
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "w.lhe"
        t_plain, _ = median_time(lambda: write_lhe(plain, events, init=init, weight_names=names), repeats)
        size = plain.stat().st_size / 1e6
        print(
            f"{f'LHE write, plain ({size:.0f} MB for {n_write} events)':58s} {t_plain:9.2f} "
            f"{n_write / t_plain:12,.0f} {size / t_plain:8.1f}"
        )
        gz = Path(tmp) / "w.lhe.gz"
        t_gz, _ = median_time(lambda: write_lhe(gz, events, init=init, weight_names=names), repeats)
        print(
            f"{f'LHE write, gzip level 1 ({gz.stat().st_size / 1e6:.0f} MB compressed)':58s} {t_gz:9.2f} "
            f"{n_write / t_gz:12,.0f} {size / t_gz:8.1f}"
        )
        n_ref = min(20_000, n_write)
        ref = Path(tmp) / "ref.lhe"
        small = LHEEvents(
            momenta=events.momenta[:n_ref],
            pdgid=events.pdgid,
            status=events.status,
            mothers=events.mothers,
            colours=events.colours,
            weight=events.weight[:n_ref],
            weights={k: v[:n_ref] for k, v in events.weights.items()},
        )
        t_ref, _ = median_time(lambda: python_loop_writer(ref, small, names), repeats)
        ref_mb = ref.stat().st_size / 1e6
        print(
            f"{f'  reference: Python f-string loop ({n_ref} events)':58s} {t_ref:9.2f} {n_ref / t_ref:12,.0f} "
            f"{ref_mb / t_ref:8.1f}   writer/loop speed ratio {(n_write / t_plain) / (n_ref / t_ref):.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-events", type=int, default=100_000)
    parser.add_argument("--toy-events", type=int, default=10_000_000)
    parser.add_argument(
        "--end-to-end", type=int, metavar="N", help="only golden_benchmark(N) (simulate_golden end to end)"
    )
    parser.add_argument("--json", action="store_true", help="with --end-to-end: print the dict as JSON")
    args = parser.parse_args()
    if args.end_to_end:
        result = golden_benchmark(args.end_to_end, args.repeats)
        print(json.dumps(result) if args.json else "\n".join(f"{k:34s} {v:,.6g}" for k, v in result.items()))
        return

    setup = golden_setup()
    channel = GoldenChannel()
    names = setup.benchmark_names
    print(f"built-in simulators, median of {args.repeats} runs, 1 process (other users share the CPUs)")
    print()
    t_gen, sample = median_time(lambda: channel.generate(setup, args.events, "sm", seed=1), args.repeats)
    print(f"{'task':58s} {'time (s)':>9s} {'events/s':>12s} {'MB/s':>8s}")
    print(
        f"{f'golden: {args.events} events, {len(names)} benchmark weights':58s} {t_gen:9.2f} "
        f"{args.events / t_gen:12,.0f} {'':>8s}"
    )
    print(
        f"{'  trial points (|M|^2 forms + phase space)':58s} {'':9s} {sample.n_trials / t_gen:12,.0f} {'':>8s}"
        f"   efficiency {sample.efficiency:.3f}, {sample.n_trials} trials"
    )
    toy = GaussianToy()

    def run_toy():
        x, z = toy.simulate(0.0, n=args.toy_events, seed=2)
        return toy.joint_log_ratio(x, z, 0.0, 1.0), toy.joint_score(x, z, 0.0)

    t_toy, _ = median_time(run_toy, args.repeats)
    print(
        f"{f'toy: {args.toy_events} events + joint ratio + joint score':58s} {t_toy:9.2f} "
        f"{args.toy_events / t_toy:12,.0f}"
    )

    print_lhe_writes(sample, names, args.write_events, args.repeats)
    print()
    per_million = t_gen * 1e6 / args.events
    print(
        f"golden channel: 10^6 events with {len(names)} benchmark weights in {per_million:.1f} s (generation + weights)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:.0f} MB (pid {os.getpid()})")


if __name__ == "__main__":
    main()
