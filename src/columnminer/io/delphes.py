"""Delphes ROOT output read with uproot into the columnar event model (running Delphes: :mod:`.delphes_run`)."""

from __future__ import annotations

import contextlib
import logging
import lzma
import os
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np
import uproot
import vector

from ..errors import InputFormatError

__all__ = [
    "DEFAULT_BRANCHES",
    "ELECTRON_MASS",
    "MUON_MASS",
    "TRUTH_BRANCHES",
    "attach_lhe_weights",
    "events_from_nanoevents",
    "iterate_delphes",
    "read_delphes",
]

logger = logging.getLogger(__name__)
vector.register_awkward()

PathLike = str | os.PathLike

#: PDG masses (GeV) used to give reconstructed electrons and muons an energy: Delphes stores none.
ELECTRON_MASS = 0.51099895e-3
MUON_MASS = 0.1056583755

#: Event-model collection -> Delphes branch (the names of the default cards; cards may rename them).
DEFAULT_BRANCHES: dict[str, str] = {
    "e": "Electron",
    "mu": "Muon",
    "a": "Photon",
    "j": "Jet",
    "met": "MissingET",
}
#: Generator-truth field -> Delphes branch, read with ``generator_truth=True``.
TRUTH_BRANCHES: dict[str, str] = {"particles": "Particle", "genjet": "GenJet", "genmet": "GenMissingET"}

# What each kind of collection needs (required) and can use (optional), as Delphes leaf names.
_KIND = {
    "e": "lepton",
    "mu": "lepton",
    "a": "photon",
    "j": "jet",
    "genjet": "jet",
    "met": "met",
    "genmet": "met",
}
_REQUIRED = {
    "lepton": ("PT", "Eta", "Phi", "Charge"),
    "photon": ("PT", "Eta", "Phi"),
    "jet": ("PT", "Eta", "Phi"),
    "met": ("MET", "Phi"),
    "particle": ("PID", "Status", "Px", "Py", "Pz", "E"),
}
_OPTIONAL = {
    "lepton": ("E", "Mass"),
    "photon": ("E", "Mass"),
    "jet": ("E", "Mass", "Charge", "Flavor", "BTag", "TauTag"),
    "met": (),
    "particle": ("M1", "M2", "D1", "D2", "Charge", "Mass"),
}
_LEPTON = {"e": (11, ELECTRON_MASS), "mu": (13, MUON_MASS)}
# What uproot raises on a damaged file: short reads, bad streamers, failed decompression.
_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    zlib.error,
    lzma.LZMAError,
    uproot.deserialization.DeserializationError,
)


