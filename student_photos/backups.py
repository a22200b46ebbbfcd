"""Finding and reading the JSON backups (`seed_backup_*.json`): streamed, bounded, never trusted."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import BackupError
from .records import InvalidEntry, StudentRecord, describe_id, display_name, record_from_document
from .store import NotRegularFile, open_regular

BACKUP_NAME = re.compile(r"seed_backup_(\d{8})_(\d{4}(?:\d{2})?)\.json")
NAME_PATTERN = "seed_backup_YYYYMMDD_HHMM[SS].json"
MAX_VALUE_CHARS = 64 << 20  # one student record (or other value) larger than this is refused: memory stays bounded


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


def _extended_json(obj: dict) -> object:
    """Collapse MongoDB Extended JSON wrappers ($oid, $date, $numberLong, ...) to plain values.

    A wrapper whose content makes no sense is kept as the dict it is: identity then calls it
    uncomparable (unknown), never absent.
    """
    if len(obj) != 1:
        return obj
    (key, value), = obj.items()
    if key == "$oid" and isinstance(value, str):
        return ObjectIdValue(value)
    if key == "$date":
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$numberLong"), str):
            return _date_from_millis(value["$numberLong"]) or obj
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _date_from_millis(value) or obj
        return value if isinstance(value, str) else obj
    if key in ("$numberLong", "$numberInt") and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return obj
    if key in ("$numberDouble", "$numberDecimal") and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return obj
    return obj


def _date_from_millis(millis: object) -> str | None:
    try:
        moment = datetime.fromtimestamp(int(millis) / 1000, tz=timezone.utc)  # type: ignore[call-overload]
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp_of(path: Path | str) -> str | None:
    match = BACKUP_NAME.fullmatch(os.path.basename(path))
    if not match:
        return None
    return (match.group(1) + match.group(2)).ljust(14, "0")


@dataclass
class BackupListing:
    paths: list[Path] = field(default_factory=list)  # newest first, by the timestamp in the name
    ignored: list[tuple[str, str]] = field(default_factory=list)  # look-alikes that do not match the name


def list_backups(backup_dir: Path) -> BackupListing:
    """Backup files, newest first by the timestamp in the name (never by mtime)."""
    listing = BackupListing()
    try:
        names = os.listdir(backup_dir)
    except FileNotFoundError:
        raise BackupError(f"Backup folder {backup_dir} does not exist (check BACKUP_DIR or --backup-dir)") from None
    except NotADirectoryError:
        raise BackupError(f"Backup folder {backup_dir} is not a folder (check BACKUP_DIR or --backup-dir)") from None
    except OSError as exc:
        raise BackupError(f"Cannot read the backup folder {backup_dir}: {exc.strerror or exc}") from None
    for name in names:
        if name.startswith("._"):  # macOS metadata beside a copied file: never a backup
            continue
        if timestamp_of(name):
            listing.paths.append(backup_dir / name)
        elif name.startswith("seed_backup") or name.lower().endswith(".json"):
            listing.ignored.append((name, f"name does not match {NAME_PATTERN}; ignored"))
    listing.paths.sort(key=lambda p: (timestamp_of(p), p.name), reverse=True)
    listing.ignored.sort()
    return listing


class _StreamingReader:
    """Reads JSON values one at a time from a file, holding one value (at most MAX_VALUE_CHARS) at a time."""

    SPACE = " \t\n\r"

    def __init__(self, handle, transform: Callable[[dict], object]) -> None:
        self.handle, self.transform = handle, transform
        self.decoder = json.JSONDecoder(object_hook=self._document)
        self.buffer, self.pos, self.eof = "", 0, False
        self.keyed = 0  # documents read or passed over so far that hold a `student_id` key, at any depth

    def _document(self, obj: dict) -> object:
        self.keyed += "student_id" in obj
        return self.transform(obj)

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
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # Cut by the buffer's end (read on), or a real error (stop now: never read the whole file).
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buffer) - 16
                if not cut or len(self.buffer) - self.pos > MAX_VALUE_CHARS or not self._more():
                    if cut and len(self.buffer) - self.pos > MAX_VALUE_CHARS:
                        raise BackupUnusable(f"holds a value larger than {MAX_VALUE_CHARS >> 20} MB") from None
                    raise
                continue
            if end == len(self.buffer) and self._more():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value

    def skip(self) -> None:
        """Pass over one value without holding it whole (another top-level key may be huge)."""
        first = self.peek()
        if first == "[":
            for _ in self.array(self.skip):
                pass
        elif first == "{":
            self.take("{")
            keyed = False
            while self.peek() != "}":
                keyed |= self.key() == "student_id"
                self.skip()
                if self.peek() != ",":
                    break
                self.take(",")
            self.take("}")
            self.keyed += keyed  # counted as a decoded document would be, without holding it
        else:
            self.value()

    def key(self) -> str:
        key = self.value()
        if not isinstance(key, str):
            raise json.JSONDecodeError("Expecting property name", self.buffer, self.pos)
        self.take(":")
        return key

    def array(self, item=None) -> Iterator[object]:
        item = item or self.value
        self.take("[")
        if self.peek() == "]":
            self.take("]")
            return
        while True:
            yield item()
            if self.peek() != ",":
                self.take("]")
                return
            self.take(",")

    def students(self) -> Iterator[tuple[str | None, object]]:
        """The student documents of `{"students": [...], ...}` or of a bare array, as ``(None, entry)``; each other
        top-level key as ``(key, None)`` once its value was passed over (``keyed`` counts what it held)."""
        first = self.peek()
        if first == "[":
            for entry in self.array():
                yield None, entry
        elif first == "{":
            self.take("{")
            found = False
            while self.peek() != "}":
                key = self.key()
                if key == "students" and self.peek() == "[":
                    if found:
                        raise BackupUnusable("holds two student lists")
                    found = True
                    for entry in self.array():
                        yield None, entry
                else:
                    self.keyed += key == "student_id"  # the backup's own document holds one
                    self.skip()  # other top-level keys are not read, and never held whole
                    yield key, None
                if self.peek() != ",":
                    break
                self.take(",")
            self.take("}")
            if not found:
                raise BackupUnusable(NO_STUDENT_LIST)
        else:
            self.skip()
            raise BackupUnusable(NO_STUDENT_LIST)
        if self.peek() != "":
            raise json.JSONDecodeError("Extra data", self.buffer, self.pos)


NO_STUDENT_LIST = "holds no student list (expected {\"students\": [...]} or a JSON array)"


def _another_shape(key: str | None, entry: int) -> str:
    """Why a backup holding a document with a `student_id` outside its list's own entries is not read (one line)."""
    if key is None:
        where = (f"entry {entry} has no usable student_id of its own but holds a document with one inside it (a record "
                 "wrapped in another, as {\"student\": {...}} or [{...}], or a list of backups)")
    elif key == "student_id":
        where = "holds a student_id at its top level, outside its student list"
    else:
        where = f"holds records outside its student list, under {json.dumps(key)[:80]}"
    return f"{where}: a backup in another shape, not read (it may say who an id was)"


