"""Adversarial round 11 (2026-12-01): the newest rules (deep.refusals, an origin's MATCH_FIELDS, a quarantine
line's holder, --pairs override rules, links naming another id, blind rivals)."""

from __future__ import annotations

import shutil
import uuid

import pytest
from test_migrate import Reseed
from test_pairs import save_as_spreadsheet
from test_round8_journal import STRAY

from student_photos.sample import jpeg_bytes

BOTH = {"MATCH_FIELDS": "date_of_birth,student_number"}
DOB_ONLY = {"MATCH_FIELDS": "date_of_birth"}


def _paired_amy(school, tmp_path, **env):
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05", student_number="S100")
    r.newcomer("amy", "Amy Adams", date_of_birth="2016-06-06", student_number="S200")
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("amy's own face"))
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(plan), **env).code == 0
    assert school.photo_of(r.new_id("amy")) == jpeg_bytes("amy's own face")
    assert school.restore(**env).code == 0
    return r


def _recycle_amys_id_to_a_namesake(school, r, **namesake):
    """A second reseed (no backup records it): Amy moves to a new id; her old id goes to another Amy Adams born the
    same day, whose student number differs (another child); Amy is photographed again; STRAY is cleared away."""
    amy_old, amy_new = r.new_id("amy"), str(uuid.uuid4())
    school.collection.update_one({"student_id": amy_old}, {"$set": {"student_id": amy_new, "photo": None}})
    school.put_photo(amy_new, jpeg_bytes("amy photographed again"))  # (Amy is not 'missing')
    school.collection.update_one({"student_id": amy_new},
                                 {"$set": {"photo": f"/api/photos/students/{amy_new}/profile.jpg"}})
    shutil.rmtree(school.folder(STRAY))  # the migrated orphan folder, cleared away by IT
    fields = namesake or {"date_of_birth": "2016-06-06", "student_number": "S999"}
    school.collection.insert_one({"student_id": amy_old, "name": "Amy Adams", **fields,
                                  "photo": f"/api/photos/students/{amy_old}/profile.jpg"})
    return amy_old


def test_probe_recycled_paired_id_to_a_namesake_with_another_number_is_found(school, tmp_path):
    """PROBE: under the MATCH_FIELDS of the migrate, the namesake at Amy's paired id (number S999, Amy's S200) is
    another person: --deep says wrong child, exit 1."""
    r = _paired_amy(school, tmp_path, **BOTH)
    other = _recycle_amys_id_to_a_namesake(school, r)
    run = school.restore("--verify-only", "--deep", "--json", **BOTH)
    assert run.code == 1, run.text[-800:]
    assert other in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json


def test_finding_match_fields_narrowed_after_the_migrate_launders_a_proven_difference(school, tmp_path):
    # WRONG: a reviewed file paired STRAY with Amy Adams (born 2016-06-06, number S200) under MATCH_FIELDS
    # date_of_birth,student_number; the journal line records her codes in both fields. A second reseed gives her id
    # to another Amy Adams born the same day, number S999. The school then narrows MATCH_FIELDS to date_of_birth.
    # --deep reads the line's codes by field name (deep._in_order_of) and DROPS the recorded number, so the line no
    # longer proves another child: exit 0, no finding, while Amy's photo sits in the namesake's folder. With the
    # setting unchanged it is 'wrong child' (probe above). A careful user expects what the journal proves (the
    # paired record's number differs from the holder's, which the database still holds) not to vanish with a
    # setting: docs/safety.md "never a line that proves them another child's", and the quarantine undo fails
    # closed ('not recorded as this run compares') for the same change of setting. (Under the narrowed setting two
    # current records, Amy at her new id and the namesake, fit the paired record alike: that alone is no proof.)
    r = _paired_amy(school, tmp_path, **BOTH)
    other = _recycle_amys_id_to_a_namesake(school, r)
    assert school.photo_of(other) == jpeg_bytes("amy's own face")
    run = school.restore("--verify-only", "--deep", "--json", **DOB_ONLY)
    assert run.code == 1, run.text[-800:]
    assert other in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json


