"""Cold start from product text: new products through their neighbours, new shoppers through first views.

A product nobody has interacted with yet has no column in EASE or ALS. It
gets one here: its ``neighbours`` nearest trained products in text-embedding
space (cosine on unit vectors) vote, each with weight ``max(cos, 0)``
normalised to sum to one, so a new product scores the weighted mean of its
neighbours' scores for that shopper, times ``cold_weight``: the same scale as
the trained products it competes with.

A shopper the model was not trained on is scored from the products they have
viewed so far: folded into the trained model when any of those products is
trained (EASE and ALS both score a bare interaction row), otherwise by cosine
between each product and the mean of the viewed products' embeddings. A
shopper with no view at all gets popularity (per segment when known).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cartwise.models.base import check_is_fitted
from cartwise.models.recs._base import MatrixRecommender, recommendation_frame, top_k_indices
from cartwise.models.recs.embeddings import ProductEmbeddings, normalise_rows
from cartwise.models.recs.popularity import Popularity

__all__ = ["ColdStartRecommender", "neighbour_weights"]

logger = logging.getLogger(__name__)


def neighbour_weights(cold: np.ndarray, trained: np.ndarray, neighbours: int) -> sp.csr_matrix:
    """Sparse ``n_cold × n_trained`` weights: each row's top cosines, clipped at 0, summing to 1."""
    if len(cold) == 0 or len(trained) == 0:
        return sp.csr_matrix((len(cold), len(trained)), dtype=np.float32)
    m = min(neighbours, trained.shape[0])
    rows, cols, vals = [], [], []
    for start in range(0, len(cold), 2048):  # bounds the dense similarity block
        sims = cold[start : start + 2048] @ trained.T
        idx = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        w = np.clip(np.take_along_axis(sims, idx, axis=1), 0.0, None)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        rows.append(np.repeat(np.arange(start, start + len(idx)), m))
        cols.append(idx.ravel())
        vals.append(w.ravel())
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(cold), len(trained)),
        dtype=np.float32,
    )


