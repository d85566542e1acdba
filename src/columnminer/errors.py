"""The exception classes raised by columnminer, in one place."""

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AnalysisError",
    "BenchmarkMismatchError",
    "ColumnMinerError",
    "ConfigError",
    "DelphesRunError",
    "DuplicateSourceError",
    "EstimatorError",
    "EstimatorFormatError",
    "ExternalCommandError",
    "IncompleteStoreError",
    "InferenceError",
    "InputFormatError",
    "LHEFormatError",
    "MadGraphCardError",
    "MadGraphError",
    "MadGraphNotFoundError",
    "MissingTransformError",
    "MissingVariationError",
    "MissingWeightError",
    "MorphingError",
    "ParameterSpaceError",
    "PlottingError",
    "ProcessorError",
    "SetupFormatError",
    "SetupVersionError",
    "SimulationError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StoreMismatchError",
]


class ColumnMinerError(Exception):
    """Base class of every error raised on purpose by columnminer.

    Example:
        >>> from columnminer.parameters import ParameterSpace
        >>> try:
        ...     ParameterSpace().benchmark_index("sm")
        ... except ColumnMinerError as err:  # every columnminer error
        ...     print(type(err).__name__, "-", err)
        ParameterSpaceError - unknown benchmark 'sm'; known benchmarks: []
    """


class ParameterSpaceError(ColumnMinerError, ValueError):
    """A parameter or benchmark definition is inconsistent (duplicate name, unknown key, wrong shape).

    Example:
        >>> from columnminer.parameters import ParameterSpace
        >>> space = ParameterSpace()
        >>> _ = space.add_parameter("dim6", 2, name="cwl2")
        >>> try:
        ...     space.add_parameter("dim6", 2, name="cwl3")
        ... except ValueError as err:
        ...     print(err)
        parameter 'cwl3' uses LHA entry (dim6, 2) already taken by parameter 'cwl2'
    """


class MorphingError(ColumnMinerError, ValueError):
    """A morphing setup cannot be built or evaluated (too few or degenerate basis points, bad thetas).

    Example:
        >>> from columnminer.morphing import find_components
        >>> try:
        ...     find_components([])
        ... except ValueError as err:
        ...     print(type(err).__name__, "-", err)
        MorphingError - max_powers must be a non-empty list of non-negative integers, got []
    """


class SetupFormatError(ColumnMinerError, ValueError):
    """A saved analysis setup is unreadable: corrupt JSON, a missing or mistyped field.

    The message names the source (file or zarr store) and the offending field.

    Example:
        >>> raise SetupFormatError("setup.json: field 'parameters' is not a list")  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.SetupFormatError: setup.json: field 'parameters' is not a list
    """


class SetupVersionError(SetupFormatError):
    """A saved analysis setup was written by a newer schema than this columnminer understands.

    Example:
        >>> raise SetupVersionError('setup.json: schema version 9 is newer than 1')  # a SetupFormatError
        Traceback (most recent call last):
        columnminer.errors.SetupVersionError: setup.json: schema version 9 is newer than 1
    """


class MissingTransformError(ColumnMinerError, RuntimeError):
    """A param-card transform could not be restored from a saved setup and was not supplied again.

    Example:
        >>> from columnminer.parameters import UnsavedTransform
        >>> try:
        ...     UnsavedTransform("cwl2", "a lambda")(1.0)
        ... except RuntimeError as err:
        ...     print(type(err).__name__, "-", err)
        MissingTransformError - the param-card transform of parameter 'cwl2' (a lambda) was not saved with the
        setup; pass transforms={'cwl2': fn} when loading it
    """


