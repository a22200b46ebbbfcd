"""Adversarial round: recycled ids in migrate, placing copies without replacing, --deep --quarantine, and the
after-reseed procedure of the README on a messy school."""

from __future__ import annotations

import csv
import json
import os
import resource

import pytest
from test_deep import two_children_one_photo
from test_migrate import Reseed, folder_state, orphans_by_name, recycled

from conftest import School
from student_photos.sample import jpeg_bytes

OLDER = "seed_backup_20240101_0000.json"
OLDEST = "seed_backup_20230101_0000.json"


# ---------------------------------------------------------------- 1. migrate and recycled ids
def test_earlier_owner_only_in_the_oldest_of_three_backups_blocks_the_copy(school):
    """Bob held the id only in the oldest backup; the two newer ones hold Ann under it (same person)."""
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    # the newest backup (BACKUP_NAME, 2025) holds Bob under sid. Rewrite: newest two hold Ann under sid, oldest Bob.
    bob = r.old["bob"]
    ann_now = {**r.new["ann"]}
    newest = [r.old["kid"], r.old["ann"], ann_now]
    school.write_backup(newest)  # 2025: Ann under sid (and her old id)
    school.write_backup([ann_now, r.old["ann"]], name=OLDER)
    school.write_backup([bob, r.old["kid"]], name=OLDEST)
    before = folder_state(school, sid)

    result = school.migrate("--migrate", "--json")

    assert result.code == 1, result.text
    ann = orphans_by_name(result.json)[r.old_id("ann")]
    assert ann["decision"] == "cannot receive", ann
    assert folder_state(school, sid) == before
    assert [o["backup"] for o in result.json["earlier_owners"]] == [OLDEST]


def test_earlier_owner_in_an_unusable_backup_refuses_migrate_and_list_says_so(school):
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    # the record of Bob is only in a backup that is cut short
    school.write_backup([r.old["kid"], r.old["ann"]])
    text = json.dumps({"timestamp": "x", "students": [r.old["bob"]]})
    (school.backups / OLDER).write_text(text[: len(text) - 5])
    before = folder_state(school, sid)

    migrated = school.migrate("--migrate", "--json")
    listed = school.migrate("--list")

    assert migrated.code == 2, migrated.text
    assert folder_state(school, sid) == before
    assert listed.code == 1, listed.text


@pytest.mark.parametrize("stored", [7, {"$numberLong": "7"}, {"$numberInt": "7"}], ids=["int", "numberLong",
                                                                                         "numberInt"])
def test_earlier_owner_under_a_number_id_is_still_found(school, stored):
    """The app stored Bob under the number 7 (folder students/7/); the reseed gave "7" to Ann."""
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2016-06-06")
    school.put_photo("7", jpeg_bytes("bob's face"), attendance=1)
    bob = {"student_id": stored, "name": "Bob Ray", "date_of_birth": "2014-04-04"}
    r.new["ann"]["student_id"] = "7"
    school.write_backup([r.old["ann"], bob])
    school.seed(list(r.new.values()))
    before = folder_state(school, "7")

    result = school.migrate("--migrate", "--json")

    assert result.code == 1, result.text
    assert orphans_by_name(result.json)[r.old_id("ann")]["decision"] == "cannot receive"
    assert folder_state(school, "7") == before
    assert [o["student_id"] for o in result.json["earlier_owners"]] == ["7"]


def _recycled_with_plan(school: School, tmp_path, override: str = ""):
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    plan = tmp_path / "plan.csv"
    listed = school.migrate("--list", "--csv", str(plan))
    assert listed.code == 1
    rows = list(csv.DictReader(plan.read_text(encoding="utf-8-sig").splitlines()))
    for row in rows:
        if row["orphan"] == r.old_id("ann"):
            row["student_id"], row["override"] = r.new_id("ann"), override
    with plan.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return r, plan


@pytest.mark.parametrize("override", ["", "yes"])
def test_a_reviewed_pairing_to_a_recycled_id_copies_nothing(school, tmp_path, override):
    r, plan = _recycled_with_plan(school, tmp_path, override)
    sid = r.new_id("ann")
    before = folder_state(school, sid)

    result = school.migrate("--migrate", "--pairs", str(plan), "--json")

    assert result.code == 1, result.text
    ann = orphans_by_name(result.json)[r.old_id("ann")]
    assert ann["decision"] == "cannot receive", ann
    assert folder_state(school, sid) == before
    again = school.migrate("--migrate", "--json")
    assert again.code == 1 and folder_state(school, sid) == before


def test_order_matching_never_copies_into_a_recycled_folder(school):
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    before = folder_state(school, sid)

    result = school.migrate("--migrate", "--match", "order", "--json")

    assert result.code == 1, result.text
    assert folder_state(school, sid) == before, "order pairing copied into the folder of a recycled id"


def test_two_documents_with_one_recycled_id(school):
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    school.seed([{**r.new["ann"], "name": "Zed Other", "date_of_birth": "2010-01-01"}])
    before = folder_state(school, sid)

    result = school.migrate("--migrate", "--json")

    assert result.code == 1, result.text
    assert orphans_by_name(result.json)[r.old_id("ann")]["decision"] == "cannot receive"
    assert folder_state(school, sid) == before