class ColdStartRecommender:
    """Wraps a matrix recommender so that new products and new shoppers are served.

    ``fit(interactions)`` fits ``base`` (and ``popularity``) on the interactions;
    ``embeddings`` must cover every product to serve, trained or new.
    """

    def __init__(
        self,
        base: MatrixRecommender,
        embeddings: ProductEmbeddings,
        *,
        neighbours: int = 10,
        cold_weight: float = 1.0,
        popularity: Popularity | None = None,
    ) -> None:
        self.base = base
        self.embeddings = embeddings
        self.neighbours = neighbours
        self.cold_weight = cold_weight
        self.popularity = popularity

    item_ids_: np.ndarray | None = None
    n_trained_: int | None = None
    cold_weights_: sp.csr_matrix | None = None

    def fit(self, interactions: pd.DataFrame) -> ColdStartRecommender:
        if not (isinstance(self.neighbours, int) and self.neighbours > 0):
            raise ValueError(f"neighbours must be a positive integer, got {self.neighbours!r}")
        self.base.fit(interactions)
        if self.popularity is not None:
            self.popularity.fit(interactions)
        trained_ids = self.base.item_ids
        emb_rows = self.embeddings.rows(trained_ids)
        if (emb_rows < 0).any():
            missing = trained_ids[emb_rows < 0][:5].tolist()
            raise ValueError(f"embeddings lack trained products, e.g. {missing}; embed the whole catalogue")
        cold_mask = ~pd.Index(self.embeddings.item_ids).isin(trained_ids)
        cold_ids = self.embeddings.item_ids[cold_mask]
        vectors = normalise_rows(self.embeddings.vectors)
        self.cold_weights_ = neighbour_weights(vectors[cold_mask], vectors[emb_rows], self.neighbours)
        self.item_ids_ = np.concatenate([trained_ids, cold_ids])
        self.n_trained_ = len(trained_ids)
        self._vectors = vectors[self.embeddings.rows(self.item_ids_)]
        logger.info("cold start: %d trained and %d new products", len(trained_ids), len(cold_ids))
        return self

    @property
    def cold_item_ids(self) -> np.ndarray:
        check_is_fitted(self, "item_ids_")
        assert self.item_ids_ is not None
        assert self.n_trained_ is not None
        return self.item_ids_[self.n_trained_ :]

    def _extend(self, trained_scores: np.ndarray) -> np.ndarray:
        assert self.cold_weights_ is not None
        cold = np.asarray(self.cold_weights_ @ trained_scores.T).T * self.cold_weight
        return np.hstack([trained_scores, cold.astype(np.float32)])

    def recommend(
        self,
        user_ids: Sequence[Any] | np.ndarray,
        k: int = 10,
        *,
        remove_seen: bool = True,
        first_views: Mapping[Any, Sequence[Any]] | None = None,
        segments: Mapping[Any, Any] | None = None,
    ) -> pd.DataFrame:
        """Top ``k`` over trained and new products, ``user_id, item_id, score, rank``.

        ``first_views`` maps shoppers unknown to the model to the products they
        viewed; ``segments`` maps shoppers to a segment for the popularity fallback.
        """
        check_is_fitted(self, "item_ids_")
        assert self.item_ids_ is not None
        assert self.base.data_ is not None
        if not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        ids = np.asarray(user_ids).ravel()
        data = self.base.data_
        rows = data.user_positions(ids)
        frames = []
        known = np.flatnonzero(rows >= 0)
        for start in range(0, len(known), 1024):
            sel = known[start : start + 1024]
            X_rows = data.matrix[rows[sel]]
            scores = self._extend(self.base._score_trained(rows[sel], X_rows))
            if remove_seen:
                r, c = X_rows.nonzero()
                scores[r, c] = -np.inf
            frames.append(recommendation_frame(ids[sel], top_k_indices(scores, k), scores, self.item_ids_))
        for i in np.flatnonzero(rows < 0):
            frames.append(self._recommend_new(ids[i], k, remove_seen, first_views, segments))
        if not frames:
            return pd.DataFrame({"user_id": ids[:0], "item_id": self.item_ids_[:0], "score": [], "rank": []})
        return pd.concat(frames, ignore_index=True)

    def _recommend_new(
        self,
        user_id: Any,
        k: int,
        remove_seen: bool,
        first_views: Mapping[Any, Sequence[Any]] | None,
        segments: Mapping[Any, Any] | None,
    ) -> pd.DataFrame:
        assert self.item_ids_ is not None
        assert self.n_trained_ is not None
        assert self.base.data_ is not None
        views = list((first_views or {}).get(user_id, ()))
        positions = (
            pd.Index(self.item_ids_).get_indexer(np.asarray(views)) if views else np.array([], dtype=np.int64)
        )
        positions = positions[positions >= 0]
        if len(positions) == 0:
            if self.popularity is not None:
                seg = (segments or {}).get(user_id)
                frame = self.popularity.recommend_segment(seg, k)
            else:
                frame = self.base.recommend([user_id], k).drop(columns="user_id")
            frame.insert(0, "user_id", user_id)
            return frame
        trained = positions[positions < self.n_trained_]
        if len(trained):
            row = sp.csr_matrix(
                (np.ones(len(trained), dtype=np.float32), (np.zeros(len(trained), dtype=np.int64), trained)),
                shape=(1, self.n_trained_),
            )
            scores = self._extend(self.base.score_interactions(row))
        else:
            profile = normalise_rows(self._vectors[positions].mean(axis=0, keepdims=True))
            scores = (profile @ self._vectors.T).astype(np.float32)
        if remove_seen:
            scores[0, positions] = -np.inf
        return recommendation_frame(np.array([user_id]), top_k_indices(scores, k), scores, self.item_ids_)
