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
                  passage_id: int | None = None, comment: str = "") -> int:
    """Store one review and return its id; raises ReviewError with a reason a person can act on."""
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
    elif passage_id is None:
        raise ReviewError(f"'{decision}' needs a passage")
    elif not is_row_id(passage_id):
        raise ReviewError(f"no passage {passage_id}")
    else:
        passage = conn.execute(
            "select p.text_hash, d.name, p.location, p.text from passages p join documents d on d.id = p.document_id "
            "where p.id = ?", [passage_id]).fetchone()
        if passage is None:
            raise ReviewError(f"no passage {passage_id}")
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