def test_a_corrected_name_is_not_called_an_earlier_owner_without_saying_it_may_be_a_correction(school):
    """Partial reseed: John kept his id; his name was corrected from 'Jon' since the backup (same birth date, same
    student number). Migrate calls his own folder 'the folder of an earlier owner' and advises --deep --quarantine,
    which moves his own photos aside; the matcher already recognises 'nothing differs but the name' for orphans."""
    john = school.new_student("Jon Smith", date_of_birth="2015-05-05", student_number="S-77")
    school.put_photo(john["student_id"], jpeg_bytes("john's own face"), attendance=1)
    school.write_backup([john])
    school.seed([{**john, "name": "John Smith"}])

    result = school.migrate("--list")

    assert result.code == 1, result.text
    assert "corrected name" in result.out, result.out


def test_corrected_name_following_the_advice_quarantines_the_childs_own_photos(school):
    """The advice printed for the corrected name above, followed: --deep --quarantine takes John's own photo and
    attendance out of his folder as 'the folder of an earlier owner'."""
    john = school.new_student("Jon Smith", date_of_birth="2015-05-05", student_number="S-77")
    own = school.put_photo(john["student_id"], jpeg_bytes("john's own face"), attendance=1)
    school.write_backup([john])
    school.seed([{**john, "name": "John Smith"}])

    moved = school.restore("--deep", "--quarantine", "--json")

    assert moved.code == 1, moved.text
    assert school.photo_of(john["student_id"]) == own, "John's own photo was quarantined as an earlier owner's"


@pytest.mark.xfail(strict=True, reason="known gap: no documented step records that a person sorted out a "
                   "recycled id's folder, so the student stays 'cannot receive' (fails closed)")
def test_a_recycled_folder_sorted_out_by_hand_still_never_receives(school):
    """README: quarantine the earlier owner's photos, give each to its child by hand, run the restore again. After
    that the folder is empty, yet Ann's own old folder is still 'cannot receive' on every run: no documented step
    lets the migration finish."""
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    q = school.restore("--deep", "--quarantine", "--json")
    assert q.code == 1
    assert school.photo_of(sid) is None, "Bob's photo is out of Ann's folder"
    school.restore()

    result = school.migrate("--migrate", "--json")
    nightly = school.restore("--verify-only", "--quiet")
    print(nightly.code, nightly.out)

    ann = orphans_by_name(result.json)[r.old_id("ann")]
    assert ann["decision"] != "cannot receive", (ann["reason"], nightly.code, nightly.out)


# ---------------------------------------------------------------- 2. placing never replaces
def _obstacle(path, kind: str, school: School) -> object:
    """Put something at ``path`` (a copy's destination) and return what identifies it afterwards."""
    if kind == "photo":
        path.write_bytes(jpeg_bytes("uploaded by the app meanwhile"))
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling-symlink":
        os.symlink(school.root / "nowhere.jpg", path)
    elif kind == "symlink":
        target = school.root / "elsewhere.jpg"
        target.write_bytes(jpeg_bytes("elsewhere"))
        os.symlink(target, path)
    elif kind == "folder":
        path.mkdir()
        (path / "inside.jpg").write_bytes(b"x")
    return _identify(path)


def _identify(path) -> object:
    st = os.lstat(path)
    body = path.read_bytes() if os.path.isfile(path) and not os.path.islink(path) else None
    return (st.st_mode, st.st_ino, body, os.readlink(path) if os.path.islink(path) else None)


OBSTACLES = ["photo", "fifo", "dangling-symlink", "symlink", "folder"]


@pytest.mark.parametrize("kind", OBSTACLES)
def test_migrate_copy_never_replaces_what_appeared_at_its_destination(school, monkeypatch, kind):
    from student_photos import migrate

    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    real = migrate.place_copy
    seen: dict[str, object] = {}

    def obstruct_then_place(staged, *folder_fd):
        if staged.dest.endswith("/profile.jpg") and not seen:
            from pathlib import Path
            seen["it"] = _obstacle(Path(staged.dest), kind, school)
        return real(staged, *folder_fd)

    monkeypatch.setattr(migrate, "place_copy", obstruct_then_place)
    result = school.migrate("--migrate", "--json")

    dest = school.folder(r.new_id("kid")) / "profile.jpg"
    assert seen and _identify(dest) == seen["it"], "the obstacle was replaced"
    assert result.code == 1, result.text
    kid = orphans_by_name(result.json)[r.old_id("kid")]
    assert kid["decision"] == "conflict", kid
    leftovers = [n for n in os.listdir(dest.parent) if n.startswith(".")]
    assert leftovers == [], leftovers


def _restore_evidence_school(school: School) -> Reseed:
    """The reseed kept each child's photo link: it names the child's old folder (proven theirs by the backup)."""
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=0)
    r.new["kid"]["photo"] = r.old["kid"]["photo"]
    r.commit()
    return r


def _obstruct_placing(monkeypatch, module, kind: str, school: School) -> dict[str, object]:
    """``module``'s place_copy, with an obstacle of ``kind`` put at the first destination just before it."""
    real = module.place_copy
    seen: dict[str, object] = {}

    def obstruct_then_place(staged, *folder_fd):
        from pathlib import Path
        if not seen:
            seen["it"] = _obstacle(Path(staged.dest), kind, school)
        return real(staged, *folder_fd)

    monkeypatch.setattr(module, "place_copy", obstruct_then_place)
    return seen


