"""Plain text, Markdown and CSV: notes and registers often arrive this way."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .chunking import paragraph, refine
from .model import CSV, MD, ROW, TXT, Passage, ReadError, ReadResult, render_row, section_prefix
from .safety import sniff

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _decode(path: Path) -> str:
    if sniff(path) != "text":
        raise ReadError(f"not a text file although named {path.suffix}")
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ReadError(f"binary content in a file named {path.suffix}")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _blocks(text: str, headings: bool = False) -> list[tuple[str, int]]:
    """Blank-line separated blocks with the line they start on. With `headings` (Markdown), a heading line is a
    block of its own whatever lines touch it, as Markdown renders it: "# Exit strategy" on the line above its
    text is a heading, not the first words of a paragraph."""
    blocks: list[tuple[str, int]] = []
    current: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        heading = headings and _MD_HEADING.match(line) is not None
        if current and (heading or not line):
            blocks.append((" ".join(current), start))
            current = []
        if heading:
            blocks.append((line, n))
        elif line:
            start = start if current else n
            current.append(line)
    if current:
        blocks.append((" ".join(current), start))
    return blocks


class TextReader:
    format = TXT
    extensions = (".txt", ".text")

    def read(self, path: Path) -> ReadResult:
        text = _decode(path)
        result = ReadResult(path=path, format=self.format)
        result.passages = refine([paragraph(b, "", i) for i, (b, _) in enumerate(_blocks(text), 1)])
        return result.finish()


class MarkdownReader:
    format = MD
    extensions = (".md", ".markdown")

    def read(self, path: Path) -> ReadResult:
        text = _decode(path)
        result = ReadResult(path=path, format=self.format)
        heads: list[tuple[int, str]] = []
        para_no, passages = 0, []
        for block, _ in _blocks(text, headings=True):
            m = _MD_HEADING.match(block)
            if m:
                level = len(m.group(1))
                heads = [h for h in heads if h[0] < level] + [(level, m.group(2))]
                para_no = 0
                result.metadata.setdefault("title", m.group(2))
                continue
            para_no += 1
            prefix = section_prefix(heads[-1][1]) if heads else ""
            passages.append(paragraph(block, prefix, para_no, context=" > ".join(t for _, t in heads)))
        result.passages = refine(passages)
        return result.finish()


class CsvReader:
    format = CSV
    extensions = (".csv", ".tsv")

    def read(self, path: Path) -> ReadResult:
        text = _decode(path)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        rows = list(csv.reader(io.StringIO(text), dialect))
        rows = [[" ".join(c.split()) for c in r] for r in rows]
        result = ReadResult(path=path, format=self.format)
        if not any(any(r) for r in rows):
            raise ReadError("file holds no data rows")
        header, body = rows[0], rows[1:]
        context = f"columns: {', '.join(h for h in header if h)}"
        for n, row in enumerate(body, 2):
            text = render_row(row, header)
            if text:
                result.passages.append(Passage(text=text, location=f"row {n}", context=context, kind=ROW, row=n))
        return result.finish()
