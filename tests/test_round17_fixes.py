"""Round 17c fixes, as properties where the rule guards a child's photo.

1. A reviewed plan row whose student_id is empty but whose student_name (or override yes) is filled in is a
   person's decision the row does not say how to carry out: the file is refused (exit 2, the row named), never
   carried out as the tool's own decision. A row truly left empty (or as the plan wrote it) keeps the tool's own.
2. An undo of a migrate whose copies a later run (a restore) linked never ends "all done": each student whose
   link names a file the undo removed is named (exit 1), and the undo changes no link it did not write.
"""
from __future__ import annotations

import csv
import shutil
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_finding_17c import _run_id
from test_migrate import Reseed

from conftest import School

KIDS = ("Kid Number0", "Kid Number1", "Kid Number2")
YES_WORDS = ("yes", "Y", "TRUE", "1", "x", "override")


def _reseeded(school: School) -> Reseed:
    r = Reseed(school)
    for i, name in enumerate(KIDS):
        r.child(f"k{i}", name, date_of_birth=f"2014-01-0{i + 1}")
    r.commit()
    return r


# ---------------------------------------------------------------- 1. half-filled rows of a reviewed plan
NAME_TEXT = st.text(alphabet=st.sampled_from(list("abzKNX éØ-'.,\"0123456789")), max_size=12)
WRITTEN_NAME = st.one_of(st.sampled_from(["none", "no one", "-", *KIDS, "Alex Kim", "  ", ""]), NAME_TEXT)
OVERRIDE = st.sampled_from(["", "  ", "no", "n", *YES_WORDS])


def _plan_rows(school: School, tmp_path) -> tuple[list[str], list[list[str]]]:
    plan = tmp_path / "plan.csv"
    if not plan.exists():
        assert school.migrate("--list", "--csv", str(plan)).code == 0
    rows = list(csv.reader(plan.read_text(encoding="utf-8-sig").splitlines()))
    return rows[0], rows[1:]


def _write(path, header, rows) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows([header, *rows])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row_index=st.integers(0, 2), name=WRITTEN_NAME, override=OVERRIDE, keep_others=st.booleans())
def test_a_row_without_student_id_is_the_tools_decision_only_when_it_is_truly_empty(
        school, tmp_path, row_index, name, override, keep_others):
    if not school.db_docs():
        _reseeded(school)
    header, rows = _plan_rows(school, tmp_path)
    col = header.index
    assert all(row[col("decision")] == "migrate" and row[col("student_id")] for row in rows)
    rows[row_index][col("student_id")] = ""
    rows[row_index][col("student_name")] = name
    rows[row_index][col("override")] = override
    if not keep_others:  # the other rows emptied too: the tool decides them
        for i, row in enumerate(rows):
            if i != row_index:
                row[col("student_id")] = row[col("student_name")] = ""
    reviewed = tmp_path / "reviewed.csv"
    _write(reviewed, header, rows)
    before = school.snapshot()

    result = school.migrate("--migrate", "--pairs", str(reviewed), "--dry-run", "--json")

    assert school.snapshot() == before
    half_filled = bool(name.strip()) or override.strip().casefold() in {w.casefold() for w in YES_WORDS}
    if half_filled:  # never carried out as the tool's decision: the whole file is refused, the row named
        assert result.code == 2, result.text
        assert f"line {row_index + 2}:" in result.text and "student_id is empty" in result.text, result.text
    else:  # a row truly left empty keeps the tool's own decision: every child is migrated to themself
        assert result.code == 0, result.text
        planned = {o["name"]: (o["decision"], o["target_id"]) for o in result.json["orphans"]}
        assert sorted(planned.values()) == sorted(("migrate", row[col("student_id")]) for row in _plan_rows(
            school, tmp_path)[1]), result.text


def test_a_half_filled_row_copies_nothing_and_an_untouched_plan_is_carried_out(school, tmp_path):
    r = _reseeded(school)
    header, rows = _plan_rows(school, tmp_path)
    col = header.index
    untouched = tmp_path / "untouched.csv"
    _write(untouched, header, rows)
    rows[0][col("student_id")] = ""
    half = tmp_path / "half.csv"
    _write(half, header, rows)  # the id emptied, the tool's own student_name left beside it

    refused = school.migrate("--migrate", "--pairs", str(half))
    assert refused.code == 2 and "student_id is empty" in refused.text, refused.text
    assert len(refused.err.strip().splitlines()) <= 2 and "Traceback" not in refused.text
    assert all(school.photo_of(r.new_id(k)) is None for k in r.new)

    done = school.migrate("--migrate", "--pairs", str(untouched))
    assert done.code == 0, done.text
    assert all(school.photo_of(r.new_id(k)) == r.photos[k] for k in r.new)
    r.assert_every_photo_is_its_own()


