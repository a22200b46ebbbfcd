"""Round 18b findings (helper h18b): --photo-source picture-day keys and --deep against what a school really has.
Each test FAILS on the current code: it asserts the safe, honest behaviour."""
from __future__ import annotations

import shutil

from test_deep import order_migrated_school, wearers
from test_sources import make_zip

from student_photos.sample import jpeg_bytes


def _damage_placement_lines(school) -> int:
    """A damaged block in the middle of a journal: each `file` line that names an origin keeps its length and its
    newline, but its middle third is NUL bytes (as a disk or a hand edit leaves it); the run and end lines around
    them are intact, so no line is a last line cut short by a kill (journals are O_EXCL: no run appends to another)."""
    damaged = 0
    for journal in (school.photos / ".student-photos" / "journal").glob("*.jsonl"):
        lines = journal.read_bytes().split(b"\n")
        for i, line in enumerate(lines):
            if b'"origin"' in line:
                third = len(line) // 3
                lines[i] = line[:third] + b"\x00" * third + line[2 * third:]
                damaged += 1
        journal.write_bytes(b"\n".join(lines))
    return damaged


# Scenario: a migrate with --match order gave three children each other's photos (the design document's mistake);
# the old-id folders were then removed by hand, so the journal is the only record of who each photo came from. Later
# the journal is damaged in the middle (a zeroed block / a partial hand edit): the migration's `file` lines with
# their `origin` no longer parse, while the lines around them and the trailing `end` line are intact.
# What the tool did: journal.read_journal skips every such line silently as "a line cut short by a kill" (a kill can
# only cut the last line of a journal, which never ends in a newline). `--verify-only --deep` reports no problem at
# all; the plain restore then links all three wrong photos and says "all done" (exit 0); `--verify-only --deep`
# afterwards exits 0 too. With the journal intact the same school gives six `wrong child` problems.
# Rule broken: docs/reference.md "Deep check": "a journal file that cannot be read (what its run placed cannot be
# traced: problem ...)" — here part of one cannot be read and nothing says so; docs/safety.md section 3: exit 0 is
# "finished; nothing needs attention", yet every child now wears another's photo (the failure that matters most).
def test_a_journal_damaged_in_the_middle_is_never_read_as_no_evidence(school):
    r = order_migrated_school(school)
    wrong = {k for k, v in wearers(school, r).items() if v != k}
    assert wrong, "the sort order must have mixed them up"
    for key in r.old:
        shutil.rmtree(school.folder(r.old_id(key)), ignore_errors=True)
    intact = school.restore("--verify-only", "--deep", "--json")
    assert {p["student_id"] for p in intact.json["problems"] if p["problem"] == "wrong child"} == \
        {r.new_id(k) for k in wrong}, "with the journal intact the wrong photos are found"
    assert _damage_placement_lines(school) >= len(wrong)

    deep = school.restore("--verify-only", "--deep", "--json")
    restored = school.restore("--json")
    after = school.restore("--verify-only", "--deep", "--json")

    links = school.db_docs()
    linked_wrong = sorted(k for k in wrong if links[r.new_id(k)].get("photo"))
    assert deep.json["problems"], "a damaged journal line is something deep could not check: a problem, not silence"
    assert linked_wrong == [], f"the restore linked another child's photo for {linked_wrong} (exit {restored.code})"
    assert restored.code != 0 and after.code != 0, (restored.code, after.code)


# Scenario: picture-day delivery by student_number, from an earlier year (`00123.jpg`, leading zeros). Number 123
# was Ann's (an older backup holds Ann Gone, born 2012, student_number 123); Ann left and the school gave 123 to a
# new child, Ben (born 2018; the newest backup and the database hold him). Ann's folder is gone, so no bytes in the
# store are hers.
# What the tool did: filled Ben's missing profile.jpg with Ann's face, "all done", exit 0. The picture-day key index
# (sources.KeyIndex.read) reads only the database; the backups the same run reads ("who each id was") are never
# asked who held the key before.
# Rule broken: docs/safety.md "Photo sources": "A picture-day key names a student only when that student's value
# agrees and no other student's could" (fail closed); for a tree source the same section refuses a current id
# "whose backups hold another person (ids recycled)" — the recycled key gets no such check, and the photo goes to
# the wrong child with exit 0. (The docs do not spell out a backup check for keys; this is the analogue.)
def test_a_recycled_student_number_is_not_trusted_when_a_backup_holds_another_child_under_it(school, tmp_path):
    ann = school.new_student("Ann Gone", date_of_birth="2012-01-01", student_number=123)
    ben = school.new_student("Ben New", date_of_birth="2018-05-05", student_number=123)
    school.write_backup([ann], name="seed_backup_20240101_0000.json")
    school.write_backup([ben], name="seed_backup_20251115_0537.json")
    school.seed([{**ben, "photo": None}])
    (school.folder(ben["student_id"]) / "attendance").mkdir(parents=True)
    archive = tmp_path / "picture-day-2023.zip"
    make_zip(archive, {"00123.jpg": jpeg_bytes("ann's face, picture day 2023")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(ben["student_id"]) is None, f"Ann's photo went to Ben (exit {result.code})"
    assert result.code == 1
