"""Round 19b probes: the plain after-reseed flow (README "After the database was reseeded", no reviewed file) on
schools with multi-year histories, two reseeds, twins and triplets with names written alike, namesakes, text birth
dates and the gap rule, the invariant checked after EVERY step: each current child's folder and `photo` link hold
their own face or nothing (a file already wrong before the run is left alone and never linked), no unique photo is
deleted, and a restore or verify says all done (exit 0) only when every child whose face exists has it, linked.
Each attack below was survived (passing)."""
from __future__ import annotations

import json

import pytest

from student_photos.sample import jpeg_bytes

CANON = "/api/photos/students/{}/profile.jpg"


class World:
    def __init__(self, school) -> None:
        self.school = school
        self.faces: dict[str, bytes] = {}
        self.current: dict[str, str] = {}  # sid -> person key
        self.log: list[tuple[str, int, str]] = []
        self.inherited: dict[str, bytes | None] = {}

    def face(self, key: str) -> bytes:
        return self.faces.setdefault(key, jpeg_bytes(f"the real face of {key}"))

    def folder(self, sid: str, key: str, attendance: int = 1) -> None:
        self.school.put_photo(sid, self.face(key), attendance)

    def backup(self, stamp: str, records: list[dict]) -> None:
        (self.school.backups / f"seed_backup_{stamp}.json").write_text(
            json.dumps({"timestamp": stamp, "students": records, "classes": []}))

    def seed(self, docs: list[tuple[str, dict]]) -> None:
        """docs: (person key, record) with record holding student_id."""
        self.school.collection.delete_many({})
        self.current = {}
        rows = []
        for key, rec in docs:
            rows.append({"photo": None, **rec})
            self.current[rec["student_id"]] = key
        self.school.seed(rows)

    def new_backup(self, stamp: str) -> None:
        self.backup(stamp, list(self.school.db_docs().values()))

    # ---- the invariant ----
    def owner_of(self, data: bytes | None) -> str | None:
        return next((k for k, v in self.faces.items() if v == data), None)

    def all_faces_on_disk(self) -> set[bytes]:
        found = set()
        for path in self.school.photos.rglob("*"):
            if path.is_file() and not path.is_symlink():
                found.add(path.read_bytes())
        return found

    def start(self) -> None:
        for sid, key in self.current.items():
            held = self.school.photo_of(sid)
            if held is not None and held != self.faces.get(key):
                self.inherited[sid] = held
        self.unique_at_start = self.all_faces_on_disk() & set(self.faces.values())
        docs = self.school.db_docs()
        self.inherited_links = {}
        for sid, key in self.current.items():
            data = self.linked(docs[sid].get("photo"))
            if data is not None and data != self.faces.get(key) and self.owner_of(data):
                self.inherited_links[sid] = docs[sid].get("photo")

    def linked(self, link):
        if isinstance(link, str) and link.startswith("/api/photos/"):
            path = self.school.photos / link[len("/api/photos/"):]
            if path.is_file():
                return path.read_bytes()
        return None

    def check(self, step: str, code: int, text: str) -> None:
        self.log.append((step, code, text))
        docs = self.school.db_docs()
        for sid, key in self.current.items():
            held = self.school.photo_of(sid)
            if sid in self.inherited:
                assert held == self.inherited[sid], f"{step}: {sid} ({key}) folder changed from its inherited file"
            else:
                assert held is None or held == self.faces.get(key), \
                    f"{step}: {key}'s folder {sid} holds {self.owner_of(held)}'s face\n{text}"
            link = docs[sid].get("photo")
            if sid in self.inherited_links and link == self.inherited_links[sid]:
                continue
            data = self.linked(link)
            if data is not None:
                if True:
                    assert data == self.faces.get(key) or self.owner_of(data) is None, \
                        f"{step}: {key} ({sid}) linked to {self.owner_of(data)}'s face at {link}\n{text}"
        lost = self.unique_at_start - self.all_faces_on_disk()
        assert not lost, f"{step}: unique photos deleted: {[self.owner_of(x) for x in lost]}"

    def all_well(self) -> list[str]:
        """What a person still needs to look at: a current child whose face exists but is not in place and linked."""
        problems = []
        docs = self.school.db_docs()
        on_disk = self.all_faces_on_disk()
        for sid, key in self.current.items():
            if sid in self.inherited:
                problems.append(f"{key}: folder {sid} holds another child's file")
                continue
            own = self.faces.get(key)
            if own is None or own not in on_disk:
                continue
            if sid in self.inherited_links:
                problems.append(f"{key}: linked to another child's face")
            elif self.school.photo_of(sid) != own:
                problems.append(f"{key}: own face exists but not in {sid}")
            elif docs[sid].get("photo") != CANON.format(sid):
                problems.append(f"{key}: not linked ({docs[sid].get('photo')!r})")
        return problems

    def step(self, name: str, run, *, honest: bool = False) -> int:
        self.check(name, run.code, run.text)
        if honest and run.code == 0:
            left = self.all_well()
            assert not left, f"{name} said all done (exit 0) while: {left}\n{run.text}"
        return run.code

    def readme_flow(self, stamp: str = "20261201_2300", stop_after: str | None = None) -> dict[str, int]:
        s = self.school
        self.start()
        codes = {}
        codes["list"] = self.step("--list", s.migrate("--list"))
        codes["migrate"] = self.step("--migrate", s.migrate("--migrate"))
        self.new_backup(stamp)
        codes["restore"] = self.step("restore", s.restore(MIN_DATABASE_RATIO="0"), honest=True)
        codes["verify"] = self.step("--verify-only", s.restore("--verify-only", MIN_DATABASE_RATIO="0"), honest=True)
        codes["deep"] = self.step("--deep", s.restore("--verify-only", "--deep", MIN_DATABASE_RATIO="0"),
                                  honest=True)
        codes["clean"] = self.step("--clean --confirm", s.migrate("--clean", "--confirm"))
        codes["verify2"] = self.step("--verify-only after clean",
                                     s.restore("--verify-only", MIN_DATABASE_RATIO="0"), honest=True)
        return codes


