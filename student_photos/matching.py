"""Pairing orphaned folders (old ids) with current students: by identity, never by position.

A pairing is made only when the old record and the current one identify the same person (same
normalised name, and every identifying field present on both agrees) and the pairing is one-to-one:
no other current student fits the orphan and no other orphan fits the student. Anything less is
left for a person to decide.

A reseeded district has 200,000 current students and as many orphaned folders; held as Python
objects they took over 400 MB. ``MatchBook`` keeps them in a private temporary SQLite file instead,
so memory stays flat at any size; the decisions themselves are made in Python, one orphan at a time.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .records import StudentRecord, differing_field, normalise_text


class Student(NamedTuple):
    student_id: str
    name: str


class Pairing(NamedTuple):
    decision: str  # migrate, ambiguous, unknown, no current student
    reason: str
    target: Student | None = None


class Orphan(NamedTuple):
    """One orphaned folder as the act phase needs it: what the backups say and what was decided."""

    name: str
    old_name: str | None
    backup: str | None
    pairing: Pairing | None  # None: not a candidate (empty, a symlink, not a folder) when matching ran


UNKNOWN = Pairing("unknown", "no backup holds this old id")
NO_NAME = Pairing("unknown", "the old record has no name")
LEFT = Pairing("no current student", "no current student has this name (left the school?)")
BY_IDENTITY = "same name and identifying fields"
WRITE_CHUNK = 2000  # rows per executemany
IN_CHUNK = 500


def _pack(text: str | None) -> bytes | None:
    """Text as UTF-8 bytes; lone surrogates (from odd folder names or JSON) survive the round trip."""
    return None if text is None else text.encode("utf-8", "surrogatepass")


def _unpack(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "surrogatepass")


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class MatchBook:
    """Current students, the orphans' old records and the decisions for them (see the module's doc)."""

    def __init__(self, match_fields: tuple[str, ...]) -> None:
        self.match_fields = match_fields
        self.db = sqlite3.connect("", isolation_level=None)  # "": a private file, deleted on close
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16384", "temp_store=FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript("""
            CREATE TABLE current (sid TEXT, key BLOB, name BLOB, identity BLOB);
            CREATE TABLE orphan (name BLOB PRIMARY KEY, candidate INTEGER, old_name BLOB, key BLOB,
                                 identity BLOB, backup TEXT, conflicting INTEGER) WITHOUT ROWID;
            CREATE TABLE seen (sid BLOB, name BLOB, key BLOB, identity BLOB);
            CREATE TABLE decision (name BLOB PRIMARY KEY, decision TEXT, reason BLOB, target_sid TEXT,
                                   target_name BLOB) WITHOUT ROWID;
        """)

    def close(self) -> None:
        self.db.close()

    # ---- filling it ----
    def add_current(self, records: Iterable[StudentRecord]) -> None:
        for chunk in _chunks(records, WRITE_CHUNK):
            self.db.executemany("INSERT INTO current VALUES (?, ?, ?, ?)",
                                ((r.student_id, _pack(normalise_text(r.name)) or None, _pack(r.name),
                                  _pack(r.identity)) for r in chunk))

    def index_current(self) -> None:
        self.db.execute("CREATE INDEX current_sid ON current (sid)")
        self.db.execute("CREATE INDEX current_key ON current (key)")

    def current_ids_among(self, names: list[str]) -> set[str]:
        """Which of these folder names are current student ids (ids are ASCII; others never are)."""
        found: set[str] = set()
        for chunk in _chunks((n for n in names if n.isascii()), IN_CHUNK):
            query = f"SELECT sid FROM current WHERE sid IN ({','.join('?' * len(chunk))})"
            found.update(row[0] for row in self.db.execute(query, chunk))
        return found

    def add_orphans(self, names_and_candidacy: Iterable[tuple[str, bool]]) -> None:
        for chunk in _chunks(names_and_candidacy, WRITE_CHUNK):
            self.db.executemany("INSERT OR IGNORE INTO orphan (name, candidate) VALUES (?, ?)",
                                ((_pack(name), int(candidate)) for name, candidate in chunk))

    def add_backup(self, backup: str, records: Iterable[StudentRecord]) -> None:
        """One backup's records of orphan ids; ids an earlier (newer) backup already holds keep theirs.

        An id this backup holds twice, as two different people (name or identifying fields), is marked
        conflicting. If ``records`` raises (an unusable backup), nothing of this backup is kept.
        """
        self.db.execute("DELETE FROM seen")
        for chunk in _chunks(records, WRITE_CHUNK):
            self.db.executemany("INSERT INTO seen VALUES (?, ?, ?, ?)",
                                ((_pack(r.student_id), _pack(r.name), _pack(normalise_text(r.name)),
                                  _pack(r.identity)) for r in chunk))
        # Bare columns beside min(rowid) come from that row: the first record of each id is the one kept.
        self.db.execute("""
            UPDATE orphan SET old_name = first.name, key = first.key, identity = first.identity,
                              backup = ?, conflicting = first.kinds > 1
            FROM (SELECT sid, name, key, identity, min(rowid),
                         count(DISTINCT name || x'1e' || identity) AS kinds
                  FROM seen GROUP BY sid) AS first
            WHERE orphan.name = first.sid AND orphan.backup IS NULL""", (backup,))
        self.db.execute("DELETE FROM seen")

    # ---- deciding ----
    def decide_by_identity(self) -> None:
        rows = self.db.execute("""
            SELECT o.name, o.backup, o.conflicting, o.key, o.identity, c.sid, c.name, c.identity
            FROM orphan o LEFT JOIN current c ON c.key = o.key
            WHERE o.candidate ORDER BY o.name""")
        decisions = (self._decide(name, group) for name, group in itertools.groupby(rows, key=lambda r: r[0]))
        self._store(decisions)
        # Two old folders that fit one student: which one is theirs is not known, so neither is paired.
        shared = self.db.execute("SELECT target_sid, count(*) FROM decision WHERE decision = 'migrate' "
                                 "GROUP BY target_sid HAVING count(*) > 1").fetchall()
        for student_id, count in shared:
            self.db.execute("UPDATE decision SET decision = 'ambiguous', reason = ?, target_sid = NULL, "
                            "target_name = NULL WHERE decision = 'migrate' AND target_sid = ?",
                            (_pack(f"{count} orphaned folders fit current student {student_id}"), student_id))

    def _decide(self, name: bytes, group: Iterator[tuple]) -> tuple[bytes, Pairing]:
        first = next(group)
        _, backup, conflicting, key, old_identity, _, _, _ = first
        if backup is None:
            return name, UNKNOWN
        if conflicting:
            return name, Pairing("ambiguous", f"{backup} holds different records under this id")
        if not key:
            return name, NO_NAME
        old_identity = _unpack(old_identity)
        candidates: list[Student] = []
        differing: set[str] = set()
        for row in itertools.chain([first], group):
            if row[5] is None:  # no current student has this name
                continue
            field = differing_field(old_identity, _unpack(row[7]), self.match_fields)
            if field is None:
                candidates.append(Student(row[5], _unpack(row[6])))
            else:
                differing.add(field)
        if not candidates:
            return name, (Pairing("no current student", "a current student has this name but "
                                  f"{', '.join(sorted(differing))} differs") if differing else LEFT)
        if len(candidates) > 1:
            return name, Pairing("ambiguous", f"{len(candidates)} current students fit "
                                              "(same name, nothing on record tells them apart)")
        return name, Pairing("migrate", BY_IDENTITY, candidates[0])

    def decide_by_order(self) -> list[tuple[str, Student]]:
        """The design document's pairing (name-sorted students with name-sorted folders). Unsafe."""
        folders = [_unpack(f) for (f,) in self.db.execute("SELECT name FROM orphan WHERE candidate ORDER BY name")]
        students = [Student(sid, _unpack(name)) for sid, name in
                    self.db.execute("SELECT sid, name FROM current ORDER BY name, sid")]
        pairs = list(zip(folders, students))  # noqa: B905 (unequal lengths are the point)
        paired = (Pairing("migrate", "paired by sort order (--match order)", s) for _, s in pairs)
        unpaired = [Pairing("no current student", "no student left")] * (len(folders) - len(pairs))
        self._store(zip(map(_pack, folders), itertools.chain(paired, unpaired), strict=True))
        return pairs

    def _store(self, decisions: Iterable[tuple[bytes, Pairing]]) -> None:
        for chunk in _chunks(decisions, WRITE_CHUNK):
            self.db.executemany("INSERT INTO decision VALUES (?, ?, ?, ?, ?)",
                                ((name, p.decision, _pack(p.reason), p.target.student_id if p.target else None,
                                  _pack(p.target.name) if p.target else None) for name, p in chunk))

    # ---- reading it back, in folder-name order ----
    def orphans(self, batch: int) -> Iterator[list[Orphan]]:
        rows = self.db.execute("""
            SELECT o.name, o.old_name, o.backup, d.decision, d.reason, d.target_sid, d.target_name
            FROM orphan o LEFT JOIN decision d ON d.name = o.name ORDER BY o.name""")
        while chunk := rows.fetchmany(batch):
            yield [Orphan(_unpack(name), _unpack(old_name), backup,
                          None if decision is None else
                          Pairing(decision, _unpack(reason), Student(sid, _unpack(target)) if sid else None))
                   for name, old_name, backup, decision, reason, sid, target in chunk]
