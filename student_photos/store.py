"""The photo store on disk: layout, photo checks, safe atomic copies, scanning and the run lock."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import hashlib
import itertools
import os
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .errors import LockError, PhotoRootError
from .records import is_safe_id

API_PREFIX = "/api/photos/"
PROFILE = "profile.jpg"
ATTENDANCE = "attendance"
TEMP_SUFFIX = ".partial"  # temporary copies are ".<name>.<random>.partial": hidden and recognisable
JPEG_SIGNATURE = b"\xff\xd8\xff"
DIR_MODE = 0o775  # the umask narrows it further; world-write is never granted
FILE_MODE = 0o664
CHUNK = 1 << 20
_PID = os.getpid()
WORK_CHUNK = 256  # items per thread-pool task: large enough that the pool's own cost stays small
T = TypeVar("T")
R = TypeVar("R")


class StoreProblem(Exception):
    """A problem with one student's files; the run reports it and goes on."""


def canonical_link(student_id: str) -> str:
    return f"{API_PREFIX}students/{student_id}/{PROFILE}"


@dataclass(frozen=True)
class PhotoStore:
    root: Path

    @property
    def students(self) -> Path:
        return self.root / "students"

    def student_dir(self, student_id: str) -> Path:
        if not is_safe_id(student_id):  # the last guard: nothing outside students/ is ever touched
            raise StoreProblem(f"unsafe student id {student_id!r}")
        return self.students / student_id

    def profile(self, student_id: str) -> Path:
        return self.student_dir(student_id) / PROFILE


def check_root(store: PhotoStore, force: bool, create: bool) -> None:
    """Refuse a missing or unusable photo root (an unmounted share) unless forced."""
    if not os.path.lexists(store.root):
        if not force:
            raise PhotoRootError(f"Photo folder {store.root} does not exist (is the share mounted?); "
                                 "use --force to create it")
        if create:
            _mkdir(store.root, parents=True)
        return
    try:
        is_dir = stat.S_ISDIR(os.stat(store.root).st_mode)  # the root itself may be a symlink to a share
    except OSError as exc:
        raise PhotoRootError(f"Cannot read photo folder {store.root}: {exc.strerror}") from None
    if not is_dir:
        raise PhotoRootError(f"Photo folder {store.root} is not a folder")
    if not os.access(store.root, os.R_OK | os.X_OK):
        raise PhotoRootError(f"Cannot read photo folder {store.root}: permission denied")
    if os.path.islink(store.students):
        raise PhotoRootError(f"{store.students} is a symlink; refusing to work through it")


def students_dir_is_empty(store: PhotoStore) -> bool:
    try:
        with os.scandir(store.students) as entries:
            return not any(not e.name.startswith(".") for e in entries)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise PhotoRootError(f"Cannot read {store.students}: {exc.strerror}") from None


def _mkdir(path: Path | str, parents: bool = False) -> None:
    if not parents:
        os.mkdir(path, DIR_MODE)  # DIR_MODE has no world-write bit, and the umask only removes bits
        return
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    if mode & stat.S_IWOTH:  # makedirs gives the folders above the leaf 0o777 less the umask
        os.chmod(path, mode & ~stat.S_IWOTH)


