"""Bad input ends in a clear per-file status and error; the batch goes on."""

import os
import re
import time
import zipfile

import pytest

from evidence.pipeline import discover
from ingest import READERS, read_document
from ingest.batch import read_documents

GOOD_TEXT = "The joint risk register is reviewed every month by both partners and owners are named."


@pytest.fixture
def good_docx(make_docx):
    return make_docx("good.docx", [("p", GOOD_TEXT)])


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.docx").write_bytes(b"")
    result = read_document(tmp_path / "empty.docx")
    assert (result.status, result.error) == ("failed", "file is empty")


def test_text_file_renamed_docx(tmp_path):
    (tmp_path / "notes.docx").write_text("just some notes, not a Word file")
    result = read_document(tmp_path / "notes.docx")
    assert (result.status, result.error) == ("failed", "not a Word file although named .docx")


def test_pdf_renamed_xlsx(make_pdf, tmp_path):
    pdf = make_pdf("report.pdf", [("p", GOOD_TEXT)])
    renamed = tmp_path / "register.xlsx"
    renamed.write_bytes(pdf.read_bytes())
    assert read_document(renamed).error == "not a Excel file although named .xlsx"


def test_truncated_zip(good_docx, tmp_path):
    data = good_docx.read_bytes()
    (tmp_path / "cut.docx").write_bytes(data[: len(data) // 2])
    result = read_document(tmp_path / "cut.docx")
    assert result.status == "failed"
    assert result.error == "damaged Word file: the zip container is truncated or corrupt"


def test_zip_bomb_is_refused_without_inflating(good_docx, tmp_path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(good_docx) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        with dst.open("word/media/padding.bin", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 24)
            for _ in range(5):  # 84 MB of zeros in a file of a few hundred kilobytes: a ratio no document has
                fh.write(block)
    assert bomb.stat().st_size < 500_000
    result = read_document(bomb)
    assert result.status == "failed"
    assert result.error == f"refused: Word file would inflate to {_unzipped(bomb) / 1e6:.0f} MB (zip bomb?)"
    assert _unzipped(bomb) > 80e6


def _unzipped(path) -> int:
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in zf.infolist())


def test_password_protected_office_file(tmp_path):
    # Office encrypts .docx/.xlsx into an OLE compound file (EncryptedPackage), which starts with this signature
    (tmp_path / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048)
    result = read_document(tmp_path / "locked.xlsx")
    assert result.status == "failed" and result.error.startswith("password-protected or legacy binary Excel file")


def _encrypted_pdf(path, user_password):
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.AES_256)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, GOOD_TEXT)
    pdf.output(str(path))
    return path


def test_encrypted_pdf_with_password(tmp_path):
    result = read_document(_encrypted_pdf(tmp_path / "secret.pdf", "let-me-in"))
    assert (result.status, result.error) == ("failed", "encrypted PDF: password required")


def test_encrypted_pdf_with_empty_password_is_read(tmp_path):
    result = read_document(_encrypted_pdf(tmp_path / "owner-only.pdf", ""))
    assert result.status == "ok" and result.passages[0].text == GOOD_TEXT


def test_pdf_with_broken_cross_reference_table_is_recovered(make_pdf, tmp_path):
    pdf = make_pdf("report.pdf", [("p", GOOD_TEXT)]).read_bytes()
    start = pdf.rindex(b"startxref")
    broken = pdf[:start] + b"startxref\n999999\n%%EOF\n"  # points nowhere
    (tmp_path / "broken.pdf").write_bytes(broken)
    result = read_document(tmp_path / "broken.pdf")
    assert result.status == "ok", result.error
    assert any(GOOD_TEXT in p.text for p in result.passages)


def test_garbage_after_pdf_header(tmp_path):
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(4000))
    result = read_document(tmp_path / "junk.pdf")
    assert result.status == "failed" and result.error.startswith(("damaged PDF", "no text layer"))


def test_file_over_the_size_limit(good_docx):
    result = read_document(good_docx, max_bytes=1000)
    assert result.status == "failed" and result.error.startswith("file is too large")


