"""Adversarial round 4 (2026-12-01): what removes or moves files (--clean --confirm, --undo, --deep --quarantine).
The three undo-of-an-undo tests failed before the fix (an undo of an undo puts nothing back blindly); the rest
held and stay as evidence.

Invariant checked throughout: no photo that existed anywhere in the store is gone afterwards; no child's folder
holds another child's photo because of these operations; exit 0 only when all is really done."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from test_migrate import Reseed, _kill_when

from conftest import ROOT, School
from student_photos.sample import jpeg_bytes


def all_bytes(school: School) -> set[str]:
    """SHA-256 of every regular file anywhere under the photo root (quarantine included)."""
    found = set()
    for dirpath, _dirs, files in os.walk(school.photos):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                found.add(hashlib.sha256(fh.read()).hexdigest())
    return found


def photo_hashes(r: Reseed) -> set[str]:
    return {hashlib.sha256(v).hexdigest() for v in r.photos.values()}


def assert_nothing_lost(school: School, expected: set[str]) -> None:
    missing = expected - all_bytes(school)
    assert not missing, f"{len(missing)} photo(s) exist nowhere any more"


def files_of(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.exists() else {}


# ---------------------------------------------------------------- undo of an undo, ids recycled since
def test_undo_of_an_undo_never_gives_a_photo_to_the_child_now_holding_that_id(school):
    """A migrate copied Kid One's photos into her new id's folder; an undo took them back. Then a second reseed
    gave that id to Ann Lee (a different child). Undoing the undo puts Kid One's photos back into that folder:
    Ann would wear Kid One's face, placed with no identity check at all."""
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    (school.folder(r.new_id("kid")) / "attendance").mkdir(parents=True)  # made by the restore before the migrate
    run = school.migrate("--migrate", "--json")
    assert run.code == 0, run.text
    undo = school.migrate("--undo", run.json["run_id"], "--json")
    assert undo.code == 0, undo.text
    new_id = r.new_id("kid")
    assert school.photo_of(new_id) is None
    # second reseed: the id now belongs to another child (Kid One left)
    school.write_backup(list(r.new.values()), name="seed_backup_20251201_0000.json")
    school.collection.delete_many({})
    school.seed([{"student_id": new_id, "name": "Ann Lee", "date_of_birth": "2016-06-06",
                  "photo": f"/api/photos/students/{new_id}/profile.jpg"}])

    again = school.migrate("--undo", undo.json["run_id"], "--json")

    held = files_of(school.folder(new_id))
    kid_bytes = set(files_of(school.folder(r.old_id("kid"))).values())
    wrong = [rel for rel, data in held.items() if data in kid_bytes]
    assert not wrong, f"Ann Lee now holds Kid One's photos {wrong} (undo exit {again.code})"


def test_undo_of_an_undo_after_the_pairing_was_withdrawn(school, tmp_path):
    """A reviewed file paired an old folder with Sam; the migrate, then its undo. A person then reviewed again
    and said the folder is no one's (`none`). Undoing the undo puts the photos back into Sam's folder anyway."""
    r = Reseed(school)
    r.child("sam", "Sam Shaw", date_of_birth="2015-02-02")
    r.commit()
    (school.folder(r.new_id("sam")) / "attendance").mkdir(parents=True)  # made by the restore before the migrate
    first = school.migrate("--migrate", "--json")
    assert first.code == 0, first.text
    undo = school.migrate("--undo", first.json["run_id"], "--json")
    assert undo.code == 0 and school.photo_of(r.new_id("sam")) is None
    csv = tmp_path / "plan.csv"
    assert school.migrate("--list", "--csv", str(csv)).code in (0, 1)
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        cells = line.split(",")
        cells[header.index("student_id")] = "none"
        rows.append(",".join(cells))
    csv.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    veto = school.migrate("--migrate", "--pairs", str(csv), "--json")
    assert veto.code in (0, 1), veto.text
    assert school.photo_of(r.new_id("sam")) is None

    again = school.migrate("--undo", undo.json["run_id"], "--json")

    assert school.photo_of(r.new_id("sam")) is None, \
        f"a folder a person gave to no one was put back into Sam's (undo exit {again.code})"


