"""Which installment plan a shopper picks, and the schedule it implies.

Small orders are paid in 4 every two weeks; larger orders open the monthly plans, and
shoppers with less repayment capacity stretch payments over more months.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cartwise.domain.schemas import PLAN_TYPES

__all__ = ["PLAN_INSTALLMENTS", "PLAN_INTERVAL_DAYS", "choose_plans", "split_amounts"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

PLAN_INSTALLMENTS = np.array([4, 3, 6, 12], dtype=np.int64)
"""Number of installments of each plan, in PLAN_TYPES order."""
PLAN_INTERVAL_DAYS = np.array([14, 30, 30, 30], dtype=np.int64)
"""Days between installments (a monthly plan counts 30-day months)."""
MONTHLY_MINIMUM_MINOR = 10_000
"""Monthly plans are offered from 100.00."""

assert len(PLAN_TYPES) == len(PLAN_INSTALLMENTS)


def choose_plans(amount: IntArray, capacity: FloatArray, rng: np.random.Generator) -> IntArray:
    """The plan (index into PLAN_TYPES) of each order."""
    log_amount = np.log(np.maximum(amount, 1) / 100.0)
    stretch = 1.2 * (0.5 - capacity)
    # Utilities of pay_in_4, monthly_3, monthly_6, monthly_12 (a multinomial logit).
    utility = np.stack(
        [
            np.full_like(log_amount, 1.2),
            1.2 * (log_amount - np.log(150.0)) + stretch,
            1.6 * (log_amount - np.log(350.0)) + 2 * stretch,
            2.0 * (log_amount - np.log(800.0)) + 3 * stretch,
        ],
        axis=1,
    )
    utility[:, 1:] = np.where((amount < MONTHLY_MINIMUM_MINOR)[:, None], -np.inf, utility[:, 1:])
    gumbel = rng.gumbel(size=utility.shape)
    plan: IntArray = np.argmax(utility + gumbel, axis=1).astype(np.int64)
    return plan


def split_amounts(amount: IntArray, n_installments: IntArray) -> IntArray:
    """Installment amounts per order, flattened; each order's installments sum to its amount.

    Every installment gets the floor share; the first ones carry the remainder, one minor unit each.
    """
    order = np.repeat(np.arange(len(amount)), n_installments)
    seq = np.arange(len(order)) - np.repeat(np.cumsum(n_installments) - n_installments, n_installments)
    base = amount // n_installments
    remainder = amount - base * n_installments
    out: IntArray = base[order] + (seq < remainder[order]).astype(np.int64)
    return out
