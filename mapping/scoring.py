"""Score passages against requirement profiles and decide evidence, candidates and nothing.

All of it is vectorised over passages: one matrix product per signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .noise import dismissal
from .profiles import Profiles, content_words
from .threads import one_blas_thread


class Why:
    """The keys of a link's `why` (stored as JSON with every link, read by the pages and exports): one list."""

    SIMILARITY = "similarity"  # raw cosine to the requirement's profile
    CALIBRATED = "calibrated"  # the combined calibrated score
    CLOSEST_EXAMPLE = "closest_example"  # the profile example nearest the passage
    SHARED_TERMS = "shared_terms"  # content words the passage shares with the requirement
    STANDARD_TERMS = "standard_terms"  # the standard's own terms it uses ("SER", "exit strategy")
    DOC_TYPE_PRIOR = "doc_type_prior"  # its document is of a type that usually carries the requirement
    NEAREST_ORDINARY_TEXT = "nearest_ordinary_text"  # similarity to the nearest background text
    SIGNALS = "signals"  # each signal's share of the calibrated score
    REGISTER = "register"  # a row of a register kept for the requirement
    PRECEDENT = "precedent"  # like a passage an assessor accepted
    NOT_EVIDENCE = "not_evidence"  # why a candidate is not claimed
    CROSSWALK_FROM = "crosswalk_from"  # a link carried over the crosswalk from this requirement


