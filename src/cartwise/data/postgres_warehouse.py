"""PostgreSQL warehouse adapter: psycopg 3 for writes and statements, ADBC for reading query results.

Tables are written with ``COPY`` inside one transaction (PostgreSQL's DDL is
transactional, so a replace that fails leaves the old table). Queries are read
straight into Arrow by the ADBC PostgreSQL driver (binary ``COPY``, no Python
object per value: several times faster than fetching rows), then cast to the
declared schema for tables of the cartwise data model; NUMERIC comes back as
float64. A query made inside a write's transaction goes through that
transaction's own connection, so it sees the write.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cartwise.data.warehouse import SQL_DIALECT, Warehouse, WriteMode, check_identifier, transpile
from cartwise.errors import SchemaError, WarehouseError

__all__ = ["PostgresWarehouse", "postgres_type"]

logger = logging.getLogger(__name__)


def postgres_type(type_: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type."""
    if pa.types.is_boolean(type_):
        return "BOOLEAN"
    if pa.types.is_int8(type_) or pa.types.is_int16(type_):
        return "SMALLINT"
    if pa.types.is_int32(type_):
        return "INTEGER"
    if pa.types.is_integer(type_):
        return "BIGINT"
    if pa.types.is_float32(type_):
        return "REAL"
    if pa.types.is_floating(type_):
        return "DOUBLE PRECISION"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "TEXT"
    if pa.types.is_timestamp(type_):
        return "TIMESTAMPTZ" if type_.tz is not None else "TIMESTAMP"
    if pa.types.is_date(type_):
        return "DATE"
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return postgres_type(type_.value_type) + "[]"
    raise SchemaError(f"cartwise cannot store Arrow type {type_} in PostgreSQL")


# PostgreSQL type OIDs → Arrow, for result sets of arbitrary queries.
_OID_TO_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1700: pa.float64(),
    25: pa.string(),
    1043: pa.string(),
    19: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1016: pa.list_(pa.int64()),
    1007: pa.list_(pa.int32()),
    1009: pa.list_(pa.string()),
    1022: pa.list_(pa.float64()),
}


class PostgresWarehouse(Warehouse):
    """A schema in a PostgreSQL database."""

    dialect = "postgres"

    def __init__(self, dsn: str, *, schema: str = "public") -> None:
        self.dsn = dsn
        self.schema = schema
        self._con: Any = None
        self._arrow_con: Any = None

    @property
    def connection(self) -> Any:
        if self._con is None:
            import psycopg

            try:
                self._con = psycopg.connect(self.dsn, autocommit=True)
            except psycopg.Error as exc:
                raise WarehouseError(
                    f"cannot connect to the PostgreSQL warehouse at {_redact(self.dsn)}: {exc}. "
                    "Check warehouse.dsn in the config and that the server is running."
                ) from exc
            check_identifier(self.schema, "schema")
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self._con.execute(f"SET search_path TO {self.schema}")
            self._con.execute("SET TIME ZONE 'UTC'")
        return self._con

    def table_names(self) -> list[str]:
        rows = self.connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
            (self.schema,),
        ).fetchall()
        return [r[0] for r in rows]

    @property
    def arrow_connection(self) -> Any:
        """The ADBC connection queries are read through (autocommit, same schema and time zone)."""
        if self._arrow_con is None:
            import adbc_driver_postgresql.dbapi as adbc

            self.connection  # noqa: B018 - creates the schema first
            try:
                con = adbc.connect(self.dsn, autocommit=True)
            except adbc.Error as exc:
                raise WarehouseError(
                    f"cannot connect to the PostgreSQL warehouse at {_redact(self.dsn)}: {exc}. "
                    "Check warehouse.dsn in the config and that the server is running."
                ) from exc
            with con.cursor() as cur:
                cur.execute(f"SET search_path TO {self.schema}")
                cur.execute("SET TIME ZONE 'UTC'")
            self._arrow_con = con
        return self._arrow_con

    def query(self, sql: str, *, dialect: str = SQL_DIALECT) -> pa.Table:
        import psycopg

        sql = transpile(sql, self.dialect, source=dialect)
        if self.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            return self._query_arrow(sql)
        return self._query_rows(sql)

    def _query_arrow(self, sql: str) -> pa.Table:
        import adbc_driver_postgresql.dbapi as adbc

        try:
            with self.arrow_connection.cursor() as cur:
                cur.execute(sql)
                table: pa.Table = cur.fetch_arrow_table()
        except adbc.Error as exc:
            raise WarehouseError(f"PostgreSQL could not run the query: {exc}\n{sql}") from exc
        return _plain_arrow(table)

    def _query_rows(self, sql: str) -> pa.Table:
        """Fetch rows through psycopg: for queries inside the write transaction of :attr:`connection`."""
        import psycopg

        try:
            with self.connection.cursor() as cur:
                cur.execute(sql)
                description = cur.description or []
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL could not run the query: {exc}\n{sql}") from exc
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in description]
        arrays = []
        fields = []
        for col, values in zip(description, columns, strict=True):
            type_ = _OID_TO_ARROW.get(col.type_code)
            converted = [_to_arrow_value(v) for v in values]
            array = pa.array(converted, type=type_) if type_ is not None else pa.array(converted)
            arrays.append(array)
            fields.append(pa.field(col.name, array.type))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def execute(self, sql: str, *, dialect: str = SQL_DIALECT) -> None:
        import psycopg

        sql = transpile(sql, self.dialect, source=dialect)
        try:
            self.connection.execute(sql)
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL could not run the statement: {exc}\n{sql}") from exc

    @contextmanager
    def _transaction(self, names: list[str]) -> Iterator[None]:
        import psycopg

        try:
            with self.connection.transaction():
                yield
        except psycopg.Error as exc:  # BEGIN or COMMIT; a table's own failure is named in _write_one
            raise WarehouseError(f"PostgreSQL could not write tables {names}: {exc}") from exc

    def _write_one(self, name: str, table: pa.Table, mode: WriteMode) -> None:
        import psycopg

        for column in table.column_names:
            check_identifier(column, "column")
        con = self.connection
        columns_sql = ", ".join(table.column_names)
        try:
            if mode == "append" and self.has_table(name):
                existing = self.query(f"SELECT * FROM {name} LIMIT 0").schema
                self._check_append_schema(name, existing, table)
            else:
                ddl = ", ".join(
                    f"{f.name} {postgres_type(f.type)}{'' if f.nullable else ' NOT NULL'}"
                    for f in table.schema
                )
                con.execute(f"DROP TABLE IF EXISTS {name}")
                con.execute(f"CREATE TABLE {name} ({ddl})")
            as_csv = _csv_ready(table)
            if as_csv is not None:
                # Arrow writes the CSV in C++; far faster than converting row by row in Python.
                with (
                    con.cursor() as cur,
                    cur.copy(f"COPY {name} ({columns_sql}) FROM STDIN (FORMAT csv)") as copy,
                ):
                    for batch in as_csv.to_batches(max_chunksize=50_000):
                        sink = io.BytesIO()
                        pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
                        copy.write(sink.getvalue())
            else:
                with con.cursor() as cur, cur.copy(f"COPY {name} ({columns_sql}) FROM STDIN") as copy:
                    for batch in table.to_batches(max_chunksize=50_000):
                        for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                            copy.write_row(row)
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL could not write table {name!r}: {exc}") from exc

    def drop_schema(self) -> None:
        """Drop the whole schema and everything in it (used by tests and resets)."""
        self.connection.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.close()

    def close(self) -> None:
        if self._arrow_con is not None:
            self._arrow_con.close()
            self._arrow_con = None
        if self._con is not None:
            self._con.close()
            self._con = None