@pytest.mark.parametrize("kind", OBSTACLES)
def test_restore_copy_never_replaces_what_appeared_at_its_destination(school, monkeypatch, kind):
    from student_photos import restore

    r = _restore_evidence_school(school)
    dry = school.restore("--verify-only", "--json")
    assert dry.json["summary"]["photos_relinked"] == 1, dry.text
    seen = _obstruct_placing(monkeypatch, restore, kind, school)
    result = school.restore("--json")

    dest = school.folder(r.new_id("kid")) / "profile.jpg"
    assert seen and _identify(dest) == seen["it"], "the obstacle was replaced"
    assert result.code == 1 or kind == "photo", result.text
    assert school.db_docs()[r.new_id("kid")]["photo"] != f"/api/photos/students/{r.new_id('kid')}/profile.jpg" \
        or kind == "photo", "linked to something that is not a photo the tool placed"


@pytest.mark.parametrize("kind", OBSTACLES)
def test_photo_source_copy_never_replaces_what_appeared_at_its_destination(school, monkeypatch, tmp_path, kind):
    from student_photos import sources

    kid = school.new_student("Kid One", date_of_birth="2015-01-01")
    school.seed([kid])
    school.write_backup([kid])
    (school.folder(kid["student_id"]) / "attendance").mkdir(parents=True)
    src = tmp_path / "rsync" / "students" / kid["student_id"]
    (src / "attendance").mkdir(parents=True)
    (src / "profile.jpg").write_bytes(jpeg_bytes("kid from yesterday's copy"))
    seen = _obstruct_placing(monkeypatch, sources, kind, school)
    result = school.restore("--photo-source", str(tmp_path / "rsync"), "--json")

    dest = school.folder(kid["student_id"]) / "profile.jpg"
    assert seen and _identify(dest) == seen["it"], "the obstacle was replaced"
    assert result.code == 1, result.text


def test_migrate_copy_never_goes_through_a_folder_swapped_for_a_symlink_meanwhile(school, monkeypatch):
    """The quarantine got this fix today (open the folder, act from it); the migration's copies still stage and
    place by path. attendance/ of the student is swapped for a symlink to another child's attendance/ after the
    symlink check, before the copy is staged: the copy lands in the other child's folder."""
    from student_photos import migrate

    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=1, photo=True)
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    school.put_photo(other["student_id"], jpeg_bytes("other's own face"))
    r.commit()
    school.seed([other])
    school.write_backup([*r.old.values(), other])
    other_before = folder_state(school, other["student_id"])
    real = migrate.stage_copy
    swapped = []

    def swap_then_stage(source, dest, durable, data=None, **options):
        dest = str(dest)
        if "/attendance/" in dest and not swapped:
            folder = os.path.dirname(dest)
            os.rename(folder, folder + ".moved")
            os.symlink(school.folder(other["student_id"]) / "attendance", folder)
            swapped.append(folder)
        return real(source, dest, durable, data, **options)

    monkeypatch.setattr(migrate, "stage_copy", swap_then_stage)
    result = school.migrate("--migrate", "--json")

    assert swapped, result.text
    kid = orphans_by_name(result.json)[r.old_id("kid")]
    assert folder_state(school, other["student_id"]) == other_before, \
        f"another child's folder received Kid One's attendance photo (exit {result.code}, {kid['decision']})"


def test_migrate_copies_the_profile_bytes_it_checked_and_the_journal_names_them(school, monkeypatch):
    """The profile.jpg of an old folder is replaced by a cut-short file after its photo check, before its copy:
    the student receives the photo that was checked, and the journal line names exactly the bytes placed."""
    import hashlib

    from student_photos import migrate

    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    real = migrate.compare_with_target

    def compare_then_cut(store, work, source_dir):
        real(store, work, source_dir)
        (school.folder(work.report.name) / "profile.jpg").write_bytes(jpeg_bytes("a half-written upload")[:-60])

    monkeypatch.setattr(migrate, "compare_with_target", compare_then_cut)
    result = school.migrate("--migrate", "--json")

    assert result.code == 0, result.text
    placed = (school.folder(r.new_id("kid")) / "profile.jpg").read_bytes()
    assert placed == r.photos["kid"]
    journal = school.photos / ".student-photos" / "journal" / f"{result.json['run_id']}.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    [line] = [x for x in lines if x.get("type") == "file" and x["path"].endswith("/profile.jpg")]
    assert line["sha256"] == hashlib.sha256(placed).hexdigest() and line["size"] == len(placed)
    undo = school.migrate("--undo", result.json["run_id"], "--json")  # its source differs now: the copy stays
    assert (school.folder(r.new_id("kid")) / "profile.jpg").read_bytes() == placed, undo.text