# -- opening and checking ---------------------------------------------------------------------------------
def _check_root_header(path: str) -> None:
    """Raise InputFormatError when ``path`` is not a ROOT file or is shorter than its header says."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(20)
            size = os.fstat(handle.fileno()).st_size
    except OSError as err:
        raise InputFormatError(f"{path}: cannot open Delphes file: {err}", path=path) from err
    if head[:4] != b"root":
        raise InputFormatError(
            f"{path}: not a ROOT file (first bytes {head[:4]!r}, expected b'root')", path=path
        )
    if len(head) < 16:
        raise InputFormatError(f"{path}: truncated ROOT file: only {size} bytes", path=path)
    version = struct.unpack(">i", head[4:8])[0]
    if version >= 1_000_000:
        end = struct.unpack(">q", head[12:20])[0] if len(head) >= 20 else size + 1
    else:
        end = struct.unpack(">i", head[12:16])[0]
    if size < end:
        raise InputFormatError(
            f"{path}: truncated ROOT file: the header says {end} bytes, the file has {size}", path=path
        )


def _open_tree(path: str, tree: str) -> tuple[Any, Any]:
    """(file, tree) for a local Delphes file, with clear errors for the usual ways that goes wrong."""
    is_local = "://" not in path
    if is_local:
        _check_root_header(path)
    try:
        file = uproot.open(path)
    except _READ_ERRORS as err:
        raise InputFormatError(
            f"{path}: unreadable ROOT file (truncated or corrupt?): {err}", path=path
        ) from err
    try:
        classes = file.classnames()
    except _READ_ERRORS as err:
        file.close()
        raise InputFormatError(
            f"{path}: unreadable ROOT directory (truncated or corrupt?): {err}", path=path
        ) from err
    if not any(key.split(";")[0] == tree for key in classes):
        trees = sorted(
            {k.split(";")[0] for k, c in classes.items() if c in ("TTree", "TNtuple", "ROOT::RNTuple")}
        )
        file.close()
        raise InputFormatError(
            f"{path}: no Delphes tree {tree!r}; the file holds the trees {trees} "
            f"(and {len(classes)} objects in all)",
            path=path,
            field=tree,
        )
    try:
        obj = file[tree]
    except _READ_ERRORS as err:
        file.close()
        raise InputFormatError(
            f"{path}: cannot read the tree {tree!r}: {err}", path=path, field=tree
        ) from err
    if not hasattr(obj, "num_entries"):
        file.close()
        raise InputFormatError(
            f"{path}: {tree!r} is a {type(obj).__name__}, not a tree", path=path, field=tree
        )
    return file, obj


def _plan(
    keys: set[str],
    path: str,
    collections: Sequence[str],
    branches: Mapping[str, str],
    generator_truth: bool,
) -> dict[str, tuple[str, str, dict[str, str | None]]]:
    """For each output field: (kind, Delphes branch, {leaf: full branch name or None when absent})."""
    wanted: list[tuple[str, str]] = []
    for name in collections:
        if name not in DEFAULT_BRANCHES:
            raise ValueError(f"unknown collection {name!r}; choose from {sorted(DEFAULT_BRANCHES)}")
        wanted.append((name, branches.get(name, DEFAULT_BRANCHES[name])))
    if generator_truth:
        wanted.extend((name, branches.get(name, branch)) for name, branch in TRUTH_BRANCHES.items())
    plan: dict[str, tuple[str, str, dict[str, str | None]]] = {}
    for name, branch in wanted:
        kind = "particle" if name == "particles" else _KIND[name]
        leaves: dict[str, str | None] = {}
        for leaf in _REQUIRED[kind]:
            full = f"{branch}.{leaf}"
            if full not in keys:
                present = sorted(k for k in keys if k.startswith(branch + "."))
                what = f"its leaves are {present}" if present else f"there is no {branch!r} branch at all"
                raise InputFormatError(
                    f"{path}: required Delphes branch {full!r} is missing ({what}); "
                    f"read other collections with collections=... or rename with branches=...",
                    path=path,
                    field=full,
                )
            leaves[leaf] = full
        for leaf in _OPTIONAL[kind]:
            full = f"{branch}.{leaf}"
            leaves[leaf] = full if full in keys else None
        plan[name] = (kind, branch, leaves)
    return plan


def _expressions(plan: Mapping[str, tuple[str, str, dict[str, str | None]]], keys: set[str]) -> list[str]:
    names = [full for _, _, leaves in plan.values() for full in leaves.values() if full is not None]
    names.extend(name for name in ("Event.Weight", "Event.Number", "Weight.Weight") if name in keys)
    return sorted(set(names))


# -- building the event model ---------------------------------------------------------------------------
def _f64(array: ak.Array) -> ak.Array:
    return ak.values_astype(array, np.float64)


def _energy(pt: ak.Array, eta: ak.Array, mass: ak.Array | float) -> ak.Array:
    """E = sqrt((pt cosh eta)^2 + m^2) (GeV)."""
    return np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)


def _objects(name: str, kind: str, branch: str, leaves: Mapping[str, str | None], raw: ak.Array, path: str):
    pt, eta, phi = (_f64(raw[leaves[leaf]]) for leaf in ("PT", "Eta", "Phi"))
    if leaves["E"] is not None:
        energy = _f64(raw[leaves["E"]])
    elif leaves["Mass"] is not None:
        energy = _energy(pt, eta, _f64(raw[leaves["Mass"]]))
    elif kind == "lepton":
        energy = _energy(pt, eta, _LEPTON[name][1])
    else:
        if kind == "jet":
            logger.debug("%s: %s has no Mass or E leaf: jets are taken as massless", path, branch)
        else:
            logger.debug("%s: %s has no E leaf: E = pt cosh(eta) (massless)", path, branch)
        energy = _energy(pt, eta, 0.0)
    fields: dict[str, ak.Array] = {"pt": pt, "eta": eta, "phi": phi, "E": energy}
    if kind == "lepton":
        charge = _f64(raw[leaves["Charge"]])
        fields["charge"] = charge
        # charge -1 -> +11 (electron), charge +1 -> -11 (positron)
        fields["pdgid"] = ak.values_astype(-charge * _LEPTON[name][0], np.int64)
    elif kind == "photon":
        fields["charge"] = ak.zeros_like(pt)
        fields["pdgid"] = ak.values_astype(ak.zeros_like(pt) + 22, np.int64)
    else:
        fields["charge"] = _f64(raw[leaves["Charge"]]) if leaves["Charge"] is not None else ak.zeros_like(pt)
        flavor = raw[leaves["Flavor"]] if leaves["Flavor"] is not None else ak.zeros_like(pt)
        fields["pdgid"] = ak.values_astype(flavor, np.int64)
        for leaf, field in (("BTag", "btag"), ("TauTag", "tautag")):
            if leaves[leaf] is not None:
                fields[field] = ak.values_astype(raw[leaves[leaf]], np.int64)
    record = ak.zip(fields, with_name="Momentum4D")
    return record[ak.argsort(record.pt, axis=1, ascending=False, stable=True)]


def _check_counts(counts: np.ndarray, expected: int, path: str, first: int, field: str, what: str) -> None:
    """An InputFormatError naming the first event whose entry count in ``field`` is not ``expected``
    (``what`` says what was expected)."""
    bad = np.flatnonzero(counts != expected)
    if bad.size:
        event = first + int(bad[0])
        message = f"{path}: event {event} has {counts[bad[0]]} {field} entries, {what}"
        raise InputFormatError(message, path=path, event=event, field=field)


def _one_per_event(column: ak.Array, path: str, first: int, field: str) -> np.ndarray:
    """The single entry of each event of a jagged column, as numpy; an error naming the first bad event."""
    _check_counts(ak.to_numpy(ak.num(column, axis=1)), 1, path, first, field, "expected exactly one")
    return ak.to_numpy(ak.flatten(column, axis=1))


def _met(branch: str, leaves: Mapping[str, str | None], raw: ak.Array, path: str, first: int) -> ak.Array:
    value = _one_per_event(raw[leaves["MET"]], path, first, str(leaves["MET"]))
    phi = _one_per_event(raw[leaves["Phi"]], path, first, str(leaves["Phi"]))
    return ak.zip({"pt": value.astype(np.float64), "phi": phi.astype(np.float64)}, with_name="Momentum2D")


def _particles(leaves: Mapping[str, str | None], raw: ak.Array) -> ak.Array:
    fields: dict[str, ak.Array] = {
        "id": ak.values_astype(raw[leaves["PID"]], np.int64),
        "status": ak.values_astype(raw[leaves["Status"]], np.int64),
    }
    for leaf, field in (("M1", "mother1"), ("M2", "mother2"), ("D1", "daughter1"), ("D2", "daughter2")):
        if leaves[leaf] is not None:
            fields[field] = ak.values_astype(raw[leaves[leaf]], np.int64)
    for leaf, field in (("Charge", "charge"), ("Px", "px"), ("Py", "py"), ("Pz", "pz"), ("E", "e")):
        if leaves[leaf] is not None:
            fields[field] = _f64(raw[leaves[leaf]])
    if leaves["Mass"] is not None:
        fields["gen_mass"] = _f64(raw[leaves["Mass"]])
    return ak.zip(fields, with_name="Momentum4D")


def _weights(raw: ak.Array, path: str, first: int, weight_names: Sequence[str] | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "Event.Weight" in ak.fields(raw):
        fields["delphes"] = _one_per_event(raw["Event.Weight"], path, first, "Event.Weight").astype(
            np.float64
        )
    if "Weight.Weight" in ak.fields(raw):
        column = raw["Weight.Weight"]
        counts = ak.to_numpy(ak.num(column, axis=1))
        n = int(counts.max()) if counts.size else 0
        if n > 0:
            _check_counts(counts, counts[0], path, first, "Weight.Weight", f"event {first} has {counts[0]}")
            names = list(weight_names) if weight_names is not None else [f"delphes_{i}" for i in range(n)]
            if len(names) != n:
                raise InputFormatError(
                    f"{path}: the Weight branch has {n} weights per event but {len(names)} weight_names "
                    "were given",
                    path=path,
                    field="Weight.Weight",
                )
            matrix = ak.to_numpy(ak.values_astype(column, np.float64)).reshape(len(raw), n)
            for k, name in enumerate(names):
                fields[name] = matrix[:, k]
    return fields


def _build(
    raw: ak.Array,
    plan: Mapping[str, tuple[str, str, dict[str, str | None]]],
    path: str,
    first: int,
    weight_names: Sequence[str] | None,
) -> ak.Array:
    out: dict[str, Any] = {}
    for name, (kind, branch, leaves) in plan.items():
        if kind == "met":
            out[name] = _met(branch, leaves, raw, path, first)
        elif kind == "particle":
            out[name] = _particles(leaves, raw)
        else:
            out[name] = _objects(name, kind, branch, leaves, raw, path)
    weights = _weights(raw, path, first, weight_names)
    if weights:
        out["weights"] = ak.zip(weights)
    else:
        logger.info("%s: no Event.Weight or Weight branch: the events carry no weights", path)
    if "Event.Number" in ak.fields(raw):
        out["event_number"] = _one_per_event(raw["Event.Number"], path, first, "Event.Number").astype(
            np.int64
        )
    if not out:
        return ak.Array([{}] * len(raw))
    events = ak.zip(out, depth_limit=1)
    return ak.Array(events, attrs={"delphes_path": path, "delphes_first_event": int(first)})


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """Turn uproot's errors while reading branches into an InputFormatError naming the file."""
    try:
        yield
    except _READ_ERRORS as err:
        raise InputFormatError(
            f"{path}: cannot read the Delphes branches (truncated or corrupt file?): {err}", path=path
        ) from err


