"""Matrix factorisation from implicit feedback: implicit's alternating least squares.

For catalogues too large for EASE's dense item-item matrix. Confidence is
``1 + alpha · weight`` (Hu, Koren & Volinsky, 2008). The fit is seeded and uses
at most ``num_threads`` threads (2 on this project's machines, 1 in tests).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cartwise.models.base import check_is_fitted
from cartwise.models.recs._base import MatrixRecommender

__all__ = ["ALS"]

logger = logging.getLogger(__name__)


class ALS(MatrixRecommender):
    """Implicit-feedback ALS; scores are user-factor · item-factor dot products."""

    def __init__(
        self,
        factors: int = 128,
        regularization: float = 1.0,
        alpha: float = 1.0,
        iterations: int = 15,
        *,
        num_threads: int = 2,
        seed: int = 42,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.num_threads = num_threads
        self.seed = seed

    user_factors_: np.ndarray | None = None
    item_factors_: np.ndarray | None = None

    def fit(self, interactions: pd.DataFrame) -> ALS:
        if not (isinstance(self.factors, int) and self.factors > 0):
            raise ValueError(f"ALS factors must be a positive integer, got {self.factors!r}")
        if not 1 <= self.num_threads <= 2:
            raise ValueError(f"ALS num_threads must be 1 or 2 on this platform, got {self.num_threads}")
        for name in ("regularization", "alpha"):
            if getattr(self, name) < 0:
                raise ValueError(f"ALS {name} must be non-negative, got {getattr(self, name)}")
        super().fit(interactions)
        return self

    def _fit_matrix(self, X: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # implicit parallelises itself; a BLAS thread pool underneath it only contends.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.num_threads,
                random_state=self.seed,
                calculate_training_loss=False,
            )
            model.fit(X.astype(np.float32).tocsr(), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.implicit_model_ = model

    def _score_trained(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "user_factors_")
        assert self.user_factors_ is not None
        assert self.item_factors_ is not None
        return np.asarray(self.user_factors_[rows] @ self.item_factors_.T, dtype=np.float32)

    def score_interactions(self, X_rows: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "item_factors_")
        assert self.item_factors_ is not None
        # One least-squares step against the fixed item factors serves shoppers
        # known only by their first interactions.
        users = self.implicit_model_.recalculate_user(
            np.arange(X_rows.shape[0]), X_rows.astype(np.float32).tocsr()
        )
        return np.asarray(np.atleast_2d(users) @ self.item_factors_.T, dtype=np.float32)
