"""Kept copies of source files: how a copy is named, where it lies and how it is served.

The pipeline keeps a content-addressed copy of every file it reads, so an evidence link opens the exact
version its passages came from, after the file was edited, renamed or deleted. The copy's name is recorded
with its document (`documents.copy_name`); the Datasette plugin serves the copy by that name only, never by
a path from a request. Both use this module, so the name a copy is kept under is the name it is found by.
"""

from __future__ import annotations

import re
from pathlib import Path

# Served types by suffix; a copy whose suffix is not here is not served. Macro-enabled Office files keep their
# own types (their macros are never run here, but the assessor's Office must know what it opens); every text
# format is plain text, so a browser never renders markup from a document.
TEXT = "text/plain; charset=utf-8"
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".docm": "application/vnd.ms-word.document.macroEnabled.12",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".txt": TEXT, ".text": TEXT, ".md": TEXT, ".markdown": TEXT, ".csv": TEXT, ".tsv": TEXT,
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".pptm": "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
    ".xls": "application/vnd.ms-excel", ".doc": "application/msword",
    ".odt": "application/vnd.oasis.opendocument.text", ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    # emails download: a browser would render their HTML (and its remote images); a mail client opens them
    ".eml": "message/rfc822", ".msg": "application/vnd.ms-outlook",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff",
}
# what a browser shows safely itself (raster images carry no script; TIFF most browsers cannot show)
INLINE = {".pdf", ".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".png", ".jpg", ".jpeg"}

# a SHA-256 in hex and a short lower-case suffix: nothing in a name can step out of the files folder
_NAME = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9]{1,10})?$")


def copy_name(sha256: str, source: str | Path) -> str:
    """The name a file's copy is kept under: its content hash and its own suffix in lower case."""
    return f"{sha256}{Path(source).suffix.lower()}"


def copy_path(files_dir: str | Path, name: str) -> Path | None:
    """Where the copy of that name lies under the files folder; None for a name no copy can have."""
    if not _NAME.match(name or ""):
        return None
    return Path(files_dir) / name[:2] / name


def content_type(name: str) -> str | None:
    """The type a copy is served with, None when copies of its kind are not served."""
    return CONTENT_TYPES.get(Path(name).suffix.lower())


def is_inline(name: str) -> bool:
    """Whether a browser shows the copy itself (PDF, plain text, images) rather than downloading it."""
    return Path(name).suffix.lower() in INLINE
