"""Assessments of the optional frameworks: each scoring rule on small databases with real rows and the real
catalogue, assessors' answers (validated, kept in history, surviving re-ingestion), the pages, the CLI and the
export."""

import asyncio
import dataclasses
import io
import re
import sqlite3

import openpyxl
import pytest
from click.testing import CliRunner
from datasette.utils import tilde_encode
from helpers import EvidenceRows

from evidence.assess import (
    AssessmentError,
    assess,
    assessed_frameworks,
    enabled_frameworks,
    record_assessment,
    set_gate,
    set_phase,
    suggest_level,
    weighted_index,
)
from standards import Catalogue, load_catalogue

OPTIONAL = ("OGC", "MUT", "TB", "ACOP")


@pytest.fixture(scope="module")
def full_catalogue():
    return load_catalogue(frameworks=OPTIONAL)


@pytest.fixture
def built(tmp_path, full_catalogue):
    return EvidenceRows(tmp_path / "evidence.db", full_catalogue)


def _item(result, rid):
    return next(i for i in result["items"] if i["id"] == rid)


def _evidence_twice(built, rid, first="plan.docx", second="minutes.docx"):
    built.link(rid, first, f"{rid}: what the plan says about it.", "rmp")
    built.link(rid, second, f"{rid}: the board reviewed it.", "minutes")


# ------------------------------------------------------------------------------------------------ frameworks


def test_enabled_frameworks_come_from_the_setting_or_the_requirements(built):
    assert enabled_frameworks(built.conn) == ("BS11000", "ISO44001", "XTP", "OGC", "MUT", "TB", "ACOP")
    assert [f["id"] for f in assessed_frameworks(built.conn)] == ["OGC", "MUT", "TB", "ACOP"]
    built.conn.execute("delete from settings where key = 'frameworks'")
    assert set(enabled_frameworks(built.conn)) == {"BS11000", "ISO44001", "XTP", *OPTIONAL}
    built.conn.execute("insert into settings (key, value) values ('frameworks', 'BS11000,TB')")
    assert [f["id"] for f in assessed_frameworks(built.conn)] == ["TB"]
    with pytest.raises(AssessmentError, match="not an assessed framework"):
        assess(built.conn, "OGC")
    with pytest.raises(AssessmentError, match="not an assessed framework"):
        assess(built.conn, "BS11000")


# ------------------------------------------------------------------------------------------------ OGC


ANNEX_A = [f"OGC-AA-NW.0{n}" for n in range(1, 5)] + [f"OGC-AA-CB.0{n}" for n in range(1, 7)]


def test_annex_a_one_no_means_not_ready_never_an_average(built):
    for rid in ANNEX_A:
        _evidence_twice(built, rid)
    built.done()
    result = assess(built.conn, "OGC")
    assert all(_item(result, rid)["suggested"] == "yes" for rid in ANNEX_A)
    assert result["verdicts"]["readiness"] == "ready"
    with built.conn:
        record_assessment(built.conn, "OGC-AA-CB.03", "no", "alice", "the board has not agreed to share risk")
    result = assess(built.conn, "OGC")
    # nine yes and one no: not ready, whatever share of yes that is
    assert result["verdicts"]["readiness"] == "not_ready"
    assert result["verdicts"]["failing"] == ["OGC-AA-CB.03"]
    item = _item(result, "OGC-AA-CB.03")
    assert (item["suggested"], item["answer"], item["decided_by"]) == ("yes", "no", "assessor")
    assert item["decision"]["comment"] == "the board has not agreed to share risk"
    assert sum(_item(result, rid)["answer"] == "yes" for rid in ANNEX_A) == 9


