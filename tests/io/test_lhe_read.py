"""columnminer.io.lhe against pylhe on every LHE file of tests/data/, chunked iteration, and format variants."""

import gzip
import re
import tracemalloc

import awkward as ak
import numpy as np
import pytest

from columnminer.io.lhe import (
    EVENT_FIELDS,
    PARTICLE_FIELDS,
    count_lhe_events,
    iterate_lhe,
    read_lhe,
    read_lhe_header,
)

PYLHE_PARTICLE = dict(zip(PARTICLE_FIELDS, [*PARTICLE_FIELDS[:10], "m", "lifetime", "spin"], strict=True))
_REFERENCE: dict[str, tuple] = {}


def pylhe_reference(path):
    """Event info, particles and weights as pylhe reads them (cached per file)."""
    pylhe = pytest.importorskip("pylhe")
    key = str(path)
    if key not in _REFERENCE:
        events = list(pylhe.LHEFile.fromfile(key).events)
        info = np.array([[getattr(e.eventinfo, f) for f in EVENT_FIELDS] for e in events], dtype=float)
        parts = np.array(
            [[getattr(p, PYLHE_PARTICLE[f]) for f in PARTICLE_FIELDS] for e in events for p in e.particles],
            dtype=float,
        ).reshape(-1, len(PARTICLE_FIELDS))
        counts = np.array([len(e.particles) for e in events])
        _REFERENCE[key] = (info, parts, counts, [e.weights for e in events])
    return _REFERENCE[key]


def test_every_number_equals_pylhe(lhe_file, lhe_name):
    path = lhe_file(lhe_name)
    info, parts, counts, weights = pylhe_reference(path)
    events = read_lhe(path)
    assert len(events) == len(info) > 0
    for k, field in enumerate(EVENT_FIELDS):
        np.testing.assert_array_equal(ak.to_numpy(events[field]), info[:, k], err_msg=field)
    np.testing.assert_array_equal(ak.to_numpy(ak.num(events.particles)), counts)
    for k, field in enumerate(PARTICLE_FIELDS):
        mine = ak.to_numpy(ak.flatten(events.particles[field]))
        np.testing.assert_array_equal(mine, parts[:, k], err_msg=field)
    ids = list(dict.fromkeys(i for w in weights for i in w))
    assert list(events.weights.fields)[: len(ids)] == ids
    for wid in ids:
        ref = np.array([w.get(wid, np.nan) for w in weights])
        np.testing.assert_array_equal(ak.to_numpy(events.weights[wid]), ref, err_msg=wid)


def test_schema_types_and_vector_behaviour(lhe_file):
    events = read_lhe(lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz"))
    assert events.fields == [*EVENT_FIELDS, "particles", "weights"]
    assert events.weights.fields == [str(i) for i in range(1, 146)]  # header order
    assert str(ak.type(events.nparticles)).endswith("int64")
    assert str(ak.type(events.particles.id)).endswith("int64")
    assert str(ak.type(events.weights["7"])).endswith("float64")
    p = events.particles
    pt = np.hypot(ak.to_numpy(ak.flatten(p.px)), ak.to_numpy(ak.flatten(p.py)))
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(p.pt)), pt)
    # the two outgoing gluons balance the incoming momenta: their sum has the beams' pz and energy
    pair = p[:, 2] + p[:, 3]
    np.testing.assert_allclose(ak.to_numpy(pair.pz), ak.to_numpy(p[:, 0].pz + p[:, 1].pz), atol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(pair.E), ak.to_numpy(p[:, 0].e + p[:, 1].e), rtol=1e-9)
    assert events.attrs["lhe_path"].endswith("pp_to_jj.lhe.gz")


@pytest.mark.parametrize(
    ("name", "block", "step"),
    [
        ("testfile-powheg-box-v2-W.lhe", 37, 1),
        ("testlhef3.lhe", 500, 7),
        ("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz", 4096, 333),
        ("testfile-madgraph-2.2.1-Z-mlm.lhe.gz", 100_000, 4000),
    ],
)
def test_iteration_matches_whole_read(lhe_file, name, block, step):
    path = lhe_file(name)
    whole = read_lhe(path)
    chunks = list(iterate_lhe(path, step_size=step, block_size=block))
    assert [len(c) for c in chunks[:-1]] == [step] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) <= step
    starts = [c.attrs["lhe_first_event"] for c in chunks]
    assert starts == [k * step for k in range(len(chunks))]
    joined = ak.concatenate(chunks)
    assert ak.array_equal(joined, whole, equal_nan=True)


