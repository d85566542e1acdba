"""The ``limits`` command: expected limits on a parameter grid (rate, histo, sally, sallino, ml, ...).

The ml mode reads the calibration record ``train`` wrote beside the estimator (``--calibrate`` calibrates
here instead), normalises the estimator's model on the Asimov events and runs the closure check of the
estimator on them (:func:`~columnminer.ml.calibration.ratio_closure`): its verdict is printed, written to the
JSON file, and a failure is a warning on stderr.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, InferenceError
from .common import (
    DEFAULT_LUMINOSITY,
    PARTITIONS,
    apply_calibration,
    fmt,
    load_any_estimator,
    load_calibration,
    open_fraction,
    open_store,
    parameter_grid,
    parse_theta,
    partition_value,
    positive_float,
    positive_int,
    table,
    theta_label,
    theta_point,
    write_json,
)
from .fisher import check_observables

__all__ = ["confidence_regions", "register", "run_limits"]

_MODES = ("rate", "histo", "sally", "adaptive-sally", "sallino", "ml")


def confidence_regions(result: Any, levels: Sequence[float]) -> list[dict[str, Any]]:
    """Per confidence level: the q threshold, the grid points inside, the range of each parameter over them
    (for one parameter: the interpolated interval) and the region's volume on the grid."""
    regions = []
    for cl in levels:
        threshold = result.threshold(cl)
        inside = result.q < threshold
        ranges = {}
        if result.thetas.shape[1] == 1:
            ranges[result.parameter_names[0]] = list(result.interval(cl))
        else:
            for i, name in enumerate(result.parameter_names):
                values = result.thetas[inside, i]
                ranges[name] = [float(values.min()), float(values.max())] if values.size else None
        try:
            volume = result.region_volume(cl)
        except InferenceError:  # pragma: no cover - the command's grids are regular
            volume = None
        regions.append(
            {
                "cl": float(cl),
                "threshold": threshold,
                "n_inside": int(inside.sum()),
                "ranges": ranges,
                "volume": volume,
            }
        )
    return regions


