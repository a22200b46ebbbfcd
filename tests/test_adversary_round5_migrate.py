"""Adversarial round 5 (2026-12-01): migrate_orphaned_photos matching by identity, against a messy district.

Invariants: a photo goes only to the child proven to be its owner; a run exits 0 only when nothing is wrong or left
undone. Tests named test_finding_* (comment "FINDING n") FAIL on the code as committed with this file; the rest held
and stay as regressions."""

from __future__ import annotations

import uuid
from datetime import datetime

from old_records import NEWEST, OLDEST, backup, current, migrated_to, old, orphan

from conftest import School

# ================================================================ FINDINGS (fail on current code)

# FINDING 1. The district stores birth dates under `dob` (not in the default MATCH_FIELDS). Ann Lee (2014) left;
# a newcomer also called Ann Lee (2017) joined. Every record of both holds a birth date, and they differ, yet the
# tool sees no identifying field anywhere, decides on the name alone and copies the leaver's face into the newcomer's
# folder, exit 0. Wrong child. config.py refuses an empty MATCH_FIELDS for exactly this reason ("names alone would
# then decide, even between records whose birth dates differ"); configured fields that no record holds are the same.
def test_finding_birth_date_under_an_unconfigured_key_lets_a_name_alone_give_a_leavers_photo_to_a_newcomer(school):
    leaver = old("Ann Lee", dob="2014-01-01", student_code="A-100")
    orphan(school, leaver)
    backup(school, NEWEST, [leaver])
    ids = current(school, School.new_student("Ann Lee", dob="2017-05-05", student_code="B-999"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, leaver, ids) == [], f"the leaver's photo was given to the newcomer (exit {run.code})"
    assert run.code != 0


# FINDING 2. Same child, name fields swapped by the new export ("Lee Ann" in the backup, "Ann Lee" now), same birth
# date and nothing else. The tool says "no current student" (the student left) and exits 0: a child's photos are
# left behind with "all done". A careful tool treats a current student with the same birth date and the same name
# words in another order as "a corrected name?" (exit 1), as it already does for names one letter apart.
def test_finding_first_and_last_name_swapped_is_reported_as_a_leaver_with_exit_0(school):
    kid = old("Lee Ann", date_of_birth="2015-03-04")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))

    run = school.migrate("--list", "--json")

    assert run.code == 1, f"exit {run.code}: {run.json['orphans'][0]['decision']} / {run.json['orphans'][0]['reason']}"


# FINDING 3. Same as 2, "surname, first name" written by the old system ("Lee, Ann").
def test_finding_surname_comma_first_name_is_reported_as_a_leaver_with_exit_0(school):
    kid = old("Lee, Ann", date_of_birth="2015-03-04")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))

    run = school.migrate("--list", "--json")

    assert run.code == 1, f"exit {run.code}: {run.json['orphans'][0]['decision']} / {run.json['orphans'][0]['reason']}"


# FINDING 4. The old export dropped accents ("Zoe Adams"); now there are two children born the same day:
# "Zoë Adams" and "Zoe Adams". identity.loose_name_key's own doc says names sharing a loose key "may be one name
# written two ways, so a key that names one of them is never proof that it is not the other" - but the matching
# (candidates by exact name key, matching.py decide_by_identity/_decide) never considers Zoë, and migrates to Zoe.
def test_finding_accent_dropped_namesake_is_not_considered_and_the_other_child_gets_the_photo(school):
    kid = old("Zoe Adams", date_of_birth="2015-03-04")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Zoë Adams", date_of_birth="2015-03-04"),
                  School.new_student("Zoe Adams", date_of_birth="2015-03-04"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, kid, ids) == [], f"given to one of two children it could be (exit {run.code})"
    assert run.code == 1


# FINDING 5. A roll number is a child's place in one class register: it is reused in every class, every year.
# Ann Lee (roll 5 in one school) left; another Ann Lee is roll 5 in another school. No birth date is recorded. The
# default MATCH_FIELDS count roll_number as proof, so the leaver's face goes to the other child, exit 0.
def test_finding_a_class_roll_number_is_taken_as_proof_across_schools(school):
    leaver = old("Ann Lee", roll_number=5, school_id="north", class_id="3A")
    orphan(school, leaver)
    backup(school, NEWEST, [leaver])
    ids = current(school, School.new_student("Ann Lee", roll_number=5, school_id="south", class_id="1C"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, leaver, ids) == [], \
        f"given to another school's Ann Lee on a roll number (exit {run.code})"


# FINDING 6. Two current Ann Lees share a birth date (2015-03-04); one has student number 7, the other none. The old
# Ann Lee (same birth date) had student number 5: that rules out the first. The tool migrates to the second, whose
# only "agreeing" field is the birth date the ruled-out namesake shares too: she is chosen by her gap (no number
# recorded), which safety.md forbids ("Namesakes are told apart by agreement, never by gaps"). identity.choose
# checks only that the chosen one agrees on *some* field, not on one that tells her from the other namesakes.
def test_finding_namesake_chosen_by_a_gap_when_the_agreeing_field_is_shared_with_the_ruled_out_one(school):
    kid = old("Ann Lee", date_of_birth="2015-03-04", student_number=5)
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"),
                  School.new_student("Ann Lee", date_of_birth="2015-03-04", student_number=7))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, kid, ids) == [], f"chosen by a missing student number (exit {run.code})"
    assert run.code == 1


