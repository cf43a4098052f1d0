"""Performance-window credit labels, checked order by order on a hand-made ledger in a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.errors import FeatureError
from cartwise.models.credit.evaluate import performance_labels

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


def _day(d: float | None) -> datetime | None:
    return None if d is None else DAY0 + timedelta(days=d)


# (checkout_id, due day, paid day or None) — every plan's first installment falls due on day 14.
INSTALLMENTS = [
    (1, 14, 13), (1, 28, 27),  # paid on time: good
    (2, 14, None),  # never paid: 60 dpd on day 74, within the window (14 + 90 = 104): bad
    (3, 14, 14), (3, 70, None),  # second one missed: 60 dpd on day 130, after the window: good
    (4, 14, 80),  # paid 66 days late: it had reached 60 dpd on day 74, within the window: bad
    (5, 150, None),  # window ends on day 240, after the data's end (day 200): not labelled
    (6, 14, None),  # chargeback reported on day 50: fraud, not a credit outcome
    (7, 14, None),  # chargeback reported only on day 250: unknown at day 200, so bad
]  # fmt: skip


@pytest.fixture
def warehouse(duckdb_path: Path) -> DuckDBWarehouse:
    w = DuckDBWarehouse(duckdb_path)
    w.write_table(
        "installments",
        pa.table(
            {
                "checkout_id": pa.array([i[0] for i in INSTALLMENTS], pa.int64()),
                "due_at": pa.array([_day(i[1]) for i in INSTALLMENTS], pa.timestamp("us", tz="UTC")),
                "paid_at": pa.array([_day(i[2]) for i in INSTALLMENTS], pa.timestamp("us", tz="UTC")),
            }
        ),
    )
    w.write_table(
        "checkouts",
        pa.table({"created_at": pa.array([_day(0), _day(200)], pa.timestamp("us", tz="UTC"))}),
    )
    w.write_table(
        "chargebacks",
        pa.table(
            {
                "checkout_id": pa.array([6, 7], pa.int64()),
                "reported_at": pa.array([_day(50), _day(250)], pa.timestamp("us", tz="UTC")),
            }
        ),
    )
    return w


def test_labels_follow_the_window_definition(warehouse: DuckDBWarehouse) -> None:
    labels = performance_labels(warehouse)
    assert labels["defaulted"].to_dict() == {1: False, 2: True, 3: False, 4: True, 7: True}
    assert (labels["window_end"] == _day(104)).all()


def test_an_order_is_labelled_only_once_its_window_has_elapsed(warehouse: DuckDBWarehouse) -> None:
    assert performance_labels(warehouse, as_of=_day(103)).empty
    at_104 = performance_labels(warehouse, as_of=_day(104))
    assert sorted(at_104.index) == [1, 2, 3, 4, 7]
    # A cut-off beyond the data's end is held to the data's end: order 5 stays unlabelled.
    assert 5 not in performance_labels(warehouse, as_of=_day(400)).index
    # Paying after 60 dpd was reached (order 4, day 80) does not undo the default.
    assert performance_labels(warehouse, as_of=_day(104)).at[4, "defaulted"]


def test_a_window_shorter_than_the_default_definition_is_refused(warehouse: DuckDBWarehouse) -> None:
    with pytest.raises(FeatureError, match="window_days=30"):
        performance_labels(warehouse, window_days=30)
