"""Plain result objects: logic fills them in, ``console`` renders them."""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

EXIT_OK, EXIT_PROBLEMS, EXIT_CANNOT_RUN = 0, 1, 2


class StopFlag:
    """Set by SIGINT/SIGTERM; the work loops finish the file in hand and stop."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def request(self, signum: int, _frame: object = None) -> None:
        self.signum = signum

    def exit_code(self) -> int:
        return 128 + int(self.signum or signal.SIGINT)


@dataclass(frozen=True)
class Problem:
    student_id: str
    name: str
    problem: str  # short kind: missing, corrupt, invalid id, error, ...
    detail: str = ""


@dataclass(frozen=True)
class RunInfo:
    title: str
    started: str
    database: str
    embedded: bool
    photo_dir: str
    mode: str  # e.g. "restore", "verify-only", "migrate (dry run)"


@dataclass
class StudentOutcome:
    """What happened to one student's folder, photo and link."""

    student_id: str
    name: str
    in_database: bool = True
    created: list[str] = field(default_factory=list)
    photo: str = "ok"  # state after the run: ok, missing, empty, corrupt, symlink, ...
    relinked_from: str | None = None
    link_change: tuple[object, str] | None = None  # (stored value, canonical value)
    doc_id: object = None
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def photo_ok(self) -> bool:
        return self.photo == "ok"

    @property
    def photo_problem(self) -> str | None:
        """'missing' or 'corrupt' for a database student whose photo is not in order (else None)."""
        if not self.in_database or self.errors or self.photo_ok:
            return None
        return "missing" if self.photo == "missing" else "corrupt"

    @property
    def has_problem(self) -> bool:
        return bool(self.errors) or self.photo_problem is not None


@dataclass
class RestoreSummary:
    students: int = 0
    directories_created: int = 0
    photos_verified: int = 0
    photos_missing: int = 0
    photos_corrupt: int = 0
    photos_relinked: int = 0
    database_updated: int = 0
    database_skipped_changed: int = 0
    invalid_ids: int = 0
    not_in_database: int = 0
    errors: int = 0
    backups_skipped: int = 0


@dataclass
class RestoreReport:
    info: RunInfo
    verify_only: bool
    backup_name: str = ""
    backup_students: int = 0
    backups_skipped: list[tuple[str, str]] = field(default_factory=list)
    summary: RestoreSummary = field(default_factory=RestoreSummary)
    problems: list[Problem] = field(default_factory=list)
    interrupted_by: int | None = None  # signal number
    round_trips: int = 0

    @property
    def exit_code(self) -> int:
        if self.interrupted_by:
            return 128 + self.interrupted_by
        return EXIT_PROBLEMS if self.problems or self.backups_skipped else EXIT_OK


@dataclass(slots=True)
class OrphanReport:
    """One orphaned folder: what it holds, what the backups say, and the decision."""

    name: str
    is_symlink: bool = False
    has_profile: bool = False
    attendance_photos: int = 0
    old_name: str | None = None
    backup: str | None = None
    decision: str = ""  # migrate, migrated, ambiguous, unknown, no current student, conflict, symlink, ...
    reason: str = ""
    target_id: str | None = None
    target_name: str | None = None
    copied: int = 0
    already: int = 0
    conflicts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    clean: str = ""  # remove, removed, keep
    clean_reason: str = ""

    @property
    def needs_attention(self) -> bool:
        return bool(self.errors or self.conflicts) or self.decision in ("ambiguous", "unknown", "conflict",
                                                                         "symlink", "error")


@dataclass
class MigrateReport:
    """The run as a whole. Each orphan's own report goes to ``Progress.orphan`` and is only counted here,
    so a district's 200,000 orphaned folders are never all held at once."""

    info: RunInfo
    action: str  # list, migrate, clean
    dry_run: bool
    match: str = "identity"
    backups_used: list[str] = field(default_factory=list)
    backups_skipped: list[tuple[str, str]] = field(default_factory=list)
    orphans_found: int = 0
    orphans_done: int = 0
    tally: Counter = field(default_factory=Counter)  # ("decision" or "clean", value) -> orphans
    attention: int = 0  # orphans that need a person
    order_pairing: list[tuple[str, str, str]] = field(default_factory=list)  # (folder, student id, name)
    audit_file: str | None = None
    audit_error: str | None = None
    interrupted_by: int | None = None
    round_trips: int = 0

    def add(self, orphan: OrphanReport) -> None:
        self.orphans_done += 1
        self.tally["decision", orphan.decision] += 1
        if orphan.clean:
            self.tally["clean", orphan.clean] += 1
        self.attention += orphan.needs_attention

    def count(self, attribute: str, value: str) -> int:
        return self.tally[attribute, value]

    @property
    def exit_code(self) -> int:
        if self.interrupted_by:
            return 128 + self.interrupted_by
        if self.attention or self.backups_skipped or self.audit_error:
            return EXIT_PROBLEMS
        return EXIT_OK


class Progress(Protocol):
    """Where a run reports as it goes (``console`` implements it; tests may collect)."""

    def started(self, info: RunInfo) -> None: ...
    def note(self, kind: str, text: str) -> None: ...
    def student(self, index: int, total: int, outcome: StudentOutcome, verify_only: bool) -> None: ...
    def orphans_found(self, report: MigrateReport) -> None: ...
    def orphan(self, index: int, orphan: OrphanReport, report: MigrateReport) -> None: ...
