"""A bundled sample school (20 students, some needing repair) for the demo, the tests and benchmarks.

``python -m student_photos.sample DIR`` writes DIR/photos and DIR/backups and seeds the embedded
database (never a real one) with the matching student records.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import sys
import uuid
from pathlib import Path

# An 8x8 baseline JPEG (made with Pillow, decodable by any viewer); labelled copies differ by a comment
# segment, so each photo is distinct.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffdb0043010909"
    "090c0b0c180d0d1832211c21323232323232323232323232323232323232323232323232323232323232323232323232"
    "3232323232323232323232323232ffc00011080008000803012200021101031101ffc4001f0000010501010101010100"
    "000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411051221"
    "31410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a"
    "434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a9293949596979899"
    "9aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1"
    "f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a0bffc400b51100"
    "020102040403040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f015"
    "6272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a63646566676869"
    "6a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4"
    "c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00b1"
    "45145761c87fffd9")


def jpeg_bytes(label: str, size: int = 0) -> bytes:
    """A real JPEG whose comment segments carry ``label`` (and padding up to about ``size`` bytes)."""
    comment = label.encode()
    segments = [comment]
    remaining = max(0, size - len(TINY_JPEG) - len(comment) - 4)
    while remaining > 0:
        piece = min(remaining, 65000)
        segments.append(b"\x00" * piece)
        remaining -= piece + 4
    body = b"".join(b"\xff\xfe" + struct.pack(">H", len(s) + 2) + s for s in segments)
    return TINY_JPEG[:2] + body + TINY_JPEG[2:]


NAMES = ["Emma Johnson", "Liam Smith", "Olivia Brown", "Noah Williams", "Ava Jones", "Elijah Garcia",
         "Sophia Miller", "James Davis", "Isabella Rodriguez", "Lucas Martinez", "Mia Hernandez",
         "Mason Lopez", "Amelia Gonzalez", "Ethan Wilson", "Harper Anderson", "Logan Thomas",
         "Evelyn Taylor", "Aiden Moore", "Abigail Jackson", "Carter Martin", "Grace Lee"]


def sample_id(name: str, seed: str = "sample") -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{name}"))


def build_sample_school(root: Path) -> list[dict]:
    """Write photos/ and backups/ under ``root``; return the database documents to seed."""
    photos, backups = root / "photos", root / "backups"
    students_dir = photos / "students"
    students_dir.mkdir(parents=True, exist_ok=True)
    backups.mkdir(parents=True, exist_ok=True)
    (photos / "uploads").mkdir(exist_ok=True)
    backup_students: list[dict] = []
    db_docs: list[dict] = []
    for i, name in enumerate(NAMES):
        sid = sample_id(name)
        record = {"student_id": sid, "name": name, "date_of_birth": f"2015-{1 + i % 12:02d}-{1 + i:02d}",
                  "student_number": f"S{1000 + i}", "photo": f"/api/photos/students/{sid}/profile.jpg"}
        folder = students_dir / sid
        db_doc: dict[str, object] = dict(record)
        if i == 14:  # folder vanished; the database still links an upload that exists: relinked
            upload = photos / "uploads" / f"{sid}.jpg"
            upload.write_bytes(jpeg_bytes(f"profile of {name}"))
            db_doc["photo"] = f"/api/photos/uploads/{sid}.jpg"
        elif i in (15, 19):  # folder vanished (or never made) and no photo anywhere: reported missing
            pass
        elif i == 16:  # profile.jpg was overwritten by an HTML error page: reported corrupt
            (folder / "attendance").mkdir(parents=True, exist_ok=True)
            (folder / "profile.jpg").write_bytes(b"<html>502 Bad Gateway</html>")
        else:
            (folder / "attendance").mkdir(parents=True, exist_ok=True)
            (folder / "profile.jpg").write_bytes(jpeg_bytes(f"profile of {name}"))
            if i % 3 == 0:
                (folder / "attendance" / "2025-11-14_AM.jpg").write_bytes(jpeg_bytes(f"{name} AM"))
        if i == 17:  # attendance/ vanished: recreated
            shutil.rmtree(folder / "attendance", ignore_errors=True)
        if i in (3, 8):  # database link drifted: fixed
            db_doc["photo"] = f"photos/students/{sid}/profile.jpg" if i == 3 else None
        if i == 19:  # added after the last backup: gets its folder from the database
            db_docs.append(db_doc)
            continue
        backup_students.append(record)
        if i != 20:
            db_docs.append(db_doc)
    left = {"student_id": sample_id("Former Pupil"), "name": "Former Pupil", "photo": None}
    backup_students.append(left)  # left the school: in the backup only
    document = {"timestamp": "2025-11-15T05:37:00", "students": backup_students}
    (backups / "seed_backup_20251115_0537.json").write_text(json.dumps(document, indent=2))
    return db_docs


async def _seed_embedded(docs: list[dict]) -> None:
    from .config import load_settings
    from .db import Database

    settings = load_settings()
    if not settings.embedded:  # the demo never writes to a real database
        raise SystemExit("refusing to seed: MONGO_URL is set; the sample only seeds the embedded database")
    async with Database(settings) as database:
        await database.replace_all_students(docs)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m student_photos.sample DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    shutil.rmtree(root, ignore_errors=True)
    docs = build_sample_school(root)
    asyncio.run(_seed_embedded(docs))
    print(f"🏫 Sample school written to {root}/ and {len(docs)} students seeded in the embedded database")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
