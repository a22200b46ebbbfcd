"""Migrate: carry photos from the folders of old ids to the student they belong to, and clean up safely.

Phases: read every database record and every backup's records of the orphaned ids into a ``MatchBook``;
decide each orphan by identity (one-to-one, across all of them); then, in batches in name order, survey
each orphan once, compare it with its student's folder, copy (``--migrate``) or judge and remove
(``--clean --confirm``), and give it its one final decision (``final_decision``), the same in every mode.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .backups import list_backups, no_usable_backup, read_backup, refuse_unread_backups
from .config import Settings
from .db import Database
from .errors import PhotoRootError, ScratchError
from .identity import Person, Verdict, compare, name_key, not_the_same
from .journal import Journal
from .links import ATTENDANCE, PROFILE
from .matching import EarlierHolder, MatchBook, Orphan, Student
from .readahead import ReadAhead
from .records import StudentRecord, record_from_document
from .report import (
    Action,
    BackupNote,
    CleanVerdict,
    Decision,
    EarlierOwner,
    MigrateReport,
    Mode,
    OrphanReport,
    Progress,
    StopFlag,
)
from .session import Session, check_database_size, session
from .store import (
    AUDIT_DIR,
    PRIVATE_FILE_MODE,
    BatchFolders,
    CopyResult,
    FolderScan,
    NotRegularFile,
    PhotoCheck,
    PhotoStore,
    StagedCopy,
    StoreProblem,
    check_photo,
    list_student_folders,
    make_private_dir,
    map_in_threads,
    open_regular,
    place_copy,
    prefetch,
    scan_folder,
    sha256_file,
    stage_copy,
    sweep_temporaries,
    sync_filesystem,
    workers_within_open_files,
)

if TYPE_CHECKING:
    from .pairs import PlanCsv, PlanPage

DELETING_PREFIX = ".deleting-"
# made once (json.dumps makes one per line otherwise); an audit line is never circular
_AUDIT_LINE = json.JSONEncoder(ensure_ascii=False, check_circular=False)
MIGRATE_BATCH = 32  # orphans per durable batch: one filesystem flush for about a hundred files
READ_AHEAD_WINDOW = 1024  # orphaned folders hinted ahead of the copies or cleans (readahead.ReadAhead)
TITLE = "ORPHANED PHOTO MIGRATION"
TOOL = "migrate_orphaned_photos"


@dataclass(frozen=True)
class MigrateOptions:
    action: Action  # LIST, MIGRATE or CLEAN
    writes: bool = False  # --migrate without --dry-run, --clean --confirm
    match: str = "identity"  # or "order", the design document's unsafe pairing, only when asked for
    pairs_file: str | None = None  # --pairs: a reviewed CSV
    csv_file: str | None = None  # --list --csv
    html_file: str | None = None  # --list --html

    @property
    def mode(self) -> Mode:
        return Mode(TOOL, self.action, self.writes)


@dataclass(slots=True)
class OrphanWork:
    """One orphan on its way through a batch: what was found, what is to be done, what was done."""

    report: OrphanReport
    orphan: Orphan
    scan: FolderScan | None = None
    carried: list[str] = field(default_factory=list)  # files a migration copies
    uncarried: list[str] = field(default_factory=list)  # files it does not, with why
    hashes: dict[str, tuple[str, int]] = field(default_factory=dict)  # carried file -> (SHA-256, size), if known
    same: list[str] = field(default_factory=list)  # ... already byte-identical in the student's folder
    different: list[str] = field(default_factory=list)  # ... where the student holds another file
    missing: list[str] = field(default_factory=list)  # ... not in the student's folder yet
    audit_files: list[dict] = field(default_factory=list)
    profile_bytes: bytes | None = None  # profile.jpg as its check read it, for a migration to copy
    source_id: tuple[int, int] | None = None  # (device, inode) of the old folder when it was looked at
    paired: Person | None = None  # the student a reviewed row named, as the book holds them (read on the loop thread)

    @property
    def target(self) -> Student | None:
        pairing = self.orphan.pairing
        return pairing.target if pairing.decision is Decision.MIGRATE else None

    @property
    def may_fill(self) -> bool:
        """Matched, and the student's folder is not one a backup holds another person under (ids recycled)."""
        return self.target is not None and self.orphan.target_earlier is None

    @property
    def student(self) -> Student:
        """The matched student, where the caller knows there is one."""
        target = self.target
        assert target is not None, "only a matched orphan has a student"
        return target


# ---------------------------------------------------------------- one orphan: survey, classify, compare
def survey(store: PhotoStore, orphan: Orphan, times: bool, classify: bool = True) -> OrphanWork:
    """Look at one orphaned folder once, without following anything. ``classify=False``: list it only (the
    caller classifies it later, ``_classify``)."""
    work = OrphanWork(OrphanReport(orphan.name, old_name=orphan.old_name, backup=orphan.backup,
                                   paired_by=orphan.pairing.paired_by), orphan)
    report = work.report
    path = f"{store.students_text}/{orphan.name}"  # plain strings: this runs for every orphan of a district
    try:
        info = os.lstat(path)
    except OSError as exc:
        report.decision, report.reason = Decision.ERROR, f"cannot read: {exc.strerror}"
        return work
    mode, work.source_id = info.st_mode, (info.st_dev, info.st_ino)
    if stat.S_ISLNK(mode):
        report.is_symlink = True
        report.decision, report.reason = Decision.SYMLINK, "a symlink; never followed"
        return work
    if not stat.S_ISDIR(mode):
        report.decision, report.reason = Decision.NOT_A_FOLDER, "a file, not a student folder; left alone"
        return work
    work.scan = scan_folder(path, times=times)  # only the clean needs times (how recently it changed)
    if classify:
        _classify(work, path)
    return work


def _classify(work: OrphanWork, path: str, copying: bool = False) -> None:
    """Which files a migration carries: a usable profile.jpg (the one photo check) and every regular file
    under attendance/. Everything else is named as not carried, and is a problem for a person. ``copying``:
    a migration copies what it carries, so the photo check's bytes are kept."""
    scan, report = work.scan, work.report
    assert scan is not None
    for rel in scan.files:
        if rel == PROFILE:
            check = _check_surveyed_profile(work, path) if copying else check_photo(f"{path}/{PROFILE}")
            report.has_profile = True
            report.profile_state = check.state.value
            if check.ok:
                work.carried.append(rel)
                work.profile_bytes = check.data
            else:
                work.uncarried.append(f"profile.jpg ({check.state.describe})")
        elif rel.startswith(ATTENDANCE + "/"):
            work.carried.append(rel)
        else:
            hint = " (names are case-sensitive: the app only serves profile.jpg and attendance/)" \
                if rel.lower() == PROFILE or rel.lower().startswith(ATTENDANCE + "/") else ""
            work.uncarried.append(rel + hint)
    report.attendance_photos = sum(1 for f in work.carried if f.startswith(ATTENDANCE + "/"))
    work.uncarried.extend(f"{rel} (a symlink; never followed)" for rel in scan.symlinks)
    work.uncarried.extend(f"{rel} (not a regular file)" for rel in scan.others)
    report.errors.extend(f"could not read {entry}: its photos cannot be carried" for entry in scan.unreadable)


