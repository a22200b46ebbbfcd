"""Pairing orphaned folders (old ids) with current students: by identity, never by position.

A pairing is made only when the old record and the current one identify the same person (same
normalised name, and every identifying field present on both agrees) and the pairing is one-to-one:
no other current student fits the orphan and no other orphan fits the student. Anything less is
left for a person to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import StudentRecord, normalise_text


@dataclass(frozen=True, slots=True)
class Pairing:
    decision: str  # migrate, ambiguous, unknown, no current student
    reason: str
    target: StudentRecord | None = None


@dataclass(frozen=True, slots=True)
class OldRecord:
    record: StudentRecord | None  # None: no backup holds the old id
    backup: str | None = None
    conflicting: bool = False  # the backup holds different records under this id


def _agree(old: StudentRecord, new: StudentRecord) -> tuple[bool, str]:
    """Every identifying field present on both agrees; else (False, the first that differs)."""
    for field, value in old.identity:  # a handful of fields: pairwise beats building a dict per call
        for other_field, other_value in new.identity:
            if field == other_field and value != other_value:
                return False, field
    return True, ""


def match_by_identity(orphans: dict[str, OldRecord], current: list[StudentRecord]) -> dict[str, Pairing]:
    by_name: dict[str, list[StudentRecord]] = {}
    for student in current:
        key = normalise_text(student.name)
        if key:
            by_name.setdefault(key, []).append(student)

    pairings: dict[str, Pairing] = {}
    fits: dict[str, list[str]] = {}  # current student id -> orphans that fit it
    for orphan, old in orphans.items():
        if old.record is None:
            pairings[orphan] = Pairing("unknown", "no backup holds this old id")
            continue
        if old.conflicting:
            pairings[orphan] = Pairing("ambiguous", f"{old.backup} holds different records under this id")
            continue
        key = normalise_text(old.record.name)
        if not key:
            pairings[orphan] = Pairing("unknown", "the old record has no name")
            continue
        same_name = by_name.get(key, [])
        candidates: list[StudentRecord] = []
        differing: list[str] = []
        for student in same_name:
            agree, field = _agree(old.record, student)
            if agree:
                candidates.append(student)
            else:
                differing.append(field)
        if not candidates:
            why = (f"a current student has this name but {', '.join(sorted(set(differing)))} differs"
                   if differing else "no current student has this name (left the school?)")
            pairings[orphan] = Pairing("no current student", why)
        elif len(candidates) > 1:
            pairings[orphan] = Pairing("ambiguous", f"{len(candidates)} current students fit "
                                                    "(same name, nothing on record tells them apart)")
        else:
            target = candidates[0]
            pairings[orphan] = Pairing("migrate", "same name and identifying fields", target)
            fits.setdefault(target.student_id, []).append(orphan)

    for student_id, orphan_names in fits.items():
        if len(orphan_names) > 1:  # two old folders fit one student: which is theirs is not known
            for orphan in orphan_names:
                pairings[orphan] = Pairing("ambiguous", f"{len(orphan_names)} orphaned folders fit "
                                                        f"current student {student_id}")
    return pairings


def match_by_order(orphans_with_photos: list[str], current: list[StudentRecord]
                   ) -> list[tuple[str, StudentRecord]]:
    """The design document's pairing (name-sorted students with name-sorted folders). Unsafe."""
    students = sorted(current, key=lambda s: (s.name, s.student_id))
    return list(zip(sorted(orphans_with_photos), students))  # noqa: B905 (unequal lengths are the point)
