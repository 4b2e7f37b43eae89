"""Checks made before a parser sees a file: size, container type, zip bombs, encryption."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .model import DOCX, ODS, ODT, PDF, PPTX, XLSX, ReadError, short_error

T = TypeVar("T")

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 200  # whole-archive inflation ratio above which an Office file is treated as a zip bomb

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF"

KIND_NAMES = {DOCX: "Word", XLSX: "Excel", PPTX: "PowerPoint", PDF: "PDF", ODT: "OpenDocument text",
              ODS: "OpenDocument spreadsheet"}
# the stream an encrypted Office package is kept in, as its name is written in the OLE directory
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


_EOCD = b"PK\x05\x06"  # a zip's end-of-central-directory record: the last thing written
_ZIP64_LOCATOR = b"PK\x06\x07"  # just before it in a zip64 archive
_CENTRAL_ENTRY = b"PK\x01\x02"  # each entry of the central directory starts so
_TAIL = 66 * 1024  # the record is within the last 22 bytes plus a comment of at most 64 KiB


def tells_whole(path: Path) -> bool:
    """Whether the file's format says when it is whole (a zip or a PDF, by its first bytes): see `is_whole`."""
    try:
        with path.open("rb") as fh:
            return fh.read(8).startswith((ZIP_MAGIC, PDF_MAGIC))
    except OSError:
        return False


def is_whole(path: Path) -> bool:
    """Whether the file is complete by its own format, as far as its last bytes tell: a zip (Office, OpenDocument)
    whose end record points at a central directory that fits, a PDF that ends with %%EOF. Written from start to end,
    such a file is not whole until its last bytes land, so a watcher can read it without waiting for it to settle;
    for any other file (or a damaged one) this says False and the watcher waits."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if not head.startswith((ZIP_MAGIC, PDF_MAGIC)):  # no format of its own to tell: read no further
                return False
            size = fh.seek(0, 2)
            fh.seek(max(0, size - _TAIL))
            tail = fh.read()
            if head.startswith(ZIP_MAGIC):
                return _zip_closes(fh, tail, size)
    except OSError:
        return False
    # nothing but white space after the marker: a copy cut inside the trailer is not whole (one cut exactly at an
    # earlier revision's marker reads as the older revision, and the bytes still to come are a change like any)
    return tail.rstrip(b" \t\r\n\x00").endswith(b"%%EOF")  # some writers pad the end with NULs


def _zip_closes(fh, tail: bytes, size: int) -> bool:
    """The last end record closes the file (nothing after it but its comment) and its central directory ends
    exactly where the record starts, beginning with a directory entry's signature: a copy cut where an embedded
    zip (a workbook stored inside a document) happens to end has an end record too, but not this one."""
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return False
    record = tail[at:at + 22]
    directory_size = int.from_bytes(record[12:16], "little")
    directory_offset = int.from_bytes(record[16:20], "little")
    comment = int.from_bytes(record[20:22], "little")
    end = size - len(tail) + at  # where the record starts in the file
    if end + 22 + comment != size:
        return False
    if directory_offset == 0xFFFFFFFF or directory_size == 0xFFFFFFFF:  # zip64: its own record says more
        return end >= 20 and _ZIP64_LOCATOR in tail[max(0, at - 20):at]
    if directory_offset + directory_size != end:
        return False
    if directory_size == 0:
        return True
    fh.seek(directory_offset)
    return fh.read(4) == _CENTRAL_ENTRY


def check_size(path: Path, limit: int = MAX_FILE_BYTES) -> int:
    size = path.stat().st_size
    if size == 0:
        raise ReadError("file is empty")
    if size > limit:
        raise ReadError(f"file is too large ({size / 1e6:.0f} MB; the limit is {limit / 1e6:.0f} MB)")
    return size


def sniff(path: Path) -> str:
    """Container type from the first bytes: zip, ole, pdf or text."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if PDF_MAGIC in head:
        return "pdf"
    return "text"


def check_office_zip(path: Path, fmt: str) -> None:
    """An Office file must be a sound zip that does not inflate to gigabytes."""
    kind = sniff(path)
    name = KIND_NAMES.get(fmt, fmt)
    if kind == "ole":
        if is_encrypted_package(path):
            raise ReadError(f"password-protected {name} file: save it unprotected as .{fmt}")
        raise ReadError(f"password-protected or legacy binary {name} file: save it unprotected as .{fmt}")
    if kind != "zip":
        raise ReadError(f"not a {name} file although named {path.suffix}")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise ReadError(f"damaged {name} file: the zip container is truncated or corrupt") from None
    unzipped = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unzipped > MAX_UNZIPPED_BYTES or (unzipped > 50e6 and unzipped / packed > MAX_ZIP_RATIO):
        raise ReadError(f"refused: {name} file would inflate to {unzipped / 1e6:.0f} MB (zip bomb?)")


def is_encrypted_package(path: Path) -> bool:
    """An OLE container holding an EncryptedPackage stream: an Office file saved with a password."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)  # the directory of a small container sits near its start
    return head.startswith(OLE_MAGIC) and _ENCRYPTED_PACKAGE in head


def open_office(path: Path, fmt: str, parse: Callable[[Path | io.BytesIO], T]) -> T:
    """An Office (OOXML) package checked and parsed: `parse` gets the package to read. Encrypted, damaged or
    not really a zip: a ReadError in the same words for Word, Excel and PowerPoint."""
    check_office_zip(path, fmt)
    try:
        return parse(open_package(path))
    except ReadError:
        raise
    except Exception as exc:  # the parsers raise many types for damaged parts
        raise ReadError(f"damaged {KIND_NAMES.get(fmt, fmt)} file: {short_error(exc)}") from None


_STRICT = re.compile(rb"http://purl\.oclc\.org/ooxml/([A-Za-z]+)/([A-Za-z]+)")


_MACRO_TYPES = {  # python-docx and openpyxl refuse the main part of macro-enabled and template packages
    b"application/vnd.ms-word.document.macroEnabled.main+xml":
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml":
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml":
        b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}


def open_package(path: Path) -> Path | io.BytesIO:
    """The Office package to parse: the file itself, or an in-memory copy that the parsers understand:
    ISO 29500 Strict namespaces mapped to Transitional ones, macro-enabled main parts typed as plain ones.
    Macros themselves are never run or read."""
    with zipfile.ZipFile(path) as zf:
        try:
            rels, types = zf.read("_rels/.rels"), zf.read("[Content_Types].xml")
        except KeyError:
            return path
        strict = b"purl.oclc.org/ooxml" in rels
        macro = any(t in types for t in _MACRO_TYPES)
        if not strict and not macro:
            return path
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in zf.infolist():
                data = zf.read(info.filename)
                if strict and info.filename.endswith((".xml", ".rels")):
                    data = _STRICT.sub(rb"http://schemas.openxmlformats.org/\1/2006/\2", data)
                if info.filename == "[Content_Types].xml":
                    for old, new in _MACRO_TYPES.items():
                        data = data.replace(old, new)
                dst.writestr(info, data)
    out.seek(0)
    return out


def core_properties(props: object) -> dict[str, str]:
    """An Office package's core properties (docProps/core.xml) as document metadata: title, author, subject,
    dates and last editor, each left out when empty or unreadable."""
    meta = {}
    for key in ("title", "author", "subject", "created", "modified", "last_modified_by"):
        try:
            value = getattr(props, key)
        except Exception:  # malformed dates in docProps/core.xml
            continue
        if value:
            meta[key] = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
    return meta
