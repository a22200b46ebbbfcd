"""The two command lines: parsing (every option check happens here, before any work), signals, and the
one place where a ``ToolError`` becomes a message and its exit code."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from . import __version__
from .config import Settings, load_settings
from .console import Console, signal_name
from .errors import ConfigError, ToolError
from .records import is_safe_id
from .report import EXIT_CANNOT_RUN, Action, StopFlag, Stopped

EXIT_CODES = """exit codes:
  0    finished; nothing needs attention
  1    finished, but problems remain (listed in the output); for --verify-only also: a restore would
       change something
  2    could not run: configuration, backup, database, lock, photo folder, or a bad argument
  130  interrupted by Ctrl-C (SIGINT), after printing the summary so far
  141  stopped because the output was closed (e.g. piped into head), as Ctrl-C would
  143  stopped by SIGTERM, after printing the summary so far

configuration comes from .env next to the scripts (real environment variables win):
  MONGO_URL, DB_NAME, STUDENTS_COLLECTION, PHOTO_DIR, BACKUP_DIR, ...; see docs/reference.md"""


def _common(parser: argparse.ArgumentParser, actions: Any = None) -> None:
    """The flags both scripts have; ``actions`` is the group --history and --undo belong to (migrate's)."""
    parser.add_argument("--photo-dir", metavar="DIR", help="photos root (default: PHOTO_DIR, else ./photos)")
    parser.add_argument("--backup-dir", metavar="DIR", help="folder of seed_backup_*.json (default: BACKUP_DIR, "
                                                            "else ./backups)")
    group = actions or parser
    group.add_argument("--history", action="store_true", help="list the runs that changed something (journal)")
    group.add_argument("--undo", metavar="RUN_ID", help="take back what that run changed, where it is still as the "
                                                        "run left it (see --history)")
    parser.add_argument("--quiet", action="store_true", help="print only problems and the summary (for cron)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    parser.add_argument("--debug", action="store_true", help="show a traceback on an unexpected error")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def _student_id(value: str) -> str:
    if not is_safe_id(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid student id")
    return value


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=description, epilog=EXIT_CODES, allow_abbrev=False,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)  # --conf is no --confirm


# ---------------------------------------------------------------- restore
def restore_parser() -> argparse.ArgumentParser:
    parser = _parser("restore_student_photos.py", "Rebuild every student's photo folders and relink photos and "
                                                  "database links from the JSON backups.")
    parser.add_argument("--verify-only", action="store_true",
                        help="change nothing; report everything a restore would fix (what cron runs)")
    parser.add_argument("--backup-file", metavar="FILE",
                        help="use this backup instead of the newest seed_backup_*.json")
    parser.add_argument("--student", action="append", default=[], metavar="ID", type=_student_id,
                        help="limit what is changed to this student id (repeatable); everything is still read")
    parser.add_argument("--force", action="store_true",
                        help="run even if the photo folder is missing or students/ is empty "
                             "while the database links photos (an unmounted share looks like that)")
    parser.add_argument("--photo-source", metavar="PATH",
                        help="fill missing photos from a folder, .zip, .tar or .tar.gz (a copy of the photo tree, "
                             "or a picture-day delivery)")
    parser.add_argument("--source-key", metavar="FIELD", default="student_id",
                        help="with --photo-source: the student field flat photo files are named by "
                             "(default student_id; numbers compare by value, leading zeros ignored)")
    parser.add_argument("--source-map", metavar="FILE",
                        help="with --photo-source: a CSV 'file,FIELD' naming each photo's student, as a "
                             "photographer's index does")
    parser.add_argument("--deep", action="store_true",
                        help="also compare photo contents: find photos already on the wrong child")
    parser.add_argument("--quarantine", action="store_true",
                        help="with --deep: move each such photo out of the child's folder into quarantine "
                             "(never deleted; undoable)")
    parser.add_argument("--dry-run", action="store_true", help="with --undo: show what would be taken back")
    _common(parser)
    return parser


def check_restore_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    alone = [flag for flag, on in (("--history", args.history), ("--undo", args.undo)) if on]
    others = [flag for flag, on in (("--verify-only", args.verify_only), ("--backup-file", args.backup_file),
                                    ("--student", args.student), ("--force", args.force),
                                    ("--photo-source", args.photo_source), ("--deep", args.deep),
                                    ("--quarantine", args.quarantine)) if on]
    if len(alone) > 1 or (alone and others):
        parser.error(f"{alone[0]} does not go with {', '.join(alone[1:] + others)}")
    if args.dry_run and not args.undo:
        parser.error("--dry-run only goes with --undo (--verify-only is the restore's dry run)")
    if args.quarantine and not args.deep:
        parser.error("--quarantine only goes with --deep")
    if args.quarantine and args.verify_only:
        parser.error("--quarantine moves photos: it does not go with --verify-only")
    if (args.source_map or args.source_key != "student_id") and not args.photo_source:
        parser.error("--source-key and --source-map only go with --photo-source")
    key = args.source_key
    if not key or "$" in key or "." in key or any(c.isspace() for c in key):
        parser.error(f"--source-key {key!r} is not a field name: give one top-level field of the student record "
                     "(a dot, a '$' or a space is not allowed), such as student_number")


def restore_main(argv: list[str] | None = None) -> int:
    parser = restore_parser()
    args = parser.parse_args(argv)
    check_restore_args(parser, args)
    stop = StopFlag()
    console = Console(quiet=args.quiet, as_json=args.json, stop=stop)
    if args.history or args.undo:
        return _journal_command(args, console, stop, "restore_student_photos")
    try:
        from .restore import RestoreOptions, run_restore
    except ModuleNotFoundError as exc:
        return _missing_environment(console, exc)
    given = list(sys.argv[1:] if argv is None else argv)
    apply = " ".join(["restore_student_photos.py", *(shlex.quote(a) for a in given
                                                     if a not in ("--verify-only", "--quiet", "--json"))])
    options = RestoreOptions(verify_only=args.verify_only, backup_file=args.backup_file, apply_command=apply,
                             students=tuple(args.student), force=args.force, photo_source=args.photo_source,
                             source_key=args.source_key, source_map=args.source_map, deep=args.deep,
                             quarantine=args.quarantine)
    return run(args, console, stop, lambda settings: run_restore(settings, options, console, stop),
               console.restore_summary)


# ---------------------------------------------------------------- migrate
def migrate_parser() -> argparse.ArgumentParser:
    parser = _parser("migrate_orphaned_photos.py", "After a reseed, carry photos from folders of old student ids "
                                                   "to the right current student, by identity.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true",
                        help="list orphaned folders, what the backups say and what --migrate would do")
    action.add_argument("--migrate", action="store_true",
                        help="copy photos of matched orphans into the current student's folder")
    action.add_argument("--clean", action="store_true",
                        help="show which orphaned folders could be removed (add --confirm to remove)")
    parser.add_argument("--confirm", action="store_true", help="with --clean: really remove them")
    parser.add_argument("--dry-run", action="store_true",
                        help="with --migrate or --undo: print the plan, change nothing")
    parser.add_argument("--match", choices=("identity", "order"), default="identity",
                        help="identity (default): only the same person; order: the design document's "
                             "sort-order pairing, unsafe, only when asked for by name")
    parser.add_argument("--csv", metavar="FILE", help="with --list: write the plan as CSV for a person to review")
    parser.add_argument("--html", metavar="FILE",
                        help="with --list: write a self-contained review page with the photos (keep it private)")
    parser.add_argument("--pairs", metavar="FILE",
                        help="with --migrate: carry out a reviewed plan (the --csv file with student_id filled in)")
    _common(parser, action)
    return parser


def check_migrate_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.confirm and not args.clean:
        parser.error("--confirm only goes with --clean")
    if args.dry_run and not (args.migrate or args.undo):
        parser.error("--dry-run only goes with --migrate or --undo (--list and --clean change nothing anyway)")
    if args.pairs and not args.migrate:
        parser.error("--pairs only goes with --migrate")
    if (args.csv or args.html) and not args.list:
        parser.error("--csv and --html only go with --list")
    if args.match == "order" and (args.clean or args.pairs or args.undo or args.history):
        parser.error("--match order only applies to --list and --migrate, without --pairs")


def migrate_main(argv: list[str] | None = None) -> int:
    parser = migrate_parser()
    args = parser.parse_args(argv)
    check_migrate_args(parser, args)
    stop = StopFlag()
    console = Console(quiet=args.quiet, as_json=args.json, stop=stop)
    if args.history or args.undo:
        return _journal_command(args, console, stop, "migrate_orphaned_photos")
    try:
        from .migrate import MigrateOptions, run_migrate
    except ModuleNotFoundError as exc:
        return _missing_environment(console, exc)
    action = Action.LIST if args.list else Action.MIGRATE if args.migrate else Action.CLEAN
    options = MigrateOptions(action=action, writes=(args.migrate and not args.dry_run) or args.confirm,
                             match=args.match, pairs_file=args.pairs, csv_file=args.csv, html_file=args.html)
    return run(args, console, stop, lambda settings: run_migrate(settings, options, console, stop),
               console.migrate_report)


# ---------------------------------------------------------------- both
def _missing_environment(console: Console, exc: ModuleNotFoundError) -> int:
    console.error(f"{exc.name} is not installed for {sys.executable}: set up the environment once with "
                  "'python3 -m venv .venv && .venv/bin/pip install -r requirements.txt' and run the script with "
                  ".venv/bin/python", EXIT_CANNOT_RUN)
    return EXIT_CANNOT_RUN


def _journal_command(args: argparse.Namespace, console: Console, stop: StopFlag, tool: str) -> int:
    try:
        from .undo import run_history, run_undo
    except ModuleNotFoundError as exc:
        return _missing_environment(console, exc)
    if args.history:
        return run(args, console, stop, lambda settings: run_history(settings, tool), console.history)
    return run(args, console, stop, lambda settings: run_undo(settings, tool, args.undo, args.dry_run, console, stop),
               console.undo_summary)


def interactive(args: argparse.Namespace) -> bool:
    return not (args.quiet or args.json) and sys.stdin.isatty() and sys.stdout.isatty()


def check_embedded(settings: Settings, args: argparse.Namespace) -> None:
    """The embedded (demo) database never passes silently: from cron, --quiet or --json it must be asked for."""
    if settings.embedded and not settings.embedded_allowed and not interactive(args):
        raise ConfigError("MONGO_URL is not set: set it in .env to your school's database (see README.md); "
                          "to use the embedded demo database without a terminal, set EMBEDDED_DB=1")


def run(args: argparse.Namespace, console: Console, stop: StopFlag,
        job: Callable[[Settings], Coroutine[Any, Any, Any]], render: Callable[[Any], None]) -> int:
    """Load settings, run the job with SIGINT/SIGTERM turned into a stop request, render, return the code."""
    previous = {sig: signal.signal(sig, stop.request) for sig in (signal.SIGINT, signal.SIGTERM)}

    async def attached(settings: Settings) -> Any:
        stop.attach(asyncio.get_running_loop())  # so a signal can end a wait on a server that does not answer
        return await job(settings)

    try:
        settings = load_settings(args.photo_dir, args.backup_dir)
        check_embedded(settings, args)
        report: Any = asyncio.run(attached(settings))
    except ToolError as exc:
        console.error(str(exc), exc.exit_code)
        return exc.exit_code
    except Stopped as exc:
        code = 128 + (exc.signum or signal.SIGINT)
        console.error(f"Stopped by {signal_name(exc.signum)} while waiting for the database; whatever was done "
                      "before is journalled: run again to finish", code)
        return code
    except Exception as exc:  # never a bare traceback for a user; --debug shows it
        if args.debug:
            traceback.print_exc()
        console.error(f"Unexpected error: {type(exc).__name__}: {str(exc)[:300]} "
                      "(rerun with --debug for details)", EXIT_CANNOT_RUN)
        return EXIT_CANNOT_RUN
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    render(report)
    return report.exit_code


def _closed_standard_streams() -> list[int]:
    """Standard descriptors the script was started without (`>&-`), each now on /dev/null: a file opened later
    must never take descriptor 1 or 2, where something might write to it."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    for fd in closed:
        opened = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)
    if 2 in closed:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 (the process's own stream)
    return closed


def script_main(main: Callable[[list[str] | None], int]) -> None:
    """Entry point of the two scripts: exit with the code, and never a traceback for a closed pipe."""
    if 1 in _closed_standard_streams() or sys.stdout is None:
        sys.stderr.write("❌ Standard output is closed: nothing was done (send it to a file or to /dev/null)\n")
        sys.exit(EXIT_CANNOT_RUN)
    code = main(None)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)
