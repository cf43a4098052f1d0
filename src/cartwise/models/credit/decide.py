"""Score a batch of applicants, apply the credit policy and attach adverse-action reasons.

When the model takes the plan length as an input (``plan_feature``, e.g. the number of
installments), each plan option is scored by setting that column to the plan's value, so
the policy sees one PD per applicant and plan; otherwise one PD serves every plan.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cartwise.decisions.credit_policy import AMOUNT_OVER_LIMIT, CreditPolicy, CreditPolicyParams
from cartwise.errors import FeatureError
from cartwise.models.credit.reasons import AdverseActionReason, reason_weights, select_reasons

__all__ = ["decide_credit", "pd_by_plan"]

logger = logging.getLogger(__name__)


def pd_by_plan(
    model: Any, X: pd.DataFrame, params: CreditPolicyParams, plan_feature: str | None
) -> np.ndarray:
    """``(n, n_plans)`` calibrated PDs, one column per plan option of ``params``."""
    if plan_feature is None:
        return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)
    if plan_feature not in X.columns:
        raise FeatureError(
            f"plan_feature {plan_feature!r} is not a column of X; pass plan_feature=None or add it"
        )
    cols = []
    for plan in params.plans:
        option = X.assign(**{plan_feature: float(plan.n_installments)})
        cols.append(model.predict_proba(option)[:, 1])
    return np.column_stack(cols)


def decide_credit(
    model: Any,
    X: pd.DataFrame,
    amount_minor: Any,
    *,
    params: CreditPolicyParams | None = None,
    fee_rate: Any = None,
    plan_feature: str | None = None,
    max_reasons: int = 4,
) -> pd.DataFrame:
    """Policy decisions for ``X`` plus, for each decline, 1-4 :class:`AdverseActionReason` in ``reasons``."""
    params = params or CreditPolicyParams()
    policy = CreditPolicy(params)
    pds = pd_by_plan(model, X, params, plan_feature)
    out = policy.decide(pds, amount_minor, fee_rate)
    out.index = X.index
    out["pd"] = pds if pds.ndim == 1 else pds.min(axis=1)
    declined = np.flatnonzero(out["decision"].to_numpy() == "decline")
    reasons: list[list[AdverseActionReason]] = [[] for _ in range(len(out))]
    if declined.size:
        weights = reason_weights(model, X.iloc[declined])
        over = out["amount_over_limit"].to_numpy()[declined]
        chosen = select_reasons(weights, model.features_, max_reasons=max_reasons)
        for pos, row_reasons, over_limit in zip(declined, chosen, over, strict=True):
            if over_limit:
                policy_reason = AdverseActionReason(
                    AMOUNT_OVER_LIMIT[0], "amount_minor", AMOUNT_OVER_LIMIT[1], 0.0
                )
                row_reasons = [policy_reason, *row_reasons][:max_reasons]
            reasons[pos] = row_reasons
    out["reasons"] = pd.Series(reasons, index=out.index, dtype=object)
    return out
