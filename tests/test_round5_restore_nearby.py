"""Inputs next to round 5's restore findings (tests/test_adversary_round5_restore.py): each would still give a child
another child's photo, or a false exit 0, if the fix covered only the case found."""

from __future__ import annotations

import os
import shutil

import pytest
from old_records import CANON, kid

from conftest import School
from student_photos.links import read_link
from student_photos.sample import jpeg_bytes


def ann_with_bens_bytes_in_her_old_folder(school: School) -> tuple[dict, dict, bytes]:
    """Ann has no photo; her own earlier folder (backup history: Ann) holds exactly Ben's photo."""
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    ben_bytes = school.photo_of(ben["student_id"])
    (school.folder("old-ann") / "attendance").mkdir(parents=True)
    (school.folder("old-ann") / "profile.jpg").write_bytes(ben_bytes)
    school.seed([{**ann, "photo": CANON.format("old-ann")}, ben])
    school.write_backup([{**ann, "student_id": "old-ann", "photo": CANON.format("old-ann")}, ben],
                        name="seed_backup_20251001_0000.json")
    school.write_backup([ann, ben])
    return ann, ben, ben_bytes


# ---------------------------------------------------------------- 3. what could not be compared
@pytest.mark.parametrize("hidden", ["profile-symlink", "attendance-symlink", "nested-symlink", "loose-file",
                                    "loose-file-odd-name"])
def test_bytes_hidden_where_the_store_walk_does_not_read_are_never_nowhere_else(school, tmp_path, hidden):
    """Ben's only other copy of those bytes is behind a symlink inside a folder, or in a loose file in students/:
    the copy to Ann is refused (exit 1) and the run says what it could not compare (or where the bytes are)."""
    ann, ben, ben_bytes = ann_with_bens_bytes_in_her_old_folder(school)
    school.put_photo(ben["student_id"], jpeg_bytes("Ben, new photo this year"))
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(ben_bytes)
    folder = school.folder(ben["student_id"])
    if hidden == "profile-symlink":
        (folder / "profile.jpg").unlink()
        (folder / "profile.jpg").symlink_to(outside)
    elif hidden == "attendance-symlink":
        shutil.rmtree(folder / "attendance")
        (tmp_path / "att").mkdir()
        (tmp_path / "att" / "x.jpg").write_bytes(ben_bytes)
        (folder / "attendance").symlink_to(tmp_path / "att")
    elif hidden == "nested-symlink":
        (folder / "attendance" / "2024.jpg").symlink_to(outside)
    elif hidden == "loose-file":
        (school.students_dir / f"{ben['student_id']}.jpg").write_bytes(ben_bytes)
    else:
        (school.students_dir / "Ben Ray 2023.jpg").write_bytes(ben_bytes)

    run = school.restore("--json")

    assert school.photo_of(ann["student_id"]) != ben_bytes, f"Ann was given Ben's photo (exit {run.code})"
    assert run.code == 1, run.text
    ann_lines = " ".join(p["detail"] for p in run.json["problems"] if p["student_id"] == ann["student_id"])
    assert "not copied" in ann_lines, run.text


def test_with_everything_compared_the_proven_copy_still_goes_ahead(school):
    """The control: Ann's own earlier photo, nowhere else, is still copied (fail closed only over what is unread)."""
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    mine = jpeg_bytes("Ann last year")
    (school.folder("old-ann") / "attendance").mkdir(parents=True)
    (school.folder("old-ann") / "profile.jpg").write_bytes(mine)
    (school.students_dir / "Thumbs.db").write_bytes(b"litter")  # a file manager's litter is not unread evidence
    school.seed([{**ann, "photo": CANON.format("old-ann")}, ben])
    school.write_backup([{**ann, "student_id": "old-ann", "photo": CANON.format("old-ann")}, ben],
                        name="seed_backup_20251001_0000.json")
    school.write_backup([ann, ben])

    run = school.restore("--json")

    assert school.photo_of(ann["student_id"]) == mine, run.text
    assert run.code == 0, run.text


