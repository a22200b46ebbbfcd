"""Adversarial round 10 (2026-12-01): the journal's placements in SQLite (odd journal lines and files, temporary
files) and a reviewed pairing's recorded student (paired_id) across undo, redo and later reseeds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

from test_migrate import Reseed
from test_pairs import save_as_spreadsheet
from test_round8_journal import STRAY, journal_files, paired_by_a_person, placed_findings

from conftest import ROOT, drop_dac_capabilities
from student_photos.sample import jpeg_bytes


def journal_dir(school):
    return school.photos / ".student-photos" / "journal"


def runs(school):
    return school.restore("--history", "--json").json["runs"]


# ---- (2) a pairing's recorded student across undo / redo / reseeds ----

def test_finding_undone_pairing_then_corrected_pairing_is_a_false_alarm(school, tmp_path):
    # WRONG: STRAY paired with Amy by a reviewed file; the person sees the mistake, runs --undo of that migrate
    # (docs/safety.md: undo takes back the pairing) and pairs STRAY with Bea instead. --deep then reports Bea's
    # own, correctly paired photo as "placed from another person" (the undone run's line, paired with Amy, still
    # judges it), exit 1, and --quarantine would move Bea's right photo away. A careful user expects an undone
    # run's placement to be no evidence against the corrected pairing: exit 0.
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.newcomer("amy", "Amy Adams", date_of_birth="2016-06-06")
    r.newcomer("bea", "Bea Brown", date_of_birth="2016-07-07")
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("bea's own face"))
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(plan)).code == 0
    first = [x["run_id"] for x in runs(school) if x["tool"].startswith("migrate")][-1]
    undo = school.migrate("--undo", first)
    assert undo.code == 0, undo.text
    assert school.photo_of(r.new_id("amy")) is None
    plan2 = tmp_path / "plan2.csv"
    save_as_spreadsheet(plan2, [{"orphan": STRAY, "student_id": r.new_id("bea")}])
    redo = school.migrate("--migrate", "--pairs", str(plan2))
    assert redo.code == 0, redo.text
    assert school.photo_of(r.new_id("bea")) == jpeg_bytes("bea's own face")
    school.restore()  # (Amy has no photo now: 'missing', exit 1, as before any deep check)

    run = school.restore("--verify-only", "--deep", "--json")

    assert run.json["deep"] == [], run.json["deep"]
    assert not [p for p in run.json["problems"] if p["problem"] == "wrong child"], run.json["problems"]


def test_finding_quarantine_after_a_corrected_pairing_moves_the_right_childs_photo(school, tmp_path):
    # WRONG: as above (pairing with Amy undone, STRAY then paired with Bea by a reviewed file); the nightly
    # --deep --quarantine moves Bea's own, correctly paired profile.jpg out of her folder. docs/safety.md: undo of a
    # --pairs run "takes back the pairings", "a later reviewed file ... wins": Bea's photo is hers, keep it.
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.newcomer("amy", "Amy Adams", date_of_birth="2016-06-06")
    r.newcomer("bea", "Bea Brown", date_of_birth="2016-07-07")
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("bea's own face"))
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(plan)).code == 0
    first = [x["run_id"] for x in runs(school) if x["tool"].startswith("migrate")][-1]
    assert school.migrate("--undo", first).code == 0
    plan2 = tmp_path / "plan2.csv"
    save_as_spreadsheet(plan2, [{"orphan": STRAY, "student_id": r.new_id("bea")}])
    assert school.migrate("--migrate", "--pairs", str(plan2)).code == 0
    school.restore()

    school.restore("--deep", "--quarantine", "--json")

    assert school.photo_of(r.new_id("bea")) == jpeg_bytes("bea's own face")


def test_probe_undo_then_redo_of_the_same_pairing_is_clean(school, tmp_path):
    """PROBE: a --pairs migrate to Amy, its --undo, then the same pairing again: --deep is clean on Amy's photo."""
    r = paired_by_a_person(school, tmp_path)
    amy = r.new_id("amy")
    first = [x["run_id"] for x in runs(school) if x["tool"].startswith("migrate")][-1]
    # the restore after the migrate linked Amy's photo; undo the migrate (the restore's link stays: it is undone by
    # its own run); then pair again
    restore_run = [x["run_id"] for x in runs(school) if x["tool"].startswith("restore")][-1]
    assert school.restore("--undo", restore_run).code == 0
    assert school.migrate("--undo", first).code == 0
    assert school.photo_of(amy) is None
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": amy}])
    assert school.migrate("--migrate", "--pairs", str(plan)).code == 0
    assert school.restore().code == 0
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 0 and run.json["deep"] == [], run.text