def test_gzip_and_plain_give_the_same_events(lhe_file, tmp_path):
    src = lhe_file("testlhef3.lhe")
    gz = tmp_path / "copy.lhe.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    # a multi-member gzip (concatenated streams) is one file too
    data = src.read_bytes()
    cut = data.index(b"<event", len(data) // 2)
    multi = tmp_path / "multi.lhe.gz"
    multi.write_bytes(gzip.compress(data[:cut]) + gzip.compress(data[cut:]))
    plain = read_lhe(src)
    assert ak.array_equal(read_lhe(gz), plain, equal_nan=True)
    assert ak.array_equal(read_lhe(multi), plain, equal_nan=True)


def test_both_quote_styles_and_comments(lhe_file, tmp_path):
    src = lhe_file("testlhef3.lhe").read_bytes()
    ref = read_lhe(lhe_file("testlhef3.lhe"))
    # single quotes in the events, spaces around '=', XML comments between and inside events
    text = src.replace(b'<wgt id="1004">', b"<wgt  id = '1004' >")
    text = text.replace(b"</event>\n", b"</event>\n<!-- a comment with <event> inside -->\n", 3)
    text = text.replace(b"<rwgt>", b"<!-- <wgt id='1001'> 99 </wgt> -->\n<rwgt>", 2)
    path = tmp_path / "quotes.lhe"
    path.write_bytes(text)
    got = read_lhe(path)
    assert ak.array_equal(got, ref, equal_nan=True)
    np.testing.assert_array_equal(ak.to_numpy(got.weights["1004"]), ak.to_numpy(ref.weights["1004"]))


def test_undeclared_ids_missing_weights_and_positional_weights(lhe_file, tmp_path):
    src = lhe_file("testlhef3.lhe").read_bytes()
    # drop the weight declarations: ids are discovered in the events, in order of appearance
    # (positional <weights> need the declarations: they go too)
    text = re.sub(rb"<initrwgt>.*?</initrwgt>", b"", src, flags=re.S)
    text = re.sub(rb"<weights>.*?</weights>", b"", text, flags=re.S)
    # event 2 lacks weight 1005
    first = text.index(b"<event")
    second = text.index(b"<event", first + 1)
    third = text.index(b"<event", second + 1)
    block = text[third : text.index(b"</event>", third)]
    text = (
        text[:third] + block.replace(b'<wgt id="1005"> 0.43255E+02 </wgt>', b"") + text[third + len(block) :]
    )
    path = tmp_path / "undeclared.lhe"
    path.write_bytes(text)
    assert read_lhe_header(path).weight_ids == []
    events = read_lhe(path)
    assert events.weights.fields == [str(i) for i in range(1001, 1010)]
    w1005 = ak.to_numpy(events.weights["1005"])
    assert np.isnan(w1005[2]) and not np.isnan(np.delete(w1005, 2)).any()
    # positional <weights> fill the header's ids by position where <rwgt> is absent
    no_rwgt = re.sub(rb"<rwgt>.*?</rwgt>", b"", src, flags=re.S)
    path2 = tmp_path / "positional.lhe"
    path2.write_bytes(no_rwgt)
    pos = read_lhe(path2)
    np.testing.assert_array_equal(ak.to_numpy(pos.weights["1001"])[:1], [1.0])
    np.testing.assert_array_equal(ak.to_numpy(pos.weights["1003"])[:1], [1.564])
    assert np.isnan(ak.to_numpy(pos.weights["1004"])).all()


def test_unusual_numbers_are_parsed_like_python(lhe_file, tmp_path):
    src = lhe_file("testfile-powheg-box-v2-W.lhe").read_bytes()
    tokens = [b"1.0000000000000000000001e+00", b"1.5D+01", b"-2.5e-30", b"123456789012345678901", b"7"]
    text = src
    start = text.index(b"<event>")
    line_start = text.index(b"\n", start) + 1
    line_end = text.index(b"\n", line_start)
    info = text[line_start:line_end].split()
    info[2:4] = tokens[:2]
    text = text[:line_start] + b" ".join(info) + text[line_end:]
    p_start = text.index(b"\n", line_start) + 1
    p_end = text.index(b"\n", p_start)
    fields = text[p_start:p_end].split()
    fields[6:9] = tokens[2:5]
    text = text[:p_start] + b" ".join(fields) + text[p_end:]
    path = tmp_path / "numbers.lhe"
    path.write_bytes(text)
    ev = read_lhe(path)
    assert ev.weight[0] == 1.0 and ev.scale[0] == 15.0
    assert ev.particles.px[0, 0] == float("-2.5e-30")
    assert ev.particles.py[0, 0] == float("123456789012345678901")
    assert ev.particles.pz[0, 0] == 7.0


def test_count_and_empty_event_list(lhe_file, tmp_path):
    assert count_lhe_events(lhe_file("testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")) == 1000
    assert count_lhe_events(lhe_file("testfile-pr29.lhe")) == 791
    src = lhe_file("testfile-powheg-box-v2-W.lhe").read_bytes()
    path = tmp_path / "noevents.lhe"
    path.write_bytes(src[: src.index(b"<event>")] + b"</LesHouchesEvents>\n")
    events = read_lhe(path)
    assert len(events) == 0
    assert events.weights.fields == ["ct10"]


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_iteration_memory_is_bounded_by_the_block(lhe_file):
    path = lhe_file("testfile-madgraph-2.2.1-Z-mlm.lhe.gz")
    counted = []
    iter_peak = _peak(
        lambda: counted.append(sum(len(c) for c in iterate_lhe(path, 500, block_size=256 << 10)))
    )
    read_peak = _peak(lambda: read_lhe(path))
    assert counted == [10_000]
    # the decompressed file is about 10 MB: reading it whole costs several times what iterating
    # it in 256 kB blocks and 500-event chunks costs
    assert iter_peak < 0.4 * read_peak, (iter_peak, read_peak)
    assert iter_peak < 10e6, iter_peak
