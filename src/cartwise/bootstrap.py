"""Wires ports to adapters from :class:`~cartwise.config.Settings`. Nothing connects at import time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cartwise.config import Settings
from cartwise.data.warehouse import Warehouse

if TYPE_CHECKING:
    from cartwise.features.definitions import FeatureSet
    from cartwise.features.online.store import OnlineStore
    from cartwise.streaming.stream import EventStream

__all__ = ["make_online_store", "make_stream", "make_warehouse"]


def make_warehouse(settings: Settings, *, read_only: bool = False) -> Warehouse:
    """The warehouse adapter the settings ask for (not yet connected)."""
    if settings.warehouse.type == "postgres":
        from cartwise.data.postgres_warehouse import PostgresWarehouse

        return PostgresWarehouse(settings.warehouse.dsn, schema=settings.warehouse.db_schema)
    from cartwise.data.duckdb_warehouse import DuckDBWarehouse

    return DuckDBWarehouse(settings.warehouse_path, read_only=read_only)


def make_online_store(
    settings: Settings, feature_set: FeatureSet | None = None, *, allowed_lateness: dt.timedelta | None = None
) -> OnlineStore:
    """The online store the settings ask for, serving ``feature_set`` (default: the whole catalog).

    The allowed lateness is ``online_store.allowed_lateness_seconds`` unless ``allowed_lateness`` is given.
    """
    if feature_set is None:
        from cartwise.features.catalog import CATALOG

        feature_set = CATALOG
    config = settings.online_store
    lateness = (
        allowed_lateness
        if allowed_lateness is not None
        else dt.timedelta(seconds=config.allowed_lateness_seconds)
    )
    if config.type == "redis":
        from cartwise.features.online.redis_store import RedisOnlineStore

        return RedisOnlineStore(
            feature_set, url=config.url, key_prefix=config.key_prefix, allowed_lateness=lateness
        )
    from cartwise.features.online.memory import MemoryOnlineStore

    return MemoryOnlineStore(feature_set, key_prefix=config.key_prefix, allowed_lateness=lateness)


def make_stream(settings: Settings, *, group: str | None = None) -> EventStream:
    """The event stream the settings ask for (not yet connected); in-process by default."""
    config = settings.stream
    if config.type == "redis":
        from cartwise.streaming.redis_stream import RedisStream

        return RedisStream(config.url, topic=config.topic, group=group or config.group)
    if config.type == "kafka":
        from cartwise.streaming.kafka_stream import KafkaStream

        return KafkaStream(config.bootstrap_servers, topic=config.topic, group=group or config.group)
    from cartwise.streaming.memory_stream import MemoryStream

    return MemoryStream(group=group or config.group)
