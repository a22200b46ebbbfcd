"""Building a school from old records and current students, as the adversarial tests write them."""

from __future__ import annotations

import json
import uuid

from conftest import School
from student_photos.sample import jpeg_bytes

NEWEST = "seed_backup_20251201_0000.json"
MIDDLE = "seed_backup_20250601_0000.json"
OLDEST = "seed_backup_20240101_0000.json"
CANON = "/api/photos/students/{}/profile.jpg"


def old(name: object, **fields: object) -> dict:
    sid = fields.pop("student_id", None) or str(uuid.uuid4())
    return {"student_id": sid, "name": name, "photo": CANON.format(sid), **fields}


def orphan(school: School, rec: dict) -> bytes:
    return school.put_photo(rec["student_id"], jpeg_bytes(f"the real face of {rec['student_id']}"), 1)


def backup(school: School, name: str, records: list[dict]) -> None:
    (school.backups / name).write_text(json.dumps({"timestamp": "x", "students": records, "classes": []}))


def current(school: School, *docs: dict) -> list[str]:
    school.seed(list(docs))
    return [d["student_id"] for d in docs]


def decisions(school: School) -> dict[str, dict]:
    result = school.migrate("--list", "--json")
    return {o["name"]: o for o in result.json["orphans"]}


def migrated_to(school: School, old_rec: dict, new_ids: list[str]) -> list[str]:
    """Which current students' folders hold this old folder's profile photo after a --migrate."""
    want = school.photo_of(old_rec["student_id"])
    return [sid for sid in new_ids if school.photo_of(sid) == want]


def summary(run) -> list[tuple[str, str]]:
    return [(o["decision"], o["reason"]) for o in run.json["orphans"]]


def kid(school: School, name: str, sid: str | None = None, photo: bool = True, **fields) -> dict:
    """A current student in the database, with a photo of their own (or an empty folder)."""
    student = school.new_student(name, **({"student_id": sid} if sid else {}), **fields)
    if photo:
        school.put_photo(student["student_id"], jpeg_bytes(f"face of {name}"))
    else:
        (school.folder(student["student_id"]) / "attendance").mkdir(parents=True, exist_ok=True)
    return student


def blind_rival_run(school: School, tool: str, day: str, rivals_day: str):
    """Old-a (Ann Lee, born ``day``) fits Ann Lee #5 (born ``day``); old-b (Ann Smithers, born ``rivals_day``, her
    number a document no look-up finds) may be her too, renamed. Runs migrate or the restore (Ann's link naming
    old-a's photo) and returns the run: old-a's photo must not be hers, exit 1, wherever old-b may be that day."""
    school.put_photo("old-a", jpeg_bytes("old-a's photo"))
    school.put_photo("old-b", jpeg_bytes("old-b's photo"))
    backup(school, NEWEST, [
        {"student_id": "old-a", "name": "Ann Lee", "date_of_birth": day, "photo": CANON.format("old-a")},
        {"student_id": "old-b", "name": "Ann Smithers", "date_of_birth": rivals_day, "student_number": {"v": 5},
         "photo": CANON.format("old-b")}])
    link = CANON.format("old-a") if tool == "restore" else None
    school.seed([{"student_id": "new-ann", "name": "Ann Lee", "date_of_birth": day, "student_number": 5,
                  "photo": link}])
    return school.migrate("--migrate", "--json") if tool == "migrate" else \
        school.restore("--json", MIN_DATABASE_RATIO="0")


def ann_missing_her_photo(school: School) -> dict:
    """Ann Lee (in the database and the backup, her folder without a photo) beside Zed Ray (with his): the school
    the spelt-otherwise-folder tests give old folders to."""
    ann = school.new_student("Ann Lee", date_of_birth="2015-01-01")
    zed = school.new_student("Zed Ray", date_of_birth="2014-01-01")
    school.seed([ann, zed])
    school.write_backup([ann, zed])
    (school.folder(ann["student_id"]) / "attendance").mkdir(parents=True)
    school.put_photo(zed["student_id"])
    return ann
