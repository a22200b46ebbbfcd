"""restore --deep: photos already on the wrong child, found by content; --quarantine moves them aside; --undo."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_migrate import RIVAL_WHY, Reseed

from conftest import School, drop_dac_capabilities
from student_photos.sample import jpeg_bytes


def order_migrated_school(school: School) -> Reseed:
    """The design document's migration: folders paired with students by sort order, so children wear each
    other's photos. Folder names (old ids) sort differently from the children's names."""
    r = Reseed(school)
    for key, name, dob, old_id in (("a", "Amy Adams", "2015-01-01", "z-old"), ("b", "Ben Brown", "2015-02-02", "x-old"),
                                   ("c", "Cal Cole", "2015-03-03", "y-old")):
        r.child(key, name, date_of_birth=dob, attendance=1, old_id=old_id)  # folders sort x, y, z: Ben, Cal, Amy
    r.commit()
    assert school.migrate("--migrate", "--match", "order").code in (0, 1)
    return r


def wearers(school: School, r: Reseed) -> dict[str, str]:
    """Whose photo each current child holds (decoded from the bytes)."""
    found = {}
    for key in r.new:
        data = school.photo_of(r.new_id(key))
        found[key] = next((k for k, v in r.photos.items() if v == data), None)
    return found


def test_deep_finds_an_order_based_migration_and_the_plain_restore_links_none_of_it(school):
    """--deep finds every photo the sort order gave to the wrong child. The plain restore, which reads no photo's
    bytes, still reads the journal: the files the migration placed from another person get no link, and the
    plain --verify-only says so (round 15b: it linked them and said all was well)."""
    r = order_migrated_school(school)
    wrong = {k for k, v in wearers(school, r).items() if v != k}
    assert wrong, "the sort order must have mixed them up for this test to mean anything"
    restored = school.restore("--json")
    assert restored.code == 1, restored.text
    links = {sid: doc.get("photo") for sid, doc in school.db_docs().items()}
    assert all(links[r.new_id(k)] is None for k in wrong), links

    plain = school.restore("--verify-only", "--json")
    deep = school.restore("--verify-only", "--deep", "--json")

    assert plain.code == 1, plain.text
    assert {p["student_id"] for p in plain.json["problems"] if p["problem"] == "wrong child"} == \
        {r.new_id(k) for k in wrong}
    assert deep.code == 1
    flagged = {p["student_id"] for p in deep.json["problems"] if p["problem"] == "wrong child"}
    assert flagged == {r.new_id(k) for k in wrong}
    finding = next(f for f in deep.json["deep"] if f["kind"] == "photo of an orphan of another person")
    assert "its old record is another current student's" in finding["evidence"]
    assert deep.json["summary"]["wrong_child"] == len(wrong)
    text = school.restore("--verify-only", "--deep")
    assert "❌ Photos that look like another child's (--deep):" in text.out and "wrong child" in text.out


def test_quarantine_moves_them_aside_never_deletes_and_undo_brings_them_back(school):
    r = order_migrated_school(school)
    school.restore()
    wrong = {k for k, v in wearers(school, r).items() if v != k}
    links_before = {sid: d["photo"] for sid, d in school.db_docs().items()}
    held = {k: school.photo_of(r.new_id(k)) for k in wrong}

    result = school.restore("--deep", "--quarantine", "--json")

    assert result.code == 1
    run_id = result.json["run_id"]
    for key in wrong:
        assert school.photo_of(r.new_id(key)) is None, "taken out of the child's folder"
        quarantined = school.photos / ".student-photos" / "quarantine" / run_id / "students" / r.new_id(key)
        assert (quarantined / "profile.jpg").read_bytes() == held[key], "kept, never deleted"
    assert {sid: d["photo"] for sid, d in school.db_docs().items()} == links_before, "the database is not touched"
    assert result.json["summary"]["quarantined"] >= len(wrong)

    undo = school.restore("--undo", run_id, "--json")

    assert undo.code == 0, undo.text
    for key in wrong:
        assert school.photo_of(r.new_id(key)) == held[key]


def test_the_same_photo_under_two_current_students(school):
    a, b, c = (school.new_student(n) for n in ("Ann", "Bea", "Cid"))
    school.put_photo(a["student_id"], jpeg_bytes("ann"))
    school.put_photo(b["student_id"], jpeg_bytes("ann"))  # copied by hand into the wrong folder
    school.put_photo(c["student_id"], jpeg_bytes("cid"))
    school.seed([a, b, c])
    school.write_backup([a, b, c])

    result = school.restore("--verify-only", "--deep", "--json")

    assert result.code == 1
    (finding,) = result.json["deep"]
    assert finding["kind"] == "same photo under two students"
    assert sorted(finding["students"]) == sorted([a["student_id"], b["student_id"]])
    assert "Ann" in finding["evidence"] and "Bea" in finding["evidence"]


def test_a_migration_by_identity_is_not_a_finding_and_a_rerun_hashes_nothing_new(school):
    r = Reseed(school)
    for i in range(4):
        r.child(f"k{i}", f"Kid {i}", date_of_birth=f"2015-01-0{i + 1}", attendance=2)
    r.commit()
    assert school.migrate("--migrate").code == 0
    assert school.restore().code == 0

    first = school.restore("--verify-only", "--deep", "--json")
    second = school.restore("--verify-only", "--deep", "--json")

    assert first.code == 0 and first.json["deep"] == [], first.text
    assert first.json["deep_check"]["hashed"] >= 8, "copies and their orphans share sizes: they are hashed"
    assert second.code == 0 and second.json["deep_check"]["hashed"] == 0, "the hash cache answers a rerun"
    photo = school.folder(r.new_id("k0")) / "profile.jpg"
    photo.write_bytes(jpeg_bytes("the real face of kX"))  # same size as the others, other bytes
    third = school.restore("--verify-only", "--deep", "--json")
    assert third.json["deep_check"]["hashed"] == 1 and third.json["deep"] == []


def test_a_journalled_placement_from_another_person_is_found(school):
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01")
    r.commit()
    assert school.migrate("--migrate").code == 0
    # The database record of that id is now somebody else (ids recycled, or the record overwritten).
    school.collection.update_one({"student_id": r.new_id("kid")}, {"$set": {"name": "Other Child",
                                                                           "date_of_birth": "2016-06-06"}})
    result = school.restore("--verify-only", "--deep", "--json")
    kinds = {f["kind"] for f in result.json["deep"]}
    assert "placed from another person" in kinds, result.json["deep"]
    assert result.code == 1


def test_deep_and_quarantine_flags_are_checked_by_the_parser(school):
    for args in (["--quarantine"], ["--verify-only", "--deep", "--quarantine"]):
        with pytest.raises(SystemExit) as stopped:
            school.restore(*args)
        assert stopped.value.code == 2


def test_quarantine_keeps_the_copy_a_journalled_migration_proves_rightful(school):
    """Found by a new administrator: Liam's own photo, migrated by identity, copied by hand to a newcomer."""
    r = Reseed(school)
    r.child("liam", "Liam Smith", date_of_birth="2015-01-01")
    r.commit()
    assert school.migrate("--migrate").code == 0
    newcomer = school.new_student("Newcomer Kid")
    school.seed([newcomer])
    school.put_photo(newcomer["student_id"], school.photo_of(r.new_id("liam")))

    result = school.restore("--deep", "--quarantine", "--json")

    finding = next(f for f in result.json["deep"] if f["kind"] == "same photo under two students")
    assert finding["kept_with"] == [r.new_id("liam")]
    assert school.photo_of(r.new_id("liam")) == r.photos["liam"], "the rightful copy stays"
    assert school.photo_of(newcomer["student_id"]) is None, "the hand-copied one goes aside"


