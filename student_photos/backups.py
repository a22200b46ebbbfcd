"""Finding and parsing the JSON backups (`seed_backup_*.json`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BackupError
from .records import InvalidEntry, StudentRecord, record_from_document

if TYPE_CHECKING:
    from .matching import MatchBook

BACKUP_NAME = re.compile(r"seed_backup_(\d{8})_(\d{4}(?:\d{2})?)\.json")


class ObjectIdValue:
    """An Extended JSON ``{"$oid": ...}``: compares by its text, but is not a string id."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ObjectId({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectIdValue) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class BackupUnusable(Exception):
    """One backup file cannot be used; the message names the problem."""


@dataclass
class Backup:
    path: Path
    records: dict[str, StudentRecord] = field(default_factory=dict)
    invalid: list[InvalidEntry] = field(default_factory=list)
    conflicting_ids: set[str] = field(default_factory=set)  # one id, different records
    count: int = 0

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class BackupChoice:
    backup: Backup
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, why)


def _extended_json(obj: dict) -> object:
    """Collapse MongoDB Extended JSON wrappers ($oid, $date, $numberLong, ...) to plain values."""
    if len(obj) == 1:
        (key, value), = obj.items()
        if key == "$oid" and isinstance(value, str):
            return ObjectIdValue(value)
        if key == "$date":
            if isinstance(value, dict) and "$numberLong" in value:
                return _date_from_millis(value["$numberLong"])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return _date_from_millis(value)
            return value if isinstance(value, str) else None
        if key in ("$numberLong", "$numberInt") and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return value
        if key in ("$numberDouble", "$numberDecimal") and isinstance(value, str):
            return value
    return obj


