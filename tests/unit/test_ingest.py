"""Ingest: a file is validated against its table's schema, and a bad file changes nothing.

Every failure names the table, the column and the first bad row (1-based data rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.ingest import ingest_file, read_file, validate_table
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.domain.schemas import TABLES
from cartwise.errors import SchemaError


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return simulate(SimulationConfig(customers=300, days=30, seed=5, products=400, merchants=40))


@pytest.fixture
def warehouse(duckdb_path: Path, tables: dict[str, pa.Table]) -> Iterator[DuckDBWarehouse]:
    """A DuckDB file already holding customers and checkouts, to show a failed ingest changes nothing."""
    with DuckDBWarehouse(duckdb_path) as wh:
        wh.write_table("customers", tables["customers"])
        wh.write_table("checkouts", tables["checkouts"])
        yield wh


def write_csv(table: pa.Table, path: Path) -> Path:
    """A CSV as a company would export it: list columns as JSON, timestamps in ISO-8601 with Z."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_list(column.type):
            column = pa.array([json.dumps(v) for v in column.to_pylist()], type=pa.string())
        columns[name] = column
    pacsv.write_csv(pa.table(columns), path)
    return path


def set_value(
    table: pa.Table, column: str, row: int, value: object, type_: pa.DataType | None = None
) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, type=type_ or table.schema.field(column).type))


def assert_unchanged(warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]) -> None:
    assert warehouse.table_names() == ["checkouts", "customers"]
    assert warehouse.read_table("checkouts").equals(tables["checkouts"])
    assert warehouse.read_table("customers").equals(tables["customers"])


# -- files that are right -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_valid_file_round_trips(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    for name in ("checkouts", "installments", "products"):
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            write_csv(tables[name], path)
        else:
            pq.write_table(tables[name], path)
        assert ingest_file(warehouse, name, path) == tables[name].num_rows
        assert warehouse.read_table(name).equals(tables[name]), name


