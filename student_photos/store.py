"""The photo store on disk: layout, the one photo check, safe opens and copies, scanning, the run lock."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import errno
import fcntl
import hashlib
import itertools
import os
import re
import resource
import stat
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import LockError, PhotoRootError
from .links import ATTENDANCE, PROFILE
from .records import is_safe_id

if TYPE_CHECKING:
    from .journal import Journal

TOOL_DIR = ".student-photos"  # the tool's own folder in the photo root: journal, quarantine, hash cache
TEMP_SUFFIX = ".partial"  # temporary copies are ".<name>.<pid>-<n>.partial": hidden and recognisable
NOT_PHOTOS = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})  # (and macOS "._*" files) never compared
# What a fresh volume or a share's server puts at its top: never a student's folder, nor a sign of one.
VOLUME_LITTER = frozenset({"lost+found", "system volume information", "$recycle.bin", "@eadir", "#recycle"})
# Only a name of exactly that shape is the tool's own: an upload in flight as ".x.jpg.partial" is not.
TEMP_NAME = re.compile(r"\..+\.[0-9]+-[0-9]+" + re.escape(TEMP_SUFFIX), re.DOTALL)
JPEG_START = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
DIR_MODE = 0o775  # the umask narrows it further; world-write is never granted
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
AUDIT_DIR = ".migrations"  # migrate's audit log
FILE_MODE = 0o664
CHUNK = 1 << 20
_SUBFOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
SMALL_PHOTO = 64 << 10  # read whole in one system call by the photo check
MAX_STRUCTURE_READ = 64 << 20  # a photo whose end marker is not its last bytes is parsed up to this size
_PID = os.getpid()
WORK_CHUNK = 256  # items per thread-pool task: large enough that the pool's own cost stays small
T = TypeVar("T")
R = TypeVar("R")


class StoreProblem(Exception):
    """A problem with one student's files; the run reports it and goes on."""


class NotRegularFile(StoreProblem):
    """A path that is a symlink, a folder, a FIFO, a device or a socket where a file was expected."""

    def __init__(self, path: Path | str, kind: str) -> None:
        super().__init__(f"{os.path.basename(path)} is {kind}, not a regular file; not opened")
        self.kind = kind


@dataclass(frozen=True)
class PhotoStore:
    root: Path
    students: Path = field(init=False, repr=False, compare=False)  # made once: asked for per file
    students_text: str = field(init=False, repr=False, compare=False)  # the same, as a plain string

    def __post_init__(self) -> None:
        object.__setattr__(self, "students", self.root / "students")
        object.__setattr__(self, "students_text", os.fspath(self.students))

    @property
    def tool_dir(self) -> Path:
        return self.root / TOOL_DIR

    def student_dir(self, student_id: str) -> Path:
        return Path(self.student_folder(student_id))

    def student_folder(self, student_id: str) -> str:
        """``student_dir`` as a plain string (per-file paths are made from it: pathlib's cost per path shows)."""
        if not is_safe_id(student_id):  # the last guard: nothing outside students/ is ever touched
            raise StoreProblem(f"unsafe student id {student_id!r}")
        return f"{self.students_text}/{student_id}"

    def profile(self, student_id: str) -> Path:
        return self.student_dir(student_id) / PROFILE


# ---------------------------------------------------------------- the photo root
def check_root(store: PhotoStore, force_flag: str | None) -> bool:
    """Refuse an unusable photo root; True when it exists. A missing one (an unmounted share) is refused
    unless ``force_flag`` was given (the name of the flag that allows creating it, for the message)."""
    if not os.path.lexists(store.root):
        if force_flag is None:
            raise PhotoRootError(f"Photo folder {store.root} does not exist (is the share mounted? "
                                 "check PHOTO_DIR)")
        return False
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
    return True


def is_litter(name: str) -> bool:
    """An entry of students/ that a volume, a share's server or a file manager made: never a student's folder."""
    return name.casefold() in VOLUME_LITTER or name.casefold() in NOT_PHOTOS


def students_dir_is_empty(store: PhotoStore) -> bool:
    """Nothing in students/ but the tool's dot-entries and litter: a fresh volume mounted there holds lost+found."""
    try:
        with os.scandir(store.students) as entries:
            return not any(not e.name.startswith(".") and not is_litter(e.name) for e in entries)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise PhotoRootError(f"Cannot read {store.students}: {exc.strerror}") from None


def make_dirs(path: Path | str, mode: int = DIR_MODE) -> None:
    """Create ``path`` and its parents, never world-writable (makedirs gives parents 0o777 less the umask)."""
    path = Path(path)
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, mode)


