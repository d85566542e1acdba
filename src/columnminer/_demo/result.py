"""The result of :func:`columnminer.demo.run_demo`: everything measured, the checks, and the summary as a
fixed-width text table (terminal), markdown and JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._cli.common import to_jsonable
from .._version import __version__
from ..inference.areas import format_value_error, region_area
from ..setup import AnalysisSetup
from .config import DemoConfig

__all__ = ["CL_68", "CL_95", "DemoResult", "path_size", "render_table", "size_text"]

CL_68 = 0.6827
CL_95 = 0.9545
#: Report labels of the Fisher informations and limit methods (keys as in the result's dicts).
LABELS = {
    "truth": "exact, parton level (labelled bound)",
    "exact": "exact, detector level (unlabelled)",
    "rate": "rate only",
    "histogram": "2-d histogram",
    "sally": "SALLY",
    "alices": "ALICES",
}
#: The limit methods in the order of the tables.
ORDER = ("rate", "histogram", "sally", "alices", "exact", "truth")
#: Targets of the demo (issue tracker): area 68 % / exact detector-level area, and coverage within this of
#: nominal.
TARGETS = {"alices": 1.05, "sally": 1.10}
COVERAGE_TOLERANCE = 0.02
#: An estimated Fisher information disagrees with the truth when a diagonal element exceeds the truth's by more
#: than this fraction ...
FISHER_EXCESS = 0.1
#: ... or its correlation I_ij / sqrt(I_ii I_jj) differs from the truth's by more than this.
FISHER_CORRELATION = 0.25


def render_table(
    headers: list[str], rows: list[list[str]], markdown: bool = False, align: str | None = None
) -> str:
    """Rows of strings as a markdown table, or as fixed-width text; ``align`` has one letter per column,
    ``l`` or ``r`` (default: the first column left, the others right).

    Example:
        >>> print(render_table(["a", "b"], [["x", "1"], ["yy", "22"]]))
        a    b
        --  --
        x    1
        yy  22
    """
    align = align or "l" + "r" * (len(headers) - 1)
    if markdown:
        rule = "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"
        return "\n".join(
            ["| " + " | ".join(headers) + " |", rule, *("| " + " | ".join(r) + " |" for r in rows)]
        )
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            f"{c:<{w}}" if a == "l" else f"{c:>{w}}" for c, w, a in zip(cells, widths, align, strict=True)
        ).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *[line(r) for r in rows]])


def _fraction(value: float, error: float) -> str:
    """A coverage fraction ± its binomial error (three decimals when the error vanishes)."""
    return format_value_error(value, error) if error > 0 else f"{value:.3f} ± 0"


def _g(value: float, digits: int = 4) -> str:
    return "inf" if not math.isfinite(value) else f"{value:.{digits}g}"


@dataclass
class DemoResult:
    """What :func:`~columnminer.demo.run_demo` measured.

    Attributes:
        out: the output directory.
        config: the sizes and settings of the run.
        setup: the golden-channel analysis setup (theta = (a2, a3), morphing).
        seed: the random seed.
        samples: per generated sample (signal at each benchmark, then the background): ``name``, ``theta``,
            ``path`` (LHE), ``n_generated``, ``n_selected``, ``cross_section_pb`` (as generated).
        cross_sections: after the selection (pb): ``signal_sm_pb`` and ``background_pb``.
        n_events: events in the store.
        fisher: key -> :class:`~columnminer.inference.fisher.FisherInformation` at the SM.
        limits: key -> :class:`~columnminer.inference.limits.LimitResult` (expected, Asimov at the SM); keys
            rate, histogram, sally, alices, exact (detector level, unlabelled), truth (parton level, labelled).
        exact: the detector-level exact densities and their diagnostics
            (:class:`~columnminer._demo.chain.ExactDensities`).
        uncertainties: areas with bootstrap errors, coverage by toys, Neyman areas
            (:class:`~columnminer._demo.chain.Uncertainties`).
        histories: "sally" / "alices" -> :class:`~columnminer.ml.trainer.TrainingHistory`.
        timings: step -> wall seconds.
        checks: name -> (passed, detail).
        files: the files written (setup, store, plots, summaries).
        notes: remarks, e.g. a plot drawn by the demo's own fallback.
    """

    out: Path
    config: DemoConfig
    setup: AnalysisSetup
    seed: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    cross_sections: dict[str, float] = field(default_factory=dict)
    n_events: int = 0
    fisher: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    exact: Any = None
    uncertainties: Any = None
    histories: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- derived numbers ---------------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(passed for passed, _ in self.checks.values())

    def _estimate(self, method: str, cl: float) -> Any:
        u = self.uncertainties
        if u is None or method not in u.areas:
            return None
        return u.areas[method][0 if cl == CL_68 else 1] if cl in (CL_68, CL_95) else None

    def area(self, method: str, cl: float = CL_68) -> float:
        """Area of the expected confidence region of ``method`` at ``cl``: bicubic interpolation of q on the
        grid, contour polygon (:func:`~columnminer.inference.areas.region_area`)."""
        estimate = self._estimate(method, cl)
        if estimate is not None:
            return float(estimate.value)
        result = self.limits[method]
        return region_area(result.thetas, result.q, result.threshold(cl))

    def area_error(self, method: str, cl: float = CL_68) -> float:
        """Bootstrap standard error of :meth:`area` (NaN when not computed)."""
        estimate = self._estimate(method, cl)
        return math.nan if estimate is None else float(estimate.error)

    def grid_area(self, method: str, cl: float = CL_68) -> float:
        """The grid-count area: points inside times the cell area (coarser, for comparison)."""
        return float(self.limits[method].region_volume(cl))

    @property
    def reference(self) -> str:
        """The reference of the area ratios: the detector-level exact likelihood when present."""
        return "exact" if "exact" in self.limits else "truth"

    def area_ratio(self, method: str, reference: str, cl: float = CL_68) -> float:
        """Area of ``method``'s region divided by that of ``reference`` (inf when the reference is empty)."""
        denominator = self.area(reference, cl)
        return self.area(method, cl) / denominator if denominator > 0 else math.inf

    def area_ratio_error(self, method: str, reference: str, cl: float = CL_68) -> float:
        """Bootstrap error of :meth:`area_ratio` from the paired replicas (NaN when not computed)."""
        a, b = self._estimate(method, cl), self._estimate(reference, cl)
        if a is None or b is None or len(a.replicas) < 2 or len(b.replicas) != len(a.replicas):
            return math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            r = a.replicas / b.replicas
        r = r[np.isfinite(r)]
        return float(np.std(r, ddof=1)) if len(r) > 1 else math.nan

    def ratio_text(self, method: str, reference: str | None = None, cl: float = CL_68) -> str:
        """``ratio ± error`` of the areas."""
        reference = reference or self.reference
        value = self.area_ratio(method, reference, cl)
        if method == reference:
            return "1"
        return format_value_error(value, self.area_ratio_error(method, reference, cl), 2)

    def area_text(self, method: str, cl: float = CL_68) -> str:
        """``area ± error`` (``*``: the region reaches the grid's edge, a lower bound)."""
        edge = "*" if self.reaches_edge(method, cl) else ""
        return format_value_error(self.area(method, cl), self.area_error(method, cl)) + edge

    def reaches_edge(self, method: str, cl: float = CL_68) -> bool:
        """Whether the region touches the border of the grid (its area is then a lower bound)."""
        result = self.limits[method]
        inside = result.thetas[result.q < result.threshold(cl)]
        low, high = result.thetas.min(axis=0), result.thetas.max(axis=0)
        return bool(len(inside) and (np.any(inside.min(axis=0) <= low) or np.any(inside.max(axis=0) >= high)))

    def overlap(self, method: str, reference: str | None = None, cl: float = CL_68) -> float:
        """Overlap of two regions on the common grid: area(A and B) / area(A or B) (1 for identical regions; the area
        ratio alone would not see a region of the right size in the wrong place)."""
        a, b = self.limits[method], self.limits[reference or self.reference]
        if a.thetas.shape != b.thetas.shape or not np.allclose(a.thetas, b.thetas):
            return math.nan
        inside_a, inside_b = a.q < a.threshold(cl), b.q < b.threshold(cl)
        union = np.sum(inside_a | inside_b)
        return float(np.sum(inside_a & inside_b) / union) if union else math.nan

    @property
    def headline_holds(self) -> bool:
        """The paper's headline: SALLY's and ALICES's 68 % regions are smaller than the histogram's."""
        return all(self.area(m) < self.area("histogram") for m in ("sally", "alices"))

    def fisher_area(self, key: str) -> float:
        r"""Area of the 1-sigma Fisher ellipse :math:`\Delta\theta^T I \Delta\theta \le 1`:
        :math:`\pi/\sqrt{\det I}` (inf for a singular information, such as the rate's, whose determinant is
        only rounding noise: below 1e-6 of the product of the diagonal)."""
        info = np.asarray(self.fisher[key].information)
        det = self.fisher[key].determinant
        singular = det <= 1e-6 * abs(float(np.prod(np.diag(info))))
        return math.inf if singular else math.pi / math.sqrt(det)

    # -- tables --------------------------------------------------------------------------------------------
    def _label(self, key: str) -> str:
        if key == "histogram":
            return f"{LABELS[key]} ({', '.join(self.config.histogram_features)})"
        return LABELS[key]

    def _events_table(self) -> tuple[str, list[str], list[list[str]], list[str], str | None]:
        """The generated and selected samples and the cross sections after the selection."""
        lum = self.config.luminosity_pb
        rows = []
        for s in self.samples:
            theta = "-" if s["theta"] is None else "({:+.3f}, {:+.3f})".format(*s["theta"])
            rows.append(
                [
                    "background (q q~ -> ZZ)" if s["theta"] is None else f"signal at {s['name']}",
                    theta,
                    str(s["n_generated"]),
                    str(s.get("n_selected", "-")),
                    f"{1000 * s['cross_section_pb']:.4g}",
                ]
            )
        sig, bkg = self.cross_sections.get("signal_sm_pb", 0.0), self.cross_sections.get("background_pb", 0.0)
        fractions = " / ".join(f"{f:g}" for f in self.config.partition_fractions)
        notes = [
            f"after the selection: signal sigma(SM) = {1000 * sig:.4g} fb, background {1000 * bkg:.4g} fb; "
            f"expected at L = {lum / 1000:g} fb^-1: {lum * sig:.0f} signal + {lum * bkg:.0f} background events",
            f"store: {self.n_events} events (train / validation / test partitions {fractions}, the test one for "
            "the Fisher information and the Asimov data)",
        ]
        header = ["sample", "generated at (a2, a3)", "generated", "selected", "sigma [fb]"]
        return ("Events", header, rows, notes, "lrrrr")

    def fisher_disagreements(self) -> dict[str, str]:
        """key -> the words that flag an estimated Fisher information far from the parton-level truth: a
        diagonal element above the truth's by more than :data:`FISHER_EXCESS` (more information than the
        bound allows), or a correlation I_ij / sqrt(I_ii I_jj) off the truth's by more than
        :data:`FISHER_CORRELATION` (the estimate constrains another direction)."""
        if "truth" not in self.fisher:
            return {}
        names = self.setup.parameter_names
        truth = np.asarray(self.fisher["truth"].information)
        flags = {}
        for key, info in self.fisher.items():
            matrix = np.asarray(info.information)
            words = [
                f"I_{names[i]}{names[i]} {_g(matrix[i, i])} exceeds the truth's {_g(truth[i, i])}"
                for i in range(len(names))
                if matrix[i, i] > (1 + FISHER_EXCESS) * truth[i, i]
            ]
            rho, rho_truth = _correlation(matrix), _correlation(truth)
            if key != "truth" and not _rank_one(matrix) and abs(rho - rho_truth) > FISHER_CORRELATION:
                words.append(
                    f"I_{names[0]}{names[1]} {_g(matrix[0, 1])} against the truth's {_g(truth[0, 1])}: "
                    f"correlation {rho:+.2f}, the truth's {rho_truth:+.2f}"
                )
            if words and key != "truth":
                flags[key] = "; ".join(words)
        return flags

    def _fisher_table(self) -> tuple[str, list[str], list[list[str]], list[str], str | None]:
        """The Fisher informations, each element with the truth's beside it, and the disagreements in words."""
        lum = self.config.luminosity_pb
        truth = np.asarray(self.fisher["truth"].information) if "truth" in self.fisher else None
        truth_det = self.fisher["truth"].determinant if "truth" in self.fisher else math.nan
        flags = self.fisher_disagreements()
        rows = []
        for key in ("truth", "rate", "histogram", "sally", "alices"):
            if key not in self.fisher:
                continue
            info = np.asarray(self.fisher[key].information)
            det = self.fisher[key].determinant
            cells = [
                _g(info[i, j]) if key == "truth" or truth is None else f"{_g(info[i, j])} ({_g(truth[i, j])})"
                for i, j in ((0, 0), (0, 1), (1, 1))
            ]
            ratio = f"{det / truth_det:.3f}" if truth_det > 0 else "-"
            remark = "the bound" if key == "truth" else ("DISAGREES" if key in flags else "consistent")
            if key != "truth" and key not in flags and _rank_one(info):
                remark = "rank 1"
            rows.append([self._label(key), *cells, _g(det), _g(self.fisher_area(key)), ratio, remark])
        notes = [
            "in brackets: the parton-level truth (the labelled bound no detector-level method exceeds)",
            "1-sigma area: pi / sqrt(det I), the area of the ellipse Delta theta^T I Delta theta <= 1",
            f"DISAGREES: a diagonal element more than {FISHER_EXCESS:.0%} above the truth's, or a correlation "
            f"more than {FISHER_CORRELATION:g} off the truth's; rank 1: the information constrains one direction only "
            "(the rate: one number), so its correlation is +-1 by construction and is not compared",
            *(f"{self._label(key)}: {words}" for key, words in flags.items()),
        ]
        header = ["method", "I_a2a2", "I_a2a3", "I_a3a3", "det I", "1-sigma area", "det / truth", "vs truth"]
        return (f"Fisher information at the SM, L = {lum / 1000:g} fb^-1", header, rows, notes, "lrrrrrrl")

    def _limits_table(self) -> tuple[str, list[str], list[list[str]], list[str], str | None]:
        """Areas, their ratios to the exact likelihood's and the histogram's, overlaps and best fits."""
        ref = self.reference
        rows = [
            [
                self._label(key),
                self.area_text(key),
                self.area_text(key, CL_95),
                self.ratio_text(key),
                f"{self.area_ratio(key, 'histogram'):.3f}",
                f"{self.overlap(key):.2f}",
                "({:+.3f}, {:+.3f})".format(*self.limits[key].best_fit),
            ]
            for key in ORDER
            if key in self.limits
        ]
        names = self.setup.parameter_space.parameter_names
        ranges = ", ".join(
            f"{name} in [{lo:g}, {hi:g}]"
            for name, (lo, hi) in zip(names, self.config.grid_ranges, strict=True)
        )
        grid = " x ".join(str(n) for n in self.config.grid_resolution)
        n_boot = self.uncertainties.n_bootstrap if self.uncertainties is not None else 0
        notes = [
            f"grid {grid} on {ranges}; Asimov data at the SM (the test events); q = -2 Delta log L, regions "
            "q < 2.30 / 6.18 (chi^2 with 2 dof)",
            "areas: bicubic interpolation of q, contour polygon; +- the Monte Carlo error from the finite test "
            f"sample ({n_boot} Poisson bootstrap replicas, estimators held fixed); ratios from paired replicas",
            "* the region reaches the edge of the grid: its area is a lower bound",
            f"/ exact: area 68% over the {LABELS[ref]}'s; overlap: grid points in both 68% regions / in either",
        ]
        if self.exact is not None:
            d = self.exact
            notes.append(
                f"exact, detector level: p(x|theta) = [sigma_s p_s(x|theta) + sigma_b p_b(x)] / sigma(theta), "
                f"integrated over the detector's transfer function ({d.densities.n_samples} points per event; "
                f"background closure {d.background_closure:.3f} +- {d.closure_error:.3f}); the labelled "
                "parton-level likelihood is the unlabelled one at the parton level (signal m4l = mH exactly), "
                "a bound no detector-level analysis reaches"
            )
        header = ["method", "area 68%", "area 95%", "/ exact", "/ histogram", "overlap", "best fit (a2, a3)"]
        lum = self.config.luminosity_pb
        return (f"Expected limits at the SM, L = {lum / 1000:g} fb^-1", header, rows, notes, None)

    def _tables(self) -> list[tuple[str, list[str], list[list[str]], list[str], str | None]]:
        """(title, headers, rows, notes, column alignment) of every table of the summary."""
        timing_rows = [[name, f"{seconds:.1f}"] for name, seconds in self.timings.items()]
        timing_rows.append(["total", f"{sum(self.timings.values()):.1f}"])
        check_rows = [
            [name, "OK" if passed else "FAILED", detail] for name, (passed, detail) in self.checks.items()
        ]
        return [
            self._events_table(),
            self._fisher_table(),
            self._limits_table(),
            *self._coverage_tables(),
            ("Timings", ["step", "seconds"], timing_rows, [], None),
            ("Checks", ["check", "result", "detail"], check_rows, [], "lll"),
        ]

    def coverage_ok(self, method: str, luminosity: float) -> bool:
        """Whether the Wilks regions of ``method`` cover within :data:`COVERAGE_TOLERANCE` of nominal at
        ``luminosity`` (pb^-1), up to one binomial error of the toys."""
        return bool(self.uncertainties.coverage[luminosity][method].is_nominal(COVERAGE_TOLERANCE))

    def _coverage_rows(self) -> list[list[str]]:
        """One row per luminosity and method: coverage at 68 / 95 %, pulls, toy critical values, verdict."""
        rows = []
        for lum, results in self.uncertainties.coverage.items():
            for key in ORDER:
                if key not in results:
                    continue
                r = results[key]
                c = r.neyman_thresholds
                rows.append(
                    [
                        self._label(key),
                        f"{lum / 1000:g}",
                        _fraction(float(r.fractions[0]), float(r.errors[0])),
                        _fraction(float(r.fractions[1]), float(r.errors[1])),
                        f"{r.pulls()[0]:+.1f} / {r.pulls()[1]:+.1f}",
                        "-" if c is None else f"{c[0]:.2f} / {c[1]:.2f}",
                        "-" if c is None else f"{r.neyman_fractions[0]:.3f} / {r.neyman_fractions[1]:.3f}",
                        f"{r.at_edge:.3f}",
                        "yes" if self.coverage_ok(key, lum) else "NO",
                    ]
                )
        return rows

    def _neyman_table(self) -> tuple[str, list[str], list[list[str]], list[str], str | None]:
        """The areas of the regions with the toys' critical values of q at the SM."""
        u = self.uncertainties
        lum = self.config.luminosity_pb
        rows = []
        for key in ORDER:
            if key not in u.neyman_areas:
                continue
            c = u.coverage[lum][key].neyman_thresholds
            a68, a95 = u.neyman_areas[key]
            rows.append([self._label(key), f"{c[0]:.2f}", f"{a68:.4g}", f"{c[1]:.2f}", f"{a95:.4g}"])
        return (
            f"Neyman regions (toy critical values at the SM), L = {lum / 1000:g} fb^-1",
            ["method", "c 68%", "area 68%", "c 95%", "area 95%"],
            rows,
            ["regions q < c with c from the toys at the SM instead of the chi^2 quantiles"],
            None,
        )

    def _coverage_tables(self) -> list[tuple[str, list[str], list[list[str]], list[str], str | None]]:
        """The coverage table (and the Neyman one), when toys were run."""
        u = self.uncertainties
        if u is None or not u.coverage:
            return []
        n_toys = next(iter(next(iter(u.coverage.values())).values())).n_toys
        notes = [
            f"{n_toys} toys per luminosity: per-event Poisson counts from the test events at the SM (the same "
            "toys for every method); q(SM) with each toy's maximum over the grid refined quadratically; "
            "+- binomial errors",
            "Wilks: inside when q(SM) < 2.30 (68.3%) / 6.18 (95.4%); pull = (coverage - nominal) / binomial "
            "error at nominal",
            "toy c: the Neyman critical values of q at the SM (quantiles over the even toys); with toy c: the "
            "coverage they give on the odd toys; the rate alone constrains one direction, so q ~ chi^2 with 1 dof "
            "and its 2-dof Wilks regions over-cover",
            "grids: "
            + "; ".join(
                f"{lum / 1000:g} fb^-1: " + " x ".join(f"[{lo:.3g}, {hi:.3g}]" for lo, hi in ranges)
                for lum, ranges in u.coverage_grids.items()
            )
            + f"; at edge: fraction of toys whose best grid point is on the border; ok: |coverage - nominal| <= "
            f"{COVERAGE_TOLERANCE:.0%} + 1 binomial error at both levels",
        ]
        header = [
            "method",
            "L [fb^-1]",
            "68.3%",
            "95.4%",
            "pulls",
            "toy c 68 / 95",
            "with toy c",
            "at edge",
            "ok",
        ]
        tables = [("Coverage of the expected regions by toys", header, self._coverage_rows(), notes, None)]
        return tables + ([self._neyman_table()] if u.neyman_areas else [])

    def headline(self) -> list[str]:
        """The headline sentences: ML regions against the histogram's, the ML methods against the exact
        detector-level likelihood (with the targets), coverage."""
        if not all(k in self.limits for k in ("histogram", "sally", "alices", "truth")):
            return []
        ref = self.reference
        sally, alices = self.area_ratio("sally", "histogram"), self.area_ratio("alices", "histogram")
        verdict = "yes" if self.headline_holds else "NO"
        warnings = [
            f"warning: the {LABELS[key]} region is smaller than the exact likelihood's (ratio "
            f"{self.area_ratio(key, ref):.2f}): the estimator is overconfident at this size "
            "(more events or epochs help)"
            for key in ("sally", "alices")
            if self.area_ratio(key, ref) < 0.95
        ]
        warnings += [
            f"warning: the {LABELS[key]} best fit {tuple(round(float(v), 3) for v in self.limits[key].best_fit)} "
            "is not the SM: the estimator is biased at this size"
            for key in ("sally", "alices")
            if np.linalg.norm(self.limits[key].best_fit) > 1e-9
        ]
        lines = [
            f"ML regions smaller than the histogram's (68% CL area / histogram): SALLY {sally:.2f}, "
            f"ALICES {alices:.2f} -> {verdict}",
        ]
        targets = []
        for key in ("alices", "sally"):
            met = "met" if self.area_ratio(key, ref) <= TARGETS[key] else "NOT met"
            targets.append(f"{LABELS[key]} {self.ratio_text(key, ref)} (target <= {TARGETS[key]:.2f}: {met})")
        lines.append(
            f"against the {LABELS[ref]} likelihood (68% CL area / exact): "
            + ", ".join(targets)
            + f"; overlap ALICES {self.overlap('alices'):.2f}; histogram {self.area_ratio('histogram', ref):.2f}"
        )
        if ref == "exact":
            lines.append(
                f"exact detector-level / labelled parton-level bound: {self.ratio_text('exact', 'truth')} "
                "(what the detector and the unknown process label cost)"
            )
        u = self.uncertainties
        if u is not None and u.coverage:
            parts = []
            for lum, results in u.coverage.items():
                bad = [self._label(k) for k in ORDER if k in results and not self.coverage_ok(k, lum)]
                parts.append(
                    f"{lum / 1000:g} fb^-1: " + ("all methods" if not bad else "not " + ", ".join(bad))
                )
            lines.append(
                f"Wilks coverage within {COVERAGE_TOLERANCE:.0%} (+ 1 binomial error) of nominal: "
                + "; ".join(parts)
            )
        return lines + warnings

    def output_sizes(self) -> dict[str, int]:
        """Every output folder or file (the top level of ``out``, and anything written elsewhere, such as the
        copied figures) -> its size in bytes, in the order written."""
        entries: dict[str, Path] = {}
        for path in self.files:
            path = Path(path)
            try:
                top = path.relative_to(self.out).parts[0]
                entries.setdefault(str(self.out / top), self.out / top)
            except (ValueError, IndexError):
                entries.setdefault(str(path.parent if path.suffix == ".png" else path), path.parent)
        return {name: path_size(path) for name, path in entries.items()}

    def _file_lines(self) -> list[tuple[str, str]]:
        """(output, its size) of every output (the summaries themselves are written last)."""
        lines = []
        for name, size in self.output_sizes().items():
            summary = Path(name).name in ("summary.md", "summary.json")
            lines.append((name, "this summary" if summary else size_text(size)))
        return lines

    def _title(self) -> str:
        mode = "quick" if self.config.quick else "default"
        return (
            f"columnminer {__version__} demo: H -> ZZ* -> 2e2mu, theta = (a2, a3), detector level "
            f"({mode} run, seed {self.seed})"
        )

    def summary_text(self) -> str:
        """The summary as fixed-width text for the terminal (ends with ``demo passed`` or ``demo FAILED``)."""
        lines = [self._title(), ""]
        for title, headers, rows, notes, align in self._tables():
            lines += [title, *("  " + row for row in render_table(headers, rows, align=align).splitlines())]
            lines += ["  " + note for note in notes] + [""]
        lines += ["Headline", *("  " + h for h in self.headline()), ""]
        lines += [*("note: " + n for n in self.notes)] + ([""] if self.notes else [])
        lines += ["Files", *(f"  {name} ({size})" for name, size in self._file_lines()), ""]
        lines.append("demo " + ("passed" if self.ok else "FAILED"))
        return "\n".join(lines)

    def summary_markdown(self) -> str:
        """The summary as markdown (written to ``summary.md``)."""
        lines = [f"# {self._title()}", ""]
        headline = self.headline()
        if headline:
            lines += ["## Headline", "", *("- " + h for h in headline), ""]
        for title, headers, rows, notes, align in self._tables():
            lines += [f"## {title}", "", render_table(headers, rows, markdown=True, align=align), ""]
            lines += [*("- " + n.replace("*", r"\*") for n in notes)] + ([""] if notes else [])
        if self.notes:
            lines += ["## Notes", "", *("- " + n for n in self.notes), ""]
        lines += [
            "## Files",
            "",
            *(f"- `{name}` ({size})" for name, size in self._file_lines()),
            "",
        ]
        lines.append(f"**demo {'passed' if self.ok else 'FAILED'}**")
        return "\n".join(lines) + "\n"

    def _fisher_dict(self) -> dict[str, Any]:
        flags = self.fisher_disagreements()
        return {
            key: {
                "information": np.asarray(info.information).tolist(),
                "determinant": info.determinant,
                "one_sigma_area": self.fisher_area(key),
                "disagreement_with_truth": flags.get(key),
            }
            for key, info in self.fisher.items()
        }

    def _limits_dict(self) -> dict[str, Any]:
        ref = self.reference
        return {
            key: {
                "label": LABELS.get(key, key),
                "area_68": self.area(key),
                "area_68_error": self.area_error(key),
                "area_95": self.area(key, CL_95),
                "area_95_error": self.area_error(key, CL_95),
                "grid_count_area_68": self.grid_area(key),
                "grid_count_area_95": self.grid_area(key, CL_95),
                "area_68_over_histogram": self.area_ratio(key, "histogram"),
                "area_68_over_exact": self.area_ratio(key, ref),
                "area_68_over_exact_error": self.area_ratio_error(key, ref),
                "area_68_over_labelled_truth": self.area_ratio(key, "truth"),
                "overlap_68_with_exact": self.overlap(key),
                "reaches_grid_edge_68": self.reaches_edge(key),
                "best_fit": result.best_fit.tolist(),
                "n_asimov": result.n_observed,
            }
            for key, result in self.limits.items()
        }

    def _coverage_dict(self) -> dict[str, Any]:
        u = self.uncertainties
        if u is None:
            return {}
        optional = {
            "toy_critical_values": "neyman_thresholds",
            "toy_critical_values_coverage": "neyman_fractions",
            "toy_critical_values_coverage_errors": "neyman_errors",
        }
        return {
            f"{lum / 1000:g} fb^-1": {
                key: {
                    "levels": r.levels.tolist(),
                    "fractions": r.fractions.tolist(),
                    "errors": r.errors.tolist(),
                    "pulls": r.pulls().tolist(),
                    "wilks_thresholds": r.thresholds.tolist(),
                    **{name: _maybe_list(getattr(r, attribute)) for name, attribute in optional.items()},
                    "fraction_best_fit_at_grid_edge": r.at_edge,
                    "n_toys": r.n_toys,
                    "within_tolerance": self.coverage_ok(key, lum),
                }
                for key, r in results.items()
            }
            for lum, results in u.coverage.items()
        }

    def _exact_dict(self) -> dict[str, Any] | None:
        if self.exact is None:
            return None
        return {
            "n_integration_points": self.exact.densities.n_samples,
            "background_closure": self.exact.background_closure,
            "background_closure_error": self.exact.closure_error,
            "median_mc_error_signal": self.exact.median_mc_error[0],
            "median_mc_error_background": self.exact.median_mc_error[1],
            "background_integral": self.exact.background_integral,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything numeric as a JSON-ready dict (written to ``summary.json``)."""
        u = self.uncertainties
        histories = {
            key: {
                "train_loss": h.train_loss,
                "validation_loss": h.validation_loss,
                "best_epoch": h.best_epoch,
            }
            for key, h in self.histories.items()
        }
        data = {
            "columnminer": __version__,
            "ok": self.ok,
            "headline_holds": self.headline_holds
            if {"histogram", "sally", "alices"} <= set(self.limits)
            else None,
            "headline": self.headline(),
            "seed": self.seed,
            "config": self.config.to_dict(),
            "samples": [{k: v for k, v in s.items() if k != "path"} for s in self.samples],
            "cross_sections_after_selection_pb": self.cross_sections,
            "n_events_store": self.n_events,
            "fisher_information": self._fisher_dict(),
            "limits": self._limits_dict(),
            "exact_detector_level": self._exact_dict(),
            "coverage": self._coverage_dict(),
            "q_agreement_event_models": None if u is None else u.q_agreement,
            "neyman_areas": None if u is None else u.neyman_areas,
            "training": histories,
            "timings_s": self.timings,
            "checks": {k: {"passed": p, "detail": d} for k, (p, d) in self.checks.items()},
            "files": [str(f) for f in self.files],
            "output_sizes_bytes": {name: size for name, size in self.output_sizes().items()},
            "notes": self.notes,
        }
        return to_jsonable(data)


def _maybe_list(values: Any) -> list[float] | None:
    """An optional array as a list (None stays None)."""
    return None if values is None else np.asarray(values).tolist()


def _rank_one(matrix: np.ndarray) -> bool:
    """Whether a 2x2 information constrains one direction only: det I / (I_00 I_11) = 1 - rho^2 below 1e-3
    (the rate's information is rank 1 up to rounding and Monte Carlo noise)."""
    return bool(abs(np.linalg.det(matrix)) <= 1e-3 * abs(matrix[0, 0] * matrix[1, 1]))


def _correlation(matrix: np.ndarray) -> float:
    """I_01 / sqrt(I_00 I_11) (0 where a diagonal element is not positive)."""
    denominator = matrix[0, 0] * matrix[1, 1]
    return float(matrix[0, 1] / math.sqrt(denominator)) if denominator > 0 else 0.0


def path_size(path: Path) -> int:
    """Bytes of a file, or of every file below a directory (0 for a missing path).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.txt").write_text("hello")
        >>> path_size(folder), path_size(folder / "missing")
        (5, 0)
    """
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.is_file() else 0


def size_text(n_bytes: float) -> str:
    """A size in bytes as ``76.0 MB`` (decimal units).

    Example:
        >>> size_text(76_012_345), size_text(512)
        ('76.0 MB', '512 B')
    """
    for unit in ("B", "kB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return ""  # pragma: no cover
