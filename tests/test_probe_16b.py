"""Round 16b probes (helper h16b): adversarial scenarios the current code handles safely. Kept as regressions."""
from __future__ import annotations

import json
import os

import pytest
from old_records import ann_missing_her_photo

from conftest import drop_dac_capabilities
from student_photos.sample import jpeg_bytes


def _journalled_school(school):
    kid = school.new_student("Kid One", date_of_birth="2015-01-01")
    school.put_photo(kid["student_id"])
    school.seed([{**kid, "photo": None}])
    school.write_backup([kid])
    other = school.new_student("Other Kid", date_of_birth="2015-02-02")
    school.put_photo(other["student_id"])
    school.seed([{**other, "photo": "photos/old-format.jpg"}])
    assert school.restore("--student", other["student_id"]).code == 0
    journals = list((school.photos / ".student-photos" / "journal").glob("*.jsonl"))
    assert journals
    return kid, journals


def test_an_unreadable_journal_is_never_all_done_in_any_output_mode(school):
    """Root's journal unreadable to the nightly account: text, --quiet (cron) and --json all exit 1 and say so;
    --json's summary is not a clean one."""
    kid, journals = _journalled_school(school)
    for journal in journals:
        journal.chmod(0)
    try:
        runs = {mode: school.subprocess("restore_student_photos", *args, preexec_fn=drop_dac_capabilities)
                for mode, args in (("text", ()), ("quiet", ("--quiet",)), ("json", ("--json",)),
                                   ("verify", ("--verify-only", "--quiet")))}
    finally:
        for journal in journals:
            journal.chmod(0o600)
    for mode, run in runs.items():
        assert run.code == 1, (mode, run.text)
        assert "all done" not in run.text.lower(), (mode, run.text)
        assert "journal" in run.text, (mode, run.text)
    body = json.loads(runs["json"].out)
    assert body["exit_code"] == 1 and body["problems"], body
    assert school.db_docs()[kid["student_id"]]["photo"] is None


def test_an_unreadable_journal_folder_stops_the_restore(school):
    """The journal folder itself unreadable: exit 2 (could not run) in every mode, never 0, nothing linked."""
    kid, journals = _journalled_school(school)
    folder = journals[0].parent
    folder.chmod(0)
    try:
        runs = {mode: school.subprocess("restore_student_photos", *args, preexec_fn=drop_dac_capabilities)
                for mode, args in (("text", ()), ("quiet", ("--quiet",)), ("json", ("--json",)))}
    finally:
        folder.chmod(0o700)
    for mode, run in runs.items():
        assert run.code in (1, 2), (mode, run.text)
        assert run.text.strip(), mode
    assert school.db_docs()[kid["student_id"]]["photo"] is None


def test_a_wrong_child_doubt_is_counted_in_every_output_mode(school):
    """A second reseed swaps two children's ids after a migration: restore, --quiet, --json and --verify-only --json
    all exit 1, name both children, and the JSON summary's wrong_child says 2 (not 0 while problems list them)."""
    from test_migrate import Reseed
    r = Reseed(school)
    for key, name, dob in (("ann", "Ann Lee", "2014-01-01"), ("bob", "Bob Ray", "2014-02-02")):
        r.child(key, name, date_of_birth=dob, attendance=1)
    r.commit()
    school.collection.delete_many({})
    first = {key: {**r.new[key], "student_id": f"S{i}"} for i, key in enumerate(("ann", "bob"), 1)}
    school.seed(list(first.values()))
    assert school.migrate("--migrate").code == 0
    second = {key: {**first[key], "student_id": f"S{i}", "photo": None} for i, key in enumerate(("bob", "ann"), 1)}
    school.collection.delete_many({})
    school.seed(list(second.values()))
    school.write_backup(list(second.values()), name="seed_backup_20251201_0900.json")

    verify = school.restore("--verify-only", "--json")
    quiet = school.restore("--quiet")
    again = school.restore("--json")

    for run in (verify, quiet, again):
        assert run.code == 1, run.text
    assert "S1" in quiet.text and "S2" in quiet.text, quiet.text
    for run in (verify, again):
        flagged = {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}
        assert flagged == {"S1", "S2"} and run.json["summary"]["wrong_child"] == 2, run.json
    assert all(doc.get("photo") is None for doc in school.db_docs().values())


