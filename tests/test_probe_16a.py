"""Round 16a probes (helper h16a): today's rules, attacked from nearby inputs."""
from __future__ import annotations

import shutil

import pytest
from test_migrate import Reseed

from student_photos.sample import jpeg_bytes


def _sam(school, tmp_path, before: bytes | None = None):
    from test_person_decisions import save_as_spreadsheet
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.new["sam"]["photo"] = f"/api/photos/students/{r.old_id('sam')}/profile.jpg"
    r.commit()
    if before is not None:
        (school.photos / ".migrations").mkdir(parents=True, exist_ok=True)
        (school.photos / ".migrations" / "audit.jsonl").write_bytes(before)
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("sam"), "student_id": "none"}])
    res = school.migrate("--migrate", "--pairs", str(reviewed))
    return r, res


def _would(school):
    res = school.migrate("--list")
    if res.code == 2:
        return 2
    return "given" if "Would migrate to" in res.out else "kept"


def test_an_audit_log_that_is_a_folder_stops_the_run_and_a_symlink_or_bad_utf8_keeps_the_veto(school, tmp_path):
    import os
    r, first = _sam(school, tmp_path)
    audit = school.photos / ".migrations" / "audit.jsonl"
    kept = tmp_path / "kept.jsonl"
    os.replace(audit, kept)
    out = {}
    # a directory
    audit.mkdir()
    out["dir"] = _would(school)
    audit.rmdir()
    # a symlink to the real file
    audit.symlink_to(kept)
    out["symlink"] = _would(school)
    audit.unlink()
    # invalid UTF-8 in a line before the veto
    audit.write_bytes(b'{"time": "x", "old_id": "\xff\xfe", "files": []}\n' + kept.read_bytes())
    out["utf8"] = _would(school)
    print(out)
    assert school.photo_of(r.new_id("sam")) is None
    assert out["dir"] == 2 and out["utf8"] == "kept" and out["symlink"] == "kept", out



@pytest.mark.parametrize("how", ["absolute", "dotdot", "zip_backslash"])
def test_a_source_member_naming_a_face_outside_the_source_blocks_that_face(school, tmp_path, how):
    """Ann's slot in a photo source is a symlink to a file outside the source (or a zip member with a backslash
    name an extractor would put there) holding Bob's face; Bob's own slot holds the same face. Bob is never filled
    from it, and the run is not all done."""
    import os
    import zipfile
    ann = {**school.new_student("Ann Able", date_of_birth="2010-01-01"), "photo": None}
    bob = {**school.new_student("Ben Best", date_of_birth="2011-01-01"), "photo": None}
    school.seed([ann, bob])
    school.write_backup([ann, bob])
    face = jpeg_bytes("bob's face")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(face)
    src = tmp_path / "src"
    for s in (ann, bob):
        (src / "students" / s["student_id"]).mkdir(parents=True)
    (src / "students" / bob["student_id"] / "profile.jpg").write_bytes(face)
    if how == "absolute":
        os.symlink(outside / "x.jpg", src / "students" / ann["student_id"] / "profile.jpg")
    elif how == "dotdot":
        os.symlink("../../../outside/x.jpg", src / "students" / ann["student_id"] / "profile.jpg")
    else:
        z = tmp_path / "src.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr(f"students/{bob['student_id']}/profile.jpg", face)
            zf.writestr(f"students\\{ann['student_id']}\\profile.jpg", face)
        src = z
    result = school.restore("--photo-source", str(src), "--json")
    assert school.photo_of(bob["student_id"]) is None and school.photo_of(ann["student_id"]) is None
    assert result.code == 1


@pytest.mark.parametrize("leaver_id", ["ab-1", "Ab-1", "ab-1."])
def test_a_leaver_whose_id_differs_only_by_case_keeps_the_link_from_the_newcomer(school, leaver_id):
    emma = {**school.new_student("Emma Stone", date_of_birth="2015-01-01"), "student_id": leaver_id,
            "photo": "/api/photos/students/AB-1/profile.jpg"}
    newcomer = {**school.new_student("Nia Cole", date_of_birth="2016-05-05"), "student_id": "AB-1", "photo": None}
    school.write_backup([emma, {**newcomer, "student_id": "zz-9"}])
    school.put_photo("AB-1", jpeg_bytes("emma's face"))
    school.seed([newcomer])
    result = school.restore("--json")
    assert school.db_docs()["AB-1"]["photo"] is None, result.text
    assert result.code == 1


def test_a_placed_photo_moved_from_attendance_to_profile_after_a_second_reseed(school):
    """A migration placed Ann's attendance shot (and no profile: she had none) in S1; a second reseed gives S1 to
    Bob; the office promotes the attendance shot to profile.jpg."""
    r = Reseed(school)
    r.child("ann", "Ann Lee", photo=False, date_of_birth="2014-01-01")
    school.folder(r.old_id("ann")).joinpath("attendance").mkdir(parents=True)
    shot = jpeg_bytes("ann at the gate")
    school.folder(r.old_id("ann")).joinpath("attendance", "2025-11-10_AM.jpg").write_bytes(shot)
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02", attendance=0)
    r.new["ann"]["student_id"], r.new["bob"]["student_id"] = "S1", "S2"
    r.commit()
    assert school.migrate("--migrate").code == 0
    assert (school.folder("S1") / "attendance" / "2025-11-10_AM.jpg").read_bytes() == shot
    school.write_backup(list(r.new.values()), name="seed_backup_20251201_0900.json")
    second = {"ann": {**r.new["ann"], "student_id": "S2"}, "bob": {**r.new["bob"], "student_id": "S1"}}
    school.collection.delete_many({})
    school.seed(list(second.values()))
    school.write_backup(list(second.values()), name="seed_backup_20251202_0900.json")
    # S1 (now Bob) gets Ann's attendance shot as profile; Bob's own photo in S2 (now Ann) moved aside by hand
    (school.folder("S1") / "profile.jpg").unlink(missing_ok=True)
    shutil.copy(school.folder("S1") / "attendance" / "2025-11-10_AM.jpg", school.folder("S1") / "profile.jpg")
    result = school.restore("--json")
    assert school.db_docs()["S1"]["photo"] is None, result.text
    assert result.code == 1




def test_a_district_after_a_migration_and_a_second_reseed_restores_in_bounded_time(school):
    """3,000 children migrated (3,000 profile placements in the journal), then a second reseed that keeps each id
    except for two swapped: the in-place check flags exactly those two, and the restore stays fast."""
    import time
    r = Reseed(school)
    n = 3000
    for i in range(n):
        r.child(f"k{i}", f"Pupil Number{i}", date_of_birth=f"20{10 + i % 8}-0{1 + i % 9}-{1 + i % 28:02d}",
                attendance=0)
        r.new[f"k{i}"]["student_id"] = f"S{i:05d}"
    r.commit()
    assert school.migrate("--migrate").code == 0
    second = {k: dict(v) for k, v in r.new.items()}
    second["k0"]["student_id"], second["k1"]["student_id"] = "S00001", "S00000"
    school.collection.delete_many({})
    school.seed(list(second.values()))
    school.write_backup(list(second.values()), name="seed_backup_20251202_0900.json")
    start = time.monotonic()
    result = school.restore("--json")
    took = time.monotonic() - start
    flagged = {p["student_id"] for p in result.json["problems"] if p["problem"] == "wrong child"}
    assert flagged == {"S00000", "S00001"}, flagged
    assert took < 60, took
