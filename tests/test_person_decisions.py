"""A person's reviewed decisions (--pairs, "none") hold in every later run, whichever tool makes it, and an
undo of the run that applied them takes them back. Found by adversarial reviews: the restore and a photo
source decided those folders by the rule alone, and an undone pairing was still applied."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_migrate import Reseed, orphans_by_name
from test_pairs import jordans, save_as_spreadsheet

from conftest import School
from student_photos.migrate import reviewed_pairings
from student_photos.sample import jpeg_bytes
from student_photos.store import PhotoStore


def vetoed_sam(school: School, tmp_path) -> Reseed:
    """Sam's old folder fits the new Sam by the rule; a person said it goes to no one. The new record's photo
    field still links the old folder (as a reseed that copied the field leaves it)."""
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05")
    r.new["sam"]["photo"] = f"/api/photos/students/{r.old_id('sam')}/profile.jpg"
    r.commit()
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("sam"), "student_id": "none"}])
    assert school.migrate("--migrate", "--pairs", str(reviewed)).code in (0, 1)
    assert school.photo_of(r.new_id("sam")) is None
    return r


def test_a_veto_holds_for_the_restore_that_follows_a_link_into_that_folder(school, tmp_path):
    r = vetoed_sam(school, tmp_path)

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert school.photo_of(r.new_id("sam")) is None, "a person said that folder is no one's"
    assert result.code == 1, result.text
    assert "goes to no one" in result.text or "go to no one" in result.text
    assert school.restore("--verify-only", "--deep", MIN_DATABASE_RATIO="0").code == 1


def test_a_veto_holds_for_a_photo_source(school, tmp_path):
    r = vetoed_sam(school, tmp_path)
    source = tmp_path / "old-server" / "students"
    shutil.copytree(school.folder(r.old_id("sam")), source / r.old_id("sam"))
    shutil.rmtree(school.folder(r.old_id("sam")))  # a new share: the old server's copy is the only one
    school.collection.update_one({"student_id": r.new_id("sam")}, {"$set": {"photo": None}})

    result = school.restore("--photo-source", str(source.parent), "--json", MIN_DATABASE_RATIO="0")

    assert school.photo_of(r.new_id("sam")) is None
    unused = {u["file"]: u["why"] for u in result.json["photo_source"]["unused"]}
    assert any("no one" in why for why in unused.values()), unused


def test_an_undone_pairs_run_no_longer_pairs(school, tmp_path):
    r = jordans(school)  # two Jordan Smiths: the rule cannot tell them apart
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("j1"), "student_id": r.new_id("j1")}])
    applied = school.migrate("--migrate", "--pairs", str(reviewed), "--json")
    assert school.photo_of(r.new_id("j1")) == r.photos["j1"]

    undo = school.migrate("--undo", applied.json["run_id"], "--json")

    assert undo.code == 0, undo.text
    assert school.photo_of(r.new_id("j1")) is None
    later = school.migrate("--migrate", "--json")
    decisions = {o["name"]: o["decision"] for o in later.json["orphans"]}
    assert decisions[r.old_id("j1")] == "ambiguous", "the rule decides again: the person's pairing was undone"
    assert later.code == 1 and school.photo_of(r.new_id("j1")) is None


def write_audit(store: PhotoStore, *entries: dict) -> None:
    folder = store.root / ".migrations"
    folder.mkdir(exist_ok=True)
    with open(folder / "audit.jsonl", "a", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry) + "\n")


def decisions(store: PhotoStore) -> dict[str, str | None]:
    return {old: r.new_id for old, r in reviewed_pairings(store).items()}


def test_reviewed_pairings_are_one_to_one_and_retracted_run_by_run(tmp_path):
    store = PhotoStore(tmp_path)
    first, second = {"file": "a.csv", "sha256": "aa"}, {"file": "b.csv", "sha256": "bb"}
    write_audit(store,
                {"paired_by": "pairs file", "old_id": "old-1", "new_id": "new-1", "pairs_file": first, "run_id": "A"},
                {"paired_by": "pairs file", "old_id": "old-3", "vetoed": True, "pairs_file": first, "run_id": "A"},
                {"paired_by": "identity", "old_id": "old-4", "new_id": "new-4"})
    assert decisions(store) == {"old-1": "new-1", "old-3": None}
    write_audit(store, {"paired_by": "pairs file", "old_id": "old-2", "new_id": "new-1", "pairs_file": second,
                        "run_id": "B"})
    assert decisions(store) == {"old-1": None, "old-3": None, "old-2": "new-1"}, \
        "a later file gave new-1 another folder: the earlier one goes to no one, never to both"
    write_audit(store, {"paired_by": "pairs file", "old_id": "old-3", "vetoed": True, "pairs_file": first,
                        "run_id": "C"})  # the same file applied again (a rerun)
    write_audit(store, {"retracts_run": "B", "retracts": "bb", "files": []})
    assert decisions(store) == {"old-1": "new-1", "old-3": None}
    write_audit(store, {"retracts_run": "C", "retracts": "aa", "files": []})
    assert decisions(store) == {"old-1": "new-1", "old-3": None}, "run A's own decisions stand: only C was undone"
    write_audit(store, {"retracts_run": "A", "retracts": "aa", "files": []})
    assert decisions(store) == {}


def test_a_reviewed_pairing_that_copied_nothing_still_binds(school, tmp_path):
    """Found by an adversarial review: the reviewed pairing ended in a conflict (the student had a new photo),
    so no line was written and the next plain run gave the folder to the rule's choice."""
    r = Reseed(school)
    r.child("sam", "Sam Lee", date_of_birth="2015-05-05", attendance=0)
    r.newcomer("other", "Sam Lee", date_of_birth="2015-05-05")  # the rule's choice would be a namesake too
    r.new["sam"]["date_of_birth"] = "2015-05-06"  # the real Sam's birth date was mistyped at the reseed
    r.commit()
    school.put_photo(r.new_id("sam"), jpeg_bytes("sam's new photo"), attendance=0)
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("sam"), "student_id": r.new_id("sam"), "override": "yes"}])
    applied = school.migrate("--migrate", "--pairs", str(reviewed), "--json")
    assert applied.json["orphans"][0]["decision"] == "conflict"

    later = school.migrate("--migrate", "--json")

    assert school.photo_of(r.new_id("other")) is None, "the person said that folder is the real Sam's"
    assert later.json["orphans"][0]["decision"] == "conflict"


