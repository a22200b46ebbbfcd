"""``--deep``: find photos already on the wrong child, by content; ``--quarantine`` moves them aside.

Three findings, each naming both students and the evidence:

1. the same photo bytes under two current students (one child's photo given to another);
2. a current student's photo byte-identical to a photo in an orphaned folder whose old record is, by the
   identity rule, a *different* person, or whose identity is unknown (the mark of an order-based migration);
3. a file whose bytes a journalled run placed (here, or in a folder it has been copied on from) from a person
   the identity rule does not prove is its holder now.

Content is compared size first, then SHA-256. Every file's digest is kept in a hash cache (SQLite in the
tool folder) keyed by device, inode, size, mtime and ctime, so a rerun hashes only what changed; the
cache is the one thing a ``--verify-only --deep`` run writes, and never photos or the database. The file
list lives in a temporary SQLite file too, so memory stays flat at district size.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .identity import (
    SEPARATOR,
    Judgement,
    Person,
    Verdict,
    name_key,
    not_the_same,
    person_of,
    proven_by,
    proven_same,
)
from .journal import every_line
from .links import PROFILE, read_link
from .report import Problem, ProblemKind
from .store import (
    PRIVATE_FILE_MODE,
    PhotoStore,
    StoreProblem,
    fsync_dir,
    is_litter,
    make_private_dir,
    map_in_threads,
    open_folder_below,
    open_regular_stat,
    sha256_fd,
    walk_photos,
)

CACHE_NAME = "hash-cache.sqlite3"
QUARANTINE = "quarantine"
CHUNK = 2000


def insert_rows(db: sqlite3.Connection, into: str, width: int, rows: Iterable[tuple]) -> None:
    """INSERT many rows, several hundred per statement: sqlite3 lets go of the GIL at every statement step,
    and while worker threads list or hash, taking it back costs more than the insert (5x at 60,000 rows).
    ``into`` ends where the VALUES go, or holds ``{}`` where they go (500 rows at most: a compound SELECT)."""
    per = max(1, min(500, _variable_limit(db) // width))
    one = "(" + ", ".join("?" * width) + ")"
    rows = iter(rows)
    while part := list(itertools.islice(rows, per)):
        values = f"VALUES {', '.join([one] * len(part))}"
        db.execute(into.format(values) if "{}" in into else f"{into} {values}", [v for row in part for v in row])


_PROFILE = PROFILE.encode()


def _variable_limit(db: sqlite3.Connection) -> int:
    try:
        return db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[attr-defined]
    except AttributeError:  # Python 3.10: assume the oldest SQLite default
        return 999


def hash_unchanged(path: str, listed: os.stat_result, dir_fd: int | None = None) -> tuple[str | None, os.stat_result]:
    """(SHA-256, the stat it belongs to) of a file, or None when it changed while being read (a torn read
    must never be cached nor compared). The stat is the open file's own, so a file replaced since it was
    listed is keyed by what was actually read."""
    try:
        fd, before = open_regular_stat(path, dir_fd=dir_fd)
    except (OSError, StoreProblem):
        return None, listed
    try:
        sha, _ = sha256_fd(fd, before.st_size)
        after = os.fstat(fd)
    except OSError:
        return None, listed
    finally:
        os.close(fd)
    same = (before.st_size, before.st_mtime_ns, before.st_ctime_ns) == (after.st_size, after.st_mtime_ns,
                                                                          after.st_ctime_ns)
    return (sha if same else None), before


def _b(text: str) -> bytes:
    """A name as SQLite can hold it: a folder name that is not UTF-8 survives as its own bytes."""
    return text.encode("utf-8", "surrogateescape")


def _s(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


UNCOMPARED = "could not be compared"


def listed_names(students: str, already: Container[str] = ()) -> list[str]:
    """The entries of students/ a deep check lists: folders, and symlinks and loose files (to be said: never compared);
    not those ``already`` listed (filtered as read: a first run would otherwise hold every name twice, 14 MB at
    200,000)."""
    try:
        with os.scandir(students) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and e.name not in already
                          and not is_litter(e.name))  # (fsck's lost+found is no child's folder)
    except OSError:
        return []


def folder_rows(students: str, name: str, hashing: bool, skipped: list[tuple[str, str]],
                profile: os.stat_result | None = None, folder_fd: int | None = None) -> list[tuple]:
    """One folder's rows for the ``files`` table, hashed now (``hashing``: 9 columns) or to take their digest
    from the hash cache (7 columns); ``skipped`` receives (path, why) for what could not be looked at."""
    folder = f"{students}/{name}"
    key = _b(name)
    rows: list[tuple] = []
    for rel, info in walk_photos(folder, profile=profile, skipped=skipped, folder_fd=folder_fd):
        if hashing:
            sha, info = hash_unchanged(rel if folder_fd is not None else f"{folder}/{rel}", info, folder_fd)
            rows.append((key, _PROFILE if rel == PROFILE else _b(rel), info.st_size, info.st_dev, info.st_ino,
                         info.st_mtime_ns, info.st_ctime_ns, sha, 1 if sha else 0))
        else:
            rows.append((key, _PROFILE if rel == PROFILE else _b(rel), info.st_size, info.st_dev, info.st_ino,
                         info.st_mtime_ns, info.st_ctime_ns))
    return rows


LISTING_WAIT_SECONDS = 30.0  # (after the restore's own work) before a listing child counts as stuck
LISTING_WAIT_PER_STUDENT = 0.001  # the child lists about 20,000 folders a second here
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CHILD = ("import sys; sys.path.insert(0, sys.argv[1]); from student_photos.deep import list_apart; "
          "sys.exit(list_apart(*sys.argv[2:]))")


class ListingApart:
    """A rerun's listing in a child process, written to a private temporary SQLite file. Anything that goes
    wrong with it (it cannot start, dies, is stopped) only means the parent lists in-process instead."""

    def __init__(self, folder: str, proc: subprocess.Popen) -> None:
        self.folder, self.proc = folder, proc
        self.out = os.path.join(folder, "listing.sqlite3")

    @classmethod
    def start(cls, students: str) -> ListingApart | None:
        folder = None
        try:
            folder = tempfile.mkdtemp(prefix="student-photos-listing-")
            # -I: nothing from the environment, the user's site or the current folder runs in it
            proc = subprocess.Popen([sys.executable, "-I", "-c", _CHILD, _PACKAGE_PARENT, students,
                                     os.path.join(folder, "listing.sqlite3"), str(os.getpid())],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError, TypeError, ValueError):  # (no sys.executable when embedded)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return None
        return cls(folder, proc)

    async def finished(self, stop, students: int) -> bool:
        """Wait for the child; True when it listed everything. One that takes far longer than a listing of a
        district of ``students`` should (stuck) is given up: the parent lists in-process instead."""
        deadline = time.monotonic() + LISTING_WAIT_SECONDS + students * LISTING_WAIT_PER_STUDENT
        while self.proc.poll() is None:
            if stop.requested or time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return self.proc.returncode == 0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def list_apart(students: str, out: str, parent: str) -> int:
    """The child of ``ListingApart``: every listed folder's rows, and what could not be looked at, into ``out``;
    its ``done`` row says the listing is whole."""
    db = sqlite3.connect(out, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE files (folder BLOB, rel BLOB, size INTEGER, dev INTEGER, ino INTEGER, mtime INTEGER, "
               "ctime INTEGER)")
    db.execute("CREATE TABLE unlisted (folder BLOB, rel BLOB, why BLOB)")
    db.execute("CREATE TABLE done (folders INTEGER)")
    rows: list[tuple] = []
    unlisted: list[tuple] = []
    names = listed_names(students)
    db.execute("BEGIN")
    for name in names:
        skipped: list[tuple[str, str]] = []
        rows.extend(folder_rows(students, name, False, skipped))
        unlisted.extend((_b(name), _b(rel), _b(why)) for rel, why in skipped)
        if len(rows) >= CHUNK:
            insert_rows(db, "INSERT INTO files", 7, rows)
            rows.clear()
    insert_rows(db, "INSERT INTO files", 7, rows)
    insert_rows(db, "INSERT INTO unlisted", 3, unlisted)
    db.execute("INSERT INTO done VALUES (?)", (len(names),))
    db.execute("COMMIT")
    db.close()
    if str(os.getppid()) != parent:  # the parent was killed: no one will read it
        shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    return 0


@dataclass
class Finding:
    kind: str  # "same photo under two students", "photo of an orphan of another person", "placed from another person"
    students: list[str]  # the current students whose photo it is about
    files: list[str]  # paths under PHOTO_DIR
    evidence: str
    keep: list[str] = field(default_factory=list)  # students whose copy a journalled migration proves theirs

    def as_json(self) -> dict:
        return {"kind": self.kind, "students": self.students, "files": self.files, "evidence": self.evidence,
                "kept_with": self.keep}


@dataclass
class DeepResult:
    findings: list[Finding] = field(default_factory=list)
    files_seen: int = 0
    files_hashed: int = 0  # read and hashed now (the rest came from the hash cache)
    cache: str = ""
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (from, to) under PHOTO_DIR
    left_in_place: list[tuple[str, str]] = field(default_factory=list)  # (path, why quarantine did not move it)


class HashCache:
    """Digests by (device, inode, size, mtime, ctime); unusable (read-only share) means no cache, not an error."""

    def __init__(self, store: PhotoStore, db: sqlite3.Connection) -> None:
        self.path = store.tool_dir / CACHE_NAME
        self.usable = False
        try:
            make_private_dir(store.tool_dir)
            if not os.path.lexists(self.path):  # created private: sqlite would follow the umask
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE_MODE))
            db.execute("ATTACH DATABASE ? AS cache", (str(self.path),))
            db.execute("PRAGMA cache.journal_mode=WAL")  # a cache: losing its last rows to a crash costs a rehash
            db.execute("PRAGMA cache.synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS cache.hashes (dev INTEGER, ino INTEGER, size INTEGER, "
                       "mtime INTEGER, ctime INTEGER, sha TEXT, PRIMARY KEY (dev, ino))")
            self.usable = True
        except (OSError, sqlite3.Error, StoreProblem):
            pass

    def holds_any(self, db: sqlite3.Connection) -> bool:
        try:
            return db.execute("SELECT 1 FROM cache.hashes LIMIT 1").fetchone() is not None
        except sqlite3.Error:
            return False


class DeepCheck:
    """Made before the census. A first run lists (and hashes) with the restore's early folder check, while the
    database answers (one pass over a cold disk); a rerun lists in a child process beside the whole run
    (``ListingApart``). ``attach`` gives it the current students once they are known."""

    def __init__(self, settings, store: PhotoStore, stop, progress) -> None:
        self.settings, self.store, self.stop, self.progress = settings, store, stop, progress
        self.plans: dict = {}
        self.holders: Callable[[int, str], int] | None = None  # (attach)
        self.listed: set[str] = set()  # folders already walked (by the early check)
        self.unlisted: list[tuple[str, str, str]] = []  # (folder, path, why): what could not be compared
        self._rows: list[tuple] = []
        self._current_ids_known = False
        self.db = sqlite3.connect("", isolation_level=None, timeout=30)  # private temporary file
        # A 2 MB page cache (SQLite's default): 32 MB was no faster within the spread and 30 MB more at 200,000.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-2048"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE digests (rid INTEGER PRIMARY KEY, sha TEXT)")  # a chunk of new digests
        self.db.execute("CREATE TABLE files (folder BLOB, rel BLOB, size INTEGER, dev INTEGER, ino INTEGER, "
                        "mtime INTEGER, ctime INTEGER, sha TEXT, fresh INTEGER, wanted INTEGER DEFAULT 0)")
        self.db.execute("CREATE TABLE current_ids (id BLOB PRIMARY KEY) WITHOUT ROWID")
        self.students = str(store.students)
        self.cache = HashCache(store, self.db)
        # A cache answers a rerun in one join on this thread; only a first run hashes while listing.
        self.hash_while_listing = not self.cache.usable or not self.cache.holds_any(self.db)
        # Reading every photo cold waits on the disk: more reads in flight (HASH_WORKERS); a rerun mostly stats.
        self.workers = settings.hash_workers if self.hash_while_listing else settings.workers
        self.result = DeepResult(cache=str(self.cache.path) if self.cache.usable else "(no cache: not writable)")
        # A rerun mostly stats: its listing threads and the restore's would take turns at the interpreter, so a
        # child process lists (on the other core) while this one checks folders and reads the database.
        self.apart = None if self.hash_while_listing else ListingApart.start(self.students)
        self._listing_done = False

    @property
    def lists_with_folder_check(self) -> bool:
        """Whether the restore's early folder check should list each folder too (not when a child process does)."""
        return self.apart is None

    def close(self) -> None:
        if self.apart is not None:
            self.apart.close()
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    def attach(self, plans: dict, owner_refusal: Callable[[str, Any, dict], str | None],
               expect: Callable[[list], None] = lambda plans: None,
               holders: Callable[[int, str], int] | None = None) -> None:
        """``owner_refusal(old_id, plan, histories)``: the restore's own answer to "may this old folder's photo
        be this student's?" (None when it may), so that a deep check and a restore never judge apart; ``expect``
        is told first every student it will be asked about (one search of the backups for them all); ``holders``:
        how many current records hold an identifier (``identity.only_common``), as the restore counts them."""
        self.plans = plans
        self.owner_refusal = owner_refusal
        self.expect = expect
        self.holders = holders

    def listing(self, name: str, profile: os.stat_result | None = None, folder_fd: int | None = None) -> list[tuple]:
        """One folder's photos, with what identifies their content on disk (safe on a worker thread). With no
        hash cache to ask (a first run), each file is hashed now, while its folder is at hand: one pass over
        the disk, not a second one to hash. ``profile``: the stat of its profile.jpg, when the caller just read it;
        ``folder_fd``: the folder, when the caller has it open."""
        skipped: list[tuple[str, str]] = []
        rows = folder_rows(self.students, name, self.hash_while_listing, skipped, profile, folder_fd)
        self.unlisted.extend((name, rel, why) for rel, why in skipped)  # (one append each: safe across threads)
        return rows

    def add(self, name: str, rows: list[tuple]) -> None:
        """Rows of one listed folder (on the event loop's thread: SQLite is not shared between threads)."""
        self.listed.add(name)
        self._rows.extend(rows)
        if len(self._rows) >= CHUNK:
            self._insert(self._rows)

    async def finish_listing(self) -> None:
        """Every folder listed (before a restore changes anything: the listing is of the store as it was found)."""
        if self._listing_done:
            return
        apart, self.apart = self.apart, None
        if apart is None or not await self._take_apart_listing(apart):
            await self._list_files()  # (a child that could not finish: listed here, as a first run does)
        self._insert(self._rows)
        self._listing_done = True

    async def run(self) -> DeepResult:
        await self.finish_listing()
        if self.db.execute("SELECT 1 FROM files WHERE sha IS NULL LIMIT 1").fetchone():
            self._know_current_ids()
            # Only a size that two folders share can be the same photo twice: nothing else needs hashing.
            self.db.execute("UPDATE files SET wanted = 1 WHERE sha IS NULL AND size IN (SELECT size FROM files "
                            "GROUP BY size HAVING count(DISTINCT folder) > 1 AND max(folder IN current_ids) = 1)")
        unread: list[str] = []
        placements = PlacementTable(self.db)
        placements.read(self.store, unread)
        for why in unread:  # never "all clear" over placements it could not read
            self.result.findings.append(Finding(UNCOMPARED, [], [], f"{why}: a photo it placed from another child "
                                                                    "could not be traced"))
        if placements.count or any(getattr(plan, "recycled", False) for plan in self.plans.values()):
            self._index_places()
        if placements.count:
            self._want_placed_sizes()
        await self._hash_wanted()
        self._unread_wanted()
        self._same_bytes(placements)
        self._recycled_ids()
        self._placed_from_another_person(placements)
        for folder, rel, why in sorted(self.unlisted):  # never "all done" over something not looked at
            self.result.findings.append(Finding(
                UNCOMPARED, [folder], [f"students/{folder}/{rel}"],
                f"{f'{rel} in folder {folder}' if rel else f'folder {folder} itself'} is {why}: what it holds "
                "cannot be compared, so a photo on the wrong child could hide there"))
        return self.result

    def _unread_wanted(self) -> None:
        """A file that had to be compared (its size is another file's or a placed photo's) but could not be read,
        or changed while it was read: never an all-clear over it."""
        if self.stop.requested:
            return  # (a stopped run says so itself; its unhashed files were never tried)
        for folder, rel in self.db.execute("SELECT folder, rel FROM files WHERE wanted AND sha IS NULL "
                                           "ORDER BY folder, rel").fetchall():
            name, path = _s(folder), PROFILE if rel == _PROFILE else _s(rel)
            self.result.findings.append(Finding(
                UNCOMPARED, [name], [f"students/{name}/{path}"],
                f"{path} in folder {name} could not be read (or changed while it was read): it may be the same "
                "photo as another child's, so a photo on the wrong child could hide there"))

    def _index_places(self) -> None:
        """Lookups of one file by its place follow (placements, recycled ids, quarantine): an index, made once."""
        self.db.execute("CREATE INDEX IF NOT EXISTS files_place ON files (folder, rel)")

    def _know_current_ids(self) -> None:
        """The current ids as a table, for the queries that tell a current folder from an orphaned one."""
        if not self._current_ids_known:
            self.db.execute("BEGIN")
            insert_rows(self.db, "INSERT OR IGNORE INTO current_ids", 1, ((_b(sid),) for sid in self.plans))
            self.db.execute("COMMIT")
            self._current_ids_known = True

    async def _list_files(self) -> None:
        names = listed_names(self.students, self.listed)
        meter = self.progress.phase("Listing photos", len(names))

        def walk(name: str) -> tuple[str, list[tuple]]:
            return name, self.listing(name)

        def collect(_index: int, found: tuple[str, list[tuple]]) -> None:
            self.add(*found)
            meter.advance()

        await map_in_threads(walk, names, self.workers, self.stop, collect)
        meter.done()

    async def _take_apart_listing(self, apart: ListingApart) -> bool:
        """The rows the child process listed, each with the digest the cache holds for it (one statement)."""
        meter = self.progress.phase("Listing photos", None)
        try:
            if not await apart.finished(self.stop, len(self.plans)):
                return False
            self.db.execute("ATTACH DATABASE ? AS listed", (apart.out,))
            try:
                if self.db.execute("SELECT count(*) FROM listed.done").fetchone()[0] != 1:
                    return False
                self.db.execute("BEGIN")
                seen = self.db.execute(
                    """INSERT INTO files (folder, rel, size, dev, ino, mtime, ctime, sha)
                       SELECT v.*, h.sha FROM listed.files v LEFT JOIN cache.hashes h ON h.dev = v.dev
                       AND h.ino = v.ino AND h.size = v.size AND h.mtime = v.mtime AND h.ctime = v.ctime""").rowcount
                unlisted = [(_s(f), _s(r), _s(w)) for f, r, w in
                            self.db.execute("SELECT folder, rel, why FROM listed.unlisted")]
                self.db.execute("COMMIT")
                self.result.files_seen += seen
                self.unlisted.extend(unlisted)
                return True
            finally:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                self.db.execute("DETACH DATABASE listed")
        except sqlite3.Error:
            return False
        finally:
            meter.done()
            apart.close()

    def _insert(self, rows: list[tuple]) -> None:
        if not rows:
            return
        self.db.execute("BEGIN")
        if self.hash_while_listing:
            insert_rows(self.db, "INSERT INTO files (folder, rel, size, dev, ino, mtime, ctime, sha, fresh)", 9, rows)
        else:  # a rerun: each row takes the digest the cache holds for it as it goes in, while the workers list
            insert_rows(self.db, """INSERT INTO files (folder, rel, size, dev, ino, mtime, ctime, sha)
                                    SELECT v.*, h.sha FROM ({}) AS v LEFT JOIN cache.hashes h ON h.dev = v.column4
                                    AND h.ino = v.column5 AND h.size = v.column3 AND h.mtime = v.column6
                                    AND h.ctime = v.column7""", 7, rows)
        self.db.execute("COMMIT")
        self.result.files_seen += len(rows)  # (rows are only ever added: rowids run 1, 2, 3 ...)
        rows.clear()

    async def _hash_wanted(self) -> None:
        """Hash what the listing could not (a file that changed while it was read); keep the new digests."""
        if self.hash_while_listing:
            self.result.files_hashed += self.db.execute("SELECT count(*) FROM files WHERE fresh").fetchone()[0]
        if self.cache.usable and self.hash_while_listing:
            try:
                self.db.execute("INSERT OR REPLACE INTO cache.hashes SELECT dev, ino, size, mtime, ctime, sha "
                                "FROM files WHERE fresh AND sha IS NOT NULL")  # one statement: its own transaction
            except sqlite3.Error:
                pass  # a cache that cannot be written costs the next run a rehash, nothing else
        missing = self.db.execute("SELECT rowid, folder, rel, dev, ino, size, mtime, ctime FROM files "
                                  "WHERE wanted AND sha IS NULL").fetchall()
        meter = self.progress.phase("Hashing photos", len(missing))
        students = str(self.store.students)
        done: list[tuple] = []

        def digest(row: tuple) -> tuple:
            rowid, folder, rel = row[:3]
            path = f"{students}/{_s(folder)}/{_s(rel)}"
            try:
                listed = os.lstat(path)
            except OSError:
                return rowid, None, row
            sha, info = hash_unchanged(path, listed)
            return rowid, sha, (*row[:3], info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

        def collect(_index: int, out: tuple) -> None:
            done.append(out)
            meter.advance()
            if len(done) >= CHUNK:
                self._store_digests(done)

        await map_in_threads(digest, missing, self.settings.hash_workers, self.stop, collect)
        self._store_digests(done)
        meter.done()

    def _store_digests(self, done: list[tuple]) -> None:
        self.db.execute("BEGIN")  # one transaction per chunk: not one (synced) per row
        insert_rows(self.db, "INSERT INTO digests (rid, sha)", 2, [(rowid, sha) for rowid, sha, _ in done if sha])
        self.db.execute("UPDATE files SET sha = (SELECT sha FROM digests WHERE rid = files.rowid) "
                        "WHERE rowid IN (SELECT rid FROM digests)")
        self.db.execute("DELETE FROM digests")
        if self.cache.usable:
            with contextlib.suppress(sqlite3.Error):
                insert_rows(self.db, "INSERT OR REPLACE INTO cache.hashes", 6,
                            [(r[3], r[4], r[5], r[6], r[7], sha) for _, sha, r in done if sha])
        self.db.execute("COMMIT")
        self.result.files_hashed += sum(1 for _, sha, _ in done if sha)
        done.clear()

    # ---- findings 1 and 2 ----
    def _same_bytes(self, placed: PlacementTable) -> None:
        if not self.db.execute("SELECT 1 FROM files WHERE sha IS NOT NULL GROUP BY sha HAVING count(*) > 1 "
                               "LIMIT 1").fetchone():
            return  # no content twice anywhere (the usual answer, found without comparing folders)
        self._know_current_ids()
        groups = self.db.execute("""
            SELECT f.size, f.sha, f.folder, f.rel, (f.folder IN current_ids) FROM files f
            JOIN (SELECT size, sha FROM files WHERE sha IS NOT NULL GROUP BY size, sha
                  HAVING count(DISTINCT folder) > 1 AND max(folder IN current_ids) = 1) g
              ON g.size = f.size AND g.sha = f.sha
            ORDER BY f.size, f.sha, f.folder, f.rel""").fetchall()
        by_content: dict[tuple, list[tuple[str, str, int]]] = defaultdict(list)
        for size, sha, folder, rel, current in groups:
            by_content[(size, sha)].append((_s(folder), _s(rel), current))
        orphans = {f for members in by_content.values() for f, _, current in members if not current}
        histories = self._histories(orphans)
        asked = {f for members in by_content.values() if any(not c for _, _, c in members) for f, _, c in members if c}
        self.expect([self.plans[s] for s in sorted(asked) if s in self.plans])  # (each is asked of an orphan below)
        for members in by_content.values():
            current = sorted({f for f, _, c in members if c})
            files = [f"students/{f}/{r}" for f, r, _ in members]
            if len(current) > 1:
                proven = sorted({f for f, r, c in members if c and self._proven_own(f, r, placed)})
                keep = proven if len(proven) == 1 else []  # two "proven" copies prove nothing: both go aside
                note = (f"; the copy of {self._who(keep[0])} was placed by a journalled migration from their own old "
                        "folder, so only the others are quarantined") if keep else ""
                self.result.findings.append(Finding(
                    "same photo under two students", current, files,
                    f"the same photo bytes are in the folders of {len(current)} current students: "
                    + ", ".join(f"{self._who(s)}" for s in current[:6]) + ("..." if len(current) > 6 else "") + note,
                    keep))
            for orphan in sorted({f for f, _, c in members if not c}):
                for student in current:
                    # exactly as a restore judges an old folder's photo for this student: its whole history must
                    # choose them and no other current student, no other old folder may fit them, and a person's
                    # reviewed pairing (or "no one") decides instead
                    why = self.owner_refusal(orphan, self.plans[student], histories) if student in self.plans \
                        else "the student is not in the database"
                    if why is None:
                        continue
                    self.result.findings.append(Finding(
                        "photo of an orphan of another person", [student], files,
                        f"{self._who(student)} holds a photo byte-identical to one in orphaned folder {orphan}, and "
                        f"{why}"))

    def _recycled_ids(self) -> None:
        """A current id whose backups hold a different person: the photos in its folder were that person's."""
        for sid, plan in self.plans.items():
            if not getattr(plan, "recycled", False):
                continue
            files = [f"students/{sid}/{_s(rel)}" for (rel,) in self.db.execute(
                "SELECT rel FROM files WHERE folder = ? ORDER BY rel", (_b(sid),))]
            if files:
                self.result.findings.append(Finding(
                    "folder of an earlier owner (ids recycled)", [sid], files,
                    f"{self._who(sid)} holds the photos of folder {sid}, but {plan.conflict}"))

    def _proven_own(self, folder: str, rel: str, placed: PlacementTable) -> bool:
        """Whether a journalled run put this very file here from the holder's own old folder (or a person paired
        it with the holder by a reviewed file); bytes merely traced here from another place prove nothing of it."""
        here = f"students/{folder}/{rel}"
        if not placed.count:
            return False
        lines = placed.of_file(folder, rel)
        return any(p.path == here and not p.undone for p in lines) and not refusals(
            lines, folder, self.plans[folder].record.person, self.settings.match_fields, self.holders)

    def _histories(self, old_ids: set[str]) -> dict:
        if not old_ids:
            return {}
        from .restore import owner_histories
        return {k: v for k, v in owner_histories(self.settings, old_ids, current=self.plans).items()
                if v.person is not None or v.problem is not None}

    def _who(self, student_id: str) -> str:
        plan = self.plans.get(student_id)
        return f"{plan.record.name} ({student_id})" if plan else student_id

    # ---- finding 3 ----
    def _want_placed_sizes(self) -> None:
        """Each file of a size some placement has is hashed: its bytes may be that placement's, here or copied on."""
        self._know_current_ids()
        self.db.execute("CREATE TABLE IF NOT EXISTS placed (size INTEGER, sha TEXT, PRIMARY KEY (size, sha)) "
                        "WITHOUT ROWID")
        self.db.execute("BEGIN")
        self.db.execute("INSERT OR IGNORE INTO placed SELECT size, sha FROM placement")
        self.db.execute("UPDATE files SET wanted = 1 WHERE sha IS NULL AND size IN (SELECT size FROM placed)")
        self.db.execute("COMMIT")

    def _linked_elsewhere(self, placements: PlacementTable) -> list[tuple[str, Placement]]:
        """(current student, placement) where the student's database or backup link names a file a run placed in a
        folder that is no current id any more, still holding those bytes: the app shows it as theirs, and a
        restore would copy it (a second reseed that kept each child's link)."""
        if not placements.count or not placements.any_outside_current():
            return []
        found: list[tuple[str, Placement]] = []
        for sid, plan in self.plans.items():
            links = list(getattr(plan, "backup_links", ()))
            if not plan.record.photo_is_canonical and (link := read_link(plan.record.photo)[0]) is not None:
                links.append(link)
            for path in dict.fromkeys(link.relative for link in links):
                if (parts := path.split("/", 2))[0] != "students" or len(parts) != 3 or parts[1] in self.plans:
                    continue
                old = placements.outside_current_at(path)
                if not old:
                    continue
                row = self.db.execute("SELECT size, sha FROM files WHERE folder = ? AND rel = ?",
                                      (_b(parts[1]), _b(parts[2]))).fetchone()
                found.extend((sid, p) for p in old if row is not None and tuple(row) == (p.size, p.sha256))
        return found

    def _placed_from_another_person(self, placements: PlacementTable) -> None:
        fields = self.settings.match_fields
        linked: set[tuple[str, str]] = set()
        for sid, placement in self._linked_elsewhere(placements):
            judged = next((j for p, j in refusals(placements.of_digest(placement.digest), sid,
                                                  self.plans[sid].record.person, fields, self.holders)
                           if p == placement), None)
            if judged is not None and (sid, placement.path) not in linked:  # one finding per student and file
                linked.add((sid, placement.path))
                self.result.findings.append(Finding(
                    "placed from another person", [sid], [placement.path],
                    f"the photo link of {self._who(sid)} names {placement.path}, which run {placement.run_id} placed "
                    f"from {placement.source}, {not_the_same(judged.verdict)} ({judged.reason})"))
        for (folder, rel), of_this_file in placements.traced() if placements.count else ():
            here = f"students/{folder}/{rel}"
            for placement, judged in refusals(of_this_file, folder, _holder_of(self.plans[folder].record), fields,
                                              self.holders):
                where = "" if placement.path == here else f" in {placement.path} (its bytes are here now)"
                self.result.findings.append(Finding(
                    "placed from another person", [folder], [here],
                    f"run {placement.run_id} placed it{where} from {placement.source}, "
                    f"{not_the_same(judged.verdict)} than {self._who(folder)} ({judged.reason})"))
                break  # one finding per file

    # ---- quarantine ----
    def quarantine(self, run_id: str, journal, in_scope: Callable[[str], bool]) -> None:
        """Move each finding's photo out of the child's folder into quarantine (never deleted, journalled)."""
        target_root = self.store.tool_dir / QUARANTINE / run_id
        moved: set[str] = set()
        self._index_places()  # each photo's digest, as the check found it, is looked up by its place
        for finding in self.result.findings:
            if finding.kind == UNCOMPARED:
                continue  # nothing was read there: nothing to move
            for path in finding.files:
                parts = path.split("/", 2)
                if parts[1] not in finding.students or not in_scope(parts[1]) or path in moved or \
                        parts[1] in finding.keep:
                    continue
                dest = target_root / path
                try:  # the photo's folder, reached without a symlink (one swapped in since the listing included)
                    folder_fd = open_folder_below(self.store.students_text, os.path.dirname(f"{parts[1]}/{parts[2]}"))
                except OSError as exc:  # what a symlink points at is not the child's: it is not moved
                    self.result.left_in_place.append((path, f"its folder cannot be reached without a symlink "
                                                            f"({exc.strerror or exc}); not moved"))
                    continue
                name = os.path.basename(parts[2])
                found = self.db.execute("SELECT sha FROM files WHERE folder = ? AND rel = ?",
                                        (_b(parts[1]), _b(parts[2]))).fetchone()
                fd = -1
                try:
                    fd, info = open_regular_stat(name, dir_fd=folder_fd)
                    sha, size = sha256_fd(fd, info.st_size)
                    if found is None or sha != found[0]:  # saved anew since the check: not the photo it found
                        raise StoreProblem("it changed since the check found it; not moved (run the check again)")
                    make_private_dir(dest.parent)
                    journal.add({"type": "quarantine", "path": path, "to": str(dest.relative_to(self.store.root)),
                                 "sha256": sha, "size": size, "finding": finding.kind,
                                 "holder": self._holder_line(parts[1])})
                    journal.sync()
                    # from the folder that was opened, not by path: same filesystem (the tool folder is inside
                    # the photo root)
                    os.rename(name, dest, src_dir_fd=folder_fd)
                    _put_back_unless_moved(fd, dest, name, folder_fd)
                    os.fsync(folder_fd)
                    fsync_dir(dest.parent)
                except (OSError, StoreProblem) as exc:
                    self.result.left_in_place.append((path, str(exc) if isinstance(exc, StoreProblem) else
                                                      f"could not be moved ({exc.strerror or exc}); left in place"))
                    continue
                finally:
                    if fd >= 0:
                        os.close(fd)
                    os.close(folder_fd)
                moved.add(path)
                self.result.quarantined.append((path, str(dest.relative_to(self.store.root))))


    def _holder_line(self, folder: str) -> dict | None:
        """Who held the folder a photo is quarantined from: its undo puts the photo back only while they still do."""
        plan = self.plans.get(folder)
        if plan is None:
            return None
        person = _holder_of(plan.record)
        return {"student_id": folder, "name_key": person.name, "codes": person.codes,
                "fields": list(self.settings.match_fields)}


def _put_back_unless_moved(hashed_fd: int, dest: os.PathLike, name: str, folder_fd: int) -> None:
    """After the rename: if the file now in quarantine is not the one that was hashed (the app saved a new one
    in between), it goes back where it was, never over anything, and the photo counts as not moved."""
    hashed, moved = os.fstat(hashed_fd), os.lstat(dest)
    if (hashed.st_dev, hashed.st_ino) == (moved.st_dev, moved.st_ino):
        return
    try:
        os.link(dest, name, dst_dir_fd=folder_fd)  # never over a file: if one is there again, both are kept
    except OSError as exc:
        raise StoreProblem(f"it was replaced while it was being moved, and the new file could not go back "
                           f"({exc.strerror or exc}): it is in quarantine at {dest}") from None
    os.unlink(dest)
    raise StoreProblem("it was replaced while it was being moved; the new file was put back, not moved")


# the student a person paired the old folder with (a reviewed file): lines written before 2026-12-01 lack them
PAIRED_KEYS = ("paired_id", "paired_name", "paired_name_key", "paired_codes")
# ORIGIN_KEYS: who a placed file came from, and the MATCH_FIELDS its codes are in
ORIGIN_KEYS = ("old_id", "old_name", "name_key", "codes", "fields", "paired_by", *PAIRED_KEYS)


@dataclass(frozen=True, slots=True)
class Placement:
    """A file a journalled run placed with the person it came from: a migrate's copy from an old folder, or a
    restore's copy of such a file (it carries the origin on, so a chain of reseeds is followed)."""

    run_id: str
    path: str  # under PHOTO_DIR, where that run placed it
    size: int
    sha256: str
    origin: dict  # ORIGIN_KEYS
    seq: int = 0  # its place in the journal (oldest first): a later person's pairing answers an earlier line
    undone: bool = False  # an --undo of its run was journalled: the pairing that run applied is taken back

    @property
    def digest(self) -> tuple[str, int]:
        """(SHA-256, size), as the restore keys content."""
        return self.sha256, self.size

    @property
    def source(self) -> str:
        return f"old folder {self.origin.get('old_id')} ({self.origin.get('old_name') or 'no name'})"


def placement_of(run_id: str, entry: dict) -> Placement | None:
    """The placement a journal line records, if it names the person its file came from."""
    origin = entry.get("origin") if entry.get("type") == "file" else None
    size, sha = entry.get("size"), entry.get("sha256")
    if not isinstance(origin, dict) or "name_key" not in origin or type(size) is not int or not isinstance(sha, str):
        return None  # (a line edited out of shape names no bytes: no file could be matched to it)
    return Placement(run_id, str(entry.get("path", "")), size, sha, {k: origin.get(k) for k in ORIGIN_KEYS})


def undone_run(entry: dict) -> str | None:
    """The run a journal line says was undone: an undo journals its own run line with ``undoes``."""
    undoes = entry.get("undoes") if entry.get("type") == "run" else None
    return undoes if isinstance(undoes, str) else None


class PlacementTable:
    """The journal's placements in a SQLite table, read in one pass: a district's journals hold hundreds of
    thousands of file lines, about 0.7 KB each as Python objects, so memory would grow with the journal."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.count = 0
        self._rows: list[tuple] = []
        self._undone: set[str] = set()  # runs an undo took back (their run lines come later: marked at the end)
        db.execute("CREATE TABLE IF NOT EXISTS placement (seq INTEGER PRIMARY KEY, run_id BLOB, path BLOB, "
                   "folder BLOB, size INTEGER, sha TEXT, origin TEXT, undone INTEGER DEFAULT 0)")

    def read(self, store: PhotoStore, unread: list[str] | None = None) -> None:
        """Every placement in the journal. No journal is no evidence either way: it can only refuse. ``unread``
        receives each journal that could not be read."""
        for run_id, entry in every_line(store, unread):
            self.add(run_id, entry)
        self.finish()

    def add(self, run_id: str, entry: dict) -> None:
        """A journal line: a file line that names its origin is a placement; an undo's run line marks its run."""
        if (run := undone_run(entry)) is not None:
            self._undone.add(run)
            return
        if (placement := placement_of(run_id, entry)) is None:
            return
        if not placement.sha256.isascii() or not -2 ** 63 <= placement.size < 2 ** 63:
            return  # (no digest of a file is: it could never match one, and SQLite could not hold it)
        parts = placement.path.split("/", 2)
        folder = _b(parts[1]) if parts[0] == "students" and len(parts) == 3 else None
        # ensure_ascii: a name that is not UTF-8 (a lone surrogate) survives as an escape
        self._rows.append((_b(run_id), _b(placement.path), folder, placement.size, placement.sha256,
                           json.dumps(placement.origin)))
        if len(self._rows) >= CHUNK:
            self._flush()

    def finish(self) -> None:
        self._flush()
        if self._undone and self.count:
            self.db.execute("BEGIN")
            insert_rows(self.db, "UPDATE placement SET undone = 1 WHERE run_id IN ({})", 1,
                        [(_b(run),) for run in sorted(self._undone)])
            self.db.execute("COMMIT")
        self.db.execute("CREATE INDEX IF NOT EXISTS placement_digest ON placement (size, sha)")
        self.db.execute("CREATE INDEX IF NOT EXISTS placement_path ON placement (path)")

    def _flush(self) -> None:
        if self._rows:
            self.db.execute("BEGIN")
            insert_rows(self.db, "INSERT INTO placement (run_id, path, folder, size, sha, origin)", 6, self._rows)
            self.db.execute("COMMIT")
            self.count += len(self._rows)
            self._rows.clear()

    _COLUMNS = "p.run_id, p.path, p.size, p.sha, p.origin, p.seq, p.undone"

    @staticmethod
    def _placement(row: tuple) -> Placement:
        run_id, path, size, sha, origin, seq, undone = row
        return Placement(_s(run_id), _s(path), size, sha, json.loads(origin), seq, bool(undone))

    def of_digest(self, digest: tuple[str, int]) -> list[Placement]:
        """The placements of these bytes ((SHA-256, size), as the restore keys content), in journal order."""
        sha, size = digest
        if not self.count or not isinstance(sha, str) or not sha.isascii() or type(size) is not int \
                or not -2 ** 63 <= size < 2 ** 63:
            return []
        return [self._placement(r) for r in self.db.execute(
            f"SELECT {self._COLUMNS} FROM placement p WHERE p.size = ? AND p.sha = ? ORDER BY p.seq", (size, sha))]

    def of_file(self, folder: str, rel: str) -> list[Placement]:
        """The placements of the bytes of one listed file (``files``), the line that placed this very file first."""
        here = f"students/{folder}/{rel}"
        found = [self._placement(r) for r in self.db.execute(
            f"SELECT {self._COLUMNS} FROM files f JOIN placement p ON p.size = f.size AND p.sha = f.sha "
            "WHERE f.folder = ? AND f.rel = ? ORDER BY p.seq", (_b(folder), _b(rel)))]
        return sorted(found, key=lambda p: p.path != here)

    def profiles(self) -> Iterator[Placement]:
        """Every placement of a ``students/{id}/profile.jpg`` (the file a link names), one row at a time."""
        suffix = _b(f"/{PROFILE}")
        return (self._placement(r) for r in self.db.execute(
            f"SELECT {self._COLUMNS} FROM placement p WHERE p.folder IS NOT NULL AND substr(p.path, ?) = ? "
            "AND length(p.path) = ? + length(p.folder) + ? ORDER BY p.seq",
            (-len(suffix), suffix, len(b"students/"), len(suffix))))

    def traced(self) -> Iterator[tuple[tuple[str, str], list[Placement]]]:
        """(folder, rel) of each current student's file -> the placements of its very bytes, wherever the run put
        them (a folder that is no current id any more, a later reseed, may have had them copied on to one), the
        line that placed this very file first: its message names no other place. One file at a time."""
        rows = self.db.execute(
            f"SELECT f.folder, f.rel, {self._COLUMNS} FROM files f JOIN placement p ON p.size = f.size "
            "AND p.sha = f.sha WHERE f.folder IN current_ids ORDER BY f.folder, f.rel, p.seq")
        for (folder, rel), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
            here = f"students/{_s(folder)}/{_s(rel)}"
            yield (_s(folder), _s(rel)), sorted((self._placement(r[2:]) for r in group), key=lambda p: p.path != here)

    def any_outside_current(self) -> bool:
        """Whether a run placed a file in a folder that is no current id now (``current_ids`` is filled)."""
        return self.db.execute("SELECT 1 FROM placement WHERE folder IS NOT NULL AND folder NOT IN current_ids "
                               "LIMIT 1").fetchone() is not None

    def outside_current_at(self, path: str) -> list[Placement]:
        return [self._placement(r) for r in self.db.execute(
            f"SELECT {self._COLUMNS} FROM placement p WHERE p.path = ? AND p.folder IS NOT NULL "
            "AND p.folder NOT IN current_ids ORDER BY p.seq", (_b(path),))]


def placed_from_another(placement: Placement, holder_id: str, holder: Person, fields,
                        holders: Callable[[int, str], int] | None = None) -> Judgement | None:
    """What one journal line says against the holder (the current student ``holder_id``) holding its bytes. None
    only when the identity rule proves the person it was placed from is the holder, or a person paired it with the
    holder by a reviewed file that still stands (fail closed). The pairing of a run an undo took back proves
    nothing: its line is judged by the person the file came from, as any other. ``refusals`` weighs the lines of
    the same bytes together: use it to decide."""
    if dropped := _fields_dropped(placement.origin, fields):  # what proved the difference is no longer compared
        return Judgement(Verdict.UNKNOWN, f"that run compared {', '.join(dropped)} too, which MATCH_FIELDS no longer "
                                          "names: put it back to check this photo")
    if placement.origin.get("paired_by") == "pairs file" and not placement.undone:
        return _not_the_paired_student(placement, holder_id, holder, fields)
    origin = _origin_person(placement.origin, fields)
    # ``holders``: how many current records hold an identifier; a value most hold (the office email) proves no one
    judged = proven_by(origin, holder, fields, holders)
    return None if judged.verdict is Verdict.SAME else judged


def refusals(placements: Iterable[Placement], holder_id: str, holder: Person, fields,
             holders: Callable[[int, str], int] | None = None) -> list[tuple[Placement, Judgement]]:
    """The one rule, for --deep and the restore alike: every journal line of these bytes (all the placements of
    one (SHA-256, size)) that says they are not the holder's, in the order given; empty only when none does.

    Each line is judged by ``placed_from_another``. A line that is not proven the holder's is answered (no longer
    refuses) only by a person's later decision about the very folder it is about: a later line, of a run not
    undone, whose reviewed file paired these bytes with this holder (and the holder is still that person), from
    the folder the earlier line took them from (the same folder paired again: a later reviewed file wins) or, where
    the earlier line is itself a standing pairing, put them in (the folder a person paired, paired again by a person
    after a second reseed; not a folder a migration filled by the rule or by sort order). Never a proven
    difference: a person's pairing of a folder says whose that folder is, not that bytes a run placed in it from a
    child proven someone else are the holder's."""
    placements = list(placements)
    judged = [(p, placed_from_another(p, holder_id, holder, fields, holders)) for p in placements]
    decisions = [p for p, j in judged if j is None and p.origin.get("paired_by") == "pairs file" and not p.undone]
    found: list[tuple[Placement, Judgement]] = []
    for placement, judgement in judged:
        if judgement is None:
            continue
        if judgement.verdict is not Verdict.DIFFERENT and any(
                later.seq > placement.seq and _decides_for(later, placement) for later in decisions):
            continue
        found.append((placement, judgement))
    return found


def _decides_for(later: Placement, earlier: Placement) -> bool:
    """Whether a person's pairing (``later``) is a decision about the folder an earlier line took its bytes from
    or put them in."""
    folder = later.origin.get("old_id")
    if not isinstance(folder, str):
        return False
    if folder == earlier.origin.get("old_id"):
        return True
    parts = earlier.path.split("/", 2)
    return earlier.origin.get("paired_by") == "pairs file" and not earlier.undone and parts[0] == "students" \
        and len(parts) == 3 and parts[1] == folder


def _not_the_paired_student(placement: Placement, holder_id: str, holder: Person, fields) -> Judgement | None:
    """A person's pairing is proof for the student they paired the folder with, and for no other child."""
    origin = placement.origin
    paired_id = origin.get("paired_id")
    if not isinstance(paired_id, str):  # written before the paired student was recorded: only where it was put
        parts = placement.path.split("/", 2)
        if parts[0] == "students" and len(parts) == 3 and parts[1] == holder_id:
            return None
        return Judgement(Verdict.UNKNOWN, f"a person paired it with the student of folder "
                                          f"{parts[1] if len(parts) == 3 else placement.path}, and that run did not "
                                          "record who they were")
    key, codes = origin.get("paired_name_key"), origin.get("paired_codes") or ""
    paired = Person(key, _in_order_of(codes, origin.get("fields"), fields)) \
        if isinstance(key, str) and isinstance(codes, str) else Person(None)
    named = f"{origin.get('paired_name') or 'no name'} ({paired_id})"
    if paired_id == holder_id:
        # The very record the person paired, unchanged, is theirs; any other record at that id (a second reseed may
        # have given it to a namesake who lacks the birth date) must be proven the same person: a name proves nothing.
        again = name_key(origin["paired_name"]) if isinstance(origin.get("paired_name"), str) else None
        if holder.name is not None and holder.name in (paired.name, again) and holder.codes == paired.codes:
            return None
        judged = proven_same(paired, holder, fields)
        return None if judged.verdict is Verdict.SAME else Judgement(
            judged.verdict, f"a person paired it with {named}, and the record of that id is now "
                            f"{'another person' if judged.verdict is Verdict.DIFFERENT else 'not proven that person'}"
                            f": {judged.reason}")
    judged = proven_same(paired, holder, fields)
    if judged.verdict is Verdict.SAME:
        return None
    return Judgement(judged.verdict, f"a person paired it with {named}, not this student: {judged.reason}")


def _holder_of(record) -> Person:
    """A current student's Person, not kept on the record: every traced file is judged once, and 200,000 records
    each keeping theirs held 30 MB to the end of the run (``StudentRecord.person`` keeps it)."""
    return person_of(record.raw[0], record.raw[1:])


def _origin_person(origin: dict, fields: Sequence[str]) -> Person:
    """Who a journalled copy came from. The name key is made again from the old name: the key's rules may
    have changed since that run wrote it (lookalike letters), and a stale key would flag the right child."""
    key = name_key(origin["old_name"]) if isinstance(origin.get("old_name"), str) else origin.get("name_key")
    codes = origin.get("codes") or ""
    if not isinstance(key, str) or not isinstance(codes, str):
        return Person(None)  # a line that is not as a run writes it: no one can be proven from it
    return Person(key, _in_order_of(codes, origin.get("fields"), fields))


def _fields_dropped(origin: dict, fields: Sequence[str]) -> list[str]:
    """The fields a line's run compared (a value recorded) that this run's MATCH_FIELDS leaves out: read without them,
    a child that field told apart (another Amy Adams, another number) would pass as the one placed from."""
    recorded = origin.get("fields")
    if not isinstance(recorded, list):
        return []
    dropped = []
    for codes in (origin.get("codes"), origin.get("paired_codes")):
        if isinstance(codes, str) and codes:
            dropped += [str(f) for f, c in zip(recorded, codes.split(SEPARATOR), strict=False)
                        if c and str(f) not in fields and str(f) not in dropped]
    return dropped


def _in_order_of(codes: str, recorded: object, fields: Sequence[str]) -> str:
    """Codes a run wrote under its MATCH_FIELDS (``recorded``), in this run's order: compared field by field, codes
    of a changed setting would otherwise be read against the wrong fields (a field not recorded then is absent).
    A line that does not say its fields was written under these (lines before the fields were recorded)."""
    if not codes or not isinstance(recorded, list) or list(recorded) == list(fields):
        return codes
    by_field = dict(zip((str(f) for f in recorded), codes.split(SEPARATOR), strict=False))
    ordered = [by_field.get(f, "") for f in fields]
    return SEPARATOR.join(ordered) if any(ordered) else ""


def findings_as_problems(result: DeepResult, name_of: Callable[[str], str], in_scope: Callable[[str], bool]
                         ) -> list[Problem]:
    """One problem per finding and student; a folder that is no current student's (an orphan) is named by
    its folder (``name_of`` gets it and may say so)."""
    problems = []
    for finding in result.findings:
        kind = ProblemKind.ERROR if finding.kind == UNCOMPARED else ProblemKind.WRONG_CHILD
        if not finding.students:  # about the whole store (a journal it could not read): every run says it
            problems.append(Problem("(photo store)", "", kind, f"{finding.kind}: {finding.evidence}"))
        for student in finding.students:
            if in_scope(student):
                problems.append(Problem(student, name_of(student), kind, f"{finding.kind}: {finding.evidence}"))
    return problems
