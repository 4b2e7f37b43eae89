import re

import pytest
from click.testing import CliRunner

from evidence import open_pipeline
from evidence.cli import cli


def _run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_ingest_reports_every_file_and_a_summary(sample_pack, db_path):
    result = _run("ingest", str(sample_pack), "--db", str(db_path), "--model", "hash", "--workers", "0")
    assert result.exit_code == 0, result.output
    files = len(list(sample_pack.iterdir()))
    assert result.output.strip().endswith(f"Processed {files} documents, 0 failed")
    assert "joint-risk-register.xlsx: 5 passages" in result.output
    again = _run("ingest", str(sample_pack), "--db", str(db_path), "--workers", "0")
    assert again.exit_code == 0, again.output
    assert again.output.count("unchanged") == files


def test_ingest_of_a_folder_reports_the_files_deleted_from_it(tmp_path, db_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("keep.txt", "gone.txt"):
        (folder / name).write_text(f"The joint risk register ({name}) is reviewed monthly by both partners.")
    _run("ingest", str(folder), "--db", str(db_path), "--model", "hash", "--workers", "0")
    (folder / "gone.txt").unlink()
    again = _run("ingest", str(folder), "--db", str(db_path), "--workers", "0")
    assert "  removed    gone.txt: file gone, its 1 passage no longer counts (kept in history)" in again.output
    assert again.output.strip().endswith("Processed 2 documents, 0 failed")


def test_ingest_with_worker_processes_records_failures(tmp_path, db_path, make_docx):
    make_docx("good.docx", [("p", "The joint management team meets every month to review risks.")])
    (tmp_path / "broken.docx").write_text("not really a docx")
    result = _run("ingest", str(tmp_path), "--db", str(db_path), "--model", "hash", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "FAILED     broken.docx: not a Word file although named .docx" in result.output
    assert result.output.strip().endswith("Processed 2 documents, 1 failed")
    docs = _run("documents", "--db", str(db_path))
    assert "failed" in docs.output and "(not a Word file although named .docx)" in docs.output
    assert docs.output.strip().endswith("2 document(s)")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("ingest", str(empty), "--db", str(tmp_path / "new.db"), "--model", "hash").exit_code == 0
    assert "No documents yet" in _run("documents", "--db", str(tmp_path / "new.db")).output


def test_diff_shows_what_changed_between_two_versions(make_docx, db_path):
    risk = ("h1", "1 Risk"), ("p", "The joint risk register is reviewed monthly by both partners, and every risk "
                                   "has a named owner from either organisation.")
    path = make_docx("plan.docx", [*risk, ("h1", "2 Site"), ("p", "Parking is behind the depot building.")])
    _run("ingest", str(path), "--db", str(db_path), "--model", "hash", "--workers", "0")
    make_docx("plan.docx", [*risk, ("h1", "2 Exit"), ("p", "The exit strategy is reviewed every January by both SERs.")])
    _run("ingest", str(path), "--db", str(db_path), "--model", "hash", "--workers", "0")
    result = _run("diff", "plan.docx", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "1 passages added, 1 removed, 1 unchanged" in result.output
    assert '+ [section 2, paragraph 1] The exit strategy is reviewed' in result.output
    assert '- [section 2, paragraph 1] Parking is behind the depot building.' in result.output
    missing = _run("diff", "nothing.docx", "--db", str(db_path))
    assert missing.exit_code == 1 and "no document named 'nothing.docx'" in missing.output
    first_only = _run("diff", "plan.docx", "--db", str(db_path), "--to", "1")
    assert first_only.exit_code == 1 and "no earlier readable version" in first_only.output


def test_gaps_lists_requirements_without_evidence(pack_db):
    import sqlite3

    result = _run("gaps", "--db", str(pack_db), "--framework", "BS11000", "--no-weak")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    gaps = sqlite3.connect(pack_db).execute(
        "select count(*) from coverage where status = 'gap' and requirement_id like 'BS11000-%'").fetchone()[0]
    assert gaps and lines[-1].endswith(f"{gaps} requirement(s) without evidence") and len(lines) == gaps + 1
    assert all(line.startswith("BS11000-") and " gap " in line for line in lines[:-1])
    both = _run("gaps", "--db", str(pack_db), "--framework", "BS11000")
    weak = sqlite3.connect(pack_db).execute(
        "select count(*) from coverage where status = 'weak' and requirement_id like 'BS11000-%'").fetchone()[0]
    assert weak and f"{gaps} requirement(s) without evidence, {weak} whose evidence is not enough" in both.output


def test_requirements_and_custom_catalogue(tmp_path, catalogue):
    result = _run("requirements")
    assert result.exit_code == 0
    assert "BS11000-S5.17" in result.output and "XTP-C6" in result.output
    assert f"{len(catalogue)} requirements" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("framework: {id: X, name: X}\nstages: [{id: '1', title: One}]\nrequirements: [{id: X-1, stage: '2', title: t, description: d}]")
    result = CliRunner().invoke(cli, ["requirements", "--catalogue", str(bad)])
    assert result.exit_code == 1
    assert "Error: " in result.output and "requirement 'X-1' is under stage '2'" in result.output
    assert "Traceback" not in result.output


def test_missing_input_is_a_clean_error(db_path, tmp_path):
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "missing"), "--db", str(db_path), "--model", "hash"])
    assert result.exit_code == 1
    assert "Error: no such file or folder" in result.output


