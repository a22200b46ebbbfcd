#!/usr/bin/env python3
"""After a reseed, carry photos from folders of old student ids to the right current student, by identity."""

from __future__ import annotations

import sys

from student_photos import cli
from student_photos.migrate import MigrateOptions, run_migrate


def build_parser():
    parser = cli.parser("migrate_orphaned_photos.py", __doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true",
                        help="list orphaned folders, what the backups say and what --migrate would do")
    action.add_argument("--migrate", action="store_true",
                        help="copy photos of matched orphans into the current student's folder")
    action.add_argument("--clean", action="store_true",
                        help="show which orphaned folders could be removed (add --confirm to remove)")
    parser.add_argument("--confirm", action="store_true", help="with --clean: really remove them")
    parser.add_argument("--dry-run", action="store_true", help="with --migrate: print the plan, change nothing")
    parser.add_argument("--match", choices=("identity", "order"), default="identity",
                        help="identity (default): only the same person; order: the design document's "
                             "sort-order pairing, unsafe, only when asked for by name")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.confirm and not args.clean:
        parser.error("--confirm only goes with --clean")
    if args.dry_run and not args.migrate:
        parser.error("--dry-run only goes with --migrate (--list and --clean change nothing anyway)")
    action = "list" if args.list else "migrate" if args.migrate else "clean"
    options = MigrateOptions(action=action, dry_run=not (args.confirm or (args.migrate and not args.dry_run)),
                             match=args.match)
    console = cli.console_for(args)

    def job(settings, stop):
        return run_migrate(settings, options, console, stop)

    return cli.run(args, console, job, console.migrate_report)


if __name__ == "__main__":
    sys.exit(main())
