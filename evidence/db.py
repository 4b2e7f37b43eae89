"""The evidence database: schema by sqlite-utils migrations, and the coverage view.

The contract tables (documents, passages, requirements, evidence, candidates, coverage) describe the
current state; other tools, Datasette pages and audits read their names.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    db.create_view("coverage", COVERAGE_SQL_V1, replace=True)
    db.create_view("matrix", MATRIX_SQL_V1, replace=True)


@migrations()
def m003_search(db: sqlite_utils.Database) -> None:
    db["passages"].enable_fts(["text", "context", "location"], create_triggers=True, tokenize="porter")


@migrations()
def m004_reviews(db: sqlite_utils.Database) -> None:
    # keyed by the passage's content hash, not its row id, so a review survives re-ingestion
    db.execute("""
        create table reviews (
          id integer primary key,
          passage_hash text,
          requirement_id text not null,
          decision text not null check (decision in ('accept', 'reject', 'add', 'not_applicable', 'clear')),
          comment text,
          reviewer text not null,
          reviewed_at text not null,
          passage_id integer,
          document_name text,
          location text
        )""")
    db["reviews"].create_index(["passage_hash", "requirement_id"])
    db["documents"].add_column("document_date", str)
    db.execute("update documents set document_date = coalesce(modified, created)")
    db.create_view("current_reviews", CURRENT_REVIEWS_SQL, replace=True)
    db.create_view("effective_evidence", EFFECTIVE_EVIDENCE_SQL, replace=True)
    db.create_view("coverage", COVERAGE_SQL, replace=True)
    db.create_view("matrix", MATRIX_SQL_V2, replace=True)


@migrations()
def m005_history(db: sqlite_utils.Database) -> None:
    # Every version of every document ever ingested; the current tables hold only what is live now.
    db["document_versions"].create({
        "id": int, "document_id": int, "path": str, "name": str, "sha256": str, "status": str, "error": str,
        "passage_count": int, "evidence_count": int, "document_date": str, "ingested_at": str,
        "replaced_at": str, "removed_at": str,
    }, pk="id")
    db["document_versions"].create_index(["document_id"])
    db["passage_history"].create({
        "version_id": int, "seq": int, "text": str, "location": str, "text_hash": str,
    }, pk=("version_id", "seq"))
    db["evidence_history"].create({
        "version_id": int, "seq": int, "requirement_id": str, "score": float, "rank": int, "via": str,
    }, pk=("version_id", "seq", "requirement_id"))
    db["documents"].add_column("family", str)
    db["documents"].add_column("version_id", int)
    db.execute("""insert into document_versions (document_id, path, name, sha256, status, error, passage_count,
                    document_date, ingested_at)
                  select id, path, name, sha256, status, error, passage_count, document_date, ingested_at from documents""")
    db.execute("""update documents set version_id = (select max(v.id) from document_versions v
                  where v.document_id = documents.id)""")


@migrations()
def m006_coverage_table(db: sqlite_utils.Database) -> None:
    # Coverage is read by every page and facet; computing it per request does not scale past a few
    # thousand passages, so it becomes a table refreshed whenever evidence or reviews change.
    db.execute("drop view if exists matrix")
    db.execute("drop view if exists coverage")
    db["coverage"].create({
        "requirement_id": str, "framework": str, "stage": str, "title": str, "status": str, "evidence_count": int,
        "direct_count": int, "candidate_count": int, "best_score": float, "document_count": int,
        "newest_evidence_date": str, "not_applicable_reason": str, "best_passage_id": int, "position": int,
    }, pk="requirement_id")
    db["coverage"].create_index(["status"])
    db["coverage"].create_index(["framework", "position"])
    db.create_view("matrix", MATRIX_SQL, replace=True)
    refresh_coverage(db.conn)


@migrations()
def m007_evidence_order(db: sqlite_utils.Database) -> None:
    # covers "a requirement's strongest links, direct ones first" without reading the rows themselves
    db["evidence"].create_index(["requirement_id", "via", "score"], index_name="idx_evidence_requirement_via_score",
                                if_not_exists=True)


@migrations()
def m008_review_text(db: sqlite_utils.Database) -> None:
    # a decision is knowledge about a text: kept with the review, it still teaches the mapping after the
    # document is replaced or removed
    db["reviews"].add_column("passage_text", str)
    db.execute("""update reviews set passage_text = coalesce(
                    (select text from passages p where p.text_hash = reviews.passage_hash limit 1),
                    (select text from passage_history h where h.text_hash = reviews.passage_hash limit 1))
                  where passage_hash is not null""")


@migrations()
def m009_unread_version(db: sqlite_utils.Database) -> None:
    # a newer version that cannot be read (corrupt, half-written, encrypted) does not take the place of the
    # version that could: the document keeps its evidence and says what happened to the newer one
    db["documents"].add_column("unread_sha256", str)
    db["documents"].add_column("unread_error", str)
    db["documents"].add_column("unread_at", str)


@migrations()
def m010_copy_name(db: sqlite_utils.Database) -> None:
    # The kept copy is served by the name it was stored under, recorded with the document: looked up by format,
    # a .docm, .tsv or .markdown file's copy was never found. Earlier ingests named a copy by the content hash
    # and the lower-case suffix of the file's name, kept for documents that were read.
    db["documents"].add_column("copy_name", str)
    rows = db.execute("select id, sha256, name from documents where status in ('ok', 'partial') "
                      "and sha256 is not null").fetchall()
    db.conn.executemany("update documents set copy_name = ? where id = ?",
                        [(f"{sha}{Path(name or '').suffix.lower()}", doc_id) for doc_id, sha, name in rows])


@migrations()
def m011_attachments(db: sqlite_utils.Database) -> None:
    # An email's attachments are documents of their own, linked to the email they came in: they are
    # re-read, moved and removed with it, and each page names the other.
    db["documents"].add_column("parent_id", int)
    db["documents"].create_index(["parent_id"])


@migrations()
def m012_ocr_confidence(db: sqlite_utils.Database) -> None:
    # Text recognised from a scan carries the recogniser's mean confidence; text read from a text layer has none.
    # Low-confidence text is stored and searchable, never claimed as evidence on its own.
    db["passages"].add_column("ocr_confidence", float)


# The latest review of each (passage, requirement) pair; 'clear' withdraws an earlier decision.
CURRENT_REVIEWS_SQL = """
select r.* from reviews r
where r.id = (select max(r2.id) from reviews r2
              where r2.requirement_id = r.requirement_id and coalesce(r2.passage_hash, '') = coalesce(r.passage_hash, ''))
  and r.decision != 'clear'
