"""The journal: one JSON line per change, written durably before the change is made, so every run that
changes something can be listed (``--history``) and taken back (``--undo``).

One file per run, ``PHOTO_DIR/.student-photos/journal/{run_id}.jsonl``: a ``run`` line, then a line per
change (``db``, ``dir``, ``file``, ``removed``, ``quarantine``, ``unplaced``), then an ``end`` line with the
counts and the exit code. A line is an *intent*: it is on disk before the change it names, so a run killed
at any instant leaves a journal that covers everything it did (and perhaps one change it never made,
which an undo finds already undone). Read it with ``jq``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import ToolError
from .store import PRIVATE_FILE_MODE, PhotoStore, StoreProblem, fsync_dir, make_private_dir, open_regular

JOURNAL_DIR = "journal"
# made once (json.dumps makes one per line otherwise); a journal line is never circular
_LINE = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False)


class JournalError(ToolError):
    """The journal cannot be written, so nothing more may be changed (exit 2)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason  # the system's words (e.g. "No space left on device")


def new_run_id() -> str:
    """Sorts by time (to the millisecond, so --history lists runs in order), unique by its random tail."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}-" + secrets.token_hex(3)


def journal_dir(store: PhotoStore) -> Path:
    return store.tool_dir / JOURNAL_DIR


def valid_run_id(run_id: str) -> bool:
    return len(run_id) <= 64 and run_id.replace("-", "").isalnum() and run_id.isascii()


class Journal:
    """Appends change lines for one run; ``sync`` makes them durable (call it before making the change)."""

    def __init__(self, store: PhotoStore, run_id: str, header: dict) -> None:
        self.store = store
        self.run_id = run_id
        self.path = journal_dir(store) / f"{run_id}.jsonl"
        self.changes = 0
        self._pending: list[str] = []
        self._lock = threading.Lock()  # worker threads add lines too
        self._failed: OSError | None = None
        try:
            make_private_dir(self.path.parent)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                              PRIVATE_FILE_MODE)
        except OSError as exc:
            raise JournalError(f"Cannot write the journal {self.path}: {exc.strerror or exc}; nothing was changed") \
                from None
        self.add({"type": "run", "run_id": run_id, **header})
        try:
            self.sync()
        except JournalError as exc:
            os.close(self.fd)
            raise JournalError(f"Cannot write the journal {self.path}: {exc.reason}; nothing was changed") from None
        fsync_dir(self.path.parent)

    def add(self, entry: dict) -> None:
        line = _LINE.encode(entry) + "\n"
        with self._lock:
            self._pending.append(line)
            if entry.get("type") not in ("run", "end"):
                self.changes += 1

    def write(self) -> None:
        """Hand the lines to the kernel; a later ``sync`` (or a syncfs of the photo store) makes them durable."""
        with self._lock:
            lines, self._pending = self._pending, []
            if self._failed is not None:  # a line may be cut short: another appended after it would be lost with it
                raise self._stopped_error(self._failed)
        if lines:
            data = "".join(lines).encode("utf-8", "surrogateescape")
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view):]
            except OSError as exc:
                self._failed = exc
                raise self._stopped_error(exc) from None

    def sync(self) -> None:
        self.write()
        try:
            os.fsync(self.fd)
        except OSError as exc:
            self._failed = exc
            raise self._stopped_error(exc) from None

    def _stopped_error(self, exc: OSError) -> JournalError:
        # the run may already have changed things: say they are journalled and can be undone, not "nothing changed"
        reason = exc.strerror or str(exc)
        return JournalError(f"Cannot write the journal {self.path}: {reason}. The run stopped there; every change "
                            f"it made before is in that journal (run {self.run_id}: see --history, --undo "
                            f"{self.run_id}). Run again once the journal can be written", reason)

    def close(self, exit_code: int, counts: dict, interrupted: str | None = None) -> None:
        with contextlib.suppress(JournalError, OSError):
            self._pending.append(json.dumps({"type": "end", "finished": _now(), "exit_code": exit_code,
                                             "changes": self.changes, "counts": counts,
                                             "interrupted": interrupted}, default=str) + "\n")
            self.sync()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def header(tool: str, action: str, mode: str, photo_dir: str, database: str, **extra: object) -> dict:
    return {"tool": tool, "action": action, "mode": mode, "started": _now(), "photo_dir": photo_dir,
            "database": database, **extra}


class JournalDamaged(JournalError):
    """A journal line that cannot be read is followed by others: not a line cut short by a kill (only the last
    line can be: each journal is one run's, written in order), so what the run did cannot all be known."""


def read_journal(path: Path, wanted: Callable[[str], bool] | None = None) -> Iterator[dict]:
    """Every line of one journal, in order; a last line cut short by a kill is skipped, one whose text ``wanted``
    turns down is not even parsed, and a damaged line followed by another raises ``JournalDamaged``."""
    fd = open_regular(path)
    damaged = 0  # the number of a line that could not be read (0: none yet)
    with os.fdopen(fd, "r", encoding="utf-8", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith("\n"):
                continue  # cut short: the last line
            if damaged:
                raise JournalDamaged(f"journal {path.name}: line {damaged} is damaged and more lines follow it")
            if "\x00" in line:  # (JSON escapes it: a block of zeros is damage, in any line, wanted or not)
                damaged = number
                continue
            if wanted is None or wanted(line):
                try:  # (the yield stays outside: a caller's own ValueError must not be taken for a bad line)
                    entry = json.loads(line)
                except ValueError:
                    damaged = number
                    continue
                if isinstance(entry, dict):
                    yield entry
            elif line[:1] != "{" or not line.endswith("}\n"):  # (not parsed: every line the tool writes is one object)
                damaged = number


@dataclass
class RunRecord:
    run_id: str
    started: str = ""
    tool: str = ""
    action: str = ""
    mode: str = ""
    finished: str | None = None
    exit_code: int | None = None
    changes: int = 0
    counts: dict = field(default_factory=dict)
    undoes: str | None = None
    interrupted: str | None = None

    def as_json(self) -> dict:
        return {"run_id": self.run_id, "started": self.started, "finished": self.finished, "tool": self.tool,
                "action": self.action, "mode": self.mode, "changes": self.changes, "counts": self.counts,
                "exit_code": self.exit_code, "undoes": self.undoes, "interrupted": self.interrupted,
                "complete": self.finished is not None}


def _summary(path: Path) -> RunRecord:
    record = RunRecord(path.stem)
    changes = 0
    for entry in read_journal(path):
        kind = entry.get("type")
        if kind == "run":
            record.started = str(entry.get("started", ""))
            record.tool, record.action = str(entry.get("tool", "")), str(entry.get("action", ""))
            record.mode = str(entry.get("mode", ""))
            record.undoes = entry.get("undoes")
        elif kind == "end":
            record.finished = entry.get("finished")
            record.exit_code = entry.get("exit_code")
            record.counts = entry.get("counts") or {}
            record.interrupted = entry.get("interrupted")
        else:
            changes += 1
    record.changes = changes
    return record


# What reading one journal can raise (unreadable, not a regular file, not text): that journal is skipped.
UNREADABLE = (OSError, ToolError, StoreProblem, ValueError)


def _journal_names(folder: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(folder) if n.endswith(".jsonl"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JournalError(f"Cannot read the journal folder {folder}: {exc.strerror or exc}") from None


def every_line(store: PhotoStore, unread: list[str] | None = None, wanted: Callable[[str], bool] | None = None
               ) -> Iterator[tuple[str, dict]]:
    """(run id, line) of every journalled run, oldest first: each journal read once (a district's runs hold
    60,000 lines). One that cannot be read is skipped, as ``list_runs`` skips it, and named in ``unread``: what it
    placed cannot be checked (a journal written by root, read by the nightly account). ``wanted``: see
    ``read_journal``."""
    folder = journal_dir(store)
    for name in _journal_names(folder):
        lines = read_journal(folder / name, wanted)
        while True:
            try:  # only the reading is guarded: an error of the caller's, thrown in at the yield, is not swallowed
                entry = next(lines)
            except StopIteration:
                break
            except UNREADABLE as exc:
                if unread is not None:
                    unread.append(f"journal {folder / name} could not be read "
                                  f"({getattr(exc, 'strerror', None) or exc})")
                break
            yield name[:-len(".jsonl")], entry


def list_runs(store: PhotoStore, unread: list[str] | None = None) -> list[RunRecord]:
    """Every journalled run, oldest first; one whose journal cannot be read is named in ``unread``."""
    folder = journal_dir(store)
    names = _journal_names(folder)
    runs = []
    for name in names:
        try:
            runs.append(_summary(folder / name))
        except UNREADABLE as exc:
            if unread is not None:
                unread.append(f"journal {folder / name} could not be read ({getattr(exc, 'strerror', None) or exc})")
    return runs


def find_run(store: PhotoStore, run_id: str) -> Path:
    if not valid_run_id(run_id):
        raise JournalError(f"{run_id!r} is not a run id (see --history)")
    path = journal_dir(store) / f"{run_id}.jsonl"
    if not os.path.lexists(path):
        raise JournalError(f"No journal for run {run_id} in {journal_dir(store)} (see --history)")
    return path