def test_unsupported_type_is_skipped(tmp_path):
    (tmp_path / "diagram.vsdx").write_bytes(b"PK\x03\x04rest")  # Visio: read by no reader
    result = read_document(tmp_path / "diagram.vsdx")
    assert (result.status, result.error) == ("skipped", "unsupported file type '.vsdx'")


def test_file_changing_while_read_is_not_trusted(tmp_path, monkeypatch):
    path = tmp_path / "growing.txt"
    path.write_text(GOOD_TEXT)
    original = READERS["txt"].read

    def read_while_someone_writes(p):
        result = original(p)
        with open(p, "a") as fh:
            fh.write("\nmore text arriving")
        return result

    monkeypatch.setattr(READERS["txt"], "read", read_while_someone_writes)
    result = read_document(path)
    assert result.status == "skipped" and "changed while it was read" in result.error


def test_a_file_that_moved_while_it_was_read_is_read_again_on_the_next_pass(fake_pipeline, tmp_path, monkeypatch):
    """Its result is of no one version's bytes: neither a new file nor a newer version of a document keeps a hash
    with it, so the next pass reads the file again instead of taking it as unchanged."""
    from evidence.pages import document_detail

    path = tmp_path / "docs" / "plan.txt"
    path.parent.mkdir()
    original = READERS["txt"].read

    def read_while_cp_p_sets_the_time(p):
        result = original(p)
        os.utime(p, ns=(0, p.stat().st_mtime_ns - 10**9))
        return result

    path.write_text(GOOD_TEXT)
    monkeypatch.setattr(READERS["txt"], "read", read_while_cp_p_sets_the_time)
    assert fake_pipeline.ingest([path]).outcomes[0].status == "skipped"
    monkeypatch.setattr(READERS["txt"], "read", original)
    assert fake_pipeline.ingest([path]).outcomes[0].status == "ok"
    newer = GOOD_TEXT.replace("every month", "each quarter")
    path.write_text(newer)
    monkeypatch.setattr(READERS["txt"], "read", read_while_cp_p_sets_the_time)
    outcome = fake_pipeline.ingest([path]).outcomes[0]
    assert outcome.status == "skipped" and "still counts" in outcome.error
    assert document_detail(fake_pipeline.db.conn, outcome.document_id)["unread"]  # said while it waits
    monkeypatch.setattr(READERS["txt"], "read", original)
    assert fake_pipeline.ingest([path]).outcomes[0].status == "ok"
    assert [t for t, in fake_pipeline.db.execute("select text from passages")] == [newer]


def test_lock_and_temporary_files_are_passed_over(tmp_path, good_docx):
    for name in ("~$good.docx", ".~lock.good.docx#", "draft.tmp", ".hidden.docx"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in discover([tmp_path])] == ["good.docx"]


