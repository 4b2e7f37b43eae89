"""What the matrix's pages show, computed from the database: the coverage summary on the front page, the
matrix a page at a time, a requirement's evidence, a document's requirements and versions, a search over the
passages, a link's reasons in words.

The Datasette plugin keeps routes, access checks, URLs and templates; everything here takes a SQLite
connection and returns plain data, so it can be read and tested without a web server.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time

from mapping.scoring import Why

from .assess import enabled_frameworks
from .db import EVIDENCE_ORDER, effective_evidence_sql

STATUSES = ("evidenced", "weak", "gap", "not_applicable")

COVERAGE_BY_STAGE = """
select r.framework, r.stage, r.stage_title, c.status, count(*) as n, min(r.position) as position
from requirements r join coverage c on c.requirement_id = r.id
group by r.framework, r.stage, r.stage_title, c.status
"""


def coverage_summary(conn: sqlite3.Connection) -> list[dict]:
    """Per framework, per stage: counts by status, frameworks and stages in catalogue order, for the front-page
    chart."""
    frameworks: dict[str, dict] = {}
    for framework, stage, stage_title, status, n, position in conn.execute(COVERAGE_BY_STAGE).fetchall():
        fw = frameworks.setdefault(framework, {"framework": framework, "stages": {}, "totals": dict.fromkeys(STATUSES, 0)})
        st = fw["stages"].setdefault(stage, {"stage": stage, "title": stage_title, "position": position,
                                             "counts": dict.fromkeys(STATUSES, 0)})
        st["counts"][status] = n
        st["position"] = min(st["position"], position)
        fw["totals"][status] += n
    out = []
    for fw in frameworks.values():
        stages = sorted(fw["stages"].values(), key=lambda s: (_stage_key(s["stage"]), s["position"]))
        for s in stages:
            s["total"] = sum(s["counts"].values())
        total = sum(fw["totals"].values())
        out.append({**fw, "stages": stages, "total": total,
                    "percent": round(100 * fw["totals"]["evidenced"] / total) if total else 0})
    # in the catalogue's order (the core standards first, then the frameworks opted in), as the database records it
    order = {fw: i for i, fw in enumerate(enabled_frameworks(conn))}
    return sorted(out, key=lambda f: (order.get(f["framework"], len(order)), f["framework"]))


def watcher_status(conn: sqlite3.Connection) -> dict:
    """What the folder watcher last recorded (state, last file, last error and when), empty without one."""
    try:
        rows = conn.execute("select key, value from settings where key like 'watcher\\_%' escape '\\'").fetchall()
    except sqlite3.Error:  # not an evidence database, or one from before the settings table
        return {}
    return {key.removeprefix("watcher_"): value for key, value in rows}


def _stage_key(stage: str):
    return (0, float(stage)) if re.fullmatch(r"\d+(\.\d+)?", stage) else (1, 0.0)


EVIDENCE_LIMIT = 50  # the best links on the page; the rest are one click away in the filtered table

# What the page counts and lists as evidence is what coverage counts (the effective_evidence view): the tool's
# links less those an assessor rejected, plus accepted candidates and links assessors added, in EVIDENCE_ORDER
# (assessors' own links, then direct links by score, then crosswalk links): the best `limit` of them read from
# the index in that order, however many links the requirement has.
EVIDENCE_FOR = """
select e.passage_id, p.text_hash, round(e.score, 3) as score, x.rank, e.via, coalesce(x.why, c.why) as why, p.text,
       p.location, p.page, p.ocr_confidence,
       d.id as document_id, d.name as document, d.doc_type, d.document_date,
       v.decision, v.comment as review_comment, v.reviewer, v.reviewed_at
from (select * from ({top}) order by {inner} limit :limit) e
join passages p on p.id = e.passage_id join documents d on d.id = p.document_id
left join evidence x on x.passage_id = e.passage_id and x.requirement_id = e.requirement_id
left join candidates c on c.passage_id = e.passage_id and c.requirement_id = e.requirement_id
left join current_reviews v on v.passage_hash = p.text_hash and v.requirement_id = e.requirement_id
order by {outer}
""".format(top=effective_evidence_sql(requirement=":rid", top=":limit"), inner=EVIDENCE_ORDER.format(e=""),
           outer=EVIDENCE_ORDER.format(e="e."))

# what coverage counted (the same effective evidence), without counting tens of thousands of links again per page
EVIDENCE_COUNT = "select coalesce((select evidence_count from coverage where requirement_id = :rid), 0)"

# The tool's links that no longer count, shown apart with the rejection that took them (on this requirement,
# or on the item a crosswalk link came through)
REJECTED_FOR = """
with rejected as materialized (  -- few: driven from the reviews, never from every link of a busy requirement
  select r.id as review_id, p.id as passage_id, r.requirement_id from current_reviews r
  join passages p on p.text_hash = r.passage_hash where r.decision = 'reject')
