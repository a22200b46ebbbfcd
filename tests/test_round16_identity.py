"""Round 16c: agreement on a value many current records hold (an office email, a year group) identifies no one
child (identity.only_common with identity.choose), and a record that fits an id's holder only through a gap is
another child when it is proven one (identity.proven_someone_else)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from student_photos.identity import (
    MAX_SHARED_IDENTIFIER,
    Outcome,
    choose,
    identifier_codes,
    person_of,
    proven_someone_else,
)

FIELDS = ("date_of_birth", "email", "year_group")


@settings(max_examples=200, deadline=None)
@given(holders=st.integers(min_value=1, max_value=3 * MAX_SHARED_IDENTIFIER),
       email=st.sampled_from(["office@school.org", "ann@example.org"]), year=st.integers(1, 13),
       shared=st.sampled_from(["email", "year_group"]), newcomer_has_birth_date=st.booleans())
def test_a_name_and_a_value_many_share_never_match(holders, email, year, shared, newcomer_has_birth_date):
    """A leaver and a newcomer of the same name agree on one value only (the newcomer's birth date not entered, or
    entered and equal). MATCH only when a field that fewer than the cap hold (or the birth date) agrees."""
    leaver = person_of("Ann Lee", ("2010-01-01", email, year))
    newcomer = person_of("Ann Lee", ("2010-01-01" if newcomer_has_birth_date else None,
                                     email if shared == "email" else None, year if shared == "year_group" else None))
    counts = {code: holders for code in identifier_codes(leaver)}
    choice = choose(leaver, [("NEW1", newcomer)], FIELDS, holders=lambda pos, code: counts.get((pos, code), 0))
    if newcomer_has_birth_date:
        assert choice.outcome is Outcome.MATCH, choice.reason  # the name and the birth date: the usual proof
    elif holders > MAX_SHARED_IDENTIFIER:
        assert choice.outcome is not Outcome.MATCH, choice.reason
        assert "identifies no one child" in choice.reason or "only the name" in choice.reason, choice.reason
    else:
        assert choice.outcome is Outcome.MATCH, choice.reason


@pytest.mark.parametrize("other_exists", [True, False])
def test_a_record_fitting_its_holder_by_a_gap_is_someone_else_only_when_proven(other_exists):
    old = person_of("Mohammed Khan", ("2012-01-01", None, None))
    real = ("S7", person_of("Mohammed Khan", ("2012-01-01", None, None)))
    namesake = ("S9", person_of("Mohammed Khan", ("2015-05-05", None, None)))
    candidates = [namesake, real] if other_exists else [namesake]
    found = proven_someone_else(old, "S1", candidates, FIELDS)
    assert (found is not None and found[0] == "S7") == other_exists
    assert proven_someone_else(old, "S7", [real], FIELDS) is None  # the holder itself is never "someone else"
