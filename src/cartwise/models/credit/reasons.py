"""Adverse-action reasons: why an applicant was declined, in words a regulator accepts.

ECOA / Regulation B asks a lender to give the principal reasons for a decline (up to four
is the customary number). Each declined applicant gets the features that pushed *their*
score toward decline, most influential first:

* boosted model — TreeSHAP contributions to the log-odds of default
  (:meth:`MonotonePDModel.contributions`); a positive contribution raised the PD;
* scorecard — points lost against the best attribute of each characteristic
  (:meth:`ScorecardModel.points_lost`).

Only features with a positive push qualify. If none does (possible when a decline comes from
the policy, e.g. the requested amount, rather than the score), the single largest push is given
so that every decline carries at least one reason. A protected attribute is never a model
input and is filtered out here as a second guard, so it can never be a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cartwise.errors import FeatureError
from cartwise.models.credit.features import PROTECTED_CREDIT_ATTRIBUTES, CreditFeature, is_protected

__all__ = [
    "MAX_REASONS",
    "AdverseActionReason",
    "ExplainableCreditModel",
    "reason_code_map",
    "reason_weights",
    "select_reasons",
]

logger = logging.getLogger(__name__)

MAX_REASONS = 4


@dataclass(frozen=True)
class AdverseActionReason:
    """One principal reason for a decline."""

    code: str
    feature: str
    text: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExplainableCreditModel(Protocol):
    features_: tuple[CreditFeature, ...]


def reason_code_map(features: Sequence[CreditFeature]) -> dict[str, dict[str, str]]:
    """Stable reason code -> feature and adverse-action text (stored in the bundle)."""
    return {f.reason_code: {"feature": f.name, "text": f.reason_text} for f in features}


def reason_weights(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Per applicant and feature, how much it pushed toward decline (larger = more)."""
    if hasattr(model, "contributions"):
        return pd.DataFrame(model.contributions(X))
    if hasattr(model, "points_lost"):
        return pd.DataFrame(model.points_lost(X))
    raise FeatureError(
        f"{type(model).__name__} gives no reason weights: use MonotonePDModel (TreeSHAP) or ScorecardModel"
    )


def select_reasons(
    weights: pd.DataFrame,
    features: Sequence[CreditFeature],
    *,
    rows: Iterable[int] | None = None,
    max_reasons: int = MAX_REASONS,
    protected: Iterable[str] = PROTECTED_CREDIT_ATTRIBUTES,
) -> list[list[AdverseActionReason]]:
    """Up to ``max_reasons`` reasons for each row (position) of ``weights`` (all rows by default)."""
    if not 1 <= max_reasons <= MAX_REASONS:
        raise FeatureError(f"max_reasons={max_reasons} must lie in [1, {MAX_REASONS}] (ECOA practice)")
    by_name: Mapping[str, CreditFeature] = {f.name: f for f in features}
    protected = tuple(protected)
    cols = [c for c in weights.columns if c in by_name and not is_protected(str(c), protected)]
    if not cols:
        raise FeatureError(
            "no non-protected declared feature among the reason weights; check the model's features"
        )
    w = weights[cols].to_numpy(dtype=np.float64)
    positions = range(len(w)) if rows is None else rows
    out: list[list[AdverseActionReason]] = []
    for i in positions:
        row = w[i]
        order = np.argsort(-row, kind="stable")
        chosen = [j for j in order[:max_reasons] if row[j] > 0]
        if not chosen:
            chosen = [int(order[0])]
        reasons = []
        for j in chosen:
            f = by_name[cols[j]]
            reasons.append(AdverseActionReason(f.reason_code, f.name, f.reason_text, float(row[j])))
        out.append(reasons)
    return out
