"""EASE: the closed-form item-item linear autoencoder (Steck, 2019), with dropout emphasis.

``B = argmin ||X - XB||² + ||Λ^{1/2} B||²`` subject to ``diag(B) = 0`` has the
closed form ``P = (XᵀX + Λ)⁻¹``, ``B = -P / diag(P)`` (column-wise),
``diag(B) = 0``. Plain EASE uses ``Λ = λI``. With ``dropout = p > 0`` it is the
full-rank EDLAE of Steck (2020, "Autoencoders that don't overfit towards the
identity"): emphasised denoising adds ``p / (1 - p) · diag(XᵀX)`` to ``Λ``,
which penalises popular items' weights more and lifts accuracy on MovieLens.

Cost: one dense ``n × n`` inverse (float64 for stability, kept as float32):
about a second for 1,700 items, tens of seconds for 10,000 on two cores, and
``n²`` floats of memory. Above ``max_items`` only the most-interacted
``max_items`` items get a column (the long tail is served by cold start or
ALS; see :func:`cartwise.models.recs.choose_recommender`).
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse as sp

from cartwise.errors import SchemaError
from cartwise.models.base import check_is_fitted
from cartwise.models.recs._base import MatrixRecommender

__all__ = ["EASE"]

logger = logging.getLogger(__name__)


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix via LAPACK potrf + potri.

    About three times fewer operations than solving against the identity.
    """
    chol, info = scipy.linalg.lapack.dpotrf(matrix, lower=False, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"Gram matrix is not positive definite (potrf info {info}); raise l2")
    inv, info = scipy.linalg.lapack.dpotri(chol, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverse failed (potri info {info}); raise l2")
    upper = np.triu(inv)
    return np.asarray(upper + np.triu(upper, 1).T)


class EASE(MatrixRecommender):
    """Item-item closed-form recommender.

    Parameters
    ----------
    l2 : float
        λ, the ridge weight added to every item's diagonal.
    dropout : float
        Emphasised-dropout probability ``p`` in ``[0, 1)``; 0 gives plain EASE.
    binary : bool
        Treat every interaction as 1 (the MovieLens protocol) instead of its weight.
    max_items : int or None
        Keep only the most-interacted items above this catalogue size.
    """

    _PARAMS: ClassVar[dict[str, str]] = {
        "l2": "a positive number",
        "dropout": "a number in [0, 1)",
        "max_items": "None or a positive integer",
    }

    def __init__(
        self, l2: float = 500.0, dropout: float = 0.0, *, binary: bool = False, max_items: int | None = 10_000
    ) -> None:
        self.l2 = l2
        self.dropout = dropout
        self.binary = binary
        self.max_items = max_items

    weights_: np.ndarray | None = None

    def _validate(self) -> None:
        if not (isinstance(self.l2, int | float) and self.l2 > 0):
            raise ValueError(f"EASE l2 must be {self._PARAMS['l2']}, got {self.l2!r}")
        if not (isinstance(self.dropout, int | float) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"EASE dropout must be {self._PARAMS['dropout']}, got {self.dropout!r}")
        if self.max_items is not None and not (isinstance(self.max_items, int) and self.max_items > 0):
            raise ValueError(f"EASE max_items must be {self._PARAMS['max_items']}, got {self.max_items!r}")

    def fit(self, interactions: pd.DataFrame) -> EASE:
        self._validate()
        if "item_id" not in interactions.columns or "user_id" not in interactions.columns:
            raise SchemaError(
                f"interactions need user_id and item_id columns; they have {list(interactions.columns)}"
            )
        frame = interactions
        if self.binary and "weight" in frame.columns:
            frame = frame.drop(columns="weight")
        if self.max_items is not None and frame["item_id"].nunique() > self.max_items:
            counts = frame["item_id"].value_counts()
            keep = counts.index[: self.max_items]
            logger.warning(
                "EASE keeps the %d most-interacted of %d items (max_items); the rest need cold start or ALS",
                self.max_items,
                len(counts),
            )
            frame = frame.loc[frame["item_id"].isin(keep)]
        super().fit(frame)
        return self

    def _fit_matrix(self, X: sp.csr_matrix) -> None:
        gram = (X.T @ X).toarray().astype(np.float64)
        diag = np.diag(gram).copy()
        penalty = self.l2 + (self.dropout / (1.0 - self.dropout)) * diag
        gram[np.diag_indices_from(gram)] += penalty
        precision = _spd_inverse(gram)
        weights = precision / (-np.diag(precision))
        np.fill_diagonal(weights, 0.0)
        self.weights_ = weights.astype(np.float32)

    def score_interactions(self, X_rows: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "weights_")
        assert self.weights_ is not None
        return np.asarray(X_rows @ self.weights_, dtype=np.float32)
