"""Writers of real Office, PDF, email and scanned files, for the sample pack, the tests' fixtures and the
benchmarks.

Not part of the runtime: the product reads these formats, it never writes them (fpdf2 is a demo and test
dependency only, and so is aspose-email-foss for .msg, a test one; python-pptx and Pillow come with the readers).
"""

from __future__ import annotations

import datetime as dt
import zipfile
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
    # openpyxl's save stamps the workbook modified now, whatever it was given; its writer, called directly, does not
    from openpyxl.writer.excel import ExcelWriter

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
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


def write_pptx(path: Path, title: str, slides: list[dict], when: dt.datetime, author: str = "Alliance Office") -> Path:
    """slides: {"title": str, "bullets": [str], "table": [header, *rows], "notes": str}, each key optional."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title = title
    deck.core_properties.author = author
    deck.core_properties.last_modified_by = author
    deck.core_properties.created = when
    deck.core_properties.modified = when
    for spec in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5 if "table" in spec else 1])  # title only / with body
        slide.shapes.title.text = spec.get("title", "")
        if spec.get("bullets"):
            body = slide.placeholders[1].text_frame
            body.text = spec["bullets"][0]
            for bullet in spec["bullets"][1:]:
                body.add_paragraph().text = bullet
        elif "table" not in spec and len(slide.placeholders) > 1:
            slide.placeholders[1].element.getparent().remove(slide.placeholders[1].element)
        if spec.get("table"):
            rows = spec["table"]
            shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(0.5), Inches(1.5), Inches(9), Inches(4))
            for r, values in enumerate(rows):
                for c, value in enumerate(values):
                    shape.table.cell(r, c).text = str(value)
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
    path.parent.mkdir(parents=True, exist_ok=True)
    deck.save(str(path))
    return path


def write_eml(path: Path, subject: str, body: str, when: dt.datetime, sender: str = "Alliance Office <office@example.org>",
              to: str = "Joint Management Team <jmt@example.org>", attachments: list[tuple[str, bytes]] | None = None,
              html: str | None = None, message_id: str | None = None) -> Path:
    """A saved email (RFC 822) with a plain text body (or `html` alone when body is empty) and attachments given
    as (file name, bytes)."""
    import mimetypes
    from email.message import EmailMessage
    from email.utils import format_datetime

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(when.replace(tzinfo=when.tzinfo or dt.timezone.utc))
    if body:
        message.set_content(body)
        if html:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    if message_id:
        message["Message-ID"] = message_id
    for name, data in attachments or []:
        if name.lower().endswith(".eml"):  # a forwarded message travels as message/rfc822, not as bytes
            from email import policy
            from email.parser import BytesParser

            message.add_attachment(BytesParser(policy=policy.default).parsebytes(data), filename=name)
            continue
        kind = (mimetypes.guess_type(name)[0] or "application/octet-stream").split("/")
        message.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(message.as_bytes())
    return path


def write_msg(path: Path, subject: str, body: str, when: dt.datetime, sender: str = "Alliance Office <office@example.org>",
              to: str = "Joint Management Team <jmt@example.org>", attachments: list[tuple[str, bytes]] | None = None,
              message_id: str | None = None) -> Path:
    """A saved Outlook email (.msg): a Compound File Binary container with the MAPI property streams Outlook
    writes (subject, body, sender name and SMTP address, the time sent, one storage per recipient and per
    attachment). Attachments are (file name, bytes); a name ending .msg attaches that Outlook message as an item
    (an embedded message, as Outlook attaches a mail), not as a file. aspose-email-foss writes it (pure Python,
    a test dependency only: extract-msg, which reads .msg, cannot write one)."""
    from email.utils import getaddresses, parseaddr

    from aspose.email_foss import cfb, msg

    message = msg.MapiMessage.create(subject, body)
    name, address = parseaddr(sender)
    message.set_property(msg.PropertyId.SENDER_NAME, name or address)
    message.set_property(msg.PropertyId.SENDER_EMAIL_ADDRESS, address)
    when = when.replace(tzinfo=when.tzinfo or dt.timezone.utc)
    message.set_property(0x0039, msg.PropertyTypeCode.PTYP_TIME, when)  # PR_CLIENT_SUBMIT_TIME: when it was sent
    message.set_property(msg.PropertyId.MESSAGE_DELIVERY_TIME, when)
    if message_id:
        message.set_property(msg.PropertyId.INTERNET_MESSAGE_ID, message_id)
    for name, address in getaddresses([to]):
        message.add_recipient(address, display_name=name or address)
    for name, data in attachments or []:
        if name.lower().endswith(".msg"):
            document = msg.MsgDocument.from_reader(msg.MsgReader(cfb.CFBReader(data)))
            message.add_embedded_message_attachment(msg.MapiMessage.from_msg_document(document), filename=name)
        else:
            message.add_attachment(name, data)
    document = message.to_msg_document()
    _embedded_headers(document.root)
    path.parent.mkdir(parents=True, exist_ok=True)
    msg.MsgWriter.write_file(document, path)
    return path


def _embedded_headers(storage) -> None:
    """[MS-OXMSG] 2.4.1.2: an attached message's property stream has a 24-byte header, not the top level's 32
    (aspose-email-foss 26.3 writes 32, and readers then take every property 8 bytes out of place)."""
    for child in storage.storages:
        if child.name == "__substg1.0_3701000D":  # PR_ATTACH_DATA_OBJ: the attached message's own storage
            props = next(s for s in child.streams if s.name == "__properties_version1.0")
            if (len(props.data) - 24) % 16:  # still 32: drop the 8 reserved bytes that end it
                props.data = props.data[:24] + props.data[32:]
        _embedded_headers(child)


def text_image(lines: list[str], width: int = 1654, size: int = 34, margin: int = 120):
    """A white page (A4 at 200 dpi by default) with the lines in black type: what a scanner makes of a letter."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)  # Pillow's bundled font: the same glyphs on every machine
    height = max(int(width * 1.414), margin * 2 + len(lines) * size * 2)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = margin
    for line in lines:
        if line:
            draw.text((margin, y), line, fill=0, font=font)
        y += int(size * (1.6 if line else 1.0))
    return image