def run_limits(args: argparse.Namespace) -> int:
    """``columnminer limits STORE MODE``: expected p-values on the grid; print the best fit and regions."""
    from ..inference import expected_limits

    store = open_store(args.store)
    setup = store.setup
    theta_true = parse_theta(setup, args.theta_true, "--theta-true")
    grid = parameter_grid(setup, args.grid, args.points)
    options: dict[str, Any] = {
        "partition": partition_value(args.partition),
        "include_rate": not args.no_rate,
        "return_histograms": False,
    }
    if args.mode == "histo":
        features = check_observables(store, args.observables or store.observable_names[:1])
        options["features"] = features
    elif args.observables:
        raise ConfigError(f"--observables: only for the histo mode, not {args.mode!r}")
    if args.bins:
        options["bins"] = int(args.bins[0]) if len(args.bins) == 1 else [int(b) for b in args.bins]
    if args.mode in ("sally", "sallino", "adaptive-sally", "ml"):
        if not args.estimator:
            raise ConfigError(f"--estimator: the {args.mode} mode needs a saved estimator")
        options["estimator"] = load_any_estimator(args.estimator)
    elif args.estimator:
        raise ConfigError(f"--estimator: not used by the {args.mode} mode")
    if args.theta_ref is not None:
        options["theta_ref"] = theta_point(setup, parse_theta(setup, args.theta_ref, "--theta-ref"))
    ml_only = {
        "--calibrate": args.calibrate is not None,
        "--no-asimov-normalisation": args.no_asimov_normalisation,
        "--no-closure": args.no_closure,
    }
    for option, given in ml_only.items():
        if given and args.mode != "ml":
            raise ConfigError(f"{option}: only for the ml mode, not {args.mode!r}")
    calibration = None
    if args.mode == "ml":
        options["estimator"], calibration = _calibrated(args, store, options["estimator"])
        options["asimov_normalisation"] = not args.no_asimov_normalisation
        options["closure"] = not args.no_closure
    if args.dof is not None:
        options["dof"] = args.dof
    if args.mode == "ml" and args.n_asimov is not None:
        options["n_asimov"] = args.n_asimov
    truth = theta_true if isinstance(theta_true, str) else np.asarray(theta_true)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = expected_limits(store, args.mode, truth, grid, float(args.luminosity), **options)
    for warning in caught:  # the closure verdict is printed below; other warnings as they came
        if result.closure is None or "closure check" not in str(warning.message):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    names = list(result.parameter_names)
    point = theta_point(setup, theta_true)
    nearest = int(np.argmin(np.linalg.norm(result.thetas - point, axis=1)))
    regions = confidence_regions(result, args.cl)
    print(
        f"expected limits ({result.mode}) for Asimov data at theta_true = {theta_label(setup, theta_true)}, "
        f"L = {fmt(result.luminosity_pb)} pb^-1 ({fmt(result.n_observed)} expected events), "
        f"{len(result.thetas)} grid points, {result.dof} degrees of freedom"
    )
    best = ", ".join(f"{n} = {fmt(v)}" for n, v in zip(names, result.best_fit, strict=True))
    print(
        f"best fit: {best}  (grid point nearest theta_true: q = {fmt(result.q[nearest], 4)}, "
        f"p = {fmt(result.p_values[nearest], 4)})"
    )
    header = [
        "CL",
        "q threshold",
        "points inside",
        *(f"{n} range" for n in names),
        {1: "length", 2: "area"}.get(int(np.sum(np.ptp(result.thetas, axis=0) > 0)), "volume"),
    ]
    rows = []
    for region in regions:
        cells = [f"{100 * region['cl']:.4g}%", fmt(region["threshold"], 4), region["n_inside"]]
        for name in names:
            span = region["ranges"][name]
            cells.append("-" if span is None else f"[{fmt(span[0], 4)}, {fmt(span[1], 4)}]")
        cells.append(fmt(region["volume"], 4))
        rows.append(cells)
    print(table(header, rows))
    if calibration is not None:
        print(calibration)
    if result.closure is not None:
        print(result.closure.summary())
        if not result.closure.passed:
            print(
                "warning: the estimator fails the closure check on the Asimov events: its limits are not "
                "reliable (retrain, calibrate: `columnminer train ... --calibrate validation`)",
                file=sys.stderr,
            )
    if args.json:
        data = {
            "store": store.url,
            "mode": result.mode,
            "parameters": names,
            "theta_true": point,
            "luminosity_pb": result.luminosity_pb,
            "n_observed": result.n_observed,
            "dof": result.dof,
            "best_fit": result.best_fit,
            "best_fit_index": result.best_fit_index,
            "regions": regions,
            "thetas": result.thetas,
            "q": result.q,
            "p_values": result.p_values,
            "log_likelihood": result.log_likelihood,
        }
        if args.mode == "ml":
            data["asimov_normalisation"] = not args.no_asimov_normalisation
            data["asimov_log_normalisation"] = result.asimov_log_normalisation
            data["calibration"] = calibration
            data["closure"] = None if result.closure is None else result.closure.to_dict()
        print(f"\nwrote {write_json(args.json, data)}")
    return 0


def _calibrated(args: argparse.Namespace, store: Any, estimator: Any) -> tuple[Any, str | None]:
    """The ml estimator with its calibration (``--calibrate`` here, else the record ``train`` wrote) and a
    line saying which."""
    from ..ml import calibrate_ratio

    if args.calibrate is not None:
        setup = store.setup
        reference = (
            theta_point(setup, parse_theta(setup, args.theta_ref, "--theta-ref"))
            if args.theta_ref is not None
            else getattr(estimator, "reference", None)
        )
        if reference is None:
            raise ConfigError("--calibrate: give the estimator's reference point with --theta-ref")
        result = calibrate_ratio(estimator, store, partition_value(args.calibrate), theta_ref=reference)
        return result.estimator, (
            f"calibrated here on {result.n_events} events of partition {args.calibrate} (effective "
            f"{fmt(result.n_effective, 4)}) weighted at theta_ref = {[float(v) for v in result.theta_ref]}"
        )
    info = load_calibration(args.estimator)
    if info is None:
        return estimator, "estimator not calibrated (no calibration record beside it; see --calibrate)"
    line = (
        f"calibration: {info['method']} on {info.get('n_events')} events of partition "
        f"{info.get('partition') or 'all'} (from {args.estimator})"
    )
    return apply_calibration(estimator, store, info), line