def test_a_photo_source_gets_the_same_answer_over_a_folder_it_could_not_compare(school, tmp_path):
    """A photo source's file for Ann holds Ben's old bytes, whose only copy in the store sits behind a symlinked
    entry of students/: used for no one, exit 1 (the same content check as the restore's evidence)."""
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    old_ben = jpeg_bytes("Ben as he looked last year")
    archive = tmp_path / "archive" / "ben-2023"
    archive.mkdir(parents=True)
    (archive / "profile.jpg").write_bytes(old_ben)
    (school.students_dir / "ben-2023").symlink_to(archive)
    source = tmp_path / "source"
    (source / ann["student_id"]).mkdir(parents=True)
    (source / ann["student_id"] / "profile.jpg").write_bytes(old_ben)
    school.seed([ann, ben])
    school.write_backup([ann, ben])

    run = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(ann["student_id"]) != old_ben, run.text
    assert run.code == 1, run.text
    assert "could not be compared" in run.text


# ---------------------------------------------------------------- 4. links into the tool's own folders
@pytest.mark.parametrize("path", [".student-photos/quarantine/r1/students/b/profile.jpg",
                                  ".migrations/x/profile.jpg", "students/.b.removing/profile.jpg",
                                  "students/a/.profile.jpg.12-1.partial", ".Student-Photos/quarantine/profile.jpg"])
def test_a_link_with_a_dot_component_is_never_followed(path):
    link, why = read_link("/api/photos/" + path)
    assert link is None and why and "not followed" in why


def test_a_backup_link_into_quarantine_is_never_followed_either(school):
    """The same rule where a backup record (not the database) names the quarantined photo, journal gone."""
    ann = kid(school, "Ann Lee", photo=False, date_of_birth="2015-01-01")
    ben = kid(school, "Ben Ray", date_of_birth="2016-02-02")
    moved = school.photos / ".student-photos" / "quarantine" / "r1" / "students" / ann["student_id"] / "profile.jpg"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(jpeg_bytes("maybe Ben"))
    link = "/api/photos/" + str(moved.relative_to(school.photos))
    school.seed([ann, ben])
    school.write_backup([{**ann, "photo": link}, ben])

    run = school.restore("--json")

    assert school.photo_of(ann["student_id"]) is None, run.text
    assert run.code == 1


# ---------------------------------------------------------------- 5. deep: loose files in students/
@pytest.mark.parametrize("name", ["Ben Ray.jpg", "ben (old).JPG"])
def test_deep_never_passes_a_loose_file_it_does_not_compare_cold_or_warm(school, name):
    """A loose file whose name is no safe id is listed by the deep check's own listing, and by the listing child
    of a rerun (warm hash cache): never all done over it."""
    ann = kid(school, "Ann Lee")
    ben = kid(school, "Ben Ray")
    (school.students_dir / name).write_bytes(school.photo_of(ann["student_id"]))
    school.seed([ann, ben])
    school.write_backup([ann, ben])
    for _ in range(2):
        deep = school.restore("--verify-only", "--deep", "--json")
        assert deep.code == 1, deep.text
        assert any(name in json_path for f in deep.json["deep"] for json_path in f["files"]), deep.text


def test_deep_ignores_a_file_managers_litter_in_students(school):
    ann = kid(school, "Ann Lee")
    (school.students_dir / "Thumbs.db").write_bytes(b"litter")
    (school.students_dir / "desktop.ini").write_bytes(b"[.ShellClassInfo]")
    school.seed([ann])
    school.write_backup([ann])
    for _ in range(2):
        deep = school.restore("--verify-only", "--deep", "--json")
        assert deep.code == 0, deep.text


