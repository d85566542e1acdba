"""Store integrity: one writer at a time, concurrent writers lose nothing, damaged chunks and metadata are
errors (never fill values as data), content identity of appended sources."""

import errno
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import zarr

from columnminer.demo import golden_channel_setup
from columnminer.errors import (
    DuplicateSourceError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from columnminer.io.provenance import file_identity, missing_ranges, split_ranges
from columnminer.io.store import EventStore

WRITER = Path(__file__).with_name("concurrent_writer.py")
_spec = importlib.util.spec_from_file_location("concurrent_writer", WRITER)
concurrent_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(concurrent_writer)


@pytest.fixture(scope="module")
def setup():
    return golden_channel_setup()


def filled(path, setup, n=100, chunk_size=40):
    store = EventStore.create(str(path), setup, ["a", "b", "c"], chunk_size=chunk_size)
    rng = np.random.default_rng(1)
    store.append(rng.normal(size=(n, 3)), rng.uniform(0.5, 1.5, size=(n, 6)), 0)
    return store


def writer_process(url, *args):
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(url), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- one writer at a time -------------------------------------------------------------------------------
def test_two_processes_appending_at_once_lose_no_acknowledged_row(tmp_path, setup):
    url = tmp_path / "c.zarr"
    EventStore.create(str(url), setup, ["w", "k", "row"], chunk_size=4096)
    n_appends, rows = 30, 5000
    procs = [writer_process(url, "append", w, n_appends, rows) for w in (1, 2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.count("ack") == n_appends
    store = EventStore.open(str(url))
    assert store.n_events == 2 * n_appends * rows
    assert store.verify() == []
    obs = store.read("observables")
    weights = store.read("weights")
    for entry in store.sources:  # every acknowledged block, whole, at the rows its record names
        w, k = entry["source"]["writer"], entry["source"]["block"]
        rows_of = slice(entry["start"], entry["stop"])
        expected = concurrent_writer.block(w, k, rows)
        np.testing.assert_array_equal(obs[rows_of], expected["observables"])
        np.testing.assert_array_equal(weights[rows_of], expected["weights"])
    blocks = {(e["source"]["writer"], e["source"]["block"]) for e in store.sources}
    assert blocks == {(w, k) for w in (1, 2) for k in range(n_appends)}


def test_a_held_lock_makes_a_second_writer_wait_then_fail_naming_the_holder(tmp_path, setup):
    url = tmp_path / "l.zarr"
    filled(url, setup)
    holder = writer_process(url, "hold", 30)
    try:
        assert holder.stdout.readline().strip() == "locked"
        store = EventStore.open(str(url), mode="a", lock_timeout=0.3)
        with pytest.raises(StoreLockedError, match=rf"{url}.*process {holder.pid} on "):
            store.append(np.zeros((1, 3)), np.ones((1, 6)), 0)
        assert EventStore.open(str(url)).n_events == 100  # readers are not blocked, nothing written
    finally:
        holder.kill()
        holder.wait()
    store.append(np.zeros((1, 3)), np.ones((1, 6)), 0)  # the holder died: its lock went with it
    assert store.n_events == 101


def test_a_stale_lock_of_a_killed_writer_is_taken_over_with_a_warning(tmp_path, setup, caplog):
    url = tmp_path / "s.zarr"
    filled(url, setup)
    dying = writer_process(url, "die")
    dying.communicate(timeout=120)
    assert dying.returncode == -9
    assert zarr.open_group(str(url), mode="r").attrs["writer"]["pid"] == dying.pid
    store = EventStore.open(str(url), mode="a", lock_timeout=0)
    with caplog.at_level(logging.WARNING, logger="columnminer.io.store"):
        store.append(np.zeros((2, 3)), np.ones((2, 6)), 0)
    assert f"process {dying.pid}" in caplog.text and "died" in caplog.text
    assert store.n_events == 102
    assert zarr.open_group(str(url), mode="r").attrs["writer"] is None


def test_threads_writing_samples_and_appends_at_once(tmp_path, setup):
    url = tmp_path / "t.zarr"
    filled(url, setup)
    errors = []

    def work(i):
        try:
            store = EventStore.open(str(url), mode="a")
            for k in range(5):
                store.append(np.full((10, 3), i), np.ones((10, 6)), 0, source={"thread": i, "k": k})
            store.write_sample(f"s{i}", {"x": np.arange(7.0)}, {"kind": "test"})
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = EventStore.open(str(url))
    assert store.n_events == 100 + 4 * 5 * 10
    assert store.sample_names == ["s0", "s1", "s2", "s3"]
    assert store.sample_attrs("s3")["store_state"]["n_events"] >= 100
    assert store.verify() == []


# -- integrity on read ------------------------------------------------------------------------------------
def test_a_deleted_chunk_file_is_an_error_never_nan(tmp_path, setup):
    from columnminer.weights import cross_sections

    url = tmp_path / "d.zarr"
    store = filled(url, setup)
    sigma = cross_sections(store, [[0.0, 0.0]])
    os.remove(url / "weights" / "c" / "1" / "0")
    store = EventStore.open(str(url))
    with pytest.raises(StoreCorruptError, match=r"chunk 'weights/c/1/0' \(rows 40\.\.80\).*missing"):
        store.read("weights")
    with pytest.raises(StoreCorruptError, match="weights/c/1/0"):
        store.read_rows("weights", np.array([3, 50]))
    with pytest.raises(StoreCorruptError, match="weights/c/1/0"):
        list(store.iter_chunks(["weights"]))
    with pytest.raises(StoreCorruptError, match="weights/c/1/0"):
        cross_sections(store, [[0.0, 0.0]])
    np.testing.assert_array_equal(store.read("weights", 0, 40).shape, (40, 6))  # intact chunks still read
    assert np.isfinite(sigma).all()
    problems = store.verify()
    assert len(problems) == 1 and "weights/c/1/0" in problems[0] and "missing" in problems[0]


def test_a_corrupt_chunk_fails_its_checksum(tmp_path, setup):
    url = tmp_path / "x.zarr"
    filled(url, setup)
    chunk = url / "observables" / "c" / "2" / "0"
    data = bytearray(chunk.read_bytes())
    data[-5] ^= 0xFF
    chunk.write_bytes(bytes(data))
    store = EventStore.open(str(url))
    with pytest.raises(StoreCorruptError, match=r"chunk 'observables/c/2/0' \(rows 80\.\.100\) is corrupt"):
        store.read("observables")
    assert any("observables/c/2/0" in p and "corrupt" in p for p in store.verify())


@pytest.mark.parametrize("where", ["header", "middle", "last payload byte", "checksum", "truncated"])
def test_any_damage_to_a_fast_codec_chunk_is_detected_on_every_read_path(tmp_path, setup, where):
    """blosc has no checksum of its own: the crc32c after it must catch a flip anywhere in the chunk file."""
    from columnminer.weights import cross_sections

    url = tmp_path / "f.zarr"
    filled(url, setup)
    chunk = url / "weights" / "c" / "1" / "0"
    data = bytearray(chunk.read_bytes())
    position = {"header": 5, "middle": len(data) // 2, "last payload byte": -5, "checksum": -1}.get(where)
    if position is None:
        data = data[: len(data) // 2]
    else:
        data[position] ^= 0x10
    chunk.write_bytes(bytes(data))
    store = EventStore.open(str(url))
    expected = r"chunk 'weights/c/1/0' \(rows 40\.\.80\) is corrupt"
    with pytest.raises(StoreCorruptError, match=expected):
        store.read("weights")
    with pytest.raises(StoreCorruptError, match=expected):
        store.read_rows("weights", np.array([50]))
    with pytest.raises(StoreCorruptError, match=expected):
        cross_sections(store, [[0.0, 0.0]])
    np.testing.assert_array_equal(store.read("weights", 0, 40).shape, (40, 6))
    assert any("weights/c/1/0" in p and "corrupt" in p for p in store.verify())


def test_new_stores_record_their_codec_and_zarr_reads_them_too(tmp_path, setup):
    url = tmp_path / "c.zarr"
    store = filled(url, setup)
    assert "blosc lz4" in store.metadata["codec"]["compressors"]
    names = [codec.to_dict()["name"] for codec in zarr.open_array(str(url / "weights")).metadata.codecs]
    assert names == ["bytes", "blosc", "crc32c"]
    np.testing.assert_array_equal(zarr.open_array(str(url / "weights"))[:], store.read("weights"))
    reader = store.chunk_reader("weights")
    assert reader.directory is not None  # decoded here, not by zarr


def test_stores_written_with_the_previous_zstd_codec_still_open_read_and_verify(tmp_path, setup, monkeypatch):
    from zarr.codecs import ZstdCodec

    import columnminer.io.store as store_module
    from columnminer.weights import cross_sections

    monkeypatch.setattr(store_module, "_compressors", lambda: [ZstdCodec(level=0, checksum=True)])
    old, new = tmp_path / "old.zarr", tmp_path / "new.zarr"
    filled(old, setup)
    old_store = EventStore.open(str(old))
    monkeypatch.undo()
    new_store = filled(new, setup)
    names = [codec.to_dict()["name"] for codec in zarr.open_array(str(old / "weights")).metadata.codecs]
    assert names == ["bytes", "zstd"]
    for name in ("observables", "weights", "sampled_from"):
        np.testing.assert_array_equal(old_store.read(name), new_store.read(name))
        np.testing.assert_array_equal(old_store.to_dask(name).compute(), new_store.read(name))
    np.testing.assert_array_equal(cross_sections(old_store)[0], cross_sections(new_store)[0])
    assert old_store.verify() == []
    chunk = old / "weights" / "c" / "1" / "0"
    data = bytearray(chunk.read_bytes())
    data[-5] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match=r"chunk 'weights/c/1/0' \(rows 40\.\.80\) is corrupt"):
        EventStore.open(str(old)).read("weights")


def test_zarr_decodes_what_the_reader_does_not(setup):
    """A store in memory (or any fsspec URL) reads through zarr, with the same checks."""
    store = EventStore.create("memory://integrity-fallback", setup, ["a"], chunk_size=4)
    store.append(np.arange(10.0)[:, None], np.ones((10, 6)), 0)
    assert store.chunk_reader("observables").directory is None
    assert store.read("observables", 3, 9).ravel().tolist() == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert store.read_rows("observables", np.array([9, 0, 9])).ravel().tolist() == [9.0, 0.0, 9.0]
    assert float(store.to_dask("observables").sum().compute()) == 45.0


def test_all_nan_observable_chunks_are_written_not_mistaken_for_missing(tmp_path, setup):
    store = EventStore.create(str(tmp_path / "n.zarr"), setup, ["a"], chunk_size=5)
    store.append(np.full((12, 1), np.nan), np.ones((12, 6)), 0)
    assert np.isnan(store.read("observables")).all()
    assert store.verify() == []


@pytest.mark.parametrize(
    ("text", "field"),
    [(b'{"attributes": {', "JSONDecodeError"), (b"\xff\xfe\x00", "UnicodeDecodeError"), (b"", "")],
)
def test_corrupt_metadata_names_the_file(tmp_path, setup, text, field):
    url = tmp_path / "m.zarr"
    filled(url, setup)
    (url / "zarr.json").write_bytes(text)
    with pytest.raises(StoreCorruptError, match=rf"{url}/zarr.json: unreadable store metadata.*{field}"):
        EventStore.open(str(url))


def test_impossible_attribute_values_name_the_field(tmp_path, setup):
    for field, value in [("n_events", -5), ("n_events", "7"), ("chunk_size", 0), ("observables", [1])]:
        url = tmp_path / f"{field}-{value}.zarr"
        filled(url, setup)
        meta = json.loads((url / "zarr.json").read_text())
        meta["attributes"][field] = value
        (url / "zarr.json").write_text(json.dumps(meta))
        with pytest.raises(StoreCorruptError, match=rf"zarr.json: attribute '{field}' = .* is impossible"):
            EventStore.open(str(url))
    url = tmp_path / "arr.zarr"
    filled(url, setup)
    (url / "weights" / "zarr.json").write_text("{")
    with pytest.raises(StoreCorruptError, match=r"weights/zarr.json: unreadable array metadata"):
        EventStore.open(str(url))


def test_a_full_disk_names_the_store_and_keeps_the_committed_events(tmp_path, setup, monkeypatch):
    url = tmp_path / "f.zarr"
    store = filled(url, setup)

    def no_space(self, key, value):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zarr.Array, "__setitem__", no_space)
    with pytest.raises(
        StoreError, match=rf"{url}: writing rows 100\.\.110 of 'observables' failed.*No space"
    ):
        store.append(np.zeros((10, 3)), np.ones((10, 6)), 0)
    monkeypatch.undo()
    reopened = EventStore.open(str(url), mode="a")
    assert reopened.n_events == 100 and reopened.incomplete is not None
    reopened.append(np.zeros((10, 3)), np.ones((10, 6)), 0)  # repairs first
    assert reopened.n_events == 110 and reopened.verify() == []


def test_read_only_stores_refuse_writes(tmp_path, setup):
    url = tmp_path / "r.zarr"
    filled(url, setup)
    store = EventStore.open(str(url))
    with pytest.raises(StoreError, match="opened read-only"):
        store.append(np.zeros((1, 3)), np.ones((1, 6)), 0)
    with pytest.raises(StoreError, match="opened read-only"):
        store.write_sample("x", {"a": np.zeros(2)}, {})
    with pytest.raises(StoreError, match="managed by the store"):
        EventStore.open(str(url), mode="a").update_metadata(n_events=3)


def test_read_only_error_says_how_to_open_writable(tmp_path, setup):
    """Issue 22: the read-only refusal names the exact call that opens the store writable."""
    url = tmp_path / "r.zarr"
    filled(url, setup)
    with pytest.raises(StoreError) as err:
        EventStore.open(str(url)).append(np.zeros((1, 3)), np.ones((1, 6)), 0)
    assert f'EventStore.open({str(url)!r}, mode="a")' in str(err.value)
    EventStore.open(str(url), mode="a").append(np.zeros((1, 3)), np.ones((1, 6)), 0)  # as the message says


# -- identity of appended events ----------------------------------------------------------------------
def test_events_of_one_file_never_enter_twice(tmp_path, setup):
    lhe = tmp_path / "a.lhe"
    lhe.write_text("<LesHouchesEvents>\n" + "x" * 3000)
    ident = file_identity(lhe)
    copy = tmp_path / "copy.lhe"
    shutil.copy(lhe, copy)
    assert file_identity(copy)["digest"] == ident["digest"]  # by content, not path
    store = EventStore.create(str(tmp_path / "i.zarr"), setup, ["a"])
    store.append(np.zeros((3, 1)), np.ones((3, 6)), 0, source={"file": ident, "events": [0, 2000]})
    for span in ([0, 2000], [1000, 3000], [1999, 2001]):
        with pytest.raises(
            DuplicateSourceError, match=r"overlap events \[\(0, 2000\)\].*nothing was written"
        ):
            store.append(
                np.zeros((1, 1)), np.ones((1, 6)), 0, source={"file": file_identity(copy), "events": span}
            )
    store.append(np.zeros((2, 1)), np.ones((2, 6)), 0, source={"file": ident, "events": [2000, 5000]})
    assert store.n_events == 5
    assert [r[:2] for r in store.committed_ranges(f"{ident['size']}:{ident['digest']}")] == [
        (0, 2000),
        (2000, 5000),
    ]


def test_range_arithmetic():
    assert missing_ranges(5000, [(0, 2000)]) == [(2000, 5000)]
    assert missing_ranges(5000, [(0, 2000), (2000, 4000), (4000, 5000)]) == []
    assert missing_ranges(10, []) == [(0, 10)]
    assert split_ranges(missing_ranges(5000, [(0, 2000)]), 1000) == [(2000, 3000), (3000, 4000), (4000, 5000)]
    assert split_ranges([(2500, 5000)], 2000) == [(2500, 4000), (4000, 5000)]
    with pytest.raises(ValueError, match="positive"):
        split_ranges([(0, 1)], 0)


def test_inspect_verify_exits_1_on_damage(tmp_path, setup, capsys):
    from columnminer.cli import main

    url = tmp_path / "v.zarr"
    filled(url, setup)
    assert main(["inspect", str(url), "--verify"]) == 0
    assert "verified every chunk of 100 events" in capsys.readouterr().out
    os.remove(url / "weights" / "c" / "0" / "0")
    assert main(["inspect", str(url), "--verify"]) == 1
    err = capsys.readouterr().err
    assert "damaged (1 problem(s))" in err and "weights/c/0/0" in err and "Traceback" not in err
    assert main(["inspect", str(url)]) == 1  # without --verify the damage still is an error, not NaN
    err = capsys.readouterr().err
    assert "weights/c/0/0" in err and "Traceback" not in err


def test_combine_and_shuffle_refuses_the_same_events_twice_and_never_leaves_a_partial_store(
    tmp_path, setup, monkeypatch
):
    from columnminer.io.shuffle import combine_and_shuffle

    lhe = tmp_path / "a.lhe"
    lhe.write_text("<LesHouchesEvents>")
    a = EventStore.create(str(tmp_path / "a.zarr"), setup, ["x"])
    a.append(np.zeros((3, 1)), np.ones((3, 6)), 0, source={"file": file_identity(lhe), "events": [0, 3]})
    b = EventStore.create(str(tmp_path / "b.zarr"), setup, ["x"])
    b.append(np.zeros((2, 1)), np.ones((2, 6)), 0, source={"file": file_identity(lhe), "events": [2, 4]})
    with pytest.raises(DuplicateSourceError, match=r"is given twice"):
        combine_and_shuffle([a, str(tmp_path / "a.zarr")], str(tmp_path / "o.zarr"))
    with pytest.raises(DuplicateSourceError, match=r"both hold events 2\.\.3 of .*a\.lhe"):
        combine_and_shuffle([a, b], str(tmp_path / "o.zarr"))

    c = EventStore.create(str(tmp_path / "c.zarr"), setup, ["x"])
    c.append(np.ones((2, 1)), np.ones((2, 6)), 0)
    original = EventStore.append

    def dying(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(EventStore, "append", dying)
    with pytest.raises(KeyboardInterrupt):
        combine_and_shuffle([a, c], str(tmp_path / "o.zarr"))
    monkeypatch.setattr(EventStore, "append", original)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("o.zarr")) == []
    merged = combine_and_shuffle([a, c], str(tmp_path / "o.zarr"))
    assert merged.n_events == 5 and merged.metadata["combined_from"][0]["n_events"] == 3
