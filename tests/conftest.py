"""Shared fixtures: real DuckDB files, the real PostgreSQL and Redis servers, the shared datasets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared_datasets import SHARED_DATASETS, shared_dataset

__all__ = ["SHARED_DATASETS", "shared_dataset"]

REPO = Path(__file__).resolve().parent.parent
POSTGRES_DSN = os.environ.get("CARTWISE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CARTWISE_TEST_REDIS", "redis://127.0.0.1:6379/15")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def postgres_dsn() -> str:
    import psycopg

    try:
        psycopg.connect(POSTGRES_DSN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:  # the machine always runs it; fail loudly if not
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_DSN}: {exc}")
    return POSTGRES_DSN


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema in the real PostgreSQL test database, dropped afterwards."""
    import psycopg

    schema = f"cw_test_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis server (db 15), flushed before and after the test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()
