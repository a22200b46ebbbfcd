"""Adversarial round 5 (2026-12-01): --clean / --clean --confirm, --undo, --deep --quarantine, the journal.

Invariant: no photo that existed anywhere in the store is gone (or hidden where no run reports it) afterwards; no
child's folder holds another child's photo because of these operations; exit 0 only when all is really done.
Tests marked FINDING failed on the code they were written against; tests marked PROBE held and stay as evidence."""

from __future__ import annotations

import hashlib
import os
import time

from test_adversary_round4 import all_bytes, assert_nothing_lost, files_of, photo_hashes
from test_migrate import Reseed

from conftest import School
from student_photos.sample import jpeg_bytes


def migrated(school: School, attendance: int = 1, **child) -> Reseed:
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=attendance, **child)
    r.child("b", "Kid B", date_of_birth="2015-02-02", attendance=1)
    r.commit()
    run = school.migrate("--migrate", "--json")
    assert run.code == 0, run.text
    return r


def hidden_entries(school: School) -> list[str]:
    return [n for n in os.listdir(school.students_dir) if n.startswith(".")]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- the folder moved aside cannot go back
def test_kept_after_all_but_the_old_path_was_recreated_meanwhile(school, monkeypatch):
    """FINDING: the app writes a new photo into the old folder just before it is moved aside (so the check again
    keeps it) and, still serving the old id, re-creates the old path with another photo right after. Putting the
    folder back (os.rename onto a non-empty folder) fails unguarded: the unique photo is left in a hidden
    .deleting-* folder that no later run lists or reports."""
    from student_photos import migrate as mig
    r = migrated(school)
    old = school.folder(r.old_id("a"))
    late = old / "attendance" / "2025-12-24_AM.jpg"
    again = old / "attendance" / "2025-12-25_AM.jpg"
    real_rename = os.rename

    def rename(src, dst, *a, **k):
        moving_aside = str(dst).rsplit("/", 1)[-1].startswith(mig.DELETING_PREFIX)
        if moving_aside and not late.exists():
            late.write_bytes(jpeg_bytes("saved just before the move: exists nowhere else"))
        result = real_rename(src, dst, *a, **k)
        if moving_aside and not again.exists():
            again.parent.mkdir(parents=True)
            again.write_bytes(jpeg_bytes("saved just after the move"))
        return result

    monkeypatch.setattr(mig.os, "rename", rename)
    try:
        first = school.migrate("--clean", "--confirm", "--json")
    except Exception as exc:  # noqa: BLE001  (a crash is a finding too, but the photo is what matters)
        first = exc
    monkeypatch.undo()
    rerun = school.migrate("--clean", "--confirm", "--json")
    listing = school.migrate("--list", "--json")

    assert late.exists() or (rerun.code != 0 and listing.code != 0), \
        (f"the unique photo is only in {hidden_entries(school)} (first run: {first!r:.300}; "
         f"rerun exit {rerun.code}, list exit {listing.code})")


def test_a_killed_clean_whose_old_path_was_recreated_is_never_all_done(school):
    """FINDING: a clean killed -9 right after moving a folder aside (a photo had been saved into it just before the
    move) while the app re-created the old path with a new photo: recover_interrupted_cleans leaves the .deleting-*
    folder where it is, silently, and the next clean and --list say all done (exit 0) while the only copy of a photo
    sits in a hidden folder no run lists."""
    from student_photos import migrate as mig
    r = migrated(school)
    old = school.folder(r.old_id("a"))
    aside = school.students_dir / f"{mig.DELETING_PREFIX}{r.old_id('a')}.0badf00d"
    os.rename(old, aside)  # the state a kill -9 right after the move leaves
    unique = jpeg_bytes("saved just before the move: exists nowhere else")
    (aside / "attendance" / "2025-12-24_AM.jpg").write_bytes(unique)
    (old / "attendance").mkdir(parents=True)  # the app, still serving the old id, makes the folder anew
    (old / "attendance" / "2025-12-25_AM.jpg").write_bytes(jpeg_bytes("saved after the move"))
    past = time.time() - 3600
    for p in (*aside.rglob("*"), aside, *old.rglob("*"), old):
        os.utime(p, (past, past))

    runs = {args: school.migrate(*args, "--json") for args in [("--clean", "--confirm"), ("--list",)]}

    assert sha(unique) in all_bytes(school)
    visible = [p for p in school.students_dir.rglob("2025-12-24_AM.jpg")
               if not any(part.startswith(".") for part in p.relative_to(school.students_dir).parts)]
    codes = {" ".join(k): v.code for k, v in runs.items()}
    assert visible or all(c != 0 for c in codes.values()), \
        f"a photo that exists only in {hidden_entries(school)} and the runs said all done: {codes}"