@dataclass
class MappingConfig:
    evidence_z: float = 3.6  # calibrated score at which a link is claimed as evidence (score 0.5)
    candidate_z: float = 1.5  # below evidence, at or above this a link is shown for review
    context_weight: float = 0.5  # how much the heading path or sheet a passage sits under counts
    doc_type_bonus: float = 0.5  # when the document is of a type that usually carries the requirement
    # links a passage may claim per framework; an assessment's question is answered by passages about it, and a
    # passage about everything answers none of the others (OGC, mutuality, ACOP, trust behaviours: one each)
    max_evidence: dict[str, int] = field(default_factory=lambda: {
        "BS11000": 3, "ISO44001": 2, "XTP": 1, "OGC": 1, "MUT": 1, "ACOP": 1, "TB": 1})
    default_max_evidence: int = 2
    max_candidates: int = 5
    min_similarity: float = 0.25  # raw cosine floor: below it nothing is linked, whatever the calibration
    context_gate: float = 1.5  # context only raises requirements the text itself reaches this calibrated score for
    # the most a context's calibrated score counts: where a passage sits leans, never decides (an exit strategy's
    # title would otherwise carry every row of its risk table to the exit items, whatever each row says)
    context_cap: float | None = 4.5
    row_context_weight: float = 1.0  # a register or table row means much of what its sheet and columns say
    # ...and its register says what it evidences even when the row's own words are far from the standard's
    # (a lessons log's entry reads like any incident): the gate for rows
    row_context_gate: float = 2.0
    # a register's rows evidence what the register is for (every row of a lessons log is a lesson recorded, every
    # row of a joint risk register a joint risk): when a table's or sheet's heading and columns, on their own,
    # point at one requirement of a framework this clearly (its calibrated score, and its lead over the next),
    # the rows that read like evidence gain this much for it, whatever their own words say
    register_z: float = 4.5
    register_margin: float = 1.5
    register_weight: float = 3.0
    register_min_probability: float = 0.55  # ...and read like evidence at least this much (evidence-or-not model)
    lexical_bonus: float = 0.5  # when the passage uses the standard's own words for the requirement
    hub_weight: float = 0.5  # share of a passage's typical top-k score subtracted: text that matches everything
    hub_k: int = 10
    relative_margin: float = 1.5  # a further link is claimed only within this distance of the passage's best
    short_words: int = 12  # passages shorter than this many words have their score scaled down
    noise_margin: float = -0.05  # evidence must be this much closer to the requirement than to any background text
    # ...moved by up to this much by the evidence-or-not model: text it finds clearly evidence may sit nearer
    # ordinary text (a joint risk reads like any risk), text it doubts must keep further away
    noise_relief: float = 0.1
    precedent_similarity: float = 0.7  # this close to a reviewed passage, the assessor's decision carries over
    precedent_boost: float = 3.0  # calibrated score added when it is an accepted one
    precedent_same: float = 0.85  # this close, it is the accepted passage again, edited: claimed whatever else holds
    # an item is evidenced by an assessor's acceptance, this many passages, or one passage scoring this much;
    # a lone borderline link leaves it weak (coverage applies the rule, see evidence.db)
    item_min_support: int = 2
    item_strong_score: float = 0.9
    # the learned evidence-or-not judgement (mapping.evidence_model): its log-odds, times this, join the score...
    evidence_model_weight: float = 0.5
    # ...and a passage it finds this unlikely to be evidence of anything is shown for review, never claimed
    evidence_min_probability: float = 0.4
    # a document whose passages, taken together, read this little like evidence does not belong to the
    # relationship (a canteen contract in the folder): its links are demoted to candidates
    document_min_probability: float = 0.3
    document_min_passages: int = 5  # fewer passages than this say too little about a whole document
    # a document is mostly about one or two stages of the relationship (an exit strategy, selection minutes):
    # requirements of the stages its passages lean to gain up to this much, as far as the text reaches them
    document_stage_weight: float = 0.75

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
               doc_types: list[str], config: MappingConfig,
               texts: list[str] | None = None, kinds: list[str] | None = None,
               lexical: np.ndarray | None = None,
               parts: dict[str, np.ndarray] | None = None,
               evidence_probability: np.ndarray | None = None,
               text_scores: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               register: np.ndarray | None = None, context_scores: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(combined z (n, R), raw text similarity (n, R), best example index (n, R)); `lexical`: (n, R) 1 where a
    passage uses the standard's own words for a requirement; `parts`, if given, receives each signal's
    contribution, (n, R) or (n, 1), for the explanations; `text_scores`: `profiles.calibrated(text_vectors)`
    when the caller has it already; `register`: (n, R) the requirement each row's register is for (see
    `register_requirements`); `context_scores`: the calibrated scores of `context_vectors`, when the caller has
    them already."""
    parts = {} if parts is None else parts
    z_text, raw, best_idx = text_scores if text_scores is not None else profiles.calibrated(text_vectors)
    parts["text"] = z_text
    if texts is not None and config.short_words:
        words = np.array([len(t.split()) for t in texts], dtype=np.float32)
        scale = np.minimum(1.0, words / config.short_words)[:, None]
        # a fragment is weak evidence, however close its few words
        parts["short_text"] = np.where(z_text > 0, z_text * scale, z_text) - z_text
    if config.hub_weight:
        parts["matches_everything"] = _matches_everything(z_text + parts.get("short_text", 0), profiles, config)
    if context_vectors is not None and (config.context_weight or config.row_context_weight):
        z_ctx = context_scores if context_scores is not None else profiles.calibrated(context_vectors)[0]
        rows = np.array([k == "row" for k in kinds] if kinds else [False] * len(z_text), dtype=bool)[:, None]
        weight = np.where(rows, config.row_context_weight, config.context_weight)
        gate = np.where(rows, _gate(z_text, config.row_context_gate), _gate(z_text, config.context_gate))
        parts["context"] = weight * np.clip(z_ctx, 0, config.context_cap) * gate
    if lexical is not None and config.lexical_bonus:
        parts["standard_terms"] = config.lexical_bonus * lexical * _gate(z_text, config.context_gate)
    if register is not None and config.register_weight:
        parts["register"] = config.register_weight * register
    prior = np.array([[dt in types for types in profiles.doc_types] for dt in doc_types], dtype=np.float32)
    parts["document_type"] = config.doc_type_bonus * prior
    if evidence_probability is not None and config.evidence_model_weight:
        logit = np.log(evidence_probability / (1 - evidence_probability))
        parts["evidence_like"] = config.evidence_model_weight * np.clip(logit, -4, 4)[:, None]
    return sum(parts.values()), raw, best_idx


def register_requirements(profiles: Profiles, context_scores: np.ndarray | None,
                          raw_context_vectors: np.ndarray | None, kinds: list[str], config: MappingConfig,
                          p_evidence: np.ndarray | None = None) -> np.ndarray | None:
    """(n, R) 1 where a row sits in a register for the requirement: one of its contexts (the sheet or table name
    and columns as the reader wrote them, or those with the document's title) points, on its own, at that one
    requirement of a framework, clearly ahead of the rest; None if no row does. `context_scores`: the calibrated
    scores of the contexts with the title (computed once by the caller, the context signal reads them too)."""
    rows = np.array([k == "row" for k in kinds], dtype=bool)
    if p_evidence is not None:  # a routine entry of one party's is still kept in the log; it evidences nothing
        rows &= p_evidence >= config.register_min_probability
    if not config.register_weight or not rows.any() or (context_scores is None and raw_context_vectors is None):
        return None
    scores = [context_scores] if context_scores is not None else []
    if raw_context_vectors is not None:
        scores.append(profiles.calibrated(raw_context_vectors)[0])
    frameworks = np.array(profiles.frameworks)
    register = np.zeros((len(kinds), len(frameworks)), dtype=np.float32)
    for z_ctx in scores:
        for fw in set(profiles.frameworks):
            cols = np.flatnonzero(frameworks == fw)
            if len(cols) < 2:
                continue
            ordered = np.sort(z_ctx[:, cols], axis=1)
            top = cols[z_ctx[:, cols].argmax(axis=1)]
            clear = rows & (ordered[:, -1] >= config.register_z) & (
                ordered[:, -1] - ordered[:, -2] >= config.register_margin)
            register[np.flatnonzero(clear), top[clear]] = 1.0
    return register if register.any() else None


def _matches_everything(z: np.ndarray, profiles: Profiles, config: MappingConfig) -> np.ndarray:
    """(n, 1), or (n, R) when several groups are scored: a share of a passage's typical top-k score, subtracted
    (text that matches everything evidences nothing in particular), within each group of requirements."""
    groups = np.array(profiles.groups or [""] * z.shape[1])
    out = np.zeros(z.shape, dtype=z.dtype)
    for group in dict.fromkeys(groups):
        cols = np.flatnonzero(groups == group)
        k = min(config.hub_k, len(cols))
        top = np.sort(z[:, cols], axis=1)[:, -k:].mean(axis=1, keepdims=True)
        out[:, cols] = -config.hub_weight * np.maximum(top, 0)
    return out if len(set(groups)) > 1 else out[:, :1]


def _gate(z_text: np.ndarray, gate: float) -> np.ndarray | float:
    """Context and terms raise what the text already suggests; they cannot create evidence on their own."""
    return np.clip(z_text / gate, 0.0, 1.0) if gate else 1.0


@one_blas_thread
def map_passages(profiles: Profiles, text_vectors: np.ndarray, context_vectors: np.ndarray | None,
                 doc_types: list[str], texts: list[str], config: MappingConfig | None = None,
                 kinds: list[str] | None = None, titles: list[str] | None = None,
                 openers: list[bool] | None = None, contexts: list[str] | None = None,
                 raw_context_vectors: np.ndarray | None = None) -> list[Link]:
    """Evidence and candidate links for the passages of one document; `openers` marks the passages that open
    it, `contexts` gives where each sits (heading path, or sheet and columns) as the reader wrote it, and
    `raw_context_vectors` their vectors (what the evidence-or-not model reads)."""
    config = config or MappingConfig()
    if len(texts) == 0:
        return []
    lexical, matched = profiles.lexical(texts)
    kinds = kinds or ["paragraph"] * len(texts)
    # the text's scores against every profile and its nearest ordinary text, computed once: the evidence-or-not
    # model reads them as well as the scoring
    text_scores = profiles.calibrated(text_vectors)
    noise = profiles.noise_similarity(text_vectors)
    p_evidence = profiles.evidence_probability(text_vectors, raw_context_vectors, texts, kinds,
                                               (text_scores[0], text_scores[1], noise))
    furniture = [dismissal(texts[i], kinds[i], titles[i] if titles else "", bool(openers and openers[i]),
                           contexts[i] if contexts else "") for i in range(len(texts))]
    unrelated = _unrelated_document(p_evidence, [f is None for f in furniture], config)
    parts: dict[str, np.ndarray] = {}
    # the contexts' scores, read by the context signal and the register rule alike: computed once
    context_scores = profiles.calibrated(context_vectors)[0] if context_vectors is not None else None
    register = register_requirements(profiles, context_scores, raw_context_vectors, kinds, config, p_evidence)
    z, raw, best_idx = combined_z(profiles, text_vectors, context_vectors, doc_types, config, texts, kinds, lexical,
                                  parts, p_evidence, text_scores, register, context_scores)
    if config.document_stage_weight:
        parts["document_stage"] = _document_stage(profiles, z, parts["text"], [f is None for f in furniture], config)
        z = z + parts["document_stage"]
    counter = profiles.counter_similarity(text_vectors)
    precedent = profiles.precedent_similarity(text_vectors)
    # a row's register link rests on where it sits, not on its own words: the floor on those is not for it
    in_register = register > 0 if register is not None else np.zeros(z.shape, dtype=bool)
    z = np.where((raw >= config.min_similarity) | in_register, z, -np.inf)
    z, favoured = _with_precedents(z, precedent, config)
    frameworks = np.array(profiles.frameworks)
    # a register's link does not crowd out what the row's own words evidence: "near the best" is judged without it
    own = np.where(in_register, -np.inf, z)
    best_in = {fw: own[:, frameworks == fw].max(axis=1) for fw in set(profiles.frameworks)}
    links: list[Link] = []
    for i in np.flatnonzero((z >= config.candidate_z).any(axis=1)):
        row = _Row(
            int(i), texts[i], doc_types[i], z[i], raw[i], best_idx[i], float(noise[i]),
            best_in={fw: float(values[i]) for fw, values in best_in.items()},
            dismissed=furniture[i] or _unlikely(p_evidence, i, config) or unrelated,
            noise_margin=config.noise_margin - config.noise_relief * (
                2 * float(p_evidence[i]) - 1 if p_evidence is not None else 0.0),
            # nearly the same as a passage an assessor rejected for a requirement (and not as close to an
            # accepted one): the rejection carries over
            overruled=(counter[i] >= config.precedent_similarity) & (counter[i] > precedent[i]),
            favoured=favoured[i], matched=matched[i], signals={name: values[i] for name, values in parts.items()},
            register=in_register[i])
        links.extend(_links_for(row, frameworks, profiles, config))
    return links


def _document_stage(profiles: Profiles, z: np.ndarray, z_text: np.ndarray, body: list[bool],
                    config: MappingConfig) -> np.ndarray:
    """(n, R) the lean of the whole document: each body passage votes, per framework, for the stage of its best
    requirement there; a requirement gains in proportion to its stage's share of the votes."""
    frameworks = np.array(profiles.frameworks)
    groups = np.array([f"{fw}/{st}" for fw, st in zip(profiles.frameworks, profiles.stages or [""] * len(frameworks))])
    share = np.zeros(len(groups), dtype=np.float32)
    rows = np.flatnonzero(np.array(body)) if body else np.arange(len(z))
    for fw in set(profiles.frameworks):
        cols = np.flatnonzero(frameworks == fw)
        best = cols[z[rows][:, cols].argmax(axis=1)] if len(rows) else np.array([], dtype=int)
        strong = best[z[rows, best] >= config.candidate_z] if len(rows) else best
        if len(strong) < 3:  # too few to say what the document is about
            continue
        votes = {g: n for g, n in zip(*np.unique(groups[strong], return_counts=True))}
        share[cols] = [votes.get(groups[c], 0) / len(strong) for c in cols]
    return config.document_stage_weight * share[None, :] * _gate(z_text, config.context_gate)


def _unlikely(p_evidence: np.ndarray | None, i: int, config: MappingConfig) -> str | None:
    if p_evidence is None or p_evidence[i] >= config.evidence_min_probability:
        return None
    return f"reads like text that evidences nothing (evidence-or-not model: {p_evidence[i]:.2f})"


def _unrelated_document(p_evidence: np.ndarray | None, body: list[bool], config: MappingConfig) -> str | None:
    """Why the document as a whole seems not to belong to the relationship, or None. Judged on its body: the
    furniture every document has (history tables, glossaries, cover blocks) says nothing either way."""
    if p_evidence is None or not config.document_min_probability or sum(body) < config.document_min_passages:
        return None
    typical = float(np.mean(p_evidence[np.array(body)]))
    if typical >= config.document_min_probability:
        return None
    return (f"the document as a whole reads like no part of the relationship's management (its passages average "
            f"{typical:.2f} on the evidence-or-not model): a document that only shares the vocabulary")


def _with_precedents(z: np.ndarray, precedent: np.ndarray, config: MappingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Scores raised where a passage is like one an assessor accepted; (n, R) where it is all but the same one."""
    # nearly the same as a passage an assessor accepted for a requirement: the decision carries weight
    z = z + np.where(precedent >= config.precedent_similarity, config.precedent_boost, 0.0)
    # all but the same text (a re-issued register row, next year's plan): the assessor's decision stands
    favoured = precedent >= config.precedent_same
    return np.where(favoured, np.maximum(z, config.evidence_z), z), favoured


@dataclass
class _Row:
    """One passage's scores and circumstances, as the per-passage decisions need them."""

    index: int
    text: str
    doc_type: str
    z: np.ndarray  # (R,) combined calibrated score
    raw: np.ndarray  # (R,) raw similarity
    best_example: np.ndarray  # (R,)
    noise: float  # similarity to the nearest background text
    best_in: dict[str, float]  # the passage's best score in each framework
    dismissed: str | None = None
    overruled: np.ndarray | None = None  # (R,) like a passage an assessor rejected for the requirement
    favoured: np.ndarray | None = None  # (R,) all but the same as a passage an assessor accepted
    matched: dict[int, list[str]] | None = None  # the standard's terms it uses, per requirement
    signals: dict[str, np.ndarray] | None = None  # each signal's contribution, for the explanation
    noise_margin: float = -0.05  # how much closer to ordinary text than to the requirement it may be
    register: np.ndarray | None = None  # (R,) the requirement its register is for


def _links_for(row: _Row, frameworks: np.ndarray, profiles: Profiles, config: MappingConfig) -> list[Link]:
    groups = profiles.groups or [""] * len(frameworks)
    if len(set(groups)) > 1:  # each group decided on its own, as if it were the only one loaded
        return [link for group in dict.fromkeys(groups)
                for link in _links_in(row, frameworks, profiles, config, np.array(groups) == group)]
    return _links_in(row, frameworks, profiles, config, None)


def _links_in(row: _Row, frameworks: np.ndarray, profiles: Profiles, config: MappingConfig,
              group: np.ndarray | None) -> list[Link]:
    taken: dict[str, int] = {}
    evidence, candidates = [], []
    words = content_words(row.text)
    order = np.argsort(-row.z)
    for r in (order if group is None else order[group[order]]):
        z = float(row.z[r])
        if z < config.candidate_z or (z < config.evidence_z and len(candidates) >= config.max_candidates):
            break  # nothing further down can be kept
        fw = frameworks[r]
        accepted_before = row.favoured is not None and bool(row.favoured[r])
        in_register = row.register is not None and bool(row.register[r])
        rejected_before = row.overruled is not None and bool(row.overruled[r])
        blocked = (row.dismissed and not accepted_before) or rejected_before
        over = z >= config.evidence_z and not blocked
        refused = _refusal(row, r, fw, taken, config, accepted_before, in_register) if over else None
        claim = over and refused is None
        if not claim and len(candidates) >= config.max_candidates:
            continue
        why = _why(profiles, row, r, words)
        if in_register:
            why[Why.REGISTER] = "a row of a register kept for this requirement (its sheet or table and columns say so)"
        if accepted_before:
            why[Why.PRECEDENT] = "like a passage an assessor accepted for this requirement"
        if blocked:
            why[Why.NOT_EVIDENCE] = ("like a passage an assessor rejected for this requirement" if rejected_before
                                   else row.dismissed)
        elif refused:  # a score over the threshold, unclaimed: the reader is told why
            why[Why.NOT_EVIDENCE] = refused
        link = Link(row.index, profiles.ids[r], config.score(z), "evidence" if claim else "candidate", None, why)
        if claim:
            taken[fw] = taken.get(fw, 0) + 1
        (evidence if claim else candidates).append(link)
    for rank, link in enumerate(evidence, 1):
        link.rank = rank
    return evidence + candidates


def _refusal(row: _Row, r: int, fw: str, taken: dict[str, int], config: MappingConfig, accepted_before: bool,
             in_register: bool) -> str | None:
    """Why a link scoring over the evidence threshold (and not dismissed) stays a candidate, or None: it is
    claimed. The claim rule itself, so the reason shown is always the one that decided."""
    most = config.max_evidence.get(fw, config.default_max_evidence)
    if taken.get(fw, 0) >= most:
        return f"the passage already evidences its {most} strongest requirement(s) of this framework"
    if accepted_before:
        return None
    if row.z[r] < row.best_in[fw] - config.relative_margin:  # not near the passage's best
        return "the passage evidences another requirement of this framework much more clearly than this one"
    # closer to this than to ordinary text, or in a register for it (the model judged the row)
    if not in_register and row.raw[r] - row.noise < row.noise_margin:
        return (f"the passage is as close to ordinary text ({row.noise:.2f}) as to this requirement "
                f"({float(row.raw[r]):.2f}): wording common outside relationship management")
    return None


def _signals(signals: dict[str, np.ndarray], r: int, total: float) -> dict[str, float]:
    """Each signal's share of the calibrated score, so a reader sees what carried the link."""
    values = {name: float(v[r if len(v) > 1 else 0]) for name, v in signals.items()}
    values["assessor_decisions"] = total - sum(values.values())  # precedents: whatever the signals do not explain
    return {name: round(v, 2) for name, v in values.items() if abs(v) >= 0.005}


def _why(profiles: Profiles, row: _Row, r: int, words: set[str]) -> dict:
    why = {
        Why.SIMILARITY: round(float(row.raw[r]), 3),
        Why.CALIBRATED: round(float(row.z[r]), 2),
        Why.CLOSEST_EXAMPLE: profiles.examples[row.best_example[r]] if row.best_example[r] >= 0 else "",
        Why.SHARED_TERMS: sorted(words & profiles.terms[r])[:12],
        Why.DOC_TYPE_PRIOR: row.doc_type in profiles.doc_types[r],
        Why.NEAREST_ORDINARY_TEXT: round(row.noise, 3),
    }
    if row.matched and r in row.matched:
        why[Why.STANDARD_TERMS] = row.matched[r]
    if row.signals:
        why[Why.SIGNALS] = _signals(row.signals, r, float(row.z[r]))
    return why
