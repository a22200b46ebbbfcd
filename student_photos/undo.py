"""``--history`` and ``--undo RUN_ID``: list the journalled runs, and take one back where it is safe.

An undo changes a thing back only where it is still exactly as the run left it: a database link only
where the field still holds what the run wrote (a conditional write); a placed file only where it still
holds the bytes the run placed *and* its source still exists byte-identical (so nothing that exists only
there is ever removed); a quarantined photo only back into an empty place. Everything else is reported
and left. After its removals an undo reads the database once more (changing nothing there): a student whose
link, written by a later run (a restore), names a file it removed is named, and the undo is not "all done" (exit 1).
An undo is itself a journalled run (it can be undone too). A clean removed only folders whose every file had a
byte-identical copy, so there is nothing to take back; the undo says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .archive import open_photo_source
from .config import Settings
from .db import Database, decode_value, encode_value
from .errors import ToolError
from .identity import Person, Verdict, person_from_document, proven_same
from .journal import Journal, RunRecord, find_run, list_runs, read_journal
from .links import STUDENTS, read_link
from .records import display_name, one_folder_key
from .report import (
    ABSENT,
    EXIT_OK,
    EXIT_PROBLEMS,
    Action,
    LinkChange,
    Mode,
    Progress,
    RemovedLink,
    RunInfo,
    StopFlag,
)
from .session import ImplausibleDatabase, session
from .store import (
    PhotoStore,
    StoreProblem,
    fsync_dir,
    make_dirs,
    sha256_file,
    sweep_temporaries,
)

BATCH = 1000
_ASIDE_NUMBERS = itertools.count()


@dataclass
class HistoryReport:
    runs: list[RunRecord]
    journal_dir: str
    unreadable: list[str] = field(default_factory=list)  # journals that could not be read: their runs are not known

    @property
    def exit_code(self) -> int:
        return EXIT_PROBLEMS if self.unreadable else EXIT_OK


@dataclass
class UndoReport:
    info: RunInfo
    undoes: RunRecord
    links_reverted: int = 0
    files_removed: int = 0
    folders_removed: int = 0
    photos_returned: int = 0
    already: int = 0  # already as before the run: never made (the run was stopped first), or undone before
    left: list[str] = field(default_factory=list)  # what was not taken back, and why
    notes: list[str] = field(default_factory=list)
    # students whose link (written by a later run, a restore) names a file this undo removed: a person relinks
    removed_links: list[RemovedLink] = field(default_factory=list)
    interrupted_by: int | None = None

    @property
    def exit_code(self) -> int:
        if self.interrupted_by:
            return 128 + self.interrupted_by
        return EXIT_PROBLEMS if self.left or self.removed_links else EXIT_OK


async def run_history(settings: Settings, tool: str) -> HistoryReport:
    store = PhotoStore(settings.photo_dir)
    unreadable: list[str] = []
    runs = list_runs(store, unreadable)
    return HistoryReport(runs, str(store.tool_dir / "journal"), unreadable)


def _inside(store: PhotoStore, relative: object) -> Path | None:
    """A journal path (relative to the photo root), only if it stays inside the store and follows no symlink."""
    if not isinstance(relative, str):
        return None
    parts = relative.split("/")
    if not parts or any(p in ("", ".", "..") or "\x00" in p for p in parts):
        return None
    path = store.root
    for part in parts[:-1]:
        path = path / part
        if os.path.islink(path):
            return None
    return path / parts[-1]


def _holds(path: Path, sha256: object, size: object) -> bool:
    try:
        return sha256_file(path) == (sha256, size)
    except (OSError, StoreProblem):
        return False


async def run_undo(settings: Settings, tool: str, run_id: str, dry_run: bool, progress: Progress,
                   stop: StopFlag) -> UndoReport:
    store = PhotoStore(settings.photo_dir)
    path = find_run(store, run_id)
    target = next((r for r in list_runs(store) if r.run_id == run_id), RunRecord(run_id))
    mode = Mode(tool, Action.UNDO, not dry_run)
    with session(settings, mode, f"UNDO RUN {run_id}", progress) as run:
        report = UndoReport(run.info, target)
        if target.action == Action.CLEAN.value:
            report.notes.append("a clean removed only folders whose every file had a byte-identical copy in a current "
                                "student's folder: nothing was lost, so there is nothing to undo")
            return report
        if target.finished is None:
            report.notes.append("that run has no end record (it was stopped or killed): what its journal names is "
                                "taken back where it happened")
        reviewed: dict | None = None  # the reviewed pairs file the run applied, if it did
        links: list[tuple[dict, LinkChange]] = []
        own_links: set[object] = set()  # documents whose link the undone run wrote: this undo takes those back
        async with _LazyDatabase(settings) as database:
            # read before the journal starts: a database that cannot be read stops the undo before any change
            current = await _current_ids(await database.get(), settings, stop) if _copied_in_store(path) else set()
            folders = _quarantined_from(path)
            holders = await _holders_now(await database.get(), settings, stop, folders) if folders else {}
            journal = None if dry_run else run.start_journal(undoes=run_id)
            undo = _Undo(store, journal, report, dry_run, current)
            undo.holders, undo.fields = holders, list(settings.match_fields)
            for entry in read_journal(path):
                if stop.requested:
                    break
                kind = entry.get("type")
                if kind == "run" and isinstance(entry.get("pairs_file"), dict):
                    reviewed = entry["pairs_file"]
                elif kind == "db":
                    change = undo.link_change(entry)
                    if change is not None:
                        links.append((entry, change))
                        with contextlib.suppress(TypeError):  # (an _id that is not hashable: never excluded)
                            own_links.add(change.doc_id)
                    if len(links) >= BATCH:
                        await undo.revert_links(await database.get(), links, stop)
                        links = []
                elif kind == "file":
                    undo.remove_placed(entry)
                elif kind == "dir":
                    undo.dirs[str(entry.get("path", ""))] = entry
                elif kind == "dir-existed":  # named before it was made, then found made by someone else: not ours
                    undo.dirs.pop(str(entry.get("path", "")), None)
                elif kind == "quarantine":
                    undo.unquarantine(entry)
                elif kind == "unplaced":
                    undo.replace(entry)
                elif kind == "removed":
                    report.notes.append(f"{entry.get('folder')}: removed by a clean (every file had a copy); not "
                                        "restored")
            if links and not stop.requested:
                await undo.revert_links(await database.get(), links, stop)
            undo.remove_filled()
            if undo.removed or undo.gone:  # read after the removals, even when stopped: who is linked to what is gone
                report.removed_links = await _linked_to_removed(await database.get(), stop, undo, own_links)
        undo.sweep_temporaries()
        undo.remove_dirs()
        if reviewed is not None and reviewed.get("sha256") and not stop.requested:
            _retract(store, reviewed, run_id, run.info.run_id or "", dry_run, report)
        if stop.signum is not None:
            report.interrupted_by = stop.signum
        run.finish(report.exit_code, {"links_reverted": report.links_reverted, "files_removed": report.files_removed,
                                      "left": len(report.left)})
    return report


def _path_key(relative: str) -> tuple[str, ...]:
    """A path under PHOTO_DIR as one key, its student folder as a share that ignores case names it."""
    parts = relative.split("/")
    if len(parts) > 2 and parts[0] == STUDENTS:
        parts[1] = one_folder_key(parts[1])
    return tuple(parts)


async def _linked_to_removed(database: Database, stop: StopFlag, undo: _Undo, own: set[object]) -> list[RemovedLink]:
    """The students whose link names a file this undo removed (a dry run: would remove), or one the run placed that
    was already gone (an earlier undo stopped before it said so), and that is not there now: a later run (a restore)
    linked it. Read only; the links the undone run wrote itself are this undo's, taken back
    above (as before the run), so they are not named again."""
    found: list[RemovedLink] = []
    async for doc in database.read_students((), stop):
        link, _ = read_link(doc.get("photo"))
        if link is None or (_path_key(link.relative) not in undo.removed and _path_key(link.relative) not in undo.gone):
            continue
        with contextlib.suppress(TypeError):
            if doc.get("_id") in own:
                continue
        path = _inside(undo.store, link.relative)
        if not undo.dry_run and (path is None or os.path.lexists(path)):
            continue  # something is in that place again
        found.append(RemovedLink(display_name(doc.get("student_id")), display_name(doc.get("name")), link.relative))
    return sorted(found, key=lambda r: (r.name, r.student_id))


def _copied_in_store(path: Path) -> bool:
    """Whether the run placed a copy of a file in the photo store (its undo must know whose folder that source is)."""
    return any(e.get("type") == "file" and e.get("source") is not None for e in read_journal(path))


def _quarantined_from(path: Path) -> set[str]:
    """The folders (as one folder: ``one_folder_key``) a quarantine run took photos from."""
    return {one_folder_key(parts[1]) for e in read_journal(path) if e.get("type") == "quarantine"
            and isinstance(e.get("path"), str) and len(parts := e["path"].split("/")) > 2}


async def _holders_now(database: Database, settings: Settings, stop: StopFlag, folders: set[str]
                       ) -> dict[str, list[Person]]:
    """Who holds each of these folders now (every record whose id names it): a photo goes back only to its child."""
    found: dict[str, list[Person]] = defaultdict(list)
    async for doc in database.read_students(settings.match_fields, stop):
        raw = doc.get("student_id")
        if raw is not None and (key := one_folder_key(raw if isinstance(raw, str) else str(raw))) in folders:
            found[key].append(person_from_document(doc, settings.match_fields))
    return found


async def _current_ids(database: Database, settings: Settings, stop: StopFlag) -> set[str]:
    """Every current student's id as a folder name would spell it (an id that is not text too: fail closed)."""
    found = {one_folder_key(raw if isinstance(raw, str) else str(raw)) async for doc in database.read_students((), stop)
             if (raw := doc.get("student_id")) is not None}  # (as a share that ignores case would spell them)
    if not found:  # a wrong DB_NAME would make every old folder look like no one's
        raise ImplausibleDatabase(f"No students in {settings.collection_label()} ({settings.database_label()}): "
                                  "is DB_NAME or STUDENTS_COLLECTION wrong? Nothing was undone")
    return found