def test_a_hanging_reader_times_out_and_the_batch_goes_on(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(GOOD_TEXT)
    (tmp_path / "hang.txt").write_text("this one hangs")
    (tmp_path / "b.txt").write_text(GOOD_TEXT)
    original = READERS["txt"].read

    def maybe_hang(path):
        if path.name == "hang.txt":
            time.sleep(60)
        return original(path)

    monkeypatch.setattr(READERS["txt"], "read", maybe_hang)  # workers are forked, so they inherit this
    started = time.monotonic()
    results = {r.path.name: r for r in read_documents(sorted(tmp_path.iterdir()), workers=2, timeout=1)}
    assert time.monotonic() - started < 30
    assert results["hang.txt"].status == "failed" and results["hang.txt"].error.startswith("timed out after 1 s")
    assert results["a.txt"].status == results["b.txt"].status == "ok"


def test_a_crashing_reader_costs_one_file(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(GOOD_TEXT)
    (tmp_path / "crash.txt").write_text("this one kills its worker")
    original = READERS["txt"].read

    def maybe_crash(path):
        if path.name == "crash.txt":
            os._exit(3)
        return original(path)

    monkeypatch.setattr(READERS["txt"], "read", maybe_crash)
    results = {r.path.name: r for r in read_documents([tmp_path / "crash.txt", tmp_path / "a.txt"], workers=1)}
    assert results["crash.txt"].status == "failed" and "crashed" in results["crash.txt"].error
    assert results["a.txt"].status == "ok"


def test_control_and_bidi_characters_are_cleaned_where_text_enters(tmp_path):
    from ingest.text_clean import clean_text

    assert clean_text("a\x00b\x1b[31mc\td\ne\r\nf\u202eg\u2066h\u2069\x7f") == "ab[31mc\td\ne\nfgh"
    path = tmp_path / "notes.txt"
    filler = "The partners meet every week to go through the actions from the previous meeting.\n\n" * 60
    # a NUL beyond the first 4 KB is not taken for a binary file: it reaches the reader
    path.write_text(filler + "The joint risk register\x00 is reviewed \x01monthly by \u202eboth\u2069 partners.\x1f\n")
    result = read_document(path)
    assert result.status == "ok"
    assert result.passages[-1].text == "The joint risk register is reviewed monthly by both partners."
    assert not any(re.search(r"[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]", p.text + p.location + p.context)
                   for p in result.passages)


def _non_utf8_name(folder):
    folder.mkdir(exist_ok=True)
    path = os.path.join(os.fsencode(folder), b"plan-\xe9t\xe9.txt")
    with open(path, "wb") as fh:
        fh.write(GOOD_TEXT.encode())
    (folder / "other.txt").write_text("The exit strategy is reviewed every January by the board.")
    return os.fsdecode(path)


def test_a_file_name_that_is_not_utf8_is_stored_and_found_again(tmp_path):
    from click.testing import CliRunner

    from evidence.cli import cli
    from evidence.db import open_db
    from evidence.pipeline import file_path

    raw = _non_utf8_name(tmp_path / "docs")
    args = ["ingest", str(tmp_path / "docs"), "--db", str(tmp_path / "e.db"), "--model", "hash", "--workers", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "plan-\\xe9t\\xe9.txt: 1 passage," in result.output and "Processed 2 documents, 0 failed" in result.output
    db = open_db(tmp_path / "e.db")
    stored, name, status = db.execute("select path, name, status from documents where name like 'plan-%'").fetchone()
    assert (name, status) == ("plan-\\xe9t\\xe9.txt", "ok")
    assert str(file_path(stored)) == raw and file_path(stored).exists()  # the stored path still finds the file
    again = CliRunner().invoke(cli, args)
    assert "unchanged  plan-\\xe9t\\xe9.txt" in again.output


def test_the_watcher_keeps_a_file_whose_name_is_not_utf8(tmp_path):
    from evidence import open_pipeline
    from evidence.watch import Watcher

    _non_utf8_name(tmp_path / "docs")
    lines = []

    def scan():
        pipeline = open_pipeline(tmp_path / "e.db", model="hash", workers=0)
        return sorted((o.status, o.path.name) for o in Watcher(pipeline, tmp_path / "docs", log=lines.append).initial_scan())

    assert [s for s, _ in scan()] == ["ok", "ok"]
    assert [s for s, _ in scan()] == ["unchanged", "unchanged"]  # found on disk again, not taken as removed
    assert "2 unchanged" in lines[-1]


def _unread(pipeline):
    return {os.path.basename(p): (s, e) for p, s, e in pipeline.db.execute(
        "select path, status, error from documents where status in ('failed', 'skipped')")}


def test_a_file_that_cannot_be_opened_gets_a_row(fake_pipeline, tmp_path, monkeypatch):
    import evidence.pipeline as pipeline_module

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "secret.txt").write_text(GOOD_TEXT)
    (folder / "open.txt").write_text(GOOD_TEXT + " Open.")
    real = pipeline_module.sha256_file

    def denied(path):  # what chmod 000 does to anyone but root (and tests run as root here)
        if path.name == "secret.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(pipeline_module, "sha256_file", denied)
    report = fake_pipeline.ingest([folder])
    assert report.summary() == "Processed 2 documents, 1 failed"
    assert _unread(fake_pipeline) == {"secret.txt": ("failed", "cannot open file: Permission denied")}
    fake_pipeline.ingest([folder])  # still unreadable: recorded once, not a new version every run
    assert fake_pipeline.db.execute("select count(*) from document_versions where status = 'failed'").fetchone()[0] == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder whatever its permissions")
def test_an_unreadable_folder_gets_a_row(fake_pipeline, tmp_path):
    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "open.txt").write_text(GOOD_TEXT)
    (folder / "locked").chmod(0)
    try:
        fake_pipeline.ingest([folder])
    finally:
        (folder / "locked").chmod(0o755)
    status, error = _unread(fake_pipeline)["locked"]
    assert status == "failed" and "cannot read folder" in error and "Permission denied" in error


def test_an_unreadable_folder_gets_a_row_simulated(fake_pipeline, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "inside.txt").write_text(GOOD_TEXT)
    (folder / "open.txt").write_text(GOOD_TEXT)
    real = os.scandir

    def scandir(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    fake_pipeline.ingest([folder])
    assert _unread(fake_pipeline) == {"locked": ("failed", "cannot read folder: Permission denied")}


def test_a_folder_that_cannot_be_read_keeps_its_documents(fake_pipeline, tmp_path, monkeypatch):
    """Its files cannot be looked at, which is not their deletion: their evidence keeps counting."""
    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "inside.txt").write_text(GOOD_TEXT)
    fake_pipeline.ingest([folder])
    real_scandir, real_lstat = os.scandir, os.lstat

    def scandir(path):  # what chmod 000 on the folder does to anyone but root
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def lstat(path, *args, **kw):
        if os.path.basename(os.path.dirname(path)) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kw)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "lstat", lstat)
    report = fake_pipeline.ingest([folder])
    assert "removed" not in {o.status for o in report.outcomes}
    assert fake_pipeline.db.execute("select status from documents where name = 'inside.txt'").fetchone() == ("ok",)


