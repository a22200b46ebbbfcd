"""Pairing orphaned folders (old ids) with current students: by identity (``identity.choose``), never by position.

The universe is every database document: a record with an invalid id, or an id held by two documents,
still counts as a possible owner (a match to it is reported, and moves nothing), so a namesake can
never become the "unique" match for a photo that belongs to a record left out. An orphan's old record
is every backup's record of its id, merged; records that disagree make it ambiguous or unknown.
A pairing is one-to-one: no other orphan with a usable old record fits the student either, and no orphan
whose old record has no usable name, or whose backups disagree about who it was, could be them
(``identity.RivalOld``). An orphan a person gave, in a standing reviewed decision, to a student who still
holds the id is no rival: ``settle`` names them before deciding.

A reseeded district has 200,000 current students and as many orphaned folders; held as Python
objects they took over 400 MB. ``MatchBook`` keeps them in a private temporary SQLite file instead,
so memory stays flat at any size; the decisions themselves are made in Python, one orphan at a time.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import NamedTuple

from .errors import ConfigError
from .identity import (
    IDENTIFIER_KINDS,
    MAX_SHARED_IDENTIFIER,
    MAX_SHARING_A_DAY,
    BlindCurrent,
    Judgement,
    Outcome,
    Person,
    RivalOld,
    Verdict,
    alike_key,
    choose,
    date_readings,
    hidden_sharing,
    judge_pairing,
    judge_same_id,
    lookup_codes,
    loose_name_key,
    loose_words,
    merge_history,
    name_only,
    only_common,
    proven_by,
    proven_someone_else,
    renamed_only,
    respelled_only,
    shared_identifiers,
    unsearchable,
)
from .records import StudentRecord, one_folder_key
from .report import Decision

WRITE_CHUNK = 2000  # rows per executemany
IN_CHUNK = 500
FETCH_ROWS = 1024  # orphans read from the match book at a time
MAX_NAMELESS = 50  # database records with no usable name: each could be anyone, so each is checked per orphan


class Student(NamedTuple):
    student_id: str
    name: str
    receivable: bool = True
    row: int = 0  # its row in the book (two documents may share an id)


class Pairing(NamedTuple):
    decision: Decision  # MIGRATE, AMBIGUOUS, UNKNOWN, NO_STUDENT, CANNOT_RECEIVE
    reason: str
    target: Student | None = None
    paired_by: str = "identity"


class EarlierHolder(NamedTuple):
    """A backup's record of a current student's id that ``identity.compare`` does not find to be them: the id was
    recycled (DIFFERENT), or who held it cannot be compared (UNKNOWN), as the restore judges it. Its folder may
    hold that person's photos. Of several, the newest DIFFERENT one, else the newest UNKNOWN one."""

    student: Student
    verdict: Verdict  # DIFFERENT or UNKNOWN
    name: str  # the backup's name for that person, as stored
    backup: str
    reason: str


class Orphan(NamedTuple):
    """One orphaned folder as the act phase needs it: what the backups say and what was decided."""

    name: str
    old_name: str | None
    backup: str | None
    pairing: Pairing
    person: Person | None = None  # the old record, merged over every backup (None: unknown or disputed)
    target_earlier: EarlierHolder | None = None  # a backup holds another person under the target's id


UNKNOWN_ID = Pairing(Decision.UNKNOWN, "no backup holds this old id")


def _pack(text: str | None) -> bytes | None:
    """Text as UTF-8 bytes; lone surrogates (from odd folder names or JSON) survive the round trip."""
    return None if text is None else text.encode("utf-8", "surrogatepass")


def _unpack(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "surrogatepass")


def _loose(key: str | None) -> bytes | None:
    return _pack(alike_key(key))


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _one_edit_away(name: str | None) -> set[str]:
    """Keys two names share when they may be one name written another way (``identity.written_alike``): the name
    (as keyed and written loosely) with any one letter left out (one added, dropped, changed, or two neighbours
    swapped), its words in any order, and each word (some of its words), words split at punctuation too."""
    if not name:
        return set()
    words = loose_words(name)
    keys = {"".join(words), *words}
    for spelt in {name.replace(" ", ""), loose_name_key(name) or ""} - {""}:
        keys |= {spelt, *(spelt[:i] + spelt[i + 1:] for i in range(len(spelt)))}
    return keys


