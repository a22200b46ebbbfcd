"""Round 17a probes (helper h17a): attacks on the read-ahead helper, and on the migrate run around it, that the
tool survived. Each asserts the safe behaviour, to guard against regressions."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_migrate import Reseed

from conftest import ROOT, drop_dac_capabilities
from student_photos import migrate, readahead

# A run of the real CLI in its own process that stops at a chosen moment (before the backups are read, before the
# first batch's copies, before the first removal) until the test has done its worst and says go.
RUNNER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[1])
    from student_photos import migrate
    ready, go, where = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    first = [True]

    def hold(real):
        def held(*args, **kwargs):
            if first[0]:
                first[0] = False
                os.write(ready, where.encode() + b"\\n")
                os.read(go, 1)
            return real(*args, **kwargs)
        return held

    if where == "matching":
        migrate.load_history = hold(migrate.load_history)
    elif where == "copy":
        migrate.Migrator.copy = hold(migrate.Migrator.copy)
    elif where == "clean":
        migrate.Cleaner._remove = hold(migrate.Cleaner._remove)
    from student_photos.cli import migrate_main, script_main
    script_main(lambda _argv: migrate_main(sys.argv[5:]))
""")


class Held:
    def __init__(self, school, where: str, *args: str, stdout=subprocess.PIPE) -> None:
        ready_r, ready_w = os.pipe()
        go_r, self.go = os.pipe()
        self.proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(ROOT), str(ready_w), str(go_r), where, *args],
                                     env={**os.environ, **school.env()}, stdout=stdout, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, pass_fds=(ready_w, go_r))
        os.close(ready_w)
        os.close(go_r)
        self.ready = ready_r

    def wait_held(self) -> None:
        assert os.read(self.ready, 100), "the run ended before reaching the held moment"

    def release(self) -> None:
        try:
            os.write(self.go, b"g")
        except BrokenPipeError:  # it was killed
            pass

    def finish(self) -> tuple[int, bytes, bytes]:
        try:
            out, err = self.proc.communicate(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.ready)
            os.close(self.go)
        return self.proc.returncode, out or b"", err or b""