def test_annex_a_without_evidence_has_no_answer_and_readiness_stays_open(built):
    for rid in ANNEX_A[1:]:
        _evidence_twice(built, rid)
    built.link(ANNEX_A[0], "policy.docx", "We intend to partner.", "policy")  # one borderline link: partly
    built.done()
    result = assess(built.conn, "OGC")
    first = _item(result, ANNEX_A[0])
    assert first["evidence"] == "partly" and first["suggested"] is None and first["passages"]
    assert result["verdicts"]["readiness"] == "open" and result["verdicts"]["unanswered"] == [ANNEX_A[0]]


def test_annex_b_partly_and_not_at_all_flag_their_area(built):
    _evidence_twice(built, "OGC-AB.01")  # two documents: fully
    built.link("OGC-AB.02", "plan.docx", "Both partners review objectives.", "rmp")
    built.link("OGC-AB.02", "plan.docx", "Objectives are revisited at each board.", "rmp")  # one document: largely
    built.link("OGC-AB.03", "notes.docx", "Some joint reviews happen.")  # a lone link: partly
    built.candidate("OGC-AB.04", "notes.docx", "Risks were mentioned once.")  # candidates only: partly
    built.done()
    with built.conn:
        record_assessment(built.conn, "OGC-AB.05", "not at all", "alice", "no joint training took place")
    result = assess(built.conn, "OGC")
    answers = {rid: _item(result, rid)["answer"] for rid in ("OGC-AB.01", "OGC-AB.02", "OGC-AB.03", "OGC-AB.04",
                                                            "OGC-AB.05", "OGC-AB.06")}
    assert answers == {"OGC-AB.01": "fully", "OGC-AB.02": "largely", "OGC-AB.03": "partly", "OGC-AB.04": "partly",
                       "OGC-AB.05": "not at all", "OGC-AB.06": None}
    assert result["verdicts"]["flagged"] == ["OGC-AB.03", "OGC-AB.04", "OGC-AB.05"]
    candidate = _item(result, "OGC-AB.04")["passages"][0]
    assert candidate["source"] == "candidate" and candidate["document"] == "notes.docx"


def test_gate_questions_are_drafted_and_later_gates_are_not_yet_due(built):
    _evidence_twice(built, "OGC-G0.01")
    built.link("OGC-G1.01", "case.docx", "The business case weighs partnering.", "report")
    built.link("OGC-AB.03", "notes.docx", "Some joint reviews happen.")
    built.done()
    result = assess(built.conn, "OGC")
    assert result["gate"] is None and all(g["due"] for g in result["groups"])  # no gate set: everything due
    assert result["verdicts"]["flagged"] == ["OGC-AB.03"]
    g0, g1, g2 = (_item(result, rid) for rid in ("OGC-G0.01", "OGC-G1.01", "OGC-G2.01"))
    assert (g0["suggested"], g1["suggested"], g2["suggested"]) == ("evidenced", "partly", None)
    assert g2["passages"] == []  # no passage, no answer
    cited = g0["passages"][0]
    assert cited["document"] in ("plan.docx", "minutes.docx") and cited["location"].startswith("paragraph")
    with built.conn:
        set_gate(built.conn, 1)
    result = assess(built.conn, "OGC")
    due = {g["id"]: g["due"] for g in result["groups"]}
    assert due["OGC-G0"] and due["OGC-G1"] and due["OGC-AA-NW"] and not due["OGC-G2"] and not due["OGC-AB"]
    assert _item(result, "OGC-G1.01")["due"] and not _item(result, "OGC-G2.01")["due"]
    assert result["verdicts"]["flagged"] == []  # Annex B is due at the annual health check, gate 5
    with pytest.raises(AssessmentError, match="no gate 9"):
        set_gate(built.conn, 9)


# ------------------------------------------------------------------------------------------------ mutuality


def _link_row(doc_type, document="doc.docx", text="", title=""):
    return {"doc_type": doc_type, "document": document, "document_title": title, "text": text}


