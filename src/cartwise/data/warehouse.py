"""The warehouse port: read and write Arrow tables, run SQL.

SQL handed to :meth:`Warehouse.query` is written once, in DuckDB's dialect, and
carried to the backend's dialect by sqlglot. Writes are all or nothing: the tables
of one :meth:`Warehouse.write_tables` call are replaced or appended inside one
transaction, so a failed or interrupted write leaves every one of them as it was
(never new checkouts beside old chargebacks).
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Literal

import pyarrow as pa
import sqlglot

from cartwise.domain.schemas import TABLES
from cartwise.errors import SchemaError, UnknownTableError

__all__ = ["SQL_DIALECT", "Warehouse", "WriteMode", "check_identifier", "transpile"]

logger = logging.getLogger(__name__)

WriteMode = Literal["replace", "append"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

SQL_DIALECT = "duckdb"
"""The dialect cartwise writes its SQL in."""


def check_identifier(name: str, what: str = "table") -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise :class:`SchemaError`."""
    if not _IDENTIFIER.match(name):
        raise SchemaError(
            f"{what} name {name!r} is not a plain identifier: use letters, digits and "
            "underscores, starting with a letter or underscore"
        )
    return name


def transpile(sql: str, dialect: str, *, source: str = SQL_DIALECT) -> str:
    """Carry SQL written in ``source`` (DuckDB by default) to ``dialect``."""
    if dialect == source:
        return sql
    statements = sqlglot.transpile(sql, read=source, write=dialect)
    return ";\n".join(statements)


class Warehouse(abc.ABC):
    """Where cartwise keeps its tables. One adapter per backend."""

    dialect: str = SQL_DIALECT
    """The sqlglot dialect of the backend."""

    # -- reading ---------------------------------------------------------
    @abc.abstractmethod
    def table_names(self) -> list[str]:
        """Names of the tables held, sorted."""

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def read_table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The whole table (or some of its columns) as Arrow.

        Tables of the cartwise data model come back with their declared schema.
        """
        check_identifier(name)
        self._require(name)
        cols = "*" if columns is None else ", ".join(check_identifier(c, "column") for c in columns)
        table = self.query(f"SELECT {cols} FROM {name}")
        spec = TABLES.get(name)
        if spec is not None:
            schema = spec.schema if columns is None else pa.schema([spec.schema.field(c) for c in columns])
            table = table.cast(schema)
        return table

    @abc.abstractmethod
    def query(self, sql: str, *, dialect: str = SQL_DIALECT) -> pa.Table:
        """Run one SELECT written in ``dialect`` and return its rows as Arrow."""

    @abc.abstractmethod
    def execute(self, sql: str, *, dialect: str = SQL_DIALECT) -> None:
        """Run a statement that returns nothing (DDL, INSERT ... SELECT)."""

    # -- writing ---------------------------------------------------------
    def write_table(self, name: str, table: pa.Table, *, mode: WriteMode = "replace") -> None:
        """Replace or append to ``name`` with ``table``, in one transaction."""
        self.write_tables({name: table}, mode=mode)

    def write_tables(
        self,
        tables: Mapping[str, pa.Table],
        *,
        mode: WriteMode = "replace",
        on_table: Callable[[str, pa.Table], None] | None = None,
    ) -> None:
        """Replace or append to every table of ``tables`` in one transaction: all of them or none.

        ``on_table(name, table)`` is called just before each table is written (progress
        reporting); an exception it raises rolls the whole write back like any other.
        """
        for name in tables:
            check_identifier(name)
        with self._transaction(list(tables)):
            for name, table in tables.items():
                if on_table is not None:
                    on_table(name, table)
                self._write_one(name, table, mode)

    @abc.abstractmethod
    def _transaction(self, names: list[str]) -> AbstractContextManager[None]:
        """One transaction around a write of ``names``: committed on success, rolled back on
        any exception; a failure to begin or commit is a :class:`WarehouseError` naming them."""

    @abc.abstractmethod
    def _write_one(self, name: str, table: pa.Table, mode: WriteMode) -> None:
        """One table's statements, inside the open transaction (its failures name the table)."""

    def row_count(self, name: str) -> int:
        check_identifier(name)
        self._require(name)
        result = self.query(f"SELECT count(*) AS n FROM {name}")
        return int(result.column("n")[0].as_py())

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook: adapters without connections need nothing
        """Release connections. Safe to call twice."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------
    def _require(self, name: str) -> None:
        if not self.has_table(name):
            held = ", ".join(self.table_names()) or "none"
            raise UnknownTableError(
                f"table {name!r} is not in the {type(self).__name__} warehouse "
                f"(tables held: {held}); run `cartwise simulate` or `cartwise ingest {name} FILE` first"
            )

    @staticmethod
    def _check_append_schema(name: str, existing: pa.Schema, table: pa.Table) -> None:
        if [f.name for f in existing] != table.column_names:
            raise SchemaError(
                f"cannot append to {name!r}: its columns are {existing.names}, "
                f"the new rows have {table.column_names}"
            )
