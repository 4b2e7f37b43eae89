"""Assessments: the optional frameworks (OGC self-assessment, mutuality factors, the Alliancing Code of Practice,
trust behaviours) answered from the same evidence the matrix counts, with assessors' decisions beside the tool's.

Each framework's `assessment` rule in its catalogue picks the function that scores it (ASSESSORS): `ogc_gates`,
`weighted_index`, `grid` or `rag`. Every function takes a SQLite connection and returns plain data (items with
the tool's suggestion, the assessor's decision, the answer that counts and the passages cited; then the rule's
verdicts), so the CLI, the pages and the export show the same thing. No HTTP here.

What counts as evidence is what coverage counts: `effective_evidence` (the tool's links less rejected ones, plus
assessors' acceptances and additions), and an item's evidence state follows its coverage status:
  evidenced      coverage `evidenced` (an assessor's acceptance, two passages, or one strong passage)
  partly         coverage `weak` (a lone borderline link, or only candidates an assessor should check)
  none           coverage `gap`: no passage, so the tool gives no answer
  not_applicable set by an assessor on the requirement's page

Assessors' decisions live in `assessment_reviews`, keyed by requirement id (and party, for mutuality) rather
than by passage, so they survive re-ingestion; the history is kept and the latest per (requirement, party)
counts. The answer `clear` withdraws a decision, and the tool's suggestion counts again.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import sqlite3
from collections import defaultdict

from ingest import clean_text
from standards import OPTIONAL_FILES, Catalogue, Framework, Scale, load_catalogue

from .db import EVIDENCE_ORDER, write_transaction

ASSESSED = ("ogc_gates", "weighted_index", "grid", "rag")  # the catalogue rules this module scores
# Items of an ogc_gates group without a scale of its own (the gate questions) are drafted on this one
DRAFT_SCALE = (("evidenced", "Evidenced"), ("partly", "Partly"), ("no", "No"))
# Grid outcomes: the share of a cell is the share of its outcomes answered `evidenced`
GRID_SCALE = (("evidenced", "Evidenced"), ("not evidenced", "Not evidenced"))
CLEAR = "clear"  # withdraws the latest decision of (requirement, party)
PARTIES = ("A", "B")  # mutuality is scored by an assessor of each organisation
CITED = 5  # passages cited per item; the requirement's page lists them all

# Mutuality levels come from the kinds of document the evidence sits in (the catalogue's 0-4 levels):
# a document both partners own, records of the factor working and being reviewed, and benchmarking words.
JOINT_TYPES = ("charter", "rmp", "contract")
WORKING_TYPES = ("minutes", "register", "report")
JOINT_NAME = re.compile(r"\b(joint|shared|partnership|partnering|alliance)\b", re.I)  # "Joint risk register.xlsx"
BENCHMARK = re.compile(r"benchmark|other partnerships?|other alliances?|peer review|compared? (?:with|to|against) "
                       r"(?:other|similar|peer)|best practice elsewhere|industry average", re.I)


class AssessmentError(Exception):
    """An assessment cannot be shown or an answer recorded as asked."""


# ------------------------------------------------------------------------------------------------ frameworks


def enabled_frameworks(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The frameworks a database assesses: the `frameworks` setting (comma-separated ids), or, for a database
    from before that setting, the frameworks its requirements belong to."""
    row = conn.execute("select value from settings where key = 'frameworks'").fetchone()
    if row and row[0] and row[0].strip():
        return tuple(dict.fromkeys(f.strip() for f in row[0].split(",") if f.strip()))
    return tuple(f for f, in conn.execute("select distinct framework from requirements order by framework"))


def database_catalogue(conn: sqlite3.Connection) -> Catalogue:
    """The catalogue a database was mapped with: its user catalogue files and its enabled optional frameworks."""
    row = conn.execute("select value from settings where key = 'catalogue_files'").fetchone()
    files = json.loads(row[0]) if row and row[0] else []
    optional = tuple(f for f in enabled_frameworks(conn) if f in OPTIONAL_FILES)
    return _load(tuple(files), optional, tuple(_mtime(f) for f in files))


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:  # load_catalogue says what is wrong with it
        return None


