"""Where the tool cannot decide, a person can: the plan as CSV (``--list --csv``), a review page with the photos
(``--list --html``), and a reviewed file carried out (``--migrate --pairs``).

A reviewed file is checked whole before anything is done; one bad row refuses the file (exit 2), naming
every bad row. A spreadsheet sorted on one column must not hand out photos, so a row the identity rule
finds *different* is refused unless that row says override = yes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .console import printable
from .errors import ToolError
from .identity import Verdict, uncomparable_why, written_name_could_be, written_name_is
from .links import ATTENDANCE, PROFILE
from .matching import MatchBook, Orphan, Student
from .records import is_safe_id
from .report import Decision, MigrateReport
from .spreadsheet import (
    FORMULA_ESCAPED,
    SpreadsheetError,
    as_spreadsheet_number,
    as_spreadsheet_text,
    number_twins,
    read_table,
    text_twins,
    write_table,
)
from .store import PhotoStore, StoreProblem, folders_holding, read_regular, sha256_file, walk_photos

if TYPE_CHECKING:
    from .migrate import OrphanWork
    from .session import Session

PLAN_HEADER = ("orphan", "old_name", "backup", "decision", "reason", "student_id", "student_name", "override")
YES = ("yes", "y", "true", "1", "x", "override")
NO_ONE = ("none", "no one", "nobody", "-")  # in student_id: a person decided this folder goes to no one
MAX_MATCH_CARDS = 200  # the tool's own matches on the review page (they need no person; the page stays openable)


class PairsError(ToolError):
    """The reviewed file is refused as a whole; nothing was done (exit 2)."""


def _outside_store(path: Path, store: PhotoStore, what: str, keep_existing: bool) -> Path:
    """A file naming children never goes into the photo store (the app serves it publicly), never replaces
    anything but a regular file of ours (`/dev/stdout` is a symlink), and a plan a person may have edited is
    never overwritten."""
    target = path.expanduser().absolute()
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ToolError(f"Refusing to write the {what} over {target}: it is not a regular file")
    if info is not None and keep_existing:
        raise ToolError(f"Refusing to overwrite {target}: it may hold a person's review; write the {what} to a new "
                        "name (or delete the old one first)")
    try:
        folder = target.parent.resolve(strict=True)
    except OSError:
        raise ToolError(f"Cannot write the {what} {target}: its folder does not exist") from None
    root = store.root.resolve()
    if folder == root or root in folder.parents:
        raise ToolError(f"Refusing to write the {what} {target} inside the photo folder {root}: the app serves that "
                        "folder to anyone; write it elsewhere")
    return target


# ---------------------------------------------------------------- --list --csv
class PlanCsv:
    def __init__(self, path: Path, store: PhotoStore) -> None:
        self.path = _outside_store(path, store, "plan", keep_existing=True)
        self.rows: list[list[str]] = []

    def add(self, work: OrphanWork) -> None:
        r = work.report
        self.rows.append([printable(r.name), printable(r.old_name or ""), r.backup or "", r.decision.value,
                          printable(r.reason), r.target_id or "", printable(r.target_name or ""), ""])

    def close(self) -> str:
        try:
            # the folder name is written as any cell (a name starting with "=" gets a "'": never a formula) and
            # read back exactly, so _folders_named sees both forms
            write_table(self.path, PLAN_HEADER, self.rows, raw_columns=("student_id",))
        except OSError as exc:
            raise ToolError(f"Cannot write the plan {self.path}: {exc.strerror or exc}") from None
        return str(self.path)


# ---------------------------------------------------------------- --migrate --pairs
def _folders_named(book: MatchBook, by_text: dict[str, list[str]], shown: str) -> list[str]:
    """Every folder a row's cell can mean (more than one: the row is refused): an orphan whose name, as the plan
    shows it (a byte that is not text as \\xNN) and as a spreadsheet may save it (``as_spreadsheet_text``: a bare
    cell's spaces stripped, a non-breaking space saved as a space), is the cell's; and a current student's folder
    so named (never an orphan: the row is refused). ``by_text``: the orphans by ``text_twins``. So `old7` in a
    re-saved file is folder `old7 ` only while there is no folder `old7`, and `\\xff` is the folder with that byte
    only while no folder is named that text."""
    forms = [shown, shown[1:]] if FORMULA_ESCAPED.match(shown) else [shown]  # the plan's "'" before a formula
    found: list[str] = []
    for key in dict.fromkeys(as_spreadsheet_text(form) for form in forms if form):  # an empty cell names none
        found += [name for name in by_text.get(key, ()) if name not in found]
        if is_safe_id(key) and key not in found and book.students_with_id(key):  # a safe id has no space
            found.append(key)
    exact = [form for form in forms if form in found]
    return exact + [name for name in found if name not in exact]  # the folder a single cell names is the first


def _number_twin(book: MatchBook, twins: dict[Decimal, list[str]], name: str, shown_old: str) -> str | None:
    """Another orphan the row's folder name could have been before a spreadsheet rewrote it, unless the row's
    old_name (already checked to be this folder's) is no other's of them: that folder's name, else None."""
    number = as_spreadsheet_number(name)
    for other in twins.get(number, []) if number is not None else []:
        twin = book.orphan(other)
        if other != name and (not shown_old or twin is None or written_name_is(shown_old, twin.old_name)):
            return other
    return None


def _id_twin(book: MatchBook, alike: list[str], sid: str, shown_student: str) -> str | None:
    """Another current id the row's numeric student_id could have been before a spreadsheet rewrote it, unless the
    row's student_name (already checked to be this student's) is, by the rule, not that student's (a name it
    cannot compare rules out no one)."""
    for other in alike:
        if other != sid and (not shown_student or any(_could_be_named(book, s, shown_student)
                                                      for s in book.students_with_id(other))):
            return other
    return None


def _could_be_named(book: MatchBook, student: Student, written: str) -> bool:
    """Whether ``written`` could be this student's name (``identity.written_name_could_be``)."""
    return written_name_could_be(written, book.person_of_row(student.row).name)


def _copied_elsewhere(book: MatchBook, store: PhotoStore, pairs: list[tuple[Orphan, Student, str]],
                      vetoes: list[tuple[Orphan, str]], lines: dict[str, int]) -> dict[str, str]:
    """{orphan: why it may not go out as the file says} for each orphan a row gives to a student the tool did not
    pair it with, or keeps from everyone, one of whose photos is byte-identical in another current student's folder
    (an earlier migration or a copy by hand: content, so both are found), or (for a row) in another old folder that
    goes to another student in this run. One walk of the store, and none when no row changes a decision."""
    wanted: dict[tuple[str, int], list[tuple[Orphan, Student | None, str]]] = defaultdict(list)
    checked = [(orphan, target) for orphan, target, _ in pairs
               if not (orphan.pairing.decision is Decision.MIGRATE and orphan.pairing.target == target)]
    for orphan, target in [*checked, *((orphan, None) for orphan, _ in vetoes)]:
        folder = f"{store.students_text}/{orphan.name}"
        for rel, _info in walk_photos(folder):
            with contextlib.suppress(OSError, StoreProblem):
                wanted[sha256_file(f"{folder}/{rel}")].append((orphan, target, rel))
    if not wanted:
        return {}
    goes = {orphan.name: target.student_id for orphan, target, _ in pairs} | {orphan.name: "" for orphan, _ in vetoes}
    found: dict[str, str] = {}
    for digest, folders in folders_holding(store, set(wanted)).folders.items():
        current = book.current_ids_among(folders)
        for orphan, target, rel in wanted[digest]:
            if orphan.name not in found and (why := _held_elsewhere(book, goes, orphan, target, rel, folders,
                                                                     current, lines[orphan.name])):
                found[orphan.name] = why
    return found


def _held_elsewhere(book: MatchBook, goes: dict[str, str], orphan: Orphan, target: Student | None, rel: str,
                    folders: list[str], current: set[str], line: int) -> str | None:
    """Why the same bytes elsewhere stop this row (the first holder that does, by name), if they do: another
    current student's folder, or (for a row giving it to someone) an old folder going to another student."""
    for folder in sorted(f for f in folders if f != orphan.name):
        if folder in current and (target is None or folder != target.student_id):
            return _copied_text(book, line, target, rel, folder)
        if target is not None and folder not in current:  # another old folder: where it goes this run
            to = goes[folder] if folder in goes else _rule_target(book, folder)
            if to and to != target.student_id:
                return _copied_text(book, line, target, rel, folder, to)
    return None


def _rule_target(book: MatchBook, folder: str) -> str:
    """The student the identity rule migrates old folder ``folder`` to in this run ('' when it goes to no one)."""
    other = book.orphan(folder)
    if other is None or other.pairing.decision is not Decision.MIGRATE or other.pairing.target is None:
        return ""
    return other.pairing.target.student_id


def _copied_text(book: MatchBook, line: int, target: Student | None, rel: str, holder: str, via: str = "") -> str:
    """Why a reviewed row is not carried out: the same bytes are another child's (``holder``'s folder, or old folder
    ``holder`` that goes to student ``via`` in this run)."""
    def who(sid: str) -> str:
        students = book.students_with_id(sid)
        return f"{students[0].name if students else ''} ({sid})"
    said = f"gives it to {target.name or '(no name)'} ({target.student_id})" if target else "says it goes to no one"
    if via:
        return (f"a reviewed file (line {line}) {said}, but its {rel} is also in old folder {holder}, which goes to "
                f"{who(via)} in this run (the same bytes): one face would go to two children; find out whose photo "
                "it is, then make the plan again")
    return (f"a reviewed file (line {line}) {said}, but its {rel} is already in the folder of current student "
            f"{who(holder)} (the same bytes: an earlier migration, or a copy by hand)"
            + (", and a second child never receives it" if target else "")
            + ": if that copy was wrong, undo its run (--history, then --undo RUN_ID) and apply the file again; else "
            "sort it out by hand")


def _half_filled(book: MatchBook, by_text: dict[str, list[str]], values: dict[str, str]) -> str | None:
    """Why a row without a student_id is not "left empty" (None: it is, and the tool's own decision stands): its
    student_name, or an override of yes, is a person's decision the row does not say how to carry out (an emptied
    id, a name written in the wrong cell). The one student_name the tool writes itself beside no id (a student
    whose id is empty: the plan names who cannot receive) is its own, untouched."""
    written = values.get("student_name", "").strip()
    override = values.get("override", "").strip()
    if override.casefold() in YES:
        return (f"override says {override!r} but student_id is empty: write the student_id the folder goes to (or "
                "none), or empty its override")
    if not written:
        return None
    named = _folders_named(book, by_text, values.get("orphan", ""))
    orphan = book.orphan(named[0]) if len(named) == 1 else None
    target = orphan.pairing.target if orphan is not None else None
    if target is not None and not target.student_id and written_name_is(written, target.name):
        return None  # as the plan wrote it: the tool's own row
    return (f"student_name {written!r} is filled in but student_id is empty, so the row does not say which student "
            "(a row left empty keeps the tool's own decision; this one is not empty): write the student's "
            "student_id, or none to keep the folder from everyone, or empty its student_name")


def apply_pairs_file(path_text: str, book: MatchBook, store: PhotoStore) -> dict:
    path = Path(path_text).expanduser().absolute()
    try:
        rows = read_table(path, ("orphan", "student_id"), raw_columns=("orphan", "student_id"))
        digest = hashlib.sha256(read_regular(path, 100 << 20, follow=True)).hexdigest()
    except SpreadsheetError as exc:
        raise PairsError(f"The reviewed file is refused, nothing was done: {exc}") from None
    except (OSError, ToolError) as exc:
        raise PairsError(f"Cannot read the reviewed file {path}: {exc}") from None
    bad: list[str] = []
    pairs: list[tuple[Orphan, Student, str]] = []
    vetoes: list[tuple[Orphan, str]] = []
    orphans_seen: dict[str, int] = {}
    students_seen: dict[str, int] = {}
    orphan_names = book.orphan_names()
    twins = number_twins(orphan_names)
    by_text = text_twins(orphan_names, printable)  # as the plan shows them
    id_twins: dict[Decimal, list[str]] | None = None  # current ids alike as numbers: made at the first numeric id
    for row in rows:
        shown = row.values.get("orphan", "")
        sid = row.values.get("student_id", "")
        where = f"line {row.line}"
        if not sid:
            if (why := _half_filled(book, by_text, row.values)) is not None:
                bad.append(f"{where}: {why}")
            continue  # a row a person left empty (or as the tool wrote it) keeps the tool's own decision
        named = _folders_named(book, by_text, shown)
        if len(named) > 1:
            bad.append(f"{where}: {shown!r} is how {len(named)} folders are shown "
                       f"({', '.join(repr(printable(n)) for n in named[:4])}): a byte that is not text is shown "
                       "escaped, and a spreadsheet strips a cell's spaces or saves a non-breaking space as a space, "
                       "so the row could mean any of them: rename all but one, then make the plan again")
            continue
        name = named[0] if named else None
        orphan = book.orphan(name) if name is not None else None
        if orphan is None or name is None:
            bad.append(f"{where}: {shown!r} is not an orphaned folder (it does not exist, or a current student has "
                       "that id)")
            continue
        shown_old = row.values.get("old_name", "").strip()
        if shown_old and not written_name_is(shown_old, orphan.old_name):  # the plan wrote the folder's old name
            bad.append(f"{where}: the row's old_name {shown_old!r} is not folder {shown}'s "
                       f"({orphan.old_name or 'no old record'}): was the row's folder id changed (a spreadsheet drops "
                       "leading zeros) or the rows sorted apart? Make the plan again")
            continue
        twin = _number_twin(book, twins, name, shown_old) if twins else None
        if twin is not None:
            bad.append(f"{where}: folder {shown!r} could also be folder {printable(twin)!r} (a spreadsheet reads both "
                       "as one number: it drops leading zeros and rewrites 7.0 as 7, 100000 as 1E+05) and the row's "
                       "old_name does not say which: open the plan with the orphan column as text, or rename one "
                       "folder, then make the plan again")
            continue
        if name in orphans_seen:
            bad.append(f"{where}: orphan {shown} is already paired on line {orphans_seen[name]}")
            continue
        orphans_seen[name] = row.line
        if sid.casefold() in NO_ONE:
            vetoes.append((orphan, f"a person decided it goes to no one (reviewed file, line {row.line})"))
            continue
        targets = book.students_with_id(sid)
        if not targets:
            bad.append(f"{where}: no current student has student_id {sid!r}")
            continue
        if len(targets) > 1 or not targets[0].receivable:
            why = f"is held by {len(targets)} database documents" if len(targets) > 1 else "is not a valid id"
            bad.append(f"{where}: student_id {sid!r} {why}: fix the database record first")
            continue
        shown_student = row.values.get("student_name", "").strip()
        if shown_student and not written_name_is(shown_student, targets[0].name):  # the row contradicts itself
            bad.append(f"{where}: the row's student_name {shown_student!r} is not the name of student {sid} "
                       f"({targets[0].name or 'no name'}): was a cell copied from another row, or the rows sorted "
                       "apart? Correct the row, or empty its student_name")
            continue
        if (number := as_spreadsheet_number(sid)) is not None:  # a numeric id a spreadsheet may have rewritten
            if id_twins is None:
                id_twins = number_twins(book.current_ids())
            if (twin := _id_twin(book, id_twins.get(number, []), sid, shown_student)) is not None:
                bad.append(f"{where}: student_id {sid!r} could also be student {twin!r} (a spreadsheet reads both as "
                           "one number) and the row's student_name does not say which: fill in student_name, or "
                           "open the plan with the student_id column as text, then apply it again")
                continue
        if sid in students_seen:
            bad.append(f"{where}: student {sid} is already given a folder on line {students_seen[sid]}")
            continue
        students_seen[sid] = row.line
        verdict, reason = book.judge(orphan, targets[0])
        override = row.values.get("override", "").strip().casefold() in YES
        if verdict is Verdict.DIFFERENT and not override:
            bad.append(f"{where}: {shown} ({orphan.old_name or 'no old record'}) and {sid} ({targets[0].name}) are "
                       f"different people by the identity rule ({reason}); if you are sure, put yes in its override "
                       "column")
            continue
        text = f"paired by a reviewed file (line {row.line})"
        if verdict is Verdict.DIFFERENT:
            text += f", override: the identity rule says different ({reason})"
        pairs.append((orphan, targets[0], text))
    if bad:
        raise PairsError(f"The reviewed file {path} is refused, nothing was done ({len(bad)} bad row(s)):\n  " +
                         "\n  ".join(bad))
    elsewhere = _copied_elsewhere(book, store, pairs, vetoes, orphans_seen)
    for orphan, target, text in pairs:
        book.pair_by_person(orphan.name, target, text, "pairs file")  # still reserves the student (fail closed)
        if orphan.name in elsewhere:
            book.needs_person(orphan.name, elsewhere[orphan.name])
    for orphan, text in vetoes:
        if orphan.name in elsewhere:  # already copied to a child: "no one" would hide that copy
            book.needs_person(orphan.name, elsewhere[orphan.name])
        else:
            book.no_one(orphan.name, text)
    return {"file": str(path), "sha256": digest, "rows": len(pairs),
            "overridden": sum(1 for _, _, text in pairs if "override" in text),
            "vetoed": [orphan.name for orphan, _ in vetoes]}


# ---------------------------------------------------------------- --list --html
class PlanPage:
    """Cards for the review page: the orphan's photos beside each candidate student's current ones."""

    def __init__(self, path: Path, run: Session, book: MatchBook) -> None:
        from .review import ReviewCard  # noqa: F401 (fail early if the module cannot load)
        self.path = _outside_store(path, run.store, "review page", keep_existing=False)
        self.run, self.book = run, book
        self.cards: list = []
        self.matches = 0

    def _photos(self, folder: Path, newest_attendance: bool) -> tuple:
        from .review import ReviewPhoto
        photos = [ReviewPhoto(PROFILE, folder / PROFILE)] if os.path.lexists(folder / PROFILE) else []
        try:
            entries = [e for e in os.scandir(folder / ATTENDANCE) if e.is_file(follow_symlinks=False)]
        except OSError:
            entries = []
        entries.sort(key=lambda e: (e.stat(follow_symlinks=False).st_mtime if newest_attendance else 0, e.name),
                     reverse=newest_attendance)
        photos += [ReviewPhoto(f"{ATTENDANCE}/{printable(e.name)}", Path(e.path)) for e in entries[:3]]
        return tuple(photos)

    def _fields(self, codes_of) -> tuple:
        return tuple((f, codes_of(i)) for i, f in enumerate(self.run.settings.match_fields))

    def add(self, work: OrphanWork) -> None:
        from .review import ReviewCard, ReviewPerson
        report = work.report
        needs = report.needs_attention or report.decision in (Decision.NO_STUDENT,) and report.has_profile
        if not needs and report.decision not in (Decision.MIGRATE, Decision.MIGRATED):
            return
        if not needs:
            self.matches += 1
            if self.matches > MAX_MATCH_CARDS:
                return
        students = self.run.store.students
        fields = self.run.settings.match_fields
        old_values = _shown_fields(work.orphan.person, fields)
        old = ReviewPerson(f"Orphaned folder {printable(report.name)} (old record in {report.backup or 'no backup'})",
                           printable(report.name), printable(report.old_name or ""), old_values,
                           self._photos(students / report.name, newest_attendance=False))
        candidates = []
        for student, person in self.book.candidates_of(work.orphan):
            tag = "Matched by the tool" if student.student_id == report.target_id else "Candidate: current student"
            # only a valid id names a folder ("sB/" or "../students/sB" would show another child's photos)
            photos = self._photos(students / student.student_id, newest_attendance=True) \
                if is_safe_id(student.student_id) else ()
            candidates.append(ReviewPerson(tag, student.student_id, student.name, _shown_fields(person, fields),
                                           photos))
        row = ",".join(_csv_cell(x) for x in (printable(report.name), report.old_name or "", report.backup or "",
                                              report.decision.value, report.reason, report.target_id or "",
                                              report.target_name or "", ""))
        self.cards.append(ReviewCard(printable(report.name), report.decision.value, printable(report.reason), needs,
                                     old, tuple(candidates), row))

    def close(self, report: MigrateReport) -> str:
        from .review import write_review_page
        cards = sorted(self.cards, key=lambda c: not c.needs_person)
        summary = [("Database", self.run.info.database), ("Photo folder", self.run.info.photo_dir),
                   ("Backups", ", ".join(report.backups_used) or "none")]
        if self.matches > MAX_MATCH_CARDS:
            summary.append(("The tool's own matches", f"{self.matches} (the first {MAX_MATCH_CARDS} are shown)"))
        write_review_page(self.path, cards, title="Orphaned photo folders: review", summary=summary,
                          forbidden_root=self.run.store.root)
        return str(self.path)


def _shown_fields(person, fields) -> tuple:
    """The identifying fields as a person reads them (from the normalised codes: what the rule compared)."""
    if person is None or not person.codes:
        return tuple((f, "") for f in fields)
    return tuple((f, _shown_code(code)) for f, code in zip(fields, person.code_list(len(fields)), strict=True))


def _shown_code(code: str) -> str:
    if not code:
        return ""
    if code[0] == "?":
        return f"(cannot be compared: {uncomparable_why(code)})"
    if code[0] == "D":
        return f"{code[1:]} (with a time of day)"
    return code[1:]


def _csv_cell(value: str) -> str:
    text = printable(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n\r') else text
