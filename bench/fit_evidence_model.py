"""Refit the evidence-or-not model on the shipped corpus for the bundled sentence model and save it.

    python bench/fit_evidence_model.py

Run it after editing mapping/data/evidence_corpus/: the shipped fit names the corpus version it was made from,
and a database whose corpus differs fits afresh (and a test fails) until it is refitted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapping import (
    SentenceTransformerEmbedder,  # noqa: E402
    build_profiles,  # noqa: E402
)
from mapping.evidence_model import SHIPPED, train, write_shipped  # noqa: E402
from mapping.profiles import core_version  # noqa: E402
from standards import load_catalogue  # noqa: E402


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    profiles = build_profiles(load_catalogue(), embedder.embed, with_evidence_model=False)
    model = train(embedder.embed, profiles.relevance_features, core_version(load_catalogue()))
    write_shipped(embedder.name, model)
    print(f"wrote {SHIPPED} for {embedder.name}, corpus {model.version}")


if __name__ == "__main__":
    main()
