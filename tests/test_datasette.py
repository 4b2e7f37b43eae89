"""Published pages through Datasette's own test client."""

import asyncio
import sqlite3

import markupsafe
import pytest
from datasette.utils import tilde_encode
from helpers import copy_database

from evidence import open_pipeline, pages
from evidence.serve import build_datasette


def get(ds, path, **kw):
    return asyncio.run(ds.client.get(path, **kw))


@pytest.fixture(scope="module")
def published(hash_pack, tmp_path_factory):
    """The sample pack with the hash embedder: these pages do not depend on which model made the links."""
    return copy_database(hash_pack[0], tmp_path_factory.mktemp("published") / "evidence.db")


@pytest.fixture(scope="module")
def ds(published):
    return build_datasette([published])


def test_front_page_shows_coverage_per_framework_and_stage(ds):
    response = get(ds, "/")
    assert response.status_code == 200
    page = response.text
    assert "BS11000:" in page and "ISO44001:" in page and "XTP:" in page
    assert "1 Awareness" in page and "8 Exit strategy" in page and "Practices for building organisational trust" in page
    assert 'class="heatmap"' in page and 'class="seg seg-evidenced"' in page
    assert "/evidence/-/matrix?framework=BS11000&amp;stage=5&amp;status=evidenced" in page


def test_matrix_lists_every_requirement_with_best_evidence(ds, catalogue):
    response = get(ds, "/evidence/matrix.json?_shape=objects&_size=max")
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert sorted(r["requirement_id"] for r in rows) == sorted(r.id for r in catalogue)
    evidenced = [r for r in rows if r["status"] == "evidenced"]
    assert evidenced and all(r["best_evidence"] and r["document"] and r["location"] for r in evidenced)
    assert {r["status"] for r in rows} >= {"evidenced", "gap"} or {r["status"] for r in rows} >= {"evidenced", "weak"}
    page = get(ds, "/evidence/matrix").text
    for facet in ("framework", "stage", "status", "doc_type"):
        assert f'data-column="{facet}"' in page


def test_requirement_page_drills_down_to_evidence_and_crosswalk(ds):
    row = get(ds, "/evidence/matrix.json?_shape=objects&status=evidenced&framework=BS11000&_size=1").json()["rows"][0]
    from datasette.utils import tilde_encode

    page = get(ds, f"/evidence/requirements/{tilde_encode(row['requirement_id'])}").text
    assert "<h2>Evidence (" in page and "Candidates for review" in page and "<h2>Crosswalk</h2>" in page
    assert str(markupsafe.escape(row["location"])) in page  # as the template escapes it
    assert f"/-/source/evidence/{row['document_id']}" in page
    assert "Why: similarity" in page and "signals: text +" in page


def test_requirement_page_names_the_standards_terms_a_link_uses(ds):
    from datasette.utils import tilde_encode

    page = get(ds, f"/evidence/requirements/{tilde_encode('BS11000-S5.1')}").text
    assert "uses the standard&#39;s terms: " in page or "uses the standard's terms: " in page
    assert "SER" in page.split("uses the standard")[1][:80]


def test_a_document_whose_newer_version_is_unreadable_says_so(tmp_path, make_docx):
    path = make_docx("plan.docx", [("p", "The joint risk register is reviewed monthly by both partners.")])
    db_path = tmp_path / "evidence.db"
    pipeline = open_pipeline(db_path, model="hash", workers=0)
    pipeline.ingest([path])
    path.write_bytes(b"PK\x03\x04 half written")
    pipeline.ingest([path])
    ds = build_datasette([db_path])
    page = get(ds, "/evidence/documents/1").text
    assert "could not be read" in page and "still counts as evidence" in page
    rows = get(ds, "/evidence/unread_files.json?_shape=objects").json()["rows"]
    assert [(r["name"], r["status"]) for r in rows] == [("plan.docx", "ok")] and rows[0]["newer_version_unread"]
    changes = get(ds, "/evidence/changes.json?_shape=objects&since=").json()["rows"]
    assert any(r["what"].startswith("newer version could not be read") for r in changes)


