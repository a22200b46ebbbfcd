"""Every line the scripts print: emoji progress, summaries and JSON, through replaceable streams.

Output never stops a run by crashing it: text from backups, the database and folder names is made
harmless (control characters shown as '?', bytes that are not UTF-8 shown escaped), characters the
terminal's encoding lacks are escaped, and a closed stdout (``| head``) asks the run to stop cleanly
as Ctrl-C would, so the copies in flight are still finished, journalled and audited.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import asdict
from typing import TextIO

from .identity import Verdict, not_the_same
from .report import (
    ABSENT,
    SCHOOL_SIZE,
    Action,
    CleanVerdict,
    Decision,
    EarlierOwner,
    MigrateReport,
    OrphanReport,
    ProblemKind,
    RestoreReport,
    RunInfo,
    SilentMeter,
    StopFlag,
    StudentOutcome,
)
from .store import PhotoState

RULE = "=" * 70
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """Bytes that were not UTF-8 (lone surrogates from folder names) shown as \\xNN, never an encoding error."""
    value = str(text)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def safe(text: object, limit: int = 200) -> str:
    """Data from backups and the database, made harmless for a terminal."""
    cleaned = _CONTROL.sub("?", printable(text))
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 3] + "..."


def short_id(student_id: str) -> str:
    return student_id if len(student_id) <= 12 else student_id[:8] + "..."


def signal_name(signum: int | None) -> str | None:
    if signum is None:
        return None
    if signum == signal.SIGPIPE:
        return "SIGPIPE (the output was closed)"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def count_row(icon: str, label: str, value: int) -> str:
    """A summary row; a problem counted zero times gets a tick, not a warning sign."""
    return f"{'✅' if value == 0 and icon in ('❌', '⚠️ ') else icon} {label}: {value}"


class Meter:
    """A progress bar with rate and ETA, on a terminal only, redrawn at most ten times a second."""

    def __init__(self, console: Console, name: str, total: int | None) -> None:
        self.console, self.name, self.total = console, name, total
        self.count, self.started, self.drawn = 0, time.monotonic(), 0.0

    def advance(self, count: int = 1) -> None:
        self.count += count
        now = time.monotonic()
        if now - self.drawn >= 0.1 and now - self.started >= 1.0:  # short phases never show a bar
            self.drawn = now
            self.console.draw(self._text(now))

    def _text(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.count / elapsed
        if self.total:
            share = min(1.0, self.count / self.total)
            bar = "█" * int(share * 24) + "░" * (24 - int(share * 24))
            eta = (self.total - self.count) / rate if rate else 0
            return f"⏳ {self.name} {bar} {self.count}/{self.total} {rate:,.0f}/s ETA {eta:,.0f} s"
        return f"⏳ {self.name} {self.count:,} {rate:,.0f}/s"

    def done(self) -> None:
        self.console.draw("")


class Console:
    """Text or JSON rendering; ``quiet`` keeps only problems and the summary."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, quiet: bool = False,
                 as_json: bool = False, stop: StopFlag | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.as_json = as_json
        self.stop = stop or StopFlag()
        self.closed = False
        self._lock = threading.RLock()  # worker threads report too
        self._bar = False
        self._tty = not quiet and not as_json and _isatty(self.out)
        self._open_orphans = False  # JSON: the migrate document's orphan list is being streamed
        self._head_written = False
        self._orphans_written = 0
        self._school_size = True
        for stream in (self.out, self.err):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        encoding = (getattr(self.out, "encoding", None) or "utf-8").lower().replace("_", "-")
        self._json_ascii = not encoding.startswith("utf")  # escaped JSON stays valid JSON in any encoding
        # one encoder for the streamed orphan lines (json.dumps makes one per call otherwise)
        self._orphan_line = json.JSONEncoder(ensure_ascii=self._json_ascii, default=str, check_circular=False)

    # ---- the one place that writes ----
    def write(self, text: str, stream: TextIO | None = None) -> None:
        if self.closed:
            return
        with self._lock:
            target = stream or self.out
            try:
                if self._bar and target is self.out:
                    target.write("\r\033[K")
                    self._bar = False
                target.write(text)
            except BrokenPipeError:
                self._output_closed()
            except (OSError, ValueError):
                self._output_closed()

    def flush(self) -> None:
        if self.closed:
            return
        try:
            self.out.flush()
        except (BrokenPipeError, OSError, ValueError):
            self._output_closed()

    def _output_closed(self) -> None:
        """The reader went away (`| head`): stop like Ctrl-C, and never write to the stream again."""
        self.closed = True
        self.stop.request(signal.SIGPIPE)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out.fileno())  # so the interpreter's own final flush cannot fail either
            os.close(devnull)

    def draw(self, text: str) -> None:
        if not self._tty or self.closed:
            return
        with self._lock:
            try:
                self.out.write("\r\033[K" + safe(text, 150))
                self.out.flush()
                self._bar = bool(text)
            except (OSError, ValueError):
                self._output_closed()

    def line(self, text: str = "", *, problem: bool = False) -> None:
        if self.as_json or (self.quiet and not problem):
            return
        self.write(text + "\n")

    def phase(self, name: str, total: int | None):
        return Meter(self, name, total) if self._tty else SilentMeter()

    # ---- progress (the Progress protocol of restore and migrate) ----
    def started(self, info: RunInfo) -> None:
        self.line(RULE)
        self.line(f"🔄 {info.title}" if info.mode.tool == "restore_student_photos" else f"🔍 {info.title}")
        self.line(RULE)
        self.line(f"⏰ Started at: {info.started}")
        if info.embedded:
            self.line("⚠️  EMBEDDED DATABASE IN USE (MONGO_URL is not set): demo/test data, "
                      "not your school's database", problem=True)
        self.line(f"🗄️  Database: {safe(info.database, 400)}")
        self.line(f"📂 Photos: {safe(info.photo_dir, 400)}")
        if info.mode.read_only_banner:
            self.line(f"🔎 Mode: {info.mode.label.upper()}: nothing will be changed")
        self.line()

    def note(self, kind: str, text: str) -> None:
        icon = {"backup": "📦", "count": "📚", "processing": "\n🔍", "warning": "⚠️ ", "info": "ℹ️ ",
                "run": "🧾"}.get(kind, "•")
        self.line(f"{icon} {safe(text, 600)}", problem=kind in ("warning", "run"))
        if kind == "processing":
            self.line()

    def student(self, index: int, total: int, outcome: StudentOutcome, report: RestoreReport) -> None:
        if index == 1:
            self._school_size = total <= SCHOOL_SIZE
            self.note("processing", "Processing students..." if self._school_size else
                      f"Processing {total} students (district size: only students with something to say are shown)...")
        problem = outcome.has_problem
        if self.as_json or (self.quiet and not problem) or (not self._school_size and not outcome.worth_a_line):
            return  # nothing to print: skip building the lines (200,000 students add up)
        would = report.verify_only
        lines = []
        for created in outcome.created:
            kind = "subdirectory" if created.count("/") > 1 else "directory"
            lines.append(f"📁 {'Would create' if would else 'Created'} {kind}: {safe(created)}")
        if outcome.relinked_from:
            lines.append(f"🔗 {'Would relink' if would else 'Relinked'} photo from: {safe(outcome.relinked_from)}")
        for filled in outcome.filled_from:
            lines.append(f"🖼️  {'Would fill' if would else 'Filled'} {safe(filled)}")
        if outcome.photo_ok:
            lines.append("✅ Photos verified" if not (outcome.relinked_from and would) else "✅ Photo found")
        elif outcome.photo is PhotoState.MISSING:
            lines.append(f"⚠️  Missing photo file: {safe(outcome.name)} ({short_id(outcome.student_id)})")
        elif outcome.photo not in (PhotoState.UNKNOWN, PhotoState.UNREADABLE):  # unreadable: an error, said below
            lines.append(f"❌ Corrupt photo file ({outcome.photo.describe}): {safe(outcome.name)} "
                         f"({short_id(outcome.student_id)})")
        for note in outcome.notes:
            lines.append(f"⚠️  {safe(note, 400)}")
        for issue in outcome.problems:
            if issue.problem not in (ProblemKind.MISSING, ProblemKind.CORRUPT):
                lines.append(f"❌ {issue.problem.value.capitalize()}: {safe(issue.detail, 400)}")
        if outcome.link_change is not None:
            old, new = outcome.link_change.old_photo, outcome.link_change.new_photo
            shown = "(no photo field)" if old is ABSENT else safe(json.dumps(old, default=str, ensure_ascii=False), 80)
            lines.append(f"✏️  {'Would update' if would else 'Updating'} database link: {shown} → {new}")
        self.line(f"[{index}/{total}] {safe(outcome.name) or '(no name)'} ({safe(outcome.student_id, 80)})",
                  problem=problem)
        for text in lines:
            self.line(f"   {text}", problem=problem)
        if index == total:
            self.line()

    # ---- restore ----
    def restore_summary(self, report: RestoreReport) -> None:
        if self.as_json:
            self.emit_json(restore_json(report))
            return
        s = report.summary
        verify = report.verify_only
        if report.not_in_database:
            self.line(f"ℹ️  In backup {safe(report.backup_name)} but not in the database (left, or an old id "
                      "from before a reseed; no folder is made for them):")
            for sid, name in report.not_in_database:
                self.line(f"   • {safe(name) or '(no name)'} ({safe(sid, 80)})")
            self.line()
        rows = [f"📦 Backup used: {safe(report.backup_name)}" +
                (f" (and {len(report.backups_read) - 1} older, for history)" if len(report.backups_read) > 1 else "")]
        if report.scope:
            rows.append(f"🎯 Students in scope (--student): {s.in_scope} of {s.students}")
        rows += [
            f"{'📁 Directories to create' if verify else '✅ Directories created'}: {s.directories_created}",
            f"✅ Photos verified: {s.photos_verified}",
            f"🔗 Photos {'to relink' if verify else 'relinked'}: {s.photos_relinked}",
            count_row("⚠️ ", "Photos missing", s.photos_missing),
            count_row("❌", "Photos corrupt", s.photos_corrupt),
            count_row("❌", "Invalid student ids", s.invalid_ids),
            count_row("❌", "Duplicate student ids", s.duplicate_ids),
            count_row("❌", "Identity conflicts (backup and database disagree on who an id is)", s.identity_conflicts),
            f"ℹ️  In the backup but not in the database: {s.not_in_database}",
            count_row("❌", "Errors", s.errors),
        ]
        if s.photos_filled or report.source:
            rows.append(f"🖼️  Photos {'to fill' if verify else 'filled'} from the photo source: {s.photos_filled}")
        if report.deep or s.wrong_child:
            rows.append(count_row("❌", "Photos that look like another child's" + (" (--deep)" if report.deep else ""),
                                  s.wrong_child))
        if s.quarantined:
            rows.append(f"📦 Photos moved to quarantine: {s.quarantined}")
        if s.backups_skipped:
            rows.append(f"⚠️  Backups skipped (unusable): {s.backups_skipped}")
        rows.append(f"{'✏️  Database records to update' if verify else '✅ Database records updated'}: "
                    f"{s.database_updated}")
        if s.database_skipped_changed:
            rows.append(f"⚠️  Database records skipped (changed during the run): {s.database_skipped_changed}")
        if report.info.run_id and report.journalled:
            rows.append(f"🧾 Run id: {report.info.run_id}")
        advice = None
        if verify and report.pending_changes and not report.interrupted_by:
            advice = (f"a restore would make {report.pending_changes} change(s): run {report.apply_command} "
                      "to apply them")
        self._summary_block("📊 RESTORATION SUMMARY", rows, report.exit_code, report.interrupted_by, advice,
                            scoped=s.in_scope if report.scope else None)
        if report.source:
            shown = [u for u in report.source["unused"] if not u["needs_a_person"]]
            for item in shown[:50]:
                self.line(f"ℹ️  Photo source file not used: {safe(item['file'])}: {safe(item['why'])}")
            if len(shown) > 50:
                self.line(f"ℹ️  ... and {len(shown) - 50} more photo source files not used (see --json)")
        for issue in report.problems:  # (a run's own error, no student's: an unreadable journal, a moved-aside folder)
            if issue.problem in (ProblemKind.INVALID_ID, ProblemKind.NOT_FOUND, ProblemKind.DATABASE,
                                 ProblemKind.SOURCE, ProblemKind.WRONG_CHILD) or (
                    issue.problem is ProblemKind.ERROR and (not issue.student_id or issue.student_id.startswith("("))):
                who = f"{safe(issue.name)} ({safe(issue.student_id, 80)})" if issue.student_id else ""
                self.line(f"❌ {issue.problem.value}: {who} {safe(issue.detail, 400)}".replace("  ", " "),
                          problem=True)
        if s.not_in_database and (s.photos_missing or report.pending_changes):
            self.line(f"💡 {s.not_in_database} student(s) of the newest backup are not in the database: if it was "
                      "reseeded, carry their photos first with migrate_orphaned_photos.py --list (README: 'After the "
                      "database was reseeded')", problem=True)
        elif s.old_folders and s.photos_missing:
            self.line(f"💡 students/ holds {s.old_folders} folder(s) of ids no current student has: if the database "
                      "was reseeded, migrate_orphaned_photos.py --list shows whose photos they are and --migrate "
                      "carries them (README: 'After the database was reseeded')", problem=True)
        if s.photos_missing and not report.source:
            self.line("💡 Missing photos: if another copy exists (an old server, a backup restore, the photographer's "
                      "zip), fill them with --photo-source PATH (see README.md)", problem=True)
        if report.scope and not s.in_scope:
            self.line("❌ None of the --student ids is a current student: nothing was checked "
                      "(see 'not found' above)", problem=True)
        self.flush()

    def _summary_block(self, title: str, rows: list[str], exit_code: int, interrupted: int | None,
                       advice: str | None = None, pending: str | None = None, scoped: int | None = None) -> None:
        """``scoped``: how many students a --student run covered (its verdict is theirs alone)."""
        summary_lines = [RULE, title, RULE, *rows]
        if interrupted:
            summary_lines.append(f"🛑 Interrupted by {signal_name(interrupted)}: this is the summary so far; "
                                 "run again to finish")
        elif advice:
            summary_lines.append(f"⚠️  Result: {advice} (exit {exit_code})")
        elif exit_code == 0 and pending:
            summary_lines.append(f"🏁 Result: nothing needs a person; {pending} (exit 0)")
        elif exit_code == 0 and scoped is not None:  # --student limits what is checked, not what may be wrong
            summary_lines.append(f"🏁 Result: done for the {scoped} student(s) in scope (--student); the rest of the "
                                 "school was not checked: run without --student for it (exit 0)")
        elif exit_code == 0:
            summary_lines.append("🏁 Result: all done, nothing needs attention (exit 0)")
        else:
            summary_lines.append(f"⚠️  Result: finished, but problems remain (exit {exit_code})")
        summary_lines.append(RULE)
        for text in summary_lines:
            self.write(text + "\n")

    # ---- errors ----
    def error(self, message: str, exit_code: int) -> None:
        message = "\n".join(safe(part, 2000) for part in message.split("\n"))  # a refused file names each row
        if self.as_json and self._open_orphans:  # the document is under way: finish it with the error
            self._close_orphans()
            self.write(f',\n  "error": {json.dumps(message, ensure_ascii=self._json_ascii)},\n'
                       f'  "exit_code": {exit_code}\n}}\n')
            self.flush()
        elif self.as_json:
            self.emit_json({"error": message, "exit_code": exit_code})
        else:
            self.flush()
            self.write(f"❌ {message}\n", self.err)
            with contextlib.suppress(OSError, ValueError):
                self.err.flush()

    def emit_json(self, document: dict) -> None:
        self.write(json.dumps(document, ensure_ascii=self._json_ascii, indent=2, default=str) + "\n")
        self.flush()

    # ---- migrate: the head once the orphans are known, each orphan as it is done, then the summary ----
    def orphans_found(self, report: MigrateReport) -> None:
        if self.as_json:  # streamed: one orphan at a time, never the whole document in memory
            head = json.dumps(migrate_json_head(report), ensure_ascii=self._json_ascii, indent=2, default=str)
            self.write(head[:-2] + ',\n  "orphans": [')
            self._open_orphans = self._head_written = True
            return
        if report.order_pairing:
            self.line("⚠️  --match order pairs folders with students by sort order, NOT by identity.", problem=True)
            self.line("⚠️  This is how photos end up on the wrong child. Check every line below.", problem=True)
            for i, (folder, student_id, name) in enumerate(report.order_pairing, 1):
                self.line(f"   [{i}] {safe(folder)} → {safe(name)} ({safe(student_id)})", problem=True)
            self.line()
        for note in report.backups_skipped:
            self.line(f"⚠️  Skipped unusable backup {safe(note.file)}: {safe(note.error)}", problem=True)
        for note in report.backups_ignored:
            self.line(f"⚠️  Ignored {safe(note.file)}: {safe(note.error)}", problem=True)
        if report.pairs_file:
            pairs = report.pairs_file
            self.line(f"📝 Reviewed pairings from {safe(pairs['file'])} (SHA-256 {pairs['sha256'][:12]}...): "
                      f"{pairs['rows']} row(s) with a student_id")
        for owner in report.earlier_owners:
            self._earlier_owner(owner)
        for text in report.set_aside:
            self.line(f"⛔ {safe(text, 600)}", problem=True)
        titles = {Action.LIST: "🔍 ORPHANED PHOTO DIRECTORIES", Action.MIGRATE: "🚚 MIGRATING ORPHANED PHOTOS",
                  Action.CLEAN: "🧹 CLEANING ORPHANED DIRECTORIES"}
        self.line(RULE)
        self.line(titles[report.action])
        self.line(RULE)
        if not report.orphans_found:
            self.line("✅ No orphaned directories found")
        else:
            self.line(f"⚠️  Found {report.orphans_found} orphaned directories:")
        self.line()

    def _earlier_owner(self, owner: EarlierOwner) -> None:
        """A current student's folder that may hold another person's photos (ids recycled by a partial reseed)."""
        sid, earlier = safe(owner.student_id, 80), safe(owner.earlier_name) or "(no name)"
        different = owner.verdict is Verdict.DIFFERENT
        title = "Folder of an earlier owner (ids recycled)" if different else \
            "Folder of an id whose earlier holder cannot be compared"
        self.line(f"⛔ {title}: {safe(owner.name)} ({sid}): students/{sid}/ holds {owner.files} file(s), but backup "
                  f"{safe(owner.backup)} holds {not_the_same(owner.verdict)} under this id ({earlier}: "
                  f"{safe(owner.reason, 400)}): they may be {earlier}'s", problem=True)
        if different:
            self.line("   💡 restore_student_photos.py --verify-only --deep names each file; --deep --quarantine moves "
                      "them aside: give each to its child by hand, then run the restore", problem=True)
        else:
            self.line("   💡 A person must compare the folder with the backup records of this id (--deep --quarantine "
                      "does not move these; restore_student_photos.py --verify-only reports the id too)", problem=True)
        self.line(problem=True)

    def orphan(self, index: int, orphan: OrphanReport, report: MigrateReport) -> None:
        if self.as_json:
            self.write(("," if self._orphans_written else "") + "\n    " +
                       self._orphan_line.encode(orphan_json(orphan)))
            self._orphans_written += 1
        elif not self.quiet or orphan.needs_attention:
            self._orphan(index, orphan, report)

    def migrate_report(self, report: MigrateReport) -> None:
        if self.as_json:
            if not self._head_written:
                self.orphans_found(report)
            self._close_orphans()
            tail = json.dumps(migrate_json_tail(report), ensure_ascii=self._json_ascii, indent=2, default=str)
            self.write(",\n" + tail[2:])
            self.flush()
            return
        self._migrate_summary(report)

    def _close_orphans(self) -> None:
        if self._open_orphans:
            self.write("\n  ]" if self._orphans_written else "]")
            self._open_orphans = False

    def _orphan(self, index: int, orphan: OrphanReport, report: MigrateReport) -> None:
        problem = orphan.needs_attention
        out = []
        if orphan.is_symlink:
            out.append("🔗 Symlink: not followed, not migrated, not deleted")
        else:
            if not orphan.has_profile:
                out.append("⚠️  No profile.jpg")
            elif orphan.profile_state == PhotoState.OK.value:
                out.append("✅ Has profile.jpg")
            else:
                out.append(f"❌ profile.jpg is not a usable photo ({PhotoState(orphan.profile_state).describe})")
            out.append(f"📸 {orphan.attendance_photos} attendance photo(s)")
        if orphan.old_name is not None:
            out.append(f"📇 Backup record: {safe(orphan.old_name) or '(no name)'} (in {safe(orphan.backup)})")
        elif not orphan.is_symlink:
            out.append("📇 No backup holds this id")
        by = " (paired by a reviewed file)" if orphan.paired_by == "pairs file" else ""
        if orphan.decision is Decision.MIGRATE:
            verb = "➡️  Would migrate to" if report.dry_run or report.action is not Action.MIGRATE else \
                "➡️  Not yet migrated to"
            out.append(f"{verb}: {safe(orphan.target_name)} ({safe(orphan.target_id)}){by}")
        elif orphan.decision is Decision.MIGRATED:
            out.append(f"✅ Migrated to: {safe(orphan.target_name)} ({safe(orphan.target_id)}){by}")
            out.append(f"   {orphan.copied} file(s) copied, {orphan.already} already in place")
        elif not (orphan.decision is Decision.ERROR and orphan.errors and orphan.reason == orphan.errors[0]):
            out.append(f"⛔ {orphan.decision.value.capitalize()}: {safe(orphan.reason, 400)}")
        for conflict in orphan.conflicts[1 if orphan.decision is Decision.CONFLICT else 0:]:
            out.append(f"⚠️  Conflict: {safe(conflict)}")
        for item in orphan.not_carried:
            out.append(f"⚠️  Not carried: {safe(item)}")
        for error in orphan.errors:
            out.append(f"❌ {safe(error, 400)}")
        if report.action is Action.CLEAN and orphan.clean is not None:
            icon = {CleanVerdict.REMOVED: "🗑️  Removed", CleanVerdict.REMOVE: "🗑️  Would remove",
                    CleanVerdict.KEEP: "🛡️  Kept"}[orphan.clean]
            out.append(f"{icon}: {safe(orphan.clean_reason, 400)}")
        self.line(f"[{index}] {safe(orphan.name)}", problem=problem)
        for text in out:
            self.line(f"    {text}", problem=problem)
        self.line()

    def _migrate_summary(self, report: MigrateReport) -> None:
        d = report.decisions
        rows = [f"📦 Backups consulted: {len(report.backups_used)}",
                f"📂 Orphaned directories: {report.orphans_found}"]
        if report.orphans_done < report.orphans_found:
            rows.append(f"⏸️  Orphaned directories looked at before stopping: {report.orphans_done}")
        if report.action is Action.MIGRATE and not report.dry_run:
            rows.append(f"✅ Migrated: {d[Decision.MIGRATED]} ({report.files_copied} file(s) copied)")
            if d[Decision.MIGRATE]:
                rows.append(f"⚠️  Matched but not yet migrated: {d[Decision.MIGRATE]}")
        else:
            rows.append(f"➡️  Can be migrated: {d[Decision.MIGRATE]}")
            rows.append(f"✅ Already migrated: {d[Decision.MIGRATED]}")
        for decision, icon in ((Decision.CONFLICT, "⚠️ "), (Decision.AMBIGUOUS, "⚠️ "), (Decision.UNKNOWN, "❓"),
                               (Decision.CANNOT_RECEIVE, "❌"), (Decision.NOT_CARRIED, "⚠️ "),
                               (Decision.ERROR, "❌"), (Decision.NO_STUDENT, "👋"), (Decision.SYMLINK, "🔗"),
                               (Decision.NOT_A_FOLDER, "📄"), (Decision.NOTHING, "📭")):
            if d[decision] or decision in (Decision.CONFLICT, Decision.AMBIGUOUS, Decision.UNKNOWN,
                                           Decision.NO_STUDENT, Decision.SYMLINK, Decision.NOTHING):
                rows.append(count_row(icon, decision.value.capitalize(), d[decision]))
        rows.append(count_row("⚠️ ", "Need a person", report.attention))
        if report.earlier_owners:
            rows.append(count_row("⛔", "Current students whose folder may hold an earlier owner's photos (listed "
                                       "above the orphans)", len(report.earlier_owners)))
        if report.set_aside:
            rows.append(count_row("⛔", "Folders a clean moved aside and did not put back (listed above the orphans)",
                                  len(report.set_aside)))
        if report.action is Action.CLEAN:
            c = report.cleans
            rows.append(f"🗑️  {'Removed' if not report.dry_run else 'Would remove'}: "
                        f"{c[CleanVerdict.REMOVED] if not report.dry_run else c[CleanVerdict.REMOVE]}")
            rows.append(f"🛡️  Kept: {c[CleanVerdict.KEEP]}")
        if report.audit_file:
            rows.append(f"📝 Audit log: {safe(report.audit_file, 400)}")
        if report.audit_error:
            rows.append(f"❌ Audit log: {safe(report.audit_error, 400)}")
        if report.csv_file:
            rows.append(f"📄 Plan written for review: {safe(report.csv_file, 400)}")
        if report.html_file:
            rows.append(f"🖼️  Review page written (children's photos: keep it private): {safe(report.html_file, 400)}")
        if report.info.run_id and report.journalled:
            rows.append(f"🧾 Run id: {report.info.run_id}")
        pending = None
        if d[Decision.MIGRATE] and (report.dry_run or report.action is not Action.MIGRATE):
            pending = f"{d[Decision.MIGRATE]} orphaned folder(s) can be migrated with --migrate"
        self._summary_block("📊 MIGRATION SUMMARY", rows, report.exit_code, report.interrupted_by, pending=pending)
        if report.interrupted_by:
            pass
        elif report.action is Action.MIGRATE and report.match == "order":
            self.line("💡 Sort order is not identity: check every pairing above against the photos before running "
                      "without --dry-run (the identity match is the default for a reason)", problem=True)
        elif report.action is Action.MIGRATE and report.dry_run:
            self.line("💡 Next: run this again without --dry-run to copy the photos")
        elif report.action is Action.MIGRATE and d[Decision.MIGRATED]:
            self.line("💡 Next: run restore_student_photos.py so the database links follow")
        elif report.action is Action.CLEAN and report.dry_run:
            self.line("💡 Nothing was removed. Add --confirm to remove the folders marked 'Would remove'.")
        elif report.action is Action.LIST and report.attention:
            self.line("💡 Orphans that need a person: write the plan with --list --csv plan.csv (and look with "
                      "--html review.html), fill in student_id, then --migrate --pairs plan.csv --dry-run")
        self.flush()


    # ---- journal: --history and --undo ----
    def history(self, report) -> None:
        if self.as_json:
            self.emit_json({"journal": report.journal_dir, "runs": [r.as_json() for r in report.runs],
                            "unreadable": [printable(u) for u in report.unreadable], "exit_code": report.exit_code})
            return
        self.write(f"🧾 Runs that changed something (journal: {safe(report.journal_dir, 400)})\n")
        if not report.runs:
            self.write("   none yet\n")
        for r in report.runs:
            counts = ", ".join(f"{k} {v}" for k, v in r.counts.items() if v) or f"{r.changes} change(s)"
            ended = f"exit {r.exit_code}" if r.finished else "no end record (stopped or killed)"
            undo = f", undoes {r.undoes}" if r.undoes else ""
            self.write(f"   {r.run_id}  {r.started}  {r.tool}  {r.mode}{undo}  [{safe(counts)}]  {ended}\n")
        for text in report.unreadable:
            self.line(f"❌ {safe(text, 400)}: what that run did cannot be listed or undone", problem=True)
        self.flush()

    def undo_summary(self, report) -> None:
        if self.as_json:
            self.emit_json({"tool": report.info.mode.tool, **_info_json(report.info), "undoes": report.undoes.run_id,
                            "links_reverted": report.links_reverted, "files_removed": report.files_removed,
                            "folders_removed": report.folders_removed, "photos_returned": report.photos_returned,
                            "already": report.already,
                            "left": [printable(x) for x in report.left],
                            "linked_to_removed": [{"student_id": printable(x.student_id), "name": printable(x.name),
                                                   "link": printable(x.link)} for x in report.removed_links],
                            "notes": report.notes, "interrupted": signal_name(report.interrupted_by),
                            "exit_code": report.exit_code})
            return
        for note in report.notes:
            self.line(f"ℹ️  {safe(note, 400)}")
        for item in report.left:
            self.line(f"⚠️  Left: {safe(item, 400)}", problem=True)
        dry = report.info.mode.writes is False
        for gone in report.removed_links:
            self.line(f"⚠️  Linked to a file this undo {'would remove' if dry else 'removed'}: {safe(gone.name)} "
                      f"({safe(gone.student_id)}): {safe(gone.link)}", problem=True)
        if report.removed_links:
            self.line("💡 A later run (a restore) linked these students to the copies the undo takes away, so the "
                      "app shows no photo for them: run migrate_orphaned_photos.py --migrate again to carry the photos "
                      "back (the links then name them again; restore_student_photos.py --verify-only checks), or, if "
                      "those copies were wrong, give the students their right photos in the app", problem=True)
        rows = [f"🧾 Undoing run: {report.undoes.run_id} ({report.undoes.tool} {report.undoes.mode})",
                f"↩️  Database links {'to revert' if dry else 'reverted'}: {report.links_reverted}",
                f"🗑️  Placed files {'to remove' if dry else 'removed'} (each still has its source): "
                f"{report.files_removed}",
                f"📁 Empty folders {'to remove' if dry else 'removed'}: {report.folders_removed}",
                f"📦 Quarantined photos {'to put back' if dry else 'put back'}: {report.photos_returned}"]
        if report.already:
            rows.append(f"✅ Already as before the run (never made, or undone before): {report.already}")
        rows.append(count_row("⚠️ ", "Left as they are (see above)", len(report.left)))
        if report.removed_links:
            rows.append(count_row("⚠️ ", f"Students linked to a file {'to be ' if dry else ''}removed (see above)",
                                   len(report.removed_links)))
        if report.info.run_id:
            rows.append(f"🧾 Run id of this undo: {report.info.run_id}")
        self._summary_block("📊 UNDO SUMMARY", rows, report.exit_code, report.interrupted_by)
        self.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _backups_json(used: list[str], skipped, ignored) -> dict:
    return {"used": used, "skipped": [{"file": printable(n.file), "error": n.error} for n in skipped],
            "ignored": [{"file": printable(n.file), "reason": n.error} for n in ignored]}


