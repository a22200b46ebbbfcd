"""The review page: one self-contained HTML file where a person decides, by looking, what the tool could not.

Every photo is embedded as a ``data:`` URI (downscaled with Pillow when large) and a Content-Security-Policy
lets the page fetch nothing, so it works from a USB stick and leaks nothing when opened. Cards are written
as they come: at most a few cards' photos are in memory at any time, however many thousands there are.
The page holds children's photos, so it is written 0600 and never inside the (publicly served) photo store.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import html
import io
import itertools
import os
import re
import shutil
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ToolError
from .identity import field_verdict, names_agree

_Image: Any
_ImageOps: Any
try:  # optional: without Pillow small photos are embedded as they are and large ones get a placeholder
    from PIL import Image as _Image
    from PIL import ImageOps as _ImageOps
except ImportError:  # pragma: no cover - exercised by monkeypatching _Image to None
    _Image = None
    _ImageOps = None

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
JPEG_SIGNATURE = b"\xff\xd8\xff"
MAX_PHOTO_BYTES = 30 * 1024 * 1024  # read no more than this of any one photo
JPEG_QUALITY = 80
MIN_THUMBNAIL_PX = 64  # shrinking stops here even if the embed limit is still not met
TEXT_LIMIT = 300  # characters of a name or field value shown; the CSV row is never shortened
PAGE_MODE = 0o600
COPY_CHUNK = 1 << 20
DEFAULT_INSTRUCTIONS = (
    "Each card under “Needs your decision” is an old photo folder the tool could not match to a current "
    "student on its own. Compare the old photos on the left with each candidate’s photos on the right, and "
    "check the details under them (✓ same as the old record, ≠ different). Then copy the card’s CSV row "
    "into your decisions file and fill it in. The tool’s own matches are listed, collapsed, at the end.")
PRIVACY = ("This page contains children’s photos. Keep it on this computer, do not email or upload it, and "
           "delete it (and any printout) when the review is done.")

# Characters that are invisible or reorder text (bidi overrides, isolates, zero-width space, BOM, line
# separators), controls, and lone surrogates (undecodable bytes in folder names): all shown visibly.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064"
                     "\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]")


class ReviewPageError(ToolError):
    """The review page could not be written where asked (exit 2)."""


@dataclass(frozen=True)
class ReviewPhoto:
    label: str  # e.g. "profile.jpg", "attendance/2025-11-14_AM.jpg"
    path: Path  # missing, corrupt, a symlink or a FIFO: shown as a labelled placeholder


@dataclass(frozen=True)
class ReviewPerson:
    heading: str  # e.g. "Orphaned folder 5f1e... (old record in seed_backup_...json)" or "Candidate: current student"
    student_id: str
    name: str
    fields: tuple[tuple[str, str], ...]  # identifying fields as (field, value shown)
    photos: tuple[ReviewPhoto, ...]


@dataclass(frozen=True)
class ReviewCard:
    orphan: str  # the orphaned folder's name (old id)
    decision: str  # ambiguous, unknown, migrate, no current student, conflict, ...
    reason: str
    needs_person: bool  # True: at the top, open; False: the tool's own matches, collapsed at the end
    old: ReviewPerson
    candidates: tuple[ReviewPerson, ...]
    csv_row: str  # shown in a <code> block for the person to copy


@dataclass(frozen=True)
class _Limits:
    max_photos: int
    thumbnail_px: int
    embed_limit: int


# --- text ----------------------------------------------------------------------------------------------


def _hidden_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: one byte of a folder name that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"U+{code:04X}"


def _shorten(value: object, limit: int | None) -> str:
    string = str(value)
    return string if limit is None or len(string) <= limit else string[:limit - 1] + "…"


def html_attr(value: object, limit: int | None = TEXT_LIMIT) -> str:
    """Data made safe for an HTML attribute value: escaped, hidden characters spelled out."""
    return html.escape(_HIDDEN.sub(lambda m: f"[{_hidden_char(m.group())}]", _shorten(value, limit)), quote=True)


def html_text(value: object, limit: int | None = TEXT_LIMIT) -> str:
    """Data as HTML text: escaped, and every hidden or direction-changing character shown as a marked code."""
    parts = []
    last = 0
    source = _shorten(value, limit)
    for match in _HIDDEN.finditer(source):
        parts.append(html.escape(source[last:match.start()], quote=True))
        parts.append(f'<span class="hid" title="hidden character">[{_hidden_char(match.group())}]</span>')
        last = match.end()
    parts.append(html.escape(source[last:], quote=True))
    return "".join(parts)


def _bdi(value: object, limit: int | None = TEXT_LIMIT) -> str:
    """Data isolated in <bdi>: a right-to-left name cannot reorder the words around it."""
    return f"<bdi>{html_text(value, limit)}</bdi>"


def _message_path(path: object) -> str:
    return _HIDDEN.sub(lambda m: _hidden_char(m.group()), str(path))  # one line, whatever the name holds


# --- photos --------------------------------------------------------------------------------------------


def _read_photo(path: Path) -> bytes | str:
    """The photo's bytes, or why it cannot be shown. Never follows a symlink, never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return "photo missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink; not followed"
        return f"cannot read: {exc.strerror}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > MAX_PHOTO_BYTES:
            return f"file too large to show ({info.st_size // (1024 * 1024)} MB)"
        chunks = []
        size = 0
        while size <= MAX_PHOTO_BYTES and (chunk := os.read(fd, min(COPY_CHUNK, MAX_PHOTO_BYTES + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    finally:
        os.close(fd)
    if size > MAX_PHOTO_BYTES:  # grew while being read
        return "file too large to show"
    data = b"".join(chunks)
    if not data:
        return "empty file"
    if not data.startswith(JPEG_SIGNATURE):
        return "not a JPEG"
    return data


def _encode_thumbnail(image: Any, limits: _Limits) -> bytes:
    side = limits.thumbnail_px
    while True:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif=: location and camera data stay out
        if out.tell() <= limits.embed_limit or side <= MIN_THUMBNAIL_PX:
            return out.getvalue()
        side = max(MIN_THUMBNAIL_PX, side * 7 // 10)
        image.thumbnail((side, side))


def _prepare(data: bytes, limits: _Limits) -> tuple[bytes, int | None, int | None] | str:
    """(JPEG bytes to embed, width, height), or why the photo cannot be shown."""
    if _Image is None:
        if len(data) > limits.embed_limit:
            return "too large to show without Pillow"
        return data, None, None
    try:
        with _Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            exif = bool(image.info.get("exif"))
            if len(data) <= limits.embed_limit and max(width, height) <= limits.thumbnail_px and not exif:
                image.load()  # decode every pixel: a damaged file fails here rather than as a broken image
                return data, width, height
            # Decode at 1/2..1/8 scale straight from the JPEG: a 24-megapixel photo costs a fraction of its size.
            image.draft("RGB", (limits.thumbnail_px, limits.thumbnail_px))
            small = _ImageOps.exif_transpose(image)  # upright as the camera meant; drops the EXIF (location)
            if small.mode not in ("RGB", "L"):
                small = small.convert("RGB")
            small.thumbnail((limits.thumbnail_px, limits.thumbnail_px))
            encoded = _encode_thumbnail(small, limits)
            return encoded, small.width, small.height
    except _Image.DecompressionBombError:
        return "too many pixels to show"
    except Exception:  # Pillow raises many kinds for a damaged file (OSError, SyntaxError, ValueError, ...)
        return "damaged: cannot be decoded"


def _photo_html(photo: ReviewPhoto, limits: _Limits, first: bool) -> str:
    data = _read_photo(photo.path)
    shown = _prepare(data, limits) if isinstance(data, bytes) else data
    cls = "ph first" if first else "ph"
    wrapped = "/<wbr>".join(html_text(part) for part in _shorten(photo.label, TEXT_LIMIT).split("/"))  # wrap at a /
    caption = f"<figcaption><bdi>{wrapped}</bdi></figcaption>"
    if isinstance(shown, str):
        return (f'<figure class="{cls}"><div class="missing" role="img" aria-label="{html_attr(shown)}: '
                f'{html_attr(photo.label)}"><span>{html_text(shown)}</span></div>{caption}</figure>')
    encoded, width, height = shown
    size = f' width="{width}" height="{height}"' if width and height else ""
    return (f'<figure class="{cls}"><img alt="{html_attr(photo.label)}"{size} src="data:image/jpeg;base64,'
            f'{base64.b64encode(encoded).decode("ascii")}">{caption}</figure>')


# --- cards ---------------------------------------------------------------------------------------------


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _compare(value: str, old: str | None, name: bool = False) -> str:
    """A ✓/≠ mark against the old record's value, by the identity rule itself (text, not only colour: it
    must survive printing)."""
    if old is None or not value.strip() or not old.strip():
        return ""
    verdict = names_agree(value, old) if name else field_verdict(value, old)
    if verdict == "agree":
        return ' <span class="same" title="same as the old record">✓ same</span>'
    if verdict == "differ":
        return ' <span class="diff" title="differs from the old record">≠ differs</span>'
    return ' <span class="diff" title="cannot be compared with the old record">? cannot compare</span>' \
        if verdict == "unknown" else ""


def _person_html(person: ReviewPerson, limits: _Limits, css: str, old: ReviewPerson | None,
                 tag: str = "") -> str:
    old_fields = {str(k): _str(v) for k, v in old.fields} if old else {}
    name = _bdi(person.name) if _str(person.name).strip() else '<span class="none">not recorded</span>'
    rows = [f'<tr><th>Name</th><td class="name">{name}'
            f'{_compare(_str(person.name), _str(old.name), name=True) if old else ""}</td></tr>',
            f"<tr><th>Student id</th><td><code>{_bdi(person.student_id)}</code></td></tr>"]
    for field, raw in person.fields:
        field, value = str(field), _str(raw)  # forgiving: a None or a number from the database is still shown
        shown = _bdi(value) if value.strip() else '<span class="none">not recorded</span>'
        label = field.replace("_", " ")
        rows.append(f"<tr><th>{html_text(label[:1].upper() + label[1:])}</th><td>{shown}"
                    f"{_compare(value, old_fields.get(field)) if old else ''}</td></tr>")
    photos = [_photo_html(p, limits, i == 0) for i, p in enumerate(person.photos[:limits.max_photos])]
    if not photos:
        photos.append('<p class="nophoto">No photos in this folder.</p>')
    hidden = len(person.photos) - limits.max_photos
    if hidden > 0:
        photos.append(f'<p class="more">+ {hidden} more photo{"s" if hidden != 1 else ""} not shown</p>')
    return (f'<section class="person {css}"><h4>{tag}{_bdi(person.heading)}</h4>'
            f'<div class="photos">{"".join(photos)}</div>'
            f'<table class="fields">{"".join(rows)}</table></section>')


def _badge_class(decision: str) -> str:
    return "b-" + (re.sub(r"[^a-z]+", "-", decision.lower()).strip("-") or "none")


def _card_html(card: ReviewCard, limits: _Limits) -> str:
    """The card from just after its number to its end; ``_card_start`` (written in order) opens it."""
    total = len(card.candidates)
    candidates = "".join(_person_html(c, limits, "cand", card.old,
                                      f'<span class="cnum">{i} of {total}</span> ' if total > 1 else "")
                         for i, c in enumerate(card.candidates, 1))
    if not total:
        candidates = '<p class="nocand">No current student to compare with.</p>'
    if card.needs_person:
        side = "Current student it could be" if total == 1 else "Current students it could be"
    else:
        side = "Current student the tool matched it to" if total == 1 else "Current students"
    return (f'<h3>Old folder <code>{_bdi(card.orphan)}</code></h3>'
            f'<span class="badge {_badge_class(card.decision)}">{html_text(card.decision)}</span>'
            f'<p class="reason">{_bdi(card.reason, None)}</p></header>'
            f'<div class="compare"><div class="left"><p class="side">The old folder and its old record</p>'
            f'{_person_html(card.old, limits, "old", None)}</div>'
            f'<div class="right"><p class="side">{side}</p><div class="cands">{candidates}</div>'
            f'</div></div>'
            f'<div class="csv"><span>CSV row to copy:</span><pre><code>{html_text(card.csv_row, None)}</code></pre>'
            f"</div></article>\n")


def _card_start(card: ReviewCard, number: int) -> str:
    section = "n" if card.needs_person else "m"
    return (f'<article class="card{" needs" if card.needs_person else ""}" id="{section}{number}">'
            f'<header class="head"><span class="num">{number}</span>')


# --- the page ------------------------------------------------------------------------------------------


STYLE = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d5dae3; --paper: #fff; --bg: #f1f3f7; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px 40px; background: var(--bg); color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 26px 0 10px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; }
.privacy { background: #fff4d6; border: 1px solid #e9c46a; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.howto { max-width: 75em; color: var(--muted); margin: 8px 0; }
table.summary { border-collapse: collapse; background: var(--paper); border: 1px solid var(--line);
  border-radius: 6px; margin: 8px 0; }
table.summary th, table.summary td { text-align: left; padding: 3px 12px; border-bottom: 1px solid var(--line); }
table.summary th { font-weight: 600; color: var(--muted); }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; margin: 0 0 18px;
  padding: 12px 16px 14px; break-inside: avoid; }
.card.needs { border-left: 6px solid #d08700; }
.head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; }
.head h3 { font-size: 17px; margin: 0; }
.head code { font-size: 15px; }
.num { display: inline-block; min-width: 2em; padding: 1px 6px; border-radius: 5px; background: var(--ink);
  color: #fff; font-weight: 700; text-align: center; }
.badge { padding: 1px 10px; border-radius: 999px; font-weight: 700; font-size: 13px; text-transform: uppercase;
  letter-spacing: .03em; border: 1px solid; }
.b-ambiguous, .b-conflict { background: #ffe9c2; color: #7a4b00; border-color: #e0a33a; }
.b-unknown, .b-no-current-student { background: #e8eaf0; color: #394150; border-color: #a9b0bf; }
.b-migrate, .b-migrated { background: #dff3e4; color: #1d5e2c; border-color: #7cc08e; }
.b-error { background: #fde2e1; color: #8a1c17; border-color: #e48a85; }
.reason { flex-basis: 100%; margin: 4px 0 0; }
.compare { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; margin-top: 10px; }
.side { margin: 0 0 6px; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); }
.left .person { background: #f6f3ff; border-color: #c9bff0; }
.cands { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 10px; }
.person { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: #fafbfc; }
.person h4 { margin: 0 0 6px; font-size: 14px; font-weight: 600; color: var(--muted); overflow-wrap: anywhere; }
.cnum { color: var(--ink); background: #e3e7ee; border-radius: 4px; padding: 0 6px; margin-right: 4px; }
.photos { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; }
.ph { margin: 0; }
.ph img, .missing { display: block; height: 150px; width: auto; max-width: 100%; border-radius: 4px;
  border: 1px solid var(--line); object-fit: contain; background: #fff; }
.ph.first img, .ph.first .missing { height: 210px; }
.missing { width: 120px; display: flex; align-items: center; justify-content: center; text-align: center;
  padding: 8px; background: repeating-linear-gradient(45deg, #f3f4f7, #f3f4f7 8px, #e9ebf0 8px, #e9ebf0 16px);
  border: 2px dashed #9aa3b5; color: #3c4556; font-size: 13px; font-weight: 600; }
.ph.first .missing { width: 160px; }
figcaption { font-size: 12px; color: var(--muted); max-width: 160px; overflow-wrap: anywhere; margin-top: 2px; }
.nophoto, .nocand, .more { color: var(--muted); font-style: italic; margin: 4px 0; }
table.fields { border-collapse: collapse; margin-top: 8px; width: 100%; }
table.fields th { text-align: left; font-weight: 600; color: var(--muted); padding: 3px 10px 2px 0; width: 8.5em;
  vertical-align: top; font-size: 13px; }
table.fields td { padding: 2px 0; overflow-wrap: anywhere; }
td.name { font-size: 17px; font-weight: 700; }
.same { color: #1d6b31; font-weight: 600; font-size: 13px; white-space: nowrap; }
.diff { color: #a23a00; font-weight: 600; font-size: 13px; white-space: nowrap; }
.none { color: var(--muted); font-style: italic; }
.hid { background: #ffd9d6; color: #8a1c17; border-radius: 3px; padding: 0 2px; font-family: monospace;
  font-size: 12px; }
.csv { margin-top: 12px; }
.csv span { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.csv pre { margin: 4px 0 0; padding: 8px 10px; background: #1d2330; color: #f3f5f9; border-radius: 5px;
  white-space: pre-wrap; overflow-wrap: anywhere; user-select: all; -webkit-user-select: all; }
details.matches { margin-top: 26px; }
details.matches > summary { cursor: pointer; font-size: 19px; font-weight: 700; padding: 8px 0; }
details.matches .card { border-left: 6px solid #7cc08e; }
.empty { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { .compare { grid-template-columns: 1fr; } }
@media print {
  body { background: #fff; padding: 0; font-size: 12px; }
  .card { border-color: #999; }
  .csv pre { background: #fff; color: #000; border: 1px solid #999; }
}
"""


def _page_head(title: str, summary: Sequence[tuple[str, str]], instructions: str, needs: int, matches: int) -> str:
    rows = "".join(f"<tr><th>{html_text(k)}</th><td>{_bdi(v)}</td></tr>" for k, v in summary)
    counts = (f"<tr><th>Need your decision</th><td>{needs}</td></tr>"
              f"<tr><th>The tool’s own matches</th><td>{matches}</td></tr>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="referrer" content="no-referrer">\n<meta name="robots" content="noindex, nofollow">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html_attr(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f'<header><h1>{_bdi(title)}</h1><p class="privacy"><strong>Private.</strong> {html_text(PRIVACY, None)}'
            f'</p><table class="summary">{rows}{counts}</table><p class="howto">{html_text(instructions, None)}</p>'
            "</header>\n"
            f"<main>\n<h2>Needs your decision ({needs})</h2>\n"
            + ("" if needs else '<p class="empty">Nothing needs a decision: the tool matched every folder.</p>\n'))


def _rendered(cards: Iterable[ReviewCard], render: Callable[[ReviewCard], str],
              workers: int) -> Iterator[tuple[ReviewCard, str]]:
    """``render`` over ``cards`` in order, a few at a time on worker threads; memory stays bounded."""
    if workers <= 1:
        for card in cards:
            yield card, render(card)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="review-page")
    pending: deque[tuple[ReviewCard, Future[str]]] = deque()
    try:
        for card in cards:
            pending.append((card, pool.submit(render, card)))
            if len(pending) >= 2 * workers:  # reading and encoding photos overlaps; the window caps memory
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _checked_target(path: Path, forbidden_root: Path | None) -> Path:
    """The page's real location (resolved folder + name), or ReviewPageError."""
    name = path.name
    if name in ("", ".", ".."):
        raise ReviewPageError(f"Review page path {_message_path(path)} does not name a file")
    try:
        folder = path.parent.resolve(strict=True)
    except FileNotFoundError:
        raise ReviewPageError(f"Folder {_message_path(path.parent)} for the review page does not exist") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        raise ReviewPageError(f"Cannot use folder {_message_path(path.parent)} for the review page: "
                              f"{_message_path(exc)}") from None
    if not folder.is_dir():
        raise ReviewPageError(f"{_message_path(path.parent)} is not a folder; cannot write the review page there")
    if forbidden_root is not None:
        forbidden = forbidden_root.resolve()
        if folder == forbidden or forbidden in folder.parents:  # resolved: a symlinked folder cannot get round it
            raise ReviewPageError(f"Refusing to write the review page inside the photo store "
                                  f"{_message_path(forbidden)} (it is served publicly); choose another folder")
    target = folder / name
    if os.path.isdir(target) and not os.path.islink(target):
        raise ReviewPageError(f"{_message_path(target)} is a folder; cannot write the review page there")
    return target


def _copy(source: BinaryIO, out: BinaryIO) -> None:
    source.seek(0)
    shutil.copyfileobj(source, out, COPY_CHUNK)


class _CardSourceError(Exception):
    """An OSError raised by the caller's card iterable: re-raised as it was, not as a failed page write."""


def _from_source(cards: Iterable[ReviewCard]) -> Iterator[ReviewCard]:
    iterator = iter(cards)
    while True:
        try:
            card = next(iterator)
        except StopIteration:
            return
        except OSError as exc:
            raise _CardSourceError() from exc
        yield card


def write_review_page(path: Path, cards: Iterable[ReviewCard], *, title: str, summary: Sequence[tuple[str, str]],
                      forbidden_root: Path | None = None, max_photos_per_person: int = 4,
                      thumbnail_px: int = 320, embed_limit_bytes: int = 150_000,
                      instructions: str = DEFAULT_INSTRUCTIONS, workers: int = 2) -> int:
    """Write the review page to ``path`` (mode 0600, atomically) and return the number of cards written.

    Cards needing a person come first, open; the tool's own matches follow in a collapsed <details>.
    As the cards arrive, each section is spooled to an anonymous 0600 file in the page's folder (so the
    header can count them), then the two are put together: only a few cards are ever held in memory.
    """
    target = _checked_target(Path(path), forbidden_root)
    limits = _Limits(max(0, max_photos_per_person), max(16, thumbnail_px), max(1, embed_limit_bytes))
    counts = {True: 0, False: 0}
    tmp = target.parent / f".{target.name}.{os.getpid()}-{next(_TEMP_NUMBERS)}.partial"
    created = False

    def discard() -> None:
        if created:  # only ever our own file: O_EXCL made it
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    try:
        # Anonymous files (unlinked at once, 0600) beside the page: its photos never land in a shared /tmp.
        with tempfile.TemporaryFile(dir=target.parent) as needs, tempfile.TemporaryFile(dir=target.parent) as rest, \
                contextlib.closing(_rendered(_from_source(cards), lambda c: _card_html(c, limits),  # type: ignore[type-var]
                                             workers)) as done:
            for card, body in done:
                counts[card.needs_person] += 1
                spool = needs if card.needs_person else rest
                spool.write((_card_start(card, counts[card.needs_person]) + body).encode("utf-8"))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, PAGE_MODE)
            created = True
            with open(fd, "wb") as out:
                os.fchmod(out.fileno(), PAGE_MODE)  # whatever an odd umask or default ACL would have made it
                out.write(_page_head(title, summary, instructions, counts[True], counts[False]).encode("utf-8"))
                _copy(needs, out)
                out.write(f'<details class="matches"><summary>The tool’s own matches ({counts[False]})</summary>\n'
                          .encode())
                if not counts[False]:
                    out.write(b'<p class="empty">None.</p>\n')
                _copy(rest, out)
                out.write(FOOTER.encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, target)
    except _CardSourceError as exc:
        discard()
        raise exc.__cause__ from None  # type: ignore[misc]
    except OSError as exc:
        discard()
        raise ReviewPageError(f"Cannot write the review page {_message_path(target)}: "
                              f"{_message_path(exc.strerror or exc)}") from None
    except BaseException:
        discard()
        raise
    return counts[True] + counts[False]


FOOTER = ("</details>\n</main>\n<footer>Written by the student photo tools. Everything on this page is inside this "
          "one file: it loads nothing from the network.</footer>\n</body>\n</html>\n")
_TEMP_NUMBERS = itertools.count()
