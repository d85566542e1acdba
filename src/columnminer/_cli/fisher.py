"""The ``fisher`` command: expected Fisher information (truth, rate, histogram, score estimator) as a table.

Expected Fisher information at theta for a luminosity: truth level (every event's z), rate only, a histogram
of one or two observables, and the detector level from a SALLY score estimator, with Monte Carlo uncertainties
and the one-sigma errors. Every kind is evaluated on the same events: the test partition by default (held out
from training, as in `limits`). Write negative points as --theta=-0.5,0.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from .common import (
    add_arguments,
    add_command,
    fmt,
    fmt_error,
    load_any_estimator,
    open_store,
    parse_theta,
    partition_value,
    table,
    theta_label,
    theta_point,
    write_json,
)
from .defaults import luminosity_label

__all__ = ["KINDS", "check_observables", "default_bins", "one_sigma_errors", "register", "run_fisher"]

#: The kinds of information ``fisher`` computes.
KINDS = ("truth", "rate", "histo", "sally", "detector")


def check_observables(store: Any, names: Sequence[str], option: str = "--observables") -> list[str]:
    """``names`` if every one is an observable of the store, else a ConfigError naming the first unknown."""
    for name in names:
        if name not in store.observable_names:
            raise ConfigError(
                f"{option}: unknown observable {name!r}; the store has {store.observable_names}"
            )
    return list(names)


def default_bins(bins: Sequence[int] | None, n_features: int) -> Any:
    """The ``--bins`` value for the library: one count for all, one per feature, or the default (25 bins
    for one feature, 8 per feature for two).

    Example:
        >>> default_bins(None, 1), default_bins(None, 2), default_bins([5], 2), default_bins([5, 6], 2)
        (25, [8, 8], 5, [5, 6])
    """
    if not bins:
        return 25 if n_features == 1 else [8] * n_features
    if len(bins) == 1:
        return int(bins[0])
    if len(bins) != n_features:
        raise ConfigError(f"--bins: {len(bins)} counts for {n_features} observables")
    return [int(b) for b in bins]


def one_sigma_errors(information: np.ndarray) -> list[float | None]:
    """Expected one-sigma errors sqrt((I^-1)_ii) (other parameters profiled); None where I is singular.

    Example:
        >>> one_sigma_errors(np.diag([4.0, 100.0])), one_sigma_errors(np.ones((2, 2)))
        ([0.5, 0.1], [None, None])
    """
    matrix = 0.5 * (np.asarray(information) + np.asarray(information).T)
    eigenvalues = np.linalg.eigvalsh(matrix)
    if eigenvalues[0] <= 1e-10 * max(abs(eigenvalues[-1]), 1e-300):
        return [None] * len(matrix)
    return [float(v) for v in np.sqrt(np.diag(np.linalg.inv(matrix)))]


def _informations(args: argparse.Namespace, store: Any, theta: Any, kinds: list[str]) -> tuple[dict, dict]:
    """Compute every requested kind of information on the chosen partition: (kind -> FisherInformation,
    kind -> row label)."""
    from ..inference import (
        detector_information,
        histogram_information,
        rate_information,
        truth_information,
    )

    luminosity = float(args.luminosity)
    partition = partition_value(args.partition)
    features = check_observables(store, args.observables or store.observable_names[:1])
    results: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for kind in kinds:
        if kind in ("truth", "rate"):
            compute = truth_information if kind == "truth" else rate_information
            results[kind], labels[kind] = compute(store, theta, luminosity, partition=partition), kind
        elif kind == "histo":
            bins = default_bins(args.bins, len(features))
            results[kind] = histogram_information(
                store, theta, luminosity, features, bins=bins, partition=partition
            )
            shape = "x".join(str(len(e) - 1) for e in results[kind].binned.edges)
            labels[kind] = f"histo ({', '.join(features)}; {shape} bins)"
        else:
            if not args.estimator:
                raise ConfigError(f"--kind {kind}: give the estimator with --estimator PATH")
            estimator = load_any_estimator(args.estimator)
            results[kind] = detector_information(
                estimator, store, theta, luminosity, partition=partition, trained_at=None
            )
            members = list(estimator) if hasattr(estimator, "estimators") else [estimator]
            score = all(type(member).__name__ == "ScoreEstimator" for member in members)
            labels[kind] = f"{'sally' if score else 'detector'} ({args.estimator})"
    return results, labels


def run_fisher(args: argparse.Namespace) -> int:
    """``columnminer fisher STORE``: compute the requested informations and print them."""
    store = open_store(args.store)
    setup = store.setup
    theta = parse_theta(setup, args.theta, "--theta")
    luminosity = float(args.luminosity)
    default_kinds = ["truth", "rate"] + (["histo"] if args.observables else [])
    kinds = list(dict.fromkeys(args.kinds or default_kinds + (["sally"] if args.estimator else [])))
    results, labels = _informations(args, store, theta, kinds)
    names = setup.parameter_names
    pairs = [(i, j) for i in range(len(names)) for j in range(i, len(names))]
    rows = []
    for kind, info in results.items():
        unc = info.uncertainty
        rows.append(
            [labels[kind]]
            + [fmt_error(info.information[i, j], None if unc is None else unc[i, j]) for i, j in pairs]
        )
    print(
        f"Fisher information at theta = {theta_label(setup, theta)} for L = {fmt(luminosity)} pb^-1 "
        f"({luminosity_label(luminosity)}), {args.partition} partition of {store.url} ({store.n_events} "
        "events in all; ± Monte Carlo uncertainty)"
    )
    print(table(["kind", *(f"I[{names[i]},{names[j]}]" for i, j in pairs)], rows))
    print("\nexpected one-sigma errors sqrt((I^-1)_ii), other parameters profiled (- where I is singular)")
    errors = {kind: one_sigma_errors(info.information) for kind, info in results.items()}
    print(table(["kind", *names], [[labels[k], *(fmt(e, 4) for e in errors[k])] for k in results]))
    if args.json:
        data = {
            "store": store.url,
            "theta": theta_point(setup, theta),
            "theta_name": theta if isinstance(theta, str) else None,
            "luminosity_pb": luminosity,
            "partition": args.partition,
            "parameters": names,
            "information": {
                kind: {
                    "label": labels[kind],
                    "matrix": info.information,
                    "uncertainty": info.uncertainty,
                    "one_sigma_errors": errors[kind],
                }
                for kind, info in results.items()
            },
        }
        print(f"\nwrote {write_json(args.json, data)}")
    return 0


def register(commands: Any) -> None:
    """Add ``fisher`` to the subcommands."""
    parser = add_command(commands, "fisher", run_fisher, __doc__)
    add_arguments(parser, "store", "luminosity", "partition")
    parser.add_argument("--theta", default="sm", help="benchmark name or point A,B (default: %(default)s)")
    parser.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        choices=KINDS,
        help="repeatable; detector is sally for any estimator (default: truth, rate, + histo with "
        "--observables, + sally with --estimator)",
    )
    add_arguments(
        parser,
        "observables",
        "bins",
        "estimator",
        "json",
        observables="histogram observables (1 or 2)",
        bins="adaptive bins (default: 25, or 8x8)",
        estimator="saved score estimator or ensemble (for sally)",
        json="also write the matrices as JSON",
    )