def test_a_reviewed_pairing_does_not_follow_an_id_given_to_another_child(school, tmp_path):
    """Found by an adversarial review: after a second reseed the paired id belonged to another child, and the
    earlier reviewed pairing still carried the folder there."""
    r = jordans(school)
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("j1"), "student_id": r.new_id("j1")}])
    school.migrate("--migrate", "--pairs", str(reviewed))
    shutil.rmtree(school.folder(r.new_id("j1")))
    school.collection.update_one({"student_id": r.new_id("j1")},
                                 {"$set": {"name": "Tom Brown", "date_of_birth": "2016-01-01", "photo": None}})

    result = school.migrate("--migrate", "--json")

    assert school.photo_of(r.new_id("j1")) is None, "Jordan's photo on Tom"
    orphan = next(o for o in result.json["orphans"] if o["name"] == r.old_id("j1"))
    assert orphan["decision"] != "migrated" and "now belongs to" in orphan["reason"], orphan
    assert result.code == 1, "a person must review it again: never all done"
    restored = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.photo_of(r.new_id("j1")) is None, restored.text


def test_undoing_a_pairs_run_is_not_undone_by_a_later_run_that_honoured_it(school, tmp_path):
    """Found in review: a later --pairs run (another file) wrote the earlier file's pairing again under its own
    run id, so undoing the run that made it took nothing back."""
    r = jordans(school)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    save_as_spreadsheet(first, [{"orphan": r.old_id("j1"), "student_id": r.new_id("j1")}])
    save_as_spreadsheet(second, [{"orphan": r.old_id("j2"), "student_id": r.new_id("j2")}])
    made = school.migrate("--migrate", "--pairs", str(first), "--json").json["run_id"]
    school.migrate("--migrate", "--pairs", str(second))

    assert school.migrate("--undo", made).code == 0

    listed = {o["name"]: o["decision"] for o in school.migrate("--list", "--json").json["orphans"]}
    assert listed[r.old_id("j1")] == "ambiguous", listed
    assert listed[r.old_id("j2")] in ("migrated", "migrate"), listed