select e.passage_id, p.text_hash, round(e.score, 3) as score, e.rank, e.via, e.why, p.text, p.location, p.page,
       p.ocr_confidence,
       d.id as document_id, d.name as document, d.doc_type, d.document_date,
       v.decision, v.comment as review_comment, v.reviewer, v.reviewed_at
from (select distinct passage_id from rejected) k
cross join evidence e on e.passage_id = k.passage_id and e.requirement_id = :rid
join passages p on p.id = e.passage_id join documents d on d.id = p.document_id
join current_reviews v on v.id = (
  select max(x.review_id) from rejected x where x.passage_id = e.passage_id
    and x.requirement_id in (e.requirement_id, coalesce(e.via, '')))
order by e.via is not null, e.score desc limit :limit
"""

CANDIDATES_FOR = """
select c.passage_id, p.text_hash, round(c.score, 3) as score, c.why, p.text, p.location, p.page, p.ocr_confidence,
       d.id as document_id, d.name as document,
       v.decision, v.comment as review_comment, v.reviewer, v.reviewed_at
from (select * from candidates where requirement_id = :rid order by score desc limit 20) c
join passages p on p.id = c.passage_id join documents d on d.id = p.document_id
left join current_reviews v on v.passage_hash = p.text_hash and v.requirement_id = c.requirement_id
order by c.score desc
"""

CROSSWALK_FOR = """
select x.related_id as id, r.title, 'supports' as relation from crosswalk x
  join requirements r on r.id = x.related_id where x.requirement_id = :rid
union all
select x.requirement_id, r.title, 'supported by' from crosswalk x
  join requirements r on r.id = x.requirement_id where x.related_id = :rid
"""


def requirement_detail(conn: sqlite3.Connection, requirement_id: str, limit: int = EVIDENCE_LIMIT) -> dict:
    """A requirement's evidence (with reviews), rejected links, candidates, crosswalk and coverage, for its page;
    `why` in words. The best `limit` links are listed, `total_links` counts them all."""
    params = {"rid": requirement_id}
    limited = {**params, "limit": limit}
    evidence, rejected = _dicts(conn, EVIDENCE_FOR, limited), _dicts(conn, REJECTED_FOR, limited)
    total = conn.execute(EVIDENCE_COUNT, params).fetchone()[0]
    candidates, crosswalk = _dicts(conn, CANDIDATES_FOR, params), _dicts(conn, CROSSWALK_FOR, params)
    coverage = _dicts(conn, "select * from coverage where requirement_id = :rid", params)
    for row in evidence + rejected + candidates:
        row["why"] = why_text(row["why"]) if row["why"] else ("added by an assessor" if row["decision"] == "add" else "")
    return {"evidence": evidence, "rejected": rejected, "candidates": candidates, "crosswalk": crosswalk,
            "total_links": total, "coverage": coverage[0] if coverage else {}, "requirement_id": requirement_id}


DOCUMENT_REQUIREMENTS = """
select e.requirement_id, r.title, r.framework, count(*) as passages, round(max(e.score), 3) as best_score
from ({effective}) e join requirements r on r.id = e.requirement_id
group by e.requirement_id order by r.framework, r.position
""".format(effective=effective_evidence_sql("p.document_id = :doc"))


ATTACHMENTS_OF = """
select id, name, format, status, error, passage_count from documents where parent_id = ? order by id
"""
ATTACHED_TO = """
select e.id, e.name, e.title, e.author, e.document_date from documents d join documents e on e.id = d.parent_id
where d.id = ?
"""


def document_detail(conn: sqlite3.Connection, document_id: str | int) -> dict:
    """Which requirements a document evidences (with how many of its passages), its versions, a newer
    version that could not be read, the attachments an email brought and the email an attachment came in."""
    rows = _dicts(conn, DOCUMENT_REQUIREMENTS, {"doc": document_id})
    unread = _dicts(conn, "select unread_error, unread_at from documents where id = ? and unread_error is not null",
                    [document_id])
    versions = _dicts(conn, "select id, status, error, passage_count, ingested_at, replaced_at from document_versions "
                            "where document_id = ? order by id", [document_id])
    email = _dicts(conn, ATTACHED_TO, [document_id])
    return {"requirements": rows, "document_id": document_id, "unread": unread[0] if unread else None,
            "versions": versions, "comparable": sum(v["status"] in ("ok", "partial") for v in versions) > 1,
            "attachments": _dicts(conn, ATTACHMENTS_OF, [document_id]), "attached_to": email[0] if email else None}


SEARCH_LIMIT = 50
# ranking computes bm25 for every match: cheap for a few thousand, 30 ms and more for tens of thousands (a common
# word in a large estate); past this many matches the newest passages come first and the page says so
SEARCH_RANKED_UP_TO = 3000
SEARCH_MAX_WORDS = 20  # a search is a few words; hundreds of common ones would hold a database thread for long
SEARCH_SECONDS = 2.0  # and no search holds one longer than this
SEARCH_CHECK_EVERY = 1000  # SQLite steps between looks at the clock
SNIPPET_MARKS = ("\x02", "\x03")  # around matched words in a snippet; no text we store holds them (clean_text)

# the best matches by relevance (bm25), read from the index and stopped at the limit; the words in the passage's
# own text count five times what they count in its heading or sheet and columns (a row of a sheet named "Joint
# risks" is not the best answer to "joint risk register"), and its location least
SEARCH_PASSAGES = """
select p.id as passage_id, f.snippet, p.location, p.page,
       d.id as document_id, d.name as document, d.doc_type, d.document_date
