"""The pages' data straight from the library, without a web server."""

from __future__ import annotations

import json

from evidence import pages


def test_page_data_comes_from_the_database_alone(fake_pipeline, sample_pack):
    fake_pipeline.ingest([sample_pack])
    conn = fake_pipeline.db.conn
    summary = {fw["framework"]: fw for fw in pages.coverage_summary(conn)}
    total = conn.execute("select count(*) from requirements where framework = 'BS11000'").fetchone()[0]
    assert summary["BS11000"]["total"] == total == sum(s["total"] for s in summary["BS11000"]["stages"])

    rid, links = conn.execute("select requirement_id, count(*) from effective_evidence group by requirement_id "
                              "order by count(*) desc limit 1").fetchone()
    detail = pages.requirement_detail(conn, rid, limit=1)
    assert detail["total_links"] == links and len(detail["evidence"]) == 1
    assert detail["coverage"]["requirement_id"] == rid and isinstance(detail["evidence"][0]["why"], str)

    doc_id = conn.execute("select p.document_id from effective_evidence e join passages p on p.id = e.passage_id "
                          "where e.requirement_id = ?", [rid]).fetchone()[0]
    document = pages.document_detail(conn, doc_id)
    assert rid in [r["requirement_id"] for r in document["requirements"]]
    assert len(document["versions"]) == 1 and not document["comparable"] and document["unread"] is None
    assert pages.watcher_status(conn) == {}


def test_a_crosswalk_reason_reads_as_a_sentence():
    assert pages.why_text(json.dumps({"crosswalk_from": "BS11000-S5.1"})) == "through the crosswalk from BS11000-S5.1"
    assert pages.why_text("not json") == ""


def test_a_requirement_page_lists_the_best_of_what_coverage_counts_after_reviews(pack_db):
    """The page reads a requirement's best links straight from the index and stops; what it lists must be
    exactly the head of `effective_evidence` in EVIDENCE_ORDER, whatever assessors rejected, accepted or added
    (and a rejection of an item that also takes its crosswalk links)."""
    import sqlite3

    from evidence.db import EVIDENCE_ORDER
    from evidence.reviews import record_review

    conn = sqlite3.connect(pack_db)
    busy = [rid for rid, in conn.execute("select requirement_id from evidence group by requirement_id "
                                         "order by count(*) desc, requirement_id limit 4")]
    for rid in busy[:2]:  # the best link rejected, and a link of one through the crosswalk
        best = conn.execute("select passage_id from evidence where requirement_id = ? and via is null "
                            "order by score desc limit 1", [rid]).fetchone()[0]
        record_review(conn, rid, "reject", "assessor", best)
    via = conn.execute("select via, passage_id, requirement_id from evidence where via is not null "
                       "order by requirement_id, passage_id limit 1").fetchone()
    assert via, "the pack has crosswalk links"
    record_review(conn, via[0], "reject", "assessor", via[1])  # takes the link to via[2] with it
    assert not conn.execute("select 1 from effective_evidence where passage_id = ? and requirement_id = ?",
                            [via[1], via[2]]).fetchone()
    # ties: the three strongest direct links of the busiest requirement score alike; passage ids decide
    conn.execute("update evidence set score = 0.9 where requirement_id = ? and via is null and passage_id in ("
                 "select passage_id from evidence where requirement_id = ? and via is null "
                 "order by score desc limit 3)", [busy[3], busy[3]])
    candidate = conn.execute("select requirement_id, passage_id from candidates order by score desc limit 1").fetchone()
    record_review(conn, *candidate[:1], "accept", "assessor", candidate[1])
    unlinked = conn.execute("select id from passages where id not in (select passage_id from evidence) "
                            "order by id limit 1").fetchone()[0]
    record_review(conn, busy[2], "add", "assessor", unlinked)
    conn.commit()
    for rid in {*busy, candidate[0], via[0], via[2]}:
        for limit in (1, 3, 50):
            listed = [row["passage_id"] for row in pages.requirement_detail(conn, rid, limit=limit)["evidence"]]
            head = [pid for pid, in conn.execute(
                f"select passage_id from effective_evidence where requirement_id = ? "
                f"order by {EVIDENCE_ORDER.format(e='')} limit ?", [rid, limit])]
            assert listed == head, (rid, limit)
    assert unlinked in [row["passage_id"] for row in pages.requirement_detail(conn, busy[2])["evidence"]][:1]


