"""Photo sources: folders and archives read in place; hostile members refused, broken archives a SourceError."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import tarfile
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, drop_dac_capabilities
from student_photos import archive
from student_photos.archive import SourceEntry, SourceError, check_name, open_photo_source, printable

JPEG = b"\xff\xd8\xff\xe0" + b"photo"
HYPOTHESIS = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@contextlib.contextmanager
def within(seconds: float):
    """Fail, instead of hanging the suite, if the body takes longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def listing(path, **limits) -> tuple[str, list[SourceEntry], list[tuple[str, str]], dict[str, bytes]]:
    with within(20), open_photo_source(path, **limits) as source:
        entries = source.entries()
        read = {e.path: data for e, data in source.read([e.path for e in entries])}
        return source.kind, entries, source.refused, read


# ---------------------------------------------------------------- building archives
def tar_member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.linkname = link
    info.mode = 0o644
    return info


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], gz: bool = False,
              fmt: int = tarfile.GNU_FORMAT) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return path


def write_zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]],
              method: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(path, "w", method) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return path


def zip_header_offsets(data: bytes, name: bytes) -> list[tuple[int, int]]:
    """(start of header, where its name starts) of the local and central headers for ``name``."""
    found = []
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at:at + name_at + len(name)] == name:
                found.append((at, name_at))
            at = data.find(signature, at + 1)
    return found


def patch_zip_flags(data: bytes, name: bytes, bits: int) -> bytes:
    buf = bytearray(data)
    for at, name_at in zip_header_offsets(data, name):
        flags_at = at + (6 if name_at == 30 else 8)
        struct.pack_into("<H", buf, flags_at, struct.unpack_from("<H", buf, flags_at)[0] | bits)
    return bytes(buf)


def patch_zip_size(data: bytes, name: bytes, size: int) -> bytes:
    """Make both headers of ``name`` claim an uncompressed size of ``size``."""
    buf = bytearray(data)
    for at, name_at in zip_header_offsets(data, name):
        struct.pack_into("<I", buf, at + (22 if name_at == 30 else 24), size)
    return bytes(buf)


def tar_header(name: str, size_field: bytes, kind: bytes = tarfile.REGTYPE) -> bytes:
    """A ustar header block with a raw size field (12 bytes) and a correct checksum."""
    block = bytearray(tarfile.TarInfo(name).tobuf(tarfile.USTAR_FORMAT))
    block[124:136] = size_field
    block[156:157] = kind
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


HOSTILE_TAR = [
    (tar_member("photos/students/ab12/profile.jpg", JPEG), JPEG),
    (tar_member("./photos/students/cd34/profile.jpg", JPEG + b"2"), JPEG + b"2"),
    (tar_member("photos/students", kind=tarfile.DIRTYPE), b""),
    (tar_member("../evil.jpg", b"evil"), b"evil"),
    (tar_member("photos/../../evil2.jpg", b"evil"), b"evil"),
    (tar_member("/abs.jpg", b"abs"), b"abs"),
    (tar_member("C:evil.jpg", b"c"), b"c"),
    (tar_member("win\\evil.jpg", b"w"), b"w"),
    (tar_member("caf\udce9.jpg", b"latin-1 name"), b"latin-1 name"),
    (tar_member("new\nline.jpg", b"n"), b"n"),
    (tar_member("link.jpg", kind=tarfile.SYMTYPE, link="/etc/passwd"), b""),
    (tar_member("hard.jpg", kind=tarfile.LNKTYPE, link="photos/students/ab12/profile.jpg"), b""),
    (tar_member("dev.jpg", kind=tarfile.CHRTYPE), b""),
    (tar_member("fifo.jpg", kind=tarfile.FIFOTYPE), b""),
    (tar_member("dup.jpg", b"first"), b"first"),
    (tar_member("./dup.jpg", b"second"), b"second"),
    (tar_member("big.jpg", b"x" * 101), b"x" * 101),
    (tar_member("volume", kind=tarfile.GNUTYPE_SPARSE), b""),
    (tar_member("odd.jpg", kind=b"Z"), b""),
    (tar_member("contiguous.jpg", kind=tarfile.CONTTYPE), b""),
]
HOSTILE_TAR_REFUSED = sorted([
    ("../evil.jpg", "'..' in name"),
    ("photos/../../evil2.jpg", "'..' in name"),
    ("/abs.jpg", "absolute name"),
    ("C:evil.jpg", "drive letter in name"),
    ("win\\\\evil.jpg", "backslash in name"),
    ("caf\\xe9.jpg", "name is not valid UTF-8"),
    ("new\\x0aline.jpg", "control character in name"),
    ("link.jpg", "symlink"),
    ("hard.jpg", "hard link"),
    ("dev.jpg", "not a regular file (device)"),
    ("fifo.jpg", "not a regular file (FIFO)"),
    ("dup.jpg", "duplicate name"),
    ("./dup.jpg", "duplicate name"),
    ("big.jpg", "too big (101 bytes; the limit is 100)"),
    ("volume", "sparse file"),
    ("odd.jpg", "unsupported member type 'Z'"),
])


