"""The ``train`` command: a neural estimator (or an ensemble) trained on an augmented sample of a store.

Train a neural estimator on an augmented sample of the store (read in blocks): sally / sallino (score), carl /
rolr / alice / rascal / alices / cascal (likelihood ratio; --double for the doubly parameterised one), nde /
scandal (conditional density). Saves <out>_settings.json, <out>_state_dict.pt and <out>_scaling.npz (an
ensemble: a directory). Early stopping watches a sample drawn like the training sample from the store's
validation partition. Ratio methods use a morphing-aware network where the setup morphs and calibrate its
normalisation on the validation partition (<out>_calibration.json). Default samples: local (score), ratio
(ratio), more-ratios (--double), density (nde, scandal), as made by `columnminer augment`.

The calibration makes E[r_hat(x|theta, theta1)] = 1 under theta1 (``calibrate_ratio``) on the validation
partition, held out from the training sample ("train") and from the Asimov data of ``limits`` ("test"); it is
recorded in <out>_calibration.json (an ensemble: <out>/calibration.json), which ``limits`` reads.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .common import (
    PARTITIONS,
    add_arguments,
    add_command,
    annotate_os_error,
    calibration_file,
    fmt,
    non_negative_float,
    non_negative_int,
    open_store,
    positive_float,
    positive_int,
    progress_enabled,
    remove_on_failure,
    split_fraction,
    table,
    write_json,
)
from .defaults import TRAINING_PARTITION, VALIDATION_PARTITION

__all__ = ["ARCHITECTURES", "METHODS", "register", "run_train", "validation_size"]

#: method -> estimator family ("score", "ratio", "likelihood")
METHODS = {
    "sally": "score",
    "sallino": "score",
    "carl": "ratio",
    "rolr": "ratio",
    "alice": "ratio",
    "rascal": "ratio",
    "alices": "ratio",
    "cascal": "ratio",
    "nde": "likelihood",
    "scandal": "likelihood",
}
#: Networks of the (singly parameterised) ratio methods: "auto" is morphing-aware where the setup morphs.
ARCHITECTURES = ("auto", "morphing-aware", "plain")
#: family -> (default sample name, the augment method that makes it)
_DEFAULT_SAMPLES = {
    "score": "local",
    "ratio": "ratio",
    "double": "more-ratios",
    "likelihood": "density",
}


def _estimator_class(family: str) -> type:
    from ..ml import (
        DoubleParameterizedRatioEstimator,
        LikelihoodEstimator,
        MorphingAwareRatioEstimator,
        ParameterizedRatioEstimator,
        ScoreEstimator,
    )

    return {
        "score": ScoreEstimator,
        "ratio": ParameterizedRatioEstimator,
        "morphing-aware": MorphingAwareRatioEstimator,
        "double": DoubleParameterizedRatioEstimator,
        "likelihood": LikelihoodEstimator,
    }[family]


def _sample_reference(store: Any, sample: str) -> Any:
    """The one theta1 point of a ratio sample [P], or None (no theta1 column, or several points)."""
    import numpy as np

    arrays = store.sample_arrays(sample)
    if "theta1" not in arrays:
        return None
    theta1 = np.asarray(arrays["theta1"][:], dtype=np.float64)
    if not len(theta1) or np.any(theta1 != theta1[0]):
        return None
    return theta1[0]


def _ratio_network(args: argparse.Namespace, store: Any, sample: str, settings: dict[str, Any]) -> str:
    """Choose the network of a singly parameterised ratio method: "morphing-aware" (the settings get the
    morphing and the reference point) or "ratio" (plain)."""
    if args.architecture == "plain":
        return "ratio"
    morpher = store.setup.morpher
    reference = _sample_reference(store, sample)
    if morpher is None or reference is None:
        if args.architecture == "morphing-aware":
            why = "the setup has no morphing" if morpher is None else f"samples/{sample} has no single theta1"
            raise ConfigError(f"--architecture morphing-aware: {why}")
        return "ratio"
    settings.update(morpher=morpher, reference=reference.tolist())
    return "morphing-aware"


def _history_table(history: Any) -> str:
    rows = []
    for epoch, loss in enumerate(history.train_loss):
        validation = history.validation_loss[epoch] if epoch < len(history.validation_loss) else None
        marker = " *" if epoch == history.best_epoch else ""
        rows.append(
            [f"{epoch + 1}{marker}", fmt(history.learning_rates[epoch], 3), fmt(loss), fmt(validation)]
        )
    return table(["epoch", "learning rate", "train loss", "validation loss"], rows)


def run_train(args: argparse.Namespace) -> int:
    """``columnminer train STORE METHOD``: train, print the loss history and save the estimator."""
    family = METHODS[args.method]
    if args.double:
        if family != "ratio":
            raise ConfigError(f"--double: only for the ratio methods, not {args.method!r}")
        family = "double"
    if args.transforms is not None and family != "likelihood":
        raise ConfigError(f"--transforms: only for nde / scandal, not {args.method!r}")
    store = open_store(args.store)
    sample = args.sample or _DEFAULT_SAMPLES[family]
    if sample not in store.sample_names:
        raise ConfigError(
            f"{store.url}: no augmented sample {sample!r} (samples: {store.sample_names}); make one with "
            f"`columnminer augment {store.url} {_DEFAULT_SAMPLES[family]}` or pass --sample NAME"
        )
    # options left out take the library's defaults (columnminer.ml: the network of each estimator, the
    # training schedule of TrainingOptions, the per-method alpha)
    settings: dict[str, Any] = {}
    if args.hidden is not None:
        settings["n_hidden"] = tuple(args.hidden)
    if args.activation is not None:
        settings["activation"] = args.activation
    if args.features is not None:
        settings["features"] = list(args.features)
    if family == "likelihood" and args.transforms is not None:
        settings["n_transforms"] = args.transforms
    if args.architecture != "auto" and family != "ratio":
        raise ConfigError(
            f"--architecture: only for the singly parameterised ratio methods, not {args.method!r}"
        )
    if family == "ratio":
        family = _ratio_network(args, store, sample, settings)
    calibrate = args.calibrate or ("validation" if family in ("ratio", "morphing-aware") else "none")
    if calibrate != "none" and family not in ("ratio", "morphing-aware"):
        raise ConfigError(
            f"--calibrate: only for the singly parameterised ratio methods, not {args.method!r}"
            + (" with --double" if family == "double" else "")
        )
    training = {
        "sample": sample,
        "store": store,
        "alpha": args.alpha,
        "n_epochs": args.epochs,
        "batch_size": args.batch_size,
        "initial_lr": args.lr,
        "final_lr": args.final_lr,
        "early_stopping": args.early_stopping,
        "device": args.device,
        "seed": args.seed,
        "progress": progress_enabled(args.progress),
    }
    training = {key: value for key, value in training.items() if value is not None}
    training.update(_validation(args, store, sample))
    training["calibrate"] = calibrate
    klass = _estimator_class(family)
    out = args.out or f"models/{args.method}"
    # a model directory (or model files) created here is removed again if training or saving fails
    with remove_on_failure(*_outputs(out, bool(args.ensemble))):
        return _train_and_save(args, klass, settings, training, out)


def _sampler(spec: dict[str, Any] | None) -> Any:
    """The :class:`~columnminer.sampling.ThetaSampler` an augmented sample recorded (``to_dict``)."""
    from ..sampling.parameters import ThetaSampler

    if spec is None:
        return None
    return ThetaSampler(
        str(spec["kind"]),
        names=tuple(spec.get("names", ())),
        values=tuple(tuple(float(v) for v in row) for row in spec.get("values", ())),
        n_thetas=int(spec.get("n_thetas", 0)),
        priors=tuple((str(k), float(a), float(b)) for k, a, b in spec.get("priors", ())),
    )


def validation_size(n_train: int, fractions: dict[str, float]) -> int:
    """Rows of the validation sample for a training sample of ``n_train`` rows: the same number of rows per
    event of its partition (at least 100).

    Example:
        >>> validation_size(10_000, {"train": 0.8, "validation": 0.1, "test": 0.1})
        1250
    """
    ratio = fractions.get(VALIDATION_PARTITION, 0.0) / max(fractions.get(TRAINING_PARTITION, 0.0), 1e-12)
    return max(round(n_train * ratio), 100)


def _validation(args: argparse.Namespace, store: Any, sample: str) -> dict[str, Any]:
    """The validation keywords of the training: with ``--validation-split F`` that fraction of the training
    sample (as before); by default a sample drawn from the store's validation partition with the training
    sample's recipe (method, parameter points, closest-benchmark rule; another seed), which training never
    sees. Prints which."""
    from ..ml.data import STORE_COLUMNS
    from ..sampling import SampleAugmenter

    if args.validation_split is not None:
        print(f"validation: {args.validation_split:g} of samples/{sample}, held out from training")
        return {"validation_split": args.validation_split}
    attrs = store.sample_attrs(sample)
    fractions = store.partition_spec["fractions"]
    if attrs.get("partition") != TRAINING_PARTITION or attrs.get("nu0") is not None:
        raise ConfigError(
            f"{store.url}: samples/{sample} was drawn from partition {attrs.get('partition') or 'all'}"
            + (" with nuisance parameters" if attrs.get("nu0") is not None else "")
            + ": no validation sample can be drawn to match it; pass --validation-split F"
        )
    if fractions.get(VALIDATION_PARTITION, 0.0) <= 0.0:
        raise ConfigError(f"{store.url}: the store has no validation partition; pass --validation-split F")
    n = validation_size(int(attrs["n_samples"]), fractions)
    theta1 = _sampler(attrs.get("theta1"))
    positional = [_sampler(attrs["theta0"])] + ([theta1] if theta1 is not None else [])
    options = {
        "partition": VALIDATION_PARTITION,
        "sample_only_from_closest_benchmark": bool(attrs.get("sample_only_from_closest_benchmark", True)),
        "seed": int(attrs.get("seed", 0)) + 1,
        "write": False,
    }
    if attrs.get("additional_thetas"):
        options["additional_thetas"] = int(attrs["additional_thetas"])
    drawn = getattr(SampleAugmenter(store), f"sample_{attrs['kind']}")(*positional, n, **options)
    print(f"validation: {n} rows drawn from the {VALIDATION_PARTITION} partition as samples/{sample} was")
    return {"validation": {STORE_COLUMNS[k]: v for k, v in drawn.arrays.items() if k in STORE_COLUMNS}}


def _outputs(out: str, ensemble: bool) -> list[Path]:
    """What saving to ``out`` writes: an ensemble's directory, or an estimator's files and folder."""
    if ensemble:
        return [Path(out)]
    base = Path(out)
    suffixes = ("_settings.json", "_state_dict.pt", "_scaling.npz", "_calibration.json")
    return [base.parent, *(base.with_name(base.name + suffix) for suffix in suffixes)]


def _calibrate(estimator: Any, store: Any, partition: str, reference: Any, out: str, ensemble: bool) -> Any:
    """Calibrate the normalisation on ``partition`` (module docstring), print it and write the record beside
    the model; returns the record (None when there is nothing to calibrate against)."""
    from ..ml import calibrate_ratio

    if reference is None:
        print("not calibrated: the sample has no single reference point theta1")
        return None
    result = calibrate_ratio(estimator, store, None if partition == "all" else partition, theta_ref=reference)
    info = result.info()
    # a morphing-aware estimator is calibrated in its saved weights; any other needs it again when loaded
    info["apply_on_load"] = result.log_xsec_shifts is None
    where = f"{partition} partition" if partition != "all" else "all events"
    print(
        f"calibrated on {result.n_events} events of the {where} (effective {fmt(result.n_effective, 4)}) "
        f"weighted at theta_ref = {[float(v) for v in result.theta_ref]}: E[r_hat(x|theta, theta_ref)] = 1 "
        + (
            "for every theta (log cross sections shifted by "
            + ", ".join(f"{v:+.4f}" for v in result.log_xsec_shifts.ravel())
            + ")"
            if result.log_xsec_shifts is not None
            else "per theta, applied again when the estimator is loaded"
        )
    )
    if partition in ("test", "all"):
        print(
            "warning: the calibration events include the test partition, the Asimov data of `limits`: its "
            "closure check is then no test of the normalisation"
        )
    with annotate_os_error(out):
        write_json(str(calibration_file(out, ensemble)), info)
    return info


def _train_and_save(
    args: argparse.Namespace, klass: type, settings: dict[str, Any], training: dict[str, Any], out: str
) -> int:
    """Train the estimator (or ensemble), print the history and save it to ``out``."""
    from ..ml import Ensemble

    training = dict(training)
    calibrate = training.pop("calibrate")
    store, sample = training["store"], training["sample"]
    reference = settings.get("reference")
    if reference is None and calibrate != "none":
        reference = _sample_reference(store, sample)
    if args.ensemble:
        ensemble = Ensemble.create(klass, args.ensemble, **settings)
        histories = ensemble.train_all(args.method, **training)
        rows = [
            [
                m,
                h.n_epochs,
                h.best_epoch + 1,
                fmt(h.train_loss[-1]),
                fmt(h.validation_loss[-1] if h.validation_loss else None),
            ]
            for m, h in enumerate(histories)
        ]
        print(
            f"trained an ensemble of {args.ensemble} {klass.__name__} ({args.method}) on samples/{sample} of "
            f"{store.url}: {histories[0].n_train} training / {histories[0].n_validation} validation rows"
        )
        print(table(["member", "epochs", "best epoch", "train loss", "validation loss"], rows))
        if calibrate != "none":
            _calibrate(ensemble, store, calibrate, reference, out, ensemble=True)
        with annotate_os_error(out):
            index = ensemble.save(out)
        print(f"saved {index}")
        return 0
    estimator = klass(**settings)
    history = estimator.train(args.method, **training)
    print(
        f"trained {klass.__name__} ({args.method}) on samples/{sample} of {store.url}: {history.n_train} "
        f"training / {history.n_validation} validation rows, {history.n_epochs} epochs in "
        f"{history.seconds:.1f} s (best epoch marked *)"
    )
    print(_history_table(history))
    extra = []
    if calibrate != "none":
        if _calibrate(estimator, store, calibrate, reference, out, ensemble=False) is not None:
            extra.append(calibration_file(out, False))
    with annotate_os_error(out):
        files = estimator.save(out)
    print("saved " + ", ".join(str(path) for path in [*files.values(), *extra]))
    return 0


def register(commands: Any) -> None:
    """Add ``train`` to the subcommands."""
    parser = add_command(commands, "train", run_train, __doc__)
    add_arguments(parser, "store", store="the zarr event store holding the augmented sample")
    parser.add_argument("method", choices=list(METHODS), help="training method")
    parser.add_argument("--sample", help="augmented sample name (default: by method, see below)")
    add_arguments(parser, "out", out={"required": False, "help": "where to save (default: models/<method>)"})
    _add_network_options(parser)
    library = {
        "--epochs": (positive_int, "training epochs (default: the library's, 30)"),
        "--batch-size": (positive_int, "batch size (default: the library's)"),
        "--lr": (positive_float, "initial learning rate (default: the library's)"),
        "--final-lr": (positive_float, "final learning rate (default: the library's)"),
    }
    for flag, (kind, text) in library.items():
        parser.add_argument(flag, type=kind, default=None, help=text)
    parser.add_argument(
        "--validation-split",
        type=split_fraction,
        default=None,
        metavar="F",
        help="validate on this fraction of the training sample instead (default: a sample from the store's "
        "validation partition)",
    )
    parser.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the epoch with the best validation loss (default: on)",
    )
    parser.add_argument(
        "--alpha",
        type=non_negative_float,
        default=None,
        help="weight of the score terms (default: the method's, see ParameterizedRatioEstimator.training_defaults)",
    )
    parser.add_argument("--double", action="store_true", help="ratio methods: doubly parameterised estimator")
    parser.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        default="auto",
        help="ratio methods: morphing-aware network (auto: where the setup morphs and the sample has one "
        "theta1) or plain (default: %(default)s)",
    )
    parser.add_argument(
        "--calibrate",
        choices=[*PARTITIONS, "none"],
        help="ratio methods: calibrate the normalisation E[r_hat] = 1 on the events of this partition "
        "(default: validation, held out from training and from the Asimov data of `limits`)",
    )
    parser.add_argument(
        "--transforms", type=positive_int, help="nde / scandal: autoregressive transforms (default: 3)"
    )
    parser.add_argument(
        "--ensemble", type=positive_int, metavar="N", help="train an ensemble of N estimators"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    add_arguments(parser, "seed", "progress")


def _add_network_options(parser: argparse.ArgumentParser) -> None:
    """The network: hidden layers, activation, the observable columns it sees."""
    parser.add_argument(
        "--hidden",
        type=positive_int,
        nargs="+",
        default=None,
        metavar="N",
        help="hidden layer sizes (default: the estimator's, 100 100)",
    )
    parser.add_argument("--activation", default=None, help="activation function (default: the estimator's)")
    parser.add_argument(
        "--features", type=non_negative_int, nargs="+", metavar="I", help="observable columns to use"
    )