from (select rowid, bm25(passages_fts, 5.0, 1.0, 0.5) as rank,
             snippet(passages_fts, 0, :open, :close, ' … ', 40) as snippet from passages_fts
      where passages_fts match :query order by {order} limit :limit) f
join passages p on p.id = f.rowid join documents d on d.id = p.document_id
order by {outer}
"""


class SearchError(Exception):
    """A search the index cannot answer as written."""


def search_passages(conn: sqlite3.Connection, query: str, limit: int = SEARCH_LIMIT) -> dict:
    """Passages matching the words of `query` (each word as written, never as FTS syntax), best first (newest
    first past SEARCH_RANKED_UP_TO matches: `ranked` says which), with the requirements each counts as evidence for
    and how many passages match in all. Snippets are plain text with the matched words between the two
    `SNIPPET_MARKS`, for the page to escape and mark."""
    import sqlite_utils

    if len(query.split()) > SEARCH_MAX_WORDS:
        raise SearchError(f"search for at most {SEARCH_MAX_WORDS} words at a time")
    words = sqlite_utils.Database(conn).quote_fts(query.strip()) if query.strip() else ""
    if not words:
        return {"query": query, "total": 0, "results": [], "ranked": True}
    params = {"query": words, "limit": limit, "open": SNIPPET_MARKS[0], "close": SNIPPET_MARKS[1]}
    deadline = time.monotonic() + SEARCH_SECONDS
    conn.set_progress_handler(lambda: time.monotonic() > deadline, SEARCH_CHECK_EVERY)  # True interrupts the query
    try:
        total = conn.execute("select count(*) from passages_fts where passages_fts match :query", params).fetchone()[0]
        ranked = total <= SEARCH_RANKED_UP_TO
        order = ("rank", "f.rank") if ranked else ("rowid desc", "p.id desc")
        results = _dicts(conn, SEARCH_PASSAGES.format(order=order[0], outer=order[1]), params)
    except sqlite3.OperationalError as exc:
        reason = "it took too long: use fewer or rarer words" if "interrupt" in str(exc) else str(exc)
        raise SearchError(f"cannot search for {query!r}: {reason}") from None
    finally:
        conn.set_progress_handler(None, 0)
    evidence = _evidence_of([r["passage_id"] for r in results], conn)
    for row in results:
        row["requirements"] = evidence.get(row["passage_id"], [])
    return {"query": query, "total": total, "results": results, "ranked": ranked}


def _evidence_of(passage_ids: list[int], conn: sqlite3.Connection) -> dict[int, list[str]]:
    """The requirements each passage counts as evidence for (what coverage counts), in catalogue order."""
    if not passage_ids:
        return {}
    marks = ",".join("?" * len(passage_ids))
    rows = conn.execute(f"select e.passage_id, e.requirement_id from ({effective_evidence_sql(f'p.id in ({marks})')}) e "
                        f"join requirements r on r.id = e.requirement_id order by r.framework, r.position",
                        passage_ids * 2).fetchall()
    out: dict[int, list[str]] = {}
    for pid, rid in rows:
        out.setdefault(pid, []).append(rid)
    return out


MATRIX_LIMIT = 50  # requirements a page of the matrix shows
MATRIX_FILTERS = ("framework", "stage", "status", "doc_type")  # the matrix's columns a page can be narrowed by
MATRIX_EXCERPT = 240  # characters of the best evidence shown; its passage is one click away

MATRIX_ROWS = f"""
select requirement_id, framework, stage, stage_title, title, status, evidence_count, document_count, best_score,
  substr(best_evidence, 1, {MATRIX_EXCERPT}) as excerpt, length(best_evidence) > {MATRIX_EXCERPT} as cut,
  document, location, document_date, document_id, passage_id
