"""Round 10 (2026-12-01): one rule weighs every journal line of a photo's bytes (``deep.refusals``), for --deep and
the restore alike. An undone run's pairing proves nothing; a person's later pairing of the very folder a line is about
answers that line, unless the line proves the bytes another child's; at the paired id the holder must be the paired
record unchanged or proven the same person. And the sequences that could make this rule an all-clear wrongly."""

from __future__ import annotations

import shutil

from test_adversary_round10 import runs
from test_migrate import Reseed
from test_pairs import save_as_spreadsheet
from test_round8_journal import STRAY, placed_findings

from student_photos.config import DEFAULT_MATCH_FIELDS as FIELDS
from student_photos.deep import Placement, refusals
from student_photos.identity import Verdict, person_of
from student_photos.sample import jpeg_bytes

AMY = person_of("Amy Adams", ["2016-06-06", None, None, None])
AMY_NO_DATE = person_of("Amy Adams", [None, None, None, None])
BEA = person_of("Bea Brown", ["2016-07-07", None, None, None])


def _paired(seq: int, old_id: str, path: str, paired_id: str, paired, paired_name: str, undone: bool = False,
            origin_name: str | None = None) -> Placement:
    return Placement(f"run{seq}", path, 10, "ab" * 32, {
        "old_id": old_id, "old_name": origin_name, "name_key": None, "codes": "", "paired_by": "pairs file",
        "paired_id": paired_id, "paired_name": paired_name, "paired_name_key": paired.name,
        "paired_codes": paired.codes}, seq, undone)


def _by_rule(seq: int, old_id: str, path: str, origin, old_name: str) -> Placement:
    return Placement(f"run{seq}", path, 10, "ab" * 32, {
        "old_id": old_id, "old_name": old_name, "name_key": origin.name, "codes": origin.codes, "paired_by": None},
        seq)


# ---- the rule itself ----

def test_an_undone_pairing_proves_nothing_for_the_student_it_named():
    line = _paired(1, STRAY, "students/amy/profile.jpg", "amy", AMY, "Amy Adams", undone=True)
    assert refusals([line], "amy", AMY, FIELDS)  # judged by the folder it came from: no record, so unknown
    assert not refusals([_paired(1, STRAY, "students/amy/profile.jpg", "amy", AMY, "Amy Adams")], "amy", AMY,
                        FIELDS)


def test_a_later_pairing_of_the_same_folder_answers_an_undone_one():
    first = _paired(1, STRAY, "students/amy/profile.jpg", "amy", AMY, "Amy Adams", undone=True)
    second = _paired(2, STRAY, "students/bea/profile.jpg", "bea", BEA, "Bea Brown")
    assert not refusals([first, second], "bea", BEA, FIELDS)
    assert not refusals([second, first], "bea", BEA, FIELDS)  # the journal's order decides, not the list's
    # ... and answers nothing for a third child holding the bytes
    sam = person_of("Sam Lee", ["2015-05-05", None, None, None])
    assert [p.run_id for p, _ in refusals([first, second], "sam", sam, FIELDS)] == ["run1", "run2"]


def test_an_undone_later_pairing_answers_nothing():
    first = _paired(1, STRAY, "students/amy/profile.jpg", "amy", AMY, "Amy Adams", undone=True)
    second = _paired(2, STRAY, "students/bea/profile.jpg", "bea", BEA, "Bea Brown", undone=True)
    assert [p.run_id for p, _ in refusals([first, second], "bea", BEA, FIELDS)] == ["run1", "run2"]


def test_an_earlier_pairing_is_answered_only_by_a_later_one():
    first = _paired(2, STRAY, "students/amy/profile.jpg", "amy", AMY_NO_DATE, "Amy Adams")
    repaired = _paired(1, "amy", "students/amy2/profile.jpg", "amy2", AMY_NO_DATE, "Amy Adams")
    assert refusals([first, repaired], "amy2", AMY_NO_DATE, FIELDS)  # a decision before it answers nothing


def test_a_pairing_of_an_unrelated_folder_answers_nothing():
    first = _paired(1, STRAY, "students/amy/profile.jpg", "amy", AMY_NO_DATE, "Amy Adams")
    other = _paired(2, "some-other-folder", "students/amy2/profile.jpg", "amy2", AMY_NO_DATE, "Amy Adams")
    assert refusals([first, other], "amy2", AMY_NO_DATE, FIELDS)


def test_a_folder_filled_by_sort_order_then_paired_is_no_proof_of_what_the_order_put_there():
    # an order migration put a photo of a child no record names into folder x; a person later pairs x with Amy:
    # that decides whose folder x is, not whose photo the order migration put there
    placed = Placement("run1", "students/x/profile.jpg", 10, "ab" * 32, {
        "old_id": "old-9", "old_name": None, "name_key": None, "codes": "", "paired_by": "order"}, 1)
    paired = _paired(2, "x", "students/amy/profile.jpg", "amy", AMY, "Amy Adams")
    assert [p.run_id for p, _ in refusals([placed, paired], "amy", AMY, FIELDS)] == ["run1"]
    undone = _paired(1, STRAY, "students/x/profile.jpg", "x", AMY, "Amy Adams", undone=True)
    assert [p.run_id for p, _ in refusals([undone, paired], "amy", AMY, FIELDS)] == ["run1"]


