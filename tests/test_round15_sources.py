"""Round 15, sources: a member the source refuses (a tar hard link, a symlink, a duplicate name's every version, a
folder reached through a symlink) still says which child it may give its bytes to. No child is ever filled with
bytes that any member of the source, refused or not, could give to another child; a member whose bytes cannot be
known (a link that dangles or leaves the source) could give any (findings 15a-1 and 15a-2, docs/safety.md)."""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import tarfile
import warnings
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from test_sources import seeded

from student_photos.sample import jpeg_bytes

FACES = [jpeg_bytes(f"face {c}") for c in "ABC"]  # (one size: only the bytes tell them apart)
ANY = "any bytes"
RELS = ["profile.jpg", "attendance/2025-11-10_AM.jpg"]


def _write(fmt: str, where, members: list[tuple[str, tuple]]):
    """members: (path, ("file", bytes) | ("sym", target as written) | ("link", member path)); a tar, a zip or a
    folder (a folder has no duplicate names and no hard links: the strategies never ask for them there)."""
    if fmt == "tar":
        path = where / "source.tar"
        with tarfile.open(path, "w") as archive:
            for name, (kind, value) in members:
                info = tarfile.TarInfo(name)
                if kind == "file":
                    info.size = len(value)
                    archive.addfile(info, io.BytesIO(value))
                else:
                    info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                    info.linkname = value
                    archive.addfile(info)
        return path
    if fmt == "zip":
        path = where / "source.zip"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (zipfile warns of a duplicate name: the point)
            with zipfile.ZipFile(path, "w") as archive:
                for name, (kind, value) in members:
                    if kind == "file":
                        archive.writestr(name, value)
                    else:
                        info = zipfile.ZipInfo(name)
                        info.external_attr, info.create_system = 0o120777 << 16, 3
                        archive.writestr(info, value)
        return path
    path = where / "source"
    path.mkdir()
    for name, (kind, value) in members:
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            target.write_bytes(value)
        else:
            os.symlink(value, target)
    return path


def _draw_slots(data, fmt: str, places: list[str]) -> dict[str, tuple]:
    """What each place of the source holds: absent, a face, several faces under one name, a link to another place,
    or a link to nowhere."""
    kinds = ["absent", "file", "file", "sym", "dangling"] + {"tar": ["dup", "link"], "zip": ["dup"]}.get(fmt, [])
    slots = {}
    for place in places:
        kind = data.draw(hs.sampled_from(kinds), label=place)
        if kind == "file":
            slots[place] = ("file", data.draw(hs.sampled_from(range(3)), label="face"))
        elif kind == "dup":
            faces = hs.lists(hs.sampled_from(range(3)), min_size=2, max_size=3)
            slots[place] = ("dup", data.draw(faces, label="faces"))
        elif kind in ("sym", "link"):
            slots[place] = (kind, data.draw(hs.sampled_from(places), label="to"))
        else:
            slots[place] = (kind, None)
    return slots


def _members(slots: dict[str, tuple], folder_links: dict[str, str]) -> list[tuple[str, tuple]]:
    members: list[tuple[str, tuple]] = []
    for place, (kind, value) in slots.items():
        if any(place.startswith(link + "/") for link in folder_links):
            continue  # (that folder is a symlink)
        if kind == "file":
            members.append((place, ("file", FACES[value])))
        elif kind == "dup":
            members += [(place, ("file", FACES[v])) for v in value]
        elif kind == "sym":
            members.append((place, ("sym", posixpath.relpath(value, posixpath.dirname(place)))))
        elif kind == "link":
            members.append((place, ("link", value)))
        elif kind == "dangling":
            members.append((place, ("sym", "../" * place.count("/") + "../elsewhere/gone.jpg")))
    for link, target in folder_links.items():
        members.append((link, ("sym", posixpath.relpath(target, posixpath.dirname(link)))))
    return members


