"""Adversarial round 6 (2026-12-01): the identity rules of 5674af9/a2d4543 (placeholders, names written alike,
namesakes told apart, corrected-name hints, unusable backups) against migrate and restore.

Invariants: a photo goes only to the child proven to be its owner; exit 0 only when nothing is wrong or left undone.
Tests named test_finding_* (comment "FINDING n") FAIL on the code as committed with this file; test_probe_* held and
stay as regressions of a real risk checked."""

from __future__ import annotations

from datetime import datetime

import pytest
from old_records import CANON, NEWEST, OLDEST, backup, current, migrated_to, old, orphan, summary

from conftest import School
from student_photos.sample import jpeg_bytes

# ================================================================ FINDINGS (fail on current code)

# FINDING 1. Ann Lee (student number 5, born 2015-03-04) is now "Ann Smith" (name changed; number 5 kept). A newcomer
# "Ann Lee" shares the birth date and has no number ("N/A" in the second case: a placeholder, now absent). Candidates
# are only names written alike, and the "renamed?" look-up by identifier (matching._renamed) runs only when choose says
# NONE, so the newcomer is a MATCH on the birth date and gets the photos of the child whose number is 5. Exit 0.
@pytest.mark.parametrize("newcomer_number", [None, "N/A"], ids=["no-number", "placeholder-number"])
def test_finding_newcomer_namesake_gets_the_photo_of_a_renamed_child_whose_student_number_agrees(school,
                                                                                                 newcomer_number):
    kid = old("Ann Lee", date_of_birth="2015-03-04", student_number=5)
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    extra = {} if newcomer_number is None else {"student_number": newcomer_number}
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04", **extra),
                  School.new_student("Ann Smith", date_of_birth="2015-03-04", student_number=5))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, kid, ids) == [], \
        f"given to the newcomer, not the child holding number 5 (exit {run.code})"
    assert run.code == 1


# FINDING 2. The restore side of FINDING 1: the newcomer Ann Lee's `photo` field (copied by a reseed) points into the
# old folder of Ann Lee #5, who is now Ann Smith (#5) with no photo. Census.candidates_for finds only names written
# alike, so the old folder is "proven" the newcomer's on the birth date: the restore copies the other child's face
# into the newcomer's folder.
def test_finding_restore_copies_a_renamed_childs_old_photo_to_a_namesake_newcomer(school):
    school.put_photo("old-ann", jpeg_bytes("old-ann's photo"))
    school.write_backup([{"student_id": "old-ann", "name": "Ann Lee", "date_of_birth": "2015-03-04",
                          "student_number": 5, "photo": CANON.format("old-ann")}])
    newcomer = {"student_id": "new-lee", "name": "Ann Lee", "date_of_birth": "2015-03-04",
                "photo": CANON.format("old-ann")}
    renamed = {"student_id": "new-smith", "name": "Ann Smith", "date_of_birth": "2015-03-04", "student_number": 5,
               "photo": CANON.format("new-smith")}
    (school.folder("new-smith") / "attendance").mkdir(parents=True)
    school.seed([newcomer, renamed])

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert school.photo_of("new-lee") is None, f"student #5's photo copied to the newcomer (exit {result.code})"
    assert result.code == 1


# FINDING 3. Restore's one-to-one rule (restore.namesake_histories / _rival_folder) still finds rival old folders by
# the EXACT name key. Zoë Adams (#5) links old folder old-a ("Zoë Adams", same birth date); old folder old-b holds
# "Zoe Adams" with the same birth date AND number 5. Migrate (loose candidates) says old-a is ambiguous (exit 1);
# restore copies old-a's photo into Zoë's folder and exits 0, though old-b is at least as surely hers.
def test_finding_restore_ignores_a_rival_old_folder_whose_name_is_written_alike(school):
    school.put_photo("old-a", jpeg_bytes("old-a's photo"))
    school.put_photo("old-b", jpeg_bytes("old-b's photo"))
    school.write_backup([
        {"student_id": "old-a", "name": "Zoë Adams", "date_of_birth": "2015-03-04", "photo": CANON.format("old-a")},
        {"student_id": "old-b", "name": "Zoe Adams", "date_of_birth": "2015-03-04", "student_number": 5,
         "photo": CANON.format("old-b")}])
    school.seed([{"student_id": "new-zoe", "name": "Zoë Adams", "date_of_birth": "2015-03-04", "student_number": 5,
                  "photo": CANON.format("old-a")}])
    assert school.migrate("--list", "--json").code == 1  # migrate: ambiguous (2 orphaned folders fit new-zoe)

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert school.photo_of("new-zoe") is None, f"one of two old folders that could be hers gave a photo (exit " \
                                               f"{result.code})"
    assert result.code == 1


