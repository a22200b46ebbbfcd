"""Adversarial round 13: identity.date_readings (text dates in many forms), links.PhotoLink.names_it_may_hold
(cuts at every separator) and sources.KeyIndex comparing picture-day keys by day."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sources import make_zip, seeded

from student_photos.identity import Person, _dates_may_differ, date_readings, value_code
from student_photos.links import PhotoLink
from student_photos.sample import jpeg_bytes
from student_photos.sources import KeyIndex

# Forms a school's systems write a birth date in that date_readings does not read (all are 4 March 2015, or
# 4 March / 3 April for the numeric ones): a date with its time AND zone after it (docstring promises "with its
# time after it"), a.m./p.m. with dots, Excel's "Long Date" (weekday first), "4th of March".
UNREAD = ["04/03/2015 10:00:00+02:00", "04/03/2015 10:00 a.m.", "Wednesday, 4 March 2015",
          "Wednesday, March 4, 2015", "4th of March 2015", "2015 March 4", "04.03.2015."]


@pytest.mark.parametrize("text", UNREAD)
def test_finding_date_readings_misses_common_written_forms(text):
    # WRONG: date_readings(value_code(text)) is () for these, so the date finds no candidate by day and blocks
    # no picture-day key; expected: the day 2015-03-04 among its readings.
    assert "d2015-03-04" in date_readings(value_code(text)), text


@pytest.mark.parametrize("bens_day", ["04/03/2015 10:00:00+02:00", "Wednesday, 4 March 2015", "4th of March 2015"])
def test_finding_source_key_gives_ann_a_file_bens_unread_date_may_be(school, tmp_path, bens_day):
    """Ben's birth date, written in a form date_readings does not read, is 4 March 2015: 04.03.2015.jpg may be
    his; it must be for no one (exit 1)."""
    a = school.new_student("Ann Able", date_of_birth="04.03.2015")
    b = school.new_student("Ben Best", date_of_birth=bens_day)
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"04.03.2015.jpg": jpeg_bytes("ben, born 4 March 2015")})
    run = school.restore("--photo-source", str(archive), "--source-key", "date_of_birth", "--json")
    # WRONG: Ann gets the file (possibly Ben's photo: wrong child) and the run exits 0.
    assert school.photo_of(a["student_id"]) is None and run.code == 1, run.text[-600:]


@pytest.mark.parametrize("old_day", ["Wednesday, 4 March 2015", "04/03/2015 10:00:00+02:00"])
def test_finding_pairs_unread_text_date_is_not_taken_to_differ(old_day):
    """A --pairs row: old record born '(Wednesday,) 4 March 2015' (as text), current born 2015-12-25: the dates
    differ whatever the reading; with the names renamed too the row must need override."""
    old = Person("ann able", value_code(old_day))
    new = Person("zed zulu", value_code("2015-12-25"))
    # WRONG: _dates_may_differ is False (no readings: "may be the same"), so a renamed and redated pair passes.
    assert _dates_may_differ(old, new, ["date_of_birth"])


# ------------------------------------------------------------------------------------------- probes that held
ODD = ["99/99/99999", "00/00/0000", "31/02/2015", "4 March 0000", "4/3/00", "29/02/1900", "29 feb 00",
       "1/1/1", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "٤/٣/٢٠١٥", "４/３/２０１５", "4 march 2015 " * 50,
       "1 " * 5000, "a" * 10000, "12:00 " * 2000, "1/" * 3000, "march " * 3000 + "4, 2015"]


@pytest.mark.parametrize("text", ODD)
def test_probe_odd_dates_never_raise_nor_hang(text):
    started = time.perf_counter()
    code = value_code(text)
    date_readings(code)
    date_readings("t" + text.casefold())
    date_readings("D" + text)
    assert time.perf_counter() - started < 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789/-. :tTapmz,", max_size=40))
def test_probe_date_readings_total_on_date_like_text(text):
    for code in ("t" + text, "D" + text, value_code(text) or "t"):
        for reading in date_readings(code):
            assert reading.startswith("d") and len(reading) == 11


def test_probe_key_index_on_odd_values_never_raises():
    index = KeyIndex("date_of_birth")
    for n, value in enumerate(ODD):
        index.add(f"s{n}", value, True)
    for key in ("04.03.2015", "9999-12-31", "0001-01-02", "31/12/9999"):
        index.holders(key)


@pytest.mark.parametrize("part,own", [("_" * 251 + ".jpg", "_"), ("a_" * 125 + "a.jpg", "a"),
                                      ("a-_" * 83 + ".jpg", "a-")])
def test_probe_names_it_may_hold_on_a_255_character_name_is_quick(part, own):
    link = PhotoLink(("uploads", part))
    started = time.perf_counter()
    names = list(link.names_it_may_hold(0, besides=own))
    took = time.perf_counter() - started
    # Held: ~32,000 pieces in ~0.2 s for one component (own id "_" is the slowest); 16 such components in one
    # link: ~520,000 pieces, ~3.6 s, each then looked up (os.path.lexists for a safe id): slow per link, no hang.
    assert took < 2.0 and len(names) < 40000


def test_probe_names_it_may_hold_still_finds_an_edge_separator_id():
    assert "_b7" in set(PhotoLink(("uploads", "old__b7.jpg")).names_it_may_hold(0, besides="a1"))
    assert "b7-" in set(PhotoLink(("uploads", "b7--old.jpg")).names_it_may_hold(0, besides="a1"))


def _ben_at_2330(school, tmp_path, bens_day):
    """Ben born 3 March 2015 at 23:30 (a time: a zone may make it 4 March). Written ISO it is an instant and
    blocks 04.03.2015.jpg (probe, held); written '03.03.2015 23:30:00' date_readings gives only its own
    day(s), so Ann gets the file."""
    a = school.new_student("Ann Able", date_of_birth="04.03.2015")
    b = school.new_student("Ben Best", date_of_birth=bens_day)
    seeded(school, a, b, with_photos=(b["student_id"],))
    archive = tmp_path / "pd.zip"
    make_zip(archive, {"04.03.2015.jpg": jpeg_bytes("born 4 March 2015 somewhere")})
    run = school.restore("--photo-source", str(archive), "--source-key", "date_of_birth", "--json")
    return school.photo_of(a["student_id"]), run


def test_probe_an_iso_instant_near_the_key_day_blocks_it(school, tmp_path):
    photo, run = _ben_at_2330(school, tmp_path, "2015-03-03T23:30:00")
    assert photo is None and run.code == 1, run.text[-600:]


def test_finding_a_text_date_with_its_time_is_not_moved_by_a_zone_as_an_instant_is(school, tmp_path):
    photo, run = _ben_at_2330(school, tmp_path, "03.03.2015 23:30:00")
    # WRONG: Ann gets it, exit 0; expected for no one, exit 1, as the ISO form of the same instant does.
    assert photo is None and run.code == 1, run.text[-600:]
