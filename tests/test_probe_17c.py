"""Round 17c probes (helper h17c): the after-reseed procedure walked by a new administrator with something going
wrong between the steps; attacks the tools survived. Each asserts the safe behaviour and passes."""
from __future__ import annotations

import csv
import os
import re
import shutil
import threading
from pathlib import Path

from test_migrate import Reseed

from student_photos.sample import jpeg_bytes
from student_photos.store import PhotoStore, store_lock

STEP5 = "seed_backup_20251201_0900.json"


def _reseeded(school, n: int = 3, clones: bool = False) -> Reseed:
    r = Reseed(school)
    for i in range(n):
        r.child(f"k{i}", f"Kid Number{i}", date_of_birth=f"2014-01-0{i + 1}")
    if clones:  # two children with one name and nothing else on record: only a person can tell them apart
        r.child("c1", "Alex Kim")
        r.child("c2", "Alex Kim")
    r.commit()
    return r


def _rows(plan: Path) -> list[list[str]]:
    return list(csv.reader(plan.read_text(encoding="utf-8-sig").splitlines()))


def _save(path: Path, rows: list[list[str]], *, sep: str = ",", encoding: str = "utf-8-sig") -> None:
    def cell(text: str) -> str:
        return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in f'{sep}"\r\n') else text
    path.write_bytes("".join(sep.join(map(cell, row)) + "\r\n" for row in rows).encode(encoding))


def _plan(school, tmp_path) -> tuple[list[str], list[list[str]]]:
    plan = tmp_path / "plan.csv"
    listed = school.migrate("--list", "--csv", str(plan))
    assert listed.code in (0, 1), listed.text
    rows = _rows(plan)
    return rows[0], rows[1:]


def _col(header, name):
    return header.index(name)


def _run_id(result) -> str:
    found = re.search(r"Run id: (\S+)", result.out)
    assert found, result.text
    return found.group(1)


def test_probe_a_plan_resaved_by_a_european_spreadsheet_sorted_with_a_notes_column_is_carried_out_right(
        school, tmp_path):
    # The admin decides the two Alex Kim folders from the review page, then the spreadsheet: rows sorted by
    # student_name descending, a "Notes" column inserted first, saved as semicolon CSV with a BOM.
    r = _reseeded(school, clones=True)
    header, rows = _plan(school, tmp_path)
    for row in rows:
        if row[0] == r.old_id("c1"):
            row[_col(header, "student_id")] = r.new_id("c1")
        elif row[0] == r.old_id("c2"):
            row[_col(header, "student_id")] = r.new_id("c2")
    rows.sort(key=lambda row: row[_col(header, "student_name")], reverse=True)
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [["Notes", *header]] + [["checked by J; ok", *row] for row in rows], sep=";")

    dry = school.migrate("--migrate", "--pairs", str(reviewed), "--dry-run")
    done = school.migrate("--migrate", "--pairs", str(reviewed))
    again = school.migrate("--migrate", "--pairs", str(reviewed))  # step 4 run twice

    assert dry.code == 0 and done.code == 0 and again.code == 0, (dry.text, done.text, again.text)
    assert "0 file(s) copied" not in done.out
    r.assert_every_photo_is_its_own()
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


def test_probe_a_plan_saved_by_excel_as_plain_windows_csv_keeps_accented_names(school, tmp_path):
    r = Reseed(school)
    r.child("zoe", "Zoë Ångström", date_of_birth="2014-05-05")
    r.child("jo", "José Núñez", date_of_birth="2014-06-06")
    r.commit()
    header, rows = _plan(school, tmp_path)
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [header, *rows], encoding="cp1252")  # names filled in, nothing changed, saved as ANSI

    done = school.migrate("--migrate", "--pairs", str(reviewed))

    assert done.code == 0, done.text
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


