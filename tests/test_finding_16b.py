"""Round 16b findings (helper h16b): scenarios that fail on the current code. Each asserts the safe behaviour."""
from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest
from old_records import ann_missing_her_photo

from student_photos.sample import jpeg_bytes


def _write(path: Path, rows: list[list[str]]) -> None:
    def cell(text: str) -> str:
        return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text
    path.write_bytes(b"\xef\xbb\xbf" + "".join(",".join(map(cell, row)) + "\r\n" for row in rows).encode())


def _best_fit(cell: str) -> str:
    """Excel on Windows saving "CSV" (ANSI, cp1252): WideCharToMultiByte's best fit writes a full-width letter or
    digit (U+FF01-FF5E) as its ASCII one."""
    return unicodedata.normalize("NFKC", cell)


@pytest.mark.parametrize("names, chosen, resave", [
    (["jos\u00e9", "jose\u0301"], 1, lambda c: unicodedata.normalize("NFC", c)),  # NFC and NFD folders
    (["\uff4f\uff4c\uff44\uff17", "old7"], 0, _best_fit),  # full-width `ｏｌｄ７` and `old7`
], ids=["nfc-nfd", "fullwidth"])
def test_a_reviewed_row_never_goes_to_a_folder_a_spreadsheet_makes_its_cell_name(school, tmp_path, names, chosen,
                                                                                 resave):
    """Two old folders whose names a spreadsheet saves as one text (NFC/NFD `José`; full-width `ｏｌｄ７` and `old7`).
    The person pairs one with Ann; the file is re-saved. As for folders differing by white space (safety.md,
    'Reviewed pairings': a row naming any of them is refused while two of them exist), Ann must be given that
    folder's face or none, never the other's."""
    ann = ann_missing_her_photo(school)
    faces = {name: school.put_photo(name, jpeg_bytes(f"face of folder {name!r}")) for name in names}
    plan = tmp_path / "plan.csv"
    assert school.migrate("--list", "--csv", str(plan)).code == 1
    rows = list(csv.reader(plan.read_text(encoding="utf-8-sig").splitlines()))
    target = names[chosen]
    assert sorted(row[0] for row in rows[1:]) == sorted(names), rows
    for row in rows[1:]:
        if row[0] == target:
            row[5] = ann["student_id"]
        row[0] = resave(row[0])
    reviewed = tmp_path / "reviewed.csv"
    _write(reviewed, rows)

    result = school.migrate("--migrate", "--pairs", str(reviewed))

    assert school.photo_of(ann["student_id"]) in (None, faces[target]), (
        f"Ann was given the face of another folder than {target!r}: {result.text}")
