"""Oracle: hostile districts with a known ground truth, run through the real scripts, checked after every step.

Every photo's bytes carry its true owner (``jpeg_bytes("person:<key>|<where>")``), every database document's
true person is kept aside (by its ``_id``), so after each step the oracle can say, without asking the tools:

1. a file that appeared or changed in a current student's folder is that student's own photo;
2. a database ``photo`` link the step set points at a file holding that student's own photo;
3. no photo (by content) disappeared from the photo store, and only ``--clean --confirm`` removes paths, only
   inside orphaned folders;
4. exit codes are 0/1/2 and agree with the JSON; no traceback; read-only modes change nothing; exit 0 is never
   given while a student is left without a photo (restore) or a true match was not carried (migrate).

A wrong placement is *excused* (counted as an inherent name-only risk, not failed) only when no tool could
have known: the true owner has no database document at all, has the same name, and every backup record of
the source folder agrees (or is silent) on every identifying field with the receiving student's record.

Environment: ORACLE_EXAMPLES (default 40) examples per property. The run ends with refusal statistics.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from bson import Decimal128, Int64, ObjectId
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from conftest import Result, School
from student_photos.sample import jpeg_bytes

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "40"))
ENV = {"MIN_DATABASE_RATIO": "0"}  # leavers may shrink a district: the size check is not under test here
LABEL = re.compile(rb"person:([A-Za-z0-9_]+)\|")
CANON = "/api/photos/students/{}/profile.jpg"
SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")

# Base names: distinct after any normalisation. Renderings below must all mean the same name.
NAME_POOL = ["Sam Taylor", "Alex Kim", "Zoë Brown", "Jo-Ann O'Neil", "Li Wei", "Mia Hernández"]
DOBS = [date(2014, 2, 3), date(2014, 11, 30), date(2015, 7, 7), date(2015, 7, 8), date(2016, 1, 1)]  # few

STATS: Counter = Counter()
REASONS: Counter = Counter()
FINDINGS: list[str] = []


def label_of(data: bytes | None) -> str | None:
    if data is None:
        return None
    match = LABEL.search(data)
    return match.group(1).decode() if match else None


def photo(person: str, where: str) -> bytes:
    return jpeg_bytes(f"person:{person}|{where}")


# ---------------------------------------------------------------- renderings of one value
def render_name(draw, name: str) -> object:
    kind = draw(st.sampled_from(["plain"] * 6 + ["upper", "lower", "spaces", "invisible", "nfd", "dash",
                                                "nbsp", "missing", "not_text"]))
    if kind == "upper":
        return name.upper()
    if kind == "lower":
        return name.lower()
    if kind == "spaces":
        return "  " + name.replace(" ", "   ") + " "
    if kind == "invisible":
        ch = draw(st.sampled_from(["\u200b", "\u00ad", "\u200e", "\ufeff", "\u2060"]))
        pos = draw(st.integers(0, len(name)))
        return name[:pos] + ch + name[pos:]
    if kind == "nfd":
        return unicodedata.normalize("NFD", name)
    if kind == "dash":
        return name.replace("-", "\u2010").replace("'", "\u2019")
    if kind == "nbsp":
        return name.replace(" ", "\u00a0")
    if kind == "missing":
        return None
    if kind == "not_text":
        return draw(st.sampled_from([42, [name], {"first": name}]))
    return name


def render_dob(draw, dob: date | None, in_db: bool) -> tuple[bool, object]:
    """(present, value); value may be uncomparable on purpose."""
    if dob is None:
        return False, None
    kinds = ["absent", "iso", "iso", "iso_midnight", "slash", "uncomparable"]
    kinds += ["datetime", "datetime", "datetime_noon", "datetime_shifted"] if in_db else \
        ["date_z", "date_z", "date_millis", "iso_zone", "iso_offset", "date_shifted"]
    kind = draw(st.sampled_from(kinds))
    iso = dob.isoformat()
    if kind == "absent":
        return False, None
    if kind == "iso":
        return True, iso
    if kind == "iso_midnight":
        return True, iso + "T00:00:00"
    if kind == "slash":
        return True, iso.replace("-", "/")
    if kind == "iso_zone":
        return True, iso + "T00:00:00.000+00:00"
    if kind == "date_z":
        return True, {"$date": iso + "T00:00:00Z"}
    if kind == "date_millis":
        millis = int(datetime(dob.year, dob.month, dob.day, tzinfo=timezone.utc).timestamp() * 1000)
        return True, {"$date": {"$numberLong": str(millis)}}
    if kind == "datetime":
        return True, datetime(dob.year, dob.month, dob.day)
    if kind == "iso_offset":
        return True, iso + "T00:00:00+01:00"
    if kind == "date_shifted":  # local midnight in a zone east of UTC, exported as the UTC instant
        return True, {"$date": (dob - timedelta(days=1)).isoformat() + "T23:00:00Z"}
    if kind == "datetime_shifted":
        day = dob - timedelta(days=1)
        return True, datetime(day.year, day.month, day.day, 23, 0)
    if kind == "datetime_noon":
        return True, datetime(dob.year, dob.month, dob.day, 12, 0)
    return True, draw(st.sampled_from([[iso], {"d": iso}, True]))


def render_number(draw, number: int | None, in_db: bool) -> tuple[bool, object]:
    if number is None:
        return False, None
    kinds = ["absent", "int", "padded", "padded", "float", "uncomparable"]
    kinds += ["int64", "decimal128"] if in_db else ["long", "decimal_ext", "str"]
    kind = draw(st.sampled_from(kinds))
    if kind == "absent":
        return False, None
    if kind == "int":
        return True, number
    if kind == "padded":
        return True, f"{number:07d}"
    if kind == "str":
        return True, str(number)
    if kind == "float":
        return True, float(number)
    if kind == "int64":
        return True, Int64(number)
    if kind == "decimal128":
        return True, Decimal128(str(number))
    if kind == "long":
        return True, {"$numberLong": str(number)}
    if kind == "decimal_ext":
        return True, {"$numberDecimal": f"{number}.0"}
    return True, draw(st.sampled_from([[number], {"n": number}, False]))


# ---------------------------------------------------------------- the district
@dataclass(frozen=True)
class Person:
    name: str  # as the database knows it
    dob: date | None
    number: int | None
    email: str | None
    old_name: str  # as the backups know it (a correction at the reseed makes it differ)

    def __iter__(self):
        return iter((self.name, self.dob, self.number, self.email, self.old_name))

    def true(self, field_name: str) -> object:
        return {"date_of_birth": self.dob, "student_number": self.number, "email": self.email}[field_name]


@dataclass
class Record:
    """One rendered record of a person: a backup entry or a database document."""

    person: str
    sid: object
    doc: dict
    comparable: dict = field(default_factory=dict)  # field -> True comparable / False uncomparable (absent: missing)
    name_ok: bool = True
    true_name: str = ""
    shifted: bool = False  # its date of birth is an instant a time zone moved to the previous UTC day

    def __repr__(self) -> str:
        return f"[{self.person}] {_show({k: v for k, v in self.doc.items() if k != '_id'})}"


@dataclass
class District:
    persons: dict  # key -> (name, dob, number)
    backups: list  # (file name, epoch, wrapped, [Record])
    db: list  # [Record]; doc["_id"] set
    files: dict  # path under photos/ -> bytes
    ids: dict = field(default_factory=dict)  # (key, epoch) -> id

    def __repr__(self) -> str:
        return "\n" + self.describe()

    def describe(self) -> str:
        out = ["persons:"]
        for key, (name, dob, number, email, old_name) in self.persons.items():
            out.append(f"  {key}: name={name!r}{'' if old_name == name else f' (before: {old_name!r})'} dob={dob} "
                       f"number={number} email={email} ids="
                       f"{[self.ids.get((key, e)) for e in range(len(self.backups) + 1)]}")
        for name, epoch, wrapped, records in self.backups:
            out.append(f"backup {name} (epoch {epoch}, {'wrapped' if wrapped else 'bare'}):")
            out += [f"  [{r.person}] {_show(r.doc)}" for r in records]
        out.append("database:")
        out += [f"  [{r.person}] {_show({k: v for k, v in r.doc.items() if k != '_id'})}" for r in self.db]
        out.append("files:")
        out += [f"  {path}: {label_of(data)} ({hashlib.sha1(data).hexdigest()[:6]})"
                for path, data in sorted(self.files.items())]
        return "\n".join(out)


def _show(doc: dict) -> str:
    return repr({k: v for k, v in doc.items()})


def same_name(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


def person_key(i: int) -> str:
    return f"p{i}"


@st.composite
def districts(draw) -> District:
    n = draw(st.integers(2, 8))
    k = draw(st.integers(1, 3))  # backups are epochs 0..k-1, the database is epoch k
    numeric = draw(st.booleans())  # ids like "2003" (an int 2003 elsewhere names the same folder)
    persons = {}
    for i in range(n):
        name = NAME_POOL[draw(st.integers(0, len(NAME_POOL) - 1))]
        dob = draw(st.one_of(st.none(), st.sampled_from(DOBS)))
        number = draw(st.one_of(st.none(), st.just(100 + i)))
        email = draw(st.one_of(st.none(), st.none(), st.just(f"{name.split()[0].lower()}.{i}@school.example")))
        old_name = name
        if draw(st.integers(0, 9)) == 0:  # the name was corrected at the reseed: backups hold the old spelling
            old_name = draw(st.sampled_from(["Jon Smith", name + "e", name.split()[0], "".join(
                c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))]))
        persons[person_key(i)] = Person(name, dob, number, email, old_name)
    if n > 1 and draw(st.integers(0, 2)) == 0:  # twins: one name, one birthday, nothing else on record
        a, b = draw(st.lists(st.sampled_from(list(persons)), min_size=2, max_size=2, unique=True))
        twin = persons[a]
        persons[a] = Person(twin.name, twin.dob or DOBS[0], None, None, twin.name)
        persons[b] = Person(twin.name, twin.dob or DOBS[0], None, None, twin.name)
    keys = list(persons)
    span = {}
    for key in keys:
        start = draw(st.integers(0, k))
        end = draw(st.integers(start, k))
        span[key] = (start, end)
    if not any(span[key][1] == k for key in keys):  # someone must be in the database
        span[keys[0]] = (span[keys[0]][0], k)
    reseed = {e: draw(st.booleans()) if e < k else draw(st.sampled_from([True, True, False]))
              for e in range(1, k + 1)}
    ids: dict = {}
    used_by_epoch: dict = {}
    all_ids: list = []
    for e in range(k + 1):
        used_by_epoch[e] = set()
        for key in keys:
            s, t = span[key]
            if not s <= e <= t:
                continue
            if e > s and not reseed[e]:
                sid = ids[(key, e - 1)]
            else:
                tag = "db" if e == k else f"b{e}"
                sid = str(1000 * (e + 1) + keys.index(key)) if numeric else f"{tag}-{key}"
                free = [x for x in all_ids if x not in used_by_epoch[e] and x not in
                        {ids.get((key, j)) for j in range(e)}]
                if free and draw(st.integers(0, 5)) == 0:  # a recycled id: someone else's old id
                    sid = draw(st.sampled_from(sorted(free)))
            if sid in used_by_epoch[e]:
                sid = f"{sid}-x{e}"
            ids[(key, e)] = sid
            used_by_epoch[e].add(sid)
            if sid not in all_ids:
                all_ids.append(sid)

    # the database's own ids: mostly as assigned, some invalid, some held by two documents
    current = [key for key in keys if (key, k) in ids]
    db_sid: dict = {}
    for key in current:
        sid = ids[(key, k)]
        roll = draw(st.integers(0, 11))
        if roll == 0:
            sid = draw(st.sampled_from([7, "a b", "../x", None]))
        elif roll == 2 and numeric and len(current) > 1:  # an int id that names another student's folder
            sid = int(ids[(draw(st.sampled_from([c for c in current if c != key])), k)].split("-")[0])
        elif roll == 1 and len(current) > 1:  # two documents, two people, one id
            sid = ids[(draw(st.sampled_from([c for c in current if c != key])), k)]
        db_sid[key] = sid

    # photos, taken epoch by epoch into the folder of the id held then; a later profile replaces an earlier
    files: dict = {}
    own_profiles: dict = {}  # key -> [paths of its profile photos]
    for e in range(k + 1):
        for key in keys:
            if (key, e) not in ids:
                continue
            folder = f"students/{ids[(key, e)]}"
            if e == k and db_sid[key] != ids[(key, k)]:  # the app files photos under str(student_id)
                if db_sid[key] is None or db_sid[key] == "../x":
                    continue
                folder = f"students/{db_sid[key]}"
            if draw(st.integers(0, 3)) > 0:
                files[f"{folder}/profile.jpg"] = photo(key, f"e{e}-profile")
            for a in range(draw(st.integers(0, 2))):
                files[f"{folder}/attendance/e{e}-{a}.jpg"] = photo(key, f"e{e}-att{a}")
            oddity = draw(st.integers(0, 15))
            if oddity == 0:  # a profile.jpg that is no photo (an HTML error page)
                files[f"{folder}/profile.jpg"] = f"<html>person:{key}|e{e}-error page</html>".encode()
            elif oddity == 1:  # files the tools do not carry
                files[f"{folder}/Profile.JPG"] = photo(key, f"e{e}-wrong case")
                files[f"{folder}/notes.txt"] = f"person:{key}|e{e}-notes".encode()
            elif oddity == 2:  # attendance kept in sub-folders
                files[f"{folder}/attendance/2024/e{e}-deep.jpg"] = photo(key, f"e{e}-deep")
    if draw(st.integers(0, 3)) == 0:  # a folder no backup and no database knows
        key = draw(st.sampled_from(keys))
        files["students/zz-unknown/profile.jpg"] = photo(key, "unknown-folder")
    for path, data in files.items():
        if path.endswith("profile.jpg"):
            own_profiles.setdefault(label_of(data), []).append(path)

    uploads_n = [0]

    def upload(data: bytes) -> str:
        uploads_n[0] += 1
        path = f"uploads/u{uploads_n[0]}.jpg"
        files[path] = data
        return "/api/photos/" + path

    def render_link(key: str, e: int, sid: object) -> object:
        kinds = ["canonical", "canonical", "none", "old_own", "old_own", "upload_own", "upload_own_copy",
                 "other_folder", "namesake_folder", "namesake_folder", "upload_foreign", "upload_shared", "not_api"]
        kind = draw(st.sampled_from(kinds))
        if kind == "canonical":
            return CANON.format(sid)
        if kind == "old_own":
            older = [ids[(key, j)] for j in range(e) if (key, j) in ids]
            if older:
                rel = draw(st.sampled_from(["profile.jpg", "attendance/e0-0.jpg"]))
                return f"/api/photos/students/{draw(st.sampled_from(older))}/{rel}"
        if kind == "upload_own":
            return upload(photo(key, f"upload-e{e}"))
        mine = [p for p in own_profiles.get(key, []) if p in files]
        if kind == "upload_own_copy" and mine:
            return upload(files[draw(st.sampled_from(mine))])
        if kind == "other_folder":
            return CANON.format(draw(st.sampled_from(all_ids)))
        if kind == "upload_foreign":
            foreign = sorted(p for p in files if p.startswith("students/") and label_of(files[p]) != key)
            if foreign:
                return upload(files[draw(st.sampled_from(foreign))])
        if kind == "namesake_folder":
            theirs = sorted({ids[(o, j)] for (o, j) in ids if o != key and j < e and
                             persons[o].name == persons[key].name})
            if theirs:
                return CANON.format(draw(st.sampled_from(theirs)))
        if kind == "upload_shared":
            shared = sorted(p for p in files if p.startswith("uploads/"))
            if shared:
                return "/api/photos/" + draw(st.sampled_from(shared))
        if kind == "not_api":
            return f"photos/{sid}.jpg"
        return None

    def render_record(key: str, e: int, sid: object, in_db: bool) -> Record:
        person = persons[key]
        name = person.name if in_db else person.old_name
        dob, number = person.dob, person.number
        doc = {"student_id": sid}
        rendered = render_name(draw, name)
        if rendered is not None:
            doc["name"] = rendered
        record = Record(key, sid, doc, name_ok=isinstance(rendered, str), true_name=name)
        if person.email is not None:
            kind = draw(st.sampled_from(["absent", "plain", "upper", "spaces", "uncomparable"]))
            if kind != "absent":
                doc["email"] = {"plain": person.email, "upper": person.email.upper(),
                                "spaces": f"  {person.email} ", "uncomparable": [person.email]}[kind]
                record.comparable["email"] = kind != "uncomparable"
        present, value = render_dob(draw, dob, in_db)
        if present:
            doc["date_of_birth"] = value
            record.comparable["date_of_birth"] = not isinstance(value, (list, dict, bool)) or (
                isinstance(value, dict) and "$date" in value)
            record.shifted = isinstance(value, datetime) and value.hour == 23 or \
                isinstance(value, dict) and str(value.get("$date", "")).endswith("T23:00:00Z")
        present, value = render_number(draw, number, in_db)
        if present:
            doc["student_number"] = value
            record.comparable["student_number"] = not isinstance(value, (list, bool)) and not (
                isinstance(value, dict) and not any(k.startswith("$") for k in value))
        link = render_link(key, e, sid)
        if link is not None or draw(st.booleans()):
            doc["photo"] = link
        return record

    backups = []
    stamps = sorted(draw(st.lists(st.integers(0, 9999), min_size=k, max_size=k, unique=True)))
    if draw(st.integers(0, 4)) == 0:  # the timestamps in the names disagree with the real order
        stamps = list(reversed(stamps))
    for e in range(k):
        records = [render_record(key, e, ids[(key, e)], False) for key in keys if (key, e) in ids]
        if records and draw(st.integers(0, 7)) == 0:  # one id twice in one backup, two different people
            victim = draw(st.sampled_from(records))
            other = draw(st.sampled_from(keys))
            if other != victim.person:
                records.append(render_record(other, e, victim.sid, False))
        for record in records:  # an older export may hold numeric ids as numbers: the folder is str(id)
            if numeric and record.sid.isdigit() and draw(st.integers(0, 3)) == 0:
                record.doc["student_id"] = int(record.sid)
        name = f"seed_backup_2025{1 + stamps[e] // 1000:02d}{1 + stamps[e] % 28:02d}_{stamps[e] % 24:02d}{e:02d}.json"
        backups.append((name, e, draw(st.booleans()), records))

    db = []
    for key in current:
        sid = db_sid[key]
        record = render_record(key, k, sid, True)
        if sid is None:
            record.doc.pop("student_id")
        record.doc["_id"] = ObjectId()
        db.append(record)
    district = District(persons, backups, db, files, ids)
    return district


# ---------------------------------------------------------------- building and observing
def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def build(school: School, district: District) -> None:
    for rel, data in district.files.items():
        path = school.photos / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, _epoch, wrapped, records in district.backups:
        students = [_jsonable(r.doc) for r in records]
        body = {"timestamp": "2025-11-15T05:37:00", "students": students} if wrapped else students
        (school.backups / name).write_text(json.dumps(body))
    if district.db:
        school.collection.insert_many([dict(r.doc) for r in district.db])


@dataclass
class State:
    files: dict  # path under photos/ -> bytes (regular files only, dot-dirs included)
    dirs: set
    db: dict  # _id -> doc


def observe(school: School) -> State:
    files, dirs = {}, set()
    for path in school.photos.rglob("*"):
        rel = str(path.relative_to(school.photos))
        if path.is_symlink():
            files[rel] = b"symlink:" + os.readlink(path).encode()
        elif path.is_dir():
            dirs.add(rel)
        else:
            files[rel] = path.read_bytes()
    return State(files, dirs, {d["_id"]: d for d in school.collection.find({})})


def is_tool_path(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


class Oracle:
    def __init__(self, school: School, district: District) -> None:
        self.school, self.d = school, district
        self.truth = {r.doc["_id"]: r.person for r in district.db}
        self.record_of = {r.doc["_id"]: r for r in district.db}
        raw_ids = [r.doc.get("student_id") for r in district.db]
        counts = Counter(s for s in raw_ids if isinstance(s, str))
        # a current student who can receive: a valid id held by one document
        self.current = {r.doc["student_id"]: r for r in district.db
                        if isinstance(r.doc.get("student_id"), str) and SAFE_ID.fullmatch(r.doc["student_id"])
                        and counts[r.doc["student_id"]] == 1}
        self.db_id_texts = {s if isinstance(s, str) else repr(s) for s in raw_ids if s is not None}
        self.in_db = {r.person for r in district.db}
        self.history: dict = {}  # old id -> [Record]
        for _name, _epoch, _wrapped, records in district.backups:
            for r in records:
                if isinstance(r.sid, str):
                    self.history.setdefault(r.sid, []).append(r)
        self.excused: list[str] = []
        self.start = observe(school)

    # -- excuses: nobody could have known
    def indistinguishable(self, source_records: list, receiver: Record) -> bool:
        p = self.d.persons
        if not receiver.name_ok or any(not r.name_ok for r in source_records):
            return False
        for r in source_records:
            if same_name(r.true_name, receiver.true_name) is False:
                return False
            for f in ("date_of_birth", "student_number", "email"):
                if f in r.comparable and f in receiver.comparable:
                    if not (r.comparable[f] and receiver.comparable[f]):
                        return False
                    if p[r.person].true(f) != p[receiver.person].true(f):
                        return False
        return True

    def excusable(self, data: bytes, owner: str, receiver: Record, before: State) -> bool:
        """Another person's photo reached ``receiver``: could any tool have known?"""
        sid = receiver.doc.get("student_id")
        for rel, blob in before.files.items():
            if blob != data:
                continue
            if rel.startswith("uploads/"):  # named by a backup record of the receiver's own id
                linking = [r for r in self.history.get(sid, []) if r.doc.get("photo") == "/api/photos/" + rel]
                if any(r.person == owner for r in linking) and \
                        self.indistinguishable(self.history.get(sid, []), receiver):
                    return True
                continue
            if not rel.startswith("students/"):
                continue
            folder = rel.split("/")[1]
            records = self.history.get(folder, [])
            if not (any(r.person == owner for r in records) and self.indistinguishable(records, receiver)):
                continue
            # the receiver's own id, held before by someone nothing tells apart from them: id continuity
            # is the evidence; another folder: only when the true owner is no database candidate at all,
            # and no other old folder fits the receiver as well (then which one is theirs is not known)
            if folder == receiver.doc.get("student_id"):
                return True
            if owner not in self.in_db and len(self.fitting_folders(receiver, before)) <= 1:
                return True
        return False

    def fitting_folders(self, receiver: Record, before: State) -> list:
        """Orphaned folders whose every backup record nothing tells apart from ``receiver``."""
        names = {rel.split("/")[1] for rel in before.dirs if rel.startswith("students/") and rel.count("/") == 1}
        return sorted(f for f in names if f not in self.db_id_texts and self.history.get(f)
                      and self.indistinguishable(self.history[f], receiver))

    # -- the invariants
    def check(self, step: str, args: tuple, result, before: State, after: State) -> None:
        fail = []
        text = result.out + result.err
        assert result.code in (0, 1, 2), f"{step}: exit code {result.code}\n{text[-3000:]}"
        assert "Traceback" not in text, f"{step}: traceback\n{text[-3000:]}"
        if result.err == "usage error":
            assert result.code == 2 and before.files == after.files and before.db == after.db, step
            return
        try:
            document = json.loads(result.out)
        except ValueError:
            pytest.fail(f"{step}: output is not one JSON document\n{text[-3000:]}")
        assert document.get("exit_code") == result.code, f"{step}: JSON exit_code {document.get('exit_code')} " \
                                                         f"!= {result.code}"
        read_only = "--verify-only" in args or "--list" in args or ("--clean" in args and "--confirm" not in args)
        if read_only:
            changed = {p for p in set(before.files) | set(after.files) if before.files.get(p) != after.files.get(p)}
            if changed or before.dirs != after.dirs:
                fail.append(f"read-only {step} changed the store: {sorted(changed)[:5]} "
                            f"{sorted(before.dirs ^ after.dirs)[:5]}")
            if before.db != after.db:
                fail.append(f"read-only {step} changed the database")

        # 1. new or changed files: only into a current student's own folder, only their own photos
        for rel, data in after.files.items():
            if before.files.get(rel) == data or is_tool_path(rel):
                continue
            parts = rel.split("/")
            if parts[0] != "students" or parts[1] not in self.current:
                fail.append(f"{step} wrote {rel}, which is not a current student's folder")
                continue
            receiver = self.current[parts[1]]
            owner = label_of(data)
            if owner != receiver.person:
                if self.excusable(data, owner, receiver, before):
                    self.excused.append(f"{step}: {rel} got {owner}'s photo (inherent: name-only)")
                    STATS["excused wrong placements (name-only, owner not in db)"] += 1
                else:
                    fail.append(f"WRONG CHILD: {step} put {owner}'s photo at {rel}, the folder of "
                                f"{receiver.person}")

        # 2. links the step set
        for _id, doc in after.db.items():
            old = before.db.get(_id, {})
            if old.get("photo") == doc.get("photo") and ("photo" in old) == ("photo" in doc):
                continue
            receiver = self.record_of[_id]
            link = doc.get("photo")
            if not isinstance(link, str) or not link.startswith("/api/photos/"):
                fail.append(f"{step} set a link that is not a path: {link!r} for {receiver.person}")
                continue
            rel = link[len("/api/photos/"):]
            data = after.files.get(rel)
            owner = label_of(data)
            if owner != receiver.person:
                if data is not None and self.excusable(data, owner, receiver, before):
                    self.excused.append(f"{step}: link of {receiver.person} -> {owner}'s photo (inherent)")
                    STATS["excused wrong links (name-only, owner not in db)"] += 1
                else:
                    fail.append(f"WRONG LINK: {step} linked {receiver.person} (student_id "
                                f"{doc.get('student_id')!r}) to {rel}, which holds {owner}'s photo")

        # 2b. a link nobody changed must not start showing another child: its target file was written
        for _id, doc in after.db.items():
            link = doc.get("photo")
            if not isinstance(link, str) or not link.startswith("/api/photos/"):
                continue
            rel = link[len("/api/photos/"):]
            data = after.files.get(rel)
            if data is None or before.files.get(rel) == data or is_tool_path(rel):
                continue
            if link != CANON.format(doc.get("student_id")):
                continue  # a link into someone else's folder is the database's own mistake, not this step's
            receiver = self.record_of[_id]
            owner = label_of(data)
            if owner != receiver.person and not self.excusable(data, owner, receiver, before):
                fail.append(f"LINK NOW SHOWS ANOTHER CHILD: {step} wrote {rel} ({owner}'s photo), which the "
                            f"database link of {receiver.person} (student_id {doc.get('student_id')!r}) names")

        # 3. nothing lost; only --clean --confirm removes, only orphaned folders
        kept = set(after.files.values())
        for rel, data in before.files.items():
            if is_tool_path(rel):
                continue
            if data not in kept:
                fail.append(f"LOST: {step} removed the only copy of {rel} ({label_of(data)}'s photo)")
            elif rel not in after.files:
                parts = rel.split("/")
                if not ("--clean" in args and "--confirm" in args and parts[0] == "students"
                        and parts[1] not in self.db_id_texts):
                    fail.append(f"{step} removed {rel}")

        # 4. exit 0 only when nothing is left for a person
        if result.code == 0:
            fail += self.exit_zero_lies(step, args, after, document)
        if "--verify-only" not in args and args and args[0] in ("--list", "--migrate", "--clean"):
            fail += self.silent_no_match(step, before, document)
        assert not fail, "\n".join(fail)

    def orphans(self, state: State) -> dict:
        """Orphaned folders (not named after any database id) with what a migration would carry."""
        out: dict = {}
        for rel, data in state.files.items():
            parts = rel.split("/")
            if parts[0] != "students" or len(parts) < 3 or parts[1] in self.db_id_texts or is_tool_path(rel):
                continue
            if parts[2] == "profile.jpg" and len(parts) == 3 or parts[2] == "attendance":
                out.setdefault(parts[1], {})["/".join(parts[2:])] = data
        return out

    def agreeing_field(self, folder: str, owner: Record) -> bool:
        """An identifier (a number or text: not a birth date, which many children share) is on record, comparable,
        for the old folder and for its owner now: then a corrected name must not pass for a child who left."""
        return any(r.comparable.get(f) and owner.comparable.get(f) for r in self.history.get(folder, [])
                   for f in ("student_number", "email"))

    def renamed(self, folder: str, owner: Record) -> bool:
        return any(not same_name(r.true_name, owner.true_name) for r in self.history.get(folder, []))

    def true_owner(self, folder: str) -> Record | None:
        """The current student an orphaned folder belongs to, if the backups say so without doubt."""
        records = self.history.get(folder, [])
        people = {r.person for r in records}
        if len(people) != 1:
            return None
        (person,) = people
        mine = [r for r in self.d.db if r.person == person]
        if len(mine) != 1 or mine[0].doc.get("student_id") not in self.current:
            return None
        return mine[0]

    def exit_zero_lies(self, step: str, args: tuple, after: State, document: dict) -> list:
        fail = []
        if args and args[0] in ("--list", "--migrate", "--clean"):
            if args[0] == "--migrate":
                for folder, held in self.orphans(after).items():
                    owner = self.true_owner(folder)
                    if owner is None:
                        continue
                    target = f"students/{owner.doc['student_id']}/"
                    if any(after.files.get(target + rel) != data for rel, data in held.items()):
                        if self.renamed(folder, owner) and not self.agreeing_field(folder, owner):
                            continue  # a new name and nothing else to go by: no tool can know
                        fail.append(f"EXIT 0 LIE: {step} exit 0 but orphan {folder} ({owner.person}'s) is not "
                                    f"carried to {owner.doc['student_id']}")
            return fail
        scope = [args[i + 1] for i, a in enumerate(args) if a == "--student"]
        if any(not isinstance(r.doc.get("student_id"), str) or not SAFE_ID.fullmatch(r.doc["student_id"])
               for r in self.d.db):
            fail.append(f"EXIT 0 LIE: {step} exit 0 with an invalid student_id in the database")
        for sid, record in self.current.items():
            if scope and sid not in scope:
                continue
            data = after.files.get(f"students/{sid}/profile.jpg")
            link = after.db[record.doc["_id"]].get("photo")
            if data is None or link != CANON.format(sid):
                fail.append(f"EXIT 0 LIE: {step} exit 0 but {record.person} ({sid}) has "
                            f"{'no photo' if data is None else 'link ' + repr(link)}")
            others = [r for r in self.history.get(sid, []) if r.person != record.person]
            if others and not self.indistinguishable(self.history[sid], record):
                fail.append(f"EXIT 0 LIE: {step} exit 0 but a backup holds another person under {sid}")
        dup = Counter(r.doc.get("student_id") for r in self.d.db if isinstance(r.doc.get("student_id"), str))
        if any(n > 1 and (not scope or s in scope) for s, n in dup.items()):
            fail.append(f"EXIT 0 LIE: {step} exit 0 with a student_id held by two documents")
        return fail

    def silent_no_match(self, step: str, before: State, document: dict) -> list:
        """A true match decided 'no current student' is a refusal nobody is told about."""
        fail = []
        decisions = {o["name"]: o for o in document.get("orphans", [])}
        for folder in self.orphans(before):
            owner = self.true_owner(folder)
            got = decisions.get(folder)
            if owner is None or got is None:
                continue
            if got["decision"] in ("no current student", "nothing to migrate"):
                if self.renamed(folder, owner) and not self.agreeing_field(folder, owner):
                    continue  # a new name and nothing else to go by: no tool can know
                fail.append(f"SILENT REFUSAL: {step}: orphan {folder} belongs to {owner.person} "
                            f"({owner.doc['student_id']}) but was decided {got['decision']!r}: {got['reason']}")
        return fail

    # -- refusal statistics, at the end of an example
    def count_refusals(self, final: State, decisions: dict) -> None:
        start_orphans = self.orphans(self.start)
        for sid, record in self.current.items():
            holders = [f for f, held in start_orphans.items()
                       if label_of(held.get("profile.jpg")) == record.person]
            if not holders:
                continue
            STATS["true matches (stayer with a profile photo in an orphaned folder)"] += 1
            got = final.files.get(f"students/{sid}/profile.jpg")
            if label_of(got) == record.person:
                STATS["  ended with their own photo"] += 1
                continue
            if got is not None:
                STATS["  ended with a photo that was there before (kept, not theirs)"] += 1
                continue
            STATS["  REFUSED: ended without a photo"] += 1
            for folder in holders:
                decision = decisions.get(folder, {})
                REASONS[(decision.get("decision", "?"), _reason_kind(decision.get("reason", "")))] += 1
                self.excused.append(f"refused: {record.person} ({sid}) from {folder}: {decision.get('decision')}: "
                                    f"{decision.get('reason')}")


