"""PDF: page by page, paragraphs rebuilt from positioned lines, running headers and footers removed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import ocr
from .chunking import paragraph, refine
from .model import PDF, ROW, Passage, ReadError, ReadResult, render_row, short_error

_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?$|^[-–]\s*\d+\s*[-–]$", re.I)
_DIGITS = re.compile(r"\d+")


class PdfReader:
    format = PDF
    extensions = (".pdf",)

    def read(self, path: Path) -> ReadResult:
        reader = _open(path)
        result = ReadResult(path=path, format=self.format, metadata=_metadata(reader))
        pages: list[list[_Line]] = []
        for number, page in enumerate(reader.pages, 1):
            try:
                pages.append(_page_lines(page))
            except Exception as exc:  # one broken page makes the file partial
                pages.append([])
                result.warnings.append(f"page {number}: unreadable ({short_error(exc)})")
        recognised = _recognise_scanned(path, pages, result)
        # judged before running lines go: a page whose only text repeats on every page still has a text layer
        _check_text_layer(result, pages, recognised)
        _drop_running_lines(pages, result)
        carried: _Table | None = None  # a table that ran to the foot of the page before: it may go on
        for number, lines in enumerate(pages, 1):
            passages, carried = _page_passages(number, lines, carried)
            result.passages.extend(passages + recognised.get(number, []))
        result.passages = refine(result.passages)
        return result.finish()


def _recognise_scanned(path: Path, pages: list[list[_Line]], result: ReadResult) -> dict[int, list[Passage]]:
    """Pages without a text layer, recognised (OCR) page by page up to the per-file budget: page number ->
    passages (empty for a page recognised as blank). Pages with a text layer are read as they are."""
    empty = [i for i, lines in enumerate(pages) if not lines]
    if not empty or not ocr.available():
        return {}
    budget, out = ocr.Budget(), {}
    wanted = [i for i in empty if budget.take()]
    for index, image in ocr.render_pdf_pages(path, wanted):
        if isinstance(image, Exception):
            result.warnings.append(f"page {index + 1}: cannot be rendered for recognition ({short_error(image)})")
            continue
        try:
            out[index + 1] = ocr.page_passages(ocr.recognise(image), f"page {index + 1}, ", index + 1)
        except MemoryError:
            raise
        except Exception as exc:  # one page the recogniser fails on makes the file partial
            result.warnings.append(f"page {index + 1}: recognition failed ({short_error(exc)})")
    left = [i + 1 for i in empty if i not in wanted]
    if left:
        result.warnings.append(budget.reason(left))
        out.update({n: [] for n in left})  # said once by the budget, not again as pages without text
    return out


@dataclass
class _Table:
    header: list[str]
    columns: list[float]  # where its columns start


def _page_passages(number: int, lines: list[_Line], carried: _Table | None = None) -> tuple[list[Passage],
                                                                                            _Table | None]:
    """The page's passages, and its last table when the page ends with it (the next page may go on with it)."""
    passages: list[Passage] = []
    para_no = table_no = 0
    blocks = _blocks(lines)
    last: _Table | None = None
    for k, (kind, block) in enumerate(blocks):
        if kind == "text":
            for text in _paragraphs(block):
                para_no += 1
                passages.append(paragraph(text, f"page {number}, ", para_no, page=number))
            continue
        table_no += 1
        cells, columns = _table_rows(block)
        # a table at the top of a page that goes on with the last page's, without its header again: that header
        # names its cells (its first row is data, not a header of its own)
        go_on = k == 0 and carried is not None and _same_columns(columns, carried.columns) and cells[0] != carried.header
        header, rows = (carried.header, [render_row(row, carried.header) for row in cells]) if go_on \
            else _render_table(cells)
        context = f"columns: {', '.join(h for h in header if h)}" if header else ""
        first = 2 if header and not go_on else 1
        for r, text in enumerate(rows, first):
            if text:
                passages.append(Passage(text=text, location=f"page {number}, table {table_no}, row {r}",
                                        context=context, kind=ROW, page=number, row=r))
        last = _Table(header, columns) if header and k == len(blocks) - 1 else None
    return passages, last


def _same_columns(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 5 for x, y in zip(a, b))


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
                raise ReadError(f"encrypted PDF: cannot decrypt ({short_error(exc)})") from None
        len(reader.pages)  # forces the page tree; broken cross-reference tables fail here
        return reader
    except ReadError:
        raise
    except (PdfReadError, Exception) as exc:
        raise ReadError(f"damaged PDF: {short_error(exc)}") from None


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


@dataclass
class _Line:
    y: float
    cells: list[tuple[float, str]]  # (x, text) runs separated by wide gaps, left to right
    size: float = 10.0

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.cells)


