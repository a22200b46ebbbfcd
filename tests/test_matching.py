"""MatchBook (the on-disk matching of orphans to current students) and the streamed migrate JSON."""

from __future__ import annotations

import io
import json

import pytest

from student_photos.console import Console
from student_photos.matching import MatchBook
from student_photos.records import StudentRecord, pack_identity
from student_photos.report import MigrateReport, OrphanReport, RunInfo

FIELDS = ("date_of_birth", "student_number")


def record(student_id: str, name: str, dob: str | None = None, number: str | None = None) -> StudentRecord:
    return StudentRecord(student_id, name, None, pack_identity([dob, number]))


def decide(current: list[StudentRecord], orphans: dict[str, bool], backups: list[tuple[str, list[StudentRecord]]],
           by_order: bool = False) -> dict[str, tuple]:
    """{orphan name: (old name, backup, decision, reason, target id)} as migrate would see them."""
    book = MatchBook(FIELDS)
    try:
        book.add_current(current)
        book.index_current()
        book.add_orphans(orphans.items())
        for name, records in backups:
            book.add_backup(name, records)
        book.decide_by_order() if by_order else book.decide_by_identity()
        return {o.name: (o.old_name, o.backup, *(o.pairing[:2] if o.pairing else (None, None)),
                         o.pairing.target.student_id if o.pairing and o.pairing.target else None)
                for batch in book.orphans(3) for o in batch}
    finally:
        book.close()


def test_identity_rules_one_to_one_and_every_orphan_in_name_order():
    current = [record("n-twin-a", "Sam Taylor", "2015-02-03"), record("n-twin-b", "Sam Taylor", "2016-07-08"),
               record("n-alex-1", "Alex Kim"), record("n-alex-2", "alex  KIM"),
               record("n-ann", "Ann Lee", "2014-01-01", "S1"), record("n-bo", "Bo Chen", "2014-05-05")]
    old = [record("o-twin-a", "sam taylor", "2015-02-03"), record("o-alex", "Alex Kim"),
           record("o-ann", "Ann Lee", None, "S1"), record("o-bo-1", "Bo Chen"), record("o-bo-2", "Bo Chen"),
           record("o-number", "Ann Lee", None, "S2"), record("o-noname", "  ")]
    orphans = {r.student_id: True for r in old} | {"o-unknown": True, "o-empty": False}
    result = decide(current, orphans, [("seed_backup_20251115_0537.json", old)])

    assert list(result) == sorted(result), "orphans come back in folder-name order"
    assert result["o-twin-a"][2:] == ("migrate", "same name and identifying fields", "n-twin-a")
    assert result["o-alex"][2] == "ambiguous" and "2 current students fit" in result["o-alex"][3]
    assert result["o-ann"][2:] == ("migrate", "same name and identifying fields", "n-ann")
    for twice in ("o-bo-1", "o-bo-2"):  # two folders fit one student: neither is paired
        assert result[twice][2:] == ("ambiguous", "2 orphaned folders fit current student n-bo", None)
    assert result["o-number"][2:4] == ("no current student",
                                       "a current student has this name but student_number differs")
    assert result["o-noname"][2:4] == ("unknown", "the old record has no name")
    assert result["o-unknown"] == (None, None, "unknown", "no backup holds this old id", None)
    assert result["o-empty"] == (None, None, None, None, None)  # not a candidate: the survey decides it


def test_newest_backup_wins_and_a_backup_with_two_people_under_one_id_is_conflicting():
    current = [record("n-kid", "Kid One", "2015-01-01"), record("n-other", "Other Kid", "2015-01-01")]
    newest = [record("o-kid", "Kid One", "2015-01-01"), record("o-other", "Other Kid", "2015-01-01"),
              record("o-other", "Somebody Else", "2015-01-01")]
    older = [record("o-kid", "Wrong Name", "2015-01-01")]
    result = decide(current, {"o-kid": True, "o-other": True},
                    [("seed_backup_20251201_0000.json", newest), ("seed_backup_20240101_0000.json", older)])
    assert result["o-kid"] == ("Kid One", "seed_backup_20251201_0000.json", "migrate",
                               "same name and identifying fields", "n-kid")
    assert result["o-other"][:4] == ("Other Kid", "seed_backup_20251201_0000.json", "ambiguous",
                                     "seed_backup_20251201_0000.json holds different records under this id")


def test_an_unusable_backup_leaves_nothing_behind():
    def broken():
        yield record("o-kid", "Wrong Person", "2015-01-01")
        raise ValueError("cut off")

    book = MatchBook(FIELDS)
    try:
        book.add_current([record("n-kid", "Kid One", "2015-01-01")])
        book.index_current()
        book.add_orphans([("o-kid", True)])
        with pytest.raises(ValueError):
            book.add_backup("seed_backup_20251201_0000.json", broken())
        book.add_backup("seed_backup_20240101_0000.json", [record("o-kid", "Kid One", "2015-01-01")])
        book.decide_by_identity()
        (orphan,), = list(book.orphans(32))
        assert (orphan.old_name, orphan.backup, orphan.pairing.decision) == \
            ("Kid One", "seed_backup_20240101_0000.json", "migrate")
    finally:
        book.close()


@pytest.mark.parametrize("odd", ["caf\u00e9-\u00fcber", "bad-\udcff-bytes", "emoji-\U0001f600", "nul\x00inside"])
def test_odd_text_in_names_and_fields_round_trips(odd):
    current = [record("n-kid", f"Kid {odd}", odd)]
    old = [record("o-kid", f"kid {odd}", odd)]
    result = decide(current, {"o-kid": True, f"folder-{odd}": True}, [("seed_backup_20251115_0537.json", old)])
    assert result["o-kid"] == (f"kid {odd}", "seed_backup_20251115_0537.json", "migrate",
                               "same name and identifying fields", "n-kid")
    assert result[f"folder-{odd}"][2] == "unknown"


def test_order_pairing_pairs_sorted_folders_with_sorted_students():
    current = [record("n-2", "Zed"), record("n-1", "Amy")]
    pairs = decide(current, {"o-b": True, "o-a": True, "o-c": True, "o-empty": False}, [], by_order=True)
    assert pairs["o-a"][2:] == ("migrate", "paired by sort order (--match order)", "n-1")
    assert pairs["o-b"][2:] == ("migrate", "paired by sort order (--match order)", "n-2")
    assert pairs["o-c"][2:4] == ("no current student", "no student left")
    assert pairs["o-empty"][2] is None


def test_streamed_json_stays_one_document_when_an_error_cuts_the_run_short():
    out = io.StringIO()
    console = Console(out, io.StringIO(), as_json=True)
    report = MigrateReport(RunInfo("ORPHANED PHOTO MIGRATION", "now", "db", False, "/photos", "migrate"),
                           "migrate", False)
    report.orphans_found = 2
    console.orphans_found(report)
    console.orphan(1, OrphanReport("o-1", decision="migrated"), report)
    console.error("Database error on db: gone", 2)
    document = json.loads(out.getvalue())
    assert [o["name"] for o in document["orphans"]] == ["o-1"]
    assert (document["error"], document["exit_code"]) == ("Database error on db: gone", 2)


def test_streamed_json_with_no_orphans_is_one_document():
    out = io.StringIO()
    console = Console(out, io.StringIO(), as_json=True)
    report = MigrateReport(RunInfo("ORPHANED PHOTO MIGRATION", "now", "db", False, "/photos", "list"), "list", True)
    console.orphans_found(report)
    console.migrate_report(report)
    document = json.loads(out.getvalue())
    assert document["orphans"] == [] and document["exit_code"] == 0 and document["orphans_found"] == 0
