"""What changed between two versions of one document: passages added and removed, requirements gained and lost.

Versions come from document_versions; the current one reads the live tables, earlier ones the history tables
the pipeline fills before it replaces a document.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from .db import is_row_id


class HistoryError(Exception):
    """The versions asked for cannot be compared."""


@dataclass
class VersionDiff:
    document_id: int
    name: str
    old: dict  # the document_versions row compared from
    new: dict  # and to
    added: list[dict] = field(default_factory=list)  # passages only in the new version: text, location
    removed: list[dict] = field(default_factory=list)
    unchanged: int = 0
    gained: list[str] = field(default_factory=list)  # requirements evidenced directly by the new version only
    lost: list[str] = field(default_factory=list)


def diff_versions(conn: sqlite3.Connection, document_id: int, old_id: int | None = None,
                  new_id: int | None = None) -> VersionDiff:
    """Compare two readable versions of a document; by default the current one with the one before it."""
    versions = _versions(conn, document_id)
    current = conn.execute("select version_id from documents where id = ?", [document_id]).fetchone()
    new = _pick(versions, new_id if new_id is not None else (current[0] if current else None), "new")
    readable_before = [v for v in versions if v["id"] < new["id"] and v["status"] in ("ok", "partial")]
    if old_id is None and not readable_before:
        raise HistoryError(f"document {document_id} has no earlier readable version to compare with")
    old = _pick(versions, old_id if old_id is not None else readable_before[-1]["id"], "old")
    live = current[0] if current else None
    before, after = _passages(conn, document_id, old["id"], live), _passages(conn, document_id, new["id"], live)
    diff = VersionDiff(document_id, new["name"], old, new)
    diff.added = [p for h, p in after.items() if h not in before]
    diff.removed = [p for h, p in before.items() if h not in after]
    diff.unchanged = len(after.keys() & before.keys())
    was, now = _requirements(conn, document_id, old["id"], live), _requirements(conn, document_id, new["id"], live)
    diff.gained, diff.lost = sorted(now - was), sorted(was - now)
    return diff


def find_document(conn: sqlite3.Connection, name_or_id: str) -> int:
    """A document's id from its id, or its file name (current or removed)."""
    if name_or_id.isdigit():
        return int(name_or_id)
    rows = conn.execute("select distinct document_id from document_versions where name = ?", [name_or_id]).fetchall()
    if len(rows) != 1:
        raise HistoryError(f"no document named '{name_or_id}'" if not rows else
                           f"{len(rows)} documents are named '{name_or_id}': give the id (see `evidence documents`)")
    return rows[0][0]


def _versions(conn, document_id: int) -> list[dict]:
    if not is_row_id(document_id):
        raise HistoryError(f"no document {document_id}")
    cursor = conn.execute("select id, name, status, error, passage_count, ingested_at, replaced_at, removed_at "
                          "from document_versions where document_id = ? order by id", [document_id])
    columns = [c[0] for c in cursor.description]
    versions = [dict(zip(columns, row)) for row in cursor.fetchall()]
    if not versions:
        raise HistoryError(f"no document {document_id}")
    return versions


def _pick(versions: list[dict], version_id: int | None, which: str) -> dict:
    for version in versions:
        if version["id"] == version_id:
            if version["status"] not in ("ok", "partial"):
                raise HistoryError(f"version {version_id} could not be read, so it has no passages to compare")
            return version
    raise HistoryError(f"the {which} version {version_id} is not a version of this document")


def _passages(conn, document_id: int, version_id: int, live: int | None) -> dict[str, dict]:
    """text hash -> passage, in reading order."""
    if version_id == live:
        sql, args = "select text_hash, text, location from passages where document_id = ? order by id", [document_id]
    else:
        sql, args = "select text_hash, text, location from passage_history where version_id = ? order by seq", [version_id]
    return {h: {"text": t, "location": loc} for h, t, loc in conn.execute(sql, args).fetchall()}


def _requirements(conn, document_id: int, version_id: int, live: int | None) -> set[str]:
    if version_id == live:
        sql = ("select distinct e.requirement_id from evidence e join passages p on p.id = e.passage_id "
               "where p.document_id = ? and e.via is null")
        return {r for r, in conn.execute(sql, [document_id])}
    sql = "select distinct requirement_id from evidence_history where version_id = ? and via is null"
    return {r for r, in conn.execute(sql, [version_id])}
