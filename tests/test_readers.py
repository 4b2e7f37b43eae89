"""Each reader on real files written by the fixtures."""

import re

import docx
import openpyxl
import pytest
from helpers import rewrite_zip_member

from ingest import read_document

EXTRA_BODY = """
<w:sdt><w:sdtPr><w:alias w:val="Owner"/></w:sdtPr><w:sdtContent>
  <w:p><w:r><w:t>Content control: the relationship manager owns this plan.</w:t></w:r></w:p>
</w:sdtContent></w:sdt>
<w:p>
  <w:r><w:t xml:space="preserve">The joint risk register is </w:t></w:r>
  <w:ins w:id="91" w:author="Reviewer" w:date="2026-01-01T00:00:00Z"><w:r><w:t xml:space="preserve">jointly </w:t></w:r></w:ins>
  <w:del w:id="92" w:author="Reviewer" w:date="2026-01-01T00:00:00Z"><w:r><w:delText xml:space="preserve">never </w:delText></w:r></w:del>
  <w:r><w:t>reviewed every month by both partners.</w:t></w:r>
</w:p>
<w:p><w:r><w:t>This paragraph anchors a text box that holds an escalation note.</w:t></w:r><w:r>
  <mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:inline><wp:docPr id="5" name="Box"/>
    <a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
    <wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>Text box: escalate unresolved issues to the SERs.</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp>
    </a:graphicData></a:graphic></wp:inline></w:drawing></mc:Choice>
  <mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>Text box: escalate unresolved issues to the SERs.</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>
  </mc:AlternateContent></w:r></w:p>
"""


def _by_text(result, fragment):
    found = [p for p in result.passages if fragment in p.text]
    assert found, f"{fragment!r} not in {[p.text for p in result.passages]}"
    return found[0]


def test_docx_headings_tables_and_metadata(make_docx):
    path = make_docx("rmp.docx", [
        ("h1", "4 Governance"),
        ("h2", "4.2 Joint management team"),
        ("p", "The joint management team meets monthly and owns the joint risk register."),
        ("table", [["Forum", "Members", "Meets"], ["JMT", "Both delivery leads", "Monthly"]]),
        ("h1", "Exit strategy"),
        ("p", "The exit strategy is reviewed every January by the board."),
    ], title="Relationship management plan", header="RMP v3 - CONTROLLED")
    result = read_document(path)
    assert result.status == "ok", result.error
    p = _by_text(result, "meets monthly")
    assert p.location == "section 4.2, paragraph 1"
    assert p.context == "4 Governance > 4.2 Joint management team"
    row = _by_text(result, "Both delivery leads")
    assert row.kind == "row" and row.text == "Forum: JMT; Members: Both delivery leads; Meets: Monthly"
    assert row.location == "section 4.2, table 1, row 2"
    assert _by_text(result, "reviewed every January").location == 'section "Exit strategy", paragraph 1'
    assert result.metadata["title"] == "Relationship management plan"
    assert result.metadata["created"].startswith("2026-01-15")
    assert result.metadata["header"] == "RMP v3 - CONTROLLED"
    assert not any("CONTROLLED" in p.text or "Uncontrolled" in p.text for p in result.passages)
    assert result.metadata["doc_type"] == "rmp"


def test_docx_content_controls_tracked_changes_text_boxes(make_docx):
    path = make_docx("plan.docx", [("p", "Opening paragraph of the plan, long enough to stand alone.")])
    rewrite_zip_member(path, "word/document.xml", lambda xml: xml.replace("<w:sectPr", EXTRA_BODY + "<w:sectPr", 1))
    result = read_document(path)
    assert result.status == "ok", result.error
    texts = [p.text for p in result.passages]
    assert "Content control: the relationship manager owns this plan." in texts
    assert "The joint risk register is jointly reviewed every month by both partners." in texts
    assert not any("never" in t for t in texts)
    boxes = [p for p in result.passages if "Text box" in p.text]
    assert len(boxes) == 1 and boxes[0].kind == "textbox"  # the fallback copy is not read twice


