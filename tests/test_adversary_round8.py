"""Adversarial round 8 (2026-12-01): the `photo` field and links as they drift in real apps, odd values in the
field, and the honesty of --verify-only, against the restore on the real test server.

Invariants: a photo goes only to the child proven to be its owner; nothing unique is deleted; exit 0 only when nothing
is wrong or left undone; an undo takes back exactly what its run changed. test_finding_* FAIL on the code as committed
with this file (comment "WRONG:" says the wrong outcome); test_probe_* (PROBE) held and stay as regressions."""

from __future__ import annotations

import os

import pytest
from old_records import CANON, kid

from conftest import drop_dac_capabilities
from student_photos.sample import jpeg_bytes


def problem_ids(result) -> set[str]:
    return {p["student_id"] for p in result.json["problems"]}


# ================================================================ FINDINGS (fail on current code)

# WRONG: the restore copies into Ann's folder (and links, exit 0 "all done") a file that Ann's link names under a copy
# of the students tree kept inside PHOTO_DIR (`cp -a students students.bak`, or an old/ tree): the folder there is
# named by BEN's id, a current student, and holds Ben's photo of last year (Ben was photographed again since, so
# the bytes are in no folder under students/). The very same drift into `students/{ben}/profile.jpg` is refused
# ("points at another current student's folder"), and safety.md requires "its folder's owner (by backup history)
# is the same person" before a link is copied: for a link outside students/ no owner is asked for at all, so one
# drifted link - in the database or in Ann's own backup record - gives Ann another child's face, and --deep does
# not see it afterwards (it compares students/ only). A careful administrator expects a link that proves nothing
# about whose photo it is to be refused (exit 1, Ann missing), as every other unproven link is.
@pytest.mark.parametrize("where", ["students.bak/{b}/profile.jpg", "old/students/{b}/profile.jpg",
                                   "Students_2024/{b}/profile.jpg", "uploads/{b}.jpg", "uploads/{b}/face.jpg"])
@pytest.mark.parametrize("linked_by", ["database", "backup"])
def test_finding_a_link_into_a_copy_of_another_childs_folder_outside_students_gives_ann_his_photo(
        school, where, linked_by):
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    rel = where.format(b=ben["student_id"])
    (school.photos / rel).parent.mkdir(parents=True)
    bens_old_face = jpeg_bytes("Ben Ray, picture day last year")
    (school.photos / rel).write_bytes(bens_old_face)
    link = "/api/photos/" + rel
    if linked_by == "database":
        school.seed([{**ann, "photo": link}, ben])
        school.write_backup([ann, ben])
    else:
        school.seed([ann, ben])
        school.write_backup([{**ann, "photo": link}, ben])

    run = school.restore("--json")

    assert school.photo_of(ann["student_id"]) != bens_old_face, \
        f"Ben's photo (from {rel}) was copied into Ann's folder, exit {run.code}"
    assert run.code == 1, run.text


def test_probe_a_link_into_a_copy_of_her_own_folder_outside_students_is_still_copied(school):
    """PROBE (beside the finding above): the rule refuses another child's folder, not the child's own: a link into
    `students.bak/{her own id}/` is copied and linked, exit 0."""
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    rel = f"students.bak/{ann['student_id'].upper()}/profile.jpg"
    (school.photos / rel).parent.mkdir(parents=True)
    (school.photos / rel).write_bytes(jpeg_bytes("Ann's own face"))
    school.seed([{**ann, "photo": "/api/photos/" + rel}])
    school.write_backup([ann])

    run = school.restore("--json")

    assert run.code == 0, run.text
    assert school.photo_of(ann["student_id"]) == jpeg_bytes("Ann's own face")


