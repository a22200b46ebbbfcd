"""Adversarial round 2 (2026-12-01): photo-source keys, the --deep rerun's child listing, journal failures.

Each test asserts a safety invariant. Those named in the commit that fixed them failed before it; the rest held
under the round and stay as evidence."""

from __future__ import annotations

import signal
import unicodedata
from datetime import datetime

import pytest
from test_journal import _journal_size_limit
from test_journal import journal_lines_raw as _raw_lines
from test_migrate import Reseed
from test_sources import make_zip, seeded

from conftest import School
from student_photos.sample import jpeg_bytes


def src_json(result) -> dict:
    return result.json["photo_source"]


def got(school: School, *students: dict) -> dict[str, bytes | None]:
    return {s["name"] if isinstance(s["name"], str) else repr(s["name"]): school.photo_of(s["student_id"])
            for s in students}


# ---------------------------------------------------------------- 1. photo-source keys
def test_probe_name_punctuation_variants_block_each_other(school, tmp_path):
    """Ann O'Neil and Ann ONeil (two children); the photographer writes 'Ann O Neil' and 'Ann O'Neil'."""
    a = school.new_student("Ann O'Neil", date_of_birth="2015-01-01")
    b = school.new_student("Ann ONeil", date_of_birth="2016-01-01")
    seeded(school, a, b)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"Ann O Neil.jpg": jpeg_bytes("o neil"), "Ann O\u2019Neil.jpg": jpeg_bytes("o'neil curly")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert got(school, a, b) == {"Ann O'Neil": None, "Ann ONeil": None}, result.text
    assert result.code == 1


def test_probe_name_zero_width_and_fullwidth_and_ligature(school, tmp_path):
    """'Anna Lee' and 'Anna\u200bLee' (stored with a zero-width space: 'AnnaLee'); 'ﬁona Lee' and 'Fiona Lee'."""
    a = school.new_student("Anna Lee", date_of_birth="2015-01-01")
    b = school.new_student("Anna\u200bLee", date_of_birth="2016-01-01")
    c = school.new_student("\ufb01ona Lee", date_of_birth="2015-05-05")
    d = school.new_student("Fiona Lee", date_of_birth="2016-05-05")
    seeded(school, a, b, c, d)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"\uff21nna Lee.jpg": jpeg_bytes("fullwidth anna"), "Fiona Lee.jpg": jpeg_bytes("fiona")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert all(v is None for v in got(school, a, b, c, d).values()), (result.code, got(school, a, b, c, d))


@pytest.mark.parametrize("shape", ["document", "list of parts"])
def test_probe_name_stored_as_document_blocks_the_full_name(school, tmp_path, shape):
    """Two Anna Lees: one's name a string, the other's imported as {"first": "Anna", "last": "Lee"} (or
    ["Anna", "Lee"]). 'Anna Lee.jpg' could be either child's: the doc's rule says a value that cannot be compared
    blocks the keys it may be."""
    a = school.new_student("Anna Lee", date_of_birth="2015-01-01")
    odd = {"first": "Anna", "last": "Lee"} if shape == "document" else ["Anna", "Lee"]
    b = school.new_student(odd, date_of_birth="2016-01-01")
    seeded(school, a, b, with_photos=(b["student_id"],))  # the other Anna Lee has an older photo
    school.write_backup([a])  # (no backup record to compare with the odd name: the run's only change is the fill)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"Anna Lee.jpg": jpeg_bytes("which Anna Lee?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert school.photo_of(a["student_id"]) is None, (
        f"the string-named Anna Lee got the photo though the other Anna Lee's name is a {shape} "
        f"(exit {result.code})", src_json(result), result.json['problems'])


