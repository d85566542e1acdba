r"""The end-to-end demonstration behind ``columnminer demo``: the whole chain on the built-in golden channel.

:func:`run_demo` sets up :math:`H \to ZZ^* \to 2e2\mu` with anomalous couplings theta = (a2, a3) and morphing,
generates signal at the SM and at the two morphing benchmarks nearest to it plus the q q~ -> ZZ background
as LHE, reads, smears (a simple detector), selects and computes the four-lepton observables into a zarr
store, draws augmented samples, trains SALLY and ALICES, and compares on a 2-d (a2, a3) grid the Fisher
information and the expected limits of the rate, a 2-d histogram, SALLY, ALICES and two exact likelihoods:
the unlabelled detector-level :math:`p(x|\theta)`, integrated over the detector's transfer function
(:mod:`columnminer.simulators.golden_detector`), and the labelled parton-level bound
(:mod:`columnminer.inference.truth_limits`). Areas come from the interpolated q with bootstrap errors
(:mod:`columnminer.inference.areas`), and the coverage of every method's regions is measured by toys at 300
and 3000 fb^-1 (:mod:`columnminer.inference.neyman`). The limits and the Fisher information are at 3000 fb^-1
on the test partition, as ``columnminer fisher`` and ``limits`` compute them (:mod:`columnminer._cli.defaults`).
Nothing outside columnminer is needed. It returns a
:class:`DemoResult` (``summary_text()`` for the terminal) and writes ``summary.md``, ``summary.json`` and
``plots/*.png`` into the output directory. The steps live in :mod:`columnminer._demo`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ._demo.reference import golden_channel_setup, quadratic_event_weights
from ._demo.result import DemoResult

__all__ = ["STEPS", "DemoResult", "golden_channel_setup", "quadratic_event_weights", "run_demo"]

logger = logging.getLogger(__name__)

#: The steps of :func:`run_demo`, in order (the keys of ``DemoResult.timings``).
STEPS = (
    "setup and morphing checks",
    "generate LHE",
    "detector, selection, store",
    "exact detector-level density",
    "augmented samples",
    "train SALLY",
    "train ALICES",
    "Fisher information",
    "expected limits",
    "area errors and coverage",
    "plots",
)


def run_demo(
    out: str | Path,
    n_events: int | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    coverage_toys: int | None = None,
    neyman: bool = False,
    images: str | Path | None = None,
) -> DemoResult:
    """Run the whole chain on the golden channel and write its summary and plots into ``out``.

    ``n_events``: SM signal events to generate (default 80 000, or 20 000 with ``quick``); the BSM and
    background samples and the training samples scale with it. ``quick`` also trains for fewer epochs on a
    coarser grid (a few times faster than the default run). ``coverage_toys``: toys per luminosity (300 and
    3000 fb^-1) for the coverage of every method (default 2000, 300 with ``quick``; 0 skips the coverage);
    ``neyman``: also the areas with toy critical values of q at the SM. ``images``: a directory that also
    gets the figures under their stable names (:data:`~columnminer._demo.plots.FIGURES`), e.g. the README's
    ``docs/images``. ``progress`` shows tqdm bars on stderr. Nothing is printed: the returned
    :class:`DemoResult` holds every number (``summary_text()``, ``summary_markdown()``, ``to_dict()``),
    ``ok`` is True when every check passed, ``files`` lists what was written (setup JSON and zarr, the LHE
    files, the event store and its lepton sidecar, the trained models, ``summary.md``, ``summary.json``,
    ``plots/*.png``). The luminosity (3000 fb^-1) and the partitions are the command line's
    (:mod:`columnminer._cli.defaults`).

    Example:
        >>> run_demo.__name__  # the whole chain takes a minute or more: see ``columnminer demo --quick``
        'run_demo'
    """
    from ._demo import chain, training
    from ._demo.config import DemoConfig

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = DemoConfig.make(n_events, quick, coverage_toys=coverage_toys, neyman=neyman)
    steps = chain.Steps(list(STEPS), progress)
    try:
        with training.torch_threads(1):
            result = _run_steps(steps, out, config, seed, progress)
    finally:
        steps.close()
    result.timings = steps.timings
    if images is not None:
        from ._demo.plots import copy_figures

        result.files += copy_figures(result.files, Path(images))
    result.files += [out / "summary.md", out / "summary.json"]
    (out / "summary.md").write_text(result.summary_markdown())
    (out / "summary.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    logger.info("demo finished in %.1f s: %s", sum(result.timings.values()), "ok" if result.ok else "FAILED")
    return result


def _run_steps(steps: Any, out: Path, config: Any, seed: int, progress: bool) -> DemoResult:
    """The steps of :data:`STEPS`, each timed: the physics chain, then the checks and the plots."""
    from ._demo import chain, training
    from ._demo.checks import morphing_checks, store_check
    from ._demo.plots import write_plots

    with steps.step(STEPS[0]):
        setup = golden_channel_setup(seed)
        result = DemoResult(out=out, config=config, setup=setup, seed=seed)
        checks, files = morphing_checks(setup, out, seed)
        result.checks.update(checks)
        result.files += files
    with steps.step(STEPS[1]):
        generated = chain.generate(setup, config, out, seed, progress)
        result.files.append(out / "lhe")
    with steps.step(STEPS[2]):
        store = chain.analyse(setup, config, generated, out, seed, progress)
        result.samples = [*generated.samples, generated.background]
        result.n_events = store.n_events
        result.cross_sections = chain.selected_cross_sections(store)
        n_kept = sum(s["n_selected"] for s in result.samples)
        result.checks["event store complete"] = store_check(store, n_kept)
        result.files.append(Path(store.url))
        leptons = chain.analyse_leptons(setup, config, generated, out, seed, progress)
        result.files.append(Path(leptons.url))
    with steps.step(STEPS[3]):
        result.exact = exact = chain.exact_densities(store, leptons, config, generated, seed)
    with steps.step(STEPS[4]):
        local, ratio = chain.augment(store, config, seed)
    with steps.step(STEPS[5]):
        sally = training.train_sally(local, store, config, seed, progress)
    with steps.step(STEPS[6]):
        alices, shifts = training.train_alices(ratio, store, config, seed, progress)
        result.notes.append(
            "ALICES: morphing-aware network; its log cross sections calibrated on the SM-weighted events of "
            f"the {training.CALIBRATION_PARTITION} partition so that E_SM[r_hat(x|theta, SM)] = 1 (shifts "
            + ", ".join(f"{v:+.4f}" for v in shifts)
            + "); the limits normalise it on the Asimov (test) events, as the exact detector-level likelihood"
        )
    result.histories = {"sally": sally.history, "alices": alices.history}
    for name, estimator in (("sally", sally), ("alices", alices)):
        estimator.save(out / "models" / name)
    result.files.append(out / "models")
    with steps.step(STEPS[7]):
        result.fisher = chain.fisher_informations(store, config, {"sally": sally, "alices": alices})
    with steps.step(STEPS[8]):
        result.limits = chain.limits(store, config, sally, alices, exact, progress)
    with steps.step(STEPS[9]):
        result.uncertainties = chain.uncertainties_and_coverage(
            store, config, sally, alices, exact, result.limits, seed, progress
        )
    _result_checks(result)
    with steps.step(STEPS[10]):
        result.files += write_plots(result, store, out / "plots")
    return result


def _result_checks(result: DemoResult) -> None:
    """Checks on the inference results: every region computed, every likelihood but the rate's (which is flat
    along a ring) peaks at the Asimov point, the informations of the shape-sensitive methods are positive
    definite, the detector-level exact density's background closure, and the event-level models of the
    bootstrap and the toys reproduce the limits."""
    from ._demo.chain import METHODS

    areas = {key: result.area(key) for key in result.limits}
    result.checks["limits computed for every method"] = (
        len(areas) == len(METHODS) and all(np.isfinite(a) and a > 0 for a in areas.values()),
        ", ".join(f"{k} {v:.3g}" for k, v in areas.items()) + " (68% CL areas)",
    )
    peaks = {k: result.limits[k].best_fit for k in ("histogram", "sally", "alices", "exact", "truth")}
    result.checks["likelihoods peak at the SM (Asimov point)"] = (
        all(np.allclose(p, 0.0, atol=1e-12) for p in peaks.values()),
        ", ".join(f"{k} ({p[0]:+.3f}, {p[1]:+.3f})" for k, p in peaks.items()),
    )
    definite = {
        k: float(result.fisher[k].eigenvalues.min()) for k in ("truth", "histogram", "sally", "alices")
    }
    result.checks["Fisher information positive definite"] = (
        all(v > 0 for v in definite.values()),
        "smallest eigenvalues " + ", ".join(f"{k} {v:.3g}" for k, v in definite.items()),
    )
    exact = result.exact
    if exact is not None:
        pull = (exact.background_closure - 1.0) / exact.closure_error
        result.checks["detector-level density: background closure"] = (
            abs(pull) < 4.0,
            f"sum_x w_SM P(bkg|x) / sigma_bkg = {exact.background_closure:.4f} +- {exact.closure_error:.4f} "
            f"(test events; median MC error per event: signal {exact.median_mc_error[0]:.3f}, background "
            f"{exact.median_mc_error[1]:.3f})",
        )
    if result.uncertainties is not None and result.uncertainties.q_agreement:
        worst = max(result.uncertainties.q_agreement.values())
        result.checks["event-level models reproduce the limits"] = (
            worst < 0.05,
            "max |q(model) - q(limits)| inside q < 12: "
            + ", ".join(f"{k} {v:.1e}" for k, v in result.uncertainties.q_agreement.items()),
        )
