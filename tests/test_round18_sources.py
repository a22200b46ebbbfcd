"""Round 18, sources: a picture-day key (student_number) that a backup holds for another child is not trusted.

A number given again (Ann left, her 123 went to Ben) names Ben in the database, but a picture-day file named 123
may be Ann's face: any backup record holding the key for a person the identity rule does not prove to be its
current holder blocks that key (nothing filled from the file, exit 1, the file's line names the backup and the
person). A backup record of the same child (under an old id, the name written alike) blocks nothing
(finding 18b, docs/safety.md "Photo sources")."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from test_sources import make_zip

from student_photos.sample import jpeg_bytes

BEN = {"name": "Ben New", "date_of_birth": "2018-05-05", "student_number": 123}
NUMBERS = [123, "123", "00123", 123.0]  # 123 however an export wrote it
HELD = [*NUMBERS, ["123"], [456, 123]]  # ... or a list holding it (indexed, not read as a number)
ALIKE = ["Ben New", "ben new", "BEN  NEW", " Ben New "]  # the name key the identity rule compares is one
OTHERS = [("Ann Gone", "2012-01-01"), ("Ann Gone", "2018-05-05"), ("Ben New", "2012-01-01"),
          ("Benjamin Other", None)]  # another person: another name, another birth date, or both


def _fresh(school):
    school.collection.delete_many({})
    shutil.rmtree(school.students_dir, ignore_errors=True)
    school.students_dir.mkdir()
    for old in school.backups.iterdir():
        old.unlink()


def _school_with(school, tmp_path, ben: dict, older: list[tuple[int, dict]], file_name: str):
    """Ben in the database and the newest backup, without a photo; ``older``: (backup number, record) of the backups
    before; a picture-day zip holding ``file_name``."""
    backups: dict[int, list[dict]] = {i: [] for i, _ in older}
    for i, record in older:
        backups[i].append(record)
    for i, records in backups.items():
        school.write_backup(records, name=f"seed_backup_2024{i + 1:02d}01_0000.json")
    school.write_backup([ben], name="seed_backup_20251115_0537.json")
    school.seed([{**ben, "photo": None}])
    (school.folder(ben["student_id"]) / "attendance").mkdir(parents=True)
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {file_name: jpeg_bytes("a face from picture day")})
    return archive


def _record(school, who: str, name: str, born: str | None, number: object, own_id: str) -> dict:
    fields: dict = {"student_number": number}
    if born is not None:
        fields["date_of_birth"] = born
    sid = own_id if who == "own id" else None
    return school.new_student(name, **({"student_id": sid} if sid else {}), **fields)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=hs.data())
def test_a_key_a_backup_holds_for_another_child_never_fills(school, tmp_path_factory, data):
    _fresh(school)
    tmp_path = tmp_path_factory.mktemp("src")
    ben = school.new_student(**BEN)
    same = data.draw(hs.lists(hs.tuples(hs.integers(0, 2), hs.sampled_from(ALIKE), hs.booleans(),
                                        hs.sampled_from(NUMBERS)), max_size=2), label="Ben under old ids")
    other = data.draw(hs.lists(hs.tuples(hs.integers(0, 2), hs.sampled_from(OTHERS), hs.sampled_from(HELD)),
                               min_size=1, max_size=2), label="others holding 123")
    older = [(i, _record(school, "old id", name, BEN["date_of_birth"] if dated else None, number, ""))
             for i, name, dated, number in same]
    others = [(i, _record(school, "old id", name, born, number, "")) for i, (name, born), number in other]
    file_name = data.draw(hs.sampled_from(["123.jpg", "00123.jpg", "0123.JPG"]), label="file")
    archive = _school_with(school, tmp_path, ben, data.draw(hs.permutations(older + others)), file_name)

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(ben["student_id"]) is None, f"a face another child may have had filled (exit {result.code})"
    assert result.code == 1, (result.code, result.err)
    unused = [u for u in result.json["photo_source"]["unused"] if u["file"] == file_name]
    assert unused and unused[0]["needs_a_person"], result.json["photo_source"]
    why = unused[0]["why"]
    assert "seed_backup_2024" in why and any(r["student_id"] in why and r["name"] in why for _, r in others), why


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=hs.data())
def test_the_same_child_in_a_backup_still_fills(school, tmp_path_factory, data):
    _fresh(school)
    tmp_path = tmp_path_factory.mktemp("src")
    ben = school.new_student(**BEN)
    same = data.draw(hs.lists(hs.tuples(hs.integers(0, 2), hs.sampled_from(ALIKE), hs.booleans(),
                                        hs.sampled_from(NUMBERS), hs.sampled_from(["old id", "own id"])),
                              min_size=1, max_size=3), label="Ben in older backups")
    older = [(i, _record(school, where, name, BEN["date_of_birth"] if dated else None, number, ben["student_id"]))
             for i, name, dated, number, where in same]
    file_name = data.draw(hs.sampled_from(["123.jpg", "00123.jpg"]), label="file")
    archive = _school_with(school, tmp_path, ben, older, file_name)

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(ben["student_id"]) == jpeg_bytes("a face from picture day"), \
        (result.code, result.json["photo_source"])
    assert result.code == 0, (result.code, result.json["problems"])


def test_a_backup_that_cannot_be_read_blocks_the_keys_when_only_looking(school, tmp_path):
    """(--verify-only reads on past an unusable backup; who held the key in it is not known: fail closed)"""
    ben = school.new_student(**BEN)
    archive = _school_with(school, tmp_path, ben, [], "123.jpg")
    (school.backups / "seed_backup_20240101_0000.json").write_text('{"students": [{"student_id": "x", ')

    result = school.restore("--verify-only", "--photo-source", str(archive), "--source-key", "student_number",
                            "--json")

    assert result.json["photo_source"]["filled"] == 0, result.json["photo_source"]
    assert result.code == 1


@pytest.mark.parametrize("where", ["an older backup", "the database"])
@pytest.mark.parametrize("placeholder", [0, "0", "n/a", None, ""])
def test_a_placeholder_number_blocks_no_key(school, tmp_path, where, placeholder):
    """A student_number of 0 or `n/a` is absent by the identity rule (a placeholder an import wrote): it is no
    evidence that a key may be someone else's, in a backup as in the database (before, 0 and `n/a` blocked every
    picture-day file of the school)."""
    ben = school.new_student("Ben New", date_of_birth="2018-05-05", student_number=123)
    other = school.new_student("Old Kid", date_of_birth="2010-01-01", student_number=placeholder)
    if where == "the database":
        school.write_backup([ben, other])
        school.seed([{**ben, "photo": None}, other])
        school.put_photo(other["student_id"])
    else:
        school.write_backup([other], name="seed_backup_20240101_0000.json")
        school.write_backup([ben])
        school.seed([{**ben, "photo": None}])
    (school.folder(ben["student_id"]) / "attendance").mkdir(parents=True)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"123.jpg": jpeg_bytes("ben's face")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert result.code == 0, result.text[-1500:]
    assert school.photo_of(ben["student_id"]) == jpeg_bytes("ben's face")
