"""cartwise's own fraud features for the handbook's card transactions, in the feature platform.

The handbook's data is mapped onto cartwise's data model: each card is a
customer, each terminal a merchant, each transaction a ``checkouts`` row (amount
in cents), and each fraudulent transaction a ``chargebacks`` row reported 7 days
after the order (the handbook's label delay). Features are defined with
:mod:`cartwise.features.definitions` over those two tables and computed
point-in-time by :func:`cartwise.features.offline.training_frame` (only strictly
earlier orders; a chargeback only once reported), so the same definitions
serve online.

What they capture, by fraud scenario of the simulator:

* amount > 220 (scenario 1): the request amount itself;
* compromised terminal for 28 days (scenario 2): the merchant's reported-fraud
  count and rate over several windows behind the 7-day delay (a window ``w`` on
  chargebacks covers orders in ``[t - w, t - 7d)``; the rate divides it by the
  orders in the same span, ``count(w) - count(7d)``); with ``chargeback_detail``
  also by kind and age: the reported frauds that the card's own amount does not
  explain (no spike for its card, so more likely the terminal's), the mean amount
  ratio of the reported orders, and their mean age, which dates the start of a
  compromise and so tells whether its 28 days may be over; and the age of the
  newest report against that of the newest order known to be good (past the delay
  with no report): a compromised terminal has no good order after its latest report;
* compromised card for 14 days, a third of amounts x5 (scenario 3): the amount
  against the customer's own history (ratio to the 30-day mean, to the 30-day
  maximum, and to the mean of 14 to 30 days ago, which a compromise of the last
  14 days has not yet inflated), and recent spending against the 30-day mean;
  at the card level, how many of its recent orders were spikes (an order's
  amount at least :data:`HIGH_RATIO` times the card's mean of the 30 days before
  that order), their share and the largest such ratio, so every order of a
  compromised card ranks high, not only the inflated ones;
* terminal activity: the last day's orders against the terminal's 30-day daily mean.

The spike sources compute each order's ratio with a SQL window over the card's
earlier orders: exact offline; the online stream processor evaluates source
queries per micro-batch, so this set is for offline training and benchmarks.
"""

from __future__ import annotations

import itertools
import logging
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cartwise.data.warehouse import Warehouse
from cartwise.domain.schemas import TABLES
from cartwise.errors import SchemaError
from cartwise.features.definitions import (
    Aggregation,
    DerivedFeature,
    Entity,
    EventSource,
    FeatureSet,
    FeatureView,
    RequestFeature,
)

__all__ = [
    "CHARGEBACK_AMOUNT_RATIOS",
    "GOOD_ORDERS",
    "HIGH_RATIO",
    "LABEL_DELAY_DAYS",
    "MERCHANT_AGE_WINDOWS",
    "MERCHANT_RISK_WINDOWS",
    "chargeback_detail_features",
    "handbook_feature_set",
    "handbook_training_frame",
    "load_raw_into",
]

logger = logging.getLogger(__name__)

LABEL_DELAY_DAYS = 7
MERCHANT_RISK_WINDOWS = (8, 10, 14, 21, 28, 35)
"""Days of the chargeback windows; each covers orders from w days ago up to the 7-day delay."""

CUSTOMER = Entity("customer", "customer_id", description="A card of the handbook's simulator.")
MERCHANT = Entity("merchant", "merchant_id", description="A payment terminal of the handbook's simulator.")

CHECKOUTS = EventSource("checkouts", "checkouts", "created_at", description="Orders (card transactions).")
CHARGEBACKS = EventSource(
    "chargebacks",
    "chargebacks",
    "order_created_at",
    known_at_column="reported_at",
    description="Fraud reports, known 7 days after the order.",
)
HIGH_RATIO = 3.0
"""An order at least this many times the customer's mean of the 30 days before it counts as a spike."""

_AMOUNT_RATIO_SQL = (
    "amount_minor / AVG(amount_minor) OVER (PARTITION BY customer_id ORDER BY created_at "
    "RANGE BETWEEN INTERVAL 30 DAYS PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)"
)
CHECKOUT_AMOUNT_RATIOS = EventSource(
    "checkout_amount_ratios",
    "checkouts",
    "created_at",
    # each order's amount over the customer's mean of strictly earlier orders in the 30 days before
    # it: only the past of that order, so any window ending before t stays point-in-time
    query=(
        f"SELECT checkout_id, customer_id, created_at, amount_minor, {_AMOUNT_RATIO_SQL} AS amount_ratio "
        "FROM checkouts"
    ),
    order_column="checkout_id",
    description="Orders with their amount over the customer's preceding 30-day mean.",
)