def _records(ids: dict[str, str], people: dict[str, dict]) -> list[dict]:
    return [{"student_id": ids[k], "photo": CANON.format(ids[k]), **rec} for k, rec in people.items() if k in ids]


def test_probe_multi_year_school_through_two_reseeds_and_two_flows(school):
    """2024 and 2025 backups (a marriage rename keeping the number, a corrected birth date, a leaver whose number
    went to Mohammed Kahn, a namesake Sam Taylor in another year, a child with only a name, twins Elias/Elisa and
    triplets Ava/Eva/Ana sharing birth date and family email); reseed 1, the whole flow; then reseed 2 handing the
    ids out again (the twins' and triplets' ids swapped among them, a leaver's id to a newcomer) and the flow again."""
    w = World(school)
    y2024 = {
        "mia": {"name": "Mia Chen", "date_of_birth": "2014-05-05", "student_number": 101},
        "ann": {"name": "Ann Lee", "date_of_birth": "2012-03-04", "student_number": 5},
        "khan": {"name": "Mohammed Khan", "date_of_birth": "2010-01-01", "student_number": 7},
        "elias": {"name": "Elias Park", "date_of_birth": "2015-03-04", "email": "park@fam.org"},
        "elisa": {"name": "Elisa Park", "date_of_birth": "2015-03-04", "email": "park@fam.org"},
        "ava": {"name": "Ava Ruiz", "date_of_birth": "2016-07-08", "email": "ruiz@fam.org"},
        "eva": {"name": "Eva Ruiz", "date_of_birth": "2016-07-08", "email": "ruiz@fam.org"},
        "ana": {"name": "Ana Ruiz", "date_of_birth": "2016-07-08", "email": "ruiz@fam.org"},
        "sam1": {"name": "Sam Taylor", "date_of_birth": "2013-01-01"},
        "kai": {"name": "Kai"},
        "lena": {"name": "Lena Vogel", "date_of_birth": "2014-09-10"},
    }
    y2025 = {k: dict(v) for k, v in y2024.items() if k != "khan"}
    y2025["ann"]["name"] = "Ann Smith"
    y2025["lena"]["date_of_birth"] = "2014-10-09"
    y2025["kahn"] = {"name": "Mohammed Kahn", "date_of_birth": "2016-02-02", "student_number": 7}
    y2025["sam2"] = {"name": "Sam Taylor", "date_of_birth": "2017-06-06"}
    a = {k: f"a-{k}" for k in {**y2024, **y2025}}
    for k in a:
        w.folder(a[k], k)
    w.backup("20240101_0000", _records({k: a[k] for k in y2024}, y2024))
    w.backup("20250601_0000", _records({k: a[k] for k in y2025}, y2025))
    b = {k: f"b-{k}" for k in y2025}
    w.seed([(k, {"student_id": b[k], **y2025[k]}) for k in y2025])
    first = w.readme_flow("20251001_0000")
    assert first["list"] == first["migrate"] == 1  # Kai (a name only), Lena (re-dated), the Khan/Kahn number
    for key in ("mia", "elias", "elisa", "ava", "eva", "ana", "sam1", "sam2"):
        assert school.photo_of(b[key]) == w.faces[key], key
    y2026 = {k: dict(v) for k, v in y2025.items() if k != "sam1"}
    y2026["zoe"] = {"name": "Zoe Adams", "date_of_birth": "2018-01-01"}
    c = {k: f"c-{k}" for k in y2026}
    c.update(elisa=b["elias"], elias=b["elisa"], zoe=b["sam1"], eva=b["ava"], ava=b["ana"], ana=b["eva"])
    w.log.clear()
    w.inherited = {}
    w.seed([(k, {"student_id": c[k], **y2026[k]}) for k in y2026])
    second = w.readme_flow("20261201_0000")
    assert set(second.values()) == {1}, second  # the swapped twins' and triplets' folders: wrong child


