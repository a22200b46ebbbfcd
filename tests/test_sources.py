"""restore --photo-source: real zip/tar archives and folders, spreadsheet-written CSV maps, hostile members."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from test_migrate import Reseed

from conftest import School
from student_photos.sample import jpeg_bytes

CANON = "/api/photos/students/{}/profile.jpg"


def make_zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def make_tar(path, members: dict[str, bytes], mode: str = "w:gz") -> None:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def seeded(school: School, *students: dict, with_photos: tuple[str, ...] = ()) -> None:
    for st in students:
        (school.folder(st["student_id"]) / "attendance").mkdir(parents=True, exist_ok=True)
    for sid in with_photos:
        school.put_photo(sid)
    school.seed([{**st, "photo": None} for st in students])
    school.write_backup(list(students))


def test_a_copy_of_the_photo_tree_fills_only_what_is_missing(school, tmp_path):
    lost, kept, broken = (school.new_student(n, date_of_birth="2015-01-0" + str(i)) for i, n in
                          enumerate(("Lost Photo", "Kept Photo", "Broken Photo"), 1))
    seeded(school, lost, kept, broken, with_photos=(kept["student_id"],))
    school.put_photo(broken["student_id"], b"<html>502</html>")
    theirs = school.photo_of(kept["student_id"])
    archive = tmp_path / "photos-yesterday.tar.gz"  # as `tar czf` of the photo root writes it
    make_tar(archive, {f"photos/students/{lost['student_id']}/profile.jpg": jpeg_bytes("lost, from the tar"),
                       f"photos/students/{lost['student_id']}/attendance/2025-11-10_AM.jpg": jpeg_bytes("day"),
                       f"photos/students/{kept['student_id']}/profile.jpg": jpeg_bytes("older kept photo"),
                       f"photos/students/{broken['student_id']}/profile.jpg": jpeg_bytes("good broken photo")})
    before = school.snapshot()

    verify = school.restore("--verify-only", "--photo-source", str(archive))

    assert school.snapshot() == before, "--verify-only changes nothing"
    assert verify.code == 1
    assert "a copy of the photo tree (students/{id}/...)" in verify.out
    assert "🖼️  Would fill profile.jpg from photos/students/" in verify.out

    result = school.restore("--photo-source", str(archive), "--json")

    assert result.code == 1, result.text  # the corrupt photo is still there: a person replaces it
    assert school.photo_of(lost["student_id"]) == jpeg_bytes("lost, from the tar")
    assert (school.folder(lost["student_id"]) / "attendance" / "2025-11-10_AM.jpg").read_bytes() == jpeg_bytes("day")
    assert school.photo_of(kept["student_id"]) == theirs, "an existing photo is never replaced"
    assert school.photo_of(broken["student_id"]) == b"<html>502</html>", "a corrupt photo is reported, not replaced"
    assert result.json["summary"]["photos_filled"] == 2
    assert school.db_docs()[lost["student_id"]]["photo"] == CANON.format(lost["student_id"]), "the link follows"
    text = school.restore("--verify-only", "--photo-source", str(archive))
    assert "the photo source has a profile.jpg" in text.out and "replace the corrupt one by hand" in text.out


def test_an_old_id_in_the_source_fills_its_current_student_only_by_identity(school, tmp_path):
    from test_migrate import Reseed
    r = Reseed(school)
    r.child("kid", "Kid One", date_of_birth="2015-01-01", photo=False)
    r.child("twin_a", "Alex Kim", photo=False)  # two current Alex Kims, nothing to tell them apart
    r.child("twin_b", "Alex Kim", photo=False)
    r.commit()
    for key in r.new:
        (school.folder(r.new_id(key)) / "attendance").mkdir(parents=True)
    source = tmp_path / "old-server"
    for key in ("kid", "twin_a"):
        (source / r.old_id(key)).mkdir(parents=True)
        (source / r.old_id(key) / "profile.jpg").write_bytes(jpeg_bytes(f"old server {key}"))

    result = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(r.new_id("kid")) == jpeg_bytes("old server kid")
    assert school.photo_of(r.new_id("twin_a")) is None and school.photo_of(r.new_id("twin_b")) is None
    unused = {u["file"]: u["why"] for u in result.json["photo_source"]["unused"]}
    assert "ambiguous" in unused[f"{r.old_id('twin_a')}/profile.jpg"]
    assert result.json["photo_source"]["layout"] == "a copy of the photo tree ({id}/... at the top)"


def test_picture_day_by_student_number_ignores_leading_zeros_and_refuses_doubt(school, tmp_path):
    a = school.new_student("Ann", student_number="42")
    b = school.new_student("Ben", student_number=7)
    c1 = school.new_student("Cy", student_number="0099")
    c2 = school.new_student("Cyd", student_number=99)  # two students with number 99
    d = school.new_student("Dee", student_number="15")
    seeded(school, a, b, c1, c2, d)
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {"0042.jpg": jpeg_bytes("ann on picture day"), "007.JPG": jpeg_bytes("ben"),
                       "99.jpg": jpeg_bytes("which cy?"), "15.jpg": jpeg_bytes("dee 1"), "015.jpg": jpeg_bytes("dee 2"),
                       "1234.jpg": jpeg_bytes("nobody"), "notes.txt": b"hello", "16.jpg": b"PNG not a jpeg"})
    seeded_extra = school.new_student("Sixteen", student_number=16)
    (school.folder(seeded_extra["student_id"]) / "attendance").mkdir(parents=True)
    school.seed([{**seeded_extra, "photo": None}])

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) == jpeg_bytes("ann on picture day")
    assert school.photo_of(b["student_id"]) == jpeg_bytes("ben")
    for st in (c1, c2, d, seeded_extra):
        assert school.photo_of(st["student_id"]) is None, st["name"]
    unused = {u["file"]: u for u in result.json["photo_source"]["unused"]}
    assert unused["99.jpg"]["needs_a_person"] and "could be that of 2 database students" in unused["99.jpg"]["why"]
    assert "2 source files for profile.jpg" in unused["15.jpg"]["why"] and unused["015.jpg"]["needs_a_person"]
    assert "no current student has student_number 1234" in unused["1234.jpg"]["why"]
    assert unused["notes.txt"]["why"] == "not a .jpg file"
    assert "not a usable JPEG" in unused["16.jpg"]["why"]
    assert result.code == 1 and any(p["problem"] == "photo source" for p in result.json["problems"])


def test_a_photographers_index_as_a_spreadsheet_saves_it(school, tmp_path):
    a = school.new_student("Zoë Ñúñez", student_number="S-001")
    seeded(school, a)
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / "IMG_0001.jpg").write_bytes(jpeg_bytes("zoe"))
    index = tmp_path / "index.csv"  # European Excel: BOM, semicolons, CRLF, quoted cells
    index.write_bytes("\ufeff\"file\";\"student_number\"\r\n\"IMG_0001.jpg\";\"s-001\"\r\n"
                      "IMG_0002.jpg;S-002\r\n".encode("utf-8"))

    result = school.restore("--photo-source", str(folder), "--source-map", str(index),
                            "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) == jpeg_bytes("zoe")
    unused = {u["file"]: u for u in result.json["photo_source"]["unused"]}
    assert "names a file the source does not hold" in unused["IMG_0002.jpg"]["why"]


def test_hostile_members_are_refused_and_nothing_lands_outside(school, tmp_path):
    st = school.new_student("Target")
    seeded(school, st)
    archive = tmp_path / "hostile.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in {f"students/{st['student_id']}/profile.jpg": jpeg_bytes("fine"),
                           "../../evil.jpg": jpeg_bytes("evil"), "/abs.jpg": jpeg_bytes("abs")}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"students/{st['student_id']}/attendance/x.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    outside = sorted(p.name for p in tmp_path.iterdir())

    result = school.restore("--photo-source", str(archive), "--json")

    assert school.photo_of(st["student_id"]) == jpeg_bytes("fine")
    assert sorted(p.name for p in tmp_path.iterdir()) == outside
    assert not (school.folder(st["student_id"]) / "attendance" / "x.jpg").exists()
    refused = result.json["photo_source"]["refused"]
    assert len(refused) == 3 and result.code == 1


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_truncated_archive_is_one_line_and_writes_nothing(school, tmp_path, kind):
    st = school.new_student("Somebody")
    seeded(school, st)
    (school.folder(st["student_id"]) / "attendance").rmdir()
    archive = tmp_path / f"cut.{kind}"
    members = {f"students/{st['student_id']}/profile.jpg": jpeg_bytes("x", size=50_000)}
    make_zip(archive, members) if kind == "zip" else make_tar(archive, members)
    archive.write_bytes(archive.read_bytes()[:len(archive.read_bytes()) // 2])
    before = school.snapshot()

    result = school.restore("--photo-source", str(archive))

    assert result.code == 2 and "Traceback" not in result.text
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert school.snapshot() == before, "a refused run writes nothing"


def test_source_flags_only_go_with_photo_source(school):
    with pytest.raises(SystemExit) as stopped:
        school.restore("--source-key", "student_number")
    assert stopped.value.code == 2
    seeded(school, school.new_student("Anyone"))
    missing = school.restore("--photo-source", str(school.root / "nope.zip"))
    assert missing.code == 2 and "nope.zip" in missing.err
    assert os.path.exists(school.students_dir)


@pytest.mark.parametrize("key", ["name.first", "$where", "student number", ""])
def test_a_source_key_that_is_no_field_name_is_refused_before_any_work(school, tmp_path, key):
    """Found by a tester: --source-key name.first ended with the database's own 'Path collision' message."""
    (tmp_path / "delivery").mkdir()
    before = school.snapshot()
    result = school.subprocess("restore_student_photos", "--photo-source", str(tmp_path / "delivery"),
                               "--source-key", key)
    assert result.code == 2 and "is not a field name" in result.err and "Traceback" not in result.err
    assert school.snapshot() == before


