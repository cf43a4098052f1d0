"""Fraud labels: chargebacks arrive 5-90 days after the order (most after 20-45 days).

A small share of fraud is never reported. Reports that arrive after the end of the data
are not yet known, so they are not in the table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cartwise.data.simulator.repayment import NEVER

__all__ = ["MAX_DELAY_DAYS", "MIN_DELAY_DAYS", "chargeback_reported_at"]

IntArray = npt.NDArray[np.int64]

DAY_US = 86_400_000_000
MIN_DELAY_DAYS = 5
MAX_DELAY_DAYS = 90


def chargeback_reported_at(
    created_us: IntArray, fraud: IntArray, unreported_share: float, rng: np.random.Generator
) -> IntArray:
    """When each order's chargeback arrives: NEVER for genuine and unreported fraud orders."""
    n = len(created_us)
    # A Beta(2.2, 3.5) over the 5-90 day range puts the mode near 33 days and the median near 36.
    delay_days = MIN_DELAY_DAYS + (MAX_DELAY_DAYS - MIN_DELAY_DAYS) * rng.beta(2.2, 3.5, n)
    reported = created_us + (delay_days * DAY_US).astype(np.int64)
    reported_ok = (fraud > 0) & (rng.random(n) >= unreported_share)
    return np.where(reported_ok, reported, NEVER).astype(np.int64)
