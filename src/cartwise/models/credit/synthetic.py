"""Small synthetic BNPL applicant sets with a known default process, for tests and examples.

The features are the BNPL credit features the feature platform computes at checkout time
(repayment history on earlier plans, utilisation, tenure, order amount against history,
merchant category, plan length). Protected attributes are drawn beside them and returned
separately: they never enter the default process's inputs handed to a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cartwise.models.credit.features import CreditFeature

__all__ = ["BNPL_CREDIT_FEATURES", "SyntheticCredit", "synthetic_applicants"]

BNPL_CREDIT_FEATURES: tuple[CreditFeature, ...] = (
    CreditFeature("n_late_installments", +1, False, "BN01", "Number of late payments on earlier plans"),
    CreditFeature("max_days_past_due", +1, False, "BN02", "Level of delinquency on earlier plans"),
    CreditFeature(
        "days_since_last_late", -1, False, "BN03", "Time since most recent late payment is too short"
    ),
    CreditFeature(
        "limit_utilisation", +1, False, "BN04", "Proportion of balances to credit limit is too high"
    ),
    CreditFeature("tenure_days", -1, False, "BN05", "Length of time account has been established"),
    CreditFeature(
        "amount_vs_history", +1, False, "BN06", "Amount of credit requested compared with past orders"
    ),
    CreditFeature("n_previous_plans", -1, False, "BN07", "Limited repayment history on earlier plans"),
    CreditFeature("merchant_category", 0, True, "BN08", "Type of purchase"),
    CreditFeature("plan_n_installments", +1, False, "BN09", "Length of the requested installment plan"),
)
"""The declared BNPL credit features with monotone directions and adverse-action texts."""

_CATEGORY_RISK = {"grocery": -0.3, "fashion": 0.0, "electronics": 0.35, "travel": 0.5, "home": -0.1}


@dataclass(frozen=True)
class SyntheticCredit:
    """Inputs, target (1 = default), requested amounts (minor units) and protected attributes."""

    X: pd.DataFrame
    y: np.ndarray
    amount_minor: np.ndarray
    protected: pd.DataFrame
    true_pd: np.ndarray


def synthetic_applicants(n: int = 2_000, seed: int = 0) -> SyntheticCredit:
    """``n`` applicants whose default probability follows a known monotone logistic model."""
    rng = np.random.default_rng(seed)
    n_prev = rng.poisson(4.0, n).astype(np.float64)
    late_rate = rng.beta(1.0, 8.0, n)
    n_late = rng.binomial(n_prev.astype(int) * 4, late_rate).astype(np.float64)
    max_dpd = np.where(n_late > 0, rng.gamma(2.0, 8.0, n) * np.sqrt(n_late), 0.0).round()
    days_since = np.where(n_late > 0, rng.integers(1, 720, n), np.nan).astype(np.float64)
    util = np.clip(rng.beta(2.0, 3.0, n) + 0.05 * n_late, 0.0, 1.5)
    tenure = rng.integers(0, 2_000, n).astype(np.float64)
    amount_ratio = rng.lognormal(0.0, 0.6, n)
    category = rng.choice(list(_CATEGORY_RISK), n)
    plan = rng.choice([4.0, 3.0, 6.0, 12.0], n, p=[0.55, 0.2, 0.15, 0.1])
    amount = np.round(rng.lognormal(np.log(12_000), 0.7, n)).astype(np.int64)

    recency = np.where(np.isnan(days_since), 0.0, np.exp(-days_since / 180.0))
    logit = (
        -4.3
        + 0.35 * n_late
        + 0.025 * max_dpd
        + 0.8 * recency
        + 1.4 * util
        - 0.0006 * tenure
        + 0.45 * np.log(amount_ratio)
        - 0.08 * n_prev
        + np.vectorize(_CATEGORY_RISK.get)(category)
        + 0.06 * plan
    )
    true_pd = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < true_pd).astype(np.float64)
    X = pd.DataFrame(
        {
            "n_late_installments": n_late,
            "max_days_past_due": max_dpd,
            "days_since_last_late": days_since,
            "limit_utilisation": util,
            "tenure_days": tenure,
            "amount_vs_history": amount_ratio,
            "n_previous_plans": n_prev,
            "merchant_category": pd.Series(category, dtype=object),
            "plan_n_installments": plan,
        }
    )
    age_bands = np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"])
    protected = pd.DataFrame(
        {
            # Mildly tied to tenure, as in real data, so group approval rates differ somewhat.
            "age_band": age_bands[np.clip((tenure / 2_000 * 2 + rng.integers(0, 5, n)).astype(int), 0, 5)],
            "gender": rng.choice(["female", "male", "undisclosed"], n, p=[0.49, 0.49, 0.02]),
        }
    )
    return SyntheticCredit(X, y, amount, protected, true_pd)
