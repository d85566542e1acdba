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
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-events", type=int, default=100_000)
    parser.add_argument("--toy-events", type=int, default=10_000_000)
    args = parser.parse_args()

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

    n_write = min(args.write_events, sample.n_events)
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
        t_plain, _ = median_time(
            lambda: write_lhe(plain, events, init=init, weight_names=names), args.repeats
        )
        size = plain.stat().st_size / 1e6
        print(
            f"{f'LHE write, plain ({size:.0f} MB for {n_write} events)':58s} {t_plain:9.2f} "
            f"{n_write / t_plain:12,.0f} {size / t_plain:8.1f}"
        )
        gz = Path(tmp) / "w.lhe.gz"
        t_gz, _ = median_time(lambda: write_lhe(gz, events, init=init, weight_names=names), args.repeats)
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
        t_ref, _ = median_time(lambda: python_loop_writer(ref, small, names), args.repeats)
        ref_mb = ref.stat().st_size / 1e6
        print(
            f"{f'  reference: Python f-string loop ({n_ref} events)':58s} {t_ref:9.2f} {n_ref / t_ref:12,.0f} "
            f"{ref_mb / t_ref:8.1f}   writer/loop speed ratio {(n_write / t_plain) / (n_ref / t_ref):.1f}"
        )
    print()
    per_million = t_gen * 1e6 / args.events
    print(
        f"golden channel: 10^6 events with {len(names)} benchmark weights in {per_million:.1f} s (generation + weights)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:.0f} MB (pid {os.getpid()})")


if __name__ == "__main__":
    main()