def _reason_kind(reason: str) -> str:
    for word in ("different people", "cannot be compared", "no usable name", "current students fit",
                 "orphaned folders fit", "no current student has this name", "have this name",
                 "differ", "cannot tell", "no backup", "held by more than one", "not a valid id"):
        if word in reason:
            return word
    return reason[:40]


# ---------------------------------------------------------------- the commands
def commands(district: District):
    current = [r.doc["student_id"] for r in district.db if isinstance(r.doc.get("student_id"), str)]
    one = st.sampled_from(current or ["nobody"])
    return st.lists(st.one_of(
        st.just(("restore", "--force")),
        one.map(lambda s: ("restore", "--force", "--student", s)),
        one.map(lambda s: ("restore", "--force", "--student", s)),
        st.just(("restore", "--verify-only")),
        st.just(("migrate", "--list")),
        st.just(("migrate", "--migrate")),
        st.just(("migrate", "--clean")),
        st.just(("migrate", "--clean", "--confirm")),
        st.just(("restore", "--force", "--backup-file", "OLDEST")),
    ), min_size=1, max_size=4)


FINAL = [("migrate", "--migrate"), ("restore", "--force"), ("migrate", "--clean", "--confirm"),
         ("restore", "--verify-only")]


def run_example(mongo_client, mongo_url, district: District, steps: list) -> None:
    root = Path(tempfile.mkdtemp(prefix="oracle-"))
    school = School(root / "school", mongo_client, mongo_url)
    try:
        build(school, district)
        note(district.describe())
        oracle = Oracle(school, district)
        decisions: dict = {}
        oldest = str(school.backups / min(b[0] for b in district.backups))
        for tool, *args in [*steps, *FINAL]:
            args = [oldest if a == "OLDEST" else a for a in args]
            before = observe(school)
            run = school.restore if tool == "restore" else school.migrate
            try:
                result = run(*args, "--json", **ENV)
            except SystemExit as exc:  # argparse refused the arguments (exit 2 before any work)
                result = Result(exc.code, "", "usage error")
            after = observe(school)
            step = f"{tool} {' '.join(args)}"
            note(f"$ {step} -> {result.code}")
            oracle.check(step, tuple(args), result, before, after)
            if tool == "migrate" and result.out:
                decisions.update({o["name"]: o for o in result.json.get("orphans", [])})
        oracle.count_refusals(observe(school), decisions)
        if oracle.excused and os.environ.get("ORACLE_LOG"):
            with open(os.environ["ORACLE_LOG"], "a") as log:
                log.write("\n".join(["=" * 60, district.describe(), *oracle.excused, ""]))
        STATS["examples"] += 1
    finally:
        mongo_client.drop_database(school.db_name)
        shutil.rmtree(root, ignore_errors=True)


