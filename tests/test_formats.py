"""The formats real evidence folders hold beside Word, Excel and PDF: PowerPoint decks, saved emails with their
attachments, scans and images (OCR), legacy and OpenDocument files. Each file ends with a status and a reason."""

from __future__ import annotations

import asyncio
import json
import re
import time
import zipfile
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from helpers import WHEN, rewrite_zip_member

from evidence import pages
from evidence.copies import content_type, is_inline
from ingest import READERS, Reader, ocr, read_document, supported_extensions
from ingest.mail import body_passages, html_to_text
from samples import write_docx, write_ods, write_odt, write_pptx, write_xls

SENTENCE = "Signed for and on behalf of the Client, Senior Executive Responsible"
GOOD_TEXT = "The joint risk register is reviewed every month by both partners and owners are named."
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def _by_location(result, location: str):
    return next(p for p in result.passages if p.location == location)


# ---------------------------------------------------------------- the registry
def test_every_reader_keeps_the_contract():
    assert all(isinstance(reader, Reader) for reader in READERS.values())
    for ext in (".pptx", ".pptm", ".eml", ".msg", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".xls", ".odt", ".ods",
                ".doc"):
        assert ext in supported_extensions()
        assert content_type(f"{'0' * 64}{ext}")  # its kept copy is served
    assert is_inline("a.png") and not is_inline("a.eml") and not is_inline("a.msg")


# ---------------------------------------------------------------- PowerPoint
@pytest.fixture
def deck(make_pptx):
    return make_pptx("review.pptx", [
        {"title": "Governance", "bullets": ["The Senior Executive Responsible chairs the joint board every quarter.",
                                            "The joint management team meets monthly and keeps the action log."],
         "notes": "Remind the board that the exit strategy is reviewed every year."},
        {"title": "Joint risk register", "table": [["Risk", "Owner", "Status"], ["Supply chain delay", "JMT", "Open"],
                                                   ["Loss of key staff", "SER", "n/a"]]},
        {"title": "Next steps"},
    ], title="Alliance annual review")


def test_pptx_slides_tables_and_notes(deck):
    result = read_document(deck)
    assert result.status == "ok", result.error
    assert result.metadata["title"] == "Alliance annual review" and result.metadata["author"] == "Alliance Office"
    body = next(p for p in result.passages if "chairs the joint board" in p.text)
    assert body.location.startswith("slide 1, paragraph") and body.context == "Governance"
    notes = _by_location(result, "slide 1, notes")
    assert "exit strategy" in notes.text and notes.context == "Governance"
    row = _by_location(result, "slide 2, table 1, row 3")
    assert row.kind == "row" and row.text == "Risk: Loss of key staff; Owner: SER"  # the placeholder left out
    assert row.context == "Joint risk register | columns: Risk, Owner, Status"
    assert _by_location(result, "slide 3, title").text == "Next steps"