@functools.lru_cache(maxsize=8)
def _load(files: tuple[str, ...], optional: tuple[str, ...], mtimes: tuple) -> Catalogue:
    # every page view reads the catalogue; parsing the YAML once per set of files (and their change times) is enough
    return load_catalogue(files, frameworks=optional)


def assessed_frameworks(conn: sqlite3.Connection, catalogue: Catalogue | None = None) -> list[dict]:
    """The enabled frameworks with an assessment rule, in the order the setting names them."""
    catalogue = catalogue or database_catalogue(conn)
    out = []
    for fid in enabled_frameworks(conn):
        fw = catalogue.frameworks.get(fid)
        if fw is not None and fw.assessment in ASSESSED:
            out.append({"id": fw.id, "name": fw.name, "assessment": fw.assessment, "description": fw.description})
    return out


def _framework(catalogue: Catalogue, conn: sqlite3.Connection, framework_id: str) -> Framework:
    fw = catalogue.frameworks.get(framework_id)
    enabled = enabled_frameworks(conn)
    if fw is None or fw.id not in enabled or fw.assessment not in ASSESSED:
        known = [f["id"] for f in assessed_frameworks(conn, catalogue)]
        raise AssessmentError(f"'{framework_id}' is not an assessed framework of this database: "
                              f"choose from {', '.join(known) or 'none (enable one with evidence ingest --framework)'}")
    return fw


# ------------------------------------------------------------------------------------------------ scales


def answer_scale(framework: Framework, stage: str) -> Scale:
    """The answers an item may take: its group's or framework's scale, else the rule's default."""
    scale = framework.scale_for(stage)
    if scale is not None:
        return scale
    return Scale(answers=GRID_SCALE if framework.assessment == "grid" else DRAFT_SCALE)


def _check_answer(framework: Framework, stage: str, answer: str, party: str | None) -> str:
    scale = answer_scale(framework, stage)
    if framework.assessment == "weighted_index":
        if party not in PARTIES:
            raise AssessmentError(f"a {framework.id} level is set for one party: {' or '.join(PARTIES)}")
        try:
            level = float(answer)
        except ValueError:
            raise AssessmentError(f"a {framework.id} level is a number from {scale.min:g} to {scale.max:g}") from None
        if not scale.min <= level <= scale.max or level != int(level):
            raise AssessmentError(f"a {framework.id} level is a whole number from {scale.min:g} to {scale.max:g}")
        return str(int(level))
    if party is not None:
        raise AssessmentError(f"{framework.id} answers are not given per party")
    if answer not in scale.ids:
        raise AssessmentError(f"'{answer}' is not an answer here: use one of {', '.join(scale.ids)} (or {CLEAR})")
    return answer


# ------------------------------------------------------------------------------------------------ decisions