def _setup(path: PathLike, tree: str, collections, branches, generator_truth):
    """Open and check one file: (path string, file, tree, plan, branch names to read)."""
    spath = os.fspath(path)
    file, ttree = _open_tree(spath, tree)
    try:
        try:
            keys = set(ttree.keys(full_paths=False))
        except _READ_ERRORS as err:
            raise InputFormatError(
                f"{spath}: cannot list the branches of {tree!r}: {err}", path=spath
            ) from err
        plan = _plan(keys, spath, collections, dict(branches or {}), generator_truth)
    except BaseException:
        file.close()
        raise
    return spath, file, ttree, plan, _expressions(plan, keys)


def read_delphes(
    path: PathLike,
    *,
    collections: Sequence[str] = ("e", "mu", "a", "j", "met"),
    generator_truth: bool = False,
    branches: Mapping[str, str] | None = None,
    weight_names: Sequence[str] | None = None,
    tree: str = "Delphes",
    entry_start: int | None = None,
    entry_stop: int | None = None,
) -> ak.Array:
    r"""Read a Delphes ROOT file into the event model (one record per event).

    Output fields (all momenta in GeV, every object collection ordered by decreasing pt):

    - ``e``, ``mu``, ``a``, ``j`` — ``Momentum4D`` records ``pt, eta, phi, E, charge, pdgid`` from the
      ``Electron``, ``Muon``, ``Photon`` and ``Jet`` branches. Leptons get
      :math:`{\rm pdgid} = -q \cdot 11` (or 13), photons 22, jets the ``Flavor`` leaf (Delphes' absolute
      parton flavour: 1-5, 21, 0 unmatched; 0 when the leaf is absent);
      jets also carry ``btag`` and ``tautag`` when the file has ``Jet.BTag`` / ``Jet.TauTag``.
    - ``met`` — ``Momentum2D`` (``pt``, ``phi``) from ``MissingET.MET`` and ``MissingET.Phi``.
    - ``weights`` — ``delphes`` (``Event.Weight``) and, when the ``Weight`` branch holds n > 0 entries
      per event, one field per entry named by ``weight_names`` or ``delphes_0 .. delphes_{n-1}``.
      Absent when the file has neither branch.
    - ``event_number`` (int64) from ``Event.Number`` when present.
    - with ``generator_truth=True``: ``particles`` (``Particle``: ``px, py, pz, e`` as Momentum4D plus
      ``id``, ``status``, ``charge``, ``gen_mass`` and the 0-based in-array indices ``mother1, mother2,
      daughter1, daughter2``, -1 for none; the naming follows :func:`columnminer.io.lhe.read_lhe`),
      ``genjet`` (``GenJet``, like ``j``) and ``genmet`` (``GenMissingET``, like ``met``).

    Required leaves (``InputFormatError`` naming the missing branch otherwise) for each collection asked
    for: ``Electron``/``Muon`` ``.PT .Eta .Phi .Charge``; ``Photon``/``Jet``/``GenJet`` ``.PT .Eta .Phi``;
    ``MissingET``/``GenMissingET`` ``.MET .Phi``; ``Particle`` ``.PID .Status .Px .Py .Pz .E``.
    Everything else is optional and derived when missing, which keeps files of every Delphes version
    readable:

    - energy: the ``E`` leaf if present, else :math:`E = \sqrt{(p_T \cosh\eta)^2 + m^2}` with the
      ``Mass`` leaf if present, else with the PDG mass for electrons and muons (Delphes stores no lepton
      energy) and m = 0 for photons and jets (logged at debug level);
    - jet ``charge`` 0 and ``pdgid`` 0 without ``Jet.Charge`` / ``Jet.Flavor``; ``btag``/``tautag``
      only where present; ``weights`` / ``event_number`` only where present.

    ``branches`` renames Delphes branches (e.g. ``{"j": "JetPUPPI", "met": "PuppiMissingET"}``),
    ``collections`` selects the reconstructed collections read. ``attrs["delphes_path"]`` and
    ``attrs["delphes_first_event"]`` say where the events come from.

    Raises :class:`~columnminer.errors.InputFormatError` (``path``, ``event``, ``field`` set) for a file
    that is not ROOT, a truncated or corrupt file, no ``tree`` in it (naming the trees found), a
    required branch missing, or a MissingET / weight count other than one per event.

    Example::

        >>> events = read_delphes("delphes-cms-10events.root")          # doctest: +SKIP
        >>> (events.j[:, 0] + events.j[:, 1]).mass, events.weights.delphes  # doctest: +SKIP
    """
    spath, file, ttree, plan, expressions = _setup(path, tree, collections, branches, generator_truth)
    try:
        n_entries = int(ttree.num_entries)
        start = 0 if entry_start is None else int(entry_start)
        start = start + n_entries if start < 0 else start
        with _reading(spath):
            raw = ttree.arrays(expressions, entry_start=entry_start, entry_stop=entry_stop, library="ak")
        return _build(raw, plan, spath, max(start, 0), weight_names)
    finally:
        file.close()


