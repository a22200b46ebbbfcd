"""Round 15: a photo already in a child's folder is linked only when nothing the tool knows says it may be another
child's (restore.EvidenceJudge.doubt_photos_in_place): the journal's placements, and backup records of other ids
whose link names a file in that folder."""
from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_migrate import Reseed

from conftest import School, drop_dac_capabilities
from student_photos.sample import jpeg_bytes

CHILDREN = [("ann", "Ann Lee", "2014-01-01"), ("bob", "Bob Ray", "2014-02-02"), ("cal", "Cal Moe", "2013-03-03"),
            ("dee", "Dee Fox", "2015-04-04")]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=2, max_value=4), data=st.data())
def test_a_second_reseed_in_any_order_never_links_a_child_to_a_photo_placed_for_another(
        tmp_path, mongo_client, mongo_url, count, data):
    """Steps 1-4 of the after-reseed procedure move each old folder to the child's new sequential id; then a second
    reseed hands the same ids out in another order (any permutation, links empty or pointing at the id's own
    folder) and step 5's backup records the new order. Invariant: every link the restore writes names the child's
    own photo, and the restore and --verify-only exit 1, naming each child whose folder holds another's photo."""
    school = School(tmp_path / uuid.uuid4().hex, mongo_client, mongo_url)
    try:
        kids = CHILDREN[:count]
        r = Reseed(school)
        for key, name, dob in kids:
            r.child(key, name, date_of_birth=dob, attendance=1)
        r.commit()
        school.collection.delete_many({})
        first = {key: {**r.new[key], "student_id": f"S{i}"} for i, (key, _, _) in enumerate(kids, 1)}
        school.seed(list(first.values()))
        assert school.migrate("--migrate").code == 0
        order = data.draw(st.permutations([key for key, _, _ in kids]), label="who gets S1, S2, ...")
        canonical = data.draw(st.booleans(), label="the reseed kept canonical links")
        second = {key: {**first[key], "student_id": f"S{i}",
                        "photo": f"/api/photos/students/S{i}/profile.jpg" if canonical else None}
                  for i, key in enumerate(order, 1)}
        school.collection.delete_many({})
        school.seed(list(second.values()))
        school.write_backup(list(second.values()), name="seed_backup_20251201_0900.json")

        restored = school.restore("--json")
        verify = school.restore("--verify-only", "--quiet")

        docs = school.db_docs()
        for key, record in second.items():  # (a link the reseed itself kept is not the tool's to remove)
            sid = record["student_id"]
            if docs[sid].get("photo") != record["photo"]:
                assert school.photo_of(sid) == r.photos[key], f"{key} ({sid}) was linked to another's photo"
        moved = [key for i, key in enumerate(order, 1) if first[key]["student_id"] != f"S{i}"]
        if moved:
            assert restored.code == 1 and verify.code == 1, (restored.text, verify.text)
            flagged = {p["student_id"] for p in restored.json["problems"] if p["problem"] == "wrong child"}
            assert flagged == {second[key]["student_id"] for key in moved}, restored.text
            assert restored.json["summary"]["wrong_child"] == len(moved), restored.json["summary"]
        else:
            assert restored.code == 0 and verify.code == 0, (restored.text, verify.text)
    finally:
        mongo_client.drop_database(school.db_name)


def test_a_backup_link_naming_a_file_in_the_folder_keeps_the_link_from_another_child_only(school):
    """A backup record of another id whose link names students/1/profile.jpg blocks the link of a child who is not
    proven that person (round 15a), but not of the same child kept under another id (the office's duplicate)."""
    emma = {**school.new_student("Emma Stone", date_of_birth="2015-01-01"), "student_id": "left-1",
            "photo": "/api/photos/students/1/profile.jpg"}
    same = {**school.new_student("Olivia Park", date_of_birth="2016-02-02"), "student_id": "dup-2",
            "photo": "/api/photos/students/2/profile.jpg"}
    olivia = {**school.new_student("Olivia Park", date_of_birth="2016-02-02"), "student_id": "2", "photo": None}
    newcomer = {**school.new_student("Nia Cole", date_of_birth="2016-05-05"), "student_id": "1", "photo": None}
    school.write_backup([emma, same])
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.put_photo("2", jpeg_bytes("olivia's face"))
    school.seed([newcomer, olivia])

    result = school.restore("--json")

    links = {sid: doc["photo"] for sid, doc in school.db_docs().items()}
    assert links["1"] is None and links["2"] == "/api/photos/students/2/profile.jpg", links
    assert result.code == 1
    assert [p["student_id"] for p in result.json["problems"] if p["problem"] == "wrong child"] == ["1"]