def read_backup(path: Path, fields: Sequence[str] = (), follow: bool = False
                ) -> Iterator[StudentRecord | InvalidEntry]:
    """A backup's students, one compact record at a time as the file is read (never the whole file).

    Only a regular file is opened (a FIFO named like a backup must never hang a run); a symlink only when
    ``follow`` (a file the person named). An unusable file raises BackupUnusable, possibly part-way.
    """
    source = f"backup {path.name}"

    # Only the student list's own entries are records. A document with a `student_id` anywhere else may say who an id
    # was, and is read only as part of an entry with a usable id of its own (a guardian's, a sibling's): one inside an
    # entry without one (`{"student": {...}}`, `[{...}]`, a whole backup pasted into a list of backups) or outside the
    # list (`"leavers": [...]` beside it, a `student_id` of the backup's own) is a backup in another shape: unusable.
    entries = with_id = 0  # entries; entries whose own student_id is text or a number (2003 is folder 2003's)
    try:
        fd = open_regular(path, follow=follow)
        with os.fdopen(fd, encoding="utf-8-sig") as handle:
            reader = _StreamingReader(handle, _extended_json)
            for key, doc in reader.students():
                nested, reader.keyed = reader.keyed, 0
                raw = doc.get("student_id") if isinstance(doc, dict) else None
                own = isinstance(raw, (str, int)) and not isinstance(raw, bool)
                if not own and nested - (isinstance(doc, dict) and "student_id" in doc):
                    raise BackupUnusable(_another_shape(key, entries + 1))
                if key is not None:  # another top-level key: passed over, holding no record
                    continue
                entries += 1
                with_id += own
                if isinstance(doc, dict):
                    yield record_from_document(doc, fields)
                else:
                    yield InvalidEntry(describe_id(doc), "", f"entry is a {type(doc).__name__}, not a document",
                                       source)
        if entries and not with_id:  # read as if fine, it would say nothing of who any id was (an "id" key, $oid)
            raise BackupUnusable(f"none of its {entries} entries has a usable student_id (is the id stored under "
                                 "another field name, or as an ObjectId?)")
    except NotRegularFile as exc:
        raise BackupUnusable(f"is {exc.kind}, not a regular file; not opened") from None
    except PermissionError:
        raise BackupUnusable("permission denied") from None
    except OSError as exc:
        raise BackupUnusable(exc.strerror or str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupUnusable(f"not valid JSON ({str(exc)[:200]})") from None
    except RecursionError:
        raise BackupUnusable("not valid JSON (nested too deeply)") from None


def named_backup(backup_file: str) -> Path:
    return Path(backup_file).expanduser().absolute()


def display(record: StudentRecord | InvalidEntry) -> str:
    return display_name(record.name)


def no_usable_backup(backup_dir: object, skipped: Sequence) -> BackupError:
    """The refusal of a run that found no backup it could read (restore and migrate): who an id was is only known
    from one. ``skipped``: notes (``file``, ``error``) of the backups that could not be read."""
    if not skipped:
        return BackupError(f"No backup file found! (looked for seed_backup_*.json in {backup_dir})")
    detail = "; ".join(f"{note.file}: {note.error}" for note in skipped)
    return BackupError(f"No backup file found that can be read! (in {backup_dir}: {detail})")


def refuse_unread_backups(skipped: Sequence, ignored: Sequence, still_reports: str) -> None:
    """A run that would write changes nothing while a backup was not read (unusable, or named like one but
    not quite): it may be the very record that says who an id was. ``skipped``/``ignored``: notes with ``file``."""
    unread = [note.file for note in (*skipped, *ignored)]
    if unread:
        raise BackupError(f"Nothing was changed: {len(unread)} file(s) in the backup folder could not be read as "
                          f"backups ({', '.join(unread[:3])}), and who each id was may be in them. Repair, rename "
                          "(seed_backup_YYYYMMDD_HHMM.json) or move them out of the backup folder, then run again; "
                          f"{still_reports} still reports")