def test_fifos_link_loops_and_links_out_of_the_folder_are_recorded_not_followed(fake_pipeline, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "plan.txt").write_text(GOOD_TEXT)
    os.mkfifo(folder / "pipe.txt")  # reading it would wait for ever
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    outside = tmp_path / "outside.txt"
    outside.write_text("The exit strategy is reviewed every January by the board.")
    (folder / "out.txt").symlink_to(outside)
    (folder / "inside.txt").symlink_to(folder / "plan.txt")  # the same file as plan.txt: read once
    report = fake_pipeline.ingest([folder])
    unread = _unread(fake_pipeline)
    assert unread == {
        "pipe.txt": ("skipped", "not a regular file (named pipe)"),
        "loop.txt": ("skipped", "symbolic link loop"),
        "dangling.txt": ("skipped", "symbolic link to a missing file"),
        "out.txt": ("skipped", f"symbolic link to {outside}, outside the folder: not followed (use --follow-links)"),
    }
    assert sorted(o.path.name for o in report.outcomes if o.status == "ok") == ["plan.txt"]
    fake_pipeline.ingest([folder], follow_links=True)
    assert "out.txt" not in _unread(fake_pipeline)
    assert fake_pipeline.db.execute("select status from documents where name = 'out.txt'").fetchone() == ("ok",)


def _rewrite_keeping_size_and_mtime(path, text):
    """An editor saving in place within the file system's time resolution: size and mtime as they were."""
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_file_that_changes_between_hash_and_read_is_read_again(fake_pipeline, tmp_path, monkeypatch):
    from evidence.pipeline import sha256_file

    path = tmp_path / "plan.txt"
    path.write_text(GOOD_TEXT)
    later = GOOD_TEXT.replace("every month", "each quarter")[:len(GOOD_TEXT)].ljust(len(GOOD_TEXT), ".")
    original, calls = READERS["txt"].read, []

    def read_while_someone_saves(p):
        result = original(p)
        calls.append(p)
        if len(calls) == 1:
            _rewrite_keeping_size_and_mtime(p, later)
        return result

    monkeypatch.setattr(READERS["txt"], "read", read_while_someone_saves)
    outcome = fake_pipeline.ingest([path]).outcomes[0]
    assert outcome.status == "ok" and len(calls) == 2
    sha, size = fake_pipeline.db.execute("select sha256, size from documents").fetchone()
    assert (sha, size) == (sha256_file(path), path.stat().st_size)  # hash, size and text of one moment
    assert [t for t, in fake_pipeline.db.execute("select text from passages")] == [later]