def test_a_source_photo_that_is_another_childs_is_used_for_no_one(school, tmp_path):
    """Found by a new administrator: a hand-copied photo, quarantined by --deep, then offered back as a source."""
    liam, newcomer = school.new_student("Liam", date_of_birth="2015-01-01"), school.new_student("Newcomer")
    seeded(school, liam, newcomer, with_photos=(liam["student_id"],))
    source = tmp_path / "copy"
    (source / "students" / newcomer["student_id"]).mkdir(parents=True)
    (source / "students" / newcomer["student_id"] / "profile.jpg").write_bytes(school.photo_of(liam["student_id"]))

    result = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(newcomer["student_id"]) is None, "Liam's photo never goes to the newcomer"
    (unused,) = result.json["photo_source"]["unused"]
    assert "as a file of current student " + liam["student_id"] in unused["why"] and result.code == 1
    inside = school.restore("--photo-source", str(school.photos / ".student-photos"))
    assert inside.code == 2 and "inside the photo folder" in inside.err


def test_a_photo_deep_quarantined_is_not_taken_back_from_a_source(school, tmp_path):
    a, b = school.new_student("Ann"), school.new_student("Bea")
    seeded(school, a, b)
    school.put_photo(a["student_id"], jpeg_bytes("ann"))
    school.put_photo(b["student_id"], jpeg_bytes("ann"))  # the same photo under two students
    assert school.restore("--deep", "--quarantine").code == 1
    assert school.photo_of(a["student_id"]) is None and school.photo_of(b["student_id"]) is None
    source = tmp_path / "q"
    (held,) = (school.photos / ".student-photos" / "quarantine").glob(f"*/students/{b['student_id']}")
    shutil.copytree(held, source / "students" / b["student_id"])  # only Bea's copy: nothing else refuses it
    result = school.restore("--photo-source", str(source), "--json")
    assert school.photo_of(a["student_id"]) is None and school.photo_of(b["student_id"]) is None
    assert all("moved to quarantine" in u["why"] for u in result.json["photo_source"]["unused"])


