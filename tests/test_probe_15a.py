"""Round 15a probes that the tools passed: outside data (reviewed pairs files, photo sources, backups)."""
from __future__ import annotations

import io
import json
import tarfile

import pytest
from test_pairs import HEADER, jordans, save_as_spreadsheet
from test_sources import make_zip, seeded

from student_photos.sample import jpeg_bytes


def _tar(path, members):
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_probe_a_tar_giving_one_face_to_two_children_as_regular_members_gives_it_to_no_one(school, tmp_path):
    ann = school.new_student("Ann", date_of_birth="2015-01-01")
    bea = school.new_student("Bea", date_of_birth="2016-01-01")
    seeded(school, ann, bea)
    a, b = ann["student_id"], bea["student_id"]
    face = jpeg_bytes("one face in two folders")
    source = tmp_path / "old.tar"
    _tar(source, [(f"photos/students/{a}/profile.jpg", face), (f"photos/students/{b}/profile.jpg", face)])
    result = school.restore("--photo-source", str(source))
    assert school.photo_of(a) is None and school.photo_of(b) is None and result.code == 1


def test_probe_a_tree_source_folder_spelt_in_another_case_fills_no_one(school, tmp_path):
    ann = {**school.new_student("Ann", date_of_birth="2015-01-01"), "student_id": "abc-1"}
    seeded(school, ann)
    source = tmp_path / "from-windows.zip"
    make_zip(source, {"photos/students/ABC-1/profile.jpg": jpeg_bytes("whose?")})
    result = school.restore("--photo-source", str(source), "--json")
    assert school.photo_of("abc-1") is None and result.code == 1


def test_probe_the_usual_backup_shape_blocks_a_recycled_id(school):
    emma = school.new_student("Emma", date_of_birth="2015-01-01", student_id="1")
    olivia = {**school.new_student("Olivia", date_of_birth="2016-02-02"), "student_id": "1"}
    school.write_backup([emma])
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.seed([{**olivia, "photo": None}])
    assert school.restore().code == 1
    assert school.db_docs()["1"]["photo"] is None


@pytest.mark.parametrize("body", ['{"backup": {"students": []}}', '{"students": {"1": {}}}', '{"students": null}',
                                  '{"student_id": "1", "name": "Emma"}\n{"student_id": "2", "name": "Zed"}'])
def test_probe_a_backup_with_no_student_list_refuses_a_writing_restore(school, body):
    olivia = {**school.new_student("Olivia", date_of_birth="2016-02-02"), "student_id": "1"}
    (school.backups / "seed_backup_20251115_0537.json").write_text(body)
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.seed([{**olivia, "photo": None}])
    assert school.restore().code == 2
    assert school.db_docs()["1"]["photo"] is None


def _rows(r, **by_key):
    return [{"orphan": r.old_id(k), "student_id": v if v in ("none", "None ", "NONE") else r.new_id(v)}
            for k, v in by_key.items()]


@pytest.mark.parametrize("cell", ['=HYPERLINK("{sid}")', "{sid}x", "'{sid}", '"{sid}"'])
def test_probe_a_student_id_a_spreadsheet_made_into_a_formula_or_mangled_is_refused_whole(school, tmp_path, cell):
    r = jordans(school)
    bad = cell.format(sid=r.new_id("j1")).replace('"', '""')
    reviewed = tmp_path / "reviewed.csv"
    lines = [";".join(HEADER.split(",")), f'{r.old_id("j1")};;;;;"{bad}";;', f'{r.old_id("j2")};;;;;{r.new_id("j2")};;']
    reviewed.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    before = school.snapshot()
    result = school.migrate("--migrate", "--pairs", str(reviewed))
    assert result.code == 2 and school.snapshot() == before, result.text


def test_probe_a_row_duplicated_or_two_rows_for_one_folder_are_refused_whole(school, tmp_path):
    r = jordans(school)
    for rows in ([*_rows(r, j1="j1"), *_rows(r, j1="j1")], [*_rows(r, j1="j1"), *_rows(r, j1="none")],
                 [*_rows(r, j1="j1"), {"orphan": "no-longer-there", "student_id": r.new_id("j2")}]):
        reviewed = tmp_path / "reviewed.csv"
        save_as_spreadsheet(reviewed, rows, delimiter=";")
        before = school.snapshot()
        result = school.migrate("--migrate", "--pairs", str(reviewed))
        assert result.code == 2 and school.snapshot() == before, result.text


def test_probe_none_in_any_case_with_spaces_keeps_a_folder_from_everyone(school, tmp_path):
    r = jordans(school)
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_bytes(("\ufeff" + HEADER + "\r\n" + f"{r.old_id('j1')},,,,, None ,,\r\n").encode())
    result = school.migrate("--migrate", "--pairs", str(reviewed), "--json")
    decided = {o["name"]: o["decision"] for o in result.json["orphans"]}
    assert school.photo_of(r.new_id("j1")) is None and school.photo_of(r.new_id("j2")) is None
    assert result.code == 1 and decided[r.old_id("j1")] != "migrated"


def test_probe_a_quoted_student_id_with_a_trailing_space_is_refused(school, tmp_path):
    r = jordans(school)
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_bytes((HEADER + "\n" + f'{r.old_id("j1")},,,,,"{r.new_id("j1")} ",,\n').encode())
    before = school.snapshot()
    assert school.migrate("--migrate", "--pairs", str(reviewed)).code == 2 and school.snapshot() == before


def test_probe_a_backup_record_with_extended_json_ids_and_a_bom_still_blocks(school):
    emma = {"student_id": "1", "name": "Emma", "date_of_birth": {"$date": "2015-01-01T00:00:00Z"}}
    olivia = {**school.new_student("Olivia", date_of_birth="2016-02-02"), "student_id": "1"}
    body = json.dumps({"students": [emma]})
    path = school.backups / "seed_backup_20251115_0537.json"
    path.write_bytes(b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode())
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.seed([{**olivia, "photo": None}])
    assert school.restore().code == 1
    assert school.db_docs()["1"]["photo"] is None
