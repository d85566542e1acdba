"""Exit codes and messages for bad input: 1 and one line naming the file / option for columnminer errors,
2 for usage errors from argparse."""

import pytest

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