def test_mutuality_levels_follow_the_documents_the_evidence_sits_in():
    assert suggest_level([]) == 0
    assert suggest_level([_link_row("policy", "Client policy.docx")]) == 1
    assert suggest_level([_link_row("minutes", "Supplier team minutes.docx")]) == 1  # records, but no joint document
    assert suggest_level([_link_row("charter")]) == 2
    assert suggest_level([_link_row("register", "Joint risk register.xlsx")]) == 2  # joint by its name
    assert suggest_level([_link_row("register", "Joint risk register.xlsx"), _link_row("minutes", "Board minutes")]) == 3
    plan = _link_row("rmp", "Relationship management plan.docx")
    assert suggest_level([plan, _link_row("minutes", "Board minutes.docx", "The board reviewed it.")]) == 3
    assert suggest_level([plan, _link_row("minutes", "Board minutes.docx", "We benchmarked it against other "
                                                                           "partnerships.")]) == 4


def test_weighted_index_over_the_assessed_factors_with_the_share_of_weight_beside_it():
    weights = {"a": 100.0, "b": 75.0, "c": 100.0}
    result = weighted_index({"a": 4, "b": 2, "c": None}, weights, 4)
    assert result["index"] == pytest.approx((100 * 4 + 75 * 2) / (175 * 4))  # c is left out, not counted as 0
    assert result["share_assessed"] == pytest.approx(175 / 275)
    assert result["assessed"] == 2 and result["factors"] == 3
    assert weighted_index({"a": None}, {"a": 100.0}, 4)["index"] is None
    assert weighted_index({"a": 0, "b": None}, {"a": 100.0, "b": 100.0}, 4)["index"] == 0  # an assessed 0 counts


def test_mutuality_index_suggested_from_the_evidence(built):
    built.link("MUT-601", "Partnering charter.docx", "Both organisations sit on one joint board.", "charter")
    built.link("MUT-606", "Client policy.docx", "Our policy is to share information.", "policy")  # weight 75
    built.done()
    result = assess(built.conn, "MUT")
    assert _item(result, "MUT-601")["suggested"] == 2 and _item(result, "MUT-606")["suggested"] == 1
    assert _item(result, "MUT-602")["suggested"] is None  # no passage: not assessed
    ix = result["indices"]["suggested"]
    assert ix["index"] == pytest.approx((100 * 2 + 75 * 1) / (175 * 4))
    assert ix["share_assessed"] == pytest.approx(175 / 1475) and ix["assessed"] == 2
    assert result["verdicts"]["index"] == pytest.approx(ix["index"])


def test_both_parties_set_levels_and_the_page_data_shows_where_they_differ(built):
    built.link("MUT-601", "Partnering charter.docx", "Both organisations sit on one joint board.", "charter")
    built.done()
    with built.conn:
        record_assessment(built.conn, "MUT-601", "3", "alice", "minutes show it working", party="A")
        record_assessment(built.conn, "MUT-601", "1", "bob", "only the client chairs it", party="B")
        record_assessment(built.conn, "MUT-603", "2", "alice", party="A")
        record_assessment(built.conn, "MUT-603", "2", "bob", party="B")
        record_assessment(built.conn, "MUT-604", "4", "bob", party="B")
    result = assess(built.conn, "MUT")
    first = _item(result, "MUT-601")
    assert first["levels"] == {"A": 3, "B": 1} and first["difference"] == 2 and first["suggested"] == 2
    assert first["answer"] == 2  # the parties' mean counts once both have spoken
    assert result["verdicts"]["differences"] == ["MUT-601"]
    assert result["indices"]["A"]["index"] == pytest.approx((3 + 2) / 8) and result["indices"]["A"]["assessed"] == 2
    assert result["indices"]["B"]["index"] == pytest.approx((1 + 2 + 4) / 12)
    assert result["indices"]["combined"]["assessed"] == 3
    with pytest.raises(AssessmentError, match="one party"):
        record_assessment(built.conn, "MUT-601", "3", "alice")
    with pytest.raises(AssessmentError, match="whole number from 0 to 4"):
        record_assessment(built.conn, "MUT-601", "5", "alice", party="A")
    with pytest.raises(AssessmentError, match="number"):
        record_assessment(built.conn, "MUT-601", "high", "alice", party="A")
    with pytest.raises(AssessmentError, match="per party"):
        record_assessment(built.conn, "MUT-601", "clear", "alice")
    with built.conn:
        record_assessment(built.conn, "MUT-601", "clear", "bob", party="B")
    after = _item(assess(built.conn, "MUT"), "MUT-601")
    assert after["levels"] == {"A": 3, "B": None} and after["answer"] == 3 and after["difference"] is None