def _nanoevents_columns(events: Any) -> dict[str, Any]:
    """``{"Branch.Leaf": getter}`` for the columns of NanoEvents: BaseSchema fields ``Branch/Branch.Leaf``,
    or DelphesSchema collections ``events.Branch.Leaf`` (its flattened singletons, ``Event`` and
    ``MissingET``, get back their one-entry lists so the checks of the uproot path apply)."""
    columns: dict[str, Any] = {}
    for name in ak.fields(events):
        if "/" in name:
            columns[name.split("/", 1)[1]] = lambda name=name: events[name]
            continue
        collection = events[name]
        for leaf in ak.fields(collection):
            if collection.ndim == 1:
                columns[f"{name}.{leaf}"] = lambda c=collection, leaf=leaf: c[leaf][:, np.newaxis]
            else:
                columns[f"{name}.{leaf}"] = lambda c=collection, leaf=leaf: c[leaf]
    return columns


def events_from_nanoevents(events: Any, **options: Any) -> ak.Array:
    """The event model of :func:`read_delphes` as a thin view over the NanoEvents of a Delphes chunk that
    coffea delivers to a processor: nothing is read again, only the leaves the model needs are touched.

    Works with coffea's ``BaseSchema`` (fields ``Electron/Electron.PT``; the schema the columnminer
    processors run with) and ``DelphesSchema`` (collections ``events.Electron.PT``; it drops the ``E`` leaf
    of photons and jets, whose energy is then derived from ``Mass`` as :func:`read_delphes` does without
    that leaf). The Delphes branches map to the fields exactly as in :func:`read_delphes` (``Electron`` ->
    ``e``, ``Muon`` -> ``mu``, ``Photon`` -> ``a``, ``Jet`` -> ``j``, ``MissingET`` -> ``met``,
    ``Event.Weight`` / ``Weight.Weight`` -> ``weights``, ``Event.Number`` -> ``event_number``; momenta in
    GeV), through the same builder, so a chunk gives the numbers of ``read_delphes(path, entry_start,
    entry_stop)`` bit for bit. ``attrs["delphes_path"]`` / ``attrs["delphes_first_event"]`` come from the
    chunk's ``metadata`` (``filename``, ``entrystart``). ``options`` are those of :func:`read_delphes`
    (``collections``, ``generator_truth``, ``branches``, ``weight_names``).

    Example:
        >>> raw = ak.zip({"MissingET/MissingET.MET": ak.Array([[3.0], [4.0]]),
        ...               "MissingET/MissingET.Phi": ak.Array([[0.0], [0.5]])}, depth_limit=1)
        >>> events_from_nanoevents(raw, collections=("met",)).met.pt.tolist()
        [3.0, 4.0]
    """
    unknown = set(options) - {"collections", "generator_truth", "branches", "weight_names"}
    if unknown:
        raise TypeError(f"events_from_nanoevents: unknown options {sorted(unknown)}")
    collections = options.get("collections", ("e", "mu", "a", "j", "met"))
    weight_names = options.get("weight_names")
    columns = _nanoevents_columns(events)
    metadata = getattr(events, "metadata", None)
    metadata = metadata if isinstance(metadata, Mapping) else {}
    path = str(metadata.get("filename", "(NanoEvents)"))
    keys = set(columns)
    plan = _plan(
        keys, path, collections, dict(options.get("branches") or {}), options.get("generator_truth", False)
    )
    raw = {name: ak.without_parameters(columns[name]()) for name in _expressions(plan, keys)}
    if not raw:
        return ak.Array([{}] * len(events))
    return _build(ak.zip(raw, depth_limit=1), plan, path, int(metadata.get("entrystart", 0)), weight_names)


