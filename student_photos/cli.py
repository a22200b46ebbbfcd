"""What both scripts share: common flags, signal handling, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import asyncio
import signal
import traceback
from collections.abc import Awaitable, Callable

from .config import Settings, load_settings
from .console import Console
from .errors import ToolError
from .report import EXIT_CANNOT_RUN, StopFlag

EXIT_CODES = """exit codes:
  0    finished; nothing needs attention
  1    finished, but problems remain (listed in the output)
  2    could not run: configuration, backup, database, lock or photo folder
  130  interrupted by Ctrl-C (SIGINT), after printing the summary so far
  143  stopped by SIGTERM, after printing the summary so far

configuration comes from .env next to the scripts (real environment variables win):
  MONGO_URL, DB_NAME, STUDENTS_COLLECTION, PHOTO_DIR, BACKUP_DIR; see README.md"""


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog=prog, description=description, epilog=EXIT_CODES,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    built.add_argument("--photo-dir", metavar="DIR", help="photos root (default: PHOTO_DIR, else ./photos)")
    built.add_argument("--backup-dir", metavar="DIR", help="folder of seed_backup_*.json (default: BACKUP_DIR, "
                                                           "else ./backups)")
    built.add_argument("--quiet", action="store_true", help="print only problems and the summary (for cron)")
    built.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    built.add_argument("--debug", action="store_true", help="show a traceback on an unexpected error")
    return built


def console_for(args: argparse.Namespace) -> Console:
    return Console(quiet=args.quiet, as_json=args.json)


def run(args: argparse.Namespace, console: Console,
        job: Callable[[Settings, StopFlag], Awaitable[object]], render: Callable[[object], None]) -> int:
    """Load settings, run the job with SIGINT/SIGTERM turned into a stop request, render, return the code."""
    stop = StopFlag()
    previous = {sig: signal.signal(sig, stop.request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        settings = load_settings(args.photo_dir, args.backup_dir)
        report = asyncio.run(job(settings, stop))
    except ToolError as exc:
        console.error(str(exc), exc.exit_code)
        return exc.exit_code
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