# ------------------------------------------------------------------------------------------------ ACOP


def _with_critical(catalogue, rid):
    requirements = dict(catalogue.requirements)
    requirements[rid] = dataclasses.replace(requirements[rid], critical=True)
    return Catalogue(frameworks=dict(catalogue.frameworks), requirements=requirements, version="critical")


def test_acop_grid_shares_and_readiness_of_the_current_phase(built, full_catalogue):
    cell = [r.id for r in full_catalogue if r.framework == "ACOP" and r.stage == "2" and r.theme == "1"]
    assert len(cell) == 6
    for rid in cell[:3]:
        _evidence_twice(built, rid)
    built.link(cell[3], "notes.docx", "Some behaviours were discussed.")  # weak: not evidenced
    built.done()
    result = assess(built.conn, "ACOP")
    shares = {(c["phase"], c["theme"]): c for row in result["grid"] for c in row["cells"]}
    assert shares[("2", "1")]["evidenced"] == 3 and shares[("2", "1")]["share"] == pytest.approx(0.5)
    assert shares[("3", "1")]["share"] == 0
    assert len(result["grid"]) == 4 and all(len(row["cells"]) == 4 for row in result["grid"])
    assert result["verdicts"]["ready"] is None  # no phase set
    with built.conn:
        set_phase(built.conn, "2")
    result = assess(built.conn, "ACOP")
    missing = result["verdicts"]["missing"]
    assert cell[3] in missing and cell[0] not in missing
    assert len(missing) == len([r for r in full_catalogue if r.framework == "ACOP" and r.stage == "2"]) - 3
    assert result["verdicts"]["ready"] is None  # the built-in catalogue flags no critical outcome: nothing gates
    with pytest.raises(AssessmentError, match="no phase '7'"):
        set_phase(built.conn, "7")


def test_a_critical_outcome_without_evidence_gates_readiness(built, full_catalogue):
    cell = [r.id for r in full_catalogue if r.framework == "ACOP" and r.stage == "2" and r.theme == "1"]
    _evidence_twice(built, cell[0])
    built.done()
    with built.conn:
        set_phase(built.conn, "2")
    critical = _with_critical(full_catalogue, cell[1])
    result = assess(built.conn, "ACOP", critical)
    assert result["verdicts"]["ready"] is False and result["verdicts"]["critical_missing"] == [cell[1]]
    with built.conn:
        record_assessment(built.conn, cell[1], "evidenced", "alice", "seen in the workshop notes", catalogue=critical)
    result = assess(built.conn, "ACOP", critical)
    assert result["verdicts"]["ready"] is True and cell[1] not in result["verdicts"]["missing"]
    assert _item(result, cell[1])["suggested"] is None and _item(result, cell[1])["answer"] == "evidenced"
    assert assess(built.conn, "ACOP", _with_critical(full_catalogue, cell[0]))["verdicts"]["ready"] is True


# ------------------------------------------------------------------------------------------------ trust behaviours