from matrix {{where}}
limit :limit offset :offset
"""


def _by_count(value_count: tuple) -> tuple:
    return -value_count[1], str(value_count[0])


# stages in their own order (2 before 10), statuses as the legend lists them, anything else the most common first
_FACET_ORDER = {"stage": lambda vc: _stage_key(str(vc[0])), "framework": lambda vc: str(vc[0]),
                "status": lambda vc: STATUSES.index(vc[0]) if vc[0] in STATUSES else len(STATUSES)}


def matrix_page(conn: sqlite3.Connection, filters: dict[str, str] | None = None, offset: int = 0,
                limit: int = MATRIX_LIMIT) -> dict:
    """One page of the evidence matrix (the `matrix` view, in catalogue order), narrowed by any of
    `MATRIX_FILTERS`; with how many requirements match and, for each filter, its values and how many of the
    matching requirements hold each (a facet: the counts the page's links lead to); `first` and `last` number the
    rows shown, `next_offset` and `previous_offset` (None: there is none) lead to the pages beside it."""
    chosen = {k: str(v) for k, v in (filters or {}).items() if k in MATRIX_FILTERS and v not in (None, "")}
    where = " and ".join(f"{k} = :{k}" for k in chosen)
    where = f"where {where}" if where else ""
    params = {**chosen, "limit": limit, "offset": max(0, offset)}
    rows = _dicts(conn, MATRIX_ROWS.format(where=where), params)
    total = conn.execute(f"select count(*) from matrix {where}", chosen).fetchone()[0]
    facets = {}
    for column in MATRIX_FILTERS:
        counts = conn.execute(f"select {column}, count(*) from matrix {where} group by {column}", chosen).fetchall()
        facets[column] = [{"value": value, "count": n, "chosen": chosen.get(column) == str(value)}
                          for value, n in sorted(counts, key=_FACET_ORDER.get(column, _by_count)) if value is not None]
    offset = params["offset"]
    end = offset + len(rows)
    # past the end (an old link, a hand-made one), "previous" is the last page that has rows
    previous = min(offset - limit, (total - 1) // limit * limit) if offset and total else None
    return {"filters": chosen, "rows": rows, "total": total, "offset": offset, "limit": limit, "facets": facets,
            "first": offset + 1, "last": end, "next_offset": end if end < total else None,
            "previous_offset": previous}


def why_text(raw: str | None) -> str:
    """A link's `why` JSON in words, for the page and the table cells."""
    try:
        why = json.loads(raw or "{}")
    except ValueError:
        return ""
    if Why.CROSSWALK_FROM in why:
        return f"through the crosswalk from {why[Why.CROSSWALK_FROM]}"
    parts = []
    if Why.SIMILARITY in why:
        parts.append(f"similarity {why[Why.SIMILARITY]} (calibrated {why.get(Why.CALIBRATED)})")
    if why.get(Why.SIGNALS):
        parts.append("signals: " + ", ".join(f"{name.replace('_', ' ')} {value:+g}"
                                             for name, value in why[Why.SIGNALS].items()))
    for key in (Why.REGISTER, Why.PRECEDENT):  # already sentences
        if why.get(key):
            parts.append(why[key])
    if why.get(Why.STANDARD_TERMS):
        parts.append("uses the standard's terms: " + ", ".join(why[Why.STANDARD_TERMS]))
    if why.get(Why.SHARED_TERMS):
        parts.append("shared terms: " + ", ".join(why[Why.SHARED_TERMS]))
    if why.get(Why.NOT_EVIDENCE):
        parts.append(f"not claimed: {why[Why.NOT_EVIDENCE]}")
    if why.get(Why.DOC_TYPE_PRIOR):
        parts.append("document type usually carries this")
    if why.get(Why.CLOSEST_EXAMPLE):
        parts.append(f"closest example: \u201c{why[Why.CLOSEST_EXAMPLE]}\u201d")
    return "; ".join(parts)


def _dicts(conn: sqlite3.Connection, sql: str, params) -> list[dict]:
    cursor = conn.execute(sql, params)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


# ------------------------------------------------------------------------------------------------ assessments
# The assessment pages draw their pictures as inline SVG from these figures (the product runs offline: no
# chart library, no CDN). Colours go by an answer's place on its scale: best green, worst red, between amber.

TONES = ("good", "fair", "poor", "none")


def answer_tone(answer: str | None, scale: tuple[str, ...] | list[str]) -> str:
    """good / fair / poor for an answer by its place on a scale (best first); none without an answer."""
    if answer is None or answer not in scale:
        return "none"
    place = list(scale).index(answer)
    return "good" if place == 0 else "poor" if place == len(scale) - 1 else "fair"


def assessment_page(conn: sqlite3.Connection, framework: str) -> dict:
    """One assessed framework for its page: the assessment (evidence.assess) and its chart's figures."""
    from .assess import assess

    result = assess(conn, framework)
    for item in result["items"]:
        item["tone"] = answer_tone(item["answer"], item.get("scale", ()))
        item["suggested_tone"] = answer_tone(item["suggested"], item.get("scale", ()))
    chart = {"ogc_gates": _gates_chart, "weighted_index": _factor_chart, "grid": _heat_map, "rag": _rag_chart}
    result["chart"] = chart[result["assessment"]](result)
    return result


def _gates_chart(result: dict) -> dict:
    """One bar per group: its answers, best first, then the unanswered; groups not yet due are drawn faded."""
    bars, width = [], 360
    for group in result["groups"]:
        x, segments = 0.0, []
        parts = [(a, n, answer_tone(a, group["scale"])) for a, n in group["counts"].items()]
        for answer, n, tone in [*parts, ("no answer", group["unanswered"], "none")]:
            if n:
                w = width * n / group["total"]
                segments.append({"x": round(x, 1), "width": round(w, 1), "tone": tone, "label": f"{answer}: {n}"})
                x += w
        bars.append({"id": group["id"], "title": group["title"], "due": group["due"], "segments": segments})
    return {"bars": bars, "width": width, "row": 22, "label_width": 110}


def _factor_chart(result: dict) -> dict:
    """Per factor three bars: the tool's level, party A's and party B's, on the 0-top scale."""
    width, top = 240, result["max"]
    rows = []
    for item in result["items"]:
        bars = [{"who": who, "level": level, "width": round(width * level / top, 1) if level is not None else 0}
                for who, level in (("tool", item["suggested"]), ("A", item["levels"]["A"]), ("B", item["levels"]["B"]))]
        rows.append({"id": item["id"], "title": item["title"], "bars": bars, "differ": (item["difference"] or 0) >= 1})
    return {"rows": rows, "width": width, "ticks": [{"value": v, "x": round(width * v / top, 1)}
                                                    for v in range(int(result["min"]), int(top) + 1)]}


def _heat_map(result: dict) -> dict:
    """Phases down, themes across, each cell shaded by the share of its outcomes evidenced."""
    return {"cell_width": 120, "cell_height": 48, "label_width": 230, "rows": [
        {**row, "current": row["phase"] == result["phase"],
         "cells": [{**c, "opacity": round(0.08 + 0.82 * (c["share"] or 0), 2)} for c in row["cells"]]}
        for row in result["grid"]]}


def _rag_chart(result: dict) -> dict:
    return {"cells": [{"id": i["id"], "title": i["title"], "tone": i["tone"], "answer": i["answer"]}
                      for i in result["items"]]}
