"""MatchBook (the on-disk matching of orphans to current students) and the streamed migrate JSON."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from student_photos.console import Console
from student_photos.errors import ConfigError
from student_photos.identity import MAX_SHARED_IDENTIFIER, MAX_UNNAMED_OLD, Person, Verdict, compare, merge_history
from student_photos.matching import MAX_NAMELESS, MatchBook
from student_photos.records import StudentRecord, id_problem
from student_photos.report import Action, Decision, MigrateReport, Mode, OrphanReport, RunInfo

FIELDS = ("date_of_birth", "student_number")


def record(student_id, name: object, dob: object = None, number: object = None) -> StudentRecord:
    problem = id_problem(student_id)
    return StudentRecord(student_id if problem is None else repr(student_id), str(name), (name, dob, number),
                         id_problem=problem)


def decide(current: list[StudentRecord], orphans: list[str], backups: list[tuple[str, list[StudentRecord]]],
           by_order: bool = False, settled: tuple[str, ...] = ()) -> dict[str, tuple]:
    """{orphan name: (old name, backup, decision, reason, target id)} as migrate would see them. ``settled``:
    orphans a person's reviewed decision settled (migrate.settled_by_person)."""
    book = MatchBook(FIELDS)
    try:
        book.add_current(current)
        book.finish_current()
        book.add_orphans(orphans)
        for rank, (name, records) in enumerate(backups):
            book.add_backup(name, rank, records)
        if settled:
            book.settle(settled)
        book.decide_by_order() if by_order else book.decide_by_identity()
        return {o.name: (o.old_name, o.backup, o.pairing.decision.value, o.pairing.reason,
                         o.pairing.target.student_id if o.pairing.target else None)
                for batch in book.orphans(3) for o in batch}
    finally:
        book.close()


NEWEST = "seed_backup_20251201_0000.json"
OLDER = "seed_backup_20240101_0000.json"


def test_identity_rules_one_to_one_and_every_orphan_in_name_order():
    current = [record("n-twin-a", "Sam Taylor", "2015-02-03"), record("n-twin-b", "Sam Taylor", "2016-07-08"),
               record("n-alex-1", "Alex Kim"), record("n-alex-2", "alex  KIM"),
               record("n-ann", "Ann Lee", "2014-01-01", "S1"), record("n-bo", "Bo Chen", "2014-05-05")]
    old = [record("o-twin-a", "sam taylor", "2015-02-03"), record("o-alex", "Alex Kim"),
           record("o-ann", "Ann Lee", None, "S1"), record("o-bo-1", "Bo Chen", "2014-05-05"),
           record("o-bo-2", "Bo Chen", "2014-05-05"),
           record("o-number", "Ann Lee", None, "S2")]  # (an unnamed old record would block them all: below)
    orphans = [r.student_id for r in old] + ["o-unknown", "o-empty"]
    result = decide(current, orphans, [(NEWEST, old)])

    assert list(result) == sorted(result), "orphans come back in folder-name order"
    assert result["o-twin-a"][2:] == ("migrate", "same name and date_of_birth", "n-twin-a")
    assert result["o-alex"][2] == "ambiguous" and "2 current students fit" in result["o-alex"][3]
    assert result["o-ann"][2:] == ("migrate", "same name and student_number", "n-ann")
    for twice in ("o-bo-1", "o-bo-2"):  # two folders fit one student: neither is paired
        assert result[twice][2:] == ("ambiguous", "2 orphaned folders fit current student n-bo", None)
    assert result["o-number"][2:4] == ("no current student",
                                       "a current student has this name but student_number differs")
    assert result["o-unknown"] == (None, None, "unknown", "no backup holds this old id", None)
    assert result["o-empty"][2] == "unknown", "decided from records alone; the survey says it holds nothing"


def test_backups_that_disagree_on_who_an_old_id_was_are_ambiguous():
    current = [record("n-kid", "Kid One", "2015-01-01"), record("n-other", "Other Kid", "2015-01-01")]
    newest = [record("o-kid", "Kid One", "2015-01-01"), record("o-other", "Other Kid", "2015-01-01"),
              record("o-other", "Somebody Else", "2015-01-01")]
    older = [record("o-kid", "Wrong Name", "2016-01-01")]
    result = decide(current, ["o-kid", "o-other"], [(NEWEST, newest), (OLDER, older)])
    for orphan in ("o-kid", "o-other"):
        assert result[orphan][2] == "ambiguous", "within one backup or across two: never the newest's word alone"
        assert "the backups hold different people under this id" in result[orphan][3]
    agreeing = decide(current, ["o-kid"], [(NEWEST, [record("o-kid", "Kid One")]),
                                           (OLDER, [record("o-kid", "KID ONE", "2015-01-01")])])
    assert agreeing["o-kid"][2:] == ("migrate", "same name and date_of_birth", "n-kid"), \
        "records that agree are merged: the older one's birth date tells the namesakes apart"