def test_a_file_that_keeps_changing_is_failed_not_half_stored(fake_pipeline, tmp_path, monkeypatch):
    path = tmp_path / "plan.txt"
    path.write_text(GOOD_TEXT)
    original, calls = READERS["txt"].read, []

    def read_while_someone_writes(p):
        result = original(p)
        calls.append(p)
        _rewrite_keeping_size_and_mtime(p, f"{len(calls)}" + GOOD_TEXT[1:])
        return result

    monkeypatch.setattr(READERS["txt"], "read", read_while_someone_writes)
    outcome = fake_pipeline.ingest([path]).outcomes[0]
    assert (outcome.status, outcome.error) == ("failed", "file changed while it was read (still being written?)")
    assert fake_pipeline.db.execute("select status, sha256 from documents").fetchone() == ("failed", None)
    assert fake_pipeline.db.execute("select count(*) from passages").fetchone()[0] == 0


ORPHAN_SCRIPT = """
import os, sys, time
from pathlib import Path
from ingest import READERS
from ingest.batch import read_documents

folder = Path(sys.argv[1])

def hang(path):
    (folder / f"worker-{os.getpid()}.pid").write_text(str(os.getpid()))
    time.sleep(600)

READERS["txt"].read = hang  # the workers are forked, so they inherit this
for _ in read_documents(sorted(folder.glob("*.txt")), workers=2, timeout=600):
    pass
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished, only unreaped
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_reader_workers_die_with_their_parent(tmp_path):
    import signal
    import subprocess
    import sys

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(GOOD_TEXT)
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("worker-*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(p.read_text()) for p in tmp_path.glob("worker-*.pid")]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 30  # a bound on waiting, not a claim about speed
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)  # leave nothing behind, then fail
    assert not survivors, "reader workers outlived their parent"


def test_a_long_pdf_of_one_repeated_page_is_read_not_sent_to_ocr(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for _ in range(60):  # a template printed many times (more pages than OCR would ever take): every line repeats
        pdf.add_page()
        pdf.multi_cell(0, 6, GOOD_TEXT)
    pdf.output(str(tmp_path / "register-printout.pdf"))
    result = read_document(tmp_path / "register-printout.pdf")
    assert "OCR" not in (result.error or "")
    assert result.status == "partial" and "every page repeats the same text: read once" in result.error
    assert GOOD_TEXT.split(".")[0] in " ".join(p.text for p in result.passages)


def test_a_pdf_with_running_headers_keeps_its_body_and_says_nothing_about_ocr(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for topic in ("exit strategy", "risk register", "value creation"):
        pdf.add_page()
        pdf.cell(0, 6, "Alliance plan - confidential", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(10)
        pdf.multi_cell(0, 6, f"The {topic} is reviewed by both partners every year.")
    pdf.output(str(tmp_path / "plan.pdf"))
    result = read_document(tmp_path / "plan.pdf")
    text = " ".join(p.text for p in result.passages)
    assert result.status == "ok" and "confidential" not in text and "The value creation is reviewed" in text


def test_a_pdf_of_page_numbers_alone_has_no_text_and_needs_no_ocr(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number in range(1, 4):
        pdf.add_page()
        pdf.cell(0, 6, str(number))
    pdf.output(str(tmp_path / "blank-numbered.pdf"))
    result = read_document(tmp_path / "blank-numbered.pdf")
    assert (result.status, result.error) == ("skipped", "no text found in the file")


def test_a_file_is_whole_only_once_its_last_bytes_land(good_docx, make_pdf, tmp_path):
    """A copy in progress is a prefix of the file: an Office package or a PDF is not whole until the end; a
    format that cannot tell (plain text) is never called whole, so the watcher waits for it to settle."""
    from ingest import is_whole

    for source in (good_docx, make_pdf("plan.pdf", [("p", GOOD_TEXT)])):
        data = source.read_bytes()
        assert is_whole(source), source.name
        last = data.rfind(b"%%EOF") + 4 if source.suffix == ".pdf" else len(data) - 1  # the end marker, all but one byte
        for cut in (1, 100, len(data) // 2, len(data) - 23, last):
            partial = tmp_path / f"partial{source.suffix}"
            partial.write_bytes(data[:cut])
            assert not is_whole(partial), (source.name, cut)
    # a document carrying a workbook stored as it is (a zip in a zip): cut where the inner one ends, the copy ends
    # with an end record, the workbook's, which does not close the document
    inner = tmp_path / "book.xlsx"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    outer = tmp_path / "report.docx"
    with zipfile.ZipFile(good_docx) as src, zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as dst:
        dst.writestr(zipfile.ZipInfo("word/embeddings/book.xlsx"), inner.read_bytes(), zipfile.ZIP_STORED)
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
    with zipfile.ZipFile(outer) as zf:
        entry = zf.getinfo("word/embeddings/book.xlsx")
    data = outer.read_bytes()
    start = entry.header_offset + 30 + len(entry.filename) + len(entry.extra)  # after the entry's local header
    assert data[start:start + entry.compress_size] == inner.read_bytes() and is_whole(outer)
    (tmp_path / "cut.docx").write_bytes(data[:start + entry.compress_size])
    assert not is_whole(tmp_path / "cut.docx")
    # a PDF updated in place: a copy cut inside the update, after the first revision's marker, is not whole
    pdf = (tmp_path / "plan.pdf").read_bytes()
    (tmp_path / "updating.pdf").write_bytes(pdf + b"4 0 obj\n<< /Type /Annot")
    assert not is_whole(tmp_path / "updating.pdf")
    commented = tmp_path / "commented.xlsx"  # a zip may end with a comment after its end record
    with zipfile.ZipFile(commented, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.comment = b"written by a scanner"
    assert is_whole(commented)
    (tmp_path / "notes.txt").write_text(GOOD_TEXT)
    assert not is_whole(tmp_path / "notes.txt") and not is_whole(tmp_path / "gone.docx")


def test_a_file_of_more_passages_than_are_mapped_is_partial_and_says_so(fake_pipeline, tmp_path, monkeypatch):
    """A huge text file (a log, an export of many documents) is stored and searchable whole, but only its first
    passages are embedded and mapped: a watched folder is not held for an hour by one file."""
    from evidence import catalogue_sync

    monkeypatch.setattr(catalogue_sync, "MAX_MAPPED_PASSAGES", 20)
    log = tmp_path / "huge-log.txt"
    log.write_text("\n\n".join(f"Entry {n}: the joint team reviewed item {n} of the risk register and agreed its "
                               f"owner, its mitigation and the date of its next review." for n in range(30)))
    embedded = []
    original = fake_pipeline.embedder.embed
    fake_pipeline.embedder.embed = lambda texts: embedded.extend(texts) or original(texts)
    outcome, = fake_pipeline.ingest([log]).outcomes
    assert outcome.status == "partial" and outcome.passages == 30
    assert "only the first 20 of its 30 passages of text are mapped to requirements" in outcome.error
    db = fake_pipeline.db
    assert db.execute("select status from documents").fetchone()[0] == "partial"
    mapped = {pid for pid, in db.execute("select passage_id from evidence union select passage_id from candidates")}
    first = [pid for pid, in db.execute("select id from passages order by id")][:20]
    assert mapped and mapped <= set(first)
    assert not any("Entry 25:" in t for t in embedded)
