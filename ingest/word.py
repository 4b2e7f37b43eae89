"""Word (.docx, .docm): body in reading order under its heading path, tables row by row,
content controls and text boxes, tracked changes as accepted text, comments kept apart."""

from __future__ import annotations

import re
from pathlib import Path

from .chunking import paragraph, refine
from .model import COMMENT, DOCX, TEXTBOX, Passage, ReadResult, section_prefix, table_passages
from .safety import core_properties, open_office

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.I)
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")


class WordReader:
    format = DOCX
    extensions = (".docx", ".docm")

    def read(self, path: Path) -> ReadResult:
        import docx  # imported here so a worker process pays for it only when it reads Word

        document = open_office(path, self.format, docx.Document)
        result = ReadResult(path=path, format=self.format)
        try:
            result.metadata = core_properties(document.core_properties)
        except Exception:  # a malformed properties part costs the metadata, not the text
            result.warnings.append("document properties unreadable")
        result.metadata.update(_headers_footers(document))
        walker = _BodyWalker(document)
        walker.walk(document.element.body)
        result.passages = refine(walker.passages) + _comments(document)
        if not result.metadata.get("title") and walker.first_heading:
            result.metadata["title"] = walker.first_heading
        return result.finish()


def _headers_footers(document) -> dict:
    headers, footers = [], []
    for section in document.sections:
        for part, sink in ((section.header, headers), (section.footer, footers)):
            try:
                text = " ".join(_text(p) for p in part._element.iter(f"{W}p")).strip()
            except Exception:
                continue
            if text and text not in sink:
                sink.append(text)
    return {k: " | ".join(v) for k, v in (("header", headers), ("footer", footers)) if v}


def _text(p) -> str:
    """A paragraph's text as accepted: inserted runs kept, deleted runs (w:delText) dropped,
    text boxes and the duplicate fallback drawing left to their own passages."""
    out: list[str] = []
    stack = list(reversed(list(p)))
    while stack:
        el = stack.pop()
        tag = el.tag
        if tag == f"{W}txbxContent" or tag == MC_FALLBACK or tag == f"{W}del":
            continue
        if tag == f"{W}t":
            out.append(el.text or "")
        elif tag == f"{W}tab":
            out.append("\t")
        elif tag in (f"{W}br", f"{W}cr"):
            out.append("\n")
        elif tag == f"{W}noBreakHyphen":
            out.append("-")
        else:
            stack.extend(reversed(list(el)))
    return " ".join("".join(out).replace("\t", " ").split(" ")).strip()


class _BodyWalker:
    """Walks the body once, keeping the heading path and numbering for exact locations."""

    def __init__(self, document):
        self.styles = _style_levels(document)
        self.numbered_styles = _numbered_styles(document)
        self.passages: list[Passage] = []
        self.path: list[tuple[int, str, str]] = []  # (level, number, title)
        self.counters = [0] * 9
        self.para_no = 0  # body paragraphs with text under the current heading, as a reader counts them
        self.table_no = 0
        self.box_no = 0  # text boxes, numbered in the document as tables are: never counted as paragraphs
        self.first_heading = ""

    # --- where we are
    def prefix(self) -> str:
        if not self.path:
            return ""
        number = self.path[-1][1]
        return f"section {number}, " if number else section_prefix(self.path[-1][2])

    def context(self) -> str:
        return " > ".join(f"{n} {t}".strip() for _, n, t in self.path)

    # --- walking
    def walk(self, parent) -> None:
        for el in parent:
            if el.tag == f"{W}p":
                self.on_paragraph(el)
            elif el.tag == f"{W}tbl":
                self.on_table(el)
            elif el.tag in (f"{W}sdt", f"{W}customXml", f"{W}ins", f"{W}smartTag"):
                self.walk(_content(el))

    def on_paragraph(self, p) -> None:
        text = _text(p)
        level = self.heading_level(p)
        if level and text:
            self.on_heading(level, text, p)
        elif text:
            self.para_no += 1
            self.passages.append(paragraph(text, self.prefix(), self.para_no, context=self.context()))
        self.text_boxes(p)

    def on_heading(self, level: int, text: str, p) -> None:
        self.first_heading = self.first_heading or text[:200]
        match = _NUMBERED.match(text)
        if match:
            number, title = match.group(1), text[match.end(1):].lstrip(". ").strip()
        elif _has_numbering(p, self.numbered_styles):
            self.counters[level - 1] += 1
            self.counters[level:] = [0] * (9 - level)
            number = ".".join(str(c or 1) for c in self.counters[:level])
            title = text
        else:
            number, title = "", text
        self.path = [h for h in self.path if h[0] < level] + [(level, number, title)]
        self.para_no = 0

    def heading_level(self, p) -> int:
        ppr = p.find(f"{W}pPr")
        if ppr is None:
            return 0
        outline = ppr.find(f"{W}outlineLvl")
        if outline is not None and outline.get(f"{W}val", "9").isdigit() and int(outline.get(f"{W}val")) < 9:
            return int(outline.get(f"{W}val")) + 1
        style = ppr.find(f"{W}pStyle")
        return self.styles.get(style.get(f"{W}val"), 0) if style is not None else 0

    def on_table(self, tbl) -> None:
        self.table_no += 1
        rows = _table_grid([tr for tr in tbl.iter(f"{W}tr") if _owning_table(tr) is tbl])
        self.passages += table_passages(rows, self.context(), f"{self.prefix()}table {self.table_no}")

    def text_boxes(self, p) -> None:
        for box in p.iter(f"{W}txbxContent"):
            if any(a.tag == MC_FALLBACK for a in box.iterancestors()):
                continue
            text = "\n".join(t for t in (_text(bp) for bp in box.iter(f"{W}p")) if t)
            if text:
                self.box_no += 1
                self.passages.append(Passage(text=text, location=f"{self.prefix()}text box {self.box_no}",
                                             context=self.context(), kind=TEXTBOX))