def test_an_unusable_backup_leaves_nothing_behind():
    def broken():
        yield record("o-kid", "Wrong Person", "2015-01-01")
        raise ValueError("cut off")

    book = MatchBook(FIELDS)
    try:
        book.add_current([record("n-kid", "Kid One", "2015-01-01")])
        book.finish_current()
        book.add_orphans(["o-kid"])
        with pytest.raises(ValueError):
            book.add_backup(NEWEST, 0, broken())
        book.add_backup(OLDER, 1, [record("o-kid", "Kid One", "2015-01-01")])
        book.decide_by_identity()
        (orphan,), = list(book.orphans(32))
        assert (orphan.old_name, orphan.backup, orphan.pairing.decision) == ("Kid One", OLDER, Decision.MIGRATE)
    finally:
        book.close()


@pytest.mark.parametrize("left_out", [
    record(1001, "Ann Lee", "2015-01-01"),  # an int id
    record("a b", "Ann Lee", "2015-01-01"),  # not a safe folder name
])
def test_a_record_that_cannot_receive_still_counts_as_an_owner(left_out):
    """A same-name newcomer must not become the 'unique' match for the photo of a record left out."""
    current = [left_out, record("n-newcomer", "Ann Lee")]
    result = decide(current, ["o-ann"], [(NEWEST, [record("o-ann", "Ann Lee", "2015-01-01")])])
    decision, reason, target = result["o-ann"][2:]
    assert target is None and decision in ("ambiguous", "cannot receive"), reason


def test_an_id_held_by_two_documents_receives_nothing():
    current = [record("n-dup", "Ann Lee", "2015-01-01"), record("n-dup", "Bob Ray", "2014-01-01")]
    result = decide(current, ["o-ann"], [(NEWEST, [record("o-ann", "Ann Lee", "2015-01-01")])])
    assert result["o-ann"][2] == "cannot receive"
    assert "held by more than one database document" in result["o-ann"][3]


def test_a_nameless_current_record_blocks_unless_a_field_rules_it_out():
    old = [record("o-ann", "Ann Lee", "2015-01-01")]
    blocked = decide([record("n-ann", "Ann Lee"), record("n-x", None, "2015-01-01")], ["o-ann"], [(NEWEST, old)])
    assert blocked["o-ann"][2] == "unknown" and "cannot tell whether it is" in blocked["o-ann"][3]
    cleared = decide([record("n-ann", "Ann Lee", "2015-01-01"), record("n-x", None, "2016-06-06")], ["o-ann"],
                     [(NEWEST, old)])
    assert cleared["o-ann"][2:] == ("migrate", "same name and date_of_birth", "n-ann")


def test_a_name_alone_is_never_proof():
    """A pupil who left and a newcomer can share a name: with no identifying field agreeing, a person decides, also
    where neither record holds one (the school may keep birth dates under a field MATCH_FIELDS does not name)."""
    leaver = [record("o-zoe", "Zoë Brown")]
    newcomer = decide([record("n-zoe", "Zoe\u0308 Brown", None, 101)], ["o-zoe"], [(NEWEST, leaver)])
    assert newcomer["o-zoe"][2] == "unknown" and "only the name agrees" in newcomer["o-zoe"][3]
    bare = decide([record("n-zoe", "Zoë Brown")], ["o-zoe"], [(NEWEST, leaver)])
    assert bare["o-zoe"][2] == "unknown" and "only the name agrees" in bare["o-zoe"][3], "a name alone decided"


def test_too_many_nameless_records_stop_the_run():
    current = [record(f"n-{i}", None) for i in range(MAX_NAMELESS + 1)]
    with pytest.raises(ConfigError, match="have no usable name"):
        decide(current, [], [])