def test_append_adds_new_rows(
    tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    products = tables["products"]
    pq.write_table(products.slice(0, 100), tmp_path / "a.parquet")
    pq.write_table(products.slice(100), tmp_path / "b.parquet")
    ingest_file(warehouse, "products", tmp_path / "a.parquet")
    ingest_file(warehouse, "products", tmp_path / "b.parquet", mode="append")
    assert warehouse.read_table("products").sort_by("product_id").equals(products)


def test_csv_timestamps_may_carry_any_offset(tmp_path: Path) -> None:
    spec = TABLES["merchants"]
    path = tmp_path / "merchants.csv"
    path.write_text(
        "merchant_id,name,category,fee_rate,created_at\n"
        "1,Acme,electronics,0.03,2026-01-01T02:00:00+02:00\n"
        "2,Bolt,fashion,0.05,2026-01-01T00:00:00Z\n"
    )
    table = validate_table(spec, read_file(path))
    assert table.column("created_at").to_pylist()[0] == table.column("created_at").to_pylist()[1]


# -- each kind of failure, in both formats ---------------------------------------------


def _write(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".csv":
        return write_csv(table, path)
    pq.write_table(table, path)
    return path


FORMATS = ["csv", "parquet"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_column(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    path = _write(tables["checkouts"].drop_columns(["device_id"]), tmp_path / f"c.{fmt}")
    with pytest.raises(SchemaError, match=r"table 'checkouts': missing column\(s\) device_id"):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_extra_column(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = tables["checkouts"].append_column("coupon", pa.array(["x"] * tables["checkouts"].num_rows))
    path = _write(table, tmp_path / f"c.{fmt}")
    with pytest.raises(SchemaError, match=r"table 'checkouts': unexpected column\(s\) coupon"):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_type_names_the_first_bad_row(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = tables["checkouts"]
    amounts = pc.cast(table.column("amount_minor"), pa.string()).to_pylist()
    amounts[4] = "12.99"
    amounts[9] = "lots"
    table = table.set_column(table.column_names.index("amount_minor"), "amount_minor", pa.array(amounts))
    path = _write(table, tmp_path / f"c.{fmt}")
    with pytest.raises(
        SchemaError, match=r"table 'checkouts', column 'amount_minor': row 5 has '12.99'.*minor units"
    ):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_timestamp_names_the_first_bad_row(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = tables["customers"]
    stamps = [v.isoformat() for v in table.column("created_at").to_pylist()]
    stamps[2] = "2026-01-01 10:00:00"  # no zone: ambiguous
    table = table.set_column(table.column_names.index("created_at"), "created_at", pa.array(stamps))
    path = _write(table, tmp_path / f"c.{fmt}")
    with pytest.raises(
        SchemaError, match=r"table 'customers', column 'created_at': row 3 has '2026-01-01 10:00:00'"
    ):
        ingest_file(warehouse, "customers", path)
    assert_unchanged(warehouse, tables)


def test_parquet_float_money_is_refused(
    tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = tables["checkouts"]
    money = pc.divide(pc.cast(table.column("amount_minor"), pa.float64()), 100.0)
    table = table.set_column(table.column_names.index("amount_minor"), "amount_minor", money)
    path = _write(table, tmp_path / "c.parquet")
    first_fraction = next(i for i, v in enumerate(money.to_pylist()) if v != int(v))
    with pytest.raises(
        SchemaError, match=rf"column 'amount_minor': row {first_fraction + 1} has .*minor units"
    ):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


def test_parquet_timestamps_without_zone_are_refused(
    tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = tables["customers"]
    naive = table.column("created_at").cast(pa.timestamp("us"))
    table = table.set_column(table.column_names.index("created_at"), "created_at", naive)
    path = _write(table, tmp_path / "c.parquet")
    with pytest.raises(
        SchemaError, match=r"table 'customers', column 'created_at': timestamps have no time zone"
    ):
        ingest_file(warehouse, "customers", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_null_in_a_required_column(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = set_value(tables["checkouts"], "payment_instrument_id", 6, None)
    path = _write(table, tmp_path / f"c.{fmt}")
    with pytest.raises(
        SchemaError, match=r"table 'checkouts', column 'payment_instrument_id': null at row 7"
    ):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_key(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = set_value(tables["checkouts"], "checkout_id", 11, 3)
    path = _write(table, tmp_path / f"c.{fmt}")
    with pytest.raises(
        SchemaError, match=r"table 'checkouts': duplicate key checkout_id=3 at row 12 \(first seen at row 3\)"
    ):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_value_outside_the_allowed_set(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = set_value(tables["checkouts"], "plan_type", 1, "pay_in_40")
    path = _write(table, tmp_path / f"c.{fmt}")
    with pytest.raises(
        SchemaError, match=r"column 'plan_type': row 2 has 'pay_in_40'; allowed values are pay_in_4"
    ):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


@pytest.mark.parametrize("fmt", FORMATS)
def test_append_refuses_keys_the_warehouse_already_holds(
    fmt: str, tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    checkouts = tables["checkouts"]
    # Rows 1-2 are new ids; row 3 repeats an id already in the warehouse.
    top = int(pc.max(checkouts.column("checkout_id")).as_py())
    extra = checkouts.slice(0, 3)
    ids = [top + 1, top + 2, int(checkouts.column("checkout_id")[5].as_py())]
    extra = extra.set_column(0, "checkout_id", pa.array(ids, type=pa.int64()))
    path = _write(extra, tmp_path / f"c.{fmt}")
    with pytest.raises(
        SchemaError, match=rf"row 3 of .* has key checkout_id={ids[2]}, which the warehouse already holds"
    ):
        ingest_file(warehouse, "checkouts", path, mode="append")
    assert_unchanged(warehouse, tables)


def test_malformed_files(tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]) -> None:
    garbage = tmp_path / "c.parquet"
    garbage.write_bytes(b"this is not parquet at all")
    with pytest.raises(SchemaError, match=r"not a well-formed parquet file"):
        ingest_file(warehouse, "checkouts", garbage)
    ragged = tmp_path / "m.csv"
    ragged.write_text("merchant_id,name,category,fee_rate,created_at\n1,Acme,electronics\n")
    with pytest.raises(SchemaError, match=r"not a well-formed csv file"):
        ingest_file(warehouse, "merchants", ragged)
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(SchemaError, match=r"the CSV file is empty"):
        ingest_file(warehouse, "merchants", empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text("merchant_id,name,category,fee_rate,created_at\n")
    with pytest.raises(SchemaError, match=r"holds no rows; nothing was written"):
        ingest_file(warehouse, "merchants", header_only)
    with pytest.raises(SchemaError, match=r"use a .parquet or .csv file"):
        ingest_file(warehouse, "merchants", _touch(tmp_path / "m.xlsx"))
    with pytest.raises(SchemaError, match=r"does not exist"):
        ingest_file(warehouse, "merchants", tmp_path / "absent.csv")
    with pytest.raises(SchemaError, match=r"unknown table 'orders'; cartwise tables are: chargebacks"):
        ingest_file(warehouse, "orders", tmp_path / "absent.csv")
    assert_unchanged(warehouse, tables)


def test_a_list_column_must_hold_json_lists(
    tmp_path: Path, warehouse: DuckDBWarehouse, tables: dict[str, pa.Table]
) -> None:
    table = tables["checkouts"]
    as_json = [json.dumps(v) for v in table.column("product_ids").to_pylist()]
    as_json[1] = "17"  # a bare number, not a list
    table = table.set_column(table.column_names.index("product_ids"), "product_ids", pa.array(as_json))
    path = write_csv(table, tmp_path / "c.csv")
    with pytest.raises(SchemaError, match=r"column 'product_ids': row 2 has '17'; write a JSON list"):
        ingest_file(warehouse, "checkouts", path)
    assert_unchanged(warehouse, tables)


def _touch(path: Path) -> Path:
    path.write_text("x")
    return path