def test_probe_name_list_blocks_its_written_alike_forms(school, tmp_path):
    """Ben's name was saved as a list ["Anna Lee"]; Ann's is "Anna-Lee". 'Anna-Lee.jpg': the list's value is
    written alike (hyphen), which blocks for strings; it must block here too."""
    a = school.new_student("Anna-Lee", date_of_birth="2015-01-01")
    b = school.new_student(["Anna Lee"], date_of_birth="2016-01-01")
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"Anna-Lee.jpg": jpeg_bytes("anna-lee or anna lee?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert school.photo_of(a["student_id"]) is None, (result.code, src_json(result))


def test_probe_number_key_against_a_text_value_the_rule_calls_unknown(school, tmp_path):
    """Ann's student_number is 42 (a number); Ben's was imported from Excel as the text "4.20E+01". The identity
    rule: a number on one side and text on the other is unknown, so Ben could be 42; '42.jpg' is not proven Ann's."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number="4.20E+01")
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"42.jpg": jpeg_bytes("42: ann or ben?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None, (
        f"42.jpg went to Ann though Ben's number \"4.20E+01\" may be 42 (exit {result.code})",
        src_json(result), result.json['problems'])


def test_probe_prefixed_text_number_against_a_bare_number(school, tmp_path):
    """The rule table's own example: "S1001" vs 1001 is unknown. Ann holds 1001, Ben "S1001"; '1001.jpg'."""
    a = school.new_student("Ann Able", student_number=1001)
    b = school.new_student("Ben Best", student_number="S1001")
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"1001.jpg": jpeg_bytes("1001: ann or ben?")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None, (result.code, src_json(result))


def test_probe_date_key_against_an_instant_a_zone_may_have_moved(school, tmp_path):
    """--source-key date_of_birth. Ann: "2015-03-04"; Ben: a BSON date 2015-03-03 23:00 UTC (midnight of 4 March
    at UTC+1). The identity rule: unknown (a zone may have moved it). '2015-03-04.jpg' could be Ben's."""
    a = school.new_student("Ann Able", date_of_birth="2015-03-04")
    b = school.new_student("Ben Best", date_of_birth=datetime(2015, 3, 3, 23, 0))
    for st in (a, b):
        (school.folder(st["student_id"]) / "attendance").mkdir(parents=True)
    school.put_photo(b["student_id"])
    school.seed([{**a, "photo": None}, b])
    school.write_backup([a, {**b, "date_of_birth": "2015-03-03T23:00:00Z"}])
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"2015-03-04.jpg": jpeg_bytes("born 4 march")})

    result = school.restore("--photo-source", str(archive), "--source-key", "date_of_birth", "--json")

    assert school.photo_of(a["student_id"]) is None, (result.code, src_json(result))


def test_probe_negative_zero_and_plus_sign_are_values(school, tmp_path):
    """'-0.jpg' is number 0 (the only one), '+007.jpg' is 7; but 7 is held twice ("007" and 7.0): no one."""
    z = school.new_student("Zed Zero", student_number=0)
    s1 = school.new_student("Sev One", student_number="007")
    s2 = school.new_student("Sev Two", student_number=7.0)
    seeded(school, z, s1, s2)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"-0.jpg": jpeg_bytes("zero"), "+007.jpg": jpeg_bytes("seven")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(s1["student_id"]) is None and school.photo_of(s2["student_id"]) is None
    assert school.photo_of(z["student_id"]) in (None, jpeg_bytes("zero"))
    assert result.code == 1


