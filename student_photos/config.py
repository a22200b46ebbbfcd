"""Settings: the only module that reads the environment (and ``.env``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
# (not roll_number: a place on a class register is given again every year, so two children share it)
DEFAULT_MATCH_FIELDS = ("date_of_birth", "student_number", "admission_number", "email")
EMBEDDED_DB_NAME = "school_attendance"
TRUE = ("1", "yes", "true", "on")


@dataclass(frozen=True)
class Settings:
    mongo_url: str | None  # None means the embedded database
    db_name: str
    collection: str
    photo_dir: Path
    backup_dir: Path
    embedded_dir: Path
    match_fields: tuple[str, ...] = DEFAULT_MATCH_FIELDS
    lock_wait_seconds: float = 10.0
    server_timeout_ms: int = 8000
    socket_timeout_ms: int = 120_000
    clean_min_age_seconds: float = 600.0
    workers: int = 2
    copy_workers: int = 4
    hash_workers: int = 4  # a first --deep run reads every photo cold: more reads in flight (8 was slower here)
    min_database_ratio: float = 0.5
    embedded_allowed: bool = False  # EMBEDDED_DB=1: the embedded database may be used without a terminal

    @property
    def embedded(self) -> bool:
        return self.mongo_url is None

    @property
    def students_dir(self) -> Path:
        return self.photo_dir / "students"

    def database_label(self) -> str:
        """Where the data lives, safe to print (credentials masked)."""
        if self.mongo_url is None:
            return f"embedded SecantusDB in {self.embedded_dir} / {self.db_name}"
        return f"{mask_url(self.mongo_url)} / {self.db_name}"

    def collection_label(self) -> str:
        return f"database {self.db_name!r}, collection {self.collection!r}"


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """(user info, the rest) of a URL after its scheme; None when there is none.

    The user info ends at the *last* '@' (a password may hold '@', '/' or '?'), but only when what comes
    before it looks like credentials: an '@' inside the options of a URL without any is not one.
    """
    at = rest.rfind("@")
    if at < 0:
        return None, rest
    userinfo = rest[:at]
    if ":" not in userinfo and ("/" in userinfo or "?" in userinfo):
        return None, rest
    return userinfo, rest[at + 1:]


def mask_url(url: str) -> str:
    """The URL with its password masked and its options dropped (they can carry secrets too).

    Masking comes before any parsing, so a password holding '?', '/', '@' or ':' is never split into
    something that gets shown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(not a mongodb:// URL)"
    userinfo, hosts = _split_userinfo(rest)
    hosts = hosts.split("?", 1)[0]
    if userinfo is None:
        return f"{scheme}://{hosts}"
    user = userinfo.split(":", 1)[0]
    if any(c in user for c in "/?#"):
        return f"{scheme}://****@{hosts}"
    return f"{scheme}://{user}:****@{hosts}" if ":" in userinfo else f"{scheme}://{user}@{hosts}"


def hosts_of(url: str) -> str:
    """The host list of a MongoDB URL, without user info, database or options."""
    _, hosts = _split_userinfo(url.partition("://")[2])
    return hosts.split("?", 1)[0].split("/", 1)[0] or "?"


def database_in_url(url: str) -> str:
    """The database a URL names (`mongodb://host/school_attendance`), or ''."""
    _, hosts = _split_userinfo(url.partition("://")[2])
    path = hosts.split("?", 1)[0].partition("/")[2]
    return unquote(path)


def check_mongo_url(url: str) -> None:
    """Refuse what the driver would misread, with a message that shows no part of a password."""
    if not url.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError(f"MONGO_URL must start with mongodb:// or mongodb+srv://, got {mask_url(url)}")
    userinfo, hosts = _split_userinfo(url.partition("://")[2])
    if userinfo is not None:
        user, _, password = userinfo.partition(":")
        for part in (user, password):
            if any(c in part for c in "@/?#:[]") or _bad_percent(part):
                raise ConfigError(f"MONGO_URL ({mask_url(url)}): the user name or password holds a character that "
                                  "must be escaped (@ : / ? # [ ] %): write it percent-encoded, for example "
                                  "with python3 -c \"import urllib.parse,getpass; "
                                  "print(urllib.parse.quote_plus(getpass.getpass()))\"")
    if not hosts.split("?", 1)[0].split("/", 1)[0]:
        raise ConfigError(f"MONGO_URL ({mask_url(url)}) names no host")


def _bad_percent(text: str) -> bool:
    return _LONE_PERCENT.search(text) is not None


_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")  # a '%' that does not start an escape


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc
    return {k: v for k, v in values.items() if v is not None}


def _number(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0 or value != value:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _milliseconds(env: dict[str, str], name: str, default: float) -> int:
    """A timeout for the driver, which reads 0 as "wait for ever": a cron run must never hang."""
    value = _number(env, name, default) * 1000
    if not 1 <= value <= 86_400_000:
        raise ConfigError(f"{name} must be between 0.001 and 86400 seconds, got {env.get(name, '').strip()!r}")
    return int(value)


def load_settings(photo_dir: str | None = None, backup_dir: str | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Build settings from flags, then the environment, then ``.env``, then defaults."""
    real_env = dict(os.environ if environ is None else environ)
    env_file = Path(real_env.get("STUDENT_PHOTOS_ENV_FILE", PROJECT_DIR / ".env"))
    env = {**_read_dotenv(env_file), **real_env}  # real environment variables win over .env

    mongo_url = env.get("MONGO_URL", "").strip() or None
    db_name = env.get("DB_NAME", "").strip()
    if mongo_url:
        check_mongo_url(mongo_url)
        db_name = db_name or database_in_url(mongo_url)
        if not db_name:
            raise ConfigError(f"MONGO_URL is set ({mask_url(mongo_url)}) but names no database and DB_NAME is empty: "
                              "set DB_NAME in .env")
    else:
        db_name = db_name or EMBEDDED_DB_NAME

    if any(c in db_name for c in '/\\. "$*<>:|?\x00') or len(db_name) > 63:
        raise ConfigError(f"DB_NAME {db_name!r} is not a valid MongoDB database name (no . / \\ space \" $; at most "
                          "63 characters)")
    collection = env.get("STUDENTS_COLLECTION", "").strip() or "students"
    fields = env.get("MATCH_FIELDS")
    match_fields = DEFAULT_MATCH_FIELDS if fields is None else tuple(f.strip() for f in fields.split(",") if f.strip())
    if not match_fields:  # names alone would then decide, even between records whose birth dates differ
        raise ConfigError("MATCH_FIELDS is empty: identity would rest on names alone. Name the fields that identify "
                          f"a student, comma-separated (the default is {','.join(DEFAULT_MATCH_FIELDS)})")
    odd = [f for f in match_fields if any(c.isspace() for c in f) or f.startswith("$") or "." in f]
    if odd:
        raise ConfigError(f"MATCH_FIELDS has {odd[0]!r}, which is no top-level field name: separate the names with "
                          "commas (a field inside another document, a.b, is not read)")
    # the id changes in a reseed, the link is what is repaired, the name is always compared: none says who a child is
    if taken := [f for f in match_fields if f in ("student_id", "_id", "photo", "name")]:
        raise ConfigError(f"MATCH_FIELDS has {taken[0]!r}: name the fields that identify a child whatever their id "
                          f"and photo (a birth date, a student number); the name is always compared (the default is "
                          f"{','.join(DEFAULT_MATCH_FIELDS)})")
    ratio = _number(env, "MIN_DATABASE_RATIO", 0.5)
    if ratio > 1:
        raise ConfigError(f"MIN_DATABASE_RATIO must be between 0 and 1, got {ratio:g}")

    def _path(flag: str | None, name: str, default: str) -> Path:
        if flag:  # a flag is relative to where the command runs
            return Path(flag).expanduser().absolute()
        raw = Path(env.get(name, "").strip() or default).expanduser()
        return raw if raw.is_absolute() else PROJECT_DIR / raw  # .env paths: relative to the scripts (cron)

    return Settings(
        mongo_url=mongo_url,
        db_name=db_name,
        collection=collection,
        photo_dir=_path(photo_dir, "PHOTO_DIR", "photos"),
        backup_dir=_path(backup_dir, "BACKUP_DIR", "backups"),
        embedded_dir=_path(None, "EMBEDDED_DB_DIR", ".data"),
        match_fields=match_fields,
        lock_wait_seconds=_number(env, "LOCK_WAIT_SECONDS", 10.0),
        server_timeout_ms=_milliseconds(env, "DB_TIMEOUT_SECONDS", 8.0),
        socket_timeout_ms=_milliseconds(env, "DB_SOCKET_TIMEOUT_SECONDS", 120.0),
        clean_min_age_seconds=_number(env, "CLEAN_MIN_AGE_SECONDS", 600.0),
        workers=max(1, int(_number(env, "WORKERS", 2))),
        copy_workers=max(1, int(_number(env, "COPY_WORKERS", 4))),
        hash_workers=max(1, int(_number(env, "HASH_WORKERS", 4))),
        min_database_ratio=ratio,
        embedded_allowed=env.get("EMBEDDED_DB", "").strip().lower() in TRUE,
    )
