"""Round 16c findings: record identity as databases and backups really hold it. Each test FAILS on the code
before a fix: it asserts the safe behaviour."""
from __future__ import annotations

import pytest
from old_records import CANON, NEWEST, backup

from student_photos.sample import jpeg_bytes


def _recycled_to_a_blank_namesake(school, variant):
    """The newest backup: S1 was Mohammed Khan, born 2012-01-01; his photo is in students/S1. A reseed gave S1 to a
    newcomer Mohammed Khan whose birth date is not recorded yet (or is under a field MATCH_FIELDS does not name),
    and the real Mohammed (same name and birth date as the backup's S1) to S7, who has uploaded a new photo."""
    school.put_photo("S1", jpeg_bytes("old mohammed, born 2012"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                             "photo": CANON.format("S1")}])
    newcomer = {"student_id": "S1", "name": "Mohammed Khan", "photo": CANON.format("S1")}
    if variant == "birth date under another key":
        newcomer["birthDate"] = "2016-05-05"
    school.put_photo("S7", jpeg_bytes("mohammed, born 2012, uploaded after the reseed"))
    school.seed([newcomer, {"student_id": "S7", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                            "photo": CANON.format("S7")}])


@pytest.mark.parametrize("variant", ["no birth date yet", "birth date under another key"])
@pytest.mark.parametrize("args", [(), ("--verify-only",), ("--verify-only", "--deep")])
def test_finding_recycled_id_given_to_a_namesake_with_no_birth_date_keeps_the_old_childs_photo_exit_0(
        school, variant, args):
    _recycled_to_a_blank_namesake(school, variant)
    run = school.restore("--json", *args, MIN_DATABASE_RATIO="0")
    # WRONG: exit 0, nothing listed: S1's record (only the name agrees) is taken for the backup's S1 by the gap
    # where the newcomer records no birth date, though the backup's S1 is proven (name AND birth date) S7.
    assert run.code == 1, run.text
    assert "S1" in {p["student_id"] for p in run.json["problems"]} | \
        {s for d in run.json.get("deep") or [] for s in d.get("students", [])}, run.json["problems"]


@pytest.mark.parametrize("tool", ["restore", "migrate --list"])
def test_finding_recycled_id_to_blank_namesake_also_in_migrate_list(school, tool):
    # migrate --list reports earlier owners "by the same comparison" (migrate.earlier_owners): it is silent too.
    _recycled_to_a_blank_namesake(school, "no birth date yet")
    run = school.restore("--verify-only", "--json", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text  # WRONG: exit 0


@pytest.mark.parametrize("email", ["office@school.org", "noemail@school.org"])
@pytest.mark.parametrize("others", [21, 30])
def test_finding_a_name_and_the_office_email_thirty_pupils_share_prove_a_newcomer_is_a_leaver(school, email, others):
    # Ann Lee, born 2010, left (old id OLD1; her photo in students/OLD1). The school fills `email` with the office's
    # address for pupils without one: 30 current pupils hold it. A newcomer Ann Lee (birth date not entered yet)
    # holds it too. safety.md: "a value more than 20 current records hold (a school office's email) identifies no
    # one child"; yet it is the one "agreeing" field that makes a name proof.
    school.put_photo("OLD1", jpeg_bytes("ann who left, born 2010"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "email": email, "date_of_birth": "2010-01-01",
                             "photo": CANON.format("OLD1")}])
    docs = [{"student_id": "NEW1", "name": "Ann Lee", "email": email, "photo": None}]
    docs += [{"student_id": f"K{i}", "name": f"Kid {i}", "email": email, "photo": CANON.format(f"K{i}")}
             for i in range(others)]
    for d in docs[1:]:
        school.put_photo(d["student_id"])
    school.seed(docs)
    run = school.migrate("--migrate", "--json")
    # WRONG: exit 0, "migrated: same name and email": the leaver's photo is the newcomer's now
    assert school.photo_of("NEW1") is None, run.json["orphans"]
    assert run.code == 1, run.text


def test_finding_match_fields_naming_student_id_calls_every_current_child_a_leaver_exit_0(school):
    # A school told to "set MATCH_FIELDS to the fields your records hold" lists student_id with the birth date: after
    # a reseed every old id differs from every current one, so Ann Lee (same name and birth date, NEW1 now) is
    # "no current student" and migrate says all is well (exit 0); her photo never reaches her. safety.md: "A folder
    # is not called a pupil who left while a current student could be them". config.py accepts the id (and `photo`)
    # as an identifying field.
    school.put_photo("OLD1", jpeg_bytes("ann"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "date_of_birth": "2015-03-04",
                             "photo": CANON.format("OLD1")}])
    school.seed([{"student_id": "NEW1", "name": "Ann Lee", "date_of_birth": "2015-03-04", "photo": None}])
    for fields in ("student_id,date_of_birth", "date_of_birth,photo", "_id", "name,date_of_birth"):
        run = school.migrate("--list", "--json", MATCH_FIELDS=fields)
        assert run.code == 2 and "MATCH_FIELDS has" in run.text, run.text  # refused: says nothing of who
def test_finding_a_match_field_thirty_pupils_share_makes_a_name_proof(school):
    # The same root as the office email: a school lists `year_group` in MATCH_FIELDS (its records hold it); Ann Lee,
    # year 6, left; a newcomer Ann Lee joins year 6 with 29 others. Name + "year_group agrees" is taken as proof.
    school.put_photo("OLD1", jpeg_bytes("ann who left"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "year_group": 6, "date_of_birth": "2014-02-02",
                             "photo": CANON.format("OLD1")}])
    docs = [{"student_id": "NEW1", "name": "Ann Lee", "year_group": "6", "photo": None}]
    docs += [{"student_id": f"K{i}", "name": f"Kid {i}", "year_group": 6, "photo": CANON.format(f"K{i}")}
             for i in range(29)]
    for d in docs[1:]:
        school.put_photo(d["student_id"])
    school.seed(docs)
    run = school.migrate("--migrate", "--json", MATCH_FIELDS="date_of_birth,year_group")
    assert school.photo_of("NEW1") is None, run.json["orphans"]  # WRONG: migrated, "same name and year_group"