def record_assessment(conn: sqlite3.Connection, requirement_id: str, answer: str, reviewer: str,
                      comment: str = "", party: str | None = None, catalogue: Catalogue | None = None) -> int:
    """Store an assessor's answer (or `clear`) for an item, validated against its scale; returns its id. Runs in
    the caller's transaction. The tool's suggestion at the time is kept with it."""
    answer, reviewer, comment = clean_text(str(answer or "")).strip(), clean_text(reviewer or "").strip(), \
        clean_text(comment or "").strip()
    party = party or None
    if not reviewer:
        raise AssessmentError("an answer needs a logged-in assessor")
    row = conn.execute("select framework, stage from requirements where id = ?", [requirement_id]).fetchone()
    if row is None:
        raise AssessmentError(f"no requirement '{requirement_id}'")
    catalogue = catalogue or database_catalogue(conn)
    framework = _framework(catalogue, conn, row[0])
    if answer != CLEAR:
        answer = _check_answer(framework, row[1], answer, party)
    elif (party not in PARTIES) if framework.assessment == "weighted_index" else (party is not None):
        raise AssessmentError(f"clear the answer it withdraws: {framework.id} answers are "
                              + (f"per party ({' or '.join(PARTIES)})" if framework.assessment == "weighted_index"
                                 else "not given per party"))
    item = next((i for i in assess(conn, framework.id, catalogue)["items"] if i["id"] == requirement_id), {})
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    cursor = conn.execute(
        "insert into assessment_reviews (framework, requirement_id, party, answer, suggested, comment, reviewer, "
        "reviewed_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [framework.id, requirement_id, party, answer, _text(item.get("suggested")), comment or None, reviewer, now])
    return cursor.lastrowid


CURRENT_DECISIONS = """
select a.requirement_id, a.party, a.answer, a.comment, a.reviewer, a.reviewed_at, a.suggested
from assessment_reviews a
where a.framework = ? and a.id = (select max(b.id) from assessment_reviews b
  where b.requirement_id = a.requirement_id and coalesce(b.party, '') = coalesce(a.party, ''))
  and a.answer != 'clear'
"""


def _decisions(conn: sqlite3.Connection, framework: str) -> dict[tuple[str, str | None], dict]:
    cursor = conn.execute(CURRENT_DECISIONS, [framework])
    columns = [c[0] for c in cursor.description]
    return {(r[0], r[1]): dict(zip(columns, r)) for r in cursor.fetchall()}


def history(conn: sqlite3.Connection, requirement_id: str) -> list[dict]:
    """Every decision on an item, oldest first (withdrawn and replaced ones too)."""
    cursor = conn.execute("select * from assessment_reviews where requirement_id = ? order by id", [requirement_id])
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r)) for r in cursor.fetchall()]


# ------------------------------------------------------------------------------------------------ settings


def set_gate(conn: sqlite3.Connection, gate: int, framework: str = "OGC", catalogue: Catalogue | None = None) -> None:
    """The review gate the relationship is at (e.g. `ogc_gate`): items due by a later gate are not yet due."""
    fw = _framework(catalogue or database_catalogue(conn), conn, framework)
    gates = sorted({g.due for g in fw.groups if g.due is not None})
    if not gates:
        raise AssessmentError(f"{framework} has no gates")
    try:
        gate = int(gate)
    except (TypeError, ValueError):
        raise AssessmentError(f"a gate is a number from {gates[0]} to {gates[-1]}") from None
    if not gates[0] <= gate <= gates[-1]:
        raise AssessmentError(f"no gate {gate}: {framework} gates run from {gates[0]} to {gates[-1]}")
    _put(conn, f"{fw.id.lower()}_gate", str(gate))


def set_phase(conn: sqlite3.Connection, phase: str, framework: str = "ACOP", catalogue: Catalogue | None = None) -> None:
    """The phase the alliance is in (e.g. `acop_phase`): its outcomes make the readiness list."""
    fw = _framework(catalogue or database_catalogue(conn), conn, framework)
    phases = [s for s, _ in fw.stages]
    if str(phase) not in phases:
        raise AssessmentError(f"no phase '{phase}' in {framework}: choose from {', '.join(phases)}")
    _put(conn, f"{fw.id.lower()}_phase", str(phase))


def _put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("insert or replace into settings (key, value) values (?, ?)", [key, value])


def _setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("select value from settings where key = ?", [key]).fetchone()
    return row[0] if row and row[0] not in (None, "") else None


# ------------------------------------------------------------------------------------------------ evidence


EFFECTIVE_FOR = """
select e.requirement_id, e.passage_id, round(e.score, 3) as score, e.via, e.source, p.text, p.location,
       d.id as document_id, d.name as document, d.doc_type, d.title as document_title
from effective_evidence e join requirements r on r.id = e.requirement_id
join passages p on p.id = e.passage_id join documents d on d.id = p.document_id
where r.framework = ?
order by e.requirement_id, {order}
""".format(order=EVIDENCE_ORDER.format(e="e."))

