"""The handbook features computed point-in-time on a small DuckDB warehouse: card spikes, merchant reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.models.fraud.handbook_features import (
    chargeback_detail_features,
    handbook_feature_set,
    handbook_training_frame,
    load_raw_into,
)


def _training_frame(raw: pd.DataFrame, tmp_path: Path, duckdb_path: Path) -> pd.DataFrame:
    """The handbook features of every order in ``raw`` (handbook columns), by checkout id."""
    raw.to_parquet(tmp_path / "raw.parquet")
    warehouse = DuckDBWarehouse(duckdb_path)
    try:
        orders = load_raw_into(warehouse, tmp_path)
        out: pd.DataFrame = handbook_training_frame(warehouse, orders).set_index("checkout_id")
        return out
    finally:
        warehouse.close()


@pytest.fixture
def frame(tmp_path: Path, duckdb_path: Path) -> pd.DataFrame:
    # card 1: 10.00 at noon on days 0-2, 50.00 (5x its mean) on day 3, 10.00 on day 4 at 11:00;
    # card 2 on another terminal keeps the windows of card 1 apart from anyone else's
    day = pd.Timestamp("2018-04-01 12:00")
    times = [day, day + pd.Timedelta(days=1), day + pd.Timedelta(days=2), day + pd.Timedelta(days=3)]
    times += [day + pd.Timedelta(days=4, hours=-1), day + pd.Timedelta(days=2)]
    raw = pd.DataFrame(
        {
            "TRANSACTION_ID": np.arange(6, dtype=np.int64),
            "TX_DATETIME": times,
            "CUSTOMER_ID": [1, 1, 1, 1, 1, 2],
            "TERMINAL_ID": [7, 7, 7, 7, 7, 8],
            "TX_AMOUNT": [10.0, 10.0, 10.0, 50.0, 10.0, 99.0],
            "TX_FRAUD": [0, 0, 0, 1, 0, 0],
        }
    )
    return _training_frame(raw, tmp_path, duckdb_path)


def test_a_spike_counts_only_for_later_orders(frame: pd.DataFrame) -> None:
    spike, after = frame.loc[3], frame.loc[4]
    # the spike order itself is not in its own features (strictly earlier orders only)
    assert spike["customer__spike_orders__count__1d"] == 0
    assert spike["customer__amount_ratio__max__7d"] == pytest.approx(1.0)
    # the next order sees it: 50 over the mean of the three earlier 10.00 orders
    assert after["customer__amount_ratio__max__1d"] == pytest.approx(5.0)
    assert after["customer__spike_orders__count__1d"] == 1
    assert after["customer__spike_orders__count__3d"] == 1
    assert after["customer__checkouts__count__3d"] == 3
    assert after["customer_spike_share_7d"] == pytest.approx(1 / 4)
    assert np.isnan(after["customer_max_3d_over_mean_14_30d"])  # no orders 14 to 30 days ago
    # the first order has no history: no ratio, no spikes, share 0
    first = frame.loc[0]
    assert np.isnan(first["customer__amount_ratio__max__7d"])
    assert first["customer__spike_orders__count__7d"] == 0
    assert first["customer_spike_share_7d"] == 0.0


def test_merchant_recent_volume_is_relative_to_its_30_day_mean(frame: pd.DataFrame) -> None:
    # terminal 7 at day 4, 11:00: one order in the last day (day 3 noon), four in 30 days
    assert frame.loc[4, "merchant_orders_1d_over_30d"] == pytest.approx(1 / (4 / 30))
    assert np.isnan(frame["merchant_orders_1d_over_30d"].to_numpy(np.float64)[0])


@pytest.fixture
def reports(tmp_path: Path, duckdb_path: Path) -> pd.DataFrame:
    """Fraud reports at two terminals (known 7 days after the order) and probe orders around them.

    Terminal 7: card 1 pays 10.00 at noon on days 0-2, then 50.00 (a spike, 5x its mean) on day 3,
    a fraud. Terminal 9: card 3's first two orders (days 1 and 2, noon) are frauds of an ordinary
    amount. Probes: card 2 at terminal 9 on day 8 06:00 (no report known yet) and day 10 18:00
    (both known), card 4 at terminal 7 on day 11 06:00 (the spike's report known).
    """
    day = pd.Timestamp("2018-04-01 12:00")
    at = [day + pd.Timedelta(days=d) for d in (0, 1, 2, 3, 1, 2)]
    at += [day + pd.Timedelta(days=8, hours=-6), day + pd.Timedelta(days=10, hours=6)]
    at += [day + pd.Timedelta(days=11, hours=-6)]
    raw = pd.DataFrame(
        {
            "TRANSACTION_ID": np.arange(9, dtype=np.int64),
            "TX_DATETIME": at,
            "CUSTOMER_ID": [1, 1, 1, 1, 3, 3, 2, 2, 4],
            "TERMINAL_ID": [7, 7, 7, 7, 9, 9, 9, 9, 7],
            "TX_AMOUNT": [10.0, 10.0, 10.0, 50.0, 20.0, 20.0, 30.0, 30.0, 30.0],
            "TX_FRAUD": [0, 0, 0, 1, 1, 1, 0, 0, 0],
        }
    )
    return _training_frame(raw, tmp_path, duckdb_path)


def test_merchant_reports_count_only_once_known(reports: pd.DataFrame) -> None:
    before = reports.loc[6]  # day 8 06:00: the day-1 fraud is reported at day 8 noon
    assert before["merchant__plain_chargebacks__count__35d"] == 0
    assert np.isnan(before["merchant__chargeback_age__mean__35d"])
    assert np.isnan(before["merchant__chargeback_ratio__mean__35d"])


def test_merchant_reports_by_kind_and_age(reports: pd.DataFrame) -> None:
    ordinary = reports.loc[7]  # terminal 9, day 10 18:00: two ordinary frauds 9.25 and 8.25 days old
    assert ordinary["merchant__plain_chargebacks__count__10d"] == 2
    assert ordinary["merchant__plain_chargebacks__count__8d"] == 0  # both older than 8 days
    assert ordinary["merchant__chargeback_age__mean__14d"] == pytest.approx(8.75)
    # the card's first order has no history (no ratio, counted as plain); the second is 20 over 20
    assert ordinary["merchant__chargeback_ratio__mean__10d"] == pytest.approx(1.0)
    spike = reports.loc[8]  # terminal 7, day 11 06:00: the day-3 fraud was a 5x spike of its card
    assert spike["merchant__chargebacks__count__8d"] == 1
    assert spike["merchant__plain_chargebacks__count__8d"] == 0
    assert spike["merchant__chargeback_ratio__mean__8d"] == pytest.approx(5.0)
    assert spike["merchant__chargeback_age__mean__14d"] == pytest.approx(7.75)


def test_merchant_newest_report_against_newest_known_good_order(reports: pd.DataFrame) -> None:
    spike = reports.loc[8]  # terminal 7, day 11 06:00
    assert spike["merchant__chargeback_age__min__35d"] == pytest.approx(7.75)  # the day-3 fraud
    # orders 0-2 (days 0-2) are known good once their 7 days pass; the day-3 fraud never is
    assert spike["merchant__no_fraud_order_age__min__35d"] == pytest.approx(8.75)
    # nothing good since the report: the newest good order is older than the newest report
    assert spike["merchant_no_fraud_age_minus_chargeback_age_35d"] == pytest.approx(1.0)
    ordinary = reports.loc[7]  # terminal 9, day 10 18:00: two frauds known, its only good order too recent
    assert ordinary["merchant__chargeback_age__min__35d"] == pytest.approx(8.25)
    assert np.isnan(ordinary["merchant__no_fraud_order_age__min__35d"])
    assert np.isnan(ordinary["merchant_no_fraud_age_minus_chargeback_age_35d"])


def test_a_good_order_after_the_report_counts_once_its_delay_has_passed(
    tmp_path: Path, duckdb_path: Path
) -> None:
    # terminal 5: a fraud on day 0 noon, a good order on day 1 noon, probes on day 8 06:00 and day 9 noon
    day = pd.Timestamp("2018-04-01 12:00")
    raw = pd.DataFrame(
        {
            "TRANSACTION_ID": np.arange(4, dtype=np.int64),
            "TX_DATETIME": [day + pd.Timedelta(hours=h) for h in (0, 24, 8 * 24 - 6, 9 * 24)],
            "CUSTOMER_ID": [5, 6, 7, 8],
            "TERMINAL_ID": [5, 5, 5, 5],
            "TX_AMOUNT": [40.0, 40.0, 40.0, 40.0],
            "TX_FRAUD": [1, 0, 0, 0],
        }
    )
    frame = _training_frame(raw, tmp_path, duckdb_path)
    early = frame.loc[2]  # the report is known (day 7 noon), the good order not yet (day 8 noon)
    assert early["merchant__chargeback_age__min__35d"] == pytest.approx(7.75)
    assert np.isnan(early["merchant__no_fraud_order_age__min__35d"])
    late = frame.loc[3]
    assert late["merchant__chargeback_age__min__35d"] == pytest.approx(9.0)
    assert late["merchant__no_fraud_order_age__min__35d"] == pytest.approx(8.0)
    # a good order followed the report: the newest good order is younger than the newest report
    assert late["merchant_no_fraud_age_minus_chargeback_age_35d"] == pytest.approx(-1.0)


def test_chargeback_detail_is_optional() -> None:
    detail = chargeback_detail_features()
    assert len(detail) == 19
    assert all(name.startswith("merchant_") for name in detail)
    assert not set(detail) & set(handbook_feature_set(chargeback_detail=False).feature_names)
