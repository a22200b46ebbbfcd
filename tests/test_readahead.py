"""readahead: the helper process that asks the kernel to read orphaned folders ahead of a migration's copies.
It may only ever hint: never through a symlink, never a FIFO or device, never a write, never in the way of a run,
never holding the store's lock, and never outliving its run for long."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_migrate import Reseed

from conftest import ROOT
from student_photos import readahead
from student_photos.readahead import ReadAhead, hint_folder
from student_photos.sample import jpeg_bytes
from student_photos.store import PhotoStore, store_lock


def hinted(top: Path, name: str) -> list[str]:
    """The paths hint_folder would hint, by what each descriptor really is (/proc), and checked as regular files."""
    seen: list[str] = []

    def record(fd: int) -> None:
        assert stat.S_ISREG(os.fstat(fd).st_mode), "only a regular file is ever hinted"
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))

    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        hint_folder(fd, name, advise=record)
    finally:
        os.close(fd)
    return sorted(seen)


def snapshot(root: Path) -> dict[str, tuple]:
    return {str(p): (os.lstat(p).st_mode, os.lstat(p).st_size, os.lstat(p).st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def test_hints_only_regular_files_in_the_folder_never_through_a_symlink(tmp_path):
    students, outside = tmp_path / "students", tmp_path / "outside"
    folder = students / "old-id"
    (folder / "attendance" / "2025" / "deeper").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(jpeg_bytes("another child"))
    (folder / "profile.jpg").write_bytes(jpeg_bytes("own"))
    (folder / "attendance" / "a.jpg").write_bytes(jpeg_bytes("a"))
    (folder / "attendance" / "2025" / "b.jpg").write_bytes(jpeg_bytes("b"))
    (folder / "attendance" / "2025" / "deeper" / "c.jpg").write_bytes(jpeg_bytes("c"))  # below DEPTH: not hinted
    os.symlink(outside / "secret.jpg", folder / "link.jpg")
    os.symlink(outside, folder / "attendance" / "linked")
    os.mkfifo(folder / "attendance" / "pipe.jpg")  # opening it would block a plain open: never opened
    os.symlink(outside, students / "symlinked-id")
    before = snapshot(tmp_path)

    assert hinted(students, "old-id") == sorted(str(folder / rel) for rel in
                                                ("profile.jpg", "attendance/a.jpg", "attendance/2025/b.jpg"))
    assert hinted(students, "symlinked-id") == [], "a folder that is a symlink is never followed"
    assert hinted(students, "no-such-id") == []
    assert snapshot(tmp_path) == before, "hinting changes nothing"


ENTRY = st.sampled_from(["file", "folder", "symlink-file", "symlink-folder", "fifo"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.lists(st.tuples(st.integers(0, 3), ENTRY), min_size=1, max_size=12))
def test_every_hint_is_a_regular_file_reached_without_a_symlink(tmp_path_factory, layout):
    """Generated folders of files, folders, symlinks (to another child's folder) and FIFOs, nested at random:
    every hinted path is a regular file inside the orphan's own folder with no symlink on its way, and nothing
    changes."""
    root = tmp_path_factory.mktemp("tree")
    students, other = root / "students", root / "students" / "another-child"
    other.mkdir(parents=True)
    (other / "profile.jpg").write_bytes(jpeg_bytes("another child's face"))
    folder = students / "old-id"
    folder.mkdir()
    parents = [folder]
    for i, (depth, kind) in enumerate(layout):
        parent = parents[min(depth, len(parents) - 1)]
        path = parent / f"e{i}"
        if kind == "file":
            path.write_bytes(jpeg_bytes(str(i)))
        elif kind == "folder":
            path.mkdir()
            parents.append(path)
        elif kind == "symlink-file":
            os.symlink(other / "profile.jpg", path)
        elif kind == "symlink-folder":
            os.symlink(other, path)
        else:
            os.mkfifo(path)
    before = snapshot(root)

    for path in map(Path, hinted(students, "old-id")):
        rel = path.relative_to(folder)
        assert len(rel.parts) <= readahead.DEPTH
        walked = folder
        for part in rel.parts:
            walked = walked / part
            assert not walked.is_symlink(), f"{rel} was reached through a symlink"
        assert stat.S_ISREG(os.lstat(path).st_mode)
    assert snapshot(root) == before


def _helpers_of(pid: int) -> list[int]:
    """Running (not zombie) processes whose parent is ``pid`` and that run the read-ahead helper."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if b"readahead.py" in cmdline and int(fields["PPid"]) == pid and not fields["State"].startswith("Z"):
            found.append(int(entry))
    return found


def test_the_helper_is_named_a_window_ahead_and_ends_with_close(tmp_path):
    students = tmp_path / "students"
    names = [f"id-{i:02d}" for i in range(10)] + ["new\nline", os.fsdecode(b"bytes-\xff")]
    for name in names:
        (students / name).mkdir(parents=True)
        (students / name / "profile.jpg").write_bytes(jpeg_bytes(repr(name)))
    before = snapshot(tmp_path)

    ahead = ReadAhead(str(students), window=3)
    ahead.start(names)
    try:
        assert ahead.process is not None and ahead.given == 3
        ahead.reached(4)
        assert ahead.given == 7
        ahead.reached(len(names))
        assert ahead.given == len(names)
        assert _helpers_of(os.getpid()) == [ahead.process.pid]
    finally:
        ahead.close()
    assert ahead.process is None and _helpers_of(os.getpid()) == []
    assert snapshot(tmp_path) == before


def test_a_helper_that_cannot_start_is_simply_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    ahead = ReadAhead(str(tmp_path), window=8)
    ahead.start(["a", "b"])
    ahead.reached(2)
    ahead.close()
    assert ahead.process is None and ahead.given == 0


def test_the_helper_ends_by_itself_when_its_input_closes(tmp_path):
    (tmp_path / "a").mkdir()
    proc = subprocess.Popen([sys.executable, "-I", "-S", readahead.__file__, str(tmp_path)], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(b"a\0../escape\0a/b\0")  # names with a slash are never looked up
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""


def test_the_helper_never_holds_the_stores_lock_and_goes_when_its_run_is_killed(tmp_path):
    """kill -9 of the run: the helper's input closes and it ends; it never held the lock, so the next run
    can take it at once."""
    photos = tmp_path / "photos"
    (photos / "students" / "old").mkdir(parents=True)
    (photos / "students" / "old" / "profile.jpg").write_bytes(jpeg_bytes("old"))
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from student_photos.readahead import ReadAhead
        from student_photos.store import PhotoStore, store_lock
        from pathlib import Path
        store = PhotoStore(Path({str(photos)!r}))
        with store_lock(store, shared=False, wait_seconds=0):
            ahead = ReadAhead(store.students_text, window=4)
            ahead.start(["old"] * 3)
            print(ahead.process.pid, flush=True)
            held = sorted(os.readlink(f"/proc/{{ahead.process.pid}}/fd/{{fd}}")
                          for fd in os.listdir(f"/proc/{{ahead.process.pid}}/fd"))
            print(repr(held), flush=True)
            time.sleep(60)
    """)
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        helper = int(run.stdout.readline())
        held = eval(run.stdout.readline())  # noqa: S307 (our own repr of a list of paths)
        assert str(photos) not in held, "the helper must not inherit the store's lock"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{helper}/status").read_text()
            except FileNotFoundError:
                break
            if "\nState:\tZ" in state:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the helper outlived its killed run")
        with store_lock(PhotoStore(photos), shared=False, wait_seconds=0):
            pass
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def test_a_migration_leaves_no_helper_behind_and_copies_the_same(school):
    r = Reseed(school)
    for i in range(40):
        r.child(f"c{i}", f"Pupil Number{i}", date_of_birth=f"2014-01-{i % 28 + 1:02d}", attendance=1)
    r.commit()

    result = school.migrate("--migrate", "--json")

    assert result.code == 0, result.text
    assert result.json["counts"] == {"migrated": 40}
    r.assert_every_photo_is_its_own()
    for key in r.new:
        assert school.photo_of(r.new_id(key)) == r.photos[key]
    assert _helpers_of(os.getpid()) == []