def test_probe_a_sort_of_only_the_student_columns_is_refused_whole(school, tmp_path):
    # Excel's "continue with the current selection": student_id and student_name sorted, orphan and old_name not.
    r = _reseeded(school, 3)
    header, rows = _plan(school, tmp_path)
    sid, name = _col(header, "student_id"), _col(header, "student_name")
    pairs = [(row[sid], row[name]) for row in rows]
    moved = pairs[1:] + pairs[:1]  # (a sort could leave the rows as they were: ids are random)
    for row, (new_sid, new_name) in zip(rows, moved, strict=True):
        row[sid], row[name] = new_sid, new_name
    assert any(row[_col(header, "old_name")] != row[name] for row in rows)
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [header, *rows])

    result = school.migrate("--migrate", "--pairs", str(reviewed))

    assert result.code == 2 and "refused" in result.text, result.text
    assert all(school.photo_of(r.new_id(k)) is None for k in r.new)


def test_probe_one_student_given_two_folders_is_refused_whole(school, tmp_path):
    r = _reseeded(school, 2, clones=True)
    header, rows = _plan(school, tmp_path)
    for row in rows:
        if row[0] in (r.old_id("c1"), r.old_id("c2")):
            row[_col(header, "student_id")] = r.new_id("c1")
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [header, *rows])

    result = school.migrate("--migrate", "--pairs", str(reviewed))

    assert result.code == 2 and "already given a folder" in result.text, result.text
    assert school.photo_of(r.new_id("c1")) is None and school.photo_of(r.new_id("c2")) is None


def test_probe_a_half_filled_row_for_an_ambiguous_folder_copies_nothing_and_says_so(school, tmp_path):
    # student_name written, student_id left empty: not a row left empty, so the file is refused (round 17c).
    r = _reseeded(school, 1, clones=True)
    header, rows = _plan(school, tmp_path)
    for row in rows:
        if row[0] == r.old_id("c1"):
            row[_col(header, "student_name")] = "Alex Kim"
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [header, *rows])

    result = school.migrate("--migrate", "--pairs", str(reviewed))

    assert result.code == 2, result.text
    assert school.photo_of(r.new_id("c1")) is None and school.photo_of(r.new_id("c2")) is None


def test_probe_a_reviewed_plan_applied_after_a_second_reseed_is_refused(school, tmp_path):
    r = _reseeded(school, 2)
    header, rows = _plan(school, tmp_path)
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [header, *rows])
    school.collection.delete_many({})  # reseeded again between step 2 and step 4: new ids once more
    school.seed([{**doc, "student_id": f"again-{key}"} for key, doc in r.new.items()])

    result = school.migrate("--migrate", "--pairs", str(reviewed))

    assert result.code == 2 and "no current student has student_id" in result.text, result.text
    assert not any(school.folder(f"again-{k}").exists() for k in r.new)


def test_probe_a_reviewed_plan_after_a_second_reseed_that_swapped_the_ids_is_refused(school, tmp_path):
    # The second reseed reuses the very ids, given out in another order: the row's student_name no longer fits.
    r = _reseeded(school, 2)
    header, rows = _plan(school, tmp_path)
    reviewed = tmp_path / "reviewed.csv"
    _save(reviewed, [header, *rows])
    a, b = r.new["k0"], r.new["k1"]
    school.collection.delete_many({})
    school.seed([{**a, "student_id": b["student_id"]}, {**b, "student_id": a["student_id"]}])

    result = school.migrate("--migrate", "--pairs", str(reviewed))

    assert result.code == 2, result.text
    assert school.photo_of(a["student_id"]) is None and school.photo_of(b["student_id"]) is None


def test_probe_clean_before_migrate_removes_nothing_and_does_not_say_all_done(school):
    r = _reseeded(school)
    before = school.snapshot()

    shown = school.migrate("--clean")
    confirmed = school.migrate("--clean", "--confirm")

    assert school.snapshot()["files"] == before["files"]
    for result in (shown, confirmed):
        assert "all done" not in result.out and "run --migrate first" in result.out, result.text
    assert all(school.photo_of(r.old_id(k)) == r.photos[k] for k in r.new)


