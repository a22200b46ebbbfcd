"""CSV as spreadsheets write it: read what Excel, LibreOffice and Google Sheets save, write what they open.

Reading accepts a UTF-8 BOM, UTF-16 with a BOM (Excel's "Unicode text", tab-separated), plain UTF-8 and,
failing that, Windows-1252; CRLF, LF or CR line ends; `,`, `;` or tab between cells. Writing is UTF-8
with a BOM and CRLF, atomic, mode 0o600 (the rows may name children), and guarded against formula
injection. The parser is our own (a few lines) rather than the csv module's because it must know which
cells were quoted: stray whitespace around an unquoted cell is a person's edit and is stripped, a
quoted cell is kept exactly, and that is what lets every value round-trip through write then read.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import re
import stat
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .archive import printable
from .errors import ToolError

DELIMITERS = ("\t", ";", ",")  # on a tie, the one least likely to be inside a header name wins
FILE_MODE = 0o600
TEMP_SUFFIX = ".partial"
# A spreadsheet runs a cell that starts with one of these as a formula: written with a leading "'".
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
FORMULA_ESCAPED = re.compile(r"'+[=+\-@\t\r]")  # the same, as read back: drop one "'"
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"')
_LINE_BREAK = re.compile(r"[\r\n]")
_NEEDS_QUOTES = re.compile(r'[,;\t"\r\n]|\A\s|\s\Z')  # else split, stripped, or (;, tab) taken for the delimiter
_HEADER_LINE = re.compile(r'^[^\r\n]*[^\s,;"\ufeff][^\r\n]*', re.MULTILINE)
_CHUNK = 1 << 20
# White space a spreadsheet strips from a cell's ends or changes (a tab, U+00A0 and the other Unicode spaces, the
# zero-width ones), in a run: ``as_spreadsheet_text`` makes each run one space, and none at either end.
_SPREADSHEET_SPACE = re.compile(r"[\s\u180e\u200b\u2060\ufeff]+")
_SPREADSHEET_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?\s*")  # a spreadsheet's number


class SpreadsheetError(ToolError):
    """A spreadsheet file cannot be read or written: exit 2, one line naming the file (and the line)."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = os.fspath(path)
        self.line = line
        where = f"{printable(self.path)}, line {line}" if line is not None else printable(self.path)
        super().__init__(f"Spreadsheet {where}: {problem}")


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line in the file, as a text editor numbers it, where the row starts
    values: dict[str, str]  # by normalised header name (stripped, case-folded); missing cells are ""


def normalise_header(name: str) -> str:
    """`Student Number`, `student-number` and `student_number` name one column, as a person types it."""
    text = name.strip().strip("\ufeff").strip().casefold()
    return re.sub(r"[\s_-]+", "_", text).strip("_") or text


# ---------------------------------------------------------------- reading
def as_spreadsheet_number(text: str) -> Decimal | None:
    """The number a spreadsheet reads a cell as (then saves as it pleases: 00417 as 417, 7.0 as 7, 100000 as
    1E+05), or None for a cell it keeps as text."""
    return Decimal(text.strip()) if _SPREADSHEET_NUMBER.fullmatch(text) else None


def as_spreadsheet_text(text: str) -> str:
    """A cell as a spreadsheet may save it, for comparing names: `old7 `, ` old7`, `old7\u00a0` and `old7` are one
    cell once it drops a bare cell's spaces or saves a non-breaking space as a space (``_SPREADSHEET_SPACE``), and
    `josé` composed or decomposed, or full-width `ｏｌｄ７` and `old7`, once it normalises Unicode or saves in a code
    page (NFKC)."""
    return _SPREADSHEET_SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip(" ")


def text_twins(names: Iterable[str], shown: Callable[[str], str]) -> dict[str, list[str]]:
    """Names (folders) by ``as_spreadsheet_text`` of the text a file shows them as (``shown``): a cell a spreadsheet
    saved may have been any name of its entry."""
    by_text: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_text[as_spreadsheet_text(shown(name))].append(name)
    return by_text


def number_twins(names: Iterable[str]) -> dict[Decimal, list[str]]:
    """Names (folders, ids) a spreadsheet reads as one number (00417 and 417), by that number: a cell a
    spreadsheet saved may have been any of them."""
    by_number: dict[Decimal, list[str]] = defaultdict(list)
    for name in names:
        number = as_spreadsheet_number(name)
        if number is not None:
            by_number[number].append(name)
    return {number: alike for number, alike in by_number.items() if len(alike) > 1}


