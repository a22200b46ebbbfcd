"""Round 18a probes: attacks on today's wider identity rules (neighbouring letters swapped, words compared
accents-aside, text dates that may be one day, the gap rule's candidates by date and number) that the tool
survived. Each asserts the safe behaviour and passes."""
from __future__ import annotations

import pytest
from old_records import CANON, NEWEST, backup
from test_pairs import save_as_spreadsheet

from student_photos.identity import judge_candidate, judge_pairing, person_of, spelled_alike, written_alike
from student_photos.sample import jpeg_bytes

FIELDS = ("date_of_birth", "student_number", "admission_number", "email")


def _p(name: str, *values: object):
    return person_of(name, list(values) + [None] * (len(FIELDS) - len(values)))


def test_probe_swapped_letters_need_neighbours_and_count_once():
    """A swap is one letter only for two neighbours: Elias/Elisa, Khan/Kahn; Sam/Sara, Carla/Clara, Ilsa/Alis
    are further apart."""
    assert spelled_alike("khan", "kahn") and spelled_alike("elias", "elisa")
    assert not spelled_alike("sam", "sara") and not spelled_alike("carla", "clara")
    assert not spelled_alike("ilsa", "alis") and not spelled_alike("abcd", "badc")
    assert not written_alike("ann lee", "anna leigh") and not written_alike("elisa lee", "elías lee")


@pytest.mark.parametrize(("old_dob", "new_dob"), [("04/03/2015", "03/04/2015"), ("4.3.15", "15.3.04"),
                                                  ("04/03/2015 10:00", "05/03/2015 10:00")])
def test_probe_text_dates_that_may_be_one_day_are_unknown_for_namesakes_never_same(old_dob, new_dob):
    judged = judge_candidate(_p("Ann Lee", old_dob), _p("Ann Lee", new_dob), FIELDS)
    assert judged.verdict.value == "unknown"


def test_probe_sorted_sheet_with_text_dates_and_other_names_is_still_different():
    """Another child whose text birth date may be the same day (04/03 and 03/04) and no shared number: different."""
    assert judge_pairing(_p("Ann Lee", "04/03/2015"), _p("Bob Smith", "03/04/2015"), FIELDS).verdict.value \
        == "different"
    assert judge_pairing(_p("Ava Lee", "04/03/2015", None, None, "lee@fam.org"),
                         _p("Eva Lee", "03/04/2015", None, None, "lee@fam.org"), FIELDS).verdict.value == "different"


def _twins(school, first: str, second: str, dob: str) -> tuple[bytes, bytes]:
    one = school.put_photo("old-one", jpeg_bytes(f"{first}'s face"), 1)
    two = school.put_photo("old-two", jpeg_bytes(f"{second}'s face"), 1)
    backup(school, NEWEST, [
        {"student_id": "old-one", "name": f"{first} Lee", "date_of_birth": dob, "photo": CANON.format("old-one")},
        {"student_id": "old-two", "name": f"{second} Lee", "date_of_birth": dob, "photo": CANON.format("old-two")}])
    school.seed([{"student_id": "new-one", "name": f"{first} Lee", "date_of_birth": dob, "photo": None},
                 {"student_id": "new-two", "name": f"{second} Lee", "date_of_birth": dob, "photo": None}])
    return one, two


@pytest.mark.parametrize("dob", ["2015-03-04", "04/03/2015"])
def test_probe_twins_with_swapped_letters_matched_by_the_rule_are_not_swapped_by_a_sorted_sheet(school, tmp_path,
                                                                                               dob):
    one, two = _twins(school, "Elias", "Elisa", dob)
    reviewed = tmp_path / "sorted.csv"
    save_as_spreadsheet(reviewed, [{"orphan": "old-one", "student_id": "new-two"},
                                   {"orphan": "old-two", "student_id": "new-one"}])
    refused = school.migrate("--migrate", "--pairs", str(reviewed))
    assert refused.code == 2 and school.photo_of("new-one") is None and school.photo_of("new-two") is None
    done = school.migrate("--migrate", "--json")
    assert done.code == 0, done.text
    assert (school.photo_of("new-one"), school.photo_of("new-two")) == (one, two)


