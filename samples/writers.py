"""Writers of real Office and PDF files, for the sample pack, the tests' fixtures and the benchmarks.

Not part of the runtime: the product reads these formats, it never writes them (fpdf2 is a demo and test
dependency only).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def write_docx(path: Path, title: str, blocks: list, when: dt.datetime, author: str = "Alliance Office",
               header: str | None = None) -> Path:
    """blocks: ("h1"|"h2", text) headings, ("p", text) paragraphs, ("table", [header, *rows])."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.core_properties.created = when
    document.core_properties.modified = when
    if header:
        document.sections[0].header.paragraphs[0].text = header
        document.sections[0].footer.paragraphs[0].text = "Commercial in confidence. Uncontrolled when printed."
    document.add_heading(title, level=0)
    for kind, content in blocks:
        if kind in ("h1", "h2"):
            document.add_heading(content, level=1 if kind == "h1" else 2)
        elif kind == "p":
            document.add_paragraph(content)
        elif kind == "table":
            table = document.add_table(rows=0, cols=len(content[0]))
            for values in content:
                cells = table.add_row().cells
                for cell, value in zip(cells, values):
                    cell.text = str(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def write_xlsx(path: Path, title: str, sheets: dict[str, list[list]], when: dt.datetime,
               banner: str | None = None) -> Path:
    """One sheet per entry; the first row of each is its header. A banner puts a title block above it."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.title = title
    wb.properties.creator = "Alliance Office"
    wb.properties.created = when
    wb.properties.modified = when
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        if banner:
            ws.append([banner])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(2, len(rows[0])))
            ws.append([])
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return path


def write_pdf(path: Path, title: str, blocks: list, when: dt.datetime, running_header: str | None = None) -> Path:
    """blocks: ("h1", text) or ("p", text); long text flows over pages with a running header and page numbers."""
    from fpdf import FPDF

    class _Pdf(FPDF):
        def header(self):
            if running_header:
                self.set_font("Helvetica", "I", 8)
                self.cell(0, 6, running_header, new_x="LMARGIN", new_y="NEXT")
                self.ln(2)

        def footer(self):
            self.set_y(-12)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 6, f"Page {self.page_no()}", align="C")

    pdf = _Pdf(format="A4")
    pdf.set_title(title)
    pdf.set_author("Alliance Office")
    pdf.set_creation_date(when.replace(tzinfo=dt.timezone.utc))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, _latin(title))
    pdf.ln(3)
    for kind, text in blocks:
        if kind == "h1":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 7, _latin(text))
        else:
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.5, _latin(text))
        pdf.ln(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _latin(text: str) -> str:
    """The core PDF fonts speak Latin-1: replace typographic characters they lack."""
    for a, b in (("\u2013", "-"), ("\u2014", "-"), ("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")
