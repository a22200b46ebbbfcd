"""Round 12, sources: a picture-day key is compared by day too, so a birth date written as text in another form
(`4 March 2015`, `March 4, 2015`, `4/3/2015`) that may be the key's day blocks it (docs/safety.md)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sources import make_zip, seeded

from student_photos.identity import date_readings, value_code
from student_photos.sample import jpeg_bytes
from student_photos.sources import KeyIndex

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _forms(day: date) -> list[str]:
    """Text forms a school's systems write a birth date in."""
    month = MONTHS[day.month - 1]
    return [day.isoformat(), f"{day.day:02d}.{day.month:02d}.{day.year}", f"{day.day}/{day.month}/{day.year}",
            f"{day.month}/{day.day}/{day.year}", f"{day.day} {month} {day.year}", f"{month} {day.day}, {day.year}",
            f"{day.day}th {month[:3]} {day.year}"]


def _days(text: str) -> set[str]:
    """The oracle: the days a value or key is, or as text may be."""
    code = value_code(text)
    if code[:1] in ("d", "D"):
        return {code[1:11]}
    return {reading[1:] for reading in date_readings(code)}


def test_contrast_ann_gets_her_file_when_no_other_value_may_be_that_day(school, tmp_path):
    a = school.new_student("Ann Able", date_of_birth="04.03.2015")
    b = school.new_student("Ben Best", date_of_birth="5 March 2015")  # neither 4 March nor 3 April
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"04.03.2015.jpg": jpeg_bytes("ann, born 4 March 2015")})
    run = school.restore("--photo-source", str(archive), "--source-key", "date_of_birth", "--json")
    assert run.code == 0, run.text[-600:]
    assert school.photo_of(a["student_id"]) == jpeg_bytes("ann, born 4 March 2015")


@pytest.mark.parametrize("bens_day", ["3 April 2015", "4.3.2015"])
def test_another_reading_of_the_key_blocks_it_too(school, tmp_path, bens_day):
    """04.03.2015 may be 3 April too; and '4.3.2015' is the same day written otherwise: for no one, exit 1."""
    a = school.new_student("Ann Able", date_of_birth="04.03.2015")
    b = school.new_student("Ben Best", date_of_birth=bens_day)
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"04.03.2015.jpg": jpeg_bytes("born 4 March or 3 April 2015")})
    run = school.restore("--photo-source", str(archive), "--source-key", "date_of_birth", "--json")
    assert school.photo_of(a["student_id"]) is None and run.code == 1, run.text[-600:]


DAYS = [date(2015, 3, 4), date(2015, 4, 3), date(2015, 3, 5), date(2015, 12, 13), date(2016, 3, 4)]
WRITTEN = st.tuples(st.sampled_from(DAYS), st.integers(0, 6)).map(lambda t: _forms(t[0])[t[1]])


@settings(max_examples=300, deadline=None)
@given(values=st.lists(WRITTEN, min_size=1, max_size=5), key=WRITTEN)
def test_property_a_key_is_given_only_when_no_other_value_may_be_its_day(values, key):
    index = KeyIndex("date_of_birth")
    for i, value in enumerate(values):
        index.add(f"s{i}", value, True)
    found = index.holders(key)
    assert found is not None
    holders = {sid for sid, _ in found}
    receivers = [sid for sid, ok in found if ok]
    given_to = receivers[0] if len(holders) == 1 and receivers else None
    others_may_be = [f"s{i}" for i, v in enumerate(values)
                     if value_code(v) != value_code(key) and _days(v) & _days(key)]
    if given_to is not None:
        assert value_code(values[int(given_to[1:])]) == value_code(key)
        assert not [s for s in others_may_be if s != given_to], (values, key, given_to)
    exact = [f"s{i}" for i, v in enumerate(values) if value_code(v) == value_code(key)]
    one_kind = all(value_code(v)[:1] == value_code(key)[:1] for v in values)  # (another kind blocks: another rule)
    if len(exact) == 1 and not others_may_be and one_kind:  # (and it still works: no rival, the key is given)
        assert given_to == exact[0], (values, key, found)