def test_pptm_is_read_like_pptx(deck, tmp_path):
    macro = tmp_path / "review.pptm"
    macro.write_bytes(deck.read_bytes())
    rewrite_zip_member(macro, "[Content_Types].xml", lambda xml: xml.replace(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"))
    result = read_document(macro)
    assert result.status == "ok", result.error
    assert any(p.location == "slide 2, table 1, row 2" for p in result.passages)


def test_password_protected_pptx(tmp_path):
    # PowerPoint keeps an encrypted deck in an OLE compound file whose directory names an EncryptedPackage stream
    directory = "EncryptedPackage".encode("utf-16-le").ljust(64, b"\0")
    (tmp_path / "locked.pptx").write_bytes(OLE_MAGIC + b"\0" * 504 + directory + b"\0" * 2048)
    result = read_document(tmp_path / "locked.pptx")
    assert result.status == "failed" and result.error.startswith("password-protected PowerPoint file")


def test_pptx_that_is_not_a_zip(tmp_path):
    (tmp_path / "slides.pptx").write_text("not a deck")
    result = read_document(tmp_path / "slides.pptx")
    assert (result.status, result.error) == ("failed", "not a PowerPoint file although named .pptx")


# ---------------------------------------------------------------- emails
REPLY = """Thanks, the joint risk register was reviewed on Monday by both partners and the owners were confirmed.

The exit strategy will be tested at the next board.

On Mon, 12 Jan 2026 at 10:00, Bob Smith <bob@example.org> wrote:
> Please review the register before Monday.
> It is attached.
"""


def test_eml_headers_body_and_attachments(make_eml):
    path = make_eml("reply.eml", "Re: Joint risk register", REPLY, to="JMT <jmt@example.org>",
                    attachments=[("notes.txt", GOOD_TEXT.encode())])
    result = read_document(path)
    assert result.status == "ok", result.error
    meta = result.metadata
    assert meta["title"] == "Re: Joint risk register"
    assert meta["author"] == "Alliance Office <office@example.org>" and meta["recipients"] == "JMT <jmt@example.org>"
    assert meta["created"].startswith(WHEN.date().isoformat())  # the date sent is the document's date
    texts = [p.text for p in result.passages]
    assert any("reviewed on Monday" in t for t in texts)
    assert not any("Please review the register" in t or "wrote:" in t for t in texts)  # the quoted history
    assert all(p.location.startswith("body, paragraph") and p.context == meta["title"] for p in result.passages)
    assert [(a.name, a.data) for a in result.attachments] == [("notes.txt", GOOD_TEXT.encode())]


def test_html_only_email(make_eml):
    html = ("<html><head><style>p {color: red}</style></head><body><p>The joint management team approved the "
            "relationship management plan.</p><blockquote>Earlier: please approve the plan.</blockquote></body></html>")
    result = read_document(make_eml("html.eml", "Plan approved", "", html=html))
    assert [p.text for p in result.passages] == ["The joint management team approved the relationship management plan."]


@pytest.mark.parametrize("history", [
    "-----Original Message-----\nFrom: Bob\nSent: Monday\nSubject: register",
    "________________________________\nFrom: Bob Smith\nSent: Monday\nSubject: register",
    "From: Bob Smith <bob@example.org>\nSent: 12 January 2026 10:00\nTo: JMT",
    "On Mon, 12 Jan 2026 at 10:00, Bob Smith <bob@example.org>\nwrote:",
])
def test_quoted_history_is_dropped(history):
    text = f"Our own words stay.\n\n{history}\n\nTheir earlier words go."
    assert [p.text for p in body_passages(text, "")] == ["Our own words stay."]


def test_html_to_text_keeps_paragraphs():
    assert html_to_text("<p>One&nbsp;line</p><p>Two <b>bold</b></p>") == "One line\n\nTwo bold"


def test_msg_that_is_really_text(tmp_path):
    (tmp_path / "mail.msg").write_text("From: someone\nSubject: not an Outlook file")
    result = read_document(tmp_path / "mail.msg")
    assert (result.status, result.error) == ("failed", "not an Outlook message although named .msg")


def test_damaged_msg(tmp_path):
    (tmp_path / "mail.msg").write_bytes(OLE_MAGIC + b"\0" * 600)
    result = read_document(tmp_path / "mail.msg")
    assert result.status == "failed" and result.error.startswith("damaged Outlook message")


def test_eml_that_is_binary(tmp_path):
    (tmp_path / "mail.eml").write_bytes(b"\x00\x01\x02" * 100)
    result = read_document(tmp_path / "mail.eml")
    assert (result.status, result.error) == ("failed", "not an email although named .eml")


# ---------------------------------------------------------------- attachments through the pipeline
def _documents(pipeline):
    return {Path(r["path"]).name if "#attachment/" not in r["path"] else r["path"].split("#attachment/")[1]: r
            for r in pipeline.db.query("select * from documents")}


@pytest.fixture
def email_folder(tmp_path, make_eml):
    plan = write_docx(tmp_path / "src" / "plan.docx", "Relationship management plan", [("p", GOOD_TEXT)], WHEN)
    folder = tmp_path / "inbox"
    make_eml("inbox/plan.eml", "Relationship management plan", "The plan is attached for the board.",
             attachments=[("plan.docx", plan.read_bytes()), ("broken.docx", b"PK\x03\x04 truncated"),
                          ("diagram.vsdx", b"whatever")])
    return folder


def test_email_attachments_are_documents_linked_to_their_email(fake_pipeline, email_folder):
    report = fake_pipeline.ingest([email_folder])
    docs = _documents(fake_pipeline)
    email, plan, broken, diagram = docs["plan.eml"], docs["plan.docx"], docs["broken.docx"], docs["diagram.vsdx"]
    assert email["status"] == "ok" and email["parent_id"] is None and email["title"] == "Relationship management plan"
    assert plan["path"] == f"{email['path']}#attachment/plan.docx" and plan["parent_id"] == email["id"]
    assert plan["status"] == "ok" and plan["passage_count"] == 1 and plan["copy_name"]
    assert fake_pipeline.files_dir.joinpath(plan["copy_name"][:2], plan["copy_name"]).exists()
    # a corrupt attachment fails alone, with its reason; one we do not read is skipped with its reason
    assert (broken["status"], broken["error"]) == ("failed", "damaged Word file: the zip container is truncated or corrupt")
    assert (diagram["status"], diagram["error"]) == ("skipped", "unsupported file type '.vsdx'")
    assert report.failed == 1 and len(report.outcomes) == 4
    detail = pages.document_detail(fake_pipeline.db.conn, email["id"])
    assert [a["name"] for a in detail["attachments"]] == ["plan.docx", "broken.docx", "diagram.vsdx"]
    assert detail["attached_to"] is None
    assert pages.document_detail(fake_pipeline.db.conn, plan["id"])["attached_to"]["id"] == email["id"]


def test_unchanged_email_is_not_read_again_and_its_attachments_follow_it(fake_pipeline, email_folder, tmp_path):
    fake_pipeline.ingest([email_folder])
    again = fake_pipeline.ingest([email_folder])
    assert [o.status for o in again.outcomes] == ["unchanged"]
    # moved: the email keeps its id, its attachments their ids under the new path
    moved = tmp_path / "archive"
    email_folder.rename(moved)
    before = _documents(fake_pipeline)
    fake_pipeline.ingest([moved])
    after = _documents(fake_pipeline)
    assert after["plan.docx"]["id"] == before["plan.docx"]["id"]
    assert after["plan.docx"]["path"] == f"{moved / 'plan.eml'}#attachment/plan.docx"
    assert fake_pipeline.removed_under(moved) == []  # an attachment has no file of its own to miss
    # removed: its attachments go with it
    fake_pipeline.remove(moved / "plan.eml")
    assert fake_pipeline.db.execute("select count(*) from documents").fetchone()[0] == 0


def test_a_changed_email_replaces_its_attachments(fake_pipeline, email_folder, make_eml):
    fake_pipeline.ingest([email_folder])
    plan_id = _documents(fake_pipeline)["plan.docx"]["id"]
    make_eml("inbox/plan.eml", "Relationship management plan", "Only the notes now.",
             attachments=[("notes.txt", GOOD_TEXT.encode())])
    fake_pipeline.ingest([email_folder])
    docs = _documents(fake_pipeline)
    assert set(docs) == {"plan.eml", "notes.txt"} and docs["notes.txt"]["status"] == "ok"
    assert fake_pipeline.db.execute("select removed_at is not null from document_versions where document_id = ? "
                                    "order by id desc", [plan_id]).fetchone() == (1,)  # kept in history


def test_email_that_attaches_itself(fake_pipeline, tmp_path, make_eml):
    inner = make_eml("inner.eml", "Board pack", "The board pack for the joint board.", message_id="<pack@example.org>")
    make_eml("inbox/pack.eml", "Board pack", "The board pack for the joint board.", message_id="<pack@example.org>",
             attachments=[("forwarded.eml", inner.read_bytes())])
    fake_pipeline.ingest([tmp_path / "inbox"])
    docs = _documents(fake_pipeline)
    assert docs["pack.eml"]["status"] == "ok"
    child = next(r for r in docs.values() if r["parent_id"] is not None)
    assert (child["status"], child["error"]) == ("skipped", "the email attaches itself: not read again")


def test_attachments_nested_too_deep(fake_pipeline, tmp_path, make_eml):
    data = b""
    for level in range(5, 0, -1):  # level 5 inside level 4 ... inside level 1
        attachments = [(f"level{level + 1}.eml", data)] if data else []
        data = make_eml(f"level{level}.eml", f"Level {level}", f"Message at level {level} of the chain.",
                        attachments=attachments).read_bytes()
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "level1.eml").write_bytes(data)
    report = fake_pipeline.ingest([tmp_path / "inbox"])
    statuses = {Path(str(o.path)).name: (o.status, o.error) for o in report.outcomes}
    assert [s for s, _ in statuses.values()].count("ok") == 4  # the email and three levels of attachments
    assert statuses["level5.eml"] == ("skipped", "attachment nested more than 3 levels deep: not read")


# ---------------------------------------------------------------- scans and images (OCR)
@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
@pytest.mark.parametrize("size", [34, 24])  # at the smaller size the model runs words together: put apart again
def test_scanned_pdf_is_recognised_with_word_spaces(make_scan_pdf, size):
    path = make_scan_pdf("signed.pdf", [[SENTENCE, "", "Date: 15 January 2026"],
                                        ["The joint management team meets every month."]], size=size)
    result = read_document(path)
    assert result.status == "ok", result.error
    first = next(p for p in result.passages if p.page == 1)
    # every word apart, as search and embeddings need them (small type may lose a comma)
    assert _words(SENTENCE) in _words(first.text) and first.location.startswith("page 1, paragraph")
    assert SENTENCE in first.text or size < 34
    assert "15 January 2026" in " ".join(p.text for p in result.passages)  # a number is never split
    assert first.ocr_confidence is not None and first.ocr_confidence > 0.8
    assert any("meets every month" in p.text and p.page == 2 for p in result.passages)


@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
def test_a_page_with_a_text_layer_is_read_as_before(make_pdf, make_scan_pdf, tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for source in (make_pdf("text.pdf", [("p", GOOD_TEXT)]), make_scan_pdf("scan.pdf", [[SENTENCE]])):
        for page in PdfReader(str(source)).pages:
            writer.add_page(page)
    writer.write(str(tmp_path / "mixed.pdf"))
    result = read_document(tmp_path / "mixed.pdf")
    assert result.status == "ok", result.error
    assert all(p.ocr_confidence is None for p in result.passages if p.page == 1)
    assert any(SENTENCE in p.text and p.ocr_confidence for p in result.passages if p.page == 2)


@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
def test_a_page_is_recognised_once(make_png, tmp_path, monkeypatch):
    ocr.set_cache_dir(tmp_path / "ocr-cache")
    try:
        path = make_png("letter.png", [SENTENCE])
        first = read_document(path)
        monkeypatch.setattr(ocr, "_engine", lambda: pytest.fail("recognised twice"))
        again = read_document(path)
    finally:
        ocr.set_cache_dir(None)
    assert [p.text for p in again.passages] == [p.text for p in first.passages]
    assert SENTENCE in again.passages[0].text and again.passages[0].ocr_confidence == first.passages[0].ocr_confidence


@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
def test_large_scan_is_cut_with_a_reason(make_scan_pdf, monkeypatch):
    monkeypatch.setattr(ocr, "MAX_OCR_PAGES", 1)  # a 300-page scan, in small
    path = make_scan_pdf("big.pdf", [[SENTENCE], ["Second page text here."], ["Third page text here."]])
    result = read_document(path)
    assert result.status == "partial"
    assert result.error == "only the first 1 scanned pages are recognised (OCR) per file: page(s) 2, 3 not read"
    assert {p.page for p in result.passages} == {1}


@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
def test_photo_without_text_is_skipped(tmp_path):
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (1200, 900), (90, 140, 200))
    draw = ImageDraw.Draw(photo)
    for y in range(0, 900, 3):  # a sky, a bush and a fence post: no text
        draw.line([(0, y), (1200, y)], fill=(90 + y // 10, 140, 200 - y // 6))
    draw.ellipse((300, 300, 700, 650), fill=(40, 120, 40))
    draw.rectangle((800, 500, 1100, 850), fill=(150, 75, 20))
    photo.save(tmp_path / "site visit.jpg")
    result = read_document(tmp_path / "site visit.jpg")
    assert (result.status, result.error) == ("skipped", "no text found in the image")


@pytest.mark.ocr
@pytest.mark.model  # the OCR models are real models: outside the fast subset, like the encoder
def test_image_of_text(make_png):
    result = read_document(make_png("whiteboard.png", ["Actions agreed by the joint management team"]))
    assert result.status == "ok" and result.passages[0].location == "paragraph 1"
    assert "Actions agreed by the joint management team" in result.passages[0].text


def test_image_that_is_not_an_image(tmp_path):
    (tmp_path / "scan.png").write_text("not a picture")
    result = read_document(tmp_path / "scan.png")
    assert (result.status, result.error) == ("failed", "not an image although named .png")


@pytest.mark.parametrize("raw, spaced", [
    ("SeniorExecutive Responsible", "Senior Executive Responsible"),
    ("the Client,Senior Executive", "the Client, Senior Executive"),
    ("PowerPoint and SharePoint", "PowerPoint and SharePoint"),  # short names with capitals stay
])
def test_dropped_word_spaces_are_put_back(raw, spaced):
    assert ocr.spaced(raw) == spaced


# ---------------------------------------------------------------- low-confidence text is never evidence on its own
def test_low_confidence_text_is_a_candidate_at_most(fake_pipeline, tmp_path, monkeypatch):
    from evidence import catalogue_sync
    from ingest import Passage, ReadResult
    from mapping.scoring import Link

    requirement = next(iter(fake_pipeline.catalogue)).id
    fake_pipeline.sync_catalogue()  # the requirements the links point to

    def claim_everything(profiles, vectors, *args, **kw):  # whatever the scores, every passage claimed
        return [Link(i, requirement, 0.9, "evidence", 1, {}) for i in range(len(vectors))]

    monkeypatch.setattr(catalogue_sync, "map_passages", claim_everything)
    text = "The joint management team reviewed the relationship management plan and agreed the changes."
    path = tmp_path / "scan.png"
    path.write_bytes(b"x")
    result = ReadResult(path=path, format="image", passages=[
        Passage(text=text, location="paragraph 1", ocr_confidence=0.42),
        Passage(text=text.replace("reviewed", "approved"), location="paragraph 2", ocr_confidence=0.93)])
    fake_pipeline.store(result, "0" * 64)
    db = fake_pipeline.db
    evidence = [r[0] for r in db.execute("select p.location from evidence e join passages p on p.id = e.passage_id "
                                         "where e.via is null")]
    assert evidence == ["paragraph 2"]
    why = db.execute("select c.why from candidates c join passages p on p.id = c.passage_id "
                     "where p.location = 'paragraph 1'").fetchone()[0]
    assert json.loads(why)["not_evidence"] == "recognised text of low confidence (OCR 0.42)"
    assert db.execute("select ocr_confidence from passages order by id").fetchall() == [(0.42,), (0.93,)]
    fake_pipeline.remap_all()  # re-mapping from the stored rows keeps the rule
    assert db.execute("select count(*) from evidence e join passages p on p.id = e.passage_id "
                      "where p.ocr_confidence < 0.6").fetchone()[0] == 0


# ---------------------------------------------------------------- legacy and OpenDocument
def test_odt_and_ods(tmp_path):
    odt = write_odt(tmp_path / "plan.odt", "Plan", [
        ("h1", "Governance"), ("p", "The Senior Executive Responsible chairs the joint board every quarter."),
        ("table", [["Risk", "Owner"], ["Supply chain delay", "JMT"]])])
    result = read_document(odt)
    assert result.status == "ok" and result.metadata["title"] == "Plan"
    assert result.passages[0].location == 'section "Governance", paragraph 1'
    assert _by_location(result, 'section "Governance", table 1, row 2').text == "Risk: Supply chain delay; Owner: JMT"
    ods = write_ods(tmp_path / "register.ods", "Register", {"Risks": [["Risk", "Owner", "Status"],
                                                                       ["Supply chain delay", "JMT", "Open"]]})
    result = read_document(ods)
    row = _by_location(result, "sheet Risks, row 2")
    assert row.text == "Risk: Supply chain delay; Owner: JMT; Status: Open" and row.sheet == "Risks"


@pytest.mark.parametrize("suffix", [".docx", ".odt", ".pptx"])
def test_table_rows_are_numbered_as_in_the_document(tmp_path, suffix):
    """Empty rows are skipped, never renumbered past: 'row 5' is the fifth row an assessor counts on the page."""
    table = [["Risk", "Owner"], ["Supply chain delay", "JMT"], ["", ""], ["", ""], ["Loss of key staff", "SER"]]
    path = tmp_path / f"plan{suffix}"
    if suffix == ".docx":
        write_docx(path, "Plan", [("table", table)], WHEN)
    elif suffix == ".odt":
        write_odt(path, "Plan", [("table", table)])
    else:
        write_pptx(path, "Plan", [{"title": "Risks", "table": table}], WHEN)
    rows = [p for p in read_document(path).passages if p.kind == "row"]
    assert [(p.location.rsplit(", ", 1)[-1], p.row, p.text) for p in rows] == [
        ("row 2", 2, "Risk: Supply chain delay; Owner: JMT"), ("row 5", 5, "Risk: Loss of key staff; Owner: SER")]


MERGED = [["Risk", "Owner", "Mitigation", "Score"], ["Supplier failure", "", "Exit plan", "12"],
          ["Key staff turnover", "Commercial lead", "Deputies", "9"], ["Fraud", "", "Audit", "6"]]


def _merged_docx(path):
    import docx

    document = docx.Document()
    table = document.add_table(rows=4, cols=4)
    for r, values in enumerate(MERGED):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    table.cell(1, 0).merge(table.cell(1, 1)).text = "Supplier failure"  # gridSpan: one cell over Risk and Owner
    table.cell(2, 1).merge(table.cell(3, 1)).text = "Commercial lead"  # vMerge: one owner for two risks
    document.save(str(path))


def _merged_odt(path):
    from odf import table, text
    from odf.opendocument import OpenDocumentText

    def cell(value, **spans):
        element = table.TableCell(valuetype="string", **spans)
        element.addElement(text.P(text=value))
        return element

    grid = [[cell(v) for v in MERGED[0]],
            [cell("Supplier failure", numbercolumnsspanned=2), table.CoveredTableCell(), cell("Exit plan"), cell("12")],
            [cell("Key staff turnover"), cell("Commercial lead", numberrowsspanned=2), cell("Deputies"), cell("9")],
            [cell("Fraud"), table.CoveredTableCell(), cell("Audit"), cell("6")]]
    doc = OpenDocumentText()
    element = table.Table(name="Risks")
    for cells in grid:
        row = table.TableRow()
        for c in cells:
            row.addElement(c)
        element.addElement(row)
    doc.text.addElement(element)
    doc.save(str(path))


def _merged_pptx(path):
    write_pptx(path, "Plan", [{"title": "Risks", "table": MERGED}], WHEN)
    from pptx import Presentation

    deck = Presentation(str(path))
    shape = next(s for s in deck.slides[0].shapes if s.has_table)
    shape.table.cell(1, 0).merge(shape.table.cell(1, 1))
    shape.table.cell(2, 1).merge(shape.table.cell(3, 1))
    deck.save(str(path))


@pytest.mark.parametrize("suffix, write", [(".docx", _merged_docx), (".odt", _merged_odt), (".pptx", _merged_pptx)])
def test_merged_table_cells_keep_every_value_under_its_own_column(tmp_path, suffix, write):
    """A cell merged across columns says its text once, in its first column, and the cells after it stay under
    their own headers; a cell merged down is said in each row it spans, as a sheet's merged range is."""
    write(tmp_path / f"risks{suffix}")
    rows = [p for p in read_document(tmp_path / f"risks{suffix}").passages if p.kind == "row"]
    assert [(p.row, p.text) for p in rows] == [
        (2, "Risk: Supplier failure; Mitigation: Exit plan; Score: 12"),
        (3, "Risk: Key staff turnover; Owner: Commercial lead; Mitigation: Deputies; Score: 9"),
        (4, "Risk: Fraud; Owner: Commercial lead; Mitigation: Audit; Score: 6")]


def test_legacy_xls(tmp_path):
    path = write_xls(tmp_path / "register.xls", {
        "Risks": [["Risk", "Owner", "Review date"], ["Supply chain delay", "JMT", WHEN], ["Loss of key staff", "SER", "tbc"]],
        "Notes": [["The register is reviewed monthly by the joint management team."]]})
    result = read_document(path)
    assert result.status == "ok", result.error
    row = _by_location(result, "sheet Risks, row 2")
    assert row.text == "Risk: Supply chain delay; Owner: JMT; Review date: 2026-01-15 10:00:00" and row.kind == "row"
    assert row.context == "sheet Risks | columns: Risk, Owner, Review date"
    assert _by_location(result, "sheet Risks, row 3").text == "Risk: Loss of key staff; Owner: SER"
    assert any("reviewed monthly" in p.text and p.sheet == "Notes" for p in result.passages)


def test_encrypted_odt(tmp_path):
    path = write_odt(tmp_path / "locked.odt", "Plan", [("p", GOOD_TEXT)])
    rewrite_zip_member(path, "META-INF/manifest.xml",
                       lambda xml: xml.replace("</manifest:manifest>", "<manifest:encryption-data/></manifest:manifest>"))
    result = read_document(path)
    assert result.status == "failed" and result.error.startswith("password-protected OpenDocument text file")


def test_legacy_doc_is_skipped_with_advice(tmp_path):
    (tmp_path / "old.doc").write_bytes(OLE_MAGIC + b"\0" * 2048)
    result = read_document(tmp_path / "old.doc")
    assert (result.status, result.error) == ("skipped", "legacy Word .doc: save it as .docx (or PDF) to include it")


@pytest.mark.parametrize("name, error", [
    ("old.doc", "not a Word file although named .doc"),
    ("old.xls", "not a legacy Excel file although named .xls"),
])
def test_legacy_files_that_are_something_else(tmp_path, name, error):
    (tmp_path / name).write_text("plain text, not an Office file")
    result = read_document(tmp_path / name)
    assert (result.status, result.error) == ("failed", error)


def test_damaged_xls(tmp_path):
    (tmp_path / "register.xls").write_bytes(OLE_MAGIC + b"\0" * 2048)
    result = read_document(tmp_path / "register.xls")
    assert result.status == "failed" and result.error.startswith("damaged Excel file")


def test_attached_message_keeps_its_own_headers(make_eml):
    inner = make_eml("inner.eml", "Original minutes", "The joint board approved the exit strategy.")
    outer = make_eml("fwd.eml", "Fwd: minutes", "See the minutes below.", attachments=[("minutes.eml", inner.read_bytes())])
    result = read_document(outer)
    attached = BytesParser(policy=policy.default).parsebytes(result.attachments[0].data)
    assert result.attachments[0].name == "minutes.eml" and attached["subject"] == "Original minutes"
    assert zipfile.is_zipfile(outer) is False


def test_the_watcher_retires_an_email_with_its_attachments(tmp_path, make_eml):
    from evidence import open_pipeline
    from evidence.watch import Watcher

    folder = tmp_path / "shared"
    email = make_eml("shared/notes.eml", "Board notes", "The board notes are attached.",
                     attachments=[("notes.txt", GOOD_TEXT.encode())])
    (tmp_path / "db").mkdir()
    pipeline = open_pipeline(tmp_path / "db" / "evidence.db", model="hash", workers=0)
    lines = []
    watcher = Watcher(pipeline, folder, settle=0.1, log=lines.append)
    assert {o.status for o in watcher.initial_scan()} == {"ok"}
    assert pipeline.db.execute("select count(*) from documents").fetchone()[0] == 2
    email.unlink()
    watcher.notice(email, deleted=True)
    outcomes = []
    while watcher.pending:  # handled once the deletion has settled
        outcomes += watcher.process_ready()
        time.sleep(0.02)
    assert [o.status for o in outcomes] == ["removed"]
    assert pipeline.db.execute("select count(*) from documents").fetchone()[0] == 0
    assert pipeline.db.execute("select count(*) from document_versions where removed_at is null").fetchone()[0] == 0


def test_document_pages_link_an_email_and_its_attachments(fake_pipeline, email_folder, db_path):
    from evidence.serve import build_datasette

    fake_pipeline.ingest([email_folder])
    docs = _documents(fake_pipeline)
    ds = build_datasette([db_path])

    def page(doc_id):
        response = asyncio.run(ds.client.get(f"/evidence/documents/{doc_id}"))
        assert response.status_code == 200
        return response.text

    email_page = page(docs["plan.eml"]["id"])
    assert "Attachments (3)" in email_page and f'/evidence/documents/{docs["plan.docx"]["id"]}"' in email_page
    assert "damaged Word file" in email_page
    attachment_page = page(docs["plan.docx"]["id"])
    assert "Attached to the email" in attachment_page and f'/evidence/documents/{docs["plan.eml"]["id"]}"' in attachment_page


def test_msg_headers_body_and_attachments(make_msg, tmp_path):
    """A real Outlook file: the MAPI property streams in a Compound File Binary container, read by extract-msg."""
    forwarded = make_msg("minutes.msg", "Joint board minutes", "The joint board approved the exit strategy.")
    body = ("The exit strategy was tested at the joint board and both partners agreed the actions.\r\n\r\n"
            "-----Original Message-----\r\nFrom: Bob\r\nSent: Monday\r\nPlease test the exit strategy.")
    path = make_msg("exit.msg", "Exit strategy", body, sender="Ann Lee <ann@example.org>",
                    to="JMT <jmt@example.org>, Bob Smith <bob@example.org>", message_id="<exit@example.org>",
                    attachments=[("actions.txt", GOOD_TEXT.encode()), ("minutes.msg", forwarded.read_bytes())])
    assert path.read_bytes()[:8] == OLE_MAGIC
    result = read_document(path)
    meta = result.metadata
    assert meta["title"] == "Exit strategy" and meta["message_id"] == "<exit@example.org>"
    # the sender's SMTP address as well as the name, as an .eml's From gives it
    assert meta["author"] == "Ann Lee <ann@example.org>"
    assert meta["recipients"] == "JMT <jmt@example.org>; Bob Smith <bob@example.org>"
    assert meta["created"] == meta["modified"] == "2026-01-15T10:00:00+00:00"  # the time sent is the document's date
    # the reply's own words once; the quoted earlier message is not counted again
    assert [p.text for p in result.passages] == [
        "The exit strategy was tested at the joint board and both partners agreed the actions."]
    assert all(p.location.startswith("body, paragraph") and p.context == "Exit strategy" for p in result.passages)
    assert result.status == "ok", result.error
    assert [a.name for a in result.attachments] == ["actions.txt", "minutes.msg"]
    assert result.attachments[0].data == GOOD_TEXT.encode()
    # the attached Outlook item is handed back as a .msg of its own, with its own headers and body
    (tmp_path / "attached.msg").write_bytes(result.attachments[1].data)
    attached = read_document(tmp_path / "attached.msg")
    assert (attached.status, attached.metadata["title"]) == ("ok", "Joint board minutes")
    assert [p.text for p in attached.passages] == ["The joint board approved the exit strategy."]


def test_msg_attached_item_that_cannot_be_saved(make_msg, monkeypatch):
    from extract_msg.msg_classes.msg import MSGFile

    def fail(self, *args, **kwargs):
        raise ValueError("bad embedded message")

    monkeypatch.setattr(MSGFile, "exportBytes", fail)
    forwarded = make_msg("minutes.msg", "Joint board minutes", "The joint board approved the exit strategy.")
    result = read_document(make_msg("fwd.msg", "Fwd: minutes", "See the minutes.",
                                    attachments=[("minutes.msg", forwarded.read_bytes())]))
    # said with its reason, and the message is partial; its own body is still read
    assert result.status == "partial" and result.attachments == []
    assert "attachment minutes.msg: an attached Outlook item that could not be saved" in result.error
    assert [p.text for p in result.passages] == ["See the minutes."]


def test_msg_sender_without_an_smtp_address(make_msg):
    """An Exchange sender's address is an X.500 name, no email address: the name alone is the author."""
    from aspose.email_foss import msg

    path = make_msg("exchange.msg", "Board pack", "The board pack for the joint board.", sender="Ann Lee <ann@example.org>")
    message = msg.MapiMessage.from_file(path)
    message.set_property(msg.PropertyId.SENDER_ADDRESS_TYPE, "EX")
    message.set_property(msg.PropertyId.SENDER_EMAIL_ADDRESS, "/O=ALLIANCE/OU=EXCHANGE/CN=RECIPIENTS/CN=ANN.LEE")
    message.save(path)
    result = read_document(path)
    assert result.status == "ok" and result.metadata["author"] == "Ann Lee"


def test_msg_attachments_are_documents_linked_to_their_email(fake_pipeline, tmp_path, make_msg):
    plan = write_docx(tmp_path / "src" / "plan.docx", "Relationship management plan", [("p", GOOD_TEXT)], WHEN)
    minutes = make_msg("src/minutes.msg", "Joint board minutes", "The joint board approved the exit strategy.")
    make_msg("inbox/plan.msg", "Relationship management plan", "The plan is attached for the board.",
             attachments=[("plan.docx", plan.read_bytes()), ("minutes.msg", minutes.read_bytes())])
    report = fake_pipeline.ingest([tmp_path / "inbox"])
    assert [o.status for o in report.outcomes] == ["ok", "ok", "ok"]
    docs = _documents(fake_pipeline)
    assert set(docs) == {"plan.msg", "plan.docx", "minutes.msg"}
    email, attached, item = docs["plan.msg"], docs["plan.docx"], docs["minutes.msg"]
    assert (email["status"], email["parent_id"], email["title"]) == ("ok", None, "Relationship management plan")
    assert email["author"] == "Alliance Office <office@example.org>" and email["passage_count"] == 1
    assert attached["path"] == f"{email['path']}#attachment/plan.docx" and attached["parent_id"] == email["id"]
    assert attached["status"] == "ok" and attached["copy_name"]
    texts = [r["text"] for r in fake_pipeline.db.query("select text from passages where document_id = ?",
                                                        [attached["id"]])]
    assert texts == [GOOD_TEXT]  # the attachment's own words, read from the docx inside the .msg
    assert pages.document_detail(fake_pipeline.db.conn, attached["id"])["attached_to"]["id"] == email["id"]
    # the attached Outlook item is an email of its own, linked to the one that carries it
    assert (item["status"], item["parent_id"], item["title"]) == ("ok", email["id"], "Joint board minutes")
    assert item["passage_count"] == 1


def test_pictures_in_the_body_are_not_attachments(tmp_path):
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ann@example.org", "jmt@example.org", "Signed plan"
    message.set_content("The relationship management plan is signed by both partners.")
    message.add_alternative('<p>The relationship management plan is signed.</p><img src="cid:logo">', subtype="html")
    message.get_payload()[1].add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo>")
    message.add_attachment(GOOD_TEXT.encode(), maintype="text", subtype="plain", filename="plan.txt")
    (tmp_path / "signed.eml").write_bytes(message.as_bytes())
    result = read_document(tmp_path / "signed.eml")
    assert [a.name for a in result.attachments] == ["plan.txt"]
    assert [p.text for p in result.passages] == ["The relationship management plan is signed by both partners."]


@pytest.mark.model
def test_the_sample_packs_deck_email_and_scan_are_evidence_with_locations(tmp_path, real_embedder, catalogue):
    """The board deck, the email carrying the RMP and the scanned signature page of the sample pack each evidence
    BS 11000 items, at locations an assessor can follow back to the source."""
    from evidence.db import open_db
    from evidence.pipeline import Pipeline
    from evidence.serve import files_dir_for
    from samples import write_sample_pack

    pack = tmp_path / "pack"
    written = write_sample_pack(pack)
    chosen = [p for p in written if p.suffix in (".pptx", ".eml") or p.name.endswith("-scan.pdf")]
    assert len(chosen) == 3
    db_path = tmp_path / "evidence.db"
    pipeline = Pipeline(open_db(db_path), catalogue, real_embedder, files_dir_for(db_path), workers=0)
    report = pipeline.ingest(chosen)
    assert report.failed == 0, report.summary()
    located = pipeline.db.execute(
        "select d.name, p.location, d.parent_id from evidence e join passages p on p.id = e.passage_id "
        "join documents d on d.id = p.document_id where e.requirement_id like 'BS11000-%'").fetchall()
    by_document: dict[str, list[str]] = {}
    for name, location, parent in located:
        by_document.setdefault(f"attached: {name}" if parent else name, []).append(location)
    assert any(loc.startswith("slide ") for loc in by_document.get("alliance-board-pack-2026-06.pptx", [])), by_document
    assert by_document.get("rmp-v3-issued-to-both-boards.eml"), by_document
    assert by_document.get("attached: alliance-relationship-management-plan-v3.docx"), by_document  # the RMP it carries
    assert any(loc.startswith("page 1") for loc in by_document.get("alliance-agreement-signature-page-scan.pdf", [])), \
        by_document