def read_table(path: Path | str, required: Sequence[str], *, max_bytes: int = 100 * 2**20,
               raw_columns: Collection[str] = ()) -> list[Row]:
    """The rows of a CSV file; every ``required`` column must be in its header (found by normalised name).

    Blank rows are skipped, extra columns and extra cells ignored. A cell in a column not in
    ``raw_columns`` loses one leading "'" put before a formula character (see ``write_table``).
    """
    text = _decode(path, _read_bytes(path, max_bytes))
    records = _records(path, text, _delimiter(text))
    header_line, header = next(((line, cells) for line, cells in records if any(cells)), (0, None))
    if header is None:
        raise SpreadsheetError(path, "no header row (the file is empty)")
    columns = _columns(path, header_line, [normalise_header(value) for value in header], required)
    raw = {normalise_header(name) for name in raw_columns}
    rows = []
    for line, cells in records:
        if not any(cells):  # a blank row
            continue
        values = {}
        for name, index in columns.items():
            value = cells[index] if index < len(cells) else ""
            values[name] = value if name in raw or not FORMULA_ESCAPED.match(value) else value[1:]
        rows.append(Row(line, values))
    return rows


def _read_bytes(path: Path | str, max_bytes: int) -> bytes:
    try:  # O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a FIFO from hanging the run
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SpreadsheetError(path, "does not exist") from None
    except OSError as exc:
        why = "is a symlink; not followed" if exc.errno == errno.ELOOP else f"cannot be opened: {exc.strerror}"
        raise SpreadsheetError(path, why) from None
    except ValueError as exc:  # a NUL in the path
        raise SpreadsheetError(path, f"cannot be opened: {exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SpreadsheetError(path, "is not a regular file")
        if info.st_size > max_bytes:
            raise SpreadsheetError(path, f"is too big ({info.st_size} bytes; the limit is {max_bytes})")
        parts: list[bytes] = []
        total = 0
        while total <= max_bytes and (chunk := os.read(fd, min(_CHUNK, max_bytes + 1 - total))):
            parts.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise SpreadsheetError(path, f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if total > max_bytes:  # it grew after the fstat
        raise SpreadsheetError(path, f"is too big (more than {max_bytes} bytes)")
    return b"".join(parts)


def _decode(path: Path | str, data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise SpreadsheetError(path, f"starts with a {encoding.upper()} byte-order mark but is not "
                                             f"{encoding.upper()} (byte {exc.start + len(bom)})") from None
            break
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:  # what Excel on Windows saves as plain "CSV"
                text = data.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise SpreadsheetError(path, f"is neither UTF-8 nor Windows-1252 text (byte {exc.start})") from None
    if "\x00" in text:
        raise SpreadsheetError(path, "contains NUL characters (not a text file, or UTF-16 without a byte-order "
                                     "mark)")
    return text


def _delimiter(text: str) -> str:
    """The separator of the header line: the candidate seen most often outside quotes there."""
    match = _HEADER_LINE.search(text)  # the first line with more than separators, quotes and spaces
    outside = re.sub(r'"[^"]*"?', "", match.group() if match else "")  # a quoted name may hold any of them
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals: DELIMITERS' order
    return best if counts[best] else ","


def _records(path: Path | str, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` for every record: a quoted cell as written (it may span lines), others stripped."""
    sep = re.escape(delimiter)
    unquoted = re.compile(f"[^{sep}\r\n]*")
    one_line = re.compile(f'("[^"]*(?:""[^"]*)*"|(?!")[^{sep}]*)({sep}|\\Z)')
    pos, line, end = 0, 1, len(text)
    while pos < end:
        found = _LINE_BREAK.search(text, pos)
        stop = found.start() if found else end
        segment = text[pos:stop]
        quotes = segment.count('"')
        cells = None
        if not quotes:  # most rows hold no quote: split them at C speed
            cells = [cell.strip() for cell in segment.split(delimiter)]
        elif quotes % 2 == 0:  # likely no cell goes on past this line: one regex call for the row, if it fits
            cells = _one_line_record(segment, one_line)
        if cells is None:  # a cell spanning lines, or a mistake to report precisely
            first = line
            cells, pos, line = _quoted_record(path, text, pos, line, delimiter, unquoted)
            yield first, cells
            continue
        yield line, cells
        pos = stop + (2 if text.startswith("\r\n", stop) else 1)
        line += 1


def _one_line_record(segment: str, pattern: re.Pattern[str]) -> list[str] | None:
    """The cells of a record that holds balanced quotes on one line, or None if it is not well formed."""
    cells = []
    used = 0
    for raw, sep in pattern.findall(segment):
        cells.append(raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.strip())
        used += len(raw) + len(sep)
        if not sep:
            break
    return cells if used == len(segment) else None


def _quoted_record(path: Path | str, text: str, pos: int, line: int, delimiter: str,
                   unquoted: re.Pattern[str]) -> tuple[list[str], int, int]:
    """One record holding quotes, cell by cell: ``(cells, where the next record starts, its line)``."""
    cells: list[str] = []
    end = len(text)
    while True:
        if text.startswith('"', pos):
            match = _QUOTED.match(text, pos)
            if match is None:
                raise SpreadsheetError(path, "a quoted cell is never closed", line)
            body = match.group(1)
            line += body.count("\n") + body.count("\r") - body.count("\r\n")
            cells.append(body.replace('""', '"'))  # a quoted cell is exactly what was meant
            pos = match.end()
            if pos < end and text[pos] not in (delimiter, "\r", "\n"):
                raise SpreadsheetError(path, "text after the closing quote of a cell", line)
        else:
            match = unquoted.match(text, pos)
            assert match is not None  # the pattern matches the empty string: it always matches
            cells.append(match.group().strip())
            pos = match.end()
        if pos >= end:
            return cells, pos, line
        if text[pos] == delimiter:
            pos += 1
            continue
        return cells, pos + (2 if text.startswith("\r\n", pos) else 1), line + 1


def _columns(path: Path | str, line: int, header: list[str], required: Sequence[str]) -> dict[str, int]:
    """Column index by normalised name (the first of equals); every required one present, once."""
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if name:
            columns.setdefault(name, index)
    for name in map(normalise_header, required):
        if name not in columns:
            found = ", ".join(printable(n) for n in header if n) or "none"
            raise SpreadsheetError(path, f"no column '{printable(name)}' in the header (columns found: {found})",
                                   line)
        if header.count(name) > 1:  # two columns either of which could be meant
            raise SpreadsheetError(path, f"column '{printable(name)}' appears more than once in the header", line)
    return columns


# ---------------------------------------------------------------- writing
def write_table(path: Path | str, header: Sequence[str], rows: Iterable[Sequence[object]], *,
                raw_columns: Collection[str] = ()) -> None:
    """Write a CSV that spreadsheets open right: UTF-8 with a BOM, CRLF, minimal quoting; atomically, mode 0o600.

    A cell that starts with a formula character (``= + - @``, tab, CR) gets a leading "'" unless its column
    is in ``raw_columns`` (identifiers, written exactly). None is written as an empty cell.
    """
    raw = {normalise_header(name) for name in raw_columns}
    names = [normalise_header(str(name)) for name in header]
    if "" in names or len(set(names)) != len(names):  # read_table could not tell such columns apart
        raise ValueError(f"header names must be non-empty and distinct once normalised: {list(header)}")
    unknown = raw.difference(names)
    if unknown:
        raise ValueError(f"raw_columns not in the header: {sorted(unknown)}")
    is_raw = [name in raw for name in names]
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise SpreadsheetError(path, f"cannot be written: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # exactly 0o600, whatever the umask
            out.write(codecs.BOM_UTF8)
            out.write(_line(path, 0, [str(h) for h in header], [True] * len(header)))
            for number, row in enumerate(rows, start=1):
                if len(row) > len(header):
                    raise ValueError(f"row {number} has {len(row)} cells, the header {len(header)}")
                out.write(_line(path, number, ["" if v is None else str(v) for v in row], is_raw))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SpreadsheetError(path, f"cannot be written: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _line(path: Path | str, number: int, values: list[str], is_raw: list[bool]) -> bytes:
    cells = zip(values, is_raw, strict=False)  # a row may be shorter than the header
    text = ",".join([_cell_text(value, raw) for value, raw in cells]) + "\r\n"
    if "\x00" in text:
        raise SpreadsheetError(path, f"{_row_name(number)} holds a NUL character, which no spreadsheet keeps")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise SpreadsheetError(path, f"{_row_name(number)} holds text that is not valid Unicode (a lone surrogate)") \
            from None


def _row_name(number: int) -> str:
    return f"row {number}" if number else "the header"


def _cell_text(value: str, raw: bool) -> str:
    if not raw and _FORMULA.match(value):
        value = "'" + value
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
