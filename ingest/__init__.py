"""Readers that turn evidence files into passages with exact locations.

One reader class per format behind a registry keyed by format; `read_document` never raises for a
bad file: it returns a result whose status says what happened. This package imports nothing else
of the project.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from .doctype import DOC_TYPE_LABELS, DOC_TYPES, infer_doc_type
from .excel import ExcelReader
from .image import ImageReader
from .legacy import DocReader, OdsReader, OdtReader, XlsReader
from .mail import EmlReader, MsgReader
from .model import CHANGED_WHILE_READ, KINDS, STATUSES, Attachment, Passage, Reader, ReadError, ReadResult
from .pdf import PdfReader
from .powerpoint import PowerPointReader
from .safety import MAX_FILE_BYTES, check_size, is_whole, tells_whole
from .text import CsvReader, MarkdownReader, TextReader
from .text_clean import clean_text, printable
from .word import WordReader

__all__ = [
    "DOC_TYPES", "DOC_TYPE_LABELS", "KINDS", "STATUSES", "Attachment", "Passage", "Reader", "ReadError", "ReadResult",
    "READERS", "reader_for", "read_document", "is_ignorable", "supported_extensions", "fingerprint",
    "infer_doc_type", "clean_text", "printable", "is_whole", "tells_whole",
]

logging.getLogger("pypdf").setLevel(logging.ERROR)  # recoverable damage is reported through the status

READERS: dict[str, Reader] = {r.format: r for r in (
    WordReader(), ExcelReader(), PdfReader(), TextReader(), MarkdownReader(), CsvReader(), PowerPointReader(),
    EmlReader(), MsgReader(), ImageReader(), XlsReader(), OdsReader(), OdtReader(), DocReader())}
_BY_EXTENSION = {ext: r for r in READERS.values() for ext in r.extensions}


def supported_extensions() -> list[str]:
    """Every file suffix a reader is registered for, lower case with the dot."""
    return sorted(_BY_EXTENSION)


def reader_for(path: Path) -> Reader | None:
    return _BY_EXTENSION.get(path.suffix.lower())


def is_ignorable(path: Path) -> bool:
    """Lock files, temporary and hidden files are not documents: pass over them unrecorded."""
    name = path.name
    return (
        name.startswith(("~$", ".~lock", ".", "~")) or name.endswith(("~", ".tmp", ".temp", ".part", ".crdownload", ".swp"))
        or name in ("Thumbs.db", "desktop.ini")
    )


def read_document(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> ReadResult:
    """Read one file into passages; every problem ends in the result's status and error."""
    path = Path(path)
    reader = reader_for(path)
    fmt = reader.format if reader else path.suffix.lower().lstrip(".")
    if reader is None:
        return ReadResult(path=path, format=fmt, status="skipped",
                          error=f"unsupported file type '{path.suffix or path.name}'")
    try:
        before = fingerprint(path)
        check_size(path, max_bytes)
        with warnings.catch_warnings():  # parsers warn per cell or object: the result's status says it once
            warnings.simplefilter("ignore")
            result = reader.read(path)
        after = fingerprint(path)
        if after is None:
            raise FileNotFoundError(path)
        if after != before:
            return ReadResult(path=path, format=fmt, status="skipped", error=CHANGED_WHILE_READ)
    except ReadError as exc:
        return ReadResult(path=path, format=fmt, status="failed", error=str(exc))
    except FileNotFoundError:
        return ReadResult(path=path, format=fmt, status="failed", error="file disappeared before it could be read")
    except MemoryError:
        return ReadResult(path=path, format=fmt, status="failed", error="file too complex to read (out of memory)")
    except Exception as exc:  # a parser bug on one file must never stop the batch
        return ReadResult(path=path, format=fmt, status="failed",
                          error=f"unreadable {fmt} file: {type(exc).__name__}: {str(exc)[:200]}")
    _clean(result)
    if result.status != "failed" and not result.passages:
        # read fine but holds nothing: not a failure, and still listed among the files that evidence nothing
        result.status, result.error = "skipped", result.error or "no text found in the file"
    opening = " ".join(p.text for p in result.passages[:8])[:3000]
    result.metadata["doc_type"] = infer_doc_type(path.name, result.metadata.get("title", ""), opening, fmt)
    return result


def _clean(result: ReadResult) -> None:
    """Every text a reader found, cleaned of control characters before anything else sees it."""
    for p in result.passages:
        p.text, p.location, p.context = clean_text(p.text), clean_text(p.location), clean_text(p.context)
        p.sheet = clean_text(p.sheet) if p.sheet else p.sheet
    result.passages = [p for p in result.passages if p.text.strip()]
    result.metadata = {k: clean_text(v) if isinstance(v, str) else v for k, v in result.metadata.items()}
    result.error = clean_text(result.error)  # may quote the file name


def fingerprint(path: Path) -> tuple[int, int] | None:
    """(size, mtime) of a file, None once it is gone: how a file still being written is told apart."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
