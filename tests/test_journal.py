"""The journal, --history and --undo: every change recorded before it is made, and taken back only where safe."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from bson.objectid import ObjectId
from hypothesis import example, given, settings
from hypothesis import strategies as hs
from test_migrate import Reseed

from conftest import ROOT, School
from student_photos.sample import jpeg_bytes

CANON = "/api/photos/students/{}/profile.jpg"


def journal_lines(school: School, run_id: str) -> list[dict]:
    path = school.photos / ".student-photos" / "journal" / f"{run_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def drifted_school(school: School) -> list[dict]:
    students = [school.new_student(f"Pupil {i}") for i in range(5)]
    for st in students:
        school.put_photo(st["student_id"])
    odd = [None, "photos/students/x/profile.jpg", 42, {"old": "shape"}, "/api/photos/old.jpg"]
    school.seed([{**st, "photo": value} for st, value in zip(students, odd, strict=True)])
    school.write_backup(students)
    return students


def test_a_restore_journals_every_link_with_its_old_value_and_undo_puts_them_back(school):
    students = drifted_school(school)
    before = {sid: d["photo"] for sid, d in school.db_docs().items()}

    run = school.restore("--json")

    assert run.code == 0, run.text
    run_id = run.json["run_id"]
    lines = journal_lines(school, run_id)
    assert lines[0]["type"] == "run" and lines[-1]["type"] == "end" and lines[-1]["exit_code"] == 0
    db_lines = [e for e in lines if e["type"] == "db"]
    assert {e["student_id"] for e in db_lines} == {s["student_id"] for s in students}
    assert all(e["new"] == CANON.format(e["student_id"]) for e in db_lines)

    history = school.restore("--history", "--json")
    assert [r["run_id"] for r in history.json["runs"]] == [run_id]
    assert history.json["runs"][0]["counts"]["database_updated"] == 5

    dry = school.restore("--undo", run_id, "--dry-run", "--json")
    assert dry.json["links_reverted"] == 5 and {sid: d["photo"] for sid, d in school.db_docs().items()} != before
    undo = school.restore("--undo", run_id, "--json")

    assert undo.code == 0, undo.text
    assert {sid: d["photo"] for sid, d in school.db_docs().items()} == before, "every old value, of every type"
    assert undo.json["undoes"] == run_id and undo.json["run_id"]
    runs = school.restore("--history", "--json").json["runs"]
    assert runs[-1]["undoes"] == run_id and runs[-1]["mode"] == "undo"
    again = school.restore("--undo", undo.json["run_id"], "--json")  # an undo is a run too: undone in turn
    assert again.code == 0 and all(d["photo"] == CANON.format(sid) for sid, d in school.db_docs().items())


def test_undo_leaves_a_link_the_app_changed_since_and_says_so(school):
    students = drifted_school(school)
    run_id = school.restore("--json").json["run_id"]
    school.collection.update_one({"student_id": students[0]["student_id"]},
                                 {"$set": {"photo": "/api/photos/uploads/new.jpg"}})

    undo = school.restore("--undo", run_id)

    assert undo.code == 1
    assert "Left: link of " + students[0]["student_id"] in undo.out and "not what the run wrote" in undo.out
    assert school.db_docs()[students[0]["student_id"]]["photo"] == "/api/photos/uploads/new.jpg"


def test_undo_of_a_migration_removes_only_copies_whose_source_still_exists(school):
    r = Reseed(school)
    for key in ("a", "b"):
        r.child(key, f"Kid {key}", date_of_birth="2015-01-01" if key == "a" else "2016-01-01")
    r.commit()
    run_id = school.migrate("--migrate", "--json").json["run_id"]
    placed = [e for e in journal_lines(school, run_id) if e["type"] == "file"]
    assert {e["origin"]["old_id"] for e in placed} == {r.old_id("a"), r.old_id("b")}
    (school.folder(r.old_id("b")) / "profile.jpg").unlink()  # b's profile now exists only in the new folder
    school.put_photo(r.new_id("a"))  # ... and a's copy was replaced by a new upload since

    undo = school.migrate("--undo", run_id, "--json")

    assert undo.code == 1
    assert school.photo_of(r.new_id("b")) == r.photos["b"], "its source is gone: the only copy stays"
    assert school.photo_of(r.new_id("a")) is not None, "changed since: left"
    attendance = school.folder(r.new_id("a")) / "attendance"
    assert not attendance.exists(), "the unchanged copies went, and so did the folder the run made for them"
    reasons = " ".join(undo.json["left"])
    assert "may be the only copy" in reasons and "changed since the run placed it" in reasons


def test_a_clean_is_not_undone_and_says_why(school):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    school.migrate("--migrate")
    clean = school.migrate("--clean", "--confirm", "--json")
    removed = [e for e in journal_lines(school, clean.json["run_id"]) if e["type"] == "removed"]
    assert removed and all(f["copy"].startswith("students/") for f in removed[0]["files"])

    undo = school.migrate("--undo", clean.json["run_id"])

    assert undo.code == 0
    assert "nothing was lost, so there is nothing to undo" in undo.out


def test_undo_refuses_an_unknown_run_id(school):
    school.write_backup([])
    for bad in ("20990101-000000-abcdef", "../../etc/passwd"):
        result = school.restore("--undo", bad)
        assert result.code == 2 and "see --history" in result.err


@pytest.mark.parametrize("moment", ["folders", "staged", "placed"])
def test_kill_9_mid_migration_then_undo_and_rerun_agree_with_the_disk(school, moment):
    r = Reseed(school)
    for i in range(70):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=3)
    r.commit()
    for key in r.photos:
        big = jpeg_bytes(f"the real face of {key}", size=200_000)
        (school.folder(r.old_id(key)) / "profile.jpg").write_bytes(big)
        r.photos[key] = big
    profiles = [school.folder(r.new_id(k)) / "profile.jpg" for k in r.new]
    journal = school.photos / ".student-photos" / "journal"

    def ready() -> bool:
        if moment == "placed":
            return any(p.exists() for p in profiles)
        marker = '"type": "dir"' if moment == "folders" else '"type": "file"'
        return journal.is_dir() and any(marker in p.read_text() for p in journal.iterdir())

    proc = subprocess.Popen([sys.executable, str(ROOT / "migrate_orphaned_photos.py"), "--migrate"],
                            env={**os.environ, **school.env()}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not ready():
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run_file,) = journal.iterdir()
    entries = [json.loads(line) for line in run_file.read_text().splitlines() if line.endswith("}")]
    named = {e["path"] for e in entries if e["type"] == "file"}
    on_disk = {str(p.relative_to(school.photos)) for p in school.students_dir.rglob("*")
               if p.is_file() and p.parent.name != "attendance" and p.name == "profile.jpg"
               and p.parent.name in {r.new_id(k) for k in r.new}}
    assert on_disk <= named, "every copy in place is named by the journal (written before it was placed)"

    undo = school.migrate("--undo", run_file.stem, "--json")

    assert undo.code == 0, undo.text
    assert not any(p.exists() for p in profiles), "every copy the killed run placed is taken back"
    # found by an adversarial review: the killed run's temporary copies and new folders were left behind
    assert not list(school.students_dir.rglob("*.partial")), "an undo sweeps the killed run's temporaries"
    assert not any(school.folder(r.new_id(k)).exists() for k in r.new), "and removes the folders it made"
    assert all(school.photo_of(r.old_id(k)) == r.photos[k] for k in r.photos), "the sources are untouched"
    rerun = school.migrate("--migrate")
    assert rerun.code == 0, rerun.text
    r.assert_every_photo_is_its_own()
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)
    assert not list(school.students_dir.rglob("*.partial"))


def test_nothing_to_do_writes_no_journal(school):
    students = drifted_school(school)
    school.restore()
    runs = len(list((school.photos / ".student-photos" / "journal").iterdir()))
    assert school.restore().code == 0
    assert len(list((school.photos / ".student-photos" / "journal").iterdir())) == runs
    assert students


def _run_and_kill(school: School, args: list[str], journal_dir, marker: str, skip: set[str], times: int = 1) -> str:
    """Start a real run, SIGKILL it once a new journal (not in ``skip``) holds ``marker`` ``times`` times."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "restore_student_photos.py"), *args],
                            env={**os.environ, **school.env()}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    found = None
    while proc.poll() is None and time.monotonic() < deadline and found is None:
        if journal_dir.is_dir():
            for path in journal_dir.iterdir():
                if path.stem not in skip and path.read_text().count(marker) >= times:
                    found = path.stem
                    break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert found, "the kill never landed mid-run"
    return found


