"""Strict LHE reading: every complete event before a bad one, content checks, and ``invalid="drop"``.

The inputs are small synthetic files written in ``tmp_path``: 60 events of three particles each with
two declared weights, in which one or a few events are spoiled on purpose.
"""

import gzip
import logging

import awkward as ak
import numpy as np
import pytest

from columnminer.errors import InputFormatError, LHEFormatError
from columnminer.io._lhe_read import iter_chunks
from columnminer.io.lhe import iterate_lhe, read_lhe

N_EVENTS = 60
LOGGER = "columnminer.io._lhe_read"

HEADER = """<LesHouchesEvents version="3.0">
<header>
<initrwgt><weightgroup name="benchmarks"><weight id="sm">SM</weight><weight id="bsm">BSM</weight>
</weightgroup></initrwgt>
</header>
<init>
2212 2212 6500 6500 0 0 247000 247000 -4 1
2.5 0.1 2.5 1
</init>
"""
FOOTER = "</LesHouchesEvents>\n"


def event_lines(k: int) -> list[str]:
    """The lines of event ``k``: tag, event information, three particles, weights, closing tag.

    Line indices used below: 1 = event information, 2..4 = particles, 5 = weights.
    """
    pz = 10.0 + k
    e = np.sqrt(pz**2 + 91.0**2)
    return [
        "<event>",
        f" 3 1 {1.0 + k / 100:.6e} 9.12e+01 7.8e-03 1.18e-01",
        f" 2 -1 0 0 501 0 0.0 0.0 {pz / 2:.6e} {pz / 2:.6e} 0.0 0 9",
        f" -2 -1 0 0 0 501 0.0 0.0 {-pz / 2:.6e} {pz / 2:.6e} 0.0 0 9",
        f" 23 1 1 2 0 0 {0.1 * k:.6e} 0.0 0.0 {e:.6e} 9.1e+01 0 9",
        f"<rwgt><wgt id='sm'>{1.0 + k / 100:.6e}</wgt><wgt id='bsm'>{2.0 + k / 100:.6e}</wgt></rwgt>",
        "</event>",
    ]


def build(edits: dict[int, callable] | None = None, n: int = N_EVENTS) -> tuple[str, list[int]]:
    """File text with ``edits[k](lines)`` applied to event k, and the 1-based line of every event tag."""
    text, starts, line = [HEADER], [], HEADER.count("\n") + 1
    for k in range(n):
        lines = event_lines(k)
        if edits and k in edits:
            lines = edits[k](lines)
        starts.append(line)
        line += len(lines)
        text.append("\n".join(lines) + "\n")
    return "".join(text) + FOOTER, starts


def write(tmp_path, text: str, name: str = "events.lhe", gz: bool = False):
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def set_token(line: int, column: int, token: str):
    """Edit: replace number ``column`` of line ``line`` of an event."""

    def edit(lines: list[str]) -> list[str]:
        out = list(lines)
        fields = out[line].split()
        fields[column] = token
        out[line] = " " + " ".join(fields)
        return out

    return edit


def replace_line(line: int, new: str):
    def edit(lines: list[str]) -> list[str]:
        return [*lines[:line], new, *lines[line + 1 :]]

    return edit


def check_error(err: LHEFormatError, path, event: int, line: int, field: str, n_complete: int) -> None:
    assert isinstance(err, InputFormatError)
    assert (err.path, err.event, err.line, err.field) == (str(path), event, line, field)
    assert err.n_complete_events == n_complete
    msg = str(err)
    assert str(path) in msg and f"event {event} (line {line}, field {field})" in msg
    assert f"{n_complete} complete events before it" in msg


def same_events(got: list[ak.Array] | ak.Array, ref: ak.Array) -> bool:
    """Equal event information, particles and declared weights (an undeclared id met in a rejected
    event may add a weight field of NaN to the chunk that reached it)."""
    chunks = got if isinstance(got, list) else [got]
    cols = ["nparticles", "pid", "weight", "scale", "aqed", "aqcd", "particles"]
    joined = ak.concatenate([c[cols] for c in chunks]) if chunks else ref[cols][:0]
    weights = ak.concatenate([c.weights[["sm", "bsm"]] for c in chunks]) if chunks else ref.weights[:0]
    return ak.array_equal(joined, ref[cols]) and ak.array_equal(weights, ref.weights, equal_nan=True)


@pytest.fixture
def clean(tmp_path) -> ak.Array:
    return read_lhe(write(tmp_path, build()[0], "clean.lhe"))