def stats_text() -> str:
    lines = ["", "oracle statistics (true matches: a current student whose own profile photo sat in an orphaned "
                 "folder at the start; refused: they ended without a photo):"]
    lines += [f"  {k}: {v}" for k, v in sorted(STATS.items())]
    total = STATS["true matches (stayer with a profile photo in an orphaned folder)"]
    if total:
        lines.append(f"  refusal rate: {STATS['  REFUSED: ended without a photo'] / total:.1%}")
    lines += ["  refused, by the orphan's migrate decision:"] + \
             [f"    {n:4d}  {d} / {why}" for (d, why), n in REASONS.most_common()]
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def refusal_report(request):
    """Prints the statistics once the run is over (after pytest's own summary; no -s needed).
    ORACLE_STATS=FILE also appends them, as JSON, to FILE (to add several runs up)."""
    def report() -> None:
        if not STATS:
            return
        print(stats_text())
        if os.environ.get("ORACLE_STATS"):
            with open(os.environ["ORACLE_STATS"], "a") as out:
                out.write(json.dumps({"stats": dict(STATS), "reasons": [[list(k), v] for k, v in REASONS.items()]})
                          + "\n")
    request.config.add_cleanup(report)
    yield


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_oracle_hostile_districts_keep_every_photo_with_its_child(mongo_client, mongo_url, data):
    district = data.draw(districts(), label="district")
    steps = data.draw(commands(district), label="steps")
    run_example(mongo_client, mongo_url, district, steps)