def _check_surveyed_profile(work: OrphanWork, path: str) -> PhotoCheck:
    """The photo check of profile.jpg, keeping its bytes for the copy, read in the very folder the survey
    looked at (opened without a symlink, same device and inode): a folder swapped in since is never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise StoreProblem(f"students/{work.report.name}/ could not be opened without following a symlink "
                           f"({exc.strerror or exc}); nothing was copied from it") from None
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != work.source_id:
            raise StoreProblem(f"students/{work.report.name}/ changed while it was looked at (a folder was swapped "
                               "in); nothing was copied from it")
        return check_photo(PROFILE, dir_fd=fd, keep=True)
    finally:
        os.close(fd)


def compare_with_target(store: PhotoStore, work: OrphanWork, source_dir: str) -> None:
    """Sort the carried files into same / different / missing against the student's folder (size, then
    SHA-256: content, never names)."""
    target = work.target
    assert target is not None
    target_dir = store.student_folder(target.student_id)
    work.same, work.different, work.missing = [], [], []
    if not os.path.lexists(target_dir):  # a student with no folder yet holds nothing to compare
        work.missing = list(work.carried)
        return
    # never compare (or copy) through a symlink: what it points at is not the student's folder
    folders = {"/".join(rel.split("/")[:depth]) for rel in work.carried for depth in range(rel.count("/") + 1)}
    for folder in sorted(folders):  # the student's folder ("") first, then each folder below it, parents first
        if os.path.islink(f"{target_dir}/{folder}" if folder else target_dir):
            raise StoreProblem(f"{target.student_id}/{folder + '/' if folder else ''} is a symlink; never followed")
    for rel in work.carried:
        dest, source_path = f"{target_dir}/{rel}", f"{source_dir}/{rel}"
        try:
            info = os.lstat(dest)
        except FileNotFoundError:
            work.missing.append(rel)
            continue
        except OSError:
            work.different.append(rel)
            continue
        try:
            source = os.lstat(source_path)
            if (source.st_dev, source.st_ino) == (info.st_dev, info.st_ino) and \
                    _same_inode(os.path.dirname(source_path), os.path.dirname(dest)):
                # one folder mounted in two places: removing the old folder's file removes the student's too
                # (a hard link in another folder is fine: removing one name keeps the other)
                raise StoreProblem(f"{target.student_id}/{rel} is in the very same folder as the old folder's "
                                   "(mounted twice), not a copy of it")
            if info.st_size != source.st_size:
                work.different.append(rel)
                continue
            source_hash = sha256_file(source_path)
            if sha256_file(dest) == source_hash:
                work.same.append(rel)
                work.hashes[rel] = source_hash
            else:
                work.different.append(rel)
        except (NotRegularFile, OSError):
            work.different.append(rel)


def _same_inode(a: str, b: str) -> bool:
    first, second = os.lstat(a), os.lstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def conflict_text(rel: str, target: Student) -> str:
    if rel == PROFILE:
        return f"{target.name} already has a different profile.jpg; theirs is kept"
    return f"{rel} differs from the file of that name in {target.student_id}; theirs is kept"


def earlier_holder_text(earlier: EarlierHolder) -> str:
    student = earlier.student
    return (f"matches {student.name} ({student.student_id}), but backup {earlier.backup} holds "
            f"{not_the_same(earlier.verdict)} under that id ({earlier.name or '(no name)'}: {earlier.reason}): "
            "the folder may hold that person's photos, so nothing is copied into it until a person has sorted it out "
            "(restore_student_photos.py --verify-only reports that id too)")


def final_decision(work: OrphanWork) -> tuple[Decision, str]:
    """The one decision for an orphan, from its pairing, what its folder holds and how it compares."""
    report, pairing = work.report, work.orphan.pairing
    if work.scan is None:  # a symlink, not a folder, unreadable: the survey decided
        return report.decision, report.reason
    if not work.scan.files and not work.scan.symlinks and not work.scan.others:
        if work.scan.unreadable:
            return Decision.ERROR, f"cannot read {work.scan.unreadable[0]}"
        return Decision.NOTHING, "holds no photo"
    if work.target is None:
        return pairing.decision, pairing.reason
    if work.orphan.target_earlier is not None:  # ids recycled: as the restore and a photo source, never fill it
        return Decision.CANNOT_RECEIVE, earlier_holder_text(work.orphan.target_earlier)
    if not work.carried:
        return Decision.NOT_CARRIED, "holds files, but none the tool carries: " + ", ".join(work.uncarried[:3])
    if work.different:
        return Decision.CONFLICT, conflict_text(work.different[0], work.target)
    if work.missing:
        return Decision.MIGRATE, pairing.reason
    return Decision.MIGRATED, pairing.reason


# ---------------------------------------------------------------- copying
class Migrator:
    """Copies a batch of orphans' photos into their students' folders (on a worker thread).

    Every file of the batch is staged and verified first, its journal line is written, one filesystem
    flush makes copies and lines durable together, and only then does each copy get its real name: no
    photo is ever in place before its bytes, and the line that names it, are on disk.
    """

    def __init__(self, store: PhotoStore, journal: Callable[[], Journal], stop: StopFlag, origin_of) -> None:
        self.store, self.journal_of, self.stop, self.origin_of = store, journal, stop, origin_of
        self.students = os.fspath(store.students)
        self.swept: set[str] = set()  # folders already cleared of a killed run's temporaries
        self.journal_elsewhere: bool | None = None

    def copy(self, works: list[OrphanWork]) -> None:
        staged: list[tuple[OrphanWork, str, StagedCopy]] = []
        folders = BatchFolders(self.students)  # each target folder opened once for the batch, never via a symlink
        placed = 0
        try:
            to_make = self._folders_to_make(works)
            for work in works:
                if self.stop.requested:  # the file in hand is finished; the rest waits for a rerun
                    break
                self._guarded(work, lambda w: self._stage(w, staged, folders, to_make.get(id(w), ())))
            if not staged:
                return
            journal = self.journal_of()  # opened at the first change: a run with nothing to do writes nothing
            origins = {id(work): self.origin_of(work) for work, _, _ in staged}  # one per orphan, not per file
            for work, rel, copy in staged:
                journal.add({"type": "file", "path": f"students/{work.student.student_id}/{rel}",
                             "size": copy.size, "sha256": copy.sha256, "source": f"students/{work.report.name}/{rel}",
                             "origin": origins[id(work)]})
            self._make_durable(journal)  # copies and their journal lines, in one flush
            for work, rel, copy in staged:
                placed += 1  # from here on this copy is place_copy's (or discard's) to clean up
                if not work.report.errors:
                    self._guarded(work, partial(self._place, rel=rel, copy=copy, folders=folders))
                else:
                    copy.discard(folders.fds[os.path.dirname(copy.dest)])
            sync_filesystem(self.store.students)  # the new names, durable before the audit log says so
        finally:
            try:
                for _, _, copy in staged[placed:]:  # anything not placed (an error above) goes
                    copy.discard(folders.fds[os.path.dirname(copy.dest)])
            finally:
                folders.close()

    def _make_durable(self, journal: Journal) -> None:
        journal.write()
        if self.journal_elsewhere is None:
            self.journal_elsewhere = os.stat(journal.path).st_dev != os.stat(self.store.students).st_dev
        if self.journal_elsewhere:
            journal.sync()
        sync_filesystem(self.store.students)  # one flush makes every staged copy (and the journal) durable

    @staticmethod
    def _guarded(work: OrphanWork, step: Callable[[OrphanWork], None]) -> None:
        try:
            step(work)
        except (StoreProblem, OSError) as exc:
            work.report.errors.append(str(exc) if isinstance(exc, StoreProblem) else
                                      f"{exc.strerror or exc}: {getattr(exc, 'filename', None) or ''}")

    def _folders_to_make(self, works: list[OrphanWork]) -> dict[int, list[str]]:
        """The folders each orphan's copies need that do not exist yet (parents first), named in the journal
        before any is made, in one write for the batch: an undo of a killed run finds them too."""
        to_make: dict[int, list[str]] = {}
        join = os.path.join
        for work in works:
            if not work.missing:
                continue
            target_dir = self.store.student_folder(work.student.student_id)
            needed = [target_dir, join(target_dir, ATTENDANCE)]
            for rel in work.missing:  # and any nested folders under attendance/, parents first
                built = target_dir
                for part in rel.split("/")[:-1]:
                    built = join(built, part)
                    if built not in needed:
                        needed.append(built)
            missing = [folder for folder in needed if not os.path.lexists(folder)]
            if missing:
                to_make[id(work)] = missing
        if to_make:
            journal = self.journal_of()
            for folders in to_make.values():
                for folder in folders:
                    journal.add({"type": "dir", "path": "students" + folder[len(self.students):]})
            journal.write()
        return to_make

    def _stage(self, work: OrphanWork, staged: list, folders: BatchFolders, to_make: Iterable[str]) -> None:
        # plain string paths: this runs for every file of a district migration
        target_dir = self.store.student_folder(work.student.student_id)
        join = os.path.join
        created = {folder for folder in to_make if folders.make(folder)}  # made by this run: nothing is in them yet
        if existed := [folder for folder in to_make if folder not in created]:  # made by the app since its intent
            journal = self.journal_of()
            for folder in existed:
                journal.add({"type": "dir-existed", "path": "students" + folder[len(self.students):]})
        # A run killed between placing a copy and removing its temporary name leaves that name beside a file
        # now in place: every folder of the student's that this orphan touches is swept once, before staging.
        swept = {target_dir, join(target_dir, ATTENDANCE),
                 *(os.path.dirname(join(target_dir, rel)) for rel in (*work.same, *work.missing))}
        carried = {join(target_dir, rel) for rel in (*work.same, *work.missing)}  # never swept, whatever their names
        for folder in sorted(swept - created - self.swept):
            try:
                fd = folders.open(folder)
            except (StoreProblem, FileNotFoundError):  # a symlink (never followed) or nothing there: nothing to sweep
                continue
            sweep_temporaries(fd, keep={os.path.basename(p) for p in carried if os.path.dirname(p) == folder})
            self.swept.add(folder)
        profile, work.profile_bytes = work.profile_bytes, None  # the bytes the photo check read, if it kept them
        sources = BatchFolders(self.students)  # the old folder the copies are read from (open for this orphan only)
        try:
            self._stage_files(work, staged, folders, sources, target_dir, profile)
        finally:
            sources.close()

    def _stage_files(self, work: OrphanWork, staged: list, folders: BatchFolders, sources: BatchFolders,
                     target_dir: str, profile: bytes | None) -> None:
        source_dir = os.path.join(self.students, work.report.name)
        join = os.path.join
        for rel in work.missing:  # an orphan is carried whole or not at all: a stop waits for the orphan in hand
            dest = join(target_dir, rel)
            folder = os.path.dirname(dest)
            data = profile if rel == PROFILE else None
            source = join(source_dir, rel)
            source_fd = self._source_folder(work, sources, source_dir, os.path.dirname(source)) \
                if data is None else None
            copy = stage_copy(source, dest, durable=False, data=data, below=self.students,
                              folder_fd=folders.open(folder), folder_id=folders.ids[folder], source_fd=source_fd)
            if rel == PROFILE and data is None and not check_photo(os.path.basename(copy.tmp),
                                                                   dir_fd=folders.fds[folder]).ok:
                copy.discard(folders.fds[folder])  # read again for the copy, it is no longer the photo checked
                raise StoreProblem("profile.jpg changed after its check and is no longer a usable photo; not copied")
            staged.append((work, rel, copy))

    @staticmethod
    def _source_folder(work: OrphanWork, sources: BatchFolders, top: str, folder: str) -> int:
        """The old folder ``top`` (or ``folder`` below it) a copy is read from, opened without a symlink, and
        still the very folder the survey listed: one swapped in since (another child's) is never read from."""
        fd = sources.open(folder)  # (opens ``top`` first)
        expected = {top: work.source_id}
        if folder != top and work.source_id is not None and work.scan is not None:
            expected[folder] = (work.source_id[0], dict(work.scan.folders).get(folder[len(top) + 1:], -1))
        if any(sources.ids[f] != wanted for f, wanted in expected.items()):
            raise StoreProblem(f"students/{work.report.name}/ changed while its photos were copied (a folder was "
                               "swapped in); nothing more was copied from it")
        return fd

    def _place(self, work: OrphanWork, rel: str, copy: StagedCopy, folders: BatchFolders) -> None:
        folder = os.path.dirname(copy.dest)
        folder_fd = folders.fds[folder]
        if not folders.in_place(folder):  # renamed or swapped since its copies were written: maybe another child's
            copy.discard(folder_fd)
            raise StoreProblem(f"{folder[len(self.students) + 1:]}/ was moved or replaced while its copies were "
                               "written; nothing was placed there")
        self._record(work, rel, place_copy(copy, folder_fd))
        if not folders.in_place(folder):  # moved at the very moment the copy was named: it went with the folder
            raise StoreProblem(f"{folder[len(self.students) + 1:]}/ was moved or replaced just as {rel} was placed in "
                               "it: that copy went wherever the folder went; a person must check it")

    @staticmethod
    def _record(work: OrphanWork, rel: str, result: CopyResult) -> None:
        work.missing.remove(rel)
        if result.outcome == "conflict":  # someone put a different file there meanwhile: theirs wins
            work.different.append(rel)
            return
        work.same.append(rel)
        work.hashes[rel] = (result.sha256, result.size)
        work.report.copied += result.outcome == "copied"
        work.audit_files.append({"file": rel, "sha256": result.sha256, "size": result.size,
                                 "outcome": result.outcome})


# ---------------------------------------------------------------- cleaning
class Cleaner:
    """Judges, and with --confirm does, the removal of one orphaned folder (on a worker thread)."""

    def __init__(self, store: PhotoStore, confirm: bool, min_age: float, stop: StopFlag,
                 journal: Callable[[], Journal] | None) -> None:
        self.store, self.confirm, self.min_age, self.stop, self.journal_of = store, confirm, min_age, stop, journal

    def verdict(self, work: OrphanWork) -> tuple[bool, str]:
        """Whether the folder may go: it holds nothing at all, or every file is byte-identical in the student's."""
        report, scan = work.report, work.scan
        if scan is None:
            return False, report.reason or report.decision.value
        if scan.symlinks or scan.others or scan.unreadable:
            return False, f"holds symlinks, special or unreadable entries " \
                          f"({', '.join((*scan.symlinks, *scan.others, *scan.unreadable)[:3])})"
        age = time.time() - scan.newest_mtime
        if age < self.min_age:
            return False, f"changed {int(age)} s ago (an upload may be in flight); left for a later run"
        if not scan.files:
            return True, "holds no photo"
        if report.decision is not Decision.MIGRATED or work.uncarried or report.errors:
            why = report.reason
            if report.decision is Decision.MIGRATE:
                why = f"{len(work.missing)} file(s) are not yet in {work.student.student_id}; run --migrate first"
            elif work.uncarried:
                why = "holds files that are not migrated (" + ", ".join(work.uncarried[:3]) + ")"
            return False, f"{report.decision.value}: {why}"
        return True, f"every file is byte-identical in {work.student.student_id} ({work.student.name})"

    def __call__(self, work: OrphanWork) -> None:
        report = work.report
        removable, why = self.verdict(work)
        report.clean, report.clean_reason = (CleanVerdict.REMOVE if removable else CleanVerdict.KEEP), why
        if removable and self.confirm and not self.stop.requested:
            self._remove(work)

    def _remove(self, work: OrphanWork) -> None:
        """Move the folder aside (atomic), check it again there from scratch, then delete, or move it back."""
        report = work.report
        folder = self.store.students / report.name
        aside = self.store.students / f"{DELETING_PREFIX}{report.name}.{os.urandom(4).hex()}"
        try:
            os.rename(folder, aside)
        except OSError as exc:  # kept, and never "all done": the person asked for it to go and it did not
            report.clean, report.clean_reason = CleanVerdict.KEEP, f"could not move aside: {exc.strerror}"
            report.errors.append(f"could not move students/{report.name}/ aside to remove it ({exc.strerror}): it "
                                 "is kept; check the permissions of students/ and run --clean --confirm again")
            return
        try:
            again = OrphanWork(OrphanReport(report.name, decision=Decision.MIGRATED), work.orphan,
                               scan_folder(aside, times=True))
            _classify(again, os.fspath(aside))
            if again.target is not None:
                compare_with_target(self.store, again, os.fspath(aside))
            again.report.decision, again.report.reason = final_decision(again)
            removable, why = self.verdict(again)
            if removable:
                self._journal_removal(again, aside)
        except (OSError, StoreProblem) as exc:
            removable, why = False, f"could not check: {exc}"
        if not removable:
            report.clean, report.clean_reason = CleanVerdict.KEEP, why
            # the first look said it could go: whatever changed since is for a person to see (never "all done")
            report.errors.append(f"kept after all: checked again, {why}")
            try:
                os.rename(aside, folder)
            except OSError as exc:  # the app made the old path anew meanwhile: the folder stays aside, named
                report.errors.append(stranded_text(aside, report.name, exc.strerror or str(exc)))
            return
        try:
            shutil.rmtree(aside)  # symlink-safe: it never follows links, and the check found none
        except OSError as exc:
            report.errors.append(f"could not remove students/{aside.name}/ ({exc.strerror}); the next --clean or "
                                 "--migrate puts what is left of it back")
            report.clean = CleanVerdict.KEEP
            return
        report.clean = CleanVerdict.REMOVED

    def _journal_removal(self, work: OrphanWork, aside: Path) -> None:
        if self.journal_of is None:
            return
        journal = self.journal_of()
        files = []
        for rel in work.same:
            digest, size = sha256_file(aside / rel)
            files.append({"file": rel, "sha256": digest, "size": size,
                          "copy": f"students/{work.student.student_id}/{rel}"})
        journal.add({"type": "removed", "folder": f"students/{work.report.name}", "files": files,
                     "reason": "every file is byte-identical in the student's folder" if files else "held no file"})
        journal.sync()  # durable before the folder goes


def recover_interrupted_cleans(store: PhotoStore, put_back: bool) -> list[str]:
    """A clean killed between moving a folder aside and deleting it: put the folder back (when ``put_back``).
    Returns, for a person, each such folder that is still aside (never deleted: it may hold the only copy)."""
    try:
        entries = [e for e in os.scandir(store.students) if e.name.startswith(DELETING_PREFIX)]
    except OSError:
        return []
    left = []
    for entry in sorted(entries, key=lambda e: e.name):
        name = entry.name[len(DELETING_PREFIX):].rsplit(".", 1)[0]
        original = store.students / name
        if not name or os.path.lexists(original):  # never renamed over what is there now: a person merges them
            left.append(stranded_text(Path(entry.path), name, "File exists"))
        elif not entry.is_dir(follow_symlinks=False):  # a clean moves only real folders aside: this is not one
            left.append(f"students/{entry.name} is named like a folder a clean moved aside, but is not a folder "
                        f"(a symlink?): it is not put back as students/{name}; a person checks and removes it")
        elif not put_back:
            left.append(f"students/{entry.name}/ is folder {name}, moved aside by a clean that did not finish: "
                        "the next --clean --confirm or --migrate puts it back")
        else:
            try:
                os.rename(entry.path, original)
            except OSError as exc:
                left.append(stranded_text(Path(entry.path), name, exc.strerror or str(exc)))
    return left


def stranded_text(aside: Path, name: str, error: str) -> str:
    """What a person must know of a folder a clean moved aside and could not put back."""
    why = f"students/{name} was made anew meanwhile" if name and os.path.lexists(aside.parent / name) else error
    return (f"students/{aside.name}/ (folder {name}, moved aside by a clean) could not be put back ({why}). Nothing "
            f"in it was deleted and it may hold the only copy of a photo: move its files into students/{name}/ by "
            "hand, never over a file there, then remove it")


# ---------------------------------------------------------------- the audit log
class AuditLog:
    """Appends one JSON line per migrated orphan to ``.migrations/audit.jsonl``.

    Each batch's lines are written as soon as its copies are placed, so a killed run leaves a line for
    every batch it finished. A rerun that finds copies in place that no line names (the batch in flight
    at a kill) writes their lines then. Later batches' ``syncfs`` make lines durable along with their own
    copies (the log is on the photo store's filesystem); one fsync at the end covers the rest.
    """

    def __init__(self, store: PhotoStore, pairs: dict | None, run_id: str | None = None,
                 person_of: Callable[[Student], Person] | None = None) -> None:
        self.path = store.root / AUDIT_DIR / "audit.jsonl"
        self.run_id, self.person_of = run_id, person_of
        self.pairs = pairs
        self.lines: list[str] = []
        self.fd: int | None = None
        self.written = False
        self.error: str | None = None
        self._known: set[int] | None = None  # hashes of "new id/file" already named by a line

    def add(self, work: OrphanWork, now: str | None = None) -> None:
        """``now``: the time for the line, when the caller writes a batch of them at once."""
        files = [f for f in work.audit_files if f["outcome"] == "copied" or not self._named(work, f["file"])]
        # only this run's own reviewed file: a pairing honoured from an earlier run is that run's to record
        reviewed = work.orphan.pairing.paired_by == "pairs file" and bool(self.pairs) and \
            work.orphan.pairing.reason != EARLIER_REVIEW
        if not files and not reviewed:  # a rerun that copies nothing, and finds every copy logged, logs nothing
            return
        now = now or _now_text()
        entry: dict[str, object] = {"time": now, "old_id": work.report.name, "new_id": work.student.student_id,
                 "student": work.student.name, "paired_by": work.orphan.pairing.paired_by, "files": files}
        if reviewed and self.pairs:  # a person's decision binds later runs, even when this one copied nothing
            entry["pairs_file"] = {"file": self.pairs["file"], "sha256": self.pairs["sha256"],
                                   "override": "override" in work.orphan.pairing.reason}
            entry["run_id"] = self.run_id
            if self.person_of is not None:  # who the student was, so a recycled id later is not taken for them
                person = self.person_of(work.student)
                entry["student_key"], entry["student_codes"] = person.name, person.codes
        self.lines.append(_AUDIT_LINE.encode(entry) + "\n")

    def vetoes(self, old_ids: list[str]) -> None:
        """A reviewed file's "no one" rows, kept so that later runs honour them too."""
        now = _now_text()
        for old_id in old_ids:
            self.lines.append(json.dumps({"time": now, "old_id": old_id, "vetoed": True, "paired_by": "pairs file",
                                          "files": [], "pairs_file": {k: self.pairs[k] for k in ("file", "sha256")}
                                          if self.pairs else None, "run_id": self.run_id},
                                         ensure_ascii=False) + "\n")
        self.write()

    def retract(self, undone_run: str, pairs_sha256: str, undo_run: str) -> None:
        """An undone --pairs run: the pairings and vetoes that run recorded no longer stand (reviewed_pairings)."""
        now = _now_text()
        self.lines.append(json.dumps({"time": now, "retracts_run": undone_run, "retracts": pairs_sha256,
                                      "undone_by": undo_run, "files": []}) + "\n")
        self.close()

    def _named(self, work: OrphanWork, rel: str) -> bool:
        if self._known is None:
            self._known = set()
            with contextlib.suppress(OSError, NotRegularFile), open(self.path, encoding="utf-8",
                                                                     errors="surrogateescape") as handle:
                for line in handle:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        entry = json.loads(line)
                        self._known.update(hash(f"{entry['new_id']}/{f['file']}") for f in entry["files"])
        return hash(f"{work.student.student_id}/{rel}") in self._known

    def write(self, sync: bool = False) -> None:
        lines, self.lines = self.lines, []
        if self.error:
            return
        try:
            if lines:
                if self.fd is None:
                    if os.path.lexists(self.path.parent) and not os.path.isdir(self.path.parent):
                        raise StoreProblem(f"{self.path.parent.name} is not a folder")
                    make_private_dir(self.path.parent)
                    self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                                      PRIVATE_FILE_MODE)
                    size = os.fstat(self.fd).st_size  # a line cut short by a crash: ours start on a line of their own
                    if size and os.pread(self.fd, 1, size - 1) != b"\n":
                        lines.insert(0, "\n")
                data = memoryview("".join(lines).encode("utf-8", "surrogateescape"))
                while data:  # a short write is finished, never left as half a line
                    data = data[os.write(self.fd, data):]
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


