"""Adversarial round 6 on restore, undo and the journal (helper): the new guards of this morning's commits
(journal-origin refusal, Holding.uncompared, dot-links, one-folder ids, set-aside folders, undo's current ids).
Genuine findings first (each fails on main), then passing probes (marked PROBE)."""

from __future__ import annotations

import os

import pytest
from test_migrate import Reseed
from test_placed_origin import journal_files, migrated_then_reseeded, wearers

from conftest import drop_dac_capabilities
from student_photos.sample import jpeg_bytes

CANON = "/api/photos/students/{}/profile.jpg"


# ---------------------------------------------------------------- findings

def test_a_placing_runs_journal_the_restore_cannot_read_does_not_let_it_spread_the_photos(school):
    # WRONG: the order migration's journal is 0600 root's (IT ran --migrate with sudo), the nightly restore runs
    # without DAC override: every_line skips the unreadable journal silently, so the restore spreads the mixed-up
    # photos to the wrong children and exits 0 -- the journal guard fails open on a journal it could not read.
    r, first, second = migrated_then_reseeded(school, "order")
    for path in journal_files(school):
        os.chmod(path, 0)

    run = school.subprocess("restore_student_photos", "--json", preexec_fn=drop_dac_capabilities)

    given = wearers(school, r, second)
    assert all(given[k] in (None, k) for k in second), (given, run.text)
    assert run.code == 1, run.text


def test_the_nightly_deep_check_does_not_say_all_clear_over_a_journal_it_could_not_read(school):
    # WRONG: after the unread-journal restore above gave each child another's photo, the nightly --verify-only --deep
    # (same account, journal still unreadable) finds no 'placed from another person' and exits 0; with the journal
    # readable it flags all three. An unread journal is evidence not looked at and must never be an all-clear.
    r, first, second = migrated_then_reseeded(school, "order")
    for path in journal_files(school):
        os.chmod(path, 0)
    spread = school.subprocess("restore_student_photos", "--json", preexec_fn=drop_dac_capabilities)
    assert spread.code in (0, 1), spread.text

    deep = school.subprocess("restore_student_photos", "--verify-only", "--deep", "--json",
                             preexec_fn=drop_dac_capabilities)

    for path in journal_files(school):
        os.chmod(path, 0o600)
    readable = school.restore("--verify-only", "--deep", "--json")
    assert "placed from another person" in {f["kind"] for f in readable.json["deep"]}, readable.text[-1500:]
    assert deep.code == 1, deep.text[-1500:]


@pytest.mark.parametrize("reused", ["ABCD-1001", "abcd-1001."])
def test_undo_never_leaves_a_childs_photo_only_in_a_current_students_folder_spelt_another_way(school, reused):
    # WRONG: the undo's 'source is now a current student's folder' check compares ids exactly, but the restore itself
    # (33ecc93) treats ABCD-1001/abcd-1001 and abcd-1001./abcd-1001 as ONE folder on an SMB/macOS share. Kid A's
    # migrated photo is removed because its source students/abcd-1001 'still holds it' -- on the share that folder is
    # Zoe Zed's (ABCD-1001): Kid A's photo is left only in another child's folder. Suspect undo._no_copy (owner in
    # self.current, no case/trailing-dot folding).
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1, old_id="abcd-1001")
    r.commit()
    run = school.migrate("--migrate", "--json")
    assert run.code == 0, run.text
    school.write_backup(list(r.new.values()), name="seed_backup_20251201_0000.json")
    school.seed([{"student_id": reused, "name": "Zoe Zed", "date_of_birth": "2016-06-06", "photo": None}])

    undo = school.migrate("--undo", run.json["run_id"], "--json")

    assert school.photo_of(r.new_id("a")) == r.photos["a"], \
        f"Kid A's photo left only in students/abcd-1001 = Zoe's {reused} on a share ({undo.text[-600:]})"
    assert undo.code == 1


def test_migrate_never_fills_two_ids_that_are_one_folder_on_a_case_insensitive_share(school):
    # WRONG: the restore now treats ABC1-KID/abc1-kid as one folder on an SMB/macOS share (duplicate-id problem, nothing
    # copied for either), but --migrate copies Amy's old photos into students/ABC1-KID and Ben's into students/abc1-kid:
    # on the share that is ONE folder, so one child's profile.jpg is overwritten/merged with the other's and exit 0.
    # Suspect: migrate has no equivalent of restore._mark_one_folder_ids.
    r = Reseed(school)
    r.child("a", "Amy Adams", date_of_birth="2015-01-01", attendance=1)
    r.child("b", "Ben Brown", date_of_birth="2015-02-02", attendance=1)
    r.new["a"]["student_id"], r.new["b"]["student_id"] = "ABC1-KID", "abc1-kid"
    r.commit()

    run = school.migrate("--migrate", "--json")

    filled = [sid for sid in ("ABC1-KID", "abc1-kid")
              if school.folder(sid).exists() and any(school.folder(sid).rglob("*.jpg"))]
    assert filled == [], (filled, run.text[-1200:])
    assert run.code == 1 and "abc1-kid" in run.text and "ABC1-KID" in run.text


