"""Ingest files into the evidence database: read, keep a copy, embed (cached), map, store.

Every file is stored in one short transaction of its own, after the slow work (reading, embedding) is
done, so a failure or a kill leaves no half-written document and readers are never blocked for long.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlite_utils

from ingest import DOC_TYPE_LABELS, ReadResult, clean_text, is_ignorable
from ingest.batch import DEFAULT_TIMEOUT, read_documents
from mapping import Embedder, MappingConfig, Profiles, build_profiles, map_passages
from standards import Catalogue

from . import copies
from .db import get_setting, refresh_coverage, set_setting, write_transaction

EMBED_BATCH = 512  # passages read before one encoder call: large, length-sorted batches keep the model busy
COVERAGE_EVERY = 60.0  # seconds between coverage refreshes during a long ingestion (always one at the end)
INCREMENTAL_DOCUMENTS = 20  # up to this many documents stored, coverage is refreshed for what they touched only


class IngestError(Exception):
    """A path given to ingest cannot be used."""


@dataclass
class FileOutcome:
    path: Path
    status: str  # ok | partial | failed | skipped | unchanged | removed
    error: str = ""
    passages: int = 0
    evidence: int = 0
    seconds: float = 0.0
    document_id: int | None = None


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> int:
        return sum(o.status == "failed" for o in self.outcomes)

    def summary(self) -> str:
        return f"Processed {self.processed} documents, {self.failed} failed"


OnResult = Callable[[FileOutcome], None]


def sha256_file(path: Path) -> str:
    return file_digest(path)[0]


def file_digest(path: Path) -> tuple[str, int]:
    """The SHA-256 of a file's bytes and how many there were, from one pass over them."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


@dataclass
class Unread:
    """A path given to ingest (or found under one) that is not read, and why, in words."""
    path: Path
    status: str  # failed | skipped
    reason: str


_SPECIAL = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
            (stat.S_ISBLK, "block device"))


def survey(paths: Iterable[str | Path], follow_links: bool = False) -> tuple[list[Path], list[Unread]]:
    """Every file under the given files and folders, recursively (lock and temporary files left out), and every
    path that is not read with the reason: unreadable folders, pipes and devices, link loops, and links out of
    the folder given (not followed unless `follow_links`)."""
    found: list[Path] = []
    unread: list[Unread] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise IngestError(f"no such file or folder: {path}")
        if path.is_dir():
            root = path.resolve()
            files: list[Path] = []
            _walk(path.absolute(), root, follow_links, files, unread, {root})
            found.extend(sorted(files))
        elif not is_ignorable(path):  # a file named on its own is read wherever a link given by name points
            _visit(path.absolute(), None, True, found, unread, set())
    return list(dict.fromkeys(found)), unread


def discover(paths: Iterable[str | Path], follow_links: bool = False) -> list[Path]:
    """Every file under the given files and folders, recursively, lock and temporary files left out."""
    return survey(paths, follow_links)[0]


def _walk(folder: Path, root: Path, follow_links: bool, files: list[Path], unread: list[Unread],
          seen: set[Path]) -> None:
    try:
        with os.scandir(folder) as entries:
            children = sorted(Path(e.path) for e in entries)
    except OSError as exc:  # an unreadable folder is said, not passed over
        unread.append(Unread(folder, "failed", f"cannot read folder: {exc.strerror or exc}"))
        return
    for child in children:
        if not is_ignorable(child):
            _visit(child, root, follow_links, files, unread, seen)


def _visit(path: Path, root: Path | None, follow_links: bool, files: list[Path], unread: list[Unread],
           seen: set[Path]) -> None:
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return unread.append(Unread(path, "skipped", "symbolic link to a missing file"))
        except (RuntimeError, OSError):  # ELOOP, or RuntimeError from pathlib before 3.13
            return unread.append(Unread(path, "skipped", "symbolic link loop"))
        outside = root is not None and target != root and root not in target.parents
        if outside and follow_links and target.is_file():
            return files.append(path)  # kept under the link's name: its row replaces the "not followed" one
        if outside and not follow_links:
            return unread.append(Unread(path, "skipped", f"symbolic link to {stored_path(target)}, outside the "
                                                         "folder: not followed (use --follow-links)"))
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return unread.append(Unread(path, "failed", f"cannot open file: {exc.strerror or exc}"))
    if stat.S_ISDIR(mode):
        if path.is_symlink() and not follow_links:
            return  # a link to a folder inside the tree: its files are found where they really are
        real = path.resolve()
        if real not in seen:  # each folder once, however many links lead to it
            seen.add(real)
            _walk(path, root or real, follow_links, files, unread, seen)
    elif stat.S_ISREG(mode):
        files.append(path.resolve())
    else:
        kind = next((name for test, name in _SPECIAL if test(mode)), "special file")
        unread.append(Unread(path, "skipped", f"not a regular file ({kind})"))