def _now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_journal() -> Journal:
    raise AssertionError("a run that writes nothing has no journal")


@dataclass(frozen=True)
class Reviewed:
    """What a person decided for one old folder in a reviewed file that still stands."""

    new_id: str | None  # None: no one
    person: Person | None = None  # who the student under new_id was when they decided (an id can be recycled)

    def still_theirs(self, current: Person, fields) -> bool:
        """Whether the student holding that id now is the one the person paired (never a recycled id's newcomer)."""
        return self.person is not None and compare(self.person, current, fields).verdict is Verdict.SAME


def reviewed_pairings(store: PhotoStore) -> dict[str, Reviewed]:
    """Old folders an earlier --migrate --pairs run decided by a person (the latest decision stands). An undo of
    such a run takes back what that run recorded; a later decision giving a student another folder sends the
    folder an earlier one gave them to no one (a student never receives two)."""
    decided: list[tuple[str, Reviewed, object, object]] = []  # (old id, decision, run id, file's SHA-256)
    path = store.root / AUDIT_DIR / "audit.jsonl"
    why = "it holds what a person decided for old folders (--pairs), and no run goes on without it"
    try:
        fd = open_regular(path, follow=True)  # (never blocks on a FIFO)
    except (FileNotFoundError, NotADirectoryError):
        if any(os.path.islink(p) and not os.path.exists(p) for p in (path.parent, path)):  # a disk not mounted
            raise PhotoRootError(f"Cannot read {path}: a symlink on its way leads nowhere (a disk not mounted?); "
                                 f"{why}") from None
        return {}  # no --pairs run ever recorded a decision (nor could one, where .migrations is not a folder)
    except (OSError, StoreProblem) as exc:  # never "no one decided" when a person's decisions cannot be read
        raise PhotoRootError(f"Cannot read {path} ({getattr(exc, 'strerror', None) or exc}): {why}; make it a "
                             "readable file for this user (a run made with sudo leaves it root's)") from None
    with os.fdopen(fd, encoding="utf-8", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, 1):
            try:
                _read_decision(json.loads(line), decided)
            except (ValueError, KeyError, TypeError, AttributeError):
                # a line cut short by a crash is skipped, unless it may hold a person's decision
                if any(mark in line for mark in ('"pairs file"', '"vetoed"', '"retracts')):
                    raise PhotoRootError(f"Cannot read line {number} of {path} (not one audit line): it may hold "
                                         f"a person's decision; {why}: repair that line") from None
    found: dict[str, Reviewed] = {}
    holder: dict[str, str] = {}  # student -> the old folder a person gave them last
    for old_id, reviewed, _, _ in decided:
        found[old_id] = reviewed
        if reviewed.new_id is not None:
            earlier = holder.get(reviewed.new_id)
            if earlier is not None and earlier != old_id and found[earlier].new_id == reviewed.new_id:
                found[earlier] = Reviewed(None)  # a later reviewed file gave that student this folder
            holder[reviewed.new_id] = old_id
    return found


