"""What every run shares, written once: the header, the photo root check, the lock, the journal, and the
checks that stop a run before it can mistake a wrong database for an empty school."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from .config import Settings
from .errors import DatabaseError, ToolError
from .journal import Journal, header, new_run_id
from .report import Action, Mode, Progress, RunInfo
from .store import PhotoStore, check_root, store_lock

_JOURNAL_LOCK = threading.Lock()


class ImplausibleDatabase(DatabaseError):
    """The database holds no students, or far fewer than the newest backup: a wrong DB_NAME or collection."""


@dataclass
class Session:
    settings: Settings
    store: PhotoStore
    info: RunInfo
    progress: Progress
    root_exists: bool
    journal: Journal | None = None

    @property
    def mode(self) -> Mode:
        return self.info.mode

    def start_journal(self, **extra: object) -> Journal:
        """The journal of a changing run, opened right before its first change (a refusal writes nothing)."""
        with _JOURNAL_LOCK:  # worker threads may reach their first change at the same moment
            return self._start_journal(extra)

    def _start_journal(self, extra: dict) -> Journal:
        if self.journal is None:
            assert self.info.run_id is not None, "only a run that writes has a journal"
            self.journal = Journal(self.store, self.info.run_id, header(
                self.mode.tool, self.mode.action.value, self.mode.label, str(self.store.root),
                self.info.database, **extra))
            undo = ("a clean removes only duplicates and is not undone" if self.mode.action is Action.CLEAN
                    else f"--undo {self.info.run_id} takes it back")
            self.progress.note("run", f"Run id: {self.info.run_id} (every change is journalled; {undo})")
        return self.journal

    @property
    def journalled(self) -> bool:
        return self.journal is not None

    def finish(self, exit_code: int, counts: dict, interrupted: str | None = None) -> None:
        if self.journal is not None:
            self.journal.close(exit_code, counts, interrupted)


@contextlib.contextmanager
def session(settings: Settings, mode: Mode, title: str, progress: Progress,
            force_flag: str | None = None) -> Iterator[Session]:
    """Print the header, check the photo root, take the lock (shared when nothing is written)."""
    store = PhotoStore(settings.photo_dir)
    info = RunInfo(title, datetime.now().strftime("%Y-%m-%d %H:%M:%S"), settings.database_label(),
                   settings.embedded, str(settings.photo_dir), mode, new_run_id() if mode.writes else None)
    progress.started(info)
    exists = check_root(store, force_flag)
    state = Session(settings, store, info, progress, exists)
    try:
        if exists:
            with store_lock(store, shared=not mode.writes, wait_seconds=settings.lock_wait_seconds):
                yield state
        else:
            yield state
    except ToolError as exc:
        state.finish(exc.exit_code, {}, interrupted=f"error: {exc}")
        raise
    except BaseException:
        state.finish(2, {}, interrupted="unexpected error")
        raise


def check_database_size(settings: Settings, db_students: int, backup_name: str | None, backup_students: int) -> None:
    """Refuse a database that looks wrong against the newest backup, naming both counts."""
    if not backup_name or not backup_students:
        return
    where = f"{settings.collection_label()} ({settings.database_label()})"
    if db_students == 0:
        raise ImplausibleDatabase(f"No students in {where}, but the newest backup {backup_name} holds "
                                  f"{backup_students}: is DB_NAME or STUDENTS_COLLECTION wrong?")
    if db_students < settings.min_database_ratio * backup_students:
        raise ImplausibleDatabase(
            f"Only {db_students} students in {where} against {backup_students} in the newest backup {backup_name} "
            f"(below MIN_DATABASE_RATIO={settings.min_database_ratio:g}): is DB_NAME or STUDENTS_COLLECTION wrong? "
            "If the school really shrank, set MIN_DATABASE_RATIO=0 for this run")
