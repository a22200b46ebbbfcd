"""Review of round 11 (2026-12-01): the branches of undo._held_by_another that no test reached. A quarantine
line that does not say who held the folder (written before the holder was recorded, or edited), or that
recorded them under other MATCH_FIELDS, leaves the photo in quarantine (exit 1); the same child, unchanged, gets
it back (exit 0). A line naming no student's folder is left, not a crash (exit 2 before)."""

from __future__ import annotations

import json

import pytest

from conftest import School
from student_photos.sample import jpeg_bytes


def _both_quarantined(school: School) -> tuple[str, str, str]:
    """Ann's photo copied by hand into Bea's folder: --deep --quarantine moves both copies aside."""
    ann = school.new_student("Ann Arden", date_of_birth="2015-01-01")
    bea = school.new_student("Bea Brook", date_of_birth="2016-02-02")
    school.put_photo(ann["student_id"], jpeg_bytes("ann"))
    school.put_photo(bea["student_id"], jpeg_bytes("ann"))
    school.seed([ann, bea])
    school.write_backup([ann, bea])
    result = school.restore("--deep", "--quarantine", "--json", MATCH_FIELDS="date_of_birth")
    assert result.code == 1 and result.json["summary"]["quarantined"] == 2, result.text
    assert school.photo_of(ann["student_id"]) is None and school.photo_of(bea["student_id"]) is None
    return result.json["run_id"], ann["student_id"], bea["student_id"]


def _edit_quarantine_lines(school: School, run_id: str, edit) -> None:
    path = school.photos / ".student-photos" / "journal" / f"{run_id}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        if line.get("type") == "quarantine":
            edit(line)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_undo_of_a_quarantine_gives_each_unchanged_child_their_photo_back(school):
    run_id, ann, bea = _both_quarantined(school)

    undo = school.restore("--undo", run_id, "--json", MATCH_FIELDS="date_of_birth")

    assert undo.code == 0, undo.text
    assert school.photo_of(ann) == jpeg_bytes("ann") and school.photo_of(bea) == jpeg_bytes("ann")


def test_a_quarantine_line_without_its_holder_leaves_the_photo_in_quarantine(school):
    run_id, ann, bea = _both_quarantined(school)
    _edit_quarantine_lines(school, run_id, lambda line: line.pop("holder"))

    undo = school.restore("--undo", run_id, "--json", MATCH_FIELDS="date_of_birth")

    assert undo.code == 1, undo.text
    assert school.photo_of(ann) is None and school.photo_of(bea) is None
    assert "is not recorded as this run compares" in undo.text


def test_a_quarantine_under_other_match_fields_leaves_the_photo_in_quarantine(school):
    run_id, ann, bea = _both_quarantined(school)

    undo = school.restore("--undo", run_id, "--json", MATCH_FIELDS="date_of_birth,student_number")

    assert undo.code == 1, undo.text
    assert school.photo_of(ann) is None and school.photo_of(bea) is None
    assert "is not recorded as this run compares" in undo.text


def test_a_quarantine_line_naming_no_folder_is_left_not_a_crash(school):
    run_id, ann, bea = _both_quarantined(school)
    school.photos.joinpath("stray.jpg").unlink(missing_ok=True)
    _edit_quarantine_lines(school, run_id, lambda line: line.update(path="stray.jpg"))

    undo = school.restore("--undo", run_id, "--json", MATCH_FIELDS="date_of_birth")

    assert undo.code == 1, undo.text
    assert not school.photos.joinpath("stray.jpg").exists() and "names no student's folder" in undo.text
    assert school.photo_of(ann) is None and school.photo_of(bea) is None


def test_deep_searches_the_backups_once_for_every_student_holding_an_orphans_photo(school, monkeypatch):
    """A school migrated by identity and not yet cleaned: each child's photo is byte-identical to her old folder's,
    so --deep asks about every child. The backups are searched for them all at once (restore.namesake_histories
    reads every backup and lists students/): once per child was quadratic at district size (12 calls here)."""
    from test_migrate import Reseed

    import student_photos.restore as restore_module
    r = Reseed(school)
    for i in range(12):
        r.child(f"k{i}", f"Kid {chr(65 + i)}", date_of_birth=f"2015-01-{i + 1:02d}", attendance=0)
    r.commit()
    assert school.migrate("--migrate").code == 0 and school.restore().code == 0
    calls = []
    searched = restore_module.namesake_histories
    monkeypatch.setattr(restore_module, "namesake_histories", lambda *a, **k: calls.append(a[1]) or searched(*a, **k))

    deep = school.restore("--verify-only", "--deep", "--json")

    assert deep.code == 0 and deep.json["deep"] == [], deep.text
    assert deep.json["deep_check"]["hashed"] >= 24, "every child's photo and her old folder's were compared"
    assert len(calls) == 1 and len(calls[0]) == 12, calls


# ---- migrate: an old record whose number no look-up finds, at district size (matching.MatchBook._decide) ----

