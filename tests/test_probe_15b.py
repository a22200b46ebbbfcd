"""Round 15b probes: the after-reseed steps walked with something going wrong at each."""
from __future__ import annotations

from test_migrate import Reseed

from conftest import drop_dac_capabilities
from student_photos.sample import jpeg_bytes


def _two(school, photo_new=None):
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2014-01-01")
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02")
    r.commit()
    return r


def test_probe_restore_before_migrate_verify_is_not_all_done(school):
    r = _two(school)
    res = school.restore()
    print(res.text)
    v = school.restore("--verify-only", "--quiet")
    print("VERIFY", v.code, v.text)
    assert v.code != 0 or all(school.photo_of(r.new_id(k)) == r.photos[k] for k in ("ann", "bob"))


def test_probe_new_attendance_in_old_folder_after_migration(school):
    r = _two(school)
    assert school.migrate("--migrate").code == 0
    school.restore()
    # the app keeps writing to the old id
    (school.folder(r.old_id("ann")) / "attendance" / "2025-12-01_AM.jpg").write_bytes(jpeg_bytes("late ann"))
    v = school.restore("--verify-only", "--quiet")
    print("VERIFY", v.code, v.text)
    c = school.migrate("--clean", "--confirm")
    print("CLEAN", c.code, c.text)
    assert (school.folder(r.old_id("ann")) / "attendance" / "2025-12-01_AM.jpg").exists()
    assert school.folder(r.new_id("ann")).is_dir() and school.photo_of(r.new_id("ann")) == r.photos["ann"]


def _walk(school, tag):
    m = school.migrate("--migrate")
    rs = school.restore()
    v = school.restore("--verify-only", "--quiet")
    print(tag, "migrate", m.code, "restore", rs.code, "verify", v.code)
    return m, rs, v


def test_probe_copy_corrupted_in_new_folder_then_clean_and_verify(school):
    r = _two(school)
    _walk(school, "corrupt")
    new = school.folder(r.new_id("ann")) / "profile.jpg"
    new.write_bytes(new.read_bytes()[:100])  # cut short
    v = school.restore("--verify-only", "--quiet")
    c = school.migrate("--clean", "--confirm")
    print("verify", v.code, v.text[-600:], "clean", c.code)
    assert v.code == 1
    assert school.photo_of(r.old_id("ann")) == r.photos["ann"]
    assert c.code != 0


def test_probe_new_folder_removed_by_hand_before_clean(school):
    import shutil
    r = _two(school)
    _walk(school, "removed")
    shutil.rmtree(school.folder(r.new_id("ann")))
    v = school.restore("--verify-only", "--quiet")
    c = school.migrate("--clean", "--confirm")
    print("verify", v.code, "clean", c.code, c.text[-500:])
    assert v.code == 1
    assert school.photo_of(r.old_id("ann")) == r.photos["ann"]
    rs = school.restore()
    v2 = school.restore("--verify-only", "--quiet")
    print("restore", rs.code, rs.text[-1500:], "verify2", v2.code, v2.text[-800:])
    assert v2.code != 0 or school.photo_of(r.new_id("ann")) == r.photos["ann"]


def test_probe_new_profile_deleted_by_hand_then_restore(school):
    r = _two(school)
    _walk(school, "deleted")
    (school.folder(r.new_id("ann")) / "profile.jpg").unlink()
    rs = school.restore()
    v = school.restore("--verify-only", "--quiet")
    print("restore", rs.code, "verify", v.code, v.text[-800:])
    assert v.code != 0 or school.photo_of(r.new_id("ann")) == r.photos["ann"]


def test_probe_clean_with_unreadable_new_profile(school):
    r = _two(school)
    _walk(school, "unreadable")
    p = school.folder(r.new_id("ann")) / "profile.jpg"
    p.chmod(0)
    try:
        c = school.subprocess("migrate_orphaned_photos", "--clean", "--confirm", preexec_fn=drop_dac_capabilities)
        v = school.subprocess("restore_student_photos", "--verify-only", "--quiet", preexec_fn=drop_dac_capabilities)
    finally:
        p.chmod(0o644)
    print("clean", c.code, "verify", v.code, v.text[-600:])
    assert school.photo_of(r.old_id("ann")) == r.photos["ann"]
    assert v.code != 0 and c.code != 0


def test_probe_unicode_space_photo_dir_full_procedure(school, tmp_path):
    import shutil
    r = _two(school)
    odd = tmp_path / "Schul Fotos ü 写真"
    shutil.move(str(school.photos), str(odd))
    env = {"PHOTO_DIR": str(odd)}
    m = school.migrate("--migrate", **env)
    rs = school.restore(**env)
    v = school.restore("--verify-only", "--quiet", **env)
    c = school.migrate("--clean", "--confirm", **env)
    v2 = school.restore("--verify-only", "--quiet", **env)
    print(m.code, rs.code, v.code, c.code, v2.code)
    for k in ("ann", "bob"):
        assert (odd / "students" / r.new_id(k) / "profile.jpg").read_bytes() == r.photos[k]
        assert not (odd / "students" / r.old_id(k)).exists()
    assert (m.code, rs.code, v.code, c.code, v2.code) == (0, 0, 0, 0, 0)


