"""Score passages against requirement profiles and decide evidence, candidates and nothing.

All of it is vectorised over passages: one matrix product per signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .profiles import Profiles, content_words


@dataclass
class MappingConfig:
    evidence_z: float = 4.0  # calibrated score at which a link is claimed as evidence (score 0.5)
    candidate_z: float = 2.5  # below evidence, at or above this a link is shown for review
    context_weight: float = 0.35  # how much the heading path or sheet a passage sits under counts
    doc_type_bonus: float = 0.5  # when the document is of a type that usually carries the requirement
    max_evidence: dict[str, int] = field(default_factory=lambda: {"BS11000": 3, "ISO44001": 2, "XTP": 1})
    default_max_evidence: int = 2
    max_candidates: int = 5
    min_similarity: float = 0.25  # raw cosine floor: below it nothing is linked, whatever the calibration

    def score(self, z: float) -> float:
        """Calibrated z as a 0-1 score: 0.5 is the evidence threshold for every requirement."""
        return 1.0 / (1.0 + math.exp(-(z - self.evidence_z)))

    @property
    def candidate_score(self) -> float:
        return self.score(self.candidate_z)


@dataclass
class Link:
    passage: int  # index into the passages given
    requirement_id: str
    score: float
    kind: str  # evidence | candidate
    rank: int | None
    why: dict


def combined_z(profiles: Profiles, text_vectors: np.ndarray, context_vectors: np.ndarray | None,
               doc_types: list[str], config: MappingConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(combined z (n, R), raw text similarity (n, R), best example index (n, R))."""
    z, raw, best_idx = profiles.calibrated(text_vectors)
    if context_vectors is not None and config.context_weight:
        z_ctx, _, _ = profiles.calibrated(context_vectors)
        z = z + config.context_weight * np.maximum(z_ctx, 0)
    prior = np.array([[dt in types for types in profiles.doc_types] for dt in doc_types], dtype=np.float32)
    return z + config.doc_type_bonus * prior, raw, best_idx


def map_passages(profiles: Profiles, text_vectors: np.ndarray, context_vectors: np.ndarray | None,
                 doc_types: list[str], texts: list[str], config: MappingConfig | None = None) -> list[Link]:
    """Evidence and candidate links for each passage."""
    config = config or MappingConfig()
    if len(texts) == 0:
        return []
    z, raw, best_idx = combined_z(profiles, text_vectors, context_vectors, doc_types, config)
    z = np.where(raw >= config.min_similarity, z, -np.inf)
    frameworks = np.array(profiles.frameworks)
    links: list[Link] = []
    for i in np.flatnonzero((z >= config.candidate_z).any(axis=1)):
        links.extend(_links_for(i, z[i], raw[i], best_idx[i], frameworks, profiles, texts[i], doc_types[i], config))
    return links


def _links_for(i, z_row, raw_row, best_row, frameworks, profiles, text, doc_type, config) -> list[Link]:
    order = np.argsort(-z_row)
    taken: dict[str, int] = {}
    evidence, candidates = [], []
    for r in order:
        if z_row[r] < config.candidate_z:
            break
        fw = frameworks[r]
        limit = config.max_evidence.get(fw, config.default_max_evidence)
        why = _why(profiles, r, z_row[r], raw_row[r], best_row[r], text, doc_type)
        if z_row[r] >= config.evidence_z and taken.get(fw, 0) < limit:
            taken[fw] = taken.get(fw, 0) + 1
            evidence.append(Link(int(i), profiles.ids[r], config.score(float(z_row[r])), "evidence", None, why))
        elif len(candidates) < config.max_candidates:
            candidates.append(Link(int(i), profiles.ids[r], config.score(float(z_row[r])), "candidate", None, why))
    for rank, link in enumerate(evidence, 1):
        link.rank = rank
    return evidence + candidates


def _why(profiles: Profiles, r: int, z: float, raw: float, best: int, text: str, doc_type: str) -> dict:
    shared = sorted(content_words(text) & profiles.terms[r])
    return {
        "similarity": round(float(raw), 3),
        "calibrated": round(float(z), 2),
        "closest_example": profiles.examples[best] if profiles.examples else "",
        "shared_terms": shared[:12],
        "doc_type_prior": doc_type in profiles.doc_types[r],
    }
