"""The evidence matrix for the audit file: an Excel workbook (summary, requirements, evidence, reviews) or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3

from ingest import clean_text

from .db import EVIDENCE_ORDER

REQUIREMENTS_SQL = """
select m.requirement_id as "Requirement", m.framework as "Framework", m.stage as "Stage",
  m.stage_title as "Stage title", m.title as "Title", m.status as "Status", m.evidence_count as "Evidence links",
  m.document_count as "Documents", m.best_score as "Best score", m.best_evidence as "Best evidence",
  m.document as "Document", m.location as "Location", m.document_date as "Document date",
  c.not_applicable_reason as "Not applicable because"
from matrix m join coverage c on c.requirement_id = m.requirement_id
"""

EVIDENCE_SQL = """
select e.requirement_id as "Requirement", r.title as "Requirement title", e.source as "Source",
  e.via as "Via (crosswalk from)", round(e.score, 3) as "Score", p.text as "Passage", d.name as "Document",
  p.location as "Location", d.document_date as "Document date", v.decision as "Review", v.comment as "Review comment",
  v.reviewer as "Reviewer", v.reviewed_at as "Reviewed at"
from effective_evidence e
join passages p on p.id = e.passage_id
join documents d on d.id = p.document_id
join requirements r on r.id = e.requirement_id
left join current_reviews v on v.passage_hash = p.text_hash and v.requirement_id = e.requirement_id
order by r.framework, r.position, {order}
""".format(order=EVIDENCE_ORDER.format(e="e."))

REVIEWS_SQL = """
select reviewed_at as "Reviewed at", reviewer as "Reviewer", requirement_id as "Requirement", decision as "Decision",
  comment as "Comment", document_name as "Document", location as "Location" from reviews order by id
"""

ASSESSMENT_LOG_SQL = """
select reviewed_at as "Answered at", reviewer as "Assessor", framework as "Framework", requirement_id as "Item",
  party as "Party", answer as "Answer", suggested as "Tool suggested", comment as "Comment"
from assessment_reviews order by id
"""

SUMMARY_SQL = """
select r.framework, r.stage, r.stage_title,
  sum(c.status = 'evidenced'), sum(c.status = 'weak'), sum(c.status = 'gap'), sum(c.status = 'not_applicable'), count(*)