def test_serve_refuses_a_public_address_without_a_password(db_path, monkeypatch):
    monkeypatch.delenv("EVIDENCE_PASSWORD_HASH", raising=False)
    _run("ingest", "--help")
    result = CliRunner().invoke(cli, ["serve", "--db", str(db_path), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "refusing to publish commercial evidence on 0.0.0.0 without authentication" in result.output
    assert "Serving" not in result.output  # refused before it says it serves
    folder = db_path.parent / "shared"
    folder.mkdir()
    watched = CliRunner().invoke(cli, ["serve", "--db", str(db_path), "--host", "0.0.0.0", "--watch", str(folder)])
    assert watched.exit_code == 1 and not db_path.exists()  # and before a watcher made a database


@pytest.mark.parametrize("env", [{"EVIDENCE_PASSWORD_HASH": "not-a-hash"},
                                 {"EVIDENCE_ACCOUNTS": "alice=pbkdf2_sha256$480000$salt"},
                                 {"EVIDENCE_PASSWORD_HASH": "pbkdf2_sha256$many$salt$aGFzaA=="}])
def test_serve_refuses_a_malformed_password_hash(db_path, monkeypatch, env):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw))
    for name in ("EVIDENCE_PASSWORD_HASH", "EVIDENCE_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    open_pipeline(db_path, model="hash", workers=0)  # an existing database: only the password can stop serve
    result = CliRunner().invoke(cli, ["serve", "--db", str(db_path), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and not started
    assert "is malformed: make one with `evidence hash-password`" in result.output


def test_console_output_escapes_control_characters_in_names(tmp_path, db_path):
    import sqlite3

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "evil\x1b]0;owned\x07\x1b[2J.txt").write_text("The joint risk register is reviewed monthly by both partners.")
    (folder / "broken\x1b[31m.docx").write_text("not a Word file")

    def run(*args):  # color=True: the output reaches the console as it would a terminal, escape codes and all
        return CliRunner().invoke(cli, list(args), color=True, catch_exceptions=False)

    ingested = run("ingest", str(folder), "--db", str(db_path), "--model", "hash", "--workers", "0")
    assert "evil\\x1b]0;owned\\x07\\x1b[2J.txt: 1 passage," in ingested.output
    assert "FAILED     broken\\x1b[31m.docx: not a Word file" in ingested.output
    with sqlite3.connect(db_path) as conn:  # a database written before names were cleaned
        conn.execute("update documents set name = ? where name like 'evil%'", ["old\x1b[2J\u202e.txt"])
    documents = run("documents", "--db", str(db_path))
    assert "old\\x1b[2J\\u202e.txt" in documents.output
    missing = run("diff", "no\x1b[2Jsuch", "--db", str(db_path))
    assert "no document named 'no\\x1b[2Jsuch'" in missing.output
    for result in (ingested, documents, missing):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]", result.output)


def test_sample_writes_the_pack(tmp_path):
    result = _run("sample", str(tmp_path / "pack"))
    assert result.exit_code == 0, result.output
    names = sorted(p.suffix for p in (tmp_path / "pack").iterdir())
    assert names.count(".docx") == 4 and names.count(".xlsx") == 4 and names.count(".pdf") == 4
    assert names.count(".pptx") == 1 and names.count(".eml") == 1


def test_help_everywhere():
    for command in ("ingest", "serve", "gaps", "documents", "requirements", "remap", "sample", "hash-password", "diff",
                    "assess"):
        result = _run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output