def test_deep_copes_with_names_that_are_not_utf8_and_keeps_its_folder_private(school):
    import os
    import stat
    healthy = school.new_student("Healthy")
    school.put_photo(healthy["student_id"])
    school.seed([healthy])
    school.write_backup([healthy])
    odd = os.fsencode(str(school.students_dir)) + b"/bad\xff"
    os.mkdir(odd)
    with open(odd + b"/profile.jpg", "wb") as handle:
        handle.write(school.photo_of(healthy["student_id"]))  # and the same photo as a current student's
    with open(os.fsencode(str(school.folder(healthy["student_id"]))) + b"/attendance/caf\xe9.jpg", "wb") as handle:
        handle.write(jpeg_bytes("odd name"))

    result = school.restore("--verify-only", "--deep", "--json")

    assert result.code == 1, result.text
    assert any("bad\\xff" in f["evidence"] for f in result.json["deep"])
    tool = school.photos / ".student-photos"
    assert stat.S_IMODE(os.stat(tool).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tool / "hash-cache.sqlite3").st_mode) == 0o600


def test_recycled_ids_are_found_and_quarantined(school):
    """Found by a new administrator: a reseed that reuses ids 1, 2, 3 for other children."""
    emma, olivia = (school.new_student(n, date_of_birth=d, student_id=i) for n, d, i in
                    (("Emma", "2015-01-01", "1"), ("Olivia", "2016-02-02", "2")))
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.put_photo("2", jpeg_bytes("olivia's face"))
    school.write_backup([emma, olivia])
    school.seed([{**olivia, "student_id": "1"}, {**emma, "student_id": "2"}])  # the ids changed hands

    found = school.restore("--verify-only", "--deep", "--json")

    kinds = {(f["kind"], tuple(f["students"])) for f in found.json["deep"]}
    assert kinds == {("folder of an earlier owner (ids recycled)", ("1",)),
                     ("folder of an earlier owner (ids recycled)", ("2",))}
    assert found.code == 1
    moved = school.restore("--deep", "--quarantine", "--json")
    assert school.photo_of("1") is None and school.photo_of("2") is None, "no child shows another's face"
    assert moved.json["summary"]["quarantined"] == 2  # each folder's profile


