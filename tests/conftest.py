"""Fixtures: a real MongoDB wire-protocol server over TCP, and a school on disk under tmp_path."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from student_photos.cli import migrate_main, restore_main  # noqa: E402
from student_photos.report import SilentMeter  # noqa: E402
from student_photos.sample import jpeg_bytes  # noqa: E402

SCRIPTS = {"restore_student_photos": restore_main, "migrate_orphaned_photos": migrate_main}

BACKUP_NAME = "seed_backup_20251115_0537.json"

# In CI the property tests replay the same examples every run (no flaky red); locally they explore.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REPLICA_SET = os.environ.get("TEST_MONGO_MODE", "").lower() in ("replicaset", "replica-set", "rs")


class MongoTestServer:
    """SecantusDB as a separate process on a loopback port, in memory: ``--standalone``, or (TEST_MONGO_MODE=
    replicaset) its default one-member replica set, as districts run MongoDB."""

    def __init__(self, *extra: str, storage: str = ":memory:", port: int | None = None,
                 replica_set: bool = REPLICA_SET) -> None:
        self.port = port or free_port()
        self.extra = extra
        self.storage = storage
        self.replica_set = replica_set
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.replica_set:
            return f"mongodb://127.0.0.1:{self.port}/?replicaSet=secantus&w=majority&retryWrites=true"
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> MongoTestServer:
        mode = () if self.replica_set else ("--standalone",)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(self.port),
             "--storage-path", self.storage, *mode, "--log-level", "ERROR", *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("test server exited at start")
            time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def mongo_url():
    url = os.environ.get("TEST_MONGO_URL")
    if url:
        yield url
        return
    server = MongoTestServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def mongo_client(mongo_url):
    client = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


def drop_dac_capabilities() -> None:
    """preexec_fn: the child (root) loses CAP_DAC_OVERRIDE/READ_SEARCH at exec, so permission bits bite."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


class SilentProgress:
    """A Progress that prints nothing; tests subclass it to act at a chosen moment of a run."""

    def started(self, info):
        pass

    def note(self, kind, text):
        pass

    def phase(self, name, total):
        return SilentMeter()

    def student(self, index, total, outcome, report):
        pass

    def orphans_found(self, report):
        pass

    def orphan(self, index, orphan, report):
        pass


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)

    @property
    def text(self) -> str:
        return self.out + self.err


class School:
    """One test's school: photos/, backups/ and its own database on the shared test server."""

    def __init__(self, root: Path, client: MongoClient, url: str) -> None:
        self.root = root
        self.photos = root / "photos"
        self.students_dir = self.photos / "students"
        self.backups = root / "backups"
        self.students_dir.mkdir(parents=True)
        self.backups.mkdir()
        self.db_name = "t_" + uuid.uuid4().hex[:16]
        self.client = client
        self.url = url
        self.collection = client[self.db_name]["students"]

    # ---- building ----
    @staticmethod
    def new_student(name: str, **fields: object) -> dict:
        sid = fields.pop("student_id", None) or str(uuid.uuid4())
        return {"student_id": sid, "name": name, "photo": f"/api/photos/students/{sid}/profile.jpg", **fields}

    def folder(self, sid: str) -> Path:
        return self.students_dir / sid

    def put_photo(self, sid: str, data: bytes | None = None, attendance: int = 0) -> bytes:
        data = jpeg_bytes(f"profile {sid}") if data is None else data
        folder = self.folder(sid)
        (folder / "attendance").mkdir(parents=True, exist_ok=True)
        (folder / "profile.jpg").write_bytes(data)
        for i in range(attendance):
            (folder / "attendance" / f"2025-11-{10 + i:02d}_AM.jpg").write_bytes(jpeg_bytes(f"{sid} day {i}"))
        return data

    def write_backup(self, students: list, name: str = BACKUP_NAME, wrap: bool = True) -> Path:
        path = self.backups / name
        body = {"timestamp": "2025-11-15T05:37:00", "students": students, "classes": []} if wrap else students
        path.write_text(json.dumps(body))
        return path

    def seed(self, docs: list[dict]) -> None:
        if docs:
            self.collection.insert_many([dict(d) for d in docs])

    # ---- reading ----
    def db_docs(self) -> dict[str, dict]:
        return {d["student_id"]: d for d in self.collection.find({}, {"_id": 0})}

    def photo_of(self, sid: str) -> bytes | None:
        path = self.folder(sid) / "profile.jpg"
        return path.read_bytes() if path.exists() else None

    def snapshot(self) -> dict:
        """Every path under the school with its type and content hash, plus the database."""
        files = {}
        for path in sorted(self.root.rglob("*")):
            rel = str(path.relative_to(self.root))
            if path.is_symlink():
                files[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                files[rel] = "dir"
            else:
                files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        return {"files": files, "db": sorted(map(repr, self.collection.find({}, {"_id": 0})))}

    # ---- running ----
    def env(self, **extra: str) -> dict[str, str]:
        env = {"MONGO_URL": self.url, "DB_NAME": self.db_name, "PHOTO_DIR": str(self.photos),
               "BACKUP_DIR": str(self.backups), "LOCK_WAIT_SECONDS": "1", "DB_TIMEOUT_SECONDS": "3",
               "STUDENT_PHOTOS_ENV_FILE": str(self.root / "no.env"), "CLEAN_MIN_AGE_SECONDS": "0",
               "EMBEDDED_DB_DIR": str(self.root / ".data")}
        env.update(extra)
        return env

    def run(self, script: str, *args: str, monkeypatch=None, **env: str) -> Result:
        """Run a script's main() in this process, with this school's environment."""
        main = SCRIPTS[script]
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            for key, value in self.env(**env).items():
                patch.setenv(key, value)
            patch.setattr(sys, "stdout", out)
            patch.setattr(sys, "stderr", err)
            code = main(list(args))
        return Result(code, out.getvalue(), err.getvalue())

    def restore(self, *args: str, **env: str) -> Result:
        return self.run("restore_student_photos", *args, **env)

    def migrate(self, *args: str, **env: str) -> Result:
        return self.run("migrate_orphaned_photos", *args, **env)

    def subprocess(self, script: str, *args: str, timeout: float = 120, preexec_fn=None, **env: str) -> Result:
        full_env = {**os.environ, **self.env(**env)}
        proc = subprocess.run([sys.executable, str(ROOT / f"{script}.py"), *args], env=full_env,
                              capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn,
                              stdin=subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def school(tmp_path, mongo_client, mongo_url):
    built = School(tmp_path / "school", mongo_client, mongo_url)
    yield built
    mongo_client.drop_database(built.db_name)
