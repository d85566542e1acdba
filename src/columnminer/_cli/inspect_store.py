"""The ``inspect`` command: what an event store holds (setup, samples, events, cross sections, samples made).

Summarise an event store: the level of its events (parton or detector) and the cuts applied, setup
(parameters, benchmarks), input samples, event counts, observables, cross sections per benchmark (pb) with
statistical errors, nuisance columns and the augmented samples it holds. Exit code 1 also for damage found by
--verify.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from .analyse import level_text
from .common import add_arguments, add_command, fmt, fmt_error, open_store, table, write_json

__all__ = ["register", "run_inspect", "store_summary"]


#: The order in which the arrays of an augmented sample are listed.
_ARRAY_ORDER = ("x", "theta0", "theta1", "y", "r_xz", "t_xz0", "t_xz1", "event")


def _sources(store: Any) -> list[dict[str, Any]]:
    """Committed appends grouped by input file: type, benchmark, k-factor, chunks, rows."""
    groups: dict[str, dict[str, Any]] = {}
    for item in store.sources:
        source = item.get("source")
        rows = int(item.get("stop", 0)) - int(item.get("start", 0))
        if isinstance(source, dict) and "sample" in source:
            key = str(source["sample"])
            kind = "background" if source.get("background") else "signal"
            benchmark = source.get("sampled_from") or "-"
            k_factor = source.get("k_factor", 1.0)
            check = (source.get("benchmark_check") or {}).get("benchmark_check", "-")
        else:
            key, kind, benchmark, k_factor, check = str(source), "other", "-", None, "-"
        group = groups.setdefault(
            key,
            {
                "source": key,
                "type": kind,
                "benchmark": benchmark,
                "k_factor": k_factor,
                "benchmarks": check,
                "chunks": 0,
                "events": 0,
            },
        )
        group["chunks"] += 1
        group["events"] += rows
    return list(groups.values())


def _observable_stats(store: Any) -> list[dict[str, Any]]:
    n = len(store.observable_names)
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    total, count = np.zeros(n), np.zeros(n)
    for _, chunk in store.iter_chunks(("observables",)):
        values = chunk["observables"]
        finite = np.isfinite(values)
        if values.size:
            low = np.minimum(low, np.where(finite, values, np.inf).min(axis=0))
            high = np.maximum(high, np.where(finite, values, -np.inf).max(axis=0))
            total += np.where(finite, values, 0.0).sum(axis=0)
            count += finite.sum(axis=0)
    return [
        {
            "name": name,
            "min": float(low[i]) if count[i] else None,
            "mean": float(total[i] / count[i]) if count[i] else None,
            "max": float(high[i]) if count[i] else None,
        }
        for i, name in enumerate(store.observable_names)
    ]


def _augmented(store: Any) -> list[dict[str, Any]]:
    out = []
    for name in store.sample_names:
        attrs = store.sample_attrs(name)
        entry = {
            "name": name,
            "kind": attrs.get("kind", "-"),
            "complete": bool(attrs.get("complete", False)),
            "partition": attrs.get("partition") or "all",
            "rows": None,
            "arrays": {},
        }
        if entry["complete"]:
            arrays = store.sample_arrays(name)
            order = {key: i for i, key in enumerate(_ARRAY_ORDER)}
            keys = sorted(arrays, key=lambda key: (order.get(key, len(order)), key))
            entry["arrays"] = {key: list(arrays[key].shape) for key in keys}
            entry["rows"] = int(arrays["x"].shape[0]) if "x" in arrays else None
        out.append(entry)
    return out


def store_summary(store: Any) -> dict[str, Any]:
    """Everything ``inspect`` shows, as a JSON-ready dict (cross sections in pb with statistical errors)."""
    from ..weights import cross_sections

    setup = store.setup
    space = setup.parameter_space
    names = space.benchmark_names
    values = space.benchmark_array(names) if names else np.zeros((0, space.n_parameters))
    n_events = store.n_events
    if n_events:
        xsec, error = cross_sections(store)
        sampled = np.asarray(store.read("sampled_from")).astype(np.int64)
        generated = np.bincount(sampled + 1, minlength=len(names) + 1)
    else:
        xsec, error = np.zeros(len(names)), np.zeros(len(names))
        generated = np.zeros(len(names) + 1, dtype=np.int64)
    morphing = setup.morphing_benchmarks if setup.morpher is not None else []
    return {
        "store": store.url,
        "columnminer": store.metadata.get("columnminer"),
        "n_events": n_events,
        "chunk_size": store.chunk_size,
        "incomplete": None if store.incomplete is None else store.incomplete["message"],
        "partitions": store.partition_spec,
        "analysis": store.metadata.get("analysis"),
        "parameters": [
            {
                "name": p.name,
                "lha_block": p.lha_block,
                "lha_id": p.lha_id,
                "morphing_max_power": p.morphing_max_power,
                "range": list(p.parameter_range),
            }
            for p in space.parameters.values()
        ],
        "morphing": None
        if setup.morpher is None
        else {"components": setup.morpher.n_components, "basis": list(morphing)},
        "benchmarks": [
            {
                "name": name,
                "values": dict(zip(space.parameter_names, values[b].tolist(), strict=True)),
                "cross_section_pb": float(xsec[b]),
                "cross_section_error_pb": float(error[b]),
                "events": int(generated[b + 1]),
                "morphing_basis": name in morphing,
            }
            for b, name in enumerate(names)
        ],
        "background_events": int(generated[0]),
        "sources": _sources(store),
        "observables": _observable_stats(store),
        "nuisance_columns": store.nuisance_benchmark_names,
        "augmented_samples": _augmented(store),
    }


def _setup_lines(info: dict[str, Any]) -> list[str]:
    """The parameters and the benchmarks with their cross sections."""
    lines = ["", "parameters"]
    lines.append(
        table(
            ["name", "LHA block", "id", "max power", "range"],
            [
                [
                    p["name"],
                    p["lha_block"],
                    p["lha_id"],
                    p["morphing_max_power"],
                    f"[{fmt(p['range'][0])}, {fmt(p['range'][1])}]",
                ]
                for p in info["parameters"]
            ],
        )
    )
    morphing = info["morphing"]
    lines += [
        "",
        "benchmarks (sigma: all stored events, pb, with statistical errors; events: stored events generated there)"
        + ("" if morphing is None else f"; morphing: {morphing['components']} components, basis marked *"),
    ]
    parameter_names = [p["name"] for p in info["parameters"]]
    lines.append(
        table(
            ["benchmark", *parameter_names, "sigma [pb]", "events"],
            [
                [
                    b["name"] + (" *" if b["morphing_basis"] else ""),
                    *(fmt(b["values"][n]) for n in parameter_names),
                    fmt_error(b["cross_section_pb"], b["cross_section_error_pb"]),
                    b["events"],
                ]
                for b in info["benchmarks"]
            ],
        )
    )
    lines.append(f"  background events: {info['background_events']}")
    return lines


#: The columns of the input-sample table: (header, key of the source entry).
_SOURCE_COLUMNS = (
    ("source", "source"),
    ("type", "type"),
    ("benchmark", "benchmark"),
    ("k-factor", "k_factor"),
    ("benchmarks", "benchmarks"),
    ("chunks", "chunks"),
    ("events", "events"),
)


def _content_lines(info: dict[str, Any]) -> list[str]:
    """The input samples, the observables, the nuisance columns and the augmented samples."""
    lines = ["", "input samples"]
    if info["sources"]:
        rows = [
            [fmt(s[key]) if key == "k_factor" else s[key] for _, key in _SOURCE_COLUMNS]
            for s in info["sources"]
        ]
        lines.append(table([header for header, _ in _SOURCE_COLUMNS], rows))
    else:
        lines.append("  none recorded")
    lines += ["", f"observables ({len(info['observables'])})"]
    lines.append(
        table(
            ["name", "min", "mean", "max"],
            [[o["name"], fmt(o["min"]), fmt(o["mean"]), fmt(o["max"])] for o in info["observables"]],
        )
    )
    nuisance = info["nuisance_columns"]
    lines += ["", f"nuisance columns: {', '.join(nuisance) if nuisance else 'none'}", ""]
    samples = info["augmented_samples"]
    if not samples:
        return [*lines, "augmented samples: none"]
    rows = []
    for s in samples:
        arrays = ", ".join(f"{k} {tuple(v)}" for k, v in s["arrays"].items()) or "(incomplete)"
        rows.append([s["name"], s["kind"], "-" if s["rows"] is None else s["rows"], s["partition"], arrays])
    return [
        *lines,
        f"augmented samples ({len(samples)})",
        table(["name", "kind", "rows", "partition", "arrays"], rows),
    ]


def _report(info: dict[str, Any]) -> str:
    """The summary as text: the header (events, partitions, level and cuts), the setup, the content."""
    partitions = info["partitions"]
    fractions = " / ".join(f"{k} {fmt(v)}" for k, v in partitions["fractions"].items())
    lines = [
        f"{info['store']}: columnminer event store (written by columnminer {info['columnminer']})",
        f"  {info['n_events']} events, chunk size {info['chunk_size']}, partitions {fractions} "
        f"(seed {partitions['seed']})",
        "  " + level_text(info["analysis"]),
    ]
    if info["incomplete"]:
        lines.append(f"  WARNING: {info['incomplete']}")
    return "\n".join([*lines, *_setup_lines(info), *_content_lines(info)])


def run_inspect(args: argparse.Namespace) -> int:
    """``columnminer inspect STORE``: print the summary (and write it as JSON with --json); with --verify,
    first check every chunk and exit 1 listing the damage."""
    store = open_store(args.store)
    if args.verify:
        problems = store.verify()
        if problems:
            print(f"{store.url}: the store is damaged ({len(problems)} problem(s)):", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(
            f"{store.url}: verified every chunk of {store.n_events} events and {len(store.sample_names)} samples"
        )
    info = store_summary(store)
    print(_report(info))
    if args.json:
        print(f"\nwrote {write_json(args.json, info)}")
    return 0


def register(commands: Any) -> None:
    """Add ``inspect`` to the subcommands."""
    parser = add_command(commands, "inspect", run_inspect, __doc__)
    add_arguments(parser, "store", "json", json="also write the summary as JSON")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="read and check every chunk (present, checksum, finite weights) first; exit 1 on damage",
    )