def test_a_namesake_who_left_is_not_proof_that_the_photo_is_the_childs_own(school):
    """The old folder's record has only the name; the current child has a birth date: migrate would not pair them
    (a pupil who left and a newcomer can share a name), so a byte-identical photo is a finding too."""
    left = {"student_id": "old-sam", "name": "Sam Taylor", "photo": "/api/photos/students/old-sam/profile.jpg"}
    sam = {**school.new_student("Sam Taylor"), "date_of_birth": "2016-01-01"}
    school.put_photo("old-sam", jpeg_bytes("sam who left"))
    school.put_photo(sam["student_id"], jpeg_bytes("sam who left"))
    school.write_backup([left])
    school.seed([sam])

    result = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")

    assert result.code == 1, result.text
    (finding,) = result.json["deep"]
    assert finding["kind"] == "photo of an orphan of another person"
    assert finding["students"] == [sam["student_id"]] and "only the name agrees" in finding["evidence"]


def test_rows_are_inserted_in_statements_of_many_rows_and_none_is_lost():
    import sqlite3

    from student_photos.deep import insert_rows
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE t (a, b, c)")
    db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10) if hasattr(db, "setlimit") else None  # 3 rows a statement
    rows = [(i, f"name {i}".encode("utf-8", "surrogateescape"), None) for i in range(1001)]
    insert_rows(db, "INSERT INTO t (a, b, c)", 3, rows)
    assert db.execute("SELECT a, b, c FROM t ORDER BY a").fetchall() == rows


def test_the_hash_cache_never_hides_a_photo_replaced_with_its_old_times(school):
    """cp --preserve=timestamps puts another child's photo in place with the old mtime: the ctime still moves,
    so the cache misses and the duplicate is found."""
    a, b = school.new_student("Ann"), school.new_student("Bea")
    school.put_photo(a["student_id"], jpeg_bytes("ann 1"))
    school.put_photo(b["student_id"], jpeg_bytes("bea 1"))
    school.seed([a, b])
    school.write_backup([a, b])
    assert school.restore("--verify-only", "--deep", "--json").json["deep"] == []

    target = school.folder(b["student_id"]) / "profile.jpg"
    times = target.stat()
    target.write_bytes((school.folder(a["student_id"]) / "profile.jpg").read_bytes())
    os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))
    result = school.restore("--verify-only", "--deep", "--json")

    assert result.code == 1
    assert [f["kind"] for f in result.json["deep"]] == ["same photo under two students"]


