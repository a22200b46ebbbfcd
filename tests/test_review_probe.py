"""Review probes: each asserts what the safety rules promise; a failure is a finding."""

from __future__ import annotations

from test_sources import make_zip, seeded

from student_photos.sample import jpeg_bytes


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
