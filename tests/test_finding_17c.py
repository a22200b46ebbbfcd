"""Round 17c findings (helper h17c): the after-reseed procedure walked by a new administrator with something
going wrong between the steps. Each test FAILS on the current code: it asserts the safe, honest behaviour."""
from __future__ import annotations

import csv
import re
import shutil

import pytest
from test_migrate import Reseed


def _reseeded(school, n: int = 3) -> Reseed:
    """A school just reseeded: n children with name and birth date, their photos in their old-id folders."""
    r = Reseed(school)
    for i in range(n):
        r.child(f"k{i}", f"Kid Number{i}", date_of_birth=f"2014-01-0{i + 1}")
    r.commit()
    return r


def _run_id(result) -> str:
    found = re.search(r"Run id: (\S+)", result.out)
    assert found, result.text
    return found.group(1)


# Scenario: step 1 (`migrate --list`) right after the reseed, while the share is not mounted (students/ empty on the
# bare mount point) or PHOTO_DIR names the wrong folder (the `students` folder itself, or the app's folder above
# `photos/`, so PHOTO_DIR/students does not exist). Three old-id folders hold every child's photo.
# What the tool did: "✅ No orphaned directories found" ... "🏁 Result: all done, nothing needs attention (exit 0)";
# `--migrate` the same, exit 0. Right after a reseed the database links no photo yet, so the one guard
# (migrate._decide: `not names and book.any_photo`) never fires, though the newest backup links a photo for every
# student and the restore's own advice at that moment is "carry their photos first with migrate_orphaned_photos.py
# --list", which then says all done.
# Why wrong: README "Exit codes": exit 2 for "photo folder"; exit 0 is "nothing needs attention"; safety.md section 4:
# "an unmounted share (...students/ empty...) | exit 2"; the code's own comment: "never 'all done' on an unmounted
# share". The admin is told there is nothing to carry and goes on to step 5 (a new backup) with every photo behind.
@pytest.mark.parametrize("layout", ["share not mounted", "PHOTO_DIR is the students folder", "PHOTO_DIR one too high"])
@pytest.mark.parametrize("step", [("--list",), ("--migrate",)])
def test_step_one_on_an_unmounted_share_or_wrong_photo_dir_right_after_a_reseed_is_never_all_done(
        school, tmp_path, layout, step):
    _reseeded(school)
    photo_dir = school.photos
    if layout == "share not mounted":
        shutil.move(school.students_dir, tmp_path / "the-share")
        school.students_dir.mkdir()
    elif layout == "PHOTO_DIR is the students folder":
        photo_dir = school.students_dir
    else:
        photo_dir = school.root

    result = school.migrate(*step, PHOTO_DIR=str(photo_dir))

    assert result.code != 0 and "all done" not in result.out, result.text