def test_docx_text_box_is_not_counted_as_a_paragraph(make_docx):
    path = make_docx("plan.docx", [("h1", "1 Escalation"), ("p", "Opening paragraph of the plan, long enough to stand alone.")])
    after = "<w:p><w:r><w:t>The fifth paragraph of the section, the first after the text box.</w:t></w:r></w:p>"
    rewrite_zip_member(path, "word/document.xml", lambda xml: xml.replace("<w:sectPr", EXTRA_BODY + after + "<w:sectPr", 1))
    result = read_document(path)
    assert _by_text(result, "anchors a text box").location == "section 1, paragraph 4"
    assert _by_text(result, "Text box: escalate").location == "section 1, text box 1"
    assert _by_text(result, "first after the text box").location == "section 1, paragraph 5"


def test_docx_comments_are_kept_apart(tmp_path):
    document = docx.Document()
    paragraph = document.add_paragraph("The exit strategy is reviewed by the joint management team every year.")
    document.add_comment(paragraph.runs, text="Is this still true after the restructure?", author="Auditor")
    path = tmp_path / "commented.docx"
    document.save(str(path))
    result = read_document(path)
    comment = _by_text(result, "still true after")
    assert comment.kind == "comment" and comment.location == "comment 1 by Auditor"
    body = _by_text(result, "exit strategy is reviewed")
    assert body.kind == "paragraph" and "restructure" not in body.text


def test_xlsx_rows_with_header_below_title_merged_cells_hidden_sheets(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Risks"
    ws.append(["Joint Risk Register - as at March"])
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["Risk", "Owner", "Mitigation", "Score"])
    ws.append(["Supplier insolvency", "Commercial lead", "Monthly credit checks", 12])
    ws.append(["Key staff turnover", None, "Deputies for key roles", 9])
    ws.merge_cells("B4:B5")  # one owner for two risks
    hidden = wb.create_sheet("Archive")
    hidden.append(["Risk", "Owner"])
    hidden.append(["Old risk", "Nobody"])
    hidden.sheet_state = "hidden"
    path = tmp_path / "joint-risk-register.xlsx"
    wb.save(str(path))
    result = read_document(path)
    assert result.status == "ok", result.error
    first = _by_text(result, "Supplier insolvency")
    assert first.text == "Risk: Supplier insolvency; Owner: Commercial lead; Mitigation: Monthly credit checks; Score: 12"
    assert first.location == "sheet Risks, row 4"
    assert "Joint Risk Register - as at March" in first.context
    second = _by_text(result, "Key staff turnover")
    assert "Owner: Commercial lead" in second.text  # the merged cell's value applies to every row it spans
    archived = _by_text(result, "Old risk")
    assert "hidden" in archived.context and archived.location == "sheet Archive, row 2"
    assert result.metadata["hidden_sheets"] == "Archive"
    assert result.metadata["doc_type"] == "register"


def test_xlsx_reads_cached_formula_values(make_xlsx):
    path = make_xlsx("scores.xlsx", {"Scores": [["Risk", "Likelihood", "Impact", "Score"],
                                                ["Late design approvals", 3, 4, "=B2*C2"]]})
    # openpyxl cannot write a cached value; Excel always does, so add one the way Excel stores it
    rewrite_zip_member(path, "xl/worksheets/sheet1.xml",
                       lambda xml: xml.replace("<f>B2*C2</f><v></v>", "<f>B2*C2</f><v>12</v>")
                       .replace("<f>B2*C2</f></c>", "<f>B2*C2</f><v>12</v></c>"))
    result = read_document(path)
    assert _by_text(result, "Late design approvals").text.endswith("Score: 12")


