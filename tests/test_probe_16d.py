"""Round 16d probes: the two identity rules of round 16c (identity.proven_someone_else, identity.common_fields)."""
from __future__ import annotations

import pytest
from old_records import CANON, NEWEST, OLDEST, backup

from student_photos.sample import jpeg_bytes


def _flagged(run, sid):
    return sid in {p["student_id"] for p in run.json["problems"]} | \
        {s for d in run.json.get("deep") or [] for s in d.get("students", [])}


def _gap(school, *, holder_name="Mohammed Khan", real_name="Mohammed Khan", real_id="S7", dup_real=False,
         old_sid="S1", extra_backups=(), old_name="Mohammed Khan"):
    school.put_photo("S1", jpeg_bytes("old mohammed, born 2012"))
    backup(school, NEWEST, [{"student_id": old_sid, "name": old_name, "date_of_birth": "2012-01-01",
                             "photo": CANON.format("S1")}])
    for name, recs in extra_backups:
        backup(school, name, recs)
    docs = [{"student_id": "S1", "name": holder_name, "photo": CANON.format("S1")}]
    real = {"student_id": real_id, "name": real_name, "date_of_birth": "2012-01-01", "photo": CANON.format(real_id)}
    docs.append(real)
    if dup_real:
        docs.append(dict(real))
    school.put_photo(real_id, jpeg_bytes("real mohammed, new upload"))
    school.seed(docs)


# ---------------------------------------------------------------- proven_someone_else
@pytest.mark.parametrize("tool", ["restore", "deep", "list"])
def test_probe_proven_other_recorded_twice_still_flags(school, tool):
    _gap(school, dup_real=True)
    run = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.restore("--json", "--verify-only", "--deep", MIN_DATABASE_RATIO="0") if tool == "deep" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text


@pytest.mark.parametrize("tool", ["restore", "list"])
def test_probe_case_variant_old_id_still_flags(school, tool):
    _gap(school, old_sid="s1")
    run = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.migrate("--list", "--json")
    assert run.code != 0, run.text


@pytest.mark.parametrize("tool", ["restore", "list"])
def test_probe_gap_record_in_an_older_backup_only(school, tool):
    # NEWEST says S1 = the newcomer (no birth date); OLDEST says S1 = the real Mohammed, born 2012 (now S7).
    school.put_photo("S1", jpeg_bytes("old mohammed"))
    backup(school, OLDEST, [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                             "photo": CANON.format("S1")}])
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "photo": CANON.format("S1")},
                            {"student_id": "S7", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                             "photo": CANON.format("S7")}])
    school.put_photo("S7", jpeg_bytes("real"))
    school.seed([{"student_id": "S1", "name": "Mohammed Khan", "photo": CANON.format("S1")},
                 {"student_id": "S7", "name": "Mohammed Khan", "date_of_birth": "2012-01-01",
                  "photo": CANON.format("S7")}])
    run = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text


@pytest.mark.parametrize("tool", ["restore", "list"])
def test_probe_holder_in_case_of_name_written_in_capitals(school, tool):
    _gap(school, real_name="MOHAMMED KHAN")
    run = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text


def test_probe_gap_with_an_email_proof(school):
    # the backup lacks the birth date; the holder lacks the email: the email proves S7
    school.put_photo("S1", jpeg_bytes("old"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Mohammed Khan", "email": "mk@fam.org",
                             "photo": CANON.format("S1")}])
    school.seed([{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "2016-01-01",
                  "photo": CANON.format("S1")},
                 {"student_id": "S7", "name": "Mohammed Khan", "email": "mk@fam.org", "date_of_birth": "2012-01-01",
                  "photo": None}])
    for run in (school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0"), school.migrate("--list", "--json")):
        assert run.code == 1, run.text


def test_probe_many_namesakes_performance(school):
    import time
    school.put_photo("S1", jpeg_bytes("old"))
    recs = [{"student_id": "S1", "name": "Mohammed Khan", "date_of_birth": "2012-01-01", "photo": CANON.format("S1")}]
    recs += [{"student_id": f"B{i}", "name": "Mohammed Khan",
              "date_of_birth": f"2011-{1 + i % 12:02d}-{1 + i % 28:02d}", "photo": CANON.format(f"B{i}")}
             for i in range(1500)]
    backup(school, NEWEST, recs)
    docs = [{"student_id": f"B{i}", "name": "Mohammed Khan", "photo": CANON.format(f"B{i}")} for i in range(1500)]
    docs += [{"student_id": "S1", "name": "Mohammed Khan", "photo": CANON.format("S1")}]
    school.seed(docs)
    start = time.monotonic()
    run = school.migrate("--list", "--json")
    assert time.monotonic() - start < 60
    start = time.monotonic()
    run2 = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0")
    assert time.monotonic() - start < 60, (run.code, run2.code)


# ---------------------------------------------------------------- common_fields
def _office(school, others, *, newcomer_email="office@school.org", leaver_email="office@school.org",
            newcomer_dob=None, dup=0):
    school.put_photo("OLD1", jpeg_bytes("ann who left"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "email": leaver_email,
                             "date_of_birth": "2010-01-01", "photo": CANON.format("OLD1")}])
    new = {"student_id": "NEW1", "name": "Ann Lee", "email": newcomer_email, "photo": None}
    if newcomer_dob:
        new["date_of_birth"] = newcomer_dob
    docs = [new] + [{"student_id": f"K{i}", "name": f"Kid {i}", "email": "office@school.org",
                     "photo": CANON.format(f"K{i}")} for i in range(others)]
    for d in docs[1:]:
        school.put_photo(d["student_id"])
    docs += [dict(docs[1 + i]) for i in range(dup)]
    school.seed(docs)