def test_kill_9_mid_restore_and_mid_undo_leave_a_journal_that_agrees_with_the_database(school):
    students = [school.new_student(f"Pupil {i}") for i in range(4000)]
    for st in students:
        (school.folder(st["student_id"]) / "attendance").mkdir(parents=True)
        (school.folder(st["student_id"]) / "profile.jpg").write_bytes(jpeg_bytes("p"))
    school.seed([{**s, "photo": None} for s in students])
    school.write_backup(students)
    journal = school.photos / ".student-photos" / "journal"

    run_id = _run_and_kill(school, [], journal, '"type": "db"', set(), times=1001)  # the 2nd batch is on its way

    changed = {sid for sid, d in school.db_docs().items() if d.get("photo")}
    named = {e["student_id"] for e in journal_lines_raw(journal / f"{run_id}.jsonl") if e["type"] == "db"}
    assert changed <= named, "every link written is named by the journal, written before it"
    assert 0 < len(changed) < 4000
    history = school.restore("--history", "--json").json["runs"]
    assert [r["complete"] for r in history if r["run_id"] == run_id] == [False], "--history says it was cut off"

    undo_id = _run_and_kill(school, ["--undo", run_id], journal, '"type": "db"', {run_id}, times=1)

    reverted = {sid for sid, d in school.db_docs().items() if d.get("photo") is None} - (
        {s["student_id"] for s in students} - changed)
    undo_named = {e["student_id"] for e in journal_lines_raw(journal / f"{undo_id}.jsonl") if e["type"] == "db"}
    assert reverted <= undo_named, "every link the undo put back is named by its own journal"
    again = school.restore("--undo", run_id, "--json")
    assert again.code == 0, again.text
    assert all(d.get("photo") is None for d in school.db_docs().values()), "the undo, rerun, completes"
    rerun = school.restore("--json")
    assert rerun.code == 0 and rerun.json["summary"]["database_updated"] == 4000


