"""Reading ahead: a helper process asks the kernel to read the orphaned folders' photos while this process
matches and copies, so that the copies find them in memory instead of waiting on a cold disk one file at a time.

It only ever hints: each folder is opened without following a symlink, and each entry the listing calls a
regular file is looked at without being opened (``O_PATH``) and, if it still is one, opened read-only as that
very inode (a FIFO or device swapped in meanwhile is never opened) and given ``posix_fadvise(WILLNEED)``;
nothing is read into the helper, nothing is written, and every failure is ignored.
A separate process, not a thread, because a thread would wait for this process's interpreter lock while the
matching holds it, which is exactly when reading ahead pays.

The parent names folders (relative to students/) on the helper's stdin, NUL-terminated, as its own work reaches
them (``ReadAhead.reached``): at most a window ahead, so a district far larger than memory is not read twice. A run
that ends kills it (``ReadAhead.close``); if the run is killed, stdin closes and the helper finishes the folders it was
given, then exits.

Run as a script by ``ReadAhead`` (standard library only, no package import): ``python readahead.py STUDENTS``.
"""

from __future__ import annotations

import os
import queue
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable

HINT_THREADS = 8  # folders looked at together: a cold disk answers several requests at once sooner than one each
DEPTH = 3  # the folder, attendance/ and one level below it: what a migration carries
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_REOPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC if hasattr(os, "O_PATH") else None  # look without opening
_ATOMIC = 4096  # a pipe write of at most PIPE_BUF bytes is all or nothing, even non-blocking


def _advise(fd: int) -> None:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)


def hint_folder(top: int, name: str | bytes, advise: Callable[[int], None] = _advise) -> None:
    """Hint every regular file of the folder ``name`` of ``top`` (and of its folders, to ``DEPTH``), never
    through a symlink; errors are ignored (a hint that cannot be given costs the copy nothing)."""
    try:
        fd = os.open(name, _DIR, dir_fd=top)
    except OSError:
        return
    try:
        _hint_below(fd, 1, advise)
    finally:
        os.close(fd)


def _hint_below(folder: int, depth: int, advise: Callable[[int], None]) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = [(e.name, e.is_file(follow_symlinks=False), e.is_dir(follow_symlinks=False)) for e in listing]
    except OSError:
        return
    for name, regular, is_folder in entries:
        try:
            if regular:
                _hint_file(folder, name, advise)
            elif is_folder and depth < DEPTH:
                sub = os.open(name, _DIR, dir_fd=folder)
                try:
                    _hint_below(sub, depth + 1, advise)
                finally:
                    os.close(sub)
        except OSError:
            continue


def _hint_file(folder: int, name: str, advise: Callable[[int], None]) -> None:
    """Hint one file the listing called regular. It may have been swapped for a FIFO or a device since: it is
    looked at first without being opened (O_PATH), and only a regular file is then opened, as that very inode."""
    if _PATH is None:
        return  # (not Linux: no way to look before opening; a hint is never worth opening something else)
    path_fd = os.open(name, _PATH, dir_fd=folder)
    try:
        if not stat.S_ISREG(os.fstat(path_fd).st_mode):
            return
        fd = os.open(f"/proc/self/fd/{path_fd}", _REOPEN)  # (that inode, whatever the name holds now)
        try:
            advise(fd)
        finally:
            os.close(fd)
    finally:
        os.close(path_fd)


def helper_main(students: str) -> int:
    """The helper process: hint each folder named on stdin, with ``HINT_THREADS`` threads, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a Ctrl-C at the terminal ends it quietly, with its parent
    try:
        top = os.open(students, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return 0
    names: queue.Queue[bytes | None] = queue.Queue()

    def work() -> None:
        while (name := names.get()) is not None:
            hint_folder(top, name)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(HINT_THREADS)]
    for thread in threads:
        thread.start()
    pending = b""
    while chunk := os.read(0, 65536):
        *complete, pending = (pending + chunk).split(b"\0")
        for name in complete:
            if name and b"/" not in name:
                names.put(name)
    for _ in threads:
        names.put(None)
    for thread in threads:
        thread.join()
    return 0


class ReadAhead:
    """The parent's side: starts the helper, names folders to it in order, a ``window`` of folders ahead of the
    work; ``close`` ends it. Never in the way: a helper that cannot start, or falls behind, is simply not used."""

    def __init__(self, students: str, window: int) -> None:
        self.students, self.window = students, window
        self.names: list[str] = []
        self.given = 0
        self.process: subprocess.Popen | None = None

    def start(self, names: Iterable[str]) -> None:
        """Start the helper and name the first window of ``names`` (in the order the work takes them)."""
        self.names, self.given = list(names), 0
        if not self.names or self.process is not None:
            return
        try:
            self.process = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__),
                                             self.students],
                                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, close_fds=True)
        except OSError:
            return
        assert self.process.stdin is not None
        os.set_blocking(self.process.stdin.fileno(), False)  # a helper that falls behind never holds up the run
        self.reached(0)

    def reached(self, done: int) -> None:
        """The work has reached the ``done``-th folder: name the folders up to a window beyond it."""
        end = min(done + self.window, len(self.names))
        if self.process is None or end <= self.given:
            return
        chunk: list[bytes] = []
        size = 0
        for name in self.names[self.given:end]:
            encoded = os.fsencode(name) + b"\0"
            if size + len(encoded) > _ATOMIC:
                if not self._write(chunk):
                    return
                chunk, size = [], 0
            chunk.append(encoded)
            size += len(encoded)
        if chunk:
            self._write(chunk)

    def _write(self, names: list[bytes]) -> bool:
        if self.process is None or self.process.stdin is None:
            return False
        try:
            os.write(self.process.stdin.fileno(), b"".join(names))
        except BlockingIOError:  # the helper is behind: these names wait for the next call
            return False
        except OSError:  # it is gone: nothing more to hint
            self.close()
            return False
        self.given += len(names)
        return True

    def close(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        process.kill()  # what it has not hinted yet is no longer wanted
        process.wait()


if __name__ == "__main__":
    sys.exit(helper_main(sys.argv[1]))
