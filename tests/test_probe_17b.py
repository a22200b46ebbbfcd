"""Round 17b probes: drift the tools survived (regression guards)."""
from __future__ import annotations

import pytest
from old_records import CANON, NEWEST, OLDEST, backup
from test_finding_17b import _after_reseed

from student_photos.sample import jpeg_bytes


def _procedure(school):
    """README's after-reseed steps 1, 4, 5, 6, 7: the codes of --list, --migrate, restore and --verify-only."""
    codes = [school.migrate("--list", "--json").code, school.migrate("--migrate", "--json").code]
    backup(school, NEWEST, list(school.db_docs().values()))
    codes.append(school.restore("--json", MIN_DATABASE_RATIO="0").code)
    codes.append(school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0").code)
    return codes


def test_probe_integer_ids_in_the_backup_still_say_who_a_recycled_id_was(school):
    # The old app stored ids as numbers (5); the reseeded database as text ("5"), given to another child.
    school.put_photo("5", jpeg_bytes("ann"))
    backup(school, NEWEST, [{"student_id": 5, "name": "Ann Lee", "date_of_birth": "2012-01-01",
                             "photo": CANON.format("5")}])
    school.seed([{"student_id": "5", "name": "Bob Ray", "date_of_birth": "2016-02-02", "photo": None}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert run.code == 1 and school.db_docs()["5"]["photo"] is None
    assert ("5", "identity") in {(p["student_id"], p["problem"]) for p in run.json["problems"]}


def test_probe_text_birth_date_against_an_iso_date_is_a_question(school):
    _after_reseed(school, "Ann Lee", "04/03/2015", "Ann Lee", "2015-03-04")
    assert _procedure(school) == [1, 1, 1, 1]
    assert school.photo_of("new1") is None


@pytest.mark.parametrize(("old_name", "new_name"), [("María García", "Maria Garcia"),
                                                    ("Ann-Marie Lee", "Anne Marie Lee"),
                                                    ("Ann Lee", "Lee Ann Marie")])
def test_probe_name_written_another_way_with_the_same_birth_date_is_a_question(school, old_name, new_name):
    _after_reseed(school, old_name, "2015-03-04", new_name, "2015-03-04")
    assert _procedure(school)[:2] == [1, 1]
    assert school.photo_of("new1") is None


def _twins(school, ava: str, eva: str, email_eva: str = "lee@fam.org") -> tuple[bytes, bytes]:
    a = school.put_photo("oa", jpeg_bytes("ava"))
    e = school.put_photo("oe", jpeg_bytes("eva"))
    backup(school, OLDEST, [
        {"student_id": "oa", "name": "Ava Lee", "date_of_birth": "2015-03-04", "email": "lee@fam.org",
         "photo": CANON.format("oa")},
        {"student_id": "oe", "name": "Eva Lee", "date_of_birth": "2015-03-04", "email": "lee@fam.org",
         "photo": CANON.format("oe")}])
    school.seed([{"student_id": "ne", "name": eva, "date_of_birth": "2015-03-04", "email": email_eva, "photo": None},
                 {"student_id": "na", "name": ava, "date_of_birth": "2015-03-04", "email": "lee@fam.org",
                  "photo": None}])
    return a, e


def test_probe_twins_sharing_birth_date_and_family_email_each_get_their_own(school):
    a, e = _twins(school, "Ava Lee", "Eva Lee", email_eva="LEE@fam.org ")
    assert _procedure(school) == [0, 0, 0, 0]
    assert (school.photo_of("na"), school.photo_of("ne")) == (a, e)


def test_probe_twins_stored_surname_first_are_asked_about_not_swapped(school):
    _twins(school, "LEE, Ava", "LEE, Eva")
    assert _procedure(school) == [1, 1, 1, 1]
    assert (school.photo_of("na"), school.photo_of("ne")) == (None, None)


@pytest.mark.parametrize("fields", ["photo", "date_of_birth,name", "profile.date_of_birth", " , "])
def test_probe_match_fields_that_cannot_identify_a_child_are_refused(school, fields):
    _after_reseed(school, "Ann Lee", "2015-03-04", "Ann Lee", "2015-03-04")
    before = school.snapshot()
    run = school.migrate("--migrate", "--json", MATCH_FIELDS=fields)
    assert run.code == 2 and school.snapshot() == before


def test_probe_clean_keeps_a_folder_called_a_leavers(school):
    face = _after_reseed(school, "Ann Lee", "04/03/2015", "Ann Lee", "4/3/2015")
    _procedure(school)
    school.migrate("--clean", "--confirm", "--json")
    assert school.photo_of("old1") == face and school.photo_of("new1") is None


def test_probe_recycled_id_real_child_with_the_backups_date_text_is_flagged(school):
    school.put_photo("S1", jpeg_bytes("the real mohammed"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "04/03/2012",
                             "photo": CANON.format("S1")}])
    school.seed([{"student_id": "S1", "name": "Mohammed Khan", "photo": CANON.format("S1")},
                 {"student_id": "S7", "name": "Mohammed Khan", "date_of_birth": "04/03/2012", "photo": None}])
    restored = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0")
    assert ("S1", "identity") in {(p["student_id"], p["problem"]) for p in restored.json["problems"]}
    assert school.migrate("--list", "--json").code == 1
