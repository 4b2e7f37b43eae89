"""What a reader produces: passages with exact locations, and one result per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("ok", "partial", "failed", "skipped")


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
    kind: str = "paragraph"  # paragraph | row | comment | textbox
    page: int | None = None
    sheet: str | None = None
    row: int | None = None
    # (location prefix, first paragraph, last paragraph): lets chunking merge and renumber exactly
    anchor: tuple[str, int, int] | None = field(default=None, repr=False, compare=False)


@dataclass
class ReadResult:
    path: Path
    format: str
    status: str = "ok"
    error: str = ""
    passages: list[Passage] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)  # title, author, created, modified, header, footer...
    warnings: list[str] = field(default_factory=list)  # per page or sheet problems that make a file partial

    def finish(self) -> ReadResult:
        """Settle the status from what was read: warnings make a file partial."""
        if self.status == "ok" and self.warnings:
            self.status = "partial"
            self.error = "; ".join(self.warnings)
        return self