def iterate_delphes(
    path: PathLike | Sequence[PathLike],
    step_size: int | str = 10_000,
    *,
    collections: Sequence[str] = ("e", "mu", "a", "j", "met"),
    generator_truth: bool = False,
    branches: Mapping[str, str] | None = None,
    weight_names: Sequence[str] | None = None,
    tree: str = "Delphes",
) -> Iterator[ak.Array]:
    """Yield the events of one or several Delphes files in chunks of at most ``step_size`` events.

    ``step_size`` is an event count or a memory size such as ``"100 MB"`` (uproot's ``iterate``). Each
    chunk has the layout of :func:`read_delphes`; ``chunk.attrs["delphes_first_event"]`` is the index of
    its first event in ``chunk.attrs["delphes_path"]``. Files are checked one by one before reading,
    with the same errors as :func:`read_delphes`.

    Example::

        >>> for chunk in iterate_delphes(["a.root", "b.root"], step_size=5000):  # doctest: +SKIP
        ...     total += ak.sum(chunk.weights.delphes)
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    for one in paths:
        spath, file, ttree, plan, expressions = _setup(one, tree, collections, branches, generator_truth)
        try:
            iterator = ttree.iterate(expressions, step_size=step_size, library="ak", report=True)
            while True:
                with _reading(spath):
                    step = next(iterator, None)
                if step is None:
                    break
                raw, report = step
                yield _build(raw, plan, spath, int(report.tree_entry_start), weight_names)
        finally:
            file.close()


# -- LHE weights --------------------------------------------------------------------------------------------
def _attr(array: ak.Array, key: str) -> Any:
    try:
        return array.attrs.get(key)
    except AttributeError:
        return None


def attach_lhe_weights(
    delphes_events: ak.Array,
    lhe_weights_record: ak.Array,
    *,
    match_event_numbers: bool = False,
    event_number_offset: int = 0,
    lhe_path: str | None = None,
    delphes_path: str | None = None,
    check_first_event: bool = False,
) -> ak.Array:
    """Add the per-event weights of the matching LHE file to the ``weights`` record of Delphes events.

    Delphes (through Pythia and HepMC) keeps the LHE event order, so by default event i of the Delphes
    file gets row i of ``lhe_weights_record`` (e.g. ``read_lhe(...).weights``, one float64 field per
    weight id or benchmark); the two must then hold the same number of events, else an
    :class:`~columnminer.errors.InputFormatError` names both files and counts. When Pythia dropped
    events (merging vetoes, errors) but the Delphes ``event_number`` still counts LHE events, use
    ``match_event_numbers=True``: Delphes event k gets LHE row ``event_number[k] - event_number_offset``.

    With ``check_first_event=True`` (for chunks of :func:`iterate_delphes` paired with chunks of
    :func:`columnminer.io.lhe.iterate_lhe`) the first-event indices the two carry in ``attrs`` must agree;
    it is off by default because slicing an array keeps its ``attrs`` unchanged. ``lhe_path`` and
    ``delphes_path`` default to the ``attrs`` of the inputs and only serve the messages. A weight name
    already present in the Delphes ``weights`` record is an error (nothing is silently overwritten).

    Example:
        >>> dev = ak.zip({"weights": ak.zip({"delphes": np.array([0.5, 0.5])})}, depth_limit=1)
        >>> lhe = ak.zip({"sm": np.array([1.0, 2.0]), "bsm": np.array([3.0, 4.0])})
        >>> attach_lhe_weights(dev, lhe).weights.tolist()
        [{'delphes': 0.5, 'sm': 1.0, 'bsm': 3.0}, {'delphes': 0.5, 'sm': 2.0, 'bsm': 4.0}]
    """
    lhe_path = lhe_path or _attr(lhe_weights_record, "lhe_path") or "(LHE weights)"
    delphes_path = delphes_path or _attr(delphes_events, "delphes_path") or "(Delphes events)"
    names = ak.fields(lhe_weights_record)
    if not names:
        raise ValueError(f"attach_lhe_weights: the weights of {lhe_path} are not a record with named fields")
    n_delphes, n_lhe = len(delphes_events), len(lhe_weights_record)
    if match_event_numbers:
        if "event_number" not in ak.fields(delphes_events):
            raise InputFormatError(
                f"{delphes_path}: match_event_numbers=True but the events have no 'event_number' "
                "(Event.Number) field",
                path=delphes_path,
                field="event_number",
            )
        rows = np.asarray(ak.to_numpy(delphes_events.event_number), dtype=np.int64) - int(event_number_offset)
        bad = np.flatnonzero((rows < 0) | (rows >= n_lhe))
        if bad.size:
            raise InputFormatError(
                f"{delphes_path}: event {int(bad[0])} has event number "
                f"{int(rows[bad[0]]) + int(event_number_offset)}, outside the {n_lhe} events of {lhe_path} "
                f"(offset {event_number_offset})",
                path=delphes_path,
                event=int(bad[0]),
                field="event_number",
            )
        selected = lhe_weights_record[rows]
    else:
        if n_delphes != n_lhe:
            raise InputFormatError(
                f"attach_lhe_weights: {delphes_path} has {n_delphes} events but {lhe_path} has {n_lhe}; "
                "Delphes keeps the LHE order only when no event was lost (Pythia vetoes?) - pass the "
                "matching slice, or match_event_numbers=True if the event numbers count LHE events",
                path=str(delphes_path),
            )
        first_d = _attr(delphes_events, "delphes_first_event")
        first_l = _attr(lhe_weights_record, "lhe_first_event")
        if check_first_event and first_d is not None and first_l is not None and int(first_d) != int(first_l):
            raise InputFormatError(
                f"attach_lhe_weights: the Delphes chunk starts at event {first_d} of {delphes_path} but the "
                f"LHE chunk at event {first_l} of {lhe_path}",
                path=str(delphes_path),
                event=int(first_d),
            )
        selected = lhe_weights_record
    fields: dict[str, Any] = {}
    if "weights" in ak.fields(delphes_events):
        for name in ak.fields(delphes_events.weights):
            fields[name] = delphes_events.weights[name]
    for name in names:
        if name in fields:
            raise ValueError(
                f"attach_lhe_weights: weight {name!r} of {lhe_path} is already in the Delphes weights"
            )
        fields[name] = ak.values_astype(selected[name], np.float64)
    attrs = dict(delphes_events.attrs) if getattr(delphes_events, "attrs", None) else None
    result = ak.with_field(delphes_events, ak.zip(fields), "weights")
    return ak.Array(result, attrs=attrs) if attrs else result
