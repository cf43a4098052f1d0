"""The gauges file the service reads, and the decision-log schema it writes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from cartwise.errors import SchemaError
from cartwise.monitoring.decision_log import DECISION_LOG_SCHEMA, feature_columns, validate_decision_log
from cartwise.monitoring.gauges import (
    GAUGES_FORMAT,
    GaugeFileCollector,
    GaugeSample,
    gauges_path,
    load_gauges,
    write_gauges,
)

SAMPLES = [
    GaugeSample("cartwise_feature_psi", 0.31, {"model": "fraud", "feature": "customer_tenure_days"}),
    GaugeSample("cartwise_score_psi", 0.04, {"model": "credit"}),
    GaugeSample("cartwise_approval_rate_reference", 0.93),
]


def test_round_trip(tmp_path: Path) -> None:
    now = dt.datetime(2026, 4, 20, 6, 0, tzinfo=dt.UTC)
    path = write_gauges(gauges_path(tmp_path), SAMPLES, now=now)
    assert path == tmp_path / "monitoring" / "gauges.json"
    assert json.loads(path.read_text())["format"] == GAUGES_FORMAT
    loaded = load_gauges(path)
    assert loaded.generated_at == now
    assert [(s.name, dict(s.labels), s.value) for s in loaded.samples] == [
        (s.name, dict(s.labels), s.value) for s in SAMPLES
    ]
    assert not list(path.parent.glob(".gauges-*"))  # the temporary file was renamed


def test_unknown_names_and_wrong_labels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="unknown gauge 'cartwise_psi'"):
        write_gauges(tmp_path / "g.json", [GaugeSample("cartwise_psi", 1.0)])
    with pytest.raises(SchemaError, match="needs exactly"):
        write_gauges(tmp_path / "g.json", [GaugeSample("cartwise_score_psi", 1.0, {"feature": "x"})])
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": GAUGES_FORMAT,
                "generated_at": "2026-01-01T00:00:00+00:00",
                "gauges": [{"name": "cartwise_score_psi", "labels": {"model": "fraud"}, "value": "x"}],
            }
        )
    )
    with pytest.raises(SchemaError, match="not a number"):
        load_gauges(bad)
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_gauges(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(SchemaError, match="not a cartwise gauges file"):
        load_gauges(bad)
    with pytest.raises(FileNotFoundError, match="cartwise monitor run"):
        load_gauges(tmp_path / "missing.json")


def test_collector_exposes_the_file_and_follows_its_changes(tmp_path: Path) -> None:
    path = tmp_path / "gauges.json"
    registry = CollectorRegistry()
    registry.register(GaugeFileCollector(path))  # type: ignore[arg-type]
    assert b"cartwise_score_psi" not in generate_latest(registry)  # no file yet: nothing, no error
    write_gauges(path, SAMPLES)
    text = generate_latest(registry).decode()
    assert 'cartwise_feature_psi{feature="customer_tenure_days",model="fraud"} 0.31' in text
    assert "cartwise_approval_rate_reference 0.93" in text
    write_gauges(path, [GaugeSample("cartwise_score_psi", 0.5, {"model": "credit"})])
    text = generate_latest(registry).decode()
    assert 'cartwise_score_psi{model="credit"} 0.5' in text
    assert "cartwise_feature_psi{" not in text
    path.write_text("garbage")
    assert b"cartwise_score_psi{" not in generate_latest(registry)


def _log(n: int = 3) -> pa.Table:
    ts = pa.array(np.arange(n) * 1_000_000 + 1_770_000_000_000_000, pa.int64()).cast(
        pa.timestamp("us", tz="UTC")
    )
    return pa.table(
        {
            "decision_id": [f"d{i}" for i in range(n)],
            "checkout_id": pa.array(range(n), pa.int64()),
            "customer_id": pa.array(range(n), pa.int64()),
            "merchant_id": pa.array([1] * n, pa.int64()),
            "decided_at": ts,
            "amount_minor": pa.array([1000] * n, pa.int64()),
            "currency": ["USD"] * n,
            "outcome": ["approve", "decline", "review"][:n],
            "fraud_score": [0.1, 0.9, 0.5][:n],
            "default_probability": [0.2, 0.3, 0.1][:n],
            "fraud_model_version": ["3"] * n,
            "credit_model_version": ["7"] * n,
            "degraded": [False] * n,
            "degraded_reason": pa.nulls(n, pa.string()),
            "latency_ms": [4.0] * n,
            "numeric_features": pa.array(
                [[("amount", 10.0)], [("amount", 20.0), ("age", 3.0)], None],
                pa.map_(pa.string(), pa.float64()),
            ),
            "categorical_features": pa.array(
                [[("plan", "pay_in_4")], [], [("plan", "pay_monthly_6")]], pa.map_(pa.string(), pa.string())
            ),
        }
    )


def test_decision_log_schema_and_feature_pivot() -> None:
    log = validate_decision_log(_log())
    assert log.schema.equals(DECISION_LOG_SCHEMA)
    features = feature_columns(log)
    assert features.to_pydict() == {
        "age": [None, 3.0, None],
        "amount": [10.0, 20.0, None],
        "plan": ["pay_in_4", None, "pay_monthly_6"],
    }
    assert feature_columns(log.slice(1), numeric=["amount"]).to_pydict() == {
        "amount": [20.0, None],
        "plan": [None, "pay_monthly_6"],
    }


def test_decision_log_errors_name_the_column() -> None:
    with pytest.raises(SchemaError, match="lacks columns \\['outcome'\\]"):
        validate_decision_log(_log().drop_columns(["outcome"]))
    bad = _log().set_column(7, "outcome", pa.array(["approve", "maybe", "review"]))
    with pytest.raises(SchemaError, match="outcome 'maybe'"):
        validate_decision_log(bad)
    bad = _log().set_column(8, "fraud_score", pa.array([0.1, 3.0, 0.2]))
    with pytest.raises(SchemaError, match="probabilities"):
        validate_decision_log(bad)
    bad = _log().set_column(1, "checkout_id", pa.array(["a", "b", "c"]))
    with pytest.raises(SchemaError, match="wrong types"):
        validate_decision_log(bad)