def _content(el):
    inner = el.find(f"{W}sdtContent")
    return inner if inner is not None else el


def _owning_table(tr):
    parent = tr.getparent()
    while parent is not None and parent.tag != f"{W}tbl":
        parent = parent.getparent()
    return parent


def _table_grid(trs: list) -> list[list[str]]:
    """Rows as the table's grid columns, so each value sits under its own header: a cell merged across columns
    (gridSpan) says its text in its first column and leaves the rest empty (a header naming both would be
    guessing); a cell merged down (vMerge) repeats its text in each row it spans, as a merged range in a sheet
    does, so each row says what the page shows beside it; columns a row skips (gridBefore) are empty."""
    rows: list[list[str]] = []
    above: list[str] = []
    for tr in trs:
        row = [""] * _grid_count(tr.find(f"{W}trPr/{W}gridBefore"), 0)
        for tc in _row_tcs(tr):
            merged_down = tc.find(f"{W}tcPr/{W}vMerge")
            continued = merged_down is not None and merged_down.get(f"{W}val", "continue") == "continue"
            text = above[len(row)] if continued and len(row) < len(above) else _cell_text(tc)
            row += [text] + [""] * (_grid_count(tc.find(f"{W}tcPr/{W}gridSpan"), 1) - 1)
        rows.append(row)
        above = row
    return rows


def _grid_count(el, default: int) -> int:
    value = el.get(f"{W}val", "") if el is not None else ""
    return min(int(value), 64) if value.isdigit() else default  # a damaged count never builds a huge row


def _row_tcs(tr) -> list:
    """A row's cells, those wrapped in a content control included."""
    cells = []
    for tc in tr:
        if tc.tag == f"{W}sdt":
            tc = _content(tc).find(f"{W}tc")
        if tc is not None and tc.tag == f"{W}tc":
            cells.append(tc)
    return cells


def _cell_text(tc) -> str:
    return " ".join(t for t in (_text(p) for p in tc.iter(f"{W}p")) if t)


def _style_levels(document) -> dict[str, int]:
    """Style id -> heading level, following based-on chains and outline levels."""
    levels: dict[str, int] = {}
    try:
        styles = document.styles.element
    except Exception:
        return levels
    for style in styles.iter(f"{W}style"):
        sid = style.get(f"{W}styleId")
        name_el = style.find(f"{W}name")
        name = name_el.get(f"{W}val", "") if name_el is not None else ""
        m = _HEADING_STYLE.match(name.strip()) or _HEADING_STYLE.match(sid or "")
        outline = style.find(f"{W}pPr/{W}outlineLvl")
        if m:
            levels[sid] = int(m.group(1))
        elif outline is not None and (outline.get(f"{W}val") or "9").isdigit() and int(outline.get(f"{W}val")) < 9:
            levels[sid] = int(outline.get(f"{W}val")) + 1
        elif name.lower() == "title":
            levels[sid] = 1
    return levels


def _has_numbering(p, numbered_styles: set[str]) -> bool:
    """Automatic numbering on the paragraph itself or through its style (numId 0 switches it off)."""
    num = p.find(f"{W}pPr/{W}numPr/{W}numId")
    if num is not None:
        return num.get(f"{W}val") != "0"
    style = p.find(f"{W}pPr/{W}pStyle")
    return style is not None and style.get(f"{W}val") in numbered_styles


def _numbered_styles(document) -> set[str]:
    """Paragraph styles that number their paragraphs, directly or through the styles they are based on."""
    try:
        styles = list(document.styles.element.iter(f"{W}style"))
    except Exception:
        return set()
    based_on, numbered = {}, set()
    for style in styles:
        sid = style.get(f"{W}styleId")
        base = style.find(f"{W}basedOn")
        based_on[sid] = base.get(f"{W}val") if base is not None else None
        num = style.find(f"{W}pPr/{W}numPr/{W}numId")
        if num is not None and num.get(f"{W}val") != "0":
            numbered.add(sid)
    for sid in based_on:
        seen, current = set(), based_on[sid]
        while current and current not in seen:
            if current in numbered:
                numbered.add(sid)
                break
            seen.add(current)
            current = based_on.get(current)
    return numbered


def _comments(document) -> list[Passage]:
    """Reviewers' comments: kept as passages of their own kind so they are searchable, never evidence."""
    out = []
    try:
        comments = [rel.target_part for rel in document.part.rels.values() if rel.reltype.endswith("/comments")]
    except Exception:
        return out
    for comment_part in comments:
        try:
            from lxml import etree

            root = etree.fromstring(comment_part.blob)
        except Exception:
            continue
        for n, c in enumerate(root.iter(f"{W}comment"), 1):
            text = "\n".join(t for t in (_text(p) for p in c.iter(f"{W}p")) if t)
            if text:
                author = c.get(f"{W}author", "")
                out.append(Passage(text=text, location=f"comment {n}" + (f" by {author}" if author else ""),
                                   kind=COMMENT))
    return out