def test_a_change_of_match_fields_since_a_pairing_is_unknown_not_a_crash(school, tmp_path):
    r = jordans(school)
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("j1"), "student_id": r.new_id("j1")}])
    school.migrate("--migrate", "--pairs", str(reviewed))

    for result in (school.migrate("--list", MATCH_FIELDS="date_of_birth"),
                   school.restore("--verify-only", "--deep", MATCH_FIELDS="date_of_birth", MIN_DATABASE_RATIO="0")):
        assert result.code in (0, 1), result.text
        assert "Unexpected" not in result.text


def test_match_fields_that_would_leave_names_alone_are_refused(school):
    school.write_backup([])
    for value in ("", " , ", "date_of_birth student_number", "ids.student_number"):
        result = school.restore("--verify-only", MATCH_FIELDS=value)
        assert result.code == 2 and "MATCH_FIELDS" in result.err, (value, result.text)


def test_an_older_journal_s_name_key_is_made_again_from_the_old_name():
    from student_photos.deep import _origin_person
    from student_photos.identity import name_key
    stale = {"old_name": "\u0410nn Lee", "name_key": "\u0430nn lee", "codes": ""}  # a key made before folding
    assert _origin_person(stale, ("date_of_birth",)).name == name_key("Ann Lee")


@pytest.mark.parametrize("name,value", [("DB_SOCKET_TIMEOUT_SECONDS", "0.0001"), ("DB_SOCKET_TIMEOUT_SECONDS", "0"),
                                        ("DB_TIMEOUT_SECONDS", "0"), ("DB_TIMEOUT_SECONDS", "1e9")])
def test_a_timeout_the_driver_would_read_as_for_ever_is_refused(school, name, value):
    """Found by an adversarial review: below a millisecond the timeout became 0, which the driver reads as no
    timeout at all: a cron run against a stalled server would hang."""
    school.write_backup([])
    result = school.restore("--verify-only", **{name: value})
    assert result.code == 2 and name in result.err, result.text


LINES = st.lists(st.one_of(
    st.builds(lambda o, n, r: {"paired_by": "pairs file", "old_id": o, "new_id": n, "run_id": r,
                               "pairs_file": {"sha256": r}},
              st.sampled_from("abcd"), st.sampled_from("STU"), st.sampled_from(["r1", "r2", "r3"])),
    st.builds(lambda o, r: {"paired_by": "pairs file", "old_id": o, "vetoed": True, "run_id": r,
                            "pairs_file": {"sha256": r}}, st.sampled_from("abcd"), st.sampled_from(["r1", "r2"])),
    st.builds(lambda r: {"retracts_run": r, "retracts": r, "files": []}, st.sampled_from(["r1", "r2", "r3"]))),
    max_size=14)


@settings(max_examples=300, deadline=None)
@given(lines=LINES)
def test_reviewed_pairings_never_give_a_student_two_folders_and_follow_the_latest_decision(tmp_path_factory, lines):
    store = PhotoStore(tmp_path_factory.mktemp("audit"))
    write_audit(store, *lines)
    found = decisions(store)
    given = [n for n in found.values() if n is not None]
    assert len(given) == len(set(given)), found
    live = []  # the rule, stated plainly: undone runs' lines gone, then the latest line per folder ...
    for line in lines:
        if "retracts_run" in line:
            live = [x for x in live if x["run_id"] != line["retracts_run"]]
        else:
            live.append(line)
    latest = {x["old_id"]: (at, x) for at, x in enumerate(live)}
    for old_id, (at, line) in latest.items():
        if line.get("vetoed"):
            assert found[old_id] is None
        else:  # ... given the student unless a later line gave that student another folder
            later = [x for x in live[at + 1:] if x.get("new_id") == line["new_id"] and x["old_id"] != old_id]
            assert found[old_id] == (None if later else line["new_id"]), (found, line)


