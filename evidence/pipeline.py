"""Ingest files into the evidence database: survey, read, keep a copy, embed (cached), map, store.

`Pipeline` is the orchestrator; each part it drives can be read on its own:

    files.py           which files a path holds, their hashes, and their names as stored
    embeddings.py      the embedding cache (content hash + model), one encoder call per batch
    catalogue_sync.py  requirement profiles, mapping passages onto them, re-mapping on a catalogue change
    store.py           documents, versions, passages and links, one transaction per write

Every file is stored in one short transaction of its own, after the slow work (reading, embedding) is
done, so a failure or a kill leaves no half-written document and readers are never blocked for long.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import sqlite_utils

from ingest import Attachment, ReadResult, infer_doc_type, is_ignorable, ocr, reader_for
from ingest.batch import DEFAULT_TIMEOUT, read_documents
from mapping import Embedder, MappingConfig, Profiles
from standards import Catalogue

from . import catalogue_sync, copies
from .catalogue_sync import PassageMapper
from .db import get_setting, refresh_coverage, set_setting, write_transaction
from .embeddings import EmbeddingCache, SharedVectors, default_shared_path, text_hash
from .files import (
    IngestError,
    Unread,
    discover,
    display_name,
    document_family,
    file_digest,
    file_path,
    sha256_file,
    stored_path,
    survey,
)
from .store import ATTACHMENT_MARK, DocumentStore

# names tests and tools import from here
__all__ = ["Pipeline", "FileOutcome", "IngestReport", "IngestError", "Unread", "survey", "discover", "sha256_file",
           "file_digest", "stored_path", "file_path", "display_name", "document_family", "text_hash"]

EMBED_BATCH = 512  # passages read before one encoder call: large, length-sorted batches keep the model busy
COVERAGE_EVERY = 60.0  # seconds between coverage refreshes during a long ingestion (always one at the end)
INCREMENTAL_DOCUMENTS = 20  # up to this many documents stored, coverage is refreshed for what they touched only
_RECORDED = "id, sha256, unread_sha256, unread_error"  # what `_unchanged` compares a file's bytes with
MAX_ATTACHMENT_DEPTH = 3  # an attachment of an attachment of an attachment is read; one level deeper is not


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


def _empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False  # unreadable: said by the scan; removed_under keeps what it cannot look at


class _CoverageDebt:
    """What the documents stored since the last coverage refresh owe it: which requirements they moved, how
    many they were, and whether a killed run left the whole table stale."""

    def __init__(self):
        self.refreshed = time.monotonic()
        self.touched: set[str] = set()
        self.stored = 0
        self.stale_at_start = False

    def scope(self) -> set[str] | None:
        """The requirements to refresh: those touched when few documents were stored, None for all."""
        few = self.stored <= INCREMENTAL_DOCUMENTS and not self.stale_at_start
        return self.touched if few else None

    def paid(self) -> None:
        self.refreshed = time.monotonic()
        self.touched.clear()
        self.stored = 0
        self.stale_at_start = False

    def due(self) -> bool:
        return time.monotonic() - self.refreshed > COVERAGE_EVERY  # long runs show progress in the matrix


class Pipeline:
    """One relationship's evidence database with its catalogue, model and copies of source files."""

    def __init__(self, db: sqlite_utils.Database, catalogue: Catalogue, embedder: Embedder,
                 files_dir: str | Path, config: MappingConfig | None = None, workers: int = 1,
                 timeout: float = DEFAULT_TIMEOUT):
        self.db, self.catalogue, self.embedder = db, catalogue, embedder
        self.files_dir = Path(files_dir)
        self.config = config or MappingConfig()
        self.workers, self.timeout = workers, timeout
        self.embeddings = EmbeddingCache(db, embedder, SharedVectors(default_shared_path()))
        self.documents = DocumentStore(db, catalogue)
        self.mapper = PassageMapper(db, catalogue, self.embeddings, self.config)
        self._coverage = _CoverageDebt()
        self._sizes: dict[Path, int] = {}  # a file's size counted with the hash that matched its text
        self._force = False  # the ingest in progress reads everything again, attachments too
        # recognised (OCR) pages are cached beside the kept copies: a page whose image has not changed is never
        # recognised twice, also by the reader processes, which inherit the setting
        ocr.set_cache_dir(self.files_dir / "ocr")

    # ------------------------------------------------------------------ catalogue and embeddings
    @property
    def profiles(self) -> Profiles:
        return self.mapper.profiles

    def reviewed_examples(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(requirement, passage text) pairs assessors accepted or added, and those they rejected."""
        return self.mapper.reviewed_examples()

    def warm_up(self) -> Profiles:
        """Load the model, run it once and build the requirement profiles now rather than on the first document
        (the profiles' vectors usually come from a cache, so building them no longer loads the model)."""
        self.embedder.embed(["The joint management team met."])  # not cached: only the model's start-up matters
        return self.profiles

    def sync_catalogue(self) -> bool:
        """Store the catalogue; if it or the model changed since the last run, re-map every passage."""
        return catalogue_sync.sync_catalogue(self.mapper, self.documents)

    def remap_all(self) -> int:
        """Re-map every stored passage from cached embeddings (after a catalogue or settings change)."""
        return catalogue_sync.remap_all(self.mapper, self.documents)

    def config_stamp(self) -> str:
        return catalogue_sync.config_stamp(self.config)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, from the cache where this model has seen the text before."""
        return self.embeddings.embed(texts)

    # ------------------------------------------------------------------ ingest
    def ingest(self, paths: Iterable[str | Path], on_result: OnResult | None = None, force: bool = False,
               progress: Callable[[Iterable], Iterable] | None = None, follow_links: bool = False,
               root: Path | None = None) -> IngestReport:
        """Ingest files and folders; unchanged files are recognised by content hash and not read again. Every path
        that cannot be read is recorded with the reason; links out of a folder are followed only if asked. The
        documents stored under a folder given whose files are gone stop counting (files named alone are not).
        `root`: the folder the paths were found in (the watcher's), whose scan would refuse a link out of it: so
        are they refused here."""
        paths = [Path(p) for p in paths]  # surveyed, then looked at again for the folders among them
        self.sync_catalogue()
        self._force = force
        # left stale by a run that was killed before its refresh: the next refresh must cover everything
        self._coverage.stale_at_start = get_setting(self.db, "coverage_stale", "0") != "0"
        files, unread = survey(paths, follow_links, root)
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
            buffered.append(self._capped(self._same_as_hashed(result, to_read)))
            if sum(len(r.passages) for r in buffered) >= EMBED_BATCH:
                self._store_all(buffered, to_read, report, on_result)
        self._store_all(buffered, to_read, report, on_result)
        # after storing, so a file moved within the folder was found as moved, not retired; a link to a folder found
        # in a watched one was not walked (refused, or its files found where they are)
        for outcome in self.retire_gone([p for p in paths if p.is_dir() and not (root and p.is_symlink())]):
            self._report(report, on_result, outcome)
        self.refresh_coverage_if_stale()
        return report

    def retire_gone(self, folders: list[Path]) -> list[FileOutcome]:
        """Documents stored under these folders whose files were deleted (a folder gone takes all of its): their
        evidence stops counting. Not under a folder that holds nothing at all: that is what a share looks like
        before it is mounted, and taking it for every file deleted would retire the whole matrix."""
        gone: dict[Path, None] = {}
        outcomes = []
        for folder in folders:
            under = self.removed_under(folder)
            if under and _empty(folder):
                outcomes.append(FileOutcome(folder, "skipped", (
                    f"the folder is empty (a share not mounted?): its {len(under)} stored document(s) are kept; "
                    "files deleted while it holds others are retired as usual")))
                continue
            gone.update(dict.fromkeys(under))  # nested folders name a file once
        return outcomes + [self.remove(path) for path in gone]

    def _capped(self, result: ReadResult) -> ReadResult:
        """A file with more passages than are mapped is partial, and says so."""
        beyond = self.mapper.beyond_mapping(result.passages) if result.status in ("ok", "partial") else None
        if beyond:
            result.warnings.append(beyond)
        return result.finish()

    def _same_as_hashed(self, result: ReadResult, shas: dict[Path, str | None]) -> ReadResult:
        """Hash, size and text of one moment: a file whose bytes changed between hashing and reading (an editor
        saving meanwhile, unseen by size and mtime) is read once more; if it changes again it is failed, never
        stored as one version's hash with another's text. A file that moved while it was read keeps no hash either,
        so the next pass reads it again."""
        path = result.path
        if result.changed_while_read:
            shas[path] = None
        if result.status not in ("ok", "partial"):
            return result
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
        row = self.documents.lookup(path, "id, status, error, sha256, unread_error")
        if row and (row[1:4] == (status, reason, None) or row[4] == reason):
            return FileOutcome(path, status, reason, document_id=row[0])
        fmt = path.suffix.lower().lstrip(".") or ("folder" if status == "failed" and "folder" in reason else "")
        return self.store(ReadResult(path=path, format=fmt, status=status, error=reason), None)

    def refresh_coverage_if_stale(self) -> None:
        """Bring the coverage table up to date after documents were stored (also after a crash mid-batch):
        only the requirements this run touched when it stored a few documents, all of them otherwise."""
        if get_setting(self.db, "coverage_stale", "1") != "0":
            with write_transaction(self.db.conn):
                refresh_coverage(self.db.conn, self._coverage.scope())
                set_setting(self.db, "coverage_stale", "0")
        self._coverage.paid()

    def _store_all(self, results: list[ReadResult], shas: dict[Path, str | None], report: IngestReport,
                   on_result: OnResult | None) -> None:
        """Embed the passages of several files in one encoder call, then store each file on its own."""
        strings = [s for r in results if r.status in ("ok", "partial")
                   for s in self.mapper.strings(r.passages, r.metadata.get("title", ""),
                                                r.metadata.get("doc_type", "other"))]
        with self.embeddings.batch(strings):  # store() finds every vector of the batch in memory
            for result in results:
                outcome = self.store(result, shas[result.path])
                self._report(report, on_result, outcome)
                if outcome.document_id is not None and result.status in ("ok", "partial"):
                    lineage = [(shas[result.path], result.metadata.get("message_id"))]
                    for child in self.store_attachments(result, outcome.document_id, lineage, self._force):
                        self._report(report, on_result, child)
        results.clear()
        if self._coverage.due():
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
        row = self.documents.lookup(path, _RECORDED)
        unchanged = self._unchanged(row, path, sha) if not force else None
        if unchanged:
            return unchanged, sha
        moved = self.documents.moved_from(sha) if not row else None
        if moved is not None and not force:
            self.documents.move(moved, path)
            return FileOutcome(path, "unchanged", "moved from an earlier path", document_id=moved), sha
        return None, sha

    def _unchanged(self, row: tuple | None, path: Path, sha: str) -> FileOutcome | None:
        """The same bytes as were read, or found unreadable, at this path before (`row`: its _RECORDED columns) are
        not read again. The bytes of the version read, back again, end the note of a newer version that could not
        be read: that version is no longer the file."""
        if row is None or sha not in (row[1], row[2]):
            return None
        if sha == row[1] and row[3] is not None:
            self.documents.clear_unread(row[0])
        return FileOutcome(path, "unchanged", document_id=row[0])

    def store(self, result: ReadResult, sha: str | None, parent_id: int | None = None,
              copy: Path | None = None) -> FileOutcome:
        """Embed and map the passages, then write the document in one transaction. An attachment comes with its
        email's id and the copy its bytes were kept in."""
        started = time.monotonic()
        if is_ignorable(result.path) and parent_id is None:
            return FileOutcome(result.path, "skipped", "lock or temporary file")
        kept = self._keep_readable_version(result, sha)
        if kept is not None:
            return kept
        readable = result.status in ("ok", "partial")
        copy_path = (copy or self.keep_copy(result.path, sha)) if readable else None
        passages = result.passages
        doc_type = result.metadata.get("doc_type", "other")
        links = self.mapper.map(passages, result.metadata.get("title", ""), doc_type) if passages else []
        existing = self.documents.lookup(result.path)
        if existing:
            self._coverage.touched.update(self.documents.linked_requirements(existing[0]))
        self._coverage.stored += 1
        size = self._sizes.pop(result.path, None) or _size(copy or result.path)
        doc_id, touched = self.documents.write(result, sha, copy_path.name if copy_path else None, size, links,
                                               parent_id)
        self._coverage.touched.update(touched)
        return FileOutcome(result.path, result.status, result.error, len(passages),
                           sum(lk.kind == "evidence" for lk in links), time.monotonic() - started, doc_id)

    def _keep_readable_version(self, result: ReadResult, sha: str) -> FileOutcome | None:
        """A newer version that yields nothing (corrupt, half-written, encrypted, emptied) does not replace one
        that was read: the document keeps its passages and evidence, and records the unread version."""
        if result.status in ("ok", "partial"):
            return None
        row = self.documents.readable_at(result.path)
        if row is None:
            return None
        error = result.error or result.status
        self.documents.record_unread_version(row[0], result, sha, error)
        return FileOutcome(result.path, result.status, f"{error}; the version read on {row[1][:10]} still counts",
                           document_id=row[0])

    def keep_copy(self, path: Path, sha: str) -> Path | None:
        """A content-addressed copy, so evidence links survive edits, renames and deletions."""
        def write(tmp: Path) -> bool:
            shutil.copyfile(path, tmp)
            return sha256_file(tmp) == sha  # the file changed after it was hashed: keep nothing wrong

        return self._keep(copies.copy_name(sha, path), write)

    def keep_bytes(self, data: bytes, sha: str, name: str) -> Path | None:
        """A content-addressed copy of bytes that have no file of their own (an email's attachment)."""
        def write(tmp: Path) -> bool:
            tmp.write_bytes(data)
            return True

        return self._keep(copies.copy_name(sha, name), write)

    def _keep(self, name: str, write: Callable[[Path], bool]) -> Path | None:
        """The kept copy called `name`, written once through a temporary file by `write` (False: do not keep)."""
        target = copies.copy_path(self.files_dir, name)
        if target is None or target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        try:
            kept = write(tmp)
        except OSError:
            return None
        if not kept:
            tmp.unlink(missing_ok=True)
            return None
        tmp.replace(target)
        return target

    # ------------------------------------------------------------------ attachments
    def store_attachments(self, email: ReadResult, email_id: int, lineage: list[tuple[str | None, str | None]],
                          force: bool = False) -> list[FileOutcome]:
        """An email's attachments, each stored as a document of its own at `<email path>#attachment/<name>`,
        linked to the email: read from a kept copy of its bytes (in the reader processes, with their time limit),
        skipped when unchanged. `lineage`: (sha, message id) of the email and those it came in, so an email that
        attaches itself, or attachments nested too deep, end with a status instead of recursion. Attachments the
        email no longer has are removed."""
        outcomes, names, pending = [], set(), []
        for attachment in email.attachments:
            name = _unique(attachment.name, names)
            path = Path(f"{email.path}{ATTACHMENT_MARK}{name}")
            sha = hashlib.sha256(attachment.data).hexdigest()
            unchanged = self._unchanged(self.documents.lookup(path, _RECORDED), path, sha) if not force else None
            if unchanged:
                outcomes.append(unchanged)
            else:
                pending.append(_Attached(attachment, name, path, sha))
        for item, result in zip(pending, self._read_attachments(pending, lineage)):
            outcomes.extend(self._store_attachment(item, result, email_id, lineage, force))
        kept = {stored_path(Path(f"{email.path}{ATTACHMENT_MARK}{name}")) for name in names}
        for _, child_path in self.documents.attachments(email_id):
            if child_path not in kept:
                outcomes.append(self.remove(file_path(child_path)))
        return outcomes

    def _store_attachment(self, item: _Attached, result: ReadResult, email_id: int,
                          lineage: list[tuple[str | None, str | None]], force: bool) -> list[FileOutcome]:
        self._sizes[item.path] = len(item.attachment.data)
        readable = result.status in ("ok", "partial")
        copy = self.keep_bytes(item.attachment.data, item.sha, item.name) if readable else None
        outcome = self.store(result, item.sha, parent_id=email_id, copy=copy)
        outcomes = [outcome]
        if result.attachments and outcome.document_id is not None and readable:
            outcomes += self.store_attachments(result, outcome.document_id,
                                               lineage + [(item.sha, result.metadata.get("message_id"))], force)
        return outcomes

    def _read_attachments(self, items: list[_Attached], lineage: list[tuple[str | None, str | None]]
                          ) -> list[ReadResult]:
        """One result per attachment: those a reader can read are read together in the reader processes, from
        their kept copies; the others end with the reason they are not read."""
        results: list[ReadResult | None] = [self._not_read(item, lineage) for item in items]
        copies_to_read: dict[Path, list[int]] = {}
        for i, item in enumerate(items):
            if results[i] is None:
                copy = self.keep_bytes(item.attachment.data, item.sha, item.name)
                if copy is None:
                    results[i] = ReadResult(item.path, item.format, "failed", "attachment cannot be kept in the files folder")
                else:
                    copies_to_read.setdefault(copy, []).append(i)
        for result in read_documents(list(copies_to_read), workers=self.workers, timeout=self.timeout):
            for i in copies_to_read.get(result.path, []):
                results[i] = self._as_attachment(replace(result, metadata=dict(result.metadata)), items[i], lineage)
        return [r or ReadResult(item.path, item.format, "failed", "attachment was not read")
                for r, item in zip(results, items)]

    @staticmethod
    def _not_read(item: _Attached, lineage: list[tuple[str | None, str | None]]) -> ReadResult | None:
        """Why an attachment is not read at all, as its result; None when it is read."""
        if reader_for(Path(item.name)) is None:
            return ReadResult(item.path, item.format, "skipped",
                              f"unsupported file type '{Path(item.name).suffix or item.name}'")
        if item.sha in {s for s, _ in lineage}:
            return ReadResult(item.path, item.format, "skipped", "the email attaches itself: not read again")
        if len(lineage) > MAX_ATTACHMENT_DEPTH:
            return ReadResult(item.path, item.format, "skipped",
                              f"attachment nested more than {MAX_ATTACHMENT_DEPTH} levels deep: not read")
        return None

    @staticmethod
    def _as_attachment(result: ReadResult, item: _Attached, lineage: list[tuple[str | None, str | None]]
                       ) -> ReadResult:
        """A result read from a kept copy, as the attachment's: its path, and its type told by its own name."""
        result.path = item.path
        message_id = result.metadata.get("message_id")
        if message_id and message_id in {m for _, m in lineage}:
            return ReadResult(item.path, result.format, "skipped", "the email attaches itself: not read again")
        if result.status in ("ok", "partial"):
            opening = " ".join(p.text for p in result.passages[:8])[:3000]
            result.metadata["doc_type"] = infer_doc_type(item.name, result.metadata.get("title", ""), opening,
                                                         result.format)
        return result

    # ------------------------------------------------------------------ removal
    def remove(self, path: str | Path) -> FileOutcome:
        """A deleted file: its evidence stops counting now and stays in history with the time of removal."""
        started = time.monotonic()
        path = Path(path)
        row = self.documents.lookup(path, "id, passage_count")
        if row is None:
            return FileOutcome(path, "unchanged", "not in the database")
        self.documents.remove(row[0])
        return FileOutcome(path, "removed", passages=row[1] or 0, seconds=time.monotonic() - started, document_id=row[0])

    def removed_under(self, folder: str | Path) -> list[Path]:
        """Documents recorded under a folder whose files are gone (deleted while nobody watched)."""
        return self.documents.removed_under(folder)


@dataclass
class _Attached:
    """An attachment about to be read: its bytes, its unique name in the email, its path as stored, its hash."""
    attachment: Attachment
    name: str
    path: Path
    sha: str

    @property
    def format(self) -> str:
        return Path(self.name).suffix.lower().lstrip(".")


def _unique(name: str, taken: set[str]) -> str:
    """An attachment's name, numbered when the email already has one of that name (image001.png twice)."""
    stem, suffix, n, candidate = Path(name).stem, Path(name).suffix, 1, name
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(candidate)
    return candidate


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
