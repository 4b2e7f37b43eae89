"""Evidence or not: a small learned judgement over a passage's embedding, its context, its form and how near
the core requirement profiles it comes.

Trained on a corpus we wrote ourselves (`mapping/data/evidence_corpus/*.yaml`: relationship documents of twenty
sectors and every kind, each passage marked as evidence of the relationship being managed or not, with many
near misses: document control, glossaries, placeholder rows, legal and HR boilerplate, procurement mechanics,
one party's own risks, whole unrelated documents that share the vocabulary). The corpus is data a reviewer can
read; the model is a logistic regression fitted on it for whichever sentence model embeds the passages, so it
follows the user's choice of model. The fit for the bundled model ships as data (`data/evidence_model.json`);
any other model costs one embedding of the corpus, cached like any other text.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .embedder import shipped_name

CORPUS_DIR = Path(__file__).parent / "data" / "evidence_corpus"
# the model fitted for the bundled sentence model, so a new database does not embed the corpus again
SHIPPED = Path(__file__).parent / "data" / "evidence_model.json"
EmbedFn = Callable[[list[str]], np.ndarray]
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+")
_NUMBER = re.compile(r"\d+(?:[.,:/\-]\d+)*")


@dataclass(frozen=True)
class CorpusPassage:
    text: str
    form: str  # paragraph | row
    context: str
    doc: str
    evidence: bool
    sector: str
    note: str = ""


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: ten times faster
_LOADED: dict[tuple, list[CorpusPassage]] = {}


def load_corpus(folder: Path | None = None) -> list[CorpusPassage]:
    """Every labelled passage of the corpus (the shipped one unless another folder is given), in file order.
    Parsed once per process while its files stay as they are: every new database and re-map reads it."""
    paths = sorted((folder or CORPUS_DIR).glob("*.yaml"))
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = [passage for path in paths for passage in _read_corpus_file(path)]
    return list(_LOADED[key])


def _read_corpus_file(path: Path) -> list[CorpusPassage]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    return [CorpusPassage(str(p["text"]), p.get("form", "paragraph"), p.get("context", "") or "", p.get("doc", ""),
                          bool(p["evidence"]), path.stem, p.get("note", "") or "") for p in data["passages"]]


def corpus_version(passages: list[CorpusPassage]) -> str:
    digest = hashlib.sha256()
    for p in passages:
        digest.update(f"{p.text}\x1f{p.form}\x1f{p.evidence}\x1e".encode())
    return digest.hexdigest()[:16]


def form_features(texts: list[str], kinds: list[str]) -> np.ndarray:
    """(n, 4): what the shape of a passage says, whatever its words: a row, its length, how much is figures,
    how much is capitalised names."""
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for i, (text, kind) in enumerate(zip(texts, kinds)):
        words = _WORD.findall(text)
        numbers = _NUMBER.findall(text)
        out[i, 0] = kind == "row"
        out[i, 1] = math.log1p(len(words)) / 5
        out[i, 2] = len(numbers) / max(1, len(words) + len(numbers))
        out[i, 3] = sum(w[0].isupper() for w in words) / max(1, len(words))
    return out


RelevanceFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class Inputs:
    """What the model reads of each passage: its text and context vectors, its form, and how near the
    requirement profiles it comes (from the profiles: `Profiles.relevance_features`)."""

    vectors: np.ndarray  # (n, d) the text
    context_vectors: np.ndarray  # (n, d) where it sits: the reader's heading path or sheet and columns
    texts: list[str]
    kinds: list[str]
    relevance: np.ndarray  # (n, k)

    def features(self) -> np.ndarray:
        return np.hstack([self.vectors, self.context_vectors, form_features(self.texts, self.kinds), self.relevance])


@dataclass
class EvidenceModel:
    """p(evidence) = sigmoid(w . [text vector, context vector, form, relevance] + b)."""

    weights: np.ndarray
    bias: float
    version: str

    def probability(self, inputs: Inputs) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(inputs.features() @ self.weights + self.bias)))


def fit(inputs: Inputs, labels: np.ndarray, c: float = 1.0, version: str = "") -> EvidenceModel:
    """A regularised logistic regression; classes weighted so the share of evidence in the corpus sets no prior."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit(inputs.features(), labels.astype(int))
    return EvidenceModel(model.coef_[0].astype(np.float32), float(model.intercept_[0]), version)


