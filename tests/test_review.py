"""The review page: self-contained, private (0600, never in the photo store), escaped, and readable in a browser."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from student_photos import review
from student_photos.errors import ToolError
from student_photos.review import ReviewCard, ReviewPageError, ReviewPerson, ReviewPhoto, write_review_page
from student_photos.sample import jpeg_bytes

DATA_URI = re.compile(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"')
HOSTILE = '<script>alert(1)</script> "quotes" \'apos\' &amp; \u202eevil\u202c'


def colour_jpeg(path: Path, colour: tuple[int, int, int], label: str, size: tuple[int, int] = (600, 800)) -> Path:
    """A real JPEG: a solid colour with a dark band and a label, so photos are told apart at a glance."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((0, height * 3 // 4, width, height), fill=(30, 30, 30))
    draw.ellipse((width // 4, height // 6, width * 3 // 4, height // 2), fill=(245, 222, 200))
    try:
        font = ImageFont.load_default(size=max(12, height // 16))
    except TypeError:  # Pillow < 10.1: the small bitmap font only
        font = ImageFont.load_default()
    draw.text((width // 20, height * 3 // 4 + height // 20), label, fill=(255, 255, 255), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=90)
    return path


def tiny(path: Path, label: str) -> Path:
    """A small decodable JPEG carrying ``label`` in a comment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (90, 120, 150)).save(path, "JPEG", comment=label.encode())
    return path


def person(heading: str, sid: str, name: str, photos: tuple[ReviewPhoto, ...],
           fields: tuple[tuple[str, str], ...] = (("date_of_birth", "2015-03-04"),)) -> ReviewPerson:
    return ReviewPerson(heading=heading, student_id=sid, name=name, fields=fields, photos=photos)


def card(orphan: str, photos: tuple[ReviewPhoto, ...], *, needs_person: bool = True, name: str = "Jordan Smith",
         decision: str = "ambiguous", candidates: tuple[ReviewPerson, ...] = ()) -> ReviewCard:
    return ReviewCard(orphan=orphan, decision=decision, reason="2 current students fit", needs_person=needs_person,
                      old=person(f"Orphaned folder {orphan}", orphan, name, photos), candidates=candidates,
                      csv_row=f"{orphan},,")


def write(path: Path, cards: list[ReviewCard], **kwargs) -> str:
    kwargs.setdefault("title", "Review")
    kwargs.setdefault("summary", (("Database", "school"),))
    assert write_review_page(path, cards, **kwargs) == len(cards)
    return path.read_text(encoding="utf-8")


def embedded(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in DATA_URI.findall(page)]


def placeholders(page: str) -> list[str]:
    return re.findall(r'<div class="missing" role="img" aria-label="([^"]*)"', page)


def test_page_is_private_self_contained_and_ordered(tmp_path):
    photo = tiny(tmp_path / "store" / "old1" / "profile.jpg", "old1")
    cards = [card("auto1", (ReviewPhoto("attendance/2025-11-14_AM.jpg", photo),), needs_person=False,
                  decision="migrate"),
             card("needs1", (ReviewPhoto("profile.jpg", photo),)),
             card("auto2", (ReviewPhoto("profile.jpg", photo),), needs_person=False, decision="migrate"),
             card("needs2", (ReviewPhoto("profile.jpg", photo),), decision="unknown")]
    out = tmp_path / "out" / "review.html"
    out.parent.mkdir()
    os.umask(0o002)  # a permissive umask must not widen the page
    page = write(out, cards)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(os.listdir(out.parent)) == ["review.html"]  # no temporary or spool file left behind
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            'style-src \'unsafe-inline\'">') in page
    assert not re.search(r"https?:|src=\"/|href=|<script|url\(", page, re.I)
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 4 and all(s.startswith("data:image/jpeg;base64,") for s in srcs)
    assert embedded(page)[0] == photo.read_bytes()  # small, no EXIF: embedded exactly as it is
    details = page.index("<details")
    assert page.index("needs1") < page.index("needs2") < details < page.index("auto1") < page.index("auto2")
    assert "The tool’s own matches (2)</summary>" in page and "<details open" not in page
    assert not re.search(r"[<>]", re.sub(r"<[^>]*>", "", page.split("</style>")[1]))  # tags well formed
    assert "Needs your decision (2)" in page


def test_hostile_text_is_escaped_and_hidden_characters_shown(tmp_path):
    photo = tiny(tmp_path / "p.jpg", "p")
    odd_folder = os.fsdecode(b"old\xff\xfeid")  # a folder name that is not UTF-8: lone surrogates
    hostile = ReviewCard(
        orphan=odd_folder, decision=HOSTILE, reason=HOSTILE, needs_person=True,
        old=ReviewPerson(HOSTILE, HOSTILE, HOSTILE, ((HOSTILE, HOSTILE),), (ReviewPhoto(HOSTILE, photo),)),
        candidates=(ReviewPerson(HOSTILE, "\ud800", HOSTILE, (("date_of_birth", "\x00\x1b[31m"),), ()),),
        csv_row=f"{odd_folder},{HOSTILE}")
    page = write(tmp_path / "review.html", [hostile], title=HOSTILE, summary=((HOSTILE, HOSTILE),), workers=1)
    assert "<script" not in page and "\u202e" not in page and "\u202c" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot;quotes&quot;" in page
    assert "&amp;amp;" in page  # an entity in the data is shown as typed, not interpreted
    shown = re.sub(r"<[^>]*>", "", page.split("</style>")[1])  # the text a reader sees
    assert "<" not in shown and ">" not in shown
    assert "[U+202E]evil[U+202C]" in shown and "old[\\xff][\\xfe]id" in shown and "[U+D800]" in shown
    assert "[U+0000][U+001B][31m" in shown
    assert not re.search(r'alt="[^"]*<', page)  # attribute values are escaped too
    page.encode("utf-8")  # strict: no surrogate reached the file


def test_large_photo_is_downscaled(tmp_path):
    big = colour_jpeg(tmp_path / "big.jpg", (200, 30, 30), "big", size=(3000, 2000))
    noisy = tmp_path / "noisy.jpg"  # over the byte limit though small enough in pixels
    Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)).save(noisy, "JPEG", quality=100)
    assert noisy.stat().st_size > 150_000
    photos = (ReviewPhoto("profile.jpg", big), ReviewPhoto("noisy.jpg", noisy))
    page = write(tmp_path / "review.html", [card("o", photos)], thumbnail_px=320)
    shown = embedded(page)
    assert len(shown) == 2
    assert len(shown[0]) < big.stat().st_size / 5 and len(shown[1]) <= 150_000
    with Image.open(io.BytesIO(shown[0])) as image:
        assert image.format == "JPEG" and max(image.size) <= 320 and image.size == (320, 213)
        assert "exif" not in image.info
        red, green, blue = image.convert("RGB").getpixel((5, 5))
        assert red > 150 and green < 80  # still the same photo
    with Image.open(io.BytesIO(shown[1])) as image:
        assert max(image.size) <= 320


def test_exif_photo_is_reencoded_without_its_metadata(tmp_path):
    path = tmp_path / "exif.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make; GPS would ride along the same way
    Image.new("RGB", (40, 30), (0, 0, 200)).save(path, "JPEG", exif=exif.tobytes())
    page = write(tmp_path / "review.html", [card("o", (ReviewPhoto("profile.jpg", path),))])
    (shown,) = embedded(page)
    assert b"PhoneMaker" not in shown
    with Image.open(io.BytesIO(shown)) as image:
        assert image.size == (40, 30)


def test_unshowable_photos_get_placeholders_without_hanging(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    good = tiny(folder / "good.jpg", "good")
    fifo = folder / "fifo.jpg"
    os.mkfifo(fifo)
    link = folder / "link.jpg"
    link.symlink_to(good)
    (folder / "corrupt.jpg").write_bytes(b"not a jpeg at all")
    (folder / "truncated.jpg").write_bytes(colour_jpeg(tmp_path / "t.jpg", (0, 90, 0), "t").read_bytes()[:2000])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "dir.jpg").mkdir()
    (folder / "sample.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(300))  # the JPEG signature, nothing drawable
    bomb = io.BytesIO()
    Image.new("RGB", (16, 16)).save(bomb, "JPEG")
    sof = bomb.getvalue().index(b"\xff\xc0")  # claim 20000 x 20000 pixels in the frame header
    (folder / "bomb.jpg").write_bytes(bomb.getvalue()[:sof + 5] + b"\x4e\x20\x4e\x20" + bomb.getvalue()[sof + 9:])
    names = ["missing.jpg", "fifo.jpg", "link.jpg", "corrupt.jpg", "truncated.jpg", "empty.jpg", "dir.jpg",
             "sample.jpg", "bomb.jpg", "good.jpg"]
    photos = tuple(ReviewPhoto(name, folder / name) for name in names)
    started = time.monotonic()
    page = write(tmp_path / "review.html", [card("o", photos)], max_photos_per_person=len(names))
    assert time.monotonic() - started < 10
    assert placeholders(page) == ["photo missing: missing.jpg", "not a regular file: fifo.jpg",
                                  "a symlink; not followed: link.jpg", "not a JPEG: corrupt.jpg",
                                  "damaged: cannot be decoded: truncated.jpg", "empty file: empty.jpg",
                                  "not a regular file: dir.jpg", "damaged: cannot be decoded: sample.jpg",
                                  "too many pixels to show: bomb.jpg"]
    assert embedded(page) == [good.read_bytes()]  # only the good one is an image: no broken image anywhere


def test_too_many_photos_are_counted_not_shown(tmp_path):
    photos = tuple(ReviewPhoto(f"a{i}.jpg", tiny(tmp_path / f"a{i}.jpg", str(i))) for i in range(7))
    page = write(tmp_path / "review.html", [card("o", photos)], max_photos_per_person=3)
    assert len(embedded(page)) == 3 and "+ 4 more photos not shown" in page


def test_without_pillow_small_photos_embed_and_large_ones_are_placeholders(tmp_path, monkeypatch):
    monkeypatch.setattr(review, "_Image", None)
    small = tiny(tmp_path / "small.jpg", "small")
    large = tmp_path / "large.jpg"
    large.write_bytes(jpeg_bytes("large", size=200_000))  # only the signature is looked at without Pillow
    photos = (ReviewPhoto("small.jpg", small), ReviewPhoto("large.jpg", large))
    page = write(tmp_path / "review.html", [card("o", photos)])
    assert embedded(page) == [small.read_bytes()]
    assert placeholders(page) == ["too large to show without Pillow: large.jpg"]


def test_refuses_the_photo_store_and_a_missing_folder(tmp_path):
    store = tmp_path / "photos"
    (store / "students").mkdir(parents=True)
    cards = [card("o", ())]
    for inside in (store / "review.html", store / "students" / "review.html"):
        with pytest.raises(ReviewPageError, match="photo store"):
            write_review_page(inside, cards, title="t", summary=(), forbidden_root=store)
    sneaky = tmp_path / "elsewhere"
    sneaky.symlink_to(store / "students")  # a symlinked folder that leads into the store
    with pytest.raises(ReviewPageError, match="photo store"):
        write_review_page(sneaky / "review.html", cards, title="t", summary=(), forbidden_root=store)
    via_link = tmp_path / "store-link"
    via_link.symlink_to(store)  # the store itself named through a symlink
    with pytest.raises(ReviewPageError, match="photo store"):
        write_review_page(store / "review.html", cards, title="t", summary=(), forbidden_root=via_link)
    assert not list(store.rglob("*.html")) and not list(store.rglob(".*"))
    missing = tmp_path / "no-such-folder" / "review.html"
    with pytest.raises(ReviewPageError, match="no-such-folder.*does not exist") as info:
        write_review_page(missing, cards, title="t", summary=())
    assert isinstance(info.value, ToolError) and info.value.exit_code == 2 and "\n" not in str(info.value)
    assert write_review_page(tmp_path / "review.html", cards, title="t", summary=(), forbidden_root=store) == 1


def test_replaces_an_existing_page_and_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "review.html"
    out.write_text("old page")
    out.chmod(0o644)
    write(out, [card("o", ())])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and "old page" not in out.read_text()

    def failing():
        yield card("never-shown", ())
        raise ValueError("the caller's cards broke")
    with pytest.raises(ValueError, match="cards broke"):
        write_review_page(out, failing(), title="t", summary=())
    assert sorted(os.listdir(tmp_path)) == ["review.html"] and "never-shown" not in out.read_text()

    def unreadable():
        yield card("o", ())
        raise ConnectionResetError("the database went away")
    with pytest.raises(ConnectionResetError):  # the caller's own error, not dressed up as a failed page write
        write_review_page(out, unreadable(), title="t", summary=())
    store = tmp_path / "photos"
    store.mkdir()
    link = tmp_path / "linked.html"
    link.symlink_to(store / "page.html")  # the page's name itself a symlink into the store: replaced, not followed
    write_review_page(link, [card("o", ())], title="t", summary=(), forbidden_root=store)
    assert not link.is_symlink() and stat.S_IMODE(link.stat().st_mode) == 0o600 and not list(store.iterdir())
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(ReviewPageError, match="is a folder"):
        write_review_page(tmp_path / "dir.html", [], title="t", summary=())
    with pytest.raises(ReviewPageError, match="not a folder"):
        write_review_page(out / "review.html", [], title="t", summary=())


def test_a_failed_write_is_one_error_and_keeps_the_old_page(tmp_path, monkeypatch):
    out = tmp_path / "review.html"
    out.write_text("old page")

    def full(source, target):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(review, "_copy", full)
    with pytest.raises(ReviewPageError, match="Cannot write the review page .*review.html: No space left on device"):
        write_review_page(out, [card("o", ())], title="t", summary=())
    assert out.read_text() == "old page" and sorted(os.listdir(tmp_path)) == ["review.html"]


def test_many_cards_stream(tmp_path, monkeypatch):
    photo = tiny(tmp_path / "p.jpg", "p")
    consumed = []
    ahead = []
    render = review._card_html

    def spy(one, limits):
        ahead.append(len(consumed) - int(one.orphan[1:]))  # cards taken from the caller beyond this one
        return render(one, limits)
    monkeypatch.setattr(review, "_card_html", spy)

    def cards():
        for i in range(300):
            consumed.append(i)
            yield card(f"o{i}", (ReviewPhoto("profile.jpg", photo),), needs_person=i % 3 == 0)
    assert write_review_page(tmp_path / "review.html", cards(), title="t", summary=(), workers=3) == 300
    assert max(ahead) <= 7  # a window of 2 x workers cards: the rest wait in the caller's generator
    page = (tmp_path / "review.html").read_text()
    assert "Needs your decision (100)" in page and "The tool’s own matches (200)" in page
    assert page.index('id="n100"') < page.index("<details") < page.index('id="m1"') < page.index('id="m200"')


def test_fields_are_compared_with_the_old_record(tmp_path):
    old = person("old", "o", "Jordan  smith", (), (("date_of_birth", "2015-03-04"), ("email", "")))
    same = person("c1", "c1", "Jordan Smith", (), (("date_of_birth", "2015-03-04"), ("email", "j@x")))
    other = person("c2", "c2", "Jordan Smith", (), (("date_of_birth", "2016-01-01"),))
    page = write(tmp_path / "r.html", [ReviewCard("o", "ambiguous", "2 fit", True, old, (same, other), "o,,")])
    assert page.count('class="same"') == 3 and page.count('class="diff"') == 1 and "not recorded" in page


# --- in a browser --------------------------------------------------------------------------------------

COLOURS = {"old profile": (220, 40, 40), "old attendance": (240, 140, 20), "jordan A": (30, 90, 220),
           "jordan B": (30, 170, 60), "match old": (150, 40, 200), "match new": (20, 170, 190)}


def jordan_smith_page(tmp_path: Path) -> Path:
    """Two cards: an orphan that could be either of two Jordan Smiths, and one of the tool's own matches."""
    store = tmp_path / "photos" / "students"
    shot = {key: colour_jpeg(store / key.replace(" ", "_") / "profile.jpg", rgb, key) for key, rgb in COLOURS.items()}
    old = person("Orphaned folder 5f1e9a2c (old record in seed_backup_20251115_0537.json)", "5f1e9a2c",
                 "Jordan Smith", (ReviewPhoto("profile.jpg", shot["old profile"]),
                                  ReviewPhoto("attendance/2025-11-14_AM.jpg", shot["old attendance"]),
                                  ReviewPhoto("attendance/2025-11-13_AM.jpg", store / "gone.jpg")),
                 (("date_of_birth", "2015-03-04"), ("student_number", "S-1042")))
    a = person("Candidate: current student", "a81c0d77", "Jordan Smith",
               (ReviewPhoto("profile.jpg", shot["jordan A"]),),
               (("date_of_birth", "2015-03-04"), ("student_number", "")))
    b = person("Candidate: current student", "b92e4f10", "Jordan Smith",
               (ReviewPhoto("profile.jpg", shot["jordan B"]),), (("date_of_birth", "2015-03-04"),
                                                                  ("student_number", "")))
    needs = ReviewCard("5f1e9a2c", "ambiguous", "2 current students fit the name and date of birth", True, old, (a, b),
                       "5f1e9a2c,Jordan Smith,seed_backup_20251115_0537.json,ambiguous,2 current students fit,,,")
    match_old = person("Orphaned folder 77aa01 (old record in seed_backup_20251115_0537.json)", "77aa01", "Ava Jones",
                       (ReviewPhoto("profile.jpg", shot["match old"]),), (("date_of_birth", "2014-07-21"),))
    match_new = person("Current student", "c0ffee12", "Ava Jones", (ReviewPhoto("profile.jpg", shot["match new"]),),
                       (("date_of_birth", "2014-07-21"),))
    auto = ReviewCard("77aa01", "migrate", "same name and identifying fields", False, match_old, (match_new,),
                      "77aa01,Ava Jones,seed_backup_20251115_0537.json,migrate,same name,c0ffee12,Ava Jones,")
    out = tmp_path / "review" / "review.html"
    out.parent.mkdir()
    write_review_page(out, [needs, auto], title="Orphaned photo folders: review",
                      summary=(("Database", "school_attendance"), ("Photo folder", str(store.parent)),
                               ("Backup", "seed_backup_20251115_0537.json")), forbidden_root=store.parent)
    return out


def test_page_renders_with_photos_in_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium not installed: the review page was not checked in a browser")
    page = jordan_smith_page(tmp_path)
    shot = tmp_path / "shot.png"
    profile = tmp_path / "chromium-profile"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--window-size=1280,2000", "--hide-scrollbars", f"--screenshot={shot}",
           page.as_uri()]
    result = subprocess.run(cmd, capture_output=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)})
    assert shot.exists(), result.stderr.decode(errors="replace")[-2000:]
    if target := os.environ.get("REVIEW_SCREENSHOT"):  # for a person to look at
        shutil.copyfile(shot, target)
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500  # text, photos and anti-aliasing, not a blank page
    present = {rgb for count, rgb in colours if count >= 400}  # a block of at least 20x20 pixels
    for key in ("old profile", "old attendance", "jordan A", "jordan B"):
        rgb = COLOURS[key]
        drawn = any(all(abs(c - e) <= 12 for c, e in zip(found, rgb, strict=True)) for found in present)
        assert drawn, f"{key} photo not drawn"
    for key in ("match old", "match new"):  # the tool's own matches are collapsed: their photos are not shown
        rgb = COLOURS[key]
        assert not any(all(abs(c - e) <= 12 for c, e in zip(found, rgb, strict=True)) for found in present), key