def write_png(path: Path, lines: list[str], **kw) -> Path:
    """An image of a page of text (no lines: a blank, photo-like image with no text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text_image(lines, **kw).save(str(path))
    return path


def write_scan_pdf(path: Path, pages: list[list[str]], dpi: int = 200, when: dt.datetime | None = None,
                   **kw) -> Path:
    """A scanned document: each page an image of its lines (`kw` as for text_image), in a PDF with no text layer
    whose pages measure what the images do at `dpi`; `when` dates it (as a scanner does), else it is dated now."""
    images = [text_image(lines, **kw).convert("RGB") for lines in pages]
    path.parent.mkdir(parents=True, exist_ok=True)
    dates = {"creationDate": when.timetuple(), "modDate": when.timetuple()} if when else {}  # what Pillow writes
    images[0].save(str(path), "PDF", resolution=dpi, save_all=True, append_images=images[1:], **dates)
    return path


def write_odt(path: Path, title: str, blocks: list) -> Path:
    """An OpenDocument text: blocks as for write_docx, ("h1"|"h2", text), ("p", text), ("table", [header, *rows])."""
    from odf import dc, text
    from odf.opendocument import OpenDocumentText

    doc = OpenDocumentText()
    doc.meta.addElement(dc.Title(text=title))
    for kind, content in blocks:
        if kind in ("h1", "h2"):
            doc.text.addElement(text.H(outlinelevel=1 if kind == "h1" else 2, text=content))
        elif kind == "p":
            doc.text.addElement(text.P(text=content))
        elif kind == "table":
            doc.text.addElement(_odf_table("Table1", content))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def write_ods(path: Path, title: str, sheets: dict[str, list[list]]) -> Path:
    """An OpenDocument spreadsheet: one sheet per entry, the first row of each its header."""
    from odf import dc
    from odf.opendocument import OpenDocumentSpreadsheet

    doc = OpenDocumentSpreadsheet()
    doc.meta.addElement(dc.Title(text=title))
    for name, rows in sheets.items():
        doc.spreadsheet.addElement(_odf_table(name, rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _odf_table(name: str, rows: list[list]):
    from odf import table, text

    element = table.Table(name=name)
    for values in rows:
        row = table.TableRow()
        for value in values:
            cell = table.TableCell(valuetype="string")
            cell.addElement(text.P(text=str(value)))
            row.addElement(cell)
        element.addElement(row)
    return element


def write_xls(path: Path, sheets: dict[str, list[list]], when: dt.datetime | None = None) -> Path:
    """A legacy Excel (.xls, BIFF8) workbook: one sheet per entry, the first row of each its header; a datetime
    value is written as an Excel date (xlwt, a test and demo dependency)."""
    import xlwt

    book = xlwt.Workbook()
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if isinstance(value, dt.datetime):
                    sheet.write(r, c, value, dates)
                else:
                    sheet.write(r, c, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path