def test_namesakes_are_told_apart_by_agreement_never_by_gaps():
    old = [record("o-jo", "Jordan Smith", "2015-03-04")]
    gap = decide([record("n-1", "Jordan Smith"), record("n-2", "Jordan Smith", "2016-01-01")], ["o-jo"],
                 [(NEWEST, old)])
    assert gap["o-jo"][2] == "ambiguous" and "nothing proves it is this one" in gap["o-jo"][3]
    proof = decide([record("n-1", "Jordan Smith", "2015-03-04"), record("n-2", "Jordan Smith", "2016-01-01")],
                   ["o-jo"], [(NEWEST, old)])
    assert proof["o-jo"][2:] == ("migrate", "same name and date_of_birth", "n-1")


@pytest.mark.parametrize("odd", ["caf\u00e9-\u00fcber", "bad-\udcff-bytes", "emoji-\U0001f600", "nul\x00inside"])
def test_odd_text_in_names_and_fields_round_trips(odd):
    current = [record("n-kid", f"Kid {odd}", odd)]
    old = [record("o-kid", f"kid {odd}", odd)]
    result = decide(current, ["o-kid", f"folder-{odd}"], [(NEWEST, old)])
    assert result["o-kid"][:3] == (f"kid {odd}", NEWEST, "migrate")
    assert result[f"folder-{odd}"][2] == "unknown"


def test_order_pairing_pairs_sorted_folders_with_sorted_students():
    current = [record("n-2", "Zed"), record("n-1", "Amy")]
    pairs = decide(current, ["o-b", "o-a", "o-c"], [], by_order=True)
    assert pairs["o-a"][2:] == ("migrate", "paired by sort order (--match order)", "n-1")
    assert pairs["o-b"][2:] == ("migrate", "paired by sort order (--match order)", "n-2")
    assert pairs["o-c"][2:4] == ("no current student", "no student left")


def _report(action: Action) -> MigrateReport:
    info = RunInfo("ORPHANED PHOTO MIGRATION", "now", "db", False, "/photos",
                   Mode("migrate_orphaned_photos", action, action is Action.MIGRATE))
    return MigrateReport(info)


def test_streamed_json_stays_one_document_when_an_error_cuts_the_run_short():
    out = io.StringIO()
    console = Console(out, io.StringIO(), as_json=True)
    report = _report(Action.MIGRATE)
    report.orphans_found = 2
    console.orphans_found(report)
    console.orphan(1, OrphanReport("o-1", decision=Decision.MIGRATED), report)
    console.error("Database error on db: gone", 2)
    document = json.loads(out.getvalue())
    assert [o["name"] for o in document["orphans"]] == ["o-1"]
    assert (document["error"], document["exit_code"]) == ("Database error on db: gone", 2)


def test_streamed_json_with_no_orphans_is_one_document():
    out = io.StringIO()
    console = Console(out, io.StringIO(), as_json=True)
    report = _report(Action.LIST)
    console.orphans_found(report)
    console.migrate_report(report)
    document = json.loads(out.getvalue())
    assert document["orphans"] == [] and document["exit_code"] == 0 and document["orphans_found"] == 0


# ---------------------------------------------------------------- old records with no usable name
UNNAMED = "\u13aamy Smith"  # a Cherokee Ꭺ: it looks like "Amy Smith", and a mixed-script word is no usable name


@pytest.mark.parametrize("backups", [1, 2], ids=["one-backup", "in-two-backups"])
def test_an_orphan_whose_old_record_has_no_usable_name_blocks_a_match_it_could_be(backups):
    """Found by a review: an old record with no usable name proves nothing and blocks its namesakes, but it was
    never counted in the one-to-one rule, so Amy's folder was migrated while another folder could be hers."""
    current = [record("n-amy", "Amy Smith", "2015-03-04", "S1")]
    history = [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), record("o-x", UNNAMED, "2015-03-04")])]
    history += [(OLDER, [record("o-x", UNNAMED, None, "S1")])] * (backups - 1)
    result = decide(current, ["o-amy", "o-x"], history)
    assert result["o-amy"][2] == "ambiguous" and result["o-amy"][4] is None, result["o-amy"]
    assert "old folder o-x, whose old record has no usable name, fits this student too" in result["o-amy"][3]
    assert result["o-x"][2] == "unknown", "the unnamed one itself proves nothing either"
    empty = decide(current, ["o-amy", "o-noname"], [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"),
                                                                record("o-noname", "  ")])])
    assert empty["o-noname"][2:4] == ("unknown", "the old record has no usable name")
    assert empty["o-amy"][2] == "ambiguous", "a blank name and no fields: it could be anyone"


