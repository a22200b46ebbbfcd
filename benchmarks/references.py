"""Reference programs the benchmark times beside the real scripts, on the same data and server.

floor-restore: the least work a correct restore can do: parse the backup once, read the collection once,
    stat every profile photo, and issue exactly the bulk writes that are needed, each applying only while the
    record still holds the photo value, the name and the identifying fields that were read (the wrong-child
    guard every link write of ours carries: a record replaced by another child meanwhile is left alone).
floor-restore-unguarded: the same writes conditional on the photo value only (the floor before that guard).
floor-verify: the same without writes.
loop: what the design document's scripts would do: one find_one and one update_one per student.
floor-copy: the least a Python program does that copies the orphans' files and keeps the migration's
    promises (each copy read back and compared, its SHA-256 taken, under a temporary name until one flush
    has made a batch durable, then named without replacing anything, then flushed again), with the same
    number of threads and batch size; no database, no matching, no journal, no checks.

Usage: python references.py KIND MONGO_URL DB_NAME BACKUP_FILE PHOTO_DIR ; prints JSON.
       python references.py floor-copy SOURCE_FOLDER TARGET_FOLDER ; prints JSON.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from pymongo import AsyncMongoClient, MongoClient, UpdateOne, monitoring


class Counter(monitoring.CommandListener):
    count = 0

    def started(self, event):
        Counter.count += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


# The name and the identifying fields the tools read by default (MATCH_FIELDS): their write guard.
GUARDED = ("name", "date_of_birth", "student_number", "admission_number", "email")


def _as_read(doc: dict, field: str) -> dict:
    return {"$eq": doc[field]} if field in doc else {"$exists": False}


def floor(url: str, db_name: str, backup_file: str, photo_dir: str, write: bool, guarded: bool = True) -> dict:
    with open(backup_file, "rb") as handle:
        backup = json.load(handle)
    ids = {s["student_id"] for s in backup["students"]}
    client = MongoClient(url, event_listeners=[Counter()])
    students = client[db_name]["students"]
    changes = []
    fields = GUARDED if guarded else ()
    for doc in students.find({}, {"student_id": 1, "photo": 1, **dict.fromkeys(fields, 1)}, batch_size=100_000):
        sid = doc["student_id"]
        ids.discard(sid)
        want = f"/api/photos/students/{sid}/profile.jpg"
        try:
            os.stat(f"{photo_dir}/students/{sid}/profile.jpg")
        except FileNotFoundError:
            continue
        if doc.get("photo") != want:
            condition = ({"_id": doc["_id"], "student_id": sid, **{f: _as_read(doc, f) for f in ("photo", *fields)}}
                         if guarded else {"_id": doc["_id"], "photo": doc.get("photo")})
            changes.append(UpdateOne(condition, {"$set": {"photo": want}}))
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


def floor_copy(source: str, target: str, threads: int = 4, batch: int = 32) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    os.mkdir(target)

    def flush() -> None:
        fd = os.open(target, os.O_RDONLY)
        try:
            libc.syncfs(fd)
        finally:
            os.close(fd)

    def copy_batch(names: list[str]) -> int:
        staged = []
        for name in names:
            for folder, _dirs, files in os.walk(os.path.join(source, name)):
                out_folder = os.path.join(target, os.path.relpath(folder, source))
                os.mkdir(out_folder)
                for file in files:
                    with open(os.path.join(folder, file), "rb") as handle:
                        data = handle.read()
                    digest = hashlib.sha256(data).hexdigest()
                    tmp = os.path.join(out_folder, f".{file}.partial")
                    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                    os.write(fd, data)
                    if os.pread(fd, len(data) + 1, 0) != data:
                        raise SystemExit("a copy did not verify")
                    os.close(fd)
                    staged.append((tmp, os.path.join(out_folder, file), digest))
        flush()
        for tmp, dest, _digest in staged:
            if libc.renameat2(-100, os.fsencode(tmp), -100, os.fsencode(dest), 1) != 0:
                raise SystemExit(f"could not name {dest}")
        flush()
        return len(staged)

    names = sorted(os.listdir(source))
    with ThreadPoolExecutor(threads) as pool:
        copied = sum(pool.map(copy_batch, [names[i:i + batch] for i in range(0, len(names), batch)]))
    return {"copied": copied}


def main(argv: list[str]) -> int:
    if argv[0] == "floor-copy":
        print(json.dumps(floor_copy(argv[1], argv[2])))
        return 0
    kind, url, db_name, backup_file, photo_dir = argv
    if kind == "loop":
        result = asyncio.run(loop(url, db_name, backup_file, photo_dir))
    else:
        result = floor(url, db_name, backup_file, photo_dir, write=kind.startswith("floor-restore"),
                       guarded=kind != "floor-restore-unguarded")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
