"""PowerPoint (.pptx, .pptm): slide by slide, the title as context, text frames as paragraphs, tables row by row
with their header, speaker notes; grouped shapes are read inside their group."""

from __future__ import annotations

from pathlib import Path

from .chunking import paragraph, refine
from .model import PARAGRAPH, PPTX, Passage, ReadResult, short_error, table_passages
from .safety import core_properties, open_office


class PowerPointReader:
    format = PPTX
    extensions = (".pptx", ".pptm")

    def read(self, path: Path) -> ReadResult:
        import pptx  # imported here so a worker process pays for it only when it reads PowerPoint

        deck = open_office(path, self.format, pptx.Presentation)
        result = ReadResult(path=path, format=self.format, metadata=_properties(deck))
        passages: list[Passage] = []
        for number, slide in enumerate(deck.slides, 1):
            try:
                passages.extend(_slide_passages(number, slide))
            except Exception as exc:  # one broken slide makes the file partial
                result.warnings.append(f"slide {number}: unreadable ({short_error(exc)})")
        result.passages = refine(passages)
        if not result.metadata.get("title"):
            first = next((p.context for p in result.passages if p.context), "")
            if first:
                result.metadata["title"] = first
        return result.finish()


def _properties(deck) -> dict:
    try:
        return core_properties(deck.core_properties)
    except Exception:  # a malformed properties part costs the metadata, not the slides
        return {}


def _slide_passages(number: int, slide) -> list[Passage]:
    title_shape = slide.shapes.title
    title = _frame_text(title_shape.text_frame) if title_shape is not None and title_shape.has_text_frame else ""
    title = " ".join(title.split())
    prefix = f"slide {number}, "
    out: list[Passage] = []
    para_no = table_no = 0
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            table_no += 1
            out.extend(_table_passages(shape.table, f"{prefix}table {table_no}", title, number))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            for text in _paragraphs(shape.text_frame):
                para_no += 1
                out.append(paragraph(text, prefix, para_no, context=title, page=number))
    if title and not out:  # a section divider: its title is all it says
        out.append(Passage(text=title, location=f"{prefix}title", context=title, page=number))
    notes = _notes(slide)
    if notes:
        out.append(Passage(text=notes, location=f"{prefix}notes", context=title, kind=PARAGRAPH, page=number))
    return out


def _shapes(shapes):
    """Every shape in reading order, groups opened (their shapes sit inside them)."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _frame_text(frame) -> str:
    return "\n".join(p.text for p in frame.paragraphs)


def _paragraphs(frame) -> list[str]:
    """A text frame's paragraphs, vertical tabs (soft line breaks) as spaces."""
    texts = (" ".join(p.text.replace("\v", " ").split()) for p in frame.paragraphs)
    return [t for t in texts if t]


def _table_passages(table, where: str, title: str, slide: int) -> list[Passage]:
    """A slide's table row by row. Every grid cell is in the file, so values keep their columns; a cell merged
    across is empty beside its origin, and one merged down repeats the text above, as Word's do."""
    rows: list[list[str]] = []
    for row in table.rows:
        above = rows[-1] if rows else []
        # cell._tc.vMerge: python-pptx's own API says "spanned" only, not which way
        rows.append([above[i] if cell._tc.vMerge and i < len(above) else " ".join(cell.text.split())
                     for i, cell in enumerate(row.cells)])
    return table_passages(rows, title, where, page=slide)


def _notes(slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return "\n".join(_paragraphs(frame)) if frame is not None else ""
