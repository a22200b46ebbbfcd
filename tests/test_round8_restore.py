"""Round 8 (2026-12-01): the two round-7 gaps closed, and their variations.

1. A backup's record of a current id's folder spelt another way (``records.one_folder_key``: `abcd-1001` is
   `ABCD-1001`'s folder on an SMB/macOS share) is that folder's history: another person there is an earlier
   owner, in the restore (an identity conflict, --deep's "folder of an earlier owner") and in migrate
   (`earlier_owners`), as for the exact id; the same child under a re-cased id is no alarm.
2. The restore's one-to-one rule finds rival old folders by a shared identifier too (``Census.identifying_codes``,
   ``identity.choose`` as migrate decides an orphan): MAX_SHARED_IDENTIFIER and the sibling exemption as migrate.

test_finding_* fail on the code before this round (comment "WRONG:" says the wrong outcome); test_contrast_* held
before and hold now (no new false alarm)."""

from __future__ import annotations

import pytest
from old_records import CANON, MIDDLE, NEWEST, backup

from conftest import School
from student_photos.sample import jpeg_bytes

BOB = {"name": "Bob Ray", "date_of_birth": "2012-01-01", "student_number": 9}
ANN = {"name": "Ann Lee", "date_of_birth": "2015-03-04", "student_number": 5}


def _ann_in_a_folder_once_bobs(school: School, backup_id: str, earlier: dict, file: str = NEWEST) -> None:
    """Ann holds ABCD-1001 now; the folder spelt as her id holds what a backup record of ``backup_id`` had."""
    school.put_photo("ABCD-1001", jpeg_bytes(f"{earlier['name']}'s face"))
    backup(school, file, [{"student_id": backup_id, **earlier, "photo": CANON.format(backup_id)}])
    school.seed([{"student_id": "ABCD-1001", **ANN, "photo": CANON.format("ABCD-1001")}])


def _run(school: School, tool: str):
    if tool == "restore":
        return school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")
    return school.migrate("--list", "--json", MIN_DATABASE_RATIO="0")


def _named(run, tool: str) -> str:
    """What the JSON says of ABCD-1001's folder (the restore's problems, migrate's earlier owners)."""
    if tool == "restore":
        return " ".join(p["detail"] for p in run.json["problems"] if p["student_id"] == "ABCD-1001")
    return " ".join(f"{o['earlier_name']} {o['reason']}" for o in run.json["earlier_owners"]
                    if o["student_id"] == "ABCD-1001")


# ================================================================ 1. earlier owners under another spelling

# WRONG: Bob's record under `abcd-1001.` (a trailing dot, which SMB drops) or `Abcd-1001` is not seen: exit 0.
@pytest.mark.parametrize("tool", ["restore", "migrate"])
@pytest.mark.parametrize("spelt", ["abcd-1001.", "Abcd-1001", "abcd-1001"])
def test_finding_an_earlier_owner_under_the_folder_spelt_another_way_is_named(school, tool, spelt):
    _ann_in_a_folder_once_bobs(school, spelt, BOB)

    run = _run(school, tool)

    assert run.code == 1, f"Bob's face served as Ann's, exit {run.code}: {run.text[-600:]}"
    assert "Bob Ray" in _named(run, tool) and spelt in _named(run, tool), run.text[-800:]


# WRONG: the earlier owner's record is only in an older backup (the newest has none of that folder): exit 0.
@pytest.mark.parametrize("tool", ["restore", "migrate"])
def test_finding_an_earlier_owner_spelt_another_way_in_an_older_backup_is_seen(school, tool):
    _ann_in_a_folder_once_bobs(school, "abcd-1001", BOB, file=MIDDLE)
    backup(school, NEWEST, [{"student_id": "zz-1", "name": "Zed", "photo": CANON.format("zz-1")}])

    run = _run(school, tool)

    assert run.code == 1, f"exit {run.code}: {run.text[-600:]}"


# WRONG: a restore that writes: Ann's link is set and the run says all done while the folder may be Bob's.
def test_finding_a_writing_restore_does_not_call_bobs_folder_anns(school):
    _ann_in_a_folder_once_bobs(school, "abcd-1001", BOB)
    school.collection.update_one({"student_id": "ABCD-1001"}, {"$set": {"photo": "/uploads/ann.jpg"}})

    run = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert run.code == 1, run.text[-600:]
    assert school.db_docs()["ABCD-1001"]["photo"] == "/uploads/ann.jpg"  # never linked to a photo in doubt