CHARGEBACK_AMOUNT_RATIOS = EventSource(
    "chargeback_amount_ratios",
    "chargebacks",
    "order_created_at",
    known_at_column="reported_at",
    # each fraud report with its order's amount ratio (as in checkout_amount_ratios): that ratio reads
    # only orders before the reported order, all of them known when the report is
    query=(
        "SELECT cb.*, r.amount_ratio FROM chargebacks AS cb LEFT JOIN "
        f"(SELECT checkout_id, {_AMOUNT_RATIO_SQL} AS amount_ratio FROM checkouts) AS r USING (checkout_id)"
    ),
    order_column="chargeback_id",
    description="Fraud reports with their order's amount over the card's preceding 30-day mean.",
)


def _days_before_feature_time(column: str) -> str:
    """SQL for the days from ``column`` to the time the features are computed for."""
    return f"(EPOCH_US(feature_time) - EPOCH_US({column})) / 86400000000.0"


CHARGEBACK_AGE_DAYS = _days_before_feature_time("order_created_at")
"""Days from a reported fraud order to the time the features are computed for."""

GOOD_ORDERS = EventSource(
    "good_orders",
    "checkouts",
    "created_at",
    known_at_column="label_known_at",
    # an order is known to be good once its label delay has passed without a fraud report: only then,
    # so at time t the source holds the orders older than the delay with no report by t
    query=(
        "SELECT c.checkout_id, c.merchant_id, c.created_at, "
        f"c.created_at + INTERVAL {LABEL_DELAY_DAYS} DAYS AS label_known_at FROM checkouts AS c "
        "WHERE NOT EXISTS (SELECT 1 FROM chargebacks AS cb WHERE cb.checkout_id = c.checkout_id "
        f"AND cb.reported_at <= c.created_at + INTERVAL {LABEL_DELAY_DAYS} DAYS)"
    ),
    order_column="checkout_id",
    description="Orders whose label delay passed with no fraud report, known good from then on.",
)
GOOD_ORDER_AGE_DAYS = _days_before_feature_time("created_at")
"""Days from an order known to be good to the time the features are computed for."""
MERCHANT_AGE_WINDOWS = (14, 21, 28, 35)
"""Days of the windows over which a merchant's reported frauds are dated (mean age)."""
RECENCY_WINDOW = "35d"
"""Window of the merchant's newest reported fraud and newest known-good order."""

_RAW_COLUMNS = ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD")


def _constant(table: str, column: str, n: int, value: Any) -> pa.Array:
    return pa.array([value] * n, type=TABLES[table].schema.field(column).type)


