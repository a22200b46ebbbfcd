"""Cron-grade honesty: never "all done" when it isn't, never a hang, never a crash midway, every line counted."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from test_migrate import Reseed

from conftest import BACKUP_NAME, ROOT, MongoTestServer, School, SilentProgress, drop_dac_capabilities, free_port
from student_photos.config import load_settings, mask_url
from student_photos.console import Console
from student_photos.sample import jpeg_bytes

CANON = "/api/photos/students/{}/profile.jpg"


def healthy_school(school: School, n: int = 3) -> list[dict]:
    students = [school.new_student(f"Pupil {i}") for i in range(n)]
    for student in students:
        school.put_photo(student["student_id"])
    school.seed(students)
    school.write_backup(students)
    return students


# ---------------------------------------------------------------- "all done" only when it is
@pytest.mark.parametrize("wrong", [{"DB_NAME": "school_attendence"}, {"STUDENTS_COLLECTION": "pupils"}, "empty"])
def test_a_wrong_or_empty_database_is_exit_2_never_all_done(school, wrong):
    students = healthy_school(school)
    (school.folder(students[0]["student_id"]) / "profile.jpg").write_bytes(b"")  # something is wrong on disk
    env = wrong if isinstance(wrong, dict) else {}
    if wrong == "empty":
        school.collection.delete_many({})

    for args in (("--verify-only", "--quiet"), ("--verify-only", "--json")):
        result = school.restore(*args, **env)
        assert result.code == 2, result.text
        assert "all done" not in result.text
        assert "No students in database" in result.text and "holds 3" in result.text
        assert "collection" in result.text
    listed = school.migrate("--list", **env)
    assert listed.code == 2 and "No students in database" in listed.err


def test_a_database_far_smaller_than_the_backup_is_refused_and_the_ratio_can_be_lowered(school):
    students = healthy_school(school, 10)
    school.collection.delete_many({"student_id": {"$in": [s["student_id"] for s in students[:7]]}})
    refused = school.restore("--verify-only")
    assert refused.code == 2 and "Only 3 students" in refused.err and "against 10" in refused.err
    assert school.restore("--verify-only", MIN_DATABASE_RATIO="0").code == 0


def test_verify_only_exits_1_whenever_a_restore_would_change_something(school):
    students = healthy_school(school, 30)
    school.collection.update_many({}, {"$set": {"photo": None}})
    for student in students[:10]:
        shutil.rmtree(school.folder(student["student_id"]) / "attendance")

    result = school.restore("--verify-only", "--quiet")

    assert result.code == 1, result.text
    assert "a restore would make 40 change(s): run restore_student_photos.py to apply them (exit 1)" in result.out
    assert school.restore().code == 0
    assert school.restore("--verify-only", "--quiet").code == 0


def test_a_refused_restore_writes_nothing(school):
    students = healthy_school(school)
    shutil.rmtree(school.students_dir)  # the share is not mounted: no students/ at all
    before = school.snapshot()
    result = school.restore()
    assert result.code == 2 and "is the share mounted?" in result.err
    assert school.snapshot() == before and not school.students_dir.exists()
    assert students


def test_migrate_never_advises_a_flag_it_does_not_have(school):
    school.write_backup([])
    result = school.migrate("--list", PHOTO_DIR=str(school.root / "unmounted"))
    assert result.code == 2 and "--force" not in result.text and "is the share mounted?" in result.err


@pytest.mark.parametrize("bad,state", [(b"", "empty file"), (b"<html>502</html>", "not a JPEG"),
                                       (jpeg_bytes("cut")[:300], "cut short")])
def test_one_photo_check_for_both_scripts(school, bad, state):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    (school.folder(r.old_id("kid")) / "profile.jpg").write_bytes(bad)

    listed = school.migrate("--list")
    migrated = school.migrate("--migrate", "--json")

    assert f"❌ profile.jpg is not a usable photo ({state}" in listed.out and "✅ Has profile.jpg" not in listed.out
    orphan = migrated.json["orphans"][0]
    assert migrated.code == 1 and len(orphan["not_carried"]) == 1
    assert orphan["not_carried"][0].startswith(f"profile.jpg ({state}")
    assert school.photo_of(r.new_id("kid")) is None, "a photo restore would call corrupt is never carried"
    assert orphan["copied"] == 1, "its attendance photo is"
    school.put_photo(r.new_id("kid"), bad)
    assert f"Corrupt photo file ({state}" in school.restore("--verify-only").out


@pytest.mark.parametrize("odd", ["Profile.JPG", "Attendance/2025-11-10_AM.jpg", "notes.txt"])
def test_anything_not_carried_is_a_problem_named(school, odd):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", photo=False)
    r.commit()
    path = school.folder(r.old_id("kid")) / odd
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes("real photo, odd name"))

    result = school.migrate("--migrate", "--json")

    orphan = result.json["orphans"][0]
    assert result.code == 1
    assert orphan["decision"] == "not carried" and odd in orphan["not_carried"][0]
    text = school.migrate("--list")
    assert f"⚠️  Not carried: {odd}" in text.out
    assert "0 file(s) copied" not in text.out


def test_an_unreadable_orphan_or_attendance_folder_is_a_problem(school):
    r = Reseed(school)
    r.child("locked", "Locked Kid", date_of_birth="2015-01-01", attendance=2)
    r.child("half", "Half Kid", date_of_birth="2015-02-02", attendance=3)
    r.commit()
    locked, attendance = school.folder(r.old_id("locked")), school.folder(r.old_id("half")) / "attendance"
    os.chmod(locked, 0)
    os.chmod(attendance, 0)
    try:
        result = school.subprocess("migrate_orphaned_photos", "--migrate", "--json", preexec_fn=drop_dac_capabilities)
    finally:
        os.chmod(locked, 0o755)
        os.chmod(attendance, 0o755)
    orphans = {o["name"]: o for o in result.json["orphans"]}
    assert result.code == 1
    assert orphans[r.old_id("locked")]["decision"] == "error"
    assert "Permission denied" in orphans[r.old_id("locked")]["reason"]
    half = orphans[r.old_id("half")]
    assert half["decision"] == "error" and any("attendance/" in e for e in half["errors"])


def test_clean_and_list_give_one_decision_for_a_conflict(school):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    school.put_photo(r.new_id("kid"), jpeg_bytes("uploaded after the reseed"))
    listed = {o["name"]: o for o in school.migrate("--list", "--json").json["orphans"]}
    cleaned = school.migrate("--clean", "--json")
    orphan = {o["name"]: o for o in cleaned.json["orphans"]}[r.old_id("kid")]
    assert listed[r.old_id("kid")]["decision"] == orphan["decision"] == "conflict"
    assert orphan["clean"] == "keep" and cleaned.json["counts"]["conflict"] == 1
    assert "run --migrate first" not in orphan["clean_reason"]


def test_restore_counts_match_the_lines(school):
    good = school.new_student("Good")
    school.put_photo(good["student_id"])
    bad_ids = [{"student_id": 7, "name": "Int Id"}, {"student_id": "a b", "name": "Space Id"}]
    school.seed([good, *bad_ids])
    school.write_backup([good, *bad_ids, {"student_id": "../up", "name": "Dotted"}])

    result = school.restore("--json")
    text = school.restore()

    assert result.json["summary"]["invalid_ids"] == len([p for p in result.json["problems"]
                                                        if p["problem"] == "invalid id"]) == 5
    assert text.out.count("❌ invalid id:") == 5
    assert "❌ Invalid student ids: 5" in text.out


def test_zero_counts_are_not_shown_as_problems(school):
    healthy_school(school)
    out = school.restore().out
    for row in ("Photos corrupt: 0", "Invalid student ids: 0", "Errors: 0"):
        assert f"✅ {row}" in out and f"❌ {row}" not in out


# ---------------------------------------------------------------- never hang
def test_a_fifo_named_like_a_backup_never_hangs_and_releases_the_lock(school):
    healthy_school(school)
    os.mkfifo(school.backups / "seed_backup_20991231_2359.json")
    started = time.monotonic()
    result = school.subprocess("restore_student_photos", "--verify-only", timeout=60)
    assert time.monotonic() - started < 30
    assert result.code == 1, result.text
    assert "Skipped unusable backup seed_backup_20991231_2359.json: is a FIFO, not a regular file" in result.out
    assert school.subprocess("restore_student_photos", "--verify-only", LOCK_WAIT_SECONDS="0").code == 1


@pytest.mark.parametrize("args", [("--list",), ("--migrate",), ("--clean",), ("--clean", "--confirm")])
def test_a_fifo_as_the_students_profile_never_hangs_migrate(school, args):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    school.folder(r.new_id("kid")).mkdir()
    os.mkfifo(school.folder(r.new_id("kid")) / "profile.jpg")
    result = school.subprocess("migrate_orphaned_photos", *args, "--json", timeout=60)
    assert result.code == 1, result.text
    assert result.json["orphans"][0]["decision"] == "conflict"
    assert school.photo_of(r.old_id("kid")) == r.photos["kid"]


def test_a_backup_broken_in_its_first_record_is_never_read_whole(school, tmp_path):
    healthy_school(school)
    big = school.backups / "seed_backup_20991231_2359.json"
    filler = json.dumps({"student_id": "x" * 20, "name": "y" * 200}) + ","
    with open(big, "w") as handle:
        handle.write('{"students": [{"student_id": "a", "name": oops}, ')
        for _ in range(250_000):  # about 60 MB after the error
            handle.write(filler)
        handle.write("{}]}")
    other = school.backups / "seed_backup_20991230_2359.json"
    with open(other, "w") as handle:  # a valid backup with a huge key the tool does not need
        handle.write('{"classes": [')
        handle.write(",".join([json.dumps({"c": "z" * 200})] * 250_000))
        handle.write('], "students": []}')
    code = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode); print(p.stdout[-3000:])")
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, str(ROOT / "restore_student_photos.py"),
                           "--verify-only", "--backup-file", str(other)], env={**os.environ, **school.env()},
                          capture_output=True, text=True, timeout=300)
    peak_kb, exit_code = (int(x) for x in proc.stdout.splitlines()[0].split())
    assert peak_kb < 150_000, f"peak RSS {peak_kb // 1024} MB for 60 MB backups"
    assert exit_code in (0, 1), proc.stdout
    assert "seed_backup_20991231_2359.json" in proc.stdout and "not valid JSON" in proc.stdout


# ---------------------------------------------------------------- output never crashes the run
def test_a_closed_stdout_stops_cleanly_and_every_placed_copy_is_audited(school):
    r = Reseed(school)
    for i in range(150):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=1)
    r.commit()
    env = {**os.environ, **school.env()}
    proc = subprocess.Popen(f"'{sys.executable}' '{ROOT / 'migrate_orphaned_photos.py'}' --migrate | head -n 5",
                            shell=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            executable="/bin/bash")
    out, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"Unexpected error" not in err, err
    placed = {str(p.relative_to(school.students_dir)) for k in r.new
              for p in school.folder(r.new_id(k)).rglob("*.jpg")} if True else set()
    audit = school.photos / ".migrations" / "audit.jsonl"
    audited = {f"{e['new_id']}/{f['file']}" for line in audit.read_text().splitlines()
               for e in [json.loads(line)] for f in e["files"]} if audit.exists() else set()
    assert placed == audited, "every placed copy has its audit line"
    rerun = school.migrate("--migrate")
    assert rerun.code == 0
    audited = {f"{e['new_id']}/{f['file']}" for line in audit.read_text().splitlines()
               for e in [json.loads(line)] for f in e["files"]}
    assert len(audited) == 300, "the rerun completes, and every copy is named once"


def test_pipe_closed_gives_exit_141_and_the_stop_reason(school):
    healthy_school(school, 3000)
    proc = subprocess.run(f"'{sys.executable}' '{ROOT / 'restore_student_photos.py'}' --verify-only | head -n 3; "
                          "echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, env={**os.environ, **school.env()}, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "141", proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "latin-1"}, {"PYTHONIOENCODING": "ascii"},
                                 {"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}])
def test_odd_encodings_and_undecodable_folder_names_never_crash(school, env):
    r = Reseed(school)
    r.child("kid", "Zoë Ñúñez", date_of_birth="2015-01-01")
    r.commit()
    odd = os.fsencode(str(school.students_dir)) + b"/bad-\xff\xfe-name"
    os.mkdir(odd)
    with open(odd + b"/profile.jpg", "wb") as handle:
        handle.write(jpeg_bytes("who?"))
    full_env = {**os.environ, **school.env(), **env}
    for script, args in (("migrate_orphaned_photos", ("--list",)), ("migrate_orphaned_photos", ("--migrate",)),
                         ("restore_student_photos", ("--verify-only",)), ("migrate_orphaned_photos", ("--list",
                                                                                                       "--json"))):
        proc = subprocess.run([sys.executable, str(ROOT / f"{script}.py"), *args], env=full_env, capture_output=True,
                              timeout=120)
        text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        assert proc.returncode in (0, 1), text
        assert "Traceback" not in text and "Unexpected error" not in text
    names = [o["name"] for o in json.loads(proc.stdout)["orphans"]]
    assert "bad-\\xff\\xfe-name" in names


# ---------------------------------------------------------------- messages
PASSWORDS = st.text(alphabet="ZQXJKWqxjkz@/?#:%!$&*=+-_", min_size=8, max_size=24)  # nothing the output says


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=PASSWORDS, mode=st.sampled_from([(), ("--json",), ("--quiet",), ("--verify-only", "--quiet")]))
def test_no_part_of_a_password_is_ever_shown(school, password, mode):
    school.write_backup([])
    url = f"mongodb://photo_tool:{password}@127.0.0.1:9/school?authSource=admin"
    result = school.restore(*mode, MONGO_URL=url, DB_TIMEOUT_SECONDS="0.2")
    assert result.code == 2
    shown = result.text
    for i in range(len(password) - 4):
        assert password[i:i + 5] not in shown, (password, shown)
    assert "photo_tool" in shown or "must be escaped" in shown or "did not answer" in shown


@pytest.mark.parametrize("url", ["mongodb://user:Qz?Xw@127.0.0.1:9/", "mongodb://user:Qz/Xw@127.0.0.1:9/",
                                 "mongodb://user:Q@zXw@127.0.0.1:9/"])
def test_an_unescaped_password_gets_advice_to_escape_it(school, url):
    school.write_backup([])
    for args in ((), ("--json",), ("--quiet",)):
        result = school.restore(*args, MONGO_URL=url)
        assert result.code == 2 and "must be escaped" in result.text and "did not answer" not in result.text
        assert "Qz" not in result.text and "Xw" not in result.text and "user:****@127.0.0.1:9" in result.text


def test_a_url_that_names_a_database_is_the_default_db_name(tmp_path):
    settings_ = load_settings(environ={"MONGO_URL": "mongodb://h:27017/school_attendance?x=1",
                                       "STUDENT_PHOTOS_ENV_FILE": str(tmp_path / "none")})
    assert settings_.db_name == "school_attendance"
    assert mask_url("mongodb://u:s3cr3t@h/db?authSource=admin") == "mongodb://u:****@h/db"


def test_a_user_without_read_permission_gets_one_line_and_the_least_privileged_role_works(tmp_path):
    storage = str(tmp_path / "authdb")
    setup = MongoTestServer(storage=storage, replica_set=False).start()
    admin = MongoClient(setup.url)
    admin["admin"].command("createUser", "noread", pwd="no-read-pw-123", roles=[])
    admin["admin"].command("createRole", "photoTool", roles=[], privileges=[
        {"resource": {"db": "school", "collection": "students"}, "actions": ["find", "update"]}])
    admin["admin"].command("createUser", "photo_tool", pwd="tool-pw-456", roles=[{"role": "photoTool", "db": "admin"}])
    school = School(tmp_path / "school", admin, setup.url)
    school.db_name = "school"
    school.collection = admin["school"]["students"]
    students = [school.new_student(f"P{i}") for i in range(2)]
    for st_ in students:
        school.put_photo(st_["student_id"])
    school.seed([{**s, "photo": None} for s in students])
    school.write_backup(students)
    admin.close()
    setup.stop()
    server = MongoTestServer("--auth", storage=storage, port=free_port(), replica_set=False).start()
    owner = MongoClient(f"mongodb://photo_tool:tool-pw-456@127.0.0.1:{server.port}/?authSource=admin")
    school.collection = owner["school"]["students"]
    try:
        denied = school.subprocess("restore_student_photos", "--verify-only",
                                   MONGO_URL=f"mongodb://noread:no-read-pw-123@127.0.0.1:{server.port}/?authSource=admin")
        assert denied.code == 2
        assert len(denied.err.strip().splitlines()) == 1 and "permission denied" in denied.err
        assert "full error" not in denied.text and "no-read-pw-123" not in denied.text
        tool_url = f"mongodb://photo_tool:tool-pw-456@127.0.0.1:{server.port}/school?authSource=admin"
        restored = school.subprocess("restore_student_photos", MONGO_URL=tool_url, DB_NAME="")
        assert restored.code == 0, restored.text
        assert all(d["photo"] == CANON.format(sid) for sid, d in school.db_docs().items())
    finally:
        owner.close()
        server.stop()


def test_backup_folder_missing_and_look_alikes_are_named(school):
    healthy_school(school)
    missing = school.restore(BACKUP_DIR=str(school.root / "no-such-folder"))
    assert missing.code == 2 and "Backup folder" in missing.err and "does not exist" in missing.err
    (school.backups / "seed_backup_2025-11-16.json").write_text("{}")
    (school.backups / "backup_copy.json").write_text("{}")
    result = school.restore("--verify-only", "--json")
    ignored = {i["file"] for i in result.json["backup"]["ignored"]}
    assert ignored == {"seed_backup_2025-11-16.json", "backup_copy.json"}
    assert result.code == 1, "found by an adversarial review: an ignored look-alike may be the newest backup"
    before = school.snapshot()
    writing = school.restore()
    assert writing.code == 2 and "seed_backup_2025-11-16.json" in writing.err and school.snapshot() == before
    assert school.migrate("--migrate").code == 2
    text = school.migrate("--list")
    assert "⚠️  Ignored seed_backup_2025-11-16.json: name does not match seed_backup_YYYYMMDD_HHMM[SS].json" \
        in text.out
    for name in ("seed_backup_2025-11-16.json", "backup_copy.json"):
        (school.backups / name).unlink()
    (school.backups / "._seed_backup_20251116_0000.json").write_bytes(b"\x00\x05\x16\x07 macOS metadata")
    assert school.restore().code == 0, "a Mac's ._ file beside a backup is no backup"
    (school.backups / "nightly.json").write_text(school.backups.joinpath(BACKUP_NAME).read_text())
    named = school.restore("--backup-file", str(school.backups / "nightly.json"))
    assert named.code == 0, named.text


def test_the_system_python_without_the_environment_is_exit_2_with_the_command(school):
    proc = subprocess.run([sys.executable, "-S", str(ROOT / "restore_student_photos.py"), "--verify-only"],
                          capture_output=True, text=True, env={**os.environ, **school.env()}, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt" in proc.stderr


def test_demo_exits_with_the_restores_own_code(tmp_path):
    env = {**os.environ, "DEMO_DIR": str(tmp_path / "demo"), "EMBEDDED_DB_DIR": str(tmp_path / "data")}
    env.pop("MONGO_URL", None)
    bad = subprocess.run(["bash", str(ROOT / "demo.sh"), "--no-such-flag"], capture_output=True, text=True,
                         env=env, timeout=600)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    verify = subprocess.run(["bash", str(ROOT / "demo.sh"), "--verify-only"], capture_output=True, text=True,
                            env=env, timeout=600)
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert "Former Pupil" in verify.stdout and not (tmp_path / "demo" / "photos" / "students" /
                                                    _sample_id("Former Pupil")).exists()


def _sample_id(name: str) -> str:
    from student_photos.sample import sample_id
    return sample_id(name)


# ---------------------------------------------------------------- long runs show where they are
class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_on_a_terminal_only():
    for quiet, as_json, stream, drawn in ((False, False, FakeTerminal(), True), (True, False, FakeTerminal(), False),
                                          (False, True, FakeTerminal(), False), (False, False, io.StringIO(), False)):
        console = Console(stream, io.StringIO(), quiet=quiet, as_json=as_json)
        meter = console.phase("Checking folders", 1000)
        if hasattr(meter, "started"):
            meter.started -= 2  # a phase that has run for two seconds
        meter.advance(500)
        meter.done()
        assert ("⏳ Checking folders" in stream.getvalue()) is drawn
        if drawn:
            assert "500/1000" in stream.getvalue() and "/s ETA" in stream.getvalue()


def test_district_size_prints_only_students_with_something_to_say(school):
    students = [school.new_student(f"Pupil {i}") for i in range(2100)]
    for st_ in students[:-1]:
        school.put_photo(st_["student_id"])
    school.seed([{**s, "photo": None} for s in students])
    school.write_backup(students)
    result = school.restore("--verify-only")
    assert result.code == 1
    assert result.out.count("\n[") == 1, "only the student with a missing photo has lines"
    assert "district size: only students with something to say are shown" in result.out
    assert "✏️  Database records to update: 2099" in result.out


# ---------------------------------------------------------------- deterministic interruption and concurrency
class TermAfterFirstOrphan(SilentProgress):
    def __init__(self) -> None:
        self.reported = 0

    def orphan(self, index, orphan, report):
        self.reported += 1
        if self.reported == 1:
            os.kill(os.getpid(), signal.SIGTERM)


class TermAtFirstStudentChecked:
    """The repair phase's meter: SIGTERM as soon as the first students are checked."""

    def __init__(self) -> None:
        self.advanced = 0

    def advance(self, n: int = 1) -> None:
        self.advanced += n
        if self.advanced == n:
            os.kill(os.getpid(), signal.SIGTERM)

    def done(self) -> None:
        pass