GAPS = {
    # the backup's record of S1, S1's holder now (fits it only through what it lacks), the real child (S7)
    "twin_sister_text_dates": ({"name": "Elias Park", "date_of_birth": "04/03/2015"}, {"name": "Elias Park"},
                               {"name": "Elisa Park", "date_of_birth": "4 March 2015"}),
    "middle_name_dropped": ({"name": "Ann Marie Lee", "date_of_birth": "2015-03-04"}, {"name": "Ann Marie Lee"},
                            {"name": "Ann Lee", "date_of_birth": "2015-03-04"}),
    "time_of_day_vs_text": ({"name": "Ann Lee", "date_of_birth": "2015-03-04T00:00:00"}, {"name": "Ann Lee"},
                            {"name": "Anne Lee", "date_of_birth": "04/03/2015"}),
    "text_number_case": ({"name": "Ann Lee", "student_number": "S-7"}, {"name": "Ann Lee"},
                         {"name": "Ann Smith", "student_number": "s-7"}),
}


@pytest.mark.parametrize("case", sorted(GAPS))
def test_probe_recycled_id_the_gap_rule_finds_the_child_written_or_dated_another_way(school, case):
    """S1's folder holds the real child's photo (uploaded by the app, no journal); a reseed gave S1 to a newcomer who
    lacks the field that tells them apart; the real child is S7 under a name or a date written another way."""
    rec, holder, real = GAPS[case]
    w = World(school)
    w.folder("S1", "real")
    w.backup("20250601_0000", [{"student_id": "S1", "photo": CANON.format("S1"), **rec}])
    w.seed([("holder", {"student_id": "S1", **holder}), ("real", {"student_id": "S7", **real})])
    codes = w.readme_flow()
    assert school.db_docs()["S1"]["photo"] is None and codes["restore"] == codes["verify"] == 1