# ---------------------------------------------------------------- regressions: one per bug the oracle found
def _upload(school: School, name: str, data: bytes) -> str:
    (school.photos / "uploads").mkdir(parents=True, exist_ok=True)
    (school.photos / "uploads" / name).write_bytes(data)
    return f"/api/photos/uploads/{name}"


def test_oracle_upload_identical_to_another_childs_attendance_photo(school):
    """Found at 4f5529d, fixed by 696f7c5: evidence was compared only with profile.jpg files, so an upload
    byte-identical to another current child's attendance photo was copied in as a profile photo."""
    ann = school.new_student("Ann Able", student_id="a")
    school.put_photo("a", photo("ann", "profile"))
    (school.folder("a") / "attendance" / "d1.jpg").write_bytes(photo("ann", "attendance"))
    bob = school.new_student("Bob Baker", student_id="b",
                             photo=_upload(school, "u.jpg", photo("ann", "attendance")))
    school.write_backup([ann, {**bob, "photo": None}])
    school.seed([ann, bob])

    result = school.restore()

    assert label_of(school.photo_of("b")) in (None, "bob"), "Bob got Ann's attendance photo"
    assert result.code == 1


def test_oracle_student_scope_hides_another_students_claim(school):
    """Found at 4f5529d, fixed by 696f7c5: with --student only the scoped students' links counted as claims,
    so two students naming one upload was seen as one."""
    b1 = school.new_student("Bob One", student_id="b1", photo=_upload(school, "shared.jpg", photo("b2", "upload")))
    b2 = school.new_student("Bea Two", student_id="b2", photo="/api/photos/uploads/shared.jpg")
    school.folder("x").mkdir()
    school.write_backup([{**b1, "photo": None}, {**b2, "photo": None}])
    school.seed([b1, b2])

    result = school.restore("--student", "b1")

    assert label_of(school.photo_of("b1")) is None, "Bob One got Bea Two's upload"
    assert result.code == 1


