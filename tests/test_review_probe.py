"""Review probes: each asserts what the safety rules promise; a failure is a finding."""

from __future__ import annotations

from test_sources import make_zip, seeded

from student_photos.sample import jpeg_bytes


def test_probe_map_student_id_a_spreadsheet_rewrote_is_not_trusted(school, tmp_path):
    """A photographer's index opened in Excel: Amy's id 00123 saved as 123, which is Ben's id. The reviewed-pairs
    file refuses exactly this (helper-26's note); the --source-map must not give Amy's photo to Ben with exit 0."""
    amy = school.new_student("Amy Adams", student_id="00123")
    ben = school.new_student("Ben Cole", student_id="123")
    seeded(school, amy, ben, with_photos=(amy["student_id"],))  # Amy has last year's; Ben has none
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"IMG_1.jpg": jpeg_bytes("amy on picture day")})
    index = tmp_path / "map.csv"
    index.write_text("file,student_id\nIMG_1.jpg,123\n")  # was 00123 before Excel saved it

    result = school.restore("--photo-source", str(archive), "--source-map", str(index), "--json")

    assert school.photo_of(ben["student_id"]) is None and result.code != 0, (
        f"Ben got the photo of a line whose id a spreadsheet may have rewritten (00123 -> 123), exit {result.code}")


def test_probe_map_bare_name_that_is_also_a_root_members_path(school, tmp_path):
    """The index names the bare 'IMG_1.jpg' (a photographer's index lists bare names); the zip holds IMG_1.jpg at
    its top and classB/IMG_1.jpg. As in test_source_map_bare_name_matching_two_members, which one is meant is not
    known."""
    a = school.new_student("Ann Able", student_number=42)
    b = school.new_student("Ben Best", student_number=43)
    seeded(school, a, b, with_photos=(a["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"IMG_1.jpg": jpeg_bytes("class A img 1"), "classB/IMG_1.jpg": jpeg_bytes("class B img 1")})
    index = tmp_path / "index.csv"
    index.write_text("file,student_number\nIMG_1.jpg,43\n")

    result = school.restore("--photo-source", str(archive), "--source-map", str(index),
                            "--source-key", "student_number", "--json")

    assert school.photo_of(b["student_id"]) is None and result.code != 0, (
        f"Ben got the top-level IMG_1.jpg from a line that names two members (exit {result.code})")


def test_probe_picture_day_key_at_the_first_day_is_not_a_crash(school, tmp_path):
    """A picture-day file named by the first day a date can be, with a database date field: the near-day check
    must not overflow (a traceback is no report)."""
    a = school.new_student("Ann Able", date_of_birth="2015-01-01")
    b = school.new_student("Ben Best", date_of_birth="0001-01-01")
    seeded(school, a, b, with_photos=(a["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"0001-01-01.jpg": jpeg_bytes("ben"), "9999-12-31.jpg": jpeg_bytes("no one")})

    result = school.restore("--photo-source", str(archive), "--source-key", "date_of_birth", "--json")

    assert "Traceback" not in result.text and result.code in (0, 1), result.text