def test_a_recycled_id_in_a_tree_source_is_not_trusted(school, tmp_path):
    emma = school.new_student("Emma", date_of_birth="2015-01-01", student_id="1")
    olivia = {**school.new_student("Olivia", date_of_birth="2016-02-02"), "student_id": "1"}
    school.write_backup([emma])
    (school.folder("1") / "attendance").mkdir(parents=True)
    school.seed([{**olivia, "photo": None}])
    source = tmp_path / "old"
    (source / "1").mkdir(parents=True)
    (source / "1" / "profile.jpg").write_bytes(jpeg_bytes("emma's face"))
    result = school.restore("--photo-source", str(source), "--json")
    assert school.photo_of("1") is None
    assert "ids recycled" in result.json["photo_source"]["unused"][0]["why"]


def test_undo_takes_back_a_fill_only_while_the_source_still_holds_it(school, tmp_path):
    st = school.new_student("Filled")
    seeded(school, st)
    archive = tmp_path / "tree.zip"
    make_zip(archive, {f"students/{st['student_id']}/profile.jpg": jpeg_bytes("from the zip")})
    run = school.restore("--photo-source", str(archive), "--json")
    assert school.photo_of(st["student_id"]) == jpeg_bytes("from the zip")
    undo = school.restore("--undo", run.json["run_id"], "--json")
    assert undo.code == 0 and school.photo_of(st["student_id"]) is None, undo.text
    again = school.restore("--photo-source", str(archive), "--json")
    archive.unlink()
    kept = school.restore("--undo", again.json["run_id"], "--json")
    assert kept.code == 1 and school.photo_of(st["student_id"]) == jpeg_bytes("from the zip")
    assert "may be the only copy" in kept.json["left"][0]