def test_sigterm_while_students_are_checked_counts_only_those_checked(school, monkeypatch):
    """A student found in order keeps no object of its own (memory at district size): one the stop came before
    must not be counted as verified, nor printed."""
    students = [school.new_student(f"Pupil {i}") for i in range(3000)]
    for student in students:
        school.put_photo(student["student_id"])
    school.seed(students)
    school.write_backup(students)
    real_phase = Console.phase
    monkeypatch.setattr(Console, "phase", lambda self, name, total: TermAtFirstStudentChecked()
                        if name == "Checking" else real_phase(self, name, total))

    result = school.restore("--verify-only", "--json")

    assert result.code == 143, result.text[-2000:]
    summary = result.json["summary"]
    assert 0 < summary["photos_verified"] == summary["in_scope"] < 3000, summary
    assert result.json["interrupted"] == "SIGTERM"


def test_sigterm_mid_migration_stops_with_counts_that_match_the_audit(school, monkeypatch):
    r = Reseed(school)
    for i in range(300):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=1)
    r.commit()
    hook = TermAfterFirstOrphan()
    monkeypatch.setattr(Console, "orphan", lambda self, index, orphan, report: hook.orphan(index, orphan, report))

    result = school.migrate("--migrate", "--json")

    assert result.code == 143, result.text[-2000:]
    document = result.json
    audit = (school.photos / ".migrations" / "audit.jsonl").read_text().splitlines()
    assert 0 < len(audit) < 300
    assert document["counts"]["migrated"] == len(audit), "the summary counts what was placed and audited"
    assert document["orphans_done"] < 300 and document["interrupted"] == "SIGTERM"
    monkeypatch.undo()
    rerun = school.migrate("--migrate", LOCK_WAIT_SECONDS="0")
    assert rerun.code == 0, rerun.text
    r.assert_every_photo_is_its_own()
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