def test_trust_behaviours_red_amber_green_with_the_passages_behind_them(built):
    _evidence_twice(built, "TB-1")  # two passages, two documents: green
    built.link("TB-2", "plan.docx", "Risk is shared.", "rmp")
    built.link("TB-2", "plan.docx", "Pain and gain are split equally.", "rmp")  # one document: amber
    built.candidate("TB-3", "notes.docx", "A dashboard was proposed.")  # candidates only: amber
    # a plan and the same plan attached to an email: one document, its text cited once: amber
    built.link("TB-5", "charter.docx", "The partners share information openly.", "rmp")
    copy = built.link("TB-5", "issued.eml#charter.docx", "The partners share information openly.", "rmp")
    built.conn.execute("update documents set sha256 = (select sha256 from documents where name = 'charter.docx') "
                       "where id = (select document_id from passages where id = ?)", [copy])
    # the same sentence in two different documents: one passage of support, as coverage counts it: amber
    built.link("TB-6", "plan.docx", "Both partners act on what they agree.", "rmp")
    built.link("TB-6", "minutes.docx", "Both partners act on what they agree.", "minutes")
    built.done()
    result = assess(built.conn, "TB")
    assert [_item(result, f"TB-{n}")["suggested"] for n in range(1, 7)] == [
        "green", "amber", "amber", "red", "amber", "amber"]
    assert {p["document"] for p in _item(result, "TB-1")["passages"]} == {"plan.docx", "minutes.docx"}
    assert [p["document"] for p in _item(result, "TB-5")["passages"]] == ["charter.docx"]
    assert _item(result, "TB-4")["passages"] == []
    assert result["verdicts"]["counts"] == {"green": 1, "amber": 4, "red": 1}
    with built.conn:
        record_assessment(built.conn, "TB-4", "amber", "alice", "seen at the workshop")
    item = _item(assess(built.conn, "TB"), "TB-4")
    assert (item["suggested"], item["answer"], item["decision"]["reviewer"]) == ("red", "amber", "alice")


# ------------------------------------------------------------------------------------------------ decisions


@pytest.mark.parametrize("rid, answer, message", [
    ("OGC-AA-NW.01", "maybe", "not an answer"),
    ("OGC-AA-NW.01", "partly", "not an answer"),  # Annex A is yes or no
    ("OGC-AB.01", "yes", "not an answer"),
    ("OGC-G0.01", "fully", "not an answer"),
    ("TB-1", "purple", "not an answer"),
    ("ACOP-2.1-01", "largely", "not an answer"),
    ("BS11000-S5.1", "yes", "not an assessed framework"),
    ("OGC-X.99", "yes", "no requirement"),
])
def test_answers_are_checked_against_the_item_scale(built, rid, answer, message):
    with pytest.raises(AssessmentError, match=message):
        record_assessment(built.conn, rid, answer, "alice")


def test_decisions_keep_their_history_and_the_latest_counts(built):
    _evidence_twice(built, "TB-1")
    built.done()
    with built.conn:
        record_assessment(built.conn, "TB-1", "amber", "alice", "only one workshop")
        record_assessment(built.conn, "TB-1", "red", "bob", "the workshops stopped")
    assert _item(assess(built.conn, "TB"), "TB-1")["answer"] == "red"
    with built.conn:
        record_assessment(built.conn, "TB-1", "clear", "bob")
    item = _item(assess(built.conn, "TB"), "TB-1")
    assert item["decision"] is None and item["answer"] == "green"
    rows = built.conn.execute("select answer, suggested, reviewer from assessment_reviews order by id").fetchall()
    assert rows == [("amber", "green", "alice"), ("red", "green", "bob"), ("clear", "green", "bob")]
    with pytest.raises(AssessmentError, match="logged-in"):
        record_assessment(built.conn, "TB-1", "red", " ")


