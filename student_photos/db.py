"""Database access: the only module that imports the MongoDB driver (PyMongo's async API).

Keeping the driver behind this one module means a driver change (Motor reached end of life;
PyMongo's async API replaced it) touches one file, and every error it raises becomes a
``DatabaseError`` with a masked URL here, before anything prints it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from pymongo import AsyncMongoClient, UpdateOne, monitoring
from pymongo.errors import (BulkWriteError, ConfigurationError, InvalidURI, OperationFailure,
                            PyMongoError, ServerSelectionTimeoutError)

from .config import Settings, hosts_of, mask_url
from .errors import ConfigError, DatabaseError

WRITE_BATCH = 5000  # updates per bulk write (one round trip each)
READ_BATCH = 20_000  # documents per round trip when reading: bounds memory, few round trips
IN_CHUNK = 500  # the wire-protocol test server wants $in lists of at most 500 ids


class RoundTripCounter(monitoring.CommandListener):
    """Counts commands sent to the server (find, getMore, update, ...), for the report and benchmark."""

    def __init__(self) -> None:
        self.count = 0
        self.by_command: dict[str, int] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1
        self.by_command[event.command_name] = self.by_command.get(event.command_name, 0) + 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass(frozen=True, slots=True)
class LinkChange:
    doc_id: object
    student_id: str
    old_photo: object
    new_photo: str


@dataclass
class WriteOutcome:
    updated: int = 0
    skipped_changed: int = 0  # the field no longer held the value that was read
    failed: int = 0


def _explain(exc: BaseException, settings: Settings) -> str:
    where = hosts_of(settings.mongo_url) if settings.mongo_url else "the embedded database"
    if isinstance(exc, OperationFailure) and (exc.code == 18 or "authentication" in str(exc).lower()):
        return f"Failed to connect to database: authentication failed ({where})"
    if isinstance(exc, ServerSelectionTimeoutError):
        return f"Failed to connect to database: {where} did not answer within {settings.server_timeout_ms // 1000} s"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if settings.mongo_url:
        text = text.replace(settings.mongo_url, mask_url(settings.mongo_url))
    return f"Database error on {where}: {text[:300]}"


class Database:
    """An open connection to the students collection; use as ``async with Database(settings)``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.round_trips = RoundTripCounter()
        self._client: AsyncMongoClient | None = None
        self._embedded = None

    async def __aenter__(self) -> "Database":
        url = self.settings.mongo_url or self._start_embedded()
        try:
            self._client = AsyncMongoClient(
                url,
                serverSelectionTimeoutMS=self.settings.server_timeout_ms,
                connectTimeoutMS=self.settings.server_timeout_ms,
                appname="student-photos",
                event_listeners=[self.round_trips],
            )
        except (ConfigurationError, InvalidURI, ValueError, TypeError) as exc:
            self._stop_embedded()
            raise ConfigError(f"MONGO_URL is not usable ({mask_url(url)}): {str(exc)[:200]}") from None
        self._collection = self._client[self.settings.db_name][self.settings.collection]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            try:
                await self._client.close()
            except PyMongoError:
                pass
        self._stop_embedded()

    def _start_embedded(self) -> str:
        try:
            from secantus import SecantusDBServer
        except ImportError:
            raise ConfigError("MONGO_URL is not set and the embedded database is not installed: "
                              "set MONGO_URL in .env, or pip install -r requirements-dev.txt") from None
        logging.getLogger("secantus").setLevel(logging.ERROR)
        try:
            self.settings.embedded_dir.mkdir(parents=True, exist_ok=True)
            server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(self.settings.embedded_dir),
                                      replica_set_name=None, enable_test_commands=False)
            server.start()
        except Exception as exc:  # the embedded engine raises its own types; any of them means "cannot run"
            raise DatabaseError(f"Failed to start the embedded database in {self.settings.embedded_dir}: "
                                f"{str(exc)[:200]} (is another run using it?)") from None
        self._embedded = server
        return f"mongodb://127.0.0.1:{server.port}/"

    def _stop_embedded(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    async def read_students(self, fields: Iterable[str], only_ids: list[str] | None = None
                            ) -> AsyncIterator[dict]:
        """One read of the collection with a projection (or chunked `$in` reads for chosen ids)."""
        projection = {name: 1 for name in ("student_id", "name", "photo", *fields)}
        queries = [{}] if only_ids is None else [
            {"student_id": {"$in": only_ids[i:i + IN_CHUNK]}} for i in range(0, len(only_ids), IN_CHUNK)]
        try:
            for query in queries:
                async for doc in self._collection.find(query, projection, batch_size=READ_BATCH):
                    yield doc
        except PyMongoError as exc:
            raise DatabaseError(_explain(exc, self.settings)) from None

    async def set_photo_links(self, changes: list[LinkChange]) -> WriteOutcome:
        """Unordered bulk writes; each only applies if `photo` still holds the value that was read."""
        outcome = WriteOutcome()
        for start in range(0, len(changes), WRITE_BATCH):
            batch = changes[start:start + WRITE_BATCH]
            requests = [UpdateOne({"_id": c.doc_id, "student_id": c.student_id, "photo": c.old_photo},
                                  {"$set": {"photo": c.new_photo}}) for c in batch]
            failed = 0
            try:
                result = await self._collection.bulk_write(requests, ordered=False)
                matched = result.matched_count
            except BulkWriteError as exc:
                details = exc.details or {}
                matched = details.get("nMatched", 0)
                failed = len(details.get("writeErrors", []))
            except PyMongoError as exc:
                raise DatabaseError(_explain(exc, self.settings)) from None
            outcome.updated += matched
            outcome.failed += failed
            outcome.skipped_changed += len(batch) - matched - failed
        return outcome

    async def replace_all_students(self, docs: list[dict]) -> None:
        """Demo and benchmark seeding only: replace the whole collection."""
        try:
            await self._collection.delete_many({})
            for start in range(0, len(docs), 5000):
                await self._collection.insert_many(docs[start:start + 5000], ordered=False)
        except PyMongoError as exc:
            raise DatabaseError(_explain(exc, self.settings)) from None
