"""Reference programs the benchmark times beside the real scripts, on the same data and server.

floor-restore: the least work a restore can do: parse the backup once, read the collection once,
    stat every profile photo, and issue exactly the bulk writes that are needed.
floor-verify: the same without writes.
loop: what the design document's scripts would do: one find_one and one update_one per student.

Usage: python references.py KIND MONGO_URL DB_NAME BACKUP_FILE PHOTO_DIR ; prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from pymongo import AsyncMongoClient, MongoClient, UpdateOne, monitoring


class Counter(monitoring.CommandListener):
    count = 0

    def started(self, event):
        Counter.count += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def floor(url: str, db_name: str, backup_file: str, photo_dir: str, write: bool) -> dict:
    with open(backup_file, "rb") as handle:
        backup = json.load(handle)
    ids = {s["student_id"] for s in backup["students"]}
    client = MongoClient(url, event_listeners=[Counter()])
    students = client[db_name]["students"]
    changes = []
    for doc in students.find({}, {"student_id": 1, "photo": 1}, batch_size=100_000):
        sid = doc["student_id"]
        ids.discard(sid)
        want = f"/api/photos/students/{sid}/profile.jpg"
        try:
            os.stat(f"{photo_dir}/students/{sid}/profile.jpg")
        except FileNotFoundError:
            continue
        if doc.get("photo") != want:
            changes.append(UpdateOne({"_id": doc["_id"], "photo": doc.get("photo")}, {"$set": {"photo": want}}))
    for sid in ids:  # backup-only students
        os.path.exists(f"{photo_dir}/students/{sid}/profile.jpg")
    updated = 0
    if write:
        for start in range(0, len(changes), 1000):
            updated += students.bulk_write(changes[start:start + 1000], ordered=False).modified_count
    client.close()
    return {"updated": updated, "round_trips": Counter.count}


async def loop(url: str, db_name: str, backup_file: str, photo_dir: str) -> dict:
    with open(backup_file, "rb") as handle:
        backup = json.load(handle)
    client = AsyncMongoClient(url, event_listeners=[Counter()])
    students = client[db_name]["students"]
    updated = 0
    for record in backup["students"]:
        sid = record["student_id"]
        os.makedirs(f"{photo_dir}/students/{sid}/attendance", exist_ok=True)
        doc = await students.find_one({"student_id": sid})
        if doc is None or not os.path.exists(f"{photo_dir}/students/{sid}/profile.jpg"):
            continue
        want = f"/api/photos/students/{sid}/profile.jpg"
        if doc.get("photo") != want:
            await students.update_one({"student_id": sid}, {"$set": {"photo": want}})
            updated += 1
    await client.close()
    return {"updated": updated, "round_trips": Counter.count}


def main(argv: list[str]) -> int:
    kind, url, db_name, backup_file, photo_dir = argv
    if kind == "loop":
        result = asyncio.run(loop(url, db_name, backup_file, photo_dir))
    else:
        result = floor(url, db_name, backup_file, photo_dir, write=kind == "floor-restore")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
