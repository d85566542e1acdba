"""The exception classes raised by columnminer, in one place."""

__all__ = [
    "ColumnMinerError",
    "MissingTransformError",
    "MorphingError",
    "ParameterSpaceError",
    "SetupFormatError",
    "SetupVersionError",
]


class ColumnMinerError(Exception):
    """Base class of every error raised on purpose by columnminer."""


class ParameterSpaceError(ColumnMinerError, ValueError):
    """A parameter or benchmark definition is inconsistent (duplicate name, unknown key, wrong shape)."""


class MorphingError(ColumnMinerError, ValueError):
    """A morphing setup cannot be built or evaluated (too few or degenerate basis points, bad thetas)."""


class SetupFormatError(ColumnMinerError, ValueError):
    """A saved analysis setup is unreadable: corrupt JSON, a missing or mistyped field.

    The message names the source (file or zarr store) and the offending field.
    """


class SetupVersionError(SetupFormatError):
    """A saved analysis setup was written by a newer schema than this columnminer understands."""


class MissingTransformError(ColumnMinerError, RuntimeError):
    """A param-card transform could not be restored from a saved setup and was not supplied again."""