def test_a_set_aside_entry_that_is_a_symlink_is_never_put_back_as_a_students_folder(school):
    # WRONG: students/.deleting-<Amy>.0badf00d is a symlink to Ben's folder (not a folder a clean moved aside: a
    # clean only ever moves real folders). --migrate's recover_interrupted_cleans os.rename()s it to students/<Amy>,
    # so Amy's folder IS a symlink to Ben's (the app shows Ben's photo as Amy's), and it says nothing (exit 0,
    # set_aside []). It should name it and leave it (lstat: only a real directory is put back).
    amy = school.new_student("Amy Adams", date_of_birth="2015-01-01")
    ben = school.new_student("Ben Brown", date_of_birth="2015-02-02")
    school.seed([amy, ben])
    school.write_backup([amy, ben])
    school.put_photo(ben["student_id"])
    os.symlink(ben["student_id"], school.students_dir / f".deleting-{amy['student_id']}.0badf00d")

    run = school.migrate("--migrate", "--json")

    assert not school.folder(amy["student_id"]).is_symlink(), (run.code, run.text[-800:])
    assert run.code == 1


# ---------------------------------------------------------------- probes (held on main; kept as evidence)

def test_probe_an_undo_of_the_placing_migration_does_not_lift_the_refusal(school):
    """PROBE: the order migration is undone (its old folders were deleted by hand, so the undo leaves the placed
    files as maybe the only copies); its placement lines still refuse the second reseed's restore."""
    r, first, second = migrated_then_reseeded(school, "order")
    runs = school.migrate("--history", "--json").json["runs"]
    run_id = [x for x in runs if x.get("tool", "").startswith("migrate") and x.get("action") == "migrate"][-1]["run_id"]
    undo = school.migrate("--undo", run_id, "--json")
    assert undo.code in (0, 1) and "Traceback" not in undo.err

    run = school.restore("--json")

    assert run.code == 1, run.text[-800:]
    assert all(school.photo_of(second[k]) is None for k in second), wearers(school, r, second)


def test_probe_a_fifo_in_another_folder_or_loose_in_students_neither_hangs_nor_passes_unnamed(school):
    """PROBE: a FIFO named like a photo in another student's attendance/ and one loose in students/: the restore
    finishes (no open() on a pipe), names the uncompared entry and refuses the copy (exit 1), never a traceback."""
    r = Reseed(school)
    r.child("a", "Amy Adams", date_of_birth="2015-01-01", attendance=1)
    r.child("b", "Ben Brown", date_of_birth="2015-02-02", attendance=1)
    r.commit()
    school.collection.update_one({"student_id": r.new_id("a")}, {"$set": {"photo": CANON.format(r.old_id("a"))}})
    school.put_photo(r.new_id("b"), jpeg_bytes("ben now"))
    os.mkfifo(school.folder(r.new_id("b")) / "attendance" / "2025-12-01_AM.jpg")
    os.mkfifo(school.students_dir / "loose.jpg")

    run = school.subprocess("restore_student_photos", "--json", timeout=60)

    assert "Traceback" not in run.err and run.code == 1, run.text[-800:]
    assert school.photo_of(r.new_id("a")) in (None, r.photos["a"])


@pytest.mark.parametrize("link", [
    "/api/photos/.student-photos/quarantine/q.jpg",
    "/api/photos//.student-photos/quarantine/q.jpg",
    "/api/photos/students/../.student-photos/quarantine/q.jpg",
    "/api/photos/./.student-photos/quarantine/q.jpg",
    "/api/photos/students\\..\\.student-photos\\quarantine\\q.jpg",
    "/api/photos/%2Estudent-photos/quarantine/q.jpg",
    "http://school.example/api/photos/.student-photos/quarantine/q.jpg",
    "/api/photos/.student-photos/quarantine/q.jpg?v=2",
])
def test_probe_no_spelling_of_a_dot_folder_link_is_followed(school, link):
    """PROBE: another child's photo sits in the tool's quarantine; no spelling of a link to it gives it to Amy."""
    amy = school.new_student("Amy Adams", date_of_birth="2015-01-01")
    school.write_backup([amy])
    school.seed([{**amy, "photo": link}])
    q = school.photos / ".student-photos" / "quarantine"
    q.mkdir(parents=True)
    (q / "q.jpg").write_bytes(jpeg_bytes("ben's face, quarantined"))
    (school.photos / "%2Estudent-photos").symlink_to(".student-photos")  # as a URL-decoding proxy would read it

    run = school.restore("--json")

    assert school.photo_of(amy["student_id"]) is None, run.text[-800:]
    assert run.code in (1, 2), run.text[-800:]