def test_restore_copy_never_goes_through_a_folder_swapped_for_a_symlink_meanwhile(school, monkeypatch):
    from student_photos import restore

    r = _restore_evidence_school(school)
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    (school.folder(other["student_id"]) / "attendance").mkdir(parents=True)
    school.seed([other])
    school.write_backup([*r.old.values(), other])
    real = restore.stage_copy
    swapped = []

    def swap_then_stage(source, dest, durable, data=None, **options):
        folder = os.path.dirname(str(dest))
        if not swapped:
            os.rename(folder, folder + ".moved")
            os.symlink(school.folder(other["student_id"]), folder)
            swapped.append(folder)
        return real(source, dest, durable, data, **options)

    monkeypatch.setattr(restore, "stage_copy", swap_then_stage)
    result = school.restore("--json")

    assert swapped, result.text
    assert school.photo_of(other["student_id"]) is None, \
        f"another child's folder received Kid One's photo (exit {result.code})"


# ---------------------------------------------------------------- 3. --deep --quarantine
def test_quarantine_never_moves_a_photo_uploaded_after_the_check_found_the_other(school, monkeypatch):
    """Amy and Ben hold the same photo (finding). Before quarantine moves it, the app saves Amy's new, own photo at
    students/{amy}/profile.jpg. Quarantine hashes whatever is there now and moves it: Amy's own new photo goes to
    quarantine, though it is not the photo the check found."""
    from student_photos import deep

    amy, ben, shared = two_children_one_photo(school)
    fresh = jpeg_bytes("amy's new photo, uploaded in the app")
    real = deep.DeepCheck.quarantine

    def upload_then_quarantine(self, *args, **kwargs):
        tmp = school.folder(amy["student_id"]) / ".upload.tmp"
        tmp.write_bytes(fresh)
        os.rename(tmp, school.folder(amy["student_id"]) / "profile.jpg")  # how an app saves a file atomically
        return real(self, *args, **kwargs)

    monkeypatch.setattr(deep.DeepCheck, "quarantine", upload_then_quarantine)
    result = school.restore("--deep", "--quarantine", "--json")

    assert result.code == 1, result.text
    assert school.photo_of(amy["student_id"]) == fresh, "Amy's own new photo was moved into quarantine"


def test_quarantine_journal_names_the_bytes_it_moved(school, monkeypatch):
    """The photo is replaced between quarantine's own hash and its rename: the journal line names other bytes than
    those moved, and --undo then refuses to give the photo back ('changed in quarantine')."""
    from student_photos import deep

    amy, ben, shared = two_children_one_photo(school)
    fresh = jpeg_bytes("amy's new photo, uploaded in the app")
    real = deep.make_private_dir
    done = []

    def upload_then_make(path):
        if not done and str(path).endswith(f"/students/{amy['student_id']}"):
            tmp = school.folder(amy["student_id"]) / ".upload.tmp"
            tmp.write_bytes(fresh)
            os.rename(tmp, school.folder(amy["student_id"]) / "profile.jpg")
            done.append(path)
        real(path)

    monkeypatch.setattr(deep, "make_private_dir", upload_then_make)
    result = school.restore("--deep", "--quarantine", "--json")
    assert done, result.text
    monkeypatch.undo()

    undo = school.restore("--undo", result.json["run_id"], "--json")

    assert school.photo_of(amy["student_id"]) == fresh, \
        f"Amy's new photo is out of her folder and the undo left it in quarantine: {undo.json.get('left')}"


def test_quarantine_of_a_photo_replaced_by_a_fifo_says_it_was_not_moved(school, monkeypatch):
    """Amy's profile.jpg is swapped for a FIFO before quarantine: it is (rightly) not opened nor moved, but the run
    says nothing about it: Amy shows '✅ Photos verified' (a check made before), and nothing says that her finding
    was left in place."""
    from student_photos import deep

    amy, ben, shared = two_children_one_photo(school)
    real = deep.DeepCheck.quarantine

    def fifo_then_quarantine(self, *args, **kwargs):
        path = school.folder(amy["student_id"]) / "profile.jpg"
        os.rename(path, school.root / "amy-away.jpg")
        os.mkfifo(path)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(deep.DeepCheck, "quarantine", fifo_then_quarantine)
    result = school.restore("--deep", "--quarantine")

    assert result.code == 1, result.text
    assert os.path.exists(school.folder(amy["student_id"]) / "profile.jpg")
    amy_lines = result.out.split(f"Amy Ash ({amy['student_id']})\n", 1)[1].split("\n[2/2]", 1)[0]
    assert "not moved" in amy_lines or "could not" in amy_lines, amy_lines


@pytest.mark.parametrize("level", ["student", "attendance"])
def test_undo_of_a_quarantine_never_puts_a_photo_back_through_a_symlink(school, level):
    r = recycled(school, bob_photos=True)
    sid = r.new_id("ann")
    moved = school.restore("--deep", "--quarantine", "--json")
    assert moved.code == 1 and moved.json["summary"]["quarantined"] == 3, moved.text
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    (school.folder(other["student_id"]) / "attendance").mkdir(parents=True)
    school.seed([other])
    where = school.folder(sid) if level == "student" else school.folder(sid) / "attendance"
    os.rename(where, str(where) + ".moved")
    os.symlink(school.folder(other["student_id"]) if level == "student" else
               school.folder(other["student_id"]) / "attendance", where)

    undo = school.restore("--undo", moved.json["run_id"], "--json")

    assert folder_state(school, other["student_id"]) == {}, "a quarantined photo went into another child's folder"
    assert undo.code == 1, undo.text


