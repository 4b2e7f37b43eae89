"""What the command line lists, as rows: requirements without evidence, and documents with their state.

The CLI formats these rows and nothing else; the queries live here, beside the store they read.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class Gap(NamedTuple):
    requirement_id: str
    status: str  # gap | weak
    title: str


class DocumentLine(NamedTuple):
    id: int
    name: str
    status: str
    doc_type: str | None
    passage_count: int | None
    error: str | None
    unread_error: str | None  # a newer version that could not be read, while this one still counts


def gaps(conn: sqlite3.Connection, framework: str | None = None, weak: bool = True) -> list[Gap]:
    """Requirements without evidence (and, with `weak`, those whose evidence is not enough), in catalogue order."""
    statuses = ("gap", "weak") if weak else ("gap",)
    rows = conn.execute(
        f"select requirement_id, status, title from coverage where status in ({','.join('?' * len(statuses))}) "
        "and (? is null or framework = ?) order by framework, position", [*statuses, framework, framework])
    return [Gap(*row) for row in rows.fetchall()]


def documents(conn: sqlite3.Connection) -> list[DocumentLine]:
    """Every document with its status, type, passage count and errors, by name."""
    rows = conn.execute("select id, name, status, doc_type, passage_count, error, unread_error from documents "
                        "order by name")
    return [DocumentLine(*row) for row in rows.fetchall()]