def test_oracle_restore_relinks_from_a_folder_that_fits_a_current_namesake(school):
    """Found at 4f5529d, fixed by 696f7c5: restore judged an old folder's owner against the linking student
    alone; a current namesake (here even positively matching by date of birth) was never considered."""
    school.put_photo("old-p", photo("p", "profile"))
    old = {"student_id": "old-p", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
           "photo": "/api/photos/students/old-p/profile.jpg"}
    p = {"student_id": "new-p", "name": "Sam Taylor", "date_of_birth": "2015-01-01", "photo": None}
    q = {"student_id": "new-q", "name": "Sam Taylor", "photo": "/api/photos/students/old-p/profile.jpg"}
    school.write_backup([old])
    school.seed([p, q])

    school.restore(**ENV)

    assert label_of(school.photo_of("new-q")) is None, "Q got namesake P's photo"


def test_oracle_int_id_and_string_id_share_one_folder(school):
    """Found at 4f5529d, fixed by 696f7c5: a document with the int id 7 and one with the string id "7" name
    the same folder; restore linked the string one to the int one's photo."""
    ann = {"student_id": 7, "name": "Ann Able", "photo": "/api/photos/students/7/profile.jpg"}
    bob = {"student_id": "7", "name": "Bob Baker", "photo": None}
    school.put_photo("7", photo("ann", "profile"))
    school.write_backup([ann])
    school.seed([ann, bob])

    school.restore()

    assert school.collection.find_one({"student_id": "7"})["photo"] is None, "Bob linked to Ann's photo"


