"""Point-in-time training frames: the feature values as they were at each spine row's instant.

:func:`training_frame` takes a spine (entity keys, a timestamp and any
passthrough columns such as ``checkout_id`` and labels) and returns the spine
with one column per feature appended, in the spine's row order. Only events
strictly before the spine timestamp count, and label rows only once known
(see :mod:`cartwise.features.definitions` for the exact contract).

The SQL is compiled once (:mod:`cartwise.features.compiler`) and runs on the
warehouse (DuckDB by default, or PostgreSQL) or on Spark
(:class:`cartwise.features.spark.SparkEngine`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cartwise.data.warehouse import Warehouse
from cartwise.errors import FeatureError, SchemaError
from cartwise.features.compiler import compile_training_query
from cartwise.features.definitions import FEATURE_TIME, FeatureSet
from cartwise.features.sql import to_dialect

if TYPE_CHECKING:
    from cartwise.features.spark import SparkEngine

__all__ = ["DEFAULT_MEMORY_LIMIT", "Engine", "apply_on_demand", "spine_timestamp_column", "training_frame"]

logger = logging.getLogger(__name__)

Engine = Literal["warehouse", "duckdb", "postgres", "spark"]

DEFAULT_MEMORY_LIMIT = "4GB"
"""DuckDB's memory cap for a training frame; the spine and the result (Arrow) come on top."""


def spine_timestamp_column(spine: pa.Table, timestamp_column: str | None) -> str:
    """The spine's timestamp column: the one named, or its only timestamp column."""
    if timestamp_column is not None:
        if timestamp_column not in spine.column_names:
            raise SchemaError(
                f"spine has no column {timestamp_column!r} (its columns: {', '.join(spine.column_names)}); "
                "pass timestamp_column= naming the time each row's features are wanted for"
            )
        if not pa.types.is_timestamp(spine.schema.field(timestamp_column).type):
            raise SchemaError(
                f"spine column {timestamp_column!r} is {spine.schema.field(timestamp_column).type}, "
                "not a timestamp; cast it to timestamp[us, tz=UTC]"
            )
        return timestamp_column
    candidates = [f.name for f in spine.schema if pa.types.is_timestamp(f.type)]
    if len(candidates) != 1:
        raise SchemaError(
            f"spine has {len(candidates)} timestamp columns ({candidates}); pass timestamp_column= "
            "to say which one is the feature time"
        )
    return str(candidates[0])


def _spine_for_sql(spine: pa.Table, feature_set: FeatureSet, ts_col: str) -> pa.Table:
    missing = [k for k in feature_set.join_keys if k not in spine.column_names]
    if missing:
        raise SchemaError(
            f"spine lacks the entity key columns {missing} that feature set {feature_set.name} needs; "
            f"a spine holds {list(feature_set.join_keys)} and a timestamp"
        )
    ts = spine.column(ts_col).cast(pa.timestamp("us", tz="UTC"))
    if ts.null_count:
        raise SchemaError(f"spine column {ts_col!r} has {ts.null_count} nulls; every row needs a time")
    columns: dict[str, Any] = {"__row": pa.array(np.arange(spine.num_rows, dtype=np.int64))}
    for k in feature_set.join_keys:
        columns[k] = spine.column(k)
    columns[FEATURE_TIME] = ts
    return pa.table(columns)


def _bounds(spine_sql: pa.Table) -> tuple[int, int] | None:
    if spine_sql.num_rows == 0:
        return None
    ts = spine_sql.column(FEATURE_TIME).cast(pa.int64())
    lo, hi = pc.min(ts).as_py(), pc.max(ts).as_py()
    return int(lo), int(hi) + 1


