"""Out-of-time windows with a label-delay gap, and the handbook's known-compromised-card filter."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cartwise.errors import FeatureError
from cartwise.models.fraud.split import OutOfTimeWindows, known_compromised_filter, window_masks

W = OutOfTimeWindows(dt.date(2024, 1, 1), train_days=2, delay_days=2, test_days=2)


def test_windows_leave_the_delay_as_a_gap() -> None:
    assert (W.delay_start, W.test_start, W.test_end) == (
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 7),
    )
    times = pd.to_datetime(
        [
            "2023-12-31 23:59",
            "2024-01-01 00:00",
            "2024-01-02 23:00",
            "2024-01-03 00:00",
            "2024-01-05 12:00",
            "2024-01-07 00:00",
        ]
    )
    train, test = window_masks(times, W)
    assert train.tolist() == [False, True, True, False, False, False]
    assert test.tolist() == [False, False, False, False, True, False]
    assert W.shifted(-7).train_start == dt.date(2023, 12, 25)
    with pytest.raises(FeatureError, match="train_days"):
        OutOfTimeWindows(dt.date(2024, 1, 1), train_days=0)


def test_cards_known_compromised_before_each_test_day_are_removed() -> None:
    # delay 2: on test day T (Jan 5 / Jan 6) a fraud is known if it happened on or before T - 3
    frame = pd.DataFrame(
        [
            ("2024-01-01 10:00", "A", 1),  # train fraud: A known from the first test day
            ("2024-01-03 10:00", "B", 1),  # delay-day fraud: known on Jan 6 (T-3 = Jan 3), not Jan 5
            ("2024-01-04 10:00", "C", 1),  # too recent for either test day
            ("2024-01-05 10:00", "A", 0),
            ("2024-01-05 11:00", "B", 1),
            ("2024-01-05 12:00", "C", 0),
            ("2024-01-06 10:00", "A", 0),
            ("2024-01-06 11:00", "B", 0),
            ("2024-01-06 12:00", "C", 1),
        ],
        columns=["at", "card", "fraud"],
    )
    keep = known_compromised_filter(pd.to_datetime(frame["at"]), frame["card"], frame["fraud"], W)
    assert frame.loc[keep, ["at", "card"]].values.tolist() == [
        ["2024-01-05 11:00", "B"],
        ["2024-01-05 12:00", "C"],
        ["2024-01-06 12:00", "C"],
    ]