def ensure_dir(path: Path | str, dry_run: bool) -> bool:
    """Make sure ``path`` is a real folder; True when it was (or would be) created."""
    name = os.path.basename(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not dry_run:
            try:
                _mkdir(path)
            except FileExistsError:
                return ensure_dir(path, dry_run)
            except OSError as exc:
                raise StoreProblem(f"Failed to create directory {name}/: {exc.strerror}") from None
        return True
    except OSError as exc:
        raise StoreProblem(f"Cannot read {name}/: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise StoreProblem(f"{name}/ is a symlink; not followed")
    if not stat.S_ISDIR(info.st_mode):
        raise StoreProblem(f"{name} is not a folder")
    return False


def photo_state(path: Path | str) -> str:
    """'ok', or what is wrong: 'missing', 'empty', 'corrupt', 'symlink', 'not a file', 'unreadable: ...'."""
    try:  # O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a FIFO from hanging the run
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink"
        return f"unreadable: {exc.strerror}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a file"
        if info.st_size == 0:
            return "empty"
        head = os.read(fd, 3)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    finally:
        os.close(fd)
    return "ok" if head == JPEG_SIGNATURE else "corrupt"


def resolve_api_photo(store: PhotoStore, value: object) -> Path | None:
    """The file an `/api/photos/...` link names, if it is safely inside the store; else None."""
    if not isinstance(value, str) or not value.startswith(API_PREFIX) or "\x00" in value:
        return None
    parts = value[len(API_PREFIX):].split("/")
    if not parts or any(p in ("", ".", "..") or "\\" in p for p in parts):
        return None
    path = store.root
    for part in parts:  # walk it ourselves so no symlink anywhere on the way is followed
        path = path / part
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None
        except OSError:
            return None
    return path


def link_problem(value: object) -> str | None:
    """Why a stored `photo` value cannot be followed, or None if it is a plain string or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return f"photo field is a {type(value).__name__}, not a path"
    if value.startswith("data:"):
        return "photo field holds a data URI, not a path"
    if value.startswith(API_PREFIX) and any(p in ("..", ".") for p in value[len(API_PREFIX):].split("/")):
        return "photo field path contains '..'; not followed"
    return None


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        want = min(os.fstat(fd).st_size + 1, CHUNK)  # a small photo in one read, without a 1 MB buffer
        while chunk := os.read(fd, want):
            digest.update(chunk)
            size += len(chunk)
            want = CHUNK
    finally:
        os.close(fd)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class CopyResult:
    outcome: str  # 'copied', 'same' (identical bytes already there), 'conflict' (different file there)
    sha256: str
    size: int


@dataclass(frozen=True)
class StagedCopy:
    """A verified copy waiting beside its destination under a temporary name."""

    tmp: Path
    dest: Path
    sha256: str
    size: int

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


def existing_outcome(dest: Path, sha256: str, size: int) -> CopyResult | None:
    """'same' or 'conflict' when something is already at ``dest``; None when nothing is."""
    try:
        if stat.S_ISLNK(os.lstat(dest).st_mode):
            return CopyResult("conflict", sha256, size)
    except FileNotFoundError:
        return None
    same = sha256_file(dest) == (sha256, size)
    return CopyResult("same" if same else "conflict", sha256, size)


_TEMP_NUMBERS = itertools.count()  # with the pid, unique temporary names without a syscall each


def stage_copy(source: Path, dest: Path, durable: bool) -> StagedCopy:
    """Copy ``source`` to a temporary file beside ``dest`` and verify its size and SHA-256.

    ``durable`` fsyncs it now; a caller staging many files instead makes them durable with one
    ``sync_filesystem`` before placing any. The source is only read. Few system calls per file:
    at district scale every one of them is a handoff between worker threads.
    """
    src_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    tmp = dest.parent / f".{dest.name}.{_PID}-{next(_TEMP_NUMBERS)}{TEMP_SUFFIX}"
    try:
        expected = os.fstat(src_fd).st_size
        digest = hashlib.sha256()
        size = 0
        # FILE_MODE has no world-write bit, and the umask only removes bits.
        out_fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        try:
            want = min(expected + 1, CHUNK)
            while chunk := os.read(src_fd, want):
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out_fd, view):]
                if len(chunk) < want and size >= expected:  # a short read past the known size: the end
                    break
                want = CHUNK
            if durable:
                os.fsync(out_fd)
            copy_digest = hashlib.sha256()
            copied = 0
            want = min(size + 1, CHUNK)
            while part := os.pread(out_fd, want, copied):  # read the copy back, from its own descriptor
                copy_digest.update(part)
                copied += len(part)
                if len(part) < want:
                    break
                want = CHUNK
        finally:
            os.close(out_fd)
        staged = StagedCopy(tmp, dest, digest.hexdigest(), size)
        if (copy_digest.hexdigest(), copied) != (staged.sha256, size):
            raise StoreProblem(f"copy of {source.name} did not verify (size or SHA-256 differs)")
        return staged
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(src_fd)


def place_copy(staged: StagedCopy) -> CopyResult:
    """Give a staged copy its real name, never over an existing file; the temporary name goes."""
    dest = staged.dest
    try:
        os.link(staged.tmp, dest)  # fails if dest exists: an existing photo is never replaced
    except FileExistsError:
        return existing_outcome(dest, staged.sha256, staged.size) or place_copy(staged)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        found = existing_outcome(dest, staged.sha256, staged.size)  # no hard links here: check, then rename
        if found:
            return found
        os.rename(staged.tmp, dest)
    finally:
        staged.discard()
    return CopyResult("copied", staged.sha256, staged.size)


def safe_copy(source: Path, dest: Path) -> CopyResult:
    """One durable, verified copy that never replaces an existing ``dest``."""
    staged = stage_copy(source, dest, durable=True)
    return place_copy(staged)


def sync_filesystem(path: Path | str) -> None:
    """Flush every dirty page of the filesystem holding ``path`` (syncfs; os.sync where missing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except (OSError, AttributeError):
        os.sync()
        return
    try:
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def fsync_dir(path: Path | str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sweep_temporaries(folder: Path) -> int:
    """Remove temporary copies a killed run left in ``folder``; the lock means none is in use."""
    removed = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX) and \
                        entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
    except (FileNotFoundError, NotADirectoryError):
        pass
    return removed


@dataclass(slots=True)
class FolderScan:
    """What one student-style folder holds, read without following any symlink (held compactly)."""

    profile: bool = False
    files: tuple[str, ...] = ()  # relative paths of regular files, sorted
    symlinks: tuple[str, ...] = ()
    others: tuple[str, ...] = ()  # sockets, devices, unreadable entries
    newest_mtime: float = 0.0

    @property
    def attendance_count(self) -> int:
        return sum(1 for f in self.files if f.startswith(ATTENDANCE + "/"))


def scan_folder(folder: Path | str, times: bool = True) -> FolderScan:
    """Walk a folder without following symlinks. ``times=False`` skips the per-file stat (and so
    ``newest_mtime``): the directory entries' own types are enough to list what it holds."""
    files: list[str] = []
    symlinks: list[str] = []
    others: list[str] = []
    newest = 0.0
    pending = [("", str(folder))]
    while pending:
        prefix, current = pending.pop()
        try:
            if times:
                newest = max(newest, os.lstat(current).st_mtime)
            with os.scandir(current) as entries:
                for entry in entries:
                    rel = sys.intern(prefix + entry.name)  # the same few names recur in every folder
                    if times:
                        info = entry.stat(follow_symlinks=False)
                        newest = max(newest, info.st_mtime)
                        mode = info.st_mode
                        link, folder_, regular = stat.S_ISLNK(mode), stat.S_ISDIR(mode), stat.S_ISREG(mode)
                    else:
                        link = entry.is_symlink()
                        folder_ = not link and entry.is_dir(follow_symlinks=False)
                        regular = not link and not folder_ and entry.is_file(follow_symlinks=False)
                    if link:
                        symlinks.append(rel)
                    elif folder_:
                        pending.append((rel + "/", entry.path))
                    elif regular:
                        files.append(rel)
                    else:
                        others.append(rel)
        except OSError as exc:
            others.append(f"{prefix or './'} ({exc.strerror})")
    files.sort()
    return FolderScan(PROFILE in files, tuple(files), tuple(symlinks), tuple(others), newest)


def holds_a_file(path: str) -> bool:
    """Whether a real folder (not a symlink) holds any regular file: usually one directory read."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    pending = [path]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        return True
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
        except OSError:
            continue
    return False


def list_student_folders(store: PhotoStore) -> list[str]:
    """Names of the entries of students/, sorted, except the tool's own dot-entries."""
    try:
        with os.scandir(store.students) as entries:
            return sorted(e.name for e in entries if not e.name.startswith("."))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise PhotoRootError(f"Cannot read {store.students}: {exc.strerror}") from None


@contextlib.contextmanager
def store_lock(store: PhotoStore, shared: bool, wait_seconds: float) -> Iterator[None]:
    """One writing run at a time per photo store: an flock on the photo root itself.

    The kernel drops an flock when its holder dies, so a killed run never blocks the next one,
    and locking the folder (not a lock file) means a read-only run creates nothing.
    """
    try:
        fd = os.open(store.root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise PhotoRootError(f"Cannot open photo folder {store.root}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + wait_seconds
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(f"Another run is in progress on {store.root} "
                                    f"(waited {wait_seconds:g} s); try again later") from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


async def map_in_threads(func: Callable[[T], R], items: Iterable[T], workers: int, stop,
                         on_result: Callable[[int, R], None], chunk: int = WORK_CHUNK) -> int:
    """Run ``func`` over ``items`` on a small thread pool; results arrive in order. Returns how many ran.

    ``items`` is read lazily, on this thread, a few chunks ahead of the workers.
    """
    loop = asyncio.get_running_loop()
    done = 0

    def run_chunk(chunk: list[T]) -> list[R]:
        results = []
        for item in chunk:
            if stop.requested:  # finish the file in hand, start no new one
                break
            results.append(func(item))
        return results

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photos") as pool:
        pending: deque = deque()

        def drain_one(results: list[R]) -> None:
            nonlocal done
            for result in results:
                done += 1
                on_result(done, result)

        iterator = iter(items)
        while not stop.requested and (part := list(itertools.islice(iterator, chunk))):
            pending.append(loop.run_in_executor(pool, run_chunk, part))
            if len(pending) > workers * 2:
                drain_one(await pending.popleft())
        while pending:
            drain_one(await pending.popleft())
    return done