# ---------------------------------------------------------------- a file named like the tool's own temporary
def test_a_photo_named_like_a_temporary_is_not_lost_by_migrate_clean_undo(school):
    """FINDING (contrived name, real contradiction): the undo reports the file 'left, may be the only copy', then its
    temporary sweep deletes it. An old folder's attendance/ holds a photo whose name has the tool's temporary
    shape (a kill -9 of the old server's run left it). migrate carries it, clean removes the old folder (byte-identical
    copy in the student's), then the undo of that migration sweeps the student's attendance/ of 'temporaries'."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    odd = school.folder(r.old_id("a")) / "attendance" / ".2025-11-03_AM.jpg.4242-0.partial"
    unique = jpeg_bytes("a whole photo under a temporary-looking name")
    odd.write_bytes(unique)
    run = school.migrate("--migrate", "--json")
    clean = school.migrate("--clean", "--confirm", "--json")
    undo = school.migrate("--undo", run.json["run_id"], "--json")
    again = school.migrate("--migrate", "--json")

    assert sha(unique) in all_bytes(school), \
        f"gone for good (migrate {run.code}, clean {clean.code}, undo {undo.code}, migrate {again.code})"


# ---------------------------------------------------------------- the ten-minute rule, for real
def test_a_clean_with_the_default_age_removes_an_old_identical_folder(school):
    """PROBE (usability of the safety rule): with CLEAN_MIN_AGE_SECONDS=600 and every mtime an hour old, the move
    aside must not itself make the folder look 'changed 0 s ago' to the check again."""
    r = migrated(school)
    old = school.folder(r.old_id("a"))
    past = time.time() - 3600
    for p in (*old.rglob("*"), old):
        os.utime(p, (past, past))
    result = school.migrate("--clean", "--confirm", "--json", CLEAN_MIN_AGE_SECONDS="600")
    gone = not old.exists()
    assert gone and result.code == 0, result.text[-1500:]
    assert school.photo_of(r.new_id("a")) == r.photos["a"]


def test_a_file_just_written_into_an_old_looking_folder_is_kept(school):
    """PROBE: folder and attendance/ mtimes an hour old, one file inside written now (byte-identical in the
    student's): the folder is kept for a later run."""
    r = migrated(school)
    old = school.folder(r.old_id("a"))
    past = time.time() - 3600
    for p in (*old.rglob("*"), old):
        os.utime(p, (past, past))
    f = next((old / "attendance").iterdir())
    f.write_bytes(f.read_bytes())  # rewritten now, same bytes
    os.utime(old / "attendance", (past, past))
    result = school.migrate("--clean", "--confirm", "--json", CLEAN_MIN_AGE_SECONDS="600")
    assert old.is_dir(), result.text[-1500:]


# ---------------------------------------------------------------- what an old folder may hold
def test_non_photo_files_in_attendance_survive_migrate_and_clean(school):
    """PROBE: a note, a video, a hidden file and a nested folder under attendance/ are carried and still exist
    (in the student's folder) after the clean."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    att = school.folder(r.old_id("a")) / "attendance"
    extra = {"note.txt": b"teacher note", "clip.mov": os.urandom(5000), ".hidden.jpg": jpeg_bytes("hidden"),
             "2024/12/old_AM.jpg": jpeg_bytes("nested"), ".DS_Store": b"\x00\x00\x00\x01Bud1",
             "Thumbs.db": os.urandom(300), "._IMG.jpg": os.urandom(100)}
    for rel, data in extra.items():
        (att / rel).parent.mkdir(parents=True, exist_ok=True)
        (att / rel).write_bytes(data)
    expected = all_bytes(school)
    run = school.migrate("--migrate", "--json")
    clean = school.migrate("--clean", "--confirm", "--json")
    assert_nothing_lost(school, expected)
    new_att = school.folder(r.new_id("a")) / "attendance"
    assert all((new_att / rel).read_bytes() == data for rel, data in extra.items() if (new_att / rel).exists())
    assert school.folder(r.old_id("a")).exists() or all((new_att / rel).exists() for rel in extra), \
        (run.code, clean.code)


def test_the_students_copy_a_symlink_back_into_the_old_folder_keeps_it(school):
    """PROBE: the student's profile.jpg is a symlink to the old folder's: no copy at all, the old folder stays."""
    r = migrated(school)
    new = school.folder(r.new_id("a"))
    (new / "profile.jpg").unlink()
    os.symlink(school.folder(r.old_id("a")) / "profile.jpg", new / "profile.jpg")
    result = school.migrate("--clean", "--confirm", "--json")
    assert (school.folder(r.old_id("a")) / "profile.jpg").read_bytes() == r.photos["a"], result.text[-800:]


def test_clean_through_a_symlinked_photo_dir(school, tmp_path):
    """PROBE: PHOTO_DIR given as a symlink to the real folder."""
    r = migrated(school)
    expected = photo_hashes(r)
    link = tmp_path / "photos-link"
    os.symlink(school.photos, link)
    result = school.migrate("--clean", "--confirm", "--json", PHOTO_DIR=str(link))
    assert_nothing_lost(school, expected)
    assert result.code == 0, result.text[-800:]
    assert not school.folder(r.old_id("a")).exists()


def test_clean_right_after_the_migration_was_undone_keeps_the_old_folders(school):
    """PROBE."""
    r = migrated(school)
    expected = photo_hashes(r)
    last = school.migrate("--history", "--json")
    run_id = [x for x in last.json["runs"] if x.get("action") == "migrate"][-1]["run_id"] \
        if isinstance(last.json.get("runs"), list) else None
    assert run_id, last.text[:800]
    assert school.migrate("--undo", run_id, "--json").code == 0
    school.migrate("--clean", "--confirm", "--json")
    assert_nothing_lost(school, expected)
    assert school.folder(r.old_id("a")).is_dir() and school.folder(r.old_id("b")).is_dir()


# ---------------------------------------------------------------- quarantine, then the place is taken
def test_undo_of_a_quarantine_when_the_place_is_occupied_keeps_both(school):
    """PROBE: the app saved a new photo where a quarantined one was; undo leaves both, exit 1."""
    a, b = school.new_student("Ann Ames"), school.new_student("Bea Bond")
    school.put_photo(a["student_id"], jpeg_bytes("one face"))
    school.put_photo(b["student_id"], jpeg_bytes("one face"))
    school.seed([a, b])
    school.write_backup([a, b])
    q = school.restore("--deep", "--quarantine", "--json")
    school.put_photo(a["student_id"], jpeg_bytes("new upload for Ann"))
    expected = all_bytes(school)
    u = school.restore("--undo", q.json["run_id"], "--json")
    assert_nothing_lost(school, expected)
    assert school.photo_of(a["student_id"]) == jpeg_bytes("new upload for Ann")
    assert u.code == 1


def test_undo_of_a_quarantine_never_follows_a_folder_swapped_for_a_symlink(school):
    """PROBE: after the quarantine, Ann's folder became a symlink to Cai's (a third child, no photo): undo must not
    put the photo into Cai's folder."""
    a, b, c = school.new_student("Ann Ames"), school.new_student("Bea Bond"), school.new_student("Cai Cole")
    school.put_photo(a["student_id"], jpeg_bytes("one face"))
    school.put_photo(b["student_id"], jpeg_bytes("one face"))
    (school.folder(c["student_id"]) / "attendance").mkdir(parents=True)
    school.seed([a, b, c])
    school.write_backup([a, b, c])
    q = school.restore("--deep", "--quarantine", "--json")
    assert q.code == 1, q.text[-800:]
    fa, fc = school.folder(a["student_id"]), school.folder(c["student_id"])
    assert not (fa / "profile.jpg").exists(), q.text[-800:]
    os.rename(fa, school.students_dir / ".ann-aside")
    os.symlink(fc, fa)
    u = school.restore("--undo", q.json["run_id"], "--json")
    assert not (fc / "profile.jpg").exists(), "a photo put back through a symlink into another child's folder"
    assert u.code == 1


# ---------------------------------------------------------------- one folder mounted in two places
def _bind(src, dst) -> bool:
    import subprocess
    return subprocess.run(["mount", "--bind", str(src), str(dst)], capture_output=True).returncode == 0


def _unbind(dst) -> None:
    import subprocess
    subprocess.run(["umount", str(dst)], capture_output=True)


def test_undo_of_a_migration_whose_cleaned_old_folder_is_now_the_students_folder_mounted_again(school):
    """FINDING: migrate OLD -> NEW, clean removes OLD; to keep the app's old URLs working an admin bind-mounts NEW at
    the old path (the mount-twice case the clean guards against). Undo of the migration finds each 'source'
    OLD/x byte-identical (it is the very same file) and removes NEW/x: the photo is gone from both names.
    The undo must treat a source that is the placed file itself (same device and inode) as no copy."""
    import pytest
    r = migrated(school)
    runs = school.migrate("--history", "--json").json["runs"]
    run_id = [x for x in runs if x.get("action") == "migrate"][-1]["run_id"]
    assert school.migrate("--clean", "--confirm", "--json").code == 0
    old, new = school.folder(r.old_id("a")), school.folder(r.new_id("a"))
    assert not old.exists()
    old.mkdir()
    if not _bind(new, old):
        pytest.skip("bind mounts need root")
    try:
        undo = school.migrate("--undo", run_id, "--json")
        after = files_of(new)
    finally:
        _unbind(old)
    assert after.get("profile.jpg") == r.photos["a"], \
        f"Kid A's only photo is gone (undo exit {undo.code}): {undo.text[-800:]}"


# ---------------------------------------------------------------- the 'source' is now another child's folder
def test_undo_never_leaves_a_childs_photo_only_in_another_childs_folder(school):
    """FINDING: ids are numbers and get recycled. Migrate 1001 -> Kid A's new id; a second reseed gives 1001 to Zoe
    Zed (another child). Undo of the migration removes Kid A's copies because 'the source' students/1001/... still
    holds those bytes, but that folder is now Zoe's: Kid A's photo is left only in the wrong child's folder (and a
    --deep --quarantine moves it out of there too). The source must still be an old folder (not a current student's
    whom a backup says was someone else) for the placed copy to go."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1, old_id="1001")
    r.commit()
    run = school.migrate("--migrate", "--json")
    assert run.code == 0, run.text
    school.write_backup(list(r.new.values()), name="seed_backup_20251201_0000.json")
    zoe = {"student_id": "1001", "name": "Zoe Zed", "date_of_birth": "2016-06-06", "photo": None}
    school.seed([zoe])

    undo = school.migrate("--undo", run.json["run_id"], "--json")

    assert school.photo_of(r.new_id("a")) == r.photos["a"], \
        f"Kid A's photo now exists only in Zoe Zed's folder 1001 (undo exit {undo.code})"


def test_clean_never_removes_an_old_folder_whose_id_is_current_again(school):
    """PROBE: migrate 1001 -> Kid A's new id, then a second reseed gives 1001 to Zoe Zed: 1001 is a current student's
    folder again (holding Kid A's photos), never an orphan to clean."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1, old_id="1001")
    r.commit()
    assert school.migrate("--migrate").code == 0
    school.write_backup(list(r.new.values()), name="seed_backup_20251201_0000.json")
    school.seed([{"student_id": "1001", "name": "Zoe Zed", "date_of_birth": "2016-06-06", "photo": None}])
    expected = photo_hashes(r)
    result = school.migrate("--clean", "--confirm", "--json")
    assert_nothing_lost(school, expected)
    assert school.photo_of("1001") == r.photos["a"], result.text[-800:]
    assert school.photo_of(r.new_id("a")) == r.photos["a"]


def test_history_names_the_clean_and_its_undo_says_nothing_to_take_back(school):
    """PROBE: the clean is journalled (one 'removed' line per folder) and listed; its undo changes nothing."""
    migrated(school)
    clean = school.migrate("--clean", "--confirm", "--json")
    assert clean.code == 0, clean.text[-800:]
    runs = school.migrate("--history", "--json").json["runs"]
    cleans = [x for x in runs if x.get("action") == "clean"]
    assert len(cleans) == 1 and cleans[0]["changes"] == 2 and cleans[0]["complete"], runs
    before = all_bytes(school)
    undo = school.migrate("--undo", cleans[0]["run_id"], "--json")
    assert undo.code == 0 and all_bytes(school) == before


# ---------------------------------------------------------------- round 5 mends: the inputs next to the findings
def test_a_killed_clean_is_named_by_list_and_put_back_by_the_next_clean(school):
    """MEND: a .deleting-* folder whose old path is free: --list (which changes nothing) names it (exit 1); the next
    --clean --confirm puts it back and, the folder being a fresh copy of the student's, goes on as usual."""
    from student_photos import migrate as mig
    r = migrated(school)
    old = school.folder(r.old_id("a"))
    aside = school.students_dir / f"{mig.DELETING_PREFIX}{r.old_id('a')}.0badf00d"
    os.rename(old, aside)
    listing = school.migrate("--list", "--json")
    assert listing.code == 1 and any(aside.name in text for text in listing.json["set_aside"]), listing.text[-800:]
    assert aside.is_dir() and not old.exists()  # --list changes nothing
    clean = school.migrate("--clean", "--confirm", "--json")
    assert clean.json["set_aside"] == [] and not aside.exists(), clean.text[-800:]
    assert school.photo_of(r.new_id("a")) == r.photos["a"]


def test_undo_keeps_a_placed_file_hard_linked_as_its_source(school):
    """MEND (no root needed): after the clean, a person re-made the old folder by hard-linking the student's photo
    into it. The 'source' is the placed file itself: the undo leaves it (exit 1)."""
    r = migrated(school)
    runs = school.migrate("--history", "--json").json["runs"]
    run_id = [x for x in runs if x.get("action") == "migrate"][-1]["run_id"]
    assert school.migrate("--clean", "--confirm", "--json").code == 0
    old, new = school.folder(r.old_id("a")), school.folder(r.new_id("a"))
    old.mkdir()
    os.link(new / "profile.jpg", old / "profile.jpg")
    undo = school.migrate("--undo", run_id, "--json")
    assert school.photo_of(r.new_id("a")) == r.photos["a"], undo.text[-800:]
    assert undo.code == 1 and any("very file" in x for x in undo.json["left"]), undo.text[-800:]


def test_undo_with_a_wrong_database_removes_nothing(school):
    """MEND: the undo of a migration must know whose folders the sources are in; a database with no students (a
    wrong DB_NAME) cannot tell it, so it stops (exit 2) before any change."""
    r = migrated(school)
    runs = school.migrate("--history", "--json").json["runs"]
    run_id = [x for x in runs if x.get("action") == "migrate"][-1]["run_id"]
    expected = all_bytes(school)
    school.collection.delete_many({})
    undo = school.migrate("--undo", run_id, "--json")
    assert undo.code == 2 and "Traceback" not in undo.err, undo.text[-800:]
    assert all_bytes(school) == expected and school.photo_of(r.new_id("a")) == r.photos["a"]


def test_a_second_migration_never_sweeps_a_carried_photo_named_like_a_temporary(school):
    """MEND: migrate carries a photo named like the tool's temporary; the app then saves a new photo in the old
    folder, and the next --migrate sweeps the student's attendance/ before copying it: the carried photo stays."""
    r = Reseed(school)
    r.child("a", "Kid A", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    name = ".2025-11-03_AM.jpg.4242-0.partial"
    odd = school.folder(r.old_id("a")) / "attendance" / name
    odd.write_bytes(jpeg_bytes("a whole photo under a temporary-looking name"))
    assert school.migrate("--migrate", "--json").code == 0
    placed = school.folder(r.new_id("a")) / "attendance" / name
    assert placed.exists()
    (school.folder(r.old_id("a")) / "attendance" / "2025-12-01_AM.jpg").write_bytes(jpeg_bytes("saved later"))
    again = school.migrate("--migrate", "--json")
    assert placed.read_bytes() == odd.read_bytes(), again.text[-800:]


def test_the_nightly_verify_names_a_folder_a_clean_moved_aside(school):
    """The restore (and its cron --verify-only) never says all done while a clean's folder sits aside, hidden: the
    photos in it may exist nowhere else."""
    from student_photos import migrate as mig
    r = migrated(school)
    old = school.folder(r.old_id("a"))
    aside = school.students_dir / f"{mig.DELETING_PREFIX}{r.old_id('a')}.0badf00d"
    os.rename(old, aside)  # a clean killed right after moving it aside
    assert school.restore("--json").code in (0, 1)  # links and folders made, as after any migrate
    verify = school.restore("--verify-only", "--json")
    assert verify.code == 1, verify.text
    assert aside.name in verify.text and aside.is_dir()