def test_probe_namesakes_with_text_dates_04_03_and_03_04_get_nothing(school):
    """Old Ann Lee "04/03/2015"; two current Ann Lees, "04/03/2015" and "03/04/2015": the second may be the same
    day, so the exact text is no proof it is the first: asked, nothing copied."""
    school.put_photo("old-ann", jpeg_bytes("ann's face"), 1)
    backup(school, NEWEST, [{"student_id": "old-ann", "name": "Ann Lee", "date_of_birth": "04/03/2015",
                             "photo": CANON.format("old-ann")}])
    school.seed([{"student_id": "new-a", "name": "Ann Lee", "date_of_birth": "04/03/2015", "photo": None},
                 {"student_id": "new-b", "name": "Ann Lee", "date_of_birth": "03/04/2015", "photo": None}])
    run = school.migrate("--migrate", "--json")
    assert run.code == 1 and school.photo_of("new-a") is None and school.photo_of("new-b") is None, run.text


def test_probe_swapped_surname_with_the_birth_date_is_not_passed_over_for_a_name_only_newcomer(school):
    """Old Mohammed Khan, born 2012-03-04; now Mohammed Kahn with that date, and a newcomer Mohammed Khan with no
    date: the newcomer shares only the name, so no copy; a person decides (exit 1)."""
    school.put_photo("old-m", jpeg_bytes("mohammed's face"), 1)
    backup(school, NEWEST, [{"student_id": "old-m", "name": "Mohammed Khan", "date_of_birth": "2012-03-04",
                             "photo": CANON.format("old-m")}])
    school.seed([{"student_id": "new-kahn", "name": "Mohammed Kahn", "date_of_birth": "2012-03-04", "photo": None},
                 {"student_id": "new-khan", "name": "Mohammed Khan", "photo": None}])
    run = school.migrate("--migrate", "--json")
    assert run.code == 1 and school.photo_of("new-khan") is None and school.photo_of("new-kahn") is None, run.text


@pytest.mark.parametrize("other", ["Mohammed Kahn", "Khan, Mohammed", "Mohammed Khan"])
def test_probe_the_gap_rules_doubt_never_becomes_a_copy_to_the_other_child(school, other):
    """S1's record (Mohammed Khan, 04/03/2012 as text) fits S1's newcomer only through the gap; S7 (the name
    written otherwise, 2012-03-04) may be that child: S1 is not linked, and S7 gets nothing from S1's folder."""
    school.put_photo("S1", jpeg_bytes("the real mohammed, 2024"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "04/03/2012",
                             "photo": CANON.format("S1")}])
    school.seed([{"student_id": "S1", "name": "Mohammed Khan", "photo": None},
                 {"student_id": "S7", "name": other, "date_of_birth": "2012-03-04",
                  "photo": CANON.format("S1")}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    docs = school.db_docs()
    assert run.code == 1 and docs["S1"]["photo"] is None, run.text
    assert school.photo_of("S7") is None


def test_probe_gap_rule_ignores_a_written_alike_child_whose_number_differs(school):
    """The other child under a name written alike shares the birth date but has another student number: not the
    record, so no alarm on S1 from it (the record's number is what the holder lacks)."""
    school.put_photo("S1", jpeg_bytes("ann"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Ann Lee", "date_of_birth": "2012-03-04",
                             "student_number": 5, "photo": CANON.format("S1")}])
    school.put_photo("S7", jpeg_bytes("anne"))
    school.seed([{"student_id": "S1", "name": "Ann Lee", "date_of_birth": "2012-03-04", "student_number": 5,
                  "photo": None},
                 {"student_id": "S7", "name": "Anne Lee", "date_of_birth": "2012-03-04", "student_number": 6,
                  "photo": CANON.format("S7")}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert run.code == 0, run.text
    assert school.db_docs()["S1"]["photo"] == CANON.format("S1")