def test_pdf_pages_paragraphs_running_lines_and_hyphenation(make_pdf):
    filler = " ".join(["The joint management team reviewed progress against the agreed plan."] * 6)
    blocks = [("h1", "1 Background")] + [("p", f"Paragraph {i}. {filler}") for i in range(1, 12)]
    blocks.append(("p", "The partners agreed a co-ordinated approach to knowledge manage-\nment across both organisations."))
    path = make_pdf("review.pdf", blocks, running_header="Annual review - commercial in confidence")
    result = read_document(path)
    assert result.status == "ok", result.error
    pages = {p.page for p in result.passages}
    assert len(pages) >= 2
    assert not any("commercial in confidence" in p.text for p in result.passages)
    assert not any(p.text.strip().startswith("Page ") for p in result.passages)
    assert any("knowledge management across" in p.text for p in result.passages)
    p5 = _by_text(result, "Paragraph 5.")
    assert p5.location.startswith(f"page {p5.page}, paragraph")


def _table_pdf(path, pages, rows_per_page=4, running_header=None, header_once=False):
    """A register printed as a table of evenly spaced one-line rows (no padding between rows), its header
    repeated at the top of every page it runs onto (with `header_once`, on the first page only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for page in range(pages):
        pdf.add_page()
        if running_header:
            pdf.cell(0, 6, running_header, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        if page == 0:
            pdf.multi_cell(0, 6, "The joint risk register lists each risk with its owner and mitigation.")
            pdf.ln(4)
        body = [(f"Risk {page}{i}", f"Owner {chr(65 + i)}", f"Mitigation {chr(65 + i)}") for i in range(rows_per_page)]
        for row in ([] if header_once and page else [("Risk", "Owner", "Mitigation")]) + body:
            for width, value in zip((35, 45, 60), row):
                pdf.cell(width, 7, value)
            pdf.ln(7)
    pdf.output(str(path))
    return path


def test_pdf_table_of_evenly_spaced_rows_is_read_row_by_row(tmp_path):
    result = read_document(_table_pdf(tmp_path / "register.pdf", pages=1))
    rows = [p for p in result.passages if p.kind == "row"]
    assert [p.location for p in rows] == [f"page 1, table 1, row {n}" for n in range(2, 6)]
    assert rows[0].text == "Risk: Risk 00; Owner: Owner A; Mitigation: Mitigation A"
    assert rows[3].text == "Risk: Risk 03; Owner: Owner D; Mitigation: Mitigation D"
    assert all(p.context == "columns: Risk, Owner, Mitigation" for p in rows)


def test_pdf_table_continued_over_pages_keeps_its_header_on_every_page(tmp_path):
    path = _table_pdf(tmp_path / "register.pdf", pages=3, running_header="Joint risk register - confidential")
    result = read_document(path)
    assert not any("confidential" in p.text for p in result.passages)
    for page in (1, 2, 3):
        rows = [p for p in result.passages if p.kind == "row" and p.page == page]
        assert [p.row for p in rows] == [2, 3, 4, 5], page
        assert all(p.context == "columns: Risk, Owner, Mitigation" for p in rows)
        assert rows[-1].text == f"Risk: Risk {page - 1}3; Owner: Owner D; Mitigation: Mitigation D"


def test_pdf_table_going_on_over_pages_without_its_header_keeps_the_first_pages_header(tmp_path):
    """The usual printed register: the header on its first page only. The next pages' rows are data named by
    that header, never a header of their own."""
    result = read_document(_table_pdf(tmp_path / "register.pdf", pages=3, header_once=True))
    for page in (1, 2, 3):
        rows = [p for p in result.passages if p.kind == "row" and p.page == page]
        assert [p.text for p in rows] == [f"Risk: Risk {page - 1}{i}; Owner: Owner {chr(65 + i)}; "
                                          f"Mitigation: Mitigation {chr(65 + i)}" for i in range(4)], page
        assert all(p.context == "columns: Risk, Owner, Mitigation" for p in rows)
        assert [p.row for p in rows] == ([2, 3, 4, 5] if page == 1 else [1, 2, 3, 4])


def test_pdf_table_row_with_wrapped_cells_stays_one_row(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    with pdf.table(col_widths=(25, 50, 60), padding=2) as table:
        for values in (("Risk", "Owner", "Mitigation"), ("Supplier insolvency risk", "Commercial lead", "Credit checks"),
                       ("Fraud", "Finance", "Audit")):
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.output(str(tmp_path / "wrapped.pdf"))
    rows = [p for p in read_document(tmp_path / "wrapped.pdf").passages if p.kind == "row"]
    assert [(p.location, p.text) for p in rows] == [
        ("page 1, table 1, row 2", "Risk: Supplier insolvency risk; Owner: Commercial lead; Mitigation: Credit checks"),
        ("page 1, table 1, row 3", "Risk: Fraud; Owner: Finance; Mitigation: Audit")]


@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
def test_pdf_without_text_anywhere_is_skipped_with_the_reason(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a drawing, as a scanned page would be an image
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    result = read_document(path)
    assert result.status == "skipped", result  # read, and recognised: nothing that could be evidence
    assert result.error == "no text found: the pages have no text layer and text recognition (OCR) found none"


def test_text_markdown_and_csv(tmp_path):
    (tmp_path / "notes.txt").write_text("First note: the joint risk register was reviewed.\n\nSecond note: the exit strategy was agreed by both.\n")
    (tmp_path / "notes.md").write_text("# Plan\n\n## Risks\n\nThe joint register is reviewed monthly by the team.\n")
    (tmp_path / "risks.csv").write_text("Risk,Owner\nSupplier failure,Commercial lead\n")
    txt = read_document(tmp_path / "notes.txt")
    assert [p.location for p in txt.passages] == ["paragraph 1", "paragraph 2"]
    md = read_document(tmp_path / "notes.md")
    assert md.passages[0].context == "Plan > Risks" and md.passages[0].location == 'section "Risks", paragraph 1'
    csv_result = read_document(tmp_path / "risks.csv")
    assert csv_result.passages[0].text == "Risk: Supplier failure; Owner: Commercial lead"
    assert csv_result.passages[0].location == "row 2"


def test_markdown_heading_on_the_line_above_its_text_is_a_heading(tmp_path):
    (tmp_path / "exit.md").write_text(
        "# Exit strategy\nThe alliance will review the exit strategy every year with both partners.\n"
        "The joint management team keeps the exit plan under review between those reviews.\n"
        "## Triggers\nEither partner may give twelve months' notice to the other under clause 9.\n")
    result = read_document(tmp_path / "exit.md")
    assert result.status == "ok", result.error
    assert result.metadata["title"] == "Exit strategy"
    assert [(p.location, p.context) for p in result.passages] == [
        ('section "Exit strategy", paragraph 1', "Exit strategy"),
        ('section "Triggers", paragraph 1', "Exit strategy > Triggers")]
    assert result.passages[0].text.startswith("The alliance will review")
    assert "#" not in result.passages[0].text and "Triggers" not in result.passages[0].text


def test_long_paragraphs_split_at_sentences_and_fragments_merge(make_docx):
    long_text = " ".join(f"Sentence number {i} explains one more part of the joint plan." for i in range(40))
    path = make_docx("long.docx", [("h1", "1 Plan"), ("p", long_text), ("p", "Agreed."),
                                   ("p", "The board will:"), ("p", "- review risks"), ("p", "- review value")])
    result = read_document(path)
    parts = [p for p in result.passages if p.text.startswith("Sentence") or " Sentence number" in p.text]
    assert len(parts) >= 3 and all(len(p.text) <= 900 for p in parts)
    assert parts[0].location == "section 1, paragraph 1, part 1"
    assert all(p.text.endswith(".") for p in parts)
    listing = _by_text(result, "The board will:")
    assert listing.text == "The board will:\n- review risks\n- review value"
    assert listing.location == "section 1, paragraphs 3-5"


def _to_strict(path):
    """Rewrite a Transitional package the way Word's 'Strict Open XML' option saves it."""
    import re

    def strict(xml):
        return re.sub(r"http://schemas\.openxmlformats\.org/(\w+)/2006/(\w+)", r"http://purl.oclc.org/ooxml/\1/\2", xml)

    import zipfile

    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith((".xml", ".rels")) and n != "[Content_Types].xml"]
    for name in names:
        rewrite_zip_member(path, name, strict)