@pytest.mark.parametrize("other", [record("o-x", UNNAMED, "2016-06-06"), record("o-x", UNNAMED, None, "S2"),
                                   record("o-x", "Bob Ray")], ids=["birth-date-differs", "number-differs", "named"])
def test_an_unnamed_old_record_that_a_field_rules_out_does_not_block(other):
    current = [record("n-amy", "Amy Smith", "2015-03-04", "S1")]
    result = decide(current, ["o-amy", "o-x"], [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), other])])
    assert result["o-amy"][2:] == ("migrate", "same name and date_of_birth", "n-amy")


def test_unnamed_old_records_that_disagree_block_if_either_could_be_the_student():
    """Two backups hold two different unnamed records under one old id: the folder may be either's."""
    current = [record("n-amy", "Amy Smith", "2015-03-04")]
    history = [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), record("o-x", UNNAMED, "2016-06-06")]),
               (OLDER, [record("o-x", UNNAMED, "2015-03-04")])]
    result = decide(current, ["o-amy", "o-x"], history)
    assert result["o-amy"][2] == "ambiguous" and "o-x" in result["o-amy"][3]


def test_too_many_unnamed_old_records_block_every_match_and_say_why():
    current = [record("n-amy", "Amy Smith", "2015-03-04")]
    unnamed = [record(f"o-x{i:03d}", UNNAMED, "2016-06-06") for i in range(MAX_UNNAMED_OLD + 1)]  # all ruled out
    result = decide(current, ["o-amy", *(r.student_id for r in unnamed)],
                    [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), *unnamed])])
    assert result["o-amy"][2] == "ambiguous", "too many to compare one by one: fail closed"
    assert f"more than {MAX_UNNAMED_OLD} orphaned folders have an old record with no usable name" in result["o-amy"][3]
    fewer = decide(current, ["o-amy", *(r.student_id for r in unnamed[1:])],
                   [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), *unnamed[1:]])])
    assert fewer["o-amy"][2] == "migrate", "up to the limit each is compared, and a differing birth date rules it out"


# ---------------------------------------------------------------- old folders whose backups disagree
@pytest.mark.parametrize("older", [record("o-x", "Bob Ray"), record("o-x", "Amy Smith", "2016-06-06"),
                                   record("o-x", "Amy Smith", "2015-03-04T10:00:00")],
                         ids=["another-name", "another-birth-date", "cannot-be-compared"])
def test_an_orphan_whose_backups_disagree_blocks_a_match_one_of_its_records_could_be(older):
    """Found by a review: an old id whose backups hold records that disagree (two people, or fields that cannot
    be compared) had no person, so it fitted no one and did not block: Amy's folder was migrated while the
    disputed folder, once "Amy Smith" with her birth date, could be hers."""
    current = [record("n-amy", "Amy Smith", "2015-03-04")]
    history = [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), record("o-x", "Amy Smith", "2015-03-04")]),
               (OLDER, [older])]
    result = decide(current, ["o-amy", "o-x"], history)
    assert result["o-amy"][2] == "ambiguous" and result["o-amy"][4] is None, result["o-amy"]
    assert "old folder o-x, whose backups disagree about who it was, fits this student too" in result["o-amy"][3]
    assert result["o-x"][2] in ("ambiguous", "unknown") and "o-x" not in result["o-x"][3], \
        "the disputed folder keeps its own decision"
    assert decide(current, ["o-amy", "o-x"], history, settled=("o-x",))["o-amy"][2] == "migrate", \
        "a folder a person gave another student is no rival"


@pytest.mark.parametrize("records", [
    [record("o-x", "Amy Smith", "2016-06-06"), record("o-x", "Bob Ray", "2015-03-04")],
    [record("o-x", "Cat Day", "2015-03-04"), record("o-x", "Bob Ray", "2015-03-04")],
    [record("o-x", "Amy Smith", "2016-06-06"), record("o-x", "Amy Smith", "2017-07-07")]],
    ids=["amy-born-another-day", "other-names", "two-other-amys"])
def test_an_orphan_whose_backups_disagree_does_not_block_when_every_record_is_different(records):
    current = [record("n-amy", "Amy Smith", "2015-03-04")]
    result = decide(current, ["o-amy", "o-x"], [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), records[0]]),
                                                (OLDER, records[1:])])
    assert result["o-amy"][2:] == ("migrate", "same name and date_of_birth", "n-amy")
    assert result["o-x"][2] == "ambiguous"


