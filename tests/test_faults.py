"""Faults, hostile input and interruption: both scripts survive them and lose nothing."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient

from conftest import ROOT, MongoTestServer, School, SilentProgress, drop_dac_capabilities, free_port
from student_photos.backups import BackupUnusable, read_backup
from student_photos.config import load_settings
from student_photos.errors import DatabaseError
from student_photos.records import InvalidEntry, StudentRecord, is_safe_id
from student_photos.report import SilentMeter, StopFlag
from student_photos.restore import RestoreOptions, run_restore
from student_photos.sample import jpeg_bytes

CANON = "/api/photos/students/{}/profile.jpg"
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), TEXT)
KEYS = st.text(alphabet="abcxyz_.-é", max_size=6)  # BSON keys cannot hold NUL or start with '$'
JSON_VALUES = st.recursive(SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                           st.dictionaries(KEYS, kids, max_size=4)), max_leaves=12)
IDS = st.one_of(st.uuids().map(str), st.sampled_from(["../up", "a/b", ".", "..", "", ".dot", "x\x00y", "\\",
                                                      "/abs", "ok_id-1.2"]), TEXT, SCALARS,
                st.fixed_dictionaries({"$oid": st.just("5f1e0c2a9d1b2c3d4e5f6a7b")}))
NAMES = st.one_of(TEXT, st.text(min_size=5000, max_size=6000), st.sampled_from(["Zoë Ñúñez", "李小龙", "\u202eevil"]),
                  SCALARS)
PHOTOS = st.one_of(SCALARS, st.sampled_from(["/api/photos/../../etc/passwd", "data:image/jpeg;base64,/9j/",
                                             "/api/photos/students/../../secret.jpg", "/api/photos/",
                                             "/api/photos/uploads/ok.jpg", "/api/photos/students//x"]),
                   st.dictionaries(KEYS, SCALARS, max_size=2))
STUDENT_DOCS = st.fixed_dictionaries({"student_id": IDS, "name": NAMES, "photo": PHOTOS},
                                     optional={"date_of_birth": st.one_of(TEXT, st.fixed_dictionaries(
                                         {"$date": st.one_of(TEXT, st.integers(-10**15, 10**15))}))})


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ---------------------------------------------------------------- hostile input, property-based
@settings(max_examples=300, deadline=None)
@given(body=st.one_of(JSON_VALUES, st.lists(STUDENT_DOCS, max_size=6),
                      st.fixed_dictionaries({"students": st.lists(st.one_of(STUDENT_DOCS, JSON_VALUES), max_size=6)})))
def test_backup_parsing_never_raises_anything_but_a_named_problem(body):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed_backup_20250101_0000.json"
        path.write_text(json.dumps(body))
        try:
            entries = list(read_backup(path, ("date_of_birth",)))
        except BackupUnusable as exc:
            assert str(exc)
            return
        for entry in entries:  # every entry is a record (safe id, or why not) or a named invalid entry
            if isinstance(entry, StudentRecord):
                assert entry.receivable == (entry.id_problem is None)
                assert not entry.receivable or is_safe_id(entry.student_id)
            else:
                assert isinstance(entry, InvalidEntry) and entry.reason


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_as_a_backup_are_a_named_problem(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed_backup_20250101_0000.json"
        path.write_bytes(raw)
        try:
            list(read_backup(path))
        except BackupUnusable as exc:
            assert str(exc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(backup_docs=st.lists(STUDENT_DOCS, max_size=5), db_docs=st.lists(STUDENT_DOCS, max_size=5),
       duplicate=st.booleans())
def test_hostile_students_end_in_a_defined_exit_and_nothing_outside(mongo_client, mongo_url, backup_docs, db_docs,
                                                                   duplicate):
    root = Path(tempfile.mkdtemp())
    school = School(root / "school", mongo_client, mongo_url)
    try:
        if duplicate and backup_docs:  # the same id with different data
            backup_docs = backup_docs + [{**backup_docs[0], "name": "Somebody Else"}]
        (school.photos / "uploads").mkdir()
        (school.photos / "uploads" / "ok.jpg").write_bytes(jpeg_bytes("ok"))
        (school.root / "secret.jpg").write_bytes(jpeg_bytes("secret"))
        school.write_backup(backup_docs)
        school.seed(db_docs)
        ours = ("school/photos/students", "school/photos/.student-photos")
        outside = {p for p in tree(root) if not p.startswith(ours)}

        result = school.restore("--json", "--force")

        document = json.loads(result.out)
        assert document["exit_code"] == result.code
        assert result.code in (0, 1) or "STUDENTS_COLLECTION wrong" in document["error"] \
            or "has a usable student_id" in document["error"], result.text  # (a backup that names no id at all)
        assert "Traceback" not in result.text
        now_outside = {p for p in tree(root) if not p.startswith(ours)}
        assert now_outside == outside, "nothing is created outside PHOTO_DIR/students"
        for folder in school.students_dir.iterdir():
            assert is_safe_id(folder.name)
            if (folder / "profile.jpg").exists():
                assert (folder / "profile.jpg").read_bytes() == jpeg_bytes("ok"), "only the evidence file"
    finally:
        mongo_client.drop_database(school.db_name)
        shutil.rmtree(root)


# ---------------------------------------------------------------- symlinks everywhere
def test_restore_never_works_through_symlinks(school):
    outside = school.root / "outside"
    (outside / "inner").mkdir(parents=True)
    (outside / "secret.jpg").write_bytes(jpeg_bytes("not a student photo"))
    linked_folder, linked_attendance, linked_photo = (school.new_student(n) for n in ("Folder", "Att", "Photo"))
    os.symlink(outside, school.folder(linked_folder["student_id"]))
    school.folder(linked_attendance["student_id"]).mkdir()
    os.symlink("/etc", school.folder(linked_attendance["student_id"]) / "attendance")
    school.put_photo(linked_photo["student_id"])
    (school.folder(linked_photo["student_id"]) / "profile.jpg").unlink()
    os.symlink(outside / "secret.jpg", school.folder(linked_photo["student_id"]) / "profile.jpg")
    docs = [linked_folder, linked_attendance, {**linked_photo, "photo": None}]
    school.seed(docs)
    school.write_backup(docs)
    before = tree(outside)

    result = school.restore()

    assert result.code == 1
    assert tree(outside) == before, "nothing written through the student folder symlink"
    assert "is a symlink; not followed" in result.out
    assert "Corrupt photo file (a symlink; not followed): Photo" in result.out
    assert school.db_docs()[linked_photo["student_id"]]["photo"] is None, "a symlinked photo is never linked"
    assert os.path.islink(school.folder(linked_attendance["student_id"]) / "attendance")


def test_migrate_never_reads_or_writes_through_symlinks(school):
    from test_migrate import Reseed
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=0)
    r.child("other", "Kid Two", date_of_birth="2015-02-02")
    r.commit()
    orphan = school.folder(r.old_id("kid"))
    shutil.rmtree(orphan / "attendance")
    os.symlink("/etc", orphan / "attendance")  # a hostile attendance/ inside an orphan
    outside = school.root / "outside"
    outside.mkdir()
    os.symlink(outside, school.folder(r.new_id("other")))  # the target student's folder is a symlink

    result = school.migrate("--migrate", "--json")

    report = {o["name"]: o for o in result.json["orphans"]}
    assert result.code == 1
    assert school.photo_of(r.new_id("kid")) == r.photos["kid"]
    assert not (school.folder(r.new_id("kid")) / "attendance" / "passwd").exists(), "never copied through /etc"
    assert list(outside.iterdir()) == [], "never wrote through the symlinked target"
    assert report[r.old_id("other")]["decision"] == "error"
    clean = {o["name"]: o for o in school.migrate("--clean", "--confirm", "--json").json["orphans"]}
    assert clean[r.old_id("kid")]["clean"] == "keep" and orphan.is_dir()
    assert os.path.exists("/etc/passwd")


@pytest.mark.parametrize("photo", [42, {"path": "/api/photos/uploads/ok.jpg"}, "data:image/jpeg;base64,/9j/4AAQ",
                                   "/api/photos/../secret.jpg", "/api/photos/uploads/../../secret.jpg"])
def test_odd_photo_fields_are_reported_never_followed(school, photo):
    (school.root / "secret.jpg").write_bytes(jpeg_bytes("outside the store"))
    (school.photos / "uploads").mkdir()
    (school.photos / "uploads" / "ok.jpg").write_bytes(jpeg_bytes("ok"))
    st_ = school.new_student("Odd Field")
    school.seed([{**st_, "photo": photo}])
    school.write_backup([{**st_, "photo": None}])

    result = school.restore("--force")

    assert result.code == 1
    assert school.photo_of(st_["student_id"]) is None
    assert "Traceback" not in result.text
    if not isinstance(photo, dict) and photo != 42 and ".." not in str(photo):
        assert "data URI" in result.out
    elif photo == 42 or isinstance(photo, dict):
        assert "photo field is a" in result.out
    else:
        assert "contains '..'" in result.out
    assert school.db_docs()[st_["student_id"]]["photo"] == photo


# ---------------------------------------------------------------- faults mid-run
class StopServerOnFirstStudent(SilentProgress):
    """A Progress that stops the database right after the students were read."""

    def __init__(self, server: MongoTestServer) -> None:
        self.server = server

    def student(self, index, total, outcome, verify_only):
        if index == 1:
            self.server.stop()


def test_database_lost_after_the_read_exits_2_and_a_rerun_completes(tmp_path):
    server = MongoTestServer(storage=str(tmp_path / "db")).start()
    client = MongoClient(server.url)
    school = School(tmp_path / "school", client, server.url)
    students = [school.new_student(f"P{i}") for i in range(20)]
    for s in students:
        school.put_photo(s["student_id"])
    school.seed([{**s, "photo": None} for s in students])
    school.write_backup(students)
    client.close()
    os.environ.update(school.env(DB_TIMEOUT_SECONDS="2"))
    try:
        settings_ = load_settings()
        with pytest.raises(DatabaseError) as lost:
            asyncio.run(run_restore(settings_, RestoreOptions(), StopServerOnFirstStudent(server), StopFlag()))
        assert "Failed to connect to database" in str(lost.value) or "Database error" in str(lost.value)
        server = MongoTestServer(storage=str(tmp_path / "db"), port=server.port).start()
        rerun = school.subprocess("restore_student_photos", "--json")
        assert rerun.code == 0, rerun.text
        assert rerun.json["summary"]["database_updated"] == 20
    finally:
        for key in school.env():
            os.environ.pop(key, None)
        server.stop()


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process


def test_copy_failing_partway_leaves_no_partial_file_and_a_rerun_completes(school):
    big, small = school.new_student("Big Photo"), school.new_student("Small Photo")
    (school.photos / "uploads").mkdir()
    (school.photos / "uploads" / "big.jpg").write_bytes(jpeg_bytes("big", size=300_000))
    (school.photos / "uploads" / "small.jpg").write_bytes(jpeg_bytes("small"))
    school.put_photo(school.new_student("Anchor")["student_id"])
    school.seed([{**big, "photo": "/api/photos/uploads/big.jpg"}, {**small, "photo": "/api/photos/uploads/small.jpg"}])
    school.write_backup([{**big, "photo": None}, {**small, "photo": None}])

    limited = school.subprocess("restore_student_photos", preexec_fn=_limit_file_size)

    assert limited.code == 1, limited.text
    assert "File too large" in limited.out
    assert school.photo_of(big["student_id"]) is None
    assert list(school.students_dir.rglob("*.partial")) == []
    assert school.photo_of(small["student_id"]) == jpeg_bytes("small"), "the run went on"
    rerun = school.subprocess("restore_student_photos")
    assert rerun.code == 0, rerun.text
    assert school.photo_of(big["student_id"]) == jpeg_bytes("big", size=300_000)


class SignalAt:
    """Deliver a real signal to this process when the restore's repair phase reaches its ``at``-th student."""

    def __init__(self, signum: int, at: int) -> None:
        self.signum, self.at, self.count = signum, at, 0

    def advance(self, count=1):
        self.count += count
        if self.count == self.at:
            os.kill(os.getpid(), self.signum)

    def done(self):
        pass


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_after_the_file_in_hand_prints_summary_and_releases_the_lock(school, signum, code, monkeypatch):
    from student_photos.console import Console
    students = [school.new_student(f"Pupil {i}") for i in range(4000)]
    school.put_photo(students[0]["student_id"])
    school.seed([{**s, "photo": None} for s in students])
    school.write_backup(students)
    hook = SignalAt(signum, 50)
    monkeypatch.setattr(Console, "phase", lambda self, name, total: hook if name == "Repairing" else SilentMeter())

    result = school.restore("--force")

    assert hook.count >= 50, "the signal was sent mid-repair"
    assert result.code == code, result.text
    assert f"🛑 Interrupted by {signal.Signals(signum).name}" in result.out
    assert "📊 RESTORATION SUMMARY" in result.out
    made = sum(1 for _ in school.students_dir.iterdir())
    assert 50 <= made < 4000, "stopped partway, after the files in hand"
    assert list(school.students_dir.rglob("*.partial")) == []
    assert all(d.get("photo") is None for d in school.db_docs().values()), "no link written after the stop"
    monkeypatch.undo()

    rerun = school.restore("--json", LOCK_WAIT_SECONDS="0")  # the lock was released
    assert rerun.code == 1  # 3999 photos are missing for real
    assert sum(1 for _ in school.students_dir.iterdir()) == 4000
    assert school.db_docs()[students[0]["student_id"]]["photo"] == CANON.format(students[0]["student_id"])


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_database_writes_stops_between_bulk_writes(school, signum, code):
    """A real signal to a real process, sent once the journal shows the first batch of links is on its way."""
    students = [school.new_student(f"Pupil {i}") for i in range(6000)]
    for s in students:
        (school.folder(s["student_id"]) / "attendance").mkdir(parents=True)
        (school.folder(s["student_id"]) / "profile.jpg").write_bytes(jpeg_bytes("p"))
    school.seed([{**s, "photo": None} for s in students])
    school.write_backup(students)
    journal = school.photos / ".student-photos" / "journal"
    proc = subprocess.Popen([sys.executable, str(ROOT / "restore_student_photos.py")],
                            env={**os.environ, **school.env()}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # at district size only students with something to say are printed: none
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_dir() and any('"type": "db"' in p.read_text() for p in journal.iterdir()):
            break
        time.sleep(0.005)
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - sent

    assert proc.returncode == code, out + err
    assert stopped_after < 3, f"took {stopped_after:.1f} s to stop"
    assert f"🛑 Interrupted by {signal.Signals(signum).name}" in out and "📊 RESTORATION SUMMARY" in out
    written = sum(1 for d in school.db_docs().values() if d.get("photo"))
    assert 1000 <= written < 6000, (written, out)
    assert f"✅ Database records updated: {written}" in out, "the summary counts what was written"
    rerun = school.restore("--json", LOCK_WAIT_SECONDS="0")
    assert rerun.code == 0 and rerun.json["summary"]["database_updated"] == 6000 - written


# ---------------------------------------------------------------- permissions, unprivileged
def test_unwritable_students_folder_is_reported_per_student(school):
    new = school.new_student("Needs Folder")
    school.put_photo(school.new_student("Existing")["student_id"])
    school.seed([new])
    school.write_backup([new])
    os.chmod(school.students_dir, 0o555)
    try:
        result = school.subprocess("restore_student_photos", preexec_fn=drop_dac_capabilities)
    finally:
        os.chmod(school.students_dir, 0o755)
    assert result.code == 1, result.text
    assert f"Failed to create directory {new['student_id']}/: Permission denied" in result.out


def test_unreadable_backup_is_skipped_or_refused_by_name(school):
    good = school.new_student("Good")
    school.put_photo(good["student_id"])
    school.seed([good])
    school.write_backup([good], name="seed_backup_20251101_0000.json")
    locked = school.write_backup([good], name="seed_backup_20251120_0000.json")
    os.chmod(locked, 0)
    newest = school.subprocess("restore_student_photos", "--verify-only", preexec_fn=drop_dac_capabilities)
    named = school.subprocess("restore_student_photos", "--backup-file", str(locked),
                              preexec_fn=drop_dac_capabilities)
    os.chmod(locked, 0o644)
    assert newest.code == 1
    assert "Skipped unusable backup seed_backup_20251120_0000.json: permission denied" in newest.out
    assert named.code == 2 and f"Backup file {locked} is unusable: permission denied" in named.err


def test_unreadable_photo_root_exits_2(school):
    school.write_backup([])
    os.chmod(school.photos, 0)
    try:
        result = school.subprocess("restore_student_photos", preexec_fn=drop_dac_capabilities)
    finally:
        os.chmod(school.photos, 0o755)
    assert result.code == 2 and "permission denied" in result.err.lower()


# ---------------------------------------------------------------- access and secrets
def test_wrong_password_against_an_authenticating_server(tmp_path):
    storage = str(tmp_path / "authdb")
    setup = MongoTestServer(storage=storage).start()
    admin = MongoClient(setup.url)
    admin["admin"].command("createUser", "photo_tool", pwd="right-horse-battery", roles=["root"])
    admin.close()
    setup.stop()
    server = MongoTestServer("--auth", storage=storage, port=free_port()).start()
    school = School(tmp_path / "school", MongoClient(server.url), server.url)
    school.write_backup([])
    secret = "Wr0ngPassw0rd-s3cret"
    try:
        url = f"mongodb://photo_tool:{secret}@127.0.0.1:{server.port}/?authSource=admin"
        for args in ((), ("--json",), ("--verify-only", "--quiet")):
            result = school.subprocess("restore_student_photos", *args, MONGO_URL=url)
            assert result.code == 2, result.text
            assert "Failed to connect to database: authentication failed" in result.text
            assert secret not in result.text
        migrate = school.subprocess("migrate_orphaned_photos", "--list", "--json", MONGO_URL=url)
        assert migrate.code == 2 and secret not in migrate.text
        good = school.subprocess("restore_student_photos", "--json",
                                 MONGO_URL=f"mongodb://photo_tool:right-horse-battery@127.0.0.1:{server.port}/"
                                           "?authSource=admin")
        assert good.code == 0, good.text
        assert "right-horse-battery" not in good.text
        assert "photo_tool:****@127.0.0.1" in good.json["database"]
    finally:
        server.stop()


def _permissive_umask():
    os.umask(0)


def test_created_folders_and_files_are_never_world_writable(school):
    st_ = school.new_student("Umask")
    (school.photos / "uploads").mkdir()
    (school.photos / "uploads" / "u.jpg").write_bytes(jpeg_bytes("u"))
    school.put_photo(school.new_student("Anchor")["student_id"])
    school.seed([{**st_, "photo": "/api/photos/uploads/u.jpg"}])
    school.write_backup([st_])
    result = school.subprocess("restore_student_photos", preexec_fn=_permissive_umask)
    assert result.code == 0, result.text
    for path in (school.folder(st_["student_id"]), school.folder(st_["student_id"]) / "attendance",
                 school.folder(st_["student_id"]) / "profile.jpg"):
        assert not os.stat(path).st_mode & stat.S_IWOTH, path


def test_runs_follow_the_process_umask(school):
    st_ = school.new_student("Umask 077")
    school.put_photo(school.new_student("Anchor")["student_id"])
    school.seed([st_])
    school.write_backup([st_])
    school.subprocess("restore_student_photos", preexec_fn=lambda: os.umask(0o077))
    assert stat.S_IMODE(os.stat(school.folder(st_["student_id"])).st_mode) == 0o700


def _hold_lock(photos: Path) -> subprocess.Popen:
    code = ("import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); "
            "print('locked', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(photos)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.parametrize("script,args", [("restore_student_photos", ()), ("migrate_orphaned_photos", ("--migrate",)),
                                         ("migrate_orphaned_photos", ("--clean", "--confirm"))])
def test_a_second_run_exits_2_and_a_killed_runs_lock_does_not_block(school, script, args):
    school.seed([])
    school.write_backup([])
    holder = _hold_lock(school.photos)
    try:
        blocked = school.subprocess(script, *args, LOCK_WAIT_SECONDS="0.5")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert blocked.code == 2
    assert "Another run is in progress" in blocked.err
    after_kill = school.subprocess(script, *args, LOCK_WAIT_SECONDS="0")
    assert after_kill.code == 0, after_kill.text