def test_iso_strict_word_and_excel_files_are_read(make_docx, make_xlsx):
    word = make_docx("strict.docx", [("h1", "2 Governance"), ("p", "The joint management team meets every month.")])
    excel = make_xlsx("strict.xlsx", {"Risks": [["Risk", "Owner"], ["Supplier failure", "Commercial lead"]]})
    for path in (word, excel):
        _to_strict(path)
        assert b"purl.oclc.org" in __import__("zipfile").ZipFile(path).read("_rels/.rels")
    doc = read_document(word)
    assert doc.status == "ok", doc.error
    assert _by_text(doc, "meets every month").location == "section 2, paragraph 1"
    book = read_document(excel)
    assert book.status == "ok", book.error
    assert _by_text(book, "Supplier failure").text == "Risk: Supplier failure; Owner: Commercial lead"


def test_an_empty_document_is_skipped_not_failed(make_docx):
    result = read_document(make_docx("blank.docx", []))
    # the writer adds the title as a heading only; a heading is context, not a passage
    assert (result.status, result.error) == ("skipped", "no text found in the file")


def test_a_styled_cell_far_away_does_not_inflate_the_sheet(tmp_path):
    from openpyxl.styles import Font

    from ingest.excel import _grid

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Risk", "Owner"])
    ws.append(["Supplier failure", "Commercial lead"])
    ws["XFD1048576"].font = Font(bold=True)  # formatting only, as some templates carry
    path = tmp_path / "wide.xlsx"
    wb.save(str(path))
    loaded = openpyxl.load_workbook(str(path))
    assert len(_grid(loaded.active)) == 2
    assert [p.text for p in read_document(path).passages] == ["Risk: Supplier failure; Owner: Commercial lead"]