def test_probe_map_names_one_member_twice_by_case(school, tmp_path):
    """A photographer's index made on Windows (case-insensitive names): 'IMG_1.jpg' for 42 and 'img_1.JPG' for 43.
    The zip holds one IMG_1.jpg: the index gives that one file to two children, so it is no one's."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"IMG_1.jpg": jpeg_bytes("img 1")})
    index = tmp_path / "index.csv"
    index.write_text("file,student_number\nIMG_1.jpg,42\nimg_1.JPG,43\n")

    result = school.restore("--photo-source", str(archive), "--source-map", str(index),
                            "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None, (
        f"Ann got IMG_1.jpg, which the index also gives (as img_1.JPG) to Ben (exit {result.code})",
        src_json(result), result.json['problems'])


def test_probe_map_names_one_member_twice_by_unicode_normalisation(school, tmp_path):
    """The index (typed on a Mac: NFD) says 'Zoë.jpg' for 43; another line (NFC) says 'Zoë.jpg' for 42. One member."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b)
    nfc, nfd = unicodedata.normalize("NFC", "Zoë.jpg"), unicodedata.normalize("NFD", "Zoë.jpg")
    assert nfc != nfd
    archive = tmp_path / "pd.zip"
    make_zip(archive, {nfc: jpeg_bytes("zoe")})
    index = tmp_path / "index.csv"
    index.write_text(f"file,student_number\n{nfc},42\n{nfd},43\n", encoding="utf-8")

    result = school.restore("--photo-source", str(archive), "--source-map", str(index),
                            "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None, (result.code, src_json(result))


def test_probe_two_members_differing_by_normalisation_for_one_name(school, tmp_path):
    """A folder holding 'Zoë Adams.jpg' twice (NFC and NFD, two faces): two files for one child, no one's."""
    z = school.new_student("Zoë Adams", date_of_birth="2015-01-01")
    seeded(school, z)
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / unicodedata.normalize("NFC", "Zoë Adams.jpg")).write_bytes(jpeg_bytes("face one"))
    (folder / unicodedata.normalize("NFD", "Zoë Adams.jpg")).write_bytes(jpeg_bytes("face two"))

    result = school.restore("--photo-source", str(folder), "--source-key", "name", "--json")

    assert school.photo_of(z["student_id"]) is None and result.code == 1, (result.code, src_json(result))


def test_probe_same_face_hidden_in_a_dot_folder_blocks(school, tmp_path):
    """42.jpg's very bytes are also under .trash/43.jpg: the source names the face under another key (hidden)."""
    a = school.new_student("Ann Able", student_number=42)
    seeded(school, a)
    face = jpeg_bytes("a face in two places")
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"42.jpg": face, ".trash/43.jpg": face})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None and result.code == 1, (result.code, src_json(result))


def test_probe_same_size_different_bytes_is_not_a_double(school, tmp_path):
    """Two members of one size, different bytes, for two children: each gets their own (no false refusal needed,
    but never the other's)."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b)
    fa, fb = bytearray(jpeg_bytes("same size face")), bytearray(jpeg_bytes("same size face"))
    fb[-10] ^= 1  # one byte apart, same size (inside the image data, before the end marker)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"42.jpg": bytes(fa), "43.jpg": bytes(fb)})

    school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) in (None, bytes(fa))
    assert school.photo_of(b["student_id"]) in (None, bytes(fb))


@pytest.mark.parametrize("inner", ["attendance/students/{b}/profile.jpg", "students/{b}/profile.jpg"])
def test_probe_students_nested_inside_a_top_level_id_folder(school, tmp_path, inner):
    """A tree copy in the '{id}/...' layout: A's folder holds students/B/profile.jpg (B's folder copied into A's).
    Whose photo it is is not known (as with students/ twice): it must not become B's profile."""
    a = school.new_student("Ann Able", date_of_birth="2015-01-01")
    b = school.new_student("Ben Best", date_of_birth="2016-01-01")
    seeded(school, a, b, with_photos=(a["student_id"],))
    source = tmp_path / "old-server"
    (source / a["student_id"] / "attendance").mkdir(parents=True)
    (source / a["student_id"] / "profile.jpg").write_bytes(school.photo_of(a["student_id"]))
    (source / a["student_id"] / "attendance" / "2025-01-01_AM.jpg").write_bytes(jpeg_bytes("ann day"))
    nested = source / a["student_id"] / inner.format(b=b["student_id"])
    nested.parent.mkdir(parents=True)
    nested.write_bytes(jpeg_bytes("found inside A's folder"))

    result = school.restore("--photo-source", str(source), "--json")

    assert school.photo_of(b["student_id"]) is None, (
        f"a file inside A's folder of a {{id}}/ tree became B's profile (exit {result.code})",
        src_json(result), result.json['problems'])