def test_a_namesake_orphan_a_person_settled_does_not_block():
    """Two old folders fit Amy by the rule; a person gave one of them to no one (or to another student): the other
    is hers, as the restore and --deep decide too."""
    current = [record("n-amy", "Amy Smith", "2015-03-04")]
    history = [(NEWEST, [record("o-amy", "Amy Smith", "2015-03-04"), record("o-x", "Amy Smith")])]
    assert decide(current, ["o-amy", "o-x"], history)["o-amy"][2] == "ambiguous"
    assert decide(current, ["o-amy", "o-x"], history, settled=("o-x",))["o-amy"][2:] == \
        ("migrate", "same name and date_of_birth", "n-amy")


NAMES = st.sampled_from(["Amy Smith", "Ben Cole", UNNAMED, "B\u0435n C\u13a4le", None])
DOBS = st.sampled_from([None, "2015-03-04", "2016-06-06"])
NUMBERS = st.sampled_from([None, "S1", "S2"])


@settings(max_examples=300, deadline=None)
@given(current=st.lists(st.tuples(st.sampled_from(["Amy Smith", "Ben Cole"]), DOBS, NUMBERS), min_size=1,
                        max_size=4),
       old=st.lists(st.lists(st.tuples(NAMES, DOBS, NUMBERS), min_size=1, max_size=2), min_size=1, max_size=5))
@example(current=[("Amy Smith", "2015-03-04", None)],  # a disputed history: once Amy, once Ben (found at 3,000)
         old=[[("Amy Smith", "2015-03-04", None)], [("Amy Smith", None, None), ("Ben Cole", None, None)]])
def test_no_folder_goes_to_a_student_another_old_folder_could_be(current, old):
    """The one-to-one rule, stated plainly: whenever a folder is migrated to a student, no other orphan could be
    that student: not one whose records agree on a person who is not DIFFERENT from them, not one with a record
    with no usable name whose fields leave it possibly them, and not one whose backups disagree with a record
    that is not DIFFERENT from them; and an orphan with no usable name or a disputed history is never migrated
    itself."""
    students = [record(f"n-{i}", *c) for i, c in enumerate(current)]
    history: list[tuple[str, list[StudentRecord]]] = [(f"seed_backup_2025010{rank}_0000.json", [])
                                                      for rank in range(2)]
    for i, records in enumerate(old):
        for rank, values in enumerate(records):
            history[rank][1].append(record(f"o-{i}", *values))
    result = decide(students, [f"o-{i}" for i in range(len(old))], history)
    persons = {s.student_id: s.person for s in students}
    for orphan, (*_, decision, _reason, target) in result.items():
        records = [record(orphan, *values).person for values in old[int(orphan[2:])]]
        if any(p.name is None for p in records) or merge_history(records, FIELDS).person is None:
            assert decision != "migrate", (orphan, result[orphan])
        if decision != "migrate":
            continue
        for other, values in enumerate(old):
            others = [record(f"o-{other}", *v).person for v in values]
            if f"o-{other}" == orphan:
                continue
            if any(p.name is None for p in others):
                merged = merge_history([Person("", p.codes) for p in others], FIELDS).person
                could_be = [Person(None, merged.codes)] if merged else others
            else:
                agreed = merge_history(others, FIELDS).person
                could_be = [agreed] if agreed else others
            assert all(compare(p, persons[target], FIELDS).verdict is Verdict.DIFFERENT for p in could_be), \
                (orphan, target, f"o-{other}", result[orphan])


@pytest.mark.parametrize("holders", [MAX_SHARED_IDENTIFIER, MAX_SHARED_IDENTIFIER + 1])
def test_a_value_many_records_hold_identifies_no_one_child(holders):
    """A renamed child keeps her number: any record sharing it is a question. A "number" the school gave many
    children (a placeholder it did not spell as one) is no one's: the leaver is no one's, not a question."""
    current = [record(f"n-{i}", f"Kid {i}", "2015-03-04", "S-999") for i in range(holders)]
    leaver = record("o-ann", "Ann Lee", "2015-03-04", "S-999")
    decided = decide(current, ["o-ann"], [(NEWEST, [leaver])])["o-ann"]
    expected = "unknown" if holders <= MAX_SHARED_IDENTIFIER else "no current student"
    assert decided[2] == expected, decided
