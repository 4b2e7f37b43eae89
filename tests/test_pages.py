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
