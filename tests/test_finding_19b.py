"""Round 19b findings: the plain after-reseed flow (README "After the database was reseeded", no reviewed file)
against today's identity rules (names written another way, text dates that may be one day). Each test asserts
the SAFE behaviour and fails on the current code."""
from __future__ import annotations

import json

import pytest
from old_records import CANON, MIDDLE, NEWEST, backup

from student_photos.sample import jpeg_bytes

AFTER = "seed_backup_20261201_2300.json"  # README step 5: the new backup, taken after the migration


def _new_backup(school) -> None:
    (school.backups / AFTER).write_text(json.dumps({"timestamp": "x", "students": list(school.db_docs().values()),
                                                   "classes": []}))


def _linked_bytes(school, sid: str) -> bytes | None:
    link = school.db_docs()[sid].get("photo")
    if isinstance(link, str) and link.startswith("/api/photos/"):
        path = school.photos / link[len("/api/photos/"):]
        return path.read_bytes() if path.is_file() else None
    return None


# Scenario: boy/girl twins Elias and Elisa Park (born 2016-07-08; the birth date is all the school records). The old
# app had the boy's name typed "Elisa Park" (two neighbouring letters swapped, the Khan/Kahn typo); his photo is in
# old folder o-real. His sister joined the school this year (variant "unphotographed": she was there too, also
# "Elisa Park" with that birth date in the backup, never photographed, so no folder). The reseed corrected him to
# "Elias Park" (n-real) and has her as "Elisa Park" (n-other). Likewise triplets: Eva's old record said "Ava Ruiz"
# (one letter apart) and her sister is Ava Ruiz; Ana's old record was "Ruiz Ana" (words in another order), now "Ana
# Ruiz", and a sibling is "Ruiz Ana". No reviewed file; the reseed carried no photo links (variant "restore": the
# sister's record carried the old link o-real's, as a seed copying photo fields by row does).
# What the tool did: migrate --list exit 0 ("Would migrate to: Elisa Park (n-other)", "nothing needs a person");
# --migrate exit 0 ("all done, nothing needs attention"), the boy's profile and attendance photos copied into his
# sister's folder; the restore links her to them (exit 1 only for his missing photo); --clean --confirm then
# removes o-real ("every file is byte-identical in n-other"). Variant "restore": the restore alone copies his photo
# into her folder and links it (exit 1 only for his missing photo).
# identity.choose returns MATCH for the exact name; a current student whose name is written alike with the same
# birth date (identity.respelled_only) is looked for only when nothing matches (matching.py, Outcome.NONE branch).
# Rule broken: safety.md section 1, "A name written differently is a question ... so is, where no identifier
# agrees, one with the same birth date and the name one letter apart (or two neighbouring letters swapped: `Khan`,
# `Kahn`), its words in another order ...: 'a corrected name?' (exit 1)" and "A match needs exactly one current
# student who is *same*; any current record that is *unknown* ... blocks." (A fix must keep twins who each have
# their own old folder migrating: test_probe_18a's twins.)
@pytest.mark.parametrize(("old_name", "real_now", "other_now"), [("Elisa Park", "Elias Park", "Elisa Park"),
                                                                 ("Ava Ruiz", "Eva Ruiz", "Ava Ruiz"),
                                                                 ("Ruiz Ana", "Ana Ruiz", "Ruiz Ana")])
@pytest.mark.parametrize("sister", ["newcomer", "unphotographed"])
@pytest.mark.parametrize("tool", ["migrate", pytest.param("restore", marks=pytest.mark.xfail(
    strict=True, reason="known gap: the restore's own choice of an old record's child (restore.EvidenceJudge) does not "
                        "yet doubt a match beside a classmate born the same day written alike, as migrate now does "
                        "(matching.MatchBook._doubt_respelled_classmates)"))])
def test_finding_exact_name_wins_over_a_twin_whose_corrected_name_is_written_alike(school, old_name, real_now,
                                                                                   other_now, tool, sister):
    day = "2016-07-08"
    face = school.put_photo("o-real", jpeg_bytes("the real face of the boy"), 2)
    sisters = [{"student_id": "o-sister", "name": old_name, "date_of_birth": day, "photo": None}] \
        if sister == "unphotographed" else []
    backup(school, MIDDLE, [{"student_id": "o-real", "name": old_name, "date_of_birth": day,
                             "photo": CANON.format("o-real")}, *sisters])
    link = CANON.format("o-real") if tool == "restore" else None
    school.seed([{"student_id": "n-real", "name": real_now, "date_of_birth": day, "photo": None},
                 {"student_id": "n-other", "name": other_now, "date_of_birth": day, "photo": link}])

    def never_hers(step: str, code: int) -> None:
        assert school.photo_of("n-other") != face, f"{step} (exit {code}): the boy's photo is in his sister's folder"
        assert _linked_bytes(school, "n-other") != face, f"{step} (exit {code}): his sister is linked to his photo"

    if tool == "migrate":
        listed = school.migrate("--list")
        never_hers("--list", listed.code)
        migrated = school.migrate("--migrate")
        never_hers("--migrate", migrated.code)
        assert (listed.code, migrated.code) == (1, 1), "a corrected name? is a person's question"
        _new_backup(school)
    restored = school.restore(MIN_DATABASE_RATIO="0")
    never_hers("restore", restored.code)


