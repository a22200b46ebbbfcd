"""Plain result objects and the named values they hold: logic fills them in, ``console`` renders them."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import signal
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .identity import Verdict
from .store import PhotoState

T = TypeVar("T")

EXIT_OK, EXIT_PROBLEMS, EXIT_CANNOT_RUN = 0, 1, 2
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE  # 141, as a shell reports a pipeline whose reader went away
SCHOOL_SIZE = 2000  # up to this many students every one gets its lines, as the design document shows


class Stopped(Exception):
    """A stop was requested while waiting for something that cannot be finished (the database did not answer)."""

    def __init__(self, signum: int | None) -> None:
        super().__init__(signum)
        self.signum = signum


class StopFlag:
    """Set by SIGINT/SIGTERM, by a closed output, or by a failure: the work loops finish the file in hand
    and start no new one, and a wait on the database (``race``) ends at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.failed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None or self.failed

    def request(self, signum: int, _frame: object = None) -> None:
        if self.signum is None:
            self.signum = signum
        self._wake()

    def fail(self) -> None:
        self.failed = True
        self._wake()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let a stop wake the event loop (a signal handler alone would not: the loop sleeps in epoll)."""
        self._loop, self._event = loop, asyncio.Event()
        if self.requested:
            self._event.set()

    def _wake(self) -> None:
        loop, event = self._loop, self._event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing is waiting any more
                loop.call_soon_threadsafe(event.set)

    async def race(self, awaitable: Awaitable[T], grace: float = 0.0) -> T:
        """``await awaitable``, unless a stop comes first: then it gets ``grace`` seconds more to finish (a batch of
        writes in flight is best finished), and is cancelled after that and Stopped raised."""
        if self._event is None:
            return await awaitable
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not task.done() and grace:
            await asyncio.wait({task}, timeout=grace)
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise Stopped(self.signum)


class Action(enum.Enum):
    RESTORE = "restore"
    VERIFY = "verify-only"
    LIST = "list"
    MIGRATE = "migrate"
    CLEAN = "clean"
    UNDO = "undo"
    HISTORY = "history"


@dataclass(frozen=True)
class Mode:
    """What a run does, and whether it writes: the one answer every module asks for."""

    tool: str  # restore_student_photos or migrate_orphaned_photos
    action: Action
    writes: bool

    @property
    def label(self) -> str:
        if self.action is Action.MIGRATE and not self.writes:
            return "migrate (dry run)"
        if self.action is Action.CLEAN and not self.writes:
            return "clean (dry run)"
        if self.action is Action.CLEAN:
            return "clean (confirm)"
        if self.action is Action.UNDO and not self.writes:
            return "undo (dry run)"
        if self.action is Action.RESTORE and not self.writes:
            return "restore (dry run)"
        return self.action.value

    @property
    def read_only_banner(self) -> bool:
        return not self.writes and self.action not in (Action.LIST, Action.HISTORY)


ABSENT = object()  # a `photo` field that was not there at all (an undo removes it again)


@dataclass(frozen=True, slots=True)
class LinkChange:
    doc_id: object
    student_id: str
    old_photo: object  # the value read (ABSENT: no field); the write applies only if it still holds it
    new_photo: object  # the value to write (ABSENT: remove the field)
    # (field, value as read) of the name and identifying fields: the write applies only to that same child,
    # never to another one whose document replaced theirs under the same _id and student_id meanwhile
    identity: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class RemovedLink:
    """A student whose database link names a file an undo removed (or, in a dry run, would remove): a later run
    (a restore) linked that file, so the app shows a broken photo until a person relinks or carries it again."""

    student_id: str
    name: str
    link: str


class ProblemKind(enum.Enum):
    MISSING = "missing"
    CORRUPT = "corrupt"
    INVALID_ID = "invalid id"
    DUPLICATE_ID = "duplicate id"
    IDENTITY = "identity"  # the records of this id disagree on who it is
    ERROR = "error"
    NOT_FOUND = "not found"
    DATABASE = "database"
    WRONG_CHILD = "wrong child"  # --deep: a photo that looks like someone else's
    SOURCE = "photo source"  # --photo-source: a file used for no one that needs a person


class Decision(enum.Enum):
    """An orphaned folder's one decision, made the same way in every mode."""

    MIGRATE = "migrate"  # matched; photos still to copy
    MIGRATED = "migrated"  # every photo it carries is in the student's folder
    CONFLICT = "conflict"  # the student already has a different file of that name
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"
    NO_STUDENT = "no current student"
    CANNOT_RECEIVE = "cannot receive"  # matched a database record whose id is invalid or held twice
    NOT_CARRIED = "not carried"  # holds files, none of which the tool carries (names in another case?)
    NOTHING = "nothing to migrate"
    SYMLINK = "symlink"
    NOT_A_FOLDER = "not a folder"
    ERROR = "error"

    @property
    def needs_person(self) -> bool:
        return self in (Decision.AMBIGUOUS, Decision.UNKNOWN, Decision.CONFLICT, Decision.CANNOT_RECEIVE,
                        Decision.NOT_CARRIED, Decision.SYMLINK, Decision.ERROR)

    @property
    def matched(self) -> bool:
        return self in (Decision.MIGRATE, Decision.MIGRATED)


