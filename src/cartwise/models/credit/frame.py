"""Turning an applicant frame into the model matrix the credit models score.

Both credit models take a pandas DataFrame holding (at least) the declared features.
Numeric features become float64 (missing stays NaN); categorical features are encoded
against the categories seen at fit, so a category unseen in training is treated as
missing rather than silently given another category's code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import FeatureError
from cartwise.models.credit.features import CreditFeature, check_no_protected

__all__ = ["check_frame", "learn_categories", "model_frame"]


def check_frame(X: Any, features: Sequence[CreditFeature], *, what: str) -> pd.DataFrame:
    """Check ``X`` is a DataFrame holding every declared feature and no protected column among them."""
    if not isinstance(X, pd.DataFrame):
        raise FeatureError(
            f"{what} needs a pandas DataFrame with columns {[f.name for f in features]}, got {type(X).__name__}"
        )
    check_no_protected([f.name for f in features])
    missing = [f.name for f in features if f.name not in X.columns]
    if missing:
        raise FeatureError(
            f"{what}: the frame lacks declared credit feature column(s) {missing}; "
            "compute them with the feature platform (point-in-time) or drop them from the declaration"
        )
    for f in features:
        if not f.categorical and not (
            pd.api.types.is_numeric_dtype(X[f.name]) or pd.api.types.is_bool_dtype(X[f.name])
        ):
            raise FeatureError(
                f"{what}: numeric credit feature {f.name!r} has dtype {X[f.name].dtype}; "
                "convert it to numbers or declare it categorical=True"
            )
    return X


def learn_categories(X: pd.DataFrame, features: Sequence[CreditFeature]) -> dict[str, list[str]]:
    """Sorted string categories of each categorical feature as seen in ``X``."""
    out: dict[str, list[str]] = {}
    for f in features:
        if f.categorical:
            values = X[f.name].dropna().astype(str).unique().tolist()
            out[f.name] = sorted(values)
    return out


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def model_frame(
    X: pd.DataFrame, features: Sequence[CreditFeature], categories: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """A new frame with the declared features only: float64 numerics, fixed-category categoricals."""
    cols: dict[str, Any] = {}
    for f in features:
        col = X[f.name]
        if f.categorical:
            cats = list(categories[f.name])
            known = set(cats)
            as_str = [str(v) if not _is_missing(v) and str(v) in known else None for v in col.astype(object)]
            cols[f.name] = pd.Categorical(as_str, categories=cats)
        else:
            cols[f.name] = np.asarray(pd.to_numeric(col, errors="coerce"), dtype=np.float64)
    return pd.DataFrame(cols, index=X.index)
