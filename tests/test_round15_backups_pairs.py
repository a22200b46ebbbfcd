"""Round 15 (findings 15a-3 and 15a-4), held as properties: a backup is read only by its student list's own entries
(a record nested inside an entry is no record), and a reviewed row's folder cell, as a spreadsheet re-saves it,
is carried out only on the one folder it can mean."""
from __future__ import annotations

import csv
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from old_records import ann_missing_her_photo

from conftest import School
from student_photos.backups import BackupUnusable, read_backup
from student_photos.console import printable
from student_photos.records import StudentRecord, is_safe_id
from student_photos.sample import jpeg_bytes

# ---------------------------------------------------------------- (a) backups: only the list's own entries count

MISSING = object()
IDS = st.sampled_from(["s1", "s2", 2003, {"$numberLong": "7"}, None, True, 1.5, {"$oid": "65a1b2c3d4e5f60718293a4b"},
                       {"student_id": "s9"}, MISSING])


def _record(sid: object, name: str = "Emma") -> dict:
    return {"name": name} if sid is MISSING else {"student_id": sid, "name": name}


def _entries(children):
    """An entry of a student list, in the shapes backups (or mistakes) take."""
    record = st.builds(_record, IDS)
    return st.one_of(
        record,
        st.builds(lambda r, inner: {**r, "guardian": inner}, record, children),  # a guardian's record inside
        st.builds(lambda r, inner: {**r, "siblings": inner}, record, st.lists(children, max_size=2)),
        st.builds(lambda inner: {"student": inner, "class": "3B"}, children),  # a wrapped record
        st.builds(lambda inner: {"timestamp": "2025-11-15T05:37:00", "students": inner},  # a backup in the list
                  st.lists(children, max_size=2)),
        st.sampled_from([7, "s1", None, [], {"$oid": "65a1b2c3d4e5f60718293a4b"}]),
        st.lists(children, max_size=2),  # a list entry: wrapping a record, or holding none (finding 16a-5)
    )


ENTRIES = st.recursive(st.builds(_record, IDS), _entries, max_leaves=6)


def _collapsed_id(entry: dict) -> object:
    raw = entry.get("student_id")
    if isinstance(raw, dict) and set(raw) == {"$numberLong"}:
        return int(raw["$numberLong"])
    return raw


def _usable(entry: object) -> bool:
    raw = _collapsed_id(entry) if isinstance(entry, dict) else None
    return isinstance(raw, (str, int)) and not isinstance(raw, bool)


def _holds_a_record(value: object) -> bool:
    """Whether a document with a `student_id` is anywhere inside ``value`` (not ``value`` itself)."""
    inside = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any((isinstance(v, dict) and "student_id" in v) or _holds_a_record(v) for v in inside)


# Other top-level keys beside the student list: metadata the tool passes over, or records kept outside the list
# (leavers, an archive; a record's own fields at the top level), before or after it (finding 16a-6).
OTHER_KEYS = st.sampled_from(["timestamp", "metadata", "leavers", "archive", "student_id"])
OTHER_VALUES = st.one_of(
    st.sampled_from(["2025-11-15T05:37:00", 200000, None, {"exported_by": "seed.py", "version": 2},
                     {"$date": "2025-11-15T05:37:00Z"}, [], ["3B", "4A"], {"classes": [{"name": "3B"}]}]),
    st.lists(ENTRIES, max_size=2),
    ENTRIES,
)


@settings(max_examples=300, deadline=None)
@given(entries=st.lists(ENTRIES, max_size=4), bare=st.booleans(),
       others=st.lists(st.tuples(OTHER_KEYS, OTHER_VALUES), max_size=3, unique_by=lambda kv: kv[0]),
       split=st.integers(min_value=0, max_value=3))
@example(entries=[{"student": {"student_id": "s1", "name": "Emma"}, "class": "3B"}], bare=False, others=[], split=0)
@example(entries=[{"timestamp": "2025-11-15T05:37:00", "students": [{"student_id": "s1", "name": "Emma"}]}],
         bare=True, others=[], split=0)