# ---------------------------------------------------------------- 2. undo after a later run linked the copies
LINK = st.sampled_from(["copy", "old folder", "none", "elsewhere"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(links=st.tuples(LINK, LINK, LINK), dry=st.booleans())
def test_an_undo_names_every_student_linked_to_a_copy_it_removed_and_changes_no_link(
        tmp_path_factory, mongo_client, mongo_url, links, dry):
    school = School(tmp_path_factory.mktemp("school") / uuid.uuid4().hex[:8], mongo_client, mongo_url)
    try:
        r = _reseeded(school)
        migrated = school.migrate("--migrate")
        assert migrated.code == 0, migrated.text
        linked = set()
        for i, how in enumerate(links):  # what a later run (a restore, the app) wrote in each link
            key = f"k{i}"
            link = {"copy": f"/api/photos/students/{r.new_id(key)}/profile.jpg",
                    "old folder": f"/api/photos/students/{r.old_id(key)}/profile.jpg",
                    "none": None,
                    "elsewhere": f"/api/photos/uploads/{r.new_id(key)}.jpg"}[how]
            school.collection.update_one({"student_id": r.new_id(key)}, {"$set": {"photo": link}})
            if how == "copy":
                linked.add(key)
        db_before = school.snapshot()["db"]

        undo = school.migrate("--undo", _run_id(migrated), *(("--dry-run",) if dry else ()), "--json")

        assert school.snapshot()["db"] == db_before, "the undo changed a link it did not write"
        assert undo.code == (1 if linked else 0), undo.text
        named = {(x["name"], x["student_id"]) for x in undo.json["linked_to_removed"]}
        assert named == {(r.new[k]["name"], r.new_id(k)) for k in linked}, undo.text
        assert all(school.photo_of(r.old_id(k)) == r.photos[k] for k in r.new), "a source was touched"
        for k in r.new:  # the copies: gone after the undo, kept by its dry run
            assert school.photo_of(r.new_id(k)) == (r.photos[k] if dry else None)
        shown = school.migrate("--undo", _run_id(migrated), "--dry-run") if dry else None
        if shown is not None and linked:
            assert "all done" not in shown.out and "migrate_orphaned_photos.py --migrate" in shown.out, shown.text
    finally:
        mongo_client.drop_database(school.db_name)
        shutil.rmtree(school.root, ignore_errors=True)


def test_an_undo_after_the_restore_linked_the_copies_says_who_and_what_to_do_in_lines(school):
    r = _reseeded(school)
    migrated = school.migrate("--migrate")
    school.write_backup(list(school.db_docs().values()), name="seed_backup_20251201_0900.json")
    assert school.restore().code == 0

    undo = school.migrate("--undo", _run_id(migrated))

    assert undo.code == 1 and "all done" not in undo.out, undo.text
    for k in r.new:
        assert f"{r.new[k]['name']} ({r.new_id(k)})" in undo.out, undo.text
    assert "migrate_orphaned_photos.py --migrate" in undo.out and "Traceback" not in undo.text
    assert school.migrate("--migrate").code == 0  # the advice: carried again, the links name them again
    assert school.restore("--verify-only", "--quiet").code == 0
    r.assert_every_photo_is_its_own()


def test_an_undo_run_again_after_the_copies_went_still_says_who_is_linked_to_them(school):
    """The first undo was stopped (or its database read failed) after it removed the copies, or a person deleted
    them: the undo run again finds them gone and still names every student linked to them, never 'all done'."""
    r = _reseeded(school)
    migrated = school.migrate("--migrate")
    school.write_backup(list(school.db_docs().values()), name="seed_backup_20251201_0900.json")
    assert school.restore().code == 0
    for k in r.new:
        (school.folder(r.new_id(k)) / "profile.jpg").unlink()

    undo = school.migrate("--undo", _run_id(migrated))

    assert undo.code == 1 and "all done" not in undo.out, undo.text
    for k in r.new:
        assert f"{r.new[k]['name']} ({r.new_id(k)})" in undo.out, undo.text
