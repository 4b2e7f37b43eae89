"""Excel (.xlsx, .xlsm): every sheet, one passage per data row rendered with its header."""

from __future__ import annotations

from pathlib import Path

from .model import ROW, XLSX, Passage, ReadResult, render_row, short_error
from .safety import open_office

HEADER_SCAN_ROWS = 15  # header rows below a title block are common in registers
MAX_ROWS_PER_SHEET = 100_000


class ExcelReader:
    format = XLSX
    extensions = (".xlsx", ".xlsm")

    def read(self, path: Path) -> ReadResult:
        import openpyxl

        # data_only gives the cached values of formulas, which is what the author saw
        wb = open_office(path, self.format, lambda package: openpyxl.load_workbook(package, data_only=True))
        result = ReadResult(path=path, format=self.format, metadata=_properties(wb))
        hidden = []
        for ws in wb.worksheets:
            if ws.sheet_state != "visible":
                hidden.append(ws.title)
            try:
                result.passages.extend(_sheet_passages(ws, ws.sheet_state != "visible"))
                cut = _cut_rows(ws)
                if cut:  # a file read only in part says so: partial, with what is missing
                    result.warnings.append(f"sheet {ws.title}: {cut}")
            except Exception as exc:  # one bad sheet makes the file partial, not failed
                result.warnings.append(f"sheet {ws.title}: {short_error(exc)}")
        if hidden:
            result.metadata["hidden_sheets"] = ", ".join(hidden)
        return result.finish()


def _properties(wb) -> dict:
    props, meta = wb.properties, {}
    for key, attr in (("title", "title"), ("author", "creator"), ("subject", "subject"),
                      ("created", "created"), ("modified", "modified"), ("last_modified_by", "lastModifiedBy")):
        value = getattr(props, attr, None)
        if value:
            meta[key] = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
    return meta


def cell_text(value: object) -> str:
    """A cell's value as the text a passage shows: dates as ISO dates, whole floats without '.0', spaces folded."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d") if not getattr(value, "hour", 0) else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


Row = tuple[int, list[str]]  # a sheet row's number and its cells' text, column A first


def _grid(ws) -> list[Row]:
    """The sheet's rows that hold something, as text, from the cells that exist: the declared dimension and a
    far-away cell (XFD1, A1048576) cost nothing, as an empty row is never made. Each merged range's value is
    copied into every cell it covers."""
    cells = {(r, c): cell_text(cell.value) for (r, c), cell in ws._cells.items() if cell.value is not None}
    cells = {k: v for k, v in cells.items() if v and k[0] <= MAX_ROWS_PER_SHEET}
    for rng in ws.merged_cells.ranges:
        value = cells.get((rng.min_row, rng.min_col), "")
        if value and (rng.max_row - rng.min_row + 1) * (rng.max_col - rng.min_col + 1) <= 10_000:
            for r in range(rng.min_row, min(rng.max_row, MAX_ROWS_PER_SHEET) + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    cells[(r, c)] = value
    by_row: dict[int, dict[int, str]] = {}
    for (r, c), value in cells.items():
        by_row.setdefault(r, {})[c] = value
    rows = []
    for r in sorted(by_row):
        row = [""] * max(by_row[r])
        for c, value in by_row[r].items():
            row[c - 1] = value
        rows.append((r, row))
    return rows


def _cut_rows(ws) -> str:
    """What the row limit left out of a sheet, in words; empty when nothing was."""
    beyond = {r for (r, _), cell in ws._cells.items() if r > MAX_ROWS_PER_SHEET and cell.value not in (None, "")}
    if not beyond:
        return ""
    return (f"only the first {MAX_ROWS_PER_SHEET:,} rows were read; {len(beyond):,} rows with data below "
            f"(rows {min(beyond):,} to {max(beyond):,}) were cut")


def _header_index(rows: list[Row]) -> int | None:
    """The first row that looks like column names: several short text cells, data below it."""
    top = [(n, row) for n, row in rows if n <= HEADER_SCAN_ROWS]
    width = max((sum(1 for v in r if v) for _, r in top), default=0)
    for i, (n, row) in enumerate(top):
        filled = [v for v in row if v]
        # distinct values: a merged title banner fills many cells with one text
        if len(set(filled)) >= max(2, width // 2) and all(len(v) <= 60 and not _is_number(v) for v in filled):
            if i + 1 < len(rows) and rows[i + 1][0] <= n + 3:  # data right below it
                return i
    return None


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _sheet_passages(ws, hidden: bool) -> list[Passage]:
    return grid_passages(ws.title, _grid(ws), hidden)


def grid_passages(name: str, rows: list[Row], hidden: bool = False) -> list[Passage]:
    """A sheet's rows (number, cell texts) as passages: one per data row, rendered with the header found above
    it; any spreadsheet reader that can make the grid shares this."""
    h = _header_index(rows)
    header = rows[h][1] if h is not None else []
    title = " ".join(v for _, r in rows[: h or 0] for v in dict.fromkeys(r) if v)  # title block above the header
    sheet = f"{name} (hidden)" if hidden else name
    context = " | ".join(x for x in (f"sheet {sheet}", title, "columns: " + ", ".join(v for v in header if v) if header else "") if x)
    out = []
    for n, cells in rows[(h + 1) if h is not None else 0:]:
        text = _render(cells, header)
        if text:
            out.append(Passage(text=text, location=f"sheet {name}, row {n}", context=context,
                               kind=ROW, sheet=name, row=n))
    return out


def _render(cells: list[str], header: list[str]) -> str:
    return render_row(cells, header, merged=True)  # a merged cell spanning columns repeats its value
