"""The catalogue as the pipeline uses it: requirement profiles, the mapping of passages onto them, and keeping
the stored requirements and links in step when the catalogue, the model, the settings or the reviews change.

Reviews sharpen the profiles, so new decisions re-map too. Re-mapping reads cached vectors only: no passage
is embedded again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Protocol

import sqlite_utils

from ingest import DOC_TYPE_LABELS
from mapping import MappingConfig, Profiles, build_profiles, map_passages
from mapping.noise import low_confidence, mappable
from mapping.scoring import Why
from standards import Catalogue

from .db import get_setting, refresh_coverage, set_setting, write_transaction
from .embeddings import EmbeddingCache
from .store import DocumentStore


class PassageLike(Protocol):
    """What the mapper reads of a passage: a reader's `Passage`, or a stored row seen through `_Stored`."""

    text: str
    context: str
    kind: str


# Passages of one document embedded and mapped at most: a 300-page plan has about 3,000; a 50 MB text file has a
# hundred thousand, whose encoding would hold a watched folder for the best part of an hour
MAX_MAPPED_PASSAGES = 5_000


class PassageMapper:
    """Maps a document's passages onto the catalogue's requirement profiles, built once and on demand."""

    def __init__(self, db: sqlite_utils.Database, catalogue: Catalogue, embeddings: EmbeddingCache,
                 config: MappingConfig):
        self.db, self.catalogue, self.embeddings, self.config = db, catalogue, embeddings, config
        self._profiles: Profiles | None = None

    @property
    def profiles(self) -> Profiles:
        if self._profiles is None:
            accepted, rejected = self.reviewed_examples()
            # the catalogue and background are the same for every database: the per-user cache keeps them
            self._profiles = build_profiles(self.catalogue, lambda texts: self.embeddings.embed(texts, shared=True),
                                            accepted, rejected,
                                            model_name=self.embeddings.embedder.name,
                                            fits=self.embeddings.shared.fits if self.embeddings.shared else None)
        return self._profiles

    def forget_profiles(self) -> None:
        """The catalogue, model or reviews changed: the next mapping builds the profiles again."""
        self._profiles = None

    def reviewed_examples(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(requirement, passage text) pairs assessors accepted or added, and those they rejected."""
        # the text is kept with the review: a decision still counts after its document was replaced or removed
        rows = self.db.execute(
            "select distinct requirement_id, passage_text, decision from current_reviews "
            "where decision in ('accept', 'add', 'reject') and passage_text is not null").fetchall()
        return ([(rid, t) for rid, t, d in rows if d != "reject"], [(rid, t) for rid, t, d in rows if d == "reject"])

    @staticmethod
    def passage_inputs(passages: Sequence[PassageLike], title: str, doc_type: str) -> tuple[list[str], list[str]]:
        """(text to embed, context to embed) for each passage; the context carries where it sits."""
        label = DOC_TYPE_LABELS.get(doc_type, doc_type)
        texts = [p.text for p in passages]
        contexts = [" | ".join(x for x in (label, title, p.context) if x) for p in passages]
        return texts, contexts

    @staticmethod
    def chosen(passages: Sequence[PassageLike]) -> list[int]:
        """The passages that are embedded and mapped: not comments, not rows of figures and codes (those are
        stored and searchable, never scored), and no more than MAX_MAPPED_PASSAGES (see `beyond_mapping`)."""
        return [i for i, p in enumerate(passages) if mappable(p.text, p.kind)][:MAX_MAPPED_PASSAGES]

    @staticmethod
    def beyond_mapping(passages: Sequence[PassageLike]) -> str | None:
        """What a document loses to the cap on mapped passages, in words, or None."""
        n = sum(mappable(p.text, p.kind) for p in passages)
        if n <= MAX_MAPPED_PASSAGES:
            return None
        return (f"only the first {MAX_MAPPED_PASSAGES:,} of its {n:,} passages of text are mapped to requirements; "
                "the rest are stored and searchable (a file this long is usually many documents: split it)")

    def strings(self, passages: Sequence[PassageLike], title: str, doc_type: str) -> list[str]:
        """Every string `map` embeds for these passages, so a batch of documents can be embedded at once."""
        return self._inputs(passages, title, doc_type)[1]

    def _inputs(self, passages, title: str, doc_type: str) -> tuple[list[int], list[str]]:
        """(the passages `chosen` picks, their texts + contexts + the readers' raw contexts, in that order)."""
        picked = self.chosen(passages)
        chosen = [passages[i] for i in picked]
        texts, contexts = self.passage_inputs(chosen, title, doc_type)
        return picked, texts + contexts + [p.context or "" for p in chosen]

    def map(self, passages: Sequence[PassageLike], title: str, doc_type: str) -> list:
        """Links from the passages `chosen` picks to requirements; `link.passage` indexes `passages`."""
        picked, strings = self._inputs(passages, title, doc_type)
        if not picked:
            return []
        n = len(picked)
        every = self.embeddings.embed(strings)  # each distinct string once: the cache sees to that
        vectors, context_vectors, raw_context_vectors = every[:n], every[n:2 * n], every[2 * n:]
        chosen = [passages[i] for i in picked]
        texts, raw_contexts = strings[:n], strings[2 * n:]
        links = map_passages(self.profiles, vectors, context_vectors, [doc_type] * len(chosen), texts, self.config,
                             kinds=[p.kind for p in chosen], titles=[title] * len(chosen),
                             openers=[k < 2 for k in range(n)], contexts=raw_contexts,
                             raw_context_vectors=raw_context_vectors)
        for link in links:
            link.passage = picked[link.passage]
        return _low_confidence_as_candidates(links, passages)


def _low_confidence_as_candidates(links: list, passages) -> list:
    """Recognised text of low confidence may be misread: stored and searchable, a candidate for review at most,
    never evidence on its own; the candidate's `why` says so."""
    for link in links:
        reason = low_confidence(getattr(passages[link.passage], "ocr_confidence", None))
        if reason and link.kind == "evidence":
            link.kind, link.rank = "candidate", None
            link.why[Why.NOT_EVIDENCE] = reason
    return links


class _Stored:
    """A stored passage row seen through the reader's Passage attributes."""

    def __init__(self, row: dict):
        self.text, self.context, self.kind = row["text"], row["context"] or "", row["kind"]
        self.ocr_confidence = row.get("ocr_confidence")


def config_stamp(config: MappingConfig) -> str:
    return hashlib.sha256(json.dumps(config.__dict__, sort_keys=True).encode()).hexdigest()[:12]


def _reviews_stamp(db: sqlite_utils.Database) -> str:
    row = db.execute("select count(*), max(id) from reviews").fetchone()
    return f"{row[0]}-{row[1]}"


def sync_catalogue(mapper: PassageMapper, store: DocumentStore) -> bool:
    """Store the catalogue; if it, the model, the settings or the reviews changed since the last run, re-map
    every passage. True if it re-mapped."""
    db, catalogue, config = mapper.db, mapper.catalogue, mapper.config
    model = mapper.embeddings.embedder.name
    stamp = f"{catalogue.version}:{model}:{config_stamp(config)}:{_reviews_stamp(db)}"
    if get_setting(db, "catalogue_stamp") == stamp:
        return False
    keep = [r.id for r in catalogue]
    marks = ",".join("?" * len(keep))
    with write_transaction(db.conn):
        # requirements change in place and each document's links are replaced by its own re-map below,
        # so a live matrix never shows an empty evidence table in between
        for table in ("evidence", "candidates"):
            db.execute(f"delete from {table} where requirement_id not in ({marks})", keep)
        db.execute(f"delete from requirements where id not in ({marks})", keep)
        db["requirements"].upsert_all(requirement_rows(catalogue), pk="id")
        db.execute("delete from crosswalk")
        db["crosswalk"].insert_all([{"requirement_id": a, "related_id": b} for a, b in catalogue.crosswalk_pairs()],
                                   pk=("requirement_id", "related_id"), ignore=True)
        set_setting(db, "model", model)
        set_setting(db, "item_min_support", str(config.item_min_support))
        set_setting(db, "item_strong_score", str(config.item_strong_score))
    mapper.forget_profiles()
    remap_all(mapper, store)
    # stamped only once every document is re-mapped: a run stopped half way re-maps again next time, rather
    # than leaving the documents it had not reached with the old mapping's links for good
    with write_transaction(db.conn):
        set_setting(db, "catalogue_stamp", stamp)
    return True


def remap_all(mapper: PassageMapper, store: DocumentStore) -> int:
    """Re-map every stored passage from cached embeddings; returns how many links were written."""
    docs = store.readable_documents()
    total = 0
    if docs:
        mapper.profiles  # noqa: B018 -- the slow part (model, profiles), before any writer lock is held
    for doc_id, title, doc_type in docs:
        total += store.relink(doc_id, lambda rows, title=title, doc_type=doc_type: mapper.map(
            [_Stored(r) for r in rows], title or "", doc_type or "other"))
    with write_transaction(store.db.conn):
        refresh_coverage(store.db.conn)
    return total


def requirement_rows(catalogue: Catalogue) -> Iterator[dict]:
    """The `requirements` table's rows for a catalogue, in its order."""
    for r in catalogue:
        yield {"id": r.id, "framework": r.framework, "stage": r.stage,
               "stage_title": catalogue.stage_title(r.framework, r.stage), "title": r.title,
               "description": r.description, "position": r.position}