def test_search_finds_the_words_best_first_with_what_each_passage_evidences(pack_db):
    """Words, never FTS syntax: quotes, OR and NOT are searched as written; the count is every match; each
    result names its document and the requirements it counts as evidence for, as coverage counts them."""
    import sqlite3

    conn = sqlite3.connect(pack_db)
    found = pages.search_passages(conn, "joint risk register")
    matching = [pid for pid, in conn.execute(
        "select id from passages where text like '%joint%' and text like '%risk%' and text like '%register%'")]
    assert found["total"] >= len(matching) > 0 and len(found["results"]) == min(found["total"], pages.SEARCH_LIMIT)
    first = found["results"][0]
    opening, closing = pages.SNIPPET_MARKS
    assert f"{opening}risk{closing}" in first["snippet"].lower() and first["document"] and first["location"]
    for row in found["results"]:
        counted = {rid for rid, in conn.execute(
            "select requirement_id from effective_evidence where passage_id = ?", [row["passage_id"]])}
        assert set(row["requirements"]) == counted
    # OR in capitals would be FTS5's union; here it is the word "or", as the lower-case one always is
    as_words = pages.search_passages(conn, 'risk OR "register')["total"]
    union = conn.execute("select count(*) from passages_fts where passages_fts match 'risk OR register'").fetchone()[0]
    assert as_words == pages.search_passages(conn, "risk or register")["total"] < union
    negated = pages.search_passages(conn, "NOT")["results"]  # alone, FTS5 would refuse it as a syntax error
    assert negated and all(f"{opening}not{closing}" in r["snippet"].lower() for r in negated)
    assert pages.search_passages(conn, "  ") == {"query": "  ", "total": 0, "results": [], "ranked": True}


def test_a_search_with_too_many_matches_to_rank_lists_the_newest_and_says_so(pack_db, monkeypatch):
    import sqlite3

    conn = sqlite3.connect(pack_db)
    ranked = pages.search_passages(conn, "the")
    assert ranked["ranked"] and ranked["total"] > 3
    monkeypatch.setattr(pages, "SEARCH_RANKED_UP_TO", 3)
    newest = pages.search_passages(conn, "the", limit=5)
    assert not newest["ranked"] and newest["total"] == ranked["total"]
    ids = [r["passage_id"] for r in newest["results"]]
    assert ids == sorted(ids, reverse=True) == [pid for pid, in conn.execute(
        "select rowid from passages_fts where passages_fts match 'the' order by rowid desc limit 5")]


def test_a_search_too_long_or_too_slow_is_refused_with_the_reason(pack_db, monkeypatch):
    import sqlite3

    import pytest

    conn = sqlite3.connect(pack_db)
    with pytest.raises(pages.SearchError, match="at most 20 words"):
        pages.search_passages(conn, " ".join(["risk"] * 21))
    monkeypatch.setattr(pages, "SEARCH_SECONDS", 0.0)
    monkeypatch.setattr(pages, "SEARCH_CHECK_EVERY", 1)  # a small pack answers within a thousand steps
    with pytest.raises(pages.SearchError, match="took too long"):
        pages.search_passages(conn, "the joint risk register")
    monkeypatch.setattr(pages, "SEARCH_SECONDS", 2.0)
    assert pages.search_passages(conn, "the joint risk register")["total"] > 0  # the connection is usable again


def test_a_passage_that_says_the_words_ranks_above_rows_filed_under_them(fake_pipeline, make_docx, make_xlsx):
    """Words in a passage's own text weigh more than the same words in its sheet's name or heading: the paragraph
    about the joint risk register comes before the rows of a sheet named after it."""
    rows = [["Ref", "Risk", "Owner"]] + [[f"R-{i}", f"Van tyre wear number {i}", "Fleet"] for i in range(6)]
    fake_pipeline.ingest([
        make_xlsx("register.xlsx", {"Joint risk register": rows}),
        make_docx("plan.docx", [("h1", "5 Risk"), ("p", "Both partners review the joint risk register every month "
                                                     "and agree an owner and a date for each mitigation.")]),
    ])
    found = pages.search_passages(fake_pipeline.db.conn, "joint risk register")
    assert found["total"] == 7 and found["results"][0]["document"] == "plan.docx", found["results"][:2]