# ---------------------------------------------------------------- --photo-source and recycled ids
@pytest.mark.parametrize("which", ["bob-under-current-id", "ann-under-her-old-id"])
def test_photo_source_never_fills_the_folder_of_a_recycled_id(school, tmp_path, which):
    """Yesterday's rsync holds students/{bob's old id}/profile.jpg (Bob's face; Ann now holds that id), or Ann's own
    old folder: Ann's folder (Bob's) must not be filled either way."""
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    src = tmp_path / "rsync" / "students"
    for folder in (sid, r.old_id("ann")):
        (src / folder / "attendance").mkdir(parents=True)
    (src / sid / "profile.jpg").write_bytes(r.photos["bob"])
    (src / r.old_id("ann") / "profile.jpg").write_bytes(r.photos["ann"])
    os.unlink(school.folder(sid) / "profile.jpg")  # Bob's profile in the recycled folder was lost
    if which == "ann-under-her-old-id":
        import shutil
        shutil.rmtree(src / sid)
    before = folder_state(school, sid)

    result = school.restore("--photo-source", str(tmp_path / "rsync"), "--json")

    assert folder_state(school, sid) == before, "a photo source filled the folder of a recycled id"
    assert result.code == 1, result.text


# ---------------------------------------------------------------- 4. the README's after-reseed procedure, messy
def messy_school(school: School) -> Reseed:
    r = Reseed(school)
    r.child("plain", "Pia Plain", date_of_birth="2014-01-01", student_number="S-1")
    r.child("twin_a", "Sam Taylor", date_of_birth="2015-02-03", student_number="S-2")  # twins: one birth date
    r.child("twin_b", "Sara Taylor", date_of_birth="2015-02-03", student_number="S-3")
    r.child("jon", "Jon Smith", date_of_birth="2014-05-05", student_number="S-4")  # corrected to John after
    r.new["jon"]["name"] = "John Smith"
    r.child("kept", "Kim Kept", date_of_birth="2013-03-03", student_number="S-5")  # partial reseed: kept the id
    r.new["kept"]["student_id"] = r.old_id("kept")
    r.child("bob", "Bob Ray", date_of_birth="2012-04-04", student_number="S-6", stays=False)  # left
    r.newcomer("ann", "Ann Lee", date_of_birth="2016-06-06", student_number="S-7")  # got Bob's id
    r.new["ann"]["student_id"] = r.old_id("bob")
    r.commit()
    stranger = school.folder("0d0d0d0d-no-backup-knows-me")  # an orphan no backup knows
    (stranger / "attendance").mkdir(parents=True)
    (stranger / "profile.jpg").write_bytes(jpeg_bytes("stranger"))
    return r


def _fill_plan(plan, decide: dict[str, str], override: tuple = ()) -> None:
    rows = list(csv.DictReader(plan.read_text(encoding="utf-8-sig").splitlines()))
    for row in rows:
        if row["orphan"] in decide:
            row["student_id"] = decide[row["orphan"]]
        if row["orphan"] in override:
            row["override"] = "yes"
    with plan.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_after_reseed_procedure_on_a_messy_school(school, tmp_path):
    r = messy_school(school)
    log = []

    def step(name, result):
        log.append(f"--- {name}: exit {result.code}\n{result.out}{result.err}")
        return result

    # 1.
    listed = step("1 --list", school.migrate("--list", "--json"))
    assert listed.json["earlier_owners"][0]["earlier_name"] == "Bob Ray"
    assert listed.code == 1
    decisions = {o["name"]: o["decision"] for o in listed.json["orphans"]}
    # 2.
    plan, page = tmp_path / "plan.csv", tmp_path / "review.html"
    step("2 --list --csv --html", school.migrate("--list", "--csv", str(plan), "--html", str(page)))
    _fill_plan(plan, {r.old_id("jon"): r.new_id("jon"), "0d0d0d0d-no-backup-knows-me": "none"},
               override=(r.old_id("jon"),))  # the refusal of step 3 says to
    # 3.
    dry = step("3 --migrate --pairs --dry-run", school.migrate("--migrate", "--pairs", str(plan), "--dry-run"))
    assert dry.code in (0, 1), "\n".join(log)
    # 4.
    done = step("4 --migrate --pairs", school.migrate("--migrate", "--pairs", str(plan), "--json"))
    # 5. a new backup from the app's job: the current database
    school.write_backup(list(school.collection.find({}, {"_id": 0})), name="seed_backup_20251201_0900.json")
    # 6., 7.
    restored = step("6 restore", school.restore())
    verify = step("7 restore --verify-only", school.restore("--verify-only"))
    # 9., 10.
    clean = step("9 --clean", school.migrate("--clean", "--json"))
    confirm = step("10 --clean --confirm", school.migrate("--clean", "--confirm", "--json"))
    print("\n".join(log))

    assert "Bob Ray" in listed.out + restored.out + verify.out  # Ann's folder (Bob's photos) is reported, not fixed
    for key in ("plain", "twin_a", "twin_b", "jon"):
        assert school.photo_of(r.new_id(key)) == r.photos[key], (key, "\n".join(log))
    assert school.photo_of("0d0d0d0d-no-backup-knows-me") == jpeg_bytes("stranger"), "a unique photo went"
    assert school.photo_of(r.old_id("bob")) == r.photos["bob"] or any(
        (school.photos / ".student-photos").rglob("profile.jpg")), "Bob's photo exists nowhere"
    assert decisions, decisions
    assert done.code == 1 and verify.code == 1 and restored.code == 1, "Ann's recycled folder needs a person"
    assert clean.code in (0, 1) and confirm.code in (0, 1)