def test_a_second_run_during_a_migration_is_turned_away(school, monkeypatch):
    """Deterministic: the restore starts while the migration holds the lock (from inside its progress)."""
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    seen: dict = {}

    def during(self, report):
        seen["restore"] = school.subprocess("restore_student_photos", "--verify-only", LOCK_WAIT_SECONDS="0.5")
        seen["writer"] = school.subprocess("restore_student_photos", LOCK_WAIT_SECONDS="0.5")

    monkeypatch.setattr(Console, "orphans_found", during)
    result = school.migrate("--migrate")
    monkeypatch.undo()
    assert result.code == 0, result.text
    assert seen["writer"].code == 2 and "Another run is in progress" in seen["writer"].err
    assert seen["restore"].code == 2, "a read-only run waits for a writer too"
    after = school.restore()
    assert after.code == 0 and school.db_docs()[r.new_id("kid")]["photo"] == CANON.format(r.new_id("kid"))
    assert threading.active_count() >= 1 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


@pytest.mark.parametrize("stalled,args,signum", [("find", ("--verify-only", "--quiet"), signal.SIGTERM),
                                                 ("find", ("--verify-only",), signal.SIGINT),
                                                 ("update", (), signal.SIGTERM)])
def test_a_database_that_stalls_never_hangs_a_run(school, stalled, args, signum):
    """The server accepts the connection and then holds the command: a signal still stops the run at once, and
    with no signal the socket timeout ends it; the lock is released either way."""
    students = healthy_school(school, 5)
    school.collection.update_many({}, {"$set": {"photo": None}})
    port = free_port()
    proxy = subprocess.Popen([sys.executable, str(ROOT / "tests" / "helpers" / "stallproxy.py"), str(port),
                              school.url.split(":")[2].split("/")[0], stalled], stdout=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout.readline().strip() == "ready"
        env = {**os.environ, **school.env(MONGO_URL=f"mongodb://127.0.0.1:{port}/?directConnection=true")}
        proc = subprocess.Popen([sys.executable, str(ROOT / "restore_student_photos.py"), *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert proc.poll() is None, "it is waiting on the stalled server"
        sent = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
        waited = time.monotonic() - sent
        assert waited < (5 if stalled == "find" else 9), f"stopped at once (a write in flight gets 5 s), {waited:.1f} s"
        assert proc.returncode == 128 + signum, out + err
        name = signal.Signals(signum).name
        assert "Traceback" not in err and (f"Stopped by {name}" in err or f"Interrupted by {name}" in out)
        if stalled == "update":
            assert "may or may not be written (the journal names them)" in out
        else:
            timed = school.subprocess("restore_student_photos", "--verify-only", timeout=60,
                                      MONGO_URL=f"mongodb://127.0.0.1:{port}/?directConnection=true",
                                      DB_SOCKET_TIMEOUT_SECONDS="2")
            assert timed.code == 2 and "stopped answering" in timed.err, timed.text
        assert school.restore("--verify-only", LOCK_WAIT_SECONDS="0").code in (0, 1), "the lock was released"
    finally:
        proxy.kill()
        proxy.wait()
    assert students


def test_migrate_refuses_an_empty_share_as_the_restore_does(school):
    healthy_school(school)
    shutil.rmtree(school.students_dir)
    school.students_dir.mkdir()
    for args in (("--list",), ("--clean",), ("--migrate", "--dry-run")):
        result = school.migrate(*args)
        assert result.code == 2 and "is the share mounted?" in result.err, result.text


def test_advice_names_the_right_next_step(school):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    verify = school.restore("--verify-only")
    assert "migrate_orphaned_photos.py --list" in verify.out, "after a reseed, migrate comes first"
    listed = school.migrate("--list")
    assert "nothing needs a person; 1 orphaned folder(s) can be migrated with --migrate (exit 0)" in listed.out
    assert "all done" not in listed.out
    verify_source = school.restore("--verify-only", "--student", r.new_id("kid"))
    assert f"run restore_student_photos.py --student {r.new_id('kid')} to apply them" in verify_source.out
    with pytest.raises(SystemExit):
        school.migrate("--clean", "--conf")  # no abbreviation of a destructive flag


@pytest.mark.parametrize("env,message", [({"DB_NAME": "school.attendance"}, "not a valid MongoDB database name"),
                                         ({"MONGO_URL": "mongodb://127.0.0.1:9/?tls=maybe"}, "options after '?'")])
def test_odd_settings_are_one_line_not_a_driver_warning(school, env, message):
    school.write_backup([])
    result = school.subprocess("restore_student_photos", "--verify-only", **env)
    assert result.code == 2 and message in result.err and "Warning" not in result.err, result.text
    assert len(result.err.strip().splitlines()) == 1
