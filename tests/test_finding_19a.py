"""Round 19a findings (helper h19a): the journal's damage rule (journal.read_journal) where the journal is read
through a filter or for --history, and a reviewed --pairs row against a child renamed since who keeps her number.

Each test asserts the SAFE behaviour and FAILS on the current code."""
from __future__ import annotations

import shutil

import pytest
from old_records import CANON, NEWEST, backup
from test_deep import order_migrated_school, wearers
from test_pairs import save_as_spreadsheet

from student_photos.sample import jpeg_bytes


def _journals(school):
    return sorted((school.photos / ".student-photos" / "journal").glob("*.jsonl"))


def _damage_placement_heads(school, how: str) -> int:
    """Damage each journal line that names an origin (a migration's `file` lines) at its head, keeping its newline
    and the lines around it: no NUL byte in it (a hand edit, a block of junk), so only parsing it can tell."""
    damaged = 0
    for journal in _journals(school):
        lines = journal.read_bytes().split(b"\n")
        for i, line in enumerate(lines):
            if b'"origin"' in line:
                half = len(line) // 2
                lines[i] = {"junk": b"#" * half + line[half:], "cut": line[:20]}[how]
                damaged += 1
        journal.write_bytes(b"\n".join(lines))
    return damaged


# Scenario: the design document's sort-order migration gave three children each other's photos (tests/test_deep.py
# order_migrated_school); the old folders were then removed, so the journal is the only record of whose photo each
# copy is. The journal's `file` lines are then damaged at their head, the newline and the lines around them intact:
# either the first half overwritten with junk (no NUL byte) or the line cut to its first 20 bytes, newline kept.
# What the tool did: the plain restore linked all three children to another child's photo, no problem, exit 0
# ("all done"). --verify-only --deep on the same journal does report an error (exit 1), and with the
# middle third overwritten instead (the profile path still readable) the restore refuses (exit 1). Cause: the plain
# restore reads the journal through JournalFacts.read_profiles, whose `wanted` filter (_names_a_profile_or_an_undo:
# '/profile.jpg"' and '"file"' in the text) turns the damaged line down before read_journal tries to parse it, so
# read_journal never marks it damaged and it is skipped silently, as before c1fdea1.
# Rule broken: commit c1fdea1 "a journal line that cannot be read (zeros, garbage) followed by others is damage, never
# skipped: the journal counts as unreadable"; docs/safety.md section 1: "A journal the tool cannot read stops every
# link write of the run (exit 1): what it placed cannot be checked"; the run said exit 0 with children wearing
# another child's photo.
@pytest.mark.parametrize("how", ["junk", "cut"])
def test_finding_a_placement_line_damaged_at_its_head_is_skipped_by_the_plain_restore_which_links_wrong_photos(
        school, how):
    r = order_migrated_school(school)
    wrong = {k for k, v in wearers(school, r).items() if v != k}
    assert wrong, "the sort order must have mixed them up"
    for key in r.old:
        shutil.rmtree(school.folder(r.old_id(key)), ignore_errors=True)
    assert _damage_placement_heads(school, how) >= len(wrong)

    restored = school.restore("--json")

    links = school.db_docs()
    linked_wrong = sorted(k for k in wrong if links[r.new_id(k)].get("photo"))
    assert linked_wrong == [], f"the restore linked another child's photo for {linked_wrong} (exit {restored.code})"
    assert restored.code != 0, restored.text