def _read_decision(entry: dict, decided: list[tuple[str, Reviewed, object, object]]) -> None:
    """One audit line into ``decided``: a person's pairing or veto, or an undo taking back a run's (by run id, or by
    reviewed file before run ids); any other line says nothing. Raises on a line not shaped as its kind is."""
    if entry.get("retracts_run") or entry.get("retracts"):
        run, sha = entry.get("retracts_run"), entry.get("retracts")
        decided[:] = [d for d in decided if not (d[2] is not None and d[2] == run) and
                      not (d[2] is None and sha is not None and d[3] == sha)]
    elif entry.get("paired_by") == "pairs file":
        vetoed = bool(entry.get("vetoed"))
        key = entry.get("student_key") if "student_key" in entry else name_key(entry.get("student"))
        person = None if vetoed else Person(key, str(entry.get("student_codes") or ""))
        decided.append((str(entry["old_id"]), Reviewed(None if vetoed else str(entry["new_id"]), person),
                        entry.get("run_id"), (entry.get("pairs_file") or {}).get("sha256")))


EARLIER_REVIEW = "paired by a reviewed file (earlier run)"


def settled_by_person(reviewed: dict[str, Reviewed], holder: Callable[[str], Person | None], fields) -> dict[str, str]:
    """{old folder: the student a person's standing pairing gives it to}: the folders that decision takes out of the
    one-to-one rule, the same in migrate, the restore and --deep (a "no one" does not: it keeps a folder from
    everyone, and says nothing of whose it is not). ``holder(id)``: the one current record that can receive under
    that id, or None. A pairing stands only while that id is held by the student the person paired (never a
    recycled id's newcomer); one that does not stand settles nothing, and its folder still counts as a rival."""
    settled: dict[str, str] = {}
    for old_id, decided in reviewed.items():
        if decided.new_id is None:
            continue  # "no one" keeps a folder from everyone; it does not say whose it is not: still a rival
        person = holder(decided.new_id)
        if person is not None and decided.still_theirs(person, fields):
            settled[old_id] = decided.new_id
    return settled