# WRONG: numeric ids (a school's SIS numbers): Ann is 12, Ben is 123. Ann's link points at a file named by BEN's id,
# `uploads/123_old.jpg` (Ben's photo of last year; his folder holds this year's). links.names_it_may_hold first cuts
# Ann's own id out of each name, in any case and anywhere in it ("123" -> "/3"), so "123" is never seen and the restore
# copies Ben's face to Ann, exit 0. docs/safety.md (round 9): a link is never copied from when any name in it holds
# another id (`uploads/{id}_old.jpg`). A careful user expects the link refused (Ann missing, exit 1), as it is for
# ids that do not contain hers.
@pytest.mark.parametrize("where", ["uploads/{b}_old.jpg", "students/{a}/attendance/{b}.jpg"])
def test_finding_an_own_id_inside_another_id_hides_it_from_the_link_rule(school, where):
    from old_records import kid

    ann = kid(school, "Ann Lee", sid="12", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", sid="123", date_of_birth="2016-02-02")
    rel = where.format(a=ann["student_id"], b=ben["student_id"])
    (school.photos / rel).parent.mkdir(parents=True, exist_ok=True)
    bens_old_face = jpeg_bytes("Ben Ray, picture day last year")
    (school.photos / rel).write_bytes(bens_old_face)
    school.seed([{**ann, "photo": "/api/photos/" + rel}, ben])
    school.write_backup([ann, ben])

    run = school.restore("--json")

    assert school.photo_of(ann["student_id"]) != bens_old_face, f"Ben's photo from {rel} given to Ann, exit {run.code}"
    assert run.code == 1, run.text


@pytest.mark.parametrize("where", ["uploads/{b}_old.jpg", "students/{a}/attendance/{b}.jpg"])
def test_probe_a_link_naming_another_numeric_id_is_refused(school, where):
    """PROBE: as above with ids 12 and 45 (neither inside the other): refused, Ann missing, exit 1."""
    from old_records import kid

    ann = kid(school, "Ann Lee", sid="12", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", sid="45", date_of_birth="2016-02-02")
    rel = where.format(a=ann["student_id"], b=ben["student_id"])
    (school.photos / rel).parent.mkdir(parents=True, exist_ok=True)
    (school.photos / rel).write_bytes(jpeg_bytes("Ben Ray, picture day last year"))
    school.seed([{**ann, "photo": "/api/photos/" + rel}, ben])
    school.write_backup([ann, ben])
    run = school.restore("--json")
    assert school.photo_of(ann["student_id"]) is None and run.code == 1, run.text


def _rec(name, dob=None, number=None):
    from test_adversary_round9 import rec
    return rec(name, dob, number)


def test_finding_judge_pairing_a_recycled_number_with_the_birth_date_written_as_text_is_unknown():
    # WRONG: Ann Lee born 2015-03-04 #5 (left) and Bob Ray, given #5 since, whose birth date the new system stores as
    # text, "12/11/2012" (either reading is 2012: not her day). judge_pairing: UNKNOWN ("a corrected name or
    # record?"), so a sorted sheet's row pairing her folder with him passes with no override. The same pair with
    # "2012-11-12" is DIFFERENT. docs/safety.md: a shared number with the name AND the birth date differing "is what a
    # recycled or renumbered number looks like": override. Expected DIFFERENT (a written day in another year differs
    # whichever way it is read; at least not 'a corrected name').
    from test_adversary_round9 import FIELDS

    from student_photos.identity import Verdict, judge_pairing
    assert judge_pairing(_rec("Ann Lee", "2012-11-12", 5), _rec("Bob Ray", "2012-11-12", 5), FIELDS).verdict \
        is Verdict.UNKNOWN  # (renamed only: a person's decision)
    assert judge_pairing(_rec("Ann Lee", "2015-03-04", 5), _rec("Bob Ray", "12/11/2012", 5), FIELDS).verdict \
        is Verdict.DIFFERENT


def test_finding_a_pairs_row_gives_ann_s_folder_to_bob_by_a_recycled_number_when_his_birth_date_is_text(school,
                                                                                                       tmp_path):
    # WRONG: end to end: the row {orphan: Ann's old folder, student_id: Bob} (a sheet sorted on one column) goes
    # through without override: Bob Ray (born "12/11/2012", text) gets Ann Lee's (born 2015-03-04) face. Expected: the
    # row refused without override = yes (a recycled number), Bob holds no photo.
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2015-03-04", student_number=5, stays=False)
    r.newcomer("bob", "Bob Ray", date_of_birth="12/11/2012", student_number=5)
    r.child("cat", "Cat Sun", date_of_birth="2014-01-01", student_number=9)
    r.commit()
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": r.old_id("ann"), "student_id": r.new_id("bob")}])

    run = school.migrate("--migrate", "--pairs", str(plan))

    assert school.photo_of(r.new_id("bob")) is None, f"Ann's face given to Bob, exit {run.code}"
    assert run.code != 0, run.text


# WRONG: round 9 finding 12 where the rival's backup wrote the birth date as text, as an older system's CSV export
# leaves it: old-b (Ann Smithers, number stored as a document {"v": 5}, born "04/03/2015" or "4 March 2015") may be
# Ann Lee #5 now (a corrected name): nothing on record tells them apart (the number cannot be looked up, the day cannot
# be compared). old-a (a leaver Ann Lee, 2015-03-04) fits her. The blind rival is looked up only by a birth date that is
# a date code (lookup_codes(..., "dD"): restore blind_dates, migrate's blind fits), so old-b is never found and old-a's
# face goes to Ann Lee #5 (restore exit 0; migrate copies it, exit 1 for other lines). With old-b born "2015-03-04" it
# is refused (round 9). Expected: old-a not copied, exit 1: a rival that could hold her birth date and her number is
# no weaker for being written in a form the rule cannot compare (docs/safety.md: what cannot be compared proves
# nothing either way).
@pytest.mark.parametrize("rivals_day", ["04/03/2015", "4 March 2015"])
@pytest.mark.parametrize("tool", ["migrate", "restore"])
def test_finding_a_blind_rival_is_missed_when_birth_dates_are_stored_as_text(school, tool, rivals_day):
    from old_records import blind_rival_run

    run = blind_rival_run(school, tool, "2015-03-04", rivals_day)

    assert school.photo_of("new-ann") != jpeg_bytes("old-a's photo"), \
        f"old-a's photo given though old-b may be hers, exit {run.code}"
    assert run.code == 1, run.text[-600:]


@pytest.mark.parametrize("tool", ["migrate", "restore"])
def test_probe_a_blind_rival_with_every_birth_date_as_text_blocks(school, tool):
    """PROBE: as above with every birth date (old-a, old-b, Ann Lee #5) the text "04/03/2015": old-a not copied."""
    from old_records import blind_rival_run

    run = blind_rival_run(school, tool, "04/03/2015", "04/03/2015")
    assert school.photo_of("new-ann") != jpeg_bytes("old-a's photo") and run.code == 1, run.text[-600:]


@pytest.mark.parametrize("namesake", [{"date_of_birth": None, "student_number": None},
                                      {"date_of_birth": "", "student_number": "N/A"},
                                      {"date_of_birth": "1970-01-01", "student_number": 0}],
                         ids=["null", "placeholders", "epoch-and-zero"])
def test_probe_paired_id_recycled_to_a_namesake_with_emptied_fields_is_found(school, tmp_path, namesake):
    """PROBE: the paired-id shortcut (the very record, unchanged) is not met by a namesake at Amy's paired id whose
    fields are empty or placeholders (a name alone proves nothing): --deep says wrong child, exit 1."""
    r = _paired_amy(school, tmp_path, **BOTH)
    other = _recycle_amys_id_to_a_namesake(school, r, **namesake)
    run = school.restore("--verify-only", "--deep", "--json", **BOTH)
    assert run.code == 1, run.text[-800:]
    assert other in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json


@pytest.mark.parametrize("spelt", ["exact", "upper", "trailing-dot"])
def test_probe_undo_of_a_quarantine_with_the_holders_id_duplicated_puts_nothing_back(school, tmp_path, spelt):
    """PROBE: Sam's profile.jpg (Amy's paired photo) quarantined; then the database gains Zed under Sam's id spelt the
    same, in capitals or with a trailing dot (one folder on a share that ignores case or drops dots): the undo puts
    nothing back (more than one record holds the folder), exit 1."""
    from test_round8_journal import paired_by_a_person

    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "profile.jpg")
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))
    q = school.restore("--deep", "--quarantine", "--json")
    assert q.code == 1 and not (school.folder(sam) / "profile.jpg").exists(), q.text
    zed_id = {"exact": sam, "upper": sam.upper(), "trailing-dot": sam + "."}[spelt]
    school.collection.insert_one({"student_id": zed_id, "name": "Zed Zane", "date_of_birth": "2014-04-04",
                                  "photo": None})

    undo = school.restore("--undo", q.json["run_id"], "--json")

    assert not (school.folder(sam) / "profile.jpg").exists() and undo.code == 1, (undo.code, undo.text[-600:])
    assert "Traceback" not in undo.text