def _second_reseed_recycling_amys_id(school, r, with_backup: bool):
    amy_old = r.new_id("amy")
    amy = school.collection.find_one({"student_id": amy_old}, {"_id": 0})
    if with_backup:
        school.write_backup([d for d in school.collection.find({}, {"_id": 0})], name="seed_backup_20251201_0500.json")
    amy_new = str(uuid.uuid4())
    school.collection.update_one({"student_id": amy_old}, {"$set": {"student_id": amy_new, "photo": None}})
    school.collection.insert_one({"student_id": amy_old, "name": "Zed Zane", "date_of_birth": "2014-04-04",
                                  "photo": f"/api/photos/students/{amy_old}/profile.jpg"})
    return amy_old, amy_new, amy


def test_probe_paired_id_recycled_to_another_child_without_a_backup_is_found(school, tmp_path):
    """PROBE: Amy's id (paired by a reviewed file) is given to Zed in a second reseed no backup records: only the
    journal's paired_id/paired_name_key can tell; --deep must not give an all-clear (exit 1, wrong child on Zed)."""
    r = paired_by_a_person(school, tmp_path)
    zed_id, _, _ = _second_reseed_recycling_amys_id(school, r, with_backup=False)
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1, run.text
    assert zed_id in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json


def test_probe_paired_id_recycled_restore_never_copies_amys_photo_to_zed(school, tmp_path):
    """PROBE: after the recycling, Zed's folder loses profile.jpg but an attendance copy of Amy's paired photo
    is named by his link: the restore must not make it his profile."""
    r = paired_by_a_person(school, tmp_path)
    zed_id, _, _ = _second_reseed_recycling_amys_id(school, r, with_backup=False)
    folder = school.folder(zed_id)
    shutil.copy(folder / "profile.jpg", folder / "attendance" / "2025-12-01_AM.jpg")
    (folder / "profile.jpg").unlink()
    school.collection.update_one({"student_id": zed_id}, {"$set": {
        "photo": f"/api/photos/students/{zed_id}/attendance/2025-12-01_AM.jpg"}})
    run = school.restore("--json")
    assert school.photo_of(zed_id) != jpeg_bytes("amy's own face"), run.text
    assert run.code == 1, run.text


def test_probe_amy_moved_to_a_new_id_keeps_no_false_clear_and_no_copy_to_zed(school, tmp_path):
    """PROBE: with a backup of the second reseed's eve, Zed's folder (Amy's old id) is flagged and Amy's new
    folder is not filled with Zed's folder's photo by anything but proof."""
    r = paired_by_a_person(school, tmp_path)
    zed_id, amy_new, _ = _second_reseed_recycling_amys_id(school, r, with_backup=True)
    school.restore("--json")
    assert school.photo_of(zed_id) == jpeg_bytes("amy's own face")  # nothing deleted
    deep = school.restore("--verify-only", "--deep", "--json")
    assert deep.code == 1, deep.text
    assert zed_id in {p["student_id"] for p in deep.json["problems"] if p["problem"] == "wrong child"}, deep.json


