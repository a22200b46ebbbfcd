"""Adversarial round 12 (2026-12-01): the newest rules (identity.date_readings and lookup_codes with d,
_dates_may_differ in judge_pairing, deep._fields_dropped, links.names_it_may_hold, blind fits by birth date,
quarantine undo's holder)."""

from __future__ import annotations

import pytest
from test_adversary_round9 import FIELDS, rec
from test_migrate import Reseed
from test_pairs import save_as_spreadsheet

from student_photos.sample import jpeg_bytes

# Text forms a school's exports write a birth date in, none of them read by identity.date_readings: Excel's
# dd-mmm-yyyy, a CSV export's date with its midnight time, a two-digit year.
UNREAD_FORMS_OF_12_NOV_2012 = ["12-Nov-2012", "12/11/2012 00:00:00", "12.11.2012 00:00", "12/11/12"]


# WRONG: Ann Lee born 2015-03-04 #5 (left) and Bob Ray, given #5 since, whose birth date the new system stores as text
# in a common export form: "12-Nov-2012" (Excel's dd-mmm-yyyy), "12/11/2012 00:00:00" (a CSV date with its time),
# "12/11/12". judge_pairing: UNKNOWN, so a sorted sheet's row pairing her folder with him passes with no override.
# "12/11/2012" is DIFFERENT since round 11 (date_readings). docs/safety.md: a shared number with the name AND the birth
# date differing is what a recycled number looks like: override. Every reading of each of these is in 2012: not her
# day. Expected DIFFERENT, as for "12/11/2012".
@pytest.mark.parametrize("bobs_day", UNREAD_FORMS_OF_12_NOV_2012)
def test_finding_judge_pairing_recycled_number_with_a_birth_date_in_another_text_form(bobs_day):
    from student_photos.identity import Verdict, judge_pairing
    assert judge_pairing(rec("Ann Lee", "2015-03-04", 5), rec("Bob Ray", "12/11/2012", 5), FIELDS).verdict \
        is Verdict.DIFFERENT  # (round 11's fix)
    assert judge_pairing(rec("Ann Lee", "2015-03-04", 5), rec("Bob Ray", bobs_day, 5), FIELDS).verdict \
        is Verdict.DIFFERENT


def test_finding_a_pairs_row_gives_ann_s_folder_to_bob_when_his_birth_date_is_excel_text(school, tmp_path):
    # WRONG: end to end: {orphan: Ann's old folder (born 2015-03-04, #5), student_id: Bob Ray (#5, born "12-Nov-2012",
    # Excel text)}: carried out with no override, Bob gets Ann's face. Expected: refused without override = yes.
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2015-03-04", student_number=5, stays=False)
    r.newcomer("bob", "Bob Ray", date_of_birth="12-Nov-2012", student_number=5)
    r.child("cat", "Cat Sun", date_of_birth="2014-01-01", student_number=9)
    r.commit()
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": r.old_id("ann"), "student_id": r.new_id("bob")}])

    run = school.migrate("--migrate", "--pairs", str(plan))

    assert school.photo_of(r.new_id("bob")) is None, f"Ann's face given to Bob, exit {run.code}"
    assert run.code != 0, run.text


# WRONG: round 11 finding 6 with the blind rival's backup writing the day "04-Mar-2015" (Excel) or "04/03/2015
# 00:00:00" (a CSV export): old-b (Ann Smithers, number {"v": 5}: cannot be compared) may be Ann Lee #5 now; old-a (a
# leaver Ann Lee, 2015-03-04) fits her. lookup_codes reads no day from these forms, so old-b is never found and old-a's
# face goes to Ann Lee #5. With "04/03/2015" it is refused (round 11). Expected: old-a not copied, exit 1.
@pytest.mark.parametrize("rivals_day", ["04-Mar-2015", "04/03/2015 00:00:00", "04/03/15"])
@pytest.mark.parametrize("tool", ["migrate", "restore"])
def test_finding_a_blind_rival_with_the_birth_date_in_another_text_form_is_missed(school, tool, rivals_day):
    from old_records import CANON, NEWEST, backup

    day = "2015-03-04"
    school.put_photo("old-a", jpeg_bytes("old-a's photo"))
    school.put_photo("old-b", jpeg_bytes("old-b's photo"))
    backup(school, NEWEST, [
        {"student_id": "old-a", "name": "Ann Lee", "date_of_birth": day, "photo": CANON.format("old-a")},
        {"student_id": "old-b", "name": "Ann Smithers", "date_of_birth": rivals_day, "student_number": {"v": 5},
         "photo": CANON.format("old-b")}])
    link = CANON.format("old-a") if tool == "restore" else None
    school.seed([{"student_id": "new-ann", "name": "Ann Lee", "date_of_birth": day, "student_number": 5,
                  "photo": link}])

    run = school.migrate("--migrate", "--json") if tool == "migrate" else \
        school.restore("--json", MIN_DATABASE_RATIO="0")

    assert school.photo_of("new-ann") != jpeg_bytes("old-a's photo"), \
        f"old-a's photo given though old-b may be hers, exit {run.code}"
    assert run.code == 1, run.text[-600:]
