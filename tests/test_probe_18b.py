"""Round 18b probes (helper h18b): attacks on --photo-source picture-day keys, tree sources and --deep that the tool
survived. Each asserts the safe behaviour and passes on the current code."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile

from test_sources import make_zip, seeded

from student_photos.sample import jpeg_bytes


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unused(result) -> dict[str, dict]:
    return {u["file"]: u for u in result.json["photo_source"]["unused"]}


def test_photographers_zip_with_class_folders_zeros_and_other_formats(school, tmp_path):
    """Numbers all stored as numbers; files in one folder per class, with leading zeros, upper-case extensions, a
    prefix the database does not use, and one child photographed in two classes (two files, one key)."""
    ann, bo, cy, di = (school.new_student(n, student_number=v) for n, v in
                       (("Ann", 123), ("Bo", 124), ("Cy", 125), ("Di", 126)))
    seeded(school, ann, bo, cy, di)
    archive = tmp_path / "photographer.zip"
    make_zip(archive, {"Class 5A/00123.JPG": jpeg_bytes("ann"), "Class 5B/124.jpeg": jpeg_bytes("bo"),
                       "Class 5C/S-125.jpg": jpeg_bytes("cy?"), "Class 5A/126.jpg": jpeg_bytes("di 1"),
                       "Class 5B/0126.jpg": jpeg_bytes("di 2")})
    before = _digest(archive)

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(ann["student_id"]) == jpeg_bytes("ann")
    assert school.photo_of(bo["student_id"]) == jpeg_bytes("bo")
    assert school.photo_of(cy["student_id"]) is None and school.photo_of(di["student_id"]) is None
    unused = _unused(result)
    assert "used for no one" in unused["Class 5C/S-125.jpg"]["why"]  # text against numbers: blocked
    assert unused["Class 5A/126.jpg"]["needs_a_person"] and unused["Class 5B/0126.jpg"]["needs_a_person"]
    assert result.code == 1 and _digest(archive) == before, "the source is never modified"


def test_numbers_written_as_text_with_zeros_compare_by_value_and_one_text_number_blocks_every_key(school, tmp_path):
    """Text "00123" and the number 124 are numbers by value: 123.jpg and 124.jpg go to Ann and Bo. Then a data error
    gives Cy the text number "S-9": a value of another kind blocks every key, so a second delivery fills no one."""
    ann, bo = school.new_student("Ann", student_number="00123"), school.new_student("Bo", student_number=124)
    seeded(school, ann, bo)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"123.jpg": jpeg_bytes("ann"), "124.jpg": jpeg_bytes("bo")})
    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")
    assert school.photo_of(ann["student_id"]) == jpeg_bytes("ann")
    assert school.photo_of(bo["student_id"]) == jpeg_bytes("bo")
    assert result.code == 0, result.text

    cy, dee = school.new_student("Cy", student_number="S-9"), school.new_student("Dee", student_number=125)
    seeded(school, cy, dee)
    second = tmp_path / "pd2.zip"
    make_zip(second, {"S-9.jpg": jpeg_bytes("cy"), "125.jpg": jpeg_bytes("dee")})
    result = school.restore("--photo-source", str(second), "--source-key", "student_number", "--json")
    assert school.photo_of(cy["student_id"]) is None and school.photo_of(dee["student_id"]) is None
    assert result.code == 1


def test_two_children_sharing_a_number_in_any_form_get_nothing(school, tmp_path):
    """7 (int), 7.0 (float) and a list holding 8 next to 8: each key could be two children's."""
    a, b = school.new_student("Ann", student_number=7), school.new_student("Bea", student_number=7.0)
    c, d = school.new_student("Cy", student_number=8), school.new_student("Di", student_number=[8, 9])
    e = school.new_student("Ed", student_number=12.5)
    seeded(school, a, b, c, d, e)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"007.jpg": jpeg_bytes("ann or bea"), "8.jpg": jpeg_bytes("cy or di"),
                       "12.50.jpg": jpeg_bytes("ed")})
    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")
    for st in (a, b, c, d):
        assert school.photo_of(st["student_id"]) is None, st["name"]
    assert school.photo_of(e["student_id"]) == jpeg_bytes("ed"), "12.50 is the value 12.5"
    assert result.code == 1


def test_names_with_accents_spaces_and_decomposed_forms(school, tmp_path):
    """A zip written on a Mac (decomposed accents) for José García; Zoë and Zoe are two children: neither gets one."""
    jose = school.new_student("José García")
    zoe1, zoe2 = school.new_student("Zoë Lee"), school.new_student("Zoe Lee")
    seeded(school, jose, zoe1, zoe2)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"Jose\u0301 Garci\u0301a.jpg": jpeg_bytes("jose"), "Zoë Lee.jpg": jpeg_bytes("zoe?")})
    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")
    assert school.photo_of(jose["student_id"]) == jpeg_bytes("jose")
    assert school.photo_of(zoe1["student_id"]) is None and school.photo_of(zoe2["student_id"]) is None
    assert result.code == 1