@example(entries=[{"student_id": "s2", "name": "Zed"}, {"student": {"student_id": "s1", "name": "Emma"}}], bare=False,
         others=[], split=0)
@example(entries=[{"name": "Emma", "guardian": {"student_id": "s1", "name": "Pat"}}], bare=False, others=[], split=0)
@example(entries=[{"student_id": "s2", "name": "Zed"}, [{"student_id": "s1", "name": "Emma"}]], bare=False,
         others=[], split=0)  # 16a-5
@example(entries=[{"student_id": "s2", "name": "Zed"}, [[{"student_id": "s1", "name": "Emma"}]]], bare=True,
         others=[], split=0)
@example(entries=[{"student_id": "s2", "name": "Zed"}], bare=False,
         others=[("leavers", [{"student_id": "s1", "name": "Emma"}])], split=1)  # 16a-6, after the list
@example(entries=[{"student_id": "s2", "name": "Zed"}], bare=False,
         others=[("leavers", [{"student_id": "s1", "name": "Emma"}])], split=0)  # before it
@example(entries=[{"student_id": "s2", "name": "Zed"}], bare=False,
         others=[("archive", {"students": [{"name": "Emma", "guardian": {"student_id": "s1"}}]})], split=0)
@example(entries=[{"student_id": "s2", "name": "Zed"}], bare=False, others=[("student_id", "s1")], split=0)
@example(entries=[{"student_id": "s2", "name": "Zed"}, [7, "s1"]], bare=False,
         others=[("timestamp", "2025-11-15T05:37:00"), ("metadata", {"exported_by": "seed.py", "version": 2})],
         split=1)  # metadata, and a list entry holding no record: read as before
def test_a_backup_is_usable_only_by_its_own_entries_ids(entries, bare, others, split):
    """A backup is read only when an entry of its list has a usable student_id of its own, and no document with a
    student_id lies anywhere but in the list's entries that have one of their own: not inside an entry without one
    (a wrapped record, a list entry wrapping one, a backup in a list of backups), not under another top-level key
    (leavers beside the list, before or after it), not as the backup's own top-level student_id: a shape not read.
    Metadata beside the list is passed over. What it yields is its entries, one record each, with their own ids,
    never a nested document's."""
    if bare:
        body: object = entries
        others = []
    else:
        body = dict(others[:split]) | {"students": entries} | dict(others[split:])
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "seed_backup_20251115_0537.json"
        path.write_text(json.dumps(body))
        try:
            got = list(read_backup(path, ("date_of_birth",)))
        except BackupUnusable:
            got = None
    finally:
        shutil.rmtree(folder)
    own = [e for e in entries if _usable(e)]
    wrapped = [e for e in entries if not _usable(e) and _holds_a_record(e)]  # a dict entry or a list entry
    outside = [k for k, v in others if k == "student_id" or (isinstance(v, dict) and "student_id" in v)
               or _holds_a_record(v)]
    usable = (bool(own) or not entries) and not wrapped and not outside  # an empty list says nothing wrong
    assert (got is not None) == usable, (body, got)
    if got is not None:
        assert len(got) == len(entries)
        ids = {r.student_id for r in got if isinstance(r, StudentRecord) and r.receivable}
        assert ids == {e["student_id"] for e in own if is_safe_id(e["student_id"])}, (body, got)


EMMA = {"student_id": "1", "name": "Emma Stone", "date_of_birth": "2015-01-01",
        "photo": "/api/photos/students/1/profile.jpg"}
