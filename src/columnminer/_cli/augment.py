"""The ``augment`` command: unweighted training / test samples with joint ratios and scores from a store.

Draw an unweighted sample from the store's events, with the joint likelihood ratio and joint score where the
method needs them: plain (x, theta0), local (SALLY: + t_xz0 at one point), density (NDE / SCANDAL), ratio
(CARL, ROLR, ALICE(S), RASCAL, CASCAL: theta0 against theta1), more-ratios (doubly parameterised: + t_xz1),
test (evaluation data from the test partition). Parameter points (--theta0 / --theta1): NAME or NAME1,NAME2
(benchmarks), A,B (a point), 'A,B;C,D' (points), random:N (flat over the ranges) or
random:N:flat:-1:1,gaussian:0:0.3, grid:N. Write negative points as --theta0=-0.5,0.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .common import (
    add_arguments,
    add_command,
    annotate_os_error,
    fmt,
    non_negative_int,
    open_store,
    parameter_grid,
    partition_value,
    positive_int,
    remove_on_failure,
    table,
)

__all__ = ["METHODS", "parse_sampler", "register", "run_augment"]

#: method -> (SampleAugmenter method, takes theta1, default partition)
METHODS = {
    "plain": ("sample_train_plain", False, "train"),
    "local": ("sample_train_local", False, "train"),
    "density": ("sample_train_density", False, "train"),
    "ratio": ("sample_train_ratio", True, "train"),
    "more-ratios": ("sample_train_more_ratios", True, "train"),
    "test": ("sample_test", False, "test"),
}


def _numbers(text: str, option: str, n: int) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected {n} comma-separated numbers") from None
    if len(values) != n:
        raise ConfigError(f"{option} {text!r}: {len(values)} number(s) for {n} parameters")
    return values


def _priors(setup: Any, text: str, option: str) -> list[tuple[str, float, float]]:
    space = setup.parameter_space
    if not text:
        return [("flat", *space.parameters[n].parameter_range) for n in space.parameter_names]
    priors = []
    for item in text.split(","):
        parts = item.split(":")
        try:
            if len(parts) != 3 or parts[0] not in ("flat", "gaussian"):
                raise ValueError
            priors.append((parts[0], float(parts[1]), float(parts[2])))
        except ValueError:
            raise ConfigError(
                f"{option}: bad prior {item!r}; use flat:LOW:HIGH or gaussian:MEAN:STD, one per parameter"
            ) from None
    if len(priors) != space.n_parameters:
        raise ConfigError(f"{option}: {len(priors)} prior(s) for the parameters {space.parameter_names}")
    return priors


def parse_sampler(setup: Any, text: str, option: str) -> Any:
    """A :class:`~columnminer.sampling.ThetaSampler` from a command-line value:

    - ``NAME`` or ``NAME1,NAME2``: benchmarks of the setup;
    - ``A,B`` one parameter point, ``A,B;C,D`` several (morphing);
    - ``random:N`` N points drawn flat over the parameter ranges, ``random:N:flat:-1:1,gaussian:0:0.3`` with
      one prior per parameter;
    - ``grid:N`` the regular N^P grid over the parameter ranges.

    Example:
        >>> from columnminer.simulators.golden import golden_setup
        >>> parse_sampler(golden_setup(), "random:5", "--theta0").to_dict()["priors"]
        [['flat', -1.0, 1.0], ['flat', -1.0, 1.0]]
    """
    from ..sampling import benchmark, benchmarks, morphing_point, morphing_points, random_morphing_points

    space = setup.parameter_space
    text = str(text).strip()
    if text.startswith("random:"):
        count, _, rest = text[len("random:") :].partition(":")
        try:
            n = int(count)
            if n < 1:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{option} {text!r}: random:N needs a positive number of points") from None
        return random_morphing_points(n, _priors(setup, rest, option))
    if text.startswith("grid:"):
        try:
            n = int(text[len("grid:") :])
            if n < 1:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"{option} {text!r}: grid:N needs a positive number of points per parameter"
            ) from None
        return morphing_points(parameter_grid(setup, [], n, option))
    names = text.split(",")
    if all(name in space.benchmark_names for name in names):
        return benchmark(names[0]) if len(names) == 1 else benchmarks(names)
    points = [_numbers(p, option, space.n_parameters) for p in text.split(";") if p.strip()]
    if not points:
        raise ConfigError(f"{option}: empty parameter specification")
    return morphing_point(points[0]) if len(points) == 1 else morphing_points(points)


def run_augment(args: argparse.Namespace) -> int:
    """``columnminer augment STORE METHOD``: draw the sample, store it and / or write .npy files."""
    from ..sampling import SampleAugmenter

    if args.no_store and not args.npy:
        raise ConfigError("--no-store: give --npy DIR, or the sample would be written nowhere")
    store = open_store(args.store, "a" if not args.no_store else "r")
    setup = store.setup
    function, pairs, partition = METHODS[args.method]
    first = next(
        (b.name for b in setup.parameter_space.benchmarks.values() if not b.is_nuisance),
        setup.benchmark_names[0],
    )
    default0 = "random:100" if args.method in ("density", "ratio", "more-ratios") else first
    theta0 = parse_sampler(setup, args.theta0 or default0, "--theta0")
    positional = [theta0]
    if pairs:
        positional.append(parse_sampler(setup, args.theta1 or first, "--theta1"))
    elif args.theta1 is not None:
        raise ConfigError(f"--theta1: method {args.method!r} draws at one set of points (give --theta0 only)")
    options: dict[str, Any] = {
        "partition": partition_value(args.partition or partition),
        "sample_only_from_closest_benchmark": not args.all_events,
        "seed": args.seed,
        "name": args.name or args.method,
        "write": not args.no_store,
        "overwrite": args.overwrite,
    }
    if args.method == "more-ratios":
        options["additional_thetas"] = args.additional_thetas
    elif args.additional_thetas:
        raise ConfigError("--additional-thetas: only for the more-ratios method")
    if not args.no_store and not args.overwrite and options["name"] in store.sample_names:
        raise ConfigError(
            f"{store.url}: sample {options['name']!r} exists; pass --overwrite to replace it or --name NEW"
        )
    sample = getattr(SampleAugmenter(store), function)(*positional, args.samples, **options)
    n_points = len(sample.n_effective)
    print(
        f"sample {sample.name!r} ({sample.attrs['kind']}) from {store.url}: {len(sample.arrays['x'])} rows, "
        f"partition {sample.attrs['partition'] or 'all'}, {n_points} draw point(s), effective events per "
        f"point: median {fmt(np.median(sample.n_effective), 4)}, min {fmt(np.min(sample.n_effective), 4)}"
    )
    print(
        table(["array", "shape", "dtype"], [[k, tuple(v.shape), v.dtype] for k, v in sample.arrays.items()])
    )
    if not args.no_store:
        print(f"stored as {store.url} samples/{sample.name}")
    if args.npy:
        _write_npy(Path(args.npy), sample)
        print(f"wrote {len(sample.arrays)} arrays to {args.npy}/{sample.name}_<array>.npy")
    return 0


def _write_npy(folder: Path, sample: Any) -> None:
    """Every array of ``sample`` as ``folder/<name>_<array>.npy`` (each written beside its place, then
    renamed, so an existing file is replaced whole or not at all). If one fails, the files and folders
    created here are removed again and the OSError names the file."""
    files = [folder / f"{sample.name}_{key}.npy" for key in sample.arrays]
    with remove_on_failure(folder, *files):
        folder.mkdir(parents=True, exist_ok=True)
        for file, values in zip(files, sample.arrays.values(), strict=True):
            temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
            with annotate_os_error(file), remove_on_failure(temporary):
                with open(temporary, "wb") as handle:
                    np.save(handle, values)
                os.replace(temporary, file)


def register(commands: Any) -> None:
    """Add ``augment`` to the subcommands."""
    parser = add_command(commands, "augment", run_augment, __doc__)
    add_arguments(parser, "store", store="the zarr event store (augmented samples go to its samples/ group)")
    parser.add_argument("method", choices=list(METHODS), help="which kind of sample")
    parser.add_argument(
        "--theta0",
        "--theta",
        dest="theta0",
        help="points to draw at (default: the first benchmark; random:100 for density / ratio methods)",
    )
    parser.add_argument(
        "--theta1", help="reference hypothesis of ratio samples (default: the first benchmark)"
    )
    parser.add_argument(
        "--samples", type=positive_int, default=10_000, help="rows to draw (default: %(default)s)"
    )
    parser.add_argument("--name", help="sample name in the store (default: the method)")
    add_arguments(
        parser,
        "partition",
        "seed",
        partition={"default": None, "help": "events to draw from (default: train; test for 'test')"},
    )
    parser.add_argument(
        "--all-events",
        action="store_true",
        help="draw from every event, not only those generated at the benchmark closest to theta",
    )
    parser.add_argument(
        "--additional-thetas",
        type=non_negative_int,
        default=0,
        help="more-ratios: extra theta0 rows per y = 1 event",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a stored sample of the same name")
    parser.add_argument("--npy", metavar="DIR", help="also write every array as DIR/<name>_<array>.npy")
    parser.add_argument("--no-store", action="store_true", help="do not write the sample into the store")
