#!/usr/bin/env python3
"""Rebuild every student's photo folders and relink photos and database links from the JSON backups.

A thin shim: the command line lives in student_photos/cli.py. Exit codes: 0 fine, 1 problems remain,
2 could not run (see --help).
"""
import sys

if sys.version_info < (3, 10):  # noqa: UP036 (this check must run on the old Python it refuses)
    sys.stderr.write("❌ Python 3.10 or newer is needed (this is %d.%d)\n" % sys.version_info[:2])  # noqa: UP031
    sys.exit(2)
try:
    from student_photos.cli import restore_main, script_main
except ModuleNotFoundError as exc:  # the system Python, without the environment: say how to set it up
    sys.stderr.write(f"❌ {exc.name} is not installed for {sys.executable}. Set up the environment once with\n"
                     "   python3 -m venv .venv && .venv/bin/pip install -r requirements.txt\n"
                     "and run the script with .venv/bin/python\n")
    sys.exit(2)

if __name__ == "__main__":
    script_main(restore_main)
