"""Older and open office formats: legacy Excel (.xls) with xlrd, OpenDocument text and spreadsheets (.odt, .ods)
with odfpy, and legacy Word (.doc), which no maintained pure-Python reader reads: said, never guessed at."""

from __future__ import annotations

import zipfile
from pathlib import Path

from .chunking import paragraph, refine
from .excel import MAX_ROWS_PER_SHEET, Row, cell_text, grid_passages
from .model import DOC, ODS, ODT, XLS, Passage, ReadError, ReadResult, section_prefix, short_error, table_passages
from .safety import KIND_NAMES, check_office_zip, is_encrypted_package, sniff

ODF_TYPES = {ODT: "application/vnd.oasis.opendocument.text", ODS: "application/vnd.oasis.opendocument.spreadsheet"}
MAX_COLUMNS = 1024  # a repeated empty column run (to the sheet's edge) is never expanded


class DocReader:
    format = DOC
    extensions = (".doc",)

    def read(self, path: Path) -> ReadResult:
        if sniff(path) != "ole":
            raise ReadError(f"not a Word file although named {path.suffix}")
        if is_encrypted_package(path):
            raise ReadError("password-protected Word file")
        return ReadResult(path=path, format=self.format, status="skipped",
                          error="legacy Word .doc: save it as .docx (or PDF) to include it")


class XlsReader:
    format = XLS
    extensions = (".xls",)

    def read(self, path: Path) -> ReadResult:
        import xlrd

        if sniff(path) != "ole":
            raise ReadError(f"not a legacy Excel file although named {path.suffix}")
        try:
            book = xlrd.open_workbook(str(path), on_demand=True)
        except xlrd.XLRDError as exc:
            if "encrypt" in str(exc).lower():
                raise ReadError("password-protected Excel file") from None
            raise ReadError(f"damaged Excel file: {short_error(exc)}") from None
        except Exception as exc:
            raise ReadError(f"damaged Excel file: {short_error(exc)}") from None
        result = ReadResult(path=path, format=self.format)
        if book.user_name:
            result.metadata["last_modified_by"] = book.user_name
        try:
            for index, name in enumerate(book.sheet_names()):
                try:
                    sheet = book.sheet_by_index(index)
                    hidden = getattr(sheet, "visibility", 0) != 0
                    result.passages.extend(grid_passages(name, _xls_grid(sheet, book.datemode), hidden))
                except Exception as exc:  # one bad sheet makes the file partial
                    result.warnings.append(f"sheet {name}: {short_error(exc)}")
        finally:
            book.release_resources()
        return result.finish()


def _xls_grid(sheet, datemode: int) -> list[Row]:
    import xlrd

    rows = []
    for r in range(min(sheet.nrows, MAX_ROWS_PER_SHEET)):
        cells = []
        for cell in sheet.row(r):
            value = cell.value
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    value = xlrd.xldate.xldate_as_datetime(value, datemode)
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    pass
            elif cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_EMPTY):
                value = None
            cells.append(cell_text(value))
        if any(cells):
            rows.append((r + 1, cells))
    return rows


def _open_odf(path: Path, fmt: str):
    """An OpenDocument package checked (a zip of the right type, not encrypted) and loaded."""
    from odf.opendocument import load

    name = KIND_NAMES[fmt]
    check_office_zip(path, fmt)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        mimetype = zf.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
        manifest = zf.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names else b""
    if b"encryption-data" in manifest:
        raise ReadError(f"password-protected {name} file: save it without a password")
    if mimetype and mimetype != ODF_TYPES[fmt]:
        raise ReadError(f"not an {name} file although named {path.suffix}")
    try:
        return load(str(path))
    except Exception as exc:
        raise ReadError(f"damaged {name} file: {short_error(exc)}") from None


def _odf_metadata(doc) -> dict:
    from odf import dc, meta

    out = {}
    for key, element in (("title", dc.Title), ("author", dc.Creator), ("subject", dc.Subject),
                         ("created", meta.CreationDate), ("modified", dc.Date)):
        try:
            found = doc.meta.getElementsByType(element)
        except Exception:
            continue
        if found and str(found[0]).strip():
            out[key] = str(found[0]).strip()
    return out


class OdsReader:
    format = ODS
    extensions = (".ods",)

    def read(self, path: Path) -> ReadResult:
        from odf.table import Table

        doc = _open_odf(path, self.format)
        result = ReadResult(path=path, format=self.format, metadata=_odf_metadata(doc))
        for table in doc.spreadsheet.getElementsByType(Table):
            name = table.getAttribute("name") or "sheet"
            try:
                result.passages.extend(grid_passages(name, _ods_grid(table)))
            except Exception as exc:  # one bad sheet makes the file partial
                result.warnings.append(f"sheet {name}: {short_error(exc)}")
        return result.finish()