def amy_and_a_rival(school: School) -> Reseed:
    """Two old folders fit Amy by the rule: her own, and another "Amy Smith" with no birth date on record (it
    could be her). The new record's photo field still links her old folder (as a reseed that copied it). Bob
    Ray is a newcomer."""
    r = Reseed(school)
    r.child("amy", "Amy Smith", date_of_birth="2015-03-04")
    r.child("x", "Amy Smith", stays=False)
    r.newcomer("bob", "Bob Ray", date_of_birth="2016-06-06")
    r.new["amy"]["photo"] = f"/api/photos/students/{r.old_id('amy')}/profile.jpg"
    r.commit()
    return r


def test_a_person_s_pairing_beats_a_rival_folder_in_the_restore_and_deep(school, tmp_path):
    """Found by a review: a person paired Amy's old folder with her (--pairs), as migrate honours over a rival
    folder; the restore still refused that folder's photo for her because the rival fitted too, and --deep flagged
    her photo (byte-identical to her old folder's) as the photo of an orphan of another person."""
    r = amy_and_a_rival(school)
    assert school.photo_of(r.new_id("amy")) is None
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("amy"), "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(reviewed)).code in (0, 1)
    assert school.photo_of(r.new_id("amy")) == r.photos["amy"]

    deep = school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")
    assert deep.json["deep"] == [], deep.text

    (school.folder(r.new_id("amy")) / "profile.jpg").unlink()  # lost: the restore takes it from her old folder
    result = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.photo_of(r.new_id("amy")) == r.photos["amy"], result.text


@pytest.mark.parametrize("decision", ["none", "another student"])
def test_a_rival_folder_a_person_gave_another_student_blocks_no_one_and_one_given_to_no_one_still_does(
        school, tmp_path, decision):
    """A rival folder a person gave to another student is no rival: a later migrate gives Amy her own folder, and
    the restore the photo her record links there (the three tools agree). One a person gave to no one still is:
    "no one" keeps a folder from everyone, it does not say it is not Amy's (found by a review: it let Amy's
    other folder through unreviewed)."""
    r = amy_and_a_rival(school)
    reviewed = tmp_path / "reviewed.csv"
    row = {"orphan": r.old_id("x"), "student_id": "none"} if decision == "none" else \
        {"orphan": r.old_id("x"), "student_id": r.new_id("bob"), "override": "yes"}
    save_as_spreadsheet(reviewed, [row])
    before = school.restore("--verify-only", "--json", MIN_DATABASE_RATIO="0")
    assert "fits this student too" in before.text, "without a person's decision the rival blocks"
    assert school.migrate("--migrate", "--pairs", str(reviewed)).code in (0, 1)

    restored = school.restore("--json", MIN_DATABASE_RATIO="0")
    if decision == "none":
        assert school.photo_of(r.new_id("amy")) != r.photos["amy"], restored.text
        assert "fits this student too" in restored.text, restored.text
    else:
        assert school.photo_of(r.new_id("amy")) == r.photos["amy"], restored.text
        (school.folder(r.new_id("amy")) / "profile.jpg").unlink()
    later = school.migrate("--migrate", "--json")
    decisions = {o["name"]: o["decision"] for o in later.json["orphans"]}
    if decision == "none":
        assert decisions[r.old_id("amy")] == "ambiguous", later.text
        assert school.photo_of(r.new_id("amy")) != r.photos["amy"]
    else:
        assert decisions[r.old_id("amy")] == "migrated", later.text
        assert school.photo_of(r.new_id("amy")) == r.photos["amy"]


def test_a_folder_a_person_gave_a_student_keeps_another_old_folder_s_photo_from_them(school, tmp_path):
    """A person gave Amy the other "Amy Smith" folder: it is no rival any more (settled), but it is hers, so her
    old folder by the rule gives her nothing (a student never receives two; migrate: pair_by_person)."""
    r = amy_and_a_rival(school)
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("x"), "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(reviewed)).code in (0, 1)
    assert school.photo_of(r.new_id("amy")) == r.photos["x"]
    (school.folder(r.new_id("amy")) / "profile.jpg").unlink()

    result = school.restore("--json", MIN_DATABASE_RATIO="0")

    assert school.photo_of(r.new_id("amy")) != r.photos["amy"], "the rule's folder over the person's"
    assert f"a person gave this student another old folder ({r.old_id('x')})" in result.text, result.text
    assert school.migrate("--migrate", "--json").json["orphans"] and school.photo_of(r.new_id("amy")) != r.photos["amy"]