CANDIDATES_FOR = """
select c.requirement_id, c.passage_id, round(c.score, 3) as score, null as via, 'candidate' as source, p.text,
       p.location, d.id as document_id, d.name as document, d.doc_type, d.title as document_title
from candidates c join requirements r on r.id = c.requirement_id
join passages p on p.id = c.passage_id join documents d on d.id = p.document_id
where r.framework = ?
order by c.requirement_id, c.score desc, c.passage_id
"""

ITEMS_FOR = """
select r.id, r.stage, r.stage_title, r.title, coalesce(c.status, 'gap') as status,
       coalesce(c.evidence_count, 0) as evidence_count, coalesce(c.document_count, 0) as document_count,
       coalesce(c.candidate_count, 0) as candidate_count
from requirements r left join coverage c on c.requirement_id = r.id
where r.framework = ? order by r.position
"""

STATES = {"evidenced": "evidenced", "weak": "partly", "gap": "none", "not_applicable": "not_applicable"}


def _items(conn: sqlite3.Connection, framework: Framework) -> list[dict]:
    """Every item of the framework with its evidence state, all its effective passages (`links`, in the matrix's
    order), its candidates, the passages cited and the assessor's decision (party None)."""
    links, candidates = defaultdict(list), defaultdict(list)
    for sql, into in ((EFFECTIVE_FOR, links), (CANDIDATES_FOR, candidates)):
        cursor = conn.execute(sql, [framework.id])
        columns = [c[0] for c in cursor.description]
        for row in cursor.fetchall():
            into[row[0]].append(dict(zip(columns, row)))
    decisions = _decisions(conn, framework.id)
    items = []
    cursor = conn.execute(ITEMS_FOR, [framework.id])
    columns = [c[0] for c in cursor.description]
    for row in cursor.fetchall():
        item = dict(zip(columns, row))
        item["evidence"] = STATES.get(item["status"], "none")
        item["links"] = links.get(item["id"], [])
        # no passage, no answer: an item with candidates only cites them, marked as candidates; the same text met
        # again (a plan and its copy attached to an email) is cited once
        item["passages"] = _distinct_texts(item["links"] or candidates.get(item["id"], []))[:CITED]
        item["decision"] = decisions.get((item["id"], None))
        item["parties"] = {p: decisions.get((item["id"], p)) for p in PARTIES}
        items.append(item)
    return items


def _distinct_texts(links: list[dict]) -> list[dict]:
    """The links in their order, each text's first only."""
    first = {}
    for link in links:
        first.setdefault(link["text"], link)
    return list(first.values())


def _answer(item: dict) -> None:
    """The answer that counts: the assessor's decision, else the tool's suggestion."""
    item["answer"] = item["decision"]["answer"] if item["decision"] else item["suggested"]
    item["decided_by"] = "assessor" if item["decision"] else ("tool" if item["suggested"] is not None else None)


def _number(answer: str) -> int | float | None:
    # answers were checked when recorded; one stored under an older scale is shown as not assessed, never a crash
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() else value


def _text(value) -> str | None:
    if value is None:
        return None
    return f"{value:g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------------------------------------ OGC gates


def suggest_on_scale(ids: tuple[str, ...], evidence: str, documents: int) -> str | None:
    """The tool's draft on a named scale (best answer first), from the evidence state:
    evidenced -> the best answer; on a scale of four or more (fully/largely/partly/not at all) the best only
    with passages from two or more documents, else the second; partly -> on a scale of three or more the one
    before the worst (partly), on yes/no nothing (an assessor says yes or no); no evidence -> no answer."""
    if evidence == "evidenced":
        return ids[0] if len(ids) < 4 or documents >= 2 else ids[1]
    if evidence == "partly" and len(ids) >= 3:
        return ids[-2]
    return None


