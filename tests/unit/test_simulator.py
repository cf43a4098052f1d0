"""The simulator: deterministic per seed, conforming to the schemas, internally consistent."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from cartwise.data.simulator import SimulationConfig, SimulationResult, run, simulate
from cartwise.domain.schemas import EVENT_TYPES, FRAUD_TYPES, INSTALLMENT_STATUSES, PLAN_TYPES, TABLES
from cartwise.errors import ConfigError

SMALL = SimulationConfig(customers=2_000, days=60, seed=7)


@pytest.fixture(scope="module")
def small() -> SimulationResult:
    return run(SMALL)


@pytest.fixture(scope="module")
def con(small: SimulationResult) -> duckdb.DuckDBPyConnection:
    """The small run's tables in an in-memory DuckDB, for consistency checks in SQL."""
    connection = duckdb.connect()
    for name, table in small.tables.items():
        connection.register(name, table)
    connection.register("checkout_truth", small.truth["checkout_truth"])
    return connection


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    rows = con.execute(sql).fetchall()
    return rows[0][0]


def test_same_seed_gives_identical_tables(small: SimulationResult) -> None:
    again = simulate(SMALL)
    assert list(again) == list(TABLES)
    for name, table in small.tables.items():
        assert again[name].equals(table), name


def test_different_seed_gives_different_tables(small: SimulationResult) -> None:
    other = simulate(SimulationConfig(customers=2_000, days=60, seed=8))
    for name in ("customers", "events", "checkouts", "installments"):
        assert not other[name].equals(small.tables[name]), name


def test_tables_conform_to_schemas(small: SimulationResult) -> None:
    assert set(small.tables) == set(TABLES)
    for name, spec in TABLES.items():
        table = small.tables[name]
        assert table.schema.equals(spec.schema), name
        assert table.num_rows > 0, name
        for field in spec.schema:
            if not field.nullable:
                assert table.column(field.name).null_count == 0, (name, field.name)


def test_primary_keys_are_unique(small: SimulationResult) -> None:
    for name, spec in TABLES.items():
        keys = small.tables[name].select(list(spec.primary_key))
        assert keys.group_by(list(spec.primary_key)).aggregate([]).num_rows == keys.num_rows, name


def test_categorical_values_come_from_the_domain(con: duckdb.DuckDBPyConnection) -> None:
    def values(sql: str) -> set[str]:
        return {r[0] for r in con.execute(sql).fetchall()}

    assert values("SELECT DISTINCT event_type FROM events") == set(EVENT_TYPES)
    assert values("SELECT DISTINCT plan_type FROM checkouts") <= set(PLAN_TYPES)
    assert values("SELECT DISTINCT status FROM installments") <= set(INSTALLMENT_STATUSES)
    assert values("SELECT DISTINCT fraud_type FROM chargebacks") <= set(FRAUD_TYPES)


def test_nothing_happens_after_the_end(con: duckdb.DuckDBPyConnection) -> None:
    end = SMALL.end
    for table, column in [
        ("customers", "created_at"),
        ("events", "event_at"),
        ("checkouts", "created_at"),
        ("installments", "paid_at"),
        ("chargebacks", "reported_at"),
        ("credit_outcomes", "known_at"),
    ]:
        latest = _scalar(con, f"SELECT max({column}) FROM {table}")
        assert isinstance(latest, dt.datetime)
        assert latest <= end, (table, column)


def test_every_checkout_follows_its_purchase_events(con: duckdb.DuckDBPyConnection) -> None:
    unexplained = _scalar(
        con,
        """
        SELECT count(*) FROM (SELECT checkout_id, customer_id, created_at, unnest(product_ids) AS product_id
                              FROM checkouts) AS item
        WHERE NOT EXISTS (
            SELECT 1 FROM events AS e
            WHERE e.customer_id = item.customer_id AND e.product_id = item.product_id
              AND e.event_type = 'purchase' AND e.event_at <= item.created_at
              AND e.event_at > item.created_at - INTERVAL 10 MINUTE)
        """,
    )
    assert unexplained == 0
    # Within a session, a product is viewed before it is added to the cart, and carted before bought.
    out_of_order = _scalar(
        con,
        """
        SELECT count(*) FROM events AS later
        WHERE later.event_type IN ('add_to_cart', 'purchase') AND NOT EXISTS (
            SELECT 1 FROM events AS earlier
            WHERE earlier.session_id = later.session_id AND earlier.product_id = later.product_id
              AND earlier.event_type = CASE later.event_type WHEN 'purchase' THEN 'add_to_cart' ELSE 'view' END
              AND earlier.event_at <= later.event_at)
        """,
    )
    assert out_of_order == 0