def test_version_diff_page_shows_passages_and_requirements_that_changed(tmp_path, make_docx):
    risk = ("h1", "1 Risk"), ("p", "The joint risk register is reviewed monthly by both partners, and every risk has "
                                   "a named owner from either organisation.")
    path = make_docx("plan.docx", [*risk, ("h1", "2 Site"), ("p", "Parking is behind the depot building.")])
    db_path = tmp_path / "evidence.db"
    pipeline = open_pipeline(db_path, model="hash", workers=0)
    pipeline.ingest([path])
    make_docx("plan.docx", [*risk, ("h1", "2 Exit"), ("p", "The exit strategy is reviewed every January by both SERs.")])
    pipeline.ingest([path])
    ds = build_datasette([db_path])
    document = get(ds, "/evidence/documents/1").text
    assert "Versions (2)" in document and 'href="/-/diff/evidence/1"' in document
    page = get(ds, "/-/diff/evidence/1")
    assert page.status_code == 200
    added, removed = page.text.split("<h2>Added")[1].split("<h2>Removed")
    assert "The exit strategy is reviewed every January" in added and "Parking" not in added
    assert "Parking is behind the depot building." in removed
    assert "1 passages added, 1 removed" in " ".join(page.text.split())
    assert get(ds, "/-/diff/evidence/1?from=x").status_code == 400
    assert get(ds, "/-/diff/evidence/1?to=1").status_code == 404  # nothing before the first version
    assert get(ds, "/-/diff/evidence/99").status_code == 404
    assert get(ds, "/-/diff/nosuchdb/1").status_code == 404


def test_canned_queries(ds):
    for name in ("gaps", "weak"):
        response = get(ds, f"/evidence/{name}.json?framework=BS11000&_shape=objects")
        assert response.status_code == 200, response.text
        assert all(r["framework"] == "BS11000" for r in response.json()["rows"])
    assert get(ds, "/evidence/single_document.json").status_code == 200
    unread = get(ds, "/evidence/unread_files.json?_shape=objects")
    assert unread.status_code == 200 and unread.json()["rows"] == []


def test_the_evidence_query_lists_a_requirement_as_its_page_does(ds, published):
    """The canned query an auditor exports and the requirement's page: the same passages in the same order (one
    order, pages.EVIDENCE_FOR's, whose own order is db.EVIDENCE_ORDER)."""
    conn = sqlite3.connect(published)
    rid = conn.execute("select requirement_id from coverage where evidence_count >= 4 order by evidence_count desc "
                       "limit 1").fetchone()[0]
    page = [r[0] for r in conn.execute(f"select text from ({pages.EVIDENCE_FOR})", {"rid": rid, "limit": 100})]
    query = get(ds, f"/evidence/requirement_evidence.json?requirement_id={rid}&_shape=objects")
    assert [r["text"] for r in query.json()["rows"]] == page and len(page) >= 4


def test_full_text_search_over_passages(ds):
    response = get(ds, "/evidence/passages.json?_search=exit+strategy&_shape=objects")
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert rows and all("exit" in (r["text"] + r["context"]).lower() for r in rows)


