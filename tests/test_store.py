"""Unit tests of the photo store's pieces on real files: the photo check, safe opens, verified copies that never
overwrite, scanning, links, and the worker pool's promise that nothing in flight is lost."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from student_photos import store as store_module
from student_photos.links import PhotoLink, canonical_link, read_link
from student_photos.report import StopFlag
from student_photos.sample import jpeg_bytes
from student_photos.store import (
    BatchFolders,
    NotRegularFile,
    PhotoState,
    StoreProblem,
    check_photo,
    check_photo_bytes,
    existing_outcome,
    has_end_marker,
    map_in_threads,
    open_regular,
    place_copy,
    scan_folder,
    sha256_file,
    stage_copy,
    sweep_temporaries,
)


def pillow_jpeg(size=(64, 48), progressive=False, exif_thumbnail=False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 40))
    out = io.BytesIO()
    extra = {}
    if exif_thumbnail:  # an EXIF block that carries a whole JPEG (with its own end marker) inside it
        exif = Image.Exif()
        exif[0x010F] = "camera"
        extra["exif"] = exif.tobytes()
    image.save(out, "JPEG", progressive=progressive, **extra)
    return out.getvalue()


# ---------------------------------------------------------------- the one photo check
@pytest.mark.parametrize("data,state", [
    (jpeg_bytes("ok"), PhotoState.OK),
    (pillow_jpeg(progressive=True), PhotoState.OK),
    (pillow_jpeg() + b"MP4 data a phone appended after the end marker", PhotoState.OK),
    (jpeg_bytes("padded") + b"\x00" * 10, PhotoState.OK),
    (b"", PhotoState.EMPTY),
    (b"<html>502 Bad Gateway</html>", PhotoState.NOT_JPEG),
    (jpeg_bytes("cut")[:-40], PhotoState.TRUNCATED),
    (pillow_jpeg((800, 600), progressive=True)[:3000], PhotoState.TRUNCATED),
])
def test_the_photo_check_on_files_and_bytes(tmp_path, data, state):
    path = tmp_path / "profile.jpg"
    path.write_bytes(data)
    assert check_photo(path).state is state
    assert check_photo_bytes(data) is state


@pytest.mark.parametrize("data,kept", [
    (jpeg_bytes("ok"), True),
    (jpeg_bytes("too big to keep", 200 * 1024), False),  # over SMALL_PHOTO: checked by head and tail only
    (jpeg_bytes("cut")[:-40], False),
    (b"<html>502 Bad Gateway</html>", False),
])
def test_the_photo_check_keeps_the_bytes_it_read_whole_of_a_usable_photo(tmp_path, data, kept):
    path = tmp_path / "profile.jpg"
    path.write_bytes(data)
    assert check_photo(path, keep=True).data == (data if kept else None)
    assert check_photo(path).data is None


def test_an_embedded_thumbnails_end_marker_does_not_hide_a_cut(tmp_path):
    """A JPEG cut short after an APP segment that itself holds a whole JPEG (an EXIF thumbnail) is truncated."""
    thumbnail = jpeg_bytes("thumb")
    app1 = b"\xff\xe1" + (len(thumbnail) + 2).to_bytes(2, "big") + thumbnail
    main = pillow_jpeg((400, 300))
    whole = main[:2] + app1 + main[2:]
    assert has_end_marker(whole)
    cut = whole[:len(app1) + 600]  # past the thumbnail's own end marker, before the image's
    assert cut.find(b"\xff\xd9") > 0 and not has_end_marker(cut)
    path = tmp_path / "p.jpg"
    path.write_bytes(cut + b"\x00" * 70_000)  # padding: the tail alone cannot tell, the segments can
    assert check_photo(path).state is PhotoState.TRUNCATED


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=2000))
def test_file_and_bytes_checks_agree_at_every_cut(tmp_path_factory, cut):
    data = pillow_jpeg((120, 90))[:cut]
    path = tmp_path_factory.mktemp("cut") / "p.jpg"
    path.write_bytes(data)
    assert check_photo(path).state is check_photo_bytes(data)
    if check_photo_bytes(data) is PhotoState.OK:
        assert data.rstrip(b"\x00").endswith(b"\xff\xd9") or has_end_marker(data)


def test_special_files_are_never_opened_blocking(tmp_path):
    real = tmp_path / "real.jpg"
    real.write_bytes(jpeg_bytes("real"))
    (tmp_path / "link.jpg").symlink_to(real)
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "dir.jpg").mkdir()
    assert check_photo(tmp_path / "link.jpg").state is PhotoState.SYMLINK
    assert check_photo(tmp_path / "fifo.jpg").state is PhotoState.NOT_A_FILE
    assert check_photo(tmp_path / "dir.jpg").state is PhotoState.NOT_A_FILE
    assert check_photo(tmp_path / "nothing.jpg").state is PhotoState.MISSING
    for name in ("link.jpg", "fifo.jpg", "dir.jpg"):
        with pytest.raises(NotRegularFile):
            sha256_file(tmp_path / name)
    os.close(open_regular(tmp_path / "link.jpg", follow=True))  # only a file the person named is followed


# ---------------------------------------------------------------- verified copies that never overwrite
@pytest.fixture(params=["renameat2", "link"])
def placing(request, monkeypatch):
    """Both ways a copy gets its name: a rename that refuses to replace, and (old kernels, some filesystems)
    a hard link then an unlink."""
    if request.param == "link":
        monkeypatch.setattr(store_module, "_renameat2_works", False)
    elif not store_module._renameat2_works:
        pytest.skip("this kernel or libc has no renameat2")
    return request.param


def test_a_copy_is_verified_placed_and_never_over_an_existing_file(tmp_path, placing):
    source = tmp_path / "src.jpg"
    source.write_bytes(jpeg_bytes("source", size=300_000))
    dest = tmp_path / "out" / "profile.jpg"
    dest.parent.mkdir()

    result = place_copy(stage_copy(source, dest, durable=True))

    assert result.outcome == "copied" and dest.read_bytes() == source.read_bytes()
    assert (result.sha256, result.size) == sha256_file(source)
    assert place_copy(stage_copy(source, dest, durable=True)).outcome == "same"
    other = tmp_path / "other.jpg"
    other.write_bytes(jpeg_bytes("someone else's"))
    assert place_copy(stage_copy(other, dest, durable=True)).outcome == "conflict"
    assert dest.read_bytes() == source.read_bytes(), "the existing photo is kept"
    assert [p.name for p in dest.parent.iterdir()] == ["profile.jpg"], "no temporary file is left"


@pytest.mark.parametrize("occupant", ["fifo", "symlink", "folder", "same photo"])
def test_something_else_in_the_way_is_a_conflict_without_a_hang(tmp_path, occupant, placing):
    source = tmp_path / "src.jpg"
    source.write_bytes(jpeg_bytes("source"))
    dest = tmp_path / "profile.jpg"
    if occupant == "fifo":
        os.mkfifo(dest)
    elif occupant == "symlink":
        dest.symlink_to(source)
    elif occupant == "folder":
        dest.mkdir()
    staged = stage_copy(source, dest, durable=False)
    if occupant == "same photo":  # the very bytes arrived meanwhile: nothing to place, nothing replaced
        dest.write_bytes(source.read_bytes())
    assert place_copy(staged).outcome == ("same" if occupant == "same photo" else "conflict")
    assert not os.path.lexists(staged.tmp)
    kept = {"fifo": stat.S_ISFIFO, "symlink": stat.S_ISLNK, "folder": stat.S_ISDIR, "same photo": stat.S_ISREG}
    assert kept[occupant](os.lstat(dest).st_mode), "what was in the way is left as it was"
    assert existing_outcome(tmp_path / "absent.jpg", "x", 1) is None


def test_stage_copy_from_memory_and_temporaries_swept(tmp_path):
    dest = tmp_path / "profile.jpg"
    staged = stage_copy("archive/member.jpg", dest, durable=True, data=jpeg_bytes("from a zip"))
    assert os.path.basename(staged.tmp).startswith(".profile.jpg.") and staged.tmp.endswith(".partial")
    (tmp_path / ".keep.partial").mkdir()  # a folder named like a temporary file is not one
    (tmp_path / "notes.partial").write_text("not hidden: not ours")
    assert sweep_temporaries(tmp_path) == 1
    assert not os.path.lexists(staged.tmp)
    assert (tmp_path / ".keep.partial").is_dir() and (tmp_path / "notes.partial").exists()
    with pytest.raises(StoreProblem):
        sha256_file(tmp_path / ".keep.partial")


def test_prefetch_hints_only_the_regular_files_it_reaches_without_a_symlink(tmp_path, monkeypatch):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes("a"))
    outside = tmp_path.parent / f"{tmp_path.name}-outside.jpg"
    outside.write_bytes(jpeg_bytes("not in the folder"))
    (tmp_path / "link.jpg").symlink_to(outside)
    os.mkfifo(tmp_path / "pipe.jpg")
    hinted = []
    monkeypatch.setattr(store_module, "_FADVISE", lambda fd, *_: hinted.append(os.fstat(fd).st_ino))

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.jpg").write_bytes(jpeg_bytes("b"))
    (tmp_path / "attendance").symlink_to(tmp_path / "elsewhere")  # a subfolder swapped for a symlink

    store_module.prefetch(str(tmp_path), ["a.jpg", "link.jpg", "pipe.jpg", "gone.jpg", "attendance/b.jpg"])

    assert os.stat(tmp_path / "a.jpg").st_ino in hinted  # and the FIFO never blocked
    assert os.stat(outside).st_ino not in hinted and os.stat(tmp_path / "elsewhere" / "b.jpg").st_ino not in hinted
    (tmp_path / "real" / "attendance").mkdir(parents=True)
    (tmp_path / "real" / "attendance" / "c.jpg").write_bytes(jpeg_bytes("c"))
    store_module.prefetch(str(tmp_path / "real"), ["attendance/c.jpg"])
    assert os.stat(tmp_path / "real" / "attendance" / "c.jpg").st_ino in hinted


def test_target_folders_make_and_open_without_following_a_symlink(tmp_path):
    below = tmp_path / "students"
    (below / "other" / "attendance").mkdir(parents=True)
    (below / "kid").mkdir()
    (below / "kid" / "attendance").symlink_to(below / "other" / "attendance")
    (below / "kid" / ".profile.jpg.1-2.partial").write_bytes(b"left by a killed run")
    (below / "kid" / "profile.jpg").write_bytes(b"the child's own")
    folders = BatchFolders(str(below))
    try:
        assert folders.make(f"{below}/new") and not folders.make(f"{below}/new")
        assert folders.make(f"{below}/new/attendance")
        assert os.path.isdir(below / "new" / "attendance")
        with pytest.raises(StoreProblem, match="without a symlink"):
            folders.open(f"{below}/kid/attendance")
        with pytest.raises(StoreProblem, match="without a symlink"):
            folders.make(f"{below}/kid/attendance/nested")  # its parent is the symlink: nothing is made there
        with pytest.raises(StoreProblem, match="not inside"):
            folders.open(f"{tmp_path}/elsewhere")
        assert sweep_temporaries(folders.open(f"{below}/kid")) == 1
        assert sorted(os.listdir(below / "kid")) == ["attendance", "profile.jpg"]
        assert folders.ids[f"{below}/kid"] == (os.stat(below / "kid").st_dev, os.stat(below / "kid").st_ino)
    finally:
        folders.close()
    assert os.listdir(below / "other" / "attendance") == []


def test_scan_folder_sorts_what_it_finds(tmp_path):
    (tmp_path / "attendance" / "nested").mkdir(parents=True)
    (tmp_path / "profile.jpg").write_bytes(b"x")
    (tmp_path / "attendance" / "a.jpg").write_bytes(b"x")
    (tmp_path / "attendance" / "nested" / "b.jpg").write_bytes(b"x")
    (tmp_path / "attendance" / "link.jpg").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "attendance" / "pipe")
    scan = scan_folder(tmp_path)
    assert scan.files == ("attendance/a.jpg", "attendance/nested/b.jpg", "profile.jpg")
    assert scan.symlinks == ("attendance/link.jpg",) and scan.others == ("attendance/pipe",)
    assert scan.profile and scan.attendance_count == 2 and scan.newest_mtime > 0


# ---------------------------------------------------------------- links
@pytest.mark.parametrize("value,parts,problem", [
    ("/api/photos/students/a1/profile.jpg", ("students", "a1", "profile.jpg"), None),
    ("/api/photos/uploads/x.jpg", ("uploads", "x.jpg"), None),
    (None, None, None), ("", None, None), ("photos/students/a1/profile.jpg", None, None),
    ("https://cdn.example/a.jpg", None, None),
    (42, None, "photo field is a int, not a path"),
    ({"path": "/x"}, None, "photo field is a dict, not a path"),
    ("data:image/jpeg;base64,/9j/", None, "photo field holds a data URI, not a path"),
    ("/api/photos/students/../../etc/passwd", None, "photo field path contains '..'; not followed"),
    ("/api/photos/students//profile.jpg", None, "photo field path is malformed; not followed"),
    ("/api/photos/students/a\\b/profile.jpg", None, "photo field path is malformed; not followed"),
    ("/api/photos/students/a\x00/profile.jpg", None, "photo field path is malformed; not followed"),
])
def test_reading_a_link(value, parts, problem):
    link, why = read_link(value)
    assert (link.parts if link else None, why) == (parts, problem)


def test_link_owner_and_canonical_form():
    link, _ = read_link(canonical_link("a1"))
    assert link == PhotoLink(("students", "a1", "profile.jpg")) and link.owner == "a1" and link.is_canonical_for("a1")
    assert not link.is_canonical_for("a2")
    assert read_link("/api/photos/students/a1/attendance/x.jpg")[0].owner == "a1"
    assert read_link("/api/photos/uploads/x.jpg")[0].owner is None


# ---------------------------------------------------------------- the worker pool
def test_pools_shorten_the_switch_interval_while_any_runs_and_restore_it():
    import sys

    before = sys.getswitchinterval()
    seen = []

    async def main():
        first = asyncio.ensure_future(map_in_threads(lambda x: seen.append(sys.getswitchinterval()) or x, range(50), 2,
                                                     StopFlag(), lambda _i, _r: None))
        await map_in_threads(lambda x: seen.append(sys.getswitchinterval()) or x, range(5), 2, StopFlag(),
                             lambda _i, _r: None)
        await first  # overlapping pools: short while either runs, whichever ends first

    asyncio.run(main())
    assert set(seen) == {store_module.WORKER_SWITCH_INTERVAL} and len(seen) == 55
    assert sys.getswitchinterval() == before


def test_results_arrive_in_order_and_a_failure_loses_nothing_in_flight():
    stop = StopFlag()
    seen, abandoned = [], []
    gate = threading.Event()

    def work(item: int) -> int:
        if item > 300:
            gate.wait(5)  # in flight when the failure comes
        return item

    def on_result(index: int, value: int) -> None:
        seen.append(value)
        if value == 280:
            gate.set()
            raise RuntimeError("the output went away")

    with pytest.raises(RuntimeError):
        asyncio.run(map_in_threads(work, range(2000), 2, stop, on_result, chunk=16, on_abandoned=abandoned.append))
    assert seen == list(range(281)), "in order, up to the failure"
    assert stop.requested and stop.failed
    assert abandoned and abandoned == sorted(abandoned) and abandoned[0] == 281, "everything delivered after it"
    assert max(abandoned) < 2000, "the workers stopped starting new work"


def test_a_copy_that_reads_back_differently_does_not_verify(tmp_path, monkeypatch):
    """The read-back comparison can fail: a copy whose bytes change under it is refused and removed."""
    source = tmp_path / "src.jpg"
    source.write_bytes(jpeg_bytes("source"))
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: b"\x00" + real_pread(fd, n, off)[1:])
    with pytest.raises(StoreProblem, match="did not verify"):
        stage_copy(source, tmp_path / "profile.jpg", durable=False)
    assert os.listdir(tmp_path) == ["src.jpg"], "the unverified temporary file is gone"


# ---------------------------------------------------------------- records hold a canonical link as a flag
_IDS = st.text(alphabet="abc-_019.", min_size=1, max_size=12)
_PHOTOS = st.one_of(st.none(), st.integers(), st.text(max_size=40), _IDS.map(canonical_link),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(raw_id=st.one_of(_IDS, st.integers(), st.none()), photo=_PHOTOS, same_id=st.booleans())
def test_a_record_gives_back_the_photo_field_as_stored(raw_id, photo, same_id):
    """Whatever is stored, ``record.photo`` is it; only the canonical link of the record's own (safe) id is held
    as a flag, and only then is the _id let go (no write can be due to it)."""
    from student_photos.records import record_from_document
    if same_id and isinstance(raw_id, str):
        photo = canonical_link(raw_id)
    record = record_from_document({"_id": "doc-1", "student_id": raw_id, "name": "N", "photo": photo}, ())
    assert record.photo == photo and type(record.photo) is type(photo)
    canonical = record.receivable and photo == canonical_link(raw_id) if isinstance(raw_id, str) else False
    assert record.photo_is_canonical is canonical
    assert record.doc_id == (None if canonical else "doc-1")


def test_the_database_is_read_as_plain_documents(school):
    """A batch is held as the server sent it and decoded one document at a time: nested values are still
    plain dicts, lists and datetimes (the identity rule compares them)."""
    import datetime

    from student_photos.config import load_settings
    from student_photos.db import Database
    born = datetime.datetime(2015, 3, 4)
    school.seed([{"student_id": "s1", "name": "Ann", "photo": None, "date_of_birth": born,
                  "student_number": {"school": [1, "x"]}}])

    async def read() -> list[dict]:
        async with Database(load_settings(environ=school.env())) as database:
            return [doc async for doc in database.read_students(("date_of_birth", "student_number"))]

    (doc,) = asyncio.run(read())
    assert type(doc) is dict and doc["date_of_birth"] == born and type(doc["date_of_birth"]) is datetime.datetime
    assert type(doc["student_number"]) is dict and doc["student_number"] == {"school": [1, "x"]}
    assert type(doc["student_number"]["school"]) is list
