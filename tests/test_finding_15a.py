"""Round 15a findings: outside data (photo sources, backups). Each test asserts the safe behaviour and fails now."""
from __future__ import annotations

import io
import json
import tarfile

import pytest
from old_records import ann_missing_her_photo
from test_sources import seeded

from student_photos.sample import jpeg_bytes


def _tar(path, members):
    """members: (name, bytes), (name, ("link", target)) for a hard link, (name, ("sym", target)) for a symlink."""
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                info.type = tarfile.LNKTYPE if data[0] == "link" else tarfile.SYMTYPE
                info.linkname = data[1]
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("how", ["hard link", "symlink", "duplicate name", "folder with a symlink"])
def test_finding_a_face_the_tar_also_gives_another_child_by_a_refused_member_is_filled(school, tmp_path, how):
    """`tar cf` of an old store in which Bea's profile.jpg was the same file as Ann's (a `cp -l` by hand, or a
    symlink; or Ann's face under Bea's name, appended over by `tar rf`): the source says this face is Bea's as much
    as Ann's, which the tool refuses when the members are regular files, but not when Bea's member is refused."""
    ann = school.new_student("Ann", date_of_birth="2015-01-01")
    bea = school.new_student("Bea", date_of_birth="2016-01-01")
    seeded(school, ann, bea)
    a, b = ann["student_id"], bea["student_id"]
    face = jpeg_bytes("one face in two children's folders")
    at_a, at_b = f"photos/students/{a}/profile.jpg", f"photos/students/{b}/profile.jpg"
    members = {"regular": [(at_a, face), (at_b, face)],
               "hard link": [(at_a, face), (at_b, ("link", at_a))],  # GNU tar's default for a second name
               "symlink": [(at_a, face), (at_b, ("sym", f"../{a}/profile.jpg"))],
               "duplicate name": [(at_a, face), (at_b, face), (at_b, jpeg_bytes("bea, appended later"))],
               "folder with a symlink": []}[how]
    source = tmp_path / "old-server.tar"
    if how == "folder with a symlink":  # yesterday's `rsync -a` of the photo root keeps the symlink
        source = tmp_path / "photos-yesterday"
        (source / "students" / a).mkdir(parents=True)
        (source / "students" / b).mkdir(parents=True)
        (source / "students" / a / "profile.jpg").write_bytes(face)
        (source / "students" / b / "profile.jpg").symlink_to(f"../{a}/profile.jpg")
    else:
        _tar(source, members)

    result = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(a) is None, (
        f"{how}: Ann was given a face the source also holds under Bea's id (exit {result.code}, "
        f"{result.json['photo_source']})")
    assert result.code == 1


@pytest.mark.parametrize("shape", ["entries wrap the student", "a list holding a backup"])
def test_finding_a_backup_whose_records_are_nested_one_level_is_read_as_usable_and_a_recycled_id_is_relinked(
        school, shape):
    """A backup in another shape ({"students": [{"student": {...}, "class": ...}]}, or [{"students": [...]}]: two
    backups pasted into one array) holds no student_id at the top of any entry. A backup with no usable student_id
    stops a writing run (exit 2: it may say who an id was); this one is taken as usable because the nested
    documents count, so Emma's old id 1, recycled to Olivia, is relinked to Olivia: Emma's photo on Olivia's
    record."""
    emma = school.new_student("Emma", date_of_birth="2015-01-01", student_id="1")
    olivia = {**school.new_student("Olivia", date_of_birth="2016-02-02"), "student_id": "1"}
    body = {"entries wrap the student": {"timestamp": "2025-11-15T05:37:00",
                                         "students": [{"student": emma, "class": "3B"}]},
            "a list holding a backup": [{"timestamp": "2025-11-15T05:37:00", "students": [emma]}]}[shape]
    (school.backups / "seed_backup_20251115_0537.json").write_text(json.dumps(body))
    school.put_photo("1", jpeg_bytes("emma's face"))  # the folder of id 1 still holds Emma's photo
    school.seed([{**olivia, "photo": None}])

    result = school.restore("--json")

    assert school.db_docs()["1"]["photo"] is None, (
        f"Olivia was linked to Emma's photo (exit {result.code}; the backup was read as "
        f"{result.json['backup']})")
    assert result.code == 2


