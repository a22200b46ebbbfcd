#!/usr/bin/env python3
"""Rebuild every student's photo folders and relink photos and database links from the JSON backups."""

from __future__ import annotations

import sys

from student_photos import cli
from student_photos.restore import RestoreOptions, run_restore


def build_parser():
    parser = cli.parser("restore_student_photos.py", __doc__)
    parser.add_argument("--backup-file", metavar="FILE",
                        help="use this backup instead of the newest seed_backup_*.json")
    parser.add_argument("--verify-only", action="store_true",
                        help="change nothing; report everything a restore would fix (what cron runs)")
    parser.add_argument("--student", action="append", default=[], metavar="ID",
                        help="limit the run to this student id (repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="run even if the photo folder is missing or students/ is empty "
                             "while the database links photos (an unmounted share looks like that)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = cli.console_for(args)
    options = RestoreOptions(verify_only=args.verify_only, backup_file=args.backup_file,
                             students=tuple(args.student), force=args.force)

    def job(settings, stop):
        return run_restore(settings, options, console, stop)

    return cli.run(args, console, job, console.restore_summary)


if __name__ == "__main__":
    sys.exit(main())