def test_probe_restore_before_migrate_then_the_steps_give_each_child_their_own(school):
    r = _reseeded(school)
    first = school.restore()  # step 6 run first: empty folders for the new ids
    assert first.code == 1, first.text
    assert school.migrate("--migrate").code == 0
    school.write_backup(list(school.db_docs().values()), name=STEP5)
    assert school.restore().code == 0
    assert school.restore("--verify-only", "--quiet").code == 0
    assert school.migrate("--clean", "--confirm").code == 0
    r.assert_every_photo_is_its_own()
    docs = school.db_docs()
    for key in r.new:
        assert school.photo_of(r.new_id(key)) == r.photos[key]
        assert docs[r.new_id(key)]["photo"] == f"/api/photos/students/{r.new_id(key)}/profile.jpg"


def test_probe_an_upload_between_the_dry_run_and_the_migrate_is_kept_and_its_old_folder_too(school):
    r = _reseeded(school)
    assert school.migrate("--migrate", "--dry-run").code == 0
    upload = school.put_photo(r.new_id("k1"), jpeg_bytes("uploaded after reseed k1"))

    migrated = school.migrate("--migrate")
    school.write_backup(list(school.db_docs().values()), name=STEP5)
    school.restore()
    cleaned = school.migrate("--clean", "--confirm")

    assert migrated.code == 1 and "conflict" in migrated.out.lower(), migrated.text
    assert cleaned.code == 1, cleaned.text
    assert school.photo_of(r.new_id("k1")) == upload
    assert school.photo_of(r.old_id("k1")) == r.photos["k1"], "the only copy of k1's old photo was removed"


def test_probe_a_child_who_leaves_between_migrate_and_clean_keeps_both_copies(school):
    r = _reseeded(school)
    assert school.migrate("--migrate").code == 0
    school.write_backup(list(school.db_docs().values()), name=STEP5)
    assert school.restore().code == 0
    school.collection.delete_one({"student_id": r.new_id("k0")})

    cleaned = school.migrate("--clean", "--confirm")

    assert cleaned.code in (0, 1), cleaned.text
    assert school.photo_of(r.old_id("k0")) == r.photos["k0"] or school.photo_of(r.new_id("k0")) == r.photos["k0"]
    assert not school.folder(r.old_id("k1")).exists()  # the others were cleaned as duplicates


def test_probe_undo_of_the_migrate_after_the_clean_keeps_every_copy_and_says_so(school):
    r = _reseeded(school)
    migrated = school.migrate("--migrate")
    school.write_backup(list(school.db_docs().values()), name=STEP5)
    school.restore()
    assert school.migrate("--clean", "--confirm").code == 0

    undo = school.migrate("--undo", _run_id(migrated))
    twice = school.migrate("--undo", _run_id(migrated))

    assert undo.code == 1 and twice.code == 1, (undo.text, twice.text)
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


def test_probe_undo_of_an_unknown_run_id_is_one_line(school):
    _reseeded(school)
    result = school.subprocess("migrate_orphaned_photos", "--undo", "20251201-000000-000-abcdef")
    assert result.code == 2 and "Traceback" not in result.text, result.text
    assert len(result.err.strip().splitlines()) == 1, result.err


def test_probe_a_second_admin_is_held_off_by_the_lock_and_nothing_is_written(school):
    r = _reseeded(school)
    before = school.snapshot()
    held, release = threading.Event(), threading.Event()

    def first_admin():
        with store_lock(PhotoStore(school.photos), shared=False, wait_seconds=1):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=first_admin)
    thread.start()
    try:
        assert held.wait(10)
        results = [school.subprocess("migrate_orphaned_photos", *args)
                   for args in (("--migrate",), ("--clean", "--confirm"))]
        results.append(school.subprocess("restore_student_photos"))
    finally:
        release.set()
        thread.join()

    for result in results:
        assert result.code == 2 and "Another run is in progress" in result.text, result.text
    assert school.snapshot() == before
    assert all(school.photo_of(r.new_id(k)) is None for k in r.new)