class InputFormatError(ColumnMinerError, ValueError):
    """An input file is malformed. The message names the file and, where known, the event, line and field.

    The location is also kept as attributes (``None`` when unknown) so callers can act on it.

    Example:
        >>> try:
        ...     raise InputFormatError("run.hepmc: event 3 (line 40): bad vertex", path="run.hepmc", event=3, line=40)
        ... except ValueError as err:
        ...     print(err.path, err.event, err.line, err.field)
        run.hepmc 3 40 None
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        event: int | None = None,
        line: int | None = None,
        field: str | None = None,
        n_complete_events: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.event = event
        self.line = line
        self.field = field
        self.n_complete_events = n_complete_events


class LHEFormatError(InputFormatError):
    """A Les Houches Event file is malformed (truncated, a bad particle line, a wrong particle count...).

    Example:
        >>> from columnminer.io._lhe_header import parse_header_text
        >>> try:
        ...     parse_header_text("<html></html>", "x.lhe")
        ... except InputFormatError as err:
        ...     print(type(err).__name__, "-", err, "-", err.path, err.line)
        LHEFormatError - x.lhe: not a Les Houches Event file (no <LesHouchesEvents> tag before the first
        event) - x.lhe 1
    """


class MissingWeightError(LHEFormatError):
    """A weight needed by the analysis (a benchmark) is absent from a file or from one of its events.

    Example:
        >>> try:
        ...     raise MissingWeightError("x.lhe: event 7: no weight 'bsm'", path="x.lhe", event=7)
        ... except LHEFormatError as err:
        ...     print(type(err).__name__, "-", err, err.event)
        MissingWeightError - x.lhe: event 7: no weight 'bsm' 7
    """


class MissingVariationError(MissingWeightError):
    """A scale or PDF variation that a systematic needs has no weight in a file (or the file has no LHE
    weights at all). The message names the file, the systematic, the variation and what the file has.

    Example:
        >>> raise MissingVariationError("x.lhe: systematic 'scale' needs weight 'muR=2'")  # a MissingWeightError
        Traceback (most recent call last):
        columnminer.errors.MissingVariationError: x.lhe: systematic 'scale' needs weight 'muR=2'
    """


class SimulationError(ColumnMinerError, ValueError):
    """A built-in simulator was asked for something it cannot do (bad parameters, unknown benchmark).

    Example:
        >>> from columnminer.simulators.golden import GoldenChannel
        >>> try:
        ...     GoldenChannel(m_ll_min=100.0)
        ... except ValueError as err:
        ...     print(type(err).__name__, "-", err)
        SimulationError - m_ll_min must lie in (0, m_H/2) GeV, got 100.0
    """


class StoreError(ColumnMinerError):
    """The zarr event store is unreadable or was used inconsistently.

    Example:
        >>> raise StoreError("events.zarr: no array 'weights'")  # a ColumnMinerError
        Traceback (most recent call last):
        columnminer.errors.StoreError: events.zarr: no array 'weights'
    """


class StoreMismatchError(StoreError, ValueError):
    """Stores or chunks do not fit together: another setup, other benchmarks, other observables, wrong dtype.

    Example:
        >>> raise StoreMismatchError("events.zarr: benchmarks ['sm'] differ from ['sm', 'bsm']")  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.StoreMismatchError: events.zarr: benchmarks ['sm'] differ from ['sm', 'bsm']
    """


class BenchmarkMismatchError(StoreMismatchError):
    """An input file was made at other parameter values than the setup's: a weight declared for a benchmark
    (its reweighting ``set`` lines) or the generation point (the header's param card) differs from the
    setup's value. Nothing was written. The message names the file, the benchmark, the parameter, its LHA
    entry and both values; ``path`` and ``mismatches`` (one dict per difference) keep them as attributes.

    Example:
        >>> try:
        ...     raise BenchmarkMismatchError("x.lhe: cwl2 differs", path="x.lhe", mismatches=({"parameter": "cwl2"},))
        ... except StoreMismatchError as err:
        ...     print(err.path, err.mismatches)
        x.lhe ({'parameter': 'cwl2'},)
    """

    def __init__(self, message: str, *, path: str | None = None, mismatches: tuple[dict, ...] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.mismatches = tuple(mismatches)


class IncompleteStoreError(StoreError):
    """A store holds an interrupted write; the message says which chunks are complete and what is missing.

    Example:
        >>> raise IncompleteStoreError('events.zarr: chunks 0-3 complete, chunk 4 missing')  # a StoreError
        Traceback (most recent call last):
        columnminer.errors.IncompleteStoreError: events.zarr: chunks 0-3 complete, chunk 4 missing
    """


class StoreCorruptError(StoreError):
    """Committed data of a store are damaged: a chunk file is missing or fails its checksum, or the metadata
    (``zarr.json``) is unreadable or holds an impossible value. The message names the array, chunk or file.

    Example:
        >>> raise StoreCorruptError('events.zarr: chunk weights/c/4/0 fails its checksum')  # a StoreError
        Traceback (most recent call last):
        columnminer.errors.StoreCorruptError: events.zarr: chunk weights/c/4/0 fails its checksum
    """


class StoreLockedError(StoreError):
    """Another writer holds the store's lock (one writer at a time); the message names the store and the
    holder (process id, host, since when).

    Example:
        >>> raise StoreLockedError('events.zarr: locked by pid 42 on host a since 10:00')  # a StoreError
        Traceback (most recent call last):
        columnminer.errors.StoreLockedError: events.zarr: locked by pid 42 on host a since 10:00
    """


class DuplicateSourceError(StoreMismatchError):
    """Events of an input file would enter a store twice, or enter it again with other settings; nothing was
    written. The message names the store, the file and the event ranges.

    Example:
        >>> raise DuplicateSourceError('events.zarr: x.lhe events 0-99 are already stored')  # a StoreMismatchError
        Traceback (most recent call last):
        columnminer.errors.DuplicateSourceError: events.zarr: x.lhe events 0-99 are already stored
    """


class AnalysisError(ColumnMinerError, ValueError):
    """An observable, cut or efficiency definition failed or returned something unusable.

    The message names the definition, what went wrong and, where it helps, the fields that exist.

    Example:
        >>> raise AnalysisError("observable 'pt_j1': no field 'jet'; fields are ['lep']")  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.AnalysisError: observable 'pt_j1': no field 'jet'; fields are ['lep']
    """


class EstimatorError(ColumnMinerError, ValueError):
    """A neural estimator was used inconsistently: unknown method, missing training column, wrong shapes,
    or evaluated before it was trained.

    Example:
        >>> raise EstimatorError("method 'foo' is unknown")  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.EstimatorError: method 'foo' is unknown
    """


class EstimatorFormatError(EstimatorError):
    """A saved estimator cannot be loaded: missing or corrupt files, a newer format version, or settings that
    do not match the stored network weights. The message names the file and what is wrong.

    Example:
        >>> raise EstimatorFormatError('model/settings.json: format 3 is newer than 2')  # a EstimatorError
        Traceback (most recent call last):
        columnminer.errors.EstimatorFormatError: model/settings.json: format 3 is newer than 2
    """


class InferenceError(ColumnMinerError, ValueError):
    """A Fisher information, likelihood or limit was asked for inconsistently: wrong shapes, an unknown mode,
    a binning that leaves empty bins, a singular information matrix. The message names the argument.

    Example:
        >>> raise InferenceError("fisher information is singular (parameter 'cwl2')")  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.InferenceError: fisher information is singular (parameter 'cwl2')
    """


# plotting
class PlottingError(ColumnMinerError, ValueError):
    """A plot was asked for with inputs it cannot draw: mismatched shapes or binnings, a matrix or grid of the
    wrong dimension, an empty list of things to draw. The message names the argument.

    Example:
        >>> raise PlottingError('matrices: expected shape [2, 2], got (3,)')  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.PlottingError: matrices: expected shape [2, 2], got (3,)
    """


# command line
class ConfigError(ColumnMinerError, ValueError):
    """A command-line option or configuration file is unusable: a malformed value, a dotted path to a callable
    that does not resolve, an unknown key. The message names the option or file, the field and the value.

    Example:
        >>> raise ConfigError("--observable: 'x.f' does not resolve to a callable")  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.ConfigError: --observable: 'x.f' does not resolve to a callable
    """


# MadGraph steering


class ExternalCommandError(ColumnMinerError, RuntimeError):
    """An external program (MadGraph, Delphes) could not be run or failed.

    The message names the command, the exit code and the log file; they are also kept as the attributes
    ``command`` (list of str), ``returncode`` and ``log_path`` (``None`` when unknown).

    Example:
        >>> err = ExternalCommandError("mg5_aMC failed", command=["mg5_aMC", "x"], returncode=1, log_path="x.log")
        >>> err.command, err.returncode, err.log_path
        (['mg5_aMC', 'x'], 1, 'x.log')
    """

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] | None = None,
        returncode: int | None = None,
        log_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.command = list(command) if command is not None else None
        self.returncode = returncode
        self.log_path = log_path


class MadGraphError(ExternalCommandError):
    """A MadGraph call failed, or finished without producing what it should have.

    The message names the command, the exit code and the log file (with its last lines); they are also kept
    as the attributes ``command``, ``returncode`` and ``log_path`` (``None`` when unknown).

    Example:
        >>> try:
        ...     raise MadGraphError("bin/generate_events exited with 1", command=["bin/generate_events"], returncode=1)
        ... except RuntimeError as err:
        ...     print(err, err.returncode)
        bin/generate_events exited with 1 1
    """


class MadGraphNotFoundError(ColumnMinerError, FileNotFoundError):
    """A MadGraph installation, process directory, run or input card is missing; ``path`` names it.

    Example:
        >>> try:
        ...     raise MadGraphNotFoundError("no MadGraph at /opt/mg5", path="/opt/mg5")
        ... except FileNotFoundError as err:
        ...     print(type(err).__name__, "-", err, "-", err.path)
        MadGraphNotFoundError - no MadGraph at /opt/mg5 - /opt/mg5
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class MadGraphCardError(ColumnMinerError, ValueError):
    """A MadGraph card cannot be written: a template lacks an LHA entry, a name or value cannot be written to
    a card, or the options contradict each other. The message names the card file and the entry.

    Example:
        >>> raise MadGraphCardError('param_card.dat: no LHA entry (dim6, 2)')  # a ValueError
        Traceback (most recent call last):
        columnminer.errors.MadGraphCardError: param_card.dat: no LHA entry (dim6, 2)
    """


# Delphes
class DelphesRunError(ExternalCommandError):
    """Delphes could not be run or failed: the message names the executable, exit code and log file.

    The log file is the attribute ``log_file`` (the same as ``log_path`` of :class:`ExternalCommandError`).

    Example:
        >>> err = DelphesRunError("DelphesHepMC3 exited with 2", command=["DelphesHepMC3"], returncode=2,
        ...                       log_file="delphes.log")
        >>> err.log_file, err.returncode
        ('delphes.log', 2)
    """

    def __init__(self, message: str, *, log_file: str | None = None, **details: Any) -> None:
        # ``details``: the ``command`` and ``returncode`` keywords of ExternalCommandError
        super().__init__(message, log_path=log_file, **details)
        self.log_file = log_file


# processors
class ProcessorError(ColumnMinerError, RuntimeError):
    """A coffea processor run went wrong: a chunk failed (the message names the dataset, file and entry range),
    a chunk was lost or accumulated twice, a file set is malformed, or a store holds chunks of another
    chunking. The message names the chunk, file or store concerned.

    Example:
        >>> raise ProcessorError("dataset 'sig', x.root entries 0-100: chunk failed")  # a RuntimeError
        Traceback (most recent call last):
        columnminer.errors.ProcessorError: dataset 'sig', x.root entries 0-100: chunk failed
    """