def test_checkouts_match_their_products(con: duckdb.DuckDBPyConnection) -> None:
    wrong = _scalar(
        con,
        """
        SELECT count(*) FROM (
            SELECT c.checkout_id, any_value(c.amount_minor) AS amount, any_value(c.n_items) AS n_items,
                   any_value(c.merchant_id) AS merchant_id, sum(p.price_minor) AS total,
                   count(*) AS items, count(DISTINCT p.merchant_id) AS merchants, min(p.merchant_id) AS m
            FROM (SELECT *, unnest(product_ids) AS product_id FROM checkouts) AS c
            JOIN products AS p USING (product_id) GROUP BY c.checkout_id)
        WHERE amount <> total OR n_items <> items OR merchants <> 1 OR m <> merchant_id
        """,
    )
    assert wrong == 0
    before_signup = _scalar(
        con,
        "SELECT count(*) FROM checkouts JOIN customers USING (customer_id) "
        "WHERE checkouts.created_at <= customers.created_at",
    )
    assert before_signup == 0


def test_installments_follow_the_plan_and_sum_to_the_order(con: duckdb.DuckDBPyConnection) -> None:
    wrong = _scalar(
        con,
        """
        SELECT count(*) FROM checkouts AS c JOIN (
            SELECT checkout_id, sum(amount_minor) AS total, count(*) AS n, min(due_at) AS first_due,
                   max(seq) AS last_seq FROM installments GROUP BY checkout_id) AS i USING (checkout_id)
        WHERE i.total <> c.amount_minor OR i.n <> c.n_installments OR i.last_seq <> c.n_installments
           OR i.first_due <> c.created_at + to_days(c.installment_interval_days)
        """,
    )
    assert wrong == 0
    assert _scalar(con, "SELECT count(*) FROM checkouts") == _scalar(
        con, "SELECT count(DISTINCT checkout_id) FROM installments"
    )
    pay_in_4 = con.execute(
        "SELECT DISTINCT n_installments, installment_interval_days FROM checkouts WHERE plan_type = 'pay_in_4'"
    ).fetchall()
    assert pay_in_4 == [(4, 14)]


def test_installment_status_agrees_with_payments(con: duckdb.DuckDBPyConnection) -> None:
    end = SMALL.end.strftime("%Y-%m-%d %H:%M:%S+00")
    rows = con.execute(
        f"""
        SELECT status, count(*) AS n,
               count(*) FILTER (WHERE paid_at IS NULL) AS unpaid,
               min(days_past_due) AS lo, max(days_past_due) AS hi,
               count(*) FILTER (WHERE due_at > TIMESTAMPTZ '{end}') AS future
        FROM installments GROUP BY status
        """
    ).fetchall()
    by_status = {r[0]: r[1:] for r in rows}
    n, unpaid, lo, hi, _ = by_status["paid"]
    assert unpaid == 0
    assert lo == hi == 0
    n, unpaid, lo, _, _ = by_status["paid_late"]
    assert unpaid == 0
    assert lo >= 1
    n, unpaid, lo, hi, _ = by_status["overdue"]
    assert unpaid == n
    assert lo >= 1
    assert hi < 60
    if "defaulted" in by_status:
        n, unpaid, lo, _, _ = by_status["defaulted"]
        assert unpaid == n
        assert lo >= 60
    n, unpaid, _, hi, future = by_status["scheduled"]
    assert unpaid == n
    assert hi == 0
    assert future > 0
    assert (
        _scalar(
            con, "SELECT count(*) FROM installments WHERE paid_at <= (SELECT min(created_at) FROM checkouts)"
        )
        == 0
    )