def test_probe_student_scope_with_a_key_shared_out_of_scope(school, tmp_path):
    """Ann "042" and Ben 42 share key 42; --student Ann only: 42.jpg is still no one's."""
    a = school.new_student("Ann Able", student_number="042")
    b = school.new_student("Ben Best", student_number=42)
    seeded(school, a, b)
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"42.jpg": jpeg_bytes("shared key")})

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number",
                            "--student", a["student_id"], "--json")

    assert school.photo_of(a["student_id"]) is None and result.code == 1, (result.code, src_json(result))


def test_probe_old_id_in_source_that_the_store_also_holds_with_other_photos(school, tmp_path):
    """Yesterday's tree holds old folder a1 with one photo; the store still holds a1 with a different photo. Ann
    (a1's current student) gets one of a1's photos or none, and the run does not say all done silently while
    two different photos claim to be a1's profile."""
    r = Reseed(school)
    r.child("a1", "Ann Lee", date_of_birth="2015-01-01")
    r.child("b1", "Ben Best", date_of_birth="2016-01-01")
    r.commit()
    for k in r.new:
        (school.folder(r.new_id(k)) / "attendance").mkdir(parents=True, exist_ok=True)
    source = tmp_path / "yesterday"
    (source / "students" / r.old_id("a1")).mkdir(parents=True)
    (source / "students" / r.old_id("a1") / "profile.jpg").write_bytes(jpeg_bytes("an older a1 photo"))

    result = school.restore("--photo-source", str(source), "--json")

    r.assert_every_photo_is_its_own() if school.photo_of(r.new_id("a1")) != jpeg_bytes("an older a1 photo") else None
    assert school.photo_of(r.new_id("b1")) in (None, r.photos["b1"])
    assert result.code in (0, 1), result.text


# ---------------------------------------------------------------- 2. --deep rerun: the listing child
def _deep_school_with_cache(school: School) -> tuple[dict, dict]:
    """Amy and Ben share one photo (a finding); a first --deep run fills the hash cache, so a rerun lists apart."""
    amy = school.new_student("Amy Ash", date_of_birth="2015-01-01")
    ben = school.new_student("Ben Bell", date_of_birth="2015-02-02")
    shared = jpeg_bytes("one photo, two children")
    school.put_photo(amy["student_id"], shared, attendance=2)
    school.put_photo(ben["student_id"], shared, attendance=2)
    school.seed([amy, ben])
    school.write_backup([amy, ben])
    first = school.restore("--verify-only", "--deep", "--json")
    assert first.code == 1 and first.json["deep"], first.text
    return amy, ben


def test_probe_an_empty_students_folder_rerun_matches_in_process(school, monkeypatch, tmp_path):
    """The hash cache holds rows; then every folder is gone (students/ has 0 entries). The child's listing and an
    in-process one must give the same answer."""
    from student_photos import deep
    amy, ben = _deep_school_with_cache(school)
    school.collection.update_many({}, {"$set": {"photo": None}})
    for sid in (amy["student_id"], ben["student_id"]):
        import shutil
        shutil.rmtree(school.folder(sid))
    apart = school.restore("--verify-only", "--deep", "--json")
    monkeypatch.setattr(deep.ListingApart, "start", classmethod(lambda cls, students: None))
    inproc = school.restore("--verify-only", "--deep", "--json")
    assert (apart.code, apart.json["deep"], apart.json["problems"]) == \
        (inproc.code, inproc.json["deep"], inproc.json["problems"])
    assert apart.code in (1, 2)


# ---------------------------------------------------------------- 3. a journal that cannot be written midway
def _without_tool_dirs(snap: dict) -> dict:
    return {"files": {k: v for k, v in snap["files"].items() if "/.student-photos" not in k
                      and "/.migrations" not in k}, "db": snap["db"]}