def helpers_for(students: Path) -> list[int]:
    """Live (not zombie) read-ahead helpers of this school's students/, whoever their parent is now."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if any(c.endswith(b"readahead.py") for c in cmdline) and os.fsencode(students) in cmdline and state != "Z":
            found.append(int(entry))
    return found


def no_helper_soon(students: Path, seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := helpers_for(students)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def build(school, n: int = 6, attendance: int = 2) -> Reseed:
    r = Reseed(school)
    for i in range(n):
        r.child(f"c{i}", f"Pupil Number{i}", date_of_birth=f"2014-01-{i % 28 + 1:02d}", attendance=attendance)
    r.commit()
    return r


def all_own(school, r: Reseed) -> bool:
    return all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


# ---------------------------------------------------------------- signals at different moments
@pytest.mark.parametrize("where", ["matching", "copy"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_matching_or_copies_leaves_no_helper_and_an_honest_code(school, where, sig):
    r = build(school)
    run = Held(school, where, "--migrate")
    run.wait_held()
    assert helpers_for(school.students_dir), "the helper runs while the run matches and copies"
    run.proc.send_signal(sig)
    run.release()
    code, out, err = run.finish()
    assert code == (-9 if sig == signal.SIGKILL else 128 + sig), (code, err[-400:])
    assert b"Traceback" not in err
    if sig != signal.SIGKILL:
        assert "Interrupted by SIG" in out.decode() and "run again to finish" in out.decode()
    assert no_helper_soon(school.students_dir) == [], "a helper outlived its run"
    r.assert_every_photo_is_its_own()
    again = school.migrate("--migrate")
    assert again.code == 0, again.text[-800:]
    assert all_own(school, r)


def test_a_second_run_is_refused_by_the_lock_and_a_stopped_helper_never_holds_up_the_first(school):
    r = build(school)
    run = Held(school, "copy", "--migrate")
    run.wait_held()
    helpers = helpers_for(school.students_dir)
    assert len(helpers) == 1
    os.kill(helpers[0], signal.SIGSTOP)  # a helper that makes no progress at all
    second = school.subprocess("migrate_orphaned_photos", "--clean", "--confirm", timeout=60)
    assert second.code == 2 and "Another run is in progress" in second.err, second.text[-400:]
    assert helpers_for(school.students_dir) == helpers, "the refused run started no helper"
    run.release()
    code, _, err = run.finish()
    assert code == 0, err[-400:]
    assert no_helper_soon(school.students_dir) == [], "a stopped helper was not ended with its run"
    assert all_own(school, r)


def test_a_closed_output_mid_run_is_141_leaves_no_helper_and_a_rerun_completes(school):
    r = build(school, 30, attendance=1)
    read_end, write_end = os.pipe()
    run = Held(school, "copy", "--migrate", stdout=write_end)
    os.close(write_end)
    run.wait_held()
    os.close(read_end)  # `| head` has gone
    run.release()
    code, _, err = run.finish()
    assert code == 141 and b"Traceback" not in err, (code, err[-400:])
    assert no_helper_soon(school.students_dir) == []
    r.assert_every_photo_is_its_own()
    again = school.migrate("--migrate", "--json")
    assert again.code == 0 and again.json["counts"] == {"migrated": 30}
    assert all_own(school, r)


# ---------------------------------------------------------------- --clean --confirm after --migrate
def test_a_clean_killed_mid_removal_then_run_again_deletes_nothing_unique(school):
    r = build(school, 10)
    assert school.migrate("--migrate").code == 0
    run = Held(school, "clean", "--clean", "--confirm")
    run.wait_held()
    run.proc.send_signal(signal.SIGKILL)
    run.release()
    assert run.finish()[0] == -9
    assert no_helper_soon(school.students_dir) == []
    again = school.migrate("--clean", "--confirm")
    assert again.code == 0, again.text[-800:]
    assert sorted(os.listdir(school.students_dir)) == sorted(r.new_id(k) for k in r.new)
    assert all_own(school, r)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_clean_stopped_by_a_signal_counts_only_what_it_removed(school, sig):
    r = build(school, 30, attendance=1)
    assert school.migrate("--migrate").code == 0
    run = Held(school, "clean", "--clean", "--confirm", "--json")
    run.wait_held()
    run.proc.send_signal(sig)
    run.release()
    code, out, err = run.finish()
    assert code == 128 + sig, err[-400:]
    report = json.loads(out)
    removed = sum(1 for o in report["orphans"] if o.get("clean") == "removed")
    left = {r.old_id(k) for k in r.old} & set(os.listdir(school.students_dir))
    assert removed == report["counts"].get("clean removed", 0) == 30 - len(left)  # (all 30 when the signal came late)
    assert no_helper_soon(school.students_dir) == []
    assert all_own(school, r)


# ---------------------------------------------------------------- odd folders, seen by the helper itself
PATCH = r'''
import os, runpy, stat, sys
log = os.open(sys.argv[3], os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
real_advise, real_open = os.posix_fadvise, os.open
def note(kind, fd):
    mode = os.fstat(fd).st_mode
    what = "reg" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "other"
    os.write(log, f"{kind} {what} ".encode() + os.fsencode(os.readlink(f"/proc/self/fd/{fd}")) + b"\0")
def fadvise(fd, *args):
    note("hint", fd)
    return real_advise(fd, *args)
def opened(*args, **kwargs):
    fd = real_open(*args, **kwargs)
    note("open", fd)
    return fd
os.posix_fadvise, os.open = fadvise, opened
path = sys.argv[1]
sys.argv = [path, sys.argv[2]]
runpy.run_path(path, run_name="__main__")
'''

ODD = ["new\nline-id", "-leading-dash", "with space id", "--migrate", "é-accent"] + \
      [f"{i:02d}" + "y" * 240 for i in range(20)]  # 20 names of 242 bytes: more than one atomic pipe write


def test_odd_names_reach_the_helper_and_it_hints_only_regular_files_of_orphaned_folders(school, tmp_path,
                                                                                        monkeypatch):
    """The real helper, spied on from inside (every descriptor it opens and hints, by what /proc says it is), in
    a real --migrate with a window of 4: names with a newline, a leading dash, spaces, non-ASCII and 242 bytes
    all arrive; nothing outside an orphaned folder, no symlink target, no FIFO is ever opened."""
    log = tmp_path / "helper.log"
    (tmp_path / "patch.py").write_text(PATCH)
    wrapper = tmp_path / "python-spy"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S {tmp_path / "patch.py"} "$3" "$4" {log}\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(wrapper))
    monkeypatch.setattr(migrate, "READ_AHEAD_WINDOW", 4)
    r = Reseed(school)
    for i, name in enumerate(ODD):
        r.child(f"k{i}", f"Pupil Odd{i}", date_of_birth=f"2014-02-{i % 28 + 1:02d}", old_id=name, attendance=1)
    r.commit()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"another child's face")
    os.symlink(outside, school.students_dir / "zz-symlinked")
    os.symlink(outside / "secret.jpg", school.folder(r.old_id("k0")) / "attendance" / "l.jpg")
    os.mkfifo(school.folder(r.old_id("k1")) / "attendance" / "f.jpg")
    os.mkfifo(school.students_dir / "zz-fifo")
    expected = {os.fsencode(p) for name in ODD for p in (school.students_dir / name).rglob("*")
                if p.is_file() and not p.is_symlink()}

    def entries() -> list[list[bytes]]:
        return [e.split(b" ", 2) for e in log.read_bytes().split(b"\0") if e] if log.exists() else []

    real_close = readahead.ReadAhead.close

    def close(self) -> None:  # let it finish before the run ends it, so what it hints can be compared
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not expected <= {p for k, _, p in entries() if k == b"hint"}:
            time.sleep(0.02)
        real_close(self)

    monkeypatch.setattr(readahead.ReadAhead, "close", close)
    result = school.migrate("--migrate")

    assert result.code == 1, result.text[-800:]  # the symlink, the FIFO and the unknown long ids need a person
    seen = entries()
    assert expected <= {p for kind, _, p in seen if kind == b"hint"}
    for _kind, what, path in seen:
        assert what in (b"reg", b"dir"), path
        assert path.startswith(os.fsencode(school.students_dir)), path
    assert not any(os.fsencode(outside) in p or p.endswith(b"zz-fifo") for _, _, p in seen)
    r.assert_every_photo_is_its_own()
    assert no_helper_soon(school.students_dir) == []


# ---------------------------------------------------------------- unreadable folders, a symlinked PHOTO_DIR
def test_unreadable_folders_without_dac_override_are_honest_and_kept(school):
    r = build(school, 4, attendance=1)
    school.folder(r.old_id("c0")).chmod(0)
    (school.folder(r.old_id("c1")) / "attendance").chmod(0)
    (school.folder(r.old_id("c2")) / "profile.jpg").chmod(0)
    try:
        first = school.subprocess("migrate_orphaned_photos", "--migrate", preexec_fn=drop_dac_capabilities,
                                  timeout=60)
        assert first.code == 1 and "Traceback" not in first.err, first.text[-800:]
        clean = school.subprocess("migrate_orphaned_photos", "--clean", "--confirm",
                                  preexec_fn=drop_dac_capabilities, timeout=60)
        assert clean.code == 1 and "Traceback" not in clean.err, clean.text[-800:]
        assert no_helper_soon(school.students_dir) == []
        for key in ("c0", "c1", "c2"):
            assert school.folder(r.old_id(key)).exists(), f"{key}'s unreadable folder was removed"
        assert not school.folder(r.old_id("c3")).exists()
        assert school.photo_of(r.new_id("c3")) == r.photos["c3"]
        r.assert_every_photo_is_its_own()
    finally:
        school.folder(r.old_id("c0")).chmod(0o755)
        (school.folder(r.old_id("c1")) / "attendance").chmod(0o755)
        (school.folder(r.old_id("c2")) / "profile.jpg").chmod(0o644)


def test_a_photo_dir_that_is_a_symlink_migrates_and_cleans_its_own_store(school, tmp_path):
    r = build(school, 4, attendance=1)
    link = tmp_path / "photo-link"
    os.symlink(school.photos, link)
    first = school.subprocess("migrate_orphaned_photos", "--migrate", PHOTO_DIR=str(link), timeout=60)
    assert first.code == 0, first.text[-800:]
    clean = school.subprocess("migrate_orphaned_photos", "--clean", "--confirm", PHOTO_DIR=str(link), timeout=60)
    assert clean.code == 0, clean.text[-800:]
    assert sorted(os.listdir(school.students_dir)) == sorted(r.new_id(k) for k in r.new)
    assert all_own(school, r)
    assert no_helper_soon(school.students_dir) == [] and no_helper_soon(link / "students") == []


# ---------------------------------------------------------------- folders swapped while the run copies
@pytest.mark.parametrize("how", ["swapped", "symlink", "attendance-symlink"])
def test_a_folder_swapped_after_its_survey_never_sends_a_photo_to_another_child(school, monkeypatch, how):
    r = Reseed(school)
    r.child("a", "Ann Alpha", date_of_birth="2014-01-01", attendance=2)
    r.child("b", "Bob Beta", date_of_birth="2015-02-02", attendance=2)
    r.commit()
    a, b = school.folder(r.old_id("a")), school.folder(r.old_id("b"))
    own = {key: {p.relative_to(f): p.read_bytes() for p in f.rglob("*") if p.is_file()}
           for key, f in (("a", a), ("b", b))}
    real = migrate.Migrator.copy
    first = [True]

    def copy(self, works):
        if first[0]:
            first[0] = False
            if how == "swapped":
                os.rename(a, a.with_name("tmp"))
                os.rename(b, a)
                os.rename(a.with_name("tmp"), b)
            elif how == "symlink":
                os.rename(a, a.with_name("a-away"))
                os.symlink(b, a)
            else:
                os.rename(a / "attendance", a / "attendance-away")
                os.symlink(b / "attendance", a / "attendance")
        return real(self, works)

    monkeypatch.setattr(migrate.Migrator, "copy", copy)
    result = school.migrate("--migrate")

    assert result.code == 1, result.text[-800:]
    for key in ("a", "b"):
        folder = school.folder(r.new_id(key))
        for path in (p for p in folder.rglob("*") if p.is_file()):
            assert own[key].get(path.relative_to(folder)) == path.read_bytes(), \
                f"{key}'s new folder holds a file that is not {key}'s: {path.relative_to(folder)}"
