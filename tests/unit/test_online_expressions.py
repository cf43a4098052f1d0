"""Read-time expressions: the generated evaluator gives DuckDB's answer, NULLs included."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from cartwise.errors import FeatureError
from cartwise.features.online.expressions import compile_expression

DAY = 86_400_000_000
T = 1_770_000_000_000_000

EXPRESSIONS = [
    "GREATEST(0, (EPOCH_US(LEAST(COALESCE(paid_at, feature_time), feature_time)) - EPOCH_US(due_at)) / 86400000000.0)",
    "CASE WHEN (paid_at IS NULL OR paid_at >= feature_time) THEN amount_minor ELSE 0 END",
    "CASE WHEN (due_at < feature_time AND (paid_at IS NULL OR paid_at >= feature_time)) THEN 1 END",
    "CASE WHEN (due_at < feature_time) THEN amount_minor END",
    "NOT (paid_at > due_at) OR amount_minor / (amount_minor - 100) > 2",
    "-amount_minor * 2 + 1",
    "COALESCE(paid_at, due_at) <> due_at",
]


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    rng = np.random.default_rng(0)
    n = 400
    due = T + rng.integers(-30, 30, n) * DAY + rng.integers(0, DAY, n)
    paid = due + rng.integers(-5, 20, n) * DAY
    paid_null = rng.random(n) < 0.3
    amount = rng.choice([0, 100, 2500, 12000], n)
    amount_null = rng.random(n) < 0.1
    return pa.table(
        {
            "due_at": pa.array(due, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "paid_at": pa.array(np.where(paid_null, 0, paid), pa.int64(), mask=paid_null).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "amount_minor": pa.array(amount, pa.int64(), mask=amount_null),
        }
    )


@pytest.mark.parametrize("sql", EXPRESSIONS)
def test_numpy_evaluation_equals_duckdb(sql: str, rows: pa.Table) -> None:
    con = duckdb.connect()
    con.register("r", rows)
    expected = (
        con.sql(
            f"SELECT CAST(({sql}) AS DOUBLE) AS v FROM (SELECT *, make_timestamp({T}) AT TIME ZONE 'UTC' AS feature_time FROM r)".replace(
                " AT TIME ZONE 'UTC'", "::TIMESTAMPTZ"
            )
        )
        .to_arrow_table()
        .column("v")
        .to_pylist()
    )
    columns = {}
    for name in rows.column_names:
        column = rows.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns[name] = column.cast(pa.float64()).to_pylist()
    evaluate = compile_expression(sql)
    got = [evaluate({k: v[i] for k, v in columns.items()}, float(T)) for i in range(rows.num_rows)]
    assert [None if v is None else float(v) for v in got] == expected


@pytest.mark.parametrize("sql", ["upper(name) = 'X'", "CASE x WHEN 1 THEN 2 END", "amount_minor LIKE '1%'"])
def test_constructs_it_cannot_evaluate_are_refused_by_name(sql: str) -> None:
    with pytest.raises(FeatureError, match="cannot evaluate"):
        compile_expression(sql, owner="feature view v")