EMMA_NO_ID = {k: v for k, v in EMMA.items() if k != "student_id"}
ZED = {"student_id": "z9", "name": "Zed Ray", "date_of_birth": "2014-01-01"}
SHAPES = {
    "a guardian's record in an entry without an id": {"students": [{**EMMA_NO_ID, "guardian": {"student_id": "g1"}}]},
    "siblings in an entry without an id": {"students": [{**EMMA_NO_ID, "siblings": [{"student_id": "2"}]}]},
    "an ObjectId id, a sibling's record": {"students": [{**EMMA, "student_id": {"$oid": "65a1b2c3d4e5f60718293a4b"},
                                                          "siblings": [{"student_id": "2", "name": "Leo"}]}]},
    "an id that is a document": {"students": [{**EMMA, "student_id": {"student_id": "1"}}]},
    "two backups in one array": [{"students": [EMMA]}, {"students": [ZED]}],
    "a backup inside the student list": {"students": [{"timestamp": "2025-11-15T05:37:00", "students": [EMMA]}]},
    "one plain entry, one wrapped": {"students": [ZED, {"student": EMMA, "class": "3B"}]},
    "Extended JSON wrapped": {"students": [{"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "doc": EMMA}]},
    # finding 16a-5: an entry that is not a document, wrapping a record
    "a list entry wrapping a record": {"students": [ZED, [EMMA]]},
    "a list entry wrapping a backup": [ZED, [{"students": [EMMA]}]],
    # finding 16a-6: a record outside the student list
    "leavers after the list": {"timestamp": "2025-11-15T05:37:00", "students": [ZED], "leavers": [EMMA]},
    "leavers before the list": {"leavers": [EMMA], "students": [ZED], "timestamp": "2025-11-15T05:37:00"},
    "a record in the metadata": {"metadata": {"exported_by": "seed.py", "last_left": EMMA}, "students": [ZED]},
    "the record's own fields at the top level": {**EMMA, "students": [ZED]},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_backup_holding_a_record_inside_an_entry_stops_a_writing_run(school, shape):
    """As 15a-3, in the other shapes that passed the same way: Emma's old id 1, recycled to Olivia, is never relinked
    to the photo in folder 1 on a backup that holds who id 1 was in a shape the tool does not read."""
    olivia = {**school.new_student("Olivia Park", date_of_birth="2016-02-02"), "student_id": "1"}
    (school.backups / "seed_backup_20251115_0537.json").write_text(json.dumps(SHAPES[shape]))
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.seed([{**olivia, "photo": None}, ZED])

    result = school.restore("--json")

    assert school.db_docs()["1"]["photo"] is None, f"{shape}: Olivia was linked to Emma's photo ({result.text})"
    assert result.code == 2, result.text
    assert "seed_backup_20251115_0537.json" in result.text


@pytest.mark.parametrize("before", [True, False])
def test_a_backup_with_records_outside_its_list_is_refused_in_one_line_naming_the_key(tmp_path, before):
    """The reason names the key the records were found under, on one line, before or after the list; metadata beside
    the list is still passed over, and the list is read as it is read alone."""
    others = {"leavers": [{"name": "Emma", "guardian": {"student_id": "1"}}]}
    meta = {"timestamp": "2025-11-15T05:37:00", "metadata": {"exported_by": "seed.py", "count": 1}}
    body = {**(others if before else {}), **meta, "students": [ZED], **({} if before else others)}
    path = tmp_path / "seed_backup_20251115_0537.json"
    path.write_text(json.dumps(body))

    with pytest.raises(BackupUnusable) as refused:
        list(read_backup(path))

    assert 'under "leavers"' in str(refused.value) and "\n" not in str(refused.value), refused.value
    path.write_text(json.dumps({**meta, "students": [ZED]}))
    assert [r.student_id for r in read_backup(path)] == ["z9"]


# ---------------------------------------------------------------- (b) pairs: a re-saved folder cell

SPACES = ["", " ", "  ", "\t", "\u00a0", "\u2003", "\u3000", "\u202f"]
BASES = ["old7", "a b", "07"]


def _resave(cell: str, how: str) -> str:
    """A cell as a spreadsheet saves it: Excel writes it bare (the reader then drops a bare cell's spaces), Google
    Sheets and LibreOffice's "trim spaces" strip it, a paste from a web page turns a non-breaking space into a space."""
    if how == "trim":
        return cell.strip()
    if how == "nbsp":
        return cell.replace("\u00a0", " ").replace("\u202f", " ")
    return cell


def _write(path: Path, rows: list[list[str]], how: str) -> None:
    def cell(text: str) -> str:
        quote = any(c in text for c in ',"\r\n') or (how == "ours" and text != text.strip())
        return f'"{text.replace(chr(34), chr(34) * 2)}"' if quote else text
    path.write_bytes(b"\xef\xbb\xbf" + "".join(",".join(map(cell, row)) + "\r\n" for row in rows).encode())


def _shown(name: str) -> str:
    """The folder's cell in the plan: a name starting with a formula character (a tab) gets a "'" before it."""
    text = printable(name)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _key(name: str) -> str:
    """What is left of a name once every white space run is one space, none at either end (the test's own)."""
    return " ".join(name.replace("\u200b", " ").split())


@settings(max_examples=30, deadline=None)
@given(base=st.sampled_from(BASES),
       decorations=st.lists(st.tuples(st.sampled_from(SPACES), st.sampled_from(SPACES)), min_size=1, max_size=3,
                            unique=True),
       target=st.integers(min_value=0, max_value=2),
       how=st.sampled_from(["excel", "trim", "nbsp", "ours"]))
@example(base="old7", decorations=[("", " "), ("", "")], target=0, how="excel")
@example(base="old7", decorations=[("", "\u00a0"), ("", "")], target=0, how="excel")
@example(base="old7", decorations=[(" ", ""), ("", "")], target=0, how="trim")
def test_a_reviewed_row_goes_only_to_the_folder_its_cell_can_mean(mongo_client, mongo_url, base, decorations,
                                                                   target, how):
    """Old folders whose names differ only by white space (`old7 `, `old7`, `old7<NBSP>`); the person pairs one with
    Ann and a spreadsheet re-saves the file. Ann is given that folder's photo, or none (the file refused, exit 2,
    nothing changed); never another folder's. While another folder's name differs from the chosen one's only by
    white space, the file is refused."""
    names = list(dict.fromkeys(f"{before}{base}{after}" for before, after in decorations))
    chosen = names[target % len(names)]
    root = Path(tempfile.mkdtemp())
    school = School(root / "school", mongo_client, mongo_url)
    try:
        ann = ann_missing_her_photo(school)
        faces = {name: school.put_photo(name, jpeg_bytes(f"face of folder {name!r}")) for name in names}
        plan = root / "plan.csv"
        assert school.migrate("--list", "--csv", str(plan)).code == 1
        rows = list(csv.reader(plan.read_text(encoding="utf-8-sig").splitlines()))
        assert sorted(row[0] for row in rows[1:]) == sorted(map(_shown, names)), rows
        for row in rows[1:]:
            if row[0] == _shown(chosen):
                row[5] = ann["student_id"]  # the person saw the face they meant in that folder
            row[0] = _resave(row[0], how)
        reviewed = root / "reviewed.csv"
        _write(reviewed, rows, how)
        before = school.snapshot()

        result = school.migrate("--migrate", "--pairs", str(reviewed), "--json")

        given_to_ann = school.photo_of(ann["student_id"])
        assert given_to_ann in (None, faces[chosen]), (
            f"folder {chosen!r} (re-saved {how}) was carried out on another folder of {names} ({result.text})")
        if sum(_key(name) == _key(chosen) for name in names) > 1:
            assert result.code == 2 and "is how" in result.text, result.text
            assert school.snapshot() == before
        elif how == "ours":  # a file as the tool wrote it (cells quoted exactly) names its folder
            assert given_to_ann == faces[chosen], result.text
    finally:
        mongo_client.drop_database(school.db_name)
        shutil.rmtree(root)