def make_private_dir(path: Path | str) -> None:
    """The tool's own folders (journal, audit, quarantine, hash cache) hold names and photos inside a folder the
    app serves: only their owner may read them."""
    make_dirs(path, PRIVATE_DIR_MODE)
    for folder in (Path(path), *Path(path).parents):
        if folder.name in (TOOL_DIR, AUDIT_DIR):
            with contextlib.suppress(OSError):
                os.chmod(folder, PRIVATE_DIR_MODE)
            break


def ensure_dir(path: Path | str, dry_run: bool) -> bool:
    """Make sure ``path`` is a real folder; True when it was (or would be) created."""
    name = os.path.basename(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not dry_run:
            try:
                os.mkdir(path, DIR_MODE)  # DIR_MODE has no world-write bit, and the umask only removes bits
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


# ---------------------------------------------------------------- opening files safely
def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def open_regular(path: Path | str, follow: bool = False) -> int:
    """A read-only descriptor of a regular file. Never follows a symlink (unless ``follow``) and never
    blocks on a FIFO: O_NONBLOCK, then fstat. Raises NotRegularFile, FileNotFoundError or OSError."""
    return open_regular_stat(path, follow)[0]


def open_regular_stat(path: Path | str, follow: bool = False, dir_fd: int | None = None
                      ) -> tuple[int, os.stat_result]:
    """``open_regular``, and the stat of what it opened (``path`` relative to ``dir_fd``, if given)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(path, "a symlink") from None
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing with no reader
            raise NotRegularFile(path, "a special file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, _kind(info.st_mode))  # (O_NONBLOCK means nothing to a regular file: it stays)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_regular(path: Path | str, limit: int, follow: bool = False) -> bytes:
    """The whole file (at most ``limit`` bytes, else StoreProblem), opened as ``open_regular`` does."""
    fd = open_regular(path, follow)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise StoreProblem(f"{os.path.basename(path)} is larger than {limit} bytes")
        chunks, total = [], 0
        while chunk := os.read(fd, min(CHUNK, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise StoreProblem(f"{os.path.basename(path)} is larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the one photo check
class PhotoState(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    EMPTY = "empty"
    NOT_JPEG = "corrupt"
    TRUNCATED = "truncated"
    SYMLINK = "symlink"
    NOT_A_FILE = "not a file"
    UNREADABLE = "unreadable"
    UNKNOWN = "unknown"  # not looked at (an error came first)

    @property
    def describe(self) -> str:
        return {PhotoState.NOT_JPEG: "not a JPEG", PhotoState.EMPTY: "empty file",
                PhotoState.TRUNCATED: "cut short: no JPEG end marker", PhotoState.SYMLINK: "a symlink; not followed",
                PhotoState.NOT_A_FILE: "not a regular file"}.get(self, self.value)


@dataclass(frozen=True, slots=True)
class PhotoCheck:
    state: PhotoState
    size: int = 0
    detail: str = ""  # the OS error for UNREADABLE
    info: os.stat_result | None = None  # the stat of the file that was read (when it was opened)
    data: bytes | None = field(default=None, repr=False)  # the bytes checked, when asked for and read whole

    @property
    def ok(self) -> bool:
        return self.state is PhotoState.OK


def has_end_marker(data: bytes) -> bool:
    """Whether a JPEG's segments lead to its end marker (data after it, as phones append, is allowed)."""
    i, n = 2, len(data)
    while i + 1 < n:
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            i += 2
            continue
        if i + 4 > n:
            return False
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= n:
                    return False
                following = data[i + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    i += 2
                elif following == 0xFF:
                    i += 1
                else:
                    break
    return False


def check_photo(path: Path | str, dir_fd: int | None = None, keep: bool = False) -> PhotoCheck:
    """The one check of "is this a usable photo" for every script: a regular file (never through a
    symlink, never blocking on a FIFO), not empty, starting with the JPEG signature and ending with the
    JPEG end marker (or reaching it through its segments when something follows it). ``keep``: a usable
    photo small enough to be read whole comes back with its bytes (a migration copies what was checked)."""
    try:
        fd, info = open_regular_stat(path, dir_fd=dir_fd)
    except (FileNotFoundError, NotADirectoryError):
        return PhotoCheck(PhotoState.MISSING)
    except NotRegularFile as exc:
        return PhotoCheck(PhotoState.SYMLINK if exc.kind == "a symlink" else PhotoState.NOT_A_FILE)
    except OSError as exc:
        return PhotoCheck(PhotoState.UNREADABLE, detail=exc.strerror or str(exc))
    try:
        size = info.st_size
        if size == 0:
            return PhotoCheck(PhotoState.EMPTY, info=info)
        whole = None
        if size <= SMALL_PHOTO:  # head and tail in one read
            read = os.pread(fd, size + 1, 0)  # +1: a file that grew since its stat is not kept as read whole
            data = read[:size]
            head, tail = data[:3], data[-16:]
            whole = data if len(read) == size else None
        else:
            head, tail = os.pread(fd, 3, 0), os.pread(fd, 16, size - 16)
        if head != JPEG_START:
            return PhotoCheck(PhotoState.NOT_JPEG, size, info=info)
        if tail.rstrip(b"\x00\r\n ").endswith(JPEG_END) and size > 4:
            return PhotoCheck(PhotoState.OK, size, info=info, data=whole if keep else None)
        if size > MAX_STRUCTURE_READ:
            return PhotoCheck(PhotoState.TRUNCATED, size, info=info)
        data = os.pread(fd, size, 0)
        return PhotoCheck(PhotoState.OK if has_end_marker(data) else PhotoState.TRUNCATED, size, info=info)
    except OSError as exc:
        return PhotoCheck(PhotoState.UNREADABLE, detail=exc.strerror or str(exc))
    finally:
        os.close(fd)


def prefetch(folder: str, names: Iterable[str]) -> None:
    """Ask the kernel to start reading these files of ``folder`` now (posix_fadvise WILLNEED), so that a batch's
    reads are in flight together: a cold disk answers many requests at once sooner than one at a time. Only a
    hint: opened as every read here is (never through a symlink, never blocking), and any failure is ignored."""
    if _FADVISE is None:
        return
    try:
        top = os.open(folder, _SUBFOLDER)  # a folder swapped for a symlink is not followed either
    except OSError:
        return
    below: dict[str, int] = {"": top}  # each subfolder opened once, from the folder
    try:
        for name in names:
            parent, _, base = name.rpartition("/")
            try:
                if parent not in below:
                    below[parent] = os.open(parent, _SUBFOLDER, dir_fd=top) if "/" not in parent else -1
                if below[parent] < 0:
                    continue  # deeper than attendance/: no hint (the copy reads it all the same)
                fd = os.open(base, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW, dir_fd=below[parent])
            except OSError:
                continue
            try:
                _FADVISE(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            except OSError:
                pass
            finally:
                os.close(fd)
    finally:
        for fd in below.values():
            if fd >= 0:
                os.close(fd)


_FADVISE = getattr(os, "posix_fadvise", None)  # not on macOS


def check_photo_bytes(data: bytes) -> PhotoState:
    """The same check for a photo held in memory (one read from an archive)."""
    if not data:
        return PhotoState.EMPTY
    if not data.startswith(JPEG_START):
        return PhotoState.NOT_JPEG
    if len(data) > 4 and data[-16:].rstrip(b"\x00\r\n ").endswith(JPEG_END):
        return PhotoState.OK
    return PhotoState.OK if has_end_marker(data) else PhotoState.TRUNCATED


# ---------------------------------------------------------------- content
def sha256_fd(fd: int, expected: int | None = None) -> tuple[str, int]:
    """(SHA-256, size) of what ``fd`` reads to its end; ``expected``: its size, when the caller has its stat."""
    digest = hashlib.sha256()
    size = 0
    # a small photo in one read, without a 1 MB buffer
    want = min((os.fstat(fd).st_size if expected is None else expected) + 1, CHUNK)
    while chunk := os.read(fd, want):
        digest.update(chunk)
        size += len(chunk)
        want = CHUNK
    return digest.hexdigest(), size


def sha256_file(path: Path | str) -> tuple[str, int]:
    """(SHA-256, size) of a regular file; NotRegularFile for anything else (a FIFO never hangs this)."""
    fd = open_regular(path)
    try:
        return sha256_fd(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CopyResult:
    outcome: str  # 'copied', 'same' (identical bytes already there), 'conflict' (different file there)
    sha256: str
    size: int


@dataclass(frozen=True)
class StagedCopy:
    """A verified copy waiting beside its destination under a temporary name (plain string paths: a
    district migration stages hundreds of thousands, and pathlib's cost per path shows). ``below`` and
    ``folder``: the destination's folder is reached from ``below`` without a symlink, and must still be the
    very folder (device, inode) the copy was written in when it is named or discarded."""

    tmp: str
    dest: str
    sha256: str
    size: int
    below: str | None = None
    folder: tuple[int, int] | None = None

    def discard(self, folder_fd: int | None = None) -> None:
        """``folder_fd``: the folder it was staged in, still open (else it is opened again and checked)."""
        try:
            dir_fd = _staged_folder(self) if folder_fd is None else folder_fd
        except (OSError, StoreProblem):
            return  # its folder was moved or swapped: the temporary copy stays there (a later run sweeps it)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.basename(self.tmp), dir_fd=dir_fd)
        finally:
            if folder_fd is None:
                os.close(dir_fd)


def open_folder_below(base: str, folder: str) -> int:
    """``base``/``folder`` opened one folder at a time from ``base``, never through a symlink (OSError if one
    is in the way, or a folder is missing). ``base`` itself is opened as it is (the photo root may be a link)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in folder.split("/") if folder else ():
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_dest_folder(dest: str, below: str | None) -> int:
    """The folder ``dest`` goes in, opened: from ``below`` without a symlink when given, else by its path."""
    folder = os.path.dirname(dest)
    if below is None:
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    prefix = below.rstrip("/") + "/"
    if not (folder + "/").startswith(prefix):
        raise StoreProblem(f"{dest} is not inside {below}")
    try:
        return open_folder_below(below, folder[len(prefix):])
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise StoreProblem(f"{folder[len(prefix):]}/ is not a folder reached without a symlink; never "
                               "followed") from None
        raise


class BatchFolders:
    """Folders below ``below``, each opened once (from its parent's descriptor, never through a symlink) and
    made there when missing: a batch of copies reads, writes and names every file through these descriptors."""

    def __init__(self, below: str) -> None:
        self.below = below
        self.fds: dict[str, int] = {}
        self.ids: dict[str, tuple[int, int]] = {}  # (device, inode) of each, for the staged copies
        self.top = os.open(below, os.O_RDONLY | os.O_DIRECTORY)  # as it is (the photo root may be a link)

    def _parent(self, folder: str) -> tuple[int, str]:
        parent, name = os.path.split(folder)
        if parent == self.below:
            return self.top, name
        if not parent.startswith(self.below + "/"):
            raise StoreProblem(f"{folder} is not inside {self.below}")
        return self.open(parent), name

    def open(self, folder: str) -> int:
        fd = self.fds.get(folder)
        if fd is None:
            parent_fd, name = self._parent(folder)
            try:
                fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise StoreProblem(f"{folder[len(self.below) + 1:]}/ is not a folder reached without a "
                                       "symlink; never followed") from None
                raise
            self.fds[folder] = fd
            info = os.fstat(fd)
            self.ids[folder] = (info.st_dev, info.st_ino)
        return fd

    def make(self, folder: str) -> bool:
        """Make ``folder`` in its (opened) parent; True when this call made it."""
        parent_fd, name = self._parent(folder)
        try:
            os.mkdir(name, DIR_MODE, dir_fd=parent_fd)  # DIR_MODE has no world-write bit; the umask only narrows
        except FileExistsError:
            return False
        except OSError as exc:
            raise StoreProblem(f"Failed to create directory {name}/: {exc.strerror}") from None
        return True

    def in_place(self, folder: str) -> bool:
        """Whether the opened ``folder`` is still the one at its place (and so each folder above it): a folder
        moved elsewhere since it was opened (another child's place) would take whatever is named through it."""
        parent = os.path.dirname(folder)
        if parent != self.below and parent in self.ids and not self.in_place(parent):
            return False
        try:
            info = os.stat(folder[len(self.below) + 1:], dir_fd=self.top, follow_symlinks=False)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.ids.get(folder)

    def close(self) -> None:
        for fd in (*self.fds.values(), self.top):
            os.close(fd)
        self.fds.clear()


def _staged_folder(staged: StagedCopy) -> int:
    """The staged copy's folder, opened again the same way; StoreProblem if it is no longer the same folder."""
    dir_fd = open_dest_folder(staged.dest, staged.below)
    info = os.fstat(dir_fd)
    if staged.folder is not None and (info.st_dev, info.st_ino) != staged.folder:
        os.close(dir_fd)
        raise StoreProblem(f"the folder of {os.path.basename(staged.dest)} was replaced while it was copied; "
                           "nothing was placed there")
    return dir_fd


def existing_outcome(dest: Path | str, sha256: str, size: int, dir_fd: int | None = None) -> CopyResult | None:
    """'same' or 'conflict' when something is already at ``dest`` (its name in ``dir_fd``, if given); None when
    nothing is."""
    try:
        fd, info = open_regular_stat(os.path.basename(dest) if dir_fd is not None else dest, dir_fd=dir_fd)
        try:
            found = sha256_fd(fd, info.st_size)
        finally:
            os.close(fd)
        return CopyResult("same" if found == (sha256, size) else "conflict", sha256, size)
    except FileNotFoundError:
        return None
    except NotRegularFile:  # a symlink or a FIFO in the way: something is there, and it is not this photo
        return CopyResult("conflict", sha256, size)


_TEMP_NUMBERS = itertools.count()  # with the pid, unique temporary names without a syscall each


def stage_copy(source: Path | str, dest: Path | str, durable: bool, data: bytes | None = None,
               below: str | None = None, folder_fd: int | None = None,
               folder_id: tuple[int, int] | None = None, source_fd: int | None = None) -> StagedCopy:
    """Copy ``source`` (or ``data``) to a temporary file beside ``dest``, verified: every chunk written is
    read back from the copy and compared byte for byte with the chunk read from the source.

    ``durable`` fsyncs it now; a caller staging many files instead makes them durable with one
    ``sync_filesystem`` before placing any. ``below``: the folder under which no symlink is ever followed on
    the way to ``dest`` (the copy is written in the folder so opened, and named there); ``folder_fd``: that
    folder, already opened so (``open_dest_folder``) by a caller staging many copies in it, and ``folder_id``
    its (device, inode), when the caller has them already; ``source_fd``: the source's folder, opened so too
    (the source is then opened by its name in it). The source is only
    read. Few system calls per file: at district scale every one of them is a handoff between worker threads.
    """
    dest = os.fspath(dest)
    name = os.path.basename(dest)
    src_fd, src_info = (open_regular_stat(source) if source_fd is None else
                        open_regular_stat(os.path.basename(source), dir_fd=source_fd)) if data is None else (-1, None)
    tmp_name = f".{name}.{_PID}-{next(_TEMP_NUMBERS)}{TEMP_SUFFIX}"
    dir_fd = -1
    try:
        dir_fd = open_dest_folder(dest, below) if folder_fd is None else folder_fd
        digest = hashlib.sha256()
        size = 0
        # FILE_MODE has no world-write bit, and the umask only removes bits.
        out_fd = os.open(tmp_name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE, dir_fd=dir_fd)
        try:
            chunks = _read_chunks(src_fd, src_info.st_size) if src_info is not None else [data or b""]
            for chunk in chunks:
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out_fd, view):]
                if os.pread(out_fd, len(chunk) + 1, size) != chunk:  # +1: nothing beyond it either
                    raise StoreProblem(f"copy of {os.path.basename(source or name)} did not verify "
                                       "(the bytes read back differ)")
                size += len(chunk)
            if durable:
                os.fsync(out_fd)
        finally:
            os.close(out_fd)
        if folder_id is None or folder_fd is None:
            info = os.fstat(dir_fd)
            folder_id = (info.st_dev, info.st_ino)
        return StagedCopy(os.path.join(os.path.dirname(dest), tmp_name), dest, digest.hexdigest(), size, below,
                          folder_id)
    except BaseException:
        if dir_fd >= 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name, dir_fd=dir_fd)
        raise
    finally:
        if dir_fd >= 0 and folder_fd is None:
            os.close(dir_fd)
        if src_fd >= 0:
            os.close(src_fd)


def sync_or_discard(journal: Journal, staged: StagedCopy) -> None:
    """Make the journal line naming ``staged`` durable; if it cannot be, the staged copy goes (no line would ever
    name it for an undo or a sweep to find)."""
    try:
        journal.sync()
    except BaseException:
        staged.discard()
        raise


def _read_chunks(fd: int, expected: int) -> Iterator[bytes]:
    """``expected``: the size the open file had (its stat from the open, not a second one)."""
    want, size = min(expected + 1, CHUNK), 0
    while chunk := os.read(fd, want):
        yield chunk
        size += len(chunk)
        if len(chunk) < want and size >= expected:  # a short read past the known size: the end
            return
        want = CHUNK


def place_copy(staged: StagedCopy, folder_fd: int | None = None) -> CopyResult:
    """Give a staged copy its real name, never over an existing file, in the very folder it was written in;
    the temporary name goes. ``folder_fd``: that folder, still open from the staging."""
    if folder_fd is not None:
        return _place_in(staged, folder_fd)
    dir_fd = _staged_folder(staged)
    try:
        return _place_in(staged, dir_fd)
    finally:
        os.close(dir_fd)


def _place_in(staged: StagedCopy, dir_fd: int) -> CopyResult:
    tmp, name = os.path.basename(staged.tmp), os.path.basename(staged.dest)
    try:
        if _rename_noreplace(dir_fd, tmp, name):  # one step: the name appears and the temporary one goes
            return CopyResult("copied", staged.sha256, staged.size)
    except FileExistsError:
        found = existing_outcome(name, staged.sha256, staged.size, dir_fd)
        if found is None:  # gone again meanwhile: try once more, with the temporary copy still there
            return _place_in(staged, dir_fd)
        _unlink_quietly(tmp, dir_fd)
        return found
    except BaseException:
        _unlink_quietly(tmp, dir_fd)
        raise
    return _place_by_link(staged, dir_fd)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)


def _place_by_link(staged: StagedCopy, dir_fd: int) -> CopyResult:
    """``place_copy`` where a rename cannot refuse to replace (an old kernel, some filesystems)."""
    tmp, name = os.path.basename(staged.tmp), os.path.basename(staged.dest)
    try:
        os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # fails if it exists: nothing is ever replaced
    except FileExistsError:
        return existing_outcome(name, staged.sha256, staged.size, dir_fd) or _place_by_link(staged, dir_fd)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        found = existing_outcome(name, staged.sha256, staged.size, dir_fd)  # no hard links: check, then rename
        if found:
            return found
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        _unlink_quietly(tmp, dir_fd)
    return CopyResult("copied", staged.sha256, staged.size)


def _libc_function(name: str):
    """A libc function, or None where this libc has none (looked up once: a district migration places and flushes
    hundreds of thousands of times)."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None


_RENAMEAT2 = _libc_function("renameat2")
_SYNCFS = _libc_function("syncfs")
_RENAME_NOREPLACE = 1
_renameat2_works = _RENAMEAT2 is not None


def _rename_noreplace(dir_fd: int, source: str, dest: str) -> bool:
    """renameat2 within one folder, failing with FileExistsError instead of replacing ``dest``. False where the
    kernel or the filesystem cannot do it (the caller then links and unlinks, which never replaces either)."""
    global _renameat2_works
    if not _renameat2_works:
        return False
    if _RENAMEAT2(dir_fd, os.fsencode(source), dir_fd, os.fsencode(dest), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), dest)
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # an old kernel, or a filesystem without it
        _renameat2_works = False
        return False
    raise OSError(err, os.strerror(err), dest)


def sync_filesystem(path: Path | str) -> None:
    """Flush every dirty page of the filesystem holding ``path`` (syncfs; os.sync where missing)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        os.sync()
        return
    try:
        if _SYNCFS is None or _SYNCFS(fd) != 0:
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


def sweep_temporaries(folder: Path | str | int, keep: Collection[str] = ()) -> int:
    """Remove temporary copies a killed run left in ``folder`` (a path, or an open folder's descriptor); the
    lock means none is in use. ``keep``: names that only look like one (a photo a run placed under such a name)."""
    removed = 0
    dir_fd = folder if isinstance(folder, int) else None
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if TEMP_NAME.fullmatch(entry.name) and entry.name not in keep and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.name if dir_fd is not None else entry.path, dir_fd=dir_fd)
                        removed += 1
    except (FileNotFoundError, NotADirectoryError):
        pass
    return removed


# ---------------------------------------------------------------- scanning
@dataclass(slots=True)
class FolderScan:
    """What one student-style folder holds, read without following any symlink (held compactly)."""

    files: tuple[str, ...] = ()  # relative paths of regular files, sorted
    symlinks: tuple[str, ...] = ()
    others: tuple[str, ...] = ()  # sockets, devices, FIFOs
    unreadable: tuple[str, ...] = ()  # "attendance/ (Permission denied)"
    newest_mtime: float = 0.0
    folders: tuple[tuple[str, int], ...] = ()  # each subfolder listed ("attendance") and its inode

    @property
    def profile(self) -> bool:
        return PROFILE in self.files

    @property
    def attendance_count(self) -> int:
        return sum(1 for f in self.files if f.startswith(ATTENDANCE + "/"))


def scan_folder(folder: Path | str, times: bool = True) -> FolderScan:
    """Walk a folder without following symlinks. ``times=False`` skips the per-file stat (and so
    ``newest_mtime``): the directory entries' own types are enough to list what it holds."""
    files: list[str] = []
    symlinks: list[str] = []
    others: list[str] = []
    unreadable: list[str] = []
    folders: list[tuple[str, int]] = []
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
                        folders.append((rel, entry.inode()))
                    elif regular:
                        files.append(rel)
                    else:
                        others.append(rel)
        except OSError as exc:
            unreadable.append(f"{prefix or './'} ({exc.strerror})")
    files.sort()
    return FolderScan(tuple(files), tuple(symlinks), tuple(others), tuple(unreadable), newest, tuple(folders))


def walk_photos(folder: str, profile: os.stat_result | None = None, skipped: list[tuple[str, str]] | None = None,
                folder_fd: int | None = None, every_skip: bool = False) -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file in a student-style folder, whatever its name or subfolder (`Profile.JPG` copied from
    Windows, `old/profile.jpg`: each holds a photo too), with its stat; symlinks never followed, and the
    tool's own temporary copies left out. ``profile``: profile.jpg's stat when the caller has just taken it
    (from the regular file it opened). ``skipped`` receives (path, why) for what could not be looked at below
    the folder's own profile.jpg and attendance/ (symlinks, special files, folders that cannot be read).
    ``folder_fd``: the folder, already open (its subfolders are then opened from it, without a path walk).
    ``every_skip``: a symlinked or odd profile.jpg or attendance/ is said in ``skipped`` too (no folder check did).
    An entry that is a file, not a folder (a loose photo in students/), is said in ``skipped``: never compared."""
    try:
        top = os.open(folder, _SUBFOLDER) if folder_fd is None else folder_fd  # never through a symlink either
    except OSError as exc:
        if skipped is not None:  # (O_DIRECTORY makes a symlink ENOTDIR too: asked first)
            if exc.errno == errno.ELOOP or os.path.islink(folder):
                skipped.append(("", "a symlink, never followed"))
            elif exc.errno == errno.ENOTDIR:
                if os.path.basename(folder).casefold() not in NOT_PHOTOS:  # (a file manager's litter is no photo)
                    skipped.append(("", "a file, not a folder: not compared"))
            elif exc.errno != errno.ENOENT:
                skipped.append(("", f"could not be read ({exc.strerror or exc})"))
        return
    try:
        pending = [""]
        while pending:
            prefix = pending.pop()
            try:
                # a subfolder is opened from the folder, never through a symlink put there since it was listed
                fd = os.open(prefix.rstrip("/"), _SUBFOLDER, dir_fd=top) if prefix else top
                try:
                    with os.scandir(fd) as entries:
                        for entry in entries:
                            name = entry.name
                            if entry.is_dir(follow_symlinks=False):
                                pending.append(f"{prefix}{name}/")
                            elif not entry.is_file(follow_symlinks=False):
                                if skipped is not None and (prefix or every_skip or name not in (PROFILE, ATTENDANCE)):
                                    skipped.append((prefix + name, "a symlink, never followed" if entry.is_symlink()
                                                    else "not a regular file"))
                            elif name[0] == "." and (TEMP_NAME.fullmatch(name) or name.startswith("._")) or \
                                    name.casefold() in NOT_PHOTOS:
                                continue  # the tool's own temporaries; what file managers leave in every folder
                            elif profile is not None and not prefix and name == PROFILE:
                                yield PROFILE, profile
                            else:
                                info = entry.stat(follow_symlinks=False)
                                if stat.S_ISREG(info.st_mode) and info.st_size:  # an empty file is no one's photo
                                    yield prefix + name, info
                finally:
                    if fd != top:
                        os.close(fd)
            except OSError as exc:
                if skipped is not None and prefix:  # the folder itself: the folder check reports it
                    skipped.append((prefix.rstrip("/"), f"could not be read ({exc.strerror or exc})"))
    finally:
        if folder_fd is None:
            os.close(top)


@dataclass
class Holding:
    """Where some photos' bytes are in students/ (``folders``), and what could not be compared with them
    (``uncompared``: entry of students/ -> why): any of those may hold the bytes too."""

    folders: dict[tuple[str, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    uncompared: dict[str, str] = field(default_factory=dict)

    def unread_besides(self, *own: str | None) -> str | None:
        """What was not compared, outside the folders ``own`` (the student's and the photo's own), said in one
        line; None when everything else was compared. The one answer for restore's evidence and photo sources."""
        left = sorted((name, why) for name, why in self.uncompared.items() if name not in own)
        if not left:
            return None
        shown = "; ".join(f"students/{name}: {why}" for name, why in left[:3])
        more = f" (and {len(left) - 3} more)" if len(left) > 3 else ""
        return f"could not be compared with everything in students/, so it may be another child's ({shown}{more})"


def folders_holding(store: PhotoStore, digests: set[tuple[str, int]]) -> Holding:
    """Folders under students/ holding any photo (profile or attendance) with these very bytes: one walk of the
    store, hashing only the files of a size one of them has. What it cannot compare (a symlinked or unreadable
    entry, a symlink or an unreadable folder inside one, a file of such a size it cannot read) is named in
    ``uncompared``: bytes there are not known to be nowhere else. A loose file in students/ is compared too."""
    sizes = {size for _, size in digests}
    held = Holding()
    try:
        with os.scandir(store.students) as listing:
            entries = [e for e in listing if not e.name.startswith(".") and e.name.casefold() not in NOT_PHOTOS]
    except FileNotFoundError:
        return held
    except OSError as exc:
        held.uncompared[""] = f"could not be read ({exc.strerror or exc})"
        return held
    for entry in entries:
        name = entry.name
        skipped: list[tuple[str, str]] = []
        if entry.is_symlink():
            held.uncompared[name] = "a symlink, never followed"
            continue
        if entry.is_dir(follow_symlinks=False):
            found = walk_photos(entry.path, skipped=skipped, every_skip=True)
        else:  # a loose file (an older layout kept students/{id}.jpg): its bytes are compared as a folder's
            try:
                found = iter([("", entry.stat(follow_symlinks=False))])
            except OSError as exc:
                skipped.append(("", f"could not be read ({exc.strerror or exc})"))
                found = iter(())
        for rel, info in found:
            if info.st_size not in sizes:
                continue
            try:
                digest = sha256_file(f"{entry.path}/{rel}" if rel else entry.path)
            except FileNotFoundError:
                continue  # gone since it was listed: it holds nothing now
            except (OSError, StoreProblem) as exc:
                skipped.append((rel, f"could not be read ({getattr(exc, 'strerror', None) or exc})"))
                continue
            if digest in digests and name not in held.folders[digest]:
                held.folders[digest].append(name)
        if skipped and name.casefold() not in VOLUME_LITTER:  # (a volume's lost+found is root's: it would refuse all)
            rel, why = skipped[0]
            held.uncompared[name] = f"{rel + ' ' if rel else ''}{why}"
    return held


def list_student_folders(store: PhotoStore) -> list[str]:
    """Names of the entries of students/, sorted, except the tool's own dot-entries and litter (``is_litter``)."""
    try:
        with os.scandir(store.students) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and not is_litter(e.name))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise PhotoRootError(f"Cannot read {store.students}: {exc.strerror}") from None


