"""Point-in-time training frames on a real (in-memory) DuckDB warehouse.

Hand-computed values on tiny tables for every aggregation function and the
window edges; the fast SQL against the reference point-in-time join on
synthetic tables; and the leakage property: a feature at t never changes when
events at or after t, or labels known at or after t, are altered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.domain.schemas import TABLES, TIMESTAMP
from cartwise.errors import FeatureError, SchemaError
from cartwise.features.catalog import CATALOG
from cartwise.features.definitions import Aggregation, Entity, EventSource, FeatureSet, FeatureView
from cartwise.features.offline import _parse_size, training_frame
from cartwise.features.synthetic import synthetic_tables

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
CUSTOMER = Entity("customer", "customer_id")
DEVICE = Entity("device", "device_id", "string")
CHECKOUTS = EventSource("checkouts", "checkouts", "created_at")
CHARGEBACKS = EventSource("chargebacks", "chargebacks", "order_created_at", known_at_column="reported_at")


def _checkouts(rows: list[tuple[int, int, dt.datetime, int | None, str]]) -> pa.Table:
    """Checkouts from (checkout_id, customer_id, created_at, amount_minor, device_id)."""
    n = len(rows)
    schema = TABLES["checkouts"].schema
    data = {
        "checkout_id": [r[0] for r in rows],
        "customer_id": [r[1] for r in rows],
        "merchant_id": [1] * n,
        "created_at": [r[2] for r in rows],
        "amount_minor": [r[3] for r in rows],
        "currency": ["USD"] * n,
        "n_items": [1] * n,
        "product_ids": [[1]] * n,
        "device_id": [r[4] for r in rows],
        "payment_instrument_id": ["card"] * n,
        "ip_hash": ["ip"] * n,
        "geo_hash": ["geo"] * n,
        "shipping_address_hash": ["addr"] * n,
        "plan_type": ["pay_in_4"] * n,
        "n_installments": [4] * n,
        "installment_interval_days": [14] * n,
    }
    # amount_minor is declared non-null; the null-handling case needs a nullable copy
    fields = [f.with_nullable(True) if f.name == "amount_minor" else f for f in schema]
    return pa.table(data, schema=pa.schema(fields))


def _chargebacks(rows: list[tuple[int, int, dt.datetime, dt.datetime, int]]) -> pa.Table:
    """Chargebacks from (chargeback_id, merchant_id, order_created_at, reported_at, amount_minor)."""
    return pa.table(
        {
            "chargeback_id": [r[0] for r in rows],
            "checkout_id": [r[0] for r in rows],
            "customer_id": [1] * len(rows),
            "merchant_id": [r[1] for r in rows],
            "order_created_at": [r[2] for r in rows],
            "reported_at": [r[3] for r in rows],
            "amount_minor": [r[4] for r in rows],
            "fraud_type": ["card_testing"] * len(rows),
        },
        schema=TABLES["chargebacks"].schema,
    )


def _spine(rows: list[tuple[int, dt.datetime]], key: str = "customer_id") -> pa.Table:
    return pa.table(
        {
            "checkout_id": pa.array(range(1000, 1000 + len(rows)), pa.int64()),
            key: pa.array([r[0] for r in rows], pa.int64()),
            "created_at": pa.array([r[1] for r in rows], TIMESTAMP),
        }
    )


@pytest.fixture
def warehouse() -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse() as wh:
        yield wh


ALL_FUNCTIONS = (
    Aggregation("count", windows=("1h", "all")),
    Aggregation("count", "amount_minor", windows=("1h",), name="amounts"),
    Aggregation("sum", "amount_minor", windows=("1h", "all")),
    Aggregation("mean", "amount_minor", windows=("1h", "all")),
    Aggregation("min", "amount_minor", windows=("1h",)),
    Aggregation("max", "amount_minor", windows=("1h",)),
    Aggregation("last", "amount_minor", windows=("1h", "all")),
    Aggregation("count_distinct", "device_id", windows=("1h", "all")),
    Aggregation("count", windows=("1h",), name="big", where="amount_minor >= 300"),
)


@pytest.mark.parametrize("strategy", ["fast", "join"])
def test_every_function_against_hand_computed_values(warehouse: DuckDBWarehouse, strategy: str) -> None:
    warehouse.write_table(
        "checkouts",
        _checkouts(
            [
                (1, 1, T0 - 120 * MIN, 1000, "a"),  # outside the hour, inside 'all'
                (2, 1, T0 - 60 * MIN, 100, "a"),  # exactly t - 1h: in the window
                (3, 1, T0 - 30 * MIN, None, "b"),  # null amount: counts as a row, not as a value
                (4, 1, T0 - 10 * MIN, 300, "a"),
                (5, 1, T0, 5000, "c"),  # exactly t: excluded
                (6, 1, T0 + MIN, 7000, "d"),  # later: excluded
                (7, 2, T0 + MIN, 7000, "d"),  # customer 2 has no history before t
            ]
        ),
    )
    fs = FeatureSet((FeatureView("customer_history", CHECKOUTS, (CUSTOMER,), ALL_FUNCTIONS),))
    frame = training_frame(warehouse, _spine([(1, T0), (2, T0), (3, T0)]), fs, strategy=strategy)  # type: ignore[arg-type]
    got = frame.to_pylist()
    expected_1 = {
        "customer__checkouts__count__1h": 3,
        "customer__checkouts__count__all": 4,
        "customer__amounts__count__1h": 2,
        "customer__amount_minor__sum__1h": 400.0,
        "customer__amount_minor__sum__all": 1400.0,
        "customer__amount_minor__mean__1h": 200.0,
        "customer__amount_minor__mean__all": 1400.0 / 3,
        "customer__amount_minor__min__1h": 100.0,
        "customer__amount_minor__max__1h": 300.0,
        "customer__amount_minor__last__1h": 300.0,
        "customer__amount_minor__last__all": 300.0,
        "customer__device_id__count_distinct__1h": 2,
        "customer__device_id__count_distinct__all": 2,
        "customer__big__count__1h": 1,
    }
    for name, value in expected_1.items():
        assert got[0][name] == pytest.approx(value), name
    empty = {name: (0 if "__count" in name or "__sum__" in name else None) for name in expected_1}
    assert {k: got[1][k] for k in empty} == empty  # customer 2: only a later event
    assert {k: got[2][k] for k in empty} == empty  # customer 3: no event at all
    assert frame.column("checkout_id").to_pylist() == [1000, 1001, 1002]


def test_last_takes_the_largest_tie_breaker_at_the_latest_earlier_instant(warehouse: DuckDBWarehouse) -> None:
    warehouse.write_table(
        "checkouts",
        _checkouts(
            [
                (10, 1, T0 - 50 * MIN, 100, "a"),
                (12, 1, T0 - 20 * MIN, None, "a"),  # ties with 11 and wins: its null is the last value
                (11, 1, T0 - 20 * MIN, 700, "a"),
                (21, 2, T0 - 30 * MIN, 9, "x"),
                (22, 2, T0 - 30 * MIN, 7, "x"),  # the largest checkout_id of the instant
                (20, 2, T0 - 30 * MIN, 5, "x"),
                (23, 2, T0, 1, "x"),  # exactly t: not yet seen
            ]
        ),
    )
    agg = Aggregation("last", "amount_minor", windows=("1h", "all"))
    fs = FeatureSet((FeatureView("customer_history", CHECKOUTS, (CUSTOMER,), (agg,)),))
    spine = _spine([(1, T0), (1, T0 - 20 * MIN), (2, T0), (2, T0 + 90 * MIN), (2, T0 - 30 * MIN)])
    frame = training_frame(warehouse, spine, fs)
    assert frame.column("customer__amount_minor__last__1h").to_pylist() == [None, 100.0, 7.0, None, None]
    assert frame.column("customer__amount_minor__last__all").to_pylist() == [None, 100.0, 7.0, 1.0, None]


def test_label_delayed_counts_only_labels_known_before_t(warehouse: DuckDBWarehouse) -> None:
    merchant = Entity("merchant", "merchant_id")
    warehouse.write_table(
        "chargebacks",
        _chargebacks(
            [
                (1, 7, T0 - 10 * 1440 * MIN, T0 - 60 * MIN, 100),  # reported an hour ago: counts
                (2, 7, T0 - 5 * 1440 * MIN, T0, 200),  # reported exactly at t: not yet known
                (3, 7, T0 - 2 * 1440 * MIN, T0 + MIN, 400),  # reported after t
                (4, 7, T0 - 40 * 1440 * MIN, T0 - 1440 * MIN, 800),  # order outside the 30-day window
                (5, 7, T0 - 20 * 1440 * MIN, T0 - 1440 * MIN, 1600),  # counts
            ]
        ),
    )
    view = FeatureView(
        "merchant_chargebacks",
        CHARGEBACKS,
        (merchant,),
        (
            Aggregation("count", windows=("30d", "all")),
            Aggregation("sum", "amount_minor", windows=("30d",)),
            Aggregation("mean", "amount_minor", windows=("30d",)),
        ),
    )
    spine = _spine([(7, T0), (7, T0 + 2 * MIN)], key="merchant_id")
    for strategy in ("fast", "join"):
        rows = training_frame(warehouse, spine, FeatureSet((view,)), strategy=strategy).to_pylist()  # type: ignore[arg-type]
        assert rows[0]["merchant__chargebacks__count__30d"] == 2
        assert rows[0]["merchant__chargebacks__count__all"] == 3
        assert rows[0]["merchant__amount_minor__sum__30d"] == 1700.0
        assert rows[0]["merchant__amount_minor__mean__30d"] == 850.0
        assert rows[1]["merchant__chargebacks__count__30d"] == 4  # two minutes later both are known


def test_spine_order_duplicates_and_passthrough_are_kept(warehouse: DuckDBWarehouse) -> None:
    warehouse.write_table("checkouts", _checkouts([(1, 1, T0 - MIN, 10, "a"), (2, 2, T0 - MIN, 20, "a")]))
    fs = FeatureSet(
        (FeatureView("v", CHECKOUTS, (CUSTOMER,), (Aggregation("sum", "amount_minor", windows=("1h",)),)),)
    )
    spine = _spine([(2, T0), (1, T0), (2, T0), (1, T0 - 2 * MIN)]).append_column(
        "label", pa.array([1, 0, 1, 0])
    )
    frame = training_frame(warehouse, spine, fs)
    assert frame.column("customer__amount_minor__sum__1h").to_pylist() == [20.0, 10.0, 20.0, 0.0]
    assert frame.column("label").to_pylist() == [1, 0, 1, 0]
    assert frame.num_rows == 4


def test_bad_spines_get_clear_errors(warehouse: DuckDBWarehouse) -> None:
    fs = FeatureSet((FeatureView("v", CHECKOUTS, (CUSTOMER,), (Aggregation("count", windows=("1h",)),)),))
    with pytest.raises(SchemaError, match="spine lacks the entity key columns \\['customer_id'\\]"):
        training_frame(warehouse, _spine([(1, T0)], key="merchant_id"), fs)
    with pytest.raises(SchemaError, match="2 timestamp columns"):
        training_frame(warehouse, _spine([(1, T0)]).append_column("t2", pa.array([T0], TIMESTAMP)), fs)


@pytest.fixture(scope="module")
def synthetic_warehouse() -> Iterator[tuple[DuckDBWarehouse, dict[str, pa.Table]]]:
    tables = synthetic_tables(checkouts=1500, days=45, seed=3)
    with DuckDBWarehouse() as wh:
        wh.write_tables(tables)
        yield wh, tables


def _catalog_spine(tables: dict[str, pa.Table]) -> pa.Table:
    checkouts = tables["checkouts"]
    spine = checkouts.drop_columns(["product_ids", "currency", "geo_hash", "plan_type", "n_items"])
    first_product = pa.array([ids[0] for ids in checkouts.column("product_ids").to_pylist()], pa.int64())
    return spine.append_column("product_id", first_product)


def _assert_frames_equal(left: pa.Table, right: pa.Table, names: list[str]) -> None:
    for name in names:
        a = left.column(name).to_numpy(zero_copy_only=False).astype(float)
        b = right.column(name).to_numpy(zero_copy_only=False).astype(float)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True, err_msg=name)


def test_fast_sql_matches_the_reference_join_on_the_whole_catalog(
    synthetic_warehouse: tuple[DuckDBWarehouse, dict[str, pa.Table]],
) -> None:
    warehouse, tables = synthetic_warehouse
    spine = _catalog_spine(tables)
    fast = training_frame(warehouse, spine, CATALOG)
    reference = training_frame(warehouse, spine, CATALOG, strategy="join")
    assert fast.num_rows == spine.num_rows
    assert fast.num_columns == spine.num_columns + len(CATALOG)
    _assert_frames_equal(fast, reference, CATALOG.feature_names)
    # the frame is not trivially empty: velocity and repayment features see history
    assert pa.compute.sum(fast.column("customer__checkouts__count__30d")).as_py() > 0
    assert pa.compute.sum(fast.column("customer__installments_late__count__all")).as_py() > 0
    assert pa.compute.sum(fast.column("merchant__chargebacks__count__30d")).as_py() > 0


_LEAK_VIEWS = FeatureSet(
    (
        FeatureView(
            "customer_leak",
            CHECKOUTS,
            (CUSTOMER,),
            ALL_FUNCTIONS,
        ),
        FeatureView(
            "customer_chargebacks",
            CHARGEBACKS,
            (CUSTOMER,),
            (
                Aggregation("count", windows=("7d", "all")),
                Aggregation("mean", "amount_minor", windows=("30d",)),
            ),
        ),
        FeatureView(
            "device_spread",
            CHECKOUTS,
            (DEVICE,),
            (Aggregation("count_distinct", "customer_id", windows=("1h", "all")),),
        ),
    )
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**16),
    shift_minutes=st.integers(0, 600),
    scale=st.integers(2, 50),
)
def test_features_at_t_ignore_events_at_or_after_t_and_labels_known_later(
    seed: int, shift_minutes: int, scale: int
) -> None:
    """Alter every event at or after the cutoff (and every label known at or after it): features at t ≤ cutoff stay."""
    tables = synthetic_tables(checkouts=200, days=10, seed=seed)
    co = tables["checkouts"]
    cutoff_us = int(np.quantile(co.column("created_at").cast(pa.int64()).to_numpy(), 0.7))
    cutoff = pa.scalar(cutoff_us, pa.int64()).cast(TIMESTAMP)
    early = pa.compute.less(co.column("created_at"), cutoff)
    spine = co.filter(early).select(["checkout_id", "customer_id", "device_id", "created_at"])
    spine = spine.append_column("feature_at", spine.column("created_at")).drop_columns(["created_at"])
    spine = pa.concat_tables(
        [spine, spine.slice(0, 1).set_column(3, "feature_at", pa.array([cutoff], TIMESTAMP))]
    )

    late = co.filter(pa.compute.invert(early))
    shifted = late.column("created_at").cast(pa.int64()).to_numpy() + shift_minutes * 60_000_000
    altered_late = late.set_column(
        late.column_names.index("amount_minor"),
        "amount_minor",
        pa.compute.multiply(late.column("amount_minor"), scale),
    ).set_column(late.column_names.index("created_at"), "created_at", pa.array(shifted).cast(TIMESTAMP))
    altered_late = altered_late.set_column(
        altered_late.column_names.index("device_id"), "device_id", pa.array(["dev_new"] * late.num_rows)
    )
    altered = dict(tables, checkouts=pa.concat_tables([co.filter(early), altered_late.cast(co.schema)]))
    cb = tables["chargebacks"]
    known_late = pa.compute.greater_equal(cb.column("reported_at"), cutoff)
    moved = cb.filter(known_late)
    moved = moved.set_column(
        moved.column_names.index("amount_minor"),
        "amount_minor",
        pa.compute.multiply(moved.column("amount_minor"), scale),
    )
    moved = moved.cast(cb.schema)
    altered["chargebacks"] = pa.concat_tables([cb.filter(pa.compute.invert(known_late)), moved, moved])

    frames = []
    for version in (tables, altered):
        with DuckDBWarehouse() as wh:
            wh.write_tables({k: version[k] for k in ("checkouts", "chargebacks")})
            frames.append(training_frame(wh, spine, _LEAK_VIEWS, timestamp_column="feature_at"))
    _assert_frames_equal(frames[0], frames[1], _LEAK_VIEWS.feature_names)
    # the same spine a month after the cutoff does see the alteration, so the test can fail
    month_later = pa.array(np.full(spine.num_rows, cutoff_us + 30 * 86_400_000_000)).cast(TIMESTAMP)
    probe = spine.set_column(3, "feature_at", month_later)
    after = []
    for version in (tables, altered):
        with DuckDBWarehouse() as wh:
            wh.write_tables({k: version[k] for k in ("checkouts", "chargebacks")})
            after.append(training_frame(wh, probe, _LEAK_VIEWS, timestamp_column="feature_at"))
    name = "customer__amount_minor__sum__all"
    assert after[0].column(name).to_pylist() != after[1].column(name).to_pylist()


def test_memory_cap_is_applied_for_the_frame_only_and_bad_sizes_are_named(warehouse: DuckDBWarehouse) -> None:
    warehouse.write_table("checkouts", _checkouts([(1, 1, T0 - MIN, 100, "a")]))
    fs = FeatureSet(
        (FeatureView("customer_history", CHECKOUTS, (CUSTOMER,), (Aggregation("count", windows=("1h",)),)),)
    )
    con = warehouse.connection
    con.execute("SET memory_limit = '2GB'")
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()
    frame = training_frame(warehouse, _spine([(1, T0)]), fs, memory_limit="256MB")
    assert frame.column("customer__checkouts__count__1h").to_pylist() == [1]
    after = con.execute("SELECT current_setting('memory_limit')").fetchall()
    # DuckDB reports its limit rounded to 0.1 GiB, so the restored one can differ by that much
    assert abs(_parse_size(after[0][0]) - _parse_size(before[0][0])) <= 0.11 * 2**30
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall() == [(True,)]
    with pytest.raises(FeatureError, match="memory_limit '4 parsecs' is not a size"):
        training_frame(warehouse, _spine([(1, T0)]), fs, memory_limit="4 parsecs")