def _may_give(place: str, slots: dict[str, tuple], folder_links: dict[str, str], seen: frozenset = frozenset(),
              reached: bool = False) -> set:
    """The oracle: every face a place of the source may give to whoever unpacks it (ANY: not known). ``reached``:
    the place is a link's target (nothing there: the link dangles)."""
    if place in seen or len(seen) > 20:
        return {ANY}  # a loop of links
    seen = seen | {place}
    for link, target in folder_links.items():
        if place.startswith(link + "/"):
            return _may_give(target + place[len(link):], slots, folder_links, seen, reached)
    kind, value = slots.get(place, ("absent", None))
    if kind == "file":
        return {value}
    if kind == "dup":
        return set(value)
    if kind in ("sym", "link"):
        return _may_give(value, slots, folder_links, seen, True)
    if kind == "absent":
        return {ANY} if reached else set()
    return {ANY}  # dangling


def _check(school, students, keys, owner_places, slots, folder_links, result):
    """No child holds a face that the source may give to another child."""
    assert result.code in (0, 1), result.text[-2000:]
    gives = {key: set().union(*(_may_give(p, slots, folder_links) for p in owner_places[key])) for key in keys}
    for student, key in zip(students, keys, strict=True):
        folder = school.folder(student["student_id"])
        held = [p for p in folder.rglob("*") if p.is_file()]
        for path in held:
            face = FACES.index(path.read_bytes())
            others = {k: g for k, g in gives.items() if k != key and (face in g or ANY in g)}
            assert not others, (f"child {key} was given face {face} ({path.relative_to(folder)}), which the source "
                                f"may also give to {others}: {result.json['photo_source']}")
    if any(kind != "file" for kind, _ in slots.values() if kind != "absent") or folder_links:
        assert result.code == 1, "a source with refused members is never 'all done'"


def _fresh(school, students):
    school.collection.delete_many({})
    shutil.rmtree(school.students_dir, ignore_errors=True)
    seeded(school, *students)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=hs.data())
def test_a_tree_source_never_fills_a_child_with_a_face_any_member_may_give_another(school, tmp_path_factory, data):
    """A copy of the photo tree (tar, zip or folder) in which three children's files are faces, links to one
    another's files or to nowhere, duplicate names, and whole folders that are symlinks to another child's."""
    fmt = data.draw(hs.sampled_from(["tar", "zip", "folder"]), label="format")
    students = [school.new_student(name, date_of_birth=f"201{i}-01-01")
                for i, name in enumerate(("Ann Able", "Ben Best", "Cat Cole"))]
    keys = [s["student_id"] for s in students]
    folders = {key: f"photos/students/{key}" for key in keys}
    places = [f"{folders[key]}/{rel}" for key in keys for rel in RELS]
    slots = _draw_slots(data, fmt, places)
    folder_links = {}
    for key in keys:
        to = data.draw(hs.sampled_from([None, None, None, *(k for k in keys if k != key)]), label=f"{key} folder ->")
        if to is not None:
            folder_links[folders[key]] = folders[to]
    source = _write(fmt, tmp_path_factory.mktemp("src"), _members(slots, folder_links))
    _fresh(school, students)

    result = school.restore("--photo-source", str(source), "--json")

    owner_places = {key: [f"{folders[key]}/{rel}" for rel in RELS] for key in keys}
    _check(school, students, keys, owner_places, slots, folder_links, result)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=hs.data())
def test_a_picture_day_source_never_fills_a_child_with_a_face_any_member_may_give_another(school, tmp_path_factory,
                                                                                         data):
    """A picture-day delivery (41.jpg, 42.jpg, 43.jpg by student number) whose files are faces, symlinks to another
    number's file or to nowhere, and duplicate names."""
    fmt = data.draw(hs.sampled_from(["tar", "zip", "folder"]), label="format")
    numbers = [41, 42, 43]
    students = [school.new_student(f"Kid {n}", student_number=n) for n in numbers]
    places = [f"{n}.jpg" for n in numbers]
    slots = _draw_slots(data, fmt, places)
    source = _write(fmt, tmp_path_factory.mktemp("src"), _members(slots, {}))
    _fresh(school, students)

    result = school.restore("--photo-source", str(source), "--source-key", "student_number", "--json")

    owner_places = {n: [f"{n}.jpg"] for n in numbers}
    _check(school, students, numbers, owner_places, slots, {}, result)