# ---------------------------------------------------------------- tar and tar.gz
@pytest.mark.parametrize(("gz", "fmt"), [(False, tarfile.GNU_FORMAT), (True, tarfile.GNU_FORMAT),
                                         (False, tarfile.PAX_FORMAT), (True, tarfile.PAX_FORMAT)])
def test_tar_offers_regular_files_and_refuses_every_hostile_member(tmp_path, gz, fmt):
    path = write_tar(tmp_path / "photos.bin", HOSTILE_TAR, gz=gz, fmt=fmt)  # the kind comes from the content
    kind, entries, refused, read = listing(path, max_member_bytes=100)
    assert kind == ("tar.gz" if gz else "tar")
    assert entries == [SourceEntry("contiguous.jpg", 0), SourceEntry("photos/students/ab12/profile.jpg", len(JPEG)),
                       SourceEntry("photos/students/cd34/profile.jpg", len(JPEG) + 1)]
    assert refused == HOSTILE_TAR_REFUSED
    assert read == {"contiguous.jpg": b"", "photos/students/ab12/profile.jpg": JPEG,
                    "photos/students/cd34/profile.jpg": JPEG + b"2"}


def test_tar_read_gives_only_what_is_wanted_in_archive_order(tmp_path):
    members = [(tar_member(f"p/{i:03d}.jpg", JPEG + bytes([i])), JPEG + bytes([i])) for i in range(20)]
    path = write_tar(tmp_path / "p.tgz", members[::-1], gz=True)
    with open_photo_source(path) as source:
        got = list(source.read(["p/003.jpg", "p/017.jpg", "not/there.jpg", "../evil.jpg"]))
        with pytest.raises(TypeError):
            list(source.read("p/003.jpg"))
    with pytest.raises(ValueError, match="is closed"):
        list(source.read(["p/003.jpg"]))
    assert got == [(SourceEntry("p/017.jpg", len(JPEG) + 1), JPEG + b"\x11"),
                   (SourceEntry("p/003.jpg", len(JPEG) + 1), JPEG + b"\x03")]


def test_tar_gz_is_decompressed_once_to_list_and_once_to_read(tmp_path, monkeypatch):
    members = [(tar_member(f"p/{i:03d}.jpg", os.urandom(3000)), None) for i in range(200)]
    members = [(info, os.urandom(info.size)) for info, _ in members]
    path = write_tar(tmp_path / "p.tar.gz", members, gz=True)
    size = path.stat().st_size
    real_pread = os.pread
    read_bytes = []

    def counting_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        read_bytes.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", counting_pread)
    with open_photo_source(path) as source:
        listed = sum(read_bytes)
        got = {e.path: d for e, d in source.read([e.path for e in source.entries()])}
    assert got == {info.name: data for info, data in members}
    assert listed < 1.2 * size + 2**20  # the whole file once (plus the sniffing of its first block)
    assert sum(read_bytes) - listed < 1.2 * size + 2**20  # and once more for all 200 members, not once each


