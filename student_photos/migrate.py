"""Migrate: carry photos from the folders of old ids to the student they belong to, and clean up safely."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .backups import load_evidence
from .config import Settings
from .db import Database
from .errors import ConfigError, ScratchError
from .matching import MatchBook, Orphan, Student
from .records import InvalidEntry, StudentRecord, record_from_document
from .report import MigrateReport, OrphanReport, Progress, RunInfo, StopFlag
from .store import (ATTENDANCE, PROFILE, CopyResult, FolderScan, PhotoStore, StagedCopy, StoreProblem,
                    check_root, ensure_dir, existing_outcome, holds_a_file, list_student_folders, map_in_threads,
                    place_copy, scan_folder, sha256_file, stage_copy, store_lock, sweep_temporaries,
                    sync_filesystem)

DELETING_PREFIX = ".deleting-"
AUDIT_DIR = ".migrations"
MIGRATE_BATCH = 32  # orphans per durable batch: one filesystem flush for about a hundred files


@dataclass(frozen=True)
class MigrateOptions:
    action: str  # list, migrate or clean
    dry_run: bool = True
    match: str = "identity"  # or "order", the design document's unsafe pairing, only when asked for

    @property
    def changes(self) -> bool:
        """Whether this run changes anything on disk (--migrate, --clean --confirm)."""
        return self.action != "list" and not self.dry_run


@dataclass(slots=True)
class OrphanWork:
    report: OrphanReport
    scan: FolderScan | None = None
    target: Student | None = None
    audit_files: list[dict] = field(default_factory=list)


def photo_files(scan: FolderScan) -> list[str]:
    """What a migration carries: profile.jpg and every regular file under attendance/."""
    return [f for f in scan.files if f == PROFILE or f.startswith(ATTENDANCE + "/")]


def survey(store: PhotoStore, name: str, times: bool = False) -> OrphanWork:
    work = OrphanWork(OrphanReport(name))
    path = store.students / name
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        work.report.decision, work.report.reason = "error", f"cannot read: {exc.strerror}"
        return work
    if stat.S_ISLNK(mode):
        work.report.is_symlink = True
        work.report.decision, work.report.reason = "symlink", "a symlink; never followed"
        return work
    if not stat.S_ISDIR(mode):
        work.report.decision, work.report.reason = "not a folder", "a file, not a student folder; left alone"
        return work
    work.scan = scan_folder(path, times=times)  # only the clean needs times (how recently it changed)
    work.report.has_profile = work.scan.profile
    work.report.attendance_photos = work.scan.attendance_count
    return work


def compare_with_target(store: PhotoStore, work: OrphanWork, source_dir: Path, thorough: bool = True
                        ) -> tuple[list[str], list[str]]:
    """(files already byte-identical in the target, files where the target holds a different file).

    ``thorough=False`` compares sizes only: a cheap first pass, always followed by the full check.
    """
    same, different = [], []
    target_dir = store.student_dir(work.target.student_id)
    if not os.path.lexists(target_dir):  # a student with no folder yet holds nothing to compare
        return same, different
    for rel in photo_files(work.scan):
        dest = target_dir / rel
        try:
            info = os.lstat(dest)
            if stat.S_ISLNK(info.st_mode):
                different.append(rel)
                continue
        except OSError:
            continue
        if not thorough:
            (same if info.st_size == os.lstat(source_dir / rel).st_size else different).append(rel)
        elif sha256_file(dest) == sha256_file(source_dir / rel):
            same.append(rel)
        else:
            different.append(rel)
    return same, different


def conflict_text(rel: str, target: Student) -> str:
    if rel == PROFILE:
        return (f"{target.name} already has a different profile.jpg (uploaded after the reseed?); "
                "theirs is kept")
    return f"{rel} differs from the file of that name in {target.student_id}; theirs is kept"


class Migrator:
    """Copies a batch of orphans' photos into their matched students' folders (on a worker thread).

    Every file of the batch is staged and verified first, one filesystem flush makes them all durable,
    and only then does each get its real name: no photo is ever in place before its bytes are on disk.
    """

    def __init__(self, store: PhotoStore, dry_run: bool, stop: StopFlag) -> None:
        self.store, self.dry_run, self.stop = store, dry_run, stop
        self.swept: set[Path] = set()  # folders already cleared of a killed run's temporaries

    def __call__(self, batch: list[OrphanWork]) -> list[OrphanWork]:
        works = [w for w in batch if w.report.decision == "migrate"]
        if self.dry_run:
            for work in works:
                self._guarded(work, self._plan)
        else:
            self._copy(works)
        for work in works:
            report = work.report
            if report.decision == "error":
                continue
            if report.conflicts:
                report.decision, report.reason = "conflict", report.conflicts[0]
            elif not self.dry_run and not self.stop.requested:
                report.decision = "migrated"
        return batch

    def _guarded(self, work: OrphanWork, step) -> None:
        try:
            step(work)
        except (StoreProblem, OSError) as exc:
            work.report.errors.append(str(exc) if isinstance(exc, StoreProblem) else
                                      f"{exc.strerror or exc}: {getattr(exc, 'filename', '')}")
            work.report.decision = "error"

    def _plan(self, work: OrphanWork) -> None:
        same, different = compare_with_target(self.store, work, self.store.students / work.report.name)
        work.report.conflicts = [conflict_text(rel, work.target) for rel in different]
        if same and same == photo_files(work.scan):
            work.report.decision = "migrated"  # an earlier --migrate already carried every photo

    def _copy(self, works: list[OrphanWork]) -> None:
        staged: list[tuple[OrphanWork, str, StagedCopy]] = []
        placed = 0
        try:
            for work in works:
                if self.stop.requested:  # the file in hand is finished; the rest waits for a rerun
                    break
                self._guarded(work, lambda w: self._stage(w, staged))
            if staged:
                sync_filesystem(self.store.students)  # one flush makes every staged copy durable
            for work, rel, copy in staged:
                placed += 1  # from here on this copy is place_copy's (or discard's) to clean up
                if work.report.decision != "error":
                    self._guarded(work, lambda w, rel=rel, copy=copy: self._record(w, rel, place_copy(copy)))
                else:
                    copy.discard()
            if staged:  # and one more makes the new names durable before the audit log says so
                sync_filesystem(self.store.students)
        finally:
            for _, _, copy in staged[placed:]:  # anything not placed (an error above) goes
                copy.discard()

    def _stage(self, work: OrphanWork, staged: list) -> None:
        source_dir = self.store.students / work.report.name
        target_dir = self.store.student_dir(work.target.student_id)
        ready: dict[Path, bool] = {}  # folder -> created by this run (then nothing can be in it yet)
        for folder in (target_dir, target_dir / ATTENDANCE):
            ready[folder] = ensure_dir(folder, dry_run=False)
        for rel in photo_files(work.scan):
            if self.stop.requested:
                return
            dest = target_dir / rel
            if dest.parent not in ready:  # nested folders under attendance/
                for parent in reversed(dest.relative_to(target_dir).parents[:-1]):
                    if target_dir / parent not in ready:
                        ready[target_dir / parent] = ensure_dir(target_dir / parent, dry_run=False)
            fresh = ready[dest.parent]
            if not fresh and dest.parent not in self.swept:
                sweep_temporaries(dest.parent)  # a killed earlier run may have left one
                self.swept.add(dest.parent)
            if not fresh and os.path.lexists(dest):  # already there: the same bytes, or a conflict
                digest, size = sha256_file(source_dir / rel)
                self._record(work, rel, existing_outcome(dest, digest, size) or CopyResult("conflict", digest, size))
                continue
            staged.append((work, rel, stage_copy(source_dir / rel, dest, durable=False)))

    @staticmethod
    def _record(work: OrphanWork, rel: str, result: CopyResult) -> None:
        if result.outcome == "conflict":
            work.report.conflicts.append(conflict_text(rel, work.target))
            return
        work.report.copied += result.outcome == "copied"
        work.report.already += result.outcome == "same"
        work.audit_files.append({"file": rel, "sha256": result.sha256, "size": result.size,
                                 "outcome": result.outcome})


class Cleaner:
    """Decides, and with --confirm does, the removal of one orphaned folder (runs on a worker thread)."""

    def __init__(self, store: PhotoStore, confirm: bool, min_age: float, stop: StopFlag) -> None:
        self.store, self.confirm, self.min_age, self.stop = store, confirm, min_age, stop

    def verdict(self, work: OrphanWork, folder: Path, thorough: bool, scan: FolderScan | None = None
                ) -> tuple[bool, str]:
        """Whether ``folder`` may go; ``scan`` is one just taken of it (else it is scanned now)."""
        report = work.report
        if report.is_symlink or report.decision in ("symlink", "not a folder", "error"):
            return False, report.reason or report.decision
        scan = scan or scan_folder(folder)
        if scan.symlinks or scan.others:
            return False, f"holds symlinks or special entries ({', '.join((*scan.symlinks, *scan.others)[:3])})"
        age = time.time() - scan.newest_mtime
        if age < self.min_age:
            return False, f"changed {int(age)} s ago (an upload may be in flight); left for a later run"
        if not scan.files:
            return True, "holds no photo"
        if work.target is None:
            return False, f"{report.decision}: {report.reason}"
        work.scan = scan
        carried = set(photo_files(scan))
        extra = [f for f in scan.files if f not in carried]
        if extra:
            return False, f"holds files that are not migrated ({', '.join(extra[:3])})"
        same, _ = compare_with_target(self.store, work, folder, thorough)
        missing = len(scan.files) - len(same)
        if missing:
            return False, (f"{missing} file(s) are not (byte-identical) in {work.target.student_id}; "
                           "run --migrate first" if report.decision in ("migrate", "migrated") else report.reason)
        if report.decision == "migrate":
            report.decision = "migrated"  # an earlier --migrate already carried every photo
        return True, f"every file is byte-identical in {work.target.student_id} ({work.target.name})"

    def __call__(self, work: OrphanWork) -> OrphanWork:
        report = work.report
        folder = self.store.students / report.name
        try:
            # The survey's scan will do here: --confirm rescans and checks fully once the folder is aside.
            removable, why = self.verdict(work, folder, thorough=not self.confirm, scan=work.scan)
        except (OSError, StoreProblem) as exc:
            removable, why = False, f"could not check: {exc}"
        report.clean, report.clean_reason = ("remove" if removable else "keep"), why
        if removable and self.confirm and not self.stop.requested:
            self._remove(work, folder)
        return work

    def _remove(self, work: OrphanWork, folder: Path) -> None:
        """Move the folder aside (atomic), check it again there, then delete, or move it back."""
        report = work.report
        aside = self.store.students / f"{DELETING_PREFIX}{report.name}.{os.urandom(4).hex()}"
        try:
            os.rename(folder, aside)
        except OSError as exc:
            report.clean, report.clean_reason = "keep", f"could not move aside: {exc.strerror}"
            return
        try:
            removable, why = self.verdict(work, aside, thorough=True)
        except (OSError, StoreProblem) as exc:
            removable, why = False, f"could not check: {exc}"
        if not removable:
            os.rename(aside, folder)
            report.clean, report.clean_reason = "keep", why
            return
        try:
            shutil.rmtree(aside)  # symlink-safe: it never follows links, and the check found none
        except OSError as exc:
            report.errors.append(f"could not remove: {exc.strerror}")
            report.clean = "keep"
            return
        report.clean = "removed"


def recover_interrupted_cleans(store: PhotoStore) -> None:
    """A clean killed between moving a folder aside and deleting it: put the folder back."""
    try:
        entries = [e for e in os.scandir(store.students) if e.name.startswith(DELETING_PREFIX)]
    except OSError:
        return
    for entry in entries:
        original = store.students / entry.name[len(DELETING_PREFIX):].rsplit(".", 1)[0]
        if not os.path.lexists(original):
            os.rename(entry.path, original)


class AuditLog:
    """Appends one JSON line per migrated orphan to ``.migrations/audit.jsonl``.

    Each batch's lines are written as soon as its copies are durable, so a killed run leaves a line
    for every batch it finished. Later batches' ``syncfs`` make them durable along with their own copies
    (the log is on the photo store's filesystem); one fsync at the end covers the rest.
    """

    def __init__(self, store: PhotoStore) -> None:
        self.path = store.root / AUDIT_DIR / "audit.jsonl"
        self.lines: list[str] = []
        self.fd: int | None = None
        self.written = False
        self.error: str | None = None

    def add(self, work: OrphanWork) -> None:
        if not work.report.copied:  # a rerun that copies nothing logs nothing
            return
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.lines.append(json.dumps({"time": now, "old_id": work.report.name, "new_id": work.target.student_id,
                                      "student": work.target.name, "files": work.audit_files},
                                     ensure_ascii=False) + "\n")

    def write(self, sync: bool = False) -> None:
        lines, self.lines = self.lines, []
        if self.error:
            return
        try:
            if lines:
                if self.fd is None:
                    ensure_dir(self.path.parent, dry_run=False)
                    self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
                os.write(self.fd, "".join(lines).encode())
                self.written = True
            if sync and self.fd is not None:
                os.fsync(self.fd)
        except (OSError, StoreProblem) as exc:
            self.error = f"could not write the audit log {self.path}: {getattr(exc, 'strerror', None) or exc}"

    def close(self) -> None:
        self.write(sync=True)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


async def read_current_students(settings: Settings, book: MatchBook) -> int:
    """Every current student into ``book``; returns the database round trips."""
    async with Database(settings) as database:
        chunk: list[StudentRecord] = []
        async for doc in database.read_students(settings.match_fields):
            entry = record_from_document(doc, "database", settings.match_fields)
            if not isinstance(entry, InvalidEntry):
                chunk.append(entry)
            if len(chunk) >= 2000:
                book.add_current(chunk)
                chunk = []
        book.add_current(chunk)
        book.index_current()
        return database.round_trips.count


async def run_migrate(settings: Settings, options: MigrateOptions, progress: Progress, stop: StopFlag
                      ) -> MigrateReport:
    """Decide every orphan first (compactly), then survey, act on and report them in batches, streaming."""
    if options.match == "order" and options.action == "clean":
        raise ConfigError("--match order only applies to --list and --migrate")
    store = PhotoStore(settings.photo_dir)
    mode = {"list": "list", "migrate": "migrate", "clean": "clean"}[options.action]
    if options.action != "list" and options.dry_run:
        mode += " (dry run)"
    info = RunInfo("ORPHANED PHOTO MIGRATION", datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                   settings.database_label(), settings.embedded, str(settings.photo_dir), mode)
    progress.started(info)
    check_root(store, force=False, create=False)
    report = MigrateReport(info, options.action, options.dry_run, options.match)
    with store_lock(store, shared=not options.changes, wait_seconds=settings.lock_wait_seconds):
        if options.changes:
            recover_interrupted_cleans(store)
        try:
            book = MatchBook(settings.match_fields)
            try:
                await _decide(store, settings, options, book, report)
                progress.orphans_found(report)
                await _act(store, settings, options, book, report, progress, stop)
            finally:
                book.close()
        except sqlite3.Error as exc:
            raise ScratchError(f"Matching needs a temporary file and could not use one "
                               f"(TMPDIR={tempfile.gettempdir()}): {exc}") from None
        if stop.requested:
            report.interrupted_by = stop.signum
    return report


async def _decide(store: PhotoStore, settings: Settings, options: MigrateOptions, book: MatchBook,
                  report: MigrateReport) -> None:
    """Find the orphaned folders and decide, for each, what --migrate would do (nothing on disk changes)."""
    report.round_trips = await read_current_students(settings, book)
    names = list_student_folders(store)
    current = book.current_ids_among(names)
    names = [name for name in names if name not in current]
    report.orphans_found = len(names)
    candidates = bytearray(len(names))  # real folders holding a file: the ones matching is about

    def note(index: int, holds: bool) -> None:
        candidates[index - 1] = holds

    await map_in_threads(lambda name: holds_a_file(str(store.students / name)), names, settings.workers,
                         StopFlag(), note)
    book.add_orphans(zip(names, candidates, strict=True))
    evidence = load_evidence(settings.backup_dir, settings.match_fields, set(names), book)
    report.backups_used, report.backups_skipped = evidence.used, evidence.skipped
    if options.match == "order":
        report.order_pairing = [(folder, s.student_id, s.name) for folder, s in book.decide_by_order()]
    else:
        book.decide_by_identity()


async def _act(store: PhotoStore, settings: Settings, options: MigrateOptions, book: MatchBook,
               report: MigrateReport, progress: Progress, stop: StopFlag) -> None:
    """Survey, act on and report the orphans in batches, in name order; only counts are kept."""
    act = OrphanActor(store, options, settings.clean_min_age_seconds, stop)
    audit = AuditLog(store)

    def finished(_index: int, works: list[OrphanWork]) -> None:
        for work in works:
            report.add(work.report)
            progress.orphan(report.orphans_done, work.report, report)
            if options.changes:
                audit.add(work)
        audit.write()  # the batch's copies are durable: its lines go out now

    workers = settings.copy_workers if options.changes and options.action == "migrate" else settings.workers
    try:
        await map_in_threads(act, book.orphans(MIGRATE_BATCH), workers, stop, finished, chunk=1)
    finally:
        audit.close()
        report.audit_file = str(audit.path) if audit.written else None
        report.audit_error = audit.error


class OrphanActor:
    """Surveys a batch of orphaned folders, applies the decisions made for them, and acts (on a worker)."""

    def __init__(self, store: PhotoStore, options: MigrateOptions, min_age: float, stop: StopFlag) -> None:
        self.store, self.options, self.stop = store, options, stop
        self.migrator = Migrator(store, dry_run=not options.changes, stop=stop)
        self.cleaner = Cleaner(store, confirm=options.changes, min_age=min_age, stop=stop)

    def __call__(self, orphans: list[Orphan]) -> list[OrphanWork]:
        works = []
        for orphan in orphans:
            if self.stop.requested and self.options.action == "clean":
                break  # each clean is one folder: finish the one in hand, start no new one
            work = self.prepare(orphan)
            if self.options.action == "clean":
                self.cleaner(work)
            works.append(work)
        if self.options.action != "clean" and not (self.options.match == "order" and self.options.dry_run):
            self.migrator(works)
        return works

    def prepare(self, orphan: Orphan) -> OrphanWork:
        work = survey(self.store, orphan.name, times=self.options.action == "clean")
        report = work.report
        report.old_name, report.backup = orphan.old_name, orphan.backup
        if report.decision:  # symlink, not a folder, error: already decided
            return work
        if not work.scan.files:
            report.decision, report.reason = "nothing to migrate", "holds no photo"
        elif orphan.pairing is None:  # it held no file when matching ran
            report.decision, report.reason = "error", "files appeared while this run was matching; run it again"
        else:
            report.decision, report.reason, work.target = orphan.pairing
            if work.target is not None:
                report.target_id, report.target_name = work.target.student_id, work.target.name
        return work
