"""The ``limits`` command: expected limits on a parameter grid (rate, histo, sally, sallino, ml, ...).

Expected (Asimov) limits on a grid of parameter points: p-values from q = -2 delta log L with the likelihood
from the rate only, a histogram of observables (histo), of the estimated score (sally, sallino, adaptive-
sally) or an unbinned neural likelihood (ml). Prints the best fit and, per confidence level, the grid points
inside and the range of each parameter. The Asimov data are the events of the test partition (held out from
training, as in `fisher`). ml: the estimator's model is normalised on the Asimov events and checked there
(closure).

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
    PARTITIONS,
    add_arguments,
    add_command,
    add_flags,
    apply_calibration,
    fmt,
    load_any_estimator,
    load_calibration,
    open_fraction,
    open_store,
    parameter_grid,
    parse_theta,
    partition_value,
    positive_int,
    table,
    theta_label,
    theta_point,
    write_json,
)
from .defaults import GRID_POINTS, luminosity_label
from .fisher import check_observables

__all__ = ["MAX_ZOOMS", "MIN_POINTS", "confidence_regions", "register", "run_limits", "zoom_window"]

_MODES = ("rate", "histo", "sally", "adaptive-sally", "sallino", "ml")
#: The default grid zooms at most this often onto the regions ...
MAX_ZOOMS = 3
#: ... until each parameter's range at the largest confidence level spans this many grid points.
MIN_POINTS = 7


def _step(values: np.ndarray) -> float:
    """The spacing of the grid along one axis (0 for a single value)."""
    unique = np.unique(values)
    return float(np.min(np.diff(unique))) if len(unique) > 1 else 0.0


def confidence_regions(result: Any, levels: Sequence[float]) -> list[dict[str, Any]]:
    """Per confidence level: the q threshold, the grid points inside, the range of each parameter over them
    (for one parameter: the interpolated interval), whether that range is below the grid's resolution (one
    point or none inside along that axis) and the region's volume on the grid."""
    regions = []
    for cl in levels:
        threshold = result.threshold(cl)
        inside = result.q < threshold
        ranges, unresolved = {}, []
        for i, name in enumerate(result.parameter_names):
            values = result.thetas[inside, i]
            if result.thetas.shape[1] == 1:
                ranges[name] = list(result.interval(cl))
            else:
                ranges[name] = [float(values.min()), float(values.max())] if values.size else None
            if len(np.unique(values)) <= 1 and _step(result.thetas[:, i]) > 0:
                unresolved.append(name)
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
                "below_grid_resolution": unresolved,
                "volume": volume,
            }
        )
    return regions


def zoom_window(result: Any, cl: float, min_points: int = MIN_POINTS) -> list[tuple[float, float]] | None:
    """A smaller grid window that holds the ``cl`` region of ``result`` (its grid points inside, one grid
    step more on every side, within the old grid), or None when every parameter's range already spans at
    least ``min_points`` grid points (or the window would not shrink).

    Example:
        >>> from types import SimpleNamespace
        >>> thetas = np.linspace(-1, 1, 21)[:, None]
        >>> result = SimpleNamespace(thetas=thetas, q=50 * thetas[:, 0] ** 2, threshold=lambda cl: 1.0)
        >>> [tuple(round(v, 3) for v in axis) for axis in zoom_window(result, 0.68)]
        [(-0.2, 0.2)]
    """
    inside = result.q < result.threshold(cl)
    if not inside.any():
        inside = result.q <= np.min(result.q)
    window, resolved, shrinks = [], True, False
    for i in range(result.thetas.shape[1]):
        column = result.thetas[:, i]
        step, values = _step(column), column[inside]
        low, high = float(column.min()), float(column.max())
        if step == 0:
            window.append((low, high))
            continue
        resolved &= len(np.unique(values)) >= min_points
        new = (max(float(values.min()) - step, low), min(float(values.max()) + step, high))
        shrinks |= new[1] - new[0] < 0.99 * (high - low)
        window.append(new)
    return None if resolved or not shrinks else window


