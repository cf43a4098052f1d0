"""DuckDB warehouse adapter: the embedded default, one file under the data dir."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from cartwise.data.warehouse import SQL_DIALECT, Warehouse, WriteMode, transpile
from cartwise.errors import WarehouseError

__all__ = ["DuckDBWarehouse"]


def _duckdb_module() -> Any:
    import duckdb

    return duckdb


class DuckDBWarehouse(Warehouse):
    """The embedded default: one DuckDB file (or ``:memory:``)."""

    dialect = "duckdb"

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._con: Any = None

    @property
    def connection(self) -> Any:
        if self._con is None:
            duckdb = _duckdb_module()
            if self.path != ":memory:":
                if self.read_only and not Path(self.path).exists():
                    raise WarehouseError(
                        f"no DuckDB warehouse at {self.path}; run `cartwise simulate` or "
                        "`cartwise ingest TABLE FILE` first, or point --data-dir at an existing one"
                    )
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self._con = duckdb.connect(self.path, read_only=self.read_only)
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"cannot open the DuckDB warehouse at {self.path}: {exc}. "
                    "Is another cartwise process writing to it?"
                ) from exc
        return self._con

    def table_names(self) -> list[str]:
        rows = self.connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def query(self, sql: str, *, dialect: str = SQL_DIALECT) -> pa.Table:
        sql = transpile(sql, self.dialect, source=dialect)
        try:
            # A relation hands Arrow over without the extra copy a DB-API cursor makes.
            relation = self.connection.sql(sql)
            result: pa.Table = relation.to_arrow_table() if relation is not None else pa.table({})
        except _duckdb_module().Error as exc:
            raise WarehouseError(f"DuckDB could not run the query: {exc}\n{sql}") from exc
        return result

    def execute(self, sql: str, *, dialect: str = SQL_DIALECT) -> None:
        sql = transpile(sql, self.dialect, source=dialect)
        try:
            self.connection.execute(sql)
        except _duckdb_module().Error as exc:
            raise WarehouseError(f"DuckDB could not run the statement: {exc}\n{sql}") from exc

    @contextmanager
    def _transaction(self, names: list[str]) -> Iterator[None]:
        con = self.connection
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except _duckdb_module().Error as exc:  # BEGIN or COMMIT; a table's own failure is named in _write_one
            raise WarehouseError(f"DuckDB could not write tables {names}: {exc}") from exc

    def _write_one(self, name: str, table: pa.Table, mode: WriteMode) -> None:
        con = self.connection
        con.register("__cartwise_incoming", table)
        try:
            if mode == "append" and self.has_table(name):
                existing = con.sql(f"SELECT * FROM {name} LIMIT 0").to_arrow_table().schema
                self._check_append_schema(name, existing, table)
                con.execute(f"INSERT INTO {name} SELECT * FROM __cartwise_incoming")
            else:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __cartwise_incoming")
        except _duckdb_module().Error as exc:
            raise WarehouseError(f"DuckDB could not write table {name!r}: {exc}") from exc
        finally:
            con.unregister("__cartwise_incoming")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
