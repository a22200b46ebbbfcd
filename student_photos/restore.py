"""Restore: rebuild every student's folders and relink photos and database links from evidence."""

from __future__ import annotations

import asyncio
import os
import stat
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .backups import choose_backup
from .config import Settings
from .db import Database, LinkChange
from .errors import ConfigError, PhotoRootError
from .records import InvalidEntry, display_name, is_safe_id, record_from_document
from .report import Problem, Progress, RestoreReport, RunInfo, StopFlag, StudentOutcome
from .store import (ATTENDANCE, PROFILE, PhotoStore, StoreProblem, canonical_link, check_root, ensure_dir,
                    fsync_dir, link_problem, map_in_threads, photo_state, resolve_api_photo, safe_copy,
                    store_lock, students_dir_is_empty, sweep_temporaries)


@dataclass(frozen=True)
class RestoreOptions:
    verify_only: bool = False
    backup_file: str | None = None
    students: tuple[str, ...] = ()
    force: bool = False


class _Canonical:
    """Stands for a `photo` that already is the student's canonical link (saves a string per student)."""

    def __repr__(self) -> str:
        return "<canonical link>"


CANONICAL = _Canonical()


def compact_link(student_id: str, photo: object, other: object = None) -> object:
    """``photo`` as held in a plan: CANONICAL, the same object as ``other`` when equal, or itself."""
    if type(photo) is str:
        if photo == canonical_link(student_id):
            return CANONICAL
        if photo == other:
            return other
    return photo


@dataclass(slots=True)
class StudentPlan:
    """All a run knows about one student, from the backup and the database: one object per student."""

    student_id: str
    name: str
    backup_photo: object = None
    db_photo: object = None
    doc_id: object = None
    in_db: int = 0  # database documents holding this id; more than one is a problem
    conflicting_in_backup: bool = False
    in_order: bool = False  # folders and photo found in order while the database was being read


def owner_of(link: object) -> str | None:
    """The student id whose folder an `/api/photos/students/{id}/...` link points into."""
    if isinstance(link, str) and link.startswith("/api/photos/students/"):
        return link[len("/api/photos/students/"):].split("/", 1)[0] or None
    return None


def shared_links(plans: list[StudentPlan]) -> Counter:
    """How many students each `/api/photos/` link is claimed by (a photo two children claim is no one's)."""
    claims: Counter = Counter()
    for plan in plans:
        links = (plan.backup_photo, plan.db_photo)
        claims.update({link for link in links if isinstance(link, str) and link.startswith("/api/photos/")})
    return claims


def is_in_order(students: str, student_id: str) -> bool:
    """Folder, attendance/ and a valid profile.jpg all in place (read-only; plain string paths)."""
    folder = f"{students}/{student_id}"
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode) or not stat.S_ISDIR(os.lstat(f"{folder}/{ATTENDANCE}").st_mode):
            return False
    except OSError:
        return False
    return photo_state(f"{folder}/{PROFILE}") == "ok"