def test_probe_paired_bytes_put_by_hand_in_another_childs_folder_are_found_after_quarantine_undo(school, tmp_path):
    """PROBE: Amy's paired photo copied by hand into Sam's attendance; --deep --quarantine moves it; --undo of the
    quarantine puts it back; --deep finds it again (exit 1) and Amy's own copy is untouched throughout."""
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    target = school.folder(sam) / "attendance" / "2025-11-20_AM.jpg"
    shutil.copy(school.folder(amy) / "profile.jpg", target)
    q = school.restore("--deep", "--quarantine", "--json")
    assert q.code == 1, q.text
    assert not target.exists()
    assert school.photo_of(amy) == jpeg_bytes("amy's own face"), "Amy's own photo must not be quarantined"
    qid = q.json["run_id"]
    u = school.restore("--undo", qid, "--json")
    assert u.code == 0, u.text
    assert target.read_bytes() == jpeg_bytes("amy's own face")
    again = school.restore("--verify-only", "--deep", "--json")
    assert again.code == 1 and placed_findings(again) == {f"students/{sam}/attendance/2025-11-20_AM.jpg": [sam]}, \
        again.json["deep"]


# ---- (1) odd journal lines and journal files ----

def _rewrite(path, transform):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(transform(lines)))


def _moved_to_sam(school, r):
    amy, sam = r.new_id("amy"), r.new_id("sam")
    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "attendance" / "2025-11-20_AM.jpg")
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))
    return f"students/{sam}/attendance/2025-11-20_AM.jpg", sam


def test_probe_duplicated_and_cut_lines_change_no_finding(school, tmp_path):
    """PROBE: every journal line written twice, and a line cut short at the end (a kill mid-write), still finds
    Amy's paired photo in Sam's folder, once."""
    r = paired_by_a_person(school, tmp_path)
    path, sam = _moved_to_sam(school, r)
    for j in journal_files(school):
        _rewrite(j, lambda lines: [x for line in lines for x in (line, line)] + ['{"type": "file", "path": "stu'])
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1 and placed_findings(run) == {path: [sam]}, run.text
    assert sum(1 for f in run.json["deep"] if f["kind"] == "placed from another person") == 1, run.json["deep"]


def test_probe_odd_fields_do_not_crash_the_deep_check_or_the_restore(school, tmp_path):
    """PROBE: extra file lines with a huge name, a non-string/int sha, a non-hex sha, a string size, a size past
    int64, a non-ASCII sha, an origin that is a list, and nested junk: no traceback, the real finding stays."""
    r = paired_by_a_person(school, tmp_path)
    path, sam = _moved_to_sam(school, r)
    base = {"type": "file", "path": path, "origin": {"old_id": "x", "old_name": "X", "name_key": "x", "codes": "",
                                                    "paired_by": "pairs file", "paired_id": 5}}
    odd = [{**base, "size": 10, "sha256": 123}, {**base, "size": "10", "sha256": "ab"},
           {**base, "size": 2 ** 70, "sha256": "zz"}, {**base, "size": -1, "sha256": "é" * 64},
           {**base, "size": 1, "sha256": "ab", "origin": ["a"]}, {**base, "size": 1, "sha256": None},
           {**base, "size": 3, "sha256": "0" * 64, "origin": {**base["origin"], "old_name": "N" * 2_000_000}},
           {**base, "size": 3, "sha256": "1" * 64, "origin": {**base["origin"], "paired_name_key": {"a": 1},
                                                              "paired_codes": [1], "paired_id": "p"}},
           {"type": "file"}, {"type": "file", "path": None, "size": True, "sha256": "a", "origin": {"name_key": 1}}]
    (journal_dir(school) / "00000000-000000-000-odd.jsonl").write_text("".join(json.dumps(e) + "\n" for e in odd))
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1 and placed_findings(run) == {path: [sam]}, run.text
    assert "Traceback" not in run.out + run.err
    full = school.restore("--json")
    assert full.code in (0, 1) and full.json is not None, full.text


def test_probe_a_fifo_journal_is_unread_not_a_hang(school, tmp_path):
    """PROBE: a FIFO named *.jsonl in the journal folder: --deep neither hangs nor gives an all-clear."""
    paired_by_a_person(school, tmp_path)
    os.mkfifo(journal_dir(school) / "00000000-000000-000-fifo.jsonl")
    run = school.subprocess("restore_student_photos", "--verify-only", "--deep", "--json", timeout=60)
    assert run.code == 1, run.out + run.err
    assert "could not be compared" in run.out, run.out


