r"""Systematic uncertainties: nuisance parameters from weight variations (normalisation, scale, PDF) and their morphing.

Every systematic contributes nuisance parameters :math:`\nu_j` (Gaussian constraints :math:`N(0, 1)`) and
*nuisance benchmarks*: weight variations stored per event in the store's ``nuisance_weights`` columns, next
to the event's nominal weight :math:`w_0(z)` (its weight at the benchmark it was generated at). With the
log ratios :math:`L_k(z) = \log[w_k(z) / w_0(z)]` of the K nuisance columns, the weight at any (theta, nu) is

.. math::

    w(z|\theta, \nu) = w(z|\theta)\, \exp\Big(\sum_j a_j(z)\,\nu_j + b_j(z)\,\nu_j^2\Big), \qquad
    a = A\,L(z),\ b = B\,L(z),

exponential ("log-linear") interpolation that keeps weights positive, with fixed matrices A, B [N, K]:

- ``norm``: one nuisance, one column :math:`w_0 \cdot` ``norm_variation`` at nu = +1 (a = L, b = 0).
- ``scale``: one nuisance; the up (largest factor) and down (smallest factor) scale variations at nu = +1
  and -1: :math:`a = (L_+ - L_-)/2`, :math:`b = (L_+ + L_-)/2` (one variation only: log-linear).
- ``pdf``: a Hessian set contributes one nuisance per eigenvector (pairs +-, or one member each for a
  symmetric set); a replica set (e.g. NNPDF) is reduced to its leading principal components,
  :math:`a_k = u_k \cdot (L - \bar L) / \sqrt{R - 1}` with :math:`u_k` the eigenvectors of the replica
  covariance (fitted on the events by :func:`fit_replica_components`). PDF members are measured against
  their own set's central member, not the generation weight (:func:`relative_to_reference`).

Negative weights keep their variation: L is taken from the ratio :math:`w_k / w_0` (see
:func:`log_variations`; a ratio that is not positive gives L = 0).

So the per-event nuisance factor and its gradient :math:`\partial_{\nu_j} \log w = a_j + 2 b_j \nu_j` are
matrix products over events and nuisance points. Reference: Brehmer, Kling, Espejo, Cranmer, "MadMiner",
arXiv:1907.10621 (nuisance morphing), Cranmer et al. HistFactory, CERN-OPEN-2012-016 (interpolation).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import ParameterSpaceError

__all__ = [
    "EFFECTS",
    "PDF_KINDS",
    "SCALES",
    "NuisanceModel",
    "Systematic",
    "log_variations",
    "nuisance_factor_gradients",
    "nuisance_factors",
    "nuisance_model",
    "relative_to_reference",
]

logger = logging.getLogger(__name__)

#: The kinds of systematic uncertainty.
EFFECTS = ("norm", "scale", "pdf")
#: Which scale a "scale" systematic varies: both together, renormalisation only, factorisation only.
SCALES = ("mu", "mur", "muf")
#: PDF error sets: Hessian (members in +- pairs), symmetric Hessian (one member per eigenvector), replicas.
PDF_KINDS = ("hessian", "symmhessian", "replicas")


@dataclass(frozen=True)
class Systematic:
    """One systematic uncertainty (see the module docstring for its nuisance parameters and columns).

    Attributes:
        name: its name (also the nuisance parameter name for norm and scale).
        effect: "norm", "scale" or "pdf".
        norm_variation: norm: the weight factor at nu = +1 (1.1 = +10 %).
        scale: scale: "mu" (mu_R = mu_F together), "mur" or "muf".
        scale_variations: scale: the factors of the scale; the smallest and largest besides 1 are used.
        pdf_variation: pdf: the PDF set name (LHAPDF), as passed to MadGraph's systematics module.
        pdf_members: pdf: the number of error members (without the central one).
        pdf_kind: pdf: "hessian", "symmhessian" or "replicas".
        n_components: pdf replicas: principal components kept (default: enough for 95 % of the variance,
            decided when fitted).
        components: pdf replicas: the fitted [n_members, n_components] matrix (u_k / sqrt(R - 1) columns).
        samples: the sample names it applies to (empty: decided per sample when reading).

    Example:
        >>> Systematic("lumi", "norm", norm_variation=1.05).column_names
        ['lumi']
        >>> Systematic("mu", "scale").column_names
        ['mu_up', 'mu_down']
    """

    name: str
    effect: str
    norm_variation: float = 1.1
    scale: str = "mu"
    scale_variations: tuple[float, ...] = (0.5, 1.0, 2.0)
    pdf_variation: str | None = None
    pdf_members: int = 0
    pdf_kind: str = "replicas"
    n_components: int | None = None
    components: tuple[tuple[float, ...], ...] | None = None
    samples: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ParameterSpaceError(f"a systematic needs a name, got {self.name!r}")
        if self.effect not in EFFECTS:
            raise ParameterSpaceError(
                f"systematic {self.name!r}: effect must be one of {EFFECTS}, got {self.effect!r}"
            )
        if self.effect == "norm" and not (self.norm_variation > 0 and self.norm_variation != 1):
            raise ParameterSpaceError(
                f"systematic {self.name!r}: norm_variation must be positive and not 1, got {self.norm_variation}"
            )
        if self.effect == "scale":
            if self.scale not in SCALES:
                raise ParameterSpaceError(
                    f"systematic {self.name!r}: scale must be one of {SCALES}, got {self.scale!r}"
                )
            if not any(f != 1.0 for f in self.scale_variations) or min(self.scale_variations) <= 0:
                raise ParameterSpaceError(
                    f"systematic {self.name!r}: scale_variations need a positive factor other than 1, got "
                    f"{self.scale_variations}"
                )
        if self.effect == "pdf":
            if self.pdf_kind not in PDF_KINDS:
                raise ParameterSpaceError(f"systematic {self.name!r}: pdf_kind must be one of {PDF_KINDS}")
            if self.pdf_members < 1:
                raise ParameterSpaceError(
                    f"systematic {self.name!r}: pdf_members (error members of {self.pdf_variation!r}) must be "
                    "positive; read them from the LHE header with columnminer.io.lhe.pdf_systematic()"
                )
            if self.pdf_kind == "hessian" and self.pdf_members % 2:
                raise ParameterSpaceError(f"systematic {self.name!r}: a Hessian set has members in +- pairs")

    # -- what it adds --------------------------------------------------------------------------------
    @property
    def scale_factors(self) -> tuple[float | None, float | None]:
        """(up, down) scale factors: the largest above 1 and the smallest below 1 (None when absent)."""
        up = [f for f in self.scale_variations if f > 1.0]
        down = [f for f in self.scale_variations if f < 1.0]
        return (max(up) if up else None, min(down) if down else None)

    @property
    def column_names(self) -> list[str]:
        """The nuisance-benchmark columns this systematic needs in ``nuisance_weights``."""
        if self.effect == "norm":
            return [self.name]
        if self.effect == "scale":
            up, down = self.scale_factors
            return [f"{self.name}_up"] * (up is not None) + [f"{self.name}_down"] * (down is not None)
        return [f"{self.name}_member_{m}" for m in range(1, self.pdf_members + 1)]

    @property
    def nuisance_names(self) -> list[str]:
        """The nuisance parameters this systematic adds."""
        if self.effect in ("norm", "scale"):
            return [self.name]
        if self.pdf_kind == "hessian":
            return [f"{self.name}_{k}" for k in range(self.pdf_members // 2)]
        if self.pdf_kind == "symmhessian":
            return [f"{self.name}_{k}" for k in range(self.pdf_members)]
        if self.components is None:
            return []  # replicas: known once fitted
        return [f"{self.name}_{k}" for k in range(len(self.components[0]))]

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, B), each [n_nuisances, n_columns], for this systematic's own columns."""
        k = len(self.column_names)
        n = len(self.nuisance_names)
        a, b = np.zeros((n, k)), np.zeros((n, k))
        if self.effect == "norm":
            a[0, 0] = 1.0
        elif self.effect == "scale":
            up, down = self.scale_factors
            if up is not None and down is not None:
                a[0] = [0.5, -0.5]
                b[0] = [0.5, 0.5]
            else:
                a[0, 0] = 1.0 if up is not None else -1.0
        elif self.pdf_kind == "hessian":
            for j in range(n):
                a[j, 2 * j], a[j, 2 * j + 1] = 0.5, -0.5
                b[j, 2 * j], b[j, 2 * j + 1] = 0.5, 0.5
        elif self.pdf_kind == "symmhessian":
            a[:] = np.eye(n)
        elif self.components is not None:
            u = np.asarray(self.components, dtype=np.float64)  # [R, C]
            a[:] = (u - u.mean(axis=0, keepdims=True)).T  # centring: u . (L - mean L) = (u - mean u) . L
        return a, b

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (saved in the setup)."""
        out = asdict(self)
        out["scale_variations"] = list(self.scale_variations)
        out["samples"] = list(self.samples)
        if self.components is not None:
            out["components"] = [list(row) for row in self.components]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Systematic:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["scale_variations"] = tuple(data.get("scale_variations", (0.5, 1.0, 2.0)))
        data["samples"] = tuple(data.get("samples", ()))
        if data.get("components") is not None:
            data["components"] = tuple(tuple(float(v) for v in row) for row in data["components"])
        return cls(**data)


@dataclass(frozen=True)
class NuisanceModel:
    """All nuisance parameters of a setup: names, the nuisance-benchmark columns and the matrices A, B.

    ``a(z) = A @ L(z)`` and ``b(z) = B @ L(z)`` for the log variations L [n, K] of the K columns.

    Example:
        >>> model = nuisance_model([Systematic("mu", "scale")])
        >>> a, b = model.coefficients(np.log([[1.2, 0.9]]))
        >>> model.n_nuisances, a.round(4).tolist(), b.round(4).tolist()
        (1, [[0.1438]], [[0.0385]])
    """

    nuisance_names: tuple[str, ...]
    column_names: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray

    @property
    def n_nuisances(self) -> int:
        """Number of nuisance parameters."""
        return len(self.nuisance_names)

    def coefficients(self, log_ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """a(z), b(z), each [n, N], from the log variations [n, K]."""
        return log_ratios @ self.a.T, log_ratios @ self.b.T


def nuisance_model(systematics: Sequence[Systematic]) -> NuisanceModel:
    """Stack the systematics' matrices block-diagonally into one :class:`NuisanceModel`.

    Example:
        >>> model = nuisance_model([Systematic("lumi", "norm"), Systematic("mu", "scale")])
        >>> model.nuisance_names, model.column_names, model.b.tolist()
        (('lumi', 'mu'), ('lumi', 'mu_up', 'mu_down'), [[0.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    """
    names: list[str] = []
    columns: list[str] = []
    blocks = []
    for systematic in systematics:
        a, b = systematic.matrices()
        blocks.append((len(names), len(columns), a, b))
        names += systematic.nuisance_names
        columns += systematic.column_names
    if len(set(names)) != len(names) or len(set(columns)) != len(columns):
        raise ParameterSpaceError(
            f"systematics define duplicate nuisance names or columns: {names}, {columns}"
        )
    a_all, b_all = np.zeros((len(names), len(columns))), np.zeros((len(names), len(columns)))
    for row, col, a, b in blocks:
        a_all[row : row + a.shape[0], col : col + a.shape[1]] = a
        b_all[row : row + b.shape[0], col : col + b.shape[1]] = b
    return NuisanceModel(tuple(names), tuple(columns), a_all, b_all)


def log_variations(nuisance_weights: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    r""":math:`L_k(z) = \log[w_k(z)/w_0(z)]` [n, K], taken from the ratio :math:`w_k/w_0`.

    Only the ratio matters, so negative weights (NLO samples, negative-weight backgrounds) keep their
    variation: :math:`w_k = -1.1`, :math:`w_0 = -1` gives :math:`L = \log 1.1`. Where the ratio is not
    positive and finite (the variation flips the sign of the weight, or one of them is 0) no log-linear
    interpolation exists: L = 0 there, i.e. that event carries no variation (MadMiner's
    ``NuisanceMorpher`` gives NaN there and sets it to 0 too; it also clips a and b to +-10, which is not
    done here). Reference: Brehmer et al., arXiv:1907.10621.

    Example:
        >>> log_variations(np.array([[2.0, 0.0], [-1.1, 1.0]]), np.array([1.0, -1.0])).round(4).tolist()
        [[0.6931, 0.0], [0.0953, 0.0]]
    """
    w = np.asarray(nuisance_weights, dtype=np.float64)
    w0 = np.asarray(nominal, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = w / w0
    good = np.isfinite(ratio) & (ratio > 0)
    n_bad = int(np.count_nonzero(~good & (w != w0)))
    if n_bad:
        logger.debug("%d weight variations change sign or vanish: no variation (L = 0) there", n_bad)
    return np.where(good, np.log(np.where(good, ratio, 1.0)), 0.0)


def relative_to_reference(
    varied: np.ndarray, reference: np.ndarray | None, nominal: np.ndarray
) -> np.ndarray:
    r"""Varied weights measured against a reference weight instead of the nominal one: :math:`w_k w_0 / w_{ref}`.

    For a PDF error set the variation of member k is :math:`L_k - L_{\mathrm{member}\,0}`, with the set's
    own central member as reference, not the generation weight :math:`w_0`: when the error set differs from
    the generation PDF (``--pdf=CT10`` with ``pdlabel = nn23lo1``), :math:`\log(w_{set,0}/w_0)` would
    otherwise enter b of every Hessian pair and a of every symmetric-Hessian member. Storing
    :math:`w_k\,w_0/w_{ref}` in the nuisance column makes :func:`log_variations` give exactly
    :math:`\log(w_k/w_{ref})`. Columns whose reference is missing (``reference`` None, or a reference
    weight that is 0 or not finite) are returned unchanged. Shapes: ``varied`` and ``reference`` [n, K],
    ``nominal`` [n].

    Example:
        >>> relative_to_reference(np.array([[1.1, 0.9]]), np.array([[1.2, 1.2]]), np.array([1.0])).round(4).tolist()
        [[0.9167, 0.75]]
    """
    varied = np.asarray(varied, dtype=np.float64)
    if reference is None:
        return varied.copy()
    reference = np.asarray(reference, dtype=np.float64)
    w0 = np.asarray(nominal, dtype=np.float64)[:, None]
    usable = np.isfinite(reference) & (reference != 0)
    return np.where(usable, varied * w0 / np.where(usable, reference, 1.0), varied)


def _nus(nus: Any, n_nuisances: int) -> np.ndarray:
    nus = np.atleast_2d(np.asarray(nus, dtype=np.float64))
    if nus.shape[-1] != n_nuisances:
        raise ParameterSpaceError(f"nuisance points need {n_nuisances} values, got shape {nus.shape}")
    return nus


def nuisance_factors(model: NuisanceModel, log_ratios: np.ndarray, nus: Any) -> np.ndarray:
    r"""The weight factors :math:`\exp(\sum_j a_j \nu_j + b_j \nu_j^2)` [n, n_points] for nuisance points
    ``nus`` [n_points, N].

    Example:
        >>> model = nuisance_model([Systematic("lumi", "norm", norm_variation=1.1)])
        >>> L = log_variations(np.array([[1.1], [1.0]]), np.array([1.0, 1.0]))
        >>> nuisance_factors(model, L, [[1.0], [-1.0]]).round(4).tolist()
        [[1.1, 0.9091], [1.0, 1.0]]
    """
    nus = _nus(nus, model.n_nuisances)
    a, b = model.coefficients(log_ratios)
    return np.exp(a @ nus.T + b @ (nus**2).T)


def nuisance_factor_gradients(model: NuisanceModel, log_ratios: np.ndarray, nus: Any) -> np.ndarray:
    r""":math:`\partial_{\nu_j}` of the factors, [n, n_points, N] = factor * (a_j + 2 b_j nu_j).

    Example:
        >>> model = nuisance_model([Systematic("lumi", "norm", norm_variation=1.1)])
        >>> L = log_variations(np.array([[1.1]]), np.array([1.0]))
        >>> nuisance_factor_gradients(model, L, [[0.0], [1.0]]).round(4).tolist()  # a = ln 1.1, f = 1.1^nu
        [[[0.0953], [0.1048]]]
    """
    nus = _nus(nus, model.n_nuisances)
    a, b = model.coefficients(log_ratios)
    factors = np.exp(a @ nus.T + b @ (nus**2).T)
    return factors[:, :, None] * (a[:, None, :] + 2.0 * b[:, None, :] * nus[None, :, :])
