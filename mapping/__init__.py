"""Mapping passages to requirements: embeddings, requirement profiles, calibrated scoring.

Imports `standards` only; storage and caching belong to `evidence`.
"""

from .embedder import (
                       DEFAULT_MODEL,
                       Embedder,
                       HashEmbedder,
                       ModelNotFound,
                       SentenceTransformerEmbedder,
                       get_embedder,
                       resolve_model,
)
from .profiles import Profiles, build_profiles, content_words
from .scoring import Link, MappingConfig, map_passages

__all__ = [
    "DEFAULT_MODEL", "Embedder", "HashEmbedder", "ModelNotFound", "SentenceTransformerEmbedder",
    "get_embedder", "resolve_model", "Profiles", "build_profiles", "content_words", "Link",
    "MappingConfig", "map_passages",
]