class CleanVerdict(enum.Enum):
    REMOVE = "remove"
    REMOVED = "removed"
    KEEP = "keep"


@dataclass(frozen=True)
class Problem:
    student_id: str
    name: str
    problem: ProblemKind
    detail: str = ""


@dataclass(frozen=True)
class RunInfo:
    title: str
    started: str
    database: str
    embedded: bool
    photo_dir: str
    mode: Mode
    run_id: str | None = None  # set for every run that changes something


@dataclass
class StudentOutcome:
    """What happened (or, verify-only, would happen) to one database student's folder, photo and link."""

    student_id: str
    name: str
    created: list[str] = field(default_factory=list)
    photo: PhotoState = PhotoState.OK
    relinked_from: str | None = None
    filled_from: list[str] = field(default_factory=list)  # --photo-source files
    link_change: LinkChange | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    in_scope: bool = True

    @property
    def photo_ok(self) -> bool:
        return self.photo is PhotoState.OK

    @property
    def changes(self) -> bool:
        return bool(self.created or self.relinked_from or self.filled_from or self.link_change)

    @property
    def has_problem(self) -> bool:
        return bool(self.problems)

    @property
    def worth_a_line(self) -> bool:
        """At district size only students with something to say are printed (a link fixed alone is counted in
        the summary and recorded in the journal, not printed)."""
        return self.has_problem or bool(self.notes or self.created or self.relinked_from or self.filled_from)


@dataclass
class RestoreSummary:
    students: int = 0
    in_scope: int = 0
    directories_created: int = 0
    photos_verified: int = 0
    photos_missing: int = 0
    photos_corrupt: int = 0
    photos_relinked: int = 0
    photos_filled: int = 0
    database_updated: int = 0
    database_skipped_changed: int = 0
    invalid_ids: int = 0
    duplicate_ids: int = 0
    identity_conflicts: int = 0
    not_in_database: int = 0
    old_folders: int = 0  # folders in students/ of an id no current student has (old ids after a reseed?)
    errors: int = 0
    backups_skipped: int = 0
    wrong_child: int = 0
    quarantined: int = 0


@dataclass
class BackupNote:
    file: str
    error: str


@dataclass
class RestoreReport:
    info: RunInfo
    backup_name: str = ""
    backup_students: int = 0
    backups_read: list[str] = field(default_factory=list)
    backups_skipped: list[BackupNote] = field(default_factory=list)
    backups_ignored: list[BackupNote] = field(default_factory=list)
    scope: tuple[str, ...] = ()
    summary: RestoreSummary = field(default_factory=RestoreSummary)
    problems: list[Problem] = field(default_factory=list)
    not_in_database: list[tuple[str, str]] = field(default_factory=list)  # (id, name), school size only
    source: dict | None = None  # --photo-source: what was read and how
    deep: list[dict] = field(default_factory=list)  # --deep findings
    deep_check: dict | None = None  # --deep: photos looked at, hashed now, the hash cache
    journalled: bool = False  # a journal was written (something changed): its run id can be undone
    apply_command: str = "restore_student_photos.py"  # what --verify-only advises running to apply its changes
    interrupted_by: int | None = None  # signal number
    round_trips: int = 0

    @property
    def verify_only(self) -> bool:
        return not self.info.mode.writes

    @property
    def pending_changes(self) -> int:
        """What a restore would still change (verify-only): cron must hear about it."""
        s = self.summary
        return s.directories_created + s.photos_relinked + s.photos_filled + s.database_updated

    @property
    def exit_code(self) -> int:
        if self.interrupted_by:
            return 128 + self.interrupted_by
        if self.problems or self.backups_skipped or self.backups_ignored or (self.verify_only and self.pending_changes):
            return EXIT_PROBLEMS
        return EXIT_OK


