"""``columnminer import-madminer`` / ``export-madminer`` (registered here on a parser of their own)."""

import argparse

import pytest

from columnminer._cli import madminer as cli
from columnminer.errors import ColumnMinerError
from columnminer.io.store import EventStore
from tests.conftest_data import data_file


def _parse(argv):
    parser = argparse.ArgumentParser(prog="columnminer")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_import_then_export(tmp_path, capsys):
    store = str(tmp_path / "s.zarr")
    args = _parse(
        [
            "import-madminer",
            str(data_file("madminer", "events.h5")),
            store,
            "--chunk-size",
            "250",
            "--progress",
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert "600 events" in out.out and "import: 600 / 600 events" in out.err
    assert EventStore.open(store).n_events == 600
    args = _parse(["export-madminer", store, str(tmp_path / "e.h5")])
    assert args.func(args) == 0
    assert (tmp_path / "e.h5").exists()


def test_not_a_madminer_file_leaves_no_store(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("no")
    args = _parse(["import-madminer", str(bad), str(tmp_path / "s.zarr")])
    with pytest.raises(ColumnMinerError, match="not a MadMiner file"):
        args.func(args)
    assert not (tmp_path / "s.zarr").exists()
