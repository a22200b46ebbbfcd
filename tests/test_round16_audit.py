"""Round 16: a person's decisions in .migrations/audit.jsonl are never read as 'no one decided' because the file
cannot be read as it should (migrate.reviewed_pairings) or because a crash left half a line (AuditLog.write)."""
from __future__ import annotations

import json
import os

import pytest
from test_person_decisions import vetoed_sam


def _audit(school):
    return school.photos / ".migrations" / "audit.jsonl"


def test_an_audit_log_that_is_a_fifo_stops_the_run_never_hangs(school, tmp_path):
    r = vetoed_sam(school, tmp_path)
    audit = _audit(school)
    kept = audit.read_bytes()
    audit.unlink()
    os.mkfifo(audit)

    listed = school.subprocess("migrate_orphaned_photos", "--list", timeout=60, MIN_DATABASE_RATIO="0")
    restored = school.subprocess("restore_student_photos", timeout=60, MIN_DATABASE_RATIO="0")

    assert listed.code == 2 and restored.code == 2, (listed.text, restored.text)
    assert "audit.jsonl" in listed.err and "a person decided" in listed.err, listed.err
    audit.unlink()
    audit.write_bytes(kept)
    assert school.photo_of(r.new_id("sam")) is None


@pytest.mark.parametrize("line", [
    '{"time": "2025-11-20T10:00:00Z", "old_id": "OLD", "vetoed": true, "paired_by": "pairs file", "files": [',
    '{"time": "2025-11-20T10:00:00Z", "vetoed": true, "paired_by": "pairs file", "files": []}',  # no old_id
    '{"time": "2025-11-20T10:00:00Z", "retracts_run": "r1", "retracts": ', ])
def test_a_decision_line_that_cannot_be_read_stops_the_run(school, tmp_path, line):
    """A line that may be a person's pairing, veto or undo, but is not one readable audit line (cut short, edited by
    hand): every run stops (exit 2) and names the line, rather than read the file as if no one had decided it."""
    vetoed_sam(school, tmp_path)
    audit = _audit(school)
    with open(audit, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")

    listed = school.migrate("--list", MIN_DATABASE_RATIO="0")

    assert listed.code == 2, listed.text
    assert "line 2 of" in listed.err and "repair that line" in listed.err, listed.err


def test_a_line_cut_short_that_holds_no_decision_is_skipped_and_the_next_line_starts_afresh(school, tmp_path):
    """A crash while writing an ordinary line leaves half a line; the next run's lines start on a line of their own
    (a veto glued to the torn line was lost), and the torn line, which holds no decision, is skipped."""
    audit = _audit(school)
    audit.parent.mkdir(parents=True)
    audit.write_text('{"time": "2025-11-20T10:00:00Z", "old_id": "zzz", "new_id": "q", "files": [{"fi')
    r = vetoed_sam(school, tmp_path)

    lines = audit.read_text().splitlines()
    assert lines[0].endswith('"fi') and all(json.loads(line) for line in lines[1:]), lines
    assert school.migrate("--migrate", MIN_DATABASE_RATIO="0").code in (0, 1)
    assert school.photo_of(r.new_id("sam")) is None, "the veto after the torn line was lost"