# ---------------------------------------------------------------- one run at a time
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


# ---------------------------------------------------------------- worker threads
WORKER_SWITCH_INTERVAL = 0.0005  # seconds; Python's 5 ms default keeps a thread back from a finished system call
_pools_running = 0
_switch_interval_before = 0.005


@contextlib.contextmanager
def _short_gil_switches() -> Iterator[None]:
    """While any pool runs, a thread back from a system call waits at most this long for the interpreter: the
    workers spend their time in short system calls, and with the default each may wait 5 ms for another's
    Python (measured: a district migration about 6 % faster). Pools run on the event loop's thread only."""
    global _pools_running, _switch_interval_before
    if _pools_running == 0:
        _switch_interval_before = sys.getswitchinterval()
        sys.setswitchinterval(WORKER_SWITCH_INTERVAL)
    _pools_running += 1
    try:
        yield
    finally:
        _pools_running -= 1
        if _pools_running == 0:
            sys.setswitchinterval(_switch_interval_before)


def workers_within_open_files(workers: int, per_worker: int, reserve: int = 64) -> int:
    """At most ``workers``, and no more than the open-file limit has room for when each holds up to ``per_worker``
    descriptors at once (a migration batch keeps its target folders open); at least one. A low limit (``ulimit -n
    256``) otherwise fails orphans with "Too many open files" part-way through a batch."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return workers
    return max(1, min(workers, (soft - reserve) // per_worker))


async def map_in_threads(func: Callable[[T], R], items: Iterable[T], workers: int, stop,
                         on_result: Callable[[int, R], None], chunk: int = WORK_CHUNK,
                         on_abandoned: Callable[[R], None] | None = None) -> int:
    """Run ``func`` over ``items`` on a small thread pool; results arrive in order. Returns how many ran.

    ``items`` is read lazily, on this thread, a few chunks ahead of the workers. If anything fails on
    this thread, the workers are told to stop, and every result they still deliver goes to
    ``on_abandoned`` (what must never be lost, such as an audit line) before the error goes on.
    """
    loop = asyncio.get_running_loop()
    done = 0

    def run_chunk(part: list[T]) -> list[R]:
        results = []
        for item in part:
            if stop.requested:  # finish the file in hand, start no new one
                break
            results.append(func(item))
        return results

    with _short_gil_switches(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photos") as pool:
        pending: deque = deque()
        undelivered: deque = deque()  # results of the chunk in hand, not yet given to on_result

        async def deliver_next() -> None:
            nonlocal done
            undelivered.extend(await pending.popleft())
            while undelivered:
                result = undelivered.popleft()
                done += 1
                on_result(done, result)

        try:
            iterator = iter(items)
            while not stop.requested and (part := list(itertools.islice(iterator, chunk))):
                pending.append(loop.run_in_executor(pool, run_chunk, part))
                while len(pending) > workers * 2 or (pending and pending[0].done()):
                    await deliver_next()
            while pending:
                await deliver_next()
        except BaseException:
            stop.fail()
            for future in pending:
                with contextlib.suppress(BaseException):
                    undelivered.extend(await future)
            if on_abandoned is not None:
                for result in undelivered:
                    with contextlib.suppress(Exception):
                        on_abandoned(result)
            raise
    return done