def _migrated_kid(school):
    from test_migrate import Reseed
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=2)
    r.commit()
    assert school.migrate("--migrate").code == 0
    return r, school.folder(r.old_id("kid")), school.folder(r.new_id("kid"))


def _all_bytes(root):
    return {p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def test_clean_keeps_the_old_folder_when_the_childs_copy_is_a_symlink_of_the_same_size_to_it(school):
    """The child's attendance copy replaced by a symlink to the old folder's file, the link's text exactly as long
    as the file: the clean never takes a symlink for a copy (the old folder would be the only one left)."""
    r, old, new = _migrated_kid(school)
    rel = sorted((old / "attendance").iterdir())[0].name
    target = f"../../{old.name}/attendance/{rel}"
    (old / "attendance" / rel).write_bytes(b"x" * len(target))  # the old file's size = the link's text
    (new / "attendance" / rel).unlink()
    (new / "attendance" / rel).symlink_to(target)
    before = (old / "attendance" / rel).read_bytes()
    result = school.migrate("--clean", "--confirm", "--json")
    assert (old / "attendance" / rel).read_bytes() == before, result.text
    assert result.code != 0 or old.exists()


def test_clean_keeps_the_old_folder_when_the_app_rewrote_the_copy_in_place_same_size(school):
    """After the migration, the app rewrote the child's profile.jpg in place (same size, other bytes): the old
    folder's photo is the only copy of its bytes and is kept."""
    r, old, new = _migrated_kid(school)
    data = bytearray((new / "profile.jpg").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (new / "profile.jpg").write_bytes(bytes(data))
    original = (old / "profile.jpg").read_bytes()
    result = school.migrate("--clean", "--confirm")
    assert (old / "profile.jpg").read_bytes() == original, result.text


def test_clean_of_a_hard_linked_copy_leaves_the_bytes_in_the_childs_folder(school):
    """The child's copies are hard links of the old folder's files: removing the old folder's names keeps every
    byte in the child's folder."""
    r, old, new = _migrated_kid(school)
    for path in old.rglob("*"):
        if path.is_file():
            dest = new / path.relative_to(old)
            dest.unlink()
            os.link(path, dest)
    kept = _all_bytes(old)
    result = school.migrate("--clean", "--confirm")
    assert kept <= _all_bytes(new), result.text


def test_undo_of_the_migrate_after_the_clean_removes_nothing(school):
    """migrate, clean (old folder gone), then --undo of the migrate: each copy, now the only one, stays (exit 1)."""
    r, old, new = _migrated_kid(school)
    run_id = json.loads(school.migrate("--history", "--json").out)["runs"][-1]["run_id"]
    kept = _all_bytes(old)
    assert school.migrate("--clean", "--confirm").code == 0
    assert not old.exists()
    undo = school.migrate("--undo", run_id)
    assert undo.code == 1, undo.text
    assert kept <= _all_bytes(new)
    clean_run = json.loads(school.migrate("--history", "--json").out)["runs"]
    cleans = [run["run_id"] for run in clean_run if run["action"] == "clean"]
    assert cleans and school.migrate("--undo", cleans[-1]).code in (0, 1)
    assert kept <= _all_bytes(new)


def _pair_one_of(school, tmp_path, names, chosen, resave):
    """Old folders ``names`` (no backup knows them); the plan's row for names[chosen] is given to Ann, every folder
    cell re-saved by ``resave``. Returns (result, Ann's photo, each folder's face)."""
    import csv

    from test_finding_16b import _write
    ann = ann_missing_her_photo(school)
    faces = {name: school.put_photo(name, jpeg_bytes(f"face of folder {name!r}")) for name in names}
    plan = tmp_path / "plan.csv"
    school.migrate("--list", "--csv", str(plan))
    rows = list(csv.reader(plan.read_text(encoding="utf-8-sig").splitlines()))
    for row in rows[1:]:
        if row[0].lstrip("'") == names[chosen]:
            row[5] = ann["student_id"]
        row[0] = resave(row[0])
    reviewed = tmp_path / "reviewed.csv"
    _write(reviewed, rows)
    result = school.migrate("--migrate", "--pairs", str(reviewed))
    return result, school.photo_of(ann["student_id"]), faces



@pytest.mark.parametrize("names, chosen, resave", [
    (["\uff11\uff17", "17"], 0, lambda c: c),  # full-width digits: one number to a spreadsheet
    (["\uff11\uff17", "17"], 0, lambda c: c.translate({0xff11: "1", 0xff17: "7"})),
    (["100000", "1E+05"], 0, lambda c: "1E+05" if c == "100000" else c),
    (["00417", "417"], 0, lambda c: c.lstrip("0")),
    (["123456789012", "x"], 0, lambda c: "1.23457E+11" if c == "123456789012" else c),
    (["3-4", "x"], 0, lambda c: "4-Mar" if c == "3-4" else c),
], ids=["fullwidth-digits", "fullwidth-digits-folded", "sci", "zeros", "sci-rounded", "excel-date"])
def test_a_reviewed_row_a_spreadsheet_turned_into_a_number_goes_to_no_other_folder(school, tmp_path, names, chosen,
                                                                                    resave):
    result, given, faces = _pair_one_of(school, tmp_path, names, chosen, resave)
    assert given in (None, faces[names[chosen]]), result.text
    assert result.code in (1, 2), result.text


@pytest.mark.parametrize("variants", [["caf\u00e9.jpg", "cafe\u0301.jpg"], ["Day1.jpg", "day1.jpg", "DAY1.JPG"]],
                         ids=["nfc-nfd", "case"])
def test_attendance_names_alike_each_keep_their_bytes_through_migrate_and_clean(school, variants):
    """Attendance files whose names differ only by Unicode form or case, each with its own bytes: after the
    migration and the clean, every one's bytes are in the child's folder."""
    from test_migrate import Reseed
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=0)
    r.commit()
    old = school.folder(r.old_id("kid"))
    (old / "attendance").mkdir(exist_ok=True)
    for i, name in enumerate(variants):
        (old / "attendance" / name).write_bytes(jpeg_bytes(f"attendance {i}"))
    kept = _all_bytes(old)
    assert school.migrate("--migrate").code == 0
    school.migrate("--clean", "--confirm")
    assert kept <= _all_bytes(school.folder(r.new_id("kid")))


def test_a_clean_killed_with_sigkill_while_a_folder_is_aside_loses_nothing_and_a_rerun_finishes(school):
    """kill -9 the moment a folder is moved aside (students/.deleting-*): every photo's bytes are still in a child's
    folder or the old one, the restore names a folder left aside (exit 1, never 0), and a rerun of the clean
    puts it back and finishes (exit 0, nothing left aside)."""
    import signal
    import subprocess
    import sys
    import time

    from test_migrate import Reseed

    from conftest import ROOT
    r = Reseed(school)
    for i in range(60):
        r.child(f"k{i}", f"Kid Number{i} Lee", date_of_birth=f"2015-01-{i % 28 + 1:02d}", student_number=1000 + i,
                attendance=3)
    r.commit()
    assert school.migrate("--migrate").code == 0
    every = set().union(*(_all_bytes(school.folder(r.old_id(k))) for k in r.old))
    proc = subprocess.Popen([sys.executable, str(ROOT / "migrate_orphaned_photos.py"), "--clean", "--confirm"],
                            env={**os.environ, **school.env()}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    students = school.photos / "students"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any(n.startswith(".deleting-") for n in os.listdir(students)):
            os.kill(proc.pid, signal.SIGKILL)
            break
    assert proc.wait() == -signal.SIGKILL, "the clean finished before a folder was seen aside"
    aside = [n for n in os.listdir(students) if n.startswith(".deleting-")]
    held = set().union(*(_all_bytes(p) for p in students.iterdir() if p.is_dir()))
    assert every <= held
    if aside:
        verify = school.restore("--verify-only", "--quiet")
        assert verify.code == 1 and aside[0] in verify.text, verify.text
    rerun = school.migrate("--clean", "--confirm")
    assert rerun.code == 0, rerun.text
    assert not [n for n in os.listdir(students) if n.startswith(".deleting-")]
    assert every <= set().union(*(_all_bytes(school.folder(r.new_id(k))) for k in r.new))
