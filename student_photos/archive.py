"""Photo sources read in place: a folder, a zip, a tar or a tar.gz, never unpacked onto disk.

Archives are hostile input. Every member is checked before it is offered: its name (relative, no
'..', no backslash, drive letter, control character or undecodable byte), its type (regular files
only) and its stated size. No header's size is trusted: no member is read past
``max_member_bytes + 1`` bytes, tarfile only ever reads forward through a bounded stream, and a
broken archive is a one-line SourceError, never a traceback.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import cast

from .errors import ToolError

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
TAR_BLOCK = 512
_ZIP_UTF8_NAME = 0x800
_ZIP_ENCRYPTED = 0x1 | 0x40  # traditional and strong encryption
_ZIP_PATCHED = 0x20
# bzip2 and lzma decompress a whole input chunk before zipfile trims it: unbounded; photos are never stored so
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_TAR_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_HEADER_READ_MIN = 1 << 20  # a pax or long-name header may need this much even when members are tiny
_TAR_HEADER_ALLOWANCE = 1 << 12  # per member, for its header block and any long-name or pax header
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class SourceError(ToolError):
    """The photo source cannot be used at all (missing, not a folder/zip/tar, truncated, too big): exit 2."""


class _Broken(Exception):
    """The archive contradicts itself (points backwards, oversized header): it is corrupt or hostile."""


class _TooBig(Exception):
    """The uncompressed stream goes past what the limits allow."""


# What a broken archive raises from inside zipfile, tarfile, gzip and zlib (RecursionError: a chain of
# thousands of long-name headers makes tarfile recurse once per header).
_BROKEN = (OSError, EOFError, ValueError, zlib.error, struct.error, OverflowError, NotImplementedError,
           RecursionError, tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, _Broken)


@dataclass(frozen=True)
class SourceEntry:
    path: str  # normalised relative POSIX path inside the source, e.g. "photos/students/ab12/profile.jpg"
    size: int  # size in bytes as stored (uncompressed)


@dataclass(frozen=True)
class RefusedMember:
    """A member not offered, and what it could still give to whoever unpacks the source (``sources.fill`` weighs
    it: one child is never given bytes the source may give another).

    ``could``: "own" (its own bytes, readable: a duplicate name's version, a badly named file), "link" (what
    ``target`` names: a symlink's target as written, relative to its folder; a hard link's, from the source's
    root), "unknown" (bytes that cannot be known: ``size`` bytes, or any size when None) or "none" (no photo:
    a device, a FIFO, a member too big to be one)."""
    path: str  # normalised path inside the source, or "" when its name is unusable
    shown: str  # its name made printable
    why: str
    could: str
    size: int | None = None
    target: str | None = None
    hard: bool = False
    handle: int = -1  # (the kind's own key to read its bytes)


@dataclass(frozen=True)
class Limits:
    member: int
    total: int
    members: int


def printable(text: str) -> str:
    """``text`` on one line: undecodable bytes as \\xNN, control and invisible characters escaped."""
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that surrogateescape could not decode
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char == "\\":
            out.append("\\\\")  # so an escape shown can never be mistaken for one in the name
        elif char.isprintable():
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def _detail(exc: BaseException) -> str:
    text = printable(str(exc) or type(exc).__name__)
    return text if len(text) <= 200 else text[:197] + "..."


def check_name(name: str) -> tuple[str, str]:
    """``(normalised path, "")`` for a usable member name, else ``("", why it is refused)``."""
    if not name:
        return "", "empty name"
    if "\x00" in name:
        return "", "NUL in name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # surrogateescape kept the undecodable bytes as lone surrogates
        return "", "name is not valid UTF-8"
    if "\\" in name:
        return "", "backslash in name"
    if name.startswith("/"):
        return "", "absolute name"
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return "", "drive letter in name"
    if any(not c.isprintable() for c in name):  # a newline in a name could forge a line of the report
        return "", "control character in name"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return "", "'..' in name"
    if not parts:
        return "", "empty name"
    return "/".join(parts), ""


def _too_big(size: int, limit: int) -> str:
    return f"too big ({size} bytes; the limit is {limit})"


def _read_bounded(read: Callable[[int], bytes], limit: int) -> bytes:
    """At most ``limit + 1`` bytes from ``read(n)``: one byte more than allowed is enough to refuse."""
    parts: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = read(min(CHUNK, limit + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


class _FileView(io.RawIOBase):
    """A read position of its own on a shared descriptor (pread), so the passes never disturb each other."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = os.pread(self._fd, len(buffer), self._pos)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos}.get(whence)
        if base is None:
            base = os.fstat(self._fd).st_size
        if base + offset < 0:
            raise OSError(errno.EINVAL, "seek before the start of the file")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos


