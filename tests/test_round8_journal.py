"""Round 8 (2026-12-01): the journal's placements are read into SQLite, not held in memory (the findings are the same
however long the journal), and a person's pairing (a reviewed file) proves a placed photo for the student it named
and no other child."""

from __future__ import annotations

import hashlib
import json
import random
import shutil

import pytest
from test_deep import order_migrated_school
from test_migrate import Reseed
from test_pairs import save_as_spreadsheet

from conftest import School
from student_photos.sample import jpeg_bytes

STRAY = "0b0b0b0b-no-backup"


def journal_files(school: School):
    return sorted((school.photos / ".student-photos" / "journal").glob("*.jsonl"))


def paired_by_a_person(school: School, tmp_path) -> Reseed:
    """Sam matched by the identity rule; a folder no backup knows, paired with the newcomer Amy by a reviewed file."""
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.newcomer("amy", "Amy Adams", date_of_birth="2016-06-06")
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("amy's own face"))
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(plan)).code == 0
    assert school.photo_of(r.new_id("amy")) == jpeg_bytes("amy's own face")
    assert school.restore().code == 0
    return r


def placed_findings(run) -> dict[str, list[str]]:
    return {f["files"][0]: f["students"] for f in run.json["deep"] if f["kind"] == "placed from another person"}


def test_a_paired_photo_is_proof_for_the_student_it_was_paired_with_only(school, tmp_path):
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    lines = [json.loads(line) for path in journal_files(school) for line in path.read_text().splitlines()]
    origins = [e["origin"] for e in lines if e.get("type") == "file" and e["path"] == f"students/{amy}/profile.jpg"]
    assert origins and origins[0]["paired_by"] == "pairs file" and origins[0]["paired_id"] == amy, origins
    assert origins[0]["paired_name_key"], "the paired student's identity is recorded, not only the id"

    clean = school.restore("--verify-only", "--deep", "--json")
    assert clean.code == 0 and clean.json["deep"] == [], clean.text  # Amy holding it is no finding

    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "attendance" / "2025-11-20_AM.jpg")
    run = school.restore("--verify-only", "--deep", "--json")

    assert run.code == 1, run.text
    assert placed_findings(run) == {f"students/{sam}/attendance/2025-11-20_AM.jpg": [sam]}, run.json["deep"]


def test_a_paired_photo_moved_to_another_child_is_found(school, tmp_path):
    """Amy's photo moved (not copied) into Sam's folder: no two folders share it, only the pairing can tell."""
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "attendance" / "2025-11-20_AM.jpg")
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))

    run = school.restore("--verify-only", "--deep", "--json")

    assert run.code == 1, run.text
    assert placed_findings(run) == {f"students/{sam}/attendance/2025-11-20_AM.jpg": [sam]}, run.json["deep"]
    assert {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"} == {sam}, \
        run.json["problems"]


@pytest.mark.parametrize("holder", ["amy", "sam"])
def test_a_pairing_journalled_before_the_student_was_recorded_holds_only_where_it_was_placed(school, tmp_path,
                                                                                           holder):
    """A line an earlier version wrote (no paired_id): proof for the folder it placed the file in, and no other."""
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    for path in journal_files(school):
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        for entry in entries:
            for key in ("paired_id", "paired_name", "paired_name_key", "paired_codes"):
                (entry.get("origin") or {}).pop(key, None)
        path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    if holder == "sam":
        shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "attendance" / "2025-11-20_AM.jpg")
        (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))

    run = school.restore("--verify-only", "--deep", "--json")

    if holder == "amy":
        assert run.code == 0 and run.json["deep"] == [], run.text
    else:
        assert run.code == 1 and placed_findings(run) == {f"students/{sam}/attendance/2025-11-20_AM.jpg": [sam]}, \
            run.json["deep"]


def test_a_long_journal_gives_the_same_findings_as_a_short_one(school):
    """Thousands of placement lines (sizes of real photos among them) change nothing: the placements are read
    into SQLite in chunks, in journal order, and traced exactly as before."""
    order_migrated_school(school)
    before = school.restore("--verify-only", "--deep", "--json")
    assert before.code == 1 and before.json["deep"], before.text
    sizes = sorted({p.stat().st_size for p in school.photos.glob("students/*/**/*.jpg")})
    rng = random.Random(8)
    filler = []
    for i in range(6000):
        size = sizes[i % len(sizes)] if i % 2 else rng.randrange(1, 10 ** 7)
        filler.append({"type": "file", "path": f"students/filler-{i % 700}/attendance/{i}.jpg", "size": size,
                       "sha256": hashlib.sha256(b"%d" % i).hexdigest(),
                       "origin": {"old_id": f"filler-{i}", "old_name": f"Filler {i}", "name_key": "filler",
                                  "codes": "", "paired_by": "identity"}})
    (school.photos / ".student-photos" / "journal" / "00000000-000000-000-filler.jsonl").write_text(
        json.dumps({"type": "run", "run_id": "00000000-000000-000-filler"}) + "\n"
        + "".join(json.dumps(e) + "\n" for e in filler))

    after = school.restore("--verify-only", "--deep", "--json")
    restore = school.restore("--verify-only", "--json")

    assert after.code == before.code and after.json["deep"] == before.json["deep"], after.text
    assert restore.code in (0, 1) and "could not be checked" not in restore.text



def test_the_restore_never_gives_a_paired_photo_to_another_child(school, tmp_path):
    """Sam's profile.jpg is gone and his database link names a copy of Amy's paired photo (Amy has a new one): the
    restore refuses to copy it, by the same rule as --deep."""
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "attendance" / "2025-11-20_AM.jpg")
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))
    (school.folder(sam) / "profile.jpg").unlink()
    shutil.rmtree(school.folder(STRAY))  # cleaned since: only the journal knows where those bytes came from
    school.collection.update_one({"student_id": sam}, {"$set": {
        "photo": f"/api/photos/students/{sam}/attendance/2025-11-20_AM.jpg"}})

    run = school.restore("--json")

    assert school.photo_of(sam) != jpeg_bytes("amy's own face"), run.text
    assert run.code == 1, run.text
