"""The journal's record of whom a placed photo came from (a migrate's `origin`), judged by the identity rule: the
restore refuses bytes a journalled run placed from another person (or one it cannot prove is this child), and
--deep finds them wherever they went on. The journal only ever refuses: a school without one restores as before."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from test_migrate import Reseed

from conftest import School

CANON = "/api/photos/students/{}/profile.jpg"
CHILDREN = (("a", "Amy Adams", "2015-01-01", "z-old"), ("b", "Ben Brown", "2015-02-02", "x-old"),
            ("c", "Cal Cole", "2015-03-03", "y-old"))  # old ids sort x, y, z: an order migration mixes them up


def reseed_keeping_links(school: School, reseed: Reseed, held: dict[str, str], backup: str) -> dict[str, str]:
    """A backup of the database as it is, then new ids for everyone, each `photo` still naming their old folder."""
    school.write_backup(list(school.collection.find({}, {"_id": 0})), name=backup)
    school.collection.delete_many({})
    new = {k: str(uuid.uuid4()) for k in reseed.new}
    school.seed([{**reseed.new[k], "student_id": new[k], "photo": CANON.format(held[k])} for k in reseed.new])
    return new


def migrated_then_reseeded(school: School, match: str) -> tuple[Reseed, dict[str, str], dict[str, str]]:
    """A journalled migrate and restore, the old folders deleted by hand, then a second reseed keeping the links.
    Returns the reseed, the first ids and the second ids."""
    r = Reseed(school)
    for key, name, dob, old_id in CHILDREN:
        r.child(key, name, date_of_birth=dob, attendance=1, old_id=old_id)
    r.commit()
    assert school.migrate("--migrate", *(["--match", match] if match == "order" else [])).code in (0, 1)
    assert school.restore().code in (0, 1)
    for key in r.old:
        shutil.rmtree(school.folder(r.old_id(key)))
    first = {k: r.new_id(k) for k in r.new}
    return r, first, reseed_keeping_links(school, r, first, "seed_backup_20251201_0000.json")


def wearers(school: School, r: Reseed, ids: dict[str, str]) -> dict[str, str | None]:
    face_of = {v: k for k, v in r.photos.items()}
    return {k: face_of.get(school.photo_of(ids[k]) or b"") for k in ids}


def journal_files(school: School):
    return sorted((school.photos / ".student-photos" / "journal").glob("*.jsonl"))


def rewrite_origins(school: School, change) -> None:
    for path in journal_files(school):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        for entry in lines:
            if entry.get("type") == "file" and "name_key" in (entry.get("origin") or {}):
                change(entry["origin"])
        path.write_text("".join(json.dumps(e) + "\n" for e in lines))


def test_a_migration_by_identity_still_follows_each_child_through_two_more_reseeds(school):
    """No false refusal: each child's own photo, placed from their own old folder, follows them; the restore's copy
    carries the origin on, and a third reseed follows that copy too."""
    r, _, second = migrated_then_reseeded(school, "identity")

    run = school.restore("--json")

    assert run.code == 0, run.text
    assert wearers(school, r, second) == {k: k for k in second}
    copied = [json.loads(line) for path in journal_files(school) for line in path.read_text().splitlines()]
    carried = [e for e in copied if e.get("type") == "file" and "link" in e.get("origin", {})]
    assert len(carried) == 3 and all(e["origin"].get("name_key") for e in carried), carried
    assert school.restore("--verify-only", "--deep", "--json").code == 0
    for key in r.new:
        shutil.rmtree(school.folder(r.new_id(key)))
    third = reseed_keeping_links(school, r, second, "seed_backup_20251202_0000.json")

    again = school.restore("--json")

    assert again.code == 0, again.text
    assert wearers(school, r, third) == {k: k for k in third}
    assert school.restore("--verify-only", "--deep", "--json").code == 0


@pytest.mark.parametrize("origin", ["no name", "a name only", "not as a run writes it"])
def test_an_origin_the_rule_cannot_prove_is_this_child_refuses_the_copy(school, origin):
    """Fail closed: a recorded origin that cannot be proven the child (no name, a name where the child has a
    birth date to agree on, a line edited out of shape) refuses the copy, as --deep flags it."""
    r, _, second = migrated_then_reseeded(school, "identity")

    def change(o: dict) -> None:
        if origin == "no name":
            o.update(old_name=None, name_key=None)
        elif origin == "a name only":
            o["codes"] = ""
        else:
            o.update(old_name=["Amy"], name_key={"x": 1}, codes=7)
    rewrite_origins(school, change)

    deep = school.restore("--verify-only", "--deep", "--json")
    run = school.restore("--json")

    assert all(school.photo_of(second[k]) is None for k in second), run.text
    assert run.code == 1 and "placed in students/" in run.text
    assert deep.code == 1 and {f["kind"] for f in deep.json["deep"]} == {"placed from another person"}


def test_without_a_journal_a_migration_by_identity_restores_as_before(school):
    """A school without a journal is normal: its absence refuses nothing."""
    r, _, second = migrated_then_reseeded(school, "identity")
    shutil.rmtree(school.photos / ".student-photos" / "journal")

    run = school.restore("--json")

    assert run.code == 0, run.text
    assert wearers(school, r, second) == {k: k for k in second}


def test_unreadable_journal_files_beside_the_migrations_do_not_hide_them(school):
    r, _, second = migrated_then_reseeded(school, "order")
    folder = school.photos / ".student-photos" / "journal"
    (folder / "20200101-000000-000-aaaaaa.jsonl").mkdir()
    (folder / "20200101-000000-000-bbbbbb.jsonl").write_bytes(b"\xff\xfe not json\n{\"type\": \"file\", \"origin\"")
    with journal_files(school)[-1].open("a") as cut:
        cut.write('{"type": "file", "path": "students/x/profile.jpg", "origin": {"name_key"')  # cut short by a kill

    run = school.restore("--json")

    assert run.code == 1, run.text
    assert all(school.photo_of(second[k]) is None for k in second)


def test_a_photo_source_with_bytes_a_migration_placed_from_another_child_is_refused(school, tmp_path):
    r, first, second = migrated_then_reseeded(school, "order")
    school.collection.update_many({}, {"$set": {"photo": None}})  # no link to follow: the source alone fills
    source = tmp_path / "rsync-copy" / "students"
    for key in second:
        (source / second[key]).mkdir(parents=True)
        (source / second[key] / "profile.jpg").write_bytes((school.folder(first[key]) / "profile.jpg").read_bytes())

    run = school.restore("--photo-source", str(source.parent), "--json")

    assert run.code == 1, run.text
    assert all(school.photo_of(second[k]) is None for k in second), wearers(school, r, second)


@pytest.mark.parametrize("source", [False, True])
def test_the_restore_reads_each_journal_once(school, monkeypatch, tmp_path, source):
    """A district's journal holds 60,000 lines: the rewritten links, quarantined photos and placements the
    restore asks about come from one pass, not one per question (nor per student, nor again for a photo source)."""
    from student_photos import journal
    _, first, second = migrated_then_reseeded(school, "order")
    extra = []
    if source:
        for key in second:
            (tmp_path / "src" / "students" / second[key]).mkdir(parents=True)
            shutil.copy(school.folder(first[key]) / "profile.jpg", tmp_path / "src" / "students" / second[key])
        extra = ["--photo-source", str(tmp_path / "src")]
    reads: list[str] = []
    real = journal.read_journal

    def counted(path, *args):
        reads.append(str(path))
        return real(path, *args)
    monkeypatch.setattr(journal, "read_journal", counted)

    assert school.restore("--json", *extra).code == 1

    assert reads and len(reads) == len(set(reads)), reads


def test_a_journal_line_is_read_in_the_match_fields_it_was_written_under(school):
    """The codes of a migrate's origin are in its MATCH_FIELDS order; a later run with the setting changed (fields
    reordered, one added) reads them by field name, not position: each child's own migrated photo is no finding,
    and a line that does not say its fields is read as before."""
    from student_photos.deep import _in_order_of
    from student_photos.identity import SEPARATOR

    r = Reseed(school)
    for key, name, dob, old_id in CHILDREN:
        r.child(key, name, date_of_birth=dob, student_number=f"S{key}", attendance=1, old_id=old_id)
    r.commit()
    first = {"MATCH_FIELDS": "date_of_birth,student_number"}
    assert school.migrate("--migrate", **first).code == 0
    assert school.restore(**first).code == 0

    later = school.restore("--verify-only", "--deep", "--json", MATCH_FIELDS="student_number,email,date_of_birth")

    assert later.code == 0, later.text[-800:]
    codes = SEPARATOR.join(["d2015-01-01", "tsa"])
    assert _in_order_of(codes, ["date_of_birth", "student_number"], ["student_number", "date_of_birth"]) == \
        SEPARATOR.join(["tsa", "d2015-01-01"])
    assert _in_order_of(codes, None, ["student_number", "date_of_birth"]) == codes  # (an older line)