def test_a_file_that_changes_while_it_is_read_is_neither_cached_nor_compared(tmp_path, monkeypatch):
    from student_photos import deep
    photo = tmp_path / "profile.jpg"
    photo.write_bytes(jpeg_bytes("before"))
    real = deep.sha256_fd

    def read_while_the_app_writes(fd, *size):
        digest = real(fd, *size)
        with open(photo, "ab") as out:
            out.write(b"more")
        return digest

    monkeypatch.setattr(deep, "sha256_fd", read_while_the_app_writes)
    sha, _ = deep.hash_unchanged(str(photo), os.lstat(photo))
    assert sha is None
    monkeypatch.setattr(deep, "sha256_fd", real)
    sha, info = deep.hash_unchanged(str(photo), os.lstat(photo))
    assert sha is not None and info.st_size == photo.stat().st_size


def test_deep_finds_two_students_sharing_one_file_by_hard_link(school):
    a, b = (school.new_student(n) for n in ("Ann", "Bea"))
    school.put_photo(a["student_id"], jpeg_bytes("ann"))
    school.put_photo(b["student_id"], b"")
    os.unlink(school.folder(b["student_id"]) / "profile.jpg")
    os.link(school.folder(a["student_id"]) / "profile.jpg", school.folder(b["student_id"]) / "profile.jpg")
    school.seed([a, b])
    school.write_backup([a, b])
    result = school.restore("--verify-only", "--deep", "--json")
    assert result.code == 1
    assert any(f["kind"] == "same photo under two students" for f in result.json["deep"])


def test_a_photo_from_an_old_folder_that_fits_two_namesakes_is_a_finding(school):
    """Found by an adversarial review: the old record (name and birth date only) is proven the same as each of
    two current Ann Lees, who differ only by a student number it lacks; migrate calls it ambiguous, so a deep
    check must not take its photo on Ann A as hers."""
    old = {"student_id": "old-ann", "name": "Ann Lee", "date_of_birth": "2015-03-04",
           "photo": "/api/photos/students/old-ann/profile.jpg"}
    a = school.new_student("Ann Lee", date_of_birth="2015-03-04", student_number="1001")
    b = school.new_student("Ann Lee", date_of_birth="2015-03-04", student_number="1002")
    school.put_photo("old-ann", jpeg_bytes("an ann lee who left"))
    school.put_photo(a["student_id"], jpeg_bytes("an ann lee who left"))
    school.put_photo(b["student_id"], jpeg_bytes("ann b"))
    school.write_backup([old])
    school.seed([a, b])
    assert school.migrate("--list", "--json").json["orphans"][0]["decision"] == "ambiguous"

    result = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")

    assert result.code == 1, result.text
    (finding,) = result.json["deep"]
    assert finding["kind"] == "photo of an orphan of another person" and finding["students"] == [a["student_id"]]


def test_deep_compares_every_file_of_a_folder_whatever_its_name(school):
    """Found by an adversarial review: --deep looked only at profile.jpg and attendance/, so a photo kept as
    Profile.JPG (copied from Windows) or in a subfolder was never compared."""
    bob_old = {"student_id": "old-bob", "name": "Bob Ray", "date_of_birth": "2014-02-02",
               "photo": "/api/photos/students/old-bob/profile.jpg"}
    ann = school.new_student("Ann Lee", date_of_birth="2015-03-04")
    cat = school.new_student("Cat Wu", date_of_birth="2015-06-06")
    (school.folder("old-bob")).mkdir(parents=True)
    (school.folder("old-bob") / "Profile.JPG").write_bytes(jpeg_bytes("bob's face"))
    school.put_photo(ann["student_id"], jpeg_bytes("bob's face"))
    school.put_photo(cat["student_id"], jpeg_bytes("cat"))
    (school.folder(cat["student_id"]) / "old").mkdir()
    (school.folder(cat["student_id"]) / "old" / "profile.jpg").write_bytes(jpeg_bytes("cat's own old photo"))
    (school.folder(ann["student_id"]) / "old").mkdir()
    (school.folder(ann["student_id"]) / "old" / "profile.jpg").write_bytes(jpeg_bytes("cat's own old photo"))
    school.write_backup([bob_old])
    school.seed([ann, cat])

    result = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")

    assert result.code == 1, result.text
    kinds = sorted((f["kind"], tuple(f["students"])) for f in result.json["deep"])
    assert kinds == sorted([("photo of an orphan of another person", (ann["student_id"],)),
                            ("same photo under two students", tuple(sorted([ann["student_id"], cat["student_id"]])))])
    evidence = " ".join(" ".join(f["files"]) for f in result.json["deep"])
    assert "students/old-bob/Profile.JPG" in evidence and f"students/{cat['student_id']}/old/profile.jpg" in evidence