# ---------------------------------------------------------------- clean after the world changed
def test_clean_after_the_student_was_deleted_between_migrate_and_clean(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01")
    r.child("b", "Kid B", date_of_birth="2015-02-02")
    r.commit()
    assert school.migrate("--migrate").code == 0
    expected = photo_hashes(r)
    school.collection.delete_one({"student_id": r.new_id("a")})

    first = school.migrate("--clean", "--confirm", "--json")
    second = school.migrate("--clean", "--confirm", "--json")

    assert_nothing_lost(school, expected)
    assert school.photo_of(r.old_id("a")) == r.photos["a"] or school.photo_of(r.new_id("a")) == r.photos["a"]
    assert first.code in (0, 1) and second.code in (0, 1)


def test_clean_after_a_second_reseed_never_loses_the_only_copy(school):
    """Migrate O -> T, new backup with T, then a second reseed: T's child gets id T2. Both O and T are now old
    folders of the same child; migrate and clean repeatedly: every photo must still exist, and T2 holds hers."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=2)
    r.child("b", "Kid B", date_of_birth="2015-02-02", attendance=1)
    r.commit()
    assert school.migrate("--migrate").code == 0
    expected = photo_hashes(r)
    school.write_backup(list(r.new.values()), name="seed_backup_20251201_0000.json")
    second = {k: {**v, "student_id": str(uuid.uuid4())} for k, v in r.new.items()}
    school.collection.delete_many({})
    school.seed(list(second.values()))

    results = [school.migrate("--clean", "--confirm", "--json").code,
               school.migrate("--migrate", "--json").code,
               school.migrate("--clean", "--confirm", "--json").code,
               school.migrate("--clean", "--confirm", "--json").code]

    assert_nothing_lost(school, expected)
    for key, record in second.items():
        photo = school.photo_of(record["student_id"])
        assert photo in (None, r.photos[key]), f"{key} holds someone else's photo ({results})"


def test_clean_keeps_an_orphan_whose_files_are_only_in_another_students_folder(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.newcomer("x", "Other Child", date_of_birth="2017-07-07")
    r.commit()
    old = school.folder(r.old_id("a"))
    other = school.folder(r.new_id("x"))
    (other / "attendance").mkdir(parents=True)
    for rel, data in files_of(old).items():
        (other / rel).write_bytes(data)  # a hand copy into the wrong child's folder

    result = school.migrate("--clean", "--confirm", "--json")

    assert old.is_dir() and school.photo_of(r.old_id("a")) == r.photos["a"], result.text


def test_clean_keeps_a_folder_with_a_case_only_different_name(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    assert school.migrate("--migrate").code == 0
    old = school.folder(r.old_id("a"))
    (old / "Profile.jpg").write_bytes(jpeg_bytes("another upload with a capital P"))
    os.utime(old / "Profile.jpg", (time.time() - 3600, time.time() - 3600))

    result = school.migrate("--clean", "--confirm", "--json")

    assert (old / "Profile.jpg").read_bytes() == jpeg_bytes("another upload with a capital P")
    assert result.code == 1, "a folder kept with a file nobody carried is a problem"


def test_clean_with_the_students_copy_a_hard_link_to_an_attendance_file_of_the_old_folder(school):
    """The student's profile.jpg is a hard link to the orphan's profile; removing the orphan's names keeps it."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    assert school.migrate("--migrate").code == 0
    new = school.folder(r.new_id("a"))
    (new / "profile.jpg").unlink()
    os.link(school.folder(r.old_id("a")) / "profile.jpg", new / "profile.jpg")
    expected = photo_hashes(r)

    school.migrate("--clean", "--confirm")

    assert_nothing_lost(school, expected)
    assert school.photo_of(r.new_id("a")) == r.photos["a"]


def test_a_file_written_into_the_old_folder_just_before_it_is_moved_aside_is_kept(school, monkeypatch):
    from student_photos import migrate as mig
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    assert school.migrate("--migrate").code == 0
    late = school.folder(r.old_id("a")) / "attendance" / "2025-12-24_AM.jpg"
    real_rename = os.rename

    def rename(src, dst, *a, **k):
        if str(dst).rsplit("/", 1)[-1].startswith(mig.DELETING_PREFIX) and not late.exists():
            late.write_bytes(jpeg_bytes("the app saved this during the clean"))
        return real_rename(src, dst, *a, **k)

    monkeypatch.setattr(mig.os, "rename", rename)
    result = school.migrate("--clean", "--confirm", "--json")
    monkeypatch.undo()

    assert late.exists() and late.read_bytes() == jpeg_bytes("the app saved this during the clean")
    assert result.code == 1, "kept after all: never all done"


def test_an_old_folder_the_app_recreates_while_a_clean_holds_it_aside(school, monkeypatch):
    """After the folder is renamed aside, the app (still serving the old id) writes a new photo to the old path:
    the folder is made anew. The clean must not lose it, and must not say all done with a hidden leftover."""
    from student_photos import migrate as mig
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    assert school.migrate("--migrate").code == 0
    old = school.folder(r.old_id("a"))
    real_rmtree = mig.shutil.rmtree

    def rmtree(path, *a, **k):
        (old / "attendance").mkdir(parents=True, exist_ok=True)
        (old / "attendance" / "2025-12-24_AM.jpg").write_bytes(jpeg_bytes("a new one"))
        return real_rmtree(path, *a, **k)

    monkeypatch.setattr(mig.shutil, "rmtree", rmtree)
    school.migrate("--clean", "--confirm", "--json")
    monkeypatch.undo()

    assert (old / "attendance" / "2025-12-24_AM.jpg").read_bytes() == jpeg_bytes("a new one")
    assert school.photo_of(r.new_id("a")) == r.photos["a"]


# ---------------------------------------------------------------- kill -9 and two at once
def big_migrated_school(school: School, n: int = 40) -> Reseed:
    r = Reseed(school)
    for i in range(n):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=3,
                student_number=1000 + i)
    r.commit()
    for key in r.photos:
        big = jpeg_bytes(f"the real face of {key}", size=300_000)
        (school.folder(r.old_id(key)) / "profile.jpg").write_bytes(big)
        r.photos[key] = big
    assert school.migrate("--migrate").code == 0
    return r