def _excel_resave(path, rows):
    """As Excel and LibreOffice save a CSV: UTF-8 BOM, CRLF, a cell quoted only for a separator, quote or line
    break (a cell's leading or trailing space is written bare)."""
    def cell(text):
        return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text
    path.write_bytes(b"\xef\xbb\xbf" + "".join(",".join(map(cell, row)) + "\r\n" for row in rows).encode())


@pytest.mark.parametrize("spelt", ["old7 ", " old7", "old7\u00a0"])
def test_finding_a_row_for_a_folder_whose_name_ends_in_a_space_is_carried_out_on_its_twin(school, tmp_path, spelt):
    """Two old folders no backup knows: `old7 ` (Ann's photos: a copy made by hand) and `old7` (another child's).
    The plan quotes "old7 "; the person pairs it with Ann in Excel, which saves the cell bare; the reader strips an
    unquoted cell, and Ann is given old7's photo (the twin whose name a spreadsheet changed, as 00417/417 is
    refused)."""
    ann = ann_missing_her_photo(school)
    school.put_photo(spelt, jpeg_bytes("ann's face"))
    school.put_photo("old7", jpeg_bytes("another child's face"))
    plan = tmp_path / "plan.csv"
    assert school.migrate("--list", "--csv", str(plan)).code == 1
    rows = [row for row in __import__("csv").reader(plan.read_text(encoding="utf-8-sig").splitlines())]
    assert [row[0] for row in rows[1:]].count(spelt) == 1, rows
    for row in rows[1:]:
        if row[0] == spelt:
            row[5] = ann["student_id"]  # the person saw Ann's face in that folder
    reviewed = tmp_path / "reviewed.csv"
    _excel_resave(reviewed, rows)

    result = school.migrate("--migrate", "--pairs", str(reviewed), "--json")

    assert school.photo_of(ann["student_id"]) != jpeg_bytes("another child's face"), (
        f"the row for folder {spelt!r} gave Ann folder 'old7' (exit {result.code})")


def test_finding_a_backup_record_naming_the_photo_in_folder_1_as_a_leavers_does_not_stop_relinking_it_to_id_1(school):
    """Emma (id 1) left; the office archived her record as `left-1` (her link still names students/1/profile.jpg,
    which the app kept serving), and the only backup kept holds her so. The id 1 was then given to Olivia. The
    folder 1 still holds Emma's photo and the backup says so, by its link; a restore links it to Olivia and says
    all is done (exit 0), and --verify-only --deep finds nothing. A record's link is a claim elsewhere (a copy is
    refused for it); here the very file it names is linked to another child."""
    emma = {**school.new_student("Emma Stone", date_of_birth="2015-01-01"), "student_id": "left-1",
            "photo": "/api/photos/students/1/profile.jpg"}
    olivia = {**school.new_student("Olivia Park", date_of_birth="2016-02-02"), "student_id": "1"}
    zed = school.new_student("Zed Ray", date_of_birth="2014-01-01")
    school.write_backup([emma, zed])
    school.put_photo("1", jpeg_bytes("emma's face"))
    school.put_photo(zed["student_id"])
    school.seed([{**olivia, "photo": None}, zed])

    deep = school.restore("--verify-only", "--deep", "--json")
    result = school.restore("--json")

    assert school.db_docs()["1"]["photo"] is None, (
        f"Olivia was linked to the file the backup records as Emma's photo (exit {result.code}; --deep problems: "
        f"{deep.json['problems']})")
    assert result.code == 1


def test_finding_a_picture_day_zip_naming_one_face_for_two_numbers_by_a_symlink_fills_one(school, tmp_path):
    """The photographer's zip (made on a Mac: `zip -y` keeps links) holds 42.jpg and 43.jpg -> 42.jpg: the delivery
    gives one face to #42 and #43. As two regular files it goes to no one (test_sources); with the link refused, #42
    is given it."""
    import zipfile
    ann = school.new_student("Ann Able", student_number=42)
    ben = school.new_student("Ben Best", student_number=43)
    seeded(school, ann, ben)
    archive = tmp_path / "picture-day.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("42.jpg", jpeg_bytes("one face, two numbers"))
        link = zipfile.ZipInfo("43.jpg")
        link.external_attr = (0o120777 << 16)
        link.create_system = 3
        z.writestr(link, "42.jpg")

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(ann["student_id"]) is None, (
        f"Ann was given the face the zip also names as #43's (exit {result.code}, {result.json['photo_source']})")
    assert result.code == 1