def test_a_corrected_name_where_the_school_records_only_birth_dates_is_not_all_done(school):
    """Twins share a birth date; Sara's name was corrected to Sarah with the reseed (MATCH_FIELDS: only the birth date
    is on record). Migrate called Sara's folder 'no current student (left the school?)' and ended all done (exit 0),
    though a current student has her birth date and nothing but the name differs: the 'a corrected name?' hint
    looked only at numbers and text identifiers. Now a name one letter apart with the same birth date is the hint
    too (twin Sam, two letters from Sara, is not, and still gets his own folder)."""
    r = Reseed(school)
    r.child("sam", "Sam Taylor", date_of_birth="2015-02-03")
    r.child("sara", "Sara Taylor", date_of_birth="2015-02-03")
    r.new["sara"]["name"] = "Sarah Taylor"
    r.commit()

    result = school.migrate("--migrate", "--json")

    sara = orphans_by_name(result.json)[r.old_id("sara")]
    assert school.photo_of(r.new_id("sam")) == r.photos["sam"]
    assert school.photo_of(r.new_id("sara")) is None
    assert (sara["decision"], result.code) != ("no current student", 0), sara["reason"]
    assert "a corrected name?" in sara["reason"] and r.new_id("sara") in sara["reason"], sara["reason"]


@pytest.mark.parametrize("level", ["student", "attendance"])
def test_quarantine_never_moves_another_childs_photo_through_a_swapped_folder(school, monkeypatch, level):
    """A recycled id's folder (Bob's photos, Ann's id) is quarantined; before that, its folder or attendance/ is
    swapped for a symlink to another child's (whose files have the very same names)."""
    from student_photos import deep

    r = recycled(school, bob_photos=True)
    sid = r.new_id("ann")
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    school.put_photo(other["student_id"], jpeg_bytes("other's own face"), attendance=2)
    school.seed([other])
    school.write_backup([*r.old.values(), other], name=OLDER)
    other_before = folder_state(school, other["student_id"])
    real = deep.DeepCheck.quarantine

    def swap_then_quarantine(self, *args, **kwargs):
        where = school.folder(sid) if level == "student" else school.folder(sid) / "attendance"
        os.rename(where, str(where) + ".moved")
        os.symlink(school.folder(other["student_id"]) if level == "student" else
                   school.folder(other["student_id"]) / "attendance", where)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(deep.DeepCheck, "quarantine", swap_then_quarantine)
    result = school.restore("--deep", "--quarantine", "--json")

    assert folder_state(school, other["student_id"]) == other_before
    assert result.code == 1, result.text


@pytest.mark.parametrize("name", ["seed_backup_2024-01-01.json", "seed_backup_20240101_0000.json.bak"])
def test_earlier_owner_in_an_ignored_look_alike_refuses_migrate(school, name):
    r = recycled(school, bob_photos=True, ann_had_a_folder=True)
    sid = r.new_id("ann")
    school.write_backup([r.old["kid"], r.old["ann"]])
    school.write_backup([r.old["bob"]], name=name)
    before = folder_state(school, sid)

    migrated = school.migrate("--migrate", "--json")
    listed = school.migrate("--list", "--json")

    assert migrated.code == 2 and folder_state(school, sid) == before, migrated.text
    assert listed.code == 1 and listed.json["backups"]["ignored"], listed.text


@pytest.mark.parametrize("tool", ["restore", "migrate"])
def test_a_recycled_id_and_student_number_is_never_all_done(school, tool):
    """Review probe of the corrected-name rule: a reseed that recycles both the id and the student number gives
    Mary the id and number Jon had. Only the name differs, so the tools may say 'a corrected name?', but never
    relink, and never end with all done (the folder holds Jon's photo)."""
    jon = school.new_student("Jon Smith", date_of_birth="2015-05-05", student_number="S-77")
    school.put_photo(jon["student_id"], jpeg_bytes("jon's own face"), attendance=1)
    school.write_backup([jon])
    mary = {**jon, "name": "Mary Jones", "photo": None}
    school.seed([mary])

    result = school.restore("--json") if tool == "restore" else school.migrate("--list", "--json")

    assert result.code == 1, result.text
    if tool == "restore":
        assert school.db_docs()[jon["student_id"]]["photo"] is None, "Jon's photo was linked to Mary"
        assert result.json["summary"]["identity_conflicts"] == 1, result.text
    else:
        (owner,) = result.json["earlier_owners"]
        assert owner["student_id"] == jon["student_id"] and owner["verdict"] == "unknown", owner