def test_probe_restore_relinks_with_a_journal_that_fills_midway_then_undo(school):
    """400 students: 250 with a photo on disk but no link (relinks), 150 with no folder (folders made). The journal
    outgrows RLIMIT_FSIZE midway. Exit 2 naming the run and its undo; every link and folder changed is named by a
    readable line; the undo of that run puts the school back exactly as it was."""
    docs = []
    for i in range(400):
        st = school.new_student(f"Child {i}", date_of_birth=f"2012-01-{i % 28 + 1:02d}", student_number=i)
        if i < 250:
            school.put_photo(st["student_id"])
        docs.append({**st, "photo": None})
    school.seed(docs)
    school.write_backup(docs)
    before = _without_tool_dirs(school.snapshot())

    failed = school.subprocess("restore_student_photos", preexec_fn=_journal_size_limit)

    assert failed.code == 2, failed.text
    (run_file,) = (school.photos / ".student-photos" / "journal").iterdir()
    assert f"(run {run_file.stem}" in failed.err and f"--undo {run_file.stem}" in failed.err, failed.err
    lines = _raw_lines(run_file)
    linked = {d["student_id"] for d in school.db_docs().values() if d.get("photo")}
    named_db = {e["student_id"] for e in lines if e.get("type") == "db"}
    assert linked <= named_db, f"links written that no readable line names: {sorted(linked - named_db)[:5]}"
    made = {str(p.relative_to(school.photos)) for p in school.students_dir.iterdir()} - \
        {f"students/{d['student_id']}" for d in docs[:250]}
    named_dirs = {e["path"] for e in lines if e.get("type") == "dir"}
    assert made <= named_dirs, f"folders made that no readable line names: {sorted(made - named_dirs)[:5]}"
    assert not [p for p in school.students_dir.rglob("*") if p.name.startswith(".")], "temporary files left"

    undo = school.restore("--undo", run_file.stem, "--json")

    assert undo.code == 0, undo.text
    assert _without_tool_dirs(school.snapshot()) == before, "the undo leaves the school as it was before the run"
    rerun = school.restore()
    assert rerun.code == 1, rerun.text  # 150 still have no photo
    assert sum(1 for d in school.db_docs().values() if d.get("photo")) == 250


def test_probe_restore_fills_from_a_photo_source_with_a_journal_that_fills_midway_then_undo(school, tmp_path):
    """300 students missing their photo, a picture-day zip with each one's face by student_number. The journal
    outgrows RLIMIT_FSIZE midway through the fills: exit 2 naming the run; every placed file is the right child's
    and named by a readable line; no staged copy left; the undo takes back every file placed and nothing else."""
    docs, faces = [], {}
    for i in range(300):
        st = school.new_student(f"Child {i}", date_of_birth=f"2012-01-{i % 28 + 1:02d}", student_number=1000 + i)
        (school.folder(st["student_id"]) / "attendance").mkdir(parents=True)
        docs.append({**st, "photo": None})
        faces[f"{1000 + i}.jpg"] = jpeg_bytes(f"picture day face of child {i}")
    school.seed(docs)
    school.write_backup(docs)
    archive = tmp_path / "pd.zip"
    make_zip(archive, faces)
    before = _without_tool_dirs(school.snapshot())

    failed = school.subprocess("restore_student_photos", "--photo-source", str(archive), "--source-key",
                               "student_number", preexec_fn=_journal_size_limit)

    assert failed.code == 2, failed.text
    (run_file,) = (school.photos / ".student-photos" / "journal").iterdir()
    assert f"--undo {run_file.stem}" in failed.err, failed.err
    lines = _raw_lines(run_file)
    named = {e["path"] for e in lines if e.get("type") == "file"}
    placed = set()
    for i, d in enumerate(docs):
        photo = school.photo_of(d["student_id"])
        if photo is not None:
            assert photo == faces[f"{1000 + i}.jpg"], f"child {i} holds another child's face"
            placed.add(f"students/{d['student_id']}/profile.jpg")
    assert placed, "some fills happened before the journal filled up (else the probe proves nothing)"
    assert placed <= named, f"placed files no readable line names: {sorted(placed - named)[:5]}"
    leftovers = [str(p.relative_to(school.students_dir)) for p in school.students_dir.rglob("*")
                 if p.name.startswith(".")]

    undo = school.restore("--undo", run_file.stem, "--json")

    assert undo.code == 0, undo.text
    after_undo = _without_tool_dirs(school.snapshot())
    assert {k for k in after_undo["files"] if k not in before["files"]} <= {f"photos/students/{x}" for x in
                                                                            leftovers}
    assert {k: v for k, v in after_undo["files"].items() if k in before["files"]} == before["files"] and \
        after_undo["db"] == before["db"], "the undo takes back every fill and nothing else"
    rerun = school.restore("--photo-source", str(archive), "--source-key", "student_number")
    assert rerun.code == 0, rerun.text
    still = [str(p) for p in school.students_dir.rglob("*") if p.name.startswith(".")]
    assert not leftovers, (f"the run stopped by the journal left staged copies in children's folders "
                           f"{leftovers}; after its undo and a full rerun, still there: {still}")


