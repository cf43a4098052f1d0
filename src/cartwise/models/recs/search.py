"""Semantic product search over the catalogue's text embeddings.

The catalogue matrix holds unit vectors, so a normalised dot product is the
cosine similarity; the query is encoded with the same bundled model. One
query costs one encoding (about 13 ms) plus a matrix-vector product.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cartwise.models.recs._base import top_k_indices
from cartwise.models.recs.embeddings import ProductEmbeddings, TextEncoder, embed_texts, normalise_rows

__all__ = ["SemanticSearch"]

logger = logging.getLogger(__name__)


class SemanticSearch:
    """Top-k products for a free-text query: ``item_id, score, rank``."""

    def __init__(self, embeddings: ProductEmbeddings, encoder: TextEncoder | None = None) -> None:
        self.embeddings = embeddings
        self.encoder = encoder

    def search(self, query: str, k: int = 10) -> pd.DataFrame:
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        vector = embed_texts([query], self.encoder)[0]
        return self.search_vector(vector, k)

    def search_vector(self, vector: np.ndarray, k: int = 10) -> pd.DataFrame:
        if not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        q = normalise_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        if q.shape[1] != self.embeddings.vectors.shape[1]:
            raise ValueError(
                f"query vector has {q.shape[1]} dimensions, the catalogue {self.embeddings.vectors.shape[1]}"
            )
        scores = q @ self.embeddings.vectors.T
        top = top_k_indices(scores, k)[0]
        top = top[top >= 0]
        return pd.DataFrame(
            {
                "item_id": self.embeddings.item_ids[top],
                "score": scores[0, top].astype(np.float64),
                "rank": np.arange(1, len(top) + 1),
            }
        )