def assess_ogc_gates(conn: sqlite3.Connection, framework: Framework) -> dict:
    """Draft answers for every question; per group whether it is due at the gate the user set (`ogc_gate`);
    gate groups (rule gate) fail on any failing answer, never averaged; flag groups list flagged items."""
    gate_setting = _setting(conn, f"{framework.id.lower()}_gate")
    gate = int(gate_setting) if gate_setting is not None and gate_setting.lstrip("-").isdigit() else None
    items = _items(conn, framework)
    for item in items:
        scale = answer_scale(framework, item["stage"])
        item["scale"] = scale.ids
        item["suggested"] = suggest_on_scale(scale.ids, item["evidence"], item["document_count"])
        _answer(item)
        due = framework.group(item["stage"]).due
        item["due"] = gate is None or due is None or due <= gate
    groups = []
    for stage in framework.groups:
        members = [i for i in items if i["stage"] == stage.id]
        scale = answer_scale(framework, stage.id)
        rule = framework.rule_for(stage.id)
        counts = {a: sum(i["answer"] == a for i in members) for a in scale.ids}
        group = {"id": stage.id, "title": stage.title, "due_gate": stage.due, "scale": scale.ids,
                 "due": gate is None or stage.due is None or stage.due <= gate, "counts": counts,
                 "unanswered": sum(i["answer"] is None for i in members), "total": len(members),
                 "rule": rule.kind if rule else None}
        if rule and rule.kind == "gate":
            group["failing"] = [i["id"] for i in members if i["answer"] in rule.answers]
            group["open"] = [i["id"] for i in members if i["answer"] is None]
        if rule and rule.kind == "flag":
            group["flagged"] = [i["id"] for i in members if i["answer"] in rule.answers]
        groups.append(group)
    return {"gate": gate, "gates": sorted({g.due for g in framework.groups if g.due is not None}),
            "items": items, "groups": groups, "verdicts": _ogc_verdicts(groups)}


def _ogc_verdicts(groups: list[dict]) -> dict:
    """Readiness: any failing answer in a due gate group means not ready, whatever the rest say; ready only when
    every question of every due gate group has a passing answer. Flags: every flagged item of a due flag group."""
    gated = [g for g in groups if g["rule"] == "gate" and g["due"]]
    failing = [rid for g in gated for rid in g["failing"]]
    open_ = [rid for g in gated for rid in g["open"]]
    readiness = None  # no gate group due: nothing to say about readiness yet
    if gated:
        readiness = "not_ready" if failing else "open" if open_ else "ready"
    flag_groups = [g for g in groups if g["rule"] == "flag" and g["due"]]
    flagged = [rid for g in flag_groups for rid in g["flagged"]]
    return {"readiness": readiness, "failing": failing, "unanswered": open_, "flagged": flagged,
            "flag_answered": sum(g["total"] - g["unanswered"] for g in flag_groups)}


# ------------------------------------------------------------------------------------------------ weighted index


def suggest_level(links: list[dict]) -> int:
    """A factor's level from its effective passages, cumulative as the catalogue's levels are:
    0 no passage; 1 passages only in one party's or unknown documents (policies, procedures, reports...);
    2 a joint document: a charter, relationship management plan or contract, or a register whose name or title
      says joint/shared/partnership; 3 that plus records of it working and being reviewed (minutes, a register
      or a report besides the joint document); 4 all of that plus benchmarking against other partnerships in the evidence's words."""
    if not links:
        return 0
    joint = {link["document"] for link in links if _joint(link)}
    if not joint:
        return 1
    # records beside the joint document: a joint register alone is the document, not yet a record of review
    if not any(link["doc_type"] in WORKING_TYPES and link["document"] not in joint for link in links):
        return 2
    return 4 if any(BENCHMARK.search(link["text"] or "") for link in links) else 3