# FINDING 4. Migrate's one-to-one rule for a DISPUTED old folder (backups disagree: once "Zoe Adams" born 2015-03-04,
# once "Bob Ray") looks its records up by exact name key (MatchBook._disputed: h.key = ?). Written "Zoë Adams" it
# blocks (probe below); written "Zoe Adams" - alike, so by the new rule it could be her - it is not counted and the
# other folder is migrated into Zoë's.
def test_finding_disputed_rival_folder_written_alike_is_not_counted_by_migrate(school):
    o1 = old("Zoë Adams", date_of_birth="2015-03-04")
    o2 = old("Zoe Adams", date_of_birth="2015-03-04")
    orphan(school, o1)
    orphan(school, o2)
    backup(school, NEWEST, [o1, o2])
    backup(school, OLDEST, [{**o2, "name": "Bob Ray", "date_of_birth": None}])
    ids = current(school, School.new_student("Zoë Adams", date_of_birth="2015-03-04"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, o1, ids) == [], f"migrated despite a rival folder that could be hers (exit {run.code})"


# FINDING 5. Placeholder dates are recognised only as a bare day. A blank birth date saved as local midnight
# 1970-01-01 by an app in a +01:00 zone (the UK was on BST all through 1970) is the instant 1969-12-31T23:00Z; the
# same for 1900-01-01 in US Eastern (1900-01-01T05:00Z). A leaver and a newcomer Ann Lee with the same blank "agree"
# on birth date: the leaver's photo goes to the newcomer, exit 0. (identity.value_code: _PLACEHOLDER_CODES holds
# only d-codes; D-codes with a time are not compared against placeholder days.)
@pytest.mark.parametrize("stamp", ["1969-12-31T23:00:00Z", "1900-01-01T05:00:00Z"])
def test_finding_placeholder_birth_date_stored_as_an_instant_proves_a_newcomer_is_a_leaver(school, stamp):
    leaver = old("Ann Lee", date_of_birth={"$date": stamp})
    orphan(school, leaver)
    backup(school, NEWEST, [leaver])
    ids = current(school, School.new_student("Ann Lee", date_of_birth=datetime.fromisoformat(stamp[:-1])))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, leaver, ids) == [], f"a blank birth date taken as proof (exit {run.code})"


# FINDING 6. Placeholder dates written as text in another order, or the Access/Excel zero day, are not placeholders:
# "01/01/1900" agrees with "01/01/1900" as text, "1899-12-30" as a date. Leaver -> newcomer, exit 0.
@pytest.mark.parametrize("blank", ["01/01/1900", "1899-12-30"])
def test_finding_placeholder_birth_date_in_other_forms_proves_a_newcomer_is_a_leaver(school, blank):
    leaver = old("Ann Lee", date_of_birth=blank)
    orphan(school, leaver)
    backup(school, NEWEST, [leaver])
    ids = current(school, School.new_student("Ann Lee", date_of_birth=blank))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, leaver, ids) == [], f"a placeholder birth date taken as proof (exit {run.code})"


# FINDING 7. Same name AND same student number; only the birth date was corrected (04-03 <-> 03-04). The tool says
# "no current student" (a leaver) and exits 0: the child's photos are left behind with "all done". A unique
# identifier agreeing while another field differs is a contradiction for a person, not proof that the child left.
def test_finding_same_name_and_student_number_with_corrected_birth_date_is_called_a_leaver_exit_0(school):
    kid = old("Ann Lee", date_of_birth="2015-03-04", student_number=5)
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    current(school, School.new_student("Ann Lee", date_of_birth="2015-04-03", student_number=5))

    run = school.migrate("--list", "--json")

    assert run.code == 1, f"exit {run.code}: {summary(run)}"