# ---------------------------------------------------------------- 3. review of the batch copy path (BatchFolders)
def _kid_and_other(school: School, other_folder: bool = True) -> tuple[Reseed, dict]:
    """Kid One's old folder is to be migrated; Other Child is a current student (with a folder of their own)."""
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=1)
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    if other_folder:
        school.put_photo(other["student_id"], jpeg_bytes("other's own face"), attendance=1)
    r.commit()
    school.seed([other])
    school.write_backup([*r.old.values(), other])
    return r, other


@pytest.mark.parametrize("swap", ["attendance-symlink", "folder-symlink", "folder-renamed-in"])
def test_migrate_never_copies_from_an_old_folder_swapped_after_it_was_looked_at(school, monkeypatch, swap):
    """Found by review: the copy re-read each attendance photo by path, so an old folder (or its attendance/)
    swapped after the survey for a symlink to another child's folder, or for another child's folder itself, gave
    Kid One the other child's attendance photos (same file names: dates), reported 'migrated', exit 0."""
    from student_photos import migrate

    r, other = _kid_and_other(school)
    theirs = folder_state(school, other["student_id"])
    real = migrate.compare_with_target

    def compare_then_swap(store, work, source_dir):
        real(store, work, source_dir)
        old = school.folder(work.report.name)
        moved = old / "attendance" if swap == "attendance-symlink" else old
        os.rename(moved, f"{moved}.moved")
        if swap == "folder-renamed-in":
            os.rename(school.folder(other["student_id"]), old)
        else:
            os.symlink(school.folder(other["student_id"]) / moved.relative_to(old), moved)

    monkeypatch.setattr(migrate, "compare_with_target", compare_then_swap)
    result = school.migrate("--migrate", "--json")

    received = set(folder_state(school, r.new_id("kid")).values())
    assert not received & set(theirs.values()), f"Kid One received Other Child's photo (exit {result.code})"
    assert result.code == 1, result.text
    assert orphans_by_name(result.json)[r.old_id("kid")]["decision"] == "error", result.text
    assert not list(school.students_dir.rglob("*.partial"))


@pytest.mark.parametrize("move", ["folder", "attendance"])
def test_migrate_never_places_into_a_folder_moved_to_another_child_after_staging(school, monkeypatch, move):
    """Found by review: the batch holds each target folder open from staging to placing and names the copies
    through it. Kid One's new folder (or its attendance/) renamed meanwhile to Other Child's place: Kid One's
    photos were placed in Other Child's folder, 'migrated', exit 0."""
    from student_photos import migrate

    r, other = _kid_and_other(school, other_folder=move == "attendance")
    if move == "attendance":  # Other Child has a folder, but no attendance/ yet
        for path in (school.folder(other["student_id"]) / "attendance").iterdir():
            path.unlink()
        (school.folder(other["student_id"]) / "attendance").rmdir()
    theirs = folder_state(school, other["student_id"])
    real = migrate.Migrator._make_durable

    def durable_then_move(self, journal):
        real(self, journal)
        if move == "folder":
            os.rename(school.folder(r.new_id("kid")), school.folder(other["student_id"]))
        else:
            os.rename(school.folder(r.new_id("kid")) / "attendance", school.folder(other["student_id"]) / "attendance")

    monkeypatch.setattr(migrate.Migrator, "_make_durable", durable_then_move)
    result = school.migrate("--migrate", "--json")

    assert folder_state(school, other["student_id"]) == theirs, f"Other Child received Kid One's photo ({result.code})"
    assert result.code == 1, result.text
    assert orphans_by_name(result.json)[r.old_id("kid")]["decision"] == "error", result.text
    assert not list(school.students_dir.rglob("*.partial"))


@pytest.mark.parametrize("photo", ["large", "data-after-the-end-marker"])
def test_migrate_never_places_a_profile_that_stopped_being_a_photo_after_its_check(school, monkeypatch, photo):
    """Found by review: only a photo of at most 64 KB, read whole by its check, is copied from the checked bytes; a
    larger one (most real photos), or one with data after its end marker, is read again for the copy. Replaced
    after its check by something that is not a photo, it was placed as profile.jpg: 'migrated', exit 0."""
    from student_photos import migrate

    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=1)
    r.commit()
    data = jpeg_bytes("the real face", size=200_000) if photo == "large" else jpeg_bytes("the real face") + b"x" * 99
    (school.folder(r.old_id("kid")) / "profile.jpg").write_bytes(data)
    real = migrate.compare_with_target

    def compare_then_replace(store, work, source_dir):
        real(store, work, source_dir)
        (school.folder(work.report.name) / "profile.jpg").write_bytes(b"<html>502 Bad Gateway</html>" * 99)

    monkeypatch.setattr(migrate, "compare_with_target", compare_then_replace)
    result = school.migrate("--migrate", "--json")

    assert not (school.folder(r.new_id("kid")) / "profile.jpg").exists(), "a file that is not a photo was placed"
    assert result.code == 1, result.text
    assert orphans_by_name(result.json)[r.old_id("kid")]["decision"] == "error", result.text
    assert not list(school.students_dir.rglob("*.partial"))


