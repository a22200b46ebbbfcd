"""CSV as spreadsheets write it: read what Excel, LibreOffice and Google Sheets save; write what they open."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import signal
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from student_photos import spreadsheet
from student_photos.spreadsheet import Row, SpreadsheetError, normalise_header, read_table, write_table

HYPOTHESIS = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BOM = codecs.BOM_UTF8


@contextlib.contextmanager
def within(seconds: float):
    """Fail, instead of hanging the suite, if the body takes longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def put(tmp_path: Path, data: bytes, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def values(rows: list[Row]) -> list[tuple[int, dict[str, str]]]:
    return [(row.line, row.values) for row in rows]


# ---------------------------------------------------------------- as spreadsheets save it
def test_excel_utf8_with_bom_crlf_and_quoted_cells(tmp_path):
    data = BOM + ('Student ID,Name,Notes\r\n'
                  'ab12,"Núñez, Zoë","said ""hi""\r\nthen left"\r\n'
                  'cd34,Li,\r\n'
                  '\r\n'
                  ',,\r\n').encode()
    rows = read_table(put(tmp_path, data), ["student id", "NAME"])
    assert values(rows) == [
        (2, {"student_id": "ab12", "name": "Núñez, Zoë", "notes": 'said "hi"\r\nthen left'}),
        (4, {"student_id": "cd34", "name": "Li", "notes": ""}),
    ]


def test_european_excel_semicolons_and_lf(tmp_path):
    data = BOM + 'student_id;name;amount\nab12;Zoë;1,5\n"cd;34";"Ann; Lee";2,0\n'.encode()
    rows = read_table(put(tmp_path, data), ["student_id", "name"])
    assert [r.values for r in rows] == [{"student_id": "ab12", "name": "Zoë", "amount": "1,5"},
                                         {"student_id": "cd;34", "name": "Ann; Lee", "amount": "2,0"}]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_utf16_tab_separated(tmp_path, encoding):
    bom = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF16_BE
    text = 'student_id\tname\r\nab12\tZoë 李\r\ncd34\t"Tab\there"\r\n\t\r\n'
    rows = read_table(put(tmp_path, bom + text.encode(encoding)), ["student_id", "name"])
    assert values(rows) == [(2, {"student_id": "ab12", "name": "Zoë 李"}),
                            (3, {"student_id": "cd34", "name": "Tab\there"})]


@pytest.mark.parametrize(("text", "expected"), [
    ('student_id\tLast, First\r\nab12\tLee, Ann\r\n', {"student_id": "ab12", "last,_first": "Lee, Ann"}),
    ('student_id;Last, First\r\nab12;Lee, Ann\r\n', {"student_id": "ab12", "last,_first": "Lee, Ann"}),
    ('"a,b;c";student_id\r\nx, y;ab12\r\n', {"a,b;c": "x, y", "student_id": "ab12"}),  # quoted: not counted
    ('student_id\r\nab12;Lee\r\n', {"student_id": "ab12;Lee"}),  # one column: comma, the default
])
def test_delimiter_comes_from_the_header_line(tmp_path, text, expected):
    rows = read_table(put(tmp_path, text.encode()), ["student_id"])
    assert [r.values for r in rows] == [expected]


def test_windows_1252_when_the_bytes_are_not_utf8(tmp_path):
    data = "student_id,name\r\nab12,Zoë Müller – €5\r\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = read_table(put(tmp_path, data), ["student_id", "name"])
    assert rows == [Row(2, {"student_id": "ab12", "name": "Zoë Müller – €5"})]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings_and_line_numbers_across_a_cell_with_newlines(tmp_path, newline):
    text = newline.join(['id,note', 'a,"one', 'two', 'three"', '', 'b,plain', '  ,  ', 'c,"x"', ''])
    rows = read_table(put(tmp_path, text.encode()), ["id"])
    assert values(rows) == [(2, {"id": "a", "note": newline.join(["one", "two", "three"])}),
                            (6, {"id": "b", "note": "plain"}),
                            (8, {"id": "c", "note": "x"})]


def test_header_names_are_stripped_debommed_and_casefolded(tmp_path):
    data = BOM + '\ufeff  Student_ID , NAME ,, Extra\r\n ab12 ,  Zoë Smith  ,x,y,z,more\r\nc\r\n'.encode()
    rows = read_table(put(tmp_path, data), ["student_id", "Name "])
    assert [r.values for r in rows] == [
        {"student_id": "ab12", "name": "Zoë Smith", "extra": "y"},  # extra cells past the header ignored
        {"student_id": "c", "name": "", "extra": ""},  # missing cells are ""
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_blank_lines_before_the_header_are_skipped(tmp_path, delimiter):
    d = delimiter
    text = f'\r\n{d}{d}\r\n {d}""\r\nid{d}name\r\nx{d}y\r\n'
    rows = read_table(put(tmp_path, text.encode()), ["id"])
    assert rows == [Row(5, {"id": "x", "name": "y"})]


def test_quoted_cells_keep_their_whitespace_and_unquoted_ones_lose_it(tmp_path):
    rows = read_table(put(tmp_path, b'id,name\r\n  ab12\t," Zoe "\r\n'), ["id"])
    assert rows == [Row(2, {"id": "ab12", "name": " Zoe "})]


def test_a_file_quoting_every_cell_reads_the_same(tmp_path):
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, delimiter=";")
    writer.writerows([["student_id", "name"], ["ab12", 'O"Brien; Pat'], ["", ""]])
    rows = read_table(put(tmp_path, buf.getvalue().encode()), ["student_id", "name"])
    assert rows == [Row(2, {"student_id": "ab12", "name": 'O"Brien; Pat'})]


# ---------------------------------------------------------------- what is refused
@pytest.mark.parametrize(("data", "message", "line"), [
    (b"", "no header row", None),
    (b"\r\n , \r\n\r\n", "no header row", None),
    (b"id,name\r\nab12,Zoe\r\n", "no column 'student_id' in the header (columns found: id, name)", 1),
    (b"\r\n\xef\xbb\xbfid,\x1bname\r\n", "no column 'student_id' in the header (columns found: id, \\x1bname)", 2),
    (b"student_id,Student_ID\r\nx,y\r\n", "column 'student_id' appears more than once", 1),
    (b'student_id\r\n"ab12\r\nmore\r\n', "a quoted cell is never closed", 2),
    (b'student_id,name\r\nx,"a"b\r\n', "text after the closing quote", 2),
    (b'student_id,name\r\nx,"a\r\nb"c\r\n', "text after the closing quote", 3),
    (b"student_id\r\na\x00b\r\n", "contains NUL characters", None),
    (codecs.BOM_UTF16_LE + b"a\x00b", "is not UTF-16-LE", None),
    (BOM + b"student_id\r\n\xff\r\n", "is not UTF-8", None),
    (b"student_id\r\n\x81\xff\r\n", "neither UTF-8 nor Windows-1252", None),
])
def test_unusable_content_is_one_line_naming_file_and_line(tmp_path, data, message, line):
    path = put(tmp_path, data)
    with pytest.raises(SpreadsheetError) as caught:
        read_table(path, ["student_id"])
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text
    assert caught.value.line == line
    if line is not None:
        assert f"line {line}:" in text


def test_files_that_are_not_regular_are_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "fifo.csv")  # opened without O_NONBLOCK, a FIFO with no writer blocks for ever
    (tmp_path / "real.csv").write_bytes(b"student_id\r\nx\r\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    (tmp_path / "dir.csv").mkdir()
    for name, message in (("fifo.csv", "is not a regular file"), ("dir.csv", "is not a regular file"),
                          ("link.csv", "is a symlink; not followed"), ("missing.csv", "does not exist")):
        with within(10), pytest.raises(SpreadsheetError, match=message):
            read_table(tmp_path / name, ["student_id"])
    assert read_table(tmp_path / "real.csv", ["student_id"]) == [Row(2, {"student_id": "x"})]


def test_too_big(tmp_path):
    path = put(tmp_path, b"student_id\r\n" + b"x\r\n" * 100)
    with pytest.raises(SpreadsheetError, match=r"is too big \(312 bytes; the limit is 311\)"):
        read_table(path, ["student_id"], max_bytes=311)
    assert len(read_table(path, ["student_id"], max_bytes=312)) == 100


# ---------------------------------------------------------------- writing
def test_write_is_utf8_bom_crlf_minimal_quoting_and_guarded(tmp_path):
    path = tmp_path / "out.csv"
    write_table(path, ["student_id", "name", "note"], [
        ["ab12", "Zoë, Núñez", '5" tall'],
        ["-7", "=HYPERLINK(\"x\")", "+1"],
        ["@x", "\tpadded", " spaced "],
        ["'=x", None, 3],
        ["a\r\nb", "", ""],
    ], raw_columns=["Student_ID"])
    assert path.read_bytes() == BOM + (
        'student_id,name,note\r\n'
        'ab12,"Zoë, Núñez","5"" tall"\r\n'
        '-7,"\'=HYPERLINK(""x"")",\'+1\r\n'
        '@x,"\'\tpadded"," spaced "\r\n'
        "'=x,,3\r\n"
        '"a\r\nb",,\r\n').encode()
    rows = read_table(path, ["student_id"], raw_columns=["student_id"])
    assert [r.values for r in rows] == [
        {"student_id": "ab12", "name": "Zoë, Núñez", "note": '5" tall'},
        {"student_id": "-7", "name": '=HYPERLINK("x")', "note": "+1"},
        {"student_id": "@x", "name": "\tpadded", "note": " spaced "},
        {"student_id": "'=x", "name": "", "note": "3"},
        {"student_id": "a\r\nb", "name": "", "note": ""},
    ]


def test_write_mode_is_0600_whatever_the_umask_and_replaces_atomically(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    os.chmod(path, 0o644)
    old_umask = os.umask(0)
    try:
        write_table(path, ["a"], [["1"]])
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_table(path, ["a"]) == [Row(2, {"a": "1"})]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")

    def rows():
        yield ["1"]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        write_table(path, ["a"], rows())
    with pytest.raises(SpreadsheetError, match=r"row 2 holds a NUL character"):
        write_table(path, ["a"], [["ok"], ["a\x00b"]])
    with pytest.raises(SpreadsheetError, match=r"row 1 holds text that is not valid Unicode"):
        write_table(path, ["a"], [["\udcff"]])
    with pytest.raises(ValueError, match="raw_columns not in the header"):
        write_table(path, ["a"], [["1"]], raw_columns=["id"])
    with pytest.raises(ValueError, match="row 1 has 2 cells"):
        write_table(path, ["a"], [["1", "2"]])
    for header in (["a", " A"], ["a", ""]):
        with pytest.raises(ValueError, match="header names must be non-empty and distinct"):
            write_table(path, header, [])
    with pytest.raises(SpreadsheetError, match=r"the header holds a NUL character"):
        write_table(path, ["a\x00"], [])
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_write_into_a_missing_folder_or_over_a_folder_is_a_spreadsheet_error(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    for path in (tmp_path / "missing" / "out.csv", tmp_path / "dir.csv"):
        with pytest.raises(SpreadsheetError, match="cannot be written"):
            write_table(path, ["a"], [["1"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.csv"]


def test_write_over_a_symlink_replaces_the_link_not_its_target(tmp_path):
    target = tmp_path / "target.csv"
    target.write_bytes(b"keep")
    (tmp_path / "link.csv").symlink_to(target)
    write_table(tmp_path / "link.csv", ["a"], [["1"]])
    assert target.read_bytes() == b"keep"
    assert not (tmp_path / "link.csv").is_symlink()


# ---------------------------------------------------------------- properties
CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
TRICKY = st.sampled_from(["=1+1", "-5", "+1", "@SUM(A1)", "\tx", "\rx", "'", "'=x", "''-x", "'a", " x ", "\r\n",
                          '"', '""', ";", "\t", ",", "\ufeff", "\u2028", "\x85", "é", "x\ry"])
VALUE = st.one_of(CELL, TRICKY, st.tuples(TRICKY, CELL).map("".join))
HEADER = st.lists(st.text(alphabet="abcXYZ_ 12é;", min_size=1, max_size=6), min_size=1, max_size=5,
                  unique_by=lambda n: n.strip().casefold())


@settings(HYPOTHESIS, max_examples=250)
@given(data=st.data(), header=HEADER)
def test_write_then_read_round_trips_every_value(tmp_path, data, header):
    assume(all(name.strip() for name in header))
    assume(len({normalise_header(name) for name in header}) == len(header))  # "a b" and "a_b" name one column
    raw = data.draw(st.lists(st.sampled_from(header), unique=True))
    rows = data.draw(st.lists(st.lists(VALUE, min_size=len(header), max_size=len(header)), max_size=8))
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = Path(folder) / "t.csv"
        write_table(path, header, rows, raw_columns=raw)
        got = read_table(path, header, raw_columns=raw)
    expected = [row for row in rows if any(row)]  # a row of empty cells is a blank row: skipped
    names = [normalise_header(name) for name in header]
    assert [[r.values[n] for n in names] for r in got] == expected


@settings(HYPOTHESIS, max_examples=300)
@given(data=st.one_of(st.binary(max_size=400),
                      st.text(alphabet='ab,;\t"\r\n \'=\x00é', max_size=80).map(str.encode),
                      st.tuples(st.sampled_from([BOM, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b""]),
                                st.binary(max_size=200)).map(b"".join)),
       required=st.lists(st.sampled_from(["a", "b", "student_id"]), max_size=2))
def test_arbitrary_bytes_either_parse_or_are_a_spreadsheet_error(tmp_path, data, required):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        path = put(Path(folder), data)
        try:
            rows = read_table(path, required)
        except SpreadsheetError as exc:
            assert "\n" not in str(exc) and "\r" not in str(exc)
            return
    for row in rows:
        assert row.line >= 1 and all(isinstance(v, str) for v in row.values.values())
    assert [r.line for r in rows] == sorted({r.line for r in rows})


def _cell_by_cell(text: str, delimiter: str) -> list:
    """The records as the precise parser alone reads them, or the error it raises."""
    unquoted = re.compile(f"[^{re.escape(delimiter)}\r\n]*")
    out: list = []
    pos, line = 0, 1
    try:
        while pos < len(text):
            first = line
            cells, pos, line = spreadsheet._quoted_record("t", text, pos, line, delimiter, unquoted)
            out.append((first, cells))
    except SpreadsheetError as exc:
        out.append(str(exc))
    return out


@settings(HYPOTHESIS, max_examples=400)
@given(text=st.text(alphabet='ab ,;\t"\r\n', max_size=40), delimiter=st.sampled_from([",", ";", "\t"]))
def test_the_fast_paths_read_exactly_what_the_cell_by_cell_parser_reads(text, delimiter):
    fast: list = []
    try:
        fast.extend(spreadsheet._records("t", text, delimiter))
    except SpreadsheetError as exc:
        fast.append(str(exc))
    assert fast == _cell_by_cell(text, delimiter)
