"""Round 16c probes (pass on the current code): record identity as databases and backups really hold it."""
from __future__ import annotations

import datetime as dt

import bson
import pytest
from bson import Decimal128, Int64
from old_records import CANON, NEWEST, OLDEST, backup

from student_photos.sample import jpeg_bytes


def _leaver_and_newcomer(school, old_fields, new_fields, old_name="Ann Lee", new_name="Ann Lee"):
    school.put_photo("OLD1", jpeg_bytes("the old record's face"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": old_name, "photo": CANON.format("OLD1"), **old_fields}])
    school.seed([{"student_id": "NEW1", "name": new_name, "photo": None, **new_fields}])
    return school.migrate("--migrate", "--json")


@pytest.mark.parametrize("old_value, new_value", [
    ("00123", 123), ("123.0", Int64(123)), ({"$numberLong": "123"}, Decimal128("123")),
    ({"$numberDecimal": "123.00"}, "0123")])
def test_probe_one_child_number_in_every_shape_migrates(school, old_value, new_value):
    run = _leaver_and_newcomer(school, {"student_number": old_value, "date_of_birth": "2015-03-04"},
                               {"student_number": new_value, "date_of_birth": dt.datetime(2015, 3, 4)})
    assert run.code == 0 and school.photo_of("NEW1") is not None, run.json["orphans"]


@pytest.mark.parametrize("old_day, new_day", [
    ({"$date": "2015-03-03T23:00:00.000Z"}, "2015-03-04"),  # local midnight at UTC+1 against the day
    ({"$date": {"$numberLong": "1425423600000"}}, "2015-03-04"),  # the same instant in millis
    ("2015-03-04T00:00:00+01:00", dt.datetime(2015, 3, 3, 23, 0)),  # the day as written against its UTC instant
    ({"$date": "2015-03-04T10:00:00Z"}, dt.datetime(2015, 3, 4, 22, 0))])  # two instants, one day, other times
def test_probe_a_birth_date_a_zone_may_move_proves_nothing(school, old_day, new_day):
    run = _leaver_and_newcomer(school, {"date_of_birth": old_day}, {"date_of_birth": new_day})
    assert school.photo_of("NEW1") is None and run.code == 1, run.json["orphans"]


@pytest.mark.parametrize("old_name, new_name", [
    ("Lee, Ann", "Ann Lee"), ("Ann Lee", "Ann B. Lee"), ("Ann Lee", "Miss Ann Lee"), ("Ann Lee-Smith", "Ann Lee Smith"),
    ("Ann Lee", "Ann Lee Jr")])
def test_probe_a_name_written_another_way_is_a_question_not_a_match(school, old_name, new_name):
    run = _leaver_and_newcomer(school, {"student_number": 5}, {"student_number": 5},
                               old_name=old_name, new_name=new_name)
    assert school.photo_of("NEW1") is None and run.code == 1, run.json["orphans"]


def test_probe_name_split_into_first_and_last_blocks(school):
    school.put_photo("OLD1", jpeg_bytes("ann"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "student_number": 5,
                             "photo": CANON.format("OLD1")}])
    school.seed([{"student_id": "NEW1", "first_name": "Ann", "last_name": "Lee", "student_number": 5},
                 {"student_id": "NEW2", "name": "Ann Lee", "student_number": 5}])
    run = school.migrate("--migrate", "--json")
    assert school.photo_of("NEW1") is None and school.photo_of("NEW2") is None and run.code == 1


@pytest.mark.parametrize("spelt", ["S1 ", " S1", "S1\u200b", "s1"])
def test_probe_a_second_document_whose_id_is_s1_spelt_another_way_blocks_the_restore(school, spelt):
    school.put_photo("S1", jpeg_bytes("whose?"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Ann Lee", "student_number": 5, "photo": CANON.format("S1")}])
    school.seed([{"student_id": "S1", "name": "Ann Lee", "student_number": 5, "photo": None},
                 {"student_id": spelt, "name": "Bob Ray", "student_number": 6, "photo": None}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert run.code != 0, run.text


def test_probe_reinserted_document_with_the_same_object_id_and_another_child_is_a_conflict(school):
    oid = bson.ObjectId()
    school.put_photo("S1", jpeg_bytes("ann"))
    backup(school, NEWEST, [{"_id": {"$oid": str(oid)}, "student_id": "S1", "name": "Ann Lee",
                             "date_of_birth": "2015-03-04", "photo": CANON.format("S1")}])
    school.seed([{"_id": oid, "student_id": "S1", "name": "Bob Ray", "date_of_birth": "2014-01-01", "photo": None}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert run.code == 1 and run.json["summary"]["identity_conflicts"] == 1 and \
        school.collection.find_one({"_id": oid}).get("photo") is None, run.text


@pytest.mark.parametrize("field_value", [["2015-03-04"], {"y": 2015, "m": 3, "d": 4}, True])
def test_probe_match_field_as_list_or_document_never_matches(school, field_value):
    run = _leaver_and_newcomer(school, {"date_of_birth": "2015-03-04", "admission_number": "A1"},
                               {"date_of_birth": field_value, "admission_number": "a1"})
    assert school.photo_of("NEW1") is None and run.code == 1, run.json["orphans"]


def test_probe_backup_link_into_a_folder_no_backup_knows_is_not_followed(school):
    school.put_photo("OLD9", jpeg_bytes("old mohammed"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                             "photo": CANON.format("OLD9")}])
    school.seed([{"student_id": "S1", "name": "Mohammed Khan", "photo": None}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.photo_of("S1") is None and run.code == 1
    refused = school.restore("--json", MIN_DATABASE_RATIO="0", MATCH_FIELDS="student_id,date_of_birth")
    assert school.photo_of("S1") is None and refused.code == 2  # (the id is no identifying field)


def test_probe_two_backups_disagreeing_on_a_birth_date_form_block(school):
    school.put_photo("OLD1", jpeg_bytes("ann"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee",
                             "date_of_birth": {"$date": "2015-03-04T00:00:00Z"}, "photo": CANON.format("OLD1")}])
    backup(school, OLDEST, [{"student_id": "OLD1", "name": "Ann Lee", "dob": "2016-01-01",
                             "date_of_birth": "2015-03-05", "photo": CANON.format("OLD1")}])
    school.seed([{"student_id": "NEW1", "name": "Ann Lee", "date_of_birth": dt.datetime(2015, 3, 4), "photo": None}])
    run = school.migrate("--migrate", "--json")
    assert school.photo_of("NEW1") is None and run.code == 1, run.json["orphans"]