@pytest.mark.parametrize("moment", ["aside", "journalled", "some removed"])
def test_a_clean_killed_then_rerun_loses_nothing_and_finishes(school, moment):
    from student_photos.migrate import DELETING_PREFIX
    r = big_migrated_school(school)
    expected = all_bytes(school)
    jdir = school.photos / ".student-photos" / "journal"
    before = set(os.listdir(jdir)) if jdir.is_dir() else set()

    def ready() -> bool:
        if moment == "aside":
            return any(n.startswith(DELETING_PREFIX) for n in os.listdir(school.students_dir))
        if moment == "journalled":
            return jdir.is_dir() and any(n not in before and (jdir / n).read_text().count('"removed"') >= 3
                                         for n in os.listdir(jdir))
        return sum(not school.folder(r.old_id(k)).exists() for k in r.photos) >= 5

    killed = _kill_when({**os.environ, **school.env()}, ready, "--clean", "--confirm")
    if not killed:
        pytest.skip("the clean finished before the kill")
    assert_nothing_lost(school, expected)
    rerun = school.migrate("--clean", "--confirm", "--json")

    assert rerun.code == 0, rerun.text
    assert_nothing_lost(school, expected)
    assert not [n for n in os.listdir(school.students_dir) if n.startswith(DELETING_PREFIX)]
    for key in r.photos:
        assert not school.folder(r.old_id(key)).exists()
        assert school.photo_of(r.new_id(key)) == r.photos[key]