def journal_lines_raw(path) -> list[dict]:
    """A killed run's journal: its last line may be cut short."""
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_undo_of_a_migration_removes_the_folders_it_made_where_they_are_empty(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01")
    r.commit()
    run_id = school.migrate("--migrate", "--json").json["run_id"]
    made = {e["path"] for e in journal_lines(school, run_id) if e["type"] == "dir"}
    assert made == {f"students/{r.new_id('a')}", f"students/{r.new_id('a')}/attendance"}

    assert school.migrate("--undo", run_id).code == 0

    assert not school.folder(r.new_id("a")).exists(), "the student had no folder before the run"
    assert school.folder(r.old_id("a")).is_dir()


def test_undo_of_a_quarantine_puts_photos_back_even_where_their_folder_has_gone(school):
    """Found by an adversarial review: the quarantined photos' folders were removed since (an undo of the
    migration that made them); the undo of the quarantine said 6 returned, and none was."""
    a, b = school.new_student("Ann Ames"), school.new_student("Bea Bond")
    school.put_photo(a["student_id"], jpeg_bytes("one face"))
    school.put_photo(b["student_id"], jpeg_bytes("one face"))
    school.seed([a, b])
    school.write_backup([a, b])
    run = school.restore("--deep", "--quarantine", "--json")
    assert run.code == 1 and len(run.json["deep"]) == 1
    shutil.rmtree(school.folder(b["student_id"]))

    undo = school.restore("--undo", run.json["run_id"], "--json")

    assert school.photo_of(b["student_id"]) == jpeg_bytes("one face")
    assert school.photo_of(a["student_id"]) == jpeg_bytes("one face")
    assert undo.json["photos_returned"] == 2, undo.text


def test_undo_never_removes_a_photo_the_app_saved_while_it_checked(school, monkeypatch):
    """Found by an adversarial review: the app saved a new upload in the place of a placed copy after the undo
    had checked that place, while it hashed the source; the undo then removed the new upload, the only copy."""
    from student_photos import undo

    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=0)
    r.commit()
    run_id = school.migrate("--migrate", "--json").json["run_id"]
    placed = school.folder(r.new_id("a")) / "profile.jpg"
    real_holds = undo._holds

    def holds(path, sha256, size):
        if path == school.folder(r.old_id("a")) / "profile.jpg" and placed.exists():  # the source, checked second
            placed.unlink()
            placed.write_bytes(jpeg_bytes("a new upload, saved just now"))
        return real_holds(path, sha256, size)

    monkeypatch.setattr(undo, "_holds", holds)
    result = school.migrate("--undo", run_id, "--json")

    assert placed.read_bytes() == jpeg_bytes("a new upload, saved just now")
    assert result.code == 1 and any("changed while it was being undone" in why for why in result.json["left"])


