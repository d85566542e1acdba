"""The parallel whole-file LHE reader: the same arrays as the sequential reader, fallback on anything unusual."""

import gzip

import awkward as ak
import numpy as np
import pytest

from columnminer.errors import LHEFormatError
from columnminer.io._lhe_parallel import read_all
from columnminer.io._lhe_read import iter_chunks
from columnminer.io.lhe import example_lhe_file, read_lhe


def _sequential(path):
    chunks = [c for _, c in iter_chunks(path, 1 << 62, 2 << 20, whole=True)]
    return chunks[0] if len(chunks) == 1 else ak.concatenate(chunks)


def _same(a, b):
    return (
        ak.array_equal(a, b, equal_nan=True, check_parameters=True)
        and str(a.type) == str(b.type)
        and a.weights.fields == b.weights.fields
        and a.attrs == b.attrs
    )


@pytest.mark.parametrize("block", [None, 1 << 12])
@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_read_equals_sequential(lhe_file, lhe_name, block, threads):
    """Every real file, cut into many small blocks or not, on one or two threads: identical arrays."""
    path = lhe_file(lhe_name)
    out = read_all(path, threads=threads, block=block)
    assert out is not None
    assert _same(out, _sequential(path))


def test_many_blocks_of_a_large_file(lhe_file, tmp_path):
    """A plain and a gzip file of 20k Z events (streamed, not read whole) in 4 kB blocks."""
    data = gzip.open(lhe_file("testfile-madgraph-2.2.1-Z-mlm.lhe.gz")).read()
    first, last = data.index(b"<event"), data.rindex(b"</event>") + len(b"</event>\n")
    text = data[:first] + data[first:last] * 2 + b"</LesHouchesEvents>\n"
    plain, packed = tmp_path / "z.lhe", tmp_path / "z.lhe.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text, 1))
    ref = _sequential(plain)
    assert len(ref) == 20_000
    for path in (plain, packed):
        assert _same(read_all(path, threads=2, block=1 << 12), _sequential(path))
        assert _same(read_lhe(path), ref) or path == packed  # attrs name the file


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("1 1 1.0 91.2", "1 1 nan 91.2"),  # invalid event: raise / drop
        lambda t: t.replace("<wgt id='sm'>2.0</wgt>", "<wgt id='new'>2.0</wgt>"),  # undeclared weight id
        lambda t: t.replace("</LesHouchesEvents>\n", ""),  # no closing tag: a warning
        lambda t: t[: t.rindex("</event>")],  # truncated: an error
    ],
)
def test_unusual_files_fall_back_to_the_sequential_reader(tmp_path, edit):
    """read_all returns None; read_lhe then gives the sequential reader's result or error."""
    path = tmp_path / "x.lhe"
    path.write_text(edit(open(example_lhe_file()).read()))
    assert read_all(path) is None
    try:
        expected = _sequential(path)
    except LHEFormatError as exc:
        with pytest.raises(LHEFormatError, match=str(exc).split(":")[-1].strip()[:30]):
            read_lhe(path)
        return
    assert _same(read_lhe(path), expected)


def test_drop_mode_of_a_valid_file_lists_no_dropped_events():
    ev = read_lhe(example_lhe_file(), invalid="drop")
    assert ev.attrs["lhe_dropped_events"] == [] and len(ev) == 2
    assert np.isnan(ev.weights.bsm[1])


@pytest.mark.parametrize("mapped", [True, False])
@pytest.mark.parametrize("block", [1 << 12, 1 << 16])
def test_streamed_blocks_from_the_buffer_pool(lhe_file, lhe_name, block, mapped, monkeypatch):
    """Files read block by block (not whole): plain ones mapped (mmap, pages dropped as the parse goes on)
    or read into pooled buffers, gzip ones streamed, with events larger than a block (pp -> jj: 145
    weights, about 6 kB an event): the sequential reader's arrays."""
    import columnminer.io._lhe_parallel as parallel

    monkeypatch.setattr(parallel, "_WHOLE_BELOW", 0)
    monkeypatch.setattr(parallel, "_MAP", mapped)
    monkeypatch.setattr(parallel, "_DROP_EVERY", 1 << 14)  # drop pages after every few blocks
    path = lhe_file(lhe_name)
    out = read_all(path, threads=2, block=block)
    assert out is not None
    assert _same(out, _sequential(path))


def test_byte_source_readinto_fills_the_buffer(lhe_file, tmp_path):
    """ByteSource.readinto gives the bytes of the file, plain or gzip, whatever the buffer size."""
    from columnminer.io._lhe_source import ByteSource

    data = gzip.open(lhe_file("testfile-madgraph-2.2.1-Z-mlm.lhe.gz")).read()[: 3 << 20]
    plain, packed = tmp_path / "a.lhe", tmp_path / "a.lhe.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data, 1))
    for path, prefetch in ((plain, False), (packed, True), (packed, False)):
        src = ByteSource(path, 1 << 16, prefetch=prefetch)
        got, buf = [], np.empty(50_000, np.uint8)
        while n := src.readinto(buf):
            got.append(buf[:n].tobytes())
        src.close()
        assert b"".join(got) == data


_GZ_FILES = ["testfile-madgraph-2.2.1-Z-mlm.lhe.gz", "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz"]


@pytest.mark.parametrize("name", _GZ_FILES)
def test_isal_and_zlib_inflate_give_identical_arrays(lhe_file, name, monkeypatch):
    """gzip files inflated by ISA-L (streamed, overlapping the parse) and, with python-isal hidden, by
    libdeflate / zlib: the same arrays, buffer for buffer."""
    import columnminer.io._lhe_source as source

    path = lhe_file(name)
    fast = read_lhe(path)
    monkeypatch.setattr(source, "_ISAL", None)
    assert not source.fast_inflate_available()
    slow = read_lhe(path)
    assert _same(fast, slow)
    for a, b in zip(ak.to_buffers(fast)[2].values(), ak.to_buffers(slow)[2].values(), strict=True):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_a_gzip_stream_isal_refuses_is_read_again_with_zlib(lhe_file, tmp_path, monkeypatch):
    """A corrupt or truncated gzip file read through ISA-L ends in zlib's error (the reference), as without
    python-isal; a refusal of ISA-L alone (simulated) falls back to zlib and reads the file."""
    import columnminer.io._lhe_source as source

    blob = gzip.compress(gzip.open(lhe_file(_GZ_FILES[0])).read()[: 4 << 20], 1)
    cut = tmp_path / "cut.lhe.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    bad = tmp_path / "bad.lhe.gz"
    bad.write_bytes(blob[:20000] + bytes(5000) + blob[25000:])
    errors = []
    for isal in (source._ISAL, None):
        monkeypatch.setattr(source, "_ISAL", isal)
        for path in (cut, bad):
            with pytest.raises(LHEFormatError) as err:
                read_lhe(path)
            errors.append(str(err.value))
    assert errors[:2] == errors[2:] and "gzip stream ends early" in errors[0]

    class Refusing:  # an inflater that gives up on every stream
        @staticmethod
        def decompressobj(wbits):
            return Refusing()

        def decompress(self, data, max_length=0):
            raise ValueError("refused")

    good = lhe_file(_GZ_FILES[0])
    monkeypatch.setattr(source, "_ISAL", None)
    ref = read_lhe(good)
    monkeypatch.setattr(source, "_ISAL", Refusing)
    with pytest.raises(source.InflateFallback):
        source.ByteSource(good, fast_inflate=True).read()
    assert _same(read_lhe(good), ref)