def unstanding_pairings(reviewed: dict[str, Reviewed], settled: dict[str, str]) -> list[tuple[str, Person]]:
    """(old folder, who it was given to) for each pairing a person made that no longer stands: its id no longer
    holds that student (recycled to another child, or their record changed)."""
    return [(old_id, decided.person) for old_id, decided in reviewed.items()
            if decided.new_id is not None and old_id not in settled and decided.person is not None]


def held_by_a_pairing(unstanding: list[tuple[str, Person]], student: Person, fields, besides: str | None = None
                      ) -> str | None:
    """An old folder (not ``besides``) a person gave to a student who could be this one, under an id that no longer
    holds them: the person's choice can be neither followed nor forgotten, so this student's other folders wait
    for a person. None if there is none."""
    for old_id, person in unstanding:
        if old_id != besides and compare(person, student, fields).verdict is not Verdict.DIFFERENT:
            return old_id
    return None


def _holder(book: MatchBook) -> Callable[[str], Person | None]:
    def holder(student_id: str) -> Person | None:
        targets = book.students_with_id(student_id)
        return book.person_of_row(targets[0].row) if len(targets) == 1 and targets[0].receivable else None
    return holder


def decide_honouring_reviewed(book: MatchBook, store: PhotoStore) -> None:
    """Every orphan decided by identity, then an earlier reviewed pairing (or "no one") stands over the tool's own
    decision, and a folder a person settled is no other orphan's rival."""
    reviewed = reviewed_pairings(store)
    settled = settled_by_person(reviewed, _holder(book), book.fields)
    book.settle(settled)
    book.decide_by_identity()
    honour_reviewed(book, reviewed)
    unstanding = unstanding_pairings(reviewed, settled)
    for student in book.matched_students() if unstanding else ():  # a pairing that no longer stands still holds
        folder = held_by_a_pairing(unstanding, book.person_of_row(student.row), book.fields)  # its student
        if folder is not None:
            book.needs_person_for(student, f"a reviewed file gave old folder {folder} to a student who could be "
                                           f"{student.name or '(no name)'}, under an id that no longer holds them: "
                                           "review it again")


