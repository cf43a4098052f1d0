"""Exact TreeSHAP contributions of one row, with as little per-call overhead as XGBoost allows.

The decision service explains single checkouts (fraud reason codes, adverse-action
reasons). XGBoost's ``predict(pred_contribs=True)`` is exact TreeSHAP; on one row
a good part of its cost is per-call bookkeeping: converting and checking every
feature name and type. :class:`RowContributions` keeps a copy of the booster
without names and types and builds the one-row ``DMatrix`` straight from the
float32 array laid out in the model's feature order, so only the TreeSHAP
computation itself remains. The values are the same as the named call's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

__all__ = ["RowContributions"]


class RowContributions:
    """``contributions(row)`` → TreeSHAP values of one ``(1, n_features)`` row, then the bias.

    :meth:`rows` does the same for a ``(k, n_features)`` array in one call.
    """

    def __init__(self, booster: xgb.Booster) -> None:
        anonymous = booster.copy()
        anonymous.feature_names = None
        anonymous.feature_types = None
        anonymous.set_param({"nthread": 1})
        self._booster = anonymous
        self.n_features = booster.num_features()

    def __call__(self, row: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        if row.shape != (1, self.n_features):
            raise ValueError(f"expected one row of {self.n_features} features, got shape {row.shape}")
        contributions: npt.NDArray[np.float64] = self.rows(row)[0]
        return contributions

    def rows(self, rows: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """``(k, n_features + 1)`` contributions (the bias last) of ``k`` rows, one booster call."""
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {rows.shape}")
        contributions = self._booster.predict(
            xgb.DMatrix(rows, nthread=1), pred_contribs=True, validate_features=False
        )
        return np.asarray(contributions, dtype=np.float64).reshape(rows.shape[0], self.n_features + 1)
