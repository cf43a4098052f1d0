"""Wires ports to adapters from :class:`~cartwise.config.Settings`. Nothing connects at import time."""

from __future__ import annotations

from cartwise.config import Settings
from cartwise.data.warehouse import Warehouse

__all__ = ["make_warehouse"]


def make_warehouse(settings: Settings, *, read_only: bool = False) -> Warehouse:
    """The warehouse adapter the settings ask for (not yet connected)."""
    if settings.warehouse.type == "postgres":
        from cartwise.data.postgres_warehouse import PostgresWarehouse

        return PostgresWarehouse(settings.warehouse.dsn, schema=settings.warehouse.db_schema)
    from cartwise.data.duckdb_warehouse import DuckDBWarehouse

    return DuckDBWarehouse(settings.warehouse_path, read_only=read_only)