# FINDING 8. Renamed child (Ann Lee -> Ann Smith) keeps student number 5; the school email follows the name. The
# corrected-name hint (renamed_only) requires "nothing differs but the name", the email differs, so: "no current
# student has this name (left the school?)", exit 0, photos left behind.
def test_finding_renamed_child_with_same_number_and_new_email_is_called_a_leaver_exit_0(school):
    kid = old("Ann Lee", student_number=5, email="ann.lee@school.org")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    current(school, School.new_student("Ann Smith", student_number=5, email="ann.smith@school.org"))

    run = school.migrate("--list", "--json")

    assert run.code == 1, f"exit {run.code}: {summary(run)}"


# ================================================================ PROBES (held)

def test_probe_disputed_rival_folder_with_the_exact_name_blocks(school):
    """PROBE (contrast to FINDING 4): the same disputed folder written exactly "Zoë Adams" blocks the migration."""
    o1 = old("Zoë Adams", date_of_birth="2015-03-04")
    o2 = old("Zoë Adams", date_of_birth="2015-03-04")
    orphan(school, o1)
    orphan(school, o2)
    backup(school, NEWEST, [o1, o2])
    backup(school, OLDEST, [{**o2, "name": "Bob Ray", "date_of_birth": None}])
    ids = current(school, School.new_student("Zoë Adams", date_of_birth="2015-03-04"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, o1, ids) == [] and run.code == 1


@pytest.mark.parametrize("other", ["Annmarie Lee", "Ann Marie Lee", "ANN-MARIE LEE", "Ann–Marie Lee"])
def test_probe_a_current_child_whose_name_is_written_alike_blocks(school, other):
    """PROBE: loose-key collisions only ever make a question, never a match."""
    kid = old("Ann-Marie Lee", date_of_birth="2015-03-04", student_number=5)
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann-Marie Lee", date_of_birth="2015-03-04"),
                  School.new_student(other, date_of_birth="2015-03-04"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_probe_a_word_subset_hint_never_matches(school):
    """PROBE: old "Ann" (surname moved elsewhere); two current children are Ann-something with her birth date."""
    kid = old("Ann", date_of_birth="2015-03-04")
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"),
                  School.new_student("Ann Smith", date_of_birth="2015-03-04"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_probe_namesakes_told_apart_only_by_a_placeholder_are_not_told_apart(school):
    """PROBE: the chosen Ann Lee's number is "N/A" (absent); the other has 7; the old one had 5 and the birth date
    both share. The agreeing field (birth date) does not separate them: ambiguous, nothing moved."""
    kid = old("Ann Lee", date_of_birth="2015-03-04", student_number=5)
    orphan(school, kid)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04", student_number="N/A"),
                  School.new_student("Ann Lee", date_of_birth="2015-03-04", student_number=7))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, kid, ids) == [] and run.code == 1


def test_probe_a_backup_whose_ids_are_all_numbers_is_still_read(school):
    """PROBE: an old export with integer ids (folder 2003) is usable: the folder is matched, not blocked with exit 2."""
    kid = {"student_id": 2003, "name": "Ann Lee", "date_of_birth": "2015-03-04", "student_number": 5}
    school.put_photo("2003", jpeg_bytes("face of 2003"), 1)
    backup(school, NEWEST, [kid])
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04", student_number=5))

    run = school.migrate("--migrate", "--json")

    assert run.code == 0, summary(run)
    assert school.photo_of(ids[0]) == jpeg_bytes("face of 2003")


def test_a_leaver_whose_sibling_shares_the_family_email_is_no_question(school):
    """A sibling stays (another name, another birth date, the family's email): the leaver's folder is no one's, exit
    0 as before; the shared email alone is no hint of a corrected record."""
    leaver = old("Ann Lee", date_of_birth="2014-01-01", email="family@example.org")
    orphan(school, leaver)
    backup(school, NEWEST, [leaver])
    ids = current(school, School.new_student("Bob Lee", date_of_birth="2016-06-06", email="family@example.org"))

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, leaver, ids) == []
    assert run.code == 0, run.text