# ---- 1. every complete event before a bad one is delivered, and counted


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("step", "sizes"), [(10, [10, 10, 10, 10, 10, 4]), (7, [7] * 7 + [5]), (100_000, [54])]
)
def test_iteration_yields_every_event_before_a_non_numeric_token(tmp_path, clean, gz, step, sizes):
    text, starts = build({54: set_token(3, 6, "abc")})  # px of the second particle of event 54
    path = write(tmp_path, text, gz=gz)
    got = []
    with pytest.raises(LHEFormatError, match="non-numeric token 'abc'") as err:
        for chunk in iterate_lhe(path, step_size=step):
            got.append(chunk)
    assert [len(c) for c in got] == sizes
    assert [c.attrs["lhe_first_event"] for c in got] == [k * step for k in range(len(got))]
    check_error(err.value, path, 54, starts[54] + 3, "px", 54)
    assert err.value.n_complete_events == sum(len(c) for c in got)
    assert same_events(got, clean[:54])
    # a whole read cannot return a part: it raises the same error
    with pytest.raises(LHEFormatError) as whole:
        read_lhe(path)
    check_error(whole.value, path, 54, starts[54] + 3, "px", 54)


def test_first_event_bad_yields_nothing(tmp_path):
    text, starts = build({0: set_token(2, 0, "11.7")})
    path = write(tmp_path, text)
    chunks = []
    with pytest.raises(LHEFormatError, match=r"id must be an integer, not '11\.7'") as err:
        chunks.extend(iterate_lhe(path, step_size=10))
    assert chunks == []
    check_error(err.value, path, 0, starts[0] + 2, "id", 0)


# ---- 2. content checks: each case names file, event, line and field

CASES = {
    # name: (edit of the event, line of the error relative to the event tag, field, message part)
    "nup_negative": (
        set_token(1, 0, "-1"),
        1,
        "nparticles",
        "NUP must be a positive number of particles, not -1",
    ),
    "nup_zero": (lambda ls: [ls[0], ls[1].replace(" 3 1", " 0 1", 1), *ls[5:]], 1, "nparticles", "not 0"),
    "nup_non_integer": (set_token(1, 0, "2.5"), 1, "nparticles", "nparticles must be an integer, not '2.5'"),
    "nup_mismatch": (set_token(1, 0, "4"), 0, "nparticles", "announces 4 particles, 3 lines follow"),
    "id_non_integer": (set_token(2, 0, "11.7"), 2, "id", "id must be an integer, not '11.7'"),
    "id_huge": (set_token(2, 0, "1e30"), 2, "id", "id must be an integer, not '1e30'"),
    "id_out_of_int64": (set_token(2, 0, "1e20"), 2, "id", "id must be an integer"),
    "status_non_integer": (set_token(3, 1, "-1.5"), 3, "status", "status must be an integer"),
    "mother1_non_integer": (set_token(4, 2, "0.5"), 4, "mother1", "mother1 must be an integer"),
    "mother2_nan": (set_token(4, 3, "nan"), 4, "mother2", "mother2 must be an integer, not 'nan'"),
    "color1_non_integer": (set_token(2, 4, "501.25"), 2, "color1", "color1 must be an integer"),
    "color2_integral_float": (set_token(3, 5, "5.01e2"), 3, "color2", None),  # 501: valid, see below
    "pid_non_integer": (set_token(1, 1, "1.5"), 1, "pid", "pid must be an integer"),
    "duplicate_weight": (
        replace_line(5, "<rwgt><wgt id='sm'>1.0</wgt><wgt id='bsm'>2.0</wgt><wgt id='sm'>3.0</wgt></rwgt>"),
        5,
        "sm",
        "weight id 'sm' appears more than once",
    ),
    "duplicate_undeclared_weight": (
        lambda ls: [*ls[:5], "<rwgt><wgt id='x1'>1.0</wgt>", "<wgt id='x1'>3.0</wgt></rwgt>", ls[6]],
        6,
        "x1",
        "weight id 'x1' appears more than once",
    ),
    "px_nan": (set_token(2, 6, "nan"), 2, "px", "non-finite value 'nan'"),
    "py_inf": (set_token(3, 7, "inf"), 3, "py", "non-finite value 'inf'"),
    "pz_minus_inf": (set_token(4, 8, "-Infinity"), 4, "pz", "non-finite value '-Infinity'"),
    "e_overflow": (set_token(4, 9, "1e400"), 4, "e", "non-finite value '1e400'"),
    "mass_nan": (set_token(4, 10, "NaN"), 4, "lhe_mass", "non-finite value 'NaN'"),
    "weight_nan": (set_token(1, 2, "nan"), 1, "weight", "non-finite value 'nan'"),
    "weight_inf": (set_token(1, 2, "-inf"), 1, "weight", "non-finite value '-inf'"),
    "non_numeric_weight": (replace_line(5, "<rwgt><wgt id='sm'>heavy</wgt></rwgt>"), 5, "sm", "'heavy'"),
    "short_particle_line": (lambda ls: [*ls[:3], " ".join(ls[3].split()[:12]), *ls[4:]], 3, "particle", "13"),
    "long_info_line": (lambda ls: [ls[0], ls[1] + " 7", *ls[2:]], 1, "eventinfo", "6 numbers"),
}
BAD = 31  # the spoiled event


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3] is not None])
def test_invalid_content_is_an_error_naming_event_line_and_field(tmp_path, clean, case):
    edit, rel_line, field, message = CASES[case]
    text, starts = build({BAD: edit})
    path = write(tmp_path, text)
    got = []
    with pytest.raises(LHEFormatError, match=message.replace("(", r"\(").replace(".", r"\.")) as err:
        for chunk in iterate_lhe(path, step_size=8):
            got.append(chunk)
    assert [len(c) for c in got] == [8, 8, 8, 7]
    check_error(err.value, path, BAD, starts[BAD] + rel_line, field, BAD)
    assert same_events(got, clean[:BAD])
    with pytest.raises(LHEFormatError) as small:  # events cut by block boundaries
        list(iterate_lhe(path, step_size=8, block_size=97))
    check_error(small.value, path, BAD, starts[BAD] + rel_line, field, BAD)
    with pytest.raises(LHEFormatError) as whole:
        read_lhe(path)
    check_error(whole.value, path, BAD, starts[BAD] + rel_line, field, BAD)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3] is not None])