@pytest.mark.parametrize("limit", [2_000, 20_000, 200_000])
def test_probe_a_full_tmpdir_never_hides_a_finding(school, tmp_path, limit):
    """The files a rerun may write are capped (RLIMIT_FSIZE, as a full TMPDIR would): the child cannot write its
    listing (or the parent its own scratch). The rerun reports the first run's findings, or cannot run (2): never 0."""
    _deep_school_with_cache(school)
    first = school.restore("--verify-only", "--deep", "--json")

    def cap():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    rerun = school.subprocess("restore_student_photos", "--verify-only", "--deep", "--json", preexec_fn=cap,
                              TMPDIR=str(scratch))
    assert rerun.code in (1, 2), rerun.text
    if rerun.code == 1:
        assert rerun.json["deep"] == first.json["deep"], rerun.text
    assert list(scratch.iterdir()) == []


def test_probe_restore_evidence_copies_with_a_journal_that_fills_midway_then_undo(school):
    """After a reseed, 300 new records still link their old id's photo (the app kept the old path). The restore
    copies each from the old folder (proven by identity); the journal outgrows RLIMIT_FSIZE midway. Every copy
    placed is the child's own and journalled; the undo takes back every copy and nothing else; no staged copy stays
    behind in a child's folder after the undo and a full rerun."""
    r = Reseed(school)
    for i in range(300):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2011-01-{i % 28 + 1:02d}", student_number=i, attendance=0)
    for k in r.new:
        r.new[k]["photo"] = f"/api/photos/students/{r.old_id(k)}/profile.jpg"
        (school.folder(r.new[k]["student_id"]) / "attendance").mkdir(parents=True)  # no dir lines: copies fill it
    r.commit()
    before = _without_tool_dirs(school.snapshot())

    failed = school.subprocess("restore_student_photos", preexec_fn=_journal_size_limit)

    assert failed.code == 2, failed.text
    (run_file,) = (school.photos / ".student-photos" / "journal").iterdir()
    named = {e["path"] for e in _raw_lines(run_file) if e.get("type") == "file"}
    placed = {f"students/{r.new_id(k)}/profile.jpg" for k in r.new if school.photo_of(r.new_id(k)) is not None}
    assert placed, ("some copies happened before the journal filled up", failed.err[-1500:])
    r.assert_every_photo_is_its_own()
    assert placed <= named, sorted(placed - named)[:5]

    undo = school.restore("--undo", run_file.stem, "--json")

    assert undo.code == 0, undo.text
    after = _without_tool_dirs(school.snapshot())
    extra = {k for k in after["files"] if k not in before["files"]}
    assert {k: v for k, v in after["files"].items() if k in before["files"]} == before["files"] and \
        after["db"] == before["db"], "the undo takes back every copy and nothing else"
    school.restore()
    still = [str(p.relative_to(school.students_dir)) for p in school.students_dir.rglob("*") if p.name.startswith(".")]
    # (the undo leaves the staged copy whose line the failure cut: it is swept by the rerun's evidence copy)
    assert all(k.rsplit("/", 1)[-1].startswith(".") for k in extra), sorted(extra)[:3]
    assert not still, f"staged copies left by the stopped run: after its undo {sorted(extra)[:3]}, rerun {still[:3]}"


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_probe_an_archive_holding_one_name_twice_is_no_ones(school, tmp_path, kind):
    """A zip (or tar) with two members both called 42.jpg, two different faces (an appended re-shoot, or a
    crafted archive). Which face is 42's is not known: neither is used."""
    import io
    import tarfile
    import warnings
    import zipfile
    a = school.new_student("Ann Able", student_number=42)
    seeded(school, a)
    one, two = jpeg_bytes("first 42 face"), jpeg_bytes("second 42 face, someone else")
    archive = tmp_path / f"pd.{kind}"
    if kind == "zip":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with zipfile.ZipFile(archive, "w") as z:
                z.writestr("42.jpg", one)
                z.writestr("42.jpg", two)
    else:
        with tarfile.open(archive, "w") as t:
            for data in (one, two):
                info = tarfile.TarInfo("42.jpg")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))

    result = school.restore("--photo-source", str(archive), "--source-key", "student_number", "--json")

    assert school.photo_of(a["student_id"]) is None, (
        f"one of two members named 42.jpg was used (exit {result.code}, {result.text[-1500:]})")
    assert result.code in (1, 2)


