"""The `photo` field: what a stored link says, and the one link the app expects for each student.

The app serves PHOTO_DIR at `/api/photos`, so a link `/api/photos/students/{id}/profile.jpg` names the
file PHOTO_DIR/students/{id}/profile.jpg. Every module reads links through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

API_PREFIX = "/api/photos/"
STUDENTS = "students"
PROFILE = "profile.jpg"
ATTENDANCE = "attendance"
_SEPARATOR = re.compile(r"[^A-Za-z0-9]+")  # what may stand between an id and the rest of a file or folder name


def canonical_link(student_id: str) -> str:
    return f"{API_PREFIX}{STUDENTS}/{student_id}/{PROFILE}"


@dataclass(frozen=True, slots=True)
class PhotoLink:
    """A followable `/api/photos/...` link: its path under PHOTO_DIR, one safe component at a time."""

    parts: tuple[str, ...]

    @property
    def relative(self) -> str:
        return "/".join(self.parts)

    @property
    def owner(self) -> str | None:
        """The student folder it points into (`students/{owner}/...`), if any."""
        if len(self.parts) >= 3 and self.parts[0] == STUDENTS:
            return self.parts[1]
        return None

    def tree_copy_owner(self, start: int = 0) -> str | None:
        """The folder a link names inside a copy of the students tree kept elsewhere (`students.bak/{id}/...`,
        `old/Students/{id}/...`): the component after the first one (from ``start``) that starts with `students`."""
        for index in range(start, len(self.parts) - 2):
            if self.parts[index].lower().startswith(STUDENTS):
                return self.parts[index + 1]
        return None

    def names_it_may_hold(self, start: int = 0, besides: str = "") -> Iterator[str]:
        """Every piece of each component (from ``start``) that begins and ends at a separator or the component's
        edge, separators included (a safe id may begin or end with `_` or `-`), each of which may be a student's
        id: `uploads/{id}_old.jpg`, `photo_{id}.jpg`, `{id} (1).jpg`, `old__b7.jpg` (`_b7`). Pieces inside a whole
        occurrence of ``besides`` (the student's own id, in any case) are left out: its parts name no one; an id
        it is only part of (`123` holding `12`) is not."""
        own = besides.casefold()
        for part in self.parts[start:]:
            cuts = (i for m in _SEPARATOR.finditer(part) for i in range(m.start(), m.end() + 1))
            edges = sorted({0, len(part), *cuts})
            mine = [(b, e) for b in edges for e in edges if own and e > b and part[b:e].casefold() == own]
            for begin in edges:
                for end in edges:
                    if end > begin and not any(b <= begin and end <= e for b, e in mine):
                        yield part[begin:end]

    def is_canonical_for(self, student_id: str) -> bool:
        return self.parts == (STUDENTS, student_id, PROFILE)


def read_link(value: object) -> tuple[PhotoLink | None, str | None]:
    """(the link, if followable; why it cannot be followed, if that is worth saying).

    An empty field, or a string in another format (an old relative path, a URL), is neither: there is
    nothing to follow and nothing wrong to report beyond the link itself being fixed.
    """
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, f"photo field is a {type(value).__name__}, not a path"
    if value.startswith("data:"):
        return None, "photo field holds a data URI, not a path"
    if not value.startswith(API_PREFIX):
        return None, None
    parts = tuple(value[len(API_PREFIX):].split("/"))
    if any(p in (".", "..") for p in parts):
        return None, "photo field path contains '..'; not followed"
    if any(p == "" or "\\" in p or "\x00" in p for p in parts):
        return None, "photo field path is malformed; not followed"
    if any(p.startswith(".") for p in parts):  # dot-entries are the tool's (quarantine: maybe another child's)
        return None, "photo field path points into a dot-folder (the tool's own, e.g. its quarantine); not followed"
    return PhotoLink(parts), None