def test_probe_a_symlinked_journal_is_unread(school, tmp_path):
    """PROBE: the journal that placed Amy's photo replaced by a symlink to itself elsewhere: never an all-clear."""
    r = paired_by_a_person(school, tmp_path)
    path, sam = _moved_to_sam(school, r)
    for j in journal_files(school):
        moved = tmp_path / j.name
        shutil.move(j, moved)
        os.symlink(moved, j)
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1, run.text


def test_probe_unreadable_journal_blocks_a_copy(school, tmp_path):
    """PROBE: the journal that knows Amy's photo was paired with her is unreadable (mode 000, as a nightly user
    reading root's journal); Sam's link names a copy of it: the restore does not copy it (exit 1)."""
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "attendance" / "2025-11-20_AM.jpg")
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))
    (school.folder(sam) / "profile.jpg").unlink()
    shutil.rmtree(school.folder(STRAY))
    school.collection.update_one({"student_id": sam}, {"$set": {
        "photo": f"/api/photos/students/{sam}/attendance/2025-11-20_AM.jpg"}})
    for j in journal_files(school):
        j.chmod(0)
    try:
        run = school.subprocess("restore_student_photos", "--json", preexec_fn=drop_dac_capabilities)
    finally:
        for j in journal_files(school):
            j.chmod(0o600)
    assert school.photo_of(sam) != jpeg_bytes("amy's own face"), run.out
    assert run.code == 1, run.out


# ---- temporary files ----

def _silent_server():
    """A TCP server that accepts and never answers: the database 'hangs'."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def test_probe_listing_temp_dir_after_kill_9_is_swept_by_the_rerun(school, tmp_path):
    # WRONG: a --deep rerun (a hash cache exists) starts a listing child that writes a temporary SQLite file (every
    # folder and file name of the photo store: children's ids) into TMPDIR/student-photos-listing-*/; kill -9 the
    # run while the database is slow to answer, then run again to completion: the folder is still in TMPDIR. The
    # docs (docs/safety.md, kill -9 row) say a rerun "sweeps temporary files".
    paired_by_a_person(school, tmp_path)
    assert school.restore("--verify-only", "--deep").code == 0  # the hash cache now exists: the next is a rerun
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    server = _silent_server()
    env = {**os.environ, **school.env(TMPDIR=str(tmp), DB_TIMEOUT_SECONDS="20",
                                      MONGO_URL=f"mongodb://127.0.0.1:{server.getsockname()[1]}/?directConnection=true")}
    proc = subprocess.Popen([sys.executable, str(ROOT / "restore_student_photos.py"), "--verify-only", "--deep"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(tmp.glob("student-photos-listing-*")):
        time.sleep(0.02)
    started = any(tmp.glob("student-photos-listing-*"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    server.close()
    assert started, "the listing child never started"
    time.sleep(1.5)  # the orphaned child finishes its listing
    again = school.subprocess("restore_student_photos", "--verify-only", "--deep", TMPDIR=str(tmp))
    assert again.code == 0, again.out + again.err
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())


def test_probe_no_temporary_sqlite_in_photo_dir_or_tmp_after_a_kill_9_mid_deep(school, tmp_path):
    """PROBE: kill -9 of a --deep --quarantine restore as soon as it has begun: nothing new but the tool's own
    folder in PHOTO_DIR (no *.sqlite3 temp, no -journal/-wal), and TMPDIR empty after a complete rerun of a first
    run (no cache: no listing child)."""
    r = paired_by_a_person(school, tmp_path)
    _moved_to_sam(school, r)
    cache = school.photos / ".student-photos" / "hash-cache.sqlite3"
    if cache.exists():
        cache.unlink()
    tmp = tmp_path / "tmp2"
    tmp.mkdir()
    before = {p for p in school.photos.rglob("*")}
    env = {**os.environ, **school.env(TMPDIR=str(tmp))}
    proc = subprocess.Popen([sys.executable, str(ROOT / "restore_student_photos.py"), "--deep", "--quarantine"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.8)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    new = {p for p in school.photos.rglob("*")} - before
    odd = [p for p in new if p.name.endswith(("-journal", "-wal", "-shm")) or
           (p.suffix in (".sqlite3", ".db") and p.name != "hash-cache.sqlite3")]
    assert odd == [], odd
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())


def _paired_amy(school, tmp_path, **amy_fields):
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.newcomer("amy", "Amy Adams", **amy_fields)
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("amy's own face"))
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(plan)).code == 0
    assert school.photo_of(r.new_id("amy")) == jpeg_bytes("amy's own face")
    school.restore()
    return r


def _second_reseed_moving_amy(school, r, tmp_path):
    """Every child gets a new id (backup of the eve written); Amy's old folder is an orphan again."""
    docs = list(school.collection.find({}, {"_id": 0}))
    school.write_backup(docs, name="seed_backup_20251202_0500.json")
    school.collection.delete_many({})
    new = {}
    for d in docs:
        new[d["student_id"]] = str(uuid.uuid4())
        school.collection.insert_one({**d, "student_id": new[d["student_id"]], "photo": None})
    return new


