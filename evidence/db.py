"""The evidence database: the live schema (views, coverage and its refresh), opening, and write transactions.

Tables come from the migrations (`evidence.migrations`, frozen as they ran); the views here are re-created
whenever a database holds another definition, so changing one needs no migration.

The contract tables (documents, passages, requirements, evidence, candidates, coverage) describe the
current state; other tools, Datasette pages and audits read their names.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from mapping import MappingConfig

from .migrations import migrations

# The latest review of each (passage, requirement) pair; 'clear' withdraws an earlier decision.
CURRENT_REVIEWS_SQL = """
select r.* from reviews r
where r.id = (select max(r2.id) from reviews r2
              where r2.requirement_id = r.requirement_id and coalesce(r2.passage_hash, '') = coalesce(r.passage_hash, ''))
  and r.decision != 'clear'
"""

# The order of a requirement's evidence, everywhere it is listed or its best is picked (coverage, matrix, pages,
# export): assessors' own links first, then direct links by score, then crosswalk links; ties by passage, so the
# matrix's best passage is always the first one the requirement page lists. `{e}` is the table alias with its dot.
# TOOL_ORDER, the tool's own links among themselves, is the order of idx_evidence_requirement_order (migration
# m014), which a requirement's page reads its best links from.
TOOL_ORDER = "{e}via is not null, {e}score desc, {e}passage_id"
EVIDENCE_ORDER = "{e}source = 'assessor' desc, " + TOOL_ORDER


# What counts as evidence: the tool's links less those an assessor rejected (a rejected item also takes its
# crosswalk links with it), plus accepted candidates and links assessors added, whatever their score.
def effective_evidence_sql(passages: str = "", requirement: str = "", top: str = "") -> str:
    """What counts as evidence, as SQL: the view's definition, or the same rule for some rows only, which SQLite
    can then look up by index instead of reading the whole view. `passages`: a condition on `p`, the passage (a
    document's page); `requirement`: a parameter naming one requirement; with it, `top`: a parameter for how many
    of its best to keep, each part read in `EVIDENCE_ORDER` from its index and stopped there (a requirement of a
    large estate has tens of thousands of links; its page shows fifty)."""
    only = f"\n  and {passages}" if passages else ""
    tool = f"\n  and e.requirement_id = {requirement}" if requirement else ""
    assessor = f"\n  and r.requirement_id = {requirement}" if requirement else ""
    # the tool's part in the order of idx_evidence_requirement_order; the assessors' (no score) by passage
    tool_top = f"\norder by {TOOL_ORDER.format(e='e.')} limit {top}" if requirement and top else ""
    assessor_top = f"\norder by p.id limit {top}" if requirement and top else ""
    sql_tool = f"""
select e.passage_id, e.requirement_id, e.score, e.via, 'tool' as source
from evidence e join passages p on p.id = e.passage_id
where not exists (
  select 1 from current_reviews r
  where r.passage_hash = p.text_hash and r.decision = 'reject'
    and r.requirement_id in (e.requirement_id, coalesce(e.via, ''))){only}{tool}{tool_top}"""
    # one requirement's: from its reviews to their passages, never the other way round (CROSS JOIN keeps SQLite to
    # that order); otherwise SQLite chooses (a document's page starts from its passages)
    join = "cross join" if requirement else "join"
    sql_assessor = f"""
select p.id, r.requirement_id, null, null, 'assessor'
from current_reviews r {join} passages p on p.text_hash = r.passage_hash
where r.decision in ('accept', 'add')
  and not exists (select 1 from evidence e where e.passage_id = p.id and e.requirement_id = r.requirement_id){only}\
{assessor}{assessor_top}"""
    if tool_top:  # a part with its own order and limit is a subquery of the compound
        return f"select * from ({sql_tool}\n)\nunion all\nselect * from ({sql_assessor}\n)\n"
    return f"{sql_tool}\nunion all{sql_assessor}\n"


EFFECTIVE_EVIDENCE_SQL = effective_evidence_sql()

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


# An item is `evidenced` when its support is strong enough: an assessor's acceptance, more than one text, or
# one passage scored clearly above the evidence threshold; a lone borderline link leaves it `weak`. The two
# figures are the mapping settings' (MappingConfig.item_strong_score, item_min_support), stored by the pipeline;
# a database that has not stored them yet takes MappingConfig's defaults, never a rule of its own.
REFRESH_COVERAGE_SQL = """
with ev as (select * from effective_evidence {only}),
rule as (select
  coalesce((select cast(value as real) from settings where key = 'item_strong_score'), {strong}) as strong,
  coalesce((select cast(value as integer) from settings where key = 'item_min_support'), {support}) as support),
agg as (
  select e.requirement_id as rid, count(*) as n, sum(e.via is null) as direct, max(e.score) as best,
    -- support is counted in distinct texts and documents in distinct contents: a plan and its copy attached to
    -- an email are one piece of evidence, not two
    count(distinct p.text_hash) as texts, count(distinct coalesce(d.sha256, d.id)) as docs,
    max(d.document_date) as newest,
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
       when agg.accepted > 0 or agg.texts >= rule.support or agg.best >= rule.strong then 'evidenced'
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


def _coverage_sql(only: str, only_requirements: str) -> str:
    defaults = MappingConfig()
    return REFRESH_COVERAGE_SQL.format(only=only, only_requirements=only_requirements, order=EVIDENCE_ORDER.format(e="e."),
                                       strong=defaults.item_strong_score, support=defaults.item_min_support)


def refresh_coverage(conn: sqlite3.Connection, requirement_ids: Iterable[str] | None = None) -> None:
    """Recompute coverage from evidence, candidates and reviews: every requirement (one set-based statement),
    or only those given, which is what a review or a single document changes."""
    if requirement_ids is None:
        conn.execute("delete from coverage")
        conn.execute(_coverage_sql(only="", only_requirements=""))
        conn.execute("insert or replace into settings (key, value) values ('coverage_stale', '0')")
        return
    ids = sorted(set(requirement_ids))
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    conn.execute(f"delete from coverage where requirement_id in ({marks})", ids)
    conn.execute(_coverage_sql(only=f"where requirement_id in ({marks})", only_requirements=f"where r.id in ({marks})"),
                 ids * 3)


# The views, in the order they are made (each may read the ones before it).
LIVE_VIEWS = (("current_reviews", CURRENT_REVIEWS_SQL), ("effective_evidence", EFFECTIVE_EVIDENCE_SQL),
              ("matrix", MATRIX_SQL))


def _stale_views(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """The views a database lacks or holds in another definition than today's."""
    present = set(db.view_names())
    return [(name, sql) for name, sql in LIVE_VIEWS
            # create_view writes "CREATE VIEW <name> AS <sql>": the definition is what follows the first " AS "
            if name not in present or db[name].schema.split(" AS ", 1)[-1].strip() != sql.strip()]


def needs_upgrade(db: sqlite_utils.Database) -> bool:
    """Whether opening with `migrate=True` would change the schema: a pending migration or an outdated view."""
    return bool(migrations.pending(db)) or bool(_stale_views(db))


def _upgrade(db: sqlite_utils.Database) -> None:
    migrations.apply(db)
    for name, sql in _stale_views(db):
        db.create_view(name, sql, replace=True)
    if get_setting(db, "coverage_stale", "0") != "0":  # a migration changed what coverage is made from
        refresh_coverage(db.conn)


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
    if migrate and needs_upgrade(db):
        # two processes opening a new database together: the one holding the writer lock migrates, the other
        # finds nothing to do once it gets the lock
        with write_transaction(db.conn):
            _upgrade(db)
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
