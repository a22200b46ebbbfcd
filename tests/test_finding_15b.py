"""Round 15b findings: the after-reseed steps walked with something going wrong; each test asserts the safe,
honest behaviour and fails on the current code."""
from __future__ import annotations

from test_migrate import Reseed

from conftest import drop_dac_capabilities


def test_clean_confirm_that_could_not_remove_a_folder_is_never_all_done(school):
    """Step 10 on a share where the tool may not rename in students/ (a sticky or read-only students/ folder):
    every migrated old folder is kept ("could not move aside: Permission denied"), yet the run ends with
    'all done, nothing needs attention (exit 0)': the administrator is told step 10 is finished while no
    folder was removed. A removal that fails later (rmtree) is an error (exit 1); the rename failing must be too."""
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2014-01-01")
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02")
    r.commit()
    assert school.migrate("--migrate").code == 0
    assert school.restore().code == 0
    dry = school.migrate("--clean", "--json")
    assert {o["clean"] for o in dry.json["orphans"]} == {"remove"}, dry.text
    school.students_dir.chmod(0o555)
    try:
        clean = school.subprocess("migrate_orphaned_photos", "--clean", "--confirm",
                                  preexec_fn=drop_dac_capabilities)
    finally:
        school.students_dir.chmod(0o755)
    assert school.photo_of(r.old_id("ann")) == r.photos["ann"]  # nothing lost: the folders are still there
    assert "could not move aside" in clean.out
    assert "all done" not in clean.out, clean.out
    assert clean.code == 1, clean.text


def test_a_second_reseed_before_step_5_never_gets_a_child_linked_to_the_photo_migrate_placed_for_another(school):
    """Steps 1-4 done (Ann's old folder -> S1, Bob's -> S2). Before step 5's backup the database is reseeded again
    and the school's sequential ids come out in another order: S1 is now Bob, S2 Ann. Step 5's backup then holds
    S1=Bob, so no backup ever said S1 was Ann; only the tool's own journal does (it placed S1/profile.jpg from
    Ann's old folder minutes ago). Step 6 writes Bob's `photo` link to Ann's face and Ann's to Bob's, exit 0;
    step 7 says all is well. `--deep` knows ('placed from another person'); the plain restore, which writes the
    link, never asks the journal."""
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2014-01-01")
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02")
    r.commit()
    school.collection.delete_many({})
    ann, bob = {**r.new["ann"], "student_id": "S1"}, {**r.new["bob"], "student_id": "S2"}
    school.seed([ann, bob])
    assert school.migrate("--migrate").code == 0  # step 4
    assert school.photo_of("S1") == r.photos["ann"] and school.photo_of("S2") == r.photos["bob"]
    # a second reseed: the same two children, ids handed out in another order, links empty
    school.collection.delete_many({})
    school.seed([{**bob, "student_id": "S1", "photo": None}, {**ann, "student_id": "S2", "photo": None}])
    school.write_backup([{**bob, "student_id": "S1"}, {**ann, "student_id": "S2"}],
                        name="seed_backup_20251201_0900.json")  # step 5: the app's backup of the database now

    restore = school.restore()  # step 6
    verify = school.restore("--verify-only", "--quiet")  # step 7

    links = {sid: doc["photo"] for sid, doc in school.db_docs().items()}
    assert links["S1"] is None, f"Bob (S1) was linked to Ann's photo: {restore.out}"
    assert links["S2"] is None, "Ann (S2) was linked to Bob's photo"
    assert restore.code == 1 and verify.code == 1, (restore.code, verify.code)


def test_a_persons_none_is_never_dropped_because_the_audit_log_cannot_be_read(school, tmp_path):
    """Step 2-4: a person looked at review.html and wrote `none` for Sam's old folder (the rule would give it to Sam;
    the person saw it is not his photo). That decision lives only in .migrations/audit.jsonl. The file then cannot
    be read by the user the next runs use (chmod 000 here; a pairs run made with sudo leaves it root's 0600): every
    later run reads no decision at all and treats that as 'no person decided'. `--list` says 'Would migrate to: Sam
    Lee' (exit 0) and the restore copies the vetoed photo to Sam and links it, 'all done (exit 0)'. A decision
    that cannot be read must stop the run (exit 1/2), as an unreadable journal does."""
    from test_person_decisions import vetoed_sam
    r = vetoed_sam(school, tmp_path)
    audit = school.photos / ".migrations" / "audit.jsonl"
    audit.chmod(0)
    try:
        listed = school.subprocess("migrate_orphaned_photos", "--list", preexec_fn=drop_dac_capabilities,
                                   MIN_DATABASE_RATIO="0")
        restored = school.subprocess("restore_student_photos", preexec_fn=drop_dac_capabilities,
                                     MIN_DATABASE_RATIO="0")
    finally:
        audit.chmod(0o600)
    assert school.photo_of(r.new_id("sam")) is None, f"the vetoed photo was given to Sam: {restored.out}"
    assert restored.code != 0, restored.text
    assert listed.code != 0 and "Would migrate to" not in listed.out, listed.text