def test_a_rerun_of_an_undo_killed_after_moving_a_file_aside_finishes_it(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=0)
    r.commit()
    run_id = school.migrate("--migrate", "--json").json["run_id"]
    placed = school.folder(r.new_id("a")) / "profile.jpg"
    placed.rename(placed.parent / ".profile.jpg.undoing-4242-0")  # where a kill -9 would have left it

    result = school.migrate("--undo", run_id, "--json")

    assert result.code == 0, result.text
    assert not placed.exists() and not list(placed.parent.glob(".profile.jpg.undoing-*"))
    assert school.photo_of(r.old_id("a")) == r.photos["a"]


def test_a_pairs_run_that_only_vetoes_has_a_run_to_undo(school, tmp_path):
    """Found by an adversarial review: a --pairs run whose only effect was its "none" rows wrote them before it
    had a journal, so it printed no run id and could never be undone."""
    from test_pairs import save_as_spreadsheet
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.commit()
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": r.old_id("sam"), "student_id": "none"}])
    applied = school.migrate("--migrate", "--pairs", str(plan), "--json")
    assert applied.json.get("run_id"), applied.text
    assert school.photo_of(r.new_id("sam")) is None

    undo = school.migrate("--undo", applied.json["run_id"])
    assert undo.code == 0, undo.text
    later = school.migrate("--migrate", "--json")
    assert later.json["orphans"][0]["decision"] == "migrated", "the veto was taken back: the rule decides again"


def test_a_rerun_of_a_killed_clean_finishes_it_in_one_run(school):
    """Found by an adversarial review: the rerun put the killed clean's moved-aside folder back after it had
    listed the folders, so it said all done with the old folder still there."""
    from student_photos.migrate import DELETING_PREFIX
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01")
    r.commit()
    assert school.migrate("--migrate").code == 0
    old = school.folder(r.old_id("a"))
    old.rename(school.students_dir / f"{DELETING_PREFIX}{r.old_id('a')}.0badc0de")  # where a kill left it

    result = school.migrate("--clean", "--confirm", "--json")

    assert result.code == 0, result.text
    assert not old.exists() and not list(school.students_dir.glob(f"{DELETING_PREFIX}*"))
    assert school.photo_of(r.new_id("a")) == r.photos["a"]