def test_probe_cron_verify_on_an_unmounted_share_after_the_procedure_is_not_all_done(school, tmp_path):
    r = _reseeded(school)
    assert school.migrate("--migrate").code == 0
    school.write_backup(list(school.db_docs().values()), name=STEP5)
    assert school.restore().code == 0
    (tmp_path / "away").mkdir()
    school.students_dir.rename(tmp_path / "away" / "students")
    school.students_dir.mkdir()

    verify = school.subprocess("restore_student_photos", "--verify-only", "--quiet")
    listed = school.migrate("--list")

    assert verify.code == 2 and listed.code == 2, (verify.text, listed.text)
    assert r.new


def test_probe_clean_keeps_every_old_folder_holding_a_file_not_carried(school):
    # hidden copies, a cut-off profile.jpg, a Mac's .DS_Store: none is proven copied, so none is removed
    r = Reseed(school)
    kinds = ["hidden", "empty profile", "ds_store", "nested attendance"]
    for i, kind in enumerate(kinds):
        r.child(kind, f"Kid {kind}", date_of_birth=f"2014-01-0{i + 1}", photo=False)
        folder = school.folder(r.old_id(kind))
        (folder / "attendance").mkdir(parents=True)
        if kind == "hidden":
            (folder / ".profile.jpg").write_bytes(jpeg_bytes("hidden"))
        elif kind == "empty profile":
            (folder / "profile.jpg").write_bytes(b"")
        elif kind == "ds_store":
            (folder / ".DS_Store").write_bytes(b"mac")
            (folder / "attendance" / "2025-11-10_AM.jpg").write_bytes(jpeg_bytes("ds att"))
        else:
            (folder / "attendance" / "2024").mkdir()
            (folder / "attendance" / "2024" / "a.jpg").write_bytes(jpeg_bytes("nested"))
    r.commit()

    migrated = school.migrate("--migrate")
    cleaned = school.migrate("--clean", "--confirm")

    assert migrated.code == 1 and cleaned.code == 1, (migrated.text, cleaned.text)
    assert (school.folder(r.old_id("hidden")) / ".profile.jpg").exists()
    assert (school.folder(r.old_id("empty profile")) / "profile.jpg").exists()
    assert (school.folder(r.old_id("ds_store")) / ".DS_Store").exists()
    nested = school.folder(r.old_id("nested attendance")) / "attendance" / "2024" / "a.jpg"
    copied = school.folder(r.new_id("nested attendance")) / "attendance" / "2024" / "a.jpg"
    assert nested.exists() or copied.read_bytes() == jpeg_bytes("nested")


def test_probe_a_hand_made_symlink_for_the_new_id_never_lets_clean_remove_the_old_folder(school):
    # A colleague "fixed" the reseed before anyone read the README: new folder (or its attendance/) a symlink to
    # the old one. The old folder is the only copy.
    r = _reseeded(school, 2)
    os.symlink(r.old_id("k0"), school.folder(r.new_id("k0")))
    new1 = school.folder(r.new_id("k1"))
    new1.mkdir()
    shutil.copy(school.folder(r.old_id("k1")) / "profile.jpg", new1 / "profile.jpg")
    os.symlink(f"../{r.old_id('k1')}/attendance", new1 / "attendance")

    migrated = school.migrate("--migrate")
    cleaned = school.migrate("--clean", "--confirm")

    assert migrated.code == 1 and cleaned.code == 1, (migrated.text, cleaned.text)
    for key in ("k0", "k1"):
        assert school.photo_of(r.old_id(key)) == r.photos[key]
        assert len(os.listdir(school.folder(r.old_id(key)) / "attendance")) == 2