class Pipeline:
    """One relationship's evidence database with its catalogue, model and copies of source files."""

    def __init__(self, db: sqlite_utils.Database, catalogue: Catalogue, embedder: Embedder,
                 files_dir: str | Path, config: MappingConfig | None = None, workers: int = 1,
                 timeout: float = DEFAULT_TIMEOUT):
        self.db, self.catalogue, self.embedder = db, catalogue, embedder
        self.files_dir = Path(files_dir)
        self.config = config or MappingConfig()
        self.workers, self.timeout = workers, timeout
        self._profiles: Profiles | None = None
        self._recent: dict[str, np.ndarray] = {}  # vectors of the batch being stored, to skip a read-back
        self._refreshed = time.monotonic()
        self._touched: set[str] = set()  # requirements whose coverage the documents stored since the last refresh move
        self._stored = 0
        self._stale_at_start = False
        self._sizes: dict[Path, int] = {}  # a file's size counted with the hash that matched its text

    # ------------------------------------------------------------------ catalogue
    @property
    def profiles(self) -> Profiles:
        if self._profiles is None:
            accepted, rejected = self.reviewed_examples()
            self._profiles = build_profiles(self.catalogue, self.embed, accepted, rejected,
                                            model_name=self.embedder.name)
        return self._profiles

    def reviewed_examples(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(requirement, passage text) pairs assessors accepted or added, and those they rejected."""
        # the text is kept with the review: a decision still counts after its document was replaced or removed
        rows = self.db.execute(
            "select distinct requirement_id, passage_text, decision from current_reviews "
            "where decision in ('accept', 'add', 'reject') and passage_text is not null").fetchall()
        return ([(rid, t) for rid, t, d in rows if d != "reject"], [(rid, t) for rid, t, d in rows if d == "reject"])

    def _reviews_stamp(self) -> str:
        row = self.db.execute("select count(*), max(id) from reviews").fetchone()
        return f"{row[0]}-{row[1]}"

    def warm_up(self) -> Profiles:
        """Load the model and embed the requirement profiles now rather than on the first document."""
        return self.profiles

    def sync_catalogue(self) -> bool:
        """Store the catalogue; if it or the model changed since the last run, re-map every passage."""
        # reviews sharpen the profiles, so new decisions re-map too (from cached vectors)
        stamp = f"{self.catalogue.version}:{self.embedder.name}:{self.config_stamp()}:{self._reviews_stamp()}"
        if get_setting(self.db, "catalogue_stamp") == stamp:
            return False
        keep = [r.id for r in self.catalogue]
        marks = ",".join("?" * len(keep))
        with write_transaction(self.db.conn):
            # requirements change in place and each document's links are replaced by its own re-map below,
            # so a live matrix never shows an empty evidence table in between
            for table in ("evidence", "candidates"):
                self.db.execute(f"delete from {table} where requirement_id not in ({marks})", keep)
            self.db.execute(f"delete from requirements where id not in ({marks})", keep)
            self.db["requirements"].upsert_all(self._requirement_rows(), pk="id")
            self.db.execute("delete from crosswalk")
            self.db["crosswalk"].insert_all(
                [{"requirement_id": a, "related_id": b} for a, b in self.catalogue.crosswalk_pairs()],
                pk=("requirement_id", "related_id"), ignore=True)
            set_setting(self.db, "catalogue_stamp", stamp)
            set_setting(self.db, "model", self.embedder.name)
            set_setting(self.db, "item_min_support", str(self.config.item_min_support))
            set_setting(self.db, "item_strong_score", str(self.config.item_strong_score))
        self._profiles = None
        self.remap_all()
        return True

    def config_stamp(self) -> str:
        return hashlib.sha256(json.dumps(self.config.__dict__, sort_keys=True).encode()).hexdigest()[:12]

    def _requirement_rows(self) -> Iterator[dict]:
        for r in self.catalogue:
            yield {"id": r.id, "framework": r.framework, "stage": r.stage,
                   "stage_title": self.catalogue.stage_title(r.framework, r.stage), "title": r.title,
                   "description": r.description, "position": r.position}

    # ------------------------------------------------------------------ embeddings
    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, from the cache where this model has seen the text before."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        cached = {h: self._recent[h] for h in hashes if h in self._recent}
        cached.update(self._cached_vectors(set(hashes) - set(cached)))
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in cached))
        if missing:
            fresh = self.embedder.embed(missing)
            rows = [{"text_hash": text_hash(t), "model": self.embedder.name, "vector": v.astype(np.float32).tobytes()}
                    for t, v in zip(missing, fresh)]
            with write_transaction(self.db.conn):
                self.db["embeddings"].insert_all(rows, pk=("text_hash", "model"), replace=True)
            cached.update({r["text_hash"]: v for r, v in zip(rows, fresh)})
            self._recent.update({r["text_hash"]: v for r, v in zip(rows, fresh)})
        return np.stack([cached[h] for h in hashes]).astype(np.float32)

    def _cached_vectors(self, hashes: set[str]) -> dict[str, np.ndarray]:
        out, items = {}, list(hashes)
        if not items:
            return out
        for start in range(0, len(items), 500):
            chunk = items[start:start + 500]
            sql = (f"select text_hash, vector from embeddings where model = ? "
                   f"and text_hash in ({','.join('?' * len(chunk))})")
            for h, blob in self.db.execute(sql, [self.embedder.name, *chunk]).fetchall():
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    # ------------------------------------------------------------------ ingest
    def ingest(self, paths: Iterable[str | Path], on_result: OnResult | None = None, force: bool = False,
               progress: Callable[[Iterable], Iterable] | None = None, follow_links: bool = False) -> IngestReport:
        """Ingest files and folders; unchanged files are recognised by content hash and not read again. Every path
        that cannot be read is recorded with the reason; links out of a folder are followed only if asked."""
        self.sync_catalogue()
        # left stale by a run that was killed before its refresh: the next refresh must cover everything
        self._stale_at_start = get_setting(self.db, "coverage_stale", "0") != "0"
        files, unread = survey(paths, follow_links)
        files = [f for f in files if not self._is_own_file(f)]
        report = IngestReport()
        for item in unread:
            self._report(report, on_result, self.record_unread(item.path, item.status, item.reason))
        to_read: dict[Path, str | None] = {}
        for path in files:
            outcome, sha = self._triage(path, force)
            if outcome:
                self._report(report, on_result, outcome)
            else:
                to_read[path] = sha
        results = read_documents(list(to_read), workers=self.workers, timeout=self.timeout)
        buffered: list[ReadResult] = []
        for result in (progress(results) if progress else results):
            buffered.append(self._same_as_hashed(result, to_read))
            if sum(len(r.passages) for r in buffered) >= EMBED_BATCH:
                self._store_all(buffered, to_read, report, on_result)
        self._store_all(buffered, to_read, report, on_result)
        self.refresh_coverage_if_stale()
        return report

    def _same_as_hashed(self, result: ReadResult, shas: dict[Path, str | None]) -> ReadResult:
        """Hash, size and text of one moment: a file whose bytes changed between hashing and reading (an editor
        saving meanwhile, unseen by size and mtime) is read once more; if it changes again it is failed, never
        stored as one version's hash with another's text."""
        if result.status not in ("ok", "partial"):
            return result
        path = result.path
        for again in (False, True):
            try:
                sha, size = file_digest(path)
            except OSError as exc:
                shas[path] = None
                return ReadResult(path=path, format=result.format, status="failed",
                                  error=f"cannot open file: {exc.strerror or exc}")
            if sha == shas[path]:
                self._sizes[path] = size
                return result
            if again:
                break
            shas[path] = sha
            result = next(iter(read_documents([path], workers=self.workers, timeout=self.timeout)))
            if result.status not in ("ok", "partial"):
                return result
        shas[path] = None
        return ReadResult(path=path, format=result.format, status="failed",
                          error="file changed while it was read (still being written?)")

    @staticmethod
    def _report(report: IngestReport, on_result: OnResult | None, outcome: FileOutcome) -> None:
        report.outcomes.append(outcome)
        if on_result:
            on_result(outcome)

    def record_unread(self, path: Path, status: str, reason: str) -> FileOutcome:
        """A row for a path that cannot be read, so "Unread files" lists it; once, not a new version every run."""
        row = self.db.execute("select id, status, error, sha256, unread_error from documents where path = ?",
                              [stored_path(path)]).fetchone()
        if row and (row[1:4] == (status, reason, None) or row[4] == reason):
            return FileOutcome(path, status, reason, document_id=row[0])
        fmt = path.suffix.lower().lstrip(".") or ("folder" if status == "failed" and "folder" in reason else "")
        return self.store(ReadResult(path=path, format=fmt, status=status, error=reason), None)

    def refresh_coverage_if_stale(self) -> None:
        """Bring the coverage table up to date after documents were stored (also after a crash mid-batch):
        only the requirements this run touched when it stored a few documents, all of them otherwise."""
        if get_setting(self.db, "coverage_stale", "1") != "0":
            with write_transaction(self.db.conn):
                few = self._stored <= INCREMENTAL_DOCUMENTS and not self._stale_at_start
                refresh_coverage(self.db.conn, self._touched if few else None)
                set_setting(self.db, "coverage_stale", "0")
        self._refreshed = time.monotonic()
        self._touched.clear()
        self._stored = 0
        self._stale_at_start = False

    def _store_all(self, results: list[ReadResult], shas: dict[Path, str | None], report: IngestReport,
                   on_result: OnResult | None) -> None:
        """Embed the passages of several files in one encoder call, then store each file on its own."""
        strings = []
        for r in results:
            if r.status in ("ok", "partial"):
                texts, contexts = self.passage_inputs([p for p in r.passages if p.kind != "comment"],
                                                      r.metadata.get("title", ""), r.metadata.get("doc_type", "other"))
                strings += texts + contexts + [p.context or "" for p in r.passages if p.kind != "comment"]
        self.embed(strings)  # one large, length-sorted batch; store() then finds every vector in memory
        for result in results:
            outcome = self.store(result, shas[result.path])
            report.outcomes.append(outcome)
            if on_result:
                on_result(outcome)
        results.clear()
        self._recent.clear()
        if time.monotonic() - self._refreshed > COVERAGE_EVERY:  # long runs show progress in the matrix
            self.refresh_coverage_if_stale()

    def _is_own_file(self, path: Path) -> bool:
        """The database, its journal and the kept copies are never evidence of themselves."""
        db_file = Path(self.db.conn.execute("pragma database_list").fetchone()[2] or "").resolve()
        return path.name.startswith(db_file.name) and path.parent == db_file.parent or \
            self.files_dir.resolve() in path.parents

    def _triage(self, path: Path, force: bool) -> tuple[FileOutcome | None, str]:
        """Decide before reading: unchanged (same path, same bytes), moved, or to be read."""
        try:
            sha = sha256_file(path)
        except OSError as exc:
            return self.record_unread(path, "failed", f"cannot open file: {exc.strerror or exc}"), ""
        row = self.db.execute("select id, sha256, unread_sha256 from documents where path = ?", [stored_path(path)]).fetchone()
        if row and sha in (row[1], row[2]) and not force:  # the same bytes, read or found unreadable before
            return FileOutcome(path, "unchanged", document_id=row[0]), sha
        moved = self._moved_from(sha) if not row else None
        if moved is not None and not force:
            with write_transaction(self.db.conn):
                self.db["documents"].update(moved, {"path": stored_path(path), "name": display_name(path),
                                                    "family": document_family(display_name(path))})
                self.db.execute("update document_versions set path = ?, name = ? where id = "
                                "(select version_id from documents where id = ?)", [stored_path(path), display_name(path), moved])
            return FileOutcome(path, "unchanged", "moved from an earlier path", document_id=moved), sha
        return None, sha

    def _moved_from(self, sha: str) -> int | None:
        for doc_id, old in self.db.execute("select id, path from documents where sha256 = ?", [sha]).fetchall():
            if not file_path(old).exists():
                return doc_id
        return None

    def store(self, result: ReadResult, sha: str | None) -> FileOutcome:
        """Embed and map the passages, then write the document in one transaction."""
        started = time.monotonic()
        if is_ignorable(result.path):
            return FileOutcome(result.path, "skipped", "lock or temporary file")
        kept = self._keep_readable_version(result, sha)
        if kept is not None:
            return kept
        copy_path = self.keep_copy(result.path, sha) if result.status in ("ok", "partial") else None
        passages = result.passages
        doc_type = result.metadata.get("doc_type", "other")
        links = self._map(passages, result.metadata.get("title", ""), doc_type) if passages else []
        existing = self.db.execute("select id from documents where path = ?", [stored_path(result.path)]).fetchone()
        if existing:
            self._touched.update(self._linked_requirements(existing[0]))
        self._stored += 1
        with write_transaction(self.db.conn):
            doc_id = self._write_document(result, sha, copy_path)
            ids = self._write_passages(doc_id, passages)
            self._touched.update(self._write_links(ids, links))
            set_setting(self.db, "coverage_stale", "1")  # in the same transaction: a crash leaves it set
        return FileOutcome(result.path, result.status, result.error, len(passages),
                           sum(lk.kind == "evidence" for lk in links), time.monotonic() - started, doc_id)

    def _keep_readable_version(self, result: ReadResult, sha: str) -> FileOutcome | None:
        """A newer version that yields nothing (corrupt, half-written, encrypted, emptied) does not replace one
        that was read: the document keeps its passages and evidence, and records the unread version."""
        if result.status in ("ok", "partial"):
            return None
        row = self.db.execute("select id, ingested_at from documents where path = ? and status in ('ok', 'partial')",
                              [stored_path(result.path)]).fetchone()
        if row is None:
            return None
        error = result.error or result.status
        with write_transaction(self.db.conn):
            self.db["documents"].update(row[0], {"unread_sha256": sha, "unread_error": error, "unread_at": _now()})
            self.db["document_versions"].insert({
                "document_id": row[0], "path": stored_path(result.path), "name": display_name(result.path), "sha256": sha,
                "status": result.status, "error": error, "passage_count": 0, "ingested_at": _now()})
        return FileOutcome(result.path, result.status, f"{error}; the version read on {row[1][:10]} still counts",
                           document_id=row[0])

    def keep_copy(self, path: Path, sha: str) -> Path | None:
        """A content-addressed copy, so evidence links survive edits, renames and deletions."""
        target = copies.copy_path(self.files_dir, copies.copy_name(sha, path))
        if target is None:
            return None
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".tmp")
            try:
                shutil.copyfile(path, tmp)
            except OSError:
                return None
            if sha256_file(tmp) != sha:  # the file changed after it was hashed: keep nothing wrong
                tmp.unlink(missing_ok=True)
                return None
            tmp.replace(target)
        return target

    # ------------------------------------------------------------------ mapping
    def passage_inputs(self, passages, title: str, doc_type: str) -> tuple[list[str], list[str]]:
        """(text to embed, context to embed) for each passage; the context carries where it sits."""
        label = DOC_TYPE_LABELS.get(doc_type, doc_type)
        texts = [p.text for p in passages]
        contexts = [" | ".join(x for x in (label, title, p.context) if x) for p in passages]
        return texts, contexts

    def _map(self, passages, title: str, doc_type: str):
        mappable = [i for i, p in enumerate(passages) if p.kind != "comment"]
        if not mappable:
            return []
        chosen = [passages[i] for i in mappable]
        texts, contexts = self.passage_inputs(chosen, title, doc_type)
        raw_contexts = [p.context or "" for p in chosen]
        n = len(texts)
        every = self.embed(texts + contexts + raw_contexts)  # each distinct string once: the cache sees to that
        vectors, context_vectors, raw_context_vectors = every[:n], every[n:2 * n], every[2 * n:]
        links = map_passages(self.profiles, vectors, context_vectors, [doc_type] * len(chosen), texts, self.config,
                             kinds=[p.kind for p in chosen], titles=[title] * len(chosen),
                             openers=[k < 2 for k in range(n)], contexts=raw_contexts,
                             raw_context_vectors=raw_context_vectors)
        for link in links:
            link.passage = mappable[link.passage]
        return links

    def remap_all(self) -> int:
        """Re-map every stored passage from cached embeddings (after a catalogue or settings change)."""
        docs = self.db.execute("select id, title, doc_type from documents where status in ('ok','partial')").fetchall()
        total = 0
        if docs:
            self.warm_up()  # the slow part, before any writer lock is held
        for doc_id, title, doc_type in docs:
            # read in the write transaction: another writer may replace the document meanwhile
            with write_transaction(self.db.conn):
                rows = list(self.db.query("select * from passages where document_id = ? order by id", [doc_id]))
                links = self._map([_Stored(r) for r in rows], title or "", doc_type or "other")
                self.db.execute("delete from evidence where passage_id in (select id from passages where document_id = ?)", [doc_id])
                self.db.execute("delete from candidates where passage_id in (select id from passages where document_id = ?)", [doc_id])
                self._write_links([r["id"] for r in rows], links)
            total += len(links)
        with write_transaction(self.db.conn):
            refresh_coverage(self.db.conn)
        return total

    # ------------------------------------------------------------------ writing
    def _write_document(self, result: ReadResult, sha: str, copy_path: Path | None) -> int:
        existing = self.db.execute("select id from documents where path = ?", [stored_path(result.path)]).fetchone()
        if existing:
            self._archive(existing[0], "replaced_at")
            self._delete_document(existing[0])
        meta = result.metadata
        row = {
            "path": stored_path(result.path), "name": display_name(result.path), "sha256": sha, "format": result.format,
            "doc_type": meta.get("doc_type", "other"), "title": meta.get("title") or clean_text(result.path.stem),
            "author": meta.get("author"), "created": meta.get("created"), "modified": meta.get("modified"),
            "document_date": meta.get("modified") or meta.get("created"),
            "status": result.status, "error": result.error or None,
            "size": self._sizes.pop(result.path, None) or _size(result.path),
            "passage_count": len(result.passages),
            "metadata": json.dumps({k: v for k, v in meta.items() if k not in ("title", "author", "created", "modified")}),
            "ingested_at": _now(), "family": document_family(display_name(result.path)),
            "copy_name": copy_path.name if copy_path else None,  # what the source link serves
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

    def remove(self, path: str | Path) -> FileOutcome:
        """A deleted file: its evidence stops counting now and stays in history with the time of removal."""
        started = time.monotonic()
        path = Path(path)
        row = self.db.execute("select id, passage_count from documents where path = ?", [stored_path(path)]).fetchone()
        if row is None:
            return FileOutcome(path, "unchanged", "not in the database")
        touched = self._linked_requirements(row[0])
        with write_transaction(self.db.conn):
            self._archive(row[0], "removed_at")
            self._delete_document(row[0])
            refresh_coverage(self.db.conn, touched)
        return FileOutcome(path, "removed", passages=row[1] or 0, seconds=time.monotonic() - started, document_id=row[0])

    def _linked_requirements(self, doc_id: int) -> set[str]:
        """Requirements a document's links (evidence or candidates) point to: what its change moves in coverage."""
        return {r for r, in self.db.execute(
            "select requirement_id from evidence e join passages p on p.id = e.passage_id where p.document_id = ? "
            "union select requirement_id from candidates c join passages p on p.id = c.passage_id "
            "where p.document_id = ?", [doc_id] * 2)}

    def removed_under(self, folder: str | Path) -> list[Path]:
        """Documents recorded under a folder whose files are gone (deleted while nobody watched)."""
        prefix = stored_path(Path(folder).resolve()).rstrip("/") + "/"
        rows = self.db.execute("select path from documents where substr(path, 1, ?) = ?", [len(prefix), prefix])
        # lexists: a dangling link recorded as skipped is still there, not removed
        return [file_path(p) for p, in rows if not os.path.lexists(file_path(p))]

    def _delete_document(self, doc_id: int) -> None:
        sub = "select id from passages where document_id = ?"
        self.db.execute(f"delete from evidence where passage_id in ({sub})", [doc_id])
        self.db.execute(f"delete from candidates where passage_id in ({sub})", [doc_id])
        self.db.execute("delete from passages where document_id = ?", [doc_id])
        self.db.execute("delete from documents where id = ?", [doc_id])

    def _write_passages(self, doc_id: int, passages) -> list[int]:
        ids = []
        table = self.db["passages"]
        for p in passages:
            ids.append(table.insert({
                "document_id": doc_id, "text": p.text, "location": p.location, "context": p.context,
                "kind": p.kind, "page": p.page, "sheet": p.sheet, "row": p.row, "text_hash": text_hash(p.text),
            }).last_pk)
        return ids

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
        evidence += self._crosswalk_links(evidence)
        direct = {(e["passage_id"], e["requirement_id"]) for e in evidence}
        candidates = [c for c in candidates if (c["passage_id"], c["requirement_id"]) not in direct]
        self.db["evidence"].insert_all(evidence, pk=("passage_id", "requirement_id"), ignore=True)
        self.db["candidates"].insert_all(candidates, pk=("passage_id", "requirement_id"), ignore=True)
        return {row["requirement_id"] for row in evidence + candidates}

    def _crosswalk_links(self, evidence: list[dict]) -> list[dict]:
        """Evidence of a BS 11000 item supports its crosswalk clauses; say so in `via`, give no rank."""
        direct = {(e["passage_id"], e["requirement_id"]) for e in evidence}
        extra: dict[tuple, dict] = {}
        for e in evidence:
            requirement = self.catalogue.requirements.get(e["requirement_id"])
            for target in requirement.crosswalk if requirement else ():
                key = (e["passage_id"], target)
                if key in direct or (key in extra and extra[key]["score"] >= e["score"]):
                    continue
                why = json.dumps({"crosswalk_from": e["requirement_id"]})
                extra[key] = {"passage_id": e["passage_id"], "requirement_id": target, "score": e["score"],
                              "rank": None, "via": e["requirement_id"], "why": why}
        return list(extra.values())


class _Stored:
    """A stored passage row seen through the reader's Passage attributes."""

    def __init__(self, row: dict):
        self.text, self.context, self.kind = row["text"], row["context"] or "", row["kind"]


_VERSION_MARKS = re.compile(
    r"\b(v|ver|version|rev|revision|issue)\s*\d+(\.\d+)*\b|\b\d{4}[-_.]\d{1,2}([-_.]\d{1,2})?\b|"
    r"\b\d{1,2}[-_.]\d{1,2}[-_.]\d{2,4}\b|\b(19|20)\d{2}( \d{1,2}){0,2}\b|\b(draft|final|signed|updated|copy|latest)\b|\(\d+\)",
    re.I)


def stored_path(path: Path) -> str:
    """A path as the database keeps it: itself when its name is UTF-8 (as nearly all are), otherwise with each
    byte that is not written \\xe9, which SQLite can store and `file_path` turns back into the path."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


_ESCAPED_BYTE = re.compile(rb"\\x([0-9a-f]{2})")


def file_path(stored: str) -> Path:
    """The file a stored path names: the path itself, or the one with the bytes its \\xe9 escapes stand for."""
    path = Path(stored)
    if "\\x" not in stored or path.exists():  # a name that really holds a backslash is found as it is
        return path
    return Path(os.fsdecode(_ESCAPED_BYTE.sub(lambda m: bytes([int(m.group(1), 16)]), os.fsencode(stored))))


def display_name(path: Path) -> str:
    """A file's name as stored and shown; the path keeps the raw name, so the file is still found."""
    return clean_text(path.name)


def document_family(name: str) -> str:
    """What a document's name is without versions and dates: 'RMP v4.docx' and 'RMP v3.docx' share 'rmp'."""
    stem = Path(name).stem.lower().replace("_", " ")
    stem = re.sub(r"[\-.]+", " ", _VERSION_MARKS.sub(" ", stem))
    return " ".join(stem.split()) or Path(name).stem.lower()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None

