"""Round 17a findings (helper h17a): each test asserts the safe behaviour and fails on the code as found."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from contextlib import contextmanager

import pytest
from test_migrate import Reseed

from conftest import ROOT
from student_photos.readahead import hint_folder
from student_photos.sample import jpeg_bytes


# Scenario: an orphaned folder's profile.jpg is a regular file when the read-ahead helper lists the folder, and
# is replaced by a FIFO (anyone with write access to the store can mkfifo) or a device node before the helper
# opens it. The race is made deterministic by letting the real os.scandir list, then swapping the entry as the
# listing closes; everything after that (os.open with _FILE, posix_fadvise) is the helper's own code.
# What the tool did: hint_folder opened the FIFO (and the device node) read-only and non-blocking and handed the
# descriptor to posix_fadvise: the opened descriptors were [S_IFIFO] / [S_IFCHR]. Opening a FIFO for reading
# releases a writer blocked in open(); opening a device runs its driver's open (a serial line raises DTR, a
# tape may rewind).
# Why wrong: docs/design.md "Reading ahead" promises the helper "opens no FIFO or device"; the module docstring
# and tests/test_readahead.py say "never a FIFO or device". The helper runs up to READ_AHEAD_WINDOW (1,024)
# folders ahead of the work, so its window between listing and open is far wider than the copy's. (An open with
# O_PATH|O_NOFOLLOW, an fstat that it is S_ISREG, then a reopen of that very inode via /proc/self/fd would keep
# the promise.) Low severity: it needs a swap in that window, and no photo is read, moved or written; the rest of
# the tool promises less (docs/safety.md: a FIFO is "never opened blocking: O_NONBLOCK | O_NOFOLLOW, then fstat"),
# so narrowing design.md's sentence to that would be the other honest fix.
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_helper_never_opens_a_fifo_or_device_swapped_in_after_its_listing(tmp_path, monkeypatch, kind):
    students = tmp_path / "students"
    folder = students / "old-id"
    folder.mkdir(parents=True)
    photo = folder / "profile.jpg"
    photo.write_bytes(jpeg_bytes("own"))
    real_scandir, real_open = os.scandir, os.open
    opened: list[int] = []

    def swap() -> None:
        photo.unlink()
        if kind == "fifo":
            os.mkfifo(photo)
        else:
            try:
                os.mknod(photo, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # the same device as /dev/null
            except PermissionError:
                pytest.skip("needs CAP_MKNOD")

    @contextmanager
    def scandir(fd):
        with real_scandir(fd) as listing:
            yield list(listing)
        if stat.S_ISREG(os.lstat(photo).st_mode):
            swap()

    def spying_open(*args, **kwargs):
        fd = real_open(*args, **kwargs)
        flags = args[1] if len(args) > 1 else kwargs.get("flags", 0)
        if not flags & getattr(os, "O_PATH", 0):  # an O_PATH descriptor looks at an entry without opening it
            opened.append(stat.S_IFMT(os.fstat(fd).st_mode))
        return fd

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "open", spying_open)
    top = real_open(students, os.O_RDONLY | os.O_DIRECTORY)
    try:
        hint_folder(top, "old-id", advise=lambda fd: None)
    finally:
        os.close(top)
    monkeypatch.undo()
    assert all(mode in (stat.S_IFDIR, stat.S_IFREG) for mode in opened), \
        f"the helper opened a {kind} swapped in after its listing: {[stat.filemode(m) for m in opened]}"


# Scenario: the migrate script started with its stdout closed (`migrate_orphaned_photos.py --migrate >&-`, as a
# cron line or service wrapper that closes the descriptor does; also with every standard descriptor closed).
# What the tool did: exit 1 and two chained tracebacks on stderr, ending "AttributeError: 'NoneType' object has
# no attribute 'flush'" (for --json: "... has no attribute 'write'"); nothing was migrated. With 0, 1 and 2 all
# closed: exit 1, nothing migrated.
# Why wrong: README's exit codes say 1 is "finished, but something needs a person (listed)"; this run neither
# finished nor listed anything (README: 2 "could not run", or 141 "stopped by ... a closed output"); docs/safety.md
# says of `| head`: "output never crashes the run ... a closed output stops the run cleanly (exit 141)"; cli.run's
# own comment: "never a bare traceback for a user".
@pytest.mark.parametrize("args", [("--migrate",), ("--list",), ("--migrate", "--json")])
def test_a_run_started_with_stdout_closed_is_one_honest_exit_never_a_traceback(school, tmp_path, args):
    r = Reseed(school)
    for i in range(3):
        r.child(f"c{i}", f"Pupil Number{i}", date_of_birth=f"2014-01-{i + 1:02d}", attendance=1)
    r.commit()
    err_path = tmp_path / "stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.run([sys.executable, str(ROOT / "migrate_orphaned_photos.py"), *args],
                              env={**os.environ, **school.env()}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=err, preexec_fn=lambda: os.close(1), timeout=60)
    err_text = err_path.read_text(errors="replace")
    assert "Traceback" not in err_text, err_text[-600:]
    migrated = all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)
    assert proc.returncode in (2, 141) or (proc.returncode == 0 and (migrated or args == ("--list",))), \
        (proc.returncode, err_text[-300:])