class _TarStream:
    """What tarfile reads through: forward only, every read bounded, the whole stream bounded.

    Forward only: a corrupt size (negative, or pointing back) would otherwise loop for ever, and a
    gzip stream seeked backwards is decompressed again from its start.
    """

    def __init__(self, raw, read_limit: int, stream_limit: int) -> None:
        self._raw = raw
        self._pos = 0
        self._read_limit = read_limit
        self._stream_limit = stream_limit
        self.last_block: tuple[int, bytes] = (-1, b"")  # the last header block read, to see how the tar ended

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset + (self._pos if whence == os.SEEK_CUR else 0)
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target < self._pos:
            raise _Broken(f"a header points back to byte {target}")
        if target > self._stream_limit:
            raise _TooBig()
        if target > self._pos:
            self._raw.seek(target)  # gzip decompresses and discards up to there
            self._pos = target
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self._read_limit:
            raise _Broken(f"a header asks for {size} bytes at once")
        data = self._raw.read(size)
        if self._pos + len(data) > self._stream_limit:
            raise _TooBig()
        if size == TAR_BLOCK:
            self.last_block = (self._pos, data)
        self._pos += len(data)
        return data


class PhotoSource:
    """A listed photo source; use it as a context manager: ``with open_photo_source(p) as src:``.

    ``refused`` holds ``(name made printable, reason)`` for every member not offered; a member found
    unusable while reading (it changed, or grew past the limit) is appended to it and skipped.
    """

    kind: str
    label: str
    refused: list[tuple[str, str]]
    refused_members: list[RefusedMember]

    def __init__(self, kind: str, label: str, fd: int, limits: Limits) -> None:
        self.kind = kind
        self.label = label
        self.refused = []
        self.refused_members = []  # every member refused while listing, with what it could still give
        self._handles: list[object] = []
        self._fd = fd
        self._limits = limits
        self._members = 0
        self._handed_out = 0
        self._entries: list[SourceEntry] = []

    # ---- the public face ----
    def entries(self) -> list[SourceEntry]:
        """Regular files only, sorted by path (listed once, when the source was opened)."""
        return list(self._entries)

    def read(self, wanted: Iterable[str]) -> Iterator[tuple[SourceEntry, bytes]]:
        """The bytes of the wanted entries, in one sequential pass, in the source's own order.

        Paths that are not offered entries are ignored. The sum of bytes handed out is capped.
        """
        if isinstance(wanted, str):
            raise TypeError("read() takes an iterable of paths, not one path")
        if self._fd < 0:
            raise ValueError(f"photo source {self.shown} is closed")
        wanted_set = set(wanted)
        for entry, data in self._read([e for e in self._entries if e.path in wanted_set]):
            self._handed_out += len(data)
            if self._handed_out > self._limits.total:
                raise SourceError(f"{self.shown}: more than {self._limits.total} bytes read in total; "
                                  "the source is too big")
            yield entry, data

    def read_refused(self, members: Iterable[RefusedMember]) -> Iterator[tuple[RefusedMember, bytes]]:
        """The own bytes of refused members (``could == "own"``), never past the member limit; one that cannot be
        read now is left out (its bytes are not known). The bytes count towards the total cap."""
        if self._fd < 0:
            raise ValueError(f"photo source {self.shown} is closed")
        chosen = [m for m in members if m.could == "own" and 0 <= m.handle < len(self._handles)]
        for member, data in self._read_refused(chosen):
            if len(data) > self._limits.member or (member.size is not None and len(data) != member.size):
                continue
            self._handed_out += len(data)
            if self._handed_out > self._limits.total:
                raise SourceError(f"{self.shown}: more than {self._limits.total} bytes read in total; "
                                  "the source is too big")
            yield member, data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> PhotoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- for the kinds ----
    @property
    def shown(self) -> str:
        return printable(self.label)

    def _count_member(self) -> None:
        self._members += 1
        if self._members > self._limits.members:
            raise SourceError(f"{self.shown}: more than {self._limits.members} members; the source is too big")

    def _refuse(self, name: str, reason: str) -> None:
        self.refused.append((printable(name), reason))

    def _read(self, chosen: list[SourceEntry]) -> Iterator[tuple[SourceEntry, bytes]]:
        raise NotImplementedError

    def _read_refused(self, chosen: list[RefusedMember]) -> Iterator[tuple[RefusedMember, bytes]]:
        raise NotImplementedError

    def _finish_listing(self, candidates: list[tuple[str, str, str, SourceEntry | None, RefusedMember]]
                        ) -> list[SourceEntry]:
        """Refuse every member whose name another member shares, then sort what is offered.

        ``candidates`` are ``(raw name, normalised path or "", reason or "", entry or None, what it could give if
        refused)``.
        """
        seen: dict[str, int] = {}
        for _raw, path, _reason, _entry, _could in candidates:
            if path:
                seen[path] = seen.get(path, 0) + 1
        offered = []
        for raw, path, reason, entry, could in candidates:
            if path and seen[path] > 1:  # which copy an extractor would keep is anyone's guess: offer neither
                reason = reason or "duplicate name"
            if reason:
                self._refuse(raw, reason)
                self.refused_members.append(RefusedMember(path, printable(raw), reason, could.could, could.size,
                                                          could.target, could.hard, could.handle))
            elif entry is not None:
                offered.append(entry)
        self.refused.sort()
        offered.sort(key=lambda e: e.path)
        return offered

    def _checked(self, raw: str, size: int, type_problem: str, handle: object = None, could: str = "",
                 target: str | None = None, hard: bool = False
                 ) -> tuple[str, str, str, SourceEntry | None, RefusedMember]:
        """A listed member: its checks, and what it could give if refused (``could``: "own" when not said and its
        bytes can be read by ``handle``, else "unknown")."""
        path, reason = check_name(raw)
        reason = reason or type_problem
        too_big = size > self._limits.member
        if not reason and too_big:
            reason = _too_big(size, self._limits.member)
        if not could:
            could = "none" if too_big else "own" if handle is not None else "unknown"
        index = -1
        if could == "own":
            index = len(self._handles)
            self._handles.append(handle)
        what = RefusedMember(path, "", "", could, size if could in ("own", "unknown") else None, target, hard, index)
        return raw, path, reason, (SourceEntry(path, size) if path and not reason else None), what

    def _refuse_unknown(self, rel: str, reason: str, size: int | None = None) -> None:
        """A member or folder refused whose bytes cannot be known (unreadable, or below an unusable name)."""
        self._refuse(rel, reason)
        path = check_name(rel)[0]
        self.refused_members.append(RefusedMember(path, printable(rel), reason, "unknown", size))

    def _hand_out(self, entry: SourceEntry, data: bytes) -> tuple[SourceEntry, bytes] | None:
        if len(data) > self._limits.member:
            self._refuse(entry.path, f"grew past the limit of {self._limits.member} bytes while being read")
            return None
        if len(data) != entry.size:
            self._refuse(entry.path, f"changed while being read ({entry.size} bytes listed, {len(data)} read)")
            return None
        return entry, data


