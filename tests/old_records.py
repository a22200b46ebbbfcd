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
