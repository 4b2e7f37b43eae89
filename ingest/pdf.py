"""PDF: page by page, paragraphs rebuilt from positioned lines, running headers and footers removed."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .chunking import paragraph, refine
from .model import ReadError, ReadResult

_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?$|^[-–]\s*\d+\s*[-–]$", re.I)
_DIGITS = re.compile(r"\d+")


class PdfReader:
    format = "pdf"
    extensions = (".pdf",)

    def read(self, path: Path) -> ReadResult:
        reader = _open(path)
        result = ReadResult(path=path, format=self.format, metadata=_metadata(reader))
        pages: list[list[tuple[str, float]]] = []
        for number, page in enumerate(reader.pages, 1):
            try:
                pages.append(_page_lines(page))
            except Exception as exc:  # one broken page makes the file partial
                pages.append([])
                result.warnings.append(f"page {number}: unreadable ({_short(exc)})")
        _drop_running_lines(pages)
        for number, lines in enumerate(pages, 1):
            for i, text in enumerate(_paragraphs(lines), 1):
                result.passages.append(paragraph(text, f"page {number}, ", i, page=number))
        result.passages = refine(result.passages)
        _check_text_layer(result, pages)
        return result.finish()


def _short(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]


def _open(path: Path):
    from pypdf import PdfReader as _Pdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    if not path.read_bytes()[:1024].lstrip().startswith(b"%PDF") and b"%PDF" not in path.read_bytes()[:1024]:
        raise ReadError(f"not a PDF file although named {path.suffix}")
    try:
        reader = _Pdf(str(path), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ReadError("encrypted PDF: password required")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise ReadError(f"encrypted PDF: cannot decrypt ({_short(exc)})") from None
        len(reader.pages)  # forces the page tree; broken cross-reference tables fail here
        return reader
    except ReadError:
        raise
    except (PdfReadError, Exception) as exc:
        raise ReadError(f"damaged PDF: {_short(exc)}") from None


def _metadata(reader) -> dict:
    meta = {}
    try:
        info = reader.metadata or {}
    except Exception:
        return meta
    for key, name in (("/Title", "title"), ("/Author", "author"), ("/Subject", "subject")):
        value = info.get(key)
        if value and str(value).strip():
            meta[name] = str(value).strip()
    for key, name in (("/CreationDate", "created"), ("/ModDate", "modified")):
        meta.update(_pdf_date(info.get(key), name))
    return meta


def _pdf_date(value, name: str) -> dict:
    m = re.match(r"D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?", str(value or ""))
    if not m:
        return {}
    y, mo, d, h, mi, s = (g or "00" for g in m.groups())
    mo, d = mo if mo != "00" else "01", d if d != "00" else "01"
    return {name: f"{y}-{mo}-{d}T{h}:{mi}:{s}"}


def _page_lines(page) -> list[tuple[str, float]]:
    """(text, y) per visual line, top to bottom, from the positioned text pypdf reports."""
    chunks: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text and text.strip():
            # position in user space: text matrix combined with the current transformation matrix
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            chunks.append((round(y, 1), x, text))

    raw = page.extract_text(visitor_text=visit)
    if not chunks:
        return [(line, float(-i)) for i, line in enumerate(raw.splitlines()) if line.strip()]
    lines: list[tuple[str, float]] = []
    for y in sorted({c[0] for c in chunks}, reverse=True):
        parts = sorted((c for c in chunks if c[0] == y), key=lambda c: c[1])
        text = " ".join(" ".join(p[2] for p in parts).split())
        if text:
            lines.append((text, y))
    return _merge_close(lines)


def _merge_close(lines: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Superscripts and mixed fonts put parts of one line a point or two apart: join them."""
    out: list[tuple[str, float]] = []
    for text, y in lines:
        if out and abs(out[-1][1] - y) < 2.0:
            out[-1] = (f"{out[-1][0]} {text}", out[-1][1])
        else:
            out.append((text, y))
    return out


def _drop_running_lines(pages: list[list[tuple[str, float]]]) -> None:
    """Remove headers, footers and page numbers: lines at a page edge that repeat on most pages."""
    if not pages:
        return
    edge = Counter()
    for lines in pages:
        for text, _ in lines[:2] + lines[-2:]:
            edge[_DIGITS.sub("#", text.lower())] += 1
    repeated = {k for k, n in edge.items() if len(pages) >= 2 and n >= max(2, len(pages) * 0.6)}
    for lines in pages:
        top, bottom = lines[:2], lines[-2:]
        keep = []
        for i, (text, y) in enumerate(lines):
            at_edge = i < 2 or i >= len(lines) - 2
            if at_edge and (_DIGITS.sub("#", text.lower()) in repeated or _PAGE_NUMBER.match(text.strip())):
                continue
            keep.append((text, y))
        del top, bottom
        lines[:] = keep


def _paragraphs(lines: list[tuple[str, float]]) -> list[str]:
    """Join lines into paragraphs where the gap between them is no wider than normal line spacing."""
    if not lines:
        return []
    normal = _line_spacing([a[1] - b[1] for a, b in zip(lines, lines[1:]) if a[1] - b[1] > 0])
    paras, current = [], lines[0][0]
    for (_, prev_y), (text, y) in zip(lines, lines[1:]):
        gap = prev_y - y
        if normal and gap > normal * 1.35 or gap < 0:
            paras.append(current)
            current = text
        else:
            current = _join(current, text)
    paras.append(current)
    return [p.strip() for p in paras if p.strip()]


def _line_spacing(gaps: list[float]) -> float:
    """The smallest gap that recurs: line spacing inside paragraphs (short paragraphs make it rare)."""
    rounded = Counter(round(g) for g in gaps)
    recurring = [g for g, n in rounded.items() if n >= 2]
    return float(min(recurring)) if recurring else (min(gaps) if gaps else 0.0)


def _join(left: str, right: str) -> str:
    if re.search(r"[A-Za-z]-$", left) and right[:1].islower():
        return left[:-1] + right  # hyphenation at the line end
    return f"{left} {right}"


def _check_text_layer(result: ReadResult, pages: list[list]) -> None:
    empty = [i for i, lines in enumerate(pages, 1) if not lines]
    if pages and len(empty) == len(pages):
        raise ReadError("no text layer: needs OCR")
    if empty and len(empty) < len(pages):
        shown = ", ".join(map(str, empty[:10])) + ("..." if len(empty) > 10 else "")
        result.warnings.append(f"no text layer on page(s) {shown}: needs OCR")