def _joint(link: dict) -> bool:
    """A document both partners own: by its type, or a register (or untyped file) whose name or title says so;
    minutes and reports are records of working, whatever their names."""
    named = JOINT_NAME.search(f"{link['document'] or ''} {link['document_title'] or ''}")
    return link["doc_type"] in JOINT_TYPES or (link["doc_type"] in ("register", "other") and bool(named))


def weighted_index(levels: dict[str, float | None], weights: dict[str, float], top: float) -> dict:
    """sum(weight x level) / sum(weight x top) over the factors with a level (None: not assessed), and the share
    of all the weight those factors carry: an index over half the weight says less than one over all of it."""
    assessed = {rid: level for rid, level in levels.items() if level is not None}
    weight = sum(weights[rid] for rid in assessed)
    total = sum(weights.values())
    index = sum(weights[rid] * level for rid, level in assessed.items()) / (weight * top) if weight else None
    return {"index": index, "weight_assessed": weight, "weight_total": total,
            "share_assessed": weight / total if total else 0.0, "assessed": len(assessed), "factors": len(levels)}


def assess_weighted_index(conn: sqlite3.Connection, framework: Framework, catalogue: Catalogue) -> dict:
    """A suggested level per factor; each party's assessor level; indices over the assessed factors; where the
    parties differ by a level or more."""
    scale = framework.scale
    items = _items(conn, framework)
    weights = {i["id"]: float(catalogue[i["id"]].weight) for i in items}
    for item in items:
        item["weight"] = weights[item["id"]]
        # no passage, no level: a factor without evidence is not assessed until an assessor scores it
        item["suggested"] = suggest_level(item["links"]) if item["links"] else None
        levels = {p: _number(d["answer"]) if d else None for p, d in item["parties"].items()}
        item["levels"] = levels
        set_levels = [v for v in levels.values() if v is not None]
        # the level that counts: the parties' mean where either set one, else the tool's suggestion
        item["answer"] = sum(set_levels) / len(set_levels) if set_levels else item["suggested"]
        item["decided_by"] = "assessor" if set_levels else ("tool" if item["suggested"] is not None else None)
        item["difference"] = abs(levels["A"] - levels["B"]) if len(set_levels) == 2 else None
    top = scale.max
    indices = {
        "suggested": weighted_index({i["id"]: i["suggested"] for i in items}, weights, top),
        **{p: weighted_index({i["id"]: i["levels"][p] for i in items}, weights, top) for p in PARTIES},
        "combined": weighted_index({i["id"]: i["answer"] for i in items}, weights, top),
    }
    differences = [i["id"] for i in items if i["difference"] is not None and i["difference"] >= 1]
    return {"items": items, "indices": indices, "levels": [{"value": v, "label": label} for v, label in scale.levels],
            "min": scale.min, "max": top, "verdicts": {"index": indices["combined"]["index"],
                                                       "share_assessed": indices["combined"]["share_assessed"],
                                                       "differences": differences}}


# ------------------------------------------------------------------------------------------------ grid


