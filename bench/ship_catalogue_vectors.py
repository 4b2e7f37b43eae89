"""Write the vectors of the default catalogues and the background text for the bundled model.

    python bench/ship_catalogue_vectors.py

Run it after editing a default catalogue (BS 11000, ISO 44001, the Charter) or the background text: a test fails
until the shipped file covers today's texts. Texts it does not cover are still encoded on first use (and kept in
the per-user cache), so a stale file costs time, never correctness.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapping import SentenceTransformerEmbedder  # noqa: E402
from mapping.background import BACKGROUND  # noqa: E402
from mapping.embedder import SHIPPED_VECTORS, write_shipped_vectors  # noqa: E402
from mapping.profiles import requirement_texts  # noqa: E402
from standards import load_catalogue  # noqa: E402


def shipped_texts() -> list[str]:
    descriptions, examples = requirement_texts(load_catalogue())
    return list(dict.fromkeys(descriptions + [e for _, e in examples] + BACKGROUND))


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    texts = shipped_texts()
    write_shipped_vectors(embedder.name, texts, embedder.embed(texts))
    print(f"wrote {SHIPPED_VECTORS} ({len(texts)} texts) for {embedder.name}")


if __name__ == "__main__":
    main()
