"""Restore: rebuild every current student's folders and relink their photo and database link.

The current students are the database's. The whole database and every backup are read whatever the
scope (``--student`` limits what is changed, never what is known). Phases:

1. ``read_census``: every database document, every backup's records of those ids (each compared with
   the database's record by the identity rule), and the state of each student's folder on disk.
2. ``repair``: folders created, photos checked, and for a missing photo the candidate evidence (links
   that point at a photo elsewhere in the store).
3. ``judge_evidence``: a candidate is used only when its owner (by folder, by backup history) is the
   same person and no other student claims the same bytes; then it is copied, verified and journalled.
4. ``write_links``: the database `photo` set to the canonical link where the photo is in place, with
   conditional bulk writes, journalled first, stopping between round trips when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import threading
from collections import defaultdict
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .backups import BackupUnusable, list_backups, named_backup, no_usable_backup, read_backup, refuse_unread_backups
from .config import Settings
from .db import Database, decode_value
from .deep import DeepCheck, Placement, PlacementTable, findings_as_problems, placed_from_another, refusals
from .errors import PhotoRootError
from .identity import (
    MAX_SHARED_IDENTIFIER,
    MAX_SHARING_A_DAY,
    MAX_UNNAMED_OLD,
    BlindCurrent,
    Choice,
    History,
    Judgement,
    Outcome,
    Person,
    RivalOld,
    Verdict,
    alike_key,
    choose,
    compare,
    hidden_sharing,
    identifier_codes,
    judge_candidate,
    judge_same_id,
    lookup_codes,
    merge_history,
    not_the_same,
    person_of,
    plainly_equal,
    proven_by,
    proven_same,
    proven_someone_else,
    self_verdict,
    unsearchable,
)
from .journal import every_line
from .links import ATTENDANCE, PROFILE, PhotoLink, canonical_link, read_link
from .records import InvalidEntry, StudentRecord, is_safe_id, one_folder_key, record_from_document
from .report import (
    ABSENT,
    SCHOOL_SIZE,
    Action,
    BackupNote,
    LinkChange,
    Mode,
    Problem,
    ProblemKind,
    Progress,
    RestoreReport,
    StopFlag,
    StudentOutcome,
)
from .session import Session, check_database_size, session
from .store import (
    Holding,
    PhotoState,
    PhotoStore,
    StoreProblem,
    check_photo,
    ensure_dir,
    folders_holding,
    fsync_dir,
    make_dirs,
    map_in_threads,
    place_copy,
    sha256_file,
    stage_copy,
    store_lock,
    students_dir_is_empty,
    sweep_temporaries,
    sync_or_discard,
)

TITLE = "STUDENT PHOTO RESTORATION & RELINK"
TOOL = "restore_student_photos"


@dataclass(frozen=True)
class RestoreOptions:
    verify_only: bool = False
    backup_file: str | None = None
    students: tuple[str, ...] = ()
    force: bool = False
    apply_command: str = "restore_student_photos.py"  # the same run without --verify-only (for its advice)
    photo_source: str | None = None
    source_key: str = "student_id"
    source_map: str | None = None
    deep: bool = False
    quarantine: bool = False

    @property
    def mode(self) -> Mode:
        return Mode(TOOL, Action.VERIFY if self.verify_only else Action.RESTORE, not self.verify_only)


@dataclass(slots=True)
class StudentPlan:
    """All a run knows about one current student: one object per student, kept small."""

    record: StudentRecord
    documents: int = 1  # database documents holding this id; more than one is a problem
    backup_links: tuple[PhotoLink, ...] = ()  # followable links in backup records of this same person
    conflict: str | None = None  # a backup record under this id that is another (or an unknown) person
    recycled: bool = False  # ... and that record is a different person, not just one who cannot be compared
    in_order: bool | None = None  # folder, attendance/ and a usable photo found in place (None: not looked yet)
    in_scope: bool = True
    self_judged: Judgement | None = None  # the identity rule on its own record (a backup with the same values)
    checked: bool = False  # the repair phase has looked at it (a stop can come first)
    one_folder_with: str | None = None  # another student's id that is this very folder on some shares

    @property
    def student_id(self) -> str:
        return self.record.student_id

    @property
    def receives(self) -> bool:
        """Only a student with a safe id of their own, and no doubt about who the id was, gets changes."""
        return self.documents == 1 and self.conflict is None


@dataclass
class Census:
    plans: dict[str, StudentPlan] = field(default_factory=dict)  # receivable ids, in database order
    current_ids: set[str] = field(default_factory=set)  # every database id as text, valid or not
    owners: dict[str, list[Person]] = field(default_factory=lambda: defaultdict(list))  # old id -> records
    owners_read: set[str] = field(default_factory=set)  # old ids whose records were looked for
    others: list[StudentRecord] = field(default_factory=list)  # records that are no plan: invalid or repeated ids
    backup_claims: list[tuple[PhotoLink, str, Person]] = field(default_factory=list)  # links of ids not in the db
    unproven_links: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # (rare) per student
    any_photo_set: bool = False
    documents: int = 0
    newest_count: int = 0
    _by_name: dict[str | None, list[tuple[str, Person]]] | None = None
    _by_identifier: dict[tuple[int, str], list[tuple[str, Person]]] | None = None
    _folded: dict[str, list[str]] | None = None  # one_folder_key -> the plan ids spelt otherwise than their key
    _blind: BlindCurrent[str] | None = None  # records holding a value no look-up can find (as migrate's MatchBook)

    def plans_of_folder(self, student_id: str) -> list[StudentPlan]:
        """The current students whose folder ``student_id`` names on a share that ignores case or drops trailing dots
        (``records.one_folder_key``), its exact id among them: a backup's record of any of these spellings is that
        folder's history."""
        if self._folded is None:
            self._folded = defaultdict(list)
            for sid in self.plans:
                if (key := one_folder_key(sid)) != sid:  # (most ids are their own key: kept out, 200,000 of them)
                    self._folded[key].append(sid)
        key = one_folder_key(student_id)
        return [plan for sid in (key, *self._folded.get(key, ())) if (plan := self.plans.get(sid)) is not None]

    def _index(self) -> tuple[dict, dict]:
        if self._by_name is None or self._by_identifier is None:
            self._by_name, self._by_identifier = defaultdict(list), defaultdict(list)
            for record in [p.record for p in self.plans.values()] + self.others:
                entry = (record.student_id, record.person)
                self._by_name[alike_key(record.person.name)].append(entry)
                for place in identifier_codes(record.person):
                    self._by_identifier[place].append(entry)
        return self._by_name, self._by_identifier

    def holding_days(self, persons: Iterable[Person]) -> dict[tuple[int, str], list[tuple[str, Person]]]:
        """The current records holding one of these persons' dates (``identity.lookup_codes``, "dD"), by (position,
        code): one pass over the census, made only when a record needs it (migrate's look-ups hold dates too)."""
        wanted = {place for person in persons for place in lookup_codes(person, "dD")}
        found: dict[tuple[int, str], list[tuple[str, Person]]] = defaultdict(list)
        if wanted:
            for record in [p.record for p in self.plans.values()] + self.others:
                for place in lookup_codes(record.person, "dD"):
                    if place in wanted:
                        found[place].append((record.student_id, record.person))
        return {place: held for place, held in found.items() if len(held) <= MAX_SHARING_A_DAY}  # (as migrate's)

    def holders(self, position: int, code: str) -> int:
        """How many current records hold this identifier (position, code)."""
        return len(self._index()[1].get((position, code), ()))

    def identifying_codes(self, person: Person) -> list[tuple[int, str]]:
        """Its identifiers (``identity.identifier_codes``) that identify one child: held by at most
        MAX_SHARED_IDENTIFIER current records (an office email is no one's), as migrate and ``candidates_for``."""
        by_identifier = self._index()[1]
        return [place for place in identifier_codes(person)
                if len(by_identifier.get(place, ())) <= MAX_SHARED_IDENTIFIER]

    def blind(self, fields: Sequence[str]) -> BlindCurrent[str]:
        """The current records holding a value no look-up can find (``identity.BlindCurrent``), as migrate keeps."""
        if self._blind is None or self._blind.fields != tuple(fields):
            self._blind = BlindCurrent(tuple(fields))
            for record in [p.record for p in self.plans.values()] + self.others:
                self._blind.add(record.student_id, record.person)
        return self._blind

    def candidates_for(self, person: Person, fields: Sequence[str]) -> list[tuple[str, Person]]:
        """Every current record that could be this person (``identity.choose``): those whose name is written alike,
        those with no usable name, those sharing one of its identifiers (a corrected name?), and those holding a
        value no look-up can find where it holds an identifier (``blind``; ``uncompared`` says why not each)."""
        by_name, by_identifier = self._index()
        found = by_name.get(alike_key(person.name), []) if person.name is not None else []
        found = found + by_name.get(None, [])
        seen = {id(p) for _, p in found}
        for place in self.identifying_codes(person):
            for entry in by_identifier.get(place, []):
                if id(entry[1]) not in seen:
                    seen.add(id(entry[1]))
                    found.append(entry)
        for entry in self.blind(fields).candidates(person):
            if id(entry[1]) not in seen:
                seen.add(id(entry[1]))
                found.append(entry)
        return found


@dataclass(slots=True)
class Claim:
    """Somebody other than a current student naming a photo: an old id (its history decides who), or an
    invalid record with its person."""

    old_id: str | None
    persons: list[Person] = field(default_factory=list)


@dataclass(slots=True)
class Candidate:
    """A photo elsewhere in the store that a student's own links point at."""

    plan: StudentPlan
    path: Path
    link: PhotoLink
    where: str  # "backup" or "database"
    digest: tuple[str, int] | None = None
    placed: Placement | None = None  # a journalled run placed these bytes from this student: its copy says so too


# ---------------------------------------------------------------- 1. census
def _in_order(students: str, student_id: str) -> bool:
    """Folder, attendance/ and a usable profile.jpg all in place (read-only; plain string paths)."""
    return _folder_check(students, student_id)[0]