def test_photos_that_are_not_jpegs_or_are_cut_short_fill_nothing(school, tmp_path):
    a, b, c = (school.new_student(n, student_number=i) for i, n in enumerate(("Ann", "Bo", "Cy"), 1))
    seeded(school, a, b, c)
    good = jpeg_bytes("cy")
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"1.jpg": b"\x89PNG\r\n\x1a\n" + good, "2.jpg": good[: len(good) // 2], "3.jpg": good})
    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")
    assert school.photo_of(a["student_id"]) is None and school.photo_of(b["student_id"]) is None
    assert school.photo_of(c["student_id"]) == good
    unused = _unused(result)
    assert "not a usable JPEG" in unused["1.jpg"]["why"] and "not a usable JPEG" in unused["2.jpg"]["why"]
    assert result.code == 1


def test_a_tar_hard_link_giving_one_face_to_two_numbers_gives_it_to_no_one(school, tmp_path):
    a, b = school.new_student("Ann", student_number=1), school.new_student("Bo", student_number=2)
    seeded(school, a, b)
    archive = tmp_path / "pd.tar"
    with tarfile.open(archive, "w") as tar:
        data = jpeg_bytes("ann")
        info = tarfile.TarInfo("1.jpg")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("2.jpg")
        link.type, link.linkname = tarfile.LNKTYPE, "1.jpg"
        tar.addfile(link)
    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")
    assert school.photo_of(a["student_id"]) is None and school.photo_of(b["student_id"]) is None
    assert result.code == 1


def test_a_tree_from_before_a_reseed_whose_id_the_newest_backup_gives_to_another_child(school, tmp_path):
    """Sequential ids: 7 was Emma (older backup), is Olivia now (newest backup and the database). The old server's
    copy of the tree holds Emma's face under 7/."""
    emma = school.new_student("Emma", date_of_birth="2015-01-01", student_id="7")
    olivia = school.new_student("Olivia", date_of_birth="2016-02-02", student_id="7")
    school.write_backup([emma], name="seed_backup_20240101_0000.json")
    school.write_backup([olivia], name="seed_backup_20251115_0537.json")
    (school.folder("7") / "attendance").mkdir(parents=True)
    school.seed([{**olivia, "photo": None}])
    archive = tmp_path / "old-server.zip"
    make_zip(archive, {"photos/students/7/profile.jpg": jpeg_bytes("emma"),
                       "photos/students/7/attendance/2024-03-01_AM.jpg": jpeg_bytes("emma day")})
    result = school.restore("--photo-source", str(archive), "--json")
    assert school.photo_of("7") is None and not (school.folder("7") / "attendance" / "2024-03-01_AM.jpg").exists()
    assert result.code == 1


def test_stale_hash_cache_after_a_file_replaced_by_rename_with_same_size_and_mtime(school):
    """A hand copy (`cp -p` to a temporary name, then `mv`) puts Ann's photo over Bea's: new inode, same size and
    mtime as the old one; the cache keyed by inode and ctime misses, and the duplicate is found and moved aside."""
    a, b = school.new_student("Ann"), school.new_student("Bea")
    school.put_photo(a["student_id"], jpeg_bytes("ann 1"))
    school.put_photo(b["student_id"], jpeg_bytes("bea 1"))
    school.seed([a, b])
    school.write_backup([a, b])
    assert school.restore("--verify-only", "--deep", "--json").json["deep"] == []
    target = school.folder(b["student_id"]) / "profile.jpg"
    times = target.stat()
    temp = target.with_name(".tmp-copy")
    temp.write_bytes(school.photo_of(a["student_id"]))
    os.utime(temp, ns=(times.st_atime_ns, times.st_mtime_ns))
    os.replace(temp, target)

    found = school.restore("--verify-only", "--deep", "--json")
    assert found.code == 1 and [f["kind"] for f in found.json["deep"]] == ["same photo under two students"]
    moved = school.restore("--deep", "--quarantine", "--json")
    assert moved.code == 1
    held = sorted((school.photos / ".student-photos" / "quarantine").rglob("profile.jpg"))
    assert len(held) == 2 and all(p.read_bytes() == jpeg_bytes("ann 1") for p in held), "moved, never deleted"


def test_quarantine_of_a_recycled_folder_moves_the_new_childs_own_upload_aside_but_deletes_nothing(school):
    """The id 1 was Emma's; Olivia holds it now, and an attendance photo of hers was saved after the reseed. The
    finding takes the whole folder aside ("may be theirs"): every file is kept, byte for byte, in quarantine."""
    emma = school.new_student("Emma", date_of_birth="2015-01-01", student_id="1")
    olivia = {**school.new_student("Olivia", date_of_birth="2016-02-02"), "student_id": "1"}
    school.write_backup([emma])
    school.put_photo("1", jpeg_bytes("emma"), attendance=1)
    (school.folder("1") / "attendance" / "2026-01-05_AM.jpg").write_bytes(jpeg_bytes("olivia at the gate"))
    school.seed([{**olivia, "photo": None}])
    before = {p.relative_to(school.folder("1")).as_posix(): p.read_bytes()
              for p in school.folder("1").rglob("*") if p.is_file()}

    result = school.restore("--deep", "--quarantine", "--json")

    assert result.code == 1
    (root,) = (school.photos / ".student-photos" / "quarantine").glob("*/students/1")
    after = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before
    assert school.db_docs()["1"]["photo"] is None