def test_labels_come_after_their_orders(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        _scalar(con, "SELECT count(*) FROM chargebacks WHERE reported_at < order_created_at + INTERVAL 5 DAY")
        == 0
    )
    assert _scalar(con, "SELECT count(*) FROM credit_outcomes WHERE known_at <= order_created_at") == 0
    mismatched = _scalar(
        con,
        """
        SELECT count(*) FROM chargebacks AS b JOIN checkouts AS c USING (checkout_id)
        WHERE b.order_created_at <> c.created_at OR b.amount_minor <> c.amount_minor
           OR b.customer_id <> c.customer_id OR b.merchant_id <> c.merchant_id
        """,
    )
    assert mismatched == 0


def test_fraud_orders_have_no_credit_outcome_and_their_installments_go_unpaid(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert (
        _scalar(
            con,
            "SELECT count(*) FROM credit_outcomes JOIN checkout_truth USING (checkout_id) WHERE fraud_type IS NOT NULL",
        )
        == 0
    )
    assert (
        _scalar(
            con,
            "SELECT count(*) FROM installments JOIN checkout_truth USING (checkout_id) "
            "WHERE fraud_type IS NOT NULL AND paid_at IS NOT NULL",
        )
        == 0
    )
    not_cancelled = _scalar(
        con,
        "SELECT count(*) FROM installments AS i JOIN chargebacks USING (checkout_id) WHERE i.status <> 'cancelled'",
    )
    assert not_cancelled == 0


def test_credit_outcomes_follow_the_installments(con: duckdb.DuckDBPyConnection) -> None:
    wrong = _scalar(
        con,
        """
        SELECT count(*) FROM credit_outcomes AS o JOIN (
            SELECT checkout_id, max(paid_at) AS last_paid, count(paid_at) AS n_paid, count(*) AS n,
                   min(due_at) FILTER (WHERE paid_at IS NULL) AS first_missed
            FROM installments GROUP BY checkout_id) AS i USING (checkout_id)
        WHERE (o.defaulted AND (o.known_at <> i.first_missed + INTERVAL 60 DAY OR o.max_days_past_due < 60))
           OR (NOT o.defaulted AND (i.n_paid <> i.n OR o.known_at <> i.last_paid OR o.max_days_past_due >= 60))
        """,
    )
    assert wrong == 0


def test_ids_carry_no_hint_of_fraud(small: SimulationResult) -> None:
    customers = small.tables["customers"]
    created = customers.column("created_at").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(created) >= 0), "customer ids follow sign-up time"
    checkouts = small.tables["checkouts"].column("created_at").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(checkouts) >= 0), "checkout ids follow order time"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 10}, "customers must be at least 100"),
        ({"days": 3}, "days must be at least 7"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"drift_start_day": 500}, "drift_start_day must be between 1 and days=120"),
        ({"start": dt.datetime(2026, 1, 1)}, "start must be a UTC datetime"),
        ({"chargeback_unreported_share": 1.5}, "chargeback_unreported_share must be in [0, 1)"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        SimulationConfig(**kwargs)  # type: ignore[arg-type]


def test_default_drift_day_is_80_percent_of_the_period() -> None:
    assert SimulationConfig().drift_day == 96
    assert SimulationConfig(days=60).drift_day == 48
    assert SimulationConfig(days=60, drift_start_day=10).drift_day == 10


def test_product_text_finds_neighbours_of_the_same_kind(small: SimulationResult) -> None:
    """Titles and descriptions share words within a category, so text similarity finds neighbours."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    products = small.tables["products"].slice(0, 1500)
    text = [
        f"{t}. {d}"
        for t, d in zip(products["title"].to_pylist(), products["description"].to_pylist(), strict=True)
    ]
    vectors = TfidfVectorizer().fit_transform(text)
    _, neighbours = NearestNeighbors(n_neighbors=2, metric="cosine").fit(vectors).kneighbors(vectors)
    category = np.array(products["category"].to_pylist())
    assert (category[neighbours[:, 1]] == category).mean() > 0.9
