"""The defaults shared by the command line and the demo, each defined (and documented) once here.

========================  ===========================  ==================================================
setting                   default                      used by
========================  ===========================  ==================================================
partition fractions       0.8 / 0.1 / 0.1              ``analyse`` (new stores), the demo, the library's
(train/validation/test)                                ``EventStore.create``
training data             the "train" partition        ``augment`` (training samples), the demo
validation                the "validation" partition   ``train`` (early stopping, calibration), the demo
evaluation                the "test" partition         ``fisher``, ``limits`` (Asimov data), the demo
luminosity                3000 fb^-1 (3e6 pb^-1)       ``fisher``, ``limits``, the demo (its coverage also
                                                       at 300 fb^-1)
limits grid               21 points per parameter      ``limits``: over the parameter ranges, then zoomed
                                                       onto the regions until they are resolved
========================  ===========================  ==================================================
"""

from __future__ import annotations

from ..setup import DEFAULT_PARTITION_FRACTIONS

__all__ = [
    "DEFAULT_LUMINOSITY",
    "DEFAULT_PARTITION_FRACTIONS",
    "EVALUATION_PARTITION",
    "GRID_POINTS",
    "LUMINOSITY_HELP",
    "TRAINING_PARTITION",
    "VALIDATION_PARTITION",
    "luminosity_label",
]

#: The default integrated luminosity, in pb^-1: 3000 fb^-1, the HL-LHC.
DEFAULT_LUMINOSITY = 3.0e6
#: The help text of every ``--luminosity`` option.
LUMINOSITY_HELP = "integrated luminosity in pb^-1 (default: 3e6 pb^-1 = 3000 fb^-1, the HL-LHC)"
#: Where training samples are drawn from.
TRAINING_PARTITION = "train"
#: Where training is validated (early stopping) and ratio estimators are calibrated.
VALIDATION_PARTITION = "validation"
#: Where everything is evaluated: the Fisher information and the Asimov data of the expected limits.
EVALUATION_PARTITION = "test"
#: Grid points per parameter of ``limits`` (before it zooms onto the regions).
GRID_POINTS = 21


def luminosity_label(luminosity_pb: float) -> str:
    """A luminosity in pb^-1 as ``3000 fb^-1``.

    Example:
        >>> luminosity_label(3.0e6), luminosity_label(3.0e5)
        ('3000 fb^-1', '300 fb^-1')
    """
    return f"{float(luminosity_pb) / 1000:g} fb^-1"
