"""Analysis configuration for ``columnminer analyse``: TOML / JSON files, sample specifications, and building
the :class:`~columnminer.analysis.Analysis` from callables named by dotted paths.

A configuration file (every key optional; relative paths are relative to the file)::

    setup = "golden/setup.json"
    analysis = "my_analysis.py"            # module with analysis() or an Analysis named analysis
    preset = "fourlepton"                  # "fourlepton", "madminer" or "none"
    builders = ["columnminer.fourlepton:add_four_lepton_observables"]   # f(analysis), called in order
    chunk_size = 100000                    # rows per store chunk
    step_size = 100000                     # events per analysis task
    partition_fractions = [0.8, 0.1, 0.1]
    partition_seed = 0

    [observables]
    pt_l1 = "my_observables:leading_lepton_pt"
    mjj = {fn = "my_observables:mjj", required = false, default = 0.0}

    [[cuts]]
    fn = "my_observables:four_leptons"
    name = "four leptons"

    [[samples]]
    path = "golden/signal.lhe.gz"
    benchmark = "sm"

    [[samples]]
    path = "golden/background.lhe.gz"
    background = true
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .loading import load_analysis, resolve_callable

__all__ = [
    "CONFIG_KEYS",
    "PRESETS",
    "SAMPLE_KEYS",
    "SampleSpec",
    "apply_preset",
    "build_analysis",
    "parse_background_spec",
    "parse_observable_spec",
    "parse_signal_spec",
    "read_config",
    "samples_from_config",
]

#: The keys a configuration file may have.
CONFIG_KEYS = (
    "setup",
    "analysis",
    "preset",
    "builders",
    "observables",
    "cuts",
    "efficiencies",
    "samples",
    "chunk_size",
    "step_size",
    "partition_fractions",
    "partition_seed",
)
#: The keys of one ``[[samples]]`` entry.
SAMPLE_KEYS = (
    "path",
    "benchmark",
    "background",
    "k_factor",
    "lhe_path",
    "process",
    "event_norm",
    "systematics",
    "weight_mapping",
    "transform",
)
#: Built-in observable sets.
PRESETS = ("fourlepton", "madminer", "none")
#: Options of a command-line sample specification (``FILE:BENCHMARK,key=value``).
_SPEC_OPTIONS = {"k_factor": "k_factor", "k": "k_factor", "lhe": "lhe_path", "lhe_path": "lhe_path"}
_SPEC_OPTIONS.update({"process": "process", "event_norm": "event_norm", "systematics": "systematics"})
_SPEC_OPTIONS.update({"invalid": "invalid"})  # raise (default) or drop events with invalid content


@dataclass
class SampleSpec:
    """One sample as given on the command line or in a configuration file, before it becomes a
    :class:`~columnminer.samples.Sample` (``where`` names its origin for error messages)."""

    path: str
    benchmark: str | None
    background: bool
    where: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_sample(self, base: Path | None = None) -> Any:
        """The :class:`~columnminer.samples.Sample` (relative paths resolved against ``base``)."""
        from ..samples import Sample

        options = dict(self.options)
        if options.get("lhe_path") is not None:
            options["lhe_path"] = _path(options["lhe_path"], base)
        if isinstance(options.get("transform"), str):
            options["transform"] = resolve_callable(options["transform"], f"{self.where}: transform", base)
        return Sample(
            _path(self.path, base),
            sampled_from_benchmark=None if self.background else self.benchmark,
            is_background=self.background,
            **options,
        )


def _path(path: str, base: Path | None) -> str:
    candidate = Path(path)
    if base is None or candidate.is_absolute() or "://" in str(path):
        return str(path)
    return str(base / candidate)


def _spec_options(items: Sequence[str], text: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in _SPEC_OPTIONS or not value:
            raise argparse.ArgumentTypeError(
                f"{text!r}: bad option {item!r}; options are key=value with key one of {sorted(_SPEC_OPTIONS)}"
            )
        name = _SPEC_OPTIONS[key]
        if name == "k_factor":
            try:
                options[name] = float(value)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{text!r}: k_factor must be a number, got {value!r}"
                ) from None
        elif name == "systematics":
            options[name] = tuple(v for v in value.split("+") if v)
        else:
            options[name] = value
    return options


def parse_signal_spec(text: str) -> SampleSpec:
    """``--sample FILE:BENCHMARK[,key=value...]`` (keys: k_factor, lhe, process, event_norm, systematics
    joined by ``+``); an argparse type, so a malformed one is a usage error (exit code 2).

    Example:
        >>> spec = parse_signal_spec("run/delphes.root:sm,lhe=run/events.lhe.gz,k_factor=1.1")
        >>> spec.path, spec.benchmark, spec.options
        ('run/delphes.root', 'sm', {'lhe_path': 'run/events.lhe.gz', 'k_factor': 1.1})
    """
    head, *items = str(text).split(",")
    path, sep, benchmark = head.rpartition(":")
    if not sep or not path or not benchmark or len(path) == 1:
        raise argparse.ArgumentTypeError(
            f"expected FILE:BENCHMARK (e.g. golden/signal.lhe.gz:sm), got {text!r}"
        )
    return SampleSpec(path, benchmark, False, f"--sample {text}", _spec_options(items, text))


def parse_background_spec(text: str) -> SampleSpec:
    """``--background FILE[,key=value...]`` (the options of :func:`parse_signal_spec`).

    Example:
        >>> parse_background_spec("bkg.lhe.gz,k=1.5").options
        {'k_factor': 1.5}
    """
    head, *items = str(text).split(",")
    if not head:
        raise argparse.ArgumentTypeError(f"expected FILE[,key=value...], got {text!r}")
    return SampleSpec(head, None, True, f"--background {text}", _spec_options(items, text))


def parse_observable_spec(text: str) -> tuple[str, str]:
    """``--observable NAME=module:function``, an argparse type.

    Example:
        >>> parse_observable_spec("pt_l1=my_observables:leading_pt")
        ('pt_l1', 'my_observables:leading_pt')
    """
    name, sep, path = str(text).partition("=")
    if not sep or not name.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=module:function, got {text!r}")
    return name.strip(), path.strip()


def read_config(path: str) -> dict[str, Any]:
    """A configuration file as a dict: ``.json`` is JSON, anything else TOML. Unknown keys, unreadable
    files and syntax errors raise :class:`~columnminer.errors.ConfigError` naming the file."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: no such configuration file")
    text = file.read_text()
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{file}: not valid JSON: {err}") from err
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{file}: not valid TOML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the configuration must be a table (object) of keys")
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"{file}: unknown key(s) {unknown}; the keys are {list(CONFIG_KEYS)}")
    return data


