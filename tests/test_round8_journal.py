"""Round 8 (2026-12-01): the journal's placements are read into SQLite, not held in memory: the findings are the same
however long the journal."""

from __future__ import annotations

import hashlib
import json
import random

from test_deep import order_migrated_school


def test_a_long_journal_gives_the_same_findings_as_a_short_one(school):
    """Thousands of placement lines (sizes of real photos among them) change nothing: the placements are read
    into SQLite in chunks, in journal order, and traced exactly as before."""
    order_migrated_school(school)
    before = school.restore("--verify-only", "--deep", "--json")
    assert before.code == 1 and before.json["deep"], before.text
    sizes = sorted({p.stat().st_size for p in school.photos.glob("students/*/**/*.jpg")})
    rng = random.Random(8)
    filler = []
    for i in range(6000):
        size = sizes[i % len(sizes)] if i % 2 else rng.randrange(1, 10 ** 7)
        filler.append({"type": "file", "path": f"students/filler-{i % 700}/attendance/{i}.jpg", "size": size,
                       "sha256": hashlib.sha256(b"%d" % i).hexdigest(),
                       "origin": {"old_id": f"filler-{i}", "old_name": f"Filler {i}", "name_key": "filler",
                                  "codes": "", "paired_by": "identity"}})
    (school.photos / ".student-photos" / "journal" / "00000000-000000-000-filler.jsonl").write_text(
        json.dumps({"type": "run", "run_id": "00000000-000000-000-filler"}) + "\n"
        + "".join(json.dumps(e) + "\n" for e in filler))

    after = school.restore("--verify-only", "--deep", "--json")
    restore = school.restore("--verify-only", "--json")

    assert after.code == before.code and after.json["deep"] == before.json["deep"], after.text
    assert restore.code in (0, 1) and "could not be checked" not in restore.text