def test_an_old_stores_quarantine_is_never_a_source(school, tmp_path):
    """Found by an adversarial review: a copy of the old server's photo root holds .student-photos/quarantine,
    where --deep put a photo it took off Ann as possibly Bea's; the tree layout matched it under any folder.
    Here that store's journal is gone, so only the folder's name can tell."""
    ann = school.new_student("Ann Lee", date_of_birth="2015-01-01")
    seeded(school, ann)
    old_root = tmp_path / "old-server" / "photos"
    held = old_root / ".student-photos" / "quarantine" / "20261101-run" / "students" / ann["student_id"]
    held.mkdir(parents=True)
    (held / "profile.jpg").write_bytes(jpeg_bytes("bea's face, quarantined"))
    (old_root / "students").mkdir()
    (old_root / ".hidden" / "students" / ann["student_id"]).mkdir(parents=True)
    (old_root / ".hidden" / "students" / ann["student_id"] / "profile.jpg").write_bytes(jpeg_bytes("hidden"))

    for archive in (None, tmp_path / "old.tar"):
        if archive is not None:
            with tarfile.open(archive, "w") as tar:
                tar.add(old_root, arcname="photos")
        result = school.restore("--photo-source", str(archive or old_root), "--json")
        assert result.code == 1, result.text  # Ann still has no photo: a person looks
        assert school.photo_of(ann["student_id"]) is None
        unused = {u["file"]: u["why"] for u in result.json["photo_source"]["unused"]}
        assert len(unused) == 2 and all("hidden" in why for why in unused.values()), unused


