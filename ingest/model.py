"""What a reader produces: passages with exact locations, and one result per file; the contract every reader
keeps, and the names (statuses, passage kinds, formats) readers and their callers share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

STATUSES = ("ok", "partial", "failed", "skipped")
# the error of a file whose size or modification time moved while it was read (still being written, `cp -p`)
CHANGED_WHILE_READ = "file changed while it was read (still being written?); read again later"

# Passage kinds. Only paragraphs are merged and split by chunking; rows are read with their header;
# comments are stored and searchable, never mapped.
PARAGRAPH = "paragraph"
ROW = "row"
COMMENT = "comment"
TEXTBOX = "textbox"
KINDS = (PARAGRAPH, ROW, COMMENT, TEXTBOX)

# Formats, as `documents.format` records them: one per reader
DOCX, XLSX, PDF, TXT, MD, CSV = "docx", "xlsx", "pdf", "txt", "md", "csv"
PPTX, EML, MSG, IMAGE = "pptx", "eml", "msg", "image"
XLS, ODT, ODS, DOC = "xls", "odt", "ods", "doc"
SPREADSHEET_FORMATS = (XLSX, XLS, ODS, CSV)  # a spreadsheet that evidences anything is mostly a register


class ReadError(Exception):
    """A file cannot be read; the message is what an assessor is shown."""


def short_error(exc: Exception) -> str:
    """The first line of a parser's exception, short enough for a status column."""
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]


@dataclass
class Passage:
    text: str
    location: str  # what an assessor reads to find it: "section 4.2, paragraph 1"
    context: str = ""  # heading path, or sheet name and table header, the passage sits under
    kind: str = PARAGRAPH  # one of KINDS
    page: int | None = None
    sheet: str | None = None
    row: int | None = None
    # (location prefix, first paragraph, last paragraph): lets chunking merge and renumber exactly
    anchor: tuple[str, int, int] | None = field(default=None, repr=False, compare=False)
    # recognised from an image (OCR): the recogniser's mean confidence over the passage's lines, 0-1
    ocr_confidence: float | None = None


@dataclass
class Attachment:
    """A file that came inside another (an email's attachment): read as a document of its own."""
    name: str
    data: bytes


@dataclass
class ReadResult:
    path: Path
    format: str
    status: str = "ok"
    error: str = ""
    passages: list[Passage] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)  # title, author, created, modified, header, footer...
    warnings: list[str] = field(default_factory=list)  # per page or sheet problems that make a file partial
    attachments: list[Attachment] = field(default_factory=list, repr=False)

    @property
    def changed_while_read(self) -> bool:
        """The file moved while it was read: the result is of no one version's bytes, so no hash may be recorded
        with it (a hash would make every later pass take the file as unchanged)."""
        return self.status == "skipped" and self.error == CHANGED_WHILE_READ

    def finish(self) -> ReadResult:
        """Settle the status from what was read: warnings make a file partial and say why (all of them, also when
        one is added to a result finished before)."""
        if self.status in ("ok", "partial") and self.warnings:
            self.status = "partial"
            self.error = "; ".join(self.warnings)
        return self


@runtime_checkable
class Reader(Protocol):
    """One format's reader: `read` returns a result for a file of its extensions, or raises ReadError with
    words an assessor understands; any other exception is caught by `read_document` and recorded."""

    format: str
    extensions: tuple[str, ...]

    def read(self, path: Path) -> ReadResult: ...


_PLACEHOLDER = re.compile(r"^\s*(?:[-–—.]+|n/?a|none|nil|tbc|tba|\?)\s*$", re.I)


SECTION_CHARS = 60  # a heading as long as a sentence is named by its start in a location


def section_prefix(heading: str) -> str:
    """How a location names the section a passage sits in, by its heading: whole, or its start cut at a word
    (never mid-word, "held on 18 March 202") and marked as cut."""
    heading = " ".join(heading.split())
    if len(heading) > SECTION_CHARS:
        cut = heading[:SECTION_CHARS + 1].rsplit(" ", 1)[0] if " " in heading[:SECTION_CHARS + 1] else heading
        heading = cut[:SECTION_CHARS].rstrip(" ,;:-") + "..."
    return f'section "{heading}", '


def is_placeholder(value: str) -> bool:
    """A cell that says nothing ("-", "n/a", "none", "tbc"): rendered rows leave it out."""
    return bool(_PLACEHOLDER.match(value))


def table_passages(rows: list[list[str]], context: str, where: str, page: int | None = None) -> list[Passage]:
    """A document's table as row passages, the one way Word, OpenDocument and PowerPoint tables are read: a first
    row of short cells is the header (its columns join the context, each row is said with them), empty rows are
    skipped, and a row's location is `where` and its row number in the document, empty rows and the header
    counted ("section 2, table 1, row 3"): an assessor counting rows on the page finds the same one."""
    numbered = [(n, cells) for n, cells in enumerate(rows, 1) if any(cells)]
    if not numbered:
        return []
    first = numbered[0][1]
    header = first if len(numbered) > 1 and all(len(c) < 60 for c in first) else None
    if header:
        context = f"{context} | columns: {', '.join(c for c in header if c)}".lstrip(" |")
    out = []
    for n, cells in numbered[1:] if header else numbered:
        text = render_row(cells, header) if header else " | ".join(c for c in cells if c)
        if text:
            out.append(Passage(text=text, location=f"{where}, row {n}", context=context, kind=ROW, page=page, row=n))
    return out


def render_row(cells: list[str], header: list[str] | None, merged: bool = False) -> str:
    """A table row as 'Header: value; Header: value', the form every reader gives rows. Empty cells and
    placeholders ("n/a", "-") are left out and a value under no header stands alone. `merged`, for sheets
    whose merged cells repeat their value: a value repeated under the same header is said once, and a value
    equal to its header (a banner) stands alone."""
    parts, seen = [], set()
    for i, value in enumerate(cells):
        if not value or is_placeholder(value):
            continue
        name = header[i] if header and i < len(header) and header[i] else ""
        if merged:
            if (name, value) in seen:
                continue
            seen.add((name, value))
            name = "" if name == value else name
        parts.append(f"{name}: {value}" if name else value)
    return "; ".join(parts)
