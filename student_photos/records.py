"""Student records as read from a backup or the database, held compactly; the safe-id rule."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .identity import Person, person_of
from .links import canonical_link

# A record whose `photo` is already the canonical link holds this instead of its own copy of the string (and no
# `_id`: nothing is ever written to it). 200,000 students x (a 70-character link + an ObjectId) is 35 MB.
_CANONICAL = object()
_NO_FIELD = object()  # no `photo` field at all: an undo must remove the field again, not write null

# One safe path component; a leading '.' is refused because dot-entries are the tool's own.
SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def is_safe_id(value: object) -> bool:
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None


def one_folder_key(student_id: str) -> str:
    """The folder an id names on a share that ignores case (SMB, macOS) or drops trailing dots: `ABC1`, `abc1` and
    `abc1.` are one folder there (safe ids are ASCII, so lower() is the share's own folding)."""
    return student_id.lower().rstrip(".")


def display_name(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else repr(value)


def describe_id(value: object) -> str:
    if value is None:
        return "(missing)"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def id_problem(raw_id: object) -> str | None:
    """Why a `student_id` cannot name a folder (None when it can)."""
    if raw_id is None:
        return "student_id is missing"
    if not isinstance(raw_id, str):
        return "student_id is not a string"
    if not is_safe_id(raw_id):
        return "student_id is not a safe folder name"
    return None


@dataclass(slots=True)
class StudentRecord:
    """One student document. Every record counts as a possible owner of a photo, whatever its id looks
    like; only one whose id is safe (``id_problem`` None) can ever receive one."""

    student_id: str  # the id as given when safe, else a printable description of it
    name: str  # as stored, for display
    raw: tuple  # the name and identifying fields as stored; normalised (``person``) only when needed
    stored_photo: object = None  # the `photo` field as stored (any type), _NO_FIELD when absent, or _CANONICAL
    doc_id: object = None  # the database `_id`, for conditional writes (None when the link is canonical)
    id_problem: str | None = None
    _person: Person | None = None
    # bit i set: field i of ``raw`` was not in the document at all (None in ``raw``), for the write guard
    absent_fields: int = 0

    @property
    def photo(self) -> object:
        """The `photo` value (None when there is no such field)."""
        if self.stored_photo is _CANONICAL:
            return canonical_link(self.student_id)
        return None if self.stored_photo is _NO_FIELD else self.stored_photo

    @property
    def has_photo_field(self) -> bool:
        return self.stored_photo is not _NO_FIELD

    @property
    def photo_is_canonical(self) -> bool:
        """The `photo` field is already the one link the app expects: no write can be due."""
        return self.stored_photo is _CANONICAL

    @property
    def person(self) -> Person:
        """What identifies them (identity.py), normalised once, the first time it is asked for."""
        if self._person is None:
            self._person = person_of(self.raw[0], self.raw[1:])
        return self._person

    @property
    def receivable(self) -> bool:
        return self.id_problem is None


@dataclass(slots=True)
class InvalidEntry:
    """An entry of a student list that is not a document at all."""

    raw_id: str
    name: str
    reason: str
    source: str


def record_from_document(doc: dict, fields: Sequence[str]) -> StudentRecord:
    raw_id = doc.get("student_id")
    problem = id_problem(raw_id)
    photo, doc_id = doc.get("photo", _NO_FIELD), doc.get("_id")
    if problem is None and isinstance(raw_id, str) and isinstance(photo, str) and photo == canonical_link(raw_id):
        photo, doc_id = _CANONICAL, None
    raw = (doc.get("name"), *map(doc.get, fields))
    absent = 0
    if None in raw:  # only then can a field be missing rather than there
        absent = sum(1 << i for i, f in enumerate(("name", *fields)) if f not in doc)
    return StudentRecord(raw_id if isinstance(raw_id, str) and problem is None else describe_id(raw_id),
                         display_name(raw[0]), raw, photo, doc_id, problem, absent_fields=absent)