# ---------------------------------------------------------------- folders
class _FolderSource(PhotoSource):
    """A folder walked without following any symlink, every file opened below a descriptor of its folder."""

    def __init__(self, label: str, fd: int, limits: Limits) -> None:
        super().__init__("folder", label, fd, limits)
        self._entries = self._list()

    def _open_dir(self, rel: str) -> int:
        """A descriptor of ``rel``, reached one component at a time so no symlink on the way is followed."""
        fd = os.open(".", _DIR_FLAGS, dir_fd=self._fd)
        for part in rel.split("/") if rel else ():
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            finally:
                os.close(fd)
            fd = nxt
        return fd

    def _list(self) -> list[SourceEntry]:
        candidates: list[tuple[str, str, str, SourceEntry | None, RefusedMember]] = []
        pending = [""]
        while pending:
            rel = pending.pop()
            try:
                fd = self._open_dir(rel)
            except OSError as exc:
                self._unreadable(rel, exc)
                continue
            try:
                with os.scandir(fd) as found:
                    for item in found:
                        self._count_member()
                        self._classify(item, f"{rel}/{item.name}" if rel else item.name, candidates, pending, fd)
            except OSError as exc:
                self._unreadable(rel, exc)
            finally:
                os.close(fd)
        return self._finish_listing(candidates)

    def _unreadable(self, rel: str, exc: OSError) -> None:
        if not rel:  # the source itself: nothing at all could be offered
            raise SourceError(f"Cannot read photo source {self.shown}: {exc.strerror}")
        self._refuse_unknown(rel + "/", f"unreadable folder: {exc.strerror}")

    def _classify(self, item: os.DirEntry, rel: str, candidates: list, pending: list[str], dir_fd: int) -> None:
        try:
            info = item.stat(follow_symlinks=False)
        except OSError as exc:
            self._refuse_unknown(rel, f"unreadable: {exc.strerror}")
            return
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            problem = check_name(rel)[1]
            if problem:  # nothing below a folder with an unusable name could be offered either
                self._refuse_unknown(rel + "/", problem)
            else:
                pending.append(rel)
            return
        if stat.S_ISLNK(mode):
            try:
                target: str | None = os.readlink(item.name, dir_fd=dir_fd)
            except OSError:
                target = None
            candidates.append(self._checked(rel, info.st_size, "symlink", could="link" if target else "unknown",
                                            target=target))
            return
        if stat.S_ISREG(mode):
            candidates.append(self._checked(rel, info.st_size, "", handle=rel))
        else:
            candidates.append(self._checked(rel, info.st_size, f"not a regular file ({_special_kind(mode)})",
                                            could="none"))

    def _read(self, chosen: list[SourceEntry]) -> Iterator[tuple[SourceEntry, bytes]]:
        folder: tuple[str, int] | None = None  # the last folder's descriptor: sorted paths come folder by folder
        try:
            for entry in chosen:
                parent, _, name = entry.path.rpartition("/")
                try:
                    if folder is None or folder[0] != parent:
                        if folder is not None:
                            os.close(folder[1])
                            folder = None
                        folder = (parent, self._open_dir(parent))
                    data = self._read_file(folder[1], name)
                except OSError as exc:
                    self._refuse(entry.path, f"unreadable: {exc.strerror}")
                    continue
                except _Broken as exc:
                    self._refuse(entry.path, str(exc))
                    continue
                handed = self._hand_out(entry, data)
                if handed:
                    yield handed
        finally:
            if folder is not None:
                os.close(folder[1])

    def _read_refused(self, chosen: list[RefusedMember]) -> Iterator[tuple[RefusedMember, bytes]]:
        for member in chosen:
            rel = str(self._handles[member.handle])
            parent, _, name = rel.rpartition("/")
            try:
                fd = self._open_dir(parent)
                try:
                    data = self._read_file(fd, name)
                finally:
                    os.close(fd)
            except (OSError, _Broken):
                continue
            yield member, data

    def _read_file(self, dir_fd: int, name: str) -> bytes:
        # O_NOFOLLOW refuses a symlink put there since the listing; O_NONBLOCK keeps a FIFO from hanging
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise _Broken(f"no longer a regular file ({_special_kind(mode)})")
            return _read_bounded(lambda n: os.read(fd, n), self._limits.member)
        finally:
            os.close(fd)


