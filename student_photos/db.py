"""Database access: the only module that imports the MongoDB driver (PyMongo's async API).

Keeping the driver behind this one module means a driver change (Motor reached end of life;
PyMongo's async API replaced it) touches one file, and every error it raises becomes a
``DatabaseError`` with a masked URL here, before anything prints it.
"""

from __future__ import annotations

import base64
import json
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

from bson import decode as decode_document
from bson import encode as encode_document
from bson import json_util
from bson.codec_options import CodecOptions
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient, UpdateOne, monitoring
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    InvalidURI,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from .config import Settings, hosts_of, mask_url
from .errors import ConfigError, DatabaseError
from .report import ABSENT, LinkChange, StopFlag, Stopped

WRITE_BATCH = 1000  # updates per bulk write: one round trip, and a stop request is honoured between them
WRITE_GRACE = 5.0  # seconds a batch in flight at a stop may take to finish (a healthy one takes well under one)
READ_BATCH = 20_000  # documents per round trip when reading: bounds memory, few round trips
IN_CHUNK = 500  # the wire-protocol test server wants $in lists of at most 500 ids


class RoundTripCounter(monitoring.CommandListener):
    """Counts commands sent to the server (find, getMore, update, ...), for the report and benchmark."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class WriteOutcome:
    updated: int = 0
    skipped_changed: int = 0  # the field no longer held the value that was read
    failed: int = 0
    stopped: int = 0  # not attempted: a stop was requested
    uncertain: int = 0  # sent, but the stop came before the server answered (the journal names them)


async def _plain(awaitable):
    return await awaitable


def encode_value(value: object) -> object:
    """A BSON value as Extended JSON (the journal keeps exact old values: an undo writes them back). A document
    holding a key that starts with `$` (`{"$date": ""}`, `{"$absent": true}`) would read back as another value or
    not at all: it is kept as BSON instead, ``{"$bson": base64}``, which canonical Extended JSON never writes."""
    if value is ABSENT:
        return {"$absent": True}
    if value is None or type(value) is str:  # as canonical Extended JSON writes them, without its round trip
        return value
    if type(value) is ObjectId:
        return {"$oid": str(value)}
    if _holds_a_dollar_key(value):
        return {"$bson": base64.b64encode(encode_document({"v": value})).decode("ascii")}
    return json.loads(json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS))


def _holds_a_dollar_key(value: object) -> bool:
    if isinstance(value, dict):
        return any(str(key).startswith("$") or _holds_a_dollar_key(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_a_dollar_key(item) for item in value)
    return False


def decode_value(encoded: object) -> object:
    if isinstance(encoded, dict) and encoded.get("$absent") is True:
        return ABSENT
    if isinstance(encoded, dict) and list(encoded) == ["$bson"] and isinstance(encoded["$bson"], str):
        return decode_document(base64.b64decode(encoded["$bson"], validate=True))["v"]
    return json_util.loads(json.dumps(encoded))


def _explain(exc: BaseException, settings: Settings) -> str:
    where = hosts_of(settings.mongo_url) if settings.mongo_url else "the embedded database"
    if isinstance(exc, NetworkTimeout) and not isinstance(exc, ServerSelectionTimeoutError):
        return (f"Database error on {where}: the server stopped answering (no reply within "
                f"{settings.socket_timeout_ms // 1000} s; DB_SOCKET_TIMEOUT_SECONDS)")
    if isinstance(exc, OperationFailure):
        if exc.code == 18 or "authentication" in str(exc).lower():
            return f"Failed to connect to database: authentication failed ({where})"
        if exc.code == 13 or (exc.details or {}).get("codeName") == "Unauthorized":
            return (f"Database error on {where}: permission denied on {settings.collection_label()}: the user "
                    "needs find, and update to relink (see 'Setting up for a real school' in README.md)")
        text = str((exc.details or {}).get("errmsg") or str(exc).split(", full error:")[0])
    elif isinstance(exc, ServerSelectionTimeoutError):
        if "replica set" in str(exc).lower() or "setname" in str(exc).lower():
            return (f"Failed to connect to database: {where} answered, but not as the replica set MONGO_URL names "
                    "(check replicaSet= in MONGO_URL)")
        return f"Failed to connect to database: {where} did not answer within {settings.server_timeout_ms // 1000} s"
    else:
        text = str(exc).split(", full error:")[0] or type(exc).__name__
    text = " ".join(text.split())
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

    async def __aenter__(self) -> Database:
        url = self.settings.mongo_url or self._start_embedded()
        try:
            with warnings.catch_warnings(record=True) as caught:  # cron mail gets one line, never a driver warning
                warnings.simplefilter("always")
                self._client = AsyncMongoClient(
                    url,
                    serverSelectionTimeoutMS=self.settings.server_timeout_ms,
                    connectTimeoutMS=self.settings.server_timeout_ms,
                    socketTimeoutMS=self.settings.socket_timeout_ms,  # a server that accepts and then stalls
                    appname="student-photos",
                    event_listeners=[self.round_trips],
                )
            if caught:
                raise ConfigurationError("an option is not valid")
        except (ConfigurationError, InvalidURI, ValueError, TypeError):
            self._stop_embedded()  # the driver's message may quote the URL: say only what is safe
            raise ConfigError(f"MONGO_URL is not usable ({mask_url(url)}): check its format and the options after "
                              "'?' (mongodb://user:password@host:port/database?authSource=admin)") from None
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
                              "set MONGO_URL in .env (see README.md)") from None
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

    async def read_students(self, fields: Iterable[str], stop: StopFlag | None = None) -> AsyncIterator[dict]:
        """One read of the collection with a projection, a batch at a time; a stop ends a wait at once. A batch is
        held as the server sent it and each document decoded as it is handed on (20,000 decoded at once are 20 MB)."""
        projection = {name: 1 for name in ("student_id", "name", "photo", *fields)}
        race = stop.race if stop is not None else _plain
        options = self._collection.codec_options
        raw = self._collection.with_options(codec_options=CodecOptions(document_class=RawBSONDocument))
        try:
            cursor = raw.find({}, projection, batch_size=READ_BATCH)
            while batch := await race(cursor.to_list(READ_BATCH)):
                for doc in batch:
                    yield decode_document(doc.raw, options)
        except PyMongoError as exc:
            raise DatabaseError(_explain(exc, self.settings)) from None

    async def set_photo_links(self, changes: Sequence[LinkChange], stop: StopFlag | None = None,
                              before_batch: Callable[[Sequence[LinkChange]], None] | None = None) -> WriteOutcome:
        """Unordered bulk writes; each only applies if `photo` still holds the value that was read.

        ``before_batch`` runs before each round trip (the journal makes its lines durable there); a stop
        request is honoured between round trips, so Ctrl-C is answered within one batch.
        """
        outcome = WriteOutcome()
        for start in range(0, len(changes), WRITE_BATCH):
            if stop is not None and stop.requested:
                outcome.stopped = len(changes) - start
                break
            batch = changes[start:start + WRITE_BATCH]
            if before_batch is not None:
                before_batch(batch)
            # $eq: a stored value that is a document with "$" keys is compared, never run as an operator
            requests = [UpdateOne({"_id": c.doc_id, "student_id": c.student_id,
                                   "photo": {"$exists": False} if c.old_photo is ABSENT else {"$eq": c.old_photo},
                                   **{name: {"$exists": False} if value is ABSENT else {"$eq": value}
                                      for name, value in c.identity}},
                                  {"$unset": {"photo": ""}} if c.new_photo is ABSENT else
                                  {"$set": {"photo": c.new_photo}}) for c in batch]
            failed = 0
            try:
                write = self._collection.bulk_write(requests, ordered=False)
                try:
                    result = await (stop.race(write, grace=WRITE_GRACE) if stop is not None else write)
                except Stopped:  # the server did not answer before the stop: this batch may or may not be in
                    outcome.uncertain = len(batch)
                    outcome.stopped = len(changes) - start - len(batch)
                    break
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

    async def photos_of(self, doc_ids: Sequence[object], stop: StopFlag | None = None) -> dict[object, object]:
        """The current `photo` of these documents (ABSENT where there is none), for an undo's report."""
        found: dict[object, object] = {}
        race = stop.race if stop is not None else _plain
        try:
            for i in range(0, len(doc_ids), IN_CHUNK):
                cursor = self._collection.find({"_id": {"$in": list(doc_ids[i:i + IN_CHUNK])}}, {"photo": 1})
                for doc in await race(cursor.to_list(None)):
                    found[doc["_id"]] = doc.get("photo", ABSENT)
        except PyMongoError as exc:
            raise DatabaseError(_explain(exc, self.settings)) from None
        return found

    async def replace_all_students(self, docs: list[dict]) -> None:
        """Demo and benchmark seeding only: replace the whole collection."""
        try:
            await self._collection.delete_many({})
            for start in range(0, len(docs), 5000):
                await self._collection.insert_many(docs[start:start + 5000], ordered=False)
        except PyMongoError as exc:
            raise DatabaseError(_explain(exc, self.settings)) from None