def test_drop_leaves_out_the_invalid_event(tmp_path, clean, case, caplog):
    text, _ = build({BAD: CASES[case][0]})
    path = write(tmp_path, text)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = read_lhe(path, invalid="drop")
    assert len(events) == N_EVENTS - 1
    assert events.attrs["lhe_dropped_events"] == [BAD]
    keep = np.arange(N_EVENTS) != BAD
    assert same_events(events, clean[keep])
    records = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(records) == 1
    assert (
        f"dropped 1 events with invalid content (invalid='drop'), event indices {BAD};"
        in records[0].getMessage()
    )
    assert CASES[case][2] in records[0].getMessage()


def test_integral_values_written_as_floats_are_integers(tmp_path, clean):
    # "5.01e2" is 501, "2.0" is 2: integers, whatever their spelling
    text, _ = build({BAD: lambda ls: set_token(2, 0, "2.0")(CASES["color2_integral_float"][0](ls))})
    events = read_lhe(write(tmp_path, text))
    assert ak.array_equal(events, clean)


def test_drop_several_events_while_iterating(tmp_path, clean, caplog):
    bad = {3: "px_nan", 17: "id_non_integer", 18: "duplicate_weight", 42: "nup_negative", 59: "weight_inf"}
    text, _ = build({k: CASES[c][0] for k, c in bad.items()})
    path = write(tmp_path, text)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        chunks = list(iterate_lhe(path, step_size=10, invalid="drop"))
    assert [len(c) for c in chunks] == [10, 10, 10, 10, 10, 5]
    assert [c.attrs["lhe_dropped_events"] for c in chunks] == [[3], [17, 18], [], [42], [], [59]]
    keep = np.setdiff1d(np.arange(N_EVENTS), list(bad))
    assert [c.attrs["lhe_first_event"] for c in chunks] == [int(keep[k]) for k in range(0, 55, 10)]
    assert same_events(chunks, clean[keep])
    msgs = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(msgs) == 1
    assert "dropped 5 events" in msgs[0] and "event indices 3, 17, 18, 42, 59;" in msgs[0]
    assert "first: event 3: non-finite value 'nan' (field px)" in msgs[0]
    # small blocks (events cut by block boundaries), the internal chunk iterator, and a whole read
    small = list(iterate_lhe(path, step_size=10, block_size=97, invalid="drop"))
    assert [c.attrs["lhe_dropped_events"] for c in small] == [[3], [17, 18], [], [42], [], [59]]
    assert same_events(small, clean[keep])
    assert sum(len(c) for _, c in iter_chunks(path, 7, 4096, invalid="drop")) == N_EVENTS - 5
    whole = read_lhe(path, invalid="drop", normalize=True)
    assert whole.attrs["lhe_dropped_events"] == [3, 17, 18, 42, 59]
    np.testing.assert_allclose(ak.to_numpy(whole.weight), ak.to_numpy(clean.weight)[keep] / len(keep))


def test_drop_reports_the_first_indices_only(tmp_path, caplog):
    text, _ = build({k: CASES["px_nan"][0] for k in range(0, 60, 2)})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = read_lhe(write(tmp_path, text), invalid="drop")
    assert len(events) == 30 and events.attrs["lhe_dropped_events"] == list(range(0, 60, 2))
    (msg,) = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert "dropped 30 events" in msg and "event indices 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, ...;" in msg