# WRONG: the backup's record under the re-cased id cannot be compared (a list for her number): not the same
# person proven, so it is a question (exit 1), as for the exact id.
@pytest.mark.parametrize("tool", ["restore", "migrate"])
def test_finding_an_uncomparable_record_under_another_spelling_is_a_question(school, tool):
    _ann_in_a_folder_once_bobs(school, "abcd-1001", {**ANN, "student_number": [5]})

    assert _run(school, tool).code == 1


@pytest.mark.parametrize("tool", ["restore", "migrate"])
@pytest.mark.parametrize("spelt", ["ABCD-1001", "abcd-1001", "ABCD-1001."])
def test_contrast_the_same_child_under_a_re_cased_id_is_no_alarm(school, tool, spelt):
    """The backup's record of the folder is Ann herself (same name, birth date and number): exit 0, no alarm."""
    _ann_in_a_folder_once_bobs(school, spelt, ANN)

    run = _run(school, tool)

    assert run.code == 0, run.text[-800:]
    assert _named(run, tool) == ""


@pytest.mark.parametrize("tool", ["restore", "migrate"])
def test_contrast_bob_under_the_exact_id_is_still_an_earlier_owner(school, tool):
    _ann_in_a_folder_once_bobs(school, "ABCD-1001", BOB)

    run = _run(school, tool)

    assert run.code == 1 and "Bob Ray" in _named(run, tool), run.text[-800:]


def test_contrast_another_id_that_is_another_folder_is_no_earlier_owner(school):
    """abcd-10010 is not ABCD-1001's folder anywhere: Bob's record of it says nothing of Ann's folder."""
    _ann_in_a_folder_once_bobs(school, "abcd-10010", BOB)

    assert _run(school, "migrate").code == 0
    assert _run(school, "restore").code == 0


# ================================================================ 2. rival old folders by a shared identifier

def _leaver_and_rival(school: School, rival: dict | None, hers: dict, rival_file: str = NEWEST,
                      rival_folder: str = "photo") -> None:
    """Old folder A: a leaver "Ann Lee" with her birth date; old folder B (``rival``); Ann Lee now (``hers``) with
    her `photo` (copied by a reseed) pointing into A."""
    school.put_photo("old-a", jpeg_bytes("old-a's photo"))
    leaver = {"student_id": "old-a", "name": "Ann Lee", "date_of_birth": "2015-03-04", "photo": CANON.format("old-a")}
    records = {NEWEST: [leaver]}
    if rival is not None:
        if rival_folder == "photo":
            school.put_photo("old-b", jpeg_bytes("old-b's photo"))
        elif rival_folder == "empty":
            school.folder("old-b").mkdir(parents=True)
        records.setdefault(rival_file, []).append({"student_id": "old-b", **rival, "photo": CANON.format("old-b")})
    for file, recs in records.items():
        backup(school, file, recs)
    school.seed([{"student_id": "new-ann", "name": "Ann Lee", "date_of_birth": "2015-03-04", **hers,
                  "photo": CANON.format("old-a")}])


def _copied(school: School) -> bool:
    return school.photo_of("new-ann") == jpeg_bytes("old-a's photo")


# WRONG (each): old-b could be Ann Lee now (her number or email, written another way; a record in an older backup;
# an empty folder, as migrate counts it), and old-a's face is copied to her anyway, exit 0.
@pytest.mark.parametrize("case", ["number-zeros", "number-as-text", "email-case", "older-backup", "empty-folder",
                                  "disputed", "sibling-number"])
def test_finding_restore_refuses_a_rival_old_folder_sharing_her_identifier(school, case):
    rival = {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "student_number": "005"}
    hers: dict = {"student_number": 5}
    kwargs: dict = {}
    if case == "number-as-text":
        rival["student_number"] = "5"
    elif case == "email-case":
        rival = {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "email": "Ann.Lee@School.org"}
        hers = {"email": " ann.lee@SCHOOL.ORG "}
    elif case == "older-backup":
        kwargs["rival_file"] = MIDDLE
    elif case == "empty-folder":
        kwargs["rival_folder"] = "empty"
    elif case == "sibling-number":  # another name and birth date: a sibling shares an email, never a number
        rival = {"name": "Bea Lee", "date_of_birth": "2017-06-01", "student_number": 5}
    _leaver_and_rival(school, rival, hers, **kwargs)
    if case == "disputed":  # the backups disagree about old-b: one record could be her
        backup(school, MIDDLE, [{"student_id": "old-b", "name": "Zed Quinn", "date_of_birth": "2010-01-01",
                                 "photo": CANON.format("old-b")}])

    migrate = school.migrate("--list", "--json", MIN_DATABASE_RATIO="0")
    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert not _copied(school), f"old-a's photo given though old-b may be hers (exit {result.code})"
    assert result.code == 1, result.text[-600:]
    assert migrate.code == 1  # (migrate does not call old-a hers either)