def _special_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symlink")):
        if test(mode):
            return name
    return "unknown type"


# ---------------------------------------------------------------- zip
class _ZipSource(PhotoSource):
    def __init__(self, label: str, fd: int, limits: Limits) -> None:
        super().__init__("zip", label, fd, limits)
        self._infos: dict[str, zipfile.ZipInfo] = {}
        view = io.BufferedReader(_FileView(fd), CHUNK)
        declared = _zip_declared_members(view)
        if declared is not None and declared > limits.members:  # refused before zipfile parses them all
            raise SourceError(f"{self.shown}: {declared} members, more than {limits.members}; the source is too big")
        try:
            self._zip = zipfile.ZipFile(view)
        except _BROKEN as exc:
            raise SourceError(f"{self.shown}: truncated or corrupt zip ({_detail(exc)})") from None
        try:
            self._entries = self._list()
        except BaseException:
            self._zip.close()
            raise

    def _list(self) -> list[SourceEntry]:
        candidates = []
        for info in self._zip.infolist():
            self._count_member()
            name = _zip_name(info)
            mode = info.external_attr >> 16
            if info.orig_filename.endswith("/") or stat.S_ISDIR(mode):
                continue
            problem = _zip_problem(info, mode)
            if problem == "symlink":  # (its bytes are its target, as written)
                target = self._link_target(info)
                candidate = self._checked(name, info.file_size, problem, could="link" if target else "unknown",
                                          target=target)
            elif problem.startswith("not a regular file"):
                candidate = self._checked(name, info.file_size, problem, could="none")
            else:  # (an encrypted member, or one compressed in a way not read: its bytes are not known)
                candidate = self._checked(name, info.file_size, problem, handle=None if problem else info)
            if candidate[3] is not None:
                self._infos[candidate[1]] = info
            candidates.append(candidate)
        return self._finish_listing(candidates)

    def _read(self, chosen: list[SourceEntry]) -> Iterator[tuple[SourceEntry, bytes]]:
        for entry in sorted(chosen, key=lambda e: self._infos[e.path].header_offset):  # one pass over the file
            try:
                with self._zip.open(self._infos[entry.path]) as member:
                    data = _read_bounded(member.read, self._limits.member)
            except _BROKEN as exc:
                raise SourceError(f"{self.shown}: member {printable(entry.path)} is corrupt ({_detail(exc)})") \
                    from None
            handed = self._hand_out(entry, data)
            if handed:
                yield handed

    def _link_target(self, info: zipfile.ZipInfo) -> str | None:
        """A symlink member's target as written, or None when it cannot be read."""
        if _zip_problem(info, stat.S_IFREG << 0):
            return None  # (encrypted, or compressed in a way not read)
        try:
            with self._zip.open(info) as member:
                data = _read_bounded(member.read, 4096)
        except _BROKEN:
            return None
        if len(data) > 4096 or not data:
            return None
        return data.decode("utf-8", "surrogateescape")

    def _read_refused(self, chosen: list[RefusedMember]) -> Iterator[tuple[RefusedMember, bytes]]:
        infos = [(m, cast(zipfile.ZipInfo, self._handles[m.handle])) for m in chosen]
        for member, info in sorted(infos, key=lambda pair: pair[1].header_offset):
            try:
                with self._zip.open(info) as opened:
                    data = _read_bounded(opened.read, self._limits.member)
            except _BROKEN:
                continue
            yield member, data

    def close(self) -> None:
        if self._fd >= 0:
            self._zip.close()
        super().close()


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member's name; one without the UTF-8 flag is tried as UTF-8 (what most tools write)."""
    name = info.orig_filename  # before zipfile cut it at a NUL
    if info.flag_bits & _ZIP_UTF8_NAME:
        return name
    raw = name.encode("cp437")  # zipfile decoded the raw bytes as cp437, which maps every byte: this undoes it
    return raw.decode("utf-8", "surrogateescape")


