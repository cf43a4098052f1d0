"""The simulator's signal comes from mechanisms: each fraud pattern leaves its signature,
repayment follows capacity and habit, the drift starts on its day, and the headline rates
and label delays fall in the ranges docs/data-model.md documents."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest

from cartwise.data.simulator import SimulationConfig, SimulationResult, run
from cartwise.data.simulator.identity import REGIONS
from cartwise.data.simulator.labels import chargeback_reported_at
from cartwise.data.simulator.ranges import DOCUMENTED_RANGES as R
from cartwise.data.simulator.repayment import NEVER

CONFIG = SimulationConfig(customers=4_000, days=120, seed=3)
DRIFT = CONFIG.start + dt.timedelta(days=CONFIG.drift_day)


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return run(CONFIG)


@pytest.fixture(scope="module")
def con(result: SimulationResult) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for name, table in {**result.tables, **result.truth}.items():
        connection.register(name, table)
    connection.execute(
        "CREATE VIEW orders AS SELECT c.*, t.fraud_type FROM checkouts AS c JOIN checkout_truth AS t USING (checkout_id)"
    )
    return connection


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[object, ...]:
    rows = con.execute(sql).fetchall()
    return tuple(rows[0])


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


# -- documented ranges ----------------------------------------------------------


def test_fraud_and_default_rates_fall_in_the_documented_ranges(con: duckdb.DuckDBPyConnection) -> None:
    true_rate, n = _one(
        con, "SELECT avg(CASE WHEN fraud_type IS NULL THEN 0.0 ELSE 1.0 END), count(*) FROM orders"
    )
    (reported,) = _one(con, "SELECT count(*) FROM chargebacks")
    (default_rate,) = _one(con, "SELECT avg(CASE WHEN defaulted THEN 1.0 ELSE 0.0 END) FROM credit_outcomes")
    assert _within(float(true_rate), R.true_fraud_rate), true_rate  # type: ignore[arg-type]
    assert _within(int(reported) / int(n), R.reported_fraud_rate), int(reported) / int(n)  # type: ignore[call-overload]
    assert _within(float(default_rate), R.default_rate), default_rate  # type: ignore[arg-type]


def test_chargeback_delays_fall_in_the_documented_range(con: duckdb.DuckDBPyConnection) -> None:
    lo, median, hi = _one(
        con,
        "SELECT min(d), median(d), max(d) FROM (SELECT epoch(reported_at - order_created_at) / 86400 AS d FROM chargebacks)",
    )
    assert R.chargeback_delay_days[0] <= float(lo)  # type: ignore[arg-type]
    assert float(hi) <= R.chargeback_delay_days[1]  # type: ignore[arg-type]
    assert _within(float(median), R.median_chargeback_delay_days)  # type: ignore[arg-type]


def test_the_reporting_delay_and_unreported_share_follow_the_documented_law() -> None:
    """The label law itself, on many orders (a single small run holds too few fraud orders)."""
    n = 200_000
    created = np.zeros(n, dtype=np.int64)
    reported = chargeback_reported_at(created, np.ones(n, dtype=np.int64), 0.05, np.random.default_rng(0))
    known = reported != NEVER
    days = reported[known] / 86_400e6
    assert _within(1 - known.mean(), R.unreported_share)
    assert R.chargeback_delay_days[0] <= days.min()
    assert days.max() <= R.chargeback_delay_days[1]
    assert _within(float(np.median(days)), R.median_chargeback_delay_days)
    assert 0.5 < float(np.mean((days >= 20) & (days <= 45))) < 0.7  # most arrive after 20-45 days
    genuine = chargeback_reported_at(
        created[:100], np.zeros(100, dtype=np.int64), 0.05, np.random.default_rng(0)
    )
    assert (genuine == NEVER).all()


def test_recent_fraud_is_not_yet_known(con: duckdb.DuckDBPyConnection) -> None:
    """Labels arrive late: fraud from the last days is mostly absent from the chargebacks table."""
    (share,) = _one(
        con,
        f"""SELECT avg(CASE WHEN b.checkout_id IS NULL THEN 0.0 ELSE 1.0 END) FROM orders AS o
            LEFT JOIN chargebacks AS b USING (checkout_id)
            WHERE o.fraud_type IS NOT NULL AND o.created_at > TIMESTAMPTZ '{CONFIG.end.isoformat()}' - INTERVAL 10 DAY""",
    )
    assert float(share) < 0.2  # type: ignore[arg-type]


# -- fraud signatures --------------------------------------------------------------


def test_account_takeover_uses_a_new_device_address_and_region_in_a_burst(
    con: duckdb.DuckDBPyConnection,
) -> None:
    n, new_device, new_address, same_region, span_hours, ratio = _one(
        con,
        """
        WITH region_prefix AS (SELECT * FROM (VALUES REGION_ROWS) AS v(region, prefix)),
             usual AS (SELECT customer_id, list(DISTINCT device_id) AS devices,
                              list(DISTINCT shipping_address_hash) AS addresses
                       FROM orders WHERE fraud_type IS NULL GROUP BY customer_id),
             ato AS (SELECT o.*, c.home_region FROM orders AS o JOIN customers AS c USING (customer_id)
                     WHERE fraud_type = 'account_takeover')
        SELECT count(*),
               count(*) FILTER (WHERE u.devices IS NULL OR NOT list_contains(u.devices, ato.device_id)),
               count(*) FILTER (WHERE u.addresses IS NULL OR NOT list_contains(u.addresses, ato.shipping_address_hash)),
               count(*) FILTER (WHERE left(ato.geo_hash, 2) = r.prefix),
               (SELECT max(epoch(span)) / 3600 FROM (SELECT max(created_at) - min(created_at) AS span
                                                     FROM ato GROUP BY customer_id)),
               (SELECT median(amount_minor) FROM ato) / (SELECT median(amount_minor) FROM orders WHERE fraud_type IS NULL)
        FROM ato LEFT JOIN usual AS u USING (customer_id) JOIN region_prefix AS r ON r.region = ato.home_region
        """.replace("REGION_ROWS", ", ".join(f"('{r}', '{p}')" for r, p, _ in REGIONS)),
    )
    assert int(n) >= 5  # type: ignore[call-overload]
    assert new_device == n
    assert new_address == n
    assert same_region == 0
    assert float(span_hours) < 24  # type: ignore[arg-type]
    assert float(ratio) > 3  # type: ignore[arg-type]


def test_card_testing_is_many_small_orders_from_one_instrument_then_a_larger_one(
    con: duckdb.DuckDBPyConnection,
) -> None:
    attacks = con.execute(
        """
        SELECT payment_instrument_id, count(*) AS n, count(DISTINCT device_id) AS devices,
               epoch(max(created_at) - min(created_at)) / 3600 AS hours,
               count(*) FILTER (WHERE amount_minor < 3000) AS small,
               arg_max(amount_minor, created_at) AS last_amount,
               max(amount_minor) FILTER (WHERE amount_minor < 3000) AS largest_small
        FROM orders WHERE fraud_type = 'card_testing' GROUP BY 1
        """
    ).fetchall()
    assert attacks
    for _, n, devices, hours, small, last_amount, largest_small in attacks:
        assert n >= 9
        assert devices == 1
        assert hours < 4
        assert small == n - 1
        assert last_amount > largest_small
    (shared,) = _one(
        con,
        "SELECT count(*) FROM orders WHERE fraud_type IS NULL AND payment_instrument_id IN "
        "(SELECT payment_instrument_id FROM orders WHERE fraud_type = 'card_testing')",
    )
    assert shared == 0


def test_fraud_rings_share_devices_and_addresses_across_accounts(con: duckdb.DuckDBPyConnection) -> None:
    (ring_devices_shared,) = _one(
        con,
        """SELECT avg(CASE WHEN accounts >= 2 THEN 1.0 ELSE 0.0 END) FROM (
               SELECT device_id, count(DISTINCT customer_id) AS accounts FROM orders
               WHERE fraud_type = 'fraud_ring' GROUP BY device_id)""",
    )
    (ring_addresses_shared,) = _one(
        con,
        """SELECT avg(CASE WHEN accounts >= 2 THEN 1.0 ELSE 0.0 END) FROM (
               SELECT shipping_address_hash, count(DISTINCT customer_id) AS accounts FROM orders
               WHERE fraud_type = 'fraud_ring' GROUP BY 1)""",
    )
    (genuine_shared,) = _one(
        con,
        """SELECT count(*) FROM (SELECT device_id FROM orders WHERE fraud_type IS NULL
                                 GROUP BY device_id HAVING count(DISTINCT customer_id) > 1)""",
    )
    assert float(ring_devices_shared) >= 0.9  # type: ignore[arg-type]
    assert float(ring_addresses_shared) >= 0.9  # type: ignore[arg-type]
    assert genuine_shared == 0


def test_a_compromised_merchant_has_a_fraud_spike_inside_its_window_only(
    result: SimulationResult, con: duckdb.DuckDBPyConnection
) -> None:
    assert result.compromised_windows
    for window in result.compromised_windows:
        a = dt.datetime.fromtimestamp(window.start_us / 1e6, dt.UTC).isoformat()
        b = dt.datetime.fromtimestamp(window.end_us / 1e6, dt.UTC).isoformat()
        inside, outside = _one(
            con,
            f"""SELECT avg(CASE WHEN fraud_type = 'compromised_merchant' THEN 1.0 ELSE 0.0 END)
                         FILTER (WHERE created_at >= TIMESTAMPTZ '{a}' AND created_at < TIMESTAMPTZ '{b}'),
                       count(*) FILTER (WHERE fraud_type = 'compromised_merchant'
                         AND NOT (created_at >= TIMESTAMPTZ '{a}' AND created_at < TIMESTAMPTZ '{b}'))
                FROM orders WHERE merchant_id = {window.merchant_id}""",
        )
        assert float(inside) >= 0.25  # type: ignore[arg-type]
        assert outside == 0


# -- drift --------------------------------------------------------------------------------


def test_synthetic_identities_appear_only_after_the_drift_day(con: duckdb.DuckDBPyConnection) -> None:
    n, before, max_age_hours, thin, ratio = _one(
        con,
        f"""SELECT count(*), count(*) FILTER (WHERE o.created_at < TIMESTAMPTZ '{DRIFT.isoformat()}'),
                   max(epoch(o.created_at - c.created_at)) / 3600,
                   count(*) FILTER (WHERE c.segment = 'thin_file'),
                   median(o.amount_minor) / (SELECT median(amount_minor) FROM orders WHERE fraud_type IS NULL)
            FROM orders AS o JOIN customers AS c USING (customer_id) WHERE fraud_type = 'synthetic_identity'""",
    )
    assert int(n) >= 5
    assert before == 0
    assert thin == n
    assert float(max_age_hours) <= 48  # type: ignore[arg-type]
    assert float(ratio) > 3  # type: ignore[arg-type]


def test_the_customer_mix_shifts_after_the_drift_day_and_not_before(con: duckdb.DuckDBPyConnection) -> None:
    start = CONFIG.start.isoformat()
    drift = DRIFT.isoformat()
    thin_before, thin_after, per_day_before, per_day_after = _one(
        con,
        f"""SELECT avg(thin) FILTER (WHERE created_at >= TIMESTAMPTZ '{start}' AND created_at < TIMESTAMPTZ '{drift}'),
                   avg(thin) FILTER (WHERE created_at >= TIMESTAMPTZ '{drift}'),
                   count(*) FILTER (WHERE created_at >= TIMESTAMPTZ '{start}' AND created_at < TIMESTAMPTZ '{drift}')
                       / {CONFIG.drift_day},
                   count(*) FILTER (WHERE created_at >= TIMESTAMPTZ '{drift}') / {CONFIG.days - CONFIG.drift_day}
            FROM (SELECT c.created_at, CASE WHEN c.segment = 'thin_file' THEN 1.0 ELSE 0.0 END AS thin
                  FROM customers AS c JOIN customer_truth AS t USING (customer_id) WHERE t.genuine)""",
    )
    # Sign-ups before the drift day come from the base mix; from the drift day, a thin-file-heavy wave.
    assert float(thin_before) < 0.3  # type: ignore[arg-type]
    assert float(thin_after) > 0.5  # type: ignore[arg-type]
    assert float(per_day_after) > 3 * float(per_day_before)  # type: ignore[arg-type]
    checkouts_before, checkouts_after = _one(
        con,
        f"""SELECT avg(thin) FILTER (WHERE o.created_at < TIMESTAMPTZ '{drift}'),
                   avg(thin) FILTER (WHERE o.created_at >= TIMESTAMPTZ '{drift}')
            FROM (SELECT o.created_at, CASE WHEN c.segment = 'thin_file' THEN 1.0 ELSE 0.0 END AS thin
                  FROM orders AS o JOIN customers AS c USING (customer_id) WHERE o.fraud_type IS NULL) AS o""",
    )
    assert float(checkouts_after) > float(checkouts_before) + 0.04  # type: ignore[arg-type]


# -- behaviour drives repayment and shopping ------------------------------------------------


def test_earlier_late_payments_predict_later_delinquency(con: duckdb.DuckDBPyConnection) -> None:
    """Orders of shoppers already late before are paid late or missed more often.

    Compared on each order's first installment (due at least 30 days before the end), which
    every order reaches, so the comparison does not suffer from defaults taking longer to
    mature; at the default size the same holds for missed payments alone (benchmarks/simulator.py).
    """
    with_history, without_history = _one(
        con,
        f"""
        WITH late AS (SELECT customer_id, min(paid_at) AS first_late FROM installments
                      WHERE status = 'paid_late' GROUP BY customer_id),
             first AS (SELECT o.created_at, o.customer_id,
                              CASE WHEN i.status IN ('paid_late', 'overdue', 'defaulted') THEN 1.0 ELSE 0.0 END AS bad
                       FROM orders AS o JOIN installments AS i USING (checkout_id)
                       WHERE i.seq = 1 AND o.fraud_type IS NULL
                         AND i.due_at < TIMESTAMPTZ '{CONFIG.end.isoformat()}' - INTERVAL 30 DAY)
        SELECT avg(bad) FILTER (WHERE l.first_late < f.created_at),
               avg(bad) FILTER (WHERE l.first_late IS NULL OR l.first_late >= f.created_at)
        FROM first AS f LEFT JOIN late AS l USING (customer_id)
        """,
    )
    assert float(with_history) > 1.3 * float(without_history)  # type: ignore[arg-type]


def test_low_capacity_shoppers_default_more(con: duckdb.DuckDBPyConnection) -> None:
    low, high = _one(
        con,
        """SELECT avg(CASE WHEN defaulted THEN 1.0 ELSE 0.0 END) FILTER (WHERE t.capacity < 0.3),
                  avg(CASE WHEN defaulted THEN 1.0 ELSE 0.0 END) FILTER (WHERE t.capacity > 0.7)
           FROM credit_outcomes JOIN customer_truth AS t USING (customer_id)""",
    )
    assert float(low) > 3 * float(high)  # type: ignore[arg-type]


def test_purchases_follow_tastes_and_price_sensitivity(con: duckdb.DuckDBPyConnection) -> None:
    (top_category_share,) = _one(
        con,
        """
        WITH viewed AS (SELECT e.customer_id, arg_max(p.category, n) AS top FROM (
                          SELECT customer_id, product_id, count(*) AS n FROM events WHERE event_type = 'view'
                          GROUP BY ALL) AS e JOIN products AS p USING (product_id) GROUP BY e.customer_id),
             bought AS (SELECT e.customer_id, p.category FROM events AS e JOIN products AS p USING (product_id)
                        WHERE e.event_type = 'purchase')
        SELECT avg(CASE WHEN b.category = v.top THEN 1.0 ELSE 0.0 END) FROM bought AS b JOIN viewed AS v USING (customer_id)
        """,
    )
    assert float(top_category_share) > 0.3  # type: ignore[arg-type]  # chance is 1 in 12
    sensitivity, price = zip(
        *con.execute(
            """SELECT t.price_sensitivity, avg(p.price_minor) FROM events AS e
               JOIN products AS p USING (product_id) JOIN customer_truth AS t USING (customer_id)
               WHERE e.event_type = 'purchase' AND t.genuine GROUP BY e.customer_id, t.price_sensitivity"""
        ).fetchall(),
        strict=True,
    )
    assert np.corrcoef(sensitivity, np.log(price))[0, 1] < -0.1