def test_oracle_claim_of_a_document_with_an_invalid_or_shared_id_is_ignored(school):
    """Found at 696f7c5, fixed by 8e0b924:
    a photo claim by a database document with an invalid id was not counted, so another student took the photo."""
    ann = {"student_id": 7, "name": "Ann Able", "photo": _upload(school, "u.jpg", photo("ann", "upload"))}
    bob = {"student_id": "b", "name": "Bob Baker", "photo": "/api/photos/uploads/u.jpg"}
    school.folder("x").mkdir()
    school.write_backup([{**ann, "photo": None}, {**bob, "photo": None}])
    school.seed([ann, bob])

    school.restore()

    assert label_of(school.photo_of("b")) is None, "Bob got the upload that Ann's (invalid-id) record names"


def test_oracle_upload_named_by_another_childs_backup_record_is_relinked(school):
    """Found at 696f7c5, fixed by 8e0b924:
    an upload a backup names as another (departed) child's photo was relinked to whoever the database now
    links it from, exit 0."""
    link = _upload(school, "u.jpg", photo("ann", "upload"))
    old_ann = {"student_id": "old-ann", "name": "Ann Able", "photo": link}  # Ann left; the backup names it hers
    bob = {"student_id": "b", "name": "Bob Baker", "photo": link}  # a reseed carried the link over to Bob
    school.folder("x").mkdir()
    school.write_backup([old_ann, {**bob, "photo": None}])
    school.seed([bob])

    result = school.restore(**ENV)

    assert label_of(school.photo_of("b")) is None, "Bob got the photo the backup records as Ann's"
    assert result.code == 1