# FINDING 7. A placeholder in an identifying field ("N/A" for a pupil not yet given a number) is compared as text and
# "agrees": the leaver Ann Lee (N/A) and the newcomer Ann Lee (N/A) are called the same child by a shared placeholder,
# and the leaver's photo is copied to the newcomer, exit 0. identity._text_code treats any text as an identifier.
def test_finding_a_shared_placeholder_value_is_taken_as_an_agreeing_identifier(school):
    leaver = old("Ann Lee", student_number="N/A")
    orphan(school, leaver)
    backup(school, NEWEST, [leaver])
    ids = current(school, School.new_student("Ann Lee", student_number="N/A"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, leaver, ids) == [], f"matched on a shared 'N/A' (exit {run.code})"


# FINDING 8. The newest backup was written by a newer app version whose documents key the id as "id" (not
# "student_id"). It says old id X was Bob Ray (the id was recycled to him before this reseed); an older backup says
# X was Ann Lee. The newer backup is read "successfully" with every record's id missing, so only the old record
# counts: folder X (possibly Bob's photos) is copied to Ann, exit 0. A backup none of whose records has an id proves
# nothing was read; "every backup counts" (safety.md) should stop this (backups.read_backup / migrate.load_history).
def test_finding_a_backup_whose_records_key_the_id_differently_is_silently_ignored(school):
    x = str(uuid.uuid4())
    ann = old("Ann Lee", student_id=x, date_of_birth="2015-03-04")
    orphan(school, ann)
    backup(school, OLDEST, [ann])
    backup(school, NEWEST, [{"id": x, "name": "Bob Ray", "date_of_birth": "2013-01-01"}])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"),
                  School.new_student("Bob Ray", date_of_birth="2013-01-01"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, ann, ids) == [] and run.code != 0, \
        f"copied on the older backup alone, the newer one unread (exit {run.code})"


# FINDING 9. The new database stores the first name in `name` (surname moved to `last_name`); the backups hold full
# names. Every child is in the database with the same birth date, yet every old folder is "no current student"
# (left the school?) and the run exits 0: the whole school's photos left behind with "all done". Nothing in the run
# notices that no orphan at all found its student (matching.py _decide / _renamed: only one-letter respellings).
def test_finding_name_format_drift_makes_the_whole_school_leavers_with_exit_0(school):
    kids = [old(f"{first} {last}", date_of_birth=f"2015-0{i + 1}-0{i + 1}")
            for i, (first, last) in enumerate([("Ann", "Lee"), ("Bo", "Chen"), ("Cy", "Dunn")])]
    for kid in kids:
        orphan(school, kid)
    backup(school, NEWEST, kids)
    current(school, *(School.new_student(k["name"].split()[0], last_name=k["name"].split()[1],
                                         date_of_birth=k["date_of_birth"]) for k in kids))

    run = school.migrate("--list", "--json")

    assert run.code == 1, f"exit {run.code}: " + "; ".join(o["decision"] for o in run.json["orphans"])


# FINDING 10. As FINDING 8, with the newest backup holding the ids as Extended JSON {"$oid": X} (an app version that
# stored ObjectId ids; folders are named by the hex). It says X was Bob Ray; the older string-id backup says Ann Lee.
# records.record_from_document turns the ObjectId into "ObjectId('...')", which names no folder, so the newest
# backup's word is dropped without a note and folder X is copied to Ann, exit 0.
def test_finding_a_newer_backup_with_oid_ids_for_the_same_old_ids_is_silently_ignored(school):
    x = "656f0c2a9b1e4d3a2c1b0a99"
    ann = old("Ann Lee", student_id=x, date_of_birth="2015-03-04")
    orphan(school, ann)
    backup(school, OLDEST, [ann])
    backup(school, NEWEST, [{"student_id": {"$oid": x}, "name": "Bob Ray", "date_of_birth": "2013-01-01"}])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"),
                  School.new_student("Bob Ray", date_of_birth="2013-01-01"))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, ann, ids) == [] and run.code != 0, f"exit {run.code}"


# ================================================================ probes that held (regressions)

def test_chain_of_reseeds_two_old_folders_for_one_child_is_ambiguous(school):
    """Backup A -> folder X, backup B -> folder Y, both the same Ann Lee; current Z. Neither may be picked."""
    a = old("Ann Lee", date_of_birth="2015-03-04")
    b = old("Ann Lee", date_of_birth="2015-03-04")
    orphan(school, a)
    orphan(school, b)
    backup(school, OLDEST, [a])
    backup(school, NEWEST, [b])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    assert school.photo_of(ids[0]) is None and run.code == 1