def test_source_file_is_the_stored_copy(ds, published):
    import sqlite3

    doc_id, sha, name = sqlite3.connect(published).execute(
        "select id, sha256, name from documents where format = 'pdf' limit 1").fetchone()
    response = get(ds, f"/-/source/evidence/{doc_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(response.content).hexdigest() == sha
    assert f'filename="{name}"' in response.headers["content-disposition"]
    assert get(ds, "/-/source/evidence/99999").status_code == 404
    traversal = get(ds, "/-/source/evidence/..%2F..%2Fetc%2Fpasswd")
    assert traversal.status_code in (302, 404) and "root:" not in traversal.text
    assert get(ds, "/-/source/_internal/1").status_code == 404


def test_a_download_keeps_its_extension_and_its_own_name(ds):
    """A long name is cut before its extension (the file still opens with the right program); a name beyond
    ASCII is given as it is, UTF-8, beside a plain one."""
    from urllib.parse import unquote

    from datasette.plugins import pm

    names = pm.get_plugin("evidence_plugin.py").download_names
    long = "Alliance annual review 2025 " + "très-long-nom-" * 20 + "final.pdf"
    disposition = names(long)
    plain = disposition.split('filename="')[1].split('"')[0]
    own = unquote(disposition.split("filename*=UTF-8''")[1])
    assert plain.endswith(".pdf") and len(plain) <= 150 and plain.isascii()
    assert own.endswith(".pdf") and own.startswith("Alliance annual review 2025 très-long-nom-")
    for name in ("Régistre ✅.xlsx", "計画.文書", "plan.pdé"):
        disposition = names(name)
        assert disposition.split('filename="')[1].split('"')[0].isascii(), disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == name


def test_published_evidence_is_read_only(ds, capfd):
    response = asyncio.run(ds.client.post("/evidence/-/query", data={"sql": "delete from evidence"}))
    assert response.status_code in (400, 403, 404, 405)
    refused = get(ds, "/evidence.json?sql=delete+from+evidence")
    assert refused.status_code == 400 and refused.json()["error"] == "Statement must be a SELECT"
    page = get(ds, "/evidence?sql=delete+from+evidence")
    assert page.status_code == 400 and "Statement must be a SELECT" in page.text and "Invalid SQL" in page.text
    assert "Traceback" not in "".join(capfd.readouterr())  # an answer to the visitor, not a fault on the console
    assert get(ds, "/evidence/evidence.json?_size=1").json()["rows"]


def test_hostile_document_shows_as_plain_text(tmp_path):
    hostile = tmp_path / "evil..\\..\\<b>name.txt"  # backslashes are path separators elsewhere
    hostile.write_text("<script>alert('owned')</script> The joint risk register'); drop table documents; -- "
                       "is reviewed monthly by both partners <img src=x onerror=alert(1)>.")
    db_path = tmp_path / "hostile.db"
    pipeline = open_pipeline(db_path, model="hash", workers=0)
    pipeline.ingest([hostile])
    ds = build_datasette([db_path])
    for path in ("/evidence/passages", "/evidence/documents", "/evidence/passages/1", "/evidence/documents/1",
                 "/evidence/-/search?q=script+alert", "/evidence/-/search?q=%3Cscript%3E"):
        page = get(ds, path).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>name" not in page, path
    assert "&lt;<mark>script</mark>&gt;<mark>alert</mark>" in get(ds, "/evidence/-/search?q=script+alert").text
    assert "&lt;script&gt;" in get(ds, "/evidence/passages/1").text
    assert get(ds, "/evidence/documents.json").json()["rows"], "the documents table survived"
    source = get(ds, "/-/source/evidence/1")
    assert source.status_code == 200
    assert source.headers["content-type"].startswith("text/plain")
    assert "sandbox" in source.headers["content-security-policy"]
    disposition = source.headers["content-disposition"]
    assert "/" not in disposition.split("filename=")[1] and "\\" not in disposition and "<" not in disposition


def test_search_page_lists_the_best_matches_with_their_documents_and_requirements(ds, published):
    page = get(ds, "/evidence/-/search?q=joint+risk+register")
    assert page.status_code == 200
    conn = sqlite3.connect(published)
    total = conn.execute("select count(*) from passages_fts where passages_fts match 'joint risk register'").fetchone()[0]
    assert f"{total:,} passage" in page.text and "<mark>risk</mark>" in page.text
    first = pages.search_passages(conn, "joint risk register")["results"][0]
    assert f'href="/evidence/documents/{first["document_id"]}"' in page.text
    assert all(f'href="/evidence/requirements/{tilde_encode(rid)}"' in page.text for rid in first["requirements"])
    assert 'href="/evidence/passages?_search=joint+risk+register"' in page.text  # every match, as a table
    front = get(ds, "/").text
    assert 'href="/evidence/-/search"' in front and 'action="/evidence/-/search"' in front
    assert get(ds, "/nosuchdb/-/search?q=risk").status_code == 404


def test_the_matrix_page_links_each_requirement_its_best_passage_and_its_document(ds, published):
    conn = sqlite3.connect(published)
    page = get(ds, "/evidence/-/matrix")
    assert page.status_code == 200
    first = pages.matrix_page(conn)["rows"][0]
    evidenced = next(r for r in pages.matrix_page(conn, {"status": "evidenced"})["rows"])
    assert f'href="/evidence/requirements/{tilde_encode(first["requirement_id"])}"' in page.text
    gaps = get(ds, "/evidence/-/matrix?framework=BS11000&status=gap").text
    total = pages.matrix_page(conn, {"framework": "BS11000", "status": "gap"})["total"]
    assert gaps.count('<td class="status-gap">gap</td>') == min(total, pages.MATRIX_LIMIT)
    assert '<td class="status-evidenced">' not in gaps
    assert 'href="/evidence/-/matrix?framework=BS11000"' in gaps  # the chosen status, removed
    assert 'href="/evidence/matrix?framework=BS11000&amp;status=gap"' in gaps  # the same rows as a table
    shown = get(ds, "/evidence/-/matrix?status=evidenced").text
    assert f'href="/evidence/passages/{evidenced["passage_id"]}"' in shown
    assert f'href="/evidence/documents/{evidenced["document_id"]}"' in shown
    assert 'href="/evidence/-/matrix?_offset=50"' in page.text  # more than a page of requirements
    assert get(ds, "/evidence/-/matrix?_offset=x").status_code == 400
    assert get(ds, "/evidence/-/matrix?_offset=" + "9" * 30).status_code == 200  # past any matrix, not a 500
    beyond = get(ds, "/evidence/-/matrix?framework=BS11000&status=gap&_offset=1000").text  # an old link, past the end
    last = (total - 1) // pages.MATRIX_LIMIT * pages.MATRIX_LIMIT  # "previous" leads to the last page with rows
    assert f'href="/evidence/-/matrix?framework=BS11000&amp;status=gap{f"&amp;_offset={last}" if last else ""}">' \
           f'Previous' in beyond
    assert get(ds, "/nosuchdb/-/matrix").status_code == 404


def test_several_databases_are_published_side_by_side(tmp_path, sample_pack):
    paths = [tmp_path / "alliance-a.db", tmp_path / "alliance-b.db"]
    pipeline = open_pipeline(paths[0], model="hash", workers=0)
    pipeline.ingest([sample_pack / "joint-risk-register.xlsx"])
    pipeline.db.conn.close()
    copy_database(paths[0], paths[1])
    ds = build_datasette(paths)
    page = get(ds, "/").text
    assert '<a href="/alliance-a">alliance-a</a>' in page and '<a href="/alliance-b">alliance-b</a>' in page
    for name in ("alliance-a", "alliance-b"):
        assert get(ds, f"/{name}/gaps.json?framework=XTP").status_code == 200  # canned queries for every database
        assert get(ds, f"/{name}/matrix.json").json()["rows"]


def test_every_canned_query_answers(ds):
    import yaml

    from evidence.serve import config_dir

    queries = yaml.safe_load((config_dir() / "metadata.yml").read_text())["databases"]["evidence"]["queries"]
    params = {"framework": "BS11000", "months": "12", "requirement_id": "BS11000-S5.9", "since": ""}
    for name, query in queries.items():
        args = "&".join(f"{p}={params[p]}" for p in query.get("params", []))
        response = get(ds, f"/evidence/{name}.json?_shape=objects&{args}")
        assert response.status_code == 200, (name, response.text[:300])
    rows = get(ds, "/evidence/requirement_evidence.json?_shape=objects&requirement_id=BS11000-S5.9").json()["rows"]
    assert rows and all(r["requirement_id"] == "BS11000-S5.9" for r in rows)


def test_a_busy_requirement_shows_its_strongest_links_and_links_to_all(published, monkeypatch):
    import sqlite3

    from datasette.plugins import pm
    from datasette.utils import tilde_encode

    ds = build_datasette([published])
    plugin = pm.get_plugin("evidence_plugin.py")  # loaded from the configuration directory's plugins/
    monkeypatch.setattr(plugin, "EVIDENCE_LIMIT", 2)
    rid, total = sqlite3.connect(published).execute(
        "select requirement_id, count(*) from evidence group by requirement_id order by count(*) desc limit 1").fetchone()
    assert total > 2
    page = get(ds, f"/evidence/requirements/{tilde_encode(rid)}").text
    assert f"<h2>Evidence ({total})</h2>" in page and "The 2 strongest links are shown" in page
    assert page.count('<blockquote>') >= 2
    assert f"/evidence/effective_evidence?requirement_id={rid}" in page
    listing = get(ds, f"/evidence/effective_evidence.json?requirement_id={rid}&_shape=objects&_size=max").json()["rows"]
    assert len(listing) == total


@pytest.fixture
def small_ds(tmp_path):
    (tmp_path / "notes.txt").write_text("The joint risk register is reviewed monthly by both partners.")
    db_path = tmp_path / "evidence.db"
    open_pipeline(db_path, model="hash", workers=0).ingest([tmp_path / "notes.txt"])
    return build_datasette([db_path])


def test_out_of_range_ids_and_unknown_paths_answer_4xx_not_500(small_ds, capfd):
    huge = str(2 ** 64)
    for path in (f"/-/diff/evidence/{huge}", f"/-/diff/evidence/1?from={huge}", f"/-/diff/evidence/1?to=-{huge}",
                 "/-/source/evidence/-1", f"/-/source/evidence/{huge}", f"/evidence/passages/{huge}", "/a/b/c/d",
                 "/-/export/evidence.csv?sheet=nope", "/evidence/-/assess/NOPE", "/nodb/-/assess"):
        assert 400 <= get(small_ds, path).status_code < 500, path
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err  # a 404 is an answer, not a fault for the console


def test_fts3_tokenizer_cannot_be_called_through_sql(small_ds):
    for sql in ("select fts3_tokenizer('simple')", "select FTS3_Tokenizer('porter')",
                "select * from (select fts3_tokenizer('simple') as t)"):
        response = get(small_ds, "/evidence.json", params={"sql": sql})
        assert response.status_code == 400 and not response.json()["ok"], sql
        assert "not authorized to use function" in response.json()["error"]
    assert get(small_ds, "/evidence.json", params={"sql": "select count(*) from passages"}).json()["rows"] == [[1]]
    assert get(small_ds, "/evidence/passages.json?_search=risk").json()["rows"]  # full-text search still works


def test_stored_copies_of_every_readable_suffix_are_served(tmp_path, make_docx, make_xlsx):
    text = "The joint risk register is reviewed monthly by both partners."
    files = {
        make_docx("plan.docm", [("p", text)]): "application/vnd.ms-word.document.macroEnabled.12",
        make_xlsx("register.xlsm", {"Risks": [["Risk", "Owner"], [text, "JMT"]]}):
            "application/vnd.ms-excel.sheet.macroEnabled.12",
        make_docx("Plan.DOCX", [("p", text + " Signed.")]):
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
    for name, body in (("risks.tsv", f"Risk\tOwner\n{text}\tJMT\n"), ("notes.markdown", f"# Risks\n\n{text}\n"),
                       ("minutes.text", f"Minutes. {text}\n")):
        (tmp_path / name).write_text(body)
        files[tmp_path / name] = "text/plain; charset=utf-8"
    db_path = tmp_path / "evidence.db"
    report = open_pipeline(db_path, model="hash", workers=0).ingest(list(files))
    assert {o.status for o in report.outcomes} == {"ok"}, [(o.path.name, o.error) for o in report.outcomes]
    ds = build_datasette([db_path])
    for outcome in report.outcomes:
        response = get(ds, f"/-/source/evidence/{outcome.document_id}")
        assert response.status_code == 200, outcome.path.name
        assert response.headers["content-type"] == files[outcome.path], outcome.path.name
        assert response.content == outcome.path.read_bytes()
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
        inline = outcome.path.suffix in (".tsv", ".markdown", ".text")
        assert response.headers["content-disposition"].startswith("inline" if inline else "attachment")


def test_copies_kept_before_their_names_were_recorded_are_still_served(tmp_path):
    import hashlib

    import sqlite_utils

    from evidence.migrations import migrations

    body = b"Risk\tOwner\nThe joint risk register is reviewed monthly.\tJMT\n"
    sha = hashlib.sha256(body).hexdigest()
    db_path = tmp_path / "old.db"
    old = sqlite_utils.Database(db_path)
    migrations.apply(old, stop_before="m010_copy_name")  # a database as the previous release left it
    old["documents"].insert({"id": 1, "path": str(tmp_path / "risks.tsv"), "name": "Risks.TSV", "sha256": sha,
                             "format": "csv", "status": "ok"})
    old.close()
    kept = tmp_path / "old-files" / sha[:2] / f"{sha}.tsv"  # where that release kept the copy
    kept.parent.mkdir(parents=True)
    kept.write_bytes(body)
    response = get(build_datasette([db_path]), "/-/source/evidence/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8" and response.content == body