def restore_json(report: RestoreReport) -> dict:
    return {
        "tool": "restore_student_photos",
        **_info_json(report.info, report.journalled),
        "backup": {"used": report.backup_name, "students": report.backup_students, "read": report.backups_read,
                   **{k: v for k, v in _backups_json([], report.backups_skipped, report.backups_ignored).items()
                      if k != "used"}},
        "scope": list(report.scope),
        "summary": asdict(report.summary),
        "pending_changes": report.pending_changes if report.verify_only else 0,
        "problems": [{"student_id": printable(p.student_id), "name": printable(p.name), "problem": p.problem.value,
                      "detail": printable(p.detail)} for p in report.problems],
        "not_in_database": [{"student_id": printable(s), "name": printable(n)} for s, n in report.not_in_database],
        "photo_source": report.source,
        "deep": [{k: [printable(x) for x in v] if isinstance(v, list) else printable(v) for k, v in f.items()}
                 for f in report.deep],
        "deep_check": report.deep_check,
        "interrupted": signal_name(report.interrupted_by),
        "database_round_trips": report.round_trips,
        "exit_code": report.exit_code,
    }


ORPHAN_KEYS = ("is_symlink", "has_profile", "profile_state", "attendance_photos", "backup", "reason", "paired_by",
               "target_id", "target_name", "copied", "already", "conflicts", "not_carried", "errors", "clean_reason")


