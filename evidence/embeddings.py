"""The embedding cache: a vector per (text, model), keyed by content hash, stored as a float32 blob.

In the manner of llm's embeddings `Collection`: a text the model has embedded once is never encoded again,
whichever document, path or run it comes from. `batch()` encodes a whole batch of strings in one encoder
call (large, length-sorted batches keep the model busy); inside it, `embed` finds their vectors in memory
instead of reading back what it has just written.

What every database embeds alike (the catalogue's descriptions and examples, the background text) is also kept
in one cache per user (`SharedVectors`), so a new database, a consultant's thirtieth relationship or a second
model run never encodes it again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlite_utils

from mapping import Embedder
from mapping.embedder import shipped_vectors, text_hash

from .db import write_transaction

SQL_VARIABLES = 500  # hashes looked up per query, well under SQLite's limit on bound parameters
CACHE_DIR_ENV = "EVIDENCE_CACHE_DIR"  # where the per-user vector cache lives; "off" for none


def default_shared_path() -> Path | None:
    """The per-user vector cache: $EVIDENCE_CACHE_DIR, else the platform's user cache folder."""
    folder = os.environ.get(CACHE_DIR_ENV)
    if folder and folder.lower() == "off":
        return None
    if not folder:
        import platformdirs

        folder = platformdirs.user_cache_dir("cbr-evidence")
    return Path(folder) / "vectors.sqlite"


class SharedVectors:
    """Vectors by (model, content hash) in one SQLite file shared by every database of a user. Never in the
    way: a cache that cannot be opened or written (read-only home, a full disk) is switched off, not fatal."""

    def __init__(self, path: Path | None):
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def fits(self) -> Path | None:
        """Beside the vectors, the evidence-or-not fits made for sentence models without a shipped one."""
        return self.path.parent / "evidence-fits" if self.path is not None else None

    def get(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), SQL_VARIABLES):
            chunk = hashes[start:start + SQL_VARIABLES]
            rows = self._run(f"select text_hash, vector from vectors where model = ? and text_hash in "
                             f"({','.join('?' * len(chunk))})", [model, *chunk])
            out.update((h, np.frombuffer(blob, dtype=np.float32)) for h, blob in rows or [])
        return out

    def put(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [(model, h, v.astype(np.float32).tobytes()) for h, v in vectors.items()]
        self._run("insert or replace into vectors (model, text_hash, vector) values (?, ?, ?)", rows, many=True)

    def _run(self, sql: str, params, many: bool = False) -> list | None:
        try:
            conn = self._connect()
            if conn is None:
                return None
            with conn:
                cursor = conn.executemany(sql, params) if many else conn.execute(sql, params)
                return cursor.fetchall()
        except (sqlite3.Error, OSError):
            self.path, self._conn = None, None  # off for the rest of this run
            return None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            conn.execute("pragma journal_mode = wal")  # several databases' runs read it at once
            conn.execute("create table if not exists vectors (model text, text_hash text, vector blob, "
                         "primary key (model, text_hash))")
            self._conn = conn
        return self._conn


class EmbeddingCache:
    """Vectors for texts from one model, read from the `embeddings` table or encoded and written there; with
    `shared=True`, also looked up in and added to the per-user cache."""

    def __init__(self, db: sqlite_utils.Database, embedder: Embedder, shared: SharedVectors | None = None):
        self.db, self.embedder = db, embedder
        self.shared = shared
        self._batch: dict[str, np.ndarray] = {}  # the vectors of the batch being stored, by text hash

    @contextmanager
    def batch(self, texts: list[str]) -> Iterator[None]:
        """Embed every string of a batch now, those not cached in one encoder call; until the block ends,
        `embed` of any of them is answered from memory."""
        self._batch = self._vectors(texts, [text_hash(t) for t in texts])
        try:
            yield
        finally:
            self._batch = {}

    def embed(self, texts: list[str], shared: bool = False) -> np.ndarray:
        """Vectors for texts, from the cache where this model has seen the text before; `shared` for texts every
        database embeds alike (the catalogue), which the per-user cache keeps across databases."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        vectors = self._vectors(texts, hashes, shared)
        return np.stack([vectors[h] for h in hashes]).astype(np.float32)

    def _vectors(self, texts: list[str], hashes: list[str], shared: bool = False) -> dict[str, np.ndarray]:
        found = {h: self._batch[h] for h in hashes if h in self._batch}
        found.update(self._read(set(hashes) - set(found)))
        if shared and len(found) < len(set(hashes)):
            elsewhere = self._elsewhere(sorted(set(hashes) - set(found)))
            if elsewhere:
                self._store(elsewhere)  # the database keeps what it maps with: a copy of it needs no cache
                found.update(elsewhere)
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in found))
        if missing:
            fresh = self._encode(missing)
            if shared and self.shared is not None:
                self.shared.put(self.embedder.name, fresh)
            found.update(fresh)
        return found

    def _elsewhere(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """Vectors shipped with the package for this model, then those in the per-user cache."""
        shipped = shipped_vectors(self.embedder.name)
        found = {h: shipped[h] for h in hashes if h in shipped}
        rest = [h for h in hashes if h not in found]
        if rest and self.shared is not None:
            found.update(self.shared.get(self.embedder.name, rest))
        return found

    def _encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """One encoder call for texts not yet cached; their vectors are stored before they are used."""
        fresh = dict(zip((text_hash(t) for t in texts), self.embedder.embed(texts)))
        self._store(fresh)
        return fresh

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [{"text_hash": h, "model": self.embedder.name, "vector": v.astype(np.float32).tobytes()}
                for h, v in vectors.items()]
        with write_transaction(self.db.conn):
            self.db["embeddings"].insert_all(rows, pk=("text_hash", "model"), replace=True)

    def _read(self, hashes: set[str]) -> dict[str, np.ndarray]:
        out, items = {}, list(hashes)
        for start in range(0, len(items), SQL_VARIABLES):
            chunk = items[start:start + SQL_VARIABLES]
            sql = (f"select text_hash, vector from embeddings where model = ? "
                   f"and text_hash in ({','.join('?' * len(chunk))})")
            for h, blob in self.db.execute(sql, [self.embedder.name, *chunk]).fetchall():
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out