def test_macro_enabled_word_file_is_read_without_running_anything(make_docx, tmp_path):
    path = make_docx("plan.docx", [("p", "The joint management team owns the relationship management plan.")])
    rewrite_zip_member(path, "[Content_Types].xml", lambda xml: xml.replace(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml"))
    docm = path.rename(tmp_path / "plan.docm")
    result = read_document(docm)
    assert result.status == "ok", result.error
    assert result.format == "docx" and result.passages[0].text.startswith("The joint management team")


def test_untitled_word_file_takes_its_title_heading(tmp_path):
    document = docx.Document()
    document.add_heading("Alliance Board - minutes of 18 March", level=0)
    document.add_paragraph("The board reviewed the joint risk register and the value register.")
    document.save(str(tmp_path / "board.docx"))
    result = read_document(tmp_path / "board.docx")
    assert result.metadata["title"] == "Alliance Board - minutes of 18 March"
    assert result.metadata["doc_type"] == "minutes"


def test_document_type_follows_the_title_head_noun():
    from ingest import infer_doc_type

    cases = {
        "Highways Term Service Contract - Partner Selection and Mobilisation Summary": "report",
        "Partnership Value for Money Review 2025 (Contract Year 3)": "report",
        "Alliance Agreement - Extract": "contract",
        "Joint Relationship Management Plan (JRMP) 2026, version 4.0": "rmp",
        "Joint Risk and Issues Register (as at 19 May 2026)": "register",
        "Collaborative working policy": "policy",
        "Collaboration Charter, version 2.0": "charter",
        "Precautionary Gritting Route Schedule": "other",
    }
    for title, expected in cases.items():
        assert infer_doc_type("document.pdf", title) == expected, title


def test_numbered_statements_stay_apart_while_short_items_merge(make_docx):
    path = make_docx("charter.docx", [
        ("h1", "2 Our commitments"),
        ("p", "1. We keep our promises and say early when we cannot."),
        ("p", "2. We talk regularly, above all when something goes wrong."),
        ("p", "The board will:"), ("p", "a) approve the plan"), ("p", "b) review the risks"),
    ])
    texts = [p.text for p in read_document(path).passages]
    assert texts == ["1. We keep our promises and say early when we cannot.",
                     "2. We talk regularly, above all when something goes wrong.",
                     "The board will:\na) approve the plan\nb) review the risks"]


def test_headings_numbered_by_their_style_keep_section_numbers(make_docx):
    path = make_docx("contract.docx", [("h1", "Governance"), ("p", "The board meets every quarter to review performance."),
                                       ("h2", "Joint management team"), ("p", "The team meets monthly and owns the risks."),
                                       ("h1", "Exit"), ("p", "The exit plan is reviewed every January by both parties.")])
    numbering = '<w:pPr><w:numPr><w:ilvl w:val="{lvl}"/><w:numId w:val="1"/></w:numPr>'

    def number_styles(xml):
        for sid, lvl in (("Heading1", 0), ("Heading2", 1)):
            pattern = rf'(<w:style [^>]*w:styleId="{sid}"[^>]*>.*?)<w:pPr>'
            xml = re.sub(pattern, lambda m, lvl=lvl: m.group(1) + numbering.format(lvl=lvl), xml, count=1, flags=re.S)
        return xml

    rewrite_zip_member(path, "word/styles.xml", number_styles)
    locations = {p.text[:12]: p.location for p in read_document(path).passages}
    assert locations["The board me"] == "section 1, paragraph 1"
    assert locations["The team mee"] == "section 1.1, paragraph 1"
    assert locations["The exit pla"] == "section 2, paragraph 1"


def _read_with_memory_limit(path, limit_bytes=1_500_000_000):
    """read_document in a child process that may not grow past `limit_bytes`: a reader that trusts a declared
    size fails there with MemoryError instead of taking the machine's memory."""
    import json
    import subprocess
    import sys

    script = ("import json, resource, sys; from ingest import read_document; "
              f"resource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes})); "
              "r = read_document(sys.argv[1]); "
              "print(json.dumps([r.status, r.error, [(p.location, p.text) for p in r.passages]]))")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_a_sparse_workbook_is_read_from_its_real_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["XFD1"], ws["A100000"] = "Risk", "Owner", "Supplier failure"
    path = tmp_path / "sparse.xlsx"
    wb.save(str(path))
    assert path.stat().st_size < 10_000
    status, error, passages = _read_with_memory_limit(path)
    assert (status, error) == ("ok", "")
    assert passages == [["sheet Sheet, row 1", "Risk; Owner"], ["sheet Sheet, row 100000", "Supplier failure"]]


def test_a_sheet_cut_at_the_row_limit_is_partial_and_says_what_was_cut(tmp_path, monkeypatch):
    import ingest.excel

    monkeypatch.setattr(ingest.excel, "MAX_ROWS_PER_SHEET", 5)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Risks"
    ws.append(["Risk", "Owner"])
    for i in range(2, 10):
        ws.append([f"Risk number {i}", "Commercial lead"])
    path = tmp_path / "long.xlsx"
    wb.save(str(path))
    result = read_document(path)
    assert result.status == "partial"
    assert result.error == "sheet Risks: only the first 5 rows were read; 4 rows with data below (rows 6 to 9) were cut"
    assert [p.row for p in result.passages] == [2, 3, 4, 5]


def test_a_long_heading_is_named_by_its_start_cut_at_a_word(make_docx, tmp_path):
    heading = "Minutes of the Alliance Board meeting held on 18 March 2026 at the Northmoor depot"
    docx = read_document(make_docx("minutes.docx", [("h1", heading), ("p", "The board reviewed the joint risk register.")]))
    md = tmp_path / "minutes.md"
    md.write_text(f"# {heading}\n\nThe board reviewed the joint risk register.\n")
    for result in (docx, read_document(md)):
        location = next(p.location for p in result.passages if "risk register" in p.text)
        assert location.startswith('section "Minutes of the Alliance Board meeting held on 18 March 2026...", ')
        assert heading in next(p.context for p in result.passages if "risk register" in p.text)  # the context is whole