def _options(args: argparse.Namespace, store: Any) -> dict[str, Any]:
    """The keywords of :func:`~columnminer.inference.expected_limits` from the command line (checked)."""
    setup = store.setup
    options: dict[str, Any] = {
        "partition": partition_value(args.partition),
        "include_rate": not args.no_rate,
        "return_histograms": False,
    }
    if args.mode == "histo":
        options["features"] = check_observables(store, args.observables or store.observable_names[:1])
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
    if args.mode == "ml":
        options["asimov_normalisation"] = not args.no_asimov_normalisation
        options["closure"] = not args.no_closure
        if args.n_asimov is not None:
            options["n_asimov"] = args.n_asimov
    if args.dof is not None:
        options["dof"] = args.dof
    return options


def _expected_limits(
    store: Any, args: argparse.Namespace, truth: Any, grid: np.ndarray, options: dict
) -> Any:
    """One scan; the closure verdict is printed later, other warnings pass as they came."""
    from ..inference import expected_limits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = expected_limits(store, args.mode, truth, grid, float(args.luminosity), **options)
    for warning in caught:
        if result.closure is None or "closure check" not in str(warning.message):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return result


def _scan(store: Any, args: argparse.Namespace, truth: Any, options: dict) -> tuple[Any, int]:
    """The scan on the grid of ``--grid`` / ``--points``; without ``--grid`` it zooms (at most
    :data:`MAX_ZOOMS` times, the same number of points) onto the region of the largest confidence level until
    every parameter's range spans :data:`MIN_POINTS` grid points. Returns the result and the zooms made."""
    setup = store.setup
    result = _expected_limits(store, args, truth, parameter_grid(setup, args.grid, args.points), options)
    zooms = 0
    while not args.grid and zooms < MAX_ZOOMS:
        window = zoom_window(result, max(args.cl))
        if window is None:
            break
        specs = [
            f"{name}={low!r}:{high!r}:{args.points}" if high > low else f"{name}={low!r}"
            for name, (low, high) in zip(setup.parameter_names, window, strict=True)
        ]
        result = _expected_limits(store, args, truth, parameter_grid(setup, specs, args.points), options)
        zooms += 1
    return result, zooms


def _range_text(region: dict[str, Any], name: str, step: float) -> str:
    span = region["ranges"][name]
    if span is None:
        return "-"
    if name in region["below_grid_resolution"]:
        return f"{fmt(span[0], 4)}: below the grid resolution ({fmt(step, 3)})"
    return f"[{fmt(span[0], 4)}, {fmt(span[1], 4)}]"


def _print_scan(result: Any, setup: Any, theta_true: Any, regions: list[dict[str, Any]], zooms: int) -> None:
    """The header, the best fit and the table of regions."""
    names = list(result.parameter_names)
    point = theta_point(setup, theta_true)
    nearest = int(np.argmin(np.linalg.norm(result.thetas - point, axis=1)))
    steps = [_step(result.thetas[:, i]) for i in range(len(names))]
    window = ", ".join(
        f"{n} in [{fmt(result.thetas[:, i].min(), 4)}, {fmt(result.thetas[:, i].max(), 4)}]"
        for i, n in enumerate(names)
    )
    print(
        f"expected limits ({result.mode}) for Asimov data at theta_true = {theta_label(setup, theta_true)}, "
        f"L = {fmt(result.luminosity_pb)} pb^-1 ({luminosity_label(result.luminosity_pb)}; "
        f"{fmt(result.n_observed)} expected events), {result.dof} degrees of freedom"
    )
    zoomed = f", zoomed {zooms}x onto the regions" if zooms else ""
    print(f"grid: {len(result.thetas)} points, {window}{zoomed}")
    best = ", ".join(f"{n} = {fmt(v)}" for n, v in zip(names, result.best_fit, strict=True))
    print(
        f"best fit: {best}  (grid point nearest theta_true: q = {fmt(result.q[nearest], 4)}, "
        f"p = {fmt(result.p_values[nearest], 4)})"
    )
    varying = int(np.sum(np.ptp(result.thetas, axis=0) > 0))
    header = ["CL", "q threshold", "points inside", *(f"{n} range" for n in names)]
    header.append({1: "length", 2: "area"}.get(varying, "volume"))
    rows = []
    for region in regions:
        cells = [f"{100 * region['cl']:.4g}%", fmt(region["threshold"], 4), region["n_inside"]]
        cells += [_range_text(region, name, step) for name, step in zip(names, steps, strict=True)]
        rows.append([*cells, fmt(region["volume"], 4)])
    print(table(header, rows))
    if any(region["below_grid_resolution"] for region in regions):
        print("a range below the grid resolution: one grid point inside; give a finer --grid to resolve it")


