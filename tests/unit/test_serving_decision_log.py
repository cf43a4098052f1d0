"""The decision log: durable, idempotent on checkout_id, in the monitoring schema; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from cartwise.monitoring.decision_log import DECISION_LOG_SCHEMA
from cartwise.serving.decision_log import (
    DecisionLog,
    DecisionRecord,
    PostgresDecisionLog,
    ShadowScore,
    SqliteDecisionLog,
)


def record(checkout_id: int, outcome: str = "approve", **kw: Any) -> DecisionRecord:
    fields: dict[str, Any] = {
        "decision_id": f"d{checkout_id}-{outcome}",
        "checkout_id": checkout_id,
        "customer_id": 1,
        "merchant_id": 2,
        "decided_at_us": 1_764_000_000_000_000 + checkout_id,
        "amount_minor": 1_000,
        "currency": "USD",
        "outcome": outcome,
        "fraud_score": 0.01,
        "default_probability": 0.02,
        "fraud_model_version": "3",
        "credit_model_version": "4",
        "degraded": False,
        "degraded_reason": None,
        "latency_ms": 1.5,
        "numeric_features": {"amount_minor": 1000.0, "missing": None},
        "categorical_features": {"plan_type": "pay_in_4"},
        "response_json": json.dumps({"decision": outcome, "checkout_id": checkout_id}),
    }
    fields.update(kw)
    return DecisionRecord(**fields)


def exercise(log: DecisionLog) -> None:
    log.start()
    try:
        assert log.record(record(1))
        assert not log.record(record(1, "decline"))  # a retry while queued is not queued again
        assert log.lookup(1) == {"decision": "approve", "checkout_id": 1}
        log.flush()
        assert log.lookup(1) == {"decision": "approve", "checkout_id": 1}  # from storage now
        assert log.record(record(1, "decline"))  # queued, but storage keeps the first
        for i in range(2, 52):
            log.record(
                record(
                    i,
                    degraded=i % 2 == 0,
                    degraded_reason="online_features_unavailable" if i % 2 == 0 else None,
                )
            )
        log.record_shadow(ShadowScore("d1-approve", 1, "fraud", "5", 0.02, 0.01, 1))
        log.flush()
        assert log.lookup(1) == {"decision": "approve", "checkout_id": 1}
        assert log.lookup(999) is None
        table = log.to_arrow()
        assert table.schema == DECISION_LOG_SCHEMA
        assert table.num_rows == 51
        assert table.column("checkout_id").to_pylist().count(1) == 1
        first = table.slice(0, 1).to_pylist()[0]
        assert first["outcome"] == "approve"
        assert dict(first["numeric_features"]) == {"amount_minor": 1000.0, "missing": None}
        assert sum(table.column("degraded").to_pylist()) == 25
        assert [r["version"] for r in log.shadow_rows()] == ["5"]
        log.record(record(100))
    finally:
        log.close()  # flushes what is queued


def test_sqlite_log(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    exercise(SqliteDecisionLog(path))
    reopened = SqliteDecisionLog(path)
    reopened.start()
    try:
        assert reopened.to_arrow().num_rows == 52  # the row queued at close was written
        assert reopened.lookup(100) is not None
    finally:
        reopened.close()


@pytest.mark.postgres
def test_postgres_log(postgres_dsn: str, postgres_schema: str) -> None:
    exercise(PostgresDecisionLog(postgres_dsn, postgres_schema))
    reopened = PostgresDecisionLog(postgres_dsn, postgres_schema)
    reopened.start()
    try:
        assert reopened.to_arrow().num_rows == 52
    finally:
        reopened.close()


def test_writer_keeps_requests_fast(tmp_path: Path) -> None:
    """Queueing is all the request pays for; the write happens on the writer thread."""
    log = SqliteDecisionLog(tmp_path / "fast.sqlite")
    log.start()
    try:
        start = time.perf_counter()
        for i in range(2_000):
            log.record(record(i + 1))
        queued = time.perf_counter() - start
        log.flush()
        assert log.to_arrow().num_rows == 2_000
        assert queued < 2.0  # loose bound: a functional check, not a benchmark
    finally:
        log.close()
