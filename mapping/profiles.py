"""Requirement profiles: each requirement as a set of vectors (its description and its examples),
calibrated against background text so that scores mean the same for every requirement."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from standards import Catalogue

from .background import BACKGROUND
from .evidence_model import EvidenceModel, Inputs, for_model

CORE_GROUP = "default"  # the frameworks assessed unless the user chooses otherwise: scored as one group
CORE_FRAMEWORK = "BS11000"  # the evidence-or-not model reads nearness to its items, whatever else is loaded

EmbedFn = Callable[[list[str]], np.ndarray]
_STOP = set("""a an and are as at be by for from has have in is it its of on or that the their this to was
were will with which who what when where how each all any can may must should been being not no our we
they them there these those than then into out over under also such both own per via""".split())


@dataclass
class Profiles:
    ids: list[str]
    frameworks: list[str]
    titles: list[str]
    doc_types: list[frozenset[str]]
    description_vectors: np.ndarray  # (R, d)
    example_vectors: np.ndarray  # (E, d)
    example_owner: np.ndarray  # (E,) index into ids
    examples: list[str]
    terms: list[frozenset[str]]  # content words of each profile, for explanations and the lexical signal
    mean: np.ndarray  # (R,) background similarity: what unrelated text scores against each requirement
    spread: np.ndarray  # (R,)
    background_vectors: np.ndarray | None = None  # (B, d) text that evidences nothing
    counter_vectors: np.ndarray | None = None  # (C, d) passages assessors rejected for a requirement
    counter_owner: np.ndarray | None = None  # (C,) index into ids
    precedent_vectors: np.ndarray | None = None  # (A, d) passages assessors accepted or added for a requirement
    precedent_owner: np.ndarray | None = None  # (A,)
    term_index: TermIndex | None = None  # the standard's own words for each requirement
    example_k: int = 2  # a passage is as close to a requirement as to its k closest examples, on average
    evidence_model: EvidenceModel | None = None  # evidence or not, whatever the requirement
    stages: list[str] | None = None  # each requirement's stage within its framework
    # which requirements are scored together: the default frameworks as one group, each framework a user opts
    # into as its own, so enabling one never moves a link of another (see scoring: the signals that compare
    # requirements, how much a text matches everything and how many candidates a passage keeps, stay in a group)
    groups: list[str] | None = None
    _slots: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    def evidence_probability(self, vectors: np.ndarray, context_vectors: np.ndarray | None, texts: list[str],
                             kinds: list[str], scored: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                             ) -> np.ndarray | None:
        """(n,) how likely each passage is to evidence anything at all; None without a model. Without context
        vectors (a caller that has none) the context counts as empty; `scored`: the vectors' (calibrated z, raw
        similarity, nearest-background similarity) when the caller has them already."""
        if self.evidence_model is None:
            return None
        if context_vectors is None:
            context_vectors = np.zeros_like(vectors)
        return self.evidence_model.probability(
            Inputs(vectors, context_vectors, texts, kinds, self.relevance_features(vectors, scored)))

    def relevance_features(self, vectors: np.ndarray,
                           scored: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """(n, 4) how near the core standard's profiles a passage comes: its best and top-three calibrated scores
        against the BS 11000 items, its similarity to the nearest ordinary text, and the gap between the two.
        `scored`: (calibrated z, raw similarity, nearest-background similarity) if already computed."""
        cols = np.flatnonzero(np.array(self.frameworks) == CORE_FRAMEWORK)
        cols = cols if cols.size else np.arange(len(self.ids))
        if scored is None:
            scored = (*self.calibrated(vectors)[:2], self.noise_similarity(vectors))
        z, raw, noise = scored
        top = np.sort(z[:, cols], axis=1)
        return np.stack([top[:, -1] / 10, top[:, -3:].mean(axis=1) / 10, noise,
                         raw[:, cols].max(axis=1) - noise], axis=1).astype(np.float32)

    def lexical(self, texts: list[str]) -> tuple[np.ndarray, list[dict[int, list[str]]]]:
        """((n, R) 1 where a passage uses one of a requirement's terms, the terms matched per passage)."""
        hits = np.zeros((len(texts), len(self.ids)), dtype=np.float32)
        matched: list[dict[int, list[str]]] = [{} for _ in texts]
        if self.term_index is None:
            return hits, matched
        for i, text in enumerate(texts):
            for word in sorted(self.term_index.find(text)):  # a set: sorted, so explanations read alike every run
                for r in self.term_index.requirements[word]:
                    hits[i, r] = 1.0
                    matched[i].setdefault(r, []).append(word)
        return hits, matched

    def counter_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n, R) each passage's similarity to the closest passage rejected for each requirement (-1: none)."""
        return _nearest_by_owner(vectors, self.counter_vectors, self.counter_owner, len(self.ids))

    def precedent_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n, R) each passage's similarity to the closest passage accepted for each requirement (-1: none)."""
        return _nearest_by_owner(vectors, self.precedent_vectors, self.precedent_owner, len(self.ids))

    def noise_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n,) each passage's similarity to its nearest background text."""
        if self.background_vectors is None or not len(self.background_vectors):
            return np.full(len(vectors), -1.0, dtype=np.float32)
        return (vectors @ self.background_vectors.T).max(axis=1)

    def raw_similarity(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(similarity (n, R), index of the best example per cell (n, R), -1 where there are none)."""
        desc = vectors @ self.description_vectors.T
        slots, counts = self._example_slots()
        if slots.shape[1]:
            # every requirement's examples side by side, padded with -inf: (n, R, most examples of any requirement)
            ex = np.concatenate([vectors @ self.example_vectors.T, np.full((len(vectors), 1), -np.inf, np.float32)],
                                axis=1)[:, slots]
            arg = ex.argmax(axis=2)
            # the mean of the k closest, not the closest: one example worded like the passage by chance should not
            # carry a requirement on its own (k: as many as a requirement has, if fewer)
            k = np.minimum(self.example_k, counts)
            kmax = min(self.example_k, ex.shape[2])
            top = np.sort(ex, axis=2)[:, :, -kmax:]  # a few examples each: sorting beats partitioning them
            top = np.where(np.arange(-kmax, 0) >= -k[:, None], top, 0.0).sum(axis=2) / np.maximum(k, 1)
            has = counts > 0
            best = np.where(has, top, desc).astype(np.float32)
            best_idx = np.where(has, slots[np.arange(len(slots)), arg], -1).astype(np.int32)
        else:  # no requirement has examples: each is as close as its description
            best, best_idx = desc.astype(np.float32), np.full(desc.shape, -1, dtype=np.int32)
        return 0.4 * desc + 0.6 * best, best_idx

    def _example_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """((R, m) the example columns of each requirement, padded with the index of a -inf column; (R,) how many
        each has). Built once: scoring asks for it at every batch."""
        if self._slots is None:
            owners = [np.flatnonzero(self.example_owner == r) for r in range(len(self.ids))]
            width = max((len(c) for c in owners), default=0)
            pad = len(self.example_owner)  # the -inf column appended after the examples
            slots = np.full((len(self.ids), width), pad, dtype=np.int64)
            for r, cols in enumerate(owners):
                slots[r, :len(cols)] = cols
            self._slots = (slots, np.array([len(c) for c in owners], dtype=np.int64))
        return self._slots

    def calibrated(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z-scores against the background, raw similarity, best example index)."""
        raw, best_idx = self.raw_similarity(vectors)
        return (raw - self.mean) / self.spread, raw, best_idx


def _nearest_by_owner(vectors, references, owner, n_requirements) -> np.ndarray:
    out = np.full((len(vectors), n_requirements), -1.0, dtype=np.float32)
    if references is None or not len(references):
        return out
    sims = vectors @ references.T
    for r in np.unique(owner):
        out[:, r] = sims[:, owner == r].max(axis=1)
    return out


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


def _is_acronym(term: str) -> bool:
    return " " not in term and sum(c.isupper() for c in term) >= 2


def _term_key(term: str) -> str:
    """Acronyms keep their capitals ("SER" is not "ser"); phrases are matched in lower case, word by word."""
    return term if _is_acronym(term) else " ".join(_TOKEN.findall(term.lower()))


@dataclass(frozen=True)
class TermIndex:
    """The standard's own words for each requirement, found in a text as whole words: a dictionary look-up per
    word run rather than a regex search per term, so it stays linear in the text whatever the catalogue's size."""

    requirements: dict[str, list[int]]  # term -> the requirements that name it
    longest: int  # words in the longest term
    firsts: frozenset[str]  # first words of the terms, lower case: where a match can start

    def find(self, text: str) -> set[str]:
        tokens = _TOKEN.findall(text)
        lower = [t.lower() for t in tokens]
        found = {t for t in tokens if t in self.requirements and _is_acronym(t)}
        for start in range(len(tokens)):
            if lower[start] not in self.firsts:
                continue
            for end in range(start + 1, min(start + self.longest, len(tokens)) + 1):
                key = " ".join(lower[start:end])
                if key in self.requirements and not _is_acronym(key):
                    found.add(key)
        return found


def build_term_index(per_requirement: list[tuple[str, ...]]) -> TermIndex:
    """Each term -> the requirements that name it."""
    index: dict[str, list[int]] = {}
    for r, terms in enumerate(per_requirement):
        for term in terms:
            index.setdefault(_term_key(term), []).append(r)
    return TermIndex(index, max((key.count(" ") + 1 for key in index), default=0),
                     frozenset(key.split(" ")[0].lower() for key in index))


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z][a-z0-9]+", text.lower())
    return {_stem(w) for w in words if w not in _STOP and len(w) > 2}


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def requirement_texts(catalogue: Catalogue) -> tuple[list[str], list[tuple[int, str]]]:
    """The description text of each requirement, and (owner, example) pairs, in catalogue order."""
    descriptions, examples = [], []
    for i, r in enumerate(catalogue):
        descriptions.append(f"{r.title}. {r.description}")
        examples.extend((i, e) for e in r.examples)
    return descriptions, examples