def test_a_folder_moved_at_the_very_moment_a_copy_is_named_is_reported_never_all_done(school, monkeypatch):
    """What the check before placing cannot close (a rename between the check and the rename system call): the
    copy goes with the folder. The check after placing says so, on the orphan's line, exit 1."""
    from student_photos import migrate

    r, other = _kid_and_other(school, other_folder=False)
    real = migrate.place_copy
    moved = []

    def move_then_place(staged, *folder_fd):
        if not moved:
            os.rename(school.folder(r.new_id("kid")), school.folder(other["student_id"]))
            moved.append(staged.dest)
        return real(staged, *folder_fd)

    monkeypatch.setattr(migrate, "place_copy", move_then_place)
    result = school.migrate("--migrate", "--json")

    assert moved and result.code == 1, result.text
    kid = orphans_by_name(result.json)[r.old_id("kid")]
    assert kid["decision"] == "error" and "a person must check it" in kid["reason"], kid
    assert len(folder_state(school, other["student_id"])) <= 1, "nothing more went into the moved folder"


def _open_files_limit(n: int):
    def limit() -> None:  # preexec_fn
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return limit


def test_a_migration_under_a_low_open_files_limit_copies_everything(school):
    """Found by review: each batch of 32 orphans keeps its target folders open from staging to placing, on 4 copy
    workers at once. Under `ulimit -n 256` a migration of 300 children failed 5-10 of them with "Too many open files"
    (exit 1), and a rerun with nothing left to copy failed again (it holds the folders it sweeps, too)."""
    r = Reseed(school)
    for i in range(300):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", attendance=2)
    r.commit()

    first = school.subprocess("migrate_orphaned_photos", "--migrate", "--json", preexec_fn=_open_files_limit(256))
    again = school.subprocess("migrate_orphaned_photos", "--migrate", "--json", preexec_fn=_open_files_limit(256))

    assert first.code == 0, [o["errors"] for o in first.json["orphans"] if o["errors"]][:3]
    assert again.code == 0, [o["errors"] for o in again.json["orphans"] if o["errors"]][:3]
    r.assert_every_photo_is_its_own()
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)


@pytest.mark.parametrize("swap", ["folder-symlink", "folder-renamed-in"])
def test_migrate_never_keeps_a_profile_read_from_a_folder_swapped_after_its_listing(school, monkeypatch, swap):
    """Found by review: the survey listed the old folder and then read its profile.jpg by path for the photo check,
    whose bytes the copy uses. The folder swapped in between (for a symlink to another child's folder, or another
    child's folder renamed into its place) would have given Kid One the other child's profile photo."""
    from student_photos import migrate

    r = Reseed(school)  # profile.jpg only: no other file of the folder is read at the copy, to be checked there
    r.child("kid", "Kid One", date_of_birth="2015-01-01", attendance=0)
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    school.put_photo(other["student_id"], jpeg_bytes("other's own face"), attendance=0)
    r.commit()
    school.seed([other])
    school.write_backup([*r.old.values(), other])
    theirs = folder_state(school, other["student_id"])
    real = migrate.prefetch  # runs after the batch's folders are listed, before their photos are checked

    def swap_then_prefetch(folder, names):
        old = school.folder(r.old_id("kid"))
        if os.path.isdir(old) and not os.path.islink(old):
            os.rename(old, f"{old}.moved")
            if swap == "folder-renamed-in":
                os.rename(school.folder(other["student_id"]), old)
            else:
                os.symlink(school.folder(other["student_id"]), old)
        return real(folder, names)

    monkeypatch.setattr(migrate, "prefetch", swap_then_prefetch)
    result = school.migrate("--migrate", "--json")

    received = set(folder_state(school, r.new_id("kid")).values())
    assert not received & set(theirs.values()), f"Kid One received Other Child's photo (exit {result.code})"
    assert result.code == 1, result.text
    assert orphans_by_name(result.json)[r.old_id("kid")]["errors"], result.text


@pytest.mark.parametrize("swap", ["replaced", "folder-symlink"])
def test_restore_copies_only_the_bytes_it_judged_the_childs(school, monkeypatch, swap):
    """Found in the final review: the restore judged the photo its link names (Kid One's old folder, by its
    digest), then copied whatever was at that path. Replaced in between by another child's photo, or the old folder
    swapped for a symlink to the other child's folder, Kid One would receive the other child's photo."""
    from student_photos import restore

    r = _restore_evidence_school(school)
    other = school.new_student("Other Child", date_of_birth="2013-03-03")
    theirs = school.put_photo(other["student_id"], jpeg_bytes("other's own face"))
    school.seed([other])
    real = restore.stage_copy

    def swap_then_stage(source, dest, durable, data=None, **options):
        old = school.folder(r.old_id("kid"))
        if not os.path.lexists(f"{old}.moved"):
            os.rename(old, f"{old}.moved")
            if swap == "replaced":
                old.mkdir()
                (old / "profile.jpg").write_bytes(theirs)
            else:
                os.symlink(school.folder(other["student_id"]), old)
        return real(source, dest, durable, data, **options)

    monkeypatch.setattr(restore, "stage_copy", swap_then_stage)
    result = school.restore("--json")

    assert school.photo_of(r.new_id("kid")) != theirs, f"Kid One received Other Child's photo (exit {result.code})"
    assert result.code == 1, result.text
    assert not list(school.students_dir.rglob("*.partial"))