@pytest.mark.parametrize("others", [20, 25])
def test_probe_21_holders_with_the_newcomer_is_common(school, others):
    _office(school, others)
    run = school.migrate("--migrate", "--json")
    assert school.photo_of("NEW1") is None and run.code == 1, run.json["orphans"]


def test_probe_20_holders_is_a_match_by_design(school):
    _office(school, 19)
    run = school.migrate("--list", "--json")
    assert run.code in (0, 1)


@pytest.mark.parametrize("which", ["leaver list", "newcomer list"])
def test_probe_list_email_one_common_one_unique(school, which):
    lst = ["office@school.org", "ann@fam.org"]
    if which == "leaver list":
        _office(school, 25, leaver_email=lst)
    else:
        _office(school, 25, newcomer_email=lst)
    run = school.migrate("--migrate", "--json")
    assert school.photo_of("NEW1") is None and run.code == 1, run.json["orphans"]


def test_probe_common_plus_agreeing_birth_date_still_matches(school):
    _office(school, 25, newcomer_dob="2010-01-01")
    run = school.migrate("--migrate", "--json")
    assert school.photo_of("NEW1") == jpeg_bytes("ann who left") and run.code == 0, run.json["orphans"]


def test_probe_common_counted_with_duplicated_docs(school):
    # 15 holders, 6 of them recorded twice: 21 documents, 15 children
    _office(school, 14, dup=6)
    run = school.migrate("--list", "--json")
    run2 = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0")
    assert run.code in (0, 1) and run2.code in (0, 1, 2)


def test_probe_restore_copy_from_old_folder_with_the_office_email(school):
    # the newcomer's database link names the leaver's old folder: restore must not copy it on name + office email
    school.put_photo("OLD1", jpeg_bytes("ann who left"))
    backup(school, NEWEST, [{"student_id": "OLD1", "name": "Ann Lee", "email": "office@school.org",
                             "date_of_birth": "2010-01-01", "photo": CANON.format("OLD1")}])
    docs = [{"student_id": "NEW1", "name": "Ann Lee", "email": "office@school.org", "photo": CANON.format("OLD1")}]
    docs += [{"student_id": f"K{i}", "name": f"Kid {i}", "email": "office@school.org",
              "photo": CANON.format(f"K{i}")} for i in range(25)]
    for d in docs[1:]:
        school.put_photo(d["student_id"])
    school.seed(docs)
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.photo_of("NEW1") is None and run.code != 0, run.text


def test_probe_reseed_of_30_with_name_and_birth_date_all_migrate(school):
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_migrate import Reseed
    r = Reseed(school)
    for i in range(30):
        r.child(f"k{i}", f"Child {i}", date_of_birth=f"2012-{1 + i % 12:02d}-{1 + i:02d}" if i < 28 else "2013-05-05",
                email="office@school.org")
    r.commit()
    run = school.migrate("--migrate", "--json")
    assert run.code == 0, run.text
    for key in r.new:
        assert school.photo_of(r.new_id(key)) == r.photos[key]


@pytest.mark.parametrize("names", [("Mohammed Khan", "Mohammed Khan", "Mohammed  Khan"),
                                   ("Mohammed Khan", "Mohammed Khan", "MOHAMMED KHAN "),
                                   ("Zoë Adams", "Zoe Adams", "Zoë Adams")])
@pytest.mark.parametrize("tool", ["restore", "list"])
def test_probe_gap_names_equal_after_folding_or_holder_written_otherwise(school, names, tool):
    old_name, holder, real = names
    _gap(school, old_name=old_name, holder_name=holder, real_name=real)
    run = school.restore("--json", "--verify-only", MIN_DATABASE_RATIO="0") if tool == "restore" else \
        school.migrate("--list", "--json")
    assert run.code == 1, run.text


def _kids(n):
    return [{"student_id": f"K{i}", "name": f"Kid {i}", "email": "office@school.org",
             "photo": CANON.format(f"K{i}")} for i in range(n)]


def test_probe_backup_link_to_a_leavers_folder_not_followed_on_the_office_email(school):
    school.put_photo("OLD9", jpeg_bytes("ann who left, born 2010"))
    backup(school, NEWEST, [{"student_id": "S1", "name": "Ann Lee", "date_of_birth": "2010-01-01",
                             "email": "office@school.org", "photo": CANON.format("OLD9")}])
    docs = [{"student_id": "S1", "name": "Ann Lee", "email": "office@school.org", "photo": CANON.format("S1")}]
    docs += _kids(25)
    for d in docs[1:]:
        school.put_photo(d["student_id"])
    school.seed(docs)
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.photo_of("S1") is None and run.code == 1, run.text


def test_probe_photo_in_place_named_by_a_leaver_name_only_is_doubted(school):
    # the control of test_finding_photo_in_place_..._office_email: without the email it is refused
    school.put_photo("NEW1", jpeg_bytes("ann who left, born 2010"))
    backup(school, NEWEST, [{"student_id": "OLD9", "name": "Ann Lee", "date_of_birth": "2010-01-01",
                             "photo": CANON.format("NEW1")}])
    school.seed([{"student_id": "NEW1", "name": "Ann Lee", "photo": None}])
    run = school.restore("--json", MIN_DATABASE_RATIO="0")
    assert school.db_docs()["NEW1"]["photo"] is None and run.code == 1, run.text
