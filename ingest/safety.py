"""Checks made before a parser sees a file: size, container type, zip bombs, encryption."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from .model import ReadError

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 200  # whole-archive inflation ratio above which an Office file is treated as a zip bomb

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF"

KIND_NAMES = {"docx": "Word", "xlsx": "Excel", "pdf": "PDF"}


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


_STRICT = re.compile(rb"http://purl\.oclc\.org/ooxml/([A-Za-z]+)/([A-Za-z]+)")


def open_package(path: Path) -> Path | io.BytesIO:
    """The Office package to parse: the file itself, or, for ISO 29500 Strict documents (which python-docx
    and openpyxl do not understand), an in-memory copy with Strict namespaces mapped to Transitional ones."""
    with zipfile.ZipFile(path) as zf:
        try:
            rels = zf.read("_rels/.rels")
        except KeyError:
            return path
        if b"purl.oclc.org/ooxml" not in rels:
            return path
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in zf.infolist():
                data = zf.read(info.filename)
                if info.filename.endswith((".xml", ".rels")):
                    data = _STRICT.sub(rb"http://schemas.openxmlformats.org/\1/2006/\2", data)
                dst.writestr(info, data)
    out.seek(0)
    return out