def _retract(store: PhotoStore, reviewed: dict, run_id: str, undo_id: str, dry_run: bool, report: UndoReport) -> None:
    """Take back the pairings and vetoes of the reviewed file the undone run applied: later runs decide those
    folders by the identity rule again (or by that file, applied again with --pairs)."""
    from .migrate import AuditLog
    what = f"the pairings and vetoes run {run_id} applied from the reviewed file {reviewed.get('file')}"
    if dry_run:
        report.notes.append(f"would take back {what}")
        return
    audit = AuditLog(store, None)
    audit.retract(run_id, str(reviewed["sha256"]), undo_id)
    if audit.error:
        report.left.append(f"{what} still stand: {audit.error}")
    else:
        report.notes.append(f"took back {what}: later runs decide those folders by the identity rule again, unless "
                            "another run (see --history) applied the same decisions")


class _LazyDatabase:
    """Connects on first use: for the run's link changes, the current ids (a run that copied within the store), and
    who is linked to a file this undo removed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database: Database | None = None

    async def __aenter__(self) -> _LazyDatabase:
        return self

    async def get(self) -> Database:
        if self.database is None:
            self.database = Database(self.settings)
            await self.database.__aenter__()
        return self.database

    async def __aexit__(self, *exc: object) -> None:
        if self.database is not None:
            await self.database.__aexit__(*exc)


class _Undo:
    def __init__(self, store: PhotoStore, journal: Journal | None, report: UndoReport, dry_run: bool,
                 current: set[str]) -> None:
        self.store, self.journal, self.report, self.dry_run = store, journal, report, dry_run
        self.current = current  # the current students' ids: a source in one of their folders is not an old copy
        self.dirs: dict[str, dict] = {}  # the folders the run made, by path
        self.placed_paths: list = []  # (folders to sweep of a killed run's temporaries)
        self._aside: dict[Path, list[str]] = {}  # folder -> names a killed undo moved aside there
        self.from_sources: list[dict] = []  # files a photo source filled: their source is a member of an archive
        self.holders: dict[str, list[Person]] = {}  # folder -> who holds it now (quarantined-from folders only)
        self.fields: list[str] = []
        self.removed: set[tuple[str, ...]] = set()  # the files removed (a dry run: to remove), as ``_path_key``
        self.gone: set[tuple[str, ...]] = set()  # files the run placed that were already gone

    def _intent(self, entry: dict) -> None:
        if self.journal is not None:
            self.journal.add(entry)
            self.journal.sync()

    # ---- database links ----
    def link_change(self, entry: dict) -> LinkChange | None:
        try:
            doc_id = decode_value(entry["doc_id"])
            old = decode_value(entry["old"])
            written = decode_value(entry["new"])
        except (KeyError, ValueError, TypeError):
            self.report.left.append(f"a database line of the journal cannot be read: {str(entry)[:120]}")
            return None
        return LinkChange(doc_id, str(entry.get("student_id", "")), written, old)

    async def revert_links(self, database: Database, links: list[tuple[dict, LinkChange]], stop: StopFlag) -> None:
        before = await database.photos_of([c.doc_id for _, c in links], stop)
        ready = []
        for _, change in links:
            now = before.get(change.doc_id, ABSENT)
            if change.doc_id in before and _same_value(now, change.old_photo):
                ready.append(change)
            elif change.doc_id in before and _same_value(now, change.new_photo):
                self.report.already += 1  # as before the run: never written (a kill), or undone already
            else:
                shown = _show(now) if change.doc_id in before else "(the document is gone)"
                self.report.left.append(f"link of {change.student_id}: now {shown}, not what the run wrote; "
                                        "left as it is")
        if self.dry_run:
            self.report.links_reverted += len(ready)  # would be
            return
        journal = self.journal
        if not ready or journal is None:
            return

        def before_batch(batch) -> None:
            for change in batch:
                journal.add({"type": "db", "doc_id": encode_value(change.doc_id), "student_id": change.student_id,
                             "old": encode_value(change.old_photo), "new": encode_value(change.new_photo)})
            journal.sync()

        outcome = await database.set_photo_links(ready, stop, before_batch)
        self.report.links_reverted += outcome.updated
        if outcome.skipped_changed or outcome.failed:
            self.report.left.append(f"{outcome.skipped_changed + outcome.failed} link(s) changed while undoing; left")

    # ---- files ----
    def remove_placed(self, entry: dict) -> None:
        self.placed_paths.append(entry.get("path"))
        path = _inside(self.store, entry.get("path"))
        source = _inside(self.store, entry.get("source"))
        shown = entry.get("path")
        if path is None:
            self.report.left.append(f"{shown}: not a path inside the photo folder; left")
            return
        self._put_back_moved_aside(path)
        if not os.path.lexists(path):  # never placed (the run stopped first), or already gone: an earlier undo
            self.gone.add(_path_key(str(shown)))  # stopped before it told who is linked to it, or a person removed it
            return
        if not _holds(path, entry.get("sha256"), entry.get("size")):
            self.report.left.append(f"{shown}: changed since the run placed it; left")
            return
        origin = entry.get("origin")
        if entry.get("source") is None and isinstance(origin, dict) and origin.get("photo_source"):
            self.from_sources.append(entry)  # checked against the source's member, all in one pass per source
            return
        if source is None or not _holds(source, entry.get("sha256"), entry.get("size")):
            self.report.left.append(f"{shown}: its source {entry.get('source')} is gone or changed, so this may be the "
                                    "only copy; left")
            return
        if why := self._no_copy(path, source, str(entry.get("path")), str(entry.get("source"))):
            self.report.left.append(f"{shown}: its source {entry.get('source')} {why}; left")
            return
        self._remove(path, entry)

    def _no_copy(self, path: Path, source: Path, placed: str, source_text: str) -> str | None:
        """Why a source that holds the bytes still does not justify removing the placed file (None: it does)."""
        try:
            a, b = os.lstat(path), os.lstat(source)
        except OSError as exc:
            return f"could not be compared ({exc.strerror or exc})"
        if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
            return "is this very file under another name (a bind mount or a hard link), not a copy"
        owner = _student_folder(source_text)
        if owner is not None and one_folder_key(owner) in self.current and \
                one_folder_key(owner) != one_folder_key(_student_folder(placed) or ""):
            return (f"is in the folder of current student {owner} now (ids reused): removing this would leave the "
                    "photo only in another child's folder; a person decides whose it is")
        return None

    def _put_back_moved_aside(self, path: Path) -> None:
        """An undo killed between moving a file aside and removing it: the file goes back to its place (then it
        is checked as any other), or stays aside, named, if something is there now."""
        if path.parent not in self._aside:  # one listing per folder, not one per file the run placed
            try:
                self._aside[path.parent] = [e.name for e in os.scandir(path.parent) if ".undoing-" in e.name]
            except OSError:
                self._aside[path.parent] = []
        for name in [n for n in self._aside[path.parent] if n.startswith(f".{path.name}.undoing-")]:
            if os.path.lexists(path) or self.dry_run:
                self.report.left.append(f"{path.name}: an interrupted undo left {name} beside it; check it by hand")
                continue
            with contextlib.suppress(OSError):
                os.rename(path.parent / name, path)

    def _remove(self, path: Path, entry: dict) -> None:
        shown = entry.get("path")
        if self.dry_run:
            self.report.files_removed += 1
            self.removed.add(_path_key(str(shown)))
            return
        self._intent({"type": "unplaced", "path": shown, "sha256": entry.get("sha256"), "size": entry.get("size"),
                      "source": entry.get("source")})
        # Moved aside first (atomic), then checked again there: a photo the app saved in that place after the
        # first check is put back, never removed. (The aside name is not a temporary one: no sweep takes it.)
        aside = path.parent / f".{path.name}.undoing-{os.getpid()}-{next(_ASIDE_NUMBERS)}"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return
        except OSError as exc:
            self.report.left.append(f"{shown}: could not be removed ({exc.strerror or exc}); left")
            return
        if not _holds(aside, entry.get("sha256"), entry.get("size")):
            try:
                os.link(aside, path)  # never over a file that appeared meanwhile
                os.unlink(aside)
                self.report.left.append(f"{shown}: changed while it was being undone; left")
            except FileExistsError:
                self.report.left.append(f"{shown}: changed while it was being undone; kept as {aside.name}")
            except OSError:  # no hard links here (some shares): put it back by name while the place is empty
                if not os.path.lexists(path):
                    os.rename(aside, path)
                    self.report.left.append(f"{shown}: changed while it was being undone; left")
                else:
                    self.report.left.append(f"{shown}: changed while it was being undone; kept as {aside.name}")
            fsync_dir(path.parent)
            return
        os.unlink(aside)
        fsync_dir(path.parent)
        self.report.files_removed += 1
        self.removed.add(_path_key(str(shown)))

    def replace(self, entry: dict) -> None:
        """Undo an undo: a file the undo removed is never put back blindly. Who holds that folder's id, and whether
        its source is still theirs (a person's "no one", a second reseed), may have changed since: the tool that
        placed it decides again."""
        shown = entry.get("path")
        self.report.left.append(f"{shown}: not put back (whose folder it is, and whether its source is still "
                                "theirs, may have changed since): run the migrate, or the restore, again; it decides "
                                "by the identity rule and the reviewed decisions")

    def _held_by_another(self, entry: dict) -> str:
        """Why the folder a photo was quarantined from may now be another child's ('' when it is still its child's,
        or no current student's): a second reseed may have given the id to someone else."""
        parts = str(entry.get("path")).split("/")
        if len(parts) < 3 or parts[0] != "students":  # (a quarantine moves a file out of a student's folder only)
            return "names no student's folder (an edited journal line?)"
        folder = parts[1]
        now = self.holders.get(one_folder_key(folder), [])
        if not now:
            return ""  # no current student's folder: putting it back shows it to no child
        recorded = entry.get("holder")
        if not isinstance(recorded, dict) or recorded.get("fields") != self.fields or \
                not isinstance(recorded.get("codes"), str):
            return f"who held students/{folder} when it was quarantined is not recorded as this run compares"
        was = Person(recorded.get("name_key") if isinstance(recorded.get("name_key"), str) else None,
                     recorded["codes"])
        if len(now) > 1 or not (now[0] == was or proven_same(was, now[0], self.fields).verdict is Verdict.SAME):
            return (f"students/{folder} is now held by {'more than one record' if len(now) > 1 else 'a record'} "
                    "not proven the child it was quarantined from (a second reseed?)")
        return ""

    def unquarantine(self, entry: dict) -> None:
        path = _inside(self.store, entry.get("path"))
        held = _inside(self.store, entry.get("to"))
        shown = entry.get("path")
        if path is None or held is None:
            self.report.left.append(f"{shown}: not a path inside the photo folder; left")
            return
        if not os.path.lexists(held):
            return
        if os.path.lexists(path):
            self.report.left.append(f"{shown}: a file is there now; the quarantined photo stays in {entry.get('to')}")
            return
        if not _holds(held, entry.get("sha256"), entry.get("size")):
            self.report.left.append(f"{entry.get('to')}: changed in quarantine; left there")
            return
        if why := self._held_by_another(entry):
            self.report.left.append(f"{shown}: {why}; the photo stays in {entry.get('to')}")
            return
        if self.dry_run:
            self.report.photos_returned += 1
            return
        self._intent({"type": "quarantine", "path": entry.get("to"), "to": shown, "sha256": entry.get("sha256"),
                      "size": entry.get("size"), "undo": True})
        try:
            make_dirs(path.parent)  # its folder may have gone since (an undo of the run that made it)
            os.link(held, path)  # never over a file that appeared meanwhile
        except OSError as exc:
            self.report.left.append(f"{shown}: could not be put back ({exc.strerror or exc}); the photo stays in "
                                    f"{entry.get('to')}")
            return
        with contextlib.suppress(OSError):
            os.unlink(held)
            fsync_dir(path.parent)
        self.report.photos_returned += 1

    def remove_filled(self) -> None:
        """Files filled from a photo source go only while that source's member still holds the very bytes."""
        by_source: dict[str, list[dict]] = defaultdict(list)
        for entry in self.from_sources:
            by_source[entry["origin"]["photo_source"]].append(entry)
        for label, entries in by_source.items():
            members = {str(e["origin"].get("member")): e for e in entries}
            still: set[str] = set()
            try:
                with open_photo_source(label) as source:
                    for found, data in source.read(list(members)):
                        held = members[found.path]
                        if (hashlib.sha256(data).hexdigest(), len(data)) == (held.get("sha256"), held.get("size")):
                            still.add(found.path)
            except ToolError:
                pass
            for member, entry in members.items():
                path = _inside(self.store, entry.get("path"))
                if path is None or not os.path.lexists(path):
                    continue
                if not _holds(path, entry.get("sha256"), entry.get("size")):
                    self.report.left.append(f"{entry.get('path')}: changed since the run placed it; left")
                elif member not in still:
                    self.report.left.append(f"{entry.get('path')}: its photo source {label} ({member}) is gone or "
                                            "changed, so this may be the only copy; left")
                else:
                    self._remove(path, entry)

    def sweep_temporaries(self) -> None:
        """Temporary copies a killed run left in the folders it made or placed files in (never a finished file)."""
        if self.dry_run:
            return
        placed: dict[str, set[str]] = defaultdict(set)  # folder -> names the run placed: never swept, however named
        for p in self.placed_paths:
            if "/" in str(p):
                folder, name = str(p).rsplit("/", 1)
                placed[folder].add(name)
        for folder in set(self.dirs) | set(placed):
            path = _inside(self.store, folder)
            if path is not None and os.path.isdir(path) and not os.path.islink(path):
                try:
                    sweep_temporaries(path, keep=placed.get(folder, ()))
                except OSError as exc:  # a folder it may not read or change: said, and the undo goes on
                    self.report.left.append(f"{folder}: temporary copies could not be removed ({exc.strerror or exc})")

    def remove_dirs(self) -> None:
        """Folders the run created, removed again only where they are empty (deepest first)."""
        for entry in sorted(self.dirs.values(), key=lambda e: -len(str(e.get("path", "")))):
            path = _inside(self.store, entry.get("path"))
            if path is None or not os.path.isdir(path) or os.path.islink(path):
                continue
            try:
                if any(True for _ in os.scandir(path)):
                    continue
            except OSError:
                continue
            self.report.folders_removed += 1
            if not self.dry_run:
                self._intent({"type": "dir-removed", "path": entry.get("path")})
                with contextlib.suppress(OSError):
                    os.rmdir(path)


def _student_folder(relative: str) -> str | None:
    """The student folder a journal path is in (``students/{id}/...``), if it is in one."""
    parts = relative.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "students" else None


def _same_value(a: object, b: object) -> bool:
    """Equal and of the same type (Python calls True == 1 and 1 == 1.0: a link is neither)."""
    return a is b or (type(a) is type(b) and a == b)


def _show(value: object) -> str:
    return "(no photo field)" if value is ABSENT else repr(value)[:80]