def training_frame(
    warehouse: Warehouse | None,
    spine: pa.Table,
    features: FeatureSet | Sequence[str] | None = None,
    *,
    timestamp_column: str | None = None,
    engine: Engine = "warehouse",
    spark: SparkEngine | None = None,
    strategy: Literal["fast", "join"] = "fast",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
) -> pa.Table:
    """The spine with its point-in-time feature values appended, row order and count kept.

    ``features`` is a :class:`FeatureSet`, a list of feature names of the
    cartwise catalog, or None for the whole catalog. ``engine`` is
    ``"warehouse"`` (the warehouse's own engine: DuckDB or PostgreSQL) or
    ``"spark"`` (then ``spark`` is a :class:`SparkEngine`, and tables are read
    from ``warehouse`` unless the engine already holds them). ``strategy="join"``
    uses the slow reference point-in-time join for every feature.
    ``memory_limit`` caps DuckDB's memory while the frame is computed (only ever
    lowering the connection's own limit, which is put back afterwards to the
    0.1 GiB DuckDB reports it in; DuckDB spills past the cap); None leaves
    the connection as it is. PostgreSQL and Spark manage their own memory.
    """
    feature_set = _resolve(features)
    ts_col = spine_timestamp_column(spine, timestamp_column)
    for name in feature_set.feature_names:
        if name in spine.column_names:
            raise SchemaError(f"spine already has a column named {name!r}, like a feature; rename or drop it")
    spine_sql = _spine_for_sql(spine, feature_set, ts_col)
    spine_table = f"__cw_spine_{uuid.uuid4().hex[:10]}"
    compiled = compile_training_query(
        feature_set, spine_table=spine_table, strategy=strategy, bounds=_bounds(spine_sql)
    )
    started = time.perf_counter()
    if engine == "spark":
        if spark is None:
            raise FeatureError("engine='spark' needs spark=SparkEngine(...); see cartwise.features.spark")
        result = spark.run(compiled.sql, spine_table, spine_sql, feature_set, warehouse)
    elif engine in ("warehouse", "duckdb", "postgres"):
        if warehouse is None:
            raise FeatureError(f"engine={engine!r} needs a warehouse")
        if engine != "warehouse" and warehouse.dialect != engine:
            raise FeatureError(
                f"engine={engine!r} but the warehouse is {warehouse.dialect}; pass engine='warehouse'"
            )
        result = _run_on_warehouse(warehouse, compiled.sql, spine_table, spine_sql, memory_limit)
    else:
        raise FeatureError(f"engine must be 'warehouse', 'duckdb', 'postgres' or 'spark', not {engine!r}")
    logger.info(
        "training frame: %d rows x %d features in %.1f s on %s",
        spine.num_rows,
        len(compiled.features),
        time.perf_counter() - started,
        engine if engine == "spark" else warehouse.dialect if warehouse else engine,
    )
    if result.num_rows != spine.num_rows:
        raise FeatureError(f"training frame has {result.num_rows} rows for a spine of {spine.num_rows}")
    frame = spine
    for f in compiled.features:
        column = result.column(f.name)
        frame = frame.append_column(
            pa.field(f.name, pa.int64() if f.dtype == "int64" else pa.float64()),
            column.cast(pa.int64() if f.dtype == "int64" else pa.float64()),
        )
    return apply_on_demand(frame, feature_set, ts_col)


def apply_on_demand(frame: pa.Table, feature_set: FeatureSet, timestamp_column: str) -> pa.Table:
    """Append the set's on-demand features, computed column-wise by their one function."""
    if not feature_set.on_demand:
        return frame
    values: dict[str, Any] = {}
    needed = {n for od in feature_set.on_demand for n in od.inputs}
    for name in needed:
        if name == FEATURE_TIME:
            values[name] = frame.column(timestamp_column).cast(pa.int64()).to_numpy(zero_copy_only=False)
        elif name in frame.column_names:
            values[name] = _to_numpy(frame.column(name))
    missing_request = [r for r in feature_set.request_inputs if r not in values]
    if missing_request:
        raise SchemaError(
            f"spine lacks request columns {missing_request} that on-demand features of {feature_set.name} read"
        )
    computed = feature_set.compute_on_demand(values)
    for name, array in computed.items():
        if len(array) != frame.num_rows:
            array = np.broadcast_to(array, (frame.num_rows,))
        frame = frame.append_column(
            pa.field(name, pa.float64()), pa.array(array, type=pa.float64(), from_pandas=True)
        )
    return frame