def assess_grid(conn: sqlite3.Connection, framework: Framework, catalogue: Catalogue) -> dict:
    """Outcomes evidenced per (phase, theme) cell; the current phase's outcomes without evidence (`acop_phase`);
    when the catalogue flags critical outcomes, those of the current phase gate readiness."""
    phase = _setting(conn, f"{framework.id.lower()}_phase")
    items = _items(conn, framework)
    for item in items:
        requirement = catalogue[item["id"]]
        item["theme"], item["critical"] = requirement.theme, requirement.critical
        item["scale"] = answer_scale(framework, item["stage"]).ids
        # evidenced outcomes are suggested as evidenced; no passage (or only a borderline one), no answer
        item["suggested"] = "evidenced" if item["evidence"] == "evidenced" else None
        _answer(item)
    cells = []
    for stage, title in framework.stages:
        row = []
        for theme, theme_title in framework.themes:
            members = [i for i in items if i["stage"] == stage and i["theme"] == theme
                       and i["evidence"] != "not_applicable"]
            evidenced = sum(i["answer"] == "evidenced" for i in members)
            row.append({"phase": stage, "theme": theme, "theme_title": theme_title, "total": len(members),
                        "evidenced": evidenced, "share": evidenced / len(members) if members else None})
        cells.append({"phase": stage, "title": title, "cells": row})
    current = [i for i in items if i["stage"] == phase and i["evidence"] != "not_applicable"]
    missing = [i["id"] for i in current if i["answer"] != "evidenced"]
    critical = [i["id"] for i in current if i["critical"]]
    critical_missing = [rid for rid in critical if rid in missing]
    # without critical outcomes there is nothing to gate on: the list is for the assessor to read
    ready = (not critical_missing) if critical else None
    return {"items": items, "grid": cells, "themes": [{"id": t, "title": title} for t, title in framework.themes],
            "phase": phase, "phases": [{"id": s, "title": title} for s, title in framework.stages],
            "verdicts": {"phase": phase, "missing": missing, "critical": critical,
                         "critical_missing": critical_missing, "ready": ready if phase else None}}


# ------------------------------------------------------------------------------------------------ RAG