def core_version(catalogue: Catalogue) -> str:
    """What the relevance features depend on: the core items' texts and the background."""
    digest = hashlib.sha256()
    for r in catalogue:
        if r.framework == CORE_FRAMEWORK:
            digest.update(f"{r.id}\x1f{r.title}\x1f{r.description}\x1f{chr(31).join(r.examples)}\x1e".encode())
    digest.update("\x1e".join(BACKGROUND).encode())
    return digest.hexdigest()[:12]


def build_profiles(catalogue: Catalogue, embed: EmbedFn, accepted: list[tuple[str, str]] = (),
                   rejected: list[tuple[str, str]] = (), with_evidence_model: bool = True,
                   model_name: str = "", fits: Path | None = None) -> Profiles:
    """Profiles from the catalogue, sharpened by assessors' decisions: (requirement id, passage text) pairs
    they accepted become examples, those they rejected become counter-examples; `fits`: where evidence-or-not
    fits for sentence models without a shipped one are kept (see `evidence_model.for_model`)."""
    descriptions, examples = requirement_texts(catalogue)
    index = {r.id: i for i, r in enumerate(catalogue)}
    # reviewed passages are precedents, not profile examples: texts of one relationship share names and
    # house style, and as examples they would make all of its documents look alike
    precedents = [(index[rid], text) for rid, text in accepted if rid in index]
    counters = [(index[rid], text) for rid, text in rejected if rid in index]
    vectors = embed(descriptions + [e for _, e in examples] + BACKGROUND + [t for _, t in counters]
                    + [t for _, t in precedents])
    nd, ne, nb, nc = len(descriptions), len(examples), len(BACKGROUND), len(counters)
    reqs = list(catalogue)
    profiles = Profiles(
        ids=[r.id for r in reqs], frameworks=[r.framework for r in reqs], titles=[r.title for r in reqs],
        doc_types=[frozenset(r.doc_types) for r in reqs],
        description_vectors=vectors[:nd], example_vectors=vectors[nd:nd + ne],
        example_owner=np.array([o for o, _ in examples], dtype=np.int32), examples=[e for _, e in examples],
        terms=[frozenset(content_words(f"{r.title} {r.description} {' '.join(r.examples)}")) for r in reqs],
        mean=np.zeros(nd, dtype=np.float32), spread=np.ones(nd, dtype=np.float32),
    )
    profiles.term_index = build_term_index([r.terms for r in reqs])
    profiles.stages = [str(r.stage) for r in reqs]
    profiles.groups = [CORE_GROUP if catalogue.frameworks[r.framework].default else r.framework for r in reqs]
    profiles.background_vectors = vectors[nd + ne:nd + ne + nb]
    profiles.counter_vectors = vectors[nd + ne + nb:nd + ne + nb + nc]
    profiles.counter_owner = np.array([o for o, _ in counters], dtype=np.int32)
    profiles.precedent_vectors = vectors[nd + ne + nb + nc:]
    profiles.precedent_owner = np.array([o for o, _ in precedents], dtype=np.int32)
    background, _ = profiles.raw_similarity(profiles.background_vectors)
    profiles.mean = background.mean(axis=0)
    # a floor on the spread keeps one tight background from making a requirement hair-triggered
    profiles.spread = np.maximum(background.std(axis=0), 0.03)
    if with_evidence_model:
        profiles.evidence_model = for_model(model_name, embed, profiles.relevance_features,
                                            core_version(catalogue), fits, dim=vectors.shape[1])
    return profiles
