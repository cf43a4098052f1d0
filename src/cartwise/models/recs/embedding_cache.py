"""An on-disk cache of product text embeddings, keyed by a hash of each product's text.

Embedding the catalogue costs about 13 ms per product on one thread, so a
retraining run embeds only the products whose text is new or changed since
the last run and reuses the stored vectors of the others. The cache lives in
one directory per text model (``<data_dir>/embeddings/<model-name>/``):

- ``vectors-<generation>.npy``: unit-norm float32 vectors, one row per entry;
- ``keys-<generation>.npy``: the SHA-256 of each entry's text (hex);
- ``ids-<generation>.npy``: the product id that last had that text (for inspection);
- ``manifest.json``: the current generation, the model name and the dimension.

A write stages the three arrays under a fresh generation name and then
replaces ``manifest.json`` in one ``os.replace``, so a reader sees either the
old cache or the new one, never a mix; files of older generations are removed
afterwards. A cache that cannot be read (missing files, wrong model or
dimension) is treated as empty and rebuilt, with a warning: it only saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from cartwise.errors import SchemaError
from cartwise.models.recs.embeddings import (
    EMBEDDING_DIM,
    EMBEDDING_MODEL,
    ProductEmbeddings,
    TextEncoder,
    embed_texts,
    product_text,
)

__all__ = ["CachedEmbeddings", "EmbeddingCache", "text_key"]

logger = logging.getLogger(__name__)

_MANIFEST = "manifest.json"
_CACHE_FORMAT = 1


def text_key(text: str) -> str:
    """The cache key of one product text: its SHA-256, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedEmbeddings:
    """The catalogue's embeddings; ``embedded`` texts were encoded now, ``reused`` products read from the cache.

    Products that share a text are encoded once, so ``embedded + reused`` can be
    less than the number of products.
    """

    embeddings: ProductEmbeddings
    embedded: int
    reused: int


class EmbeddingCache:
    """Product embeddings of one text model, stored under ``directory``.

    ``embed(products)`` returns the embeddings of every product, encoding only
    the texts the cache does not hold, then stores the catalogue's vectors.
    The encoder is loaded only when something has to be embedded.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        model_name: str = EMBEDDING_MODEL,
        dim: int = EMBEDDING_DIM,
        encoder: TextEncoder | None = None,
        batch_size: int = 64,
    ) -> None:
        self.directory = Path(directory)
        self.model_name = model_name
        self.dim = dim
        self.encoder = encoder
        self.batch_size = batch_size

    # -- reading -----------------------------------------------------------------
    def load(self) -> dict[str, np.ndarray]:
        """The cached vectors by text key; empty when there is no usable cache."""
        manifest_path = self.directory / _MANIFEST
        if not manifest_path.exists():
            return {}
        try:
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("format") != _CACHE_FORMAT or manifest.get("model") != self.model_name:
                raise ValueError(f"it belongs to {manifest.get('model')!r}, format {manifest.get('format')}")
            generation = str(manifest["generation"])
            keys = np.load(self.directory / f"keys-{generation}.npy", allow_pickle=False)
            vectors = np.load(self.directory / f"vectors-{generation}.npy", allow_pickle=False)
            if vectors.ndim != 2 or vectors.shape != (len(keys), self.dim):
                raise ValueError(f"it holds {vectors.shape} vectors for {len(keys)} keys, not {self.dim}-d")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring the embedding cache at %s (%s); it will be rebuilt", self.directory, exc)
            return {}
        return dict(zip(keys.tolist(), vectors.astype(np.float32, copy=False), strict=True))

    # -- writing -----------------------------------------------------------------
    def store(self, keys: list[str], ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the cache with these entries (one per distinct key), atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = uuid.uuid4().hex
        arrays = {
            "keys": np.asarray(keys, dtype="<U64"),
            "ids": ids if ids.dtype.kind in "iu" else ids.astype(str),
            "vectors": np.ascontiguousarray(vectors, dtype=np.float32),
        }
        for name, array in arrays.items():
            self._write_atomically(f"{name}-{generation}.npy", partial(np.save, arr=array))
        manifest = {
            "format": _CACHE_FORMAT,
            "model": self.model_name,
            "dim": self.dim,
            "generation": generation,
            "entries": len(keys),
        }
        self._write_atomically(_MANIFEST, lambda f: f.write(json.dumps(manifest, indent=2).encode()))
        for old in self.directory.glob("*-*.npy"):
            if not old.name.endswith(f"-{generation}.npy"):
                with contextlib.suppress(OSError):  # another run may have removed it already
                    old.unlink()

    def _write_atomically(self, name: str, write: Callable[[BinaryIO], object]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # -- the whole job -------------------------------------------------------------
    def embed(self, products: pd.DataFrame) -> CachedEmbeddings:
        """Embeddings of ``products`` (``product_id``, ``title``, optional ``category``/``description``)."""
        if "product_id" not in products.columns:
            raise SchemaError(f"products need a 'product_id' column; they have {list(products.columns)}")
        if products["product_id"].duplicated().any():
            dupes = products.loc[products["product_id"].duplicated(), "product_id"].head(5).tolist()
            raise SchemaError(
                f"products hold duplicate product_id values, e.g. {dupes}; each must appear once"
            )
        ids = products["product_id"].to_numpy()
        texts = product_text(products)
        keys = [text_key(t) for t in texts]
        cached = self.load()
        missing = list(dict.fromkeys(k for k in keys if k not in cached))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            logger.info("embedding %d new or changed product texts (%d cached)", len(missing), len(cached))
            fresh = embed_texts([text_of[k] for k in missing], self.encoder, batch_size=self.batch_size)
            cached.update(zip(missing, fresh, strict=True))
        vectors = (
            np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)
            if keys
            else np.zeros((0, self.dim), dtype=np.float32)
        )
        new_keys = set(missing)
        n_reused = sum(1 for k in keys if k not in new_keys)
        distinct = list(dict.fromkeys(keys))
        if distinct and (missing or len(distinct) != len(cached)):
            first = pd.Series(ids, index=keys)
            first = first[~first.index.duplicated()]
            self.store(distinct, first.loc[distinct].to_numpy(), np.stack([cached[k] for k in distinct]))
        return CachedEmbeddings(ProductEmbeddings(ids, vectors), embedded=len(missing), reused=n_reused)