def _folder_check(students: str, student_id: str, folder_fd: int | None = None) -> tuple[bool, os.stat_result | None]:
    """(in order, the stat of the profile.jpg that was read, if one was). ``folder_fd``: the folder, opened
    without following a symlink (then its entries are looked up from it, not by path)."""
    inside = f"{students}/{student_id}/" if folder_fd is None else ""
    try:
        if folder_fd is None and not stat.S_ISDIR(os.lstat(f"{students}/{student_id}").st_mode) or \
                not stat.S_ISDIR(os.lstat(f"{inside}{ATTENDANCE}", dir_fd=folder_fd).st_mode):
            return False, None
    except OSError:
        return False, None
    check = check_photo(f"{inside}{PROFILE}", dir_fd=folder_fd)
    return check.ok, check.info


def _checked_listing(students: str, name: str, deep: DeepCheck) -> tuple[bool, list[tuple]]:
    """--deep: the folder check and the deep listing from one open of the folder (one pass over the disk)."""
    try:
        fd = os.open(f"{students}/{name}", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # a symlink, a file, a folder that cannot be opened: the check by path says which
        in_order, profile = _folder_check(students, name)
        return in_order, deep.listing(name, profile)
    try:
        in_order, profile = _folder_check(students, name, fd)
        return in_order, deep.listing(name, profile, fd)
    finally:
        os.close(fd)


def _folder_names(store: PhotoStore) -> Iterator[str]:
    """Read as the check goes (a district's names all at once are 20 MB)."""
    try:
        with os.scandir(store.students) as entries:
            yield from (e.name for e in entries if not e.name.startswith(".") and is_safe_id(e.name))
    except OSError:
        return


async def read_census(settings: Settings, options: RestoreOptions, store: PhotoStore, database: Database,
                      report: RestoreReport, progress: Progress, stop: StopFlag, deep: DeepCheck | None = None
                      ) -> Census:
    census = Census()
    fields = settings.match_fields
    wanted = set(options.students)
    # The server takes a while to answer: meanwhile, check on disk (worker threads) which of the folders that
    # exist are in order. Only folders are looked at, read-only; a student without one is checked later.
    students_path = str(store.students)
    # A folder checked before its student's record arrived, mapped to its own name: the record takes this very
    # string (one copy of each id, not one from the disk and one from the database: 17 MB at 200,000 students).
    folders_checked: dict[str, str] = {}
    folders_not_in_order: set[str] = set()

    def check_folder(name: str) -> tuple[str, bool, list[tuple] | None]:
        if deep is None or not deep.lists_with_folder_check:
            return name, _in_order(students_path, name), None
        return name, *_checked_listing(students_path, name, deep)

    def checked(_index: int, result: tuple[str, bool, list[tuple] | None]) -> None:
        name, in_order, rows = result
        if plan := census.plans.get(name):
            plan.in_order, name = in_order, plan.student_id
        else:
            folders_checked[name] = name
            if not in_order:
                folders_not_in_order.add(name)
        if deep is not None and rows is not None:
            deep.add(name, rows)

    workers = deep.workers if deep is not None else settings.workers  # a first --deep run hashes as it lists
    early = asyncio.ensure_future(map_in_threads(check_folder, _folder_names(store), workers, stop, checked))
    meter = progress.phase("Reading the database", None)
    async for doc in database.read_students(fields, stop):
        meter.advance()
        census.documents += 1
        record = record_from_document(doc, fields)
        record.student_id = folders_checked.get(record.student_id, record.student_id)
        census.current_ids.add(record.student_id)
        if not record.receivable:
            census.others.append(record)
            report.problems.append(Problem(record.student_id, record.name, ProblemKind.INVALID_ID,
                                           f"{record.id_problem} (database); skipped"))
            continue
        census.any_photo_set = census.any_photo_set or bool(record.photo)
        plan = census.plans.get(record.student_id)
        if plan is None:
            census.plans[record.student_id] = StudentPlan(record, in_scope=not wanted or record.student_id in wanted)
        else:
            plan.documents += 1
            census.others.append(record)
    for record in census.others:  # an int 7 and a string "7" would share folder 7: neither may take it
        if not record.receivable and record.student_id in census.plans:
            census.plans[record.student_id].documents += 1
    _mark_one_folder_ids(census.plans)
    meter.done()
    await early
    report.summary.old_folders = sum(1 for name in folders_checked if name not in census.current_ids)

    # While the backups are read, check the students whose folders were not looked at yet.
    plans = list(census.plans.values())
    unchecked = []
    for plan in plans:
        if plan.in_scope:
            if plan.student_id in folders_checked:
                plan.in_order = plan.student_id not in folders_not_in_order
            elif plan.in_order is None:
                unchecked.append(plan)
    folders_checked.clear()
    folders_not_in_order.clear()
    meter = progress.phase("Checking folders", len(unchecked))

    def check(plan: StudentPlan) -> None:
        plan.in_order = _in_order(students_path, plan.student_id)

    checking = asyncio.ensure_future(map_in_threads(check, unchecked, settings.workers, stop,
                                                    lambda _i, _r: meter.advance()))
    try:
        owners_wanted = {link.owner for plan in plans if not plan.record.photo_is_canonical
                         and (link := read_link(plan.record.photo)[0]) and link.owner
                         and link.owner not in census.current_ids}
        census.owners_read = owners_wanted
        await asyncio.get_running_loop().run_in_executor(None, _read_backups, settings, options, census, report,
                                                         owners_wanted, progress)
    finally:
        await checking
        meter.done()
    return census


def _mark_one_folder_ids(plans: dict[str, StudentPlan]) -> None:
    """Two ids that are one folder on a share that ignores case (SMB, macOS) or drops trailing dots (`ABC1` and
    `abc1`, `abc1.` and `abc1`) are held as one id held twice: neither child is given or linked a photo."""
    seen: dict[str, str] = {}
    for sid in list(plans):
        key = one_folder_key(sid)
        if key == sid:  # (most ids: only an id that differs from its folded form can meet another)
            continue
        other = key if key in plans else seen.setdefault(key, sid)
        if other == sid:
            continue
        for one, two in ((sid, other), (other, sid)):
            if plans[one].one_folder_with is None:
                plans[one].one_folder_with = two
                plans[one].documents += 1


def _backup_paths(settings: Settings, options: RestoreOptions, report: RestoreReport,
                  progress: Progress) -> list[tuple[Path, bool]]:
    """(path, named by the person) of every backup to read, the one to report on first."""
    listing = list_backups(settings.backup_dir)
    report.backups_ignored = [BackupNote(n, w) for n, w in listing.ignored]
    paths = [(p, False) for p in listing.paths]
    for note in report.backups_ignored:
        progress.note("warning", f"Ignored {note.file}: {note.error}")
    if options.backup_file:
        named = named_backup(options.backup_file)
        paths = [(named, True)] + [(p, False) for p, _ in paths if p != named]
        report.backups_ignored = [n for n in report.backups_ignored  # read by name: not ignored
                                  if os.path.abspath(settings.backup_dir / n.file) != os.path.abspath(named)]
    return paths


def _read_backups(settings: Settings, options: RestoreOptions, census: Census, report: RestoreReport,
                  owners_wanted: set[str], progress: Progress) -> None:
    """Every backup, newest first: each record of a current id is compared with the database's record;
    records of the old ids that links point at are kept as those ids' history."""
    first = True
    for path, named in _backup_paths(settings, options, report, progress):
        if first:
            progress.note("backup", f"Loading backup from: {path.name}")
        effects = _BackupEffects()
        try:
            for entry in read_backup(path, settings.match_fields, follow=named):
                effects.count += 1
                if isinstance(entry, InvalidEntry) or not entry.receivable:
                    if first:
                        effects.invalid.append(entry)
                    if isinstance(entry, StudentRecord):
                        effects.claim(entry)  # an invalid id is still somebody's claim on the photo it names
                        for twin in census.plans_of_folder(entry.student_id):
                            # 2003 (a number) in an older export is the history of folder "2003" too
                            effects.compare(twin, entry, path.name, settings.match_fields, history_only=True)
                    continue
                plan = census.plans.get(entry.student_id)
                if plan is not None:
                    effects.compare(plan, entry, path.name, settings.match_fields)
                else:
                    if first:
                        effects.not_in_db.append((entry.student_id, entry.name))
                    effects.claim(entry)
                    for twin in census.plans_of_folder(entry.student_id):
                        # abcd-1001 is the folder of ABCD-1001 on an SMB/macOS share: its earlier owner, if another
                        effects.compare(twin, entry, path.name, settings.match_fields, history_only=True)
                if entry.student_id in owners_wanted:
                    effects.owners.append((entry.student_id, entry.person))
        except BackupUnusable as exc:
            if named:
                from .errors import BackupError
                raise BackupError(f"Backup file {path} is unusable: {exc}") from None
            report.backups_skipped.append(BackupNote(path.name, str(exc)))
            progress.note("warning", f"Skipped unusable backup {path.name}: {exc}")
            continue
        effects.commit(census)
        report.backups_read.append(path.name)
        if first:
            first = False
            report.backup_name, report.backup_students = path.name, effects.count
            census.newest_count = effects.count
            progress.note("count", f"Found {effects.count} students in backup")
            for entry in effects.invalid:
                sid = entry.raw_id if isinstance(entry, InvalidEntry) else entry.student_id
                why = entry.reason if isinstance(entry, InvalidEntry) else entry.id_problem
                report.problems.append(Problem(sid, entry.name, ProblemKind.INVALID_ID,
                                               f"{why} (backup {path.name}); skipped"))
            report.summary.not_in_database = len(effects.not_in_db)
            if len(census.plans) <= SCHOOL_SIZE:
                report.not_in_database = effects.not_in_db[:SCHOOL_SIZE]
    if len(report.backups_read) > 1:
        progress.note("count", f"Also read {len(report.backups_read) - 1} older backup(s): who each id was")
    if first:
        raise no_usable_backup(settings.backup_dir, report.backups_skipped)


class _BackupEffects:
    """What one backup would change in the census, kept until the whole file has been read: an unusable
    backup (cut off half-way) changes nothing."""

    def __init__(self) -> None:
        self.count = 0
        self.links: list[tuple[StudentPlan, PhotoLink]] = []
        self.conflicts: list[tuple[StudentPlan, str, bool]] = []
        self.owners: list[tuple[str, Person]] = []
        self.claims: list[tuple[PhotoLink, str, Person]] = []  # photos that records of ids not in the db name
        self.unproven: list[tuple[str, str]] = []  # (student, why a backup link of theirs is not followed)
        self.invalid: list[StudentRecord | InvalidEntry] = []
        self.not_in_db: list[tuple[str, str]] = []
        # records of an id its holder passed as only through a gap (a field the holder does not record)
        self.through_gap: list[tuple[StudentPlan, StudentRecord, str, tuple[str, ...]]] = []

    def compare(self, plan: StudentPlan, entry: StudentRecord, backup: str, fields: Sequence[str],
                history_only: bool = False) -> None:
        same_values = plainly_equal(entry.raw, plan.record.raw)
        if same_values:  # the very same values: judge one record, once
            if plan.self_judged is None:
                raw = plan.record.raw  # normalised here and let go: a district's Person objects add up
                plan.self_judged = self_verdict(plan.record._person or person_of(raw[0], raw[1:]), fields)
            judged = plan.self_judged
        else:
            judged = compare(entry.person, plan.record.person, fields)
        if judged.verdict is Verdict.DIFFERENT:  # (only then: ``.person`` keeps a Person on every record it is read of)
            judged = judge_same_id(entry.person, plan.record.person, fields, judged)
        if judged.verdict is not Verdict.SAME:
            self.conflicts.append((plan, _conflict_text(entry, backup, judged, plan.student_id),
                                   judged.verdict is Verdict.DIFFERENT))
            self.claim(entry, own_folder_too=True)  # a recycled id: the earlier person's claim stands
            return
        if not same_values and entry.person.codes:  # (is it proven someone else? see commit)
            self.through_gap.append((plan, entry, backup, tuple(fields)))
        if history_only or entry.photo_is_canonical:  # (its own id's link: nothing to follow)
            return
        link, _ = read_link(entry.photo)
        if link is not None and not link.is_canonical_for(plan.student_id):
            if judged is not plan.self_judged and \
                    (proof := proven_same(entry.person, plan.record.person, fields)).verdict is not Verdict.SAME:
                # an id can be recycled: a record that only shares the name is no proof its photo is this child's
                self.unproven.append((plan.student_id, f"backup {backup} links {link.relative}, but its record of "
                                                       f"this id proves nothing beyond the name ({proof.reason}); "
                                                       "not followed"))
                self.claim(entry)
                return
            self.links.append((plan, link))

    def claim(self, entry: StudentRecord, own_folder_too: bool = False) -> None:
        """Keep the photo this record names as a claim of its person (an id not in the database, an invalid
        id, or an id now held by somebody else)."""
        link, _ = read_link(entry.photo)
        if link is not None and (own_folder_too or not link.is_canonical_for(entry.student_id)):
            self.claims.append((link, entry.student_id, entry.person))

    def commit(self, census: Census) -> None:
        gaps = [(plan, entry, backup, fields) for plan, entry, backup, fields in self.through_gap
                if proven_by(entry.person, plan.record.person, fields, census.holders).verdict is not Verdict.SAME]
        by_day = census.holding_days(entry.person for _, entry, _, _ in gaps)  # (one pass, and only for a gap)
        for plan, entry, backup, fields in gaps:
            candidates = census.candidates_for(entry.person, fields)
            seen = {id(person) for _, person in candidates}
            candidates += [c for place in lookup_codes(entry.person, "dD") for c in by_day.get(place, ())
                           if id(c[1]) not in seen]
            if found := proven_someone_else(entry.person, plan.student_id, candidates, fields, census.holders):
                other, judged = found
                self.conflicts.append((plan, f"backup {backup} holds {entry.name} under this id, who is current "
                                       f"student {other} now ({judged.reason}); this record only fits by what it does "
                                       "not record: the photo in this folder may be theirs", True))
        for plan, link in self.links:
            if link not in plan.backup_links:
                plan.backup_links += (link,)
        for plan, text, different in self.conflicts:
            plan.conflict = plan.conflict or text
            plan.recycled = plan.recycled or different
        for old_id, person in self.owners:
            census.owners[old_id].append(person)
        census.backup_claims.extend(self.claims)
        for sid, why in self.unproven:
            census.unproven_links[sid].append(why)


def _conflict_text(entry: StudentRecord, backup: str, judged: Judgement, student_id: str) -> str:
    under = "this id" if entry.student_id == student_id else \
        f"{entry.student_id}, this id's folder on a share that ignores case or drops trailing dots (SMB, macOS)"
    return (f"backup {backup} holds {not_the_same(judged.verdict)} under {under} ({entry.name or '(no name)'}: "
            f"{judged.reason}); the photo in "
            "this folder may be theirs, so nothing is relinked and the link is left as it is")


def namesake_histories(settings: Settings, names: set[str], current: set[str], store: PhotoStore,
                       rivals: RivalOld | None = None, nameless_too: bool = False,
                       identifiers: set[tuple[int, str]] | None = None,
                       sharing: dict[tuple[int, str], dict[str, list[Person]]] | None = None,
                       blind_dates: set[tuple[int, str]] | None = None,
                       ) -> dict[str, dict[str, History]]:
    """{alike key: {old folder: history}} for old folders (not a current id's, whatever they hold) whose backup
    records carry one of these names (``identity.alike_key``) and agree on who it was: the old folders that could be
    these students'. ``rivals``, if given, is given those whose records disagree (they could be any of them), and
    with ``nameless_too`` the old folders that have a record with no usable name (they could be anyone).
    ``sharing``, if given, is given {identifier: {old folder: every backup's records of it}} for the old folders with
    a record holding one of ``identifiers`` (``identity.identifier_codes``: a corrected name?), whatever the name,
    or holding an identifier no look-up can find (``identity.unsearchable``) and one of ``blind_dates``.

    A backup record's id names a folder by ``records.one_folder_key`` (`OLD-B` and `old-b.` are the folder `old-b`
    on a share that ignores case or drops trailing dots), and a folder's records are every backup's records of any
    of its spellings."""
    unnamed = rivals if nameless_too else None
    identifiers = identifiers if sharing is not None else None
    blind_dates = blind_dates if sharing is not None else None
    if not names and unnamed is None and not identifiers and not blind_dates:
        return {}
    named: set[str] = set()  # folder keys with a record of one of the names
    shared: dict[str, set[tuple[int, str]]] = defaultdict(set)  # folder key -> which of the identifiers it holds
    nameless: set[str] = set()  # folder keys with a record with no usable name
    # keys whose folder, if any, is spelt otherwise than the record's id and its key (a folder OLD-B on a
    # case-sensitive disk): looked for in one listing of students/ (no set of every folder name is held)
    unsure_named: set[str] = set()
    unsure_shared: dict[str, set[tuple[int, str]]] = defaultdict(set)
    unsure_nameless: set[str] = set()
    folders = _FolderNames(store.students)

    def settle_unsure() -> None:
        if not (unsure_named or unsure_shared or unsure_nameless):
            return
        found = folders.named(unsure_named | unsure_shared.keys() | unsure_nameless).keys()
        named.update(found & unsure_named)
        for key in found & unsure_shared.keys():
            shared[key].update(unsure_shared[key])
        nameless.update(found & unsure_nameless)
        unsure_named.clear()
        unsure_shared.clear()
        unsure_nameless.clear()

    for path in list_backups(settings.backup_dir).paths:
        with contextlib.suppress(BackupUnusable):
            for entry in read_backup(path, settings.match_fields):
                if not isinstance(entry, StudentRecord) or entry.student_id in current:
                    continue
                name = alike_key(entry.person.name)
                wanted = name in names if name is not None else (unnamed is not None and len(nameless) <=
                                                                  MAX_UNNAMED_OLD)
                held = [p for p in identifier_codes(entry.person) if p in identifiers] if identifiers else []
                if blind_dates and unsearchable(entry.person, settings.match_fields):  # its number may be hers
                    held += [p for p in lookup_codes(entry.person, "dD") if p in blind_dates]
                if not wanted and not held:
                    continue
                key = one_folder_key(entry.student_id)
                sure = key in named or key in shared or key in nameless or folders.at_once(entry.student_id)
                if wanted and name is not None:
                    (named if sure else unsure_named).add(key)
                elif wanted:
                    (nameless if sure else unsure_nameless).add(key)
                if held:
                    (shared if sure else unsure_shared)[key].update(held)
                if len(unsure_named) + len(unsure_shared) + len(unsure_nameless) >= MAX_UNSURE_FOLDERS:
                    settle_unsure()  # (a listing now, so that these sets stay small)
    settle_unsure()  # (one listing per MAX_UNSURE_FOLDERS keys in doubt; one more below: every folder each key names)
    on_disk = folders.named(named | shared.keys() | nameless)
    on_disk = {key: [f for f in found if f not in current] for key, found in on_disk.items()}
    records = owner_records(settings, {key for key, found in on_disk.items() if found}, current=current)
    if sharing is not None:
        for key, places in shared.items():
            for folder in on_disk.get(key, ()):
                for place in places:
                    sharing.setdefault(place, {})[folder] = records.get(key, [])
    found: dict[str, dict[str, History]] = defaultdict(dict)
    for key in named:
        for folder in on_disk.get(key, ()):
            history = merge_history(records.get(key, []), settings.match_fields)
            if history.person is not None and history.person.name:
                found[alike_key(history.person.name) or ""][folder] = history
            elif rivals is not None:  # disputed: each record could be the folder's (identity.RivalOld)
                rivals.add(folder, records.get(key, []))
    if unnamed is not None:
        for folder in sorted(f for key in nameless for f in on_disk.get(key, ())):  # more than MAX_UNNAMED_OLD:
            unnamed.add(folder, records.get(one_folder_key(folder), []))  # unnamed.too_many
    return found


MAX_UNSURE_FOLDERS = 10_000  # folder keys awaiting a listing of students/ (memory stays small)


class _FolderNames:
    """The folders under students/ that backup ids name, by ``records.one_folder_key``. Most are answered by the
    id itself or its key; the others (a folder spelt in capitals or with trailing dots on a case-sensitive disk)
    by one listing of students/ that keeps only the names of the keys asked about."""

    def __init__(self, students: Path) -> None:
        self.students = students

    def at_once(self, student_id: str) -> bool:
        """Whether ``student_id`` surely names a folder (its own spelling or its key's): no listing."""
        key = one_folder_key(student_id)
        return os.path.lexists(self.students / student_id) or (key != student_id and
                                                               os.path.lexists(self.students / key))

    def named(self, keys: set[str]) -> dict[str, list[str]]:
        """{key: every folder (entry of any kind) under students/ that it names}, for these keys only."""
        found: dict[str, list[str]] = defaultdict(list)
        if not keys:
            return found
        try:
            with os.scandir(self.students) as entries:
                for entry in entries:
                    if (key := one_folder_key(entry.name)) in keys:
                        found[key].append(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return found  # no students/ at all: no folder (the run says so elsewhere)
        for key in found:
            found[key].sort()
        return found


def owner_histories(settings: Settings, ids: set[str], skip: Iterable[str] = (), current: Container[str] = ()
                    ) -> dict[str, History]:
    """Every backup's records of these old folders, merged: who each folder was (one more pass over the backups)."""
    records = owner_records(settings, ids, skip, current)
    return {old_id: merge_history(records.get(old_id, []), settings.match_fields) for old_id in ids}


def owner_records(settings: Settings, ids: set[str], skip: Iterable[str] = (), current: Container[str] = ()
                  ) -> dict[str, list[Person]]:
    """Every backup's records of these old folders, newest backup first (one more pass over the backups): a record
    of any id naming the folder (``records.one_folder_key``: `old-a` is the folder `OLD-A` on a share that ignores
    case), except a record of a ``current`` id spelt otherwise (that is another student's folder on this disk)."""
    records: dict[str, list[Person]] = defaultdict(list)
    asked: dict[str, list[str]] = defaultdict(list)
    for old_id in ids:
        asked[one_folder_key(old_id)].append(old_id)
    if ids:
        skipped = set(skip)
        for path in list_backups(settings.backup_dir).paths:
            if path.name in skipped:
                continue
            found: list[tuple[str, Person]] = []
            try:
                for entry in read_backup(path, settings.match_fields):
                    if isinstance(entry, StudentRecord) and (named := asked.get(one_folder_key(entry.student_id))):
                        found += [(old_id, entry.person) for old_id in named
                                  if entry.student_id == old_id or entry.student_id not in current]
            except BackupUnusable:
                continue
            for old_id, person in found:
                records[old_id].append(person)
    return records


# ---------------------------------------------------------------- 2. repair
@dataclass(slots=True)
class Repair:
    """One student's folder and photo after the repair phase (worker thread)."""

    plan: StudentPlan
    outcome: StudentOutcome
    candidates: list[Candidate] = field(default_factory=list)


def _found_in_order(plan: StudentPlan) -> Repair:
    return Repair(plan, StudentOutcome(plan.student_id, plan.record.name))


class Repairs:
    """Every checked in-scope student's repair, in database order. A student found in order (most of a district)
    gets one only when something is said of them: a district's worth of empty outcomes is 80 MB."""

    def __init__(self, plans: dict[str, StudentPlan], in_scope: list[StudentPlan]) -> None:
        self.plans, self.in_scope = plans, in_scope
        self._made: dict[str, Repair] = {}

    def keep(self, plan: StudentPlan, repair: Repair | None) -> None:
        plan.checked = True
        if repair is not None:
            self._made[plan.student_id] = repair

    def made(self) -> list[Repair]:
        """Those that hold something: evidence, a problem, a change, a photo not in order."""
        return list(self._made.values())

    def covers(self, student_id: str) -> bool:
        plan = self.plans.get(student_id)
        return plan is not None and plan.checked and plan.in_scope

    def of(self, student_id: str) -> Repair | None:
        """This student's repair, made now if they were found in order (None: not checked, or out of scope)."""
        repair = self._made.get(student_id)
        if repair is None:
            if not self.covers(student_id):
                return None
            repair = self._made[student_id] = _found_in_order(self.plans[student_id])
        return repair

    def each(self):
        """All checked ones in database order; one found in order is made as it is read and not kept."""
        for plan in self.in_scope:
            if plan.checked:
                yield self._made.get(plan.student_id) or _found_in_order(plan)

    def __len__(self) -> int:
        return sum(1 for plan in self.in_scope if plan.checked)


class Repairer:
    def __init__(self, store: PhotoStore, census: Census, writes: bool, journal_for) -> None:
        self.store, self.census, self.writes, self.journal_for = store, census, writes, journal_for
        self.students = str(store.students)  # plain strings: pathlib costs more than the syscalls here

    def check(self, plan: StudentPlan) -> tuple[StudentPlan, Repair | None]:
        """(the plan, its repair; None when it was found in order: nothing to say)."""
        if plan.in_order and plan.documents == 1:
            return plan, None
        return plan, self._repair(plan)

    def _repair(self, plan: StudentPlan) -> Repair:
        record = plan.record
        outcome = StudentOutcome(record.student_id, record.name)
        repair = Repair(plan, outcome)
        if plan.one_folder_with is not None:
            outcome.problems.append(Problem(record.student_id, record.name, ProblemKind.DUPLICATE_ID,
                                            f"student_id {record.student_id} and another student's, "
                                            f"{plan.one_folder_with}, are one folder on a share that ignores case "
                                            "or drops trailing dots (SMB, macOS): one child could be shown the "
                                            "other's photo; nothing is changed or linked for either"))
            outcome.photo = PhotoState.UNKNOWN
            return repair
        if plan.documents > 1:
            outcome.problems.append(Problem(record.student_id, record.name, ProblemKind.DUPLICATE_ID,
                                            f"student_id appears {plan.documents} times in the database; nothing "
                                            "is changed for it"))
            outcome.photo = PhotoState.UNKNOWN
            return repair
        try:
            self._folders(plan, outcome)
            check = check_photo(f"{self.students}/{record.student_id}/{PROFILE}")
            outcome.photo = check.state
            if check.state is PhotoState.UNREADABLE:
                outcome.problems.append(Problem(record.student_id, record.name, ProblemKind.ERROR,
                                                f"profile.jpg: {check.detail}"))
            elif check.state is PhotoState.MISSING and plan.conflict is None:
                repair.candidates = self._candidates(plan, outcome)
        except StoreProblem as exc:
            outcome.problems.append(Problem(record.student_id, record.name, ProblemKind.ERROR, str(exc)))
            outcome.photo = PhotoState.UNKNOWN
        except OSError as exc:  # anything the filesystem refuses for this one student
            detail = f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": ")
            outcome.problems.append(Problem(record.student_id, record.name, ProblemKind.ERROR, detail))
            outcome.photo = PhotoState.UNKNOWN
        return repair

    def _folders(self, plan: StudentPlan, outcome: StudentOutcome) -> None:
        folder = f"{self.students}/{plan.student_id}"  # ids are checked safe when records are built
        for path, shown in ((folder, f"{plan.student_id}/"),
                            (f"{folder}/{ATTENDANCE}", f"{plan.student_id}/{ATTENDANCE}/")):
            if ensure_dir(path, dry_run=not self.writes):
                outcome.created.append(shown)
                if self.writes:
                    self.journal_for().add({"type": "dir", "path": f"students/{shown.rstrip('/')}"})

    def _candidates(self, plan: StudentPlan, outcome: StudentOutcome) -> list[Candidate]:
        found: list[Candidate] = []
        outcome.notes.extend(self.census.unproven_links.get(plan.student_id, ()))
        links = [("backup", link) for link in plan.backup_links]
        db_link, problem = read_link(plan.record.photo)
        if problem:
            outcome.notes.append(problem)
        if db_link is not None and not db_link.is_canonical_for(plan.student_id):
            links.append(("database", db_link))
        own = f"{self.students}/{plan.student_id}/{PROFILE}"
        for where, link in links:
            path = resolve_link(self.store, link)
            if path is None or str(path) == own:
                continue
            if check_photo(path).ok:
                found.append(Candidate(plan, path, link, where))
            elif os.path.lexists(path):
                outcome.notes.append(f"{where} photo link points at {link.relative}, which is not a usable photo")
        return found


# ---------------------------------------------------------------- 3. evidence
def resolve_link(store: PhotoStore, link: PhotoLink) -> Path | None:
    """The file a link names, walking it ourselves so no symlink anywhere on the way is followed."""
    path = store.root
    for part in link.parts:
        path = path / part
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None
        except OSError:
            return None
    return path


def claimed_path(store: PhotoStore, link: PhotoLink) -> str | None:
    """The file a claim names, symlinks followed as long as it stays inside the photo folder: a claim is
    only ever a reason to refuse, so reading through a link here cannot give anyone a photo."""
    try:
        real = os.path.realpath(os.path.join(store.root, *link.parts))
        root = os.path.realpath(store.root)
        if os.path.commonpath([real, root]) != root or not stat.S_ISREG(os.lstat(real).st_mode):
            return None
    except (OSError, ValueError):
        return None
    return real


def _links_of(plan: StudentPlan) -> list[tuple[str, PhotoLink]]:
    """A student's own links that point somewhere other than their canonical photo."""
    links = [("backup", link) for link in plan.backup_links]
    if not plan.record.photo_is_canonical:
        db_link, _ = read_link(plan.record.photo)
        if db_link is not None and not db_link.is_canonical_for(plan.student_id):
            links.append(("database", db_link))
    return links


@dataclass
class JournalFacts:
    """What the journal says that can refuse a photo, from one pass over it (not one per student)."""

    rewritten: list[tuple[str, object]] = field(default_factory=list)  # (student, the link value a run replaced)
    quarantined: set[tuple[str, int]] = field(default_factory=set)  # (SHA-256, size) --deep moved aside
    placed: JournalPlacements = field(default_factory=lambda: JournalPlacements())  # by content, in SQLite
    unread: list[str] = field(default_factory=list)  # journals that could not be read: what they placed is unknown

    @classmethod
    def read(cls, store: PhotoStore) -> JournalFacts:
        facts = cls()
        for run_id, entry in every_line(store, facts.unread):
            kind = entry.get("type")
            if kind == "db" and isinstance(entry.get("student_id"), str):
                with contextlib.suppress(ValueError, TypeError):
                    old = decode_value(entry.get("old"))
                    if isinstance(old, str) and old.startswith("/api/photos/"):
                        facts.rewritten.append((entry["student_id"], old))
            elif kind == "quarantine" and not entry.get("undo"):
                with contextlib.suppress(ValueError, TypeError):
                    facts.quarantined.add((str(entry.get("sha256")), int(entry.get("size") or 0)))
            elif kind in ("file", "run"):  # (an undo's run line: the pairing of the run it undoes is taken back)
                facts.placed.add(run_id, entry)
        facts.placed.finish()
        return facts

    @classmethod
    def read_profiles(cls, store: PhotoStore) -> JournalFacts:
        """Only what the check of a photo in place starts from: the placements of a ``profile.jpg`` and the undos
        (a line that names neither is not even parsed: a migration's journal is mostly folders and attendance)."""
        facts = cls()
        for run_id, entry in every_line(store, facts.unread, _names_a_profile_or_an_undo):
            if entry.get("type") in ("file", "run"):
                facts.placed.add(run_id, entry)
        facts.placed.finish()
        return facts


def _names_a_profile_or_an_undo(line: str) -> bool:
    """(A text test, whatever the separators: a link change naming a profile.jpg has no "file" in it.)"""
    return (f'/{PROFILE}"' in line and '"file"' in line) or '"undoes"' in line


class JournalPlacements:
    """The journal's placements by content, in a private temporary SQLite file (``deep.PlacementTable``): memory
    stays flat however long the journal. Asked from the event loop and worker threads alike: one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)  # private temporary file
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-2048"):
            db.execute(f"PRAGMA {pragma}")
        self._table = PlacementTable(db)

    def add(self, run_id: str, entry: dict) -> None:
        with self._lock:
            self._table.add(run_id, entry)

    def finish(self) -> None:
        with self._lock:
            self._table.finish()

    def get(self, digest: tuple[str, int], default: Iterable[Placement] = ()) -> list[Placement]:
        with self._lock:
            return self._table.of_digest(digest) or list(default)

    def profiles(self) -> Iterator[Placement]:
        """(Read to the end: the table is held meanwhile.)"""
        with self._lock:
            if self._table.count:
                yield from self._table.profiles()


class EvidenceJudge:
    """Decides which candidates may be copied: the folder's owner is, by the identity rule and the backup
    history, this very student and no one else; and no other student (in scope or not) claims the same bytes.
    Content is compared, never link text: size first, then SHA-256."""

    def __init__(self, settings: Settings, store: PhotoStore, census: Census, report: RestoreReport) -> None:
        self.settings, self.store, self.census, self.report = settings, store, census, report
        self._journal: JournalFacts | None = None
        self._namesakes: dict[str, dict[str, History]] = {}  # alike key -> old folders that could be theirs
        self._sharing: dict[tuple[int, str], dict[str, list[Person]]] = {}  # identifier -> old folders holding it
        self._searched: set[tuple[int, str]] = set()  # identifiers the backups were searched for
        self._rivals: RivalOld | None = None  # old folders with no usable name, or disputed: anyone's they could be
        self._settled: dict[str, str] | None = None  # old id -> the student a person gave it
        self._unstanding: list | None = None  # (old id, person): pairings whose id no longer holds their student
        self._wanted: list[Candidate] = []
        self._expected: list[StudentPlan] = []  # students --deep will ask about: searched for with the first
        self._reviewed: dict | None = None  # old id -> migrate.Reviewed
        self._unread_claims: list[tuple[int | None, str, str]] = []  # (size if known, who, why): not compared
        self._known_keys: set[str] | None = None  # every id the tool knows, as one folder (one_folder_key)

    def expect(self, plans: Iterable[StudentPlan]) -> None:
        """The students ``old_folder_refusal`` will be asked about (--deep): the backups are searched for their
        names and identifiers in one pass, not one pass (and listing of students/) per student."""
        self._expected = list(plans)

    def judge(self, repairs: list[Repair]) -> dict[str, Candidate]:
        """``repairs``: those that hold something (a student in order has no candidates)."""
        wanted = [c for r in repairs for c in r.candidates]
        self._wanted = wanted
        if not wanted:
            return {}
        for candidate in wanted:
            try:
                candidate.digest = sha256_file(candidate.path)
            except (OSError, StoreProblem):
                candidate.digest = None
        digests = {c.digest for c in wanted if c.digest}
        claims = self._claims(digests)
        held = folders_holding(self.store, digests)
        elsewhere = held.folders
        claimed_ids = {held.old_id for by_who in claims.values() for held in by_who.values() if held.old_id}
        histories = owner_histories(self.settings, (self._orphan_ids(wanted, elsewhere) | claimed_ids)
                                    - self.census.owners_read, current=self.census.current_ids)
        histories.update({k: merge_history(self.census.owners.get(k, []), self.settings.match_fields)
                          for k in self.census.owners_read})
        notes: dict[str, list[str]] = defaultdict(list)
        accepted: dict[str, list[Candidate]] = defaultdict(list)
        for candidate in wanted:
            sid = candidate.plan.student_id
            why = self._refusal(candidate, claims, elsewhere, histories) or \
                self._uncompared_refusal(candidate.plan, candidate.digest, held, candidate.link.owner)
            if why:
                notes[sid].append(f"{candidate.where} photo link ({candidate.link.relative}) {why}; not copied")
            else:
                candidate.placed = self._proving_line(candidate)
                accepted[sid].append(candidate)
        chosen: dict[str, Candidate] = {}
        for repair in repairs:
            sid = repair.plan.student_id
            repair.outcome.notes.extend(notes.get(sid, []))
            options = {c.digest: c for c in accepted.get(sid, [])}
            if len(options) > 1:
                repair.outcome.notes.append("backup and database links point at different photos; not relinked")
            elif options:
                chosen[sid] = next(iter(options.values()))
        return chosen

    def _claims(self, digests: set) -> dict[tuple[str, int], dict[str, Claim]]:
        """Who names a file with these very bytes as theirs: every current record's link (whatever the scope or the
        id's validity), every link a run rewrote (the journal remembers it), and every backup record of an id that
        is no longer in the database (or is now somebody else's). A current student is keyed by id; an old record
        comes with its id (its whole backup history decides who it was); an invalid one with its person."""
        sizes = {size for _, size in digests}
        by_path: dict[str, dict[str, Claim]] = defaultdict(dict)

        def claim(link: PhotoLink | None, who: str, person: Person | None = None, old_id: str | None = None) -> None:
            path = claimed_path(self.store, link) if link is not None else None
            if path is not None:
                held = by_path[path].setdefault(who, Claim(old_id))
                if person is not None:
                    held.persons.append(person)

        for plan in self.census.plans.values():
            for _, link in _links_of(plan):
                claim(link, plan.student_id)
        for record in self.census.others:  # an invalid id or a repeated one: still somebody's claim
            claim(read_link(record.photo)[0], f"record {record.student_id}", record.person)
        for link, old_id, person in self.census.backup_claims:
            claim(link, f"old record {old_id}", person, old_id)
        for student_id, old_value in self._rewritten_links():
            claim(read_link(old_value)[0], student_id)
        claims: dict[tuple[str, int], dict[str, Claim]] = defaultdict(dict)
        for path, claimants in by_path.items():
            size = None
            try:
                size = os.lstat(path).st_size
                if size not in sizes:
                    continue
                digest = sha256_file(path)
            except FileNotFoundError:
                continue  # gone: it names nothing now
            except (OSError, StoreProblem) as exc:  # not read: it may name these very bytes
                why = getattr(exc, "strerror", None) or str(exc)
                self._unread_claims.extend((size, who, f"{os.path.relpath(path, self.store.root)} ({why})")
                                           for who in claimants)
                continue
            if digest in digests:
                claims[digest].update(claimants)
        return claims

    def _rewritten_links(self) -> list[tuple[str, object]]:
        """(student, the link value a run replaced): a claim a restore rewrote is still a claim."""
        return self._journal_facts().rewritten

    def _journal_facts(self) -> JournalFacts:
        if self._journal is None:
            self._journal = JournalFacts.read(self.store)
        return self._journal

    def _refusal(self, candidate: Candidate, claims, elsewhere, histories: dict[str, History]) -> str | None:
        plan, owner = candidate.plan, candidate.link.owner
        if candidate.digest is None:
            return "cannot be read"
        if named := self._other_folder_named(candidate.link, plan.student_id):
            return named
        if owner is not None and owner != plan.student_id:
            if owner in self.census.current_ids:
                return f"points at another current student's folder ({owner})"
            judged = self.old_folder_refusal(owner, plan, histories)
            if judged:
                return f"points into folder {owner}: {judged}"
        others = []
        for who, held in claims.get(candidate.digest, {}).items():
            if who == plan.student_id or self._claim_is_theirs(held, plan, histories):
                continue
            others.append(who)
        if others:
            return f"names a photo {', '.join(sorted(others)[:3])} also claim(s) (same bytes)"
        return self._bytes_refusal(plan, candidate.digest, elsewhere, histories, owner)

    def doubt_photos_in_place(self, repairs: Repairs, journal: bool = True) -> bool:
        """A photo already in a student's own folder is linked only when nothing the tool knows says it may be
        another child's: a backup record of another id, not proven this student, whose link names a file in this
        folder (a leaver's record kept under a new key, the folder's id given to a newcomer), or a journalled run
        that placed this very file from a person not proven this student (a second reseed handed the ids out in
        another order). Each doubt is a wrong-child problem: no link is written to that photo. False when a
        journal cannot be read: no link is written at all (what it placed cannot be checked). ``journal`` False:
        --deep has judged every placed file already (by its bytes, wherever they are)."""
        plans, fields = self.census.plans, self.settings.match_fields
        doubts: dict[str, list[str]] = defaultdict(list)
        if self.census.backup_claims:  # (by path, so only a link this run would write: a linked photo may be new)
            folder_of = {one_folder_key(sid): sid for sid, plan in plans.items() if not plan.record.photo_is_canonical}
            for link, old_id, person in self.census.backup_claims:
                sid = folder_of.get(one_folder_key(link.owner)) if link.owner is not None else None
                if sid is None or one_folder_key(old_id) == one_folder_key(sid):
                    continue
                judged = proven_by(person, plans[sid].record.person, fields, self.census.holders)
                if judged.verdict is not Verdict.SAME:
                    doubts[sid].append(f"a backup record of {old_id} links {link.relative}, "
                                       f"{not_the_same(judged.verdict)} than this student ({judged.reason}): the "
                                       "photo in this folder may be theirs; a person must compare them (no link is "
                                       "written while a backup says so)")
        # the lines that placed a profile.jpg are enough (--deep weighs every line of the same bytes, wherever)
        facts = self._journal if self._journal is not None else JournalFacts.read_profiles(self.store)
        suspect: dict[str, str] = {}  # student -> a placed file of their folder a line says is not theirs
        for placement in facts.placed.profiles() if journal else ():
            folder = placement.path.split("/", 2)[1]
            plan = plans.get(folder)
            if plan is None and len(folded := self.census.plans_of_folder(folder)) == 1:
                plan = folded[0]  # students/abc/ is ABC's folder on a share that ignores case (records.one_folder_key)
                folder = plan.student_id
            if plan is None or folder in suspect or \
                    placed_from_another(placement, folder, plan.record.person, fields, self.census.holders) is None:
                continue
            suspect[folder] = PROFILE
        for sid, rel in suspect.items():
            repair = repairs.of(sid)
            if repair is None or not repair.outcome.photo_ok:
                continue
            path = f"{self.store.students_text}/{sid}/{rel}"
            try:
                digest = sha256_file(path)
            except FileNotFoundError:
                continue
            except (OSError, StoreProblem) as exc:
                doubts[sid].append(f"students/{sid}/{rel}, which a run placed from another person, cannot be "
                                   f"read to compare ({getattr(exc, 'strerror', None) or exc})")
                continue
            for placement, judged in refusals(facts.placed.get(digest), sid, plans[sid].record.person, fields,
                                              self.census.holders):
                doubts[sid].append(f"run {placement.run_id} placed students/{sid}/{rel} from {placement.source}, "
                                   f"{not_the_same(judged.verdict)} than this student ({judged.reason}); "
                                   "--deep --quarantine moves it aside")
                break
        for sid, why in doubts.items():
            repair = repairs.of(sid)
            if repair is not None:
                if not any(p.problem is ProblemKind.WRONG_CHILD for p in repair.outcome.problems):
                    self.report.summary.wrong_child += 1  # (--deep counted those it found)
                repair.outcome.problems.extend(Problem(sid, plans[sid].record.name, ProblemKind.WRONG_CHILD, text)
                                               for text in why[:3])
        if facts.unread:
            self.report.problems.append(Problem("", "", ProblemKind.ERROR, f"{facts.unread[0]}: whether a photo "
                                                "it placed went to another child cannot be checked, so no link is "
                                                "written; make it readable for this user and run again"))
            return False
        return True

    def _proving_line(self, candidate: Candidate) -> Placement | None:
        """The newest journal line of these bytes, of a run not undone, that proves them this student's: its origin
        goes on with the copy (an undone pairing's, or one about another child, would outlive what it said)."""
        plan = candidate.plan
        lines = self._journal_facts().placed.get(candidate.digest or ("", 0), ())
        return next((p for p in reversed(lines) if not p.undone and placed_from_another(
            p, plan.student_id, plan.record.person, self.settings.match_fields, self.census.holders) is None), None)

    def _other_folder_named(self, link: PhotoLink, student_id: str) -> str | None:
        """Why a link may be another child's whatever folder it lies in: below the folder it points into (or
        anywhere, outside students/), it passes through a copy of the students tree under another folder, or a
        name in it holds another id the tool knows (current, in a backup, or a folder of students/)."""
        own = one_folder_key(student_id)
        start = 0 if link.owner is None else 2  # (inside students/{owner}/: what lies below it)
        copied = link.tree_copy_owner(start)
        if copied is not None and one_folder_key(copied) != own:
            return f"points into a copy of the students folder, under {copied}, not this student's folder"
        if link.parts[start:] == (PROFILE,):
            return None  # the usual place: nothing below the folder names anyone
        why = self._names_another(link, start, student_id, own)
        return f"names {why}, another student's (current, in a backup or a folder): whose photo is not proven" \
            if why else None

    def _names_another(self, link: PhotoLink, start: int, student_id: str, own: str) -> str | None:
        if self._known_keys is None:  # asked only for links that name more than their folder (rare): built once
            self._known_keys = {one_folder_key(i) for i in (*self.census.current_ids, *self.census.owners)} | {
                one_folder_key(old_id) for _, old_id, _ in self.census.backup_claims}
        for run in link.names_it_may_hold(start, besides=student_id):
            key = one_folder_key(run)
            if key and key != own and (key in self._known_keys or (
                    is_safe_id(run) and os.path.lexists(os.path.join(self.store.students, run)))):
                return run
        return None

    def _claim_is_theirs(self, held: Claim, plan: StudentPlan, histories: dict[str, History]) -> bool:
        """An old or invalid record's claim is the student's own only as a migrate match would be: its person
        (an old id: every backup's record of it, merged) is this student and could be no other current one."""
        if held.old_id is not None:
            if (decided := self._person_decided(held.old_id)) is not None:
                return decided == plan.student_id
            history = histories.get(held.old_id)
        else:
            history = merge_history(held.persons, self.settings.match_fields) if held.persons else None
        if history is None or history.person is None:
            return False
        choice = self._choose(history.person)
        return choice.outcome is Outcome.MATCH and choice.target == plan.student_id

    def _choose(self, old: Person) -> Choice:
        """Which current student an old record is, decided exactly as migrate decides an orphan."""
        fields = self.settings.match_fields
        return choose(old, self.census.candidates_for(old, fields), fields, label=lambda sid: str(sid),
                      uncompared=self.census.blind(fields).uncompared(old),
                      holders=self.census.holders)

    def old_folder_refusal(self, old_id: str, plan: StudentPlan, histories: dict[str, History]) -> str | None:
        """Why the old folder ``old_id`` may not give this student a photo: its history does not prove it is
        theirs, or another old folder fits them as well (one-to-one, as migrate). A person's standing reviewed
        pairing beats a rival, as in migrate; another folder a person gave this student refuses this one."""
        judged = self._owner_judgement(old_id, plan, histories)
        if judged:
            return judged
        settled = self._settled_by_person()
        if settled.get(old_id) == plan.student_id:
            return None  # a person paired them, knowing the rivals (migrate: pair_by_person)
        given = next((f for f, sid in settled.items() if sid == plan.student_id and f != old_id), None)
        if given is not None:
            return f"a person gave this student another old folder ({given}) in a reviewed pairs file"
        from .migrate import held_by_a_pairing, unstanding_pairings
        if self._unstanding is None:  # asked for every candidate photo: the reviewed pairings are read once
            self._unstanding = unstanding_pairings(self._reviewed_pairings(), settled)
        held = held_by_a_pairing(self._unstanding, plan.record.person, self.settings.match_fields, besides=old_id)
        if held is not None:
            return (f"a reviewed file gave old folder {held} to a student who could be this one, under an id that no "
                    "longer holds them: review it again")
        rival = self._rival_folder(old_id, plan)
        if rival:
            return f"{rival}: which photo is theirs is not known"
        return None

    def _rival_folder(self, owner: str, plan: StudentPlan) -> str | None:
        """Why another old folder's record could be this student too (whatever it holds): one-to-one, as migrate.
        A namesake's folder, or one whose old record has no usable name or whose backups disagree about who it
        was (identity.RivalOld). A folder a person gave another student is no rival (one given to no one still is)."""
        name = alike_key(plan.record.person.name)
        if name is None:
            return None
        settled = self._settled_by_person()
        codes = self.census.identifying_codes(plan.record.person)
        dated = lookup_codes(plan.record.person, "dD")
        if name not in self._namesakes or self._rivals is None or not self._searched.issuperset(codes + dated):
            asked = [*(c.plan for c in self._wanted), *self._expected]
            wanted = {n for p in asked if (n := alike_key(p.record.person.name)) is not None} | {name}
            wanted -= self._namesakes.keys()
            identifiers = {c for p in asked for c in self.census.identifying_codes(p.record.person)}
            identifiers = (identifiers | set(codes)) - self._searched
            dates = {c for p in asked for c in lookup_codes(p.record.person, "dD")} | \
                set(lookup_codes(plan.record.person, "dD"))
            dates -= self._searched
            first = self._rivals is None
            if self._rivals is None:
                self._rivals = RivalOld(self.settings.match_fields, settled=frozenset(settled))
            found = namesake_histories(self.settings, wanted, self.census.current_ids, self.store, self._rivals,
                                       nameless_too=first, identifiers=identifiers, sharing=self._sharing,
                                       blind_dates=dates)
            self._namesakes.update({n: found.get(n, {}) for n in wanted})
            self._searched |= identifiers | dates
        for old_id, history in self._namesakes.get(name, {}).items():
            if old_id == owner or old_id in settled or history.person is None:
                continue
            if judge_candidate(history.person, plan.record.person,
                               self.settings.match_fields).verdict is not Verdict.DIFFERENT:
                return f"old folder {old_id} fits this student too"
        if sharer := self._sharing_rival(owner, plan, codes + dated, settled):
            return sharer
        rival = self._rivals.rival(plan.record.person, besides=owner)
        return rival.reason if rival else None

    def _sharing_rival(self, owner: str, plan: StudentPlan, codes: list[tuple[int, str]],
                       settled: dict[str, str]) -> str | None:
        """Another old folder with a record sharing one of this student's identifiers that ``identity.choose``, as
        migrate decides an orphan, finds could be them (a corrected name? Not a sibling sharing the family email).
        Each record of a folder whose backups disagree is asked (any of them could be the folder's)."""
        fields = self.settings.match_fields
        for place in codes:
            for old_id, records in self._sharing.get(place, {}).items():
                if old_id == owner or old_id in settled:
                    continue
                merged = merge_history(records, fields).person
                for record in (merged,) if merged is not None else tuple(dict.fromkeys(records)):
                    if choose(record, [(plan.student_id, plan.record.person)], fields).fits:
                        return (f"old folder {old_id} ({record.name or '(no name)'}) has this student's "
                                f"{fields[place[0]]} and could be them (a corrected name?)")
                    if hidden := hidden_sharing(plan.record.person, record, fields):  # (found by a date)
                        return (f"old folder {old_id} ({record.name or '(no name)'}) has this student's "
                                f"{fields[place[0]]} and a {', '.join(hidden)} that cannot be compared: it could "
                                "be them (a corrected name?)")
        return None

    def _settled_by_person(self) -> dict[str, str]:
        """The old folders a person's standing reviewed decision settles (``migrate.settled_by_person``, as migrate
        decides them): {old id: the student it was given to, "" for no one}."""
        if self._settled is None:
            from .migrate import settled_by_person

            def holder(student_id: str) -> Person | None:
                plan = self.census.plans.get(student_id)
                return plan.record.person if plan is not None and plan.documents == 1 else None
            self._settled = settled_by_person(self._reviewed_pairings(), holder, self.settings.match_fields)
        return self._settled

    def _bytes_refusal(self, plan: StudentPlan, digest: tuple[str, int], elsewhere, histories: dict[str, History],
                       owner: str | None = None) -> str | None:
        """Why these bytes may be someone else's: the same photo in another student's folder, in an old folder
        that is not proven this student's, moved to quarantine by --deep, or placed by a journalled run from a
        person not proven this student (the journal only ever refuses: without one, the rest decides)."""
        if digest in self._quarantined():
            return "is a photo --deep moved to quarantine as possibly another child's: check it by hand"
        if unread := self._journal_facts().unread:  # it may say these bytes were placed from another child
            return f"cannot be checked against the runs that placed photos: {unread[0]}"
        lines = self._journal_facts().placed.get(digest, ())
        for placement, placed in refusals(lines, plan.student_id, plan.record.person, self.settings.match_fields,
                                          self.census.holders):
            if placed is not None:  # (the rule --deep's "placed from another person" uses)
                return (f"is a photo run {placement.run_id} placed in {placement.path} from {placement.source}, "
                        f"{not_the_same(placed.verdict)} than this student ({placed.reason})")
        for folder in elsewhere.get(digest, ()):
            if folder == plan.student_id or folder == owner:
                continue
            if folder in self.census.current_ids:
                return f"names the same photo (same bytes) as a file of current student {folder}"
            judged = self.old_folder_refusal(folder, plan, histories)
            if judged:
                return f"names the same photo (same bytes) as a file in folder {folder}: {judged}"
        return None

    def _uncompared_refusal(self, plan: StudentPlan, digest: tuple[str, int] | None, held: Holding,
                            owner: str | None = None) -> str | None:
        """Why these bytes are not known to be nowhere else: something in students/ (outside the student's and the
        photo's own folder), or a file another record names, could not be compared with them."""
        if digest is None:
            return None
        unread = held.unread_besides(plan.student_id, owner)
        if unread:
            return unread
        for size, who, why in self._unread_claims:
            if who != plan.student_id and size in (None, digest[1]):
                return f"may be the photo {who} claims: its file could not be compared ({why})"
        return None

    def content_refusal(self, items: list[tuple[StudentPlan, tuple[str, int]]]) -> list[str | None]:
        """For photos from elsewhere (a photo source): why each may not go to its student, by content alone."""
        digests = {digest for _, digest in items}
        held = folders_holding(self.store, digests)
        elsewhere = held.folders
        ids = {f for folders in elsewhere.values() for f in folders if f not in self.census.current_ids}
        histories = owner_histories(self.settings, ids - self.census.owners_read, current=self.census.current_ids)
        histories.update({k: merge_history(self.census.owners.get(k, []), self.settings.match_fields)
                          for k in self.census.owners_read})
        return [self._bytes_refusal(plan, digest, elsewhere, histories) or self._uncompared_refusal(plan, digest, held)
                for plan, digest in items]

    def _quarantined(self) -> set[tuple[str, int]]:
        return self._journal_facts().quarantined

    def _owner_judgement(self, old_id: str, plan: StudentPlan, histories: dict[str, History]) -> str | None:
        """Why the old folder ``old_id`` is not this student's (None when its history, decided exactly as migrate
        decides an orphan, names this student and no one else). A person's reviewed pairing (``--pairs``) of
        that folder decides instead: with this student, with someone else, or with no one."""
        if (decided := self._person_decided(old_id)) is not None:
            if decided == plan.student_id:
                return None
            return ("a person decided its photos go to no one (a reviewed pairs file)" if decided == "" else
                    f"a person paired it with another student ({decided}) in a reviewed pairs file")
        history = histories.get(old_id)
        if history is None or (history.person is None and history.problem is None):
            return "no backup holds that id, so whose it is is unknown"
        if history.person is None:
            reason = history.problem.reason if history.problem else ""
            return f"its backup records disagree ({reason})"
        choice = self._choose(history.person)
        if choice.outcome is Outcome.MATCH and choice.target == plan.student_id:
            return None
        if choice.outcome is Outcome.MATCH:
            other = self.census.plans.get(str(choice.target))
            return f"its old record is another current student's ({other.record.name + ', ' if other else ''}" \
                   f"{choice.target})"
        return f"its old record does not prove it is this student ({choice.outcome.value}: {choice.reason})"

    def _person_decided(self, old_id: str) -> str | None:
        """The student a reviewed pairs file gave this old folder to ("" for no one, or for an id that now
        belongs to somebody else), None if no file did."""
        reviewed = self._reviewed_pairings().get(old_id)
        if reviewed is None:
            return None
        if reviewed.new_id is None:
            return ""
        plan = self.census.plans.get(reviewed.new_id)
        if plan is not None and not reviewed.still_theirs(plan.record.person, self.settings.match_fields):
            return ""  # the id was reused for another child: the person's pairing was not with them
        return reviewed.new_id

    def _reviewed_pairings(self) -> dict:
        if self._reviewed is None:
            from .migrate import reviewed_pairings
            self._reviewed = reviewed_pairings(self.store)
        return self._reviewed

    def _orphan_ids(self, wanted: list[Candidate], elsewhere: dict) -> set[str]:
        ids = {c.link.owner for c in wanted if c.link.owner and c.link.owner not in self.census.current_ids}
        ids.update(f for folders in elsewhere.values() for f in folders if f not in self.census.current_ids)
        return ids


# ---------------------------------------------------------------- the run
async def run_restore(settings: Settings, options: RestoreOptions, progress: Progress, stop: StopFlag
                      ) -> RestoreReport:
    with session(settings, options.mode, TITLE, progress, force_flag="--force" if options.force else None) as run:
        report = RestoreReport(run.info, scope=options.students, apply_command=options.apply_command)
        deep = DeepCheck(settings, run.store, stop, progress) if options.deep else None
        async with contextlib.AsyncExitStack() as cleanup:  # (closed even when the database cannot be reached)
            if deep is not None:
                cleanup.callback(deep.close)
            database = await cleanup.enter_async_context(Database(settings))
            census = await read_census(settings, options, run.store, database, report, progress, stop, deep)
            if deep is not None and run.mode.writes and not stop.requested:  # listed as found, before any repair
                await deep.finish_listing()
            report.round_trips = database.round_trips.count
            _refuse_if_implausible(run, options, census, report)
            source = None
            if options.photo_source:  # listed and assigned before anything changes: a bad source writes nothing
                from .sources import prepare_source
                source = await prepare_source(settings, options.photo_source, options.source_key,
                                              options.source_map, census.plans, census.current_ids)
                progress.note("backup", f"Photo source: {source.source.shown} ({source.source.kind}): "
                                        f"{source.layout}")
            for sid in sorted(set(options.students) - census.plans.keys()):
                problem = "in the database under an invalid or duplicated record" if sid in census.current_ids \
                    else "not in the database (a backup-only or unknown id gets no folder)"
                report.problems.append(Problem(sid, "", ProblemKind.NOT_FOUND, problem))
            from .migrate import recover_interrupted_cleans  # (a clean's folder moved aside hides its photos)
            for text in recover_interrupted_cleans(run.store, put_back=False):
                report.problems.append(Problem("(moved aside)", "", ProblemKind.ERROR, text))
            try:
                if not run.root_exists and run.mode.writes:
                    make_dirs(run.store.root)  # --force on a missing root: created now that every check passed
                    with store_lock(run.store, shared=False, wait_seconds=settings.lock_wait_seconds):
                        await _repair_and_link(run, options, census, database, report, stop, source, deep)
                else:
                    await _repair_and_link(run, options, census, database, report, stop, source, deep)
            finally:
                if source is not None:
                    source.source.close()
            report.round_trips = database.round_trips.count
        if stop.signum is not None:
            report.interrupted_by = stop.signum
        report.summary.invalid_ids = sum(1 for p in report.problems if p.problem is ProblemKind.INVALID_ID)
        report.summary.backups_skipped = len(report.backups_skipped)
        report.journalled = run.journalled
        run.finish(report.exit_code, {k: v for k, v in vars(report.summary).items() if v},
                   interrupted=None if not report.interrupted_by else f"signal {report.interrupted_by}")
    return report


def _refuse_if_implausible(run: Session, options: RestoreOptions, census: Census, report: RestoreReport) -> None:
    """Checks that come before any write: a refused run writes nothing."""
    check_database_size(run.settings, census.documents, report.backup_name, report.backup_students)
    if run.mode.writes:
        refuse_unread_backups(report.backups_skipped, report.backups_ignored, "--verify-only")
    if run.root_exists and census.any_photo_set and not options.force and students_dir_is_empty(run.store):
        raise PhotoRootError(f"{run.store.students} is empty but the database links photos "
                             "(is the share mounted?); use --force to rebuild it anyway")


async def _repair_and_link(run: Session, options: RestoreOptions, census: Census, database: Database,
                           report: RestoreReport, stop: StopFlag, source=None, deep: DeepCheck | None = None) -> None:
    writes = run.mode.writes
    store = run.store
    if writes and not os.path.lexists(store.students):
        run.start_journal()
        make_dirs(store.students)
    in_scope = [p for p in census.plans.values() if p.in_scope]
    meter = run.progress.phase("Repairing" if writes else "Checking", len(in_scope))
    repairs = Repairs(census.plans, in_scope)
    repairer = Repairer(store, census, writes, run.start_journal)

    def collect(_index: int, checked: tuple[StudentPlan, Repair | None]) -> None:
        repairs.keep(*checked)
        meter.advance()

    await map_in_threads(repairer.check, in_scope, run.settings.workers, stop, collect)
    meter.done()
    judge = EvidenceJudge(run.settings, store, census, report)
    chosen = judge.judge(repairs.made())
    if chosen:
        await _copy_evidence(run, repairs.made(), chosen, stop)
    if source is not None and not stop.requested:
        from .sources import fill, unused_problems
        guard = judge  # the same judge: the journal and the reviewed pairings it read are read once per run
        # made here, on this thread: Repairs is not shared with the worker that fills
        targets = {sid: repair for sid, files in source.by_student.items() if files and (repair := repairs.of(sid))}
        await asyncio.get_running_loop().run_in_executor(None, fill, source, store, targets, writes,
                                                         run.start_journal, guard.content_refusal)
        report.summary.photos_filled = source.used
        report.problems.extend(unused_problems(source))
        report.source = source.describe()
    if deep is not None and not stop.requested:
        await _deep_check(run, options, census, repairs, report, deep)
    links_allowed = judge.doubt_photos_in_place(repairs, journal=deep is None)
    changes = _conclude(run, census, repairs, report, links_allowed)
    if stop.requested:
        return
    if not writes:
        report.summary.database_updated = len(changes)
    elif changes:
        await _write_links(run, database, changes, report, stop)


async def _deep_check(run: Session, options: RestoreOptions, census: Census, repairs: Repairs,
                      report: RestoreReport, check: DeepCheck) -> None:
    judge = EvidenceJudge(run.settings, run.store, census, report)
    check.attach(census.plans, judge.old_folder_refusal, judge.expect, census.holders)
    result = await check.run()
    if options.quarantine and run.mode.writes and result.findings:
        check.quarantine(run.info.run_id or "", run.start_journal(), repairs.covers)
    report.deep = [f.as_json() for f in result.findings]
    report.deep_check = {"photos": result.files_seen, "hashed": result.files_hashed, "cache": result.cache}
    by_student: dict[str, list[Problem]] = defaultdict(list)
    whole_school = not options.students  # an old folder's problem is the whole school's, not a --student run's
    for problem in findings_as_problems(
            result, lambda sid: census.plans[sid].record.name if sid in census.plans else "(an old folder)",
            lambda sid: repairs.covers(sid) if sid in census.plans else whole_school):
        by_student[problem.student_id].append(problem)
    for sid, problems in by_student.items():
        if repair := repairs.of(sid):
            repair.outcome.problems.extend(problems)
        elif sid not in census.plans:
            report.problems.extend(problems)
    for path, _ in result.quarantined:
        parts = path.split("/")
        if len(parts) == 3 and parts[2] == PROFILE and (repair := repairs.of(parts[1])):
            repair.outcome.photo = PhotoState.MISSING
            repair.outcome.notes.append("profile.jpg moved to quarantine (--deep --quarantine)")
    report.summary.wrong_child = len({p.student_id for ps in by_student.values() for p in ps
                                      if p.problem is ProblemKind.WRONG_CHILD})
    for path, why in result.left_in_place:  # the finding stands: say why its photo is still there
        parts = path.split("/", 2)
        if repair := repairs.of(parts[1]):
            repair.outcome.notes.append(f"{parts[2]} not moved to quarantine: {why}")
        else:
            report.problems.append(Problem(parts[1], "(an old folder)", ProblemKind.ERROR,
                                           f"{parts[2]} not moved to quarantine: {why}"))
    report.summary.quarantined = len(result.quarantined)
    run.progress.note("info", f"Deep check: {result.files_seen} photo(s) looked at, {result.files_hashed} hashed "
                              f"now (hash cache: {result.cache}), {len(result.findings)} finding(s)")


async def _copy_evidence(run: Session, repairs: list[Repair], chosen: dict[str, Candidate], stop: StopFlag) -> None:
    store, writes = run.store, run.mode.writes
    work = [r for r in repairs if r.plan.student_id in chosen]

    def copy(repair: Repair) -> None:
        candidate = chosen[repair.plan.student_id]
        outcome = repair.outcome
        rel = candidate.link.relative
        if not writes:
            outcome.photo, outcome.relinked_from = PhotoState.OK, rel
            return
        profile = store.profile(repair.plan.student_id)
        journal = run.start_journal()
        try:
            sweep_temporaries(profile.parent)  # a killed earlier run may have left one
            staged = stage_copy(candidate.path, profile, durable=True, below=store.students_text)
            if (staged.sha256, staged.size) != candidate.digest:  # changed or swapped since it was judged
                staged.discard()
                raise StoreProblem(f"{rel} changed after it was judged this student's; not copied")
            journal.add({"type": "file", "path": f"students/{repair.plan.student_id}/{PROFILE}", "size": staged.size,
                         "sha256": staged.sha256, "source": rel,
                         # a copy of a placed file names whom it came from too, so a later reseed's check follows it
                         "origin": {**(candidate.placed.origin if candidate.placed else {}),
                                    "link": rel, "from": candidate.where}})
            sync_or_discard(journal, staged)  # the line is durable before the photo is in place
            result = place_copy(staged)
            fsync_dir(profile.parent)
        except (OSError, StoreProblem) as exc:
            outcome.problems.append(Problem(outcome.student_id, outcome.name, ProblemKind.ERROR,
                                            str(exc) if isinstance(exc, StoreProblem) else
                                            f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}"))
            outcome.photo = PhotoState.UNKNOWN
            return
        if result.outcome == "conflict":  # someone put a photo in place meanwhile: theirs wins
            outcome.notes.append("a different photo appeared during the run; kept it")
        outcome.photo = check_photo(profile).state
        if result.outcome == "copied":
            outcome.relinked_from = rel

    await map_in_threads(copy, work, run.settings.workers, stop, lambda _i, _r: None)


def _conclude(run: Session, census: Census, repairs: Repairs, report: RestoreReport, links_allowed: bool = True
              ) -> list[LinkChange]:
    """Each student's outcome, its database link change, its lines and counts, in database order (no link change
    at all when ``links_allowed`` is False)."""
    changes: list[LinkChange] = []
    summary = report.summary
    total = len(repairs)
    summary.students = len(census.plans)
    summary.in_scope = total
    for index, repair in enumerate(repairs.each(), 1):
        plan, outcome = repair.plan, repair.outcome
        record = plan.record
        if plan.conflict is not None:
            outcome.problems.append(Problem(record.student_id, record.name, ProblemKind.IDENTITY, plan.conflict))
        elif links_allowed and plan.documents == 1 and outcome.photo_ok and not any(
                p.problem is ProblemKind.WRONG_CHILD for p in outcome.problems):  # never link a doubted photo
            if not record.photo_is_canonical:
                _, problem = read_link(record.photo)
                if problem and problem not in outcome.notes:
                    outcome.notes.append(problem)
                if record.doc_id is None:  # a canonical link drops its _id: a write to it would match nothing
                    raise RuntimeError(f"internal: a link change for {record.student_id} without its _id")
                outcome.link_change = LinkChange(record.doc_id, record.student_id,
                                                 record.photo if record.has_photo_field else ABSENT,
                                                 canonical_link(record.student_id),
                                                 identity_guard(record, run.settings.match_fields))
                changes.append(outcome.link_change)
        if not outcome.photo_ok and plan.documents == 1 and not any(
                p.problem in (ProblemKind.ERROR,) for p in outcome.problems):
            kind = ProblemKind.MISSING if outcome.photo is PhotoState.MISSING else ProblemKind.CORRUPT
            detail = "; ".join(outcome.notes) if kind is ProblemKind.MISSING else outcome.photo.describe
            outcome.problems.append(Problem(record.student_id, record.name, kind, detail))
        summary.directories_created += len(outcome.created)
        summary.photos_verified += outcome.photo_ok
        summary.photos_relinked += outcome.relinked_from is not None
        summary.photos_missing += any(p.problem is ProblemKind.MISSING for p in outcome.problems)
        summary.photos_corrupt += any(p.problem is ProblemKind.CORRUPT for p in outcome.problems)
        summary.duplicate_ids += any(p.problem is ProblemKind.DUPLICATE_ID for p in outcome.problems)
        summary.identity_conflicts += any(p.problem is ProblemKind.IDENTITY for p in outcome.problems)
        summary.errors += any(p.problem is ProblemKind.ERROR for p in outcome.problems)
        report.problems.extend(outcome.problems)
        run.progress.student(index, total, outcome, report)
    return changes


def identity_guard(record: StudentRecord, fields: Sequence[str]) -> tuple[tuple[str, object], ...]:
    """(field, value as read) of the name and identifying fields, ABSENT where the document had no such field:
    the link write applies only while they all still hold (``$exists: false`` is also far cheaper than
    ``$eq: null`` on the test server)."""
    return tuple((name, ABSENT if record.absent_fields >> i & 1 else value)
                 for i, (name, value) in enumerate(zip(("name", *fields), record.raw, strict=True)))


async def _write_links(run: Session, database: Database, changes: list[LinkChange], report: RestoreReport,
                       stop: StopFlag) -> None:
    journal = run.start_journal()
    meter = run.progress.phase("Writing database links", len(changes))
    from .db import encode_value

    def before(batch: Sequence[LinkChange]) -> None:
        for change in batch:
            journal.add({"type": "db", "doc_id": encode_value(change.doc_id), "student_id": change.student_id,
                         "old": encode_value(change.old_photo), "new": encode_value(change.new_photo)})
        journal.sync()  # the old values are on disk before the server changes them
        meter.advance(len(batch))

    written = await database.set_photo_links(changes, stop, before)
    meter.done()
    summary = report.summary
    summary.database_updated = written.updated
    summary.database_skipped_changed = written.skipped_changed + written.failed
    if summary.database_skipped_changed:
        report.problems.append(Problem("", "", ProblemKind.DATABASE, f"{summary.database_skipped_changed} link(s) "
                                       "not updated: the record changed since it was read; run again"))
    if written.uncertain:
        report.problems.append(Problem("", "", ProblemKind.DATABASE, f"{written.uncertain} link(s) sent as the stop "
                                       "came, before the server answered: they may or may not be written (the journal "
                                       "names them); run again"))
    if written.stopped:
        report.problems.append(Problem("", "", ProblemKind.DATABASE, f"{written.stopped} link(s) not written: "
                                       "stopped; run again to finish"))
