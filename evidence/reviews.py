"""Assessor reviews: accept or reject a link, add a missed one, mark a requirement not applicable.

Reviews are keyed by the passage's content hash and the requirement, so they survive re-ingestion and
apply wherever the same text appears; the history is kept, the latest decision counts.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from ingest import clean_text

from .db import is_row_id, refresh_coverage

DECISIONS = ("accept", "reject", "add", "not_applicable", "clear")


class ReviewError(Exception):
    """A review cannot be recorded as asked."""


def record_review(conn: sqlite3.Connection, requirement_id: str, decision: str, reviewer: str,
                  passage_id: int | None = None, comment: str = "", passage_hash: str | None = None) -> int:
    """Store one review and return its id; raises ReviewError with a reason a person can act on. `passage_hash`:
    the text hash of the passage the reviewer read, when a page showed it (see `ReviewError` below)."""
    comment, reviewer = clean_text(comment or ""), clean_text(reviewer or "")
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision '{decision}': use one of {', '.join(DECISIONS)}")
    if not reviewer:
        raise ReviewError("a review needs a logged-in reviewer")
    if not conn.execute("select 1 from requirements where id = ?", [requirement_id]).fetchone():
        raise ReviewError(f"no requirement '{requirement_id}'")
    passage = None
    if decision == "not_applicable":
        if not comment.strip():
            raise ReviewError("say why the requirement does not apply")
    elif passage_id is not None:
        passage = _passage(conn, passage_id, passage_hash)
    elif decision != "clear":  # a clear without a passage withdraws "not applicable"
        raise ReviewError(f"'{decision}' needs a passage")
    if decision == "clear" and not _standing(conn, requirement_id, passage[0] if passage else None):
        # the log keeps decisions: a clear of nothing would be a row that says something happened
        raise ReviewError("no review of this passage for this requirement to clear" if passage
                          else f"'{requirement_id}' is not marked not applicable: nothing to clear")
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    cursor = conn.execute(
        "insert into reviews (passage_hash, requirement_id, decision, comment, reviewer, reviewed_at, passage_id, "
        "document_name, location, passage_text) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [passage[0] if passage else None, requirement_id, decision, comment.strip() or None, reviewer, now,
         passage_id, *(passage[1:] if passage else (None, None, None))])
    # in the caller's transaction, so the decision and its effect land together; a decision on an item also
    # moves the clauses its crosswalk links feed
    related = [r for r, in conn.execute("select related_id from crosswalk where requirement_id = ?", [requirement_id])]
    refresh_coverage(conn, [requirement_id, *related])
    return cursor.lastrowid


def _standing(conn: sqlite3.Connection, requirement_id: str, passage_hash: str | None) -> bool:
    """Whether a decision stands on this passage's text (or, without one, on the requirement) for the requirement."""
    return conn.execute("select 1 from current_reviews where requirement_id = ? and coalesce(passage_hash, '') = ?",
                        [requirement_id, passage_hash or ""]).fetchone() is not None


def _passage(conn: sqlite3.Connection, passage_id: int, passage_hash: str | None) -> tuple:
    """(text hash, document name, location, text) of the passage a review names."""
    passage = conn.execute(
        "select p.text_hash, d.name, p.location, p.text from passages p join documents d on d.id = p.document_id "
        "where p.id = ?", [passage_id]).fetchone() if is_row_id(passage_id) else None
    if passage is None:
        raise ReviewError(f"no passage {passage_id}")
    # a document read again (the watcher, an ingest) may give the same passage id to another text while the
    # page stays open: the decision must land on the text the assessor read, or not at all
    if passage_hash and passage[0] != passage_hash:
        raise ReviewError(f"passage {passage_id} has changed since the page was shown (its document was read "
                          "again): reload the page and review it again")
    return passage