def honour_reviewed(book: MatchBook, reviewed: dict[str, Reviewed]) -> None:
    """An earlier reviewed pairing (or "no one") stands over the tool's own decision, wherever one is made, as
    long as the id it names still belongs to the student the person paired."""
    for old_id, decided in reviewed.items():
        if book.orphan(old_id) is None:  # gone (cleaned): a student a person gave it to still has it, and no other
            targets = book.students_with_id(decided.new_id) if decided.new_id else []
            if len(targets) == 1 and decided.still_theirs(book.person_of_row(targets[0].row), book.fields):
                book.reserve_for_person(old_id, targets[0])
            continue
        if decided.new_id is None:
            book.no_one(old_id, "a person decided it goes to no one (a reviewed file, earlier run)")
            continue
        targets = book.students_with_id(decided.new_id)
        if len(targets) == 1 and targets[0].receivable:
            if decided.still_theirs(book.person_of_row(targets[0].row), book.fields):
                book.pair_by_person(old_id, targets[0], EARLIER_REVIEW, "pairs file")
            else:
                book.needs_person(old_id, f"a reviewed file paired it with {decided.new_id}, but that id now "
                                          f"belongs to {targets[0].name or '(no name)'}, not the student it was "
                                          "paired with (an id reused?): review it again")


# ---------------------------------------------------------------- the run
async def read_current_students(settings: Settings, book: MatchBook, meter=None, stop: StopFlag | None = None) -> int:
    """Every database document into ``book`` (whatever its id looks like); returns the round trips."""
    async with Database(settings) as database:
        chunk: list[StudentRecord] = []
        async for doc in database.read_students(settings.match_fields, stop):
            chunk.append(record_from_document(doc, settings.match_fields))
            if len(chunk) >= 2000:
                book.add_current(chunk)
                if meter is not None:
                    meter.advance(len(chunk))
                chunk = []
        book.add_current(chunk)
        book.finish_current()
        return database.round_trips.count


