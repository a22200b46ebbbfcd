"""Round 16d findings: the round-16c identity rules (identity.proven_someone_else, identity.common_fields) under
attack. Each test FAILS on the code before a fix: it asserts the safe behaviour."""
from __future__ import annotations

import pytest
from old_records import CANON, NEWEST, backup

from student_photos.sample import jpeg_bytes


def _recycled_to_a_blank_namesake_written_otherwise(school, old_name, real_name):
    """The newest backup: S1 was `old_name`, born 2012-01-01; her photo is in students/S1. A reseed gave S1 to a
    newcomer of the very same name whose birth date is not recorded yet, and the real child (born 2012-01-01) to
    S7, the name now written another way (the new system drops accents, punctuation, or writes 'Surname, Given')."""
    school.put_photo("S1", jpeg_bytes("the old child's face, born 2012"))
    backup(school, NEWEST, [{"student_id": "S1", "name": old_name, "date_of_birth": "2012-01-01",
                             "photo": CANON.format("S1")}])
    school.put_photo("S7", jpeg_bytes("the real child, uploaded after the reseed"))
    school.seed([{"student_id": "S1", "name": old_name, "photo": CANON.format("S1")},
                 {"student_id": "S7", "name": real_name, "date_of_birth": "2012-01-01", "photo": CANON.format("S7")}])


NAMES = [("Zoë Adams", "Zoe Adams"), ("Zoe Adams", "Zoë Adams"), ("Jose Diaz", "José Díaz"),
         ("Sean O'Neil", "Sean ONeil"), ("Mohammed Khan", "Khan, Mohammed"), ("Mohammed Khan", "Mohammed Kahn")]