"""

# What counts as evidence: the tool's links less those an assessor rejected (a rejected item also takes its
# crosswalk links with it), plus accepted candidates and links assessors added, whatever their score.
EFFECTIVE_EVIDENCE_SQL = """
select e.passage_id, e.requirement_id, e.score, e.via, 'tool' as source
from evidence e join passages p on p.id = e.passage_id
where not exists (
  select 1 from current_reviews r
  where r.passage_hash = p.text_hash and r.decision = 'reject'
    and r.requirement_id in (e.requirement_id, coalesce(e.via, '')))
union all
select p.id, r.requirement_id, null, null, 'assessor'
from current_reviews r join passages p on p.text_hash = r.passage_hash
where r.decision in ('accept', 'add')
  and not exists (select 1 from evidence e where e.passage_id = p.id and e.requirement_id = r.requirement_id)
"""

COVERAGE_SQL = """
select
  r.id as requirement_id,
  r.framework,
  r.stage,
  r.title,
  case
    when exists (select 1 from current_reviews v where v.requirement_id = r.id and v.decision = 'not_applicable')
      then 'not_applicable'
    when (select count(*) from effective_evidence e where e.requirement_id = r.id) > 0 then 'evidenced'
    when (select count(*) from candidates c where c.requirement_id = r.id) > 0 then 'weak'
    else 'gap'
  end as status,
  (select count(*) from effective_evidence e where e.requirement_id = r.id) as evidence_count,
  (select count(*) from effective_evidence e where e.requirement_id = r.id and e.via is null) as direct_count,
  (select count(*) from candidates c where c.requirement_id = r.id) as candidate_count,
  (select max(score) from effective_evidence e where e.requirement_id = r.id) as best_score,
  (select count(distinct p.document_id) from effective_evidence e join passages p on p.id = e.passage_id
    where e.requirement_id = r.id) as document_count,
  (select max(d.document_date) from effective_evidence e join passages p on p.id = e.passage_id
    join documents d on d.id = p.document_id where e.requirement_id = r.id) as newest_evidence_date,
  (select v.comment from current_reviews v where v.requirement_id = r.id and v.decision = 'not_applicable'
    order by v.id desc limit 1) as not_applicable_reason,
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
  d.document_date,
  d.id as document_id,
  p.id as passage_id