def test_probe_the_plan_is_never_overwritten_by_a_second_list(school, tmp_path):
    r = _reseeded(school, 1, clones=True)
    header, rows = _plan(school, tmp_path)
    plan = tmp_path / "plan.csv"
    for row in rows:
        if row[0] == r.old_id("c1"):
            row[_col(header, "student_id")] = r.new_id("c1")
    _save(plan, [header, *rows])
    reviewed = plan.read_bytes()

    again = school.subprocess("migrate_orphaned_photos", "--list", "--csv", str(plan))

    assert again.code == 2 and "Traceback" not in again.text, again.text
    assert plan.read_bytes() == reviewed


def test_probe_after_the_procedure_a_wrong_photo_dir_is_refused_by_every_step(school):
    r = _reseeded(school, 2)
    assert school.migrate("--migrate").code == 0
    school.write_backup(list(school.db_docs().values()), name=STEP5)
    assert school.restore().code == 0
    before = school.snapshot()
    for wrong in (school.students_dir, school.root):
        runs = [school.restore(PHOTO_DIR=str(wrong)), school.restore("--verify-only", PHOTO_DIR=str(wrong)),
                school.migrate("--list", PHOTO_DIR=str(wrong)), school.migrate("--clean", "--confirm",
                                                                              PHOTO_DIR=str(wrong))]
        assert [run.code for run in runs] == [2, 2, 2, 2], [run.text for run in runs]
    assert school.snapshot() == before
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


def test_probe_an_old_server_copy_from_before_a_reseed_that_recycled_the_ids_fills_no_one(school, tmp_path):
    # README "Missing and corrupt photos": fill from an old server's copy. Its ids 1 and 2 are Ann and Bob from before
    # a reseed that gave 1 to Bob and 2 to Ann.
    old = tmp_path / "oldserver" / "students"
    for sid, who in (("1", "ann"), ("2", "bob")):
        (old / sid / "attendance").mkdir(parents=True)
        (old / sid / "profile.jpg").write_bytes(jpeg_bytes(f"face of {who}"))
    school.write_backup([
        {"student_id": "1", "name": "Ann Lee", "date_of_birth": "2014-01-01", "photo": "/api/photos/students/1/p"},
        {"student_id": "2", "name": "Bob Ray", "date_of_birth": "2014-02-02", "photo": "/api/photos/students/2/p"}])
    school.seed([{"student_id": "1", "name": "Bob Ray", "date_of_birth": "2014-02-02", "photo": None},
                 {"student_id": "2", "name": "Ann Lee", "date_of_birth": "2014-01-01", "photo": None}])
    school.put_photo("3")  # the share is mounted: it holds some folder

    verify = school.restore("--photo-source", str(tmp_path / "oldserver"), "--verify-only", MIN_DATABASE_RATIO="0")
    filled = school.restore("--photo-source", str(tmp_path / "oldserver"), MIN_DATABASE_RATIO="0")

    assert verify.code == 1 and filled.code == 1, (verify.text, filled.text)
    assert school.photo_of("1") is None and school.photo_of("2") is None
    assert school.db_docs()["1"]["photo"] is None and school.db_docs()["2"]["photo"] is None


def test_probe_match_fields_set_for_the_migrate_only_is_named_by_the_restore_and_the_clean_keeps_all(school):
    # README step 1: "set MATCH_FIELDS ... (the birth date's field name)"; the admin sets it for the migrate command
    # only, not in .env. The restore names the very cause; nothing is linked or removed on the weaker rule.
    r = Reseed(school)
    for i in range(2):
        r.child(f"k{i}", f"Kid Number{i}", dob=f"2014-01-0{i + 1}")
    r.commit()
    assert school.migrate("--list").code == 1
    assert school.migrate("--migrate", MATCH_FIELDS="dob").code == 0
    school.write_backup(list(school.db_docs().values()), name=STEP5)

    restored = school.restore()
    cleaned = school.migrate("--clean", "--confirm")

    assert restored.code == 1 and "which MATCH_FIELDS no longer names" in restored.text, restored.text
    assert cleaned.code == 1, cleaned.text
    assert all(school.photo_of(r.old_id(k)) == r.photos[k] for k in r.new)