def test_finding_amy_repaired_by_a_person_after_a_second_reseed_is_a_false_alarm(school, tmp_path):
    # WRONG: Amy Adams (a name, no other field) got folder STRAY by a reviewed --pairs file. A second reseed gives
    # everyone new ids; a person pairs Amy's old folder with Amy's new id by a second reviewed file (the identity
    # rule cannot: a name alone proves nothing; STRAY was cleaned away). --deep then calls Amy's own photo "placed
    # from another person" (the first run's line, paired with her old id, is judged by the name-only rule), exit 1,
    # and --quarantine would take it away. docs/safety.md: a folder a person paired with a student is theirs; a
    # later reviewed file wins. Expected: no wrong-child finding on Amy.
    r = _paired_amy(school, tmp_path)
    amy_old = r.new_id("amy")
    new = _second_reseed_moving_amy(school, r, tmp_path)
    amy_new = new[amy_old]
    shutil.rmtree(school.folder(STRAY))  # cleaned away: its copy is in Amy's old folder
    plan = tmp_path / "plan2.csv"
    save_as_spreadsheet(plan, [{"orphan": amy_old, "student_id": amy_new}])
    mig = school.migrate("--migrate", "--pairs", str(plan), "--json")
    assert school.photo_of(amy_new) == jpeg_bytes("amy's own face"), mig.text
    school.restore()

    run = school.restore("--verify-only", "--deep", "--json")

    assert amy_new not in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, \
        run.json["deep"]


def test_probe_amy_with_a_birth_date_repaired_after_a_second_reseed_is_clean(school, tmp_path):
    """PROBE: as the finding above but Amy has a birth date (the rule can prove her): re-paired by a person after
    the second reseed (STRAY cleaned away), --deep says nothing against her own photo."""
    r = _paired_amy(school, tmp_path, date_of_birth="2016-06-06")
    amy_old = r.new_id("amy")
    new = _second_reseed_moving_amy(school, r, tmp_path)
    shutil.rmtree(school.folder(STRAY))
    plan = tmp_path / "plan2.csv"
    save_as_spreadsheet(plan, [{"orphan": amy_old, "student_id": new[amy_old]}])
    mig = school.migrate("--migrate", "--pairs", str(plan), "--json")
    assert school.photo_of(new[amy_old]) == jpeg_bytes("amy's own face"), mig.text
    school.restore()
    run = school.restore("--verify-only", "--deep", "--json")
    assert new[amy_old] not in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, \
        run.json["deep"]