NAMESAKES = {
    # the old record (its photo in o-1); the real child now; another current child who may look like them
    "iso_vs_text_namesake": ({"name": "Ann Lee", "date_of_birth": "2015-03-04"},
                             {"name": "Ann Lee", "date_of_birth": "04/03/2015"},
                             {"name": "Ann Lee", "date_of_birth": "2015-03-04"}),
    "text_both_readings": ({"name": "Ann Lee", "date_of_birth": "04/03/2015"},
                           {"name": "Ann Lee", "date_of_birth": "2015-04-03"},
                           {"name": "Ann Lee", "date_of_birth": "2015-03-04"}),
    "twins_text_vs_iso": ({"name": "Elias Park", "date_of_birth": "04/03/2015", "email": "p@f.org"},
                          {"name": "Elisa Park", "date_of_birth": "2015-04-03", "email": "p@f.org"},
                          {"name": "Elias Park", "date_of_birth": "2015-03-04", "email": "p@f.org"}),
    "order_and_one_letter": ({"name": "Lee, Ann", "date_of_birth": "2015-03-04"},
                             {"name": "Anna Lee", "date_of_birth": "2015-03-04"},
                             {"name": "Ann Lee", "date_of_birth": "2015-03-04"}),
    "twin_lacking_family_email": ({"name": "Ana Ruiz", "date_of_birth": "2016-07-08", "email": "r@f.org"},
                                  {"name": "Anna Ruiz", "date_of_birth": "2016-07-08", "email": "r@f.org"},
                                  {"name": "Ana Ruiz", "date_of_birth": "2016-07-08"}),
    "name_only_record": ({"name": "Kai Smith"}, {"name": "Kai", "date_of_birth": "2014-01-01"},
                         {"name": "Kai Smith", "date_of_birth": "2016-01-01"}),
    "number_reissued_alike": ({"name": "Mohammed Khan", "student_number": 7, "date_of_birth": "2010-01-01"},
                              {"name": "Mohammed Khan", "date_of_birth": "01/01/2010"},
                              {"name": "Mohammed Kahn", "student_number": 7, "date_of_birth": "2010-01-01"}),
    "corrected_text_date": ({"name": "Lena Vogel", "date_of_birth": "10/09/2014"},
                            {"name": "Lena Vogel", "date_of_birth": "2014-10-09"},
                            {"name": "Lena Vogel", "date_of_birth": "2014-09-10"}),
}


@pytest.mark.parametrize("link", [None, "real", "other"])
@pytest.mark.parametrize("case", sorted(NAMESAKES))
def test_probe_namesakes_text_dates_and_names_written_alike_never_give_the_photo_to_the_other(school, case, link):
    """Plain flow; variants: the reseed carried the old photo link on the real child's record, or on the other's."""
    old, real, other = NAMESAKES[case]
    w = World(school)
    w.folder("o-1", "real")
    w.backup("20250601_0000", [{"student_id": "o-1", "photo": CANON.format("o-1"), **old}])
    w.seed([("real", {"student_id": "n-real", **real, "photo": CANON.format("o-1") if link == "real" else None}),
            ("other", {"student_id": "n-other", **other, "photo": CANON.format("o-1") if link == "other" else None})])
    codes = w.readme_flow()
    assert codes["list"] == codes["migrate"] == 1, codes
    assert school.photo_of("n-other") is None


def test_probe_second_reseed_twins_ids_swapped_with_links_carried_is_never_all_done(school):
    """After a correct first migration, a second reseed gives Elias's id (and its `photo` link) to Elisa and hers
    to him (same birth date and family email): nothing is relinked or copied, and no step says all done."""
    w = World(school)
    fam = {"date_of_birth": "2015-03-04", "email": "park@fam.org"}
    w.folder("a-elias", "elias")
    w.folder("a-elisa", "elisa")
    w.backup("20240101_0000", [
        {"student_id": "a-elias", "name": "Elias Park", **fam, "photo": CANON.format("a-elias")},
        {"student_id": "a-elisa", "name": "Elisa Park", **fam, "photo": CANON.format("a-elisa")}])
    w.seed([("elias", {"student_id": "b-elias", "name": "Elias Park", **fam}),
            ("elisa", {"student_id": "b-elisa", "name": "Elisa Park", **fam})])
    assert school.migrate("--migrate").code == 0
    w.new_backup("20250101_0000")
    assert school.restore(MIN_DATABASE_RATIO="0").code == 0
    w.log.clear()
    w.inherited = {}
    w.seed([("elisa", {"student_id": "b-elias", "name": "Elisa Park", **fam, "photo": CANON.format("b-elias")}),
            ("elias", {"student_id": "b-elisa", "name": "Elias Park", **fam, "photo": CANON.format("b-elisa")})])
    codes = w.readme_flow("20261201_0000")
    assert set(codes.values()) == {1}, codes