@pytest.mark.parametrize("born_that_day", [0, 21])
def test_finding_a_rival_whose_number_no_look_up_finds_blocks_when_many_share_her_birth_date(school, born_that_day):
    """Round 9 finding 12 (migrate side) at district size: old-b (Ann Smithers, number {"v": 5}) may be Ann Lee #5
    renamed, so old-a (Ann Lee, no number) is not given to her. The fit is found among the current records sharing
    old-b's birth date; at 200,000 students some 40 share each day, more than MAX_SHARED_IDENTIFIER (20)."""
    from old_records import backup, current, migrated_to, old, orphan, summary
    ann_a = old("Ann Lee", date_of_birth="2015-03-04")
    ann_b = old("Ann Smithers", date_of_birth="2015-03-04", student_number={"v": 5})
    for k in (ann_a, ann_b):
        orphan(school, k)
    backup(school, "seed_backup_20251201_0000.json", [ann_a, ann_b])
    others = [School.new_student(f"Pupil {i:02d}", date_of_birth="2015-03-04", student_number=100 + i)
              for i in range(born_that_day)]
    ids = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04", student_number=5), *others)

    run = school.migrate("--migrate", "--json")

    assert migrated_to(school, ann_a, ids) == [], f"old-a given to Ann Lee #5, exit {run.code} {summary(run)}"
    assert run.code == 1


def test_the_restore_blocks_that_rival_when_many_share_her_birth_date(school):
    """The restore's side of the same: its search by birth date (restore.namesake_histories' blind_dates) has no cap."""
    from test_round8_restore import _copied, _leaver_and_rival
    _leaver_and_rival(school, {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "student_number": {"v": 5}},
                      {"student_number": 5})
    school.seed([School.new_student(f"Pupil {i:02d}", date_of_birth="2015-03-04", student_number=100 + i)
                 for i in range(21)])
    result = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert not _copied(school), f"old-a given to Ann Lee #5, exit {result.code}"
    assert result.code == 1


# ---- migrate: a respelled name with the same birth date, at district size (matching.MatchBook._renamed) ----

@pytest.mark.parametrize("born_that_day", [0, 21])
def test_finding_a_respelled_child_is_asked_about_when_many_share_her_birth_date(school, born_that_day):
    """docs/safety.md: a name written another way with the same birth date is a person's decision (unknown, exit 1),
    never a leaver's folder. At 200,000 students some 40 share each birth date, more than MAX_SHARED_IDENTIFIER."""
    from old_records import backup, current, old, orphan, summary
    jon = old("Jon Smith", date_of_birth="2015-03-04")
    orphan(school, jon)
    backup(school, "seed_backup_20251201_0000.json", [jon])
    current(school, School.new_student("John Smith", date_of_birth="2015-03-04"),
            *(School.new_student(f"Pupil {i:02d}", date_of_birth="2015-03-04") for i in range(born_that_day)))

    run = school.migrate("--migrate", "--json")

    assert run.code == 1 and summary(run)[0][0] == "unknown", summary(run)


# ---- an orphan's history by its folder: migrate by records.one_folder_key, --deep by the exact id ----

def test_finding_deep_judges_a_folder_spelt_otherwise_than_its_backup_id_as_migrate_did(school):
    """OLD-A on disk, `old-a` in the backup (one folder on SMB; docs/safety.md: a folder's record is every backup's
    record of any of its spellings, in the restore, migrate and --deep). Migrate gives its photo to Ann Lee (exit 0);
    --deep then says 'no backup holds that id' of the same folder: a false alarm (exit 1), and --quarantine would move
    Ann's own photo aside."""
    from old_records import CANON, backup, current, summary
    school.put_photo("OLD-A", jpeg_bytes("ann's face"), 1)
    backup(school, "seed_backup_20251201_0000.json", [
        {"student_id": "old-a", "name": "Ann Lee", "date_of_birth": "2015-03-04", "photo": CANON.format("old-a")}])
    (ann,) = current(school, School.new_student("Ann Lee", date_of_birth="2015-03-04"))
    run = school.migrate("--migrate", "--json")
    assert run.code == 0 and school.photo_of(ann) == jpeg_bytes("ann's face"), summary(run)

    deep = school.restore("--verify-only", "--deep", "--json")

    assert deep.code == 0 and deep.json["deep"] == [], deep.json["deep"]


# ---- a link naming another id that holds the student's own id (links.PhotoLink.names_it_may_hold, besides) ----

@pytest.mark.parametrize("ids", [("1001", "10012"), ("1001", "21001"), ("ann-1", "ann-1b")])
def test_finding_a_link_naming_a_longer_id_that_contains_hers_gives_her_his_photo(school, ids):
    """Ann's id is 1001; her link points at uploads/10012.jpg, Ben's (id 10012) photo of last year. Her own id is taken
    out of each name first (``besides``), which takes it out of 10012 too: '2' names no one, so Ben's face is copied to
    Ann, exit 0. docs/safety.md: a link outside students/ naming another id the tool knows is never copied."""
    from old_records import kid
    ann = kid(school, "Ann Lee", sid=ids[0], photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", sid=ids[1], date_of_birth="2016-02-02")
    rel = f"uploads/{ids[1]}.jpg"
    (school.photos / "uploads").mkdir()
    bens_old_face = jpeg_bytes("Ben Ray, picture day last year")
    (school.photos / rel).write_bytes(bens_old_face)
    school.seed([{**ann, "photo": "/api/photos/" + rel}, ben])
    school.write_backup([ann, ben])

    run = school.restore("--json")

    assert school.photo_of(ids[0]) != bens_old_face, f"Ben's photo from {rel} given to Ann, exit {run.code}"
    assert run.code == 1, run.text