def _csv_ready(table: pa.Table) -> pa.Table | None:
    """``table`` with list columns as PostgreSQL array literals, ready for ``COPY ... (FORMAT csv)``.

    None when a column has a type the CSV path does not carry faithfully (lists of text,
    non-finite floats, binary); such tables are copied row by row instead.
    """
    columns = []
    for column in table.columns:
        type_ = column.type
        if pa.types.is_list(type_) or pa.types.is_large_list(type_):
            value_type = type_.value_type
            if not (pa.types.is_integer(value_type) or pa.types.is_floating(value_type)):
                return None
            joined = pc.binary_join(pc.cast(column, pa.list_(pa.string())), ",")
            column = pc.binary_join_element_wise("{", joined, "}", "")
        elif pa.types.is_floating(type_):
            if column.null_count < len(column) and not pc.all(pc.is_finite(column)).as_py():
                return None
        elif not (
            pa.types.is_integer(type_)
            or pa.types.is_boolean(type_)
            or pa.types.is_string(type_)
            or pa.types.is_large_string(type_)
            or pa.types.is_timestamp(type_)
            or pa.types.is_date(type_)
        ):
            return None
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _plain_arrow(table: pa.Table) -> pa.Table:
    """ADBC's result with NUMERIC as float64 (like the row path) and without driver metadata."""
    columns = []
    fields = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if isinstance(field.type, pa.BaseExtensionType):  # e.g. NUMERIC, an opaque string type
            storage = pa.chunked_array([c.storage for c in column.chunks], type=field.type.storage_type)
            typname = (field.metadata or {}).get(b"ADBC:postgresql:typname", b"")
            column = pc.cast(storage, pa.float64()) if typname == b"numeric" else storage
        columns.append(column)
        fields.append(pa.field(field.name, column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _to_arrow_value(value: Any) -> Any:
    # psycopg returns Decimal for NUMERIC; Arrow wants floats for the float64 we declare.
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


def _redact(dsn: str) -> str:
    """A DSN without its password, for error messages."""
    import re

    return re.sub(r"(password=)\S+|(:)[^:@/]+(@)", r"\1\2***\3", dsn)