def test_a_proven_difference_is_never_answered_by_a_later_pairing():
    sam = person_of("Sam Lee", ["2015-05-05", None, None, None])
    placed = _by_rule(1, "old-sam", "students/x/profile.jpg", sam, "Sam Lee")  # Sam's photo put into folder x
    paired = _paired(2, "x", "students/amy/profile.jpg", "amy", AMY, "Amy Adams")  # x's folder paired with Amy
    found = refusals([placed, paired], "amy", AMY, FIELDS)
    assert [(p.run_id, j.verdict) for p, j in found] == [("run1", Verdict.DIFFERENT)]


def test_at_the_paired_id_a_namesake_without_the_birth_date_is_not_the_paired_child():
    line = _paired(1, STRAY, "students/amy/profile.jpg", "amy", AMY, "Amy Adams")
    assert not refusals([line], "amy", AMY, FIELDS)
    assert refusals([line], "amy", AMY_NO_DATE, FIELDS)
    # the paired record with a field added since is still proven the same child
    assert not refusals([line], "amy", person_of("Amy Adams", ["2016-06-06", "77", None, None]), FIELDS)


# ---- the tools ----

def _school(school):
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.newcomer("amy", "Amy Adams", date_of_birth="2016-06-06")
    r.newcomer("bea", "Bea Brown", date_of_birth="2016-07-07")
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("bea's own face"))
    return r


def _pair(school, tmp_path, name, orphan, student_id):
    plan = tmp_path / name
    save_as_spreadsheet(plan, [{"orphan": orphan, "student_id": student_id}])
    assert school.migrate("--migrate", "--pairs", str(plan)).code == 0
    return [x["run_id"] for x in runs(school) if x["tool"].startswith("migrate")][-1]


def test_undone_pairing_then_the_photo_put_back_by_hand_is_found(school, tmp_path):
    """Pair STRAY with Amy, undo it, remove STRAY, then put its photo into Amy's folder by hand: the undone pairing
    is no proof (was an all-clear while an undone run's line still proved its student)."""
    r = _school(school)
    amy = r.new_id("amy")
    first = _pair(school, tmp_path, "plan.csv", STRAY, amy)
    assert school.migrate("--undo", first).code == 0
    shutil.rmtree(school.folder(STRAY))
    school.put_photo(amy, jpeg_bytes("bea's own face"))
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1, run.text
    assert placed_findings(run) == {f"students/{amy}/profile.jpg": [amy]}, run.json["deep"]


def test_pair_undo_pair_again_then_a_copy_in_a_third_childs_folder_is_found(school, tmp_path):
    """Pair with Amy, undo, pair with Bea, then copy the photo into Sam's folder: Sam's copy is found, Bea's is not."""
    r = _school(school)
    amy, bea, sam = r.new_id("amy"), r.new_id("bea"), r.new_id("sam")
    first = _pair(school, tmp_path, "plan.csv", STRAY, amy)
    assert school.migrate("--undo", first).code == 0
    _pair(school, tmp_path, "plan2.csv", STRAY, bea)
    target = school.folder(sam) / "attendance" / "2025-11-20_AM.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(school.folder(bea) / "profile.jpg", target)
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1, run.text
    found = placed_findings(run)
    assert found.get(f"students/{sam}/attendance/2025-11-20_AM.jpg") == [sam], run.json["deep"]
    assert bea not in {s for f in run.json["deep"] for s in f["students"]
                       if f["kind"] == "placed from another person"}, run.json["deep"]


def test_pair_undo_pair_again_the_restore_never_copies_the_photo_to_the_undone_student(school, tmp_path):
    """The restore weighs the lines by the same rule: Amy's link naming a copy of Bea's paired photo is not followed."""
    r = _school(school)
    amy, bea = r.new_id("amy"), r.new_id("bea")
    first = _pair(school, tmp_path, "plan.csv", STRAY, amy)
    assert school.migrate("--undo", first).code == 0
    _pair(school, tmp_path, "plan2.csv", STRAY, bea)
    shutil.rmtree(school.folder(STRAY))
    uploads = school.photos / "uploads"
    uploads.mkdir()
    shutil.copy(school.folder(bea) / "profile.jpg", uploads / "amy.jpg")
    school.collection.update_one({"student_id": amy}, {"$set": {"photo": "/api/photos/uploads/amy.jpg"}})
    run = school.restore("--json")
    assert school.photo_of(amy) != jpeg_bytes("bea's own face"), run.text
    assert school.photo_of(bea) == jpeg_bytes("bea's own face")