def test_what_deep_cannot_look_at_is_never_all_done(school):
    """Found by an adversarial review: a symlink inside attendance/ to another child's photo, and a subfolder
    that cannot be read, were skipped without a word (exit 0)."""
    amy = school.new_student("Amy Ash", date_of_birth="2015-01-01")
    ben = school.new_student("Ben Bell", date_of_birth="2015-02-02")
    school.put_photo(amy["student_id"])
    school.put_photo(ben["student_id"], jpeg_bytes("ben"))
    school.seed([amy, ben])
    school.write_backup([amy, ben])
    clean = school.restore("--verify-only", "--deep", "--json")
    assert clean.code == 0, clean.text
    os.symlink(school.folder(ben["student_id"]) / "profile.jpg",
               school.folder(amy["student_id"]) / "attendance" / "2025-01-02_AM.jpg")

    result = school.restore("--verify-only", "--deep", "--json")

    assert result.code == 1, result.text
    (finding,) = result.json["deep"]
    assert finding["kind"] == "could not be compared" and finding["students"] == [amy["student_id"]]
    assert "a symlink, never followed" in finding["evidence"]
    assert school.restore("--deep", "--quarantine").code == 1
    assert os.path.islink(school.folder(amy["student_id"]) / "attendance" / "2025-01-02_AM.jpg"), "never moved"


def test_an_orphaned_folder_that_cannot_be_read_is_a_problem_too(school):
    amy = school.new_student("Amy Ash", date_of_birth="2015-01-01")
    school.put_photo(amy["student_id"])
    school.put_photo("old-x", jpeg_bytes("someone"))
    hidden = school.folder("old-x") / "attendance" / "2024"
    hidden.mkdir()
    (hidden / "a.jpg").write_bytes(jpeg_bytes("amy's face?"))
    school.write_backup([{"student_id": "old-x", "name": "Xavier Old"}, amy])
    school.seed([amy])
    result = deep_check_with(school, hidden, 0)

    assert result.code == 1, result.text
    (finding,) = result.json["deep"]
    assert finding["kind"] == "could not be compared" and "could not be read" in finding["evidence"]


@pytest.mark.parametrize("kind", ["unnamed", "disputed"])
def test_a_photo_from_an_old_folder_when_another_old_folder_fits_too_is_a_finding(school, kind):
    """Found by reviews: the deep check asks the restore whether an old folder's photo is the child's own. An old
    folder whose record has no usable name (a Cherokee Ꭺ in "Amy Smith"), or whose backups disagree about who it
    was (once "Amy Smith", once "Bob Ray"), with Amy's birth date could be hers too, so the photo from Amy's old
    folder is not proven hers. With a differing birth date it is."""
    old_amy = {"student_id": "old-amy", "name": "Amy Smith", "date_of_birth": "2015-03-04",
               "photo": "/api/photos/students/old-amy/profile.jpg"}
    old_x = {"student_id": "old-x", "name": "\u13aamy Smith" if kind == "unnamed" else "Amy Smith",
             "date_of_birth": "2015-03-04", "photo": "/api/photos/students/old-x/profile.jpg"}
    amy = school.new_student("Amy Smith", date_of_birth="2015-03-04")
    school.put_photo("old-amy", jpeg_bytes("an amy smith"))
    school.put_photo("old-x", jpeg_bytes("somebody"))
    school.put_photo(amy["student_id"], jpeg_bytes("an amy smith"))
    school.write_backup([old_amy, old_x])
    if kind == "disputed":
        school.write_backup([{**old_x, "name": "Bob Ray", "date_of_birth": None}],
                            name="seed_backup_20240101_0000.json")
    school.seed([amy])

    result = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")

    assert result.code == 1, result.text
    (finding,) = result.json["deep"]
    assert finding["kind"] == "photo of an orphan of another person" and finding["students"] == [amy["student_id"]]
    assert f"old folder old-x, {RIVAL_WHY[kind]}, fits this student too" in finding["evidence"]

    school.write_backup([old_amy, {**old_x, "date_of_birth": "2016-06-06"}])
    assert school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0").json["deep"] == []