# Scenario: Ann Lee, born 4 March 2015; the old app kept the date as typed text ("04/03/2015"); the reseed came from
# a new system's export that writes dates as ISO ("2015-03-04") or its own text ("4/3/2015", "4 March 2015"), and
# the office corrected her name at the same time ("Anne Lee", or stored "Lee, Ann", or the first name only "Ann"
# with the surname in another field). The birth date is all the school records. Her photo is in old folder o-ann.
# What the tool did: migrate --list exit 0 with decision "no current student" ("no current student has this name
# (left the school?)"); --migrate exit 0 "all done, nothing needs attention", nothing copied; the child has no photo.
# Each drift alone is asked about (the name alone with the same ISO date: "a corrected name?", exit 1; the date text
# alone with the same name: unknown, exit 1); together they make her a leaver.
# Rule broken: safety.md section 1, "A date written as text is looked for by every day it may be ... wherever dates
# find candidates ... Two texts that may be the same day ... are never 'different' either: they cannot be compared
# (*unknown*, a question, exit 1)" and "A folder is not called a pupil who left while a current student could be
# them under a corrected name: ... where a birth date is all that is recorded, one with that birth date and a name one
# letter apart"; identity.respelled_only asks for dates that agree as codes, so a date that may be the same day
# never finds her (matching._renamed).
@pytest.mark.parametrize(("old_dob", "new_name", "new_dob"), [("04/03/2015", "Anne Lee", "2015-03-04"),
                                                              ("04/03/2015", "Anne Lee", "4/3/2015"),
                                                              ("2015-03-04", "Anne Lee", "04/03/2015"),
                                                              ("04/03/2015", "Lee, Ann", "4 March 2015"),
                                                              ("04/03/2015", "Ann", "2015-03-04")])
def test_finding_corrected_name_and_birth_date_written_another_way_is_called_a_leaver_exit_0(school, old_dob,
                                                                                            new_name, new_dob):
    school.put_photo("o-ann", jpeg_bytes("the real face of Ann"), 1)
    backup(school, NEWEST, [{"student_id": "o-ann", "name": "Ann Lee", "date_of_birth": old_dob,
                             "photo": CANON.format("o-ann")}])
    school.seed([{"student_id": "n-ann", "name": new_name, "date_of_birth": new_dob, "photo": None}])
    listed = school.migrate("--list", "--json")
    decision = {o["name"]: o["decision"] for o in listed.json["orphans"]}["o-ann"]
    migrated = school.migrate("--migrate", "--json")
    assert school.photo_of("n-ann") is None
    assert (listed.code, migrated.code) == (1, 1) and decision != "no current student", (decision, listed.text)


# Scenario: the old app recorded no birth dates: Kai Smith (born 2014) was "Kai Smith" and nothing else, in every
# backup. Era 1: folder a-kai (his first photo). Reseed 1 gave him b-kai; picture day put his new photo in
# students/b-kai (the app's upload, no journal); the backup of that era says b-kai = "Kai Smith" (no other field).
# Reseed 2 came from the new system, which records birth dates: it handed the ids out again, b-kai to a newcomer
# also named Kai Smith (born 2019), and the real Kai to c-kai (born 2014). Plain flow, README steps in order.
# What the tool did: the restore links the newcomer (b-kai) to students/b-kai/profile.jpg, the older Kai's photo
# ("Updating database link: null -> /api/photos/students/b-kai/profile.jpg"), no identity problem for b-kai;
# --verify-only --deep reports only c-kai's missing photo; migrate --list has no earlier_owners. (Each exit is 1
# only for other reasons: a-kai is "ambiguous: 2 current students fit", c-kai is missing a photo.) Migrate itself
# says a name-only "Kai Smith" record fits both current Kai Smiths; the restore takes b-kai's identical record as
# proof for its holder.
# Rule broken: safety.md, "Restore's evidence": "A backup record of the student's own id that shares only the name
# (the database record has fields, the backup's has none that agree) is no proof for the photo it links: an id can
# be recycled" (here the photo it links is its own folder's; the check in restore.py skips a canonical link); and
# section 1, "Only *same* moves anything", "A name alone is never proof, even where neither record holds an
# identifying field". (test_restore.py's test_a_backup_record_that_shares_only_the_name_is_no_proof_for_its_photo_link
# covers the same leaver's photo as an upload elsewhere.)
@pytest.mark.xfail(strict=True, reason="known gap: a name-only backup record of the id's own folder is taken for "
                   "its holder; refusing it would refuse every photo of a school whose old system recorded names only")
def test_finding_recycled_id_name_only_record_links_a_namesake_newcomer_to_the_older_childs_photo(school):
    school.put_photo("a-kai", jpeg_bytes("Kai Smith, 2023"), 1)
    backup(school, MIDDLE, [{"student_id": "a-kai", "name": "Kai Smith", "photo": CANON.format("a-kai")}])
    picture_day = school.put_photo("b-kai", jpeg_bytes("Kai Smith, picture day 2025"), 1)
    backup(school, NEWEST, [{"student_id": "b-kai", "name": "Kai Smith", "photo": CANON.format("b-kai")}])
    school.seed([{"student_id": "b-kai", "name": "Kai Smith", "date_of_birth": "2019-01-01", "photo": None},
                 {"student_id": "c-kai", "name": "Kai Smith", "date_of_birth": "2014-01-01", "photo": None}])
    listed = school.migrate("--list", "--json")
    migrated = school.migrate("--migrate", "--json")
    assert school.photo_of("c-kai") is None  # (a-kai: only the name agrees; nothing copied)
    _new_backup(school)
    restored = school.restore("--json", MIN_DATABASE_RATIO="0")
    verified = school.restore("--verify-only", "--json", MIN_DATABASE_RATIO="0")
    assert _linked_bytes(school, "b-kai") != picture_day, "the newcomer is linked to the older Kai's photo"
    flagged = {p["student_id"] for p in verified.json["problems"] if p["problem"] != "missing"}
    assert "b-kai" in flagged and "b-kai" in json.dumps(listed.json.get("earlier_owners")), \
        (restored.json["problems"], listed.json.get("earlier_owners"), migrated.code)
