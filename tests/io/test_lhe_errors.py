"""Malformed LHE input: every problem is an LHEFormatError naming the file, the event and the line."""

import gzip
import re

import awkward as ak
import pytest

from columnminer.errors import LHEFormatError
from columnminer.io.lhe import iterate_lhe, read_lhe, read_lhe_header

SOURCE = "testfile-powheg-box-v2-W.lhe"  # 100 events, 6 particles each, one <rwgt> weight


@pytest.fixture
def src(lhe_file) -> bytes:
    return lhe_file(SOURCE).read_bytes()


def event_starts(data: bytes) -> list[int]:
    return [m.start() for m in re.finditer(rb"<event>", data)]


def line_no(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def particle_line(data: bytes, event: int, k: int) -> tuple[int, int]:
    """Byte span of particle line ``k`` of event ``event``."""
    start = data.index(b"\n", event_starts(data)[event]) + 1  # event-information line
    for _ in range(k + 1):
        start = data.index(b"\n", start) + 1
    return start, data.index(b"\n", start)


def write(tmp_path, name: str, data: bytes, gz: bool = False):
    path = tmp_path / (name + (".lhe.gz" if gz else ".lhe"))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def check(err: LHEFormatError, path, event: int | None, line: int | None) -> None:
    msg = str(err)
    assert str(path) in msg and err.path == str(path)
    if event is not None:
        assert err.event == event and f"event {event}" in msg
        assert err.n_complete_events == event and f"{event} complete events" in msg
    if line is not None:
        assert err.line == line and f"line {line}" in msg


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_mid_event_and_mid_particle_line(src, tmp_path, gz):
    starts = event_starts(src)
    # mid-particle-line of event 5
    a, b = particle_line(src, 5, 2)
    path = write(tmp_path, "mid_line", src[: (a + b) // 2], gz)
    with pytest.raises(LHEFormatError, match="truncated") as err:
        read_lhe(path)
    check(err.value, path, 5, line_no(src, starts[5]))
    # after the weights, before </event> of event 42
    cut = src.index(b"</rwgt>", starts[42])
    path = write(tmp_path, "mid_event", src[:cut], gz)
    with pytest.raises(LHEFormatError, match="truncated") as err:
        read_lhe(path)
    check(err.value, path, 42, line_no(src, starts[42]))


def test_truncated_gzip_stream(src, tmp_path):
    blob = gzip.compress(src)
    path = tmp_path / "cut.lhe.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(LHEFormatError, match="gzip stream ends early") as err:
        read_lhe(path)
    assert 0 < err.value.n_complete_events < 100 and err.value.line > 1


def test_iteration_delivers_complete_events_before_the_error(src, tmp_path):
    starts = event_starts(src)
    path = write(tmp_path, "trunc", src[: starts[23] + 200])
    got = []
    with pytest.raises(LHEFormatError) as err:
        for chunk in iterate_lhe(path, step_size=10, block_size=1000):
            got.append(chunk)
    assert [len(c) for c in got] == [10, 10, 3]
    assert err.value.n_complete_events == 23 == sum(len(c) for c in got)
    check(err.value, path, 23, line_no(src, starts[23]))
    whole = read_lhe(write(tmp_path, "whole", src))
    assert ak.array_equal(ak.concatenate(got), whole[:23])


def test_malformed_particle_line(src, tmp_path):
    a, b = particle_line(src, 3, 1)
    bad = src[:a] + b" ".join(src[a:b].split()[:12]) + src[b:]
    path = write(tmp_path, "short_line", bad)
    with pytest.raises(LHEFormatError, match="malformed particle line") as err:
        read_lhe(path)
    check(err.value, path, 3, line_no(bad, a))
    assert err.value.field == "particle"
    # two particle lines glued into one
    a2, b2 = particle_line(src, 60, 0)
    glued = src[:b2] + b" " + src[b2 + 1 :]
    path = write(tmp_path, "glued", glued)
    with pytest.raises(LHEFormatError, match="malformed particle line") as err:
        read_lhe(path)
    check(err.value, path, 60, line_no(glued, a2))


def test_wrong_particle_count(src, tmp_path):
    a, b = particle_line(src, 17, 4)
    bad = src[:a] + src[b + 1 :]  # drop one of the six particle lines
    path = write(tmp_path, "count", bad)
    with pytest.raises(LHEFormatError, match="announces 6 particles, 5 lines follow") as err:
        read_lhe(path)
    check(err.value, path, 17, line_no(src, event_starts(src)[17]))
    assert err.value.field == "nparticles"


@pytest.mark.parametrize(("token", "field"), [(b"abc", "px"), (b"1.2.3", "px"), (b"nan(x)", "px")])
def test_non_numeric_token(src, tmp_path, token, field):
    a, b = particle_line(src, 8, 2)
    fields = src[a:b].split()
    fields[6] = token
    bad = src[:a] + b" ".join(fields) + src[b:]
    path = write(tmp_path, "token", bad)
    with pytest.raises(LHEFormatError, match="non-numeric") as err:
        read_lhe(path)
    check(err.value, path, 8, line_no(bad, a))
    assert err.value.field == field and token.decode() in str(err.value)


def test_non_numeric_weight_and_event_info(src, tmp_path):
    starts = event_starts(src)
    k = src.index(b"0.501185669E+04", starts[30])
    bad = src[:k] + b"heavy" + src[k + len(b"0.501185669E+04") :]
    path = write(tmp_path, "weight", bad)
    with pytest.raises(LHEFormatError, match="'heavy'") as err:
        read_lhe(path)
    check(err.value, path, 30, line_no(bad, k))
    assert err.value.field == "ct10"
    line = src.index(b"\n", starts[12]) + 1
    end = src.index(b"\n", line)
    bad = src[:line] + b" ".join(src[line:end].split()[:5]) + src[end:]
    path = write(tmp_path, "info", bad)
    with pytest.raises(LHEFormatError, match="6 numbers") as err:
        read_lhe(path)
    check(err.value, path, 12, line_no(bad, line))


def test_empty_and_non_lhe_files(tmp_path, src):
    for name, data in [("empty", b""), ("blank", b"\n\n  \n")]:
        path = write(tmp_path, name, data)
        with pytest.raises(LHEFormatError, match="empty file") as err:
            read_lhe(path)
        assert err.value.path == str(path) and err.value.n_complete_events == 0
    for name, data in [
        ("text", b"just some text\nover two lines\n"),
        ("xml", b"<?xml version='1.0'?>\n<root><event>1 2 3</event></root>\n"),
        ("binary", bytes(range(256)) * 40),
    ]:
        path = write(tmp_path, name, data)
        with pytest.raises(LHEFormatError, match="not a Les Houches Event file") as err:
            read_lhe(path)
        assert err.value.line == 1 and str(path) in str(err.value)
    path = write(tmp_path, "noinit", src.replace(b"<init>", b"<inti>"))
    with pytest.raises(LHEFormatError, match="<init>"):
        read_lhe_header(path)
    with pytest.raises(FileNotFoundError):
        read_lhe(tmp_path / "does-not-exist.lhe")


def test_missing_closing_tag_is_accepted_with_a_warning(src, tmp_path, caplog):
    path = write(tmp_path, "noclose", src[: src.rindex(b"</LesHouchesEvents>")])
    with caplog.at_level("WARNING"):
        events = read_lhe(path)
    assert len(events) == 100
    assert "no closing </LesHouchesEvents>" in caplog.text
