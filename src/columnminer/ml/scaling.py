r"""Input scaling for the networks: an affine map fitted on the training data and saved with the model.

.. math::

    u = (v - \mathrm{shift}) / \mathrm{scale}, \qquad
    \text{standard: } (\mu, \sigma), \quad \text{minmax: } (\min, \max - \min), \quad \text{none: } (0, 1).

The map lives inside the network (``torch`` buffers), so derivatives with respect to the unscaled inputs
(the score with respect to theta) come out right by autograd, and densities of the scaled variables are
converted back with the Jacobian :math:`-\sum_i \log \mathrm{scale}_i`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import EstimatorError
from .data import ColumnStatistics

__all__ = ["SCALING_MODES", "Scaler"]

#: The supported scaling modes.
SCALING_MODES = ("standard", "minmax", "none")


class Scaler(nn.Module):
    r"""Feature-wise affine scaling u = (v - shift) / scale of ``[n, n_features]`` tensors.

    Degenerate features (zero spread, non-finite statistics) get scale 1. The buffers are not part of the
    state dict; :meth:`arrays` and :meth:`set_arrays` move them in and out (``save`` writes them to ``.npz``).

    Example:
        >>> from columnminer.ml.data import TrainingData
        >>> scaler = Scaler(1, "standard")
        >>> scaler.fit(TrainingData({"x": np.array([1.0, 3.0])}).statistics("x"))
        >>> scaler(torch.tensor([[1.0], [3.0]])).squeeze(1).tolist()
        [-1.0, 1.0]
    """

    def __init__(self, n_features: int, mode: str = "standard") -> None:
        super().__init__()
        if mode not in SCALING_MODES:
            raise EstimatorError(f"unknown scaling {mode!r}; choose one of {list(SCALING_MODES)}")
        self.mode = mode
        self.n_features = int(n_features)
        self.register_buffer("shift", torch.zeros(self.n_features), persistent=False)
        self.register_buffer("scale", torch.ones(self.n_features), persistent=False)

    def fit(self, stats: ColumnStatistics) -> None:
        """Set shift and scale from the streaming statistics of the training column."""
        if stats.mean.shape != (self.n_features,):
            raise EstimatorError(
                f"scaler for {self.n_features} features got statistics of shape {stats.mean.shape}"
            )
        if self.mode == "standard":
            shift, scale = stats.mean, stats.std
        elif self.mode == "minmax":
            shift, scale = stats.minimum, stats.maximum - stats.minimum
        else:
            shift, scale = np.zeros(self.n_features), np.ones(self.n_features)
        shift = np.where(np.isfinite(shift), shift, 0.0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.set_arrays(shift, scale)

    def arrays(self) -> dict[str, np.ndarray]:
        """The current shift and scale as float64 numpy arrays."""
        return {
            "shift": self.shift.detach().cpu().double().numpy(),
            "scale": self.scale.detach().cpu().double().numpy(),
        }

    def set_arrays(self, shift: np.ndarray, scale: np.ndarray) -> None:
        """Set shift and scale (each of shape ``[n_features]``)."""
        shift, scale = np.asarray(shift, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        if shift.shape != (self.n_features,) or scale.shape != (self.n_features,):
            raise EstimatorError(
                f"scaling arrays of shapes {shift.shape}, {scale.shape} do not fit {self.n_features} features"
            )
        if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise EstimatorError("scaling factors must be finite and positive")
        device = self.shift.device
        self.shift = torch.as_tensor(shift, dtype=torch.float32, device=device)
        self.scale = torch.as_tensor(scale, dtype=torch.float32, device=device)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Scaled values."""
        return (values - self.shift) / self.scale

    def inverse(self, scaled: torch.Tensor) -> torch.Tensor:
        """Unscaled values, v = u * scale + shift (the inverse of :meth:`forward`)."""
        return scaled * self.scale + self.shift

    def log_abs_det_jacobian(self) -> torch.Tensor:
        r""":math:`\log|\partial u / \partial v| = -\sum_i \log \mathrm{scale}_i`."""
        return -torch.log(self.scale).sum()

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, mode={self.mode!r}"
