"""A rival old folder is found by its folder, not by how a backup spells its id (round 9, records.one_folder_key).

old-a's backup record is Ann Lee (her birth date): alone it would prove old-a hers. A second old folder's record
(Ann Smithers, her birth date, her student number 5) could be Ann Lee now, so which old folder is hers is not known
and old-a's photo must not be given to her (docs/safety.md, one-to-one). Whether that second record names a folder on
disk is decided by records.one_folder_key (one folder on a share that ignores case or drops trailing dots), in the
restore, migrate and --deep alike; a genuinely different id (old-b2) names no folder and is no rival."""

from __future__ import annotations

import pytest
from old_records import CANON, NEWEST, backup

from student_photos.sample import jpeg_bytes

OLD_A = jpeg_bytes("old-a's photo")


def _school(school, spelt: str, folder: str, tool: str, current: str = "new-ann") -> None:
    school.put_photo("old-a", OLD_A)
    school.put_photo(folder, jpeg_bytes("old-b's photo"))
    backup(school, NEWEST, [
        {"student_id": "old-a", "name": "Ann Lee", "date_of_birth": "2015-03-04", "photo": CANON.format("old-a")},
        {"student_id": spelt, "name": "Ann Smithers", "date_of_birth": "2015-03-04", "student_number": 5,
         "photo": CANON.format(folder)}])
    school.seed([{"student_id": current, "name": "Ann Lee", "date_of_birth": "2015-03-04", "student_number": 5,
                  "photo": CANON.format("old-a" if tool == "restore" else current)}])


def _run(school, tool: str, current: str = "new-ann"):
    if tool == "deep":  # old-a's face already in her folder: --deep must not call it proven hers
        school.put_photo(current, OLD_A)
        return school.restore("--verify-only", "--deep", "--json", MIN_DATABASE_RATIO="0")
    if tool == "migrate":
        (school.folder(current) / "attendance").mkdir(parents=True, exist_ok=True)
        return school.migrate("--migrate", "--json", MIN_DATABASE_RATIO="0")
    return school.restore("--json", MIN_DATABASE_RATIO="0")


TOOLS = ["restore", "migrate", "deep"]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("spelt", ["old-b", "Old-B", "old-b.", "OLD-B.."])
def test_a_rival_folder_spelt_on_disk_otherwise_than_its_backup_id_blocks(school, tool, spelt):
    """The folder on disk is OLD-B (not its own one_folder_key); the backup spells it another way: still its folder,
    still a rival: old-a's photo is not given to Ann (restore, migrate), --deep exit 1."""
    _school(school, spelt, "OLD-B", tool)
    result = _run(school, tool)
    if tool != "deep":
        assert school.photo_of("new-ann") != OLD_A, f"old-a's photo given though OLD-B ({spelt}) may be hers"
    assert result.code == 1, result.text[-600:]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("spelt", ["OLD-B", "old-b."])
def test_a_rival_under_a_second_spelling_in_an_older_backup_blocks(school, tool, spelt):
    """The newest backup holds old-b as Ann Smithers under another spelling, an older one under the exact id:
    the folder's history is both (and it is a rival)."""
    _school(school, spelt, "old-b", tool)
    (school.backups / "seed_backup_20240101_0000.json").write_text(
        (school.backups / NEWEST).read_text().replace(f'"{spelt}"', '"old-b"'))
    result = _run(school, tool)
    if tool != "deep":
        assert school.photo_of("new-ann") != OLD_A
    assert result.code == 1, result.text[-600:]


# ---------------------------------------------------------------- contrasts: no rival, old-a's photo is hers

@pytest.mark.parametrize("tool", TOOLS)
def test_contrast_a_backup_id_that_is_another_folder_is_no_rival(school, tool):
    """old-b2 is not old-b on any share: its record names no folder (old-b, with no record, is no one's rival);
    old-a's photo is Ann's (restore, migrate) and --deep finds nothing, exit 0 (migrate: 1, old-b, of whom no backup
    knows anything, is left for a person)."""
    _school(school, "old-b2", "old-b", tool)
    result = _run(school, tool)
    if tool != "deep":
        assert school.photo_of("new-ann") == OLD_A, result.text[-600:]
    assert result.code == (1 if tool == "migrate" else 0), result.text[-600:]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("spelt", ["NEW-ANN", "new-ann."])
def test_contrast_a_backup_record_of_her_own_current_folder_spelt_otherwise_is_no_rival(school, tool, spelt):
    """The second record's id is her own CURRENT folder spelt another way (and the record is her, Ann Lee): a current
    student's folder is no old folder, so it is no rival of hers; old-a's photo is Ann's."""
    school.put_photo("old-a", OLD_A)
    backup(school, NEWEST, [
        {"student_id": "old-a", "name": "Ann Lee", "date_of_birth": "2015-03-04", "photo": CANON.format("old-a")},
        {"student_id": spelt, "name": "Ann Lee", "date_of_birth": "2015-03-04", "student_number": 5,
         "photo": CANON.format("new-ann")}])
    school.seed([{"student_id": "new-ann", "name": "Ann Lee", "date_of_birth": "2015-03-04", "student_number": 5,
                  "photo": CANON.format("old-a" if tool == "restore" else "new-ann")}])
    if tool == "restore":
        (school.folder("new-ann") / "attendance").mkdir(parents=True)
    result = _run(school, tool)
    if tool != "deep":
        assert school.photo_of("new-ann") == OLD_A, result.text[-600:]
    assert result.code == 0, result.text[-600:]