def test_decisions_survive_re_ingestion(built):
    """Re-ingestion replaces passages and links with new row ids: the decisions stay, the suggestion is recomputed
    beside them."""
    _evidence_twice(built, "TB-1")
    built.link("MUT-601", "Partnering charter.docx", "Both organisations sit on one joint board.", "charter")
    built.done()
    with built.conn:
        record_assessment(built.conn, "TB-1", "amber", "alice", "charter words, little practice")
        record_assessment(built.conn, "MUT-601", "3", "alice", party="A")
    with built.conn:  # what the pipeline does to a replaced document: its passages and links go, new ones come
        for table in ("evidence", "candidates", "passages"):
            built.conn.execute(f"delete from {table}")
    built._docs.clear()
    built.link("TB-1", "plan v2.docx", "TB-1: the plan, rewritten.", "rmp")
    built.done()
    tb = _item(assess(built.conn, "TB"), "TB-1")
    assert (tb["suggested"], tb["answer"], tb["decision"]["comment"]) == ("amber", "amber",
                                                                       "charter words, little practice")
    assert tb["passages"][0]["document"] == "plan v2.docx"
    mut = _item(assess(built.conn, "MUT"), "MUT-601")
    assert mut["suggested"] is None and mut["levels"]["A"] == 3 and mut["answer"] == 3


def test_decisions_survive_re_ingestion_through_the_pipeline(tmp_path, make_docx):
    from evidence import open_pipeline

    path = make_docx("plan.docx", [("h1", "Joint governance"), ("p", "A joint board of both partners meets every "
                                                                    "quarter and reviews the partnership's objectives.")])
    db_path = tmp_path / "evidence.db"
    open_pipeline(db_path, model="hash", workers=0, frameworks=("TB", "MUT")).ingest([path])
    conn = sqlite3.connect(db_path)
    assert sorted(f["id"] for f in assessed_frameworks(conn)) == ["MUT", "TB"]
    with conn:
        record_assessment(conn, "TB-3", "green", "alice", "dashboard seen at the board")
        record_assessment(conn, "MUT-601", "2", "bob", party="B")
    make_docx("plan.docx", [("h1", "Joint governance"), ("p", "The joint board of both partners now meets monthly "
                                                          "and reviews the shared dashboard.")])
    open_pipeline(db_path, model="hash", workers=0).ingest([path])  # a new version: its passages replace the old
    assert conn.execute("select count(*) from document_versions").fetchone()[0] == 2
    assert conn.execute("select count(*) from passages where text like '%quarter%'").fetchone()[0] == 0
    tb = _item(assess(conn, "TB"), "TB-3")
    assert tb["answer"] == "green" and tb["decision"]["comment"] == "dashboard seen at the board"
    assert tb["suggested"] in ("green", "amber", "red")  # the tool's view, recomputed, stays beside it
    assert _item(assess(conn, "MUT"), "MUT-601")["levels"] == {"A": None, "B": 2}


# ------------------------------------------------------------------------------------------------ pages


def _get(ds, path, **kw):
    return asyncio.run(ds.client.get(path, **kw))


def _login(ds, actor="alice"):
    return {"ds_actor": ds.sign({"a": {"id": actor}}, "actor")}


def _csrf(ds, path, cookies):
    response = _get(ds, path, cookies=cookies)
    token = re.search(r'name="csrftoken" value="([^"]+)"', response.text)
    assert token, "no form on the page"
    return token.group(1), {**cookies, **dict(response.cookies)}


@pytest.fixture
def published(built):
    for rid in ANNEX_A:
        _evidence_twice(built, rid)
    _evidence_twice(built, "TB-1")
    built.link("MUT-601", "Partnering charter.docx", "Both organisations sit on one joint board.", "charter")
    _evidence_twice(built, "ACOP-2.1-01")
    built.done()
    with built.conn:
        record_assessment(built.conn, "OGC-AA-NW.02", "no", "alice", "senior managers not yet committed")
        record_assessment(built.conn, "MUT-601", "3", "alice", party="A")
        record_assessment(built.conn, "MUT-601", "1", "bob", party="B")
    from evidence.serve import build_datasette

    return built, build_datasette([built.path])