@pytest.mark.parametrize("gz", [False, True])
def test_every_cut_of_a_tar_is_a_source_error_or_the_whole_listing(tmp_path, gz):
    members = [(tar_member(f"p/{i}.jpg", JPEG * 50), JPEG * 50) for i in range(3)]
    whole = write_tar(tmp_path / "whole", members, gz=gz).read_bytes()
    cut = tmp_path / "cut"
    complete = [SourceEntry(f"p/{i}.jpg", len(JPEG) * 50) for i in range(3)]
    end_of_data = 3 * (512 + 512 * ((len(JPEG) * 50 + 511) // 512))
    for length in range(1, len(whole), 7 if gz else 61):
        cut.write_bytes(whole[:length])
        try:
            kind, entries, refused, _read = listing(cut)
        except SourceError as exc:
            assert "\n" not in str(exc) and str(cut) in str(exc)
            continue
        assert not gz, f"a tar.gz cut at {length} of {len(whole)} bytes was accepted"
        assert length >= end_of_data + 512, f"a tar cut at {length} was accepted"  # cut inside the end padding
        assert (kind, entries, refused) == ("tar", complete, [])


def test_truncated_tar_gz_is_one_line_naming_the_file(tmp_path):
    whole = write_tar(tmp_path / "whole.tgz", HOSTILE_TAR, gz=True).read_bytes()
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(SourceError, match=r"cut\.tgz: truncated or corrupt tar\.gz") as caught:
        open_photo_source(cut)
    assert "\n" not in str(caught.value)


def test_tar_gz_with_a_bad_crc_is_refused_while_listing(tmp_path):
    data = bytearray(write_tar(tmp_path / "a.tgz", [(tar_member("a.jpg", JPEG), JPEG)], gz=True).read_bytes())
    data[-8] ^= 0xFF  # the gzip trailer's CRC-32
    (tmp_path / "a.tgz").write_bytes(bytes(data))
    with pytest.raises(SourceError, match="CRC"):
        open_photo_source(tmp_path / "a.tgz")


@pytest.mark.parametrize("size_field", [b"\xff" * 12, b"\xff" + b"\xff" * 9 + b"\xfd\xff"])
def test_a_negative_tar_size_is_an_error_not_an_endless_loop(tmp_path, size_field):
    body = tar_header("a.jpg", b"%011o\x00" % 5) + JPEG.ljust(512, b"\x00") + tar_header("b.jpg", size_field)
    path = tmp_path / "neg.tar"
    path.write_bytes(body + bytes(1024) * 4)
    with within(10), pytest.raises(SourceError, match="corrupt tar"):
        open_photo_source(path)


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME])
def test_an_extended_header_with_a_negative_size_is_refused(tmp_path, kind):
    body = tar_header("././@x", b"\xff" * 10 + b"\xfd\xff", kind=kind) + tar_header("a.jpg", b"%011o\x00" % 0)
    (tmp_path / "ext.tar").write_bytes(body + bytes(1024))
    with within(10), pytest.raises(SourceError, match=r"corrupt tar \(a header asks for -512 bytes"):
        open_photo_source(tmp_path / "ext.tar")


def test_the_tar_stream_only_goes_forward_and_only_so_far():
    stream = archive._TarStream(io.BytesIO(bytes(10_000)), read_limit=600, stream_limit=5000)
    assert stream.read(512) == bytes(512)
    assert stream.last_block == (0, bytes(512))
    assert stream.seek(1000) == 1000 and stream.tell() == 1000
    with pytest.raises(archive._Broken, match="points back"):
        stream.seek(999)  # a gzip stream would be decompressed again from its start
    with pytest.raises(archive._Broken, match="asks for 601 bytes"):
        stream.read(601)
    with pytest.raises(archive._Broken):
        stream.read(-1)
    with pytest.raises(archive._TooBig):
        stream.seek(5001)
    stream.seek(4600)
    with pytest.raises(archive._TooBig):
        stream.read(512)