def test_drop_of_every_event_gives_an_empty_array(tmp_path):
    text, _ = build({k: CASES["nup_negative"][0] for k in range(N_EVENTS)})
    events = read_lhe(write(tmp_path, text), invalid="drop")
    assert len(events) == 0 and len(events.attrs["lhe_dropped_events"]) == N_EVENTS
    assert events.weights.fields == ["sm", "bsm"]


def test_no_warning_and_same_result_without_invalid_events(tmp_path, clean, caplog):
    path = write(tmp_path, build()[0])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = read_lhe(path, invalid="drop")
    assert ak.array_equal(events, clean) and events.attrs["lhe_dropped_events"] == []
    assert not [r for r in caplog.records if r.name == LOGGER]


# ---- 3. structural problems raise in both modes


@pytest.mark.parametrize("invalid", ["raise", "drop"])
@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file_raises_even_when_dropping(tmp_path, invalid, gz, caplog):
    text, starts = build({5: CASES["px_nan"][0]} if invalid == "drop" else None)
    cut = text.index("<event>", text.index("<event>") + 1)
    for _ in range(39):
        cut = text.index("<event>", cut + 1)  # the tag of event 40
    path = write(tmp_path, text[: cut + 60], gz=gz)
    got = []
    with (
        caplog.at_level(logging.WARNING, logger=LOGGER),
        pytest.raises(LHEFormatError, match="truncated") as err,
    ):
        for chunk in iterate_lhe(path, step_size=16, invalid=invalid):
            got.append(chunk)
    n_valid = 39 if invalid == "drop" else 40
    assert err.value.event == 40 and err.value.line == starts[40]
    assert err.value.n_complete_events == n_valid == sum(len(c) for c in got)
    assert f"{n_valid} complete events before it" in str(err.value)
    if invalid == "drop":
        assert "dropped 1 events" in caplog.text


@pytest.mark.parametrize("invalid", ["raise", "drop"])
@pytest.mark.parametrize("what", ["next_event", "end_of_file"])
def test_unterminated_event_raises(tmp_path, clean, invalid, what):
    if what == "next_event":  # event 30 lacks its </event>: today it would swallow event 31
        text, starts = build({30: lambda ls: ls[:-1]})
        line, at = starts[30], starts[31]
        n_before = 30
    else:  # the last event lacks its </event>
        text, starts = build({N_EVENTS - 1: lambda ls: ls[:-1]})
        line, at = starts[N_EVENTS - 1], starts[N_EVENTS - 1] + 6
        n_before = N_EVENTS - 1
    path = write(tmp_path, text)
    got = []
    with pytest.raises(LHEFormatError, match="unterminated event") as err:
        for chunk in iterate_lhe(path, step_size=12, invalid=invalid):
            got.append(chunk)
    assert (err.value.event, err.value.line, err.value.field) == (n_before, line, "event")
    assert f"(line {at}) before its </event>" in str(err.value)
    assert err.value.n_complete_events == n_before == sum(len(c) for c in got)
    assert same_events(got, clean[:n_before])
    with pytest.raises(LHEFormatError, match="unterminated event"):
        read_lhe(path, invalid=invalid)


def test_unknown_invalid_mode_is_rejected(tmp_path):
    path = write(tmp_path, build()[0])
    with pytest.raises(ValueError, match="invalid must be one of"):
        read_lhe(path, invalid="skip")
    with pytest.raises(ValueError, match="invalid must be one of"):
        next(iterate_lhe(path, invalid="ignore"))
    with pytest.raises(ValueError, match="invalid must be one of"):
        next(iter_chunks(path, 10, invalid="warn"))


def test_read_lhe_entry_ranges_equal_slices_of_the_whole_file():
    """``read_lhe(path, entry_start, entry_stop)`` reads only that range and equals the slice of the whole
    file, field by field, normalisation included (the factor of the whole file)."""
    from conftest_data import data_file

    from columnminer.io.lhe import event_offsets, read_lhe

    path = data_file("lhe", "testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz")
    whole = read_lhe(path, normalize=True)
    assert len(event_offsets(path)) == len(whole) == 1000
    for start, stop in [(0, 1), (17, 400), (999, 1000), (500, None), (None, 3), (990, 5000)]:
        part = read_lhe(path, start, stop, normalize=True)
        expected = whole[slice(start, stop)]
        assert len(part) == len(expected)
        for field in ("weight", "nparticles"):
            np.testing.assert_array_equal(ak.to_numpy(part[field]), ak.to_numpy(expected[field]))
        np.testing.assert_array_equal(ak.flatten(part.particles.px), ak.flatten(expected.particles.px))
        np.testing.assert_array_equal(ak.to_numpy(part.weights["1"]), ak.to_numpy(expected.weights["1"]))
    with pytest.raises(ValueError, match="not within"):
        read_lhe(path, 10, 5)