def test_finding_deep_does_not_call_a_photo_from_a_folder_with_a_rival_by_number_hers(school):
    """--deep asks the same one-to-one rule of a photo already in her folder with old-a's bytes."""
    _leaver_and_rival(school, {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "student_number": 5},
                      {"student_number": 5})
    school.put_photo("new-ann", jpeg_bytes("old-a's photo"))
    school.collection.update_one({"student_id": "new-ann"}, {"$set": {"photo": CANON.format("new-ann")}})

    result = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")

    assert result.code == 1, result.text[-800:]


def test_contrast_a_rival_record_with_no_folder_does_not_block(school):
    """old-b's record shares her number, but old-b has no folder (no photo of anyone to mistake): copied, exit 0."""
    _leaver_and_rival(school, {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "student_number": 5},
                      {"student_number": 5}, rival_folder="none")

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert _copied(school) and result.code == 0, result.text[-600:]


def test_contrast_a_sibling_sharing_the_family_email_is_no_rival(school):
    """Bea Lee (another name and birth date) with the family's email is a sibling, as migrate decides: copied."""
    _leaver_and_rival(school, {"name": "Bea Lee", "date_of_birth": "2017-06-01", "email": "lee@home.org"},
                      {"email": "LEE@home.org"})

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert _copied(school) and result.code == 0, result.text[-600:]


def test_contrast_an_email_many_current_students_share_identifies_no_one(school):
    """The office email on more than MAX_SHARED_IDENTIFIER current records is no one's: old-b is no rival."""
    from student_photos.identity import MAX_SHARED_IDENTIFIER
    _leaver_and_rival(school, {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "email": "office@school.org"},
                      {"email": "office@school.org"})
    school.seed([School.new_student(f"Pupil {i}", date_of_birth="2014-01-01", email="office@school.org")
                 for i in range(MAX_SHARED_IDENTIFIER)])

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert _copied(school), result.text[-600:]


def test_contrast_no_rival_the_photo_is_copied(school):
    _leaver_and_rival(school, None, {"student_number": 5})

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert _copied(school) and result.code == 0, result.text[-600:]


# WRONG: on a case-sensitive disk both folders exist (Bob's abcd-1001, an orphan, and Ann's ABCD-1001); served from
# an SMB/macOS share they are one folder, and which one opens is not known. Migrate said nothing of Ann's folder.
@pytest.mark.parametrize("tool", ["restore", "migrate"])
def test_finding_an_orphan_folder_that_is_a_current_students_folder_on_smb_is_an_earlier_owner(school, tool):
    _ann_in_a_folder_once_bobs(school, "abcd-1001", BOB)
    school.put_photo("abcd-1001", jpeg_bytes("bob's own folder"))

    run = _run(school, tool)

    assert run.code == 1 and "Bob Ray" in _named(run, tool), run.text[-800:]


# WRONG: old-b (Ann Smithers #5) shares #5 with Bea Smith and with Ann Lee now. identity.choose names only the
# first record sharing it among an orphan's fits, so migrate's one-to-one rule misses Ann Lee (a known gap there,
# identity.py); the restore asks of this very student whether old-b could be her, and refuses.
def test_finding_restore_refuses_a_rival_sharing_her_number_with_another_student_too(school):
    _leaver_and_rival(school, {"name": "Ann Smithers", "date_of_birth": "2015-03-04", "student_number": 5},
                      {"student_number": 5})
    school.seed([{"student_id": "bea", "name": "Bea Smith", "date_of_birth": "2015-03-04", "student_number": 5,
                  "photo": CANON.format("bea")}])
    school.put_photo("bea", jpeg_bytes("bea's face"))

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert not _copied(school) and result.code == 1, result.text[-600:]