def run_limits(args: argparse.Namespace) -> int:
    """``columnminer limits STORE MODE``: expected p-values on the grid; print the best fit and regions."""
    store = open_store(args.store)
    setup = store.setup
    theta_true = parse_theta(setup, args.theta_true, "--theta-true")
    options = _options(args, store)
    calibration = None
    if args.mode == "ml":
        options["estimator"], calibration = _calibrated(args, store, options["estimator"])
    truth = theta_true if isinstance(theta_true, str) else np.asarray(theta_true)
    result, zooms = _scan(store, args, truth, options)
    regions = confidence_regions(result, args.cl)
    _print_scan(result, setup, theta_true, regions, zooms)
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
            "parameters": list(result.parameter_names),
            "theta_true": theta_point(setup, theta_true),
            "luminosity_pb": result.luminosity_pb,
            "partition": args.partition,
            "grid_zooms": zooms,
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
    parser = add_command(
        commands,
        "limits",
        run_limits,
        __doc__,
        epilog=f"Grid: every parameter over its range with --points values, then zoomed (at most {MAX_ZOOMS} "
        f"times) onto the region of the largest CL until each range spans {MIN_POINTS} points; --grid "
        "LOW:HIGH:N (all parameters), --grid NAME=LOW:HIGH:N or --grid NAME=VALUE (one; write "
        "--grid=-1:1:21 when it starts with '-') scans exactly that grid.",
    )
    add_arguments(parser, "store")
    parser.add_argument("mode", choices=_MODES, help="how the likelihood is built")
    parser.add_argument("--theta-true", default="sm", help="Asimov point: benchmark or A,B (default: sm)")
    parser.add_argument("--grid", action="append", default=[], metavar="SPEC", help="grid specification")
    parser.add_argument(
        "--points",
        type=positive_int,
        default=GRID_POINTS,
        help="grid points per parameter (default: %(default)s)",
    )
    add_arguments(
        parser,
        "luminosity",
        "observables",
        "bins",
        "estimator",
        "partition",
        observables="histo: observables to bin",
        estimator="saved estimator or ensemble (sally, sallino, ml)",
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
    parser.add_argument(
        "--dof",
        type=positive_int,
        help="degrees of freedom of the p-values (default: the number of parameters)",
    )
    parser.add_argument(
        "--calibrate",
        choices=PARTITIONS,
        help="ml: calibrate the ratio estimator's normalisation on this partition first (default: as "
        "`train` recorded beside the estimator)",
    )
    add_flags(
        parser,
        {
            "--no-rate": "drop the Poisson term of the total count",
            "--no-asimov-normalisation": "ml: do not normalise the estimator's model on the Asimov events (raw "
            "sum of log r_hat)",
            "--no-closure": "ml: skip the closure check of the estimator",
        },
    )
    add_arguments(parser, "json", json="also write the scan (q, p-values, regions) as JSON")