def register(commands: Any) -> None:
    """Add ``limits`` to the subcommands."""
    parser = commands.add_parser(
        "limits",
        help="expected limits on a parameter grid",
        description="Expected (Asimov) limits on a grid of parameter points: p-values from q = -2 delta "
        "log L with the likelihood from the rate only, a histogram of observables (histo), of the "
        "estimated score (sally, sallino, adaptive-sally) or an unbinned neural likelihood (ml). Prints "
        "the best fit and, per confidence level, the grid points inside and the range of each parameter. "
        "ml: the estimator's model is normalised on the Asimov events and checked there (closure).",
        epilog="Grid: every parameter over its range with --points values; --grid LOW:HIGH:N (all "
        "parameters), --grid NAME=LOW:HIGH:N or --grid NAME=VALUE (one; write --grid=-1:1:21 when it "
        "starts with '-'). Exit codes: 0 success, 1 a columnminer error, 2 usage.",
    )
    parser.add_argument("store", help="the zarr event store")
    parser.add_argument("mode", choices=_MODES, help="how the likelihood is built")
    parser.add_argument("--theta-true", default="sm", help="Asimov point: benchmark or A,B (default: sm)")
    parser.add_argument("--grid", action="append", default=[], metavar="SPEC", help="grid specification")
    parser.add_argument(
        "--points", type=positive_int, default=21, help="grid points per parameter (default: 21)"
    )
    parser.add_argument(
        "--luminosity",
        type=positive_float,
        default=DEFAULT_LUMINOSITY,
        help="in pb^-1 (default: %(default)g)",
    )
    parser.add_argument("--observables", nargs="+", metavar="NAME", help="histo: observables to bin")
    parser.add_argument(
        "--bins", type=positive_int, nargs="+", metavar="N", help="adaptive bins (one, or per dimension)"
    )
    parser.add_argument(
        "--estimator", metavar="PATH", help="saved estimator or ensemble (sally, sallino, ml)"
    )
    parser.add_argument("--theta-ref", help="reference point of sallino / adaptive-sally / ratio estimators")
    parser.add_argument(
        "--n-asimov", type=positive_int, help="ml: use a random subset of this many Asimov events"
    )
    parser.add_argument(
        "--cl",
        type=open_fraction,
        nargs="+",
        default=[0.6827, 0.95],
        help="confidence levels, between 0 and 1 (default: 0.6827 0.95)",
    )
    parser.add_argument("--partition", choices=PARTITIONS, default="test", help="events used (default: test)")
    parser.add_argument(
        "--dof",
        type=positive_int,
        help="degrees of freedom of the p-values (default: the number of parameters)",
    )
    parser.add_argument("--no-rate", action="store_true", help="drop the Poisson term of the total count")
    parser.add_argument(
        "--calibrate",
        choices=PARTITIONS,
        help="ml: calibrate the ratio estimator's normalisation on this partition first (default: as "
        "`train` recorded beside the estimator)",
    )
    parser.add_argument(
        "--no-asimov-normalisation",
        action="store_true",
        help="ml: do not normalise the estimator's model on the Asimov events (raw sum of log r_hat)",
    )
    parser.add_argument(
        "--no-closure", action="store_true", help="ml: skip the closure check of the estimator"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the scan (q, p-values, regions) as JSON")
    parser.set_defaults(func=run_limits)