def test_deep_never_says_all_done_over_a_student_folder_it_could_not_list(school: School):
    """Amy's folder is mode 0o111 (search, no read): the folder check (by path) finds profile.jpg and attendance/
    in order, but the deep listing cannot open the folder and lists nothing, silently. Ben holds a copy of Amy's
    photo: the very 'same photo under two students' --deep exists to find."""
    amy = school.new_student("Amy Ash", date_of_birth="2015-01-01")
    ben = school.new_student("Ben Bell", date_of_birth="2015-02-02")
    school.put_photo(amy["student_id"], jpeg_bytes("amy"))
    school.put_photo(ben["student_id"], jpeg_bytes("amy"))  # Amy's photo on Ben
    school.seed([amy, ben])
    school.write_backup([amy, ben])
    folder = school.folder(amy["student_id"])
    result = deep_check_with(school, folder, 0o111)
    assert result.code == 1, result.text
    assert any(f["kind"] == "could not be compared" and f["students"] == [amy["student_id"]]
               for f in result.json["deep"]), f"nothing said about Amy's unlisted folder: {result.text}"


def test_deep_never_lists_through_a_symlinked_student_folder(school: School):
    """Amy's folder is a symlink to a folder outside the photo root: the check says so, but --deep lists (and
    --quarantine moves) through it."""
    amy = school.new_student("Amy Ash", date_of_birth="2015-01-01")
    ben = school.new_student("Ben Bell", date_of_birth="2015-02-02")
    school.put_photo(ben["student_id"], jpeg_bytes("ben"))
    outside = school.root / "outside"
    (outside / "attendance").mkdir(parents=True)
    (outside / "profile.jpg").write_bytes(jpeg_bytes("ben"))
    os.symlink(outside, school.folder(amy["student_id"]))
    school.seed([amy, ben])
    school.write_backup([amy, ben])
    result = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")
    assert result.code == 1 and not any(f["kind"] == "same photo under two students" for f in result.json["deep"])
    assert any("a symlink" in f["evidence"] for f in result.json["deep"]), result.text
    school.restore("--deep", "--quarantine", MIN_DATABASE_RATIO="0")
    assert (outside / "profile.jpg").exists(), "moved a file outside the photo root through a symlink"


def deep_check_with(school: School, folder, mode: int):
    """A --verify-only --deep run while ``folder`` has ``mode``, as a user without CAP_DAC_OVERRIDE."""
    os.chmod(folder, mode)
    try:
        return school.subprocess("restore_student_photos", "--verify-only", "--deep", "--json",
                                 preexec_fn=drop_dac_capabilities, MIN_DATABASE_RATIO="0")
    finally:
        os.chmod(folder, 0o755)


def two_children_one_photo(school: School) -> tuple[dict, dict, bytes]:
    """Amy and Ben hold the very same profile photo: the finding 'same photo under two students'."""
    amy = school.new_student("Amy Ash", date_of_birth="2015-01-01")
    ben = school.new_student("Ben Bell", date_of_birth="2015-02-02")
    shared = jpeg_bytes("one photo, two children")
    school.put_photo(amy["student_id"], shared)
    school.put_photo(ben["student_id"], shared)
    school.seed([amy, ben])
    school.write_backup([amy, ben])
    return amy, ben, shared


