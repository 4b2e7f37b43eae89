"""The embedding cache: a vector per (text, model), keyed by content hash, stored as a float32 blob.

In the manner of llm's embeddings `Collection`: a text the model has embedded once is never encoded again,
whichever document, path or run it comes from. `batch()` encodes a whole batch of strings in one encoder
call (large, length-sorted batches keep the model busy); inside it, `embed` finds their vectors in memory
instead of reading back what it has just written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import sqlite_utils

from mapping import Embedder

from .db import write_transaction

SQL_VARIABLES = 500  # hashes looked up per query, well under SQLite's limit on bound parameters


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors for texts from one model, read from the `embeddings` table or encoded and written there."""

    def __init__(self, db: sqlite_utils.Database, embedder: Embedder):
        self.db, self.embedder = db, embedder
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

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, from the cache where this model has seen the text before."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        vectors = self._vectors(texts, hashes)
        return np.stack([vectors[h] for h in hashes]).astype(np.float32)

    def _vectors(self, texts: list[str], hashes: list[str]) -> dict[str, np.ndarray]:
        found = {h: self._batch[h] for h in hashes if h in self._batch}
        found.update(self._read(set(hashes) - set(found)))
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in found))
        if missing:
            found.update(self._encode(missing))
        return found

    def _encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """One encoder call for texts not yet cached; their vectors are stored before they are used."""
        fresh = self.embedder.embed(texts)
        rows = [{"text_hash": text_hash(t), "model": self.embedder.name, "vector": v.astype(np.float32).tobytes()}
                for t, v in zip(texts, fresh)]
        with write_transaction(self.db.conn):
            self.db["embeddings"].insert_all(rows, pk=("text_hash", "model"), replace=True)
        return {r["text_hash"]: v for r, v in zip(rows, fresh)}

    def _read(self, hashes: set[str]) -> dict[str, np.ndarray]:
        out, items = {}, list(hashes)
        for start in range(0, len(items), SQL_VARIABLES):
            chunk = items[start:start + SQL_VARIABLES]
            sql = (f"select text_hash, vector from embeddings where model = ? "
                   f"and text_hash in ({','.join('?' * len(chunk))})")
            for h, blob in self.db.execute(sql, [self.embedder.name, *chunk]).fetchall():
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out