def load_history(settings: Settings, book: MatchBook, wanted: set[str], report: MigrateReport) -> int:
    """Every backup's records of the wanted ids into ``book``, newest first, and each record of a current id
    compared with the database's (``MatchBook.earlier_holders``); returns the newest usable backup's student count
    (for the database check)."""
    listing = list_backups(settings.backup_dir)
    report.backups_ignored = [BackupNote(n, w) for n, w in listing.ignored]
    newest_count = -1
    for rank, path in enumerate(listing.paths):
        counted, linking = [0], [False]

        def records(path=path, counted=counted, linking=linking) -> Iterable[StudentRecord]:
            for entry in read_backup(path, settings.match_fields):
                counted[0] += 1
                if isinstance(entry, StudentRecord):
                    linking[0] = linking[0] or bool(entry.photo)
                    yield entry
        try:
            book.add_backup(path.name, rank, records(), orphans=wanted)
        except Exception as exc:  # BackupUnusable, with its message
            report.backups_skipped.append(BackupNote(path.name, str(exc)))
            continue
        report.backups_used.append(path.name)
        if linking[0] and report.backup_linking_photos is None:  # (a backup that was read: the newest such)
            report.backup_linking_photos = path.name
        if newest_count < 0:
            newest_count = counted[0]
    return max(newest_count, 0)


async def run_migrate(settings: Settings, options: MigrateOptions, progress: Progress, stop: StopFlag
                      ) -> MigrateReport:
    with session(settings, options.mode, TITLE, progress) as run:
        report = MigrateReport(run.info, options.match)
        try:
            book = MatchBook(settings.match_fields)
            # a killed clean's folder goes back before the folders are listed; one that cannot is a person's
            report.set_aside = recover_interrupted_cleans(run.store, put_back=options.mode.writes)
            read_ahead = ReadAhead(run.store.students_text, READ_AHEAD_WINDOW)
            try:
                await _decide(run, options, book, report, stop, read_ahead)
                progress.orphans_found(report)
                await _act(run, options, book, report, stop, read_ahead)
            finally:
                read_ahead.close()
                book.close()
        except sqlite3.Error as exc:
            raise ScratchError(f"Matching needs a temporary file and could not use one "
                               f"(TMPDIR={tempfile.gettempdir()}): {exc}") from None
        if stop.requested and stop.signum is not None:
            report.interrupted_by = stop.signum
        report.journalled = run.journalled
        run.finish(report.exit_code, {d.value: n for d, n in report.decisions.items()} |
                   {"files_copied": report.files_copied, "removed": report.cleans[CleanVerdict.REMOVED]},
                   interrupted=None if not report.interrupted_by else f"signal {report.interrupted_by}")
    return report


async def _decide(run: Session, options: MigrateOptions, book: MatchBook, report: MigrateReport,
                  stop: StopFlag, read_ahead: ReadAhead) -> None:
    """Find the orphaned folders and decide, for each, what --migrate would do (nothing on disk changes)."""
    settings, store = run.settings, run.store
    meter = run.progress.phase("Reading the database", None)
    report.round_trips = await read_current_students(settings, book, meter, stop)
    meter.done()
    names = list_student_folders(store)
    if not names and book.any_photo:  # the restore refuses this too: never "all done" on an unmounted share
        raise PhotoRootError(f"{store.students} is empty but the database links photos (is the share mounted? "
                             "check PHOTO_DIR)")
    current = book.current_ids_among(names)
    orphans = [name for name in names if name not in current]
    report.orphans_found = len(orphans)
    if options.mode.writes and options.action in (Action.MIGRATE, Action.CLEAN):  # they read every photo
        read_ahead.start(orphans)  # while the matching runs on this one core
    book.add_orphans(orphans)
    meter = run.progress.phase("Reading the backups", None)
    newest = load_history(settings, book, set(orphans), report)
    meter.done()
    if orphans and not report.backups_used:  # who an old id was is only known from a backup (as the restore refuses)
        raise no_usable_backup(settings.backup_dir, report.backups_skipped)
    if not names and report.backup_linking_photos:  # right after a reseed the database links none yet
        raise PhotoRootError(f"{store.students} is empty but backup {report.backup_linking_photos} links photos (is "
                             "the share mounted? check PHOTO_DIR): nothing can be carried from an empty folder")
    check_database_size(settings, book.current_count, report.backups_used[0] if report.backups_used else None,
                        newest)
    if options.mode.writes:
        refuse_unread_backups(report.backups_skipped, report.backups_ignored, "--list")
    if options.action in (Action.LIST, Action.MIGRATE):
        report.earlier_owners = earlier_owners(store, book, current)
    if options.match == "order":
        report.order_pairing = [(folder, s.student_id, s.name) for folder, s in book.decide_by_order()]
        return
    meter = run.progress.phase("Matching by identity", None)
    decide_honouring_reviewed(book, store)
    meter.done()
    if options.pairs_file:
        from .pairs import apply_pairs_file
        report.pairs_file = apply_pairs_file(options.pairs_file, book, store)


def earlier_owners(store: PhotoStore, book: MatchBook, folders: set[str]) -> list[EarlierOwner]:
    """The current students whose folder holds anything while a backup holds another person (or one who cannot be
    compared) under their id: what the restore reports as an identity conflict, and --deep (for a different
    person) as the folder of an earlier owner. ``folders``: the current ids that have an entry in students/."""
    found = []
    for held in book.earlier_holders():
        student = held.student
        if student.student_id in folders and (count := _entries(store.students / student.student_id)):
            found.append(EarlierOwner(student.student_id, student.name, held.verdict, held.name, held.backup,
                                      held.reason, count))
    return found


