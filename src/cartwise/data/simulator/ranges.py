"""The ranges the simulator's headline figures fall in, as documented in docs/data-model.md.

Measured at the default settings and on small runs (a few thousand customers over 120 days)
across seeds; the tests hold the simulator to them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DOCUMENTED_RANGES", "DocumentedRanges"]


@dataclass(frozen=True)
class DocumentedRanges:
    """Closed intervals (low, high)."""

    true_fraud_rate: tuple[float, float] = (0.008, 0.025)
    """Fraud orders / all checkouts, reported or not."""
    reported_fraud_rate: tuple[float, float] = (0.003, 0.015)
    """Chargebacks known by the end / all checkouts (recent fraud is not reported yet)."""
    default_rate: tuple[float, float] = (0.025, 0.08)
    """Defaulted / resolved credit outcomes."""
    chargeback_delay_days: tuple[float, float] = (5.0, 90.0)
    """Every chargeback arrives within this many days of its order."""
    median_chargeback_delay_days: tuple[float, float] = (20.0, 45.0)
    unreported_share: tuple[float, float] = (0.0, 0.1)
    """Fraud orders never reported, among those older than the longest delay."""


DOCUMENTED_RANGES = DocumentedRanges()