class MatchBook:
    """Current students, the orphans' old records and the decisions for them (see the module's doc)."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        self.db = sqlite3.connect("", isolation_level=None)  # "": a private file, deleted on close
        self.db.create_function("one_folder_key", 1, lambda sid: one_folder_key(_unpack(sid) or ""),
                                deterministic=True)
        # the same, as bytes (an orphan's folder name may hold lone surrogates, which text results cannot)
        self.db.create_function("folder_key", 1, lambda name: _pack(one_folder_key(_unpack(name) or "")),
                                deterministic=True)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16384", "temp_store=FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript("""
            CREATE TABLE current (row INTEGER PRIMARY KEY, sid BLOB, receivable INTEGER, key BLOB, name BLOB,
                                  codes BLOB, loose BLOB);
            CREATE TABLE orphan (name BLOB PRIMARY KEY, old_name BLOB, backup TEXT, key BLOB, codes BLOB,
                                 state TEXT, reason BLOB, loose BLOB) WITHOUT ROWID;
            CREATE TABLE history (orphan BLOB, rank INTEGER, backup TEXT, name BLOB, key BLOB, codes BLOB, loose BLOB);
            CREATE TABLE decision (name BLOB PRIMARY KEY, decision TEXT, reason BLOB, target INTEGER,
                                   paired_by TEXT) WITHOUT ROWID;
            CREATE TABLE fit (orphan BLOB, target INTEGER);
            CREATE TABLE ident (field INTEGER, code BLOB, row INTEGER);
            CREATE TABLE blind (row INTEGER PRIMARY KEY);
            CREATE TABLE settled (name BLOB PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE earlier (row INTEGER, rank INTEGER, backup TEXT, name BLOB, verdict TEXT, reason BLOB);
        """)
        self._earlier_indexed = False
        self._orphan_folder_indexed = False
        self.nameless: list[tuple[Student, Person]] = []
        # records holding a value no look-up can find: candidates for each orphan with an identifier in that field
        self.blind: BlindCurrent[Student] = BlindCurrent(self.fields)
        # orphans whose old record has no usable name (held here), or whose backups disagree (found by _disputed)
        self.rivals = RivalOld(self.fields, lookup=self._disputed)
        self.any_disputed = False
        self.current_count = 0
        self.any_photo = False  # some database record links a photo (then an empty students/ means no share)

    def close(self) -> None:
        self.db.close()

    # ---- filling it ----
    def add_current(self, records: Iterable[StudentRecord]) -> None:
        for chunk in _chunks(records, WRITE_CHUNK):
            first = self.current_count + 1
            self.current_count += len(chunk)
            self.any_photo = self.any_photo or any(r.photo for r in chunk)
            self.db.executemany(
                "INSERT INTO current (row, sid, receivable, key, name, codes, loose) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((first + i, _pack(r.student_id), int(r.receivable), _pack(r.person.name), _pack(r.name),
                  r.person.codes, _loose(r.person.name)) for i, r in enumerate(chunk)))
            # Identifiers and dates, by field: a corrected name must not hide a child from the matching.
            self.db.executemany("INSERT INTO ident VALUES (?, ?, ?)", (
                (field, code, first + i) for i, r in enumerate(chunk)
                for field, code in lookup_codes(r.person, "ntdD")))
            self.db.executemany("INSERT INTO blind VALUES (?)", ((first + i,) for i, r in enumerate(chunk)
                                                                 if "?" in r.person.codes))  # (few: "?" is rare)

    def finish_current(self) -> None:
        """Index; an id held by two documents can receive nothing; keep the nameless records at hand."""
        self.db.execute("CREATE INDEX current_sid ON current (sid)")
        self.db.execute("CREATE INDEX current_folder ON current (one_folder_key(sid))")
        self.db.execute("CREATE INDEX current_loose ON current (loose)")
        self.db.execute("CREATE INDEX ident_code ON ident (field, code)")
        self.db.execute("UPDATE current SET receivable = 0 WHERE sid IN "
                        "(SELECT sid FROM current GROUP BY sid HAVING count(*) > 1)")
        # two ids that are one folder on a share that ignores case or drops trailing dots (records.one_folder_key)
        self.db.execute("UPDATE current SET receivable = 0 WHERE one_folder_key(sid) IN "
                        "(SELECT one_folder_key(sid) AS f FROM current GROUP BY f HAVING count(DISTINCT sid) > 1)")
        rows = self.db.execute("SELECT row, sid, receivable, name, codes FROM current WHERE key IS NULL "
                               f"LIMIT {MAX_NAMELESS + 1}").fetchall()
        if len(rows) > MAX_NAMELESS:
            total = self.db.execute("SELECT count(*) FROM current WHERE key IS NULL").fetchone()[0]
            raise ConfigError(f"{total} of {self.current_count} database students have no usable name: matching "
                              "by identity needs names (is the name stored in another field?)")
        self.nameless = [(self._student(row), Person(None, row[4] or "")) for row in rows]
        for row in self.db.execute("SELECT c.row, c.sid, c.receivable, c.name, c.codes, c.key FROM blind b "
                                   "JOIN current c ON c.row = b.row ORDER BY c.row"):
            self.blind.add(self._student(row[:5]), Person(_unpack(row[5]), row[4] or ""))

    @staticmethod
    def _student(row: tuple) -> Student:
        number, sid, receivable, name, _codes = row
        return Student(_unpack(sid) or "", _unpack(name) or "", bool(receivable), number)

    def current_ids_among(self, names: list[str]) -> set[str]:
        """Which of these folder names name a current database record (valid id or not)."""
        found: set[str] = set()
        for chunk in _chunks(names, IN_CHUNK):
            query = f"SELECT sid FROM current WHERE sid IN ({','.join('?' * len(chunk))})"
            found.update(_unpack(row[0]) or "" for row in self.db.execute(query, [_pack(n) for n in chunk]))
        return found

    def current_ids(self) -> Iterator[str]:
        """Every current database record's id as text (valid or not)."""
        for (sid,) in self.db.execute("SELECT sid FROM current"):
            yield _unpack(sid) or ""

    def one_folder_twins(self, student_id: str) -> list[str]:
        """Other current ids that are this one's folder on a share that ignores case or drops trailing dots."""
        return [sid for (sid,) in self.db.execute(
            "SELECT DISTINCT CAST(sid AS TEXT) FROM current WHERE one_folder_key(sid) = ? AND sid != ?",
            (one_folder_key(student_id), _pack(student_id)))]

    def students_with_id(self, student_id: str) -> list[Student]:
        return [self._student(row) for row in self.db.execute(
            "SELECT row, sid, receivable, name, codes FROM current WHERE sid = ?", (_pack(student_id),))]

    def person_of_row(self, row: int) -> Person:
        key, codes = self.db.execute("SELECT key, codes FROM current WHERE row = ?", (row,)).fetchone()
        return Person(_unpack(key), codes or "")

    def add_orphans(self, names: Iterable[str]) -> None:
        for chunk in _chunks(names, WRITE_CHUNK):
            self.db.executemany("INSERT OR IGNORE INTO orphan (name) VALUES (?)", ((_pack(n),) for n in chunk))

    def add_backup(self, backup: str, rank: int, records: Iterable[StudentRecord],
                   orphans: Container[str] | None = None) -> None:
        """One backup's records of orphan ids (rank 0 is the newest). With ``orphans``, ``records`` may hold any
        id: those of the orphans are their history, and each record of an id a current record holds is compared
        with it (``earlier_holders``). If ``records`` raises (an unusable backup), nothing of this backup is kept."""
        try:
            for chunk in _chunks(records, WRITE_CHUNK):
                old = [(r.student_id, r) for r in chunk] if orphans is None else self._orphans_named(chunk, orphans)
                self.db.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    ((_pack(folder), rank, backup, _pack(r.name), _pack(r.person.name),
                                      r.person.codes, _loose(r.person.name)) for folder, r in old))
                if orphans is not None:
                    self._compare_with_current(backup, rank, chunk)  # an orphan's too: abcd-1001 is ABCD-1001 on SMB
        except BaseException:
            self.db.execute("DELETE FROM history WHERE rank = ?", (rank,))
            self.db.execute("DELETE FROM earlier WHERE rank = ?", (rank,))
            raise

    def _orphans_named(self, records: list[StudentRecord], orphans: Container[str]
                       ) -> list[tuple[str, StudentRecord]]:
        """(orphan, record) for each orphaned folder a record's id names (``records.one_folder_key``: `OLD-B` and
        `old-b.` are the folder `old-b` on a share that ignores case or drops trailing dots): its history."""
        if not self._orphan_folder_indexed:
            self.db.execute("CREATE INDEX IF NOT EXISTS orphan_folder ON orphan (folder_key(name))")
            self._orphan_folder_indexed = True
        named: dict[str, list[str]] = defaultdict(list)
        for part in _chunks({_pack(one_folder_key(r.student_id)) for r in records}, IN_CHUNK):
            marks = ",".join("?" * len(part))
            for (name,) in self.db.execute(f"SELECT name FROM orphan WHERE folder_key(name) IN ({marks})", part):
                if (folder := _unpack(name) or "") in orphans:
                    named[one_folder_key(folder)].append(folder)
        return [(folder, r) for r in records for folder in sorted(named.get(one_folder_key(r.student_id), ()))]

    def _compare_with_current(self, backup: str, rank: int, records: list[StudentRecord]) -> None:
        """Each backup record of a current id against every database record of that id, by the identity rule the
        restore applies to them (``identity.compare``): one that is not the same person is kept in ``earlier``."""
        held: dict[str, list[tuple[int, str, Person]]] = defaultdict(list)
        for part in _chunks(records, IN_CHUNK):  # by folder: abcd-1001 is ABCD-1001's folder on an SMB/macOS share
            marks = ",".join("?" * len(part))
            query = f"SELECT row, sid, key, codes FROM current WHERE one_folder_key(sid) IN ({marks})"
            for row, sid, key, codes in self.db.execute(query, [one_folder_key(r.student_id) for r in part]):
                text = _unpack(sid) or ""
                held[one_folder_key(text)].append((row, text, Person(_unpack(key), codes or "")))
        found = []
        for record in records:
            for row, sid, person in held.get(one_folder_key(record.student_id), ()):
                judged = judge_same_id(record.person, person, self.fields)
                if judged.verdict is Verdict.SAME and record.person.codes and \
                        proven_by(record.person, person, self.fields, self._holders).verdict is not Verdict.SAME and \
                        (elsewhere := proven_someone_else(record.person, sid, self._may_be(record.person),
                                                          self.fields, self._holders)):
                    judged = Judgement(Verdict.DIFFERENT, f"who is current student {elsewhere[0]} now "
                                       f"({elsewhere[1].reason}); this record only fits by what it does not record")
                if judged.verdict is not Verdict.SAME:
                    why = judged.reason if record.student_id == sid else \
                        f"{judged.reason}; held as {record.student_id}, this id's folder on a share that ignores " \
                        "case or drops trailing dots (SMB, macOS)"
                    found.append((row, rank, backup, _pack(record.name), judged.verdict.value, _pack(why)))
        self.db.executemany("INSERT INTO earlier VALUES (?, ?, ?, ?, ?, ?)", found)

    def _fits(self, folder: str, student: Student) -> bool:
        """Whether the matching found ``student`` fitting the old folder (the listing asked a person about them)."""
        return self.db.execute("SELECT 1 FROM fit WHERE orphan = ? AND target = ? LIMIT 1",
                               (_pack(folder), student.row)).fetchone() is not None

    def _kept_by_other(self, records: list[Person], student: Student) -> tuple[Student, tuple[str, ...]] | None:
        """A current student other than ``student`` who holds an identifier of one of the old records (a number, a
        text most children do not share) with nothing but the name differing, or who is proven that record."""
        for record in records:
            for other, held in self._sharing(record, IDENTIFIER_KINDS):
                if other.row == student.row:
                    continue
                kept = renamed_only(record, held, self.fields)
                if kept and not only_common(record, kept, self.fields, self._holders):
                    return other, kept
                proof = proven_by(record, held, self.fields, self._holders)
                if proof.verdict is Verdict.SAME:
                    return other, proof.agreeing
        return None

    def _proven_other(self, records: list[Person], student: Student) -> Student | None:
        """A current student other than ``student`` whom one of an orphan's old records is proven to be (name and an
        identifying field: ``identity.proven_by``): a reviewed row giving that folder to ``student`` on a mere
        likeness (twins Ava and Eva, one letter apart) was asked of no one."""
        for record in records:
            for other, held in self._alike_students(record):
                if other.row != student.row and \
                        proven_by(record, held, self.fields, self._holders).verdict is Verdict.SAME:
                    return other
        return None

    def _may_be(self, person: Person) -> list[tuple[str, Person]]:
        """Whom a record could be proven to be (``identity.proven_someone_else``): the current records named alike,
        and those sharing one of its identifiers or dates (a name written another way is found by what agrees)."""
        found = self._named_alike(person)
        if person.name is None:
            return found
        seen = set(found)
        for student, held in self._sharing(person, IDENTIFIER_KINDS) + self._sharing(person, "dD"):
            if (student.student_id, held) not in seen:
                seen.add((student.student_id, held))
                found.append((student.student_id, held))
        return found

    def _named_alike(self, person: Person) -> list[tuple[str, Person]]:
        """The current records whose name is written alike (``_loose``): whom a record could be proven to be."""
        return [(student.student_id, held) for student, held in self._alike_students(person)]

    def _alike_students(self, person: Person) -> list[tuple[Student, Person]]:
        if person.name is None:
            return []  # (a record with no usable name is proven no one)
        return [(self._student(row[:5]), Person(_unpack(row[5]), row[4] or "")) for row in self.db.execute(
            "SELECT row, sid, receivable, name, codes, key FROM current WHERE loose = ?", (_loose(person.name),))]

    _EARLIER_FIRST = "e.verdict = 'different' DESC, e.rank, e.rowid"  # which of an id's records is shown

    def _index_earlier(self) -> None:
        if not self._earlier_indexed:
            self.db.execute("CREATE INDEX earlier_row ON earlier (row)")
            self._earlier_indexed = True

    def earlier_holders(self) -> Iterator[EarlierHolder]:
        """Every current record whose id a backup holds as another person (or one who cannot be compared), by id.
        After every backup was added."""
        self._index_earlier()
        rows = self.db.execute(f"""
            SELECT c.row, c.sid, c.receivable, c.name, c.codes, e.verdict, e.name, e.backup, e.reason
            FROM earlier e JOIN current c ON c.row = e.row ORDER BY c.sid, c.row, {self._EARLIER_FIRST}""")
        for _, group in itertools.groupby(rows, key=lambda r: r[0]):
            first = next(group)
            yield EarlierHolder(self._student(first[:5]), Verdict(first[5]), _unpack(first[6]) or "", first[7],
                                _unpack(first[8]) or "")

    def _earlier_at(self, rowid: int, student: Student) -> EarlierHolder:
        verdict, name, backup, reason = self.db.execute(
            "SELECT verdict, name, backup, reason FROM earlier WHERE rowid = ?", (rowid,)).fetchone()
        return EarlierHolder(student, Verdict(verdict), _unpack(name) or "", backup, _unpack(reason) or "")

    # ---- deciding ----
    def merge_histories(self) -> None:
        """Each orphan's old record: every backup's records of its id, merged (identity.merge_history)."""
        self.db.execute("CREATE INDEX history_orphan ON history (orphan, rank)")
        rows = self.db.execute("SELECT o.name, h.backup, h.name, h.key, h.codes FROM orphan o "
                               "JOIN history h ON h.orphan = o.name ORDER BY o.name, h.rank, h.rowid")
        updates: list[tuple] = []
        for name, group in itertools.groupby(rows, key=lambda r: r[0]):
            records = list(group)
            _, backup, old_name, _, _ = records[0]
            history = merge_history((Person(_unpack(r[3]), r[4] or "") for r in records), self.fields)
            if history.person is not None:
                updates.append((old_name, backup, _pack(history.person.name), history.person.codes, "ok", None,
                                _loose(history.person.name), name))
                continue
            problem = history.problem
            assert problem is not None  # records were there, and they disagree
            where = sorted({r[1] for r in records})
            shown = f"{len(records)} records in {', '.join(where)}"
            state = "ambiguous" if problem.verdict is Verdict.DIFFERENT else "unknown"
            reason = (f"the backups hold different people under this id ({shown}): {problem.reason}"
                      if state == "ambiguous" else f"the records of this id cannot be compared ({shown}): "
                                                   f"{problem.reason}")
            updates.append((old_name, backup, None, "", state, _pack(reason), None, name))
        for chunk in _chunks(updates, WRITE_CHUNK):
            self.db.executemany("UPDATE orphan SET old_name = ?, backup = ?, key = ?, codes = ?, state = ?, "
                                "reason = ?, loose = ? WHERE name = ?", chunk)

    def _load_rivals(self) -> None:
        """The orphans with an old record that has no usable name (identity.RivalOld): at most a few are read. Those
        whose named records disagree stay in the file, found by name key (``_disputed``)."""
        rows = self.db.execute("""
            SELECT h.orphan, h.key, h.codes FROM history h
            WHERE h.orphan IN (SELECT orphan FROM history WHERE key IS NULL) AND h.orphan IN (SELECT name FROM orphan)
            ORDER BY h.orphan, h.rank, h.rowid""")
        for name, group in itertools.groupby(rows, key=lambda r: r[0]):
            self.rivals.add(_unpack(name) or "", [Person(_unpack(r[1]), r[2] or "") for r in group])
            if self.rivals.too_many:
                break
        self.any_disputed = self.db.execute("SELECT 1 FROM orphan WHERE state IN ('ambiguous', 'unknown') "
                                            "LIMIT 1").fetchone() is not None
        if self.any_disputed:
            self.db.execute("CREATE INDEX history_loose ON history (loose)")

    def _disputed(self, loose: str) -> Iterator[tuple[str, Person]]:
        """The records named alike (``identity.alike_key``) of orphans whose backups disagree about who they were
        (every record named: one with no usable name is ``RivalOld``'s own): one indexed look-up per match."""
        if not self.any_disputed:
            return iter(())
        rows = self.db.execute("""
            SELECT h.orphan, h.key, h.codes FROM history h JOIN orphan o ON o.name = h.orphan
            WHERE h.loose = ? AND o.state IN ('ambiguous', 'unknown')
              AND NOT EXISTS (SELECT 1 FROM history u WHERE u.orphan = h.orphan AND u.key IS NULL)""", (_pack(loose),))
        return ((_unpack(orphan) or "", Person(_unpack(key), codes or "")) for orphan, key, codes in rows.fetchall())

    def settle(self, folders: Iterable[str]) -> None:
        """Orphans a person's standing reviewed decision settles (``migrate.settled_by_person``): no rival, and
        their fits count for no one in the one-to-one rule. Before ``decide_by_identity``."""
        self.rivals.settled = frozenset(folders)
        self.db.executemany("INSERT OR IGNORE INTO settled VALUES (?)", ((_pack(f),) for f in self.rivals.settled))

    def decide_by_identity(self) -> None:
        self.merge_histories()
        self._load_rivals()
        rows = self.db.execute("""
            SELECT o.name, o.state, o.reason, o.key, o.codes, c.row, c.sid, c.receivable, c.name, c.codes, c.key
            FROM orphan o LEFT JOIN current c ON c.loose = o.loose AND o.loose IS NOT NULL ORDER BY o.name""")
        decisions: list[tuple[bytes, Pairing]] = []
        fits: list[tuple[bytes, int]] = []
        for name, group in itertools.groupby(rows, key=lambda r: r[0]):
            pairing, fitting = self._decide(list(group))
            decisions.append((name, pairing))
            fits.extend((name, row) if isinstance(row, int) else row for row in fitting)
            if len(decisions) >= WRITE_CHUNK:
                self._store(decisions, fits)
                decisions.clear()
                fits.clear()
        self._store(decisions, fits)
        # Two old folders that fit one student: which one is theirs is not known, so neither is paired.
        self.db.execute("CREATE INDEX fit_target ON fit (target)")
        shared = self.db.execute("""
            SELECT d.name, counts.n, c.sid FROM decision d
            JOIN (SELECT target, count(*) AS n FROM fit WHERE orphan NOT IN (SELECT name FROM settled)
                  GROUP BY target HAVING count(*) > 1) AS counts
                 ON counts.target = d.target
            JOIN current c ON c.row = d.target
            WHERE d.decision IN (?, ?)""", (Decision.MIGRATE.value, Decision.CANNOT_RECEIVE.value)).fetchall()
        self.db.executemany(
            "UPDATE decision SET decision = ?, reason = ?, target = NULL WHERE name = ?",
            ((Decision.AMBIGUOUS.value, _pack(f"{n} orphaned folders fit current student {_unpack(sid)}"), name)
             for name, n, sid in shared))
        self._doubt_respelled_classmates()

    def _doubt_respelled_classmates(self) -> None:
        """A match on the name and dates (and nothing that tells the two apart), while a classmate born the same day
        whose name is the old one written another way (one letter apart, two neighbours swapped, words reordered: a
        boy's `Elias` mistyped as his twin sister's `Elisa`) is no other folder's match: which child it is is not
        known (ambiguous, both asked about). One look-up per birth date, each day's classmates indexed by the
        spellings one edit away; repeated until no folder is newly doubted (a doubted folder explains no one)."""
        rows = self.db.execute("""
            SELECT d.name, o.key, o.codes, d.target, c.codes FROM decision d JOIN orphan o ON o.name = d.name
            JOIN current c ON c.row = d.target WHERE d.decision = ? AND d.paired_by = 'identity'""",
                               (Decision.MIGRATE.value,)).fetchall()
        by_day: dict[tuple[int, str], list[tuple[bytes, Person, int, set[str]]]] = defaultdict(list)
        for name, key, codes, target, target_codes in rows:
            old = Person(_unpack(key), codes or "")
            if old.name is None or _unpack(name) in self.rivals.settled:
                continue
            told = set(self._telling(old, Person(old.name, target_codes or "")))
            for place in lookup_codes(old, "dD"):
                by_day[place].append((name, old, target, told))
        suspects: list[tuple[bytes, int, int, str]] = []  # (folder, its match, a classmate who may be them, their id)
        for (field, code), group in by_day.items():
            if self._holders(field, code) > MAX_SHARING_A_DAY:
                continue
            spelt: dict[str, list[tuple[int, str, Person]]] = defaultdict(list)
            for row, sid, ckey, ccodes in self.db.execute(
                    "SELECT c.row, c.sid, c.key, c.codes FROM ident i JOIN current c ON c.row = i.row "
                    "WHERE i.field = ? AND i.code = ?", (field, code)):
                person = Person(_unpack(ckey), ccodes or "")
                for near in _one_edit_away(person.name):
                    spelt[near].append((row, _unpack(sid) or "", person))
            for name, old, target, told in group:
                seen: set[int] = set()
                for near in _one_edit_away(old.name):
                    for row, sid, person in spelt.get(near, ()):
                        if row == target or row in seen:
                            continue
                        seen.add(row)
                        if respelled_only(old, person, self.fields, read_dates=True) and \
                                not told - set(self._telling(old, person)):  # (the family email: both hold it)
                            suspects.append((name, target, row, sid))
        matches = {row[0]: row[3] for row in rows}  # folder -> its match
        doubted: dict[bytes, tuple[int, str]] = {}
        while True:  # a classmate another folder matched is explained by it, unless that folder is doubted too
            explained = {target for name, target in matches.items() if name not in doubted}
            newly = {name: (row, sid) for name, _target, row, sid in suspects
                     if name not in doubted and row not in explained}
            if not newly:
                break
            doubted.update(newly)
        for name, (row, sid) in doubted.items():
            self.db.execute("INSERT INTO fit VALUES (?, ?)", (name, row))  # (asked about: a reviewed row may name them)
            self.db.execute("UPDATE decision SET decision = ?, reason = ?, target = NULL WHERE name = ?",
                            (Decision.AMBIGUOUS.value, _pack(
                                f"matches a current student by name and birth date, but {sid}, born the same day, has "
                                "the name written another way (a twin's name mistyped? a corrected name?): which "
                                "child it is is not known"), name))

    def _telling(self, old: Person, person: Person) -> tuple[str, ...]:
        """The identifiers ``old`` shares with ``person`` that can tell one child from another: not a date written as
        text (a birthday), not a value many current records hold (a school office's email)."""
        count = len(self.fields)
        texts_of_days = {f for f, x in zip(self.fields, old.code_list(count), strict=False)
                         if x[:1] == "t" and date_readings(x)}
        shared = tuple(f for f in shared_identifiers(old, person, self.fields) if f not in texts_of_days)
        return () if not shared or only_common(old, shared, self.fields, self._holders) else shared

    def _decide(self, rows: list[tuple]) -> tuple[Pairing, list[int | tuple[bytes, int]]]:
        """The orphan's pairing, and the students who fit it (a row; or (another orphan, row) for an orphan
        with no usable name that fits the student this one matches)."""
        name, state, reason, key, codes = rows[0][:5]
        if state is None:
            return UNKNOWN_ID, []
        if state != "ok":
            return Pairing(Decision(state), _unpack(reason) or ""), []
        old = Person(_unpack(key), codes or "")
        candidates = [(self._student(r[5:10]), Person(_unpack(r[10]), r[9] or "")) for r in rows if r[5] is not None]
        named = {s.row for s, _ in candidates}  # and every record with one of its identifiers (a corrected name?)
        candidates += [(s, p) for s, p in self._sharing(old, IDENTIFIER_KINDS) if s.row not in named]
        named |= {s.row for s, _ in candidates + self.nameless}  # and those holding one where no look-up sees it
        candidates += [(s, p) for s, p in self.blind.candidates(old) if s.row not in named]
        choice = choose(old, candidates + self.nameless, self.fields,
                        label=lambda s: f"{s.name or '(no name)'} ({s.student_id})",
                        uncompared=self.blind.uncompared(old), holders=self._holders)
        fitting: list[int | tuple[bytes, int]] = [s.row for s in choice.fits]
        if choice.outcome is not Outcome.MATCH and unsearchable(old, self.fields):  # it may be a child renamed since:
            fitting += [s.row for s, p in self._sharing(old, "dD")  # (one with its birth date: the one-to-one rule)
                        if s.row not in fitting and hidden_sharing(p, old, self.fields)]
        if choice.outcome is Outcome.MATCH:
            target = choice.target
            assert target is not None  # a match names its target
            chosen = next(person for s, person in candidates + self.nameless if s is target)
            rival = self.rivals.rival(chosen, besides=_unpack(name))
            if rival is not None:  # one-to-one: which folder is theirs is not known
                if rival.folder is not None:
                    fitting.append((_pack(rival.folder) or b"", target.row))  # a person reviewing it sees them
                return Pairing(Decision.AMBIGUOUS, f"matches {target.name} ({target.student_id}), but "
                                                   f"{rival.reason}: which folder is theirs is not known"), fitting
            if not target.receivable:
                twins = self.one_folder_twins(target.student_id)
                why = ("its student_id is held by more than one database document" if target.student_id and
                       len(self.students_with_id(target.student_id)) > 1 else
                       f"its student_id and {', '.join(twins)} are one folder on a share that ignores case or drops "
                       "trailing dots (SMB, macOS)" if twins else "its student_id is not a valid id")
                return Pairing(Decision.CANNOT_RECEIVE, f"matches {target.name} ({target.student_id}), but {why}: "
                                                        "fix the database record first", target), fitting
            return Pairing(Decision.MIGRATE, choice.reason, target), fitting
        if choice.outcome is Outcome.NONE:
            renamed = self._renamed(old)
            if renamed:
                student, judged = renamed[0]
                same = ", ".join(judged.agreeing)
                return Pairing(Decision.UNKNOWN, f"no current student has this name, but {student.name} "
                                                 f"({student.student_id}) has the same {same} and nothing differs "
                                                 "but the name: a corrected name? Pair it by hand (--pairs)"), \
                    fitting + [s.row for s, _ in renamed]
        decision = {Outcome.AMBIGUOUS: Decision.AMBIGUOUS, Outcome.UNKNOWN: Decision.UNKNOWN,
                    Outcome.NONE: Decision.NO_STUDENT}[choice.outcome]
        return Pairing(decision, choice.reason), fitting

    def _renamed(self, old: Person) -> list[tuple[Student, Judgement]]:
        """Current records with its dates and a name written alike (``identity.respelled_only``): a corrected name?
        (One sharing an identifier is among ``choose``'s candidates.)"""
        return [(s, Judgement(Verdict.UNKNOWN, "", shared)) for s, person in self._sharing(old, "dD")
                if (shared := respelled_only(old, person, self.fields, read_dates=True))]

    def _sharing(self, old: Person, kinds: str) -> list[tuple[Student, Person]]:
        """Current records holding one of the old record's codes of these kinds (n, t: numbers, text; d, D: dates):
        one joined look-up per code."""
        found: dict[int, tuple[Student, Person]] = {}
        cap = MAX_SHARING_A_DAY if kinds == "dD" else MAX_SHARED_IDENTIFIER  # (about 40 share a birthday at 200,000)
        for field, code in lookup_codes(old, kinds):  # (a list's members too: "[5]" from an import is found by 5)
            if self._holders(field, code) > cap:
                continue  # (identifies no one child: comparing each holder with each orphan would be quadratic)
            for row in self.db.execute("SELECT c.row, c.sid, c.receivable, c.name, c.codes, c.key FROM ident i "
                                       "JOIN current c ON c.row = i.row WHERE i.field = ? AND i.code = ?",
                                       (field, code)):
                if row[0] not in found:
                    found[row[0]] = (self._student(row[:5]), Person(_unpack(row[5]), row[4] or ""))
        return [found[row] for row in sorted(found)]

    def _holders(self, field: int, code: str) -> int:
        """How many current records hold this value (position, code)."""
        return self.db.execute("SELECT count(*) FROM ident WHERE field = ? AND code = ?", (field, code)).fetchone()[0]

    def decide_by_order(self) -> list[tuple[str, Student]]:
        """The design document's pairing (name-sorted students with name-sorted folders). Unsafe."""
        self.merge_histories()
        folders = [_unpack(f) or "" for (f,) in self.db.execute("SELECT name FROM orphan ORDER BY name")]
        students = [self._student(r) for r in self.db.execute(
            "SELECT row, sid, receivable, name, codes FROM current WHERE receivable ORDER BY name, sid")]
        pairs = list(zip(folders, students))  # noqa: B905 (unequal lengths are the point)
        paired = (Pairing(Decision.MIGRATE, "paired by sort order (--match order)", s, "order") for _, s in pairs)
        unpaired = [Pairing(Decision.NO_STUDENT, "no student left")] * (len(folders) - len(pairs))
        names = [f.encode("utf-8", "surrogatepass") for f in folders]
        self._store(list(zip(names, itertools.chain(paired, unpaired), strict=True)), [])
        return pairs

    def reserve_for_person(self, orphan: str, target: Student) -> None:
        """A person gave ``orphan`` to this student (whether or not that folder is still here, cleaned or not):
        the tool's own pairing of any other folder with them is no longer one-to-one."""
        self.db.execute("UPDATE decision SET decision = ?, reason = ?, target = NULL WHERE target = ? AND name != ? "
                        "AND paired_by IN ('identity', 'pairs file')",  # an earlier reviewed file's too: one-to-one
                        (Decision.AMBIGUOUS.value, _pack(f"a reviewed pairing gives student {target.student_id} "
                                                         "another folder"), target.row, _pack(orphan)))

    def pair_by_person(self, orphan: str, target: Student, reason: str, paired_by: str) -> None:
        """A pairing a person made (a reviewed file): it replaces the tool's own, and the tool's own pairing
        of any other folder with that student is no longer one-to-one."""
        self.reserve_for_person(orphan, target)
        self.db.execute("INSERT OR REPLACE INTO decision VALUES (?, ?, ?, ?, ?)",
                        (_pack(orphan), Decision.MIGRATE.value, _pack(reason), target.row, paired_by))

    def matched_students(self) -> list[Student]:
        """The students some orphan is to be migrated to by the tool's own (or a reviewed file's) decision."""
        rows = self.db.execute("SELECT DISTINCT c.row, c.sid, c.receivable, c.name, c.codes FROM decision d "
                               "JOIN current c ON c.row = d.target WHERE d.decision = ?", (Decision.MIGRATE.value,))
        return [self._student(r) for r in rows.fetchall()]

    def needs_person_for(self, student: Student, reason: str) -> None:
        """No folder goes to this student by the tool's own decision until a person decides again."""
        self.db.execute("UPDATE decision SET decision = ?, reason = ?, target = NULL WHERE target = ? AND decision = ? "
                        "AND paired_by = 'identity'", (Decision.UNKNOWN.value, _pack(reason), student.row,
                                                       Decision.MIGRATE.value))

    def needs_person(self, orphan: str, reason: str) -> None:
        """A person's earlier decision no longer applies: a person must decide again (never all done)."""
        self.db.execute("INSERT OR REPLACE INTO decision VALUES (?, ?, ?, NULL, 'pairs file')",
                        (_pack(orphan), Decision.UNKNOWN.value, _pack(reason)))

    def no_one(self, orphan: str, reason: str) -> None:
        """A person decided this folder goes to no one: it is not migrated (and so never cleaned)."""
        self.db.execute("INSERT OR REPLACE INTO decision VALUES (?, ?, ?, NULL, 'pairs file')",
                        (_pack(orphan), Decision.NO_STUDENT.value, _pack(reason)))

    def _store(self, decisions: list[tuple[bytes, Pairing]], fits: list[tuple[bytes, int]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO decision VALUES (?, ?, ?, ?, ?)",
                            ((name, p.decision.value, _pack(p.reason), p.target.row if p.target else None,
                              p.paired_by) for name, p in decisions))
        self.db.executemany("INSERT INTO fit VALUES (?, ?)", fits)

    # ---- reading it back, in folder-name order ----
    def orphan_names(self) -> list[str]:
        return [_unpack(n) or "" for (n,) in self.db.execute("SELECT name FROM orphan ORDER BY name")]

    def orphan(self, name: str) -> Orphan | None:
        for batch in self._orphans("WHERE o.name = ?", (_pack(name),), 1):
            return batch[0]
        return None

    def orphans(self, batch: int) -> Iterator[list[Orphan]]:
        return self._orphans("", (), batch)

    def _orphans(self, where: str, args: tuple, batch: int) -> Iterator[list[Orphan]]:
        self._index_earlier()
        rows = self.db.execute(f"""
            SELECT o.name, o.old_name, o.backup, o.state, o.key, o.codes, d.decision, d.reason, d.paired_by,
                   (SELECT e.rowid FROM earlier e WHERE e.row = c.row ORDER BY {self._EARLIER_FIRST} LIMIT 1),
                   c.row, c.sid, c.receivable, c.name, c.codes
            FROM orphan o LEFT JOIN decision d ON d.name = o.name LEFT JOIN current c ON c.row = d.target
            {where} ORDER BY o.name""", args)
        while fetched := rows.fetchmany(max(batch, FETCH_ROWS)):  # few fetches: each waits for the GIL again
            for start in range(0, len(fetched), batch):
                yield self._orphans_of(fetched[start:start + batch])

    def _orphans_of(self, chunk: list[tuple]) -> list[Orphan]:
        out = []
        for name, old_name, backup, state, key, codes, decision, reason, paired_by, earlier, *target in chunk:
            student = self._student(tuple(target)) if target[0] is not None else None
            pairing = (Pairing(Decision(decision), _unpack(reason) or "", student, paired_by or "identity")
                       if decision else UNKNOWN_ID)
            person = Person(_unpack(key), codes or "") if state == "ok" else None
            held = self._earlier_at(earlier, student) if earlier is not None and student is not None else None
            out.append(Orphan(_unpack(name) or "", _unpack(old_name), backup, pairing, person, held))
        return out

    def candidates_of(self, orphan: Orphan, limit: int = 6) -> list[tuple[Student, Person]]:
        """The current students a person should look at for this orphan: its namesakes, and whoever fits."""
        rows = self.db.execute("""
            SELECT row, sid, receivable, name, codes, key FROM current
            WHERE (key IS NOT NULL AND key = (SELECT key FROM orphan WHERE name = ?))
               OR row IN (SELECT target FROM fit WHERE orphan = ?)
            ORDER BY name, sid LIMIT ?""", (_pack(orphan.name), _pack(orphan.name), limit)).fetchall()
        return [(self._student(r[:5]), Person(_unpack(r[5]), r[4] or "")) for r in rows]

    def judge(self, orphan: Orphan, student: Student) -> tuple[Verdict, str]:
        """The identity rule between an orphan's old records (all of them) and one current student."""
        person = self.person_of_row(student.row)
        records = [Person(_unpack(k), c or "") for k, c in self.db.execute(
            "SELECT key, codes FROM history WHERE orphan = ? ORDER BY rank", (_pack(orphan.name),))]
        if not records:
            return Verdict.UNKNOWN, "no backup holds this old id"
        judged = [judge_pairing(r, person, self.fields) for r in records]  # the listing's questions: a person's call
        if all(name_only(j) or j.verdict is not Verdict.SAME for j in judged) and \
                (keeper := self._kept_by_other(records, student)) is not None:
            keeping, kept = keeper  # a name alone never outweighs a number another student kept (renamed since?)
            return Verdict.DIFFERENT, (f"only the name agrees with {student.student_id}, while {keeping.student_id} "
                                       f"({keeping.name}) has the same {', '.join(kept)}: renamed since?")
        for verdict in (Verdict.SAME, Verdict.UNKNOWN):
            for j in judged:
                if j.verdict is verdict:
                    matched = orphan.pairing.target
                    if verdict is Verdict.UNKNOWN and orphan.pairing.paired_by == "identity" and matched is not None \
                            and orphan.pairing.decision in (Decision.MIGRATE, Decision.MIGRATED) \
                            and matched.row != student.row:  # no one was asked: a swapped sheet (twins Ava/Eva)
                        return Verdict.DIFFERENT, (f"the identity rule proves it is {matched.student_id} "
                                                   f"({matched.name}), and asked no one about {student.student_id} "
                                                   f"({j.reason})")
                    if verdict is Verdict.UNKNOWN and not self._fits(orphan.name, student) and \
                            (other := self._proven_other(records, student)) is not None:
                        # not among the students the listing asked about, while another was proven (a match that
                        # stood aside for a rival folder)
                        return Verdict.DIFFERENT, (f"the identity rule proves it is {other.student_id} ({other.name}), "
                                                   f"and asked no one about {student.student_id} ({j.reason})")
                    return verdict, j.reason
        return Verdict.DIFFERENT, judged[0].reason