@pytest.mark.parametrize("old_name, real_name", NAMES)
@pytest.mark.parametrize("tool", ["restore", "verify-only", "deep", "migrate --list"])
def test_finding_recycled_id_to_a_blank_namesake_when_the_real_child_writes_the_name_otherwise_exit_0(
        school, tool, old_name, real_name):
    # Round 16c's fix (identity.proven_someone_else) asks only for a current student PROVEN the backup's S1, and
    # proven_same -> compare needs the exact same name key. safety.md section 1: "A name written differently is a
    # question ... with nothing else differing is *unknown*, never another person" (Zoë Adams / Zoe Adams), and
    # "the same birth date and ... its words in another order" likewise. S7 (born 2012, name written otherwise)
    # fits the backup's S1 at least as well as the blank newcomer who only shares the name: S1's folder may hold
    # S7's photo. WRONG: exit 0, nothing listed; the newcomer stays linked to the other child's photo.
    _recycled_to_a_blank_namesake_written_otherwise(school, old_name, real_name)
    run = school.restore("--json", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "verify-only" else \
        school.restore("--json", "--verify-only", "--deep", MIN_DATABASE_RATIO="0") if tool == "deep" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text
    if tool != "migrate --list":
        assert "S1" in {p["student_id"] for p in run.json["problems"]} | \
            {s for d in run.json.get("deep") or [] for s in d.get("students", [])}, run.json["problems"]


@pytest.mark.parametrize("tool", ["restore", "verify-only", "deep", "migrate --list"])
def test_finding_recycled_id_to_a_blank_namesake_sharing_only_the_office_email_exit_0(school, tool):
    # Round 16c's two rules meet: S1 was Mohammed Khan, born 2012 (the office email filled in, as for 25 others);
    # a reseed gave S1 to a newcomer Mohammed Khan with no birth date yet and the office email, and the real
    # Mohammed (born 2012) to S7. safety.md: a name and only a value more than 20 current records hold in common
    # is *unknown*, never *same*; yet the gap check (restore.py _BackupEffects.compare, matching.py
    # MatchBook._compare_with_current) asks proven_same, which counts the office email as agreement, so the holder
    # is "proven" the backup's S1, the record is never taken for a gap, and proven_someone_else is never asked.
    # WRONG: exit 0, nothing listed; the newcomer stays linked to the real Mohammed's old photo.
    school.put_photo("S1", jpeg_bytes("old mohammed, born 2012"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                             "email": "office@school.org", "photo": CANON.format("S1")}])
    school.put_photo("S7", jpeg_bytes("the real mohammed, uploaded after the reseed"))
    docs = [{"student_id": "S1", "name": "Mohammed Khan", "email": "office@school.org", "photo": CANON.format("S1")},
            {"student_id": "S7", "name": "Mohammed Khan", "date_of_birth": "2012-01-01", "email": "office@school.org",
             "photo": CANON.format("S7")}]
    docs += [{"student_id": f"K{i}", "name": f"Kid {i}", "email": "office@school.org",
              "photo": CANON.format(f"K{i}")} for i in range(25)]
    for d in docs[2:]:
        school.put_photo(d["student_id"])
    school.seed(docs)
    run = school.restore("--json", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "verify-only" else \
        school.restore("--json", "--verify-only", "--deep", MIN_DATABASE_RATIO="0") if tool == "deep" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text


def test_finding_photo_in_place_a_leavers_backup_record_names_is_linked_on_name_and_the_office_email_exit_0(school):
    # students/NEW1/profile.jpg is there; the newest backup's record of OLD9 (Ann Lee, born 2010, the office email)
    # links that very file: the photo is the leaver's. The current NEW1 is a newcomer Ann Lee with no birth date yet
    # and the office email, which 25 other current pupils hold. Restore.doubt_photos_in_place asks proven_same
    # (restore.py, the backup_claims loop), which counts the office email as agreement, so there is no doubt.
    # Without the email (the name alone) the same data is a wrong-child problem, exit 1 and no link. safety.md: a
    # name and only a value more than 20 current records hold is *unknown*, never *same*.
    # WRONG: exit 0, no problem; NEW1's database record is linked to the leaver's photo.
    school.put_photo("NEW1", jpeg_bytes("ann who left, born 2010"))
    backup(school, NEWEST, [{"student_id": "OLD9", "name": "Ann Lee", "date_of_birth": "2010-01-01",
                             "email": "office@school.org", "photo": CANON.format("NEW1")}])
    docs = [{"student_id": "NEW1", "name": "Ann Lee", "email": "office@school.org", "photo": None}]
    docs += [{"student_id": f"K{i}", "name": f"Kid {i}", "email": "office@school.org",
              "photo": CANON.format(f"K{i}")} for i in range(25)]
    for d in docs[1:]:
        school.put_photo(d["student_id"])
    school.seed(docs)
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.db_docs()["NEW1"]["photo"] is None, run.json["problems"]
    assert run.code == 1, run.text


def test_finding_second_reseed_journal_line_proven_by_name_and_the_office_email_links_a_newcomer(school):
    # A migration (journalled) placed Ann Lee's photo (OLD1: born 2010, the office email 25 other pupils hold too)
    # into NEW1, proven by name AND birth date. A second reseed gave NEW1 to a newcomer Ann Lee with the office
    # email and no birth date yet; the real Ann is NEW7 (no backup was taken in between). The journal check
    # (deep.placed_from_another -> proven_same, used by Restore.doubt_photos_in_place) counts the office email as
    # agreement, so the line "placed from Ann Lee, born 2010" does not doubt the newcomer. With no email (the name
    # alone) the same data is refused. WRONG: the newcomer NEW1 is linked to the real Ann's photo; the run's only
    # problem is NEW7 "missing" (exit 1 for that), nothing says NEW1 holds another child's photo.
    school.put_photo("OLD1", jpeg_bytes("ann, born 2010"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "date_of_birth": "2010-01-01",
                             "email": "office@school.org", "photo": CANON.format("OLD1")}])
    ann = {"student_id": "NEW1", "name": "Ann Lee", "date_of_birth": "2010-01-01", "email": "office@school.org",
           "photo": None}
    kids = [{"student_id": f"K{i}", "name": f"Kid {i}", "email": "office@school.org",
             "photo": CANON.format(f"K{i}")} for i in range(25)]
    for d in kids:
        school.put_photo(d["student_id"])
    school.seed([ann] + kids)
    first = school.migrate("--migrate", "--json")
    assert first.code == 0 and school.photo_of("NEW1") == jpeg_bytes("ann, born 2010"), first.text
    school.collection.delete_many({})
    school.seed([{"student_id": "NEW1", "name": "Ann Lee", "email": "office@school.org", "photo": None},
                 {**ann, "student_id": "NEW7"}] + [dict(k) for k in kids])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.db_docs()["NEW1"]["photo"] is None, run.json["problems"]
    assert "NEW1" in {p["student_id"] for p in run.json["problems"]}, run.json["problems"]
