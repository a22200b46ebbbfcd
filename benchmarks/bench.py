#!/usr/bin/env python3
"""District-scale benchmark: every scenario against the same data and server, in one run.

    python benchmarks/bench.py                       # N=20,000 students, K=2; migrate 5,000 x ~50 KB
    python benchmarks/bench.py --students 200000 --skip-loop

Starts SecantusDB with --standalone on a free loopback port (its replica-set mode keeps an oplog that
slows every later write), generates a synthetic district under a scratch folder, and prints a table:
wall time, database round trips (PyMongo command monitoring), files touched per second, and peak RSS
of the process, with the floor and the per-student loop as references and the ratios between them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient, UpdateOne

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from student_photos.config import mask_url  # noqa: E402
from student_photos.sample import jpeg_bytes  # noqa: E402


@dataclass
class Timing:
    scenario: str
    seconds: float
    round_trips: int | None
    files: int
    rss_mb: float
    exit_code: int
    detail: str = ""
    low: float | None = None  # the fastest and slowest of the repeats the median came from
    high: float | None = None
    runs: int = 1

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(storage: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
                             "--storage-path", str(storage), "--standalone", "--log-level", "ERROR"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"mongodb://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("benchmark: the test server did not start")


# A fresh, small interpreter forks and execs the command and reports the command's own peak RSS:
# forking from this (large) benchmark process would start the child's high-water mark at our size.
LAUNCHER = """
import os, sys
report = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(report, b"%d %d" % (os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"""


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float, str]:
    """(wall seconds, exit code, peak RSS in MB of the command itself, its output)."""
    report_read, report_write = os.pipe()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(report_write), *cmd], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(report_write,))
    os.close(report_write)
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    with os.fdopen(report_read, "rb") as handle:
        code, maxrss_kb = (int(x) for x in handle.read().split())
    return seconds, code, maxrss_kb / 1024, out.decode(errors="replace")


class District:
    """N students in a backup and the database, each with profile.jpg and K attendance photos."""

    def __init__(self, root: Path, client: MongoClient, db_name: str, students: int, attendance: int,
                 photo_kb: int) -> None:
        self.root, self.client, self.db_name = root, client, db_name
        self.n, self.k, self.photo_size = students, attendance, photo_kb * 1024
        self.photos, self.backups = root / "photos", root / "backups"
        self.collection = client[db_name]["students"]
        self.ids: list[str] = []

    def generate(self) -> None:
        (self.photos / "students").mkdir(parents=True)
        self.backups.mkdir(parents=True)
        records = []
        for i in range(self.n):
            sid = str(uuid.uuid4())
            self.ids.append(sid)
            records.append({"student_id": sid, "name": f"Student {i:06d}", "date_of_birth":
                            f"20{10 + i % 8}-{1 + i % 12:02d}-{1 + i % 28:02d}", "grade": i % 12,
                            "photo": f"/api/photos/students/{sid}/profile.jpg"})
            folder = self.photos / "students" / sid
            (folder / "attendance").mkdir(parents=True)
            (folder / "profile.jpg").write_bytes(jpeg_bytes(f"profile {sid}", self.photo_size))
            for day in range(self.k):
                (folder / "attendance" / f"2025-11-{day + 1:02d}_AM.jpg").write_bytes(
                    jpeg_bytes(f"{sid} {day}", self.photo_size))
        self.backup_file = self.backups / "seed_backup_20251115_0537.json"
        self.backup_file.write_text(json.dumps({"timestamp": "2025-11-15T05:37:00", "students": records}))
        for start in range(0, len(records), 5000):
            self.collection.insert_many([dict(r) for r in records[start:start + 5000]], ordered=False)
        self.collection.create_index("student_id", unique=True)  # as the app would have

    def fix_the_links(self) -> None:
        """Not timed: every link canonical, the state a rerun starts from."""
        requests = [UpdateOne({"student_id": sid}, {"$set": {"photo": f"/api/photos/students/{sid}/profile.jpg"}})
                    for sid in self.ids]
        for start in range(0, len(requests), 1000):
            self.collection.bulk_write(requests[start:start + 1000], ordered=False)

    def break_half_the_links(self) -> int:
        """Not timed: half the database links wrong (null or an old format), as after field drift."""
        requests = [UpdateOne({"student_id": sid}, {"$set": {"photo": None if i % 4 == 0 else
                                                             f"photos/students/{sid}/profile.jpg"}})
                    for i, sid in enumerate(self.ids) if i % 2 == 0]
        for start in range(0, len(requests), 1000):
            self.collection.bulk_write(requests[start:start + 1000], ordered=False)
        return len(requests)


class ReseededDistrict(District):
    """Orphaned folders of old ids; the database reseeded with new ids, same people."""

    def generate(self) -> None:
        super().generate()
        self.collection.delete_many({})
        self.collection.drop_indexes()
        with open(self.backup_file) as handle:
            records = json.load(handle)["students"]
        new = [{**r, "student_id": str(uuid.uuid4()), "photo": None} for r in records]
        for start in range(0, len(new), 5000):
            self.collection.insert_many(new[start:start + 5000], ordered=False)

    def files(self) -> int:
        return self.n * (1 + self.k)


def script_env(url: str, district: District, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "DB_NAME")}
    env.update({"MONGO_URL": url, "DB_NAME": district.db_name, "PHOTO_DIR": str(district.photos),
                "BACKUP_DIR": str(district.backups), "STUDENT_PHOTOS_ENV_FILE": "/nonexistent",
                "CLEAN_MIN_AGE_SECONDS": "0", "LOCK_WAIT_SECONDS": "30"})
    env.update(extra)
    return env


def script(name: str, *args: str) -> list[str]:
    """A command of ours, run as a person would run it."""
    return [sys.executable, str(ROOT / name), *args]


def reference(kind: str, url: str, district: District) -> list[str]:
    return [sys.executable, str(HERE / "references.py"), kind, url, district.db_name, str(district.backup_file),
            str(district.photos)]


def measure(name: str, cmd: list[str], env: dict[str, str], files: int) -> Timing:
    seconds, code, rss, out = run_child(cmd, env)
    trips = None
    detail = ""
    try:
        document = json.loads(out[out.index("{"):])
        trips = document.get("database_round_trips", document.get("round_trips"))
        if "summary" in document:
            detail = f"updated {document['summary']['database_updated']}"
        elif "updated" in document:
            detail = f"updated {document['updated']}"
        elif "orphans" in document:
            detail = (f"migrated {sum(1 for o in document['orphans'] if o['decision'] == 'migrated')}, "
                      f"removed {sum(1 for o in document['orphans'] if o['clean'] == 'removed')}")
    except ValueError:
        pass  # not every reference prints JSON; a failure is caught just below
    if code not in (0, 1):
        raise SystemExit(f"benchmark: {name} failed with exit {code}:\n{out[-2000:]}")
    print(f"  {name:<34} {seconds:8.2f} s", file=sys.stderr, flush=True)
    return Timing(name, seconds, trips, files, rss, code, detail)


@dataclass
class Scenario:
    name: str
    command: list[str]
    files: int
    prepare: object = None  # untimed: puts the data in the state this scenario starts from


def repeated(scenarios: list[Scenario], env: dict[str, str], repeat: int) -> list[Timing]:
    """Each scenario ``repeat`` times from its own starting state, the order rotated between repeats so no
    scenario always runs first (on the freshest server or disk); the median, with the fastest and slowest."""
    runs: dict[str, list[Timing]] = {}
    for attempt in range(repeat):
        shift = attempt % len(scenarios)
        for scenario in scenarios[shift:] + scenarios[:shift]:
            if scenario.prepare:
                scenario.prepare()
            label = f"{scenario.name} ({attempt + 1}/{repeat})"
            runs.setdefault(scenario.name, []).append(measure(label, scenario.command, env, scenario.files))
    rows = []
    for scenario in scenarios:
        measured = runs[scenario.name]
        row = median_row(measured)
        row.scenario = scenario.name
        row.low, row.high = min(r.seconds for r in measured), max(r.seconds for r in measured)
        row.runs = len(measured)
        rows.append(row)
    return rows


def restore_scenarios(url: str, d: District, repeat: int, skip_loop: bool) -> list[Timing]:
    env = script_env(url, d)
    n = d.n
    changed = (n + 1) // 2

    def broken() -> None:
        d.break_half_the_links()

    def fixed() -> None:
        d.fix_the_links()

    restore = [Scenario("floor: restore, first run", reference("floor-restore", url, d), n, broken),
               Scenario("floor without the wrong-child guard", reference("floor-restore-unguarded", url, d), n,
                        broken),
               Scenario("restore, first run", script("restore_student_photos.py", "--json"), n, broken),
               Scenario("floor: rerun / verify", reference("floor-verify", url, d), n, fixed),
               Scenario("restore, rerun (nothing to do)", script("restore_student_photos.py", "--json"), n, fixed),
               Scenario("restore --verify-only", script("restore_student_photos.py", "--verify-only", "--json"), n,
                        fixed)]
    if not skip_loop:
        restore += [Scenario("loop: first run (per student)", reference("loop", url, d), n, broken),
                    Scenario("loop: rerun (per student)", reference("loop", url, d), n, fixed)]
    rows = repeated(restore, env, repeat)
    for row in rows:
        if row.scenario in ("restore, first run", "floor: restore, first run", "floor without the wrong-child guard"):
            row.detail += f" (expected {changed})"
    return rows


def deep_scenarios(url: str, d: District, repeat: int) -> list[Timing]:
    """--deep against sha256sum of the same files, every run from a cold page cache; the rerun from the cache."""
    env = script_env(url, d)
    files = d.n * (1 + d.k)
    cache = d.photos / ".student-photos" / "hash-cache.sqlite3"

    def cold() -> None:
        d.fix_the_links()
        settle()

    def cold_no_cache() -> None:
        cold()
        cache.unlink(missing_ok=True)

    def warm_cache() -> None:
        d.fix_the_links()
        if not cache.exists():
            subprocess.run(script("restore_student_photos.py", "--verify-only", "--deep", "--quiet"), env=env,
                           stdout=subprocess.DEVNULL, check=False)

    first = [Scenario("floor: sha256sum of the same files (cold)",
                      ["/bin/sh", "-c", f"find '{d.photos / 'students'}' -type f -print0 | xargs -0 sha256sum"],
                      files, cold),
             Scenario("restore --verify-only --deep, first (cold, no cache)",
                      script("restore_student_photos.py", "--verify-only", "--deep", "--json"), files, cold_no_cache)]
    # the rerun beside a plain --verify-only, alternated, both from a warm page cache
    rerun = [Scenario("restore --verify-only (beside the deep rerun)",
                      script("restore_student_photos.py", "--verify-only", "--json"), d.n, d.fix_the_links),
             Scenario("restore --verify-only --deep, rerun (cache)",
                      script("restore_student_photos.py", "--verify-only", "--deep", "--json"), files, warm_cache)]
    return repeated(first, env, repeat) + repeated(rerun, env, repeat)


def settle() -> None:
    """Same starting point for every cold scenario: dirty pages written back, caches dropped if allowed."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass


def set_aside(path: Path | str, d: District) -> None:
    """Move ``path`` out of the way instead of deleting it. ext4 will not reuse an inode freed within the
    last minute, and checking that costs every new file a scan of the inode table. Deleting between runs
    would therefore slow the next run's file creation by an amount that depends on timing. The set-aside
    folders are removed with the scratch folder, after all runs."""
    if os.path.lexists(path):
        trash = d.root / "set-aside"
        trash.mkdir(exist_ok=True)
        os.rename(path, trash / f"{time.time_ns()}")


def median_row(rows: list[Timing]) -> Timing:
    return sorted(rows, key=lambda r: r.seconds)[len(rows) // 2]


def migrate_scenarios(url: str, d: ReseededDistrict, repeat: int) -> list[Timing]:
    """cp -a, cp -a + sync and --migrate, each from the orphans only and a cold cache; then the clean, each
    from a completed migration."""
    env = script_env(url, d)
    files = d.files()
    copy_root = d.root / "cp-a-target"
    source = str(d.photos / "students")
    orphans = set(d.ids)

    def orphans_only() -> None:
        set_aside(copy_root, d)
        for entry in os.scandir(source):  # undo any earlier migration: every run sees only the orphans
            if entry.name not in orphans:
                set_aside(entry.path, d)
        for tool_folder in (".migrations", ".student-photos"):
            set_aside(d.photos / tool_folder, d)
        settle()

    def migrated() -> None:
        orphans_only()
        subprocess.run(script("migrate_orphaned_photos.py", "--migrate", "--quiet"), env=env, check=False,
                       stdout=subprocess.DEVNULL)
        settle()

    copy = [Scenario("floor: cp -a of the same files", ["/bin/cp", "-a", source, str(copy_root)], files, orphans_only),
            Scenario("floor: cp -a, then sync", ["/bin/sh", "-c", f"cp -a '{source}' '{copy_root}' && sync"], files,
                     orphans_only),
            Scenario("floor: the same promises in plain Python", [sys.executable, str(HERE / "references.py"),
                     "floor-copy", source, str(copy_root)], files, orphans_only),
            Scenario("migrate --migrate", script("migrate_orphaned_photos.py", "--migrate", "--json"), files,
                     orphans_only)]
    rows = repeated(copy, env, repeat)
    orphans_only()
    snapshot = d.root / "orphans-snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(source, snapshot, symlinks=True)

    def migrated_again() -> None:
        set_aside(source, d)
        shutil.copytree(snapshot, source, symlinks=True)
        migrated()

    rows += repeated([Scenario("migrate --clean --confirm", script("migrate_orphaned_photos.py", "--clean",
                                                                   "--confirm", "--json"), files, migrated_again)],
                     env, repeat)
    shutil.rmtree(source)
    shutil.copytree(snapshot, source, symlinks=True)
    shutil.rmtree(snapshot)
    return rows


def district_reseed_scenarios(url: str, d: ReseededDistrict) -> list[Timing]:
    """A whole district reseeded at once: every command once over N orphaned folders (memory is the point)."""
    env = script_env(url, d)
    files = d.files()
    rows = []
    for name, args in (("migrate --list", ("--list",)), ("migrate --migrate --dry-run", ("--migrate", "--dry-run")),
                       ("migrate --migrate", ("--migrate",)), ("migrate --clean --confirm", ("--clean", "--confirm"))):
        settle()
        rows.append(measure(name, script("migrate_orphaned_photos.py", *args, "--json"), env, files))
    return rows


def server_label(url: str) -> str:
    with MongoClient(url, serverSelectionTimeoutMS=5000) as client:
        info = client.server_info()
    return f"server {info.get('version', '?')} at {mask_url(url)}"


def ratio(a: Timing | None, b: Timing | None) -> str:
    if not a or not b or not b.seconds:
        return "-"
    return f"{a.seconds / b.seconds:.2f}x"


def table(rows: list[Timing]) -> str:
    lines = ["| scenario | median s | min–max s | runs | round trips | files/s | peak RSS MB | result |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        trips = "-" if r.round_trips is None else str(r.round_trips)
        spread = f"{r.low:.2f}–{r.high:.2f}" if r.low is not None and r.runs > 1 else "-"
        lines.append(f"| {r.scenario} | {r.seconds:.2f} | {spread} | {r.runs} | {trips} | {r.files_per_second:,.0f} | "
                     f"{r.rss_mb:.0f} | exit {r.exit_code}{'; ' + r.detail if r.detail else ''} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20_000, help="N for the restore scenarios")
    parser.add_argument("--attendance", type=int, default=2, help="K attendance photos per student")
    parser.add_argument("--migrate-students", type=int, default=5_000, help="N for the migrate scenarios")
    parser.add_argument("--photo-kb", type=int, default=50, help="photo size for the migrate scenarios")
    parser.add_argument("--skip-loop", action="store_true", help="skip the per-student loop reference")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every scenario, order rotated (median)")
    parser.add_argument("--orphans", type=int, default=0,
                        help="also run migrate over this many orphaned folders (~1 KB photos): a whole district "
                             "reseeded at once")
    parser.add_argument("--mongo-url", metavar="URL",
                        help="run against this server (a real mongod) instead of starting SecantusDB; its "
                             "bench_* databases are dropped at the end")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--only", action="append", choices=["restore", "deep", "migrate"],
                        help="run only these groups (repeatable; default: all three)")
    args = parser.parse_args(argv)

    # a SIGTERM (`timeout`, a closed session) ends the run through its `finally`: no server, no scratch left behind
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    scratch = Path(tempfile.mkdtemp(prefix="photo-bench-"))
    server, url = (None, args.mongo_url) if args.mongo_url else start_server(scratch / "db")
    client = MongoClient(url)
    if server is None:  # someone else's server: start from no benchmark data of an earlier run
        for name in ("bench_restore", "bench_migrate", "bench_district"):
            client.drop_database(name)
    try:
        print(f"benchmark: generating {args.students} students x {1 + args.attendance} photos ...",
              file=sys.stderr, flush=True)
        started = time.perf_counter()
        groups = set(args.only or ["restore", "deep", "migrate"])
        district = District(scratch / "restore", client, "bench_restore", args.students, args.attendance, 0)
        if groups & {"restore", "deep"}:
            district.generate()
        reseeded = ReseededDistrict(scratch / "migrate", client, "bench_migrate", args.migrate_students,
                                    args.attendance, args.photo_kb)
        if "migrate" in groups:
            reseeded.generate()
        print(f"benchmark: generated in {time.perf_counter() - started:.0f} s; running", file=sys.stderr)
        rows = []
        if "restore" in groups:
            rows += restore_scenarios(url, district, args.repeat, args.skip_loop)
        if "deep" in groups:
            rows += deep_scenarios(url, district, args.repeat)
        if "migrate" in groups:
            rows += migrate_scenarios(url, reseeded, args.repeat)
        district_rows = []
        if args.orphans:
            whole = ReseededDistrict(scratch / "district", client, "bench_district", args.orphans, args.attendance, 1)
            whole.generate()
            district_rows = district_reseed_scenarios(url, whole)
    finally:
        if server is None:
            for name in ("bench_restore", "bench_migrate", "bench_district"):
                client.drop_database(name)
        client.close()
        if server is not None:
            server.terminate()
            server.wait()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    by = {r.scenario: r for r in rows}
    print(f"\nRun on {time.strftime('%Y-%m-%d')}; every scenario {args.repeat} time(s) from its own starting state, "
          "order rotated; median, with the fastest and slowest")
    print(f"\nN = {args.students:,} students, K = {args.attendance}; migrate N = {args.migrate_students:,} "
          f"with ~{args.photo_kb} KB photos; {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, {server_label(url) if args.mongo_url else 'SecantusDB --standalone'}\n")
    print(table(rows))
    first = by.get("restore, first run")
    targets = [
        ("restore first run / floor", first, by.get("floor: restore, first run"), "<= 1.1x"),
        ("restore first run / floor without the guard", first, by.get("floor without the wrong-child guard"),
         "(reference)"),
        ("per-student loop / restore first run", by.get("loop: first run (per student)"), first, ">= 4x"),
        ("restore rerun / floor", by.get("restore, rerun (nothing to do)"), by.get("floor: rerun / verify"), "<= 2x"),
        ("per-student loop rerun / restore rerun", by.get("loop: rerun (per student)"),
         by.get("restore, rerun (nothing to do)"), ">= 8x"),
        ("--verify-only / floor", by.get("restore --verify-only"), by.get("floor: rerun / verify"), "<= 2x"),
        ("--migrate / cp -a", by.get("migrate --migrate"), by.get("floor: cp -a of the same files"), "<= 1.5x"),
        ("--migrate / (cp -a, then sync)", by.get("migrate --migrate"), by.get("floor: cp -a, then sync"), "<= 1.2x"),
        ("plain-Python floor / (cp -a, then sync)", by.get("floor: the same promises in plain Python"),
         by.get("floor: cp -a, then sync"), "(reference)"),
        ("--migrate / plain-Python floor", by.get("migrate --migrate"),
         by.get("floor: the same promises in plain Python"), "(reference)"),
        ("--deep first run / sha256sum of the same files",
         by.get("restore --verify-only --deep, first (cold, no cache)"),
         by.get("floor: sha256sum of the same files (cold)"), "<= 1.3x"),
        ("--deep rerun / --verify-only beside it", by.get("restore --verify-only --deep, rerun (cache)"),
         by.get("restore --verify-only (beside the deep rerun)"), "<= 1.5x"),
    ]
    print("\n| ratio | measured | target |\n| --- | ---: | --- |")
    for label, a, b, target in targets:
        if a is not None and b is not None:
            print(f"| {label} | {ratio(a, b)} | {target} |")
    if first is not None:
        limit = 2 + -(-((args.students + 1) // 2) // 1000)
        print(f"| restore first run round trips | {first.round_trips} | <= {limit} |")
        print(f"| restore rerun round trips | {by['restore, rerun (nothing to do)'].round_trips} | no writes |")
    if district_rows:
        print(f"\nA whole district reseeded: {args.orphans:,} orphaned folders x {1 + args.attendance} photos of "
              "~1 KB, as many current students\n")
        print(table(district_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
