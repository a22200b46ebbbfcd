"""Properties of the rules round 11 changed: a date written as text is found by the day it is, and a link's names
hold every other id, whatever the student's own id looks like."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from student_photos.identity import date_readings, value_code
from student_photos.links import PhotoLink

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)), st.sampled_from("/-."))
def test_a_birth_date_written_as_text_is_found_by_its_own_day(day, sep):
    wanted = f"d{day.isoformat()}"
    for written in (f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}", f"{day.month}{sep}{day.day}{sep}{day.year}",
                    f"{day.day} {MONTHS[day.month - 1]} {day.year}", f"{MONTHS[day.month - 1]} {day.day}, {day.year}"):
        assert wanted in date_readings(value_code(written)), written


ID = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@given(ID, ID, st.sampled_from(["_", "-", " ", ".", " ("]), st.sampled_from(["old", "2024", "1", "copy"]))
def test_another_id_in_a_file_name_is_always_among_its_names(own, other, sep, suffix):
    if own.casefold() == other.casefold():
        return
    for name in (f"{other}{sep}{suffix}.jpg", f"photo{sep}{other}.jpg", f"{own}{sep}{other}.jpg"):
        assert other in set(PhotoLink(("uploads", name)).names_it_may_hold(besides=own)), name


@given(ID, st.sampled_from(["_", "-", "."]))
def test_the_students_own_id_names_no_one(own, sep):
    assert own not in set(PhotoLink(("uploads", f"{own}{sep}old.jpg")).names_it_may_hold(besides=own))
