"""Out-of-time train / test windows that leave a gap the length of the label delay.

Fraud labels (chargebacks) arrive days or weeks after the order. A model trained
today only knows the labels of orders older than the delay, so an honest
evaluation trains on a window, skips a *delay* window whose labels would not yet
be known, and tests on the window after it (the Fraud Detection Handbook's
protocol, Chapter 5.2). On top of that, at each test day the cards (customers)
already known to be compromised are removed: in production their transactions
would have been blocked, so scoring them would flatter the model.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import FeatureError

__all__ = ["OutOfTimeWindows", "known_compromised_filter", "window_masks"]

logger = logging.getLogger(__name__)

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class OutOfTimeWindows:
    """Train ``[train_start, +train_days)``, delay ``delay_days``, then test ``test_days`` (whole days)."""

    train_start: dt.date
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7

    def __post_init__(self) -> None:
        if min(self.train_days, self.test_days) < 1 or self.delay_days < 0:
            raise FeatureError(
                f"windows need train_days >= 1, test_days >= 1 and delay_days >= 0; got "
                f"{self.train_days}/{self.delay_days}/{self.test_days}"
            )

    @property
    def delay_start(self) -> dt.date:
        return self.train_start + dt.timedelta(days=self.train_days)

    @property
    def test_start(self) -> dt.date:
        return self.delay_start + dt.timedelta(days=self.delay_days)

    @property
    def test_end(self) -> dt.date:
        """First day after the test window."""
        return self.test_start + dt.timedelta(days=self.test_days)

    def shifted(self, days: int) -> OutOfTimeWindows:
        """The same windows moved by ``days`` (negative = earlier), e.g. for a validation fold."""
        return OutOfTimeWindows(
            self.train_start + dt.timedelta(days=days), self.train_days, self.delay_days, self.test_days
        )


def _days(event_time: Any) -> pd.Series:
    series = event_time if isinstance(event_time, pd.Series) else pd.Series(event_time)
    ts = pd.to_datetime(series.reset_index(drop=True))
    if ts.isna().any():
        raise FeatureError("event times contain missing values: every row needs a timestamp")
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)  # days are UTC days
    return ts.dt.normalize()


def window_masks(event_time: Any, windows: OutOfTimeWindows) -> tuple[BoolArray, BoolArray]:
    """Boolean masks of the rows in the train window and in the test window."""
    day = _days(event_time)
    start = pd.Timestamp(windows.train_start)
    train = (day >= start) & (day < pd.Timestamp(windows.delay_start))
    test = (day >= pd.Timestamp(windows.test_start)) & (day < pd.Timestamp(windows.test_end))
    return train.to_numpy(), test.to_numpy()


def known_compromised_filter(
    event_time: Any, card_id: Any, label: Any, windows: OutOfTimeWindows
) -> BoolArray:
    """Mask of the test rows to keep: those whose card was not known to be compromised that day.

    A card is known compromised on test day ``T`` if it had a fraud on any day from
    ``train_start`` up to ``T - delay_days - 1`` (inclusive), the handbook's rule.
    Rows outside the test window are False.
    """
    day = _days(event_time).to_numpy(dtype="datetime64[ns]")
    cards = np.asarray(card_id)
    y = np.asarray(label).astype(bool)
    if not (len(day) == len(cards) == len(y)):
        raise FeatureError("event_time, card_id and label must have one value per row")
    _, test = window_masks(day, windows)
    keep = test.copy()
    start = np.datetime64(windows.train_start)
    for offset in range(windows.test_days):
        t = np.datetime64(windows.test_start + dt.timedelta(days=offset))
        known_until = t - np.timedelta64(windows.delay_days + 1, "D")
        known = np.unique(cards[y & (day >= start) & (day <= known_until)])
        today = day == t
        keep[today] &= ~np.isin(cards[today], known)
    logger.debug("known-compromised filter keeps %d of %d test rows", keep.sum(), test.sum())
    return keep
