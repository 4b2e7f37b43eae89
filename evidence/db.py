"""The evidence database: schema by sqlite-utils migrations, and the coverage view.

The contract tables (documents, passages, requirements, evidence, candidates, coverage) describe the
current state; other tools, Datasette pages and audits read their names.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("evidence")


@migrations()
def m001_contract(db: sqlite_utils.Database) -> None:
    db["documents"].create({
        "id": int, "path": str, "name": str, "sha256": str, "format": str, "doc_type": str, "title": str,
        "author": str, "created": str, "modified": str, "status": str, "error": str, "size": int,
        "passage_count": int, "metadata": str, "ingested_at": str,
    }, pk="id")
    db["documents"].create_index(["path"], unique=True)
    db["documents"].create_index(["sha256"])
    db["passages"].create({
        "id": int, "document_id": int, "text": str, "location": str, "context": str, "kind": str,
        "page": int, "sheet": str, "row": int, "text_hash": str,
    }, pk="id", foreign_keys=[("document_id", "documents", "id")])
    db["passages"].create_index(["document_id"])
    db["passages"].create_index(["text_hash"])
    db["requirements"].create({
        "id": str, "framework": str, "stage": str, "stage_title": str, "title": str, "description": str,
        "position": int,
    }, pk="id")
    db["crosswalk"].create({"requirement_id": str, "related_id": str}, pk=("requirement_id", "related_id"))
    db["evidence"].create({
        "passage_id": int, "requirement_id": str, "score": float, "rank": int, "via": str, "why": str,
    }, pk=("passage_id", "requirement_id"),
        foreign_keys=[("passage_id", "passages", "id"), ("requirement_id", "requirements", "id")])
    db["evidence"].create_index(["requirement_id"])
    db["candidates"].create({
        "passage_id": int, "requirement_id": str, "score": float, "why": str,
    }, pk=("passage_id", "requirement_id"),
        foreign_keys=[("passage_id", "passages", "id"), ("requirement_id", "requirements", "id")])
    db["candidates"].create_index(["requirement_id"])
    db["embeddings"].create({"text_hash": str, "model": str, "vector": bytes}, pk=("text_hash", "model"))
    db["settings"].create({"key": str, "value": str}, pk="key")


@migrations()
def m002_coverage_view(db: sqlite_utils.Database) -> None:
    db.create_view("coverage", COVERAGE_SQL, replace=True)
    db.create_view("matrix", MATRIX_SQL, replace=True)


@migrations()
def m003_search(db: sqlite_utils.Database) -> None:
    db["passages"].enable_fts(["text", "context", "location"], create_triggers=True, tokenize="porter")


COVERAGE_SQL = """
select
  r.id as requirement_id,
  r.framework,
  r.stage,
  r.title,
  case
    when (select count(*) from evidence e where e.requirement_id = r.id) > 0 then 'evidenced'
    when (select count(*) from candidates c where c.requirement_id = r.id) > 0 then 'weak'
    else 'gap'
  end as status,
  (select count(*) from evidence e where e.requirement_id = r.id) as evidence_count,
  (select count(*) from evidence e where e.requirement_id = r.id and e.via is null) as direct_count,
  (select count(*) from candidates c where c.requirement_id = r.id) as candidate_count,
  (select max(score) from evidence e where e.requirement_id = r.id) as best_score,
  (select count(distinct p.document_id) from evidence e join passages p on p.id = e.passage_id
    where e.requirement_id = r.id) as document_count,
  r.position
from requirements r
"""


# One row per requirement with its best evidence and where it sits: what an assessor reads first.
MATRIX_SQL = """
select
  r.id as requirement_id,
  r.framework,
  r.stage,
  r.stage_title,
  r.title,
  c.status,
  c.evidence_count,
  c.document_count,
  round(c.best_score, 3) as best_score,
  p.text as best_evidence,
  d.name as document,
  p.location,
  d.doc_type,
  d.id as document_id,
  p.id as passage_id
from requirements r
join coverage c on c.requirement_id = r.id
left join passages p on p.id = (
  select e.passage_id from evidence e where e.requirement_id = r.id
  order by e.via is not null, e.score desc limit 1)
left join documents d on d.id = p.document_id
order by r.framework, r.position
"""


def open_db(path: str | Path, migrate: bool = True) -> sqlite_utils.Database:
    """Open (and create or upgrade) an evidence database; WAL so Datasette can read while we write."""
    db = sqlite_utils.Database(str(path))
    db.execute("pragma journal_mode = wal")
    db.execute("pragma synchronous = normal")
    db.execute("pragma busy_timeout = 10000")
    db.execute("pragma foreign_keys = on")
    if migrate:
        migrations.apply(db)
    return db


def get_setting(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("select value from settings where key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    db["settings"].upsert({"key": key, "value": value}, pk="key")
