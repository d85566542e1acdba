"""The ``train`` command: a neural estimator (or an ensemble) trained on an augmented sample of a store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .common import (
    annotate_os_error,
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
)

__all__ = ["METHODS", "register", "run_train"]

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
        ParameterizedRatioEstimator,
        ScoreEstimator,
    )

    return {
        "score": ScoreEstimator,
        "ratio": ParameterizedRatioEstimator,
        "double": DoubleParameterizedRatioEstimator,
        "likelihood": LikelihoodEstimator,
    }[family]


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
    settings: dict[str, Any] = {"n_hidden": tuple(args.hidden), "activation": args.activation}
    if args.features is not None:
        settings["features"] = list(args.features)
    if family == "likelihood" and args.transforms is not None:
        settings["n_transforms"] = args.transforms
    training = {
        "sample": sample,
        "store": store,
        "alpha": args.alpha,
        "n_epochs": args.epochs,
        "batch_size": args.batch_size,
        "initial_lr": args.lr,
        "final_lr": args.final_lr,
        "validation_split": args.validation_split,
        "early_stopping": args.early_stopping,
        "device": args.device,
        "seed": args.seed,
        "progress": progress_enabled(args.progress),
    }
    klass = _estimator_class(family)
    out = args.out or f"models/{args.method}"
    # a model directory (or model files) created here is removed again if training or saving fails
    with remove_on_failure(*_outputs(out, bool(args.ensemble))):
        return _train_and_save(args, klass, settings, training, out)


def _outputs(out: str, ensemble: bool) -> list[Path]:
    """What saving to ``out`` writes: an ensemble's directory, or an estimator's three files and folder."""
    if ensemble:
        return [Path(out)]
    base = Path(out)
    suffixes = ("_settings.json", "_state_dict.pt", "_scaling.npz")
    return [base.parent, *(base.with_name(base.name + suffix) for suffix in suffixes)]


def _train_and_save(
    args: argparse.Namespace, klass: type, settings: dict[str, Any], training: dict[str, Any], out: str
) -> int:
    """Train the estimator (or ensemble), print the history and save it to ``out``."""
    from ..ml import Ensemble

    store, sample = training["store"], training["sample"]
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
    with annotate_os_error(out):
        files = estimator.save(out)
    print("saved " + ", ".join(str(path) for path in files.values()))
    return 0


def register(commands: Any) -> None:
    """Add ``train`` to the subcommands."""
    parser = commands.add_parser(
        "train",
        help="train a neural estimator on an augmented sample",
        description="Train a neural estimator on an augmented sample of the store (read in blocks): sally / "
        "sallino (score), carl / rolr / alice / rascal / alices / cascal (likelihood ratio; --double for "
        "the doubly parameterised one), nde / scandal (conditional density). Saves <out>_settings.json, "
        "<out>_state_dict.pt and <out>_scaling.npz (an ensemble: a directory).",
        epilog="Default samples: local (score), ratio (ratio), more-ratios (--double), density (nde, scandal), "
        "as made by `columnminer augment`. Exit codes: 0 success, 1 a columnminer error, 2 usage.",
    )
    parser.add_argument("store", help="the zarr event store holding the augmented sample")
    parser.add_argument("method", choices=list(METHODS), help="training method")
    parser.add_argument("--sample", help="augmented sample name (default: by method, see below)")
    parser.add_argument("--out", help="where to save (default: models/<method>)")
    parser.add_argument(
        "--hidden",
        type=positive_int,
        nargs="+",
        default=[100],
        metavar="N",
        help="hidden layer sizes (default: 100)",
    )
    parser.add_argument("--activation", default="tanh", help="activation function (default: %(default)s)")
    parser.add_argument(
        "--features", type=non_negative_int, nargs="+", metavar="I", help="observable columns to use"
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=50, help="training epochs (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=128, help="batch size (default: %(default)s)"
    )
    parser.add_argument(
        "--lr", type=positive_float, default=1e-3, help="initial learning rate (default: %(default)s)"
    )
    parser.add_argument(
        "--final-lr", type=positive_float, default=1e-4, help="final learning rate (default: %(default)s)"
    )
    parser.add_argument(
        "--validation-split",
        type=split_fraction,
        default=0.25,
        help="validation fraction in [0, 1) (default: %(default)s)",
    )
    parser.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the epoch with the best validation loss (default: on)",
    )
    parser.add_argument(
        "--alpha", type=non_negative_float, default=1.0, help="weight of the score terms (default: 1)"
    )
    parser.add_argument("--double", action="store_true", help="ratio methods: doubly parameterised estimator")
    parser.add_argument(
        "--transforms", type=positive_int, help="nde / scandal: autoregressive transforms (default: 3)"
    )
    parser.add_argument(
        "--ensemble", type=positive_int, metavar="N", help="train an ensemble of N estimators"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars (default: on a tty)",
    )
    parser.set_defaults(func=run_train)
