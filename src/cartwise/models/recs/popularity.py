"""Popularity by segment: the fallback recommender and the baseline every model must beat.

An item's score in a segment is the summed interaction weight it received from
that segment's shoppers. Shoppers without a segment, or in a segment too small
to rank (fewer than ``min_segment_users`` shoppers), get the global ranking.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cartwise.models.base import check_is_fitted
from cartwise.models.recs._base import MatrixRecommender, recommendation_frame, top_k_indices

__all__ = ["Popularity"]

logger = logging.getLogger(__name__)


class Popularity(MatrixRecommender):
    """Most-interacted items, per shopper segment when ``interactions`` has a ``segment`` column."""

    def __init__(self, *, min_segment_users: int = 20, use_weights: bool = False) -> None:
        self.min_segment_users = min_segment_users
        self.use_weights = use_weights

    global_scores_: np.ndarray | None = None
    segment_scores_: dict[Any, np.ndarray] | None = None
    user_segment_: dict[Any, Any] | None = None

    def fit(self, interactions: pd.DataFrame) -> Popularity:
        frame = interactions if self.use_weights else interactions.drop(columns="weight", errors="ignore")
        super().fit(frame)
        assert self.data_ is not None
        X = self.data_.matrix
        self.global_scores_ = np.asarray(X.sum(axis=0), dtype=np.float32).ravel()
        self.segment_scores_ = {}
        self.user_segment_ = {}
        if "segment" in interactions.columns:
            seg = interactions.drop_duplicates("user_id").set_index("user_id")["segment"]
            self.user_segment_ = seg.dropna().to_dict()
            rows_segment = seg.reindex(self.data_.user_ids).to_numpy()
            for name in pd.unique(rows_segment[pd.notna(rows_segment)]):
                mask = rows_segment == name
                if mask.sum() >= self.min_segment_users:
                    self.segment_scores_[name] = np.asarray(X[mask].sum(axis=0), dtype=np.float32).ravel()
        return self

    def _fit_matrix(self, X: sp.csr_matrix) -> None:
        return None

    def score_interactions(self, X_rows: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "global_scores_")
        assert self.global_scores_ is not None
        return np.repeat(self.global_scores_[None, :], X_rows.shape[0], axis=0)

    def _score_trained(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        assert self.global_scores_ is not None
        assert self.segment_scores_ is not None
        assert self.user_segment_ is not None
        assert self.data_ is not None
        out = np.empty((len(rows), len(self.global_scores_)), dtype=np.float32)
        for i, r in enumerate(rows):
            seg = self.user_segment_.get(self.data_.user_ids[r])
            out[i] = self.segment_scores_.get(seg, self.global_scores_)
        return out

    def recommend_segment(self, segment: Any, k: int = 10) -> pd.DataFrame:
        """Top ``k`` of a segment (global ranking if the segment is unknown or small) for a new shopper."""
        check_is_fitted(self, "global_scores_")
        assert self.global_scores_ is not None
        assert self.segment_scores_ is not None
        assert self.data_ is not None
        scores = self.segment_scores_.get(segment, self.global_scores_)[None, :]
        frame = recommendation_frame(np.array([None]), top_k_indices(scores, k), scores, self.data_.item_ids)
        return frame.drop(columns="user_id")

    def recommend(
        self, user_ids: Sequence[Any] | np.ndarray, k: int = 10, *, remove_seen: bool = True
    ) -> pd.DataFrame:
        return super().recommend(user_ids, k, remove_seen=remove_seen)