def suggest_rag(ids: tuple[str, ...], item: dict) -> str:
    """Best answer (green) when coverage calls the item evidenced from two or more documents (as it counts them:
    the same text is one passage of support, a copy of a document the same document); the middle one (amber) with
    some evidence or candidates; the worst (red) with none."""
    if item["evidence"] == "evidenced" and item["document_count"] >= 2:
        return ids[0]
    if item["links"] or item["passages"]:
        return ids[len(ids) // 2] if len(ids) > 2 else ids[-1]
    return ids[-1]


def assess_rag(conn: sqlite3.Connection, framework: Framework) -> dict:
    items = _items(conn, framework)
    for item in items:
        scale = answer_scale(framework, item["stage"])
        item["scale"] = scale.ids
        item["suggested"] = suggest_rag(scale.ids, item)
        _answer(item)
    ids = framework.scale.ids
    counts = {a: sum(i["answer"] == a for i in items) for a in ids}
    return {"items": items, "verdicts": {"counts": counts, "gaps": [i["id"] for i in items if i["answer"] != ids[0]]}}


# ------------------------------------------------------------------------------------------------ entry points


def assess(conn: sqlite3.Connection, framework_id: str, catalogue: Catalogue | None = None) -> dict:
    """One framework's assessment: its items with suggestions, decisions and passages, and its verdicts."""
    catalogue = catalogue or database_catalogue(conn)
    fw = _framework(catalogue, conn, framework_id)
    if fw.assessment == "ogc_gates":
        result = assess_ogc_gates(conn, fw)
    elif fw.assessment == "weighted_index":
        result = assess_weighted_index(conn, fw, catalogue)
    elif fw.assessment == "grid":
        result = assess_grid(conn, fw, catalogue)
    else:
        result = assess_rag(conn, fw)
    scale = fw.scale
    return {"framework": fw.id, "name": fw.name, "assessment": fw.assessment, "description": fw.description,
            "stage_label": fw.stage_label, "scale": list(scale.answers) if scale and not scale.numeric else [],
            **result}


def update_and_assess(conn: sqlite3.Connection, framework_id: str, gate: int | None = None,
                      phase: str | None = None) -> dict:
    """Set the gate or phase when given (in one transaction), then assess: what `evidence assess` does."""
    catalogue = database_catalogue(conn)
    if gate is not None or phase is not None:
        with write_transaction(conn):
            if gate is not None:
                set_gate(conn, gate, framework_id, catalogue)
            if phase is not None:
                set_phase(conn, phase, framework_id, catalogue)
    return assess(conn, framework_id, catalogue)


# ------------------------------------------------------------------------------------------------ plain text

READINESS = {"not_ready": "NOT YET READY for partnering: a readiness question is answered no",
             "open": "Readiness not yet shown: some readiness questions have no answer",
             "ready": "Ready for partnering: every readiness question is answered yes"}


def _level(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def assessment_lines(result: dict) -> list[str]:
    """The assessment as plain text: the verdicts first, then one line per item (the CLI prints these)."""
    name = result["name"]  # a framework named after its id ("... (OGC)") is not named twice
    lines = [name if name.endswith(f"({result['framework']})") else f"{name} ({result['framework']})"]
    verdicts, kind = result["verdicts"], result["assessment"]
    if kind == "ogc_gates":
        gate = "not set (every group counted as due)" if result["gate"] is None else str(result["gate"])
        lines.append(f"Gate: {gate}")
        if verdicts["readiness"]:
            lines.append(READINESS[verdicts["readiness"]])
        for label, ids in (("Answered no", verdicts["failing"]), ("Without an answer", verdicts["unanswered"]),
                           ("Flagged for attention", verdicts["flagged"])):
            if ids:
                lines.append(f"{label}: {', '.join(ids)}")
        for g in result["groups"]:
            counts = ", ".join(f"{a} {n}" for a, n in g["counts"].items())
            due = "due" if g["due"] else f"not yet due (gate {g['due_gate']})"
            lines.append(f"  {g['id']:10} {due:22} {counts}, unanswered {g['unanswered']}  {g['title']}")
    elif kind == "weighted_index":
        for key, label in (("combined", "Mutuality index"), ("suggested", "Suggested by the tool"),
                           ("A", "Party A"), ("B", "Party B")):
            ix = result["indices"][key]
            lines.append(f"{label}: {_percent(ix['index'])} over {ix['assessed']} of {ix['factors']} factors "
                         f"({_percent(ix['share_assessed'])} of the weight assessed)")
        if verdicts["differences"]:
            lines.append(f"Parties differ by a level or more: {', '.join(verdicts['differences'])}")
    elif kind == "grid":
        if verdicts["phase"] is None:
            lines.append("Phase: not set (evidence assess ACOP --phase N)")
        else:
            ready = {True: "ready: every critical outcome evidenced", False: "NOT READY: critical outcomes without "
                     "evidence: " + ", ".join(verdicts["critical_missing"]), None: "no critical outcomes flagged"}
            lines.append(f"Phase {verdicts['phase']}: {ready[verdicts['ready']]}")
            lines.append(f"Outcomes of this phase without evidence ({len(verdicts['missing'])}): "
                         f"{', '.join(verdicts['missing']) or 'none'}")
        themes = [t["title"][:12] for t in result["themes"]]
        lines.append("  " + "Phase".ljust(8) + "".join(t.ljust(14) for t in themes))
        for row in result["grid"]:
            lines.append("  " + row["phase"].ljust(8) + "".join(
                f"{c['evidenced']}/{c['total']} {_percent(c['share'])}".ljust(14) for c in row["cells"]))
    else:
        lines.append(", ".join(f"{a}: {n}" for a, n in verdicts["counts"].items()))
    lines.append("")
    for item in result["items"]:
        lines.append(_item_line(item, kind))
    return lines


def _item_line(item: dict, kind: str) -> str:
    if kind == "weighted_index":
        parties = " ".join(f"{p}={_level(v)}" for p, v in item["levels"].items())
        head = f"suggested {_level(item['suggested'])}  {parties}  weight {item['weight']:g}"
    else:
        decided = f"  decided {item['decision']['answer']} by {item['decision']['reviewer']}" if item["decision"] else ""
        due = "" if item.get("due", True) else "  (not yet due)"
        head = f"{item['evidence']:10} suggested {_level(item['suggested'])}{decided}{due}"
    cites = "; ".join(f"{p['document']} {p['location']}" for p in item["passages"][:2])
    return f"{item['id']:14} {head}  {item['title']}" + (f"  [{cites}]" if cites else "")