def test_probe_old_format_pairing_line_at_a_recycled_id_with_a_backup_is_found(school, tmp_path):
    """PROBE: a pairing line written before paired_id existed (proof only for its folder), then Amy's id given to
    Zed in a second reseed whose eve is in a backup: --deep must not give an all-clear on Zed."""
    r = paired_by_a_person(school, tmp_path)
    for path in journal_files(school):
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        for entry in entries:
            for key in ("paired_id", "paired_name", "paired_name_key", "paired_codes"):
                (entry.get("origin") or {}).pop(key, None)
        path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    zed_id, _, _ = _second_reseed_recycling_amys_id(school, r, with_backup=True)
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.code == 1, run.text
    assert zed_id in {p["student_id"] for p in run.json["problems"] if p["problem"] == "wrong child"}, run.json


def test_probe_kill_9_of_a_pairs_migrate_then_rerun_and_deep(school, tmp_path):
    """PROBE: a --pairs migrate killed (SIGKILL) once its journal has a file line; --deep then neither crashes nor
    gives an all-clear while the run is unfinished-and-inconsistent; a rerun completes and --deep is clean on Amy."""
    from test_migrate import _kill_when
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05", attendance=40)
    r.newcomer("amy", "Amy Adams", date_of_birth="2016-06-06")
    r.commit()
    stray = school.folder(STRAY)
    (stray / "attendance").mkdir(parents=True)
    (stray / "profile.jpg").write_bytes(jpeg_bytes("amy's own face"))
    for i in range(40):
        (stray / "attendance" / f"2025-10-{i % 28 + 1:02d}_{i}.jpg").write_bytes(jpeg_bytes(f"amy day {i}"))
    plan = tmp_path / "plan.csv"
    save_as_spreadsheet(plan, [{"orphan": STRAY, "student_id": r.new_id("amy")}])
    env = {**os.environ, **school.env()}

    def ready():
        return any('"type": "file"' in j.read_text() for j in journal_files(school)) if journal_dir(school).exists() \
            else False

    killed = _kill_when(env, ready, "--migrate", "--pairs", str(plan))
    mid = school.subprocess("restore_student_photos", "--verify-only", "--deep", "--json")
    assert "Traceback" not in mid.out + mid.err and mid.code in (0, 1), mid.out + mid.err
    again = school.migrate("--migrate", "--pairs", str(plan))
    assert again.code == 0, again.text
    assert school.photo_of(r.new_id("amy")) == jpeg_bytes("amy's own face")
    school.restore()
    run = school.restore("--verify-only", "--deep", "--json")
    assert run.json["deep"] == [], (killed, run.json["deep"])
    assert killed, "the migrate finished before it could be killed"


def test_finding_an_unreadable_copy_of_a_paired_photo_gives_an_all_clear(school, tmp_path):
    # WRONG: Amy's paired photo is copied into Sam's attendance folder as a file the nightly account cannot read
    # (mode 000: saved by the app's own user). `restore --verify-only --deep` run as that account (no
    # CAP_DAC_OVERRIDE) says exit 0, no finding: the file's digest could not be taken, and a file that could not
    # be hashed is silently left out. docs/reference.md: what was not looked at is "could not be compared" and the
    # check is "not all done" (exit 1) - never an all-clear over a file it did not read.
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    target = school.folder(sam) / "attendance" / "2025-11-20_AM.jpg"
    shutil.copy(school.folder(amy) / "profile.jpg", target)
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))
    target.chmod(0)
    try:
        run = school.subprocess("restore_student_photos", "--verify-only", "--deep", "--json",
                                preexec_fn=drop_dac_capabilities)
    finally:
        target.chmod(0o644)
    assert run.code == 1, run.out + run.err