class Restorer:
    def __init__(self, store: PhotoStore, known_ids: dict[str, StudentPlan], claims: Counter,
                 verify_only: bool) -> None:
        self.store = store
        self.students = str(store.students)  # plain strings: pathlib costs more than the syscalls here
        self.known_ids = known_ids
        self.claims = claims
        self.verify_only = verify_only

    def __call__(self, plan: StudentPlan) -> StudentOutcome:
        outcome = StudentOutcome(plan.student_id, plan.name, in_database=plan.in_db > 0, doc_id=plan.doc_id)
        if plan.in_order:
            self._link(plan, outcome)
            return outcome
        try:
            self._folders(plan, outcome)
            self._photo(plan, outcome)
        except StoreProblem as exc:
            outcome.errors.append(str(exc))
            outcome.photo = "unknown"
        except OSError as exc:  # anything the filesystem refuses for this one student
            outcome.errors.append(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))
            outcome.photo = "unknown"
        self._link(plan, outcome)
        return outcome

    def _folders(self, plan: StudentPlan, outcome: StudentOutcome) -> None:
        folder = f"{self.students}/{plan.student_id}"  # ids are checked safe when records are built
        if ensure_dir(folder, self.verify_only):
            outcome.created.append(f"{plan.student_id}/")
        if ensure_dir(f"{folder}/{ATTENDANCE}", self.verify_only):
            outcome.created.append(f"{plan.student_id}/{ATTENDANCE}/")

    def _photo(self, plan: StudentPlan, outcome: StudentOutcome) -> None:
        outcome.photo = photo_state(f"{self.students}/{plan.student_id}/{PROFILE}")
        if outcome.photo != "missing":
            return
        profile = self.store.profile(plan.student_id)
        source, why_not = self._evidence(plan)
        if why_not:
            outcome.notes.append(why_not)
        if source is None:
            return
        rel = str(source.relative_to(self.store.root))
        if self.verify_only:
            outcome.photo, outcome.relinked_from = "ok", rel
            return
        sweep_temporaries(profile.parent)  # a killed earlier run may have left one
        result = safe_copy(source, profile)
        fsync_dir(profile.parent)
        if result.outcome == "conflict":  # someone put a photo in place meanwhile: theirs wins
            outcome.notes.append("a different photo appeared during the run; kept it")
        outcome.photo = photo_state(profile)
        if result.outcome == "copied":
            outcome.relinked_from = rel

    def _evidence(self, plan: StudentPlan) -> tuple[Path | None, str | None]:
        """The one file the links point to, if they agree and it is this student's own."""
        links = [("backup", plan.backup_photo)] if not plan.conflicting_in_backup else []
        if plan.in_db:
            links.append(("database", plan.db_photo))
        found = {}
        notes = []
        for where, link in links:
            if link is CANONICAL or link_problem(link):
                continue
            owner = owner_of(link)
            if owner and owner != plan.student_id and owner in self.known_ids:
                notes.append(f"{where} photo link points at another student's folder ({owner}); not copied")
                continue
            if self.claims.get(link, 0) > 1:
                notes.append(f"{where} photo link is claimed by {self.claims[link]} students; not copied")
                continue
            source = resolve_api_photo(self.store, link)
            if source is None or source == self.store.profile(plan.student_id):
                continue
            if photo_state(source) == "ok":
                found[source] = where
        if len(found) > 1:
            return None, "backup and database links point at different photos; not relinked"
        if found:
            return next(iter(found)), "; ".join(notes) or None
        return None, "; ".join(notes) or None

    def _link(self, plan: StudentPlan, outcome: StudentOutcome) -> None:
        if not plan.in_db:
            return
        if plan.in_db > 1:
            outcome.errors.append(f"student_id appears {plan.in_db} times in the database; links left unchanged")
            return
        if plan.db_photo is CANONICAL:
            return
        problem = link_problem(plan.db_photo)
        if problem:
            outcome.notes.append(problem)
        if outcome.photo_ok:
            outcome.link_change = (plan.db_photo, canonical_link(plan.student_id))


def problems_of(outcome: StudentOutcome) -> list[Problem]:
    problems = [Problem(outcome.student_id, outcome.name, "error", e) for e in outcome.errors]
    kind = outcome.photo_problem
    if kind:
        detail = "; ".join(outcome.notes) if kind == "missing" else outcome.photo
        problems.append(Problem(outcome.student_id, outcome.name, kind, detail))
    return problems


def _bad_entry(entry: InvalidEntry) -> Problem:
    return Problem(entry.raw_id, entry.name, "invalid id", f"{entry.reason} ({entry.source}); skipped")


async def run_restore(settings: Settings, options: RestoreOptions, progress: Progress, stop: StopFlag
                      ) -> RestoreReport:
    for wanted in options.students:
        if not is_safe_id(wanted):
            raise ConfigError(f"--student {wanted!r} is not a valid student id")
    store = PhotoStore(settings.photo_dir)
    info = RunInfo("STUDENT PHOTO RESTORATION & RELINK", datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                   settings.database_label(), settings.embedded, str(settings.photo_dir),
                   "verify-only" if options.verify_only else "restore")
    progress.started(info)
    check_root(store, options.force, create=not options.verify_only)
    report = RestoreReport(info, options.verify_only)
    root_exists = store.root.exists()
    if not root_exists:  # --verify-only --force on a missing root: nothing to lock, nothing to create
        return await _restore_locked(settings, options, progress, stop, store, report)
    with store_lock(store, shared=options.verify_only, wait_seconds=settings.lock_wait_seconds):
        if not options.verify_only:
            ensure_dir(store.students, dry_run=False)
        return await _restore_locked(settings, options, progress, stop, store, report)