def test_a_map_that_gives_one_file_to_two_students_gives_it_to_no_one(school, tmp_path):
    """Found by an adversarial review: the map's second row for IMG_1.jpg silently won, and Bob got Ann's
    picture, exit 0."""
    ann = school.new_student("Ann", student_number="1001")
    bob = school.new_student("Bob", student_number="1002")
    seeded(school, ann, bob, with_photos=(ann["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"IMG_1.jpg": jpeg_bytes("ann on picture day"), "day/IMG_2.jpg": jpeg_bytes("who?")})
    index = tmp_path / "map.csv"
    index.write_bytes('\ufeff"file";"student_number"\r\n"IMG_1.jpg";"1001"\r\n"IMG_1.jpg";"1002"\r\n'
                      '"day/IMG_2.jpg";"1001"\r\n"IMG_2.jpg";"1002"\r\n'.encode("utf-8"))

    result = school.restore("--photo-source", str(archive), "--source-map", str(index),
                            "--source-key", "student_number", "--json")

    assert school.photo_of(bob["student_id"]) is None
    assert result.code == 1, result.text
    unused = {u["file"]: u for u in result.json["photo_source"]["unused"]}
    assert unused["IMG_1.jpg"]["needs_a_person"] and unused["day/IMG_2.jpg"]["needs_a_person"], unused


def test_a_key_field_is_never_read_as_a_tree_of_ids(school, tmp_path):
    """Found by an adversarial review: ids and student numbers look alike (both numbers); with
    --source-key student_number, folders named 2002/ were still read as student ids, and Bob got Ann's photo."""
    ann = school.new_student("Ann", student_id="1001", student_number="2002")
    bob = school.new_student("Bob", student_id="2002", student_number="1001")
    seeded(school, ann, bob)
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {"2002/profile.jpg": jpeg_bytes("ann, filed by her number")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number")

    assert school.photo_of(bob["student_id"]) is None, "Ann's photo on Bob"
    assert result.code == 2 and "is a tree of folders" in result.err, result.text


# ---- the picture-day key rule, as an adversary would test it
_NUMBER_AS = {"int": lambda n: n, "zeros": lambda n: f"00{n}", "float": lambda n: float(n),
              "spaced": lambda n: f" {n} ", "list": lambda n: [str(n)], "document": lambda n: {"v": n},
              "bool": lambda n: bool(n % 2), "excel": lambda n: f"{n / 10:.2f}E+01", "prefixed": lambda n: f"S{n}"}
_NAME_AS = {"plain": lambda s: s, "upper": lambda s: s.upper(), "spaced": lambda s: s.replace(" ", "  "),
            "cyrillic a": lambda s: s.replace("A", "\u0410").replace("a", "\u0430"),
            "dotless i": lambda s: s.replace("i", "\u0131"), "cherokee a": lambda s: s.replace("A", "\u13aa"),
            "accent": lambda s: s.replace("e", "\u00e9"), "list": lambda s: s.split(),
            "document": lambda s: dict(zip(("first", "last"), s.split(), strict=True)),
            "hyphen": lambda s: s.replace(" ", "-")}
_FILE_NUMBER_AS = {"plain": str, "zeros": lambda n: f"000{n}", "decimal": lambda n: f"{n}.0"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=hs.data())
def test_a_picture_day_photo_goes_only_to_the_one_child_whose_key_it_is(school, tmp_path_factory, data):
    """Students whose true key (a number, or a name) is stored in many shapes, some of which cannot be compared;
    files named by a shape of a true key. Whatever the shapes: a file goes to no child but the one whose true key
    it is, and to none when two children share that true key."""
    by_name = data.draw(hs.booleans(), label="by name")
    truths = data.draw(hs.lists(hs.sampled_from(["Anna Lee", "Aylin Yildiz", "Ben Best", "Zoe Adams"] if by_name
                                                else [1, 2, 42, 43]), min_size=1, max_size=5), label="true keys")
    shapes = _NAME_AS if by_name else _NUMBER_AS
    students = []
    for i, truth in enumerate(truths):
        shape = data.draw(hs.sampled_from(sorted(shapes)), label=f"student {i} stored as")
        stored = shapes[shape](truth)
        fields = {"date_of_birth": f"201{i}-01-01"}
        students.append(school.new_student(stored if by_name else f"Kid {i}",
                                           **fields, **({} if by_name else {"student_number": stored})))
    files: dict[str, tuple] = {}
    for truth in data.draw(hs.lists(hs.sampled_from(sorted(set(truths), key=str)), min_size=1, max_size=3,
                                    unique=True), label="files for"):
        if by_name:
            name = data.draw(hs.sampled_from(["plain", "upper", "cyrillic a", "dotless i", "accent"]), label="as")
            files[f"{_NAME_AS[name](truth)}.jpg"] = truth
        else:
            name = data.draw(hs.sampled_from(sorted(_FILE_NUMBER_AS)), label="as")
            files[f"{_FILE_NUMBER_AS[name](truth)}.jpg"] = truth
    faces = {file: jpeg_bytes(f"the face of whoever is {truth!r}, file {file!r}") for file, truth in files.items()}
    archive = tmp_path_factory.mktemp("pd") / "picture-day.zip"
    make_zip(archive, faces)
    school.collection.delete_many({})
    shutil.rmtree(school.students_dir, ignore_errors=True)
    seeded(school, *students)

    result = school.restore("--photo-source", str(archive), "--source-key", "name" if by_name else "student_number",
                            "--json")

    assert result.code in (0, 1), result.text
    for student, truth in zip(students, truths, strict=True):
        got = school.photo_of(student["student_id"])
        if got is None:
            continue
        (file,) = [f for f, face in faces.items() if face == got]
        assert files[file] == truth, f"{student['name']} ({truth!r}) got {file}, the photo of {files[file]!r}"
        assert truths.count(truth) == 1, f"{file} went to one of {truths.count(truth)} children whose key it is"



# ---- found by an adversarial round (2026-12-01): each failed before its fix
def test_source_same_face_under_two_keys_while_one_child_already_has_a_photo(school, tmp_path):
    """The photographer's zip holds one face twice (42.jpg copied as 43.jpg). Student 42 already has a photo
    (uploaded in the app), 43 is missing one. The source itself says this face is 42's as much as 43's."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b, with_photos=(a["student_id"],))
    face = jpeg_bytes("the face of Ann, picture day")
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {"42.jpg": face, "43.jpg": face})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(b["student_id"]) is None, (
        f"Ben was given a photo the source also names as Ann's (exit {result.code})")
    assert result.code == 1


def test_source_same_face_under_two_keys_with_student_scope(school, tmp_path):
    """Both 42 and 43 missing; the run is limited with --student to 43 only. The same bytes are in the source
    for two students: used for no one, whatever the scope."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b)
    face = jpeg_bytes("one face, two names")
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {"42.jpg": face, "43.jpg": face})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number",
                            "--student", b["student_id"], "--json")

    assert school.photo_of(b["student_id"]) is None, f"filled with a face the source gives two children ({result.code})"


def test_source_key_name_homoglyph_namesakes(school, tmp_path):
    """--source-key name: two children whose names the identity rule calls the same (one typed with a Cyrillic
    А). A file named 'Anna Lee.jpg' could be either: it must go to no one."""
    latin = school.new_student("Anna Lee", date_of_birth="2015-01-01")
    cyrillic = school.new_student("\u0410nna Lee", date_of_birth="2016-02-02")
    seeded(school, latin, cyrillic, with_photos=(cyrillic["student_id"],))  # the Cyrillic-typed Anna has hers
    theirs = school.photo_of(cyrillic["student_id"])
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {"Anna Lee.jpg": jpeg_bytes("which Anna?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert school.photo_of(cyrillic["student_id"]) == theirs
    assert school.photo_of(latin["student_id"]) is None, (
        f"one of two children the identity rule cannot tell apart by name got the photo (exit {result.code})")
    assert result.code == 1


def test_source_key_name_turkish_dotless_i_namesakes(school, tmp_path):
    """Aylin Yıldız and Aylin Yildiz: one name to the identity rule. 'Aylin Yildiz.jpg' is either child's."""
    dotless = school.new_student("Aylin Y\u0131ld\u0131z", date_of_birth="2015-01-01")
    ascii_ = school.new_student("Aylin Yildiz", date_of_birth="2016-02-02")
    seeded(school, dotless, ascii_, with_photos=(dotless["student_id"],))
    archive = tmp_path / "picture-day.zip"
    make_zip(archive, {"Aylin Yildiz.jpg": jpeg_bytes("which Aylin?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert school.photo_of(ascii_["student_id"]) is None, f"one of two namesakes got the photo (exit {result.code})"
    assert result.code == 1


def test_source_tree_old_id_with_a_rival_old_folder_only_in_the_store(school, tmp_path):
    """Two Ann Lees in the old database (nothing on record but the name), one Ann Lee now. The store still holds
    old folder a2; yesterday's copy of the tree holds only old folder a1. Which Ann is today's is unknown
    (migrate: ambiguous), so a1's photo must not fill her."""
    r = Reseed(school)
    r.child("a1", "Ann Lee")
    r.child("a2", "Ann Lee", stays=False)
    r.commit()
    ann = r.new_id("a1")
    (school.folder(ann) / "attendance").mkdir(parents=True, exist_ok=True)
    listed = school.migrate("--list", "--json")
    decisions = {o["name"]: o["decision"] for o in listed.json["orphans"]}
    assert decisions[r.old_id("a1")] != "migrate", decisions  # migrate: two old folders fit one student
    source = tmp_path / "yesterday"
    (source / "students" / r.old_id("a1")).mkdir(parents=True)
    (source / "students" / r.old_id("a1") / "profile.jpg").write_bytes(jpeg_bytes("the old a1 photo"))
    shutil.rmtree(school.folder(r.old_id("a1")))  # a1's own folder was lost; a2's is still in the store

    result = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(ann) is None, (
        f"Ann got old folder a1's photo though old folder a2 fits her too (exit {result.code})")


def test_source_tree_old_id_with_a_nameless_rival_old_folder_in_the_store(school, tmp_path):
    """Ann Lee (born 2015-01-01) now. Old folder a1 (Ann Lee, 2015-01-01) is only in yesterday's copy; old folder
    x, whose backup record has no usable name and no field (it could be anyone), is still in the store with a
    photo. Migrate, with both folders, refuses a1 (x blocks); the source must too."""
    r = Reseed(school)
    r.child("a1", "Ann Lee", date_of_birth="2015-01-01")
    r.child("x", None, stays=False)
    r.commit()
    ann = r.new_id("a1")
    (school.folder(ann) / "attendance").mkdir(parents=True, exist_ok=True)
    listed = school.migrate("--list", "--json")
    decisions = {o["name"]: o["decision"] for o in listed.json["orphans"]}
    assert decisions[r.old_id("a1")] != "migrate", decisions  # the nameless old record blocks, as documented
    source = tmp_path / "yesterday"
    (source / r.old_id("a1")).mkdir(parents=True)
    (source / r.old_id("a1") / "profile.jpg").write_bytes(r.photos["a1"])
    shutil.rmtree(school.folder(r.old_id("a1")))

    result = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(ann) is None, (
        f"the source filled Ann from a1 though old folder x could be her (exit {result.code})")


def test_source_key_value_that_cannot_be_compared_blocks_its_key(school, tmp_path):
    """Ben's student_number was saved as a list ["42"] by a bad import: 42 could be his. '42.jpg' is not proven
    Ann's."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=["42"])
    seeded(school, a, b)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"42.jpg": jpeg_bytes("ann or ben?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None and school.photo_of(b["student_id"]) is None, (
        f"a key that an uncomparable record may hold went to the other (exit {result.code})")


def test_source_map_bare_name_matching_two_members(school, tmp_path):
    """The index names 'classA/IMG_1.jpg' for 42 and the bare 'IMG_1.jpg' for 43; the zip holds classA/IMG_1.jpg
    and classB/IMG_1.jpg. Which IMG_1.jpg line 3 means is not known."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"classA/IMG_1.jpg": jpeg_bytes("class A img 1"),
                       "classB/IMG_1.jpg": jpeg_bytes("class B img 1")})
    index = tmp_path / "index.csv"
    index.write_text("file,student_number\nclassA/IMG_1.jpg,42\nIMG_1.jpg,43\n")

    result = school.restore("--photo-source", str(archive), "--source-map", str(index),
                            "--source-key", "student_number", "--json")

    assert school.photo_of(b["student_id"]) is None, (
        f"Ben got classB/IMG_1.jpg from a line that names two members (exit {result.code})")


def test_source_tree_nested_students_folder_inside_attendance(school, tmp_path):
    """An old server's tree: students/A/attendance/students/B/profile.jpg (someone copied B's folder into A's
    attendance). The file lives in A's tree; it must not become B's profile on a guess."""
    a = school.new_student("Ann Able", date_of_birth="2015-01-01")
    b = school.new_student("Ben Best", date_of_birth="2016-01-01")
    seeded(school, a, b, with_photos=(a["student_id"],))
    archive = tmp_path / "old.tar.gz"
    make_tar(archive, {f"photos/students/{a['student_id']}/attendance/students/{b['student_id']}/profile.jpg":
                       jpeg_bytes("found inside A's attendance")})

    result = school.restore("--photo-source", str(archive), "--json")

    assert school.photo_of(b["student_id"]) is None, f"a file of A's tree became B's profile (exit {result.code})"


def test_source_picture_day_for_a_recycled_id_is_not_called_not_needed(school, tmp_path):
    """Picture day by student_number; Ben holds an id the backups give to Ann (ids recycled). His picture-day photo
    is not used (fail closed): the report must not count it as 'not needed' (already in place)."""
    sid = "5f0c0ffee0000000000000b2"
    ann = {"student_id": sid, "name": "Ann Gone", "date_of_birth": "2012-01-01", "student_number": 9,
           "photo": f"/api/photos/students/{sid}/profile.jpg"}
    ben = {"student_id": sid, "name": "Ben New", "date_of_birth": "2018-05-05", "student_number": 43, "photo": None}
    school.write_backup([ann])
    school.seed([ben])
    (school.folder(sid) / "attendance").mkdir(parents=True)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"43.jpg": jpeg_bytes("ben on picture day")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(sid) is None
    assert result.code == 1
    src = result.json["photo_source"]
    assert src["not_needed"] == 0, f"a photo not used for doubt is reported as not needed: {src}"


def test_undo_of_a_fill_removes_the_nested_folders_it_made(school, tmp_path):
    """Found by review: a tree source's attendance/2024/x.jpg made attendance/2024/ without a journal line, so the
    fill's undo removed the photo and left the empty folder behind."""
    st = school.new_student("Filled")
    seeded(school, st)
    archive = tmp_path / "tree.zip"
    make_zip(archive, {f"students/{st['student_id']}/attendance/2024/term1/x.jpg": jpeg_bytes("a day in 2024")})
    run = school.restore("--photo-source", str(archive), "--json")
    nested = school.folder(st["student_id"]) / "attendance" / "2024"
    assert (nested / "term1" / "x.jpg").read_bytes() == jpeg_bytes("a day in 2024"), run.text

    undo = school.restore("--undo", run.json["run_id"], "--json")

    assert undo.code == 0, undo.text
    assert not nested.exists(), "the folders the fill made go with it"
    assert (school.folder(st["student_id"]) / "attendance").is_dir(), "the student's own attendance/ stays"