def _entries(path: Path) -> int:
    """What a current student's folder holds, never followed: files, symlinks, special and unreadable entries. A
    folder that is a symlink, not a folder, or cannot be looked at counts as one: what it holds is not known."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return 1
    except FileNotFoundError:
        return 0
    except OSError:
        return 1
    scan = scan_folder(path, times=False)
    return len(scan.files) + len(scan.symlinks) + len(scan.others) + len(scan.unreadable)


async def _act(run: Session, options: MigrateOptions, book: MatchBook, report: MigrateReport,
               stop: StopFlag, read_ahead: ReadAhead) -> None:
    """Survey, act on and report the orphans in batches, in name order; only counts are kept."""
    store = run.store
    journal = None
    if options.mode.writes:
        journal = lambda: run.start_journal(match=options.match, pairs_file=report.pairs_file)  # noqa: E731
        if report.pairs_file:  # its decisions are audit lines from the start: the run has a journal to undo them
            journal()
    audit = AuditLog(store, report.pairs_file, run.info.run_id, lambda student: book.person_of_row(student.row))
    if options.mode.writes and report.pairs_file:
        audit.vetoes(report.pairs_file.get("vetoed", []))
    actor = OrphanActor(store, options, run.settings, stop, journal)
    outputs = PlanOutputs.open(options, run, book) if options.action is Action.LIST else None

    def record(work: OrphanWork, now: str) -> None:  # what must never be lost, even when reporting fails
        if options.mode.writes and options.action is Action.MIGRATE and work.target is not None:
            audit.add(work, now)

    verb = {Action.LIST: "Looking at", Action.MIGRATE: "Copying" if options.mode.writes else "Planning",
            Action.CLEAN: "Cleaning" if options.mode.writes else "Looking at"}[options.action]
    meter = run.progress.phase(f"{verb} orphaned folders", report.orphans_found)

    def finished(_index: int, works: list[OrphanWork]) -> None:
        now = _now_text()  # one time for the batch's lines: they are written together
        for work in works:
            record(work, now)
        audit.write()  # the batch's copies are in place: its lines go out now
        meter.advance(len(works))
        for work in works:
            report.add(work.report)
            run.progress.orphan(report.orphans_done, work.report, report)
            if outputs is not None:
                outputs.add(work)

    def abandoned(works: list[OrphanWork]) -> None:
        now = _now_text()
        for work in works:
            record(work, now)
        audit.write()

    workers = run.settings.copy_workers if options.mode.writes and options.action is Action.MIGRATE \
        else run.settings.workers
    if options.mode.writes and options.action is Action.MIGRATE:  # a batch holds its target folders open
        workers = workers_within_open_files(workers, MIGRATE_BATCH * 3)
    try:
        await map_in_threads(actor, _with_paired(book, book.orphans(MIGRATE_BATCH), read_ahead), workers, stop,
                             finished, chunk=1, on_abandoned=abandoned)
    finally:
        meter.done()
        audit.close()
        report.audit_file = str(audit.path) if audit.written else None
        report.audit_error = audit.error
        if outputs is not None:
            outputs.close(report)


def _with_paired(book: MatchBook, batches: Iterable[list[Orphan]], read_ahead: ReadAhead
                 ) -> Iterator[tuple[list[Orphan], dict[str, Person]]]:
    """Each batch with the person of each student a reviewed row named, read here: the workers cannot ask the book.
    The read-ahead hears how far the work has come."""
    taken = 0
    for batch in batches:
        taken += len(batch)
        read_ahead.reached(taken)
        yield batch, {o.name: book.person_of_row(o.pairing.target.row) for o in batch
                      if o.pairing.paired_by == "pairs file" and o.pairing.target is not None}


class OrphanActor:
    """Surveys a batch of orphaned folders, compares, and acts (on a worker thread)."""

    def __init__(self, store: PhotoStore, options: MigrateOptions, settings: Settings, stop: StopFlag,
                 journal: Callable[[], Journal] | None) -> None:
        self.store, self.options, self.stop = store, options, stop
        self.copies = options.action is Action.MIGRATE and options.writes
        self.fields = list(settings.match_fields)  # the order of an origin's codes, said in it
        self.migrator = Migrator(store, journal or _no_journal, stop, self.origin)
        self.cleaner = Cleaner(store, confirm=options.writes, min_age=settings.clean_min_age_seconds, stop=stop,
                               journal=journal) if options.action is Action.CLEAN else None

    def __call__(self, batch: tuple[list[Orphan], dict[str, Person]]) -> list[OrphanWork]:
        orphans, paired = batch
        works = []
        for orphan in orphans:
            if self.stop.requested and self.cleaner is not None and self.options.writes:
                break  # each clean is one folder: finish the one in hand, start no new one
            works.append(survey(self.store, orphan, times=self.cleaner is not None, classify=not self.copies))
            works[-1].paired = paired.get(orphan.name)
        if self.copies:  # the batch's photos are all asked for before any is read (a cold disk answers many at once)
            for work in works:
                if work.scan is not None and work.may_fill:
                    prefetch(self._folder(work), (f for f in work.scan.files if f == PROFILE or
                                                  f.startswith(ATTENDANCE + "/")))
            for work in works:
                if work.scan is not None:
                    try:
                        _classify(work, self._folder(work), copying=work.may_fill)
                    except StoreProblem as exc:
                        work.report.errors.append(str(exc))
        for work in works:
            if work.scan is not None and work.may_fill:
                try:
                    compare_with_target(self.store, work, self._folder(work))
                except (OSError, StoreProblem) as exc:
                    work.report.errors.append(f"could not compare with the student's folder: {exc}")
        if self.copies:
            self.migrator.copy([w for w in works if w.may_fill and not w.report.errors])
        for work in works:
            self._conclude(work)
            if self.cleaner is not None:
                self.cleaner(work)
        return works

    def _folder(self, work: OrphanWork) -> str:
        return f"{self.migrator.students}/{work.report.name}"

    def _conclude(self, work: OrphanWork) -> None:
        report = work.report
        report.decision, report.reason = final_decision(work)
        if work.target is not None and report.decision is not Decision.NOT_CARRIED:
            report.target_id, report.target_name = work.student.student_id, work.student.name
        elif report.decision in (Decision.CANNOT_RECEIVE,) and work.orphan.pairing.target is not None:
            report.target_id = work.orphan.pairing.target.student_id
            report.target_name = work.orphan.pairing.target.name
        work.profile_bytes = None  # copied or not, the batch no longer needs them
        if work.target is not None:  # only what a migration carries can be "not carried"
            report.conflicts = [conflict_text(rel, work.target) for rel in work.different]
            report.not_carried = list(work.uncarried)
            report.already = len(work.same) - report.copied
        if report.errors and report.decision in (Decision.MIGRATE, Decision.MIGRATED):
            report.decision = Decision.ERROR
            report.reason = report.errors[0]
        if self.copies:  # copies found in place: the audit log names them too if no line does yet
            copied = {f["file"] for f in work.audit_files}
            work.audit_files.extend({"file": rel, "sha256": digest, "size": size, "outcome": "same"}
                                    for rel, (digest, size) in work.hashes.items() if rel not in copied)

    def origin(self, work: OrphanWork) -> dict:
        """Who a migrated photo came from, for the journal (the deep check compares it with its holder)."""
        person = work.orphan.person or Person(None)
        origin = {"old_id": work.report.name, "old_name": work.orphan.old_name, "backup": work.orphan.backup,
                  "name_key": person.name, "codes": person.codes, "fields": self.fields,
                  "paired_by": work.orphan.pairing.paired_by}
        if work.orphan.pairing.paired_by == "pairs file":  # a person's pairing holds for that student and no other
            paired = work.paired or Person(None)
            origin.update(paired_id=work.student.student_id, paired_name=work.student.name,
                          paired_name_key=paired.name, paired_codes=paired.codes)
        return origin


class PlanOutputs:
    """--list --csv / --html: the plan written for a person to review (see ``pairs`` and ``review``)."""

    def __init__(self) -> None:
        self.csv: PlanCsv | None = None
        self.html: PlanPage | None = None

    @classmethod
    def open(cls, options: MigrateOptions, run: Session, book: MatchBook) -> PlanOutputs:
        outputs = cls()
        if options.csv_file:
            from .pairs import PlanCsv
            outputs.csv = PlanCsv(Path(options.csv_file), run.store)
        if options.html_file:
            from .pairs import PlanPage
            outputs.html = PlanPage(Path(options.html_file), run, book)
        return outputs

    def add(self, work: OrphanWork) -> None:
        for output in (self.csv, self.html):
            if output is not None:
                output.add(work)

    def close(self, report: MigrateReport) -> None:
        if self.csv is not None:
            report.csv_file = self.csv.close()
        if self.html is not None:
            report.html_file = self.html.close(report)