def _migrated_amy_then_recycled(school):
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05", student_number="S100")
    r.child("amy", "Amy Adams", date_of_birth="2016-06-06", student_number="S200")
    r.commit()
    assert school.migrate("--migrate", **BOTH).code == 0
    assert school.restore(**BOTH).code == 0
    assert school.photo_of(r.new_id("amy")) == r.photos["amy"]
    for key in ("sam", "amy"):
        shutil.rmtree(school.folder(r.old_id(key)))  # the migrated orphan folders, cleared away
    amy_old, amy_new = r.new_id("amy"), str(uuid.uuid4())
    school.collection.update_one({"student_id": amy_old}, {"$set": {"student_id": amy_new, "photo": None}})
    school.put_photo(amy_new, jpeg_bytes("amy photographed again"))
    school.collection.update_one({"student_id": amy_new},
                                 {"$set": {"photo": f"/api/photos/students/{amy_new}/profile.jpg"}})
    school.collection.insert_one({"student_id": amy_old, "name": "Amy Adams", "date_of_birth": "2016-06-06",
                                  "student_number": "S999", "photo": f"/api/photos/students/{amy_old}/profile.jpg"})
    return r, amy_old


def test_probe_rule_migrated_photo_in_a_recycled_ids_namesake_is_found(school):
    """PROBE: Amy's photo migrated by the rule; her id recycled to a namesake born the same day with another number:
    --deep under the same MATCH_FIELDS says wrong child, exit 1."""
    r, other = _migrated_amy_then_recycled(school)
    run = school.restore("--verify-only", "--deep", "--json", **BOTH)
    assert run.code == 1, run.text[-800:]
    assert other in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json


def test_finding_rule_migrated_photo_in_a_recycled_ids_namesake_when_match_fields_narrowed(school):
    # WRONG: as the --pairs case, for a photo migrate moved by the rule (origin: old Amy Adams, born
    # 2016-06-06, number S200, under date_of_birth,student_number). A second reseed gives her new id to another Amy
    # Adams born the same day, number S999; the school then sets MATCH_FIELDS=date_of_birth. --deep: exit 0, no
    # finding, while the journal line (and every backup) records a number the holder does not hold. Unchanged
    # setting: wrong child (exit 1). Expected the same finding after the setting changed.
    r, other = _migrated_amy_then_recycled(school)
    assert school.photo_of(other) == r.photos["amy"]
    run = school.restore("--verify-only", "--deep", "--json", **DOB_ONLY)
    assert run.code == 1, run.text[-800:]
    assert other in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json