from requirements r
join coverage c on c.requirement_id = r.id
left join passages p on p.id = c.best_passage_id
left join documents d on d.id = p.document_id
order by r.framework, r.position
"""


MATRIX_SQL_V2 = """
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
  d.document_date,
  d.id as document_id,
  p.id as passage_id
from requirements r
join coverage c on c.requirement_id = r.id
left join passages p on p.id = (
  select e.passage_id from effective_evidence e where e.requirement_id = r.id
  order by e.source = 'assessor' desc, e.via is not null, e.score desc limit 1)
left join documents d on d.id = p.document_id
order by r.framework, r.position
"""

# The order of a requirement's evidence, everywhere it is listed or its best is picked (coverage, matrix, pages,
# export): assessors' own links first, then direct links by score, then crosswalk links; ties by passage, so the
# matrix's best passage is always the first one the requirement page lists. `{e}` is the table alias with its dot.
EVIDENCE_ORDER = "{e}source = 'assessor' desc, {e}via is not null, {e}score desc, {e}passage_id"


# An item is `evidenced` when its support is strong enough: an assessor's acceptance, more than one passage, or
# one passage scored clearly above the evidence threshold; a lone borderline link leaves it `weak`. The two
# figures are the mapping settings' (MappingConfig.item_strong_score, item_min_support), stored by the pipeline.
REFRESH_COVERAGE_SQL = """
with ev as (select * from effective_evidence {only}),
rule as (select
  coalesce((select cast(value as real) from settings where key = 'item_strong_score'), 0) as strong,
  coalesce((select cast(value as integer) from settings where key = 'item_min_support'), 1) as support),
agg as (
  select e.requirement_id as rid, count(*) as n, sum(e.via is null) as direct, max(e.score) as best,
    count(distinct p.document_id) as docs, max(d.document_date) as newest,
    sum(e.source = 'assessor' or exists (select 1 from current_reviews v where v.passage_hash = p.text_hash
        and v.requirement_id = e.requirement_id and v.decision in ('accept', 'add'))) as accepted
  from ev e join passages p on p.id = e.passage_id join documents d on d.id = p.document_id
  group by e.requirement_id),
ranked as (
  select e.requirement_id as rid, e.passage_id as pid, row_number() over (
    partition by e.requirement_id order by {order}) as k
  from ev e),
cand as (select requirement_id as rid, count(*) as n from candidates {only} group by requirement_id),
na as (select requirement_id as rid, max(comment) as reason from current_reviews
       where decision = 'not_applicable' group by requirement_id)
insert into coverage (requirement_id, framework, stage, title, status, evidence_count, direct_count, candidate_count,
  best_score, document_count, newest_evidence_date, not_applicable_reason, best_passage_id, position)