def test_oracle_restore_relinks_from_one_of_two_old_folders_that_fit(school):
    """Found at 696f7c5, fixed by 8e0b924:
    restore relinked from one of two old folders that fit the student (migrate calls the pair ambiguous),
    exit 0."""
    twins = [{"student_id": f"old-t{i}", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
              "photo": f"/api/photos/students/old-t{i}/profile.jpg"} for i in (1, 2)]
    school.put_photo("old-t1", photo("t1", "profile"))
    school.put_photo("old-t2", photo("t2", "profile"))
    t2 = {"student_id": "new-t2", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
          "photo": "/api/photos/students/old-t1/profile.jpg"}  # the link names the twin who left
    school.write_backup(twins)
    school.seed([t2])
    listed = {o["name"]: o["decision"] for o in school.migrate("--list", "--json", **ENV).json["orphans"]}
    assert listed == {"old-t1": "ambiguous", "old-t2": "ambiguous"}

    result = school.restore(**ENV)

    assert label_of(school.photo_of("new-t2")) is None, "T2 got T1's photo from a folder migrate calls ambiguous"
    assert result.code == 1


def test_oracle_second_restore_forgets_a_claim_the_first_restore_rewrote(school):
    """Found at 696f7c5, fixed by 8e0b924:
    the first restore rewrote a student's link and so forgot their claim on an upload; the second restore
    gave the upload to another child, exit 0."""
    link = _upload(school, "u.jpg", photo("ann", "old upload"))
    ann = {"student_id": "a", "name": "Ann Able", "photo": link}
    bob = {"student_id": "b", "name": "Bob Baker", "photo": link}
    school.put_photo("a", photo("ann", "new profile"))
    school.write_backup([{**ann, "photo": None}, {**bob, "photo": None}])
    school.seed([ann, bob])

    first = school.restore()
    assert first.code == 1 and label_of(school.photo_of("b")) is None  # two claims on one photo: refused
    second = school.restore()

    assert label_of(school.photo_of("b")) is None, "the second run gave Bob Ann's upload"
    assert second.code == 1


def test_oracle_renamed_child_whose_fields_all_agree_is_silently_left_behind(school):
    """Found at 562c56d, fixed by 8e0b924: a corrected name with every identifying
    field agreeing was 'no current student' (not a problem), exit 0, the photo left behind unnoticed."""
    old = {"student_id": "old-j", "name": "Jon Smith", "date_of_birth": "2015-01-01", "student_number": "S1001",
           "photo": "/api/photos/students/old-j/profile.jpg"}
    school.put_photo("old-j", photo("j", "profile"))
    new = {"student_id": "new-j", "name": "John Smith", "date_of_birth": "2015-01-01", "student_number": "S1001",
           "photo": None}
    school.write_backup([old])
    school.seed([new])

    result = school.migrate("--migrate", "--json")

    assert result.code != 0, "a true match was dropped and nobody was told"


def test_oracle_backup_record_with_the_int_twin_of_an_id_is_never_compared(school):
    """Found at 696f7c5, fixed by 8e0b924:
    a backup record under the int twin (2003) of a current string id ("2003") was skipped, so the photo in
    folder 2003 was linked to the id's new holder (exit 0 when that backup is not the newest)."""
    ann = {"student_id": 2003, "name": "Ann Able", "date_of_birth": "2014-01-01",
           "photo": "/api/photos/students/2003/profile.jpg"}  # an older export: numeric ids as numbers
    school.put_photo("2003", photo("ann", "profile"))
    bob = {"student_id": "2003", "name": "Bob Baker", "date_of_birth": "2016-06-06", "photo": None}
    school.write_backup([ann])
    school.seed([bob])

    school.write_backup([bob], name="seed_backup_20251201_0000.json")  # newer: its records are all valid

    result = school.restore(**ENV)

    assert school.db_docs()["2003"]["photo"] is None, "Bob linked to Ann's photo in folder 2003"
    assert result.code == 1


def test_oracle_a_birth_date_a_time_zone_moved_counts_as_agreement(school):
    """Found at 562c56d, fixed by 8e0b924: a $date the exporter's time zone moved
    to the previous UTC day counted as agreeing with a namesake born that day (migrated, exit 0)."""
    # P, born 2015-03-04, left; the backup came from a server at UTC+10, so local midnight is 03-03T14:00Z.
    p_old = {"student_id": "old-p", "name": "Sam Taylor", "date_of_birth": {"$date": "2015-03-03T14:00:00Z"},
             "photo": "/api/photos/students/old-p/profile.jpg"}
    school.put_photo("old-p", photo("p", "profile"))
    q = {"student_id": "new-q", "name": "Sam Taylor", "date_of_birth": "2015-03-03", "photo": None}  # born 03-03
    school.write_backup([p_old])
    school.seed([q])

    result = school.migrate("--migrate", "--json", **ENV)

    assert label_of(school.photo_of("new-q")) is None, "Q got P's photo: a shifted instant proved nothing"
    assert result.code == 1


def test_oracle_upload_identical_to_a_photo_under_another_name_in_another_childs_folder(school):
    """Found at 562c56d, fixed by 8e0b924:
    evidence was compared only with profile.jpg and attendance/*, so an upload identical to another child's
    Profile.JPG was copied in."""
    ann = school.new_student("Ann Able", student_id="a")
    school.folder("a").mkdir()
    (school.folder("a") / "Profile.JPG").write_bytes(photo("ann", "profile, copied from Windows"))
    bob = school.new_student("Bob Baker", student_id="b",
                             photo=_upload(school, "u.jpg", photo("ann", "profile, copied from Windows")))
    school.write_backup([ann, {**bob, "photo": None}])
    school.seed([ann, bob])

    school.restore()

    assert label_of(school.photo_of("b")) is None, "Bob got the photo in Ann's folder"


def test_oracle_backup_claim_under_a_recycled_id_is_ignored(school):
    """Found by the oracle, fixed by a08b0e8: a backup record of a recycled id (another person than its holder now)
    named an upload, and that claim was not counted, so another student took the photo."""
    link = _upload(school, "u.jpg", photo("pat", "upload"))
    pat = {"student_id": "x", "name": "Pat Old", "date_of_birth": "2014-01-01", "photo": link}
    quinn = {"student_id": "x", "name": "Quinn New", "date_of_birth": "2016-01-01", "photo": None}  # x recycled
    rob = {"student_id": "r", "name": "Rob Other", "date_of_birth": "2015-05-05", "photo": link}
    school.folder("x").mkdir()
    school.write_backup([pat, {**rob, "photo": None}])
    school.seed([quinn, rob])

    school.restore(**ENV)

    assert label_of(school.photo_of("r")) is None, "Rob got the upload the backup records as Pat's"