def test_quarantine_never_moves_through_a_folder_swapped_for_a_symlink_meanwhile(school, monkeypatch):
    """Found in review: quarantine checked that a photo's folder was reached without a symlink, then moved the
    photo by path. A folder swapped for a symlink between the two (here: while quarantine makes its own
    folder) sent a file from outside the photo root into quarantine, and left the child's photo in place."""
    from student_photos import deep

    amy, ben, shared = two_children_one_photo(school)
    outside = school.root / "outside"
    outside.mkdir()
    (outside / "profile.jpg").write_bytes(shared)  # the same bytes: only where it is differs
    real = {sid: school.folder(sid) for sid in (amy["student_id"], ben["student_id"])}
    swapped = []
    make_private_dir = deep.make_private_dir

    def swap_then_make(path):
        sid = next((sid for sid in real if str(path).endswith(f"/students/{sid}")), None)
        if sid is not None and not swapped:  # that photo's folder becomes a symlink to outside/, once checked
            os.rename(real[sid], real[sid].with_name(f"{sid}.moved"))
            os.symlink(outside, real[sid])
            swapped.append(sid)
        make_private_dir(path)

    monkeypatch.setattr(deep, "make_private_dir", swap_then_make)
    result = school.restore("--deep", "--quarantine", "--json")

    assert swapped, f"the quarantine never got as far as its folder: the test means nothing\n{result.text}"
    assert (outside / "profile.jpg").read_bytes() == shared, "a file outside the photo root was moved"
    moved_folder = real[swapped[0]].with_name(f"{swapped[0]}.moved")
    assert not (moved_folder / "profile.jpg").exists(), "the child's own photo, in the folder opened, was not moved"


# ---- a rerun lists in a child process: it must see exactly what an in-process listing sees
_NAMES = st.sampled_from(["profile.jpg", "Profile.JPG", "a.jpg", "b b.jpg", "Thumbs.db", "._x", ".hidden",
                          "\udcff\udcfe.jpg", "x\ny.jpg", "attendance", "2024", "ü.jpg"])
_KINDS = st.sampled_from(["file", "empty", "dir", "symlink", "fifo", "unreadable dir"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.lists(st.tuples(st.sampled_from(["s1", "s2", "old-x", "\udcff-odd", ".tool", "s3"]),
                               st.lists(st.tuples(_NAMES, _KINDS, _NAMES), max_size=6)), max_size=6))
def test_the_rerun_listing_process_sees_exactly_what_an_in_process_listing_sees(tmp_path_factory, tree):
    from student_photos import deep
    students = tmp_path_factory.mktemp("t") / "students"
    students.mkdir()
    for folder, entries in tree:
        top = students / folder
        top.mkdir(exist_ok=True)
        for name, kind, inner in entries:
            path = top / name
            if os.path.lexists(path):
                continue
            if kind == "file":
                path.write_bytes(jpeg_bytes(ascii(f"{folder}/{name}")))
            elif kind == "empty":
                path.write_bytes(b"")
            elif kind in ("dir", "unreadable dir"):
                path.mkdir()
                (path / inner).write_bytes(jpeg_bytes(ascii(f"{folder}/{name}/{inner}")))
                if kind == "unreadable dir":
                    path.chmod(0)
            elif kind == "symlink":
                path.symlink_to(students / "s1")
            else:
                os.mkfifo(path)
    (students / "a-file").write_bytes(b"not a folder")
    (students / "linked").symlink_to(students / "s1")
    try:
        names = deep.listed_names(str(students))
        expected_rows, expected_skipped = set(), set()
        for name in names:
            skipped: list = []
            expected_rows |= set(deep.folder_rows(str(students), name, False, skipped))
            expected_skipped |= {(name, rel, why) for rel, why in skipped}
        out = tmp_path_factory.mktemp("o") / "listing.sqlite3"
        assert deep.list_apart(str(students), str(out), str(os.getppid())) == 0
        import sqlite3
        with contextlib.closing(sqlite3.connect(out)) as db:
            rows = set(db.execute("SELECT * FROM files"))
            skipped_rows = {(deep._s(f), deep._s(r), deep._s(w)) for f, r, w in db.execute("SELECT * FROM unlisted")}
            assert db.execute("SELECT folders FROM done").fetchone() == (len(names),)
        assert rows == expected_rows and skipped_rows == expected_skipped
    finally:
        for path in students.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)