def _page_lines(page) -> list[_Line]:
    """Visual lines, top to bottom, from the positioned text pypdf reports."""
    chunks: list[tuple[float, float, str, float]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text and text.strip():
            # position in user space: text matrix combined with the current transformation matrix
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            size = abs(font_size * (tm[3] or 1) * (cm[3] or 1)) or 10.0
            chunks.append((round(y, 1), x, text, size))

    raw = page.extract_text(visitor_text=visit)
    if not chunks:
        return [_Line(float(-i), [(0.0, " ".join(t.split()))]) for i, t in enumerate(raw.splitlines()) if t.strip()]
    by_line: list[list] = []
    for y in sorted({c[0] for c in chunks}, reverse=True):
        parts = sorted((c for c in chunks if c[0] == y), key=lambda c: c[1])
        if by_line and abs(by_line[-1][0][0] - y) < 2.0:  # superscripts and mixed fonts sit a point or two apart
            parts = sorted(by_line.pop() + parts, key=lambda c: c[1])
        by_line.append(parts)
    columns = _column_starts(by_line)
    lines = [_Line(parts[0][0], _cells(parts, columns), max(c[3] for c in parts)) for parts in by_line]
    return [line for line in lines if line.text]


def _column_starts(by_line: list[list]) -> set[int]:
    """x positions where text starts on three or more lines other than at the line start: table columns."""
    counts = Counter()
    for parts in by_line:
        counts.update({round(c[1]) for c in parts[1:]})
    return {x for x, n in counts.items() if n >= 3}


def _cells(parts, columns: set[int]) -> list[tuple[float, str]]:
    """Join chunks that continue each other; a chunk starting in a column, or after a wide gap, starts a cell."""
    cells: list[list] = []
    end = None
    for _, x, text, size in parts:
        text = " ".join(text.split())
        if not text:
            continue
        in_column = any(abs(round(x) - c) <= 1 for c in columns)
        if cells and not in_column and end is not None and x - end < size * 3:
            cells[-1][1] = f"{cells[-1][1]} {text}"
        else:
            cells.append([x, text])
        end = x + len(text) * size * 0.45  # rough advance width: only decides between continuation and gap
    return [(x, t) for x, t in cells]


def _drop_running_lines(pages: list[list[_Line]], result: ReadResult | None = None) -> None:
    """Remove headers, footers and page numbers: lines at a page edge that repeat on most pages.
    A document whose pages all repeat one short page (a template printed many times) would lose everything,
    so its first page with text is kept whole and the rest said once."""
    first = next(((i, list(lines)) for i, lines in enumerate(pages) if lines), None)
    edge = Counter()
    for lines in pages:
        # once per page: on a page of three lines or fewer the first two and the last two overlap
        edge.update({_DIGITS.sub("#", line.text.lower()) for line in lines[:2] + lines[-2:]})
    repeated = {k for k, n in edge.items() if len(pages) >= 2 and n >= max(2, len(pages) * 0.6)}
    for lines in pages:
        rows = _table_lines(lines)  # a table continued over pages repeats its header, and may repeat a row
        keep = []
        for i, line in enumerate(lines):
            at_edge = i < 2 or i >= len(lines) - 2
            running = _DIGITS.sub("#", line.text.lower()) in repeated or _PAGE_NUMBER.match(line.text.strip())
            if at_edge and running and i not in rows:
                continue
            keep.append(line)
        lines[:] = keep
    if first is not None and not any(pages):
        number, lines = first
        pages[number][:] = [line for line in lines if not _PAGE_NUMBER.match(line.text.strip())]
        if pages[number] and result is not None:  # pages of page numbers alone hold no text worth a warning
            result.warnings.append(f"every page repeats the same text: read once, from page {number + 1}")


def _table_lines(lines: list[_Line]) -> set[int]:
    """Indexes of a page's lines that are table rows: lines of two or more cells in a table, with another such
    line of it a few lines away (a row's wrapped cells lie between) and a line of it close above or below. A
    two-part footer (title, page number) that lines up with a body line makes a "table" of them: it stands off."""
    out: set[int] = set()
    start = 0
    for kind, block in _blocks(lines):
        span = range(start, start + len(block))
        start += len(block)
        multi = [n for n in span if kind == "table" and len(lines[n].cells) >= 2]
        for n in multi:
            close = any(m in span and abs(lines[m].y - lines[n].y) <= 3.5 * lines[n].size for m in (n - 1, n + 1))
            if close and any(0 < abs(n - m) <= 6 for m in multi):
                out.add(n)
    return out


def _blocks(lines: list[_Line]) -> list[tuple[str, list]]:
    """Split a page into ("text", lines) and ("table", lines) blocks."""
    blocks: list[tuple[str, list]] = []
    i = 0
    while i < len(lines):
        j = _table_end(lines, i)
        kind = "table" if j > i else "text"
        j = j if j > i else i + 1
        if blocks and blocks[-1][0] == kind == "text":
            blocks[-1][1].extend(lines[i:j])
        else:
            blocks.append((kind, lines[i:j]))
        i = j
    return blocks


def _table_end(lines: list[_Line], i: int) -> int:
    """End of a table starting at line i (i itself when none): two or more multi-cell lines sharing
    column positions, with the single-cell lines between them that sit in one of those columns."""
    if len(lines[i].cells) < 2:
        return i
    anchors = [x for x, _ in lines[i].cells]
    j, multi = i + 1, 1
    while j < len(lines):
        xs = [x for x, _ in lines[j].cells]
        if not all(any(abs(x - a) < 3 for a in anchors) for x in xs):
            break
        if len(xs) >= 2:
            multi += 1
        j += 1
    while j > i and len(lines[j - 1].cells) < 2 and not _inside(lines, i, j - 1):
        j -= 1
    return j if multi >= 2 else i


def _inside(lines: list[_Line], start: int, k: int) -> bool:
    """A single-cell line inside a table continues a cell only if it is not in the first column alone."""
    first = lines[start].cells[0][0]
    return abs(lines[k].cells[0][0] - first) >= 3


def _table_rows(lines: list[_Line]) -> tuple[list[list[str]], list[float]]:
    """(rows of cell texts, where the columns start): a row starts at a line with text in the first column (see
    _row_starts); the lines between continue its cells."""
    anchors = sorted({round(x) for line in lines for x, _ in line.cells})
    columns = _cluster(anchors)
    rows: list[list[list[str]]] = []
    for line, starts_row in zip(lines, _row_starts(lines, columns[0])):
        if starts_row or not rows:
            rows.append([[] for _ in columns])
        for x, text in line.cells:
            col = max(k for k, c in enumerate(columns) if c <= x + 3)
            rows[-1][col].append(text)
    return [[_join_all(parts) for parts in row] for row in rows], columns


def _row_starts(lines: list[_Line], first: float) -> list[bool]:
    """Which lines start a row. A line without text in the first column continues a row. Where rows are padded
    (most rows start after a gap wider than the spacing inside a cell), a first-column line one line below the
    last continues a wrapped first cell. Where they are not, gaps cannot tell a wrapped first cell from the next
    row, so every first-column line at least about a line below the last starts one: reading an evenly spaced
    table as one row, as the padded rule alone does, puts every row under one location."""
    in_first = [abs(line.cells[0][0] - first) < 3 for line in lines]
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:])]
    inside = [g for g, f in zip(gaps, in_first[1:]) if not f and g > 0]  # gaps certainly within a row
    spacing = _line_spacing(inside or [g for g in gaps if g > 0])
    first_gaps = [g for g, f in zip(gaps, in_first[1:]) if f]
    padded = sum(g > spacing * 1.25 for g in first_gaps) * 2 >= len(first_gaps)
    least = spacing * (1.25 if padded else 0.8)
    return [True] + [f and (not spacing or (g > least if padded else g >= least)) for g, f in zip(gaps, in_first[1:])]