def load_raw_into(warehouse: Warehouse, data_dir: str | Path) -> pd.DataFrame:
    """Load ``raw.parquet`` as ``checkouts`` and ``chargebacks``; return the orders with their label.

    The returned frame (``checkout_id``, ``created_at``, ``customer_id``,
    ``merchant_id``, ``amount_minor``, ``fraud``; in time order) is the spine
    for :func:`handbook_training_frame`.

    Columns the handbook has no counterpart for get neutral constants (one item,
    currency EUR, pay-in-4, identifiers derived from the card).
    """
    path = Path(data_dir) / "raw.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: point --data at the fraud-handbook dataset folder")
    raw = pd.read_parquet(path)
    missing = [c for c in _RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{path} lacks columns {missing}; it is not the handbook's raw transactions")
    n = len(raw)
    # the handbook's naive times are taken as UTC; via int64 microseconds (no tz-dropping conversions)
    created_us = pd.to_datetime(raw["TX_DATETIME"]).to_numpy("datetime64[us]").astype(np.int64)
    created = pa.array(created_us, pa.int64()).cast(TABLES["checkouts"].schema.field("created_at").type)
    ids = pa.array(raw["TRANSACTION_ID"].to_numpy(np.int64))
    customers = pa.array(raw["CUSTOMER_ID"].to_numpy(np.int64))
    merchants = pa.array(raw["TERMINAL_ID"].to_numpy(np.int64))
    cents = pa.array(np.round(raw["TX_AMOUNT"].to_numpy(np.float64) * 100).astype(np.int64))
    card = pa.array("card-" + raw["CUSTOMER_ID"].astype(str).to_numpy(object), type=pa.string())
    c = partial(_constant, "checkouts", n=n)
    checkouts = pa.table(
        {
            "checkout_id": ids,
            "customer_id": customers,
            "merchant_id": merchants,
            "created_at": created,
            "amount_minor": cents,
            "currency": c("currency", value="EUR"),
            "n_items": c("n_items", value=1),
            "product_ids": c("product_ids", value=[]),
            "device_id": card,
            "payment_instrument_id": card,
            "ip_hash": card,
            "geo_hash": card,
            "shipping_address_hash": card,
            "plan_type": c("plan_type", value="pay_in_4"),
            "n_installments": c("n_installments", value=4),
            "installment_interval_days": c("installment_interval_days", value=14),
        },
        schema=TABLES["checkouts"].schema,
    )
    is_fraud = raw["TX_FRAUD"].to_numpy() == 1
    fraud = checkouts.filter(pa.array(is_fraud))
    order_at = fraud.column("created_at")
    delay_us = LABEL_DELAY_DAYS * 86_400_000_000
    reported = pa.array(created_us[is_fraud] + delay_us, pa.int64()).cast(order_at.type)
    chargebacks = pa.table(
        {
            "chargeback_id": fraud.column("checkout_id"),
            "checkout_id": fraud.column("checkout_id"),
            "customer_id": fraud.column("customer_id"),
            "merchant_id": fraud.column("merchant_id"),
            "order_created_at": order_at,
            "reported_at": reported,
            "amount_minor": fraud.column("amount_minor"),
            "fraud_type": pa.array(["handbook"] * fraud.num_rows, type=pa.string()),
        },
        schema=TABLES["chargebacks"].schema,
    )
    warehouse.write_tables({"checkouts": checkouts, "chargebacks": chargebacks})
    orders = checkouts.select(["checkout_id", "created_at", "customer_id", "merchant_id", "amount_minor"])
    orders = orders.append_column("fraud", pa.array(raw["TX_FRAUD"].to_numpy(np.int64)))
    frame: pd.DataFrame = orders.to_pandas()
    return frame.sort_values(["created_at", "checkout_id"], kind="stable", ignore_index=True)


def _ratio(numerator: Any, denominator: Any) -> Any:
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _amount(amount_minor: Any) -> Any:
    return np.asarray(amount_minor, dtype=np.float64) / 100.0


def _amount_over(reference: Any, amount_minor: Any) -> Any:
    """The order's amount against a reference amount of the customer's history."""
    return _ratio(amount_minor, reference)


def _span_mean(sum_long: Any, sum_short: Any, count_long: Any, count_short: Any) -> Any:
    """Mean amount of the orders between the short and the long window (e.g. 14 to 30 days ago).

    A card compromised within the short window has a clean reference here: the
    fraudster's inflated amounts have not reached it yet.
    """
    return _ratio(
        np.asarray(sum_long, dtype=np.float64) - sum_short,
        np.asarray(count_long, dtype=np.float64) - count_short,
    )


def _share(part: Any, whole: Any) -> Any:
    """``part / whole``; 0 when ``whole`` is 0 (no orders, so no spikes)."""
    return np.where(np.asarray(whole, dtype=np.float64) > 0, _ratio(part, whole), 0.0)


def _daily_rate_ratio(count_7d: Any, count_30d: Any, count_14d: Any) -> Any:
    """Orders per day in the last 7 days over orders per day 14 to 30 days ago (NaN without those)."""
    recent = np.asarray(count_7d, dtype=np.float64) / 7.0
    before = (np.asarray(count_30d, dtype=np.float64) - np.asarray(count_14d, dtype=np.float64)) / 16.0
    return _ratio(recent, before)


def _daily_rate_ratio_30d(count_1d: Any, count_30d: Any) -> Any:
    """Orders in the last day over the daily mean of the last 30 days (NaN without any)."""
    return _ratio(count_1d, np.asarray(count_30d, dtype=np.float64) / 30.0)


def _night(feature_time: Any) -> Any:
    hour = (np.asarray(feature_time, dtype=np.int64) // 3_600_000_000) % 24
    return (hour <= 6).astype(np.float64)


def _weekend(feature_time: Any) -> Any:
    # 1970-01-01 was a Thursday, so (days + 3) % 7 is 0 on Monday ... 5 Saturday, 6 Sunday
    days = np.asarray(feature_time, dtype=np.int64) // 86_400_000_000
    return np.isin((days + 3) % 7, (5, 6)).astype(np.float64)


def _fraud_rate(frauds: Any, orders_in_window: Any, orders_last_7d: Any) -> Any:
    """Reported frauds over the orders of the same span ``[t - w, t - 7d)``; 0 without orders."""
    orders = np.asarray(orders_in_window, dtype=np.float64) - np.asarray(orders_last_7d, dtype=np.float64)
    return np.where(orders > 0, _ratio(frauds, orders), 0.0)


def _span_rate(frauds_long: Any, frauds_short: Any, orders_long: Any, orders_short: Any) -> Any:
    """Reported-fraud rate of the orders between two windows, ``[t - long, t - short)``; 0 without orders."""
    frauds = np.asarray(frauds_long, dtype=np.float64) - np.asarray(frauds_short, dtype=np.float64)
    orders = np.asarray(orders_long, dtype=np.float64) - np.asarray(orders_short, dtype=np.float64)
    return np.where(orders > 0, _ratio(frauds, orders), 0.0)


def _no_fraud_age_minus_chargeback_age(good_age: Any, report_age: Any) -> Any:
    """Age of the newest known-good order minus that of the newest report; NaN without either.

    Positive: no order known to be good has followed the merchant's latest reported fraud (as
    at a terminal still compromised); negative: good orders came after it (the compromise, if
    there was one, is over).
    """
    return np.asarray(good_age, dtype=np.float64) - np.asarray(report_age, dtype=np.float64)


def handbook_feature_set(
    risk_windows: tuple[int, ...] = MERCHANT_RISK_WINDOWS, *, chargeback_detail: bool = True
) -> FeatureSet:
    """The fraud features for the handbook's transactions (see the module docstring).

    ``chargeback_detail`` adds the merchant's reported frauds by kind and age, and
    its newest report against its newest known-good order (see
    :func:`chargeback_detail_features`); without it the set is the one before those
    were added.
    """
    fraud = ("fraud",)
    customer = FeatureView(
        "customer_spending",
        CHECKOUTS,
        (CUSTOMER,),
        (
            Aggregation("count", windows=("1d", "3d", "7d", "14d", "30d")),
            Aggregation("mean", "amount_minor", windows=("1d", "7d", "30d")),
            Aggregation("max", "amount_minor", windows=("1d", "3d", "7d", "14d", "30d")),
            Aggregation("sum", "amount_minor", windows=("1d", "14d", "30d")),
        ),
        groups=fraud,
    )
    ratios = FeatureView(
        "customer_amount_spikes",
        CHECKOUT_AMOUNT_RATIOS,
        (CUSTOMER,),
        (
            Aggregation("max", "amount_ratio", windows=("1d", "3d", "7d", "14d")),
            Aggregation("mean", "amount_ratio", windows=("7d",)),
            Aggregation(
                "count",
                name="spike_orders",
                where=f"amount_ratio >= {HIGH_RATIO}",
                windows=("1d", "3d", "7d", "14d"),
            ),
        ),
        groups=fraud,
    )
    merchant_windows = tuple(dict.fromkeys(("1d", "7d", "30d", *(f"{w}d" for w in risk_windows))))
    merchant = FeatureView(
        "merchant_activity",
        CHECKOUTS,
        (MERCHANT,),
        (Aggregation("count", windows=merchant_windows),),
        groups=fraud,
    )
    merchant_fraud = FeatureView(
        "merchant_chargebacks",
        CHARGEBACKS,
        (MERCHANT,),
        (Aggregation("count", windows=tuple(f"{w}d" for w in risk_windows)),),
        groups=fraud,
    )
    on_demand: list[Any] = [
        RequestFeature("tx_amount", _amount, request_inputs=("amount_minor",), groups=fraud),
        RequestFeature("tx_during_night", _night, request_inputs=("feature_time",), groups=fraud),
        RequestFeature("tx_during_weekend", _weekend, request_inputs=("feature_time",), groups=fraud),
        RequestFeature(
            "amount_over_customer_mean_30d",
            _amount_over,
            feature_inputs=("customer__amount_minor__mean__30d",),
            request_inputs=("amount_minor",),
            groups=fraud,
        ),
        RequestFeature(
            "amount_over_customer_max_30d",
            _amount_over,
            feature_inputs=("customer__amount_minor__max__30d",),
            request_inputs=("amount_minor",),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_mean_amount_14_30d",
            _span_mean,
            feature_inputs=(
                "customer__amount_minor__sum__30d",
                "customer__amount_minor__sum__14d",
                "customer__checkouts__count__30d",
                "customer__checkouts__count__14d",
            ),
            groups=fraud,
        ),
        RequestFeature(
            "amount_over_customer_mean_14_30d",
            _amount_over,
            feature_inputs=("customer_mean_amount_14_30d",),
            request_inputs=("amount_minor",),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_max_1d_over_mean_14_30d",
            _ratio,
            feature_inputs=("customer__amount_minor__max__1d", "customer_mean_amount_14_30d"),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_max_14d_over_mean_14_30d",
            _ratio,
            feature_inputs=("customer__amount_minor__max__14d", "customer_mean_amount_14_30d"),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_max_7d_over_mean_30d",
            _ratio,
            feature_inputs=("customer__amount_minor__max__7d", "customer__amount_minor__mean__30d"),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_mean_1d_over_mean_30d",
            _ratio,
            feature_inputs=("customer__amount_minor__mean__1d", "customer__amount_minor__mean__30d"),
            groups=fraud,
        ),
    ]
    for w in risk_windows:
        on_demand.append(
            DerivedFeature(
                f"merchant_fraud_rate_{w}d",
                _fraud_rate,
                feature_inputs=(
                    f"merchant__chargebacks__count__{w}d",
                    f"merchant__checkouts__count__{w}d",
                    "merchant__checkouts__count__7d",
                ),
                groups=fraud,
            )
        )
    # spans between consecutive windows locate when a merchant's fraud started: the simulator's
    # (and real) compromises are runs of days, so "fraud 28-35 days ago" hints the run is over
    for a, b in itertools.pairwise(risk_windows):
        on_demand.append(
            DerivedFeature(
                f"merchant_fraud_rate_{a}_{b}d",
                _span_rate,
                feature_inputs=(
                    f"merchant__chargebacks__count__{b}d",
                    f"merchant__chargebacks__count__{a}d",
                    f"merchant__checkouts__count__{b}d",
                    f"merchant__checkouts__count__{a}d",
                ),
                groups=fraud,
            )
        )
    on_demand += [
        DerivedFeature(
            "customer_spike_share_7d",
            _share,
            feature_inputs=("customer__spike_orders__count__7d", "customer__checkouts__count__7d"),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_spike_share_14d",
            _share,
            feature_inputs=("customer__spike_orders__count__14d", "customer__checkouts__count__14d"),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_max_3d_over_mean_14_30d",
            _ratio,
            feature_inputs=("customer__amount_minor__max__3d", "customer_mean_amount_14_30d"),
            groups=fraud,
        ),
        DerivedFeature(
            "customer_orders_7d_over_14_30d",
            _daily_rate_ratio,
            feature_inputs=(
                "customer__checkouts__count__7d",
                "customer__checkouts__count__30d",
                "customer__checkouts__count__14d",
            ),
            groups=fraud,
        ),
        DerivedFeature(
            "merchant_orders_1d_over_30d",
            _daily_rate_ratio_30d,
            feature_inputs=("merchant__checkouts__count__1d", "merchant__checkouts__count__30d"),
            groups=fraud,
        ),
    ]
    views: tuple[FeatureView, ...] = (customer, ratios, merchant, merchant_fraud)
    if chargeback_detail:
        views += (_chargeback_detail_view(risk_windows), _good_orders_view())
        on_demand.append(
            DerivedFeature(
                f"merchant_no_fraud_age_minus_chargeback_age_{RECENCY_WINDOW}",
                _no_fraud_age_minus_chargeback_age,
                feature_inputs=(
                    f"merchant__no_fraud_order_age__min__{RECENCY_WINDOW}",
                    f"merchant__chargeback_age__min__{RECENCY_WINDOW}",
                ),
                groups=fraud,
            )
        )
    return FeatureSet(views, tuple(on_demand), name="fraud_handbook")


def _chargeback_detail_view(risk_windows: tuple[int, ...]) -> FeatureView:
    """The merchant's reported frauds by kind and by age, behind the label delay.

    * ``plain_chargebacks``: reported frauds whose order was no spike for its card
      (amount ratio below :data:`HIGH_RATIO`, or no history): a fraud the card's own
      amount does not explain points at the merchant (a compromised terminal), one
      that does (a compromised card shopping there) much less;
    * ``chargeback_ratio`` (mean): the same evidence as a continuous value;
    * ``chargeback_age`` (mean, days): how long ago the reported frauds happened. A
      run of frauds from day ``D`` to the delay has a mean age of about
      ``(t - D + 7) / 2``, so it dates the start of a compromise, and with it
      whether the compromise may be over; its minimum dates the newest report, read
      against the newest known-good order (:func:`_good_orders_view`).
    """
    windows = tuple(f"{w}d" for w in risk_windows)
    return FeatureView(
        "merchant_chargeback_detail",
        CHARGEBACK_AMOUNT_RATIOS,
        (MERCHANT,),
        (
            Aggregation(
                "count",
                name="plain_chargebacks",
                where=f"amount_ratio IS NULL OR amount_ratio < {HIGH_RATIO}",
                windows=windows,
            ),
            Aggregation("mean", "amount_ratio", name="chargeback_ratio", windows=windows),
            Aggregation(
                "mean",
                CHARGEBACK_AGE_DAYS,
                name="chargeback_age",
                windows=tuple(f"{w}d" for w in MERCHANT_AGE_WINDOWS),
            ),
            Aggregation("min", CHARGEBACK_AGE_DAYS, name="chargeback_age", windows=(RECENCY_WINDOW,)),
        ),
        groups=("fraud",),
    )


def _good_orders_view() -> FeatureView:
    """The merchant's newest order known to be good: how long ago, in days (NaN without one).

    Read against the newest reported fraud (``merchant__chargeback_age__min``): a terminal whose
    latest report has no known-good order after it may still be compromised; one with good
    orders after the report is not, or no longer.
    """
    return FeatureView(
        "merchant_good_orders",
        GOOD_ORDERS,
        (MERCHANT,),
        (Aggregation("min", GOOD_ORDER_AGE_DAYS, name="no_fraud_order_age", windows=(RECENCY_WINDOW,)),),
        groups=("fraud",),
    )


def chargeback_detail_features(risk_windows: tuple[int, ...] = MERCHANT_RISK_WINDOWS) -> tuple[str, ...]:
    """Names of the features ``chargeback_detail=True`` adds to :func:`handbook_feature_set`."""
    full = handbook_feature_set(risk_windows).feature_names
    base = set(handbook_feature_set(risk_windows, chargeback_detail=False).feature_names)
    return tuple(n for n in full if n not in base)


def handbook_training_frame(
    warehouse: Warehouse, orders: pd.DataFrame, feature_set: FeatureSet | None = None
) -> pd.DataFrame:
    """Point-in-time features for ``orders`` (rows of :func:`load_raw_into`'s frame), row order kept.

    Adds ``day`` (the order's UTC date) and one column per feature.
    """
    from cartwise.features.offline import training_frame

    fs = feature_set if feature_set is not None else handbook_feature_set()
    timestamp = TABLES["checkouts"].schema.field("created_at").type
    created_us = orders["created_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    spine = pa.table(
        {
            **{
                c: pa.array(orders[c].to_numpy(np.int64))
                for c in ("checkout_id", "customer_id", "merchant_id")
            },
            "created_at": pa.array(created_us.astype(np.int64), pa.int64()).cast(timestamp),
            "amount_minor": pa.array(orders["amount_minor"].to_numpy(np.int64)),
            "fraud": pa.array(orders["fraud"].to_numpy(np.int64)),
        }
    )
    frame: pd.DataFrame = training_frame(warehouse, spine, fs, timestamp_column="created_at").to_pandas()
    frame["day"] = frame["created_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    return frame
