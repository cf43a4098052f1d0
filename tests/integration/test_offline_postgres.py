"""The same training frame on DuckDB and on the real PostgreSQL server (SQL transpiled by sqlglot)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.postgres_warehouse import PostgresWarehouse
from cartwise.features.catalog import CATALOG
from cartwise.features.offline import training_frame
from cartwise.features.synthetic import synthetic_tables

pytestmark = pytest.mark.postgres


def _spine(tables: dict[str, pa.Table]) -> pa.Table:
    checkouts = tables["checkouts"]
    spine = checkouts.drop_columns(["product_ids", "currency", "geo_hash", "plan_type", "n_items"])
    first = pa.array([ids[0] for ids in checkouts.column("product_ids").to_pylist()], pa.int64())
    return spine.append_column("product_id", first)


def test_duckdb_and_postgres_give_identical_frames(postgres_dsn: str, postgres_schema: str) -> None:
    tables = synthetic_tables(checkouts=600, days=40, seed=11)
    spine = _spine(tables)
    with DuckDBWarehouse() as duck:
        duck.write_tables(tables)
        expected = training_frame(duck, spine, CATALOG)
    with PostgresWarehouse(postgres_dsn, schema=postgres_schema) as pg:
        pg.write_tables(tables)
        got = training_frame(pg, spine, CATALOG, engine="postgres")
        assert "__cw_spine" not in " ".join(pg.table_names())  # the uploaded spine is dropped
    assert got.num_rows == expected.num_rows == spine.num_rows
    assert got.column_names == expected.column_names
    for name in CATALOG.feature_names:
        a = expected.column(name).to_numpy(zero_copy_only=False).astype(float)
        b = got.column(name).to_numpy(zero_copy_only=False).astype(float)
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-6, equal_nan=True, err_msg=name)
    assert expected.column("customer__checkouts__count__30d").to_numpy().sum() > 0
