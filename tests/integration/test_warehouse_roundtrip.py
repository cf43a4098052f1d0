"""The DuckDB and PostgreSQL adapters hold the same simulated tables identically,
and the SQL cartwise writes once (DuckDB dialect) gives the same answers on both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.postgres_warehouse import PostgresWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.data.simulator.summary import summarize
from cartwise.data.warehouse import Warehouse
from cartwise.domain.schemas import TABLES
from cartwise.errors import SchemaError, UnknownTableError, WarehouseError

CONFIG = SimulationConfig(customers=300, days=70, seed=11, merchants=40, products=400)
DRIFT = CONFIG.start + dt.timedelta(days=CONFIG.drift_day)


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return simulate(CONFIG)


@pytest.fixture
def duckdb_warehouse(duckdb_path: Path) -> Iterator[Warehouse]:
    with DuckDBWarehouse(duckdb_path) as wh:
        yield wh


@pytest.fixture
def postgres_warehouse(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresWarehouse]:
    with PostgresWarehouse(postgres_dsn, schema=postgres_schema) as wh:
        yield wh


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> Warehouse:
    """Each backend in turn, for tests that hold for both."""
    backend: Warehouse = request.getfixturevalue(f"{request.param}_warehouse")
    return backend


def _roundtrip(warehouse: Warehouse, tables: dict[str, pa.Table]) -> None:
    warehouse.write_tables(tables)
    assert warehouse.table_names() == sorted(TABLES)
    for name, table in tables.items():
        back = warehouse.read_table(name)
        sort_keys = [(k, "ascending") for k in TABLES[name].primary_key]
        assert back.sort_by(sort_keys).equals(table.sort_by(sort_keys)), name
        assert warehouse.row_count(name) == table.num_rows


def test_duckdb_round_trips_every_table(duckdb_warehouse: Warehouse, tables: dict[str, pa.Table]) -> None:
    _roundtrip(duckdb_warehouse, tables)


@pytest.mark.postgres
def test_postgres_round_trips_every_table(postgres_warehouse: Warehouse, tables: dict[str, pa.Table]) -> None:
    _roundtrip(postgres_warehouse, tables)


@pytest.mark.postgres
def test_both_backends_answer_the_same_sql_the_same(
    duckdb_warehouse: Warehouse, postgres_warehouse: Warehouse, tables: dict[str, pa.Table]
) -> None:
    duckdb_warehouse.write_tables(tables)
    postgres_warehouse.write_tables(tables)
    sql = """
        SELECT c.plan_type, count(*) AS n, sum(c.amount_minor) AS amount,
               count(b.chargeback_id) AS chargebacks, max(i.days_past_due) AS worst
        FROM checkouts AS c
        LEFT JOIN chargebacks AS b ON b.checkout_id = c.checkout_id
        LEFT JOIN (SELECT checkout_id, max(days_past_due) AS days_past_due FROM installments GROUP BY checkout_id) AS i
          ON i.checkout_id = c.checkout_id
        GROUP BY c.plan_type ORDER BY c.plan_type
    """
    a, b = duckdb_warehouse.query(sql), postgres_warehouse.query(sql)
    assert a.num_rows > 0
    assert a.to_pylist() == b.to_pylist()
    summary = summarize(duckdb_warehouse, drift_start=DRIFT)
    assert summary.resolved_outcomes > 0
    assert summary.rows["chargebacks"] > 0
    assert summary == summarize(postgres_warehouse, drift_start=DRIFT)


@pytest.mark.postgres
def test_append_and_failed_writes(warehouse: Warehouse, tables: dict[str, pa.Table]) -> None:
    merchants = tables["merchants"]
    warehouse.write_table("merchants", merchants.slice(0, 10))
    warehouse.write_table("merchants", merchants.slice(10), mode="append")
    assert warehouse.read_table("merchants").sort_by("merchant_id").equals(merchants)
    # Appending rows of another shape is refused and leaves the table as it was.
    with pytest.raises(SchemaError, match="cannot append to 'merchants'"):
        warehouse.write_table("merchants", tables["products"], mode="append")
    assert warehouse.row_count("merchants") == merchants.num_rows
    with pytest.raises(UnknownTableError, match="table 'refunds' is not in the"):
        warehouse.read_table("refunds")
    with pytest.raises(WarehouseError):
        warehouse.query("SELECT no_such_column FROM merchants")
    assert warehouse.read_table("merchants").sort_by("merchant_id").equals(merchants)


@pytest.mark.postgres
def test_several_tables_are_written_all_or_nothing(warehouse: Warehouse, tables: dict[str, pa.Table]) -> None:
    """An interruption or a failure part-way through ``write_tables`` leaves every table as it was."""
    warehouse.write_tables(tables)
    before = {name: warehouse.row_count(name) for name in tables}
    smaller = {name: table.slice(0, 5) for name, table in tables.items()}

    class Interrupted(KeyboardInterrupt):
        pass

    seen: list[str] = []

    def interrupt_at_the_third(name: str, table: pa.Table) -> None:
        seen.append(name)
        if len(seen) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        warehouse.write_tables(smaller, on_table=interrupt_at_the_third)
    assert seen == list(smaller)[:3]  # two tables were written before the interruption...
    assert {name: warehouse.row_count(name) for name in tables} == before  # ...and rolled back

    # A table that fails (rows of another shape appended) undoes the tables written before it.
    with pytest.raises(SchemaError, match="cannot append to 'products'"):
        warehouse.write_tables(
            {"merchants": tables["merchants"], "products": tables["merchants"]}, mode="append"
        )
    assert warehouse.row_count("merchants") == before["merchants"]
    assert warehouse.row_count("products") == before["products"]

    # The write still works afterwards, and replaces every table.
    order: list[str] = []
    warehouse.write_tables(smaller, on_table=lambda name, table: order.append(name))
    assert order == list(smaller)
    assert {name: warehouse.row_count(name) for name in tables} == dict.fromkeys(tables, 5)


@pytest.mark.postgres
def test_postgres_reads_arrow_outside_a_write_and_sees_its_own_write_inside_one(
    postgres_warehouse: PostgresWarehouse, tables: dict[str, pa.Table]
) -> None:
    """Queries go through the Arrow (ADBC) connection, except inside a write's transaction.

    There a second connection could not see the uncommitted tables and would wait on
    their locks; the write's own connection sees them.
    """
    postgres_warehouse.write_tables(tables)
    result = postgres_warehouse.query(
        "SELECT sum(amount_minor) AS total, avg(n_items) AS mean FROM checkouts"
    )
    assert result.schema.types == [pa.float64(), pa.float64()]  # NUMERIC, as float64 on either path
    expected = sum(tables["checkouts"].column("amount_minor").to_pylist())
    assert result.column("total")[0].as_py() == pytest.approx(expected)
    assert postgres_warehouse.arrow_connection is not None
    seen: list[int] = []

    def peek(name: str, table: pa.Table) -> None:
        if name == "products":  # merchants is written, not yet committed
            seen.append(postgres_warehouse.row_count("merchants"))

    small = tables["merchants"].slice(0, 5)
    postgres_warehouse.write_tables({"merchants": small, "products": tables["products"]}, on_table=peek)
    assert seen == [5]
    assert postgres_warehouse.read_table("merchants").equals(small)


@pytest.mark.postgres
def test_postgres_copies_awkward_values_faithfully(postgres_warehouse: Warehouse) -> None:
    """Quotes, commas, newlines, empty strings, nulls and empty lists survive both copy paths
    (CSV for plain columns; row by row for lists of text and non-finite floats)."""
    plain = pa.table(
        {
            "label": pa.array(['a,"b"\nc', "", None, "{x}"]),
            "ids": pa.array([[1, 2], [], None, [3]], type=pa.list_(pa.int64())),
            "score": pa.array([0.1 + 0.2, 1e-300, None, -2.5]),
            "flag": pa.array([True, False, None, True]),
        }
    )
    awkward = plain.append_column("tags", pa.array([["a,b", '"q"'], [], None, ["{}"]])).set_column(
        2, "score", pa.array([float("nan"), float("inf"), None, 1.0])
    )
    postgres_warehouse.write_table("plain_values", plain)
    assert postgres_warehouse.query("SELECT * FROM plain_values").to_pylist() == plain.to_pylist()
    postgres_warehouse.write_table("awkward_values", awkward)
    rows = postgres_warehouse.query("SELECT * FROM awkward_values").to_pylist()
    for got, want in zip(rows, awkward.to_pylist(), strict=True):
        assert repr(got.pop("score")) == repr(want.pop("score"))  # NaN != NaN, but its repr matches
        assert got == want


@pytest.mark.postgres
def test_simulate_command_writes_to_the_configured_postgres(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cartwise.cli.main import _register, app

    monkeypatch.delenv("CARTWISE_CONFIG", raising=False)
    _register()
    config = tmp_path / "cartwise.yaml"
    config.write_text(
        f"warehouse:\n  type: postgres\n  dsn: {postgres_dsn}\n  db_schema: {postgres_schema}\n"
    )
    args = [
        "--config",
        str(config),
        "--data-dir",
        str(tmp_path),
        "simulate",
        "--customers",
        "200",
        "--days",
        "20",
    ]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "into the postgres warehouse" in result.output
    with PostgresWarehouse(postgres_dsn, schema=postgres_schema) as warehouse:
        assert warehouse.table_names() == sorted(TABLES)
        assert warehouse.row_count("events") > 0
    assert not (tmp_path / "warehouse.duckdb").exists()