def _zip_problem(info: zipfile.ZipInfo, mode: int) -> str:
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        return "symlink"
    if kind not in (0, stat.S_IFREG):
        return f"not a regular file ({_special_kind(mode)})"
    if info.flag_bits & _ZIP_ENCRYPTED:
        return "encrypted"
    if info.flag_bits & _ZIP_PATCHED or info.compress_type not in _ZIP_METHODS:
        return f"unsupported compression (method {info.compress_type})"
    return ""


def _zip_declared_members(view: io.BufferedIOBase) -> int | None:
    """The member count the end record declares, or None when it cannot be read (zipfile will say why)."""
    try:
        size = view.seek(0, os.SEEK_END)
        start = max(0, size - (22 + 0xFFFF))
        view.seek(start)
        tail = view.read(size - start)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return None
        count = struct.unpack_from("<H", tail, at + 10)[0]
        if count != 0xFFFF or at < 20 or tail[at - 20:at - 16] != b"PK\x06\x07":
            return count
        view.seek(struct.unpack_from("<Q", tail, at - 12)[0])  # the zip64 end record
        record = view.read(56)
        return struct.unpack_from("<Q", record, 32)[0] if record[:4] == b"PK\x06\x06" else None
    except (OSError, struct.error, ValueError, OverflowError):
        return None


