"""Student records as read from a backup or the database, held compactly."""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass

# One safe path component; a leading '.' is refused because dot-entries are the tool's own.
SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def is_safe_id(value: object) -> bool:
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None


def normalise_text(value: object) -> str:
    """Case- and whitespace-insensitive form used to compare identities."""
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split()).casefold()


def normalise_field(value: object) -> str | None:
    """An identifying field's comparable form; None when it carries nothing."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)) and \
            type(value).__name__ not in ("ObjectIdValue", "ObjectId", "datetime"):
        return None
    text = normalise_text(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}t[\d:.]+(z|[+-]\d{2}:?\d{2})?", text):
        text = text[:10]  # a date of birth stored as a datetime compares by its date
    return text or None


@dataclass(slots=True)
class StudentRecord:
    student_id: str
    name: str
    photo: object = None  # the `photo` field as stored (any type; None when absent)
    identity: str = ""  # pack_identity() of the identifying fields, in MATCH_FIELDS order
    doc_id: object = None  # the database `_id`, for conditional writes


@dataclass(slots=True)
class InvalidEntry:
    """A student entry skipped because its id cannot be a folder name."""

    raw_id: str
    name: str
    reason: str
    source: str


def display_name(value: object) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else repr(value)


def describe_id(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def record_from_document(doc: object, source: str, match_fields: tuple[str, ...] = ()
                         ) -> StudentRecord | InvalidEntry:
    if not isinstance(doc, dict):
        return InvalidEntry(describe_id(doc), "", f"entry is a {type(doc).__name__}, not a document", source)
    raw_id = doc.get("student_id")
    name = display_name(doc.get("name"))
    if raw_id is None:
        return InvalidEntry("(missing)", name, "student_id is missing", source)
    if not is_safe_id(raw_id):
        kind = "not a string" if not isinstance(raw_id, str) else "not a safe folder name"
        return InvalidEntry(describe_id(raw_id), name, f"student_id is {kind}", source)
    identity = pack_identity(normalise_field(doc.get(field)) for field in match_fields)
    return StudentRecord(raw_id, name, doc.get("photo"), identity, doc.get("_id"))


FIELD_SEPARATOR = "\x1f"  # whitespace to str.split(), so no normalised value can contain it


def pack_identity(values) -> str:
    """The identifying fields as one compact string ('' for an absent field); 200,000 of them add up."""
    packed = FIELD_SEPARATOR.join(value or "" for value in values)
    return sys.intern(packed) if packed.strip(FIELD_SEPARATOR) else ""  # shared dates of birth share memory


def differing_field(a: str, b: str, match_fields: tuple[str, ...]) -> str | None:
    """The first identifying field present in both that differs; None when they agree."""
    if a == b or not a or not b:
        return None
    for field, x, y in zip(match_fields, a.split(FIELD_SEPARATOR), b.split(FIELD_SEPARATOR), strict=True):
        if x and y and x != y:
            return field
    return None