def test_a_folder_a_person_gave_a_student_still_refuses_the_other_after_it_was_cleaned(school: School, tmp_path):
    """Found by a review. A person gave Amy folder x (the rival); the other "Amy Smith" folder must never go to her
    as well. Restore says so ("a person gave this student another old folder"); migrate must too, also once x was
    cleaned (it is no longer an orphan, so honour_reviewed skips it and pair_by_person never runs)."""
    r = Reseed(school)
    r.child("amy", "Amy Smith", date_of_birth="2015-03-04", attendance=3)
    r.child("x", "Amy Smith", stays=False)
    r.commit()
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": r.old_id("x"), "student_id": r.new_id("amy")}])
    assert school.migrate("--migrate", "--pairs", str(reviewed)).code in (0, 1)
    assert school.photo_of(r.new_id("amy")) == r.photos["x"]
    clean = orphans_by_name(school.migrate("--clean", "--confirm", "--json").json)
    assert not school.folder(r.old_id("x")).exists(), clean

    later = school.migrate("--migrate", "--json")

    amy_old = orphans_by_name(later.json)[r.old_id("amy")]
    extra = school.folder(r.new_id("amy")) / "attendance" / "2025-11-12_AM.jpg"
    assert not extra.exists(), f"the folder the person did not give Amy was copied into hers: {amy_old}"
    assert amy_old["decision"] not in ("migrated", "migrate", "conflict"), amy_old


@pytest.mark.parametrize("old_id_now,cleaned", [("recycled to Zed", True), ("gone", True), ("recycled to Zed", False)])
def test_a_pairing_whose_id_was_recycled_still_keeps_other_folders_from_its_student(school, tmp_path, old_id_now,
                                                                                     cleaned):
    """Found by a tester. A person gave folder x to Amy (id A) over her rule-match amy-old; x was cleaned. A second
    reseed gives Amy id A2 and recycles A to Zed. amy-old must still not go to Amy ("a student a person gave a
    folder to gets no other, even once that folder was cleaned"; "it follows the student, not the id")."""
    r = Reseed(school)
    r.child("amy", "Amy Smith", date_of_birth="2015-03-04", attendance=3)
    r.child("x", "Amy Smith", stays=False, attendance=2)
    r.newcomer("bob", "Bob Ray", date_of_birth="2016-06-06")
    school.write_backup(list(r.old.values()), name="seed_backup_20251001_0000.json")
    school.seed(list(r.new.values()))
    first_id = r.new_id("amy")
    f1 = tmp_path / "r1.csv"
    save_as_spreadsheet(f1, [{"orphan": r.old_id("x"), "student_id": first_id}])
    assert school.migrate("--migrate", "--pairs", str(f1)).code in (0, 1)
    assert school.photo_of(first_id) == r.photos["x"]
    if cleaned:
        school.migrate("--clean", "--confirm")
        assert not school.folder(r.old_id("x")).exists()
    assert school.folder(r.old_id("amy")).exists()
    # before the second reseed: a backup of the first reseed's database
    school.write_backup([{**d, "photo": f"/api/photos/students/{d['student_id']}/profile.jpg"}
                         for d in school.collection.find({}, {"_id": 0})])
    school.collection.delete_many({})
    amy2 = school.new_student("Amy Smith", date_of_birth="2015-03-04", photo=None)
    zed = {"student_id": first_id, "name": "Zed Zane", "date_of_birth": "2014-01-01", "photo": None}
    bob = dict(r.new["bob"])
    school.seed([amy2, zed, bob] if old_id_now == "recycled to Zed" else [amy2, bob])

    listed = school.migrate("--list", "--json")
    assert listed.code == 1, "a person's pairing that cannot be followed is never all done"
    res = school.migrate("--migrate", "--json")
    amy_old = orphans_by_name(res.json)[r.old_id("amy")]
    assert school.photo_of(amy2["student_id"]) != r.photos["amy"], \
        f"Amy got the folder the person did not give her, once her id was recycled: {amy_old}"
    restored = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.photo_of(amy2["student_id"]) != r.photos["amy"], restored.text