def test_finding_undo_of_a_quarantine_puts_the_photo_into_a_recycled_ids_new_child(school, tmp_path):
    # WRONG: Sam's profile.jpg is Amy's paired photo (wrong child); --deep --quarantine moves it aside. A second
    # reseed gives Sam a new id and his old id to Zed (the eve's backup written). `--undo` of the quarantine run
    # then links Amy's photo into students/{zed}/profile.jpg - the folder of a third child, whose database link
    # already names it - and says exit 0. docs/safety.md: an undo that would put a file back where "who holds that
    # folder's id ... may have changed since (a second reseed)" puts nothing back and says so (exit 1); removal
    # likewise checks "a folder that is not now another current student's (ids reused by a second reseed)".
    r = paired_by_a_person(school, tmp_path)
    amy, sam = r.new_id("amy"), r.new_id("sam")
    shutil.copy(school.folder(amy) / "profile.jpg", school.folder(sam) / "profile.jpg")
    (school.folder(amy) / "profile.jpg").write_bytes(jpeg_bytes("amy's new face"))
    q = school.restore("--deep", "--quarantine", "--json")
    assert q.code == 1 and not (school.folder(sam) / "profile.jpg").exists(), q.text
    school.write_backup(list(school.collection.find({}, {"_id": 0})), name="seed_backup_20251203_0500.json")
    sam_doc = school.collection.find_one({"student_id": sam}, {"_id": 0})
    school.collection.update_one({"student_id": sam}, {"$set": {"student_id": str(uuid.uuid4()), "photo": None}})
    school.collection.insert_one({"student_id": sam, "name": "Zed Zane", "date_of_birth": "2014-04-04",
                                  "photo": f"/api/photos/students/{sam}/profile.jpg"})
    assert sam_doc["name"] == "Sam Lee"

    undo = school.restore("--undo", q.json["run_id"], "--json")

    zed_photo = school.photo_of(sam)
    assert zed_photo != jpeg_bytes("amy's own face") and undo.code == 1, (undo.code, undo.text)


def test_probe_history_and_undo_of_a_fifo_journal_neither_hang_nor_say_done(school, tmp_path):
    """PROBE: a FIFO under a run id's journal name: --history does not hang; --undo of that id is not exit 0."""
    paired_by_a_person(school, tmp_path)
    fifo_id = "20261201-000000-000-abcdef"
    os.mkfifo(journal_dir(school) / f"{fifo_id}.jsonl")
    hist = school.subprocess("restore_student_photos", "--history", "--json", timeout=60)
    assert hist.code in (0, 1), hist.out + hist.err
    undo = school.subprocess("restore_student_photos", "--undo", fifo_id, "--json", timeout=60)
    assert undo.code != 0 and "Traceback" not in undo.out + undo.err, undo.out + undo.err


def test_finding_paired_id_recycled_to_a_namesake_without_a_birth_date_is_all_clear(school, tmp_path):
    # WRONG: Amy Adams (born 2016-06-06) got STRAY's photo by a reviewed --pairs file. A second reseed (its eve in
    # a backup) gives Amy a new id (same name and birth date) and her old id to a newcomer also called Amy Adams
    # with no birth date recorded yet; the real Amy uploads a new photo. `--verify-only --deep` says exit 0: the
    # newcomer holds the real Amy's photo. The pairing is checked at its own id only with "not proven different"
    # (a name alone suffices), although the very person it was paired with - same name AND birth date - is
    # another current student now. docs/safety.md: a reviewed pairing "follows the student, not the id: if that
    # id later belongs to another child (a second reseed), the folder goes to no one until a person reviews it".
    r = paired_by_a_person(school, tmp_path)
    amy_old = r.new_id("amy")
    school.write_backup(list(school.collection.find({}, {"_id": 0})), name="seed_backup_20251203_0500.json")
    amy_new = str(uuid.uuid4())
    school.collection.update_one({"student_id": amy_old}, {"$set": {"student_id": amy_new, "photo": None}})
    school.collection.insert_one({"student_id": amy_old, "name": "Amy Adams",
                                  "photo": f"/api/photos/students/{amy_old}/profile.jpg"})
    school.put_photo(amy_new, jpeg_bytes("the real amy, uploaded after the reseed"))
    school.collection.update_one({"student_id": amy_new}, {"$set": {
        "photo": f"/api/photos/students/{amy_new}/profile.jpg"}})

    run = school.restore("--verify-only", "--deep", "--json")

    assert run.code == 1, run.text
    assert amy_old in {p["student_id"] for p in run.json["problems"]}, run.json["problems"]