def _to_numpy(column: pa.ChunkedArray) -> Any:
    type_ = column.type
    if pa.types.is_timestamp(type_):
        return column.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_boolean(type_):
        return column.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    return column.to_numpy(zero_copy_only=False)


def _resolve(features: FeatureSet | Sequence[str] | None) -> FeatureSet:
    if isinstance(features, FeatureSet):
        return features
    from cartwise.features.catalog import CATALOG

    if features is None:
        return CATALOG
    if isinstance(features, str):
        raise FeatureError("features must be a FeatureSet or a list of feature names, not one string")
    return CATALOG.subset(features)


_UNITS = {
    "b": 1,
    "bytes": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def _parse_size(text: str) -> int:
    """Bytes in a DuckDB size such as ``4GB``, ``3.7 GiB`` or ``512 MiB``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or (unit or "b") not in _UNITS:
        raise FeatureError(f"memory_limit {text!r} is not a size; write it like '4GB' or '512MB'")
    return int(float(match.group(1)) * _UNITS[unit or "b"])


@contextlib.contextmanager
def _bounded(con: Any, memory_limit: str | None) -> Iterator[None]:
    """Cap DuckDB's memory for one query (it spills past the cap) and put the settings back after.

    The cap only ever lowers the connection's own limit. Past it DuckDB spills
    sorts and windows to its temp directory; an in-memory database's (by default
    ``.tmp`` under the working directory) moves to the system's temp directory.
    """
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() "
            "WHERE name IN ('memory_limit', 'temp_directory', 'preserve_insertion_order')"
        ).fetchall()
    )
    changed: dict[str, str] = {}
    if memory_limit is not None and _parse_size(memory_limit) < _parse_size(settings["memory_limit"]):
        changed["memory_limit"] = memory_limit
    if settings.get("temp_directory") in ("", ".tmp"):
        # an in-memory database would spill under the working directory; once set, kept
        with contextlib.suppress(Exception):  # DuckDB refuses to move a temp directory in use
            con.execute(f"SET temp_directory = '{Path(tempfile.gettempdir()) / 'cartwise-duckdb'}'")
    # the frame is ordered by __row explicitly, so DuckDB need not keep insertion order
    if str(settings.get("preserve_insertion_order")).lower() == "true":
        changed["preserve_insertion_order"] = "false"
    for name, value in changed.items():
        con.execute(f"SET {name} = '{value}'").fetchall()
    try:
        yield
    finally:
        for name in changed:
            con.execute(f"SET {name} = '{settings[name]}'").fetchall()


def _run_on_warehouse(
    warehouse: Warehouse, sql: str, spine_table: str, spine_sql: pa.Table, memory_limit: str | None
) -> pa.Table:
    from cartwise.data.duckdb_warehouse import DuckDBWarehouse

    text = to_dialect(sql, warehouse.dialect)
    if isinstance(warehouse, DuckDBWarehouse):
        con = warehouse.connection
        con.register(spine_table, spine_sql)  # zero-copy view of the Arrow spine
        try:
            with _bounded(con, memory_limit):
                # a relation streams straight to Arrow (a DB-API cursor would copy the rows once more)
                result: pa.Table = con.sql(text).to_arrow_table()
        except Exception as exc:
            raise FeatureError(f"DuckDB could not compute the training frame: {exc}") from exc
        finally:
            con.unregister(spine_table)
        return result
    warehouse.write_table(spine_table, spine_sql)
    try:
        return warehouse.query(text, dialect=warehouse.dialect)
    finally:
        warehouse.execute(f"DROP TABLE IF EXISTS {spine_table}", dialect=warehouse.dialect)
