"""The documentation tells the truth: every flag and setting in docs/reference.md, the README's commands and exit
codes are the ones the code has, and the house rules (one driver import, no GPL server at runtime) hold."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from student_photos.cli import EXIT_CODES, migrate_parser, restore_parser

README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
PARSERS = {"restore_student_photos": restore_parser, "migrate_orphaned_photos": migrate_parser}


@pytest.mark.parametrize("script", sorted(PARSERS))
def test_every_flag_is_in_the_reference_and_help_lists_exit_codes(script):
    parser = PARSERS[script]()
    help_text = parser.format_help()
    for code in ("0", "1", "2", "130", "141", "143"):
        assert f"\n  {code} " in help_text, f"exit code {code} missing from --help"
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    assert len(options) >= 12
    for option in options:
        if option != "--help":
            assert f"`{option}" in REFERENCE, f"{option} of {script} is not documented in docs/reference.md"


def test_every_setting_the_code_reads_is_in_the_reference():
    source = (ROOT / "student_photos" / "config.py").read_text()
    names = set(re.findall(r'(?:env|real_env)\.get\("([A-Z_]+)"', source))
    names |= set(re.findall(r'_number\(env, "([A-Z_]+)"', source))
    names |= set(re.findall(r'_path\([^,]+, "([A-Z_]+)"', source))
    assert {"MONGO_URL", "DB_NAME", "PHOTO_DIR", "MIN_DATABASE_RATIO", "EMBEDDED_DB"} <= names
    for name in names:
        assert f"| `{name}` |" in REFERENCE, f"{name} is not in the settings table of docs/reference.md"


def test_the_readme_is_for_the_person_at_the_keyboard():
    assert len(README.splitlines()) < 200
    for section in ("## Quick start", "## Setting up for a real school", "## After the database was reseeded",
                    "## Missing and corrupt photos", "## Cron", "## Exit codes", "## Tests"):
        assert section in README
    steps = README.split("## After the database was reseeded")[1].split("\n## ")[0]
    for command in ("--list", "--csv", "--html", "--migrate --pairs plan.csv --dry-run", "--pairs plan.csv`",
                    "restore_student_photos.py`", "--verify-only", "--clean`", "--clean --confirm"):
        assert command in steps, command
    assert re.search(r"^10\. ", steps, re.M), "the procedure is ten numbered steps"
    assert "--photo-source" in README and "createUser" in README and "passwordPrompt()" in README


def test_readme_exit_codes_are_the_codes_the_tools_have():
    table = README.split("## Exit codes")[1].split("\n## ")[0]
    documented = set(re.findall(r"^\| ([0-9, ]+) \|", table, re.M))
    codes = {c.strip() for row in documented for c in row.split(",")}
    assert codes == set(re.findall(r"^  (\d+) ", EXIT_CODES, re.M))


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash run_tests.sh" in README
    assert re.search(r"^bash run_tests.sh", ci, re.M) and re.search(r"^TEST_MONGO_MODE=replicaset bash run_tests.sh",
                                                                     ci, re.M)
    assert "ruff check ." in ci and "mypy" in ci


def test_demo_and_tests_never_install_into_the_production_environment():
    for script in ("demo.sh", "run_tests.sh", ".ci/run"):
        text = (ROOT / script).read_text()
        assert ".venv-dev" in text and not re.search(r"\.venv/", text), script


def test_runtime_requirements_never_pull_in_the_gpl_test_server():
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "secantus" not in runtime
    assert "secantus" in (ROOT / "requirements-dev.txt").read_text().lower()


def test_driver_is_imported_in_one_module_only():
    importers = sorted(p.name for p in (ROOT / "student_photos").glob("*.py")
                       if re.search(r"^\s*(import|from) (pymongo|bson)\b", p.read_text(), re.M))
    assert importers == ["db.py"]


def test_every_doc_the_readme_links_exists():
    for link in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (ROOT / link).is_file(), link
