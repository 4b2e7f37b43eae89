"""The evidence database's history: sqlite-utils migrations, each as it ran.

Tables, columns, indexes and data changes live here, frozen: a migration is never edited once released, so a
database of any age upgrades the same way. Views are derived, not history: `evidence.db` holds their live
definitions and re-creates any that differ after the migrations have run.
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
    # created the first coverage and matrix views; views are live schema now (db.ensure_views), made after
    # the migrations from today's definitions, so there is nothing left for this step to do
    pass


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
    # (the review views, current_reviews and effective_evidence, are live schema: db.ensure_views)


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
    # filled once the live views exist (open_db refreshes a stale coverage table after migrating)
    db.execute("insert or replace into settings (key, value) values ('coverage_stale', '1')")


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
def m012_assessment_reviews(db: sqlite_utils.Database) -> None:
    # assessors' answers on the assessed frameworks (OGC, mutuality, ACOP, trust behaviours): keyed by requirement
    # id, and party where both organisations score, so they survive re-ingestion; history kept, latest counts.
    # `suggested` keeps what the tool proposed when the assessor decided.
    db.execute("""
        create table assessment_reviews (
          id integer primary key,
          framework text not null,
          requirement_id text not null,
          party text,
          answer text not null,
          suggested text,
          comment text,
          reviewer text not null,
          reviewed_at text not null
        )""")
    db["assessment_reviews"].create_index(["requirement_id", "party"])
    db["assessment_reviews"].create_index(["framework"])


@migrations()
def m013_ocr_confidence(db: sqlite_utils.Database) -> None:
    # Text recognised from a scan carries the recogniser's mean confidence; text read from a text layer has none.
    # Low-confidence text is stored and searchable, never claimed as evidence on its own.
    db["passages"].add_column("ocr_confidence", float)


@migrations()
def m014_evidence_best_first(db: sqlite_utils.Database) -> None:
    # A requirement's links in the order its page lists them (direct before crosswalk, best score first, ties by
    # passage): the page reads its fifty best from here and stops, whatever the requirement's tens of thousands
    # of links. It serves every lookup by requirement the older indexes did, so those go.
    db.execute("create index if not exists idx_evidence_requirement_order "
               "on evidence (requirement_id, via is not null, score desc, passage_id)")
    db.execute("drop index if exists idx_evidence_requirement_via_score")
    db.execute("drop index if exists idx_evidence_requirement_id")
    # ...and its twenty strongest candidates, likewise
    db.execute("create index if not exists idx_candidates_requirement_score on candidates (requirement_id, score desc)")
    db.execute("drop index if exists idx_candidates_requirement_id")