def orphan_json(orphan: OrphanReport) -> dict:
    document = {"name": printable(orphan.name), "old_name": None if orphan.old_name is None else
                printable(orphan.old_name), "decision": orphan.decision.value,
                "clean": orphan.clean.value if orphan.clean else ""}
    document.update({k: getattr(orphan, k) for k in ORPHAN_KEYS})
    return document


def migrate_json_head(report: MigrateReport) -> dict:
    """Everything that comes before the (streamed) "orphans" list."""
    return {
        "tool": "migrate_orphaned_photos",
        **{k: v for k, v in _info_json(report.info).items() if k != "run_id"},  # known at the end: see the tail
        "action": report.action.value,
        "dry_run": report.dry_run,
        "match": report.match,
        "backups": _backups_json(report.backups_used, report.backups_skipped, report.backups_ignored),
        "pairs_file": report.pairs_file,
        "earlier_owners": [{"student_id": printable(o.student_id), "name": printable(o.name),
                            "verdict": o.verdict.value,
                            "earlier_name": printable(o.earlier_name), "backup": printable(o.backup),
                            "reason": printable(o.reason), "files": o.files} for o in report.earlier_owners],
        "set_aside": [printable(text) for text in report.set_aside],
    }


def migrate_json_tail(report: MigrateReport) -> dict:
    """Everything after it, once the run is over."""
    return {
        "run_id": report.info.run_id if report.journalled else None,
        "orphans_found": report.orphans_found,
        "orphans_done": report.orphans_done,
        "counts": {d.value: n for d, n in report.decisions.items()} | {
            f"clean {c.value}": n for c, n in report.cleans.items()},
        "files_copied": report.files_copied,
        "need_a_person": report.attention,
        "order_pairing": [{"folder": f, "student_id": s, "name": n} for f, s, n in report.order_pairing],
        "audit_file": report.audit_file,
        "audit_error": report.audit_error,
        "csv_file": report.csv_file,
        "html_file": report.html_file,
        "database_round_trips": report.round_trips,
        "interrupted": signal_name(report.interrupted_by),
        "exit_code": report.exit_code,
    }


def _info_json(info: RunInfo, journalled: bool = True) -> dict:
    return {"mode": info.mode.label, "run_id": info.run_id if journalled else None, "started": info.started,
            "database": info.database,
            "embedded_database": info.embedded, "photo_dir": info.photo_dir}