def _ods_grid(table) -> list[Row]:
    """The sheet's rows with text; repeated rows and columns expanded only where they hold something."""
    from odf.table import TableCell, TableRow

    rows: list[Row] = []
    number = 0
    for row in table.getElementsByType(TableRow):
        repeat = int(row.getAttribute("numberrowsrepeated") or 1)
        cells: list[str] = []
        for cell in row.getElementsByType(TableCell):
            text = _odf_text(cell)
            span = int(cell.getAttribute("numbercolumnsrepeated") or 1)
            cells.extend([text] * (span if text else min(span, MAX_COLUMNS - len(cells))))
            if len(cells) >= MAX_COLUMNS:
                break
        if not any(cells):
            number += repeat
            continue
        for _ in range(min(repeat, 100)):  # a filled row repeated: the same row, said a few times at most
            number += 1
            if number <= MAX_ROWS_PER_SHEET:
                rows.append((number, cells))
        number += max(0, repeat - 100)
    return rows


def _odf_text(element) -> str:
    from odf import teletype

    return " ".join(teletype.extractText(element).split())


class OdtReader:
    format = ODT
    extensions = (".odt",)

    def read(self, path: Path) -> ReadResult:
        doc = _open_odf(path, self.format)
        result = ReadResult(path=path, format=self.format, metadata=_odf_metadata(doc))
        walker = _OdtWalker()
        walker.walk(doc.text)
        result.passages = refine(walker.passages)
        if not result.metadata.get("title") and walker.headings:
            result.metadata["title"] = walker.headings[0]
        return result.finish()


class _OdtWalker:
    """Body in reading order under its heading path; lists item by item, tables row by row with their header."""

    def __init__(self):
        self.passages: list[Passage] = []
        self.path: list[tuple[int, str]] = []
        self.para_no = self.table_no = 0
        self.headings: list[str] = []

    def prefix(self) -> str:
        return section_prefix(self.path[-1][1]) if self.path else ""

    def context(self) -> str:
        return " > ".join(t for _, t in self.path)

    def walk(self, parent) -> None:
        for el in parent.childNodes:
            tag = getattr(el, "qname", (None, None))[1]
            if tag == "h":
                self.on_heading(el)
            elif tag == "p":
                self.on_paragraph(_odf_text(el))
            elif tag == "table":
                self.on_table(el)
            elif tag in ("list", "list-item", "section", "list-header"):
                self.walk(el)

    def on_heading(self, el) -> None:
        text = _odf_text(el)
        if not text:
            return
        level = int(el.getAttribute("outlinelevel") or 1)
        self.headings.append(text)
        self.path = [h for h in self.path if h[0] < level] + [(level, text)]
        self.para_no = 0

    def on_paragraph(self, text: str) -> None:
        if text:
            self.para_no += 1
            self.passages.append(paragraph(text, self.prefix(), self.para_no, context=self.context()))

    def on_table(self, table) -> None:
        self.table_no += 1
        self.passages += table_passages(_odt_grid(table), self.context(), f"{self.prefix()}table {self.table_no}")


def _odt_grid(table) -> list[list[str]]:
    """A text table's rows as its grid columns, as Word's are read: a cell merged across columns says its text in
    its first column (the covered cells beside it are empty), a cell merged down repeats its text in the rows it
    covers. Rows of a table nested in a cell are that cell's text, not rows of this table."""
    rows: list[list[str]] = []
    down: dict[tuple[int, int], str] = {}  # (row, column) covered by a cell merged down from above -> its text
    for r, row in enumerate(_odt_rows(table)):
        cells: list[str] = []
        for el in row.childNodes:
            tag = getattr(el, "qname", (None, None))[1]
            if tag not in ("table-cell", "covered-table-cell"):
                continue
            own = _odf_text(el) if tag == "table-cell" else None
            spanned = min(int(el.getAttribute("numberrowsspanned") or 1), 1000) if own is not None else 1
            repeat = min(int(el.getAttribute("numbercolumnsrepeated") or 1), MAX_COLUMNS - len(cells))
            for _ in range(max(repeat, 0)):  # an empty cell repeated to the page's edge is never expanded
                text = own if own is not None else down.get((r, len(cells)), "")
                down.update({(r + k, len(cells)): text for k in range(1, spanned)})
                cells.append(text)
        rows.append(cells)
    return rows


def _odt_rows(parent) -> list:
    """A table's own rows, those inside header-row and row-group elements included."""
    rows = []
    for el in parent.childNodes:
        tag = getattr(el, "qname", (None, None))[1]
        if tag == "table-row":
            rows.append(el)
        elif tag in ("table-header-rows", "table-rows", "table-row-group"):
            rows.extend(_odt_rows(el))
    return rows