async def _restore_locked(settings: Settings, options: RestoreOptions, progress: Progress, stop: StopFlag,
                          store: PhotoStore, report: RestoreReport) -> RestoreReport:
    choice = choose_backup(settings.backup_dir, options.backup_file)
    backup = choice.backup
    report.backup_name, report.backup_students = backup.name, backup.count
    report.backups_skipped = choice.skipped
    for name, why in choice.skipped:
        progress.note("warning", f"Skipped unusable backup {name}: {why}")
    progress.note("backup", f"Loading backup from: {backup.name}")
    progress.note("count", f"Found {backup.count} students in backup")
    wanted = set(options.students)
    problems = report.problems
    problems.extend(_bad_entry(e) for e in backup.invalid)

    # One plan per student, in the backup's order; the backup's own records are then let go.
    plans: dict[str, StudentPlan] = {}
    for sid, record in backup.records.items():
        if not wanted or sid in wanted:
            plans[sid] = StudentPlan(sid, record.name, compact_link(sid, record.photo),
                                     conflicting_in_backup=sid in backup.conflicting_ids)
    backup.records.clear()

    async with Database(settings) as database:
        any_photo_set = False

        async def read_database() -> None:
            nonlocal any_photo_set
            async for doc in database.read_students((), sorted(wanted) if wanted else None):
                sid = doc.get("student_id")
                if not is_safe_id(sid):
                    problems.append(_bad_entry(record_from_document(doc, "database")))
                    continue
                photo = doc.get("photo")
                any_photo_set = any_photo_set or bool(photo)
                plan = plans.get(sid)
                if plan is None:
                    plan = plans[sid] = StudentPlan(sid, display_name(doc.get("name")))
                plan.in_db += 1
                if plan.in_db == 1:
                    plan.doc_id = doc.get("_id")
                    plan.db_photo = compact_link(sid, photo, plan.backup_photo)

        # While the server answers, check the backup's students on disk (read-only): the ones found
        # in order need no filesystem work later.
        reading = asyncio.create_task(read_database())
        students_path = str(store.students)

        def check_in_order(plan: StudentPlan) -> None:
            plan.in_order = is_in_order(students_path, plan.student_id)

        try:
            await map_in_threads(check_in_order, list(plans.values()), settings.workers, stop,
                                 lambda _i, _r: None)
        finally:
            await reading
        if any_photo_set and not options.force and students_dir_is_empty(store):
            raise PhotoRootError(f"{store.students} is empty but the database links photos "
                                 "(is the share mounted?); use --force to rebuild it anyway")
        for sid in sorted(wanted - plans.keys()):
            problems.append(Problem(sid, "", "not found", "in neither the backup nor the database"))

        summary = report.summary
        summary.students = len(plans)
        changes: list[LinkChange] = []
        progress.note("processing", "Processing students...")

        def collect(index: int, outcome: StudentOutcome) -> None:
            progress.student(index, len(plans), outcome, options.verify_only)
            summary.directories_created += bool(outcome.created)
            summary.photos_verified += outcome.photo_ok
            summary.photos_relinked += outcome.relinked_from is not None
            summary.not_in_database += not outcome.in_database
            summary.photos_missing += outcome.photo_problem == "missing"
            summary.photos_corrupt += outcome.photo_problem == "corrupt"
            summary.errors += bool(outcome.errors)
            problems.extend(problems_of(outcome))
            if outcome.link_change is not None:
                changes.append(LinkChange(outcome.doc_id, outcome.student_id, *outcome.link_change))

        ordered = list(plans.values())
        restorer = Restorer(store, plans, shared_links(ordered), options.verify_only)
        await map_in_threads(restorer, ordered, settings.workers, stop, collect)
        if stop.requested:
            report.interrupted_by = stop.signum
        elif options.verify_only:
            summary.database_updated = len(changes)
        elif changes:
            written = await database.set_photo_links(changes)
            summary.database_updated = written.updated
            summary.database_skipped_changed = written.skipped_changed + written.failed
            if summary.database_skipped_changed:
                problems.append(Problem("", "", "database", f"{summary.database_skipped_changed} link(s) "
                                        "not updated: the record changed since it was read; run again"))
        report.round_trips = database.round_trips.count
    summary.invalid_ids = sum(1 for p in problems if p.problem == "invalid id")
    summary.backups_skipped = len(report.backups_skipped)
    return report