def _migrated_then_reseeded_again(school) -> tuple[Reseed, str]:
    """Migrate O->N (Ann), restore; then a second reseed gives N to Bob (his record linking N's photo) and Ann
    the id ann-two."""
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2014-01-01")
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02", photo=False)
    r.commit()
    assert school.migrate("--migrate").code == 0
    assert school.restore().code in (0, 1)
    n_ann = r.new_id("ann")
    school.collection.delete_many({})
    ann2 = {**r.new["ann"], "student_id": "ann-two", "photo": None}
    bob2 = {**r.new["bob"], "student_id": n_ann, "photo": f"/api/photos/students/{n_ann}/profile.jpg"}
    school.seed([ann2, bob2])
    return r, n_ann


def test_probe_second_reseed_recycles_the_migrated_id_before_any_new_backup(school):
    """Migrate O->N (Ann), restore; then, before step 5's backup, a second reseed gives N to Bob and Ann N2.
    No backup knows N was Ann's; only the migration's journal does. Bob must not be 'all done' wearing Ann's face."""
    r, n_ann = _migrated_then_reseeded_again(school)
    v = school.restore("--verify-only", "--quiet")
    d = school.restore("--verify-only", "--quiet", "--deep")
    li = school.migrate("--list")
    print("verify", v.code, v.text[-1500:], "\nDEEP", d.code, d.text[-1500:], "\nLIST", li.code, li.text[-2500:])
    assert school.photo_of(n_ann) == r.photos["ann"]
    assert d.code == 1 and n_ann in d.text
    assert v.code == 1


def test_probe_second_reseed_recycles_the_migrated_id_then_the_steps_go_on(school):
    r, n_ann = _migrated_then_reseeded_again(school)
    codes = {}
    codes["list"] = school.migrate("--list").code
    mig = school.migrate("--migrate")
    codes["migrate"] = mig.code
    codes["restore"] = school.restore().code
    school.write_backup(list(school.db_docs().values()), name="seed_backup_20251201_0900.json")
    codes["verify"] = school.restore("--verify-only", "--quiet").code
    cl = school.migrate("--clean", "--confirm")
    codes["clean"] = cl.code
    v2 = school.restore("--verify-only", "--quiet")
    d2 = school.restore("--verify-only", "--quiet", "--deep")
    codes["verify2"], codes["deep2"] = v2.code, d2.code
    print(codes, mig.text[-1500:], cl.text[-2500:], "\nV2", v2.text[-1500:], "\nD2", d2.text[-2000:])
    assert school.photo_of("ann-two") == r.photos["ann"]
    assert school.photo_of(n_ann) == r.photos["ann"]  # Bob wears Ann's photo
    assert d2.code == 1 and n_ann in d2.text


def test_probe_sequential_ids_swapped_by_a_second_reseed_after_clean(school):
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2014-01-01")
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02")
    r.commit()
    school.collection.delete_many({})
    first = {"ann": {**r.new["ann"], "student_id": "S1"}, "bob": {**r.new["bob"], "student_id": "S2"}}
    school.seed(list(first.values()))
    codes = {}
    codes["migrate"] = school.migrate("--migrate").code
    codes["restore"] = school.restore().code
    codes["clean"] = school.migrate("--clean", "--confirm").code
    assert school.photo_of("S1") == r.photos["ann"] and school.photo_of("S2") == r.photos["bob"]
    # second reseed before step 5's backup: the same children, ids handed out in another order, links empty
    school.collection.delete_many({})
    school.seed([{**first["bob"], "student_id": "S1", "photo": None},
                 {**first["ann"], "student_id": "S2", "photo": None}])
    codes["list"] = school.migrate("--list").code
    rs = school.restore()
    codes["restore2"] = rs.code
    v = school.restore("--verify-only", "--quiet")
    codes["verify"] = v.code
    d = school.restore("--verify-only", "--quiet", "--deep")
    codes["deep"] = d.code
    print(codes, rs.text[-2500:], "\nDEEP", d.text[-1500:])
    print(school.db_docs())
    assert codes["deep"] == 1


def test_probe_undo_of_a_pairs_run_after_its_folder_was_cleaned(school, tmp_path):
    from test_pairs import jordans, save_as_spreadsheet
    r = jordans(school)
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("j1"), "student_id": r.new_id("j1")}])
    applied = school.migrate("--migrate", "--pairs", str(reviewed), "--json")
    assert school.photo_of(r.new_id("j1")) == r.photos["j1"]
    rs = school.restore()
    cl = school.migrate("--clean", "--confirm", "--json")
    gone = not school.folder(r.old_id("j1")).exists()
    undo = school.migrate("--undo", applied.json["run_id"])
    v = school.restore("--verify-only", "--quiet")
    d = school.restore("--verify-only", "--quiet", "--deep")
    li = school.migrate("--list")
    print("restore", rs.code, "clean", cl.code, "gone", gone, "undo", undo.code, undo.text[-1200:],
          "\nV", v.code, v.text[-800:], "\nD", d.code, d.text[-1200:], "\nLIST", li.code)
    assert undo.code == 1


def test_probe_clean_right_after_migrate_with_default_age(school):
    r = _two(school)
    assert school.migrate("--migrate").code == 0
    c = school.migrate("--clean", "--confirm", CLEAN_MIN_AGE_SECONDS="600")
    print("CLEAN", c.code, c.text[-900:])
    assert school.photo_of(r.old_id("ann")) == r.photos["ann"]