def _cluster(xs: list[int]) -> list[float]:
    out: list[float] = []
    for x in xs:
        if not out or x - out[-1] > 3:
            out.append(float(x))
    return out


def _join_all(parts: list[str]) -> str:
    text = ""
    for part in parts:
        text = _join(text, part) if text else part
    return text


def _render_table(rows: list[list[str]]) -> tuple[list[str], list[str]]:
    """(header, rendered rows): a first row of short labels is the header that names every cell."""
    header = rows[0] if len(rows) > 1 and all(len(c) <= 40 for c in rows[0] if c) else []
    return header, [render_row(row, header) for row in (rows[1:] if header else rows)]


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Join lines into paragraphs where the gap between them is no wider than normal line spacing."""
    if not lines:
        return []
    normal = _line_spacing([a.y - b.y for a, b in zip(lines, lines[1:]) if a.y - b.y > 0])
    paras, current = [], lines[0].text
    for prev, line in zip(lines, lines[1:]):
        gap = prev.y - line.y
        if normal and gap > normal * 1.35 or gap < 0:
            paras.append(current)
            current = line.text
        else:
            current = _join(current, line.text)
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


def _check_text_layer(result: ReadResult, pages: list[list], recognised: dict[int, list[Passage]]) -> None:
    if pages and not any(pages) and not any(recognised.values()):
        if len(recognised) == len(pages):  # every page looked at: images, drawings or blank pages, no words
            result.error = "no text found: the pages have no text layer and text recognition (OCR) found none"
            return
        raise ReadError("no text layer: needs OCR")  # pages left unrecognised (the per-file budget ran out)
    empty = [i for i, lines in enumerate(pages, 1) if not lines and i not in recognised]
    if empty and len(empty) < len(pages):
        shown = ", ".join(map(str, empty[:10])) + ("..." if len(empty) > 10 else "")
        result.warnings.append(f"no text layer on page(s) {shown}: needs OCR")