def test_the_matrix_a_page_at_a_time_narrowed_by_its_filters_with_their_counts(pack_db):
    import sqlite3

    conn = sqlite3.connect(pack_db)
    view = [r for r, in conn.execute("select requirement_id from matrix")]  # catalogue order
    whole = pages.matrix_page(conn)
    assert whole["total"] == len(view) > pages.MATRIX_LIMIT and whole["filters"] == {}
    assert [r["requirement_id"] for r in whole["rows"]] == view[:pages.MATRIX_LIMIT]
    assert [r["requirement_id"] for r in pages.matrix_page(conn, offset=50)["rows"]] == view[50:100]
    assert (whole["first"], whole["last"], whole["next_offset"], whole["previous_offset"]) == (1, 50, 50, None)
    last_page = (len(view) - 1) // pages.MATRIX_LIMIT * pages.MATRIX_LIMIT
    beyond = pages.matrix_page(conn, offset=10_000)  # an old link past the end leads back to the last page with rows
    assert beyond["rows"] == [] and beyond["next_offset"] is None and beyond["previous_offset"] == last_page
    for column in pages.MATRIX_FILTERS:  # each facet counts the matching requirements once
        assert sum(f["count"] for f in whole["facets"][column]) == conn.execute(
            f"select count(*) from matrix where {column} is not null").fetchone()[0]

    gaps = pages.matrix_page(conn, {"framework": "BS11000", "status": "gap", "not_a_column": "x"})
    expected = conn.execute("select count(*) from coverage c join requirements r on r.id = c.requirement_id "
                            "where r.framework = 'BS11000' and c.status = 'gap'").fetchone()[0]
    assert gaps["filters"] == {"framework": "BS11000", "status": "gap"} and gaps["total"] == expected > 0
    assert {(r["framework"], r["status"]) for r in gaps["rows"]} == {("BS11000", "gap")}
    assert [f["value"] for f in gaps["facets"]["status"] if f["chosen"]] == ["gap"]
    assert [f["value"] for f in gaps["facets"]["stage"]][:3] == ["1", "2", "3"]  # stages in their own order
    assert pages.matrix_page(conn, {"status": "gap' or 1=1 --"})["total"] == 0  # a value, never SQL

    long = next(r for p in range(0, whole["total"], 50) for r in pages.matrix_page(conn, offset=p)["rows"] if r["cut"])
    text = conn.execute("select text from passages where id = ?", [long["passage_id"]]).fetchone()[0]
    assert len(long["excerpt"]) == pages.MATRIX_EXCERPT and text.startswith(long["excerpt"])


def test_a_passage_page_leads_back_to_its_document_and_the_page_of_its_source(pack_db):
    import asyncio
    import sqlite3

    from evidence.serve import build_datasette

    pid, doc_id, name, page = sqlite3.connect(pack_db).execute(
        "select p.id, d.id, d.name, p.page from passages p join documents d on d.id = p.document_id "
        "where d.format = 'pdf' and p.page >= 1 limit 1").fetchone()
    html = asyncio.run(build_datasette([pack_db]).client.get(f"/evidence/passages/{pid}")).text
    assert f'<a href="/evidence/documents/{doc_id}">{name}</a>' in html
    assert f'href="/-/source/evidence/{doc_id}#page={page}">open source file</a>' in html


def test_evidence_read_from_a_scan_says_so_with_its_confidence(tmp_path, catalogue):
    import asyncio

    from datasette.utils import tilde_encode
    from helpers import EvidenceRows

    from evidence.serve import build_datasette

    rows = EvidenceRows(tmp_path / "evidence.db", catalogue)
    pid = rows.link("BS11000-S5.1", "signature-page.pdf", "Signed for the client by the Senior Executive Responsible.")
    rows.conn.execute("update passages set ocr_confidence = 0.87 where id = ?", [pid])
    rows.done()
    html = asyncio.run(build_datasette([rows.path]).client.get(f"/evidence/requirements/{tilde_encode('BS11000-S5.1')}"))
    assert "read from a scan (OCR, confidence 0.87)" in html.text