def test_a_pax_header_going_backwards_is_refused(tmp_path):
    info = tar_member("a.jpg", JPEG)
    info.pax_headers = {"size": "-5000"}
    path = write_tar(tmp_path / "pax.tar", [(tar_member("ok.jpg", JPEG), JPEG), (info, JPEG)], fmt=tarfile.PAX_FORMAT)
    with within(10), pytest.raises(SourceError, match="corrupt tar"):
        open_photo_source(path)


def test_a_huge_extended_header_is_never_read_into_memory(tmp_path):
    header = tar_header("././@LongLink", b"%011o\x00" % (4 * 2**30 - 1), kind=tarfile.GNUTYPE_LONGNAME)
    with gzip.open(tmp_path / "long.tgz", "wb") as out:
        out.write(header)
        out.write(bytes(2**20))  # the gzip holds far less than the 4 GiB the header claims
    tracemalloc.start()
    try:
        with within(10), pytest.raises(SourceError, match=r"corrupt tar\.gz"):
            open_photo_source(tmp_path / "long.tgz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_a_chain_of_long_name_headers_is_a_source_error(tmp_path):
    link = tar_header("././@LongLink", b"%011o\x00" % 20, kind=tarfile.GNUTYPE_LONGNAME)
    body = (link + b"n" * 20 + bytes(492)) * 3000 + tar_header("a.jpg", b"%011o\x00" % 0) + bytes(1024)
    (tmp_path / "chain.tar").write_bytes(body)
    with within(10), pytest.raises(SourceError, match="corrupt tar"):
        open_photo_source(tmp_path / "chain.tar")


def test_tar_limits_members_member_size_and_total(tmp_path):
    members = [(tar_member(f"{i}.jpg", JPEG * 10), JPEG * 10) for i in range(5)]
    path = write_tar(tmp_path / "five.tgz", members, gz=True)
    with pytest.raises(SourceError, match="more than 4 members"):
        open_photo_source(path, max_members=4)
    assert len(listing(path, max_members=5)[1]) == 5
    big = [(tar_member(f"{i}.jpg", bytes(2**20)), bytes(2**20)) for i in range(4)]
    big_path = write_tar(tmp_path / "big.tgz", big, gz=True)
    assert big_path.stat().st_size < 2**16
    with pytest.raises(SourceError, match="too big"):  # listing would have to inflate more than the total allows
        open_photo_source(big_path, max_total_bytes=10, max_members=5)
    assert len(listing(big_path, max_total_bytes=4 * 2**20, max_members=5)[1]) == 4
    _kind, entries, refused, _read = listing(path, max_member_bytes=len(JPEG) * 10 - 1)
    assert entries == [] and len(refused) == 5 and all(r.startswith("too big") for _n, r in refused)


def test_read_stops_handing_out_bytes_at_the_total_limit(tmp_path):
    members = [(tar_member(f"{i}.jpg", JPEG * 100), JPEG * 100) for i in range(5)]
    path = write_tar(tmp_path / "five.tar", members)
    with open_photo_source(path, max_total_bytes=len(JPEG) * 100 * 3 + 10, max_members=10) as source:
        got = []
        with pytest.raises(SourceError, match="too big"):
            for entry, _data in source.read([e.path for e in source.entries()]):
                got.append(entry.path)
    assert got == ["0.jpg", "1.jpg", "2.jpg"]


def test_an_empty_tar_is_an_empty_source(tmp_path):
    path = write_tar(tmp_path / "empty.tar", [])
    assert listing(path) == ("tar", [], [], {})


# ---------------------------------------------------------------- zip
def hostile_zip(path: Path) -> Path:
    link = zipfile.ZipInfo("link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    device = zipfile.ZipInfo("dev.jpg")
    device.external_attr = (stat.S_IFCHR | 0o644) << 16
    write_zip(path, [
        ("photos/students/ab12/profile.jpg", JPEG),
        ("./photos/students/cd34/profile.jpg", JPEG + b"2"),
        ("photos/students/", b""),
        ("../evil.jpg", b"evil"),
        ("/abs.jpg", b"abs"),
        ("C:/evil.jpg", b"c"),
        ("win\\evil.jpg", b"w"),
        (link, b"/etc/passwd"),
        (device, b""),
        ("secret.jpg", b"encrypted"),
        ("XXXX.jpg", b"not utf-8"),
        ("nulXa.jpg", b"nul"),
        ("dup.jpg", b"first"),
        ("dup.jpg", b"second"),
        ("big.jpg", b"x" * 101),
    ])
    data = path.read_bytes()
    data = patch_zip_flags(data, b"secret.jpg", 0x1)
    data = data.replace(b"XXXX.jpg", b"caf\xe9.jpg").replace(b"nulXa.jpg", b"nul\x00a.jpg")
    path.write_bytes(data)
    return path


def test_zip_offers_regular_files_and_refuses_every_hostile_member(tmp_path):
    kind, entries, refused, read = listing(hostile_zip(tmp_path / "photos.dat"), max_member_bytes=100)
    assert kind == "zip"
    assert entries == [SourceEntry("photos/students/ab12/profile.jpg", len(JPEG)),
                       SourceEntry("photos/students/cd34/profile.jpg", len(JPEG) + 1)]
    assert refused == sorted([
        ("../evil.jpg", "'..' in name"),
        ("/abs.jpg", "absolute name"),
        ("C:/evil.jpg", "drive letter in name"),
        ("win\\\\evil.jpg", "backslash in name"),
        ("link.jpg", "symlink"),
        ("dev.jpg", "not a regular file (device)"),
        ("secret.jpg", "encrypted"),
        ("caf\\xe9.jpg", "name is not valid UTF-8"),
        ("nul\\x00a.jpg", "NUL in name"),
        ("dup.jpg", "duplicate name"),
        ("dup.jpg", "duplicate name"),
        ("big.jpg", "too big (101 bytes; the limit is 100)"),
    ])
    assert read == {"photos/students/ab12/profile.jpg": JPEG, "photos/students/cd34/profile.jpg": JPEG + b"2"}


def test_zip_names_without_the_utf8_flag_are_read_as_utf8_when_they_are(tmp_path):
    path = write_zip(tmp_path / "a.zip", [("ZZ/zoe.jpg", JPEG)])
    path.write_bytes(path.read_bytes().replace(b"ZZ/zoe", "Zoë/z".encode()))  # UTF-8 bytes, flag not set
    assert listing(path)[1] == [SourceEntry("Zoë/z.jpg", len(JPEG))]


def test_zip_with_an_invalid_name_marked_utf8_is_a_source_error(tmp_path):
    path = write_zip(tmp_path / "a.zip", [("é.jpg", JPEG)])  # zipfile sets the UTF-8 flag for this name
    path.write_bytes(path.read_bytes().replace("é".encode(), b"\xff\xfe"))
    with pytest.raises(SourceError, match="corrupt zip"):
        open_photo_source(path)


def test_zip_compression_other_than_deflate_is_refused(tmp_path):
    path = write_zip(tmp_path / "a.zip", [("a.jpg", JPEG)], method=zipfile.ZIP_BZIP2)
    assert listing(path)[1:3] == ([], [("a.jpg", "unsupported compression (method 12)")])


def test_zip_bomb_is_refused_by_its_size_and_never_inflated(tmp_path):
    path = write_zip(tmp_path / "bomb.zip", [("a.jpg", JPEG), ("bomb.jpg", bytes(200 * 2**20))])
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        _kind, entries, refused, _read = listing(path, max_member_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert entries == [SourceEntry("a.jpg", len(JPEG))]
    assert refused == [("bomb.jpg", f"too big ({200 * 2**20} bytes; the limit is {2**20})")]
    assert peak < 8 * 2**20


def test_zip_bomb_lying_about_its_size_is_cut_at_the_stated_size(tmp_path):
    path = write_zip(tmp_path / "liar.zip", [("liar.jpg", bytes(200 * 2**20))])
    path.write_bytes(patch_zip_size(path.read_bytes(), b"liar.jpg", 1000))
    tracemalloc.start()
    try:
        with open_photo_source(path, max_member_bytes=2**20) as source:
            assert source.entries() == [SourceEntry("liar.jpg", 1000)]
            with pytest.raises(SourceError, match=r"member liar\.jpg is corrupt \(Bad CRC-32"):
                list(source.read(["liar.jpg"]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_zip_member_with_a_bad_crc_is_named(tmp_path):
    path = write_zip(tmp_path / "crc.zip", [("good.jpg", JPEG), ("bad.jpg", b"hello world" * 20)],
                     method=zipfile.ZIP_STORED)
    path.write_bytes(path.read_bytes().replace(b"hello world", b"hellO world", 1))
    with open_photo_source(path) as source:
        assert [e.path for e in source.entries()] == ["bad.jpg", "good.jpg"]
        assert list(source.read(["good.jpg"])) == [(SourceEntry("good.jpg", len(JPEG)), JPEG)]
        with pytest.raises(SourceError, match=r"crc\.zip: member bad\.jpg is corrupt \(Bad CRC-32"):
            list(source.read(["bad.jpg"]))


def test_every_cut_of_a_zip_is_a_source_error(tmp_path):
    whole = write_zip(tmp_path / "whole.zip", [(f"p/{i}.jpg", JPEG * 30) for i in range(3)]).read_bytes()
    cut = tmp_path / "cut.zip"
    for length in range(0, len(whole) - 1, 5):
        cut.write_bytes(whole[:length])
        with pytest.raises(SourceError) as caught:
            listing(cut)
        assert "\n" not in str(caught.value) and "cut.zip" in str(caught.value)


def test_zip_member_count_is_limited_before_parsing(tmp_path):
    path = write_zip(tmp_path / "many.zip", [(f"{i}.jpg", JPEG) for i in range(50)])
    with pytest.raises(SourceError, match="50 members, more than 49"):
        open_photo_source(path, max_members=49)
    assert len(listing(path, max_members=50)[1]) == 50


def test_zip_total_handed_out_is_limited(tmp_path):
    path = write_zip(tmp_path / "a.zip", [(f"{i}.jpg", JPEG * 10) for i in range(4)])
    with open_photo_source(path, max_total_bytes=len(JPEG) * 25) as source, \
            pytest.raises(SourceError, match=r"more than \d+ bytes read in total"):
        list(source.read([e.path for e in source.entries()]))


# ---------------------------------------------------------------- folders
def test_folder_offers_regular_files_and_refuses_links_fifos_and_bad_names(tmp_path):
    root = tmp_path / "src"
    (root / "photos/students/ab12").mkdir(parents=True)
    (root / "photos/students/ab12/profile.jpg").write_bytes(JPEG)
    (root / "photos/empty").mkdir()
    (root / "top.jpg").write_bytes(b"top")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (root / "file-link.jpg").symlink_to(outside / "secret.jpg")
    (root / "photos/dir-link").symlink_to(outside)
    os.mkfifo(root / "photos/fifo.jpg")
    open(os.path.join(os.fsencode(root), b"caf\xe9.jpg"), "wb").close()
    (root / "back\\slash.jpg").write_bytes(b"b")
    (root / "big.jpg").write_bytes(b"x" * 11)
    kind, entries, refused, read = listing(root, max_member_bytes=10)
    assert kind == "folder"
    assert entries == [SourceEntry("photos/students/ab12/profile.jpg", len(JPEG)), SourceEntry("top.jpg", 3)]
    assert refused == sorted([
        ("back\\\\slash.jpg", "backslash in name"),
        ("big.jpg", "too big (11 bytes; the limit is 10)"),
        ("caf\\xe9.jpg", "name is not valid UTF-8"),
        ("file-link.jpg", "symlink"),
        ("photos/dir-link", "symlink"),
        ("photos/fifo.jpg", "not a regular file (FIFO)"),
    ])
    assert read == {"photos/students/ab12/profile.jpg": JPEG, "top.jpg": b"top"}


def test_folder_file_swapped_after_listing_is_refused_without_hanging(tmp_path):
    root = tmp_path / "src"
    (root / "a").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(b"X" * len(JPEG))  # the same size: only not following the link keeps it out
    for name in ("fifo.jpg", "link.jpg", "ok.jpg", "grew.jpg", "shrank.jpg"):
        (root / name).write_bytes(JPEG)
    (root / "a/x.jpg").write_bytes(JPEG)
    with within(10), open_photo_source(root, max_member_bytes=len(JPEG) + 1) as source:
        assert len(source.entries()) == 6
        os.unlink(root / "fifo.jpg")
        os.mkfifo(root / "fifo.jpg")  # opened as it is, a FIFO with no writer would block the run for ever
        os.unlink(root / "link.jpg")
        (root / "link.jpg").symlink_to(outside / "x.jpg")
        (root / "a/x.jpg").unlink()
        (root / "a").rmdir()
        (root / "a").symlink_to(outside)  # a folder on the way replaced by a symlink is not followed either
        (root / "grew.jpg").write_bytes(JPEG * 2)
        (root / "shrank.jpg").write_bytes(JPEG[:4])
        got = {e.path: d for e, d in source.read([e.path for e in source.entries()])}
        refused = dict(source.refused)
    assert got == {"ok.jpg": JPEG}
    assert refused["fifo.jpg"] == "no longer a regular file (FIFO)"
    assert refused["link.jpg"].startswith("unreadable: ")  # ELOOP from O_NOFOLLOW
    assert refused["a/x.jpg"].startswith("unreadable: ")
    assert refused["grew.jpg"].startswith("grew past the limit")
    assert refused["shrank.jpg"] == f"changed while being read ({len(JPEG)} bytes listed, 4 read)"


UNREADABLE_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from student_photos.archive import SourceError, open_photo_source
with open_photo_source(sys.argv[2]) as source:
    print(json.dumps({"entries": [e.path for e in source.entries()], "refused": source.refused}))
try:
    open_photo_source(sys.argv[2] + "/locked")
except SourceError as exc:
    print(exc)
"""


def test_unreadable_subfolder_is_listed_as_refused(tmp_path):
    root = tmp_path / "src"
    (root / "locked/deep").mkdir(parents=True)
    (root / "locked/deep/a.jpg").write_bytes(JPEG)
    (root / "open.jpg").write_bytes(JPEG)
    os.chmod(root / "locked", 0)
    try:
        proc = subprocess.run([sys.executable, "-c", UNREADABLE_SCRIPT, str(ROOT), str(root)], check=False,
                              capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                              preexec_fn=drop_dac_capabilities if os.geteuid() == 0 else None)
    finally:
        os.chmod(root / "locked", 0o755)
    assert proc.returncode == 0, proc.stderr
    listed, refused_root = proc.stdout.splitlines()
    assert json.loads(listed) == {"entries": ["open.jpg"],
                                  "refused": [["locked/", "unreadable folder: Permission denied"]]}
    assert refused_root == f"Cannot open photo source {root}/locked: Permission denied"


def test_folder_member_count_is_limited(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.jpg").write_bytes(JPEG)
    with pytest.raises(SourceError, match="more than 4 members"):
        open_photo_source(tmp_path, max_members=4)


# ---------------------------------------------------------------- what a source is
def test_kind_comes_from_the_content_not_the_name(tmp_path):
    zip_path = write_zip(tmp_path / "looks.tar", [("a.jpg", JPEG)])
    tar_path = write_tar(tmp_path / "looks.zip", [(tar_member("a.jpg", JPEG), JPEG)])
    tgz_path = write_tar(tmp_path / "looks.jpg", [(tar_member("a.jpg", JPEG), JPEG)], gz=True)
    prefixed = tmp_path / "sfx.exe"
    prefixed.write_bytes(b"MZ" + bytes(1000) + zip_path.read_bytes())  # a self-extracting zip
    link = tmp_path / "link.zip"
    link.symlink_to(zip_path)  # the path the user gives may be a symlink (to a share)
    for path, kind in ((zip_path, "zip"), (tar_path, "tar"), (tgz_path, "tar.gz"), (prefixed, "zip"),
                       (link, "zip")):
        assert listing(path)[:2] == (kind, [SourceEntry("a.jpg", len(JPEG))]), path


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    (b"", "is not a folder, zip, tar or tar.gz"),
    (b"just some text\n" * 100, "is not a folder, zip, tar or tar.gz"),
    (gzip.compress(b"not a tar at all" * 100), "truncated or corrupt tar.gz"),
    (JPEG, "is not a folder, zip, tar or tar.gz"),
])
def test_unusable_source_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "source.zip"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as caught:
        open_photo_source(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_fifo_given_as_the_source_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.zip")
    with within(10), pytest.raises(SourceError, match="not a folder or a file"):
        open_photo_source(tmp_path / "pipe.zip")


def test_source_descriptor_is_closed_by_the_context_manager(tmp_path):
    path = write_zip(tmp_path / "a.zip", [("a.jpg", JPEG)])
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with open_photo_source(path) as source:
            source.entries()
        with pytest.raises(SourceError):
            open_photo_source(tmp_path / "missing.zip")
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize(("name", "expected"), [
    ("a/b.jpg", ("a/b.jpg", "")), ("./a//b.jpg", ("a/b.jpg", "")), ("a/./b.jpg", ("a/b.jpg", "")),
    ("", ("", "empty name")), ("./", ("", "empty name")), ("a/../b", ("", "'..' in name")),
    ("..", ("", "'..' in name")), ("/a", ("", "absolute name")), ("c:", ("", "drive letter in name")),
    ("x\x00", ("", "NUL in name")), ("a\u202eb", ("", "control character in name")),
    ("caf\udce9", ("", "name is not valid UTF-8")), ("Zoë/李.jpg", ("Zoë/李.jpg", "")),
])
def test_check_name(name, expected):
    assert check_name(name) == expected


def test_printable_escapes_what_would_break_a_line_or_hide():
    assert printable("a\nb\x1b[31m\u202e\udcff\\ok é") == "a\\x0ab\\x1b[31m\\u202e\\xff\\\\ok é"


# ---------------------------------------------------------------- property: hostile bytes
def _check_any_outcome(path: Path) -> None:
    try:
        with within(10), open_photo_source(path, max_member_bytes=2**16, max_total_bytes=2**20,
                                           max_members=1000) as source:
            entries = source.entries()
            assert entries == sorted(entries, key=lambda e: e.path)
            for entry in entries:
                assert check_name(entry.path) == (entry.path, "")
            for entry, data in source.read([e.path for e in entries]):
                assert len(data) == entry.size <= 2**16
            for name, reason in source.refused:
                assert name.isprintable() and reason.isprintable()
    except SourceError as exc:
        assert "\n" not in str(exc)


def _sample_archives() -> dict[str, bytes]:
    members = [(tar_member("a/b.jpg", JPEG * 3), JPEG * 3), (tar_member("c.jpg", b"c" * 700), b"c" * 700),
               (tar_member("l", kind=tarfile.SYMTYPE, link="x"), b"")]
    out = {}
    for gz in (False, True):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if info.size else None)
        out["tgz" if gz else "tar"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/b.jpg", JPEG * 3)
        archive.writestr("c.jpg", b"c" * 700, compress_type=zipfile.ZIP_STORED)
    out["zip"] = buf.getvalue()
    return out


SAMPLES = _sample_archives()


@HYPOTHESIS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".zip", ".tar", ".tgz"]),
       prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x1f\x8b\x08\x00", b"PK\x05\x06"]))
def test_arbitrary_bytes_are_a_source_error_or_a_valid_listing(tmp_path, data, suffix, prefix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(prefix + data)
    _check_any_outcome(path)


@settings(HYPOTHESIS, max_examples=300)
@given(kind=st.sampled_from(sorted(SAMPLES)), cut=st.integers(0, 4000),
       flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6))
def test_damaged_real_archives_are_a_source_error_or_a_valid_listing(tmp_path, kind, cut, flips):
    data = bytearray(SAMPLES[kind])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    path = tmp_path / f"damaged.{kind}"
    path.write_bytes(bytes(data[:max(cut, len(data) // 2)] if cut < len(data) else data))
    _check_any_outcome(path)