def _entries(value: Any, where: str, fields: Sequence[str]) -> list[dict[str, Any]]:
    """A list of callable definitions: strings or tables with ``fn`` and some of ``fields``."""
    if isinstance(value, str | Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of 'module:function' paths or tables")
    out = []
    for i, item in enumerate(value):
        label = f"{where}[{i}]"
        entry = {"fn": item} if isinstance(item, str) else item
        if not isinstance(entry, Mapping) or "fn" not in entry:
            raise ConfigError(f"{label}: expected 'module:function' or a table with key 'fn'")
        unknown = sorted(set(entry) - {"fn", *fields})
        if unknown:
            raise ConfigError(f"{label}: unknown key(s) {unknown}; allowed: {['fn', *fields]}")
        out.append({**entry, "where": label})
    return out


def apply_preset(analysis: Any, preset: str, where: str = "--preset") -> None:
    """Add a built-in observable set: ``fourlepton`` (m4l, mZ1, mZ2, pt4l, y4l and the five angles),
    ``madminer`` (MadMiner's default observables) or ``none``."""
    if preset == "fourlepton":
        from ..fourlepton import add_four_lepton_observables

        add_four_lepton_observables(analysis)
    elif preset == "madminer":
        analysis.add_default_observables()
    elif preset != "none":
        raise ConfigError(f"{where}: unknown preset {preset!r}; choose one of {list(PRESETS)}")


def build_analysis(
    config: Mapping[str, Any],
    config_name: str,
    base: Path | None,
    analysis_spec: str | None = None,
    preset: str | None = None,
    observables: Sequence[tuple[str, str]] = (),
    cuts: Sequence[str] = (),
) -> tuple[Any, str]:
    """The analysis and a short description of where it came from.

    Order: the analysis module (``--analysis``, else the config's ``analysis``) or an empty analysis; the
    preset (``--preset``, else the config's; by default ``fourlepton`` when nothing else defines an
    observable); the config's builders, observables, cuts and efficiencies; the command line's observables
    and cuts. Modules named on the command line may also be ``.py`` files in the working directory.
    """
    from ..analysis import Analysis

    origin = []
    if analysis_spec is not None:
        analysis = load_analysis(analysis_spec, "--analysis", Path("."))
        origin.append(f"analysis module {analysis_spec}")
    elif "analysis" in config:
        analysis = load_analysis(str(config["analysis"]), f"{config_name}: analysis", base)
        origin.append(f"analysis module {config['analysis']}")
    else:
        analysis = Analysis()
    defines = bool(origin) or any(k in config for k in ("builders", "observables")) or bool(observables)
    chosen = preset if preset is not None else config.get("preset")
    if chosen is None and not defines:
        chosen = "fourlepton"
    if chosen is not None and chosen != "none":
        apply_preset(analysis, str(chosen), "--preset" if preset is not None else f"{config_name}: preset")
        origin.append(f"preset {chosen}")
    for entry in _entries(config.get("builders", []), f"{config_name}: builders", ()):
        builder = resolve_callable(entry["fn"], entry["where"], base)
        builder(analysis)
        origin.append(f"builder {entry['fn']}")
    table = config.get("observables", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{config_name}: observables must be a table of name = 'module:function'")
    for name, value in table.items():
        where = f"{config_name}: observables.{name}"
        entry = {"fn": value} if isinstance(value, str) else value
        if not isinstance(entry, Mapping) or "fn" not in entry:
            raise ConfigError(f"{where}: expected 'module:function' or a table with key 'fn'")
        unknown = sorted(set(entry) - {"fn", "required", "default"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: ['fn', 'required', 'default']")
        fn = resolve_callable(entry["fn"], where, base)
        analysis.add_observable(
            str(name), fn, required=bool(entry.get("required", False)), default=entry.get("default")
        )
    for entry in _entries(config.get("cuts", []), f"{config_name}: cuts", ("name", "required")):
        fn = resolve_callable(entry["fn"], entry["where"], base)
        name = entry.get("name") or str(entry["fn"]).replace(":", ".").rsplit(".", 1)[-1]
        analysis.add_cut(fn, name=str(name), required=bool(entry.get("required", True)))
    for entry in _entries(
        config.get("efficiencies", []), f"{config_name}: efficiencies", ("name", "default")
    ):
        fn = resolve_callable(entry["fn"], entry["where"], base)
        name = entry.get("name") or str(entry["fn"]).replace(":", ".").rsplit(".", 1)[-1]
        analysis.add_efficiency(fn, name=str(name), default=float(entry.get("default", 1.0)))
    for name, path in observables:
        analysis.add_observable(name, resolve_callable(path, f"--observable {name}", Path(".")))
        origin.append(f"--observable {name}")
    for path in cuts:
        fn = resolve_callable(path, f"--cut {path}", Path("."))
        analysis.add_cut(fn, name=path.replace(":", ".").rsplit(".", 1)[-1])
    if not analysis.observables:
        raise ConfigError(
            "the analysis defines no observables: give --preset, --observable NAME=module:function, "
            "--analysis MODULE or a configuration file with observables"
        )
    if "observables" in config or "cuts" in config or "efficiencies" in config:
        origin.append(f"definitions in {config_name}")
    return analysis, ", ".join(origin) or "empty"


def samples_from_config(config: Mapping[str, Any], config_name: str) -> list[SampleSpec]:
    """The ``[[samples]]`` entries as :class:`SampleSpec` (checked keys and types)."""
    entries = config.get("samples", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{config_name}: samples must be a list of tables ([[samples]])")
    specs = []
    for i, entry in enumerate(entries):
        where = f"{config_name}: samples[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table with path and benchmark (or background = true)")
        unknown = sorted(set(entry) - set(SAMPLE_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; the keys are {list(SAMPLE_KEYS)}")
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise ConfigError(f"{where}: path must be a file name")
        background = bool(entry.get("background", False))
        benchmark = entry.get("benchmark")
        if not background and not isinstance(benchmark, str):
            raise ConfigError(f"{where}: a signal sample needs benchmark = NAME (or background = true)")
        options: dict[str, Any] = {}
        for key in ("k_factor", "lhe_path", "process", "event_norm", "weight_mapping"):
            if key in entry:
                options[key] = entry[key]
        if "k_factor" in options and not isinstance(options["k_factor"], int | float):
            raise ConfigError(f"{where}: k_factor must be a number, got {options['k_factor']!r}")
        if "systematics" in entry:
            value = entry["systematics"]
            options["systematics"] = (value,) if isinstance(value, str) else tuple(value)
        if "transform" in entry:
            options["transform"] = str(entry["transform"])  # resolved by to_sample, relative to the file
        specs.append(SampleSpec(entry["path"], benchmark, background, where, options))
    return specs