def _journal_size_limit(limit: int = 40_000):
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # the journal outgrows it first; photos are small
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process


def _journal_size_limit_after_a_batch():
    _journal_size_limit(100_000)  # a migrate's first batch (32 orphans' lines) fits; a later one does not


def test_a_journal_that_cannot_be_written_midway_stops_the_run_and_says_what_it_did(school):
    """Found by review: a journal write failing after earlier batches had copied ended with only "Cannot write the
    journal", exit 2, which reads as "nothing happened"; and a line cut short by the failure could swallow the next
    line another worker appended, so a copy could be placed that no readable line named."""
    r = Reseed(school)
    for i in range(100):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=1)
    r.commit()

    failed = school.subprocess("migrate_orphaned_photos", "--migrate", preexec_fn=_journal_size_limit_after_a_batch)

    assert failed.code == 2, failed.text
    (run_file,) = (school.photos / ".student-photos" / "journal").iterdir()
    assert f"every change it made before is in that journal (run {run_file.stem}" in failed.err, failed.err
    named = {e["path"] for e in journal_lines_raw(run_file) if e["type"] == "file"}
    placed = {str(p.relative_to(school.photos)) for k in r.new for p in school.folder(r.new_id(k)).rglob("*")
              if p.is_file()}
    assert placed and placed <= named, "some copies were made, and every one is named by a readable journal line"
    assert not list(school.students_dir.rglob("*.partial")), "the batch that could not be journalled was discarded"
    history = school.migrate("--history", "--json").json["runs"]
    assert [(h["run_id"], h["complete"]) for h in history] == [(run_file.stem, False)]

    undo = school.migrate("--undo", run_file.stem, "--json")
    assert undo.code == 0, undo.text
    assert not any(school.folder(r.new_id(k)).exists() for k in r.new), "the undo takes back all it did"
    rerun = school.migrate("--migrate")
    assert rerun.code == 0, rerun.text
    r.assert_every_photo_is_its_own()
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


def test_undo_leaves_a_folder_the_app_made_between_the_intent_and_the_mkdir(school, monkeypatch):
    """A migrate names a batch's new folders in the journal before making them; one the app made in between is not
    the run's, and its undo must not remove it (even where it is empty again)."""
    from student_photos import store
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01")
    r.child("b", "Kid B", date_of_birth="2016-01-01")
    r.commit()
    apps = school.folder(r.new_id("a"))
    real = store.BatchFolders.make

    def app_first(self, folder):
        if folder == str(apps):
            os.mkdir(folder)  # the app saves its first photo of the child there a moment later
        return real(self, folder)

    monkeypatch.setattr(store.BatchFolders, "make", app_first)
    run_id = school.migrate("--migrate", "--json").json["run_id"]
    monkeypatch.undo()

    undo = school.migrate("--undo", run_id, "--json")

    assert undo.code == 0, undo.text
    assert apps.is_dir(), "the app's folder stays"
    assert not (apps / "profile.jpg").exists() and not (apps / "attendance").exists(), "the run's copies went"
    assert not school.folder(r.new_id("b")).exists(), "a folder the run made is still removed"