def test_oracle_claim_of_a_departed_namesake_is_taken_for_the_students_own(school):
    """Found by the oracle, fixed by a08b0e8: a departed namesake's claim (name only) was taken for the student's own
    earlier record, though the student has fields that could agree (exit 0)."""
    link = _upload(school, "u.jpg", photo("pat", "upload"))
    pat = {"student_id": "old-p", "name": "Sam Taylor", "photo": link}  # left; nothing but the name on record
    sam = {"student_id": "q", "name": "Sam Taylor", "date_of_birth": "2016-01-01", "photo": link}
    school.folder("zz").mkdir()
    school.write_backup([pat, {**sam, "photo": None}])
    school.seed([sam])

    result = school.restore(**ENV)

    assert label_of(school.photo_of("q")) is None, "the name alone gave Sam the departed namesake's upload"
    assert result.code == 1


def test_oracle_upload_copy_of_one_of_two_old_folders_that_fit(school):
    """Found by the oracle, fixed by a08b0e8: the one-to-one rule covered links into old folders, not an upload
    byte-identical to a photo in one of two old folders that fit (exit 0)."""
    twins = [{"student_id": f"old-t{i}", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
              "photo": f"/api/photos/students/old-t{i}/profile.jpg"} for i in (1, 2)]
    school.put_photo("old-t1", photo("t1", "profile"))
    school.put_photo("old-t2", photo("t2", "profile"))
    t2 = {"student_id": "new-t2", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
          "photo": _upload(school, "u.jpg", photo("t1", "profile"))}  # a copy of the twin's photo
    school.write_backup(twins)
    school.seed([t2])

    result = school.restore(**ENV)

    assert label_of(school.photo_of("new-t2")) is None, "T2 got T1's photo"
    assert result.code == 1


def test_oracle_backup_claim_under_an_invalid_id_is_ignored(school):
    """Found by the oracle, fixed by a08b0e8: a backup record whose id is invalid (a number in an older export) named an
    upload, and that claim was not counted (exit 0)."""
    link = _upload(school, "u.jpg", photo("ann", "upload"))
    ann = {"student_id": 5555, "name": "Ann Able", "date_of_birth": "2014-01-01", "photo": link}  # left
    bob = {"student_id": "b", "name": "Bob Baker", "date_of_birth": "2016-01-01", "photo": link}
    school.folder("zz").mkdir()
    school.write_backup([ann], name="seed_backup_20240101_0000.json")
    school.write_backup([{**bob, "photo": None}])
    school.seed([bob])

    result = school.restore(**ENV)

    assert label_of(school.photo_of("b")) is None, "Bob got the upload an older backup records as Ann's"
    assert result.code == 1


def test_oracle_rival_old_folder_without_a_profile_photo_is_not_counted(school):
    """Found by the oracle, fixed by a08b0e8: restore's one-to-one rule counted only rival old folders holding a
    profile.jpg; a twin's folder with attendance photos only was missed (exit 0)."""
    twins = [{"student_id": f"old-t{i}", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
              "photo": f"/api/photos/students/old-t{i}/profile.jpg"} for i in (1, 2)]
    school.put_photo("old-t1", photo("t1", "profile"))
    (school.folder("old-t2") / "attendance").mkdir(parents=True)  # T2's own old folder: attendance only
    (school.folder("old-t2") / "attendance" / "d1.jpg").write_bytes(photo("t2", "attendance"))
    t2 = {"student_id": "new-t2", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
          "photo": "/api/photos/students/old-t1/profile.jpg"}  # the link names the twin who left
    school.write_backup(twins)
    school.seed([t2])
    listed = {o["name"]: o["decision"] for o in school.migrate("--list", "--json", **ENV).json["orphans"]}
    assert listed == {"old-t1": "ambiguous", "old-t2": "ambiguous"}

    result = school.restore(**ENV)

    assert label_of(school.photo_of("new-t2")) is None, "T2 got T1's photo"
    assert result.code == 1


def test_oracle_every_backup_record_of_an_old_id_decides_whose_claim_it_is(school):
    """Found by an adversarial review: old-p's NEWEST record has a student number that
    differs from Sam's; an OLDER record lacks it.
    Merged, old-p is a different person from Sam, and old-p names the upload. Claims are keyed per old id,
    last (oldest) wins, so the older record's 'proven same' hides the newer one's difference."""
    link = _upload(school, "u.jpg", photo("pat", "upload"))
    newest = {"student_id": "old-p", "name": "Sam Taylor", "date_of_birth": "2015-01-01",
              "student_number": "S9", "photo": link}
    older = {"student_id": "old-p", "name": "Sam Taylor", "date_of_birth": "2015-01-01", "photo": link}
    sam = {"student_id": "q", "name": "Sam Taylor", "date_of_birth": "2015-01-01", "student_number": "S1",
           "photo": link}
    school.folder("zz").mkdir()
    school.write_backup([older, {**sam, "photo": None}], name="seed_backup_20240101_0000.json")
    school.write_backup([newest, {**sam, "photo": None}])
    school.seed([sam])

    result = school.restore(**ENV)
    assert label_of(school.photo_of("q")) is None, f"Sam (S1) got old-p (S9)'s upload; exit {result.code}"
    assert result.code == 1


@pytest.mark.parametrize("second_sam", [{"date_of_birth": "2015-01-01"}, {}], ids=["same-birth-date", "no-birth-date"])
def test_oracle_a_claim_that_could_be_another_current_namesakes_is_nobodys_own(school, second_sam):
    """Found by an adversarial review: the departed record old-p (Sam Taylor, 2015-01-01) names the upload. Two
    current Sam Taylors: S1 (2015-01-01) links the upload; S2 has the same birth date, or none (unknown, which
    blocks a migrate match too). old-p could be either: migrate calls it ambiguous, and S1 must not get it."""
    link = _upload(school, "u.jpg", photo("pat", "upload"))
    old = {"student_id": "old-p", "name": "Sam Taylor", "date_of_birth": "2015-01-01", "photo": link}
    s1 = {"student_id": "s1", "name": "Sam Taylor", "date_of_birth": "2015-01-01", "photo": link}
    s2 = {"student_id": "s2", "name": "Sam Taylor", **second_sam, "photo": None}
    school.folder("zz").mkdir()
    school.write_backup([old, {**s1, "photo": None}, s2])
    school.seed([s1, s2])

    result = school.restore(**ENV)
    assert label_of(school.photo_of("s1")) is None, f"S1 got a photo whose old record may be S2's; exit {result.code}"
    assert result.code == 1


def test_oracle_a_claim_through_a_symlink_inside_the_store_still_counts(school):
    """The departed Ann's backup record names the upload via a path that passes through a symlink
    (uploads-old -> uploads); a claim is only a reason to refuse, so it is read through the link."""
    link = _upload(school, "u.jpg", photo("ann", "upload"))
    os.symlink("uploads", school.photos / "uploads-old")
    ann = {"student_id": "old-ann", "name": "Ann Able", "date_of_birth": "2014-01-01",
           "photo": "/api/photos/uploads-old/u.jpg"}
    bob = {"student_id": "b", "name": "Bob Baker", "date_of_birth": "2016-01-01", "photo": link}
    school.folder("zz").mkdir()
    school.write_backup([ann, {**bob, "photo": None}])
    school.seed([bob])

    result = school.restore(**ENV)
    assert label_of(school.photo_of("b")) is None, f"Bob got the upload Ann's record names; exit {result.code}"
    assert result.code == 1
