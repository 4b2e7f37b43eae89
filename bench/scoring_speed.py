"""Scoring speed: map_passages on 10,000 passages against the whole catalogue, from vectors already embedded.

    python bench/scoring_speed.py [--passages 10000]

The bundled sample pack's passages and contexts are embedded once with the real model, then repeated (each copy
with a little noise on its vectors, so no two rows are identical) up to the number asked for. Only the mapping
is timed: calibration, context, terms, hubness, noise margin, dismissal rules and the per-passage decisions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import read_document  # noqa: E402
from mapping import MappingConfig, SentenceTransformerEmbedder, build_profiles, map_passages  # noqa: E402
from mapping.scoring import combined_z  # noqa: E402
from samples import write_sample_pack  # noqa: E402
from standards import load_catalogue  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder()
    profiles = build_profiles(load_catalogue(), embedder.embed)
    with tempfile.TemporaryDirectory() as tmp:
        write_sample_pack(Path(tmp), extras=False)
        passages = [p for f in sorted(Path(tmp).iterdir()) for p in read_document(f).passages]
    texts, contexts = [p.text for p in passages], [p.context for p in passages]
    vectors, context_vectors = embedder.embed(texts), embedder.embed(contexts)
    reps = -(-args.passages // len(texts))
    rng = np.random.default_rng(0)
    tile = lambda v: _normalise(np.tile(v, (reps, 1))[:args.passages] + rng.normal(0, 0.01, (args.passages, v.shape[1])))  # noqa: E731
    vectors, context_vectors = tile(vectors), tile(context_vectors)
    texts = (texts * reps)[:args.passages]
    kinds = ([p.kind for p in passages] * reps)[:args.passages]
    doc_types = ["rmp"] * args.passages
    timings, scores, links = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        lexical, _ = profiles.lexical(texts)
        combined_z(profiles, vectors, context_vectors, doc_types, MappingConfig(), texts, kinds, lexical)
        profiles.noise_similarity(vectors)
        scores.append(time.perf_counter() - started)
        started = time.perf_counter()
        links = map_passages(profiles, vectors, context_vectors, doc_types, texts, MappingConfig(), kinds=kinds)
        timings.append(time.perf_counter() - started)
    claimed = sum(lk.kind == "evidence" for lk in links)
    print(f"{args.passages} passages x {len(profiles.ids)} requirements, median of {args.runs}: "
          f"scores (all signals, vectorised) {_median(scores):.2f} s; whole mapping with decisions and "
          f"explanations {_median(timings):.2f} s ({claimed} evidence links, {len(links) - claimed} candidates)")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _normalise(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


if __name__ == "__main__":
    main()