def test_history_names_a_journal_that_is_a_symlink_as_a_restore_does(school, tmp_path):
    """Never followed, and never passed over in silence: the restore names it and stops its link writes; --history
    names it and exits 1 (before, it listed no run and exited 0)."""
    school.write_backup([])
    journal = school.photos / ".student-photos" / "journal"
    journal.mkdir(parents=True, exist_ok=True)
    (tmp_path / "elsewhere.jsonl").write_text('{"type": "header"}\n')
    (journal / "20260101-000000-abcdef.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    result = school.migrate("--history", "--json")
    assert result.code == 1 and result.json["runs"] == [], (result.code, result.err[-300:])
    assert "20260101-000000-abcdef.jsonl" in result.json["unreadable"][0]
    shown = school.migrate("--history")
    assert shown.code == 1 and "could not be read" in shown.out, shown.text


@settings(max_examples=300, deadline=None)
@given(hs.one_of(hs.none(), hs.text(), hs.integers(min_value=-2**63, max_value=2**63 - 1), hs.booleans(),
                 hs.binary(min_size=12, max_size=12).map(ObjectId),
                 hs.dictionaries(hs.text(hs.characters(blacklist_characters="\x00"), max_size=5),  # (as BSON keys)
                                 hs.text(max_size=5), max_size=3)))
@example({"$date": ""})
@example({"$absent": True})
@example({"$oid": "x", "a": [1]})
@example({"$bson": "AAAA"})
def test_a_journalled_value_is_canonical_extended_json_and_comes_back_exactly(value):
    """encode_value's short cuts for strings, null and ObjectIds write what canonical Extended JSON writes, so an
    undo reads back the very value (type included) that was there."""
    from bson import json_util

    from student_photos.db import decode_value, encode_value

    encoded = encode_value(value)
    if not (isinstance(value, dict) and any(key.startswith("$") for key in value)):  # (those are kept as BSON)
        assert encoded == json.loads(json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS))
    back = decode_value(json.loads(json.dumps(encoded)))
    assert back == value and isinstance(back, type(value))  # a large int comes back as bson's Int64, an int


@pytest.mark.parametrize("old_photo", [{"$date": ""}, {"$absent": True}, {"url": {"$oid": "not an id"}}])
def test_undo_puts_back_an_old_value_whose_keys_look_like_extended_json(school, old_photo):
    """A photo field holding a document with `$` keys (an import's leftovers): the journal keeps it as BSON, so the
    undo writes back that very value (before, `{"$date": ""}` stopped the undo and `{"$absent": true}` removed the
    field)."""
    student = school.new_student("Odd Value")
    school.put_photo(student["student_id"])
    school.seed([{**student, "photo": old_photo}])
    school.write_backup([student])
    run = school.restore("--json")
    assert run.code == 0 and school.db_docs()[student["student_id"]]["photo"] == CANON.format(student["student_id"])

    undo = school.restore("--undo", run.json["run_id"], "--json")

    assert undo.code == 0, undo.text
    assert school.db_docs()[student["student_id"]]["photo"] == old_photo


@settings(max_examples=200, deadline=None)
@given(lines=hs.lists(hs.dictionaries(hs.sampled_from(["type", "path", "origin"]), hs.text(max_size=8), min_size=1),
                      min_size=2, max_size=8),
       at=hs.integers(0, 7), how=hs.sampled_from(["zeros", "cut", "garbage"]), torn=hs.booleans())
def test_a_damaged_journal_line_followed_by_others_is_never_skipped_silently(tmp_path_factory, lines, at, how, torn):
    """Only the last line can be cut short by a kill (each journal is one run's, written in order). A line in the
    middle that cannot be read (zeros, cut, garbage, newline kept) makes the journal damaged; a torn last line is
    skipped as before."""
    from student_photos.journal import JournalDamaged, read_journal

    at = at % len(lines)
    texts = [json.dumps(line) + "\n" for line in lines]
    texts[at] = {"zeros": "\x00" * len(texts[at]) + "\n", "cut": texts[at][:len(texts[at]) // 2] + "\n",
                 "garbage": "{not json\n"}[how]
    if torn:
        texts.append('{"type": "fi')  # a kill in the middle of the last write
    path = tmp_path_factory.mktemp("journal") / "run.jsonl"
    path.write_text("".join(texts))
    if at < len(lines) - 1:
        with pytest.raises(JournalDamaged):
            list(read_journal(path))
    else:
        assert list(read_journal(path)) == lines[:-1]
