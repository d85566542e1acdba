"""Exit codes and messages for bad input: 1 and one line naming the file / option for columnminer errors,
2 for usage errors from argparse."""

import errno
import shutil

import pytest
import torch

from columnminer.cli import main


def _error(capsys):
    """The stderr of the last command: exactly one line, starting with ``columnminer: error:``."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("columnminer: error: "), err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "command",
    [
        ["inspect"],
        ["augment", "{store}", "local"],
        ["train", "{store}", "sally"],
        ["fisher"],
        ["limits", "{store}", "rate"],
    ],
)
def test_missing_store(command, tmp_path, capsys):
    store = tmp_path / "nowhere.zarr"
    args = [part.format(store=store) for part in command]
    if "{store}" not in command:
        args.append(str(store))
    assert main(args) == 1
    assert str(store) in _error(capsys)


def _signal(golden_dir, benchmark="sm"):
    return f"{golden_dir / 'signal.lhe.gz'}:{benchmark}"


def test_bad_sample_specifications(golden_dir, tmp_path, capsys):
    store = tmp_path / "bad.zarr"
    with pytest.raises(SystemExit) as exit_info:  # malformed: a usage error
        main(["analyse", str(store), "--sample", str(golden_dir / "signal.lhe.gz")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--sample" in err and "FILE:BENCHMARK" in err and "signal.lhe.gz" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["analyse", str(store), "--sample", _signal(golden_dir) + ",color=red"])
    assert exit_info.value.code == 2 and "color=red" in capsys.readouterr().err

    assert main(["analyse", str(store), "--sample", _signal(golden_dir, "nonesuch")]) == 1
    err = _error(capsys)
    assert "--sample" in err and "unknown benchmark 'nonesuch'" in err
    missing = golden_dir / "missing.lhe.gz"
    assert (
        main(["analyse", str(store), "--sample", f"{missing}:sm", "--setup", str(golden_dir / "setup.json")])
        == 1
    )
    assert f"no such file {missing}" in _error(capsys)
    assert main(["analyse", str(store), "--setup", str(golden_dir / "setup.json")]) == 1
    assert "no samples" in _error(capsys)
    assert not store.exists()  # nothing was created on the way


def test_unknown_callable_paths(golden_dir, tmp_path, capsys):
    store = tmp_path / "bad.zarr"
    config = tmp_path / "bad.toml"
    config.write_text('[observables]\nm4l = "columnminer.fourlepton:m4l"\n')
    assert main(["analyse", str(store), "--config", str(config), "--sample", _signal(golden_dir)]) == 1
    err = _error(capsys)
    assert str(config) in err and "observables.m4l" in err and "'columnminer.fourlepton:m4l'" in err
    assert "no attribute 'm4l'" in err

    args = ["analyse", str(store), "--sample", _signal(golden_dir), "--observable", "x=no_such_module:fn"]
    assert main(args) == 1
    err = _error(capsys)
    assert "--observable x" in err and "no_such_module" in err
    assert main(["analyse", str(store), "--sample", _signal(golden_dir), "--cut", "columnminer.events"]) == 1
    assert "--cut columnminer.events" in _error(capsys)  # a module, not a callable
    assert not store.exists()


def test_bad_configuration_files(golden_dir, tmp_path, capsys):
    store = tmp_path / "bad.zarr"
    cases = {
        "typo.toml": ("observable = {}\n", "unknown key(s) ['observable']"),
        "broken.toml": ("[observables\n", "not valid TOML"),
        "broken.json": ("{", "not valid JSON"),
        "sample.toml": (
            f'[[samples]]\npath = "{golden_dir / "signal.lhe.gz"}"\n',
            "samples[0]: a signal sample",
        ),
        "module.toml": ('analysis = "empty.py"\n', "neither a function analysis()"),
    }
    (tmp_path / "empty.py").write_text("X = 1\n")
    for name, (text, message) in cases.items():
        config = tmp_path / name
        config.write_text(text)
        assert main(["analyse", str(store), "--config", str(config), "--sample", _signal(golden_dir)]) == 1
        err = _error(capsys)
        assert str(config) in err and message in err, err
    assert main(["analyse", str(store), "--config", str(tmp_path / "absent.toml")]) == 1
    assert "absent.toml: no such configuration file" in _error(capsys)
    assert not store.exists()


def test_existing_store_needs_append_or_overwrite(golden_dir, golden_store, capsys):
    assert main(["analyse", str(golden_store), "--sample", _signal(golden_dir)]) == 1
    err = _error(capsys)
    assert str(golden_store) in err and "--append" in err and "--overwrite" in err


def test_bad_values_for_the_downstream_commands(golden_store, tmp_path, capsys):
    store = str(golden_store)
    assert main(["fisher", store, "--theta", "1,2,3"]) == 1
    assert "--theta '1,2,3'" in _error(capsys)
    assert main(["fisher", store, "--theta", "nowhere"]) == 1
    assert "neither a benchmark" in _error(capsys)
    assert main(["fisher", store, "--observables", "mass"]) == 1
    assert "unknown observable 'mass'" in _error(capsys)
    assert main(["fisher", store, "--kind", "sally"]) == 1
    assert "--estimator" in _error(capsys)
    assert main(["train", store, "nde", "--sample", "nothere"]) == 1
    assert "no augmented sample 'nothere'" in _error(capsys)
    assert main(["limits", store, "rate", "--grid", "a9=0"]) == 1
    assert "unknown parameter 'a9'" in _error(capsys)
    assert main(["limits", store, "rate", "--grid", "a2=1:2"]) == 1
    assert "LOW:HIGH:N" in _error(capsys)
    assert main(["limits", store, "sally", "--estimator", str(tmp_path / "none")]) == 1
    assert str(tmp_path / "none") in _error(capsys)
    assert main(["augment", store, "ratio", "--theta0", "random:x"]) == 1
    assert "--theta0 'random:x'" in _error(capsys)
    with pytest.raises(SystemExit) as exit_info:
        main(["limits", store, "bayes"])
    assert exit_info.value.code == 2


# -- nonsensical values: usage errors (exit code 2) before anything is read or written -----------------------
NONSENSE = [
    ("train", "sally", "--hidden", "0"),
    ("train", "sally", "--hidden", "8", "-3"),
    ("train", "sally", "--epochs", "0"),
    ("train", "sally", "--batch-size", "-1"),
    ("train", "sally", "--lr", "0"),
    ("train", "sally", "--final-lr", "nan"),
    ("train", "sally", "--validation-split", "1"),
    ("train", "sally", "--alpha", "-1"),
    ("train", "sally", "--ensemble", "0"),
    ("train", "nde", "--transforms", "0"),
    ("train", "sally", "--seed", "-1"),
    ("train", "sally", "--features", "-1"),
    ("analyse", "--step-size", "0"),
    ("analyse", "--chunk-size", "0"),
    ("analyse", "--partition-fractions", "0.8", "0.1", "0.2"),
    ("analyse", "--partition-fractions", "0.5", "0.6", "-0.1"),
    ("analyse", "--partition-seed", "-1"),
    ("augment", "local", "--samples", "-5"),
    ("augment", "local", "--samples", "0"),
    ("augment", "more-ratios", "--additional-thetas", "-1"),
    ("augment", "local", "--seed", "-2"),
    ("fisher", "--luminosity", "0"),
    ("fisher", "--luminosity", "inf"),
    ("fisher", "--bins", "0"),
    ("limits", "rate", "--points", "0"),
    ("limits", "rate", "--luminosity", "-300"),
    ("limits", "rate", "--cl", "0.95", "1.5"),
    ("limits", "rate", "--cl", "0"),
    ("limits", "histo", "--bins", "-4"),
    ("limits", "ml", "--n-asimov", "0"),
    ("limits", "rate", "--dof", "0"),
]


@pytest.mark.parametrize("command", NONSENSE, ids=[" ".join(c) for c in NONSENSE])
def test_nonsensical_values_are_usage_errors(command, golden_dir, tmp_path, capsys):
    store = tmp_path / "out.zarr"
    name, *rest = command
    args = [name, str(store)]
    if name == "analyse":
        args += ["--sample", _signal(golden_dir)]
    args += rest
    option = next(part for part in rest if part.startswith("--"))
    bad = next(part for part in reversed(rest) if not part.startswith("--"))
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"columnminer {name}: error: argument {option}"), err
    assert bad in last and "Traceback" not in err
    assert not store.exists()


@pytest.mark.parametrize(
    "command",
    [
        ("simulate", "golden", "--events", "0"),
        ("simulate", "golden", "--background", "-1"),
        ("simulate", "golden", "--background-xsec", "0"),
        ("simulate", "golden", "--scale-variations", "0.5", "-2"),
        ("simulate", "toy", "--events", "-10"),
        ("simulate", "toy", "--theta0", "nan"),
        ("demo", "--events", "0"),
        ("demo", "--seed", "-1"),
    ],
)
def test_nonsensical_values_of_the_generators(command, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    option = next(part for part in command if part.startswith("--"))
    assert f"error: argument {option}: must be" in err and command[-1] in err
    assert "Traceback" not in err and not out.exists()


def test_nonsensical_values_by_subprocess(run_module, golden_dir, tmp_path):
    store = tmp_path / "s.zarr"
    completed = run_module("analyse", store, "--sample", _signal(golden_dir), "--step-size", "0")
    assert completed.returncode == 2
    assert "argument --step-size: must be a positive integer, got '0'" in completed.stderr
    assert "Traceback" not in completed.stderr and not store.exists()
    completed = run_module("train", store, "sally", "--hidden", "0")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "argument --hidden: must be a positive integer, got '0'" in completed.stderr


# -- a failed command leaves no new output behind -------------------------------------------------------------
def _analyse(store, *samples, setup):
    args = ["analyse", str(store), "--setup", str(setup), "--chunk-size", "500"]
    for sample in samples:
        args += ["--sample", f"{sample}:sm"] if "signal" in sample.name else ["--background", str(sample)]
    return main(args)


def test_failed_analyse_leaves_no_store_and_the_fixed_command_succeeds(golden_dir, tmp_path, capsys):
    good = (golden_dir / "signal.lhe.gz").read_bytes()
    signal = tmp_path / "signal.lhe.gz"
    signal.write_bytes(good[: len(good) // 2])  # truncated
    store = tmp_path / "new" / "s.zarr"
    setup = golden_dir / "setup.json"
    assert _analyse(store, signal, setup=setup) == 1
    err = _error(capsys)
    assert str(signal) in err and "truncated" in err
    assert not store.exists() and not store.parent.exists()

    signal.write_bytes(good)
    assert _analyse(store, signal, setup=setup) == 0
    assert "store created" in capsys.readouterr().out and store.is_dir()


def test_a_later_bad_sample_removes_the_store_with_the_earlier_events(golden_dir, tmp_path, capsys):
    """The first sample is committed to the new store before the second fails: the store still goes."""
    background = tmp_path / "background.lhe.gz"
    background.write_bytes(b"not a Les Houches Event file\n")
    store = tmp_path / "s.zarr"
    assert _analyse(store, golden_dir / "signal.lhe.gz", background, setup=golden_dir / "setup.json") == 1
    assert str(background) in _error(capsys)
    assert not store.exists()


def test_an_analysis_error_after_the_store_was_created_removes_it(golden_dir, tmp_path, capsys):
    module = tmp_path / "broken_observables.py"
    module.write_text("def boom(events):\n    raise ZeroDivisionError('no events today')\n")
    store = tmp_path / "s.zarr"
    args = ["analyse", str(store), "--sample", _signal(golden_dir), "--observable", f"x={module}:boom"]
    assert main(args) == 1
    err = _error(capsys)
    assert "'x'" in err and "no events today" in err
    assert not store.exists()
    assert main(args[:4]) == 0  # without the broken observable: "a store already exists" does not happen
    capsys.readouterr()


def test_a_failed_append_keeps_the_existing_store(golden_dir, golden_store, tmp_path, capsys):
    from columnminer.io.store import EventStore

    store = tmp_path / "copy.zarr"
    shutil.copytree(golden_store, store)
    before = EventStore.open(str(store)).n_events
    bad = tmp_path / "bad_signal.lhe.gz"
    good = (golden_dir / "signal.lhe.gz").read_bytes()
    bad.write_bytes(good[: len(good) // 3])
    assert main(["analyse", str(store), "--append", "--sample", f"{bad}:sm"]) == 1
    assert str(bad) in _error(capsys)
    assert store.is_dir() and EventStore.open(str(store)).n_events == before


def test_a_failed_overwrite_keeps_the_store_when_checks_fail(golden_dir, golden_store, tmp_path, capsys):
    store = tmp_path / "copy.zarr"
    shutil.copytree(golden_store, store)
    missing = tmp_path / "missing.lhe.gz"
    args = ["analyse", str(store), "--overwrite", "--sample", f"{missing}:sm"]
    assert main([*args, "--setup", str(golden_dir / "setup.json")]) == 1
    assert str(missing) in _error(capsys)
    assert (store / "zarr.json").is_file()


@pytest.fixture(scope="module")
def local_store(golden_store, tmp_path_factory):
    """A copy of the shared store with a small SALLY sample ``local`` (the shared store stays unchanged)."""
    store = tmp_path_factory.mktemp("cli_errors") / "local.zarr"
    shutil.copytree(golden_store, store)
    assert main(["augment", str(store), "local", "--samples", "400", "--overwrite"]) == 0
    return store


@pytest.fixture(scope="module")
def sally_model(local_store, tmp_path_factory):
    """A tiny SALLY estimator trained on ``local_store``: the path prefix of its three files."""
    model = tmp_path_factory.mktemp("cli_model") / "sally"
    args = ["train", str(local_store), "sally", "--hidden", "4", "--epochs", "1", "--out", str(model)]
    assert main(args) == 0
    return model


def _copy_model(model, target):
    for suffix in ("_settings.json", "_state_dict.pt", "_scaling.npz"):
        shutil.copy(f"{model}{suffix}", f"{target}{suffix}")
    return target


@pytest.mark.parametrize("suffix", ["_scaling.npz", "_state_dict.pt", "_settings.json"])
def test_a_truncated_model_is_one_line_naming_the_file(suffix, local_store, sally_model, tmp_path, capsys):
    model = _copy_model(sally_model, tmp_path / "sally")
    capsys.readouterr()
    file = tmp_path / f"sally{suffix}"
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    for command in (
        ["fisher", str(local_store), "--kind", "sally", "--estimator", str(model)],
        ["limits", str(local_store), "sally", "--estimator", str(model), "--points", "3"],
    ):
        assert main(command) == 1
        err = _error(capsys)
        assert str(file) in err and "truncated or corrupt" in err and "Traceback" not in err


def test_a_truncated_model_by_subprocess(run_module, local_store, sally_model, tmp_path):
    model = _copy_model(sally_model, tmp_path / "sally")
    scaling = tmp_path / "sally_scaling.npz"
    scaling.write_bytes(scaling.read_bytes()[:100])
    completed = run_module("fisher", local_store, "--kind", "sally", "--estimator", model)
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("columnminer: error: "), completed.stderr
    assert str(scaling) in lines[0] and "BadZipFile" in lines[0]
    assert "Traceback" not in completed.stderr


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_train_removes_the_model_directory_it_created(local_store, tmp_path, capsys, monkeypatch):
    out = tmp_path / "models" / "new" / "sally"
    monkeypatch.setattr(torch, "save", _disk_full)
    args = ["train", str(local_store), "sally", "--hidden", "4", "--epochs", "1", "--out", str(out)]
    assert main(args) == 1
    err = _error(capsys)
    assert err == f"columnminer: error: {out}: No space left on device (OSError)"
    assert not (tmp_path / "models").exists()

    ensemble = tmp_path / "ensemble"
    assert main([*args[:-1], str(ensemble), "--ensemble", "2"]) == 1
    assert str(ensemble) in _error(capsys)
    assert not ensemble.exists()


def test_a_failed_train_keeps_an_earlier_model(local_store, sally_model, tmp_path, capsys, monkeypatch):
    model = _copy_model(sally_model, tmp_path / "sally")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(torch, "save", _disk_full)
    args = ["train", str(local_store), "sally", "--hidden", "4", "--epochs", "1", "--out", str(model)]
    assert main(args) == 1
    assert "No space left on device" in _error(capsys)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # untouched, no temporary files


def test_a_failed_npy_export_removes_its_folder_and_leaves_the_store(
    local_store, tmp_path, capsys, monkeypatch
):
    import numpy as np

    from columnminer.io.store import EventStore

    calls = []

    def save(file, values, *args, **kwargs):
        calls.append(file)
        if len(calls) == 2:
            _disk_full()
        return original(file, values, *args, **kwargs)

    original = np.save
    monkeypatch.setattr(np, "save", save)
    npy = tmp_path / "arrays" / "npy"
    args = ["augment", str(local_store), "local", "--samples", "200", "--name", "npy_fail", "--npy", str(npy)]
    assert main(args) == 1
    err = _error(capsys)
    assert str(npy / "npy_fail_") in err and "No space left on device" in err
    assert not (tmp_path / "arrays").exists()
    assert "npy_fail" in EventStore.open(str(local_store)).sample_names  # the store is left alone


def test_unexpected_os_errors_are_one_line_naming_the_path(golden_store, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    target = blocker / "out.json"
    assert main(["fisher", str(golden_store), "--json", str(target)]) == 1
    err = _error(capsys)
    assert err.startswith(f"columnminer: error: {blocker}") and "Error)" in err  # FileExists or NotADirectory
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_interrupted_analyse_keeps_its_store_for_append(golden_dir, tmp_path, capsys, monkeypatch):
    import columnminer.samples

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(columnminer.samples, "analyse_samples", interrupted)
    store = tmp_path / "s.zarr"
    assert main(["analyse", str(store), "--sample", _signal(golden_dir)]) == 130
    assert capsys.readouterr().err.strip() == "columnminer: interrupted"
    assert store.is_dir()  # resumable with --append


def test_remove_on_failure_removes_only_what_it_created(tmp_path):
    from columnminer._cli.common import remove_on_failure

    old = tmp_path / "old"
    old.mkdir()
    new = tmp_path / "new" / "deeper" / "out"
    with pytest.raises(ValueError), remove_on_failure(old, new, None):
        new.mkdir(parents=True)
        (old / "file").write_text("x")
        raise ValueError
    assert old.is_dir() and (old / "file").exists() and not (tmp_path / "new").exists()
    with pytest.raises(KeyboardInterrupt), remove_on_failure(new, keep_on_interrupt=True):
        new.mkdir(parents=True)
        raise KeyboardInterrupt
    assert new.is_dir()
    with remove_on_failure(tmp_path / "kept"):
        (tmp_path / "kept").mkdir()
    assert (tmp_path / "kept").is_dir()
