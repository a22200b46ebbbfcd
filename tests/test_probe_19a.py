"""Round 19a probes (helper h19a): attacks the current code survives. Fast and deterministic in what they assert."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from old_records import CANON, MIDDLE, NEWEST, backup
from test_deep import order_migrated_school, wearers
from test_journal import _journal_size_limit_after_a_batch
from test_migrate import Reseed
from test_pairs import save_as_spreadsheet

from conftest import ROOT
from student_photos.journal import read_journal
from student_photos.sample import jpeg_bytes


def _journals(school):
    folder = school.photos / ".student-photos" / "journal"
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


def _all_journals_read(school) -> None:
    for path in _journals(school):
        list(read_journal(path))  # never JournalDamaged for a journal the tool wrote


def _kill_after(school, delay: float, *args: str) -> None:
    proc = subprocess.Popen([sys.executable, str(ROOT / "migrate_orphaned_photos.py"), *args],
                            env={**os.environ, **school.env()}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


# ---------------------------------------------------------------- journals the tool wrote are never "damaged"
@pytest.mark.parametrize("delay", [0.25, 0.4])
def test_probe_journals_of_a_killed_migrate_a_killed_undo_and_an_undo_of_the_undo_are_never_damaged(school, delay):
    r = Reseed(school)
    for i in range(400):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=3)
    r.commit()
    _kill_after(school, delay, "--migrate")
    _all_journals_read(school)
    runs = school.migrate("--history", "--json").json["runs"]
    assert len(runs) == len(_journals(school))
    if runs:
        killed = runs[-1]["run_id"]
        _kill_after(school, 0.3, "--undo", killed)
        _all_journals_read(school)
        assert school.migrate("--undo", killed, "--json").code in (0, 1)
        last = school.migrate("--history", "--json").json["runs"][-1]["run_id"]
        assert school.migrate("--undo", last, "--json").code in (0, 1)  # undo of the undo
    _all_journals_read(school)
    assert len(school.migrate("--history", "--json").json["runs"]) == len(_journals(school))
    deep = school.restore("--verify-only", "--deep", "--json")
    assert "damaged" not in deep.text and "could not be read" not in deep.text, deep.text[-600:]


def test_probe_a_journal_cut_short_by_a_full_disk_is_not_damaged(school):
    r = Reseed(school)
    for i in range(100):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=1)
    r.commit()
    failed = school.subprocess("migrate_orphaned_photos", "--migrate", preexec_fn=_journal_size_limit_after_a_batch)
    assert failed.code == 2, failed.text
    _all_journals_read(school)
    deep = school.restore("--verify-only", "--deep", "--json")
    assert "damaged" not in deep.text and "could not be read" not in deep.text, deep.text[-600:]
    (run_file,) = _journals(school)
    assert school.migrate("--undo", run_file.stem).code == 0
    assert school.migrate("--migrate").code == 0
    _all_journals_read(school)
    r.assert_every_photo_is_its_own()


def _garble_middle_of_placements(school) -> None:
    for journal in _journals(school):
        lines = journal.read_bytes().split(b"\n")
        for i, line in enumerate(lines):
            if b'"origin"' in line:
                third = len(line) // 3
                lines[i] = line[:third] + b"~" * third + line[2 * third:]
        journal.write_bytes(b"\n".join(lines))


def test_probe_junk_in_the_middle_of_placement_lines_stops_the_restores_links_and_the_undo(school):
    r = order_migrated_school(school)
    wrong = {k for k, v in wearers(school, r).items() if v != k}
    for key in r.old:
        shutil.rmtree(school.folder(r.old_id(key)), ignore_errors=True)
    (journal,) = _journals(school)
    _garble_middle_of_placements(school)
    before = school.snapshot()
    undo = school.migrate("--undo", journal.stem, "--json")
    assert undo.code == 2 and "damaged" in undo.text, undo.text
    assert school.snapshot()["files"] == before["files"]
    restored = school.restore("--json")
    assert restored.code == 1 and not any(school.db_docs()[r.new_id(k)].get("photo") for k in wrong)
    assert school.restore("--verify-only", "--deep", "--json").code == 1


# ---------------------------------------------------------------- reviewed rows (MatchBook.judge)
def _swap(school, tmp_path, old_one: dict, old_two: dict, current: list[dict], rows: list[dict],
          extra_old: tuple = ()):
    one = school.put_photo("old-one", jpeg_bytes("one's face"), 1)
    two = school.put_photo("old-two", jpeg_bytes("two's face"), 1)
    for sid in extra_old:
        school.put_photo(sid, jpeg_bytes(f"{sid}'s face"), 1)
    backup(school, NEWEST, [{**old_one, "student_id": "old-one", "photo": CANON.format("old-one")},
                            {**old_two, "student_id": "old-two", "photo": CANON.format("old-two")},
                            *[{"student_id": sid, "name": None, "photo": CANON.format(sid)} for sid in extra_old]])
    school.seed(current)
    reviewed = tmp_path / "sorted.csv"
    save_as_spreadsheet(reviewed, rows)
    return one, two, school.migrate("--migrate", "--pairs", str(reviewed), "--json")


AVA = {"name": "Ava Lee", "date_of_birth": "2015-03-04"}
NEW_AVA = {**AVA, "student_id": "new-one", "photo": None}
EVA = {"name": "Eva Lee", "date_of_birth": "2015-03-04"}
NEW_EVA = {**EVA, "student_id": "new-two", "photo": None}
SWAP = [{"orphan": "old-one", "student_id": "new-two"}, {"orphan": "old-two", "student_id": "new-one"}]


def test_probe_twins_swapped_while_a_nameless_current_record_makes_both_unknown_need_override(school, tmp_path):
    one, two, run = _swap(school, tmp_path, AVA, EVA,
                          [NEW_AVA, NEW_EVA,
                           {"student_id": "new-x", "name": None, "photo": None}], SWAP)
    assert run.code == 2 and school.photo_of("new-two") is None and school.photo_of("new-one") is None, run.text


def test_probe_twins_sharing_the_family_email_swapped_with_a_nameless_folder_need_override(school, tmp_path):
    fam = {"email": "lee.family@example.org"}
    one, two, run = _swap(school, tmp_path, {**AVA, **fam}, {**EVA, **fam},
                          [{**AVA, **fam, "student_id": "new-one", "photo": None},
                           {**EVA, **fam, "student_id": "new-two", "photo": None}],
                          [*SWAP, {"orphan": "old-x", "student_id": "none"}], extra_old=("old-x",))
    assert run.code == 2 and school.photo_of("new-two") is None and school.photo_of("new-one") is None, run.text


def test_probe_two_old_folders_of_one_child_the_second_given_to_her_twin_needs_override(school, tmp_path):
    one, two, run = _swap(school, tmp_path, AVA, AVA,
                          [NEW_AVA, NEW_EVA],
                          [{"orphan": "old-one", "student_id": "new-one"},
                           {"orphan": "old-two", "student_id": "new-two"}])
    assert run.code == 2 and school.photo_of("new-two") is None, run.text


def test_probe_a_twin_whose_sister_has_no_number_yet_is_not_given_her_folder(school, tmp_path):
    one, two, run = _swap(school, tmp_path, {**AVA, "student_number": 5}, {**EVA, "student_number": 6},
                          [{**AVA, "student_number": 5, "student_id": "new-one", "photo": None},
                           {**EVA, "student_id": "new-two", "photo": None}],
                          [{"orphan": "old-one", "student_id": "new-two"}, {"orphan": "old-x", "student_id": "none"}],
                          extra_old=("old-x",))
    assert run.code == 2 and school.photo_of("new-two") is None, run.text


def test_probe_reordered_names_with_a_number_swapped_need_override(school, tmp_path):
    one, two, run = _swap(school, tmp_path, {**AVA, "student_number": 5}, {**EVA, "student_number": 6},
                          [{"student_id": "new-one", "name": "Lee, Ava", "date_of_birth": "2015-03-04",
                            "student_number": 5, "photo": None},
                           {"student_id": "new-two", "name": "Lee, Eva", "date_of_birth": "2015-03-04", "photo": None}],
                          [{"orphan": "old-one", "student_id": "new-two"}, {"orphan": "old-x", "student_id": "none"}],
                          extra_old=("old-x",))
    assert run.code == 2 and school.photo_of("new-two") is None, run.text


@pytest.mark.parametrize("newcomer", [{"date_of_birth": "2012-03-04"}, {"student_number": 9}])
def test_probe_renamed_child_keeping_her_number_is_named_or_the_newcomer_row_is_refused(school, tmp_path, newcomer):
    face = school.put_photo("old-ann", jpeg_bytes("ann's face"), 1)
    backup(school, NEWEST, [{"student_id": "old-ann", "name": "Ann Lee", "date_of_birth": "2012-03-04",
                             "student_number": 5, "photo": CANON.format("old-ann")}])
    school.seed([{"student_id": "new-lee", "name": "Ann Lee", "photo": None, **newcomer},
                 {"student_id": "new-smith", "name": "Ann Smith", "date_of_birth": "2012-03-04", "student_number": 5,
                  "photo": None}])
    listed = {o["name"]: o for o in school.migrate("--list", "--json").json["orphans"]}
    assert listed["old-ann"]["decision"] == "unknown" and "new-smith" in listed["old-ann"]["reason"]
    assert school.migrate("--migrate").code == 1 and school.photo_of("new-lee") is None
    if "student_number" in newcomer:
        reviewed = tmp_path / "r.csv"
        save_as_spreadsheet(reviewed, [{"orphan": "old-ann", "student_id": "new-lee"}])
        run = school.migrate("--migrate", "--pairs", str(reviewed), "--json")
        assert run.code == 2 and school.photo_of("new-lee") != face, run.text


@pytest.mark.parametrize(("old_name", "new_name"), [("Sara Lee", "Sarah Lee"), ("Zoë Adams", "Zoe Adams")])
def test_probe_a_corrected_name_the_listing_asked_about_still_passes(school, tmp_path, old_name, new_name):
    face = school.put_photo("old-s", jpeg_bytes("her face"), 1)
    backup(school, NEWEST, [{"student_id": "old-s", "name": old_name, "date_of_birth": "2013-05-06",
                             "photo": CANON.format("old-s")}])
    school.seed([{"student_id": "new-s", "name": new_name, "date_of_birth": "2013-05-06", "photo": None},
                 {"student_id": "new-t", "name": "Tom Lee", "date_of_birth": "2013-05-06", "photo": None}])
    listed = {o["name"]: o for o in school.migrate("--list", "--json").json["orphans"]}
    reviewed = tmp_path / "r.csv"
    save_as_spreadsheet(reviewed, [{"orphan": "old-s", "student_id": "new-s"}])
    run = school.migrate("--migrate", "--pairs", str(reviewed), "--json")
    assert run.code == 0 and school.photo_of("new-s") == face, (listed["old-s"], run.text[-600:])


# ---------------------------------------------------------------- migrate _decide refusals
@pytest.mark.parametrize("action", ["--list", "--migrate", "--clean"])
@pytest.mark.parametrize("variant", ["plain", "newest_unreadable", "newest_links_none", "lost+found"])
def test_probe_an_empty_students_folder_while_a_backup_links_photos_is_never_all_done(school, action, variant):
    records = [{"student_id": f"old-{i}", "name": f"Kid {i}", "date_of_birth": "2012-01-01",
                "photo": CANON.format(f"old-{i}")} for i in range(3)]
    if variant == "newest_unreadable":
        (school.backups / NEWEST).write_text("{not json")
        backup(school, MIDDLE, records)
    elif variant == "newest_links_none":
        backup(school, NEWEST, [{**rec, "photo": None} for rec in records])
        backup(school, MIDDLE, records)
    else:
        backup(school, NEWEST, records)
    if variant == "lost+found":
        (school.students_dir / "lost+found").mkdir()
    school.seed([{"student_id": f"new-{i}", "name": f"Kid {i}", "date_of_birth": "2012-01-01", "photo": None}
                 for i in range(3)])
    result = school.migrate(action, "--json")
    assert result.code != 0, result.text


# ---------------------------------------------------------------- undo: a placed file already gone
def test_probe_a_dry_run_undo_after_a_person_deleted_the_linked_copies_is_not_all_done(school):
    r = Reseed(school)
    for i, name in enumerate(["Ann Lee", "Bob Ray"]):
        r.child(f"k{i}", name, date_of_birth=f"2014-01-0{i + 1}")
    r.commit()
    migrated = school.migrate("--migrate", "--json")
    run_id = migrated.json["run_id"]
    school.write_backup(list(school.db_docs().values()), name="seed_backup_20251201_0900.json")
    assert school.restore().code == 0
    for k in r.new:
        (school.folder(r.new_id(k)) / "profile.jpg").unlink()
    dry = school.migrate("--undo", run_id, "--dry-run", "--json")
    assert dry.code == 1, dry.text
    named = {x["student_id"] for x in json.loads(dry.out)["linked_to_removed"]}
    assert named == {r.new_id(k) for k in r.new}, dry.text
