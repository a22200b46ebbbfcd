"""Every line the scripts print: emoji progress, summaries and JSON, through replaceable streams."""

from __future__ import annotations

import json
import re
import signal
import sys
from dataclasses import asdict
from typing import TextIO

from .report import MigrateReport, OrphanReport, RestoreReport, RunInfo, StudentOutcome

RULE = "=" * 70
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: object, limit: int = 200) -> str:
    """Data from backups and the database, made harmless for a terminal (no control characters)."""
    cleaned = _CONTROL.sub("?", str(text))
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 3] + "..."


def short_id(student_id: str) -> str:
    return student_id if len(student_id) <= 12 else student_id[:8] + "..."


def signal_name(signum: int | None) -> str | None:
    if signum is None:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


class Console:
    """Text or JSON rendering; ``quiet`` keeps only problems and the summary."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, quiet: bool = False,
                 as_json: bool = False) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.as_json = as_json
        self._open_orphans = False  # JSON: the migrate document's orphan list is being streamed
        self._head_written = False
        self._orphans_written = 0

    def line(self, text: str = "", *, problem: bool = False) -> None:
        if self.as_json or (self.quiet and not problem):
            return
        print(text, file=self.out, flush=False)

    # ---- progress (the Progress protocol of restore and migrate) ----
    def started(self, info: RunInfo) -> None:
        self.line(RULE)
        self.line(f"🔄 {info.title}" if "RESTORATION" in info.title else f"🔍 {info.title}")
        self.line(RULE)
        self.line(f"⏰ Started at: {info.started}")
        if info.embedded:
            self.line("⚠️  EMBEDDED DATABASE IN USE (MONGO_URL is not set): demo/test data, "
                      "not your school's database", problem=True)
        self.line(f"🗄️  Database: {safe(info.database, 400)}")
        self.line(f"📂 Photos: {safe(info.photo_dir, 400)}")
        if info.mode in ("verify-only",) or "dry run" in info.mode:
            self.line(f"🔎 Mode: {info.mode.upper()}: nothing will be changed")
        self.line()

    def note(self, kind: str, text: str) -> None:
        icon = {"backup": "📦", "count": "📚", "processing": "\n🔍", "warning": "⚠️ ", "info": "ℹ️ "}.get(kind, "•")
        self.line(f"{icon} {safe(text, 600)}", problem=kind == "warning")
        if kind == "processing":
            self.line()

    def student(self, index: int, total: int, outcome: StudentOutcome, verify_only: bool) -> None:
        problem = outcome.has_problem
        if self.as_json or (self.quiet and not problem):
            return  # nothing to print: skip building the lines (200,000 students add up)
        would = verify_only
        lines = []
        for created in outcome.created:
            kind = "subdirectory" if created.count("/") > 1 else "directory"
            lines.append(f"📁 {'Would create' if would else 'Created'} {kind}: {safe(created)}")
        if outcome.relinked_from:
            lines.append(f"🔗 {'Would relink' if would else 'Relinked'} photo from: {safe(outcome.relinked_from)}")
        if outcome.photo_ok:
            lines.append("✅ Photos verified" if not outcome.relinked_from or not would else "✅ Photo found")
        elif outcome.photo == "missing":
            lines.append(f"⚠️  Missing photo file: {safe(outcome.name)} ({short_id(outcome.student_id)})")
        elif outcome.photo != "unknown":
            why = {"corrupt": "not a JPEG", "empty": "empty file", "symlink": "a symlink; not followed"}
            lines.append(f"❌ Corrupt photo file ({why.get(outcome.photo, outcome.photo)}): {safe(outcome.name)} "
                         f"({short_id(outcome.student_id)})")
        for note in outcome.notes:
            lines.append(f"⚠️  {safe(note)}")
        for error in outcome.errors:
            lines.append(f"❌ {safe(error)}")
        if outcome.link_change is not None:
            old, new = outcome.link_change
            lines.append(f"✏️  {'Would update' if would else 'Updating'} database link: "
                         f"{safe(json.dumps(old, default=str), 80)} → {new}")
        if not outcome.in_database:
            lines.append("ℹ️  Not in database (backup only)")
        self.line(f"[{index}/{total}] {safe(outcome.name) or '(no name)'} ({outcome.student_id})", problem=problem)
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
        rows = [
            f"📦 Backup used: {safe(report.backup_name)}",
            f"{'📁 Directories to create' if verify else '✅ Directories created'}: {s.directories_created}",
            f"✅ Photos verified: {s.photos_verified}",
            f"🔗 Photos {'to relink' if verify else 'relinked'}: {s.photos_relinked}",
            f"⚠️  Photos missing: {s.photos_missing}",
            f"❌ Photos corrupt: {s.photos_corrupt}",
            f"❌ Invalid student ids: {s.invalid_ids}",
            f"ℹ️  Not in database (backup only): {s.not_in_database}",
            f"❌ Errors: {s.errors}",
        ]
        if s.backups_skipped:
            rows.append(f"⚠️  Backups skipped (unusable): {s.backups_skipped}")
        rows.append(f"{'✏️  Database records to update' if verify else '✅ Database records updated'}: "
                    f"{s.database_updated}")
        if s.database_skipped_changed:
            rows.append(f"⚠️  Database records skipped (changed during the run): {s.database_skipped_changed}")
        self._summary_block("📊 RESTORATION SUMMARY", rows, report.exit_code, report.interrupted_by)
        for problem in report.problems:
            if problem.problem in ("invalid id", "not found", "database"):
                who = f"{safe(problem.name)} ({safe(problem.student_id, 80)})" if problem.student_id else ""
                self.line(f"❌ {problem.problem}: {who} {safe(problem.detail)}".replace("  ", " "),
                          problem=True)
        self.out.flush()

    def _summary_block(self, title: str, rows: list[str], exit_code: int, interrupted: int | None) -> None:
        summary_lines = [RULE, title, RULE, *rows]
        if interrupted:
            summary_lines.append(f"🛑 Interrupted by {signal_name(interrupted)}: this is the summary so far; "
                                 "run again to finish")
        elif exit_code == 0:
            summary_lines.append("🏁 Result: all done, nothing needs attention (exit 0)")
        else:
            summary_lines.append("⚠️  Result: finished, but problems remain (exit 1)")
        summary_lines.append(RULE)
        for text in summary_lines:
            print(text, file=self.out)

    # ---- errors ----
    def error(self, message: str, exit_code: int) -> None:
        if self.as_json and self._open_orphans:  # the document is under way: finish it with the error
            self._close_orphans()
            self.out.write(f',\n  "error": {json.dumps(message, ensure_ascii=False)},\n  "exit_code": {exit_code}\n}}\n')
            self.out.flush()
        elif self.as_json:
            self.emit_json({"error": message, "exit_code": exit_code})
        else:
            self.out.flush()
            print(f"❌ {message}", file=self.err, flush=True)

    def emit_json(self, document: dict) -> None:
        self.out.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
        self.out.flush()

    # ---- migrate: the head once the orphans are known, each orphan as it is done, then the summary ----
    def orphans_found(self, report: MigrateReport) -> None:
        if self.as_json:  # streamed: one orphan at a time, never the whole document in memory
            head = json.dumps(migrate_json_head(report), ensure_ascii=False, indent=2, default=str)
            self.out.write(head[:-2] + ',\n  "orphans": [')
            self._open_orphans = self._head_written = True
            return
        if report.order_pairing:
            self.line("⚠️  --match order pairs folders with students by sort order, NOT by identity.", problem=True)
            self.line("⚠️  This is how photos end up on the wrong child. Check every line below.", problem=True)
            for i, (folder, student_id, name) in enumerate(report.order_pairing, 1):
                self.line(f"   [{i}] {folder} → {safe(name)} ({student_id})", problem=True)
            self.line()
        for name, why in report.backups_skipped:
            self.line(f"⚠️  Skipped unusable backup {safe(name)}: {safe(why)}", problem=True)
        titles = {"list": "🔍 ORPHANED PHOTO DIRECTORIES", "migrate": "🚚 MIGRATING ORPHANED PHOTOS",
                  "clean": "🧹 CLEANING ORPHANED DIRECTORIES"}
        self.line(RULE)
        self.line(titles[report.action])
        self.line(RULE)
        if not report.orphans_found:
            self.line("✅ No orphaned directories found")
        else:
            self.line(f"⚠️  Found {report.orphans_found} orphaned directories:")
        self.line()

    def orphan(self, index: int, orphan: OrphanReport, report: MigrateReport) -> None:
        if self.as_json:
            self.out.write(("," if self._orphans_written else "") + "\n    " +
                           json.dumps(orphan_json(orphan), ensure_ascii=False, default=str))
            self._orphans_written += 1
        elif not self.quiet or orphan.needs_attention:
            self._orphan(index, orphan, report)

    def migrate_report(self, report: MigrateReport) -> None:
        if self.as_json:
            if not self._head_written:
                self.orphans_found(report)
            self._close_orphans()
            tail = json.dumps(migrate_json_tail(report), ensure_ascii=False, indent=2, default=str)
            self.out.write(",\n" + tail[2:])
            self.out.flush()
            return
        self._migrate_summary(report)

    def _close_orphans(self) -> None:
        if self._open_orphans:
            self.out.write("\n  ]" if self._orphans_written else "]")
            self._open_orphans = False

    def _orphan(self, index: int, orphan: OrphanReport, report: MigrateReport) -> None:
        problem = orphan.needs_attention
        out = []
        if orphan.is_symlink:
            out.append("🔗 Symlink: not followed, not migrated, not deleted")
        else:
            out.append("✅ Has profile.jpg" if orphan.has_profile else "⚠️  No profile.jpg")
            out.append(f"📸 {orphan.attendance_photos} attendance photo(s)")
        if orphan.old_name is not None:
            out.append(f"📇 Backup record: {safe(orphan.old_name) or '(no name)'} (in {safe(orphan.backup)})")
        elif not orphan.is_symlink:
            out.append("📇 No backup holds this id")
        verb = {"migrate": "➡️  Would migrate to", "migrated": "✅ Migrated to"}
        if orphan.decision in verb:
            out.append(f"{verb[orphan.decision]}: {safe(orphan.target_name)} ({orphan.target_id})")
            if orphan.decision == "migrated":
                out.append(f"   {orphan.copied} file(s) copied, {orphan.already} already in place")
        else:
            out.append(f"⛔ {orphan.decision.capitalize()}: {safe(orphan.reason)}")
        for conflict in orphan.conflicts[1 if orphan.decision == "conflict" else 0:]:
            out.append(f"⚠️  Conflict: {safe(conflict)}")
        for error in orphan.errors:
            out.append(f"❌ {safe(error)}")
        if report.action == "clean":
            icon = {"removed": "🗑️  Removed", "remove": "🗑️  Would remove", "keep": "🛡️  Kept"}[orphan.clean]
            out.append(f"{icon}: {safe(orphan.clean_reason)}")
        self.line(f"[{index}] {safe(orphan.name)}", problem=problem)
        for text in out:
            self.line(f"    {text}", problem=problem)
        self.line()

    def _migrate_summary(self, report: MigrateReport) -> None:
        c = report.count
        rows = [f"📦 Backups consulted: {len(report.backups_used)}",
                f"📂 Orphaned directories: {report.orphans_found}"]
        if report.action == "migrate" and not report.dry_run:
            rows.append(f"✅ Migrated: {c('decision', 'migrated')}")
        else:
            rows.append(f"➡️  Can be migrated: {c('decision', 'migrate') + c('decision', 'migrated')}")
        for decision, icon in (("conflict", "⚠️ "), ("ambiguous", "⚠️ "), ("unknown", "❓"),
                               ("no current student", "👋"), ("symlink", "🔗"), ("nothing to migrate", "📭")):
            rows.append(f"{icon} {decision.capitalize()}: {c('decision', decision)}")
        if report.action == "clean":
            removed = c("clean", "removed")
            rows.append(f"🗑️  {'Removed' if not report.dry_run else 'Would remove'}: "
                        f"{removed if not report.dry_run else c('clean', 'remove')}")
            rows.append(f"🛡️  Kept: {c('clean', 'keep')}")
        if report.audit_file:
            rows.append(f"📝 Audit log: {safe(report.audit_file, 400)}")
        if report.audit_error:
            rows.append(f"❌ Audit log: {safe(report.audit_error, 400)}")
        self._summary_block("📊 MIGRATION SUMMARY", rows, report.exit_code, report.interrupted_by)
        if report.action == "migrate" and not report.interrupted_by:
            tail = ("Next: run this again without --dry-run to copy the photos"
                    if report.dry_run else "Next: run restore_student_photos.py so the database links follow")
            self.line(f"💡 {tail}")
        if report.action == "clean" and report.dry_run:
            self.line("💡 Nothing was removed. Add --confirm to remove the folders marked 'Would remove'.")
        self.out.flush()


def restore_json(report: RestoreReport) -> dict:
    return {
        "tool": "restore_student_photos",
        **_info_json(report.info),
        "backup": {"used": report.backup_name, "students": report.backup_students,
                   "skipped": [{"file": n, "error": w} for n, w in report.backups_skipped]},
        "summary": asdict(report.summary),
        "problems": [asdict(p) for p in report.problems],
        "interrupted": signal_name(report.interrupted_by),
        "database_round_trips": report.round_trips,
        "exit_code": report.exit_code,
    }


ORPHAN_KEYS = ("name", "is_symlink", "has_profile", "attendance_photos", "old_name", "backup", "decision",
               "reason", "target_id", "target_name", "copied", "already", "conflicts", "errors", "clean",
               "clean_reason")


def orphan_json(orphan: OrphanReport) -> dict:
    return {k: getattr(orphan, k) for k in ORPHAN_KEYS}


def migrate_json_head(report: MigrateReport) -> dict:
    """Everything that comes before the (streamed) "orphans" list."""
    return {
        "tool": "migrate_orphaned_photos",
        **_info_json(report.info),
        "action": report.action,
        "dry_run": report.dry_run,
        "match": report.match,
        "backups": {"used": report.backups_used,
                    "skipped": [{"file": n, "error": w} for n, w in report.backups_skipped]},
    }


def migrate_json_tail(report: MigrateReport) -> dict:
    """Everything after it, once the run is over."""
    return {
        "orphans_found": report.orphans_found,
        "order_pairing": [{"folder": f, "student_id": s, "name": n} for f, s, n in report.order_pairing],
        "audit_file": report.audit_file,
        "audit_error": report.audit_error,
        "database_round_trips": report.round_trips,
        "interrupted": signal_name(report.interrupted_by),
        "exit_code": report.exit_code,
    }


def _info_json(info: RunInfo) -> dict:
    return {"mode": info.mode, "started": info.started, "database": info.database,
            "embedded_database": info.embedded, "photo_dir": info.photo_dir}
