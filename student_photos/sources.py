"""``--photo-source``: fill missing photos from another source, with the same safety rules as everything else.

A source is a folder, .zip, .tar or .tar.gz (``archive``: read in place, hostile input), in one of two
layouts, detected and printed:

- a copy of the photo tree: ``students/{id}/profile.jpg`` and ``attendance/*`` under any leading folders,
  or ``{id}/...`` at the top. A current id fills that student's missing files; an old id fills its
  current student's only through the identity rule and backup history, exactly as migrate would.
- a picture-day delivery: flat JPEG files named by a student field (``--source-key``; numbers compare by
  value, leading zeros ignored), or a CSV ``file,FIELD`` (``--source-map``).

Only a missing file is filled, never one that exists; every file is checked as a JPEG and copied
verified, durable and journalled. Two files for one student, a file for no current student, a key
that two students could hold, or one face under two keys: reported, and used for no one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .archive import PhotoSource, RefusedMember, SourceEntry, SourceError, open_photo_source
from .backups import BackupUnusable, list_backups, read_backup
from .config import Settings
from .db import Database
from .identity import (
    Verdict,
    code_verdict,
    date_readings,
    loose_name_key,
    name_key,
    person_of,
    proven_same,
    unread_date,
    value_code,
)
from .links import ATTENDANCE, PROFILE, STUDENTS
from .matching import MatchBook
from .records import StudentRecord, record_from_document
from .report import Decision, Problem, ProblemKind, StudentOutcome
from .spreadsheet import SpreadsheetError, as_spreadsheet_number, number_twins, read_table
from .store import (
    PhotoState,
    PhotoStore,
    StoreProblem,
    check_photo_bytes,
    ensure_dir,
    fsync_dir,
    list_student_folders,
    place_copy,
    stage_copy,
    sync_or_discard,
)

if TYPE_CHECKING:
    from .restore import Repair, StudentPlan

TREE = re.compile(r"(?:.*/)?students/([^/]+)/(profile\.jpg|attendance/.+)")
TOP = re.compile(r"([^/]+)/(profile\.jpg|attendance/.+)")
JPEG_NAME = re.compile(r".+\.jpe?g", re.IGNORECASE)


@dataclass
class SourceFile:
    entry: SourceEntry
    rel: str  # where it goes in the student's folder: profile.jpg or attendance/...
    key: str  # what named its student: a folder id, or a picture-day key


@dataclass
class SourcePlan:
    source: PhotoSource
    layout: str
    key_field: str
    by_student: dict[str, list[SourceFile]] = field(default_factory=lambda: defaultdict(list))
    unused: list[tuple[str, str, bool]] = field(default_factory=list)  # (file, why, needs a person)
    used: int = 0
    not_needed: int = 0  # its student already has that file (or is out of scope): nothing to fill
    # whom a path of the source would name (a refused member's too), or None: no one, or not known
    owner_of: Callable[[str], str | None] = field(default=lambda path: None)

    def describe(self) -> dict:
        return {"path": self.source.shown, "kind": self.source.kind, "layout": self.layout,
                "files": len(self.source.entries()), "filled": self.used, "not_needed": self.not_needed,
                "unused": [{"file": f, "why": w, "needs_a_person": p} for f, w, p in self.unused],
                "refused": [{"member": m, "why": w} for m, w in self.source.refused]}

    @property
    def problems(self) -> int:
        return sum(1 for _, _, needs in self.unused if needs) + len(self.source.refused)


async def prepare_source(settings: Settings, path: str, key_field: str, map_file: str | None,
                         plans: dict, current_ids: set[str]) -> SourcePlan:
    """Open and list the source and decide which file would go to which student (before anything changes)."""
    where = Path(path).expanduser().absolute()
    root = settings.photo_dir.resolve()
    with contextlib.suppress(OSError):
        resolved = where.resolve()
        if resolved == root or root in resolved.parents:  # the store itself, or its quarantine: never a source
            raise SourceError(f"The photo source {where} is inside the photo folder {root}: copy what you need "
                              "elsewhere and check it by hand first (its quarantine holds photos that may be "
                              "another child's)")
    source = open_photo_source(where)
    try:
        entries = [e for e in source.entries() if not _hidden(e.path)]
        tree = [(e, TREE.fullmatch(e.path)) for e in entries]
        top = [(e, TOP.fullmatch(e.path)) for e in entries]
        by_id = key_field == "student_id"  # a tree names its folders by id: never when a key field was asked for
        mostly_top = bool(entries) and sum(1 for _, m in top if m) * 2 >= len(entries)  # "{id}/..." at the top
        if map_file is None and not by_id and (mostly_top or any(m for _, m in tree)):
            raise SourceError(f"The photo source {where} is a tree of folders (ID/profile.jpg), but --source-key "
                              f"{key_field} names flat files by that field: name the files by it, or give a "
                              "--source-map, or leave out --source-key if the folders are student ids")
        if map_file is None and by_id and any(m for _, m in tree):
            plan = SourcePlan(source, "a copy of the photo tree (students/{id}/...)", "student_id")
            await _assign_tree(settings, plan, tree, plans, current_ids, TREE)
        elif map_file is None and by_id and mostly_top:
            plan = SourcePlan(source, "a copy of the photo tree ({id}/... at the top)", "student_id")
            await _assign_tree(settings, plan, top, plans, current_ids, TOP)
        else:
            how = f"named by the CSV {map_file}" if map_file else f"named by {key_field}"
            plan = SourcePlan(source, f"a picture-day delivery (flat files {how})", key_field)
            await _assign_picture_day(settings, plan, entries, map_file, plans, current_ids)
        plan.unused.extend((e.path, "hidden (a dot-folder such as the tool's own quarantine, or a dot-file): "
                                    "never used", False) for e in source.entries() if _hidden(e.path))
        _drop_doubles(plan)
        return plan
    except BaseException:
        source.close()
        raise


def _folded(name: str) -> str:
    """A file name as a person or another system may write it: case and Unicode form do not tell two apart."""
    return unicodedata.normalize("NFC", name).casefold()


def _hidden(path: str) -> bool:
    """A member under a dot-folder (an old store's .student-photos/quarantine holds photos --deep took off a
    child as possibly another's) or a dot-file: never a source of anyone's photo."""
    return any(part.startswith(".") for part in path.split("/"))


async def _assign_tree(settings: Settings, plan: SourcePlan, matches: list, plans: dict,
                       current_ids: set[str], pattern: re.Pattern[str]) -> None:
    by_id: dict[str, list[tuple[SourceEntry, str]]] = defaultdict(list)
    holding = _folders_holding_photos([entry.path for entry, _ in matches])
    for entry, match in matches:
        inside = _inside_a_student_folder(entry.path[:match.start(1)], match.group(2), holding) if match else None
        if inside:  # A's folder holding students/B/...: whose photo it is is not known
            plan.unused.append((entry.path, f"used for no one: it sits inside {inside} (a folder copied into "
                                            "another's?), so whose photo it is is not known", True))
        elif match is None:
            plan.unused.append((entry.path, "not in the photo-tree layout", False))
        else:
            by_id[match.group(1)].append((entry, match.group(2)))
    old_ids = {i for i in by_id if i not in current_ids}
    folder_owner: dict[str, str | None] = {}

    def owner_of(path: str) -> str | None:  # as the members above were given: a folder no member named is no one's
        match = pattern.fullmatch(path)
        if match is None or _hidden(path) or _inside_a_student_folder(path[:match.start(1)], match.group(2), holding):
            return None
        return folder_owner.get(match.group(1))

    plan.owner_of = owner_of
    targets = await _targets_of_old_ids(settings, old_ids) if old_ids else {}
    for folder, files in by_id.items():
        if folder in plans and plans[folder].conflict is not None:  # ids recycled: the folder was someone else's
            target, why = None, f"the backups hold another person under {folder} (ids recycled?)"
        elif folder in plans:
            target, why = folder, None
        elif folder in current_ids:
            target, why = None, f"{folder} is a database record whose id is invalid or held twice"
        else:
            target, why = targets.get(folder, (None, "no backup holds this old id"))
        folder_owner[folder] = target
        for entry, rel in files:
            if target is None:
                plan.unused.append((entry.path, f"used for no one: {why}", folder in current_ids))
            else:
                plan.by_student[target].append(SourceFile(entry, rel, folder))


def _folders_holding_photos(paths: list[str]) -> set[str]:
    """The folders of a source that hold a student's own files: a profile.jpg, or an attendance/ folder."""
    holding = set()
    for path in paths:
        parts = path.split("/")
        if parts[-1] == PROFILE:
            holding.add("/".join(parts[:-1]))
        holding.update("/".join(parts[:i]) for i, part in enumerate(parts[:-1]) if part == ATTENDANCE)
    return holding


def _inside_a_student_folder(prefix: str, rel: str, holding: set[str]) -> str | None:
    """Where a tree member's ``students/{id}/`` (``prefix``: the path up to the id) lies inside another student's
    folder, if it does: above it a folder holding a profile.jpg or attendance/, or a students/ or attendance/
    folder; or a students/ below the id."""
    if STUDENTS in rel.split("/"):
        return f"a {STUDENTS}/ folder within its own folder"
    parts = prefix.rstrip("/").split("/")[:-1]  # the folders above students/
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if parts[depth - 1] in (STUDENTS, ATTENDANCE) or folder in holding:
            return f"{folder}/ (a student's folder, or a {parts[depth - 1]}/ folder)"
    return None


async def _targets_of_old_ids(settings: Settings, old_ids: set[str]) -> dict[str, tuple[str | None, str]]:
    """Old id -> (current student, or None with why), decided exactly as migrate decides an orphan."""
    from .migrate import decide_honouring_reviewed, read_current_students
    book = MatchBook(settings.match_fields)
    store = PhotoStore(settings.photo_dir)
    try:
        await read_current_students(settings, book)
        # The store's own old folders are matched too: one that fits the student as well makes it ambiguous
        names = list_student_folders(store)
        current = book.current_ids_among(names)
        every_old = old_ids | {n for n in names if n not in current}
        book.add_orphans(sorted(every_old))
        for rank, path in enumerate(list_backups(settings.backup_dir).paths):
            records = (r for r in read_backup(path, settings.match_fields)
                       if isinstance(r, StudentRecord) and r.student_id in every_old)
            try:
                book.add_backup(path.name, rank, records)
            except Exception:  # an unusable backup adds nothing (the restore reports it)
                continue
        decide_honouring_reviewed(book, store)  # a person's "no one" or pairing stands too
        found: dict[str, tuple[str | None, str]] = {}
        for batch in book.orphans(500):
            for orphan in batch:
                if orphan.name not in old_ids:
                    continue
                pairing = orphan.pairing
                if pairing.decision is Decision.MIGRATE and pairing.target is not None:
                    found[orphan.name] = (pairing.target.student_id, pairing.reason)
                else:
                    found[orphan.name] = (None, f"old id {orphan.name}: {pairing.decision.value}: {pairing.reason}")
        return found
    finally:
        book.close()


async def _assign_picture_day(settings: Settings, plan: SourcePlan, entries: list[SourceEntry],
                              map_file: str | None, plans: dict, current_ids: set[str]) -> None:
    field_name = plan.key_field
    keys: dict[str, str] = {}
    if map_file:
        try:
            rows = read_table(Path(map_file).expanduser(), ("file", field_name))
        except SpreadsheetError as exc:
            raise SourceError(f"--source-map: {exc}") from None
        names = {_folded(e.path) for e in entries} | {_folded(PurePosixPath(e.path).name) for e in entries}
        for row in rows:
            name, key = _folded(row.values["file"]), row.values[field_name]  # (IMG_1.jpg and img_1.JPG: one file)
            if name and key:
                if keys.get(name, key) != key:  # one file for two people: whose it is is not known
                    if keys[name]:
                        plan.unused.append((name, f"line {row.line} of the map names it again for another "
                                                  f"{field_name} ({keys[name]}, then {key}): used for no one", True))
                    key = ""
                keys[name] = key
            if name and name not in names:
                plan.unused.append((row.values["file"], f"line {row.line} of the map names a file the source does "
                                                        "not hold", True))
    index = await KeyIndex.read(settings, field_name, plans, current_ids)
    id_twins = number_twins(current_ids) if map_file and field_name == "student_id" else {}  # a map is a spreadsheet
    called: dict[str, int] = defaultdict(int)  # how many members have each file name
    for entry in entries:
        called[_folded(PurePosixPath(entry.path).name)] += 1
    offered: list[tuple[SourceEntry, str, str]] = []  # (member, key, the one student it names in the database)
    for entry in entries:
        name = PurePosixPath(entry.path).name
        if map_file:
            by_path, by_name = keys.get(_folded(entry.path)), keys.get(_folded(name))
            # a bare name naming several members (a top-level member's path is that bare name too)
            if by_name and called[_folded(name)] > 1 and (by_name != by_path or "/" not in entry.path):
                plan.unused.append((entry.path, f"the map names {name} without its folder, and {called[_folded(name)]} "
                                                "members of the source are called that: used for no one", True))
                continue
            if by_path is None and by_name is None:
                plan.unused.append((entry.path, "not in the map", False))
                continue
            if "" in (by_path, by_name) or (by_path is not None and by_name is not None and by_path != by_name):
                plan.unused.append((entry.path, "the map gives it to more than one person (by path and by name, or "
                                                "on two lines): used for no one", True))
                continue
            key = by_path if by_path is not None else str(by_name)
            if twin := _spreadsheet_twin(key, id_twins):
                plan.unused.append((entry.path, f"the map's student_id {key} could also be student {twin} (a "
                                                "spreadsheet reads both as one number): used for no one", True))
                continue
        else:
            if not JPEG_NAME.fullmatch(name):
                plan.unused.append((entry.path, "not a .jpg file", False))
                continue
            key = name.rsplit(".", 1)[0]
        found = index.holders(key)
        if found is None:
            plan.unused.append((entry.path, f"{field_name} {key} cannot be compared with the database's (a name "
                                            "mixing scripts?): used for no one", True))
            continue
        holders = sorted({sid for sid, _ in found})
        receivers = [sid for sid, ok in found if ok]
        if not found:
            plan.unused.append((entry.path, f"no current student has {field_name} {key}", False))
        elif len(holders) > 1:
            plan.unused.append((entry.path, f"{field_name} {key} could be that of {len(holders)} database students "
                                            f"({', '.join(holders[:3])}): used for no one", True))
        elif any(ok is None for _, ok in found) and not receivers:
            plan.unused.append((entry.path, f"{field_name} {key} may be that of student {holders[0]}, whose "
                                            f"{field_name} is written alike or cannot be compared with it: used for "
                                            "no one", True))
        elif not receivers:
            plan.unused.append((entry.path, f"{field_name} {key} is a record whose id is invalid or held twice", True))
        else:
            offered.append((entry, key, receivers[0]))
    held = backup_holders(settings, field_name, {key: sid for _, key, sid in offered}, plans)
    for entry, key, sid in offered:
        if key in held:
            plan.unused.append((entry.path, f"{held[key]}: used for no one", True))
        else:
            plan.by_student[sid].append(SourceFile(entry, PROFILE, key))


def backup_holders(settings: Settings, field_name: str, keys: dict[str, str], plans: dict) -> dict[str, str]:
    """Why each picture-day key (key -> the current student it names) may have been another child's: a backup's
    record that holds it, or a value that may be it (compared exactly as ``KeyIndex`` compares the database's), under
    another id, whose person the identity rule does not prove to be that student (``identity.proven_same``, the rule
    a backup record of another id must meet to speak for a child). Records of the student's own id are the census's
    (``StudentPlan.conflict``). A backup that cannot be read blocks every key (who held them is not known).
    One pass over the backups. A number that a key is (the usual student_number) is judged as it is read and kept
    by no one; other values are indexed one backup at a time."""
    if field_name == "student_id" or not keys:  # (an id's own backup records are the census's: ids recycled)
        return {}
    fields = settings.match_fields
    read_fields = fields if field_name in fields or field_name == "name" else (*fields, field_name)
    at = 0 if field_name == "name" else read_fields.index(field_name) + 1
    keys_of: dict[str | None, list[str]] = defaultdict(list)
    for key in keys:
        keys_of[key_code(field_name, key)].append(key)
    numbers = field_name != "name" and all(code and code[0] == "n" for code in keys_of)
    held: dict[str, str] = {}

    def judge(entry: StudentRecord, key: str, backup: str) -> None:
        sid = keys[key]
        if key in held or entry.student_id == sid:
            return
        person = entry.person if read_fields is fields else person_of(entry.raw[0], entry.raw[1:-1])
        judged = proven_same(person, plans[sid].record.person, fields)
        if judged.verdict is not Verdict.SAME:
            held[key] = (f"backup {backup} holds {field_name} {key} (or a value that may be it) for "
                         f"{entry.name or '(no name)'} (student {entry.student_id}), not proven to be student {sid} "
                         f"who holds it now ({judged.reason}): the file may be their photo (a number given again?)")

    for path in list_backups(settings.backup_dir).paths:
        index = KeyIndex(field_name)
        records: list[StudentRecord] = []
        try:
            for entry in read_backup(path, read_fields):
                if not isinstance(entry, StudentRecord):
                    continue
                value = entry.raw[at]
                if numbers and (code := key_code(field_name, value)) and code[0] == "n":
                    for key in keys_of.get(code, ()):  # a number against numbers: only its own value may be it
                        judge(entry, key, path.name)
                    continue
                index.add(str(len(records)), value, True)
                records.append(entry)
        except BackupUnusable as exc:
            for key in keys:
                held.setdefault(key, f"backup {path.name} cannot be read ({exc}), so who held {field_name} {key} "
                                     "before is not known")
            continue
        if records:
            for key in keys:
                for position, _ in (index.holders(key) or []) if key not in held else []:
                    judge(records[int(position)], key, path.name)
    return held


def _spreadsheet_twin(key: str, id_twins: dict[Decimal, list[str]]) -> str | None:
    """Another current id a map's id could have been before a spreadsheet rewrote it (00123 saved as 123)."""
    number = as_spreadsheet_number(key) if id_twins else None
    return next((other for other in id_twins.get(number, []) if other != key), None) if number is not None else None


class KeyIndex:
    """Which database students a picture-day key could name. A key names a student only when that student's value
    agrees and no other student's could (fail closed): a value of another kind (text against a number, an instant
    a zone may have moved against a day), a date written as text that may be a day the key may be (``04.03.2015``
    and ``4 March 2015``: ``identity.date_readings``), one that cannot be compared, a list's or document's values,
    a name written alike but for accents, case or spacing, a name mixing scripts that could be read as the key, and
    (for names) a record with no usable name at all each block it."""

    def __init__(self, field_name: str) -> None:
        self.field_name = field_name
        self.exact: dict[str, list[tuple[str, bool | None]]] = defaultdict(list)  # code -> (id, can receive)
        self.by_kind: dict[str, list[str]] = defaultdict(list)  # a code's kind -> ids (blocks keys of other kinds)
        self.by_day: dict[str, list[tuple[str, str]]] = defaultdict(list)  # day -> (code, id): dates and instants
        self.by_reading: dict[str, list[tuple[str, str]]] = defaultdict(list)  # day -> (code, id): text dates
        self.alike: dict[str, list[str]] = defaultdict(list)  # loose name key -> ids
        self.patterns: list[tuple[re.Pattern[str], str]] = []  # names mixing scripts
        self.anything: list[str] = []  # ids whose value could be any key
        self.unread_dates: list[str] = []  # ids whose value may be a date in a form not read: any day's key

    @classmethod
    async def read(cls, settings: Settings, field_name: str, plans: dict, current_ids: set[str]) -> KeyIndex:
        index = cls(field_name)
        if field_name == "student_id":
            for sid in current_ids:
                index.exact[sid].append((sid, sid in plans))
            return index
        async with Database(settings) as database:
            async for doc in database.read_students((field_name,)):
                record: StudentRecord = record_from_document(doc, ())
                index.add(record.student_id, doc.get(field_name), record.receivable and record.student_id in plans)
        return index

    def add(self, sid: str, value: object, receives: bool) -> None:
        code = key_code(self.field_name, value)
        if code is not None:
            self.exact[code].append((sid, receives))
            if self.field_name == "name":
                self.alike[loose_name_key(value) or ""].append(sid)
            else:
                self.by_kind[code[0]].append(sid)
                if code[0] in "dD":
                    self.by_day[code[1:11]].append((code, sid))
                self._add_readings(code, sid)
        elif self.field_name == "name":  # no usable name: who it is is unknown
            if isinstance(value, str) and loose_name_key(value):
                self.patterns.append((_loose_pattern(value), sid))
            else:
                self.anything.append(sid)
        elif value_code(value) != "":  # (absent, or a placeholder 0 or `n/a`: no evidence, as in the identity rule)
            for blocked in _keys_it_may_be(self.field_name, value):
                if blocked == ANY_KEY:
                    self.anything.append(sid)
                else:
                    self.exact[blocked].append((sid, None))
                    if self.field_name != "name":
                        self._add_readings(blocked, sid)

    def _add_readings(self, code: str, sid: str) -> None:
        if unread_date(code):  # a date in a form not read here may be any day: it blocks every key that is one
            self.unread_dates.append(sid)
        if code[0] == "t":  # (a date's own day is in by_day)
            for day in _days_it_may_be(code):
                self.by_reading[day].append((code, sid))

    def holders(self, key: str) -> list[tuple[str, bool | None]] | None:
        """(id, can receive; None: may hold it, not proven) of every student the key could name; None when the
        key itself cannot be compared."""
        code = key if self.field_name == "student_id" else key_code(self.field_name, key)
        if code is None:
            return None
        found = [*self.exact.get(code, []), *((sid, None) for sid in self.anything)]
        if self.field_name == "name":
            loose = loose_name_key(key) or ""
            found += [(sid, None) for sid in self.alike.get(loose, ())]
            found += [(sid, None) for pattern, sid in self.patterns if pattern.fullmatch(loose)]
        elif self.field_name != "student_id":
            dates = "dD" if code[0] in "dD" else ""
            for kind, ids in self.by_kind.items():
                if kind != code[0] and kind not in dates:
                    found += [(sid, None) for sid in ids[:MAX_SHOWN]]  # (a few: the key is refused either way)
            if dates:
                for near in _days_around(date.fromisoformat(code[1:11])):
                    found += [(sid, None) for other, sid in self.by_day.get(near.isoformat(), ())
                              if other != code and code_verdict(code, other) != "differ"]
            # Compared by day too: a key that is, or as text may be, a day is blocked by every other value written as
            # text that may be that day ('04.03.2015' and '4 March 2015'), and a text key by a date of any of its days.
            if _days_it_may_be(code):
                found += [(sid, None) for sid in self.unread_dates]
            for day in _days_it_may_be(code):
                found += [(sid, None) for other, sid in self.by_reading.get(day, ()) if other != code]
                if not dates:
                    found += [(sid, None) for _, sid in self.by_day.get(day, ())]
        return found


def _days_it_may_be(code: str) -> list[str]:
    """The days (ISO) a code is or, as text, may be read as (``identity.date_readings``); none for anything else."""
    if code[:1] in ("d", "D"):
        return [code[1:11]]
    return [reading[1:] for reading in date_readings(code)]


def _days_around(day: date) -> list[date]:
    """The day before, the day and the day after (a zone may move an instant by one), within the calendar."""
    return [day + timedelta(days=d) for d in (-1, 0, 1) if -(day - date.min).days <= d <= (date.max - day).days]


MAX_SHOWN = 4
ANY_KEY = "\x00any"  # (no code starts with a NUL) what a value that could be any key blocks


def key_code(field_name: str, value: object) -> str | None:
    """A picture-day key's comparable form, as the identity rule compares that field (a name: look-alike letters
    folded, so 'Anna' typed with a Cyrillic А is the same key); None when it cannot be compared."""
    if field_name == "name":
        return name_key(value)
    code = value_code(value)
    return code if code and code[0] != "?" else None


def _keys_it_may_be(field_name: str, value: object) -> list[str]:
    """The keys a value that cannot be compared may stand for: a list's or document's own values ("42" in ["42"]),
    or any key at all."""
    if isinstance(value, (list, tuple, dict)):
        keys: list[str] = []
        for inner in (value.values() if isinstance(value, dict) else value):
            code = key_code(field_name, inner)
            keys.extend([code] if code is not None else _keys_it_may_be(field_name, inner))
        return keys
    if value is None or value == "" or value == []:
        return []
    return [ANY_KEY]


def _loose_pattern(name: str) -> re.Pattern[str]:
    """The loose keys a name mixing scripts could be read as: its plain Latin letters and digits as they are, any
    other letter as any one letter ('Ꭺnna Lee' could be 'Anna Lee')."""
    return re.compile("".join(re.escape(c) if c.isascii() else "." for c in loose_name_key(name) or ""))


def _drop_doubles(plan: SourcePlan) -> None:
    """Two source files for one place in one student's folder: which is theirs is not known; neither is used."""
    for sid, files in list(plan.by_student.items()):
        counts: dict[str, int] = defaultdict(int)
        for f in files:
            counts[f.rel] += 1
        keep = []
        for f in files:
            if counts[f.rel] > 1:
                plan.unused.append((f.entry.path, f"{counts[f.rel]} source files for {f.rel} of student {sid}: "
                                                  "used for no one", True))
            else:
                keep.append(f)
        plan.by_student[sid] = keep


def fill(plan: SourcePlan, store, repairs: dict[str, Repair], writes: bool, journal_of,
         content_refusal: Callable[[list[tuple[StudentPlan, tuple[str, int]]]], list[str | None]]) -> None:
    """Fill each in-scope student's missing files from the source; never over an existing file, and never with
    bytes that are another child's (``content_refusal``: the same content checks as restore's evidence).
    ``repairs``: the repairs of the in-scope students the run checked, by id."""
    wanted: dict[str, tuple[Repair, SourceFile]] = {}
    assigned = sum(len(files) for files in plan.by_student.values())
    for student_id, files in plan.by_student.items():
        repair = repairs.get(student_id)  # in scope and checked
        if repair is not None and not repair.plan.receives:  # (its own problem says why): not "not needed"
            assigned -= len(files)
            plan.unused.extend((f.entry.path, f"used for no one: student {student_id} cannot be given photos now "
                                              "(see that student's problem)", False) for f in files)
            continue
        if repair is None:
            continue
        outcome: StudentOutcome = repair.outcome
        for f in files:
            dest = store.student_dir(repair.plan.student_id) / f.rel
            if f.rel == PROFILE:
                if outcome.photo is PhotoState.MISSING:
                    wanted[f.entry.path] = (repair, f)
                elif not outcome.photo_ok and outcome.photo is not PhotoState.UNKNOWN:
                    outcome.notes.append(f"the photo source has a profile.jpg ({f.entry.path}): replace the "
                                         "corrupt one by hand")
            elif not os.path.lexists(dest):
                wanted[f.entry.path] = (repair, f)
    plan.not_needed = assigned - len(wanted)
    if not wanted:
        return
    # Every other member of a wanted file's size is read too: the source itself may give the same face to someone
    # else (a student who has a photo, one out of scope, or no one it could name). So may a member it refused: a
    # link, a duplicate name's every version, a folder reached through a symlink (``_stand_ins``).
    sizes = {e.size for e in plan.source.entries() if e.path in wanted}
    others = [e.path for e in plan.source.entries() if e.path not in wanted and e.size in sizes]
    owner = {f.entry.path: sid for sid, files in plan.by_student.items() for f in files}
    arrived: list[tuple[SourceEntry, bytes, tuple[str, int]]] = []
    members_of: dict[tuple[str, int], list[str]] = defaultdict(list)
    for entry, data in plan.source.read([*wanted, *others]):
        digest = (hashlib.sha256(data).hexdigest(), len(data))
        members_of[digest].append(entry.path)
        if entry.path not in wanted:
            continue
        state = check_photo_bytes(data)
        if state is not PhotoState.OK:
            plan.unused.append((entry.path, f"not a usable JPEG ({state.describe})", True))
            continue
        arrived.append((entry, data, digest))
    could_give = _what_the_source_may_give(plan.source, sizes, members_of)
    refusals = content_refusal([(wanted[entry.path][0].plan, digest) for entry, _, digest in arrived])
    for (entry, data, digest), why in zip(arrived, refusals, strict=True):
        repair, f = wanted[entry.path]
        outcome = repair.outcome
        sid = repair.plan.student_id
        # The one rule: these bytes go to no one when any member of the source (offered or refused) may give them
        # to anyone else (another student, or no one it is proven to be this one's).
        elsewhere = [(m, owner.get(m), "") for m in members_of[digest] if owner.get(m) != sid]
        elsewhere += [(path, plan.owner_of(path), how) for path, how, may_give in could_give
                      if may_give(digest) and plan.owner_of(path) != sid]
        if elsewhere:
            path, whose, how = elsewhere[0]
            shown = f"for student {whose}" if whose else "for no current student" if not how else \
                "for no student proven to be this one"
            said = f"the same photo is in the source as {path} too" if not how else \
                f"the source may give the same photo as {path} too ({how})"
            plan.unused.append((entry.path, f"{said}, {shown}: used for no one", True))
            continue
        if why:
            plan.unused.append((entry.path, f"used for no one: it {why}", True))
            continue
        plan.used += 1
        if not writes:
            outcome.filled_from.append(f"{f.rel} from {entry.path}")
            if f.rel == PROFILE:
                outcome.photo = PhotoState.OK
            continue
        try:
            _copy_in(store, repair.plan.student_id, f, data, journal_of(), str(Path(plan.source.label).absolute()))
        except (OSError, StoreProblem) as exc:
            outcome.problems.append(Problem(outcome.student_id, outcome.name, ProblemKind.ERROR,
                                            f"could not fill {f.rel}: {getattr(exc, 'strerror', None) or exc}"))
            continue
        outcome.filled_from.append(f"{f.rel} from {entry.path}")
        if f.rel == PROFILE:
            outcome.photo = PhotoState.OK


_MAX_LINKS = 40  # symlinks followed for one path, as the kernel allows
_MAX_STAND_INS = 100_000  # paths a folder reached through symlinks may add; past that, the link could hold anything
_MAX_WORK = 20_000_000  # steps in all; past that, what is left could hold anything


def _what_the_source_may_give(source: PhotoSource, sizes: set[int], members_of: dict[tuple[str, int], list[str]]
                              ) -> list[tuple[str, str, Callable[[tuple[str, int]], bool]]]:
    """``(path, why it is there, whether it may give these bytes)`` for every path by which a refused member may give
    bytes to whoever unpacks the source: a hard link or a symlink (what it names, followed through the source), a
    duplicate name's every version (read), a folder reached through a symlink (each file under its target, by the
    link's path), and, whose bytes cannot be known (a link that dangles or leaves the source, an unreadable member,
    an offered member that changed while read), any bytes of its size. ``members_of``: the bytes of the offered
    members read (every one of a wanted size)."""
    entries = {e.path: e.size for e in source.entries()}
    digest_of = {path: digest for digest, paths in members_of.items() for path in paths}
    unread = {path for path, size in entries.items() if size in sizes and path not in digest_of}
    at: dict[str, list[RefusedMember]] = defaultdict(list)
    for member in source.refused_members:
        if member.path:
            at[member.path].append(member)
    folders = {"/".join(parts[:i]) for parts in (p.split("/") for p in [*entries, *at]) for i in range(len(parts))}
    own = {id(m): (hashlib.sha256(data).hexdigest(), len(data)) for m, data in source.read_refused(
        m for m in source.refused_members if m.could == "own" and m.size in sizes)}
    unknown: tuple = ("unknown", None)
    work = [0]  # steps taken: a hostile source's links (duplicate names branch) cannot make this run for ever

    def resolve(real: tuple[str, ...], todo: tuple[str, ...], hops: int) -> list[tuple]:
        """What a path (``real``: its folders already followed) may be: ("entry", path), ("own", member), ("unknown",
        size or None) or ("folder", path)."""
        while todo and todo[0] in ("", "."):
            todo = todo[1:]
        if not todo:
            return [("folder", "/".join(real))]
        work[0] += 1
        if hops > _MAX_LINKS or work[0] > _MAX_WORK:
            return [unknown]
        part, todo = todo[0], todo[1:]
        if part == "..":
            return resolve(real[:-1], todo, hops) if real else [unknown]  # (above the source: not known)
        path = "/".join((*real, part))
        last = not any(p not in ("", ".") for p in todo)
        found: list[tuple] = []
        for member in at.get(path, ()):
            if member.could == "link" and not member.hard:  # a symlink, wherever it is on the path
                target = member.target or "/"
                found += [unknown] if target.startswith("/") else resolve(real, (*target.split("/"), *todo), hops + 1)
            elif member.could == "unknown" and (last or member.size is None):  # (a folder not read: anything)
                found.append(("unknown", member.size if last else None))
            elif last and member.could == "link":  # a hard link: the member it names, from the source's root
                found += resolve((), tuple(str(member.target).split("/")), hops + 1)
            elif last and member.could == "own":
                found.append(("own", member))
        if path in entries and last:
            found.append(("entry", path))
        if path in folders:
            found += resolve((*real, part), todo, hops)
        if not found and path not in at and path not in entries and path not in folders:
            found.append(unknown)  # dangling
        return found

    def may_give(what: tuple) -> Callable[[tuple[str, int]], bool]:
        kind, value = what
        if kind == "entry":
            return lambda digest: entries[value] == digest[1] and (value in unread or digest_of.get(value) == digest)
        if kind == "own":
            return lambda digest: value.size == digest[1] and own.get(id(value), digest) == digest
        return lambda digest: value is None or value == digest[1]  # unknown: any bytes of its size

    found: list[tuple[str, str, Callable[[tuple[str, int]], bool]]] = []
    found += [(path, "it changed while being read: its bytes are not known", may_give(unknown))
              for path in sorted(unread)]
    for member in source.refused_members:
        if member.could == "none":
            continue
        how = f"{member.shown} is refused: {member.why}"
        whats: list[tuple]
        if member.could == "link" and not member.path and not member.hard:
            whats = [unknown]  # (a symlink with an unusable name: where it points from is not known)
        elif member.could == "link":
            parent = tuple(member.path.split("/")[:-1])
            whats = resolve(parent, tuple(str(member.target).split("/")), 1) if not member.hard else \
                resolve((), tuple(str(member.target).split("/")), 1)
        else:
            whats = [(member.could, member if member.could == "own" else member.size)]
        path = member.path or member.shown
        pending = [(path, what, 0) for what in whats]
        while pending:
            at_path, what, depth = pending.pop()
            if what[0] != "folder":
                found.append((at_path, how + ("" if what[0] != "unknown" else "; its bytes cannot be known"),
                              may_give(what)))
                continue
            work[0] += len(entries) + len(at)
            below = [p for p in [*entries, *at] if not what[1] or p.startswith(what[1] + "/")]
            if depth >= 8 or len(found) + len(below) > _MAX_STAND_INS or work[0] > _MAX_WORK:
                found.append((at_path, how + "; a folder too deep to follow", may_give(unknown)))
                continue
            for inner in below:  # each file of a folder reached through a symlink, by the link's path
                rest = inner[len(what[1]) + 1:] if what[1] else inner
                pending += [(f"{at_path}/{rest}", w, depth + 1) for w in resolve((), tuple(inner.split("/")), 1)]
    return found


def _copy_in(store, student_id: str, f: SourceFile, data: bytes, journal, source_label: str) -> None:
    folder = store.student_dir(student_id)
    dest = folder / f.rel
    for parent in reversed(PurePosixPath(f.rel).parents[:-1]):
        if ensure_dir(folder / parent, dry_run=False):  # made by this run: its undo removes it where empty
            journal.add({"type": "dir", "path": f"students/{student_id}/{parent}"})
    staged = stage_copy(f.entry.path, dest, durable=True, data=data, below=store.students_text)
    journal.add({"type": "file", "path": f"students/{student_id}/{f.rel}", "size": staged.size,
                 "sha256": staged.sha256, "source": None, "origin": {"photo_source": source_label,
                                                                     "member": f.entry.path, "key": f.key}})
    # (an undo removes it only while that member of that source still holds these very bytes)
    sync_or_discard(journal, staged)
    result = place_copy(staged)
    fsync_dir(dest.parent)
    if result.outcome == "conflict":
        raise StoreProblem(f"a different {f.rel} appeared during the run; kept it")


def unused_problems(plan: SourcePlan) -> list[Problem]:
    return [Problem(file, "", ProblemKind.SOURCE, why) for file, why, needs in plan.unused if needs] + \
        [Problem(member, "", ProblemKind.SOURCE, f"member refused: {why}") for member, why in plan.source.refused]