# ---------------------------------------------------------------- tar and tar.gz
class _TarSource(PhotoSource):
    """A tar read as a stream: listed in one pass, read in one more; gzip is never rewound."""

    def __init__(self, kind: str, label: str, fd: int, limits: Limits) -> None:
        super().__init__(kind, label, fd, limits)
        self._offsets: dict[str, int] = {}  # where each entry's header starts: its identity on the second pass
        try:
            self._entries = self._list()
        except (_TooBig, *_BROKEN) as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> SourceError:
        if isinstance(exc, _TooBig):
            return SourceError(f"{self.shown}: more than {self._limits.total} bytes of members; "
                               "the source is too big")
        return SourceError(f"{self.shown}: truncated or corrupt {self.kind} ({_detail(exc)})")

    def _open(self) -> tuple[tarfile.TarFile, _TarStream]:
        raw: io.BufferedIOBase = io.BufferedReader(_FileView(self._fd), CHUNK)
        if self.kind == "tar.gz":
            raw = gzip.GzipFile(fileobj=raw, mode="rb")
        limits = self._limits
        stream = _TarStream(raw, read_limit=max(limits.member, _HEADER_READ_MIN) + 1,
                            stream_limit=limits.total + limits.members * _TAR_HEADER_ALLOWANCE + 2 * CHUNK)
        tar = tarfile.open(fileobj=stream, mode="r:", encoding="utf-8",  # type: ignore[call-overload]
                           errors="surrogateescape")
        return tar, stream

    def _list(self) -> list[SourceEntry]:
        candidates = []
        tar, stream = self._open()
        with tar:
            for info in _members(tar):
                self._count_member()
                if info.size < 0:
                    raise _Broken(f"negative size for {printable(info.name)}")
                if info.isdir():
                    continue
                problem = _tar_problem(info)
                if info.issym() or info.islnk():
                    target = info.linkname if info.issym() else check_name(info.linkname)[0]
                    candidate = self._checked(info.name, info.size, problem, could="link" if target else "unknown",
                                              target=target or None, hard=info.islnk())
                elif problem.startswith("not a regular file"):
                    candidate = self._checked(info.name, info.size, problem, could="none")
                else:
                    candidate = self._checked(info.name, info.size, problem,
                                              handle=None if problem else info.offset)
                if candidate[3] is not None:
                    self._offsets[candidate[1]] = info.offset
                candidates.append(candidate)
            if stream.last_block != (tar.offset, bytes(TAR_BLOCK)):  # no end marker: cut off, or garbage
                raise _Broken(f"no end-of-archive marker at byte {tar.offset}")
            while self.kind == "tar.gz" and stream.read(CHUNK):  # to the end, so gzip checks its CRC and length
                pass
        return self._finish_listing(candidates)

    def _at_offsets(self, offsets: Collection[int]) -> Iterator[tuple[tarfile.TarInfo | None, Callable[[], bytes]]]:
        """The members at these offsets, in archive order, each with a reader of its bytes (call it before asking
        for the next); then (None, ...) if the archive ended before all of them: it changed since the listing."""
        left = set(offsets)
        if not left:
            return
        try:
            tar, _stream = self._open()
        except (_TooBig, *_BROKEN) as exc:
            raise self._error(exc) from None
        with tar:
            members = _members(tar)
            while left:
                try:
                    info = next(members, None)
                except (_TooBig, *_BROKEN) as exc:
                    raise self._error(exc) from None
                if info is None:
                    yield None, lambda: b""
                    return
                if info.offset in left:
                    left.discard(info.offset)
                    yield info, partial(self._member_bytes, tar, info)

    def _member_bytes(self, tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
        try:
            member = tar.extractfile(info)
            return _read_bounded(member.read, self._limits.member) if member else b""
        except (_TooBig, *_BROKEN) as exc:
            raise self._error(exc) from None

    def _read(self, chosen: list[SourceEntry]) -> Iterator[tuple[SourceEntry, bytes]]:
        by_offset = {self._offsets[e.path]: e for e in chosen}
        for info, read in self._at_offsets(by_offset):
            entry = by_offset[info.offset] if info is not None else None
            if info is None or entry is None or not info.isreg() or check_name(info.name)[0] != entry.path:
                raise SourceError(f"{self.shown}: changed while being read")
            if handed := self._hand_out(entry, read()):
                yield handed

    def _read_refused(self, chosen: list[RefusedMember]) -> Iterator[tuple[RefusedMember, bytes]]:
        by_offset: dict[int, list[RefusedMember]] = {}
        for member in chosen:
            by_offset.setdefault(cast(int, self._handles[member.handle]), []).append(member)
        for info, read in self._at_offsets(by_offset):
            if info is None:
                return  # (changed since: what was not read is not known)
            if info.isreg():
                data = read()
                for member in by_offset[info.offset]:
                    yield member, data


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (info := tar.next()) is not None:
        tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every header it reads: gigabytes
        yield info


def _tar_problem(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hard link"
    if info.ischr() or info.isblk():
        return "not a regular file (device)"
    if info.isfifo():
        return "not a regular file (FIFO)"
    if info.type == tarfile.GNUTYPE_SPARSE:
        return "sparse file"
    if info.type not in _TAR_REGULAR:
        return f"unsupported member type '{printable(info.type.decode('latin-1'))}'"
    return ""


# ---------------------------------------------------------------- opening
def open_photo_source(path: Path | str, *, max_member_bytes: int = 50 * 2**20,
                      max_total_bytes: int = 20 * 2**30, max_members: int = 2_000_000) -> PhotoSource:
    """Open and list a photo source: a folder, or a zip, tar or tar.gz recognised by its content."""
    label = os.fspath(path)
    limits = Limits(max_member_bytes, max_total_bytes, max_members)
    shown = printable(label)
    try:  # the path the user gave may be a symlink (to a share); O_NONBLOCK: a FIFO must not hang the run
        fd = os.open(label, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SourceError(f"Photo source {shown} does not exist") from None
    except (OSError, ValueError) as exc:
        raise SourceError(f"Cannot open photo source {shown}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return _source_for(label, fd, limits)
    except BaseException:
        os.close(fd)
        raise


def _source_for(label: str, fd: int, limits: Limits) -> PhotoSource:
    shown = printable(label)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            return _FolderSource(label, fd, limits)
        if not stat.S_ISREG(mode):
            raise SourceError(f"Photo source {shown} is not a folder or a file ({_special_kind(mode)})")
        head = os.pread(fd, TAR_BLOCK, 0)
    except OSError as exc:
        raise SourceError(f"Cannot read photo source {shown}: {exc.strerror}") from None
    if head.startswith(GZIP_MAGIC):
        return _TarSource("tar.gz", label, fd, limits)
    if head[:4] in ZIP_MAGICS:
        return _ZipSource(label, fd, limits)
    if _is_tar_header(head):
        return _TarSource("tar", label, fd, limits)
    if _is_zip(fd):  # a zip behind a prefix, such as a self-extracting one
        return _ZipSource(label, fd, limits)
    raise SourceError(f"Photo source {shown} is not a folder, zip, tar or tar.gz")


def _is_tar_header(head: bytes) -> bool:
    if head == bytes(TAR_BLOCK):
        return True  # an empty tar is its end marker alone
    try:
        tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")
    except (tarfile.TarError, ValueError, struct.error, OverflowError):
        return False
    return True


def _is_zip(fd: int) -> bool:
    try:
        return zipfile.is_zipfile(io.BufferedReader(_FileView(fd)))
    except _BROKEN:
        return False