@dataclass(slots=True)
class OrphanReport:
    """One orphaned folder: what it holds, what the backups say, and the decision."""

    name: str
    is_symlink: bool = False
    has_profile: bool = False
    profile_state: str = ""  # the photo check of its profile.jpg, when it has one
    attendance_photos: int = 0
    old_name: str | None = None
    backup: str | None = None
    decision: Decision = Decision.NOTHING
    reason: str = ""
    paired_by: str = ""  # identity, pairs file, order
    target_id: str | None = None
    target_name: str | None = None
    copied: int = 0
    already: int = 0
    conflicts: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    clean: CleanVerdict | None = None
    clean_reason: str = ""

    @property
    def needs_attention(self) -> bool:
        return bool(self.errors or self.conflicts or self.not_carried) or self.decision.needs_person


@dataclass(frozen=True)
class EarlierOwner:
    """A current student whose folder holds files while a backup holds another person under their id (ids
    recycled by a partial reseed), or a person who cannot be compared: the files may be that person's."""

    student_id: str
    name: str
    verdict: Verdict  # DIFFERENT (ids recycled), or UNKNOWN (the backup's record cannot be compared with theirs)
    earlier_name: str  # that person's name, as the backup holds it
    backup: str
    reason: str  # why the identity rule does not find them the same
    files: int  # what the folder holds (a symlink, special or unreadable entry counts too)


@dataclass
class MigrateReport:
    """The run as a whole. Each orphan's own report goes to ``Progress.orphan`` and is only counted here,
    so a district's 200,000 orphaned folders are never all held at once."""

    info: RunInfo
    match: str = "identity"
    backups_used: list[str] = field(default_factory=list)
    backups_skipped: list[BackupNote] = field(default_factory=list)
    backup_linking_photos: str | None = None  # the first backup linking a photo (then an empty students/ is wrong)
    backups_ignored: list[BackupNote] = field(default_factory=list)
    pairs_file: dict | None = None  # {"file", "sha256", "rows"}
    csv_file: str | None = None
    html_file: str | None = None
    orphans_found: int = 0
    orphans_done: int = 0
    decisions: Counter = field(default_factory=Counter)  # Decision -> orphans
    cleans: Counter = field(default_factory=Counter)  # CleanVerdict -> orphans
    files_copied: int = 0
    attention: int = 0  # orphans that need a person
    order_pairing: list[tuple[str, str, str]] = field(default_factory=list)  # (folder, student id, name)
    earlier_owners: list[EarlierOwner] = field(default_factory=list)  # --list, --migrate: folders of recycled ids
    set_aside: list[str] = field(default_factory=list)  # folders a clean moved aside and did not put back
    audit_file: str | None = None
    audit_error: str | None = None
    interrupted_by: int | None = None
    round_trips: int = 0
    journalled: bool = False

    @property
    def action(self) -> Action:
        return self.info.mode.action

    @property
    def dry_run(self) -> bool:
        return not self.info.mode.writes

    def add(self, orphan: OrphanReport) -> None:
        self.orphans_done += 1
        self.decisions[orphan.decision] += 1
        if orphan.clean is not None:
            self.cleans[orphan.clean] += 1
        self.files_copied += orphan.copied
        self.attention += orphan.needs_attention

    @property
    def exit_code(self) -> int:
        if self.interrupted_by:
            return 128 + self.interrupted_by
        if self.attention or self.earlier_owners or self.set_aside or self.backups_skipped or self.backups_ignored \
                or self.audit_error:
            return EXIT_PROBLEMS
        return EXIT_OK


class Progress(Protocol):
    """Where a run reports as it goes (``console`` implements it; tests may collect)."""

    def started(self, info: RunInfo) -> None: ...
    def note(self, kind: str, text: str) -> None: ...
    def phase(self, name: str, total: int | None) -> PhaseMeter: ...
    def student(self, index: int, total: int, outcome: StudentOutcome, report: RestoreReport) -> None: ...
    def orphans_found(self, report: MigrateReport) -> None: ...
    def orphan(self, index: int, orphan: OrphanReport, report: MigrateReport) -> None: ...


class PhaseMeter(Protocol):
    def advance(self, count: int = 1) -> None: ...
    def done(self) -> None: ...


class SilentMeter:
    def advance(self, count: int = 1) -> None:
        pass

    def done(self) -> None:
        pass