@pytest.mark.parametrize("nameless", [None, ""])
def test_probe_a_nameless_record_could_be_the_named_file(school, tmp_path, nameless):
    """--source-key name: Ann Lee, and a record with no usable name (the identity rule: unknown, could be anyone).
    'Ann Lee.jpg' is not proven Ann's while the nameless record could be her (migrate refuses the same)."""
    a = school.new_student("Ann Lee", date_of_birth="2015-01-01")
    x = school.new_student(nameless, date_of_birth="2016-01-01")
    seeded(school, a, x, with_photos=(x["student_id"],))
    school.write_backup([a])
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"Ann Lee.jpg": jpeg_bytes("ann lee")})

    result = school.restore("--photo-source", str(archive), "--source-key", "name", "--json")

    assert school.photo_of(a["student_id"]) is None, (result.code, src_json(result), result.json["problems"])


def test_probe_restore_journal_fills_between_two_bulk_link_writes_then_undo(school):
    """1,600 students with a photo on disk but no link: the links go in two bulk writes (1,000 each at most); the
    journal outgrows its cap while naming the second. The first batch's links are written and journalled; the undo
    takes back exactly those; nothing is linked that no line names."""
    import resource
    docs = []
    for i in range(1600):
        st = school.new_student(f"Child {i}", date_of_birth=f"2012-01-{i % 28 + 1:02d}", student_number=i)
        folder = school.folder(st["student_id"])
        (folder / "attendance").mkdir(parents=True)
        (folder / "profile.jpg").write_bytes(jpeg_bytes("x" * 8 + str(i)))
        docs.append({**st, "photo": None})
    school.seed(docs)
    school.write_backup(docs)
    before = _without_tool_dirs(school.snapshot())

    limit = [0]

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit[0], limit[0]))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    line = len('{"type": "db", "doc_id": {"$oid": "5f0c0ffee0000000000000b2"}, "student_id": '
               '"00000000-0000-0000-0000-000000000000", "old": null, "new": "/api/photos/students/'
               '00000000-0000-0000-0000-000000000000/profile.jpg"}\n')
    limit[0] = line * 1300
    failed = school.subprocess("restore_student_photos", preexec_fn=cap)

    assert failed.code == 2, failed.text
    (run_file,) = (school.photos / ".student-photos" / "journal").iterdir()
    assert f"--undo {run_file.stem}" in failed.err, failed.err
    named = {e["student_id"] for e in _raw_lines(run_file) if e.get("type") == "db"}
    linked = {d["student_id"] for d in school.db_docs().values() if d.get("photo")}
    assert linked, ("no bulk write happened before the journal filled (the probe proves less)", len(named))
    assert linked <= named, sorted(linked - named)[:5]

    undo = school.restore("--undo", run_file.stem, "--json")

    assert undo.code == 0, undo.text
    assert undo.json["links_reverted"] == len(linked), undo.json
    assert _without_tool_dirs(school.snapshot()) == before