def train(embed: EmbedFn, relevance: RelevanceFn, profiles_version: str = "",
          corpus: list[CorpusPassage] | None = None, c: float = 1.0) -> EvidenceModel:
    """The model for the sentence model behind `embed` and the profiles behind `relevance`, fitted on the
    shipped corpus (or the one given)."""
    corpus = load_corpus() if corpus is None else corpus
    texts = [p.text for p in corpus]
    vectors = embed(texts + [p.context for p in corpus])
    n = len(texts)
    inputs = Inputs(vectors[:n], vectors[n:], texts, [p.form for p in corpus], relevance(vectors[:n]))
    labels = np.array([p.evidence for p in corpus])
    return fit(inputs, labels, c, f"{corpus_version(corpus)}-{profiles_version}")


_FITTED: dict[tuple[str, str], EvidenceModel] = {}  # fits made in this process, by model name and version


# what a kept fit was made with beyond its corpus and profiles: the features it reads and how it was fitted; a
# change to form_features, the relevance features or `fit` bumps it, so no fit of the old kind is read again
FIT_FORMAT = 1


def for_model(model_name: str, embed: EmbedFn, relevance: RelevanceFn, profiles_version: str,
              fits: Path | None = None, dim: int | None = None) -> EvidenceModel:
    """The shipped fit when it was made for this sentence model, today's corpus and these profiles, else a
    fit made earlier in this process for the same (a watcher re-maps after every review), else one kept in
    the folder `fits` (the user's cache: another sentence model is fitted once per user, not once per run),
    else a fresh fit, kept there. Sentence models are deterministic, so the model name and the versions say
    everything a fit depends on."""
    version = f"{corpus_version(load_corpus())}-{profiles_version}"
    shipped = load_shipped()
    if shipped and shipped[0] == shipped_name(model_name) and shipped[1].version == version:
        return shipped[1]
    if (model_name, version) not in _FITTED:
        fitted = _kept_fit(model_name, version, fits, _feature_count(relevance, dim) if dim else None)
        if fitted is None:
            fitted = rounded(train(embed, relevance, profiles_version))
            _keep_fit(model_name, fitted, fits)
        _FITTED[model_name, version] = fitted
    return _FITTED[model_name, version]


def rounded(model: EvidenceModel) -> EvidenceModel:
    """The fit as it is written (six decimals): a kept fit and a fresh one decide alike."""
    return EvidenceModel(np.array([round(float(w), 6) for w in model.weights], dtype=np.float32),
                         round(model.bias, 6), model.version)


def _feature_count(relevance: RelevanceFn, dim: int) -> int:
    """How many weights a fit for vectors of `dim` has: text and context vectors, form and relevance features."""
    return 2 * dim + form_features([""], ["paragraph"]).shape[1] + relevance(np.zeros((1, dim), np.float32)).shape[1]


def _fit_path(model_name: str, version: str, fits: Path) -> Path:
    key = hashlib.sha256(f"{model_name}\x1f{version}\x1f{FIT_FORMAT}".encode()).hexdigest()[:16]
    return fits / f"evidence-model-{key}.json"


def _kept_fit(model_name: str, version: str, fits: Path | None, features: int | None) -> EvidenceModel | None:
    if fits is None:
        return None
    try:
        kept = load_shipped(_fit_path(model_name, version, fits))
    except (OSError, ValueError, KeyError, TypeError):  # a half-written or foreign file: fit again
        return None
    if not kept or kept[0] != model_name or kept[1].version != version:
        return None
    return kept[1] if features is None or kept[1].weights.shape == (features,) else None


def _keep_fit(model_name: str, model: EvidenceModel, fits: Path | None) -> None:
    """Save a fit in the user's cache; a cache that cannot be written is skipped, never fatal."""
    if fits is None:
        return
    path = _fit_path(model_name, model.version, fits)
    try:
        fits.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        write_shipped(model_name, model, partial)
        partial.replace(path)  # whole or not at all: another process may be reading it
    except OSError:
        pass


def load_shipped(path: Path = SHIPPED) -> tuple[str, EvidenceModel] | None:
    """(sentence model name, model) of the shipped fit, or None when there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data["model"], EvidenceModel(np.array(data["weights"], dtype=np.float32), data["bias"],
                                        data["corpus_version"])


def write_shipped(model_name: str, model: EvidenceModel, path: Path = SHIPPED) -> None:
    """Save a fit as reviewable JSON (one weight per text and context dimension, form and relevance feature)."""
    path.write_text(json.dumps({"model": model_name, "corpus_version": model.version, "bias": round(model.bias, 6),
                                "weights": [round(float(w), 6) for w in model.weights]}) + "\n")