from requirements r join coverage c on c.requirement_id = r.id
group by r.framework, r.stage, r.stage_title
order by r.framework, min(r.position)
"""

SHEETS = {"requirements": REQUIREMENTS_SQL, "evidence": EVIDENCE_SQL, "reviews": REVIEWS_SQL}


class ExportError(Exception):
    """The export cannot be produced as asked."""


def _rows(conn: sqlite3.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    cursor = conn.execute(sql)
    return [c[0] for c in cursor.description], cursor.fetchall()


def export_csv(conn: sqlite3.Connection, sheet: str = "requirements") -> str:
    if sheet not in SHEETS:
        raise ExportError(f"unknown sheet '{sheet}': use one of {', '.join(SHEETS)}")
    header, rows = _rows(conn, SHEETS[sheet])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def export_workbook(conn: sqlite3.Connection, title: str = "Evidence matrix") -> bytes:
    """The workbook an assessor files: summary per framework and stage, requirements, evidence, reviews."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    summary.append([_cell(title)])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([f"Exported {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"])
    summary.append([])
    summary.append(["Framework", "Stage", "Stage title", "Evidenced", "Weak", "Gap", "Not applicable", "Requirements",
                    "Evidenced %"])
    for row in conn.execute(SUMMARY_SQL):
        summary.append([*map(_cell, row), round(100 * row[3] / row[7]) if row[7] else 0])
    _style_header(summary, 4, Font, PatternFill)
    for name, sql in (("Requirements", REQUIREMENTS_SQL), ("Evidence", EVIDENCE_SQL), ("Reviews", REVIEWS_SQL)):
        ws = wb.create_sheet(name)
        header, rows = _rows(conn, sql)
        ws.append(header)
        for row in rows:
            ws.append([_cell(v) for v in row])
        _style_header(ws, 1, Font, PatternFill)
        ws.freeze_panes = "A2"
        for column in ws.iter_cols(min_row=1, max_row=1):
            letter = column[0].column_letter
            wide = column[0].value in ("Best evidence", "Passage", "Title", "Requirement title", "Comment")
            ws.column_dimensions[letter].width = 60 if wide else 16
            if wide:
                for cell in ws[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    _assessment_sheets(wb, conn, Font, PatternFill, Alignment)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _assessment_sheets(wb, conn: sqlite3.Connection, Font, PatternFill, Alignment) -> None:
    """A sheet per enabled assessed framework (OGC, MUT, TB, ACOP): the verdicts as the console prints them, then
    one row per item with the tool's suggestion beside the assessor's decision and the passages cited."""
    from standards import CatalogueError

    from .assess import assess, assessed_frameworks, assessment_lines

    try:
        frameworks = assessed_frameworks(conn)
    except CatalogueError as exc:  # the matrix is still worth filing; say why its assessments are missing
        wb.create_sheet("Assessments").append([_cell(f"Assessments not exported: {exc}")])
        return
    for fw in frameworks:
        result = assess(conn, fw["id"])
        ws = wb.create_sheet(f"{fw['id']} assessment"[:31])
        verdicts = assessment_lines(result)
        for line in verdicts[:verdicts.index("")]:  # the lines before the items: name, verdicts, groups or grid
            ws.append([_cell(line)])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([])
        header_row = ws.max_row + 1
        ws.append(_assessment_header(result["assessment"]))
        for item in result["items"]:
            ws.append([_cell(v) for v in _assessment_row(item, result["assessment"])])
        _style_header(ws, header_row, Font, PatternFill)
        for cell in ws["I"][header_row:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for letter, width in zip("ABCDEFGHIJKL", (16, 50, 12, 14, 14, 14, 14, 14, 60, 14)):
            ws.column_dimensions[letter].width = width
    if frameworks:  # every answer ever given, withdrawn and replaced ones too: the audit trail
        ws = wb.create_sheet("Assessment answers")
        header, rows = _rows(conn, ASSESSMENT_LOG_SQL)
        ws.append(header)
        for row in rows:
            ws.append([_cell(v) for v in row])
        _style_header(ws, 1, Font, PatternFill)


def _assessment_header(kind: str) -> list[str]:
    if kind == "weighted_index":
        return ["Factor", "Title", "Weight", "Evidence", "Suggested level", "Party A", "Party B", "Counts as",
                "Passages cited", "Comments"]
    return ["Item", "Title", "Group", "Evidence", "Suggested", "Assessor decided", "Decided by", "Counts as",
            "Passages cited", "Comment"]


def _assessment_row(item: dict, kind: str) -> list:
    cited = "\n".join(f"{p['document']}, {p['location']}: {p['text'][:200]}" for p in item["passages"])
    if kind == "weighted_index":
        comments = "; ".join(f"{party}: {d['comment']}" for party, d in item["parties"].items() if d and d["comment"])
        return [item["id"], item["title"], item["weight"], item["evidence"], item["suggested"], item["levels"]["A"],
                item["levels"]["B"], item["answer"], cited, comments]
    decision = item["decision"] or {}
    due = "" if item.get("due", True) else " (not yet due)"
    return [item["id"], item["title"], item["stage"] + due, item["evidence"], item["suggested"], decision.get("answer"),
            decision.get("reviewer"), item["answer"], cited, decision.get("comment")]


def _style_header(ws, row: int, Font, PatternFill) -> None:
    for cell in ws[row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(value):
    if not isinstance(value, str):
        return value
    # databases written before text was cleaned where it enters still hold control characters,
    # which openpyxl refuses (the whole export would fail) and terminals obey
    value = clean_text(value)
    # text that starts like a formula must stay text in the assessor's spreadsheet
    return "'" + value if value.startswith(FORMULA_STARTS) else value