def test_old_id_recycled_between_backups_for_another_child_is_never_migrated(school):
    """Oldest backup: X was Bob Ray; newest: X is Ann Lee. The folder may be Bob's: no one gets it."""
    ann = old("Ann Lee", date_of_birth="2015-03-04")
    orphan(school, ann)
    bob = dict(ann, name="Bob Ray", date_of_birth="2013-01-01")
    backup(school, OLDEST, [bob])
    backup(school, NEWEST, [ann])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"),
                  School.new_student("Bob Ray", date_of_birth="2013-01-01"))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, ann, ids) == [] and run.code == 1


def test_two_records_of_one_id_in_one_backup_disagreeing_block(school):
    ann = old("Ann Lee", date_of_birth="2015-03-04")
    orphan(school, ann)
    backup(school, NEWEST, [ann, dict(ann, name="Ann Leigh")])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, ann, ids) == [] and run.code == 1


def test_dd_mm_yyyy_birth_date_cannot_prove_a_twin(school):
    """Backup '04/03/2015' (text); current twins with ISO and BSON dates: text vs date is unknown, blocks."""
    kid = old("Sam Lee", date_of_birth="04/03/2015")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Sam Lee", date_of_birth="2015-03-04"),
                  School.new_student("Sam Lee", date_of_birth=datetime(2015, 4, 3)))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_mm_dd_vs_dd_mm_same_text_different_children(school):
    """Old '03/04/2015' text; current 'Sam Lee' '04/03/2015' text: different text, so different: not migrated."""
    kid = old("Sam Lee", date_of_birth="03/04/2015")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Sam Lee", date_of_birth="04/03/2015"))
    school.migrate("--migrate", "--json")
    assert migrated_to(school, kid, ids) == []


def test_student_number_reused_for_a_different_child_with_same_name(school):
    kid = old("Ann Lee", date_of_birth="2015-03-04", student_number="1001")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2016-09-09", student_number=1001))
    school.migrate("--migrate", "--json")
    assert migrated_to(school, kid, ids) == []


def test_backup_in_first_last_name_format_blocks_rather_than_matches(school):
    """New-format backup: first_name/last_name and no `name`. The old record has no usable name: never a match."""
    kid = {"student_id": str(uuid.uuid4()), "first_name": "Ann", "last_name": "Lee", "date_of_birth": "2015-03-04"}
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_null_name_in_newer_backup_still_blocks(school):
    kid = old("Ann Lee", date_of_birth="2015-03-04")
    orphan(school, kid)
    backup(school, OLDEST, [kid])
    backup(school, NEWEST, [dict(kid, name=None, date_of_birth=None)])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    # merging a nameless record with a named one: at best unknown
    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_a_birth_date_with_a_time_never_proves_a_plain_day(school):
    kid = old("Ann Lee", date_of_birth={"$date": "2015-03-03T23:00:00Z"})
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"),
                  School.new_student("Ann Lee", date_of_birth="2015-03-03"))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_current_student_whose_id_is_the_old_id_of_another_child(school):
    """Folder X belongs to current student Bob (id recycled), but the backup says X was Ann. Ann (new id) must not
    get Bob's folder content, and the run must not exit 0 (Bob's folder may hold Ann's face)."""
    x = str(uuid.uuid4())
    ann_old = old("Ann Lee", student_id=x, date_of_birth="2015-03-04")
    orphan(school, ann_old)
    backup(school, NEWEST, [ann_old])
    ids = current(school, School.new_student("Bob Ray", student_id=x, date_of_birth="2013-01-01"),
                  School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    assert school.photo_of(ids[1]) is None and run.code == 1


def test_twins_whose_records_were_swapped_between_backups_are_never_migrated(school):
    sam = old("Sam Lee", date_of_birth="2015-03-04")
    sara = old("Sara Lee", date_of_birth="2015-03-04")
    orphan(school, sam)
    orphan(school, sara)
    backup(school, OLDEST, [sam, sara])
    backup(school, NEWEST, [dict(sam, name="Sara Lee"), dict(sara, name="Sam Lee")])
    ids = current(school, School.new_student("Sam Lee", date_of_birth="2015-03-04"),
                  School.new_student("Sara Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    assert migrated_to(school, sam, ids) == [] and migrated_to(school, sara, ids) == [] and run.code == 1


def test_dry_run_changes_nothing_and_reports_like_migrate(school):
    kid = old("Ann Lee", date_of_birth="2015-03-04")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    before = school.snapshot()
    dry = school.migrate("--migrate", "--dry-run", "--json")
    assert school.snapshot() == before and dry.code == 0
    assert [o["decision"] for o in dry.json["orphans"]] == ["migrate"]