def test_a_journal_that_cannot_be_read_stops_every_link_write_never_all_done(school):
    """What an unreadable journal placed cannot be checked against the child it would be linked to: the restore
    (as a user who cannot read root's journal) writes no link, says why in one line, and exits 1; once it can be
    read, the link is written."""
    kid = school.new_student("Kid One", date_of_birth="2015-01-01")
    school.put_photo(kid["student_id"])
    school.seed([{**kid, "photo": None}])
    school.write_backup([kid])
    assert school.migrate("--list").code == 0  # any journalled run will do: a restore of another drift writes one
    other = school.new_student("Other Kid", date_of_birth="2015-02-02")
    school.put_photo(other["student_id"])
    school.seed([{**other, "photo": "photos/old-format.jpg"}])
    assert school.restore("--student", other["student_id"]).code == 0  # journals that link
    journals = list((school.photos / ".student-photos" / "journal").glob("*.jsonl"))
    assert journals
    for journal in journals:
        journal.chmod(0)
    try:
        blocked = school.subprocess("restore_student_photos", preexec_fn=drop_dac_capabilities)
    finally:
        for journal in journals:
            journal.chmod(0o600)

    assert blocked.code == 1, blocked.text
    assert "no link is written" in blocked.out and "all done" not in blocked.out, blocked.out
    assert school.db_docs()[kid["student_id"]]["photo"] is None
    assert school.restore().code == 0
    assert school.db_docs()[kid["student_id"]]["photo"] == f"/api/photos/students/{kid['student_id']}/profile.jpg"


@settings(max_examples=200, deadline=None)
@given(sid=st.text(alphabet="abcAB01-_.é", min_size=1, max_size=12), compact=st.booleans(),
       origin=st.dictionaries(st.sampled_from(["old_id", "name", "codes", "paired_by"]), st.text(max_size=8)))
def test_the_text_test_keeps_every_profile_placement_and_undo_line(sid, compact, origin):
    """The light journal pass parses only lines its text test keeps: every placement of a profile.jpg and every
    undo's run line must pass it, whatever the separators or the values (else a placed photo is never doubted)."""
    import json

    from student_photos.restore import _names_a_profile_or_an_undo

    separators = (",", ":") if compact else (", ", ": ")
    placed = {"type": "file", "path": f"students/{sid}/profile.jpg", "size": 5, "sha256": "ab",
              "source": f"students/{sid}x/profile.jpg", "origin": origin}
    undo = {"type": "run", "run_id": "r2", "undoes": "r1", "tool": "migrate_orphaned_photos"}
    for entry in (placed, undo):
        for ascii_only in (True, False):
            line = json.dumps(entry, separators=separators, ensure_ascii=ascii_only) + "\n"
            assert _names_a_profile_or_an_undo(line), line


def test_a_placement_in_a_folder_spelt_otherwise_is_weighed_for_the_id_it_is_on_a_share_that_ignores_case(school):
    """A migration placed Ann's photo in students/abc/; on a share that ignores case that folder is ABC's, and a
    second reseed gave ABC to Bob (simulated here by renaming the folder as the share would show it): Bob is never
    linked to it."""
    r = Reseed(school)
    r.child("ann", "Ann Lee", date_of_birth="2014-01-01", attendance=1)
    r.child("bob", "Bob Ray", date_of_birth="2014-02-02", attendance=1)
    r.commit()
    school.collection.delete_many({})
    school.seed([{**r.new["ann"], "student_id": "abc"}, {**r.new["bob"], "student_id": "xyz"}])
    assert school.migrate("--migrate").code == 0
    school.collection.delete_many({})
    (school.students_dir / "abc").rename(school.students_dir / "ABC")
    bob = {**r.new["bob"], "student_id": "ABC", "photo": None}
    school.seed([bob])
    school.write_backup([bob], name="seed_backup_20251201_0900.json")

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert school.db_docs()["ABC"]["photo"] is None, result.text
    assert result.code == 1 and "ABC" in {p["student_id"] for p in result.json["problems"]
                                          if p["problem"] == "wrong child"}, result.text