select r.id, r.framework, r.stage, r.title,
  case when na.rid is not null then 'not_applicable'
       when agg.accepted > 0 or agg.n >= rule.support or agg.best >= rule.strong then 'evidenced'
       when agg.n > 0 or cand.n > 0 then 'weak' else 'gap' end,
  coalesce(agg.n, 0), coalesce(agg.direct, 0), coalesce(cand.n, 0), agg.best, coalesce(agg.docs, 0), agg.newest,
  na.reason, ranked.pid, r.position
from requirements r
cross join rule
left join agg on agg.rid = r.id
left join cand on cand.rid = r.id
left join na on na.rid = r.id
left join ranked on ranked.rid = r.id and ranked.k = 1
{only_requirements}
"""


def refresh_coverage(conn, requirement_ids=None) -> None:
    """Recompute coverage from evidence, candidates and reviews: every requirement (one set-based statement),
    or only those given, which is what a review or a single document changes."""
    if requirement_ids is None:
        conn.execute("delete from coverage")
        conn.execute(REFRESH_COVERAGE_SQL.format(only="", only_requirements="", order=EVIDENCE_ORDER.format(e="e.")))
        conn.execute("insert or replace into settings (key, value) values ('coverage_stale', '0')")
        return
    ids = sorted(set(requirement_ids))
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    conn.execute(f"delete from coverage where requirement_id in ({marks})", ids)
    conn.execute(REFRESH_COVERAGE_SQL.format(only=f"where requirement_id in ({marks})",
                                             only_requirements=f"where r.id in ({marks})",
                                             order=EVIDENCE_ORDER.format(e="e.")), ids * 3)


# Definitions as migration m002 created them (later migrations replace the views; m002 must stay as it ran).
COVERAGE_SQL_V1 = """
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

MATRIX_SQL_V1 = """
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


BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for a lock, per attempt
LOCK_WAIT = 600.0  # seconds a write keeps waiting its turn before it gives up


def open_db(path: str | Path, migrate: bool = True) -> sqlite_utils.Database:
    """Open (and create or upgrade) an evidence database; WAL so Datasette can read while we write."""
    db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000))
    # the busy timeout comes first: switching a new database to WAL takes a lock another process may hold
    db.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    _retry_locked(lambda: db.execute("pragma journal_mode = wal"))
    db.execute("pragma synchronous = normal")
    db.execute("pragma foreign_keys = on")
    if migrate and migrations.pending(db):
        # two processes opening a new database together: the one holding the writer lock migrates, the other
        # finds nothing pending once it gets the lock
        with write_transaction(db.conn):
            migrations.apply(db)
    return db


def is_locked(exc: BaseException) -> bool:
    """Whether an error only says another connection holds the lock (worth waiting for, never worth failing)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _retry_locked(action):
    deadline, delay = time.monotonic() + LOCK_WAIT, 0.05
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(1.0, delay * 2)


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that waits its turn. It takes SQLite's writer lock at BEGIN (IMMEDIATE): a deferred
    transaction that reads and then writes must upgrade its lock, and in WAL mode that fails at once with
    "database is locked" when another writer got there first; waiting at BEGIN, nothing inside ever fails for a
    lock. Nested in an open transaction it is a savepoint of that transaction."""
    if conn.in_transaction:
        name = f"evidence_{secrets.token_hex(8)}"
        conn.execute(f"savepoint {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"rollback to savepoint {name}")
                conn.execute(f"release savepoint {name}")
            raise
        conn.execute(f"release savepoint {name}")
        return
    _retry_locked(lambda: conn.execute("begin immediate"))
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    _retry_locked(conn.commit)


def is_row_id(value: int) -> bool:
    """Whether SQLite can hold `value`: a larger id from a request matches no row (binding it raises OverflowError)."""
    return -(2 ** 63) <= value < 2 ** 63


def get_setting(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("select value from settings where key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    with write_transaction(db.conn):  # on its own, or part of the caller's transaction
        db["settings"].upsert({"key": key, "value": value}, pk="key")
