"""Every flag and exit code is documented, in --help and in the README."""

from __future__ import annotations

import pytest

from conftest import ROOT
from student_photos.cli import migrate_parser, restore_parser

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("script", ["restore_student_photos", "migrate_orphaned_photos"])
def test_every_flag_is_in_the_readme_and_help_lists_exit_codes(script):
    parser = {"restore_student_photos": restore_parser, "migrate_orphaned_photos": migrate_parser}[script]()
    help_text = parser.format_help()
    for code in ("0", "1", "2", "130", "143"):
        assert f"\n  {code} " in help_text, f"exit code {code} missing from --help"
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    assert len(options) >= 6
    for option in options:
        assert f"`{option}" in README, f"{option} of {script} is not documented in README.md"


@pytest.mark.parametrize("heading", ["## Quick start", "## Configuration", "## Exit codes", "## Cron",
                                     "## JSON output", "## What it survives", "## Performance",
                                     "### Matching rules", "### Clean rules", "Why PyMongo's async API"])
def test_readme_has_the_sections_users_need(heading):
    assert heading in README


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash run_tests.sh" in ci and "bash run_tests.sh" in README


def test_runtime_requirements_never_pull_in_the_gpl_test_server():
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "secantus" not in runtime
    assert "secantus" in (ROOT / "requirements-dev.txt").read_text().lower()


def test_driver_is_imported_in_one_module_only():
    importers = [p.name for p in (ROOT / "student_photos").glob("*.py")
                 if "import pymongo" in p.read_text() or "from pymongo" in p.read_text()]
    assert importers == ["db.py"]