def test_front_page_links_each_assessment(published):
    _, ds = published
    page = _get(ds, "/").text
    for fid in OPTIONAL:
        assert f'href="/evidence/-/assess/{fid}"' in page
    index = _get(ds, "/evidence/-/assess")
    assert index.status_code == 200 and "Partnering self-assessment (OGC)" in index.text
    # the coverage charts in the catalogue's order: the core standards first, then the frameworks opted in
    charts = [page.index(f"<h3>{fw}:") for fw in ("BS11000", "ISO44001", "XTP", "OGC", "MUT", "TB", "ACOP")]
    assert charts == sorted(charts)


def test_ogc_page_shows_the_verdict_the_chart_and_each_answer_with_its_passages(published):
    built, ds = published
    page = _get(ds, "/evidence/-/assess/OGC").text
    assert "Not yet ready for partnering" in page and "OGC-AA-NW.02" in page.split("Not yet ready")[1][:300]
    assert '<svg class="chart gates"' in page and "<script" not in page.split("<svg")[1].split("</svg>")[0]
    row = page.split('id="item-OGC-AA-NW.02"')[1].split("</tr>")[0]
    assert "senior managers not yet committed" in row and "by alice" in row
    assert '<td class="suggested tone-text-good">yes</td>' in row  # the tool's yes stays beside the no
    pid, doc = built.conn.execute("""select p.id, p.document_id from evidence e join passages p on p.id = e.passage_id
                                     where e.requirement_id = 'OGC-AA-NW.02' order by p.id limit 1""").fetchone()
    assert f'href="/evidence/passages/{pid}"' in row and f'href="/-/source/evidence/{doc}"' in row
    assert f'href="/evidence/requirements/{tilde_encode("OGC-AA-NW.02")}"' in row
    requirement = _get(ds, f"/evidence/requirements/{tilde_encode('OGC-AA-NW.02')}").text
    assert 'href="/evidence/-/assess/OGC#item-OGC-AA-NW.02"' in requirement
    assert 'name="answer"' not in page and "logging in" in page  # read-only for anonymous visitors


def test_mutuality_page_shows_both_parties_and_where_they_differ(published):
    _, ds = published
    page = _get(ds, "/evidence/-/assess/MUT").text
    assert "Mutuality index" in page and "of the weight assessed" in page
    assert "The parties differ by a level or more on MUT-601" in page
    assert '<svg class="chart factors"' in page and 'class="who-A"' in page and 'class="who-B"' in page
    row = page.split('id="item-MUT-601"')[1].split("</tr>")[0]
    assert "by alice" in row and "by bob" in row and "differ by 2" in row


def test_acop_and_trust_pages_draw_the_heat_map_and_the_rag(published):
    _, ds = published
    acop = _get(ds, "/evidence/-/assess/ACOP").text
    assert acop.count('<g class="heat-cell">') == 16 and "1/6 · 17%" in acop
    tb = _get(ds, "/evidence/-/assess/TB").text
    assert 'class="rag-cell tone-good"' in tb and tb.count('class="rag-cell tone-poor"') == 5
    assert _get(ds, "/evidence/-/assess/BS11000").status_code == 404
    assert _get(ds, "/nothere/-/assess/OGC").status_code == 404


