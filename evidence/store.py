"""The document store: how a document, its versions, passages and links are written to and removed from the
evidence database.

Each public method that writes owns one short transaction, so a failure or a kill leaves no half-written
document and readers are never blocked for long. Before the current tables let go of a version, its
passages and evidence are archived in the history tables (`document_versions`, `passage_history`,
`evidence_history`). Evidence of a BS 11000 item is written with its crosswalk links here, and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from ingest import ReadResult, clean_text
from mapping.scoring import Why
from standards import Catalogue

from .db import refresh_coverage, set_setting, write_transaction
from .embeddings import text_hash
from .files import display_name, document_family, file_path, stored_path

_LINKED_TABLES = ("evidence", "candidates")
ATTACHMENT_MARK = "#attachment/"  # an attachment's path: its email's path, this, and its own name


class DocumentStore:
    """The documents of one evidence database, with their history, passages and links."""

    def __init__(self, db: sqlite_utils.Database, catalogue: Catalogue):
        self.db, self.catalogue = db, catalogue
        self._targets_of: dict[str, list[str]] | None = None  # crosswalk targets of `_targets_for`
        self._targets_for: Catalogue | None = None

    # ------------------------------------------------------------------ reading
    def lookup(self, path: Path, columns: str = "id") -> tuple | None:
        """Columns of the document recorded at a path, None if there is none."""
        return self.db.execute(f"select {columns} from documents where path = ?", [stored_path(path)]).fetchone()

    def readable_at(self, path: Path) -> tuple | None:
        """(id, ingested_at) of the document at a path if a version of it was read."""
        return self.db.execute("select id, ingested_at from documents where path = ? and status in ('ok', 'partial')",
                               [stored_path(path)]).fetchone()

    def moved_from(self, sha: str) -> int | None:
        """The document with these bytes whose file is gone from its recorded path: the same file, moved. An
        attachment has no file of its own: the same bytes saved beside its email are a document of their own."""
        for doc_id, old in self.db.execute("select id, path from documents where sha256 = ? and parent_id is null",
                                           [sha]).fetchall():
            if not file_path(old).exists():
                return doc_id
        return None

    def removed_under(self, folder: str | Path) -> list[Path]:
        """Documents recorded under a folder whose files are gone (deleted while nobody watched)."""
        prefix = stored_path(Path(folder).resolve()).rstrip("/") + "/"
        # attachments have no file of their own: they go when their email goes
        rows = self.db.execute("select path from documents where substr(path, 1, ?) = ? and parent_id is null",
                               [len(prefix), prefix])
        return [file_path(p) for p, in rows if _gone(file_path(p))]

    def linked_requirements(self, doc_id: int) -> set[str]:
        """Requirements a document's links (evidence or candidates) or assessors' decisions on its passages point to:
        what its change moves in coverage (an item only an assessor's added link supports falls with its document)."""
        return {r for r, in self.db.execute(
            "select requirement_id from evidence e join passages p on p.id = e.passage_id where p.document_id = ? "
            "union select requirement_id from candidates c join passages p on p.id = c.passage_id "
            "where p.document_id = ? "
            "union select r.requirement_id from current_reviews r join passages p on p.text_hash = r.passage_hash "
            "where p.document_id = ?", [doc_id] * 3)}

    def readable_documents(self) -> list[tuple[int, str | None, str | None]]:
        """(id, title, doc_type) of every document with passages."""
        return self.db.execute("select id, title, doc_type from documents where status in ('ok','partial')").fetchall()

    # ------------------------------------------------------------------ writing, one transaction each
    def write(self, result: ReadResult, sha: str | None, copy_name: str | None, size: int | None,
              links: list, parent_id: int | None = None) -> tuple[int, set[str]]:
        """A document with its new version, passages and links (the version it replaces archived first);
        returns its id and the requirements its links point to. `parent_id`: the email an attachment came in."""
        with write_transaction(self.db.conn):
            doc_id = self._write_document(result, sha, copy_name, size, parent_id)
            ids = self._write_passages(doc_id, result.passages)
            touched = self._write_links(ids, links)
            set_setting(self.db, "coverage_stale", "1")  # in the same transaction: a crash leaves it set
        return doc_id, touched

    def record_unread_version(self, doc_id: int, result: ReadResult, sha: str | None, error: str) -> None:
        """A newer version that could not be read, kept beside the version that still counts."""
        with write_transaction(self.db.conn):
            self.db["documents"].update(doc_id, {"unread_sha256": sha, "unread_error": error, "unread_at": _now()})
            self.db["document_versions"].insert({
                "document_id": doc_id, "path": stored_path(result.path), "name": display_name(result.path),
                "sha256": sha, "status": result.status, "error": error, "passage_count": 0, "ingested_at": _now()})

    def clear_unread(self, doc_id: int) -> None:
        """The note of a newer version that could not be read, ended: the file is the version read again."""
        with write_transaction(self.db.conn):
            self.db["documents"].update(doc_id, {"unread_sha256": None, "unread_error": None, "unread_at": None})

    def attachments(self, doc_id: int) -> list[tuple[int, str]]:
        """(id, path) of the documents that came attached to this one."""
        return self.db.execute("select id, path from documents where parent_id = ? order by id", [doc_id]).fetchall()

    def move(self, doc_id: int, path: Path) -> None:
        """The same bytes found at a new path: the document and its current version follow them, and so do the
        paths of its attachments."""
        old = self.db.execute("select path from documents where id = ?", [doc_id]).fetchone()[0]
        with write_transaction(self.db.conn):
            self._move_attachments(doc_id, old, stored_path(path))
            self.db["documents"].update(doc_id, {"path": stored_path(path), "name": display_name(path),
                                                 "family": document_family(display_name(path))})
            self.db.execute("update document_versions set path = ?, name = ? where id = "
                            "(select version_id from documents where id = ?)",
                            [stored_path(path), display_name(path), doc_id])

    def _move_attachments(self, doc_id: int, old: str, new: str) -> None:
        for child_id, child_path in self.attachments(doc_id):
            if child_path.startswith(old + ATTACHMENT_MARK):
                moved = new + child_path[len(old):]
                self._move_attachments(child_id, child_path, moved)
                self.db["documents"].update(child_id, {"path": moved})
                self.db.execute("update document_versions set path = ? where id = "
                                "(select version_id from documents where id = ?)", [moved, child_id])

    def remove(self, doc_id: int) -> None:
        """A deleted file: its evidence stops counting now and stays in history with the time of removal; the
        attachments it brought go with it."""
        for child_id, _ in self.attachments(doc_id):
            self.remove(child_id)
        touched = self.linked_requirements(doc_id)
        with write_transaction(self.db.conn):
            self._archive(doc_id, "removed_at")
            self._delete(doc_id)
            refresh_coverage(self.db.conn, touched)

    def relink(self, doc_id: int, links_for: Callable[[list[dict]], list]) -> int:
        """Replace a document's links by those `links_for` makes from its stored passage rows; returns how many."""
        # read in the write transaction: another writer may replace the document meanwhile
        with write_transaction(self.db.conn):
            rows = list(self.db.query("select * from passages where document_id = ? order by id", [doc_id]))
            links = links_for(rows)
            self._delete_links(doc_id)
            self._write_links([r["id"] for r in rows], links)
        return len(links)

    # ------------------------------------------------------------------ inside a transaction
    def _write_document(self, result: ReadResult, sha: str | None, copy_name: str | None, size: int | None,
                        parent_id: int | None = None) -> int:
        existing = self.lookup(result.path)
        if existing:
            self._archive(existing[0], "replaced_at")
            self._delete(existing[0])
        meta = result.metadata
        row = {
            "path": stored_path(result.path), "name": display_name(result.path), "sha256": sha, "format": result.format,
            "doc_type": meta.get("doc_type", "other"), "title": meta.get("title") or clean_text(result.path.stem),
            "author": meta.get("author"), "created": meta.get("created"), "modified": meta.get("modified"),
            "document_date": meta.get("modified") or meta.get("created"),
            "status": result.status, "error": result.error or None,
            "size": size,
            "passage_count": len(result.passages),
            "metadata": json.dumps({k: v for k, v in meta.items() if k not in ("title", "author", "created", "modified")}),
            "ingested_at": _now(), "family": document_family(display_name(result.path)),
            "copy_name": copy_name,  # what the source link serves
            "parent_id": parent_id,
        }
        # a new document never takes an id that history already gives to another one
        row["id"] = existing[0] if existing else self.db.execute(
            "select max(coalesce((select max(id) from documents), 0), "
            "coalesce((select max(document_id) from document_versions), 0)) + 1").fetchone()[0]
        doc_id = self.db["documents"].insert(row, pk="id").last_pk
        version_id = self.db["document_versions"].insert({
            "document_id": doc_id, "path": row["path"], "name": row["name"], "sha256": sha, "status": row["status"],
            "error": row["error"], "passage_count": row["passage_count"], "document_date": row["document_date"],
            "ingested_at": row["ingested_at"]}).last_pk
        self.db["documents"].update(doc_id, {"version_id": version_id})
        return doc_id

    def _archive(self, doc_id: int, when_column: str) -> None:
        """Keep a version's passages and evidence as history before the current tables let go of them."""
        version_id = self.db.execute("select version_id from documents where id = ?", [doc_id]).fetchone()[0]
        if version_id is None:
            return
        seq = {}
        passages = []
        for n, (pid, text, location, thash) in enumerate(self.db.execute(
                "select id, text, location, text_hash from passages where document_id = ? order by id", [doc_id]), 1):
            seq[pid] = n
            passages.append({"version_id": version_id, "seq": n, "text": text, "location": location, "text_hash": thash})
        links = [{"version_id": version_id, "seq": seq[pid], "requirement_id": rid, "score": score, "rank": rank, "via": via}
                 for pid, rid, score, rank, via in self.db.execute(
                     "select e.passage_id, e.requirement_id, e.score, e.rank, e.via from evidence e "
                     "join passages p on p.id = e.passage_id where p.document_id = ?", [doc_id])]
        self.db["passage_history"].insert_all(passages, pk=("version_id", "seq"), replace=True)
        self.db["evidence_history"].insert_all(links, pk=("version_id", "seq", "requirement_id"), replace=True)
        self.db["document_versions"].update(version_id, {when_column: _now(), "evidence_count": len(links)})
        # unreadable versions that came in between go with it
        self.db.execute(f"update document_versions set {when_column} = ? where document_id = ? and id > ? "
                        f"and replaced_at is null and removed_at is null", [_now(), doc_id, version_id])

    def _delete(self, doc_id: int) -> None:
        self._delete_links(doc_id)
        self.db.execute("delete from passages where document_id = ?", [doc_id])
        self.db.execute("delete from documents where id = ?", [doc_id])

    def _delete_links(self, doc_id: int) -> None:
        for table in _LINKED_TABLES:
            self.db.execute(f"delete from {table} where passage_id in "
                            "(select id from passages where document_id = ?)", [doc_id])

    def _write_passages(self, doc_id: int, passages) -> list[int]:
        # the ids SQLite would give one insert at a time (inside the write transaction nobody else inserts),
        # written in a few multi-row statements instead of one statement per passage
        first = self.db.execute("select coalesce(max(id), 0) + 1 from passages").fetchone()[0]
        rows = [{
            "id": first + n, "document_id": doc_id, "text": p.text, "location": p.location, "context": p.context,
            "kind": p.kind, "page": p.page, "sheet": p.sheet, "row": p.row, "text_hash": text_hash(p.text),
            "ocr_confidence": p.ocr_confidence,
        } for n, p in enumerate(passages)]
        self.db["passages"].insert_all(rows, pk="id")
        return [row["id"] for row in rows]

    def _write_links(self, passage_ids: list[int], links) -> set[str]:
        """Store evidence (with its crosswalk links) and candidates; returns the requirements written to."""
        evidence, candidates = [], []
        for link in links:
            pid = passage_ids[link.passage]
            row = {"passage_id": pid, "requirement_id": link.requirement_id, "score": round(link.score, 4),
                   "why": json.dumps(link.why)}
            if link.kind == "evidence":
                evidence.append({**row, "rank": link.rank, "via": None})
            else:
                candidates.append(row)
        carried, offered = self._crosswalk_links(evidence)
        evidence += carried
        candidates += offered
        direct = {(e["passage_id"], e["requirement_id"]) for e in evidence}
        candidates = [c for c in candidates if (c["passage_id"], c["requirement_id"]) not in direct]
        self.db["evidence"].insert_all(evidence, pk=("passage_id", "requirement_id"), ignore=True)
        self.db["candidates"].insert_all(candidates, pk=("passage_id", "requirement_id"), ignore=True)
        return {row["requirement_id"] for row in evidence + candidates}

    def _crosswalk_targets(self) -> dict[str, list[str]]:
        if self._targets_for is not self.catalogue:  # the catalogue is replaced, never changed in place
            self._targets_of, self._targets_for = self.catalogue.crosswalk_targets(), self.catalogue
        return self._targets_of

    def _crosswalk_links(self, evidence: list[dict]) -> tuple[list[dict], list[dict]]:
        """(evidence, candidates) the crosswalk adds. Evidence of a BS 11000 item supports its crosswalk clauses:
        evidence for them, saying so in `via`, with no rank. For a framework opted into, it is offered, not
        claimed: a candidate with the reason, because its questions ask more than the item they overlap (an
        OGC gate question is not answered by every passage about the joint risk register)."""
        direct = {(e["passage_id"], e["requirement_id"]) for e in evidence}
        extra: dict[tuple, dict] = {}
        targets = self._crosswalk_targets()
        for e in evidence:
            for target in targets.get(e["requirement_id"], ()):
                key = (e["passage_id"], target)
                if key in direct or (key in extra and extra[key]["score"] >= e["score"]):
                    continue
                why = json.dumps({Why.CROSSWALK_FROM: e["requirement_id"]})
                extra[key] = {"passage_id": e["passage_id"], "requirement_id": target, "score": e["score"],
                              "rank": None, "via": e["requirement_id"], "why": why}
        assessed = {fw.id for fw in self.catalogue.frameworks.values() if fw.default}
        carried = [x for x in extra.values() if self.catalogue.requirements[x["requirement_id"]].framework in assessed]
        offered = [{k: x[k] for k in ("passage_id", "requirement_id", "score", "why")}
                   for x in extra.values() if self.catalogue.requirements[x["requirement_id"]].framework not in assessed]
        return carried, offered


def _gone(path: Path) -> bool:
    """Nothing at the path any more. lstat: a dangling link recorded as skipped is still there. A path that cannot
    be looked at (its folder's permissions taken away) is not gone: its document keeps counting, not retired on a
    guess."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
