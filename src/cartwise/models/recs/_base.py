"""The shared fit/recommend machinery of the matrix recommenders (EASE, ALS, popularity).

A subclass learns from an :class:`InteractionMatrix` and scores rows of it;
this base turns scores into the contract's frame ``user_id, item_id, score,
rank``, removes items the shopper has already interacted with, and serves
shoppers it has never seen from global popularity.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cartwise.models.base import check_is_fitted
from cartwise.models.recs.interactions import InteractionMatrix

__all__ = ["MatrixRecommender", "recommendation_frame", "top_k_indices"]

logger = logging.getLogger(__name__)

_BATCH = 1024  # users scored per dense block: bounds memory at 1024 × n_items floats


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest finite scores of each row, best first.

    Rows with fewer than ``k`` finite scores are padded with -1.
    """
    scores = np.atleast_2d(scores)
    n = scores.shape[1]
    kk = min(k, n)
    if kk == 0:
        return np.full((scores.shape[0], k), -1, dtype=np.int64)
    part = (
        np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        if kk < n
        else np.tile(np.arange(n), (len(scores), 1))
    )
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1).astype(np.int64)
    top_scores = np.take_along_axis(part_scores, order, axis=1)
    top[~np.isfinite(top_scores)] = -1
    if kk < k:
        top = np.hstack([top, np.full((len(top), k - kk), -1, dtype=np.int64)])
    return top


def recommendation_frame(
    user_ids: np.ndarray, top: np.ndarray, scores: np.ndarray, item_ids: np.ndarray
) -> pd.DataFrame:
    """Long frame from per-user top indices (-1 = none) and their score rows."""
    k = top.shape[1]
    users = np.repeat(user_ids, k)
    flat = top.ravel()
    keep = flat >= 0
    rows = np.repeat(np.arange(len(top)), k)
    return pd.DataFrame(
        {
            "user_id": users[keep],
            "item_id": item_ids[flat[keep]],
            "score": scores[rows[keep], flat[keep]].astype(np.float64),
            "rank": np.tile(np.arange(1, k + 1), len(top))[keep],
        }
    )


class MatrixRecommender:
    """Base: ``fit(interactions)`` then ``recommend(user_ids, k, remove_seen=True)``.

    ``interactions`` has ``user_id, item_id`` and optionally ``weight``.
    Subclasses implement :meth:`_fit_matrix` and :meth:`score_matrix_rows`.
    """

    data_: InteractionMatrix | None = None
    item_popularity_: np.ndarray | None = None

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def fit(self, interactions: pd.DataFrame) -> MatrixRecommender:
        data = InteractionMatrix.from_frame(interactions, item_ids=self._item_universe(interactions))
        self.data_ = data
        self.item_popularity_ = np.asarray((data.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
        self._fit_matrix(data.matrix)
        logger.info("%s fitted on %d users × %d items", type(self).__name__, *data.shape)
        return self

    def _item_universe(self, interactions: pd.DataFrame) -> np.ndarray | None:
        return None

    def _fit_matrix(self, X: sp.csr_matrix) -> None:
        raise NotImplementedError

    def score_interactions(self, X_rows: sp.csr_matrix) -> np.ndarray:
        """Scores (float32, rows × items) for shoppers given only by interaction rows (fold-in)."""
        raise NotImplementedError

    def _score_trained(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        """Scores for trained shoppers at matrix rows ``rows``; fold-in unless a model stores more."""
        return self.score_interactions(X_rows)

    @property
    def item_ids(self) -> np.ndarray:
        check_is_fitted(self, "data_")
        assert self.data_ is not None
        return self.data_.item_ids

    def recommend(
        self, user_ids: Sequence[Any] | np.ndarray, k: int = 10, *, remove_seen: bool = True
    ) -> pd.DataFrame:
        """Top ``k`` items per shopper as ``user_id, item_id, score, rank`` (rank 1 = best).

        Shoppers unseen in training get the most popular items (score = share of
        training shoppers who interacted with the item).
        """
        check_is_fitted(self, "data_")
        assert self.data_ is not None
        assert self.item_popularity_ is not None
        if not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        ids = np.asarray(user_ids)
        if ids.ndim != 1:
            ids = ids.ravel()
        rows = self.data_.user_positions(ids)
        frames = []
        known = np.flatnonzero(rows >= 0)
        for start in range(0, len(known), _BATCH):
            sel = known[start : start + _BATCH]
            X_rows = self.data_.matrix[rows[sel]]
            scores = self._score_trained(rows[sel], X_rows)
            if remove_seen:
                r, c = X_rows.nonzero()
                scores[r, c] = -np.inf
            frames.append(
                recommendation_frame(ids[sel], top_k_indices(scores, k), scores, self.data_.item_ids)
            )
        unknown = np.flatnonzero(rows < 0)
        if len(unknown):
            pop = (self.item_popularity_ / max(1, self.data_.shape[0]))[None, :]
            one = recommendation_frame(ids[unknown[:1]], top_k_indices(pop, k), pop, self.data_.item_ids)
            block = one.loc[np.tile(one.index.to_numpy(), len(unknown))].reset_index(drop=True)
            block["user_id"] = np.repeat(ids[unknown], len(one))
            frames.append(block)
        if not frames:
            return pd.DataFrame(
                {"user_id": ids[:0], "item_id": self.data_.item_ids[:0], "score": [], "rank": []}
            )
        return pd.concat(frames, ignore_index=True)