def test_an_assessor_overrides_and_sets_the_gate_through_the_page(published):
    built, ds = published
    path = "/evidence/-/assess/OGC"
    anonymous = asyncio.run(ds.client.post(path, data={"requirement_id": "OGC-AA-NW.01", "answer": "no"}))
    assert anonymous.status_code == 403
    token, cookies = _csrf(ds, path, _login(ds, "carol"))
    forged = asyncio.run(ds.client.post(path, cookies=cookies, data={
        "csrftoken": "forged", "requirement_id": "OGC-AA-NW.01", "answer": "no"}))
    assert forged.status_code == 403
    response = asyncio.run(ds.client.post(path, cookies=cookies, data={
        "csrftoken": token, "requirement_id": "OGC-AA-NW.02", "answer": "yes",
        "comment": "<b>board minute 14</b> commits them"}))
    assert response.status_code == 302 and response.headers["location"] == path + "#item-OGC-AA-NW.02"
    bad = asyncio.run(ds.client.post(path, cookies=cookies, data={
        "csrftoken": token, "requirement_id": "OGC-AA-NW.02", "answer": "fully"}))
    assert bad.status_code == 400 and "not an answer" in bad.text
    asyncio.run(ds.client.post(path, cookies=cookies, data={"csrftoken": token, "gate": "2"}))
    page = _get(ds, path, cookies=cookies).text
    assert "Ready for partnering" in page and "Gate: <strong>2</strong>" in page
    assert "&lt;b&gt;board minute 14&lt;/b&gt;" in page and "<b>board minute 14" not in page
    assert 'name="answer" value="no"' in page  # the logged-in assessor gets the forms
    history = built.conn.execute("select reviewer, answer from assessment_reviews where requirement_id = "
                                 "'OGC-AA-NW.02' order by id").fetchall()
    assert history == [("alice", "no"), ("carol", "yes")]


# ------------------------------------------------------------------------------------------------ CLI, export


def test_cli_prints_the_assessment_verdicts_first(published):
    from evidence.cli import cli

    built, _ = published
    result = CliRunner().invoke(cli, ["assess", "OGC", "--db", str(built.path), "--gate", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "Gate: 1" and lines[2].startswith("NOT YET READY for partnering")
    assert "Answered no: OGC-AA-NW.02" in result.output
    assert any(line.startswith("  OGC-G2") and "not yet due (gate 2)" in line for line in lines)
    mut = CliRunner().invoke(cli, ["assess", "MUT", "--db", str(built.path)])
    assert mut.exit_code == 0, mut.output
    assert "Parties differ by a level or more: MUT-601" in mut.output
    acop = CliRunner().invoke(cli, ["assess", "ACOP", "--db", str(built.path), "--phase", "2"])
    assert acop.exit_code == 0, acop.output
    assert "Outcomes of this phase without evidence (25)" in acop.output
    wrong = CliRunner().invoke(cli, ["assess", "ACOP", "--db", str(built.path), "--phase", "9"])
    assert wrong.exit_code == 1 and "no phase '9'" in wrong.output and "Traceback" not in wrong.output


def test_the_workbook_has_a_sheet_per_assessed_framework(published):
    from evidence.export import export_workbook

    built, _ = published
    wb = openpyxl.load_workbook(io.BytesIO(export_workbook(built.conn)))
    assert wb.sheetnames[-5:] == ["OGC assessment", "MUT assessment", "TB assessment", "ACOP assessment",
                                  "Assessment answers"]
    log = list(wb["Assessment answers"].iter_rows(values_only=True))
    assert [row[1:7] for row in log[1:]] == [("alice", "OGC", "OGC-AA-NW.02", None, "no", "yes"),
                                             ("alice", "MUT", "MUT-601", "A", "3", "2"),
                                             ("bob", "MUT", "MUT-601", "B", "1", "2")]
    ogc = [row for row in wb["OGC assessment"].iter_rows(values_only=True)]
    assert any(row[0] and str(row[0]).startswith("NOT YET READY") for row in ogc)
    item = next(row for row in ogc if row[0] == "OGC-AA-NW.02")
    assert item[3:8] == ("evidenced", "yes", "no", "alice", "no")
    assert "plan.docx, paragraph" in item[8] or "minutes.docx, paragraph" in item[8]
    mut = next(row for row in wb["MUT assessment"].iter_rows(values_only=True) if row[0] == "MUT-601")
    assert mut[2:8] == (100, "evidenced" if mut[3] == "evidenced" else mut[3], 2, 3, 1, 2)