# Scenario: a migrate run copied photos (its journal a run line, file lines, an end line); a block in the middle of
# that journal is then zeroed (the damage c1fdea1 names), the end line intact.
# What the tool did: `--history` exit 0, "none yet" / "runs": [] — the run is gone from the list, and nothing says a
# journal could not be read (journal.list_runs suppresses JournalDamaged with every other UNREADABLE error). The
# person looking for the run id to undo is told no run changed anything. (The restore and --deep do name the damaged
# journal; only --history stays silent. tests/test_journal.py accepts the same silence for a journal that is a
# symlink.)
# Rule broken: README "Every changing step prints a run id; `--history` lists them and `--undo RUN_ID` takes one
# back"; commit c1fdea1 "a journal line that cannot be read ... is damage, never skipped"; docs/safety.md section 3,
# exit 0 is "finished; nothing needs attention".
def test_finding_history_says_no_run_when_the_only_journal_is_damaged_in_the_middle(school):
    r = order_migrated_school(school)
    assert r.old
    (journal,) = _journals(school)
    lines = journal.read_bytes().split(b"\n")
    middle = len(lines) // 2
    lines[middle] = b"\x00" * len(lines[middle])
    journal.write_bytes(b"\n".join(lines))

    history = school.migrate("--history", "--json")
    text = school.migrate("--history")

    listed = [run["run_id"] for run in history.json.get("runs", [])]
    assert journal.stem in listed or history.code != 0, (history.code, listed)
    assert journal.stem in text.out or "damaged" in text.text or text.code != 0, text.text


# Scenario: Ann Lee, student number 5, born 2012-03-04, had old folder old-ann. Since the reseed she is Ann Smith
# (new-smith: still number 5, same birth date); a newcomer also named Ann Lee (new-lee) has no number or birth date
# yet. The listing (--list, --list --csv) says of old-ann only "only the name agrees with Ann Lee (new-lee): no
# identifying field agrees" and never names Ann Smith (with a birth date on the newcomer it does: "Ann Lee (new-lee)
# fits, but Ann Smith (new-smith) has the same student_number ... a corrected name or record? A person decides").
# The reviewer, asked only about new-lee, writes old-ann -> new-lee; no override.
# What the tool did: --migrate --pairs exit 0, Ann's profile and attendance photos copied into the newcomer's folder.
# MatchBook.judge: judge_pairing(old Ann Lee, new Ann Lee) is unknown (same name, nothing differs); new-lee is in
# the fit table, so _proven_other is never asked, and it would not find Ann Smith anyway (it looks only at current
# records named alike, while identity.proven_someone_else proves her by renamed_only: number and birth date agree,
# nothing but the name differs).
# Rule broken: docs/safety.md section 1 "A shared identifier is a question too. A current record under any name that
# has one of the old record's identifiers ... is a candidate ... A child renamed since (`Ann Smith`, still #5) is
# never passed over for a newcomer of the old name." The question put to the person passed her over, and the row
# answering it gave her photos to another child with exit 0. Safe: the listing names Ann Smith, or the row needs
# override.
def test_finding_renamed_child_keeping_her_number_is_not_named_and_a_reviewed_row_gives_her_folder_to_a_newcomer(
        school, tmp_path):
    face = school.put_photo("old-ann", jpeg_bytes("ann's face"), 1)
    backup(school, NEWEST, [{"student_id": "old-ann", "name": "Ann Lee", "date_of_birth": "2012-03-04",
                             "student_number": 5, "photo": CANON.format("old-ann")}])
    school.seed([{"student_id": "new-lee", "name": "Ann Lee", "photo": None},
                 {"student_id": "new-smith", "name": "Ann Smith", "date_of_birth": "2012-03-04", "student_number": 5,
                  "photo": None}])
    listed = {o["name"]: o for o in school.migrate("--list", "--json").json["orphans"]}
    reviewed = tmp_path / "reviewed.csv"
    save_as_spreadsheet(reviewed, [{"orphan": "old-ann", "student_id": "new-lee"}])

    run = school.migrate("--migrate", "--pairs", str(reviewed), "--json")

    asked_about_her = "new-smith" in listed["old-ann"]["reason"]
    refused = run.code == 2 and school.photo_of("new-lee") != face
    assert asked_about_her or refused, (listed["old-ann"]["reason"], run.code, school.photo_of("new-lee") == face)