def messy_deep_school(school: School) -> None:
    """Every kind of finding a deep check makes, and things it cannot look at."""
    r = order_migrated_school(school)
    school.restore()
    amy, ben = r.new_id("a"), r.new_id("b")
    (school.folder(amy) / "old").mkdir()
    (school.folder(amy) / "old" / "Profile.JPG").write_bytes(r.photos["c"])  # Cal's photo, kept by Amy too
    os.symlink(school.folder(ben) / "profile.jpg", school.folder(amy) / "attendance" / "2025-01-02_AM.jpg")
    os.mkfifo(school.folder(ben) / "attendance" / "pipe.jpg")
    os.symlink(school.folder(ben), school.students_dir / "linked-folder")


@pytest.mark.parametrize("child", ["lists", "dies", "cannot start", "hangs"])
def test_a_rerun_finds_exactly_what_the_first_run_found(school, monkeypatch, tmp_path, child):
    """A rerun lists in a child process (on the other core, while the restore reads the database): its findings
    must be the first run's, and a child that dies or cannot start only means the listing is done in-process."""
    import tempfile

    from student_photos import deep
    messy_deep_school(school)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    first = school.restore("--verify-only", "--deep", "--json")
    assert first.code == 1 and first.json["deep_check"]["hashed"] > 0
    kinds = {f["kind"] for f in first.json["deep"]}
    assert kinds == {"photo of an orphan of another person", "same photo under two students", "could not be compared",
                     "placed from another person"}
    started = []
    real = deep.ListingApart.start

    def start(students):
        apart = real(students)
        started.append(apart)
        return apart
    monkeypatch.setattr(deep.ListingApart, "start", start)
    if child == "dies":
        monkeypatch.setattr(deep, "_CHILD", "import os; os.kill(os.getpid(), 9)")
    elif child == "cannot start":
        monkeypatch.setattr(deep.sys, "executable", str(tmp_path / "no-such-python"))
    elif child == "hangs":  # (found by an adversarial review: it was waited for without a bound)
        monkeypatch.setattr(deep, "_CHILD", "import time; time.sleep(600)")
        monkeypatch.setattr(deep, "LISTING_WAIT_SECONDS", 0.5)

    rerun = school.restore("--verify-only", "--deep", "--json")

    assert len(started) == 1 and (started[0] is None) == (child == "cannot start")
    assert rerun.code == first.code and rerun.json["deep"] == first.json["deep"], rerun.text
    assert rerun.json["problems"] == first.json["problems"]
    assert rerun.json["deep_check"]["hashed"] == 0 and rerun.json["deep_check"]["photos"] == \
        first.json["deep_check"]["photos"]
    assert list(scratch.iterdir()) == [], "the child's temporary listing is removed"
    if started[0] is not None:
        assert started[0].proc.poll() is not None, "no listing child is left running"


def test_the_listing_child_never_runs_code_from_the_current_folder(school, tmp_path):
    """Found by an adversarial review: cron or a person runs the restore from another folder; its listing child,
    run as `python -c`, imported a sqlite3.py it found there (as the tool's user, often root)."""
    import subprocess
    import sys

    from conftest import ROOT
    two_children_one_photo(school)
    assert school.restore("--verify-only", "--deep").code == 1  # a hash cache: the next run is a rerun
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    marker = tmp_path / "planted-code-ran"
    (cwd / "sqlite3.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nraise ImportError('planted')\n")
    proc = subprocess.run([sys.executable, str(ROOT / "restore_student_photos.py"), "--verify-only", "--deep",
                           "--json"], env={**os.environ, **school.env()}, cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert not marker.exists(), "the --deep listing child imported sqlite3.py from the current folder"
