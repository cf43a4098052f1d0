"""The contracts every cartwise model follows.

Classifiers (fraud, credit) follow scikit-learn's: ``fit(X, y)`` then
``predict_proba(X)`` returning an ``(n, 2)`` array, learned state in attributes
ending with ``_``, ``__init__`` that only stores its arguments. Recommenders
follow ``fit(interactions)`` then ``recommend(user_ids, k)``. One conformance
test module runs the same checks on every model.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["ProbabilisticClassifier", "Recommender", "check_is_fitted"]


@runtime_checkable
class ProbabilisticClassifier(Protocol):
    """A binary classifier returning calibrated probabilities of the positive class in column 1."""

    def fit(self, X: pd.DataFrame, y: Any) -> ProbabilisticClassifier: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


@runtime_checkable
class Recommender(Protocol):
    """Top-k recommendations from implicit feedback."""

    def fit(self, interactions: pd.DataFrame) -> Recommender: ...

    def recommend(self, user_ids: Any, k: int = 10, *, remove_seen: bool = True) -> pd.DataFrame: ...


def check_is_fitted(model: object, attribute: str) -> None:
    """Raise :class:`~cartwise.errors.NotFittedError` unless ``model`` has ``attribute``."""
    from cartwise.errors import NotFittedError

    if getattr(model, attribute, None) is None:
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. "
            "Call 'fit' with appropriate arguments before using this model."
        )