def test_two_cleans_and_an_undo_at_once_lose_nothing(school):
    r = big_migrated_school(school, 30)
    migrate_run = next(run["run_id"] for run in school.migrate("--history", "--json").json["runs"])
    expected = all_bytes(school)
    env = {**os.environ, **school.env(LOCK_WAIT_SECONDS="60")}
    procs = [subprocess.Popen([sys.executable, str(ROOT / "migrate_orphaned_photos.py"), *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for args in (["--clean", "--confirm"], ["--undo", migrate_run], ["--clean", "--confirm"])]
    for proc in procs:
        proc.wait(180)

    assert_nothing_lost(school, expected)
    for key in r.photos:
        assert school.photo_of(r.new_id(key)) in (None, r.photos[key])
        assert school.photo_of(r.new_id(key)) == r.photos[key] or school.photo_of(r.old_id(key)) == r.photos[key]


# ---------------------------------------------------------------- undo
def test_undo_of_a_migration_after_its_sources_were_cleaned_keeps_every_copy(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=2)
    r.commit()
    run = school.migrate("--migrate", "--json")
    assert school.migrate("--clean", "--confirm").code == 0
    expected = photo_hashes(r)

    undo = school.migrate("--undo", run.json["run_id"], "--json")

    assert_nothing_lost(school, expected)
    assert undo.code == 1, "left copies need a person to know"


def test_the_same_undo_twice_after_the_app_saved_the_same_bytes_again(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    run = school.migrate("--migrate", "--json").json["run_id"]
    assert school.migrate("--undo", run).code == 0
    school.put_photo(r.new_id("a"), r.photos["a"])  # the app saved the same photo again
    (school.folder(r.old_id("a")) / "profile.jpg").unlink()  # and the old folder lost it (by hand)
    expected = {hashlib.sha256(r.photos["a"]).hexdigest()}

    school.migrate("--undo", run)

    assert_nothing_lost(school, expected)


@pytest.mark.parametrize("how", ["hard link", "symlink"])
def test_undo_of_a_migration_whose_source_became_a_link_to_the_copy(school, how):
    """A dedupe tool hard-linked the old folder's file to the student's copy (the undo removes one name), or
    replaced it with a symlink to the copy (rdfind -makesymlinks): the undo must not take the symlink for a copy
    and remove the only file."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=0)
    r.commit()
    run = school.migrate("--migrate", "--json").json["run_id"]
    src = school.folder(r.old_id("a")) / "profile.jpg"
    src.unlink()
    (os.link if how == "hard link" else os.symlink)(school.folder(r.new_id("a")) / "profile.jpg", src)

    undo = school.migrate("--undo", run, "--json")

    assert_nothing_lost(school, photo_hashes(r))
    if how == "symlink":
        assert undo.code == 1


def test_undo_of_a_migration_whose_old_folder_became_a_symlink_to_the_students(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    run = school.migrate("--migrate", "--json").json["run_id"]
    old = school.folder(r.old_id("a"))
    shutil.rmtree(old)
    os.symlink(school.folder(r.new_id("a")), old)

    school.migrate("--undo", run, "--json")

    assert_nothing_lost(school, photo_hashes(r))


def test_undo_of_an_undo_of_a_migration_puts_the_copies_back_or_says_it_did_not(school):
    """An undo of a migrate removed its copies and the (empty) folders the run made. Undoing that undo must put the
    copies back from their sources, or say it could not: exit 0 with nothing back is 'all done' that is not."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    run = school.migrate("--migrate", "--json").json["run_id"]
    u1 = school.migrate("--undo", run, "--json")
    assert u1.code == 0 and school.photo_of(r.new_id("a")) is None

    u2 = school.migrate("--undo", u1.json["run_id"], "--json")
    text = school.migrate("--history").out

    back = school.photo_of(r.new_id("a")) == r.photos["a"]
    assert back or u2.code != 0, (
        f"undo of the undo exit {u2.code}, json {u2.out.strip()[:200]!r}, nothing put back; history: {text[-400:]}")


def test_undo_of_an_undo_of_an_undo_never_loses_a_photo(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    expected = photo_hashes(r)
    (school.folder(r.new_id("a")) / "attendance").mkdir(parents=True)  # the folder exists before (the restore made it)
    run = school.migrate("--migrate", "--json").json["run_id"]
    u1 = school.migrate("--undo", run, "--json").json["run_id"]
    u2 = school.migrate("--undo", u1, "--json")
    assert u2.code == 1 and "run the migrate" in " ".join(u2.json["left"]), u2.text  # puts nothing back blindly
    again = school.migrate("--migrate", "--json").json["run_id"]  # which decides again, and puts it back
    assert school.photo_of(r.new_id("a")) == r.photos["a"]
    (school.folder(r.old_id("a")) / "profile.jpg").unlink()  # the source goes (by hand)
    u3 = school.migrate("--undo", again, "--json")

    assert_nothing_lost(school, expected)
    assert school.photo_of(r.new_id("a")) == r.photos["a"]
    assert u3.code == 1


# ---------------------------------------------------------------- quarantine
def two_faces_one_file(school: School):
    a, b = school.new_student("Ann Ames"), school.new_student("Bea Bond")
    school.put_photo(a["student_id"], jpeg_bytes("one face"))
    school.put_photo(b["student_id"], jpeg_bytes("one face"))
    school.seed([a, b])
    school.write_backup([a, b])
    return a, b


def test_quarantine_twice_then_undo_both_loses_nothing(school):
    a, b = two_faces_one_file(school)
    expected = all_bytes(school)
    q1 = school.restore("--deep", "--quarantine", "--json")
    assert q1.code == 1, q1.text
    school.put_photo(b["student_id"], jpeg_bytes("one face"))  # copied back by hand
    q2 = school.restore("--deep", "--quarantine", "--json")
    school.put_photo(a["student_id"], jpeg_bytes("new upload for Ann"))  # the place got a new photo
    u1 = school.restore("--undo", q1.json["run_id"], "--json")
    u2 = school.restore("--undo", q2.json["run_id"], "--json")

    assert_nothing_lost(school, expected)
    assert school.photo_of(a["student_id"]) == jpeg_bytes("new upload for Ann")
    assert u1.code == 1, "a photo left in quarantine is for a person"
    assert u2.code in (0, 1)


def test_undo_of_an_undo_of_a_quarantine_then_undo_again(school):
    a, b = two_faces_one_file(school)
    expected = all_bytes(school)
    q = school.restore("--deep", "--quarantine", "--json").json["run_id"]
    u1 = school.restore("--undo", q, "--json").json["run_id"]
    u2 = school.restore("--undo", u1, "--json")
    u3 = school.restore("--undo", u2.json["run_id"], "--json")
    u4 = school.restore("--undo", q, "--json")

    assert_nothing_lost(school, expected)
    assert u3.code in (0, 1) and u4.code in (0, 1)


def test_a_clean_never_removes_the_quarantine(school):
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    assert school.migrate("--migrate").code == 0
    a, b = school.new_student("Ann Ames"), school.new_student("Bea Bond")
    school.put_photo(a["student_id"], jpeg_bytes("one face"))
    school.put_photo(b["student_id"], jpeg_bytes("one face"))
    school.seed([a, b])
    school.write_backup([*r.old.values(), a, b], name="seed_backup_20251120_0000.json")
    q = school.restore("--deep", "--quarantine", "--json")
    expected = all_bytes(school)

    school.migrate("--clean", "--confirm")

    assert_nothing_lost(school, expected)
    assert (school.photos / ".student-photos" / "quarantine" / q.json["run_id"]).is_dir()


def test_undo_of_a_restore_fill_whose_source_was_cleaned(school):
    """A restore filled Kid A's profile from her old folder (by the backup's link); the old folder was then cleaned
    as a duplicate; undoing the restore must keep the now only copy."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=0)
    r.commit()
    school.collection.update_one({"student_id": r.new_id("a")},
                                 {"$set": {"photo": f"/api/photos/students/{r.old_id('a')}/profile.jpg"}})
    rest = school.restore("--json")
    expected = photo_hashes(r)
    school.migrate("--clean", "--confirm")
    undo = school.restore("--undo", rest.json["run_id"], "--json")

    assert_nothing_lost(school, expected)
    assert undo.code in (0, 1)