# Scenario: step 2, the admin reviews plan.csv in a spreadsheet. For Kid Number0's row (the tool's decision: migrate
# to her new id, student_id and student_name filled in) the admin empties student_id and writes `none` in the
# student_name cell beside it (the wrong cell), or the name of the child they think it is; then steps 3 and 4.
# What the tool did: the row is skipped as "left empty" (pairs.apply_pairs_file: `if not sid: continue`); step 3 says
# "nothing needs a person; 2 orphaned folder(s) can be migrated (exit 0)", step 4 copies the folder to Kid Number0,
# "🏁 Result: all done, nothing needs attention (exit 0)". The person's written decision is dropped silently.
# Why wrong: reference.md `--pairs`: "a filled-in `old_name` or `student_name` must be the folder's or the
# student's, or the file is refused"; README step 2: only "A row left empty keeps the tool's own decision" (this row
# is not empty).
@pytest.mark.parametrize("written", ["none", "Kid Number1"])
def test_a_half_filled_row_with_student_name_but_no_student_id_is_never_carried_out_as_the_tools_decision(
        school, tmp_path, written):
    r = _reseeded(school, 2)
    plan = tmp_path / "plan.csv"
    assert school.migrate("--list", "--csv", str(plan)).code == 0
    rows = list(csv.reader(plan.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[0]
    for row in rows[1:]:
        if row[header.index("old_name")] == "Kid Number0":
            row[header.index("student_id")] = ""
            row[header.index("student_name")] = written
    reviewed = tmp_path / "reviewed.csv"
    with reviewed.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows(rows)

    dry = school.migrate("--migrate", "--pairs", str(reviewed), "--dry-run")
    done = school.migrate("--migrate", "--pairs", str(reviewed))

    assert dry.code != 0 and done.code != 0, (dry.text, done.text)
    assert school.photo_of(r.new_id("k0")) is None, "the row's written decision was dropped"


# Scenario: steps 1-6 done (migrate, a new backup, restore: every child linked to the copy in their new folder). The
# admin then undoes the migrate (`--history`, `--undo RUN_ID`), e.g. thinking it had to be redone.
# What the tool did: "🗑️ Placed files removed (each still has its source): 9", "📁 Empty folders removed: 6",
# "🏁 Result: all done, nothing needs attention (exit 0)". Every student's database link (written by the restore
# after the migrate) now names a file that is gone: the app shows three broken photos; the next --verify-only says
# "Missing photo file" and advises "fill them with --photo-source" (an old server, the photographer's zip), though
# the photos are in the old folders and a migrate would carry them again.
# Why wrong: README "Exit codes": 0 is "finished; nothing needs attention". The undo knows (the journal folder holds
# the restore's run, which linked those very files) that links of a later run now point at what it removed.
def test_undo_of_a_migrate_after_the_restore_linked_its_copies_is_not_all_done(school):
    r = _reseeded(school)
    migrated = school.migrate("--migrate")
    assert migrated.code == 0, migrated.text
    school.write_backup(list(school.db_docs().values()), name="seed_backup_20251201_0900.json")  # step 5
    assert school.restore().code == 0  # step 6: every child linked to the copy in their folder
    assert all(school.db_docs()[r.new_id(k)]["photo"] for k in r.new)

    undo = school.migrate("--undo", _run_id(migrated))

    linked_to_nothing = [k for k in r.new if school.db_docs()[r.new_id(k)]["photo"] and
                         school.photo_of(r.new_id(k)) is None]
    assert not linked_to_nothing or undo.code != 0, (linked_to_nothing, undo.text)


# Scenario: the app's nightly backup job ran between the reseed and the admin's first step (or the admin took step 5
# first), so the newest backup already holds the new ids. Cron's `restore --verify-only` mails the office.
# What the tool did: "⚠️ Missing photo file: Kid Number0 ..." for each child, exit 1, and the one piece of advice:
# "💡 Missing photos: if another copy exists (an old server, a backup restore, the photographer's zip), fill them
# with --photo-source PATH" - nothing about migrate, though `migrate --list` proves every old folder the child's
# ("same name and date_of_birth") and would carry it.
# Why wrong: README "Missing and corrupt photos": "`⚠️ Missing photo file` means no photo is in place and no proven
# copy was found in the store" - a proven copy is in the store; the message sends the admin to hunt for other
# copies (or to fill older picture-day photos) instead of the documented after-reseed procedure.
def test_verify_after_a_backup_of_the_new_ids_points_at_migrate_when_the_old_folders_are_proven_theirs(school):
    r = _reseeded(school)
    school.write_backup(list(school.db_docs().values()), name="seed_backup_20251201_0900.json")
    listed = school.migrate("--list", "--json")
    assert {o["target_id"] for o in listed.json["orphans"] if o["decision"] == "migrate"} == \
        {r.new_id(k) for k in r.new}, listed.text

    verify = school.restore("--verify-only")

    assert verify.code == 1
    assert "migrate_orphaned_photos.py" in verify.out, verify.out[-800:]


# Scenario: BACKUP_DIR names an empty folder (the app's backup job writes elsewhere, or the admin typed the wrong
# path in .env); step 1 after a reseed.
# What the tool did: `migrate --list`: "📦 Backups consulted: 0", every folder "⛔ Unknown: no backup holds this old
# id", exit 1, and the advice "💡 Orphans that need a person: write the plan with --list --csv plan.csv (and look with
# --html review.html), fill in student_id, then --migrate --pairs plan.csv --dry-run" - pair every child's folder by
# face, by hand. Nothing says no backup file was found. The restore, on the same setting, refuses: "❌ No backup file
# found! (looked for seed_backup_*.json in ...)", exit 2.
# Why wrong: README "Exit codes": 2 is "could not run (configuration, backup, ...)"; the step's message sends the
# admin to decide hundreds of folders by eye (where the identity rule would have decided them once BACKUP_DIR is
# right) instead of naming the setting, and the one check that stops a folder of an earlier owner (ids recycled) from
# being paired runs on no backup at all.
def test_step_one_with_an_empty_backup_folder_names_it_instead_of_asking_to_pair_every_folder_by_hand(
        school, tmp_path):
    _reseeded(school)
    empty = tmp_path / "wrong-backups"
    empty.mkdir()

    listed = school.migrate("--list", BACKUP_DIR=str(empty))
    restored = school.restore("--verify-only", BACKUP_DIR=str(empty))

    assert restored.code == 2 and "No backup file found" in restored.text, restored.text
    assert listed.code == 2 or "No backup file found" in listed.text, listed.text
