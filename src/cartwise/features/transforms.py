"""Elementwise numpy functions behind the cartwise on-demand features.

Each takes and returns numpy arrays of equal length and treats NaN as missing.
The offline path calls them on whole training-frame columns, the online path on
arrays of length one, so both compute the same numbers by construction.
Timestamps arrive as ``int64`` microseconds since the epoch (UTC).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "MICROS_PER_DAY",
    "MICROS_PER_HOUR",
    "day_of_week",
    "days_between",
    "hour_of_day",
    "installment_amount",
    "log_amount",
    "plan_length_days",
    "safe_ratio",
    "seconds_between",
]

MICROS_PER_HOUR = 3_600_000_000
MICROS_PER_DAY = 86_400_000_000

Array = npt.NDArray[np.float64]


def _f(x: npt.ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def safe_ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> Array:
    """``numerator / denominator``; NaN where the denominator is 0 or missing."""
    num, den = _f(numerator), _f(denominator)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den != 0)
    np.divide(num, den, out=out, where=ok)
    return out


def hour_of_day(ts_us: npt.ArrayLike) -> Array:
    """Hour (0–23, UTC) of a microsecond timestamp."""
    ts = np.asarray(ts_us, dtype=np.int64)
    return ((ts // MICROS_PER_HOUR) % 24).astype(np.float64)


def day_of_week(ts_us: npt.ArrayLike) -> Array:
    """Day of week, Monday = 0 (1970-01-01 was a Thursday)."""
    ts = np.asarray(ts_us, dtype=np.int64)
    return (((ts // MICROS_PER_DAY) + 3) % 7).astype(np.float64)


def days_between(later_us: npt.ArrayLike, earlier_us: npt.ArrayLike) -> Array:
    """Days from ``earlier_us`` to ``later_us``; NaN when either is missing."""
    return (_f(later_us) - _f(earlier_us)) / MICROS_PER_DAY


def seconds_between(later_us: npt.ArrayLike, earlier_us: npt.ArrayLike) -> Array:
    """Seconds from ``earlier_us`` to ``later_us``; NaN when either is missing."""
    return (_f(later_us) - _f(earlier_us)) / 1_000_000


def log_amount(amount_minor: npt.ArrayLike) -> Array:
    """``log1p`` of an amount in minor units (negative amounts clip to 0)."""
    return np.log1p(np.clip(_f(amount_minor), 0, None))


def plan_length_days(n_installments: npt.ArrayLike, installment_interval_days: npt.ArrayLike) -> Array:
    """Days from the first to the last installment of a plan."""
    return (_f(n_installments) - 1) * _f(installment_interval_days)


def installment_amount(amount_minor: npt.ArrayLike, n_installments: npt.ArrayLike) -> Array:
    """The size of one installment in minor units."""
    return safe_ratio(amount_minor, n_installments)