# ---------------------------------------------------------------- 6. ids that are one folder on some shares
@pytest.mark.parametrize("ids", [("ABC123", "Abc123", "abc123"), ("ABC1", "abc1."), ("abc1..", "abc1")])
def test_ids_that_are_one_folder_on_some_shares_get_nothing_and_name_each_other(school, ids):
    students = [kid(school, f"Pupil {i}", sid=sid, photo=i > 0, date_of_birth=f"2015-01-0{i + 1}")
                for i, sid in enumerate(ids)]
    school.seed([{**st, "photo": None} for st in students])
    school.write_backup(students)

    for args in (("--verify-only", "--json"), ("--json",)):
        result = school.restore(*args)
        assert result.code == 1, result.text
        for sid in ids:
            details = [p["detail"] for p in result.json["problems"] if p["student_id"] == sid]
            assert any("one folder" in d for d in details), (sid, result.text)
    assert all(d.get("photo") is None for d in school.db_docs().values()), "a link was written for one of them"
    scoped = school.restore("--verify-only", "--student", ids[0], "--json")
    assert scoped.code == 1 and ids[-1] in scoped.text


def test_ids_that_differ_otherwise_are_not_held(school):
    students = [kid(school, f"Pupil {i}", sid=sid) for i, sid in enumerate(("abc1", "abc1-", "abc1_", "ABC2"))]
    school.seed(students)
    school.write_backup(students)
    assert school.restore("--verify-only", "--json").code == 0


# ---------------------------------------------------------------- 7. an empty volume in place of the share
@pytest.mark.parametrize("litter", [("lost+found", "System Volume Information"), ("$RECYCLE.BIN",),
                                    ("Thumbs.db", "@eaDir")])
def test_a_fresh_volume_with_only_its_own_litter_is_refused(school, litter):
    students = [kid(school, f"Pupil {i}") for i in range(2)]
    school.seed(students)
    school.write_backup(students)
    shutil.rmtree(school.students_dir)
    school.students_dir.mkdir()
    for name in litter:
        if "." in name and name != "System Volume Information":
            (school.students_dir / name).write_bytes(b"x")
        else:
            (school.students_dir / name).mkdir()
    before = sorted(os.listdir(school.students_dir))

    result = school.restore("--json")

    assert result.code == 2, result.text
    assert sorted(os.listdir(school.students_dir)) == before


def test_a_volume_with_lost_found_and_a_student_folder_is_not_refused(school):
    ann = kid(school, "Ann Lee")
    ben = kid(school, "Ben Ray", photo=False)
    shutil.rmtree(school.folder(ben["student_id"]))
    (school.students_dir / "lost+found").mkdir()
    school.seed([ann, ben])
    school.write_backup([ann, ben])
    result = school.restore("--json")
    assert result.code == 1 and (school.folder(ben["student_id"]) / "attendance").is_dir(), result.text


# ---------------------------------------------------------------- 8. a scoped verdict says it is scoped
def test_a_scoped_exit_0_says_what_it_covered(school):
    ann = kid(school, "Ann Lee")
    ben = kid(school, "Ben Ray")
    school.seed([ann, ben])
    school.write_backup([ann, ben])

    scoped = school.restore("--verify-only", "--student", ann["student_id"])
    whole = school.restore("--verify-only")

    assert scoped.code == 0 and "done for the 1 student(s) in scope (--student)" in scoped.out, scoped.out
    assert "all done, nothing needs attention" not in scoped.out
    assert whole.code == 0 and "all done, nothing needs attention" in whole.out


def test_migrate_takes_a_volume_s_litter_for_no_orphan_and_refuses_a_volume_of_only_litter(school):
    ann = kid(school, "Ann Lee")
    school.seed([ann])
    school.write_backup([ann])
    (school.students_dir / "lost+found").mkdir()
    (school.students_dir / "Thumbs.db").write_bytes(b"x")

    listed = school.migrate("--list", "--json")
    cleaned = school.migrate("--clean", "--confirm", "--json")
    shutil.rmtree(school.folder(ann["student_id"]))
    only_litter = school.migrate("--list", "--json")

    assert listed.code == 0 and listed.json["orphans"] == [], listed.text
    assert cleaned.code == 0 and (school.students_dir / "lost+found").is_dir(), cleaned.text
    assert only_litter.code == 2 and "is the share mounted" in only_litter.text, only_litter.text