def _date_from_millis(millis: object) -> str | None:
    from datetime import datetime, timezone
    try:
        return datetime.fromtimestamp(int(millis) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def timestamp_of(path: Path) -> str | None:
    match = BACKUP_NAME.fullmatch(path.name)
    if not match:
        return None
    return (match.group(1) + match.group(2)).ljust(14, "0")


def list_backups(backup_dir: Path) -> list[Path]:
    """Backup files, newest first by the timestamp in the name (never by mtime)."""
    try:
        names = [p for p in backup_dir.iterdir() if timestamp_of(p)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BackupError(f"Cannot read the backup folder {backup_dir}: {exc.strerror or exc}") from exc
    return sorted(names, key=lambda p: (timestamp_of(p), p.name), reverse=True)


class _StreamingReader:
    """Reads JSON values one at a time from a file, holding about a megabyte, not the whole file."""

    SPACE = " \t\n\r"

    def __init__(self, handle, decoder: json.JSONDecoder) -> None:
        self.handle, self.decoder = handle, decoder
        self.buffer, self.pos, self.eof = "", 0, False

    def _more(self, size: int = 1 << 20) -> bool:
        data = "" if self.eof else self.handle.read(size)
        if not data:
            self.eof = True
            return False
        self.buffer, self.pos = self.buffer[self.pos:] + data, 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in self.SPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise json.JSONDecodeError(f"Expecting {char!r}", self.buffer, self.pos)
        self.pos += 1

    def value(self) -> object:
        self.peek()
        size = 1 << 20
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if not self._more(size):  # a value cut by the buffer's end: read on and try again
                    raise
                size *= 2
                continue
            if end == len(self.buffer) and self._more():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value

    def array(self) -> Iterator[object]:
        self.take("[")
        if self.peek() == "]":
            self.take("]")
            return
        while True:
            yield self.value()
            if self.peek() != ",":
                self.take("]")
                return
            self.take(",")

    def students(self) -> Iterator[object]:
        """The student documents of `{"students": [...], ...}` or of a bare array."""
        first = self.peek()
        if first == "[":
            yield from self.array()
        elif first == "{":
            self.take("{")
            found = False
            while self.peek() != "}":
                key = self.value()
                if not isinstance(key, str):
                    raise json.JSONDecodeError("Expecting property name", self.buffer, self.pos)
                self.take(":")
                if key == "students" and self.peek() == "[":
                    if found:
                        raise BackupUnusable("holds two student lists")
                    found = True
                    yield from self.array()
                else:
                    self.value()  # other top-level keys are ignored
                if self.peek() != ",":
                    break
                self.take(",")
            self.take("}")
            if not found:
                raise BackupUnusable(NO_STUDENT_LIST)
        else:
            self.value()
            raise BackupUnusable(NO_STUDENT_LIST)
        if self.peek() != "":
            raise json.JSONDecodeError("Extra data", self.buffer, self.pos)


NO_STUDENT_LIST = "holds no student list (expected {\"students\": [...]} or a JSON array)"


def read_students(path: Path, match_fields: tuple[str, ...] = ()) -> Iterator[StudentRecord | InvalidEntry]:
    """A backup's students, one compact record at a time as the file is read (never the whole file)."""
    source = f"backup {path.name}"

    def compact(obj: dict) -> object:
        value = _extended_json(obj)
        if isinstance(value, dict) and "student_id" in value:
            return record_from_document(value, source, match_fields)
        return value

    try:
        with open(path, encoding="utf-8-sig") as handle:
            reader = _StreamingReader(handle, json.JSONDecoder(object_hook=compact))
            for doc in reader.students():
                yield doc if isinstance(doc, (StudentRecord, InvalidEntry)) else record_from_document(doc, source)
    except PermissionError:
        raise BackupUnusable("permission denied") from None
    except OSError as exc:
        raise BackupUnusable(exc.strerror or str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupUnusable(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise BackupUnusable("not valid JSON (nested too deeply)") from None


def parse_backup(path: Path, match_fields: tuple[str, ...] = ()) -> Backup:
    """Parse a whole backup into compact records, keyed by student id."""
    backup = Backup(path=path)
    for entry in read_students(path, match_fields):
        backup.count += 1
        _add(backup, entry)
    return backup


def _add(backup: Backup, entry: StudentRecord | InvalidEntry) -> None:
    if isinstance(entry, InvalidEntry):
        backup.invalid.append(entry)
        return
    previous = backup.records.get(entry.student_id)
    if previous is None:
        backup.records[entry.student_id] = entry
    elif (previous.name, previous.photo, previous.identity) != (entry.name, entry.photo, entry.identity):
        backup.conflicting_ids.add(entry.student_id)


def choose_backup(backup_dir: Path, backup_file: str | None = None,
                  match_fields: tuple[str, ...] = ()) -> BackupChoice:
    """The named backup, or the newest one that parses; bad newer ones are skipped with a reason."""
    if backup_file:
        path = Path(backup_file).expanduser()
        try:
            return BackupChoice(parse_backup(path, match_fields))
        except BackupUnusable as exc:
            raise BackupError(f"Backup file {path} is unusable: {exc}") from None
    skipped: list[tuple[str, str]] = []
    for path in list_backups(backup_dir):
        try:
            return BackupChoice(parse_backup(path, match_fields), skipped)
        except BackupUnusable as exc:
            skipped.append((path.name, str(exc)))
    detail = f" ({len(skipped)} unusable: " + "; ".join(f"{n}: {w}" for n, w in skipped) + ")" if skipped else ""
    raise BackupError(f"No backup file found! (looked for seed_backup_*.json in {backup_dir}){detail}")


@dataclass
class Evidence:
    """Which backups were read for the orphans' old records, and which were unusable."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


def load_evidence(backup_dir: Path, match_fields: tuple[str, ...], wanted: set[str],
                  book: MatchBook) -> Evidence:
    """Give ``book`` every backup's records of the ``wanted`` ids, newest backup first."""
    evidence = Evidence()
    for path in list_backups(backup_dir):
        records = (entry for entry in read_students(path, match_fields)
                   if isinstance(entry, StudentRecord) and entry.student_id in wanted)
        try:
            book.add_backup(path.name, records)
        except BackupUnusable as exc:
            evidence.skipped.append((path.name, str(exc)))
            continue
        evidence.used.append(path.name)
    return evidence
