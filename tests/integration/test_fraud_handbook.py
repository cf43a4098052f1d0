"""The Fraud Detection Handbook's published baseline, reproduced with cartwise's metric code.

Needs ../shared/datasets/fraud-handbook (skips, saying so, when it is absent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.models.fraud.handbook import (
    CHAPTER3_WINDOWS,
    PUBLISHED_CHAPTER3,
    fit_logistic_baseline,
    load_transformed,
    score_handbook,
    split_chapter3,
)
from shared_datasets import shared_dataset

pytestmark = [pytest.mark.shared_data]


def test_logistic_baseline_reproduces_the_published_numbers() -> None:
    frame = load_transformed(shared_dataset("fraud-handbook"))
    train, test = split_chapter3(frame)
    assert (len(train), int(train["TX_FRAUD"].sum())) == (67_240, 598)  # the handbook's counts
    assert (len(test), int(test["TX_FRAUD"].sum())) == (58_264, 385)
    scores = score_handbook(test, fit_logistic_baseline(train, test))
    published = PUBLISHED_CHAPTER3["Logistic regression"]
    np.testing.assert_allclose(scores.as_tuple(), published, atol=0.005)


@pytest.mark.slow
def test_platform_features_match_the_handbook_definitions(duckdb_path) -> None:  # type: ignore[no-untyped-def]
    """cartwise's point-in-time features, from raw.parquet, equal the handbook's precomputed ones.

    Ours count strictly earlier orders in [t - w, t); the handbook's include the current
    transaction, and its terminal windows are (t - 7d - w, t - 7d]. Equal up to rows with
    another transaction at exactly a window edge.
    """
    from cartwise.data.duckdb_warehouse import DuckDBWarehouse
    from cartwise.models.fraud.handbook_features import handbook_training_frame, load_raw_into

    data = shared_dataset("fraud-handbook")
    warehouse = DuckDBWarehouse(duckdb_path)
    orders = load_raw_into(warehouse, data)
    day = pd.Timestamp(CHAPTER3_WINDOWS.test_start, tz="UTC")
    orders = orders[(orders["created_at"] >= day) & (orders["created_at"] < day + pd.Timedelta(days=1))]
    ours = handbook_training_frame(warehouse, orders).set_index("checkout_id")
    warehouse.close()
    theirs = load_transformed(data).set_index("TRANSACTION_ID").loc[ours.index]
    assert len(ours) > 7_000

    def share_equal(a: pd.Series, b: pd.Series) -> float:
        return float(np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9, atol=1e-9).mean())

    assert (
        share_equal(ours["customer__checkouts__count__7d"] + 1, theirs["CUSTOMER_ID_NB_TX_7DAY_WINDOW"])
        > 0.999
    )
    mean_7d_with_current = (
        (
            ours["customer__amount_minor__mean__7d"].fillna(0) * ours["customer__checkouts__count__7d"]
            + ours["amount_minor"]
        )
        / (ours["customer__checkouts__count__7d"] + 1)
        / 100
    )
    assert share_equal(mean_7d_with_current, theirs["CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW"]) > 0.999
    terminal_7d = ours["merchant__checkouts__count__14d"] - ours["merchant__checkouts__count__7d"]
    assert share_equal(terminal_7d, theirs["TERMINAL_ID_NB_TX_7DAY_WINDOW"]) > 0.99
    assert share_equal(ours["merchant_fraud_rate_14d"], theirs["TERMINAL_ID_RISK_7DAY_WINDOW"]) > 0.99