# WRONG: Ann's document has no `photo` field at all (an app that adds it on first upload). A restore links her photo;
# its journal records the old value as null, not {"$absent": true} as docs/reference.md says ("`{"$absent": true}`
# for a field that was not there"), and `--undo` then writes `photo: null` where there was no field, reporting
# exit 0: the undo does not give back the document as it was. (db.py has the $absent/$unset path; the restore
# never uses it because records.py reads an absent field as None.)
def test_finding_undo_of_a_relink_puts_photo_null_where_there_was_no_photo_field(school):
    ann = kid(school, "Ann Lee", date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    school.seed([{k: v for k, v in ann.items() if k != "photo"}, ben])
    school.write_backup([ann, ben])
    before = school.collection.find_one({"student_id": ann["student_id"]})

    run = school.restore("--json")
    assert run.code == 0 and school.db_docs()[ann["student_id"]]["photo"] == CANON.format(ann["student_id"])
    undo = school.restore("--undo", run.json["run_id"], "--json")

    assert undo.code == 0, undo.text
    after = school.collection.find_one({"student_id": ann["student_id"]})
    assert "photo" not in after, f"undo left photo={after.get('photo')!r} on a document that had no photo field"
    assert after == before


# ================================================================ PROBES (held)

@pytest.mark.parametrize("where", ["students/{b}.jpg", "students/{b}.JPG"])
def test_probe_a_link_to_a_loose_file_named_by_another_childs_id_is_not_copied(school, where):
    """PROBE: Ann's link names `students/{ben}.jpg` (an older flat layout: no owner folder in the link). It holds
    Ben's old photo, in no folder. The loose file is judged as folder `{ben}.jpg`, no one's proven: not copied."""
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    rel = where.format(b=ben["student_id"])
    bens_old_face = jpeg_bytes("Ben Ray, picture day last year")
    (school.photos / rel).write_bytes(bens_old_face)
    school.seed([{**ann, "photo": "/api/photos/" + rel}, ben])
    school.write_backup([ann, ben])

    verify = school.restore("--verify-only", "--json")
    run = school.restore("--json")

    assert verify.code == 1 and run.code == 1, (verify.text, run.text)
    assert school.photo_of(ann["student_id"]) is None


ABSENT = object()


@pytest.mark.parametrize("value", [None, "", [], ["/api/photos/students/{a}/profile.jpg"], {"u": 1}, 0, False,
                                   "/API/Photos/students/{a}/profile.jpg",
                                   "http://host/api/photos/students/{a}/profile.jpg#x",
                                   "/api/photos/students/{a}/profile.jpg?v=3",
                                   "/api/photos/students/{a}/profile.jpg/",
                                   "/api/photos/students/%2e%2e/{a}/profile.jpg"])
def test_probe_an_odd_photo_value_with_the_photo_in_place_is_relinked_and_undone_exactly(school, value):
    """PROBE: Ann's photo is in place; her `photo` holds a drifted or odd value. --verify-only exits 1 (a relink is
    due), the restore links the canonical path, a second --verify-only is clean, and --undo restores the value."""
    ann = kid(school, "Ann Lee", date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    stored = value
    if isinstance(value, str):
        stored = value.format(a=ann["student_id"])
    elif isinstance(value, list):
        stored = [v.format(a=ann["student_id"]) for v in value]
    school.seed([{**ann, "photo": stored}, ben])
    school.write_backup([ann, ben])
    before = school.collection.find_one({"student_id": ann["student_id"]})

    verify = school.restore("--verify-only", "--json")
    run = school.restore("--json")
    again = school.restore("--verify-only", "--json")

    assert (verify.code, run.code, again.code) == (1, 0, 0), (verify.text, run.text, again.text)
    assert verify.json["summary"]["database_updated"] == run.json["summary"]["database_updated"] == 1
    assert school.db_docs()[ann["student_id"]]["photo"] == CANON.format(ann["student_id"])
    undo = school.restore("--undo", run.json["run_id"], "--json")
    assert undo.code == 0, undo.text
    assert school.collection.find_one({"student_id": ann["student_id"]}) == before


@pytest.mark.parametrize("odd", ["empty", "dir", "fifo", "dangling", "own-attendance-link", "png"])
def test_probe_an_odd_profile_under_a_canonical_link_is_never_all_done(school, odd):
    """PROBE: the link is already canonical (nothing to relink); only the photo check can say the app serves a
    broken picture. --verify-only (with and without --deep) exits 1 naming Ann, and never hangs on a FIFO."""
    ann = kid(school, "Ann Lee", date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    folder = school.folder(ann["student_id"])
    profile = folder / "profile.jpg"
    profile.unlink()
    if odd == "empty":
        profile.write_bytes(b"")
    elif odd == "dir":
        profile.mkdir()
    elif odd == "fifo":
        os.mkfifo(profile)
    elif odd == "dangling":
        profile.symlink_to("nowhere.jpg")
    elif odd == "own-attendance-link":
        (folder / "attendance" / "2025-11-10_AM.jpg").write_bytes(jpeg_bytes("ann in class"))
        profile.symlink_to("attendance/2025-11-10_AM.jpg")
    elif odd == "png":
        profile.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    school.seed([ann, ben])
    school.write_backup([ann, ben])

    for args in (("--verify-only", "--json"), ("--verify-only", "--deep", "--json"), ("--verify-only", "--quiet")):
        result = school.restore(*args)
        assert result.code == 1, (args, result.text)
    assert ann["student_id"] in problem_ids(school.restore("--verify-only", "--json"))


@pytest.mark.parametrize("what,mode", [("folder", 0o000), ("folder", 0o444), ("profile", 0o000),
                                       ("profile", 0o200)])
def test_probe_an_unreadable_folder_or_profile_under_a_canonical_link_is_never_all_done(school, what, mode):
    """PROBE: run without CAP_DAC_OVERRIDE; Ann's folder or profile.jpg cannot be read by the nightly account."""
    ann = kid(school, "Ann Lee", date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    school.seed([ann, ben])
    school.write_backup([ann, ben])
    path = school.folder(ann["student_id"]) / ("profile.jpg" if what == "profile" else "")
    path.chmod(mode)
    try:
        results = [school.subprocess("restore_student_photos", *args, preexec_fn=drop_dac_capabilities)
                   for args in (("--verify-only", "--json"), ("--verify-only", "--deep", "--json"))]
    finally:
        path.chmod(0o755)
    for result in results:
        assert result.code == 1, result.text
        assert ann["student_id"] in problem_ids(result), result.text
